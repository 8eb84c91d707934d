//! The per-batch audit trail.

use super::*;

impl Store {
    /// Adds an entry to a batch's audit trail.
    #[instrument(skip_all)]
    pub async fn record_event(
        &self,
        batch_id: &str,
        kind: AuditKind,
        count: usize,
        now: i64,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        Self::record_event_in(&mut conn, batch_id, kind, count, now).await
    }

    pub(super) async fn record_event_in(
        tx: &mut sqlx::SqliteConnection,
        batch_id: &str,
        kind: AuditKind,
        count: usize,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_events (batch_id, at, kind, count) VALUES (?, ?, ?, ?)")
            .bind(batch_id)
            .bind(now)
            .bind(kind.as_str())
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// A batch's audit trail, oldest first (kept after purge).
    #[instrument(skip_all)]
    pub async fn audit_trail(&self, batch_id: &str) -> StoreResult<Vec<AuditEvent>> {
        Ok(sqlx::query_as(
            "SELECT at, kind, count FROM audit_events WHERE batch_id = ? ORDER BY at, id",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
