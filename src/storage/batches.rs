//! Batches: creation with their recipients and first links, lookups, tombstones, the
//! old-server and message settings, the export mark and retention.

use super::*;

/// Rows per multi-row INSERT when a batch is created (8 values each, well under
/// SQLite's limit on bound parameters).
const INSERT_ROWS: usize = 500;

/// The page cache (KiB) of the connection a batch is created on: large enough for every
/// page a batch of 50,000 (the most a roster may have) touches, about 16 MB. With the
/// default 2 MB, inserting 50,000 random token hashes and addresses into their unique
/// indexes spilled pages to the WAL and read them back again (6,500 frames written and
/// 6,400 read back at 50,000 links, against few at 10,000), which made each link of a
/// large batch dearer than one of a small batch. Only pages actually used are
/// allocated, and the connection is closed after the creation, so the memory goes.
const CREATION_CACHE_KIB: i64 = 32 * 1024;

impl Store {
    /// Creates a batch, its sealed key, its recipients and their first links in one
    /// transaction: either all of it exists afterwards or none of it.
    #[instrument(skip_all)]
    pub async fn create_batch(
        &self,
        batch: &Batch,
        sealed_key: &SealedBatchKey,
        sealed_link_key: Option<&SealedSecret>,
        recipients: &[NewRecipient],
    ) -> StoreResult<()> {
        // A connection of its own, out of the pool, with a page cache for the whole batch
        // (`CREATION_CACHE_KIB`); closed afterwards, so no pooled connection keeps it.
        let mut conn = self.pool.acquire().await?.detach();
        let created = async {
            sqlx::query(constant_sql(format!(
                "PRAGMA cache_size = -{CREATION_CACHE_KIB}"
            )))
            .execute(&mut conn)
            .await?;
            Self::create_batch_on(&mut conn, batch, sealed_key, sealed_link_key, recipients).await
        }
        .await;
        if let Err(e) = conn.close().await {
            tracing::warn!(problem = %e, "the batch creation's connection did not close cleanly");
        }
        created
    }

    /// `create_batch` on `conn`, in one `BEGIN IMMEDIATE` transaction.
    async fn create_batch_on(
        conn: &mut SqliteConnection,
        batch: &Batch,
        sealed_key: &SealedBatchKey,
        sealed_link_key: Option<&SealedSecret>,
        recipients: &[NewRecipient],
    ) -> StoreResult<()> {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            "INSERT INTO batches (id, name, org_name, created_at, expires_at, link_lifetime_secs, \
             has_user_root, next_steps, ask_mail_client, public_key, retain_after_expiry_secs, \
             retain_after_export_secs, imap_url, imap_ca_pem, imap_cert_sha256, \
             imap_when_unreachable, link_tag, settings_sig, message_sig, language, time_zone) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&batch.id)
        .bind(&batch.name)
        .bind(&batch.org_name)
        .bind(batch.created_at)
        .bind(batch.expires_at)
        .bind(batch.link_lifetime_secs)
        .bind(batch.has_user_root)
        .bind(&batch.next_steps)
        .bind(batch.ask_mail_client)
        .bind(&batch.public_key)
        .bind(batch.retain_after_expiry_secs)
        .bind(batch.retain_after_export_secs)
        .bind(batch.imap.as_ref().map(|i| i.server.to_string()))
        .bind(
            batch
                .imap
                .as_ref()
                .and_then(|i| i.ca_pem().map(str::to_owned)),
        )
        .bind(batch.imap.as_ref().and_then(ImapSettings::pin_hex))
        .bind(
            batch
                .imap
                .as_ref()
                .map_or("retry", |i| i.when_unreachable.as_str()),
        )
        .bind(batch.link_tag.as_str())
        .bind(&batch.settings_sig)
        .bind(&batch.message_sig)
        .bind(&batch.language)
        .bind(&batch.time_zone)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::DuplicateBatchName(batch.name.clone()));
        }
        sqlx::query(
            "INSERT INTO batch_keys (batch_id, enc, sealed_private_key, link_key_enc, \
             sealed_link_key) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&batch.id)
        .bind(&sealed_key.enc)
        .bind(&sealed_key.ciphertext)
        .bind(sealed_link_key.map(|k| &k.enc))
        .bind(sealed_link_key.map(|k| &k.ciphertext))
        .execute(&mut *tx)
        .await?;
        // Many rows per statement: 50,000 single-row inserts cost more in statement
        // overhead than in SQLite's own work.
        for chunk in recipients.chunks(INSERT_ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO recipients (batch_id, roster_line, email, user_name, display_name, \
                 alternate_email, user_root, language) ",
            );
            insert.push_values(chunk, |mut row, r| {
                row.push_bind(&batch.id)
                    .push_bind(r.roster_line)
                    .push_bind(&r.email)
                    .push_bind(&r.user_name)
                    .push_bind(&r.display_name)
                    .push_bind(&r.alternate_email)
                    .push_bind(&r.user_root)
                    .push_bind(&r.language);
            });
            insert.build().execute(&mut *tx).await?;
        }
        let ids: std::collections::HashMap<i64, i64> =
            sqlx::query_as("SELECT roster_line, id FROM recipients WHERE batch_id = ?")
                .bind(&batch.id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        for chunk in recipients.chunks(INSERT_ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO links (token_hash, recipient_id, state, created_at, expires_at, \
                 sealed_token_enc, sealed_token, link_counter) ",
            );
            let mut missing = None;
            insert.push_values(chunk, |mut row, r| {
                let id = ids.get(&r.roster_line).copied();
                if id.is_none() {
                    missing = Some(r.roster_line);
                }
                row.push_bind(r.token_hash.as_slice())
                    .push_bind(id.unwrap_or_default())
                    .push_bind("live")
                    .push_bind(batch.created_at)
                    .push_bind(batch.expires_at)
                    .push_bind(r.link_secret.columns().0)
                    .push_bind(r.link_secret.columns().1)
                    .push_bind(r.link_secret.columns().2);
            });
            if let Some(line) = missing {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "roster line {line} was not stored; nothing was created"
                )));
            }
            insert.build().execute(&mut *tx).await?;
        }
        Self::record_event_in(
            &mut tx,
            &batch.id,
            AuditKind::Created,
            recipients.len(),
            batch.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

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
    #[instrument(skip_all)]
    pub async fn mark_exported(
        &self,
        batch_id: &str,
        rows: usize,
        now: i64,
        purge_at: Option<i64>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
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
