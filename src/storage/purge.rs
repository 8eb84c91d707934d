//! Purge and compaction: crypto-shredding first, then rows, then `VACUUM` and a WAL
//! truncation; interrupted purges finished at start; the integrity check.

use std::time::Instant;

use super::*;

/// How long a purge waits for other readers of the database (another program, a long
/// export) to move past the old pages before it says the wipe is still pending. Well
/// inside a console request's 30 s.
const WIPE_WAIT: Duration = Duration::from_secs(10);

/// How long the start and the maintenance loop wait for readers before leaving the wipe
/// to their next round.
const WIPE_RETRY_WAIT: Duration = Duration::from_secs(2);

/// Why a wipe could not finish, when another connection keeps old pages in use.
const READER_HOLDS_PAGES: &str =
    "another program or connection is still reading an older state of the database";

impl Store {
    /// Purges a batch: deletes its key first (crypto-shredding, committed on its own),
    /// then writes a tombstone and deletes every row of the batch, then `VACUUM`s and
    /// truncates the WAL so no freed page keeps the data. A reader holding an older
    /// snapshot keeps the old pages in use: the purge waits for it (`WIPE_WAIT`), then
    /// answers `WipePending`, and the maintenance loop or the next start finishes.
    ///
    /// With `LossAllowed::Only`, the transaction that deletes the key first reads which
    /// passwords no recorded export read, and purges nothing (`MoreUnexported`) if one
    /// is not in the list: a submission commits either before it (and is seen here) or
    /// after it (and finds no key, so it is refused).
    #[instrument(skip_all)]
    pub async fn purge_batch(
        &self,
        batch_id: &str,
        now: i64,
        loss: LossAllowed<'_>,
    ) -> StoreResult<Tombstone> {
        let mut tx = self.begin_write().await?;
        if let LossAllowed::Only(allowed) = loss {
            let allowed: std::collections::HashSet<&(i64, i64)> = allowed.iter().collect();
            let unread = super::export_reads::unexported_in(&mut *tx, batch_id).await?;
            if unread
                .iter()
                .any(|(id, _, tag)| !allowed.contains(&(*id, *tag)))
            {
                return Err(StoreError::MoreUnexported);
            }
        }
        sqlx::query("DELETE FROM batch_keys WHERE batch_id = ?")
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The key is gone: nothing of the batch can be read any more. If the rest fails
        // now (a full disk), the maintenance loop and the next start finish it.
        let deleted = self.delete_batch_rows(batch_id, now).await;
        // No view of the batch's links stays in this process's memory (`link_views.rs`).
        self.link_views.forget();
        let tombstone = deleted.map_err(|e| match e {
            StoreError::CannotWrite(reason) => StoreError::PurgeUnfinished(reason),
            e => e,
        })?;
        // The rows are deleted: whatever happens now, the answer must say so.
        let reason = match self.compact(WIPE_WAIT).await {
            Ok(true) => return Ok(tombstone),
            Ok(false) => READER_HOLDS_PAGES,
            Err(StoreError::CannotWrite(reason)) => reason,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the wipe after a purge failed");
                "the database reported an error (see passdrop's log)"
            }
        };
        tracing::warn!(
            batch_id,
            reason,
            "a purged batch's old pages are not wiped yet"
        );
        Err(StoreError::WipePending {
            tombstone: Box::new(tombstone),
            reason,
        })
    }

    pub(super) async fn delete_batch_rows(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Tombstone> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT b.name, b.created_at, b.first_exported_at, b.link_tag, b.org_name, \
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
            link_tag: row.try_get("link_tag")?,
            org_name: row.try_get("org_name")?,
        };
        sqlx::query(
            "INSERT INTO tombstones (batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at, link_tag, org_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tombstone.batch_id)
        .bind(&tombstone.name)
        .bind(tombstone.created_at)
        .bind(tombstone.purged_at)
        .bind(tombstone.recipients)
        .bind(tombstone.submitted)
        .bind(tombstone.first_exported_at)
        .bind(&tombstone.link_tag)
        .bind(&tombstone.org_name)
        .execute(&mut *tx)
        .await?;
        // Explicit deletes, children first, rather than relying on cascades alone.
        for sql in [
            "DELETE FROM admin_notices WHERE batch_id = ?",
            "DELETE FROM user_states WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM user_readiness WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM batch_rechecks WHERE batch_id = ?",
            "DELETE FROM admin_password_refusals WHERE batch_id = ?",
            "DELETE FROM exported_submissions WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM submissions WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM links WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM admin_probes WHERE batch_id = ?",
            "DELETE FROM recipients WHERE batch_id = ?",
            "DELETE FROM batch_keys WHERE batch_id = ?",
            "DELETE FROM batch_logos WHERE batch_id = ?",
            "DELETE FROM batches WHERE id = ?",
            // Webhook payloads carry the users' emails; `batch.purged` carries none.
            "DELETE FROM webhook_deliveries WHERE batch_id = ?",
            "DELETE FROM webhook_events WHERE batch_id = ? AND event <> 'batch.purged'",
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
    /// Returns `false`, having changed nothing that matters, when readers kept old pages
    /// in use for longer than `wait`; the pending mark stays for the next try.
    pub(super) async fn compact(&self, wait: Duration) -> StoreResult<bool> {
        let deadline = Instant::now() + wait;
        // A connection of its own, so that its short busy timeout never reaches the pool.
        let mut conn = (*self.pool.connect_options()).clone().connect().await?;
        let done = Self::compact_on(&mut conn, deadline).await;
        let _ = conn.close().await;
        done
    }

    async fn compact_on(conn: &mut SqliteConnection, deadline: Instant) -> StoreResult<bool> {
        // First let every reader move past the old pages: VACUUM again each minute while
        // a reader stays would only grow the WAL.
        if !Self::truncate_wal(conn, deadline).await? {
            return Ok(false);
        }
        sqlx::query("VACUUM").execute(&mut *conn).await?;
        if !Self::truncate_wal(conn, deadline).await? {
            return Ok(false);
        }
        // Cleared only now; the deletion leaves a few bytes in the WAL again, which hold
        // no user data.
        sqlx::query("DELETE FROM pending_compaction")
            .execute(&mut *conn)
            .await?;
        Self::truncate_wal(conn, deadline).await?;
        Ok(true)
    }

    /// Copies the WAL into the database file and empties it, trying until `deadline`
    /// while a reader still uses older frames; `false` if it never could.
    async fn truncate_wal(conn: &mut SqliteConnection, deadline: Instant) -> StoreResult<bool> {
        // Each checkpoint waits for readers (SQLite's busy handler) for a quarter of a
        // second at most, so that `deadline` is kept.
        sqlx::query("PRAGMA busy_timeout = 250")
            .execute(&mut *conn)
            .await?;
        let done = loop {
            let answer: Result<(i64, i64, i64), _> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *conn)
                    .await;
            match answer {
                Ok((0, log, checkpointed)) if log == checkpointed => break true,
                Ok(_) => {}
                Err(e) if cannot_write(&e) == Some("the database is busy") => {}
                Err(e) => return Err(e.into()),
            }
            if Instant::now() >= deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Back to the store's own timeout (`open`) for the statements that follow (VACUUM).
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut *conn)
            .await?;
        Ok(done)
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
        if pending > 0 && !self.compact(WIPE_RETRY_WAIT).await? {
            // Not an error: the start goes on, and the maintenance loop tries again.
            tracing::warn!(
                reason = READER_HOLDS_PAGES,
                "old pages of a purged batch are not wiped yet; trying again in a minute"
            );
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
