//! What an export reads, in as few passes over the sealed passwords as it can (issue
//! 21). The sealed passwords are 1 KB each (padded): 50,000 of them are about 70 MB of
//! pages, so every query that merely looks a submission up reads them all again.

use super::*;

impl Store {
    /// Every submission of a batch in roster order, and the EmailAddress of every
    /// recipient without one (in roster order): one pass over the batch, where
    /// `submissions_and_missing` made two (the second only to find who is missing).
    /// Read in roster order through `recipients_by_roster_line` (migration 0022), so
    /// nothing is sorted.
    #[instrument(skip_all)]
    pub async fn submissions_for_export(
        &self,
        batch_id: &str,
    ) -> StoreResult<(Vec<StoredSubmission>, Vec<String>)> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, s.enc, s.ciphertext FROM recipients r \
             LEFT JOIN submissions s ON s.recipient_id = r.id \
             WHERE r.batch_id = ? ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        let mut submissions = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        for row in &rows {
            let enc: Option<Vec<u8>> = row.try_get("enc")?;
            let ciphertext: Option<Vec<u8>> = row.try_get("ciphertext")?;
            match (enc, ciphertext) {
                (Some(enc), Some(ciphertext)) => submissions.push(StoredSubmission {
                    recipient: row_to_recipient(row)?,
                    sealed: SealedPassword { enc, ciphertext },
                }),
                _ => missing.push(row.try_get("email")?),
            }
        }
        Ok((submissions, missing))
    }

    /// The id and EmailAddress of every recipient of a batch who has submitted, in roster
    /// order, read from the submissions' primary key alone (no sealed password is read).
    #[instrument(skip_all)]
    pub async fn submitted_recipients(&self, batch_id: &str) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.email FROM recipients r WHERE r.batch_id = ? AND EXISTS \
             (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id) ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The recipients of a batch whose newest link is live and expires after `now`,
    /// with that link's expiry: what the purge rule needs from the links, without
    /// reading the submissions (the caller knows who submitted from the export).
    #[instrument(skip_all)]
    pub async fn live_link_expiries(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT r.id, l.expires_at FROM recipients r \
             JOIN links l ON l.id = (SELECT MAX(id) FROM links WHERE recipient_id = r.id) \
             WHERE r.batch_id = ? AND l.state = 'live' AND l.expires_at > ?",
        )
        .bind(batch_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}
