//! A covered user's re-check through the admin login (issue 18, migration 0020): when
//! the admin login no longer opens their mailbox, their probe answer becomes "needs
//! their password" (re-signed), and an answer signed under a separate kind (so that it
//! can never pass for a covered one) is kept aside (`stale_sig`) for an export that
//! includes stale users; when it opens again, the covered answer is signed anew. The
//! user's re-check outcome and the batch's progress are written in the same
//! transaction; a user who gave a password meanwhile is left as they are. A re-check
//! stopped by a refused admin password is kept (`admin_password_refusals`) until a later
//! re-check gets in through the same admin login.

use super::*;

/// A changed probe answer: (covered, the server's words, the new signature, the
/// set-aside signature).
pub type ChangedAnswer<'a> = (bool, Option<&'a str>, &'a [u8], Option<&'a [u8]>);

/// What a re-check through the admin login changes in a user's probe answer.
pub struct AdminRecheckChange<'a> {
    /// The admin login it was tried with (its sealed password's `enc`): nothing is
    /// recorded once it is no longer the batch's.
    pub login_enc: &'a [u8],
    /// `Some((covered, server's words, new signature, set-aside signature))` to change
    /// the answer; the set-aside one (`sign_stale`) only when no longer covered.
    pub answer: Option<ChangedAnswer<'a>>,
}

impl Store {
    /// Records one covered user's re-check through the admin login (see the module);
    /// `false` when the admin login changed meanwhile (nothing recorded). A user who
    /// gave a password meanwhile is only counted in the progress.
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
        // A user who gave their own password since the re-check began is theirs now.
        let submitted: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM submissions WHERE recipient_id = ?)")
                .bind(recipient_id)
                .fetch_one(&mut *tx)
                .await?;
        if submitted {
            sqlx::query("UPDATE batch_rechecks SET done = done + 1 WHERE batch_id = ?")
                .bind(batch_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(true);
        }
        match change.answer {
            Some((false, reason, sig, stale_sig)) => {
                sqlx::query(
                    "UPDATE admin_probes SET state = 'needs_password', reason = ?, \
                     probed_at = ?, stale_sig = ?, sig = ? \
                     WHERE batch_id = ? AND recipient_id = ? AND state IN ('covered', 'requested')",
                )
                .bind(reason)
                .bind(now)
                .bind(stale_sig)
                .bind(sig)
                .bind(batch_id)
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            }
            Some((true, _, sig, _)) => {
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
        if outcome != RecheckOutcome::Inconclusive {
            // The server took the admin password again.
            sqlx::query("DELETE FROM admin_password_refusals WHERE batch_id = ?")
                .bind(batch_id)
                .execute(&mut *tx)
                .await?;
        }
        Self::write_recheck(&mut tx, batch_id, recipient_id, outcome, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records that the old server refused the admin password (`login_enc`) at a
    /// re-check, replacing an earlier mark.
    #[instrument(skip_all)]
    pub async fn record_admin_password_refused(
        &self,
        batch_id: &str,
        login_enc: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO admin_password_refusals (batch_id, login_enc, refused_at) \
             SELECT id, ?, ? FROM batches WHERE id = ?",
        )
        .bind(login_enc)
        .bind(now)
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When a re-check last found the admin password (`login_enc`) refused, unless a
    /// later re-check got in through it.
    #[instrument(skip_all)]
    pub async fn admin_password_refused_at(
        &self,
        batch_id: &str,
        login_enc: &[u8],
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT refused_at FROM admin_password_refusals WHERE batch_id = ? AND login_enc = ?",
        )
        .bind(batch_id)
        .bind(login_enc)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Users of a batch whose covered answer was set aside by a re-check (the admin
    /// login no longer opened their mailbox) and who gave no password since: (id, the
    /// set-aside signature).
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
