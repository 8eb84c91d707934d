//! Purge and compaction: crypto-shredding first, then rows, then `VACUUM` and a WAL
//! truncation; interrupted purges finished at start; the integrity check.

use super::*;

impl Store {
    /// Purges a batch: deletes its key first (crypto-shredding, committed on its own),
    /// then writes a tombstone and deletes every row of the batch, then `VACUUM`s and
    /// truncates the WAL so no freed page keeps the data.
    #[instrument(skip_all)]
    pub async fn purge_batch(&self, batch_id: &str, now: i64) -> StoreResult<Tombstone> {
        sqlx::query("DELETE FROM batch_keys WHERE batch_id = ?")
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        // The key is gone: nothing of the batch can be read any more. If the rest fails
        // now (a full disk), the maintenance loop and the next start finish it.
        let rest = async {
            let tombstone = self.delete_batch_rows(batch_id, now).await?;
            self.compact().await?;
            Ok(tombstone)
        };
        rest.await.map_err(|e| match e {
            StoreError::CannotWrite(reason) => StoreError::PurgeUnfinished(reason),
            e => e,
        })
    }

    pub(super) async fn delete_batch_rows(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Tombstone> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT b.name, b.created_at, b.first_exported_at, \
               (SELECT COUNT(*) FROM recipients r WHERE r.batch_id = b.id) AS n_recipients, \
               (SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id \
                  WHERE r.batch_id = b.id) AS n_submitted \
             FROM batches b WHERE b.id = ?",
        )
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        };
        let tombstone = Tombstone {
            batch_id: batch_id.to_owned(),
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
            purged_at: now,
            recipients: row.try_get("n_recipients")?,
            submitted: row.try_get("n_submitted")?,
            first_exported_at: row.try_get("first_exported_at")?,
        };
        sqlx::query(
            "INSERT INTO tombstones (batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tombstone.batch_id)
        .bind(&tombstone.name)
        .bind(tombstone.created_at)
        .bind(tombstone.purged_at)
        .bind(tombstone.recipients)
        .bind(tombstone.submitted)
        .bind(tombstone.first_exported_at)
        .execute(&mut *tx)
        .await?;
        // Explicit deletes, children first, rather than relying on cascades alone.
        for sql in [
            "DELETE FROM submissions WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM links WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM recipients WHERE batch_id = ?",
            "DELETE FROM batch_keys WHERE batch_id = ?",
            "DELETE FROM batches WHERE id = ?",
        ] {
            sqlx::query(sql).bind(batch_id).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO pending_compaction (id) VALUES (1)")
            .execute(&mut *tx)
            .await?;
        Self::record_event_in(&mut tx, batch_id, AuditKind::Purged, 1, now).await?;
        tx.commit().await?;
        Ok(tombstone)
    }

    /// Rewrites the database file and empties the WAL, so deleted rows leave no trace.
    /// Fails (and the purge is reported as incomplete) if a reader keeps the WAL busy.
    pub(super) async fn compact(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("VACUUM").execute(&mut *conn).await?;
        for attempt in 0..100u32 {
            let (busy, log, checkpointed): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *conn)
                    .await?;
            if busy == 0 && log == checkpointed {
                // Cleared only now; the deletion leaves a few bytes in the WAL again,
                // which holds no user data.
                sqlx::query("DELETE FROM pending_compaction")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *conn)
                    .await?;
                return Ok(());
            }
            // A reader still uses old WAL frames; wait for it to finish.
            tokio::time::sleep(Duration::from_millis(20 + 10 * u64::from(attempt))).await;
        }
        Err(StoreError::Other(anyhow::anyhow!(
            "the database's write-ahead log could not be emptied because it stayed busy; \
             run the purge again"
        )))
    }

    /// Completes purges that were interrupted after the batch key was deleted, and any
    /// compaction that could not finish. Returns how many batches it finished.
    #[instrument(skip_all)]
    pub async fn finish_interrupted_purges(&self) -> StoreResult<usize> {
        let orphans: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM batches WHERE id NOT IN (SELECT batch_id FROM batch_keys)",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for id in &orphans {
            tracing::warn!(batch_id = %id, "finishing a purge that was interrupted");
            self.delete_batch_rows(id, now).await?;
        }
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_compaction")
            .fetch_one(&self.pool)
            .await?;
        if pending > 0 {
            self.compact().await?;
        }
        Ok(orphans.len())
    }

    /// SQLite's own consistency check; `ok` when the file is sound.
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?)
    }
}
