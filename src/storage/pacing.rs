//! What the old server's answers said about a user (an application password is
//! required), and when a server last seemed to throttle passdrop.

use super::*;

/// The audit kind written when a server starts to look like it slows down or blocks
/// passdrop's checks (count: 1; no user data).
pub const THROTTLING_EVENT: &str = "imap_throttling";

impl Store {
    /// Notes that the old server asked for an application password for this user.
    #[instrument(skip_all)]
    pub async fn mark_app_password_required(&self, recipient_id: i64, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE recipients SET app_password_required = ? WHERE id = ?")
            .bind(now)
            .bind(recipient_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The users of a batch the old server asked an application password for, with when
    /// it last did: (email, time), by email.
    #[instrument(skip_all)]
    pub async fn app_password_required(&self, batch_id: &str) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT email, app_password_required FROM recipients \
             WHERE batch_id = ? AND app_password_required IS NOT NULL ORDER BY email",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the batch's old server last started to look throttled, if it did.
    #[instrument(skip_all)]
    pub async fn last_throttling(&self, batch_id: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MAX(at) FROM audit_events WHERE batch_id = ? AND kind = ?")
                .bind(batch_id)
                .bind(THROTTLING_EVENT)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
