//! Batches: lookups, tombstones, the old-server and message settings, the export mark
//! and retention (creation is `creation.rs`).

use super::*;

/// Rows of `exported_submissions` written per statement: 800 parameters, far under
/// SQLite's limit (32,766 since 3.32; the package asks for 3.37).
const EXPORTED_ROWS_PER_STATEMENT: usize = 400;

impl Store {
    /// Finds a live (not purged) batch by id or by name.
    #[instrument(skip_all)]
    pub async fn find_batch(&self, id_or_name: &str) -> StoreResult<Option<Batch>> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS} FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             WHERE b.id = ?1 OR b.name = ?1 ORDER BY b.id = ?1 DESC LIMIT 1"
        )))
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_batch).transpose()?)
    }

    /// Finds a batch by id or name, or says it does not exist.
    pub async fn require_batch(&self, id_or_name: &str) -> StoreResult<Batch> {
        self.find_batch(id_or_name)
            .await?
            .ok_or_else(|| StoreError::NoSuchBatch(id_or_name.to_owned()))
    }

    /// Finds the tombstone of a purged batch by id or name (newest first).
    #[instrument(skip_all)]
    pub async fn find_tombstone(&self, id_or_name: &str) -> StoreResult<Option<Tombstone>> {
        Ok(sqlx::query_as(
            "SELECT batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at, link_tag, org_name FROM tombstones \
             WHERE batch_id = ?1 OR name = ?1 \
             ORDER BY purged_at DESC LIMIT 1",
        )
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The tombstone of the purged batch whose links carry `tag`, if any: what a format
    /// 2 link of a purged batch is answered from.
    #[instrument(skip_all)]
    pub async fn tombstone_by_link_tag(&self, tag: &LinkTag) -> StoreResult<Option<Tombstone>> {
        Ok(sqlx::query_as(
            "SELECT batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at, link_tag, org_name FROM tombstones WHERE link_tag = ? \
             ORDER BY purged_at DESC LIMIT 1",
        )
        .bind(tag.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every live batch with its counts, newest first.
    #[instrument(skip_all)]
    pub async fn list_batches(&self) -> StoreResult<Vec<BatchSummary>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS}, \
               (SELECT COUNT(*) FROM recipients r WHERE r.batch_id = b.id) AS n_recipients, \
               (SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id \
                  WHERE r.batch_id = b.id) AS n_submitted \
             FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             ORDER BY b.created_at DESC, b.name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BatchSummary {
                    batch: row_to_batch(row)?,
                    recipients: row.try_get("n_recipients")?,
                    submitted: row.try_get("n_submitted")?,
                })
            })
            .collect()
    }

    /// Every tombstone, newest first.
    #[instrument(skip_all)]
    pub async fn list_tombstones(&self) -> StoreResult<Vec<Tombstone>> {
        Ok(sqlx::query_as(
            "SELECT batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at, link_tag, org_name FROM tombstones ORDER BY purged_at DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets (or with `None` removes) the IMAP server a batch checks passwords against.
    #[instrument(skip_all)]
    pub async fn set_batch_imap(
        &self,
        batch_id: &str,
        imap: Option<&ImapSettings>,
        settings_sig: &[u8],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE batches SET imap_url = ?, imap_ca_pem = ?, imap_cert_sha256 = ?, \
             imap_when_unreachable = ?, settings_sig = ? WHERE id = ? \
             AND EXISTS (SELECT 1 FROM batch_keys k WHERE k.batch_id = batches.id)",
        )
        .bind(imap.map(|i| i.server.to_string()))
        .bind(imap.and_then(|i| i.ca_pem().map(str::to_owned)))
        .bind(imap.and_then(ImapSettings::pin_hex))
        .bind(imap.map_or("retry", |i| i.when_unreachable.as_str()))
        .bind(settings_sig)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records an export: the first export time (later exports keep the first) and, when
    /// `purge_at` is given, the automatic purge it sets (an export only ever brings that
    /// date forward; `batch::purge_plan` decides it).
    ///
    /// `seen` is every submission the export read, as (recipient id, `submission_tag`
    /// of its sealed password): kept (migration 0023) so that a purge can name whoever
    /// submitted after it (`unexported_submissions`). In the same transaction as the
    /// export's audit row: the two are never apart. Fails with `NoSuchBatch`, recording
    /// nothing, when the batch is gone (purged since the export read it).
    #[instrument(skip_all)]
    pub async fn mark_exported(
        &self,
        batch_id: &str,
        rows: usize,
        now: i64,
        purge_at: Option<i64>,
        seen: &[(i64, i64)],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        // A few hundred rows per statement (50,000 rows took 0.1-0.2 s through
        // json_each, and one statement per row one hand-off to sqlx's thread each: issue
        // 21); every full chunk is the same statement, prepared once.
        for chunk in seen.chunks(EXPORTED_ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(80 + chunk.len() * 6);
            sql.push_str(
                "INSERT OR REPLACE INTO exported_submissions (recipient_id, enc_tag) VALUES ",
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "(?,?)" } else { ",(?,?)" });
            }
            let mut insert = sqlx::query(constant_sql(sql));
            for (id, tag) in chunk {
                insert = insert.bind(id).bind(tag);
            }
            insert.execute(&mut *tx).await?;
        }
        let updated = sqlx::query(
            "UPDATE batches SET first_exported_at = COALESCE(first_exported_at, ?1), \
             export_purge_at = CASE WHEN ?2 IS NULL THEN export_purge_at \
               WHEN export_purge_at IS NULL OR ?2 < export_purge_at THEN ?2 \
               ELSE export_purge_at END \
             WHERE id = ?3",
        )
        .bind(now)
        .bind(purge_at)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        // A batch purged since the export's read: nothing is recorded (the rows above
        // roll back with the transaction), so no row names a deleted recipient
        // (migration 0024 took the table's foreign key away).
        if updated.rows_affected() == 0 {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        Self::record_event_in(&mut tx, batch_id, AuditKind::Exported, rows, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a batch's message (`None`: back to the default).
    #[instrument(skip_all)]
    pub async fn set_batch_message(
        &self,
        batch_id: &str,
        message: Option<(&str, &str)>,
        message_sig: &[u8],
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE batches SET mail_subject = ?, mail_body = ?, message_sig = ? WHERE id = ?",
        )
        .bind(message.map(|m| m.0))
        .bind(message.map(|m| m.1))
        .bind(message_sig)
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        Ok(())
    }

    /// Whether any password was submitted for the batch.
    #[instrument(skip_all)]
    pub async fn batch_has_submissions(&self, batch_id: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id \
             WHERE r.batch_id = ?",
        )
        .bind(batch_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Stores signatures of a batch's settings (`None`: that one unchanged).
    #[instrument(skip_all)]
    pub async fn sign_batch_settings(
        &self,
        batch_id: &str,
        settings_sig: Option<&[u8]>,
        message_sig: Option<&[u8]>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE batches SET settings_sig = COALESCE(?, settings_sig), \
             message_sig = COALESCE(?, message_sig) WHERE id = ?",
        )
        .bind(settings_sig)
        .bind(message_sig)
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        Ok(())
    }

    /// Batches whose retention has run out: their own `retain_after_expiry_secs` past
    /// their expiry, or the purge date an export set, whichever comes first.
    #[instrument(skip_all)]
    pub async fn batches_due_for_purge(&self, now: i64) -> StoreResult<Vec<Batch>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS} FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             WHERE b.expires_at + b.retain_after_expiry_secs <= ?1 \
                OR b.export_purge_at <= ?1"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_batch).collect::<Result<_, _>>()?)
    }
}
