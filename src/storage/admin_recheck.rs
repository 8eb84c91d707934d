//! A covered user's re-check through the admin login (issue 18, migration 0020): when
//! the admin login no longer opens their mailbox, their probe answer becomes "needs
//! their password" (re-signed) and the covered answer's signature is kept aside
//! (`stale_sig`) for an export that includes stale users; when it opens again, the
//! covered answer is signed anew. The user's re-check outcome and the batch's progress
//! are written in the same transaction.

use super::*;

/// What a re-check through the admin login changes in a user's probe answer.
pub struct AdminRecheckChange<'a> {
    /// The admin login it was tried with (its sealed password's `enc`): nothing is
    /// recorded once it is no longer the batch's.
    pub login_enc: &'a [u8],
    /// `Some((covered, server's words, new signature))` to change the answer.
    pub answer: Option<(bool, Option<&'a str>, &'a [u8])>,
}

impl Store {
    /// Records one covered user's re-check through the admin login (see the module);
    /// `false` when the admin login changed meanwhile (nothing recorded).
    #[instrument(skip_all)]
    pub async fn record_admin_recheck(
        &self,
        batch_id: &str,
        recipient_id: i64,
        change: AdminRecheckChange<'_>,
        outcome: RecheckOutcome,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let current: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM batches WHERE id = ? AND admin_password_enc = ?)",
        )
        .bind(batch_id)
        .bind(change.login_enc)
        .fetch_one(&mut *tx)
        .await?;
        if !current {
            tx.rollback().await?;
            return Ok(false);
        }
        match change.answer {
            Some((false, reason, sig)) => {
                sqlx::query(
                    "UPDATE admin_probes SET state = 'needs_password', reason = ?, \
                     probed_at = ?, stale_sig = sig, sig = ? \
                     WHERE batch_id = ? AND recipient_id = ? AND state IN ('covered', 'requested')",
                )
                .bind(reason)
                .bind(now)
                .bind(sig)
                .bind(batch_id)
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            }
            Some((true, _, sig)) => {
                sqlx::query(
                    "UPDATE admin_probes SET state = 'covered', reason = NULL, probed_at = ?, \
                     sig = ?, stale_sig = NULL \
                     WHERE batch_id = ? AND recipient_id = ? AND stale_sig IS NOT NULL",
                )
                .bind(now)
                .bind(sig)
                .bind(batch_id)
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            }
            None => {}
        }
        Self::write_recheck(&mut tx, batch_id, recipient_id, outcome, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Users of a batch whose covered answer was set aside by a re-check (the admin
    /// login no longer opened their mailbox) and who gave no password since: (id, the
    /// covered answer's signature).
    #[instrument(skip_all)]
    pub async fn admin_refused_users(&self, batch_id: &str) -> StoreResult<Vec<(i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT p.recipient_id, p.stale_sig FROM admin_probes p \
             JOIN recipients r ON r.id = p.recipient_id \
             WHERE p.batch_id = ? AND p.state = 'needs_password' AND p.stale_sig IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.recipient_id = p.recipient_id) \
             ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
