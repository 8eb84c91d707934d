//! Recipients and their links: token lookups, burning a link with its submission (through
//! the group commit), failed attempts, reissue, revoke, and the sealed data an export or a
//! send needs.

use std::sync::Arc;

use super::*;

impl Store {
    /// Each recipient of a batch with the state of their newest link, in roster order.
    #[instrument(skip_all)]
    pub async fn recipient_statuses(&self, batch_id: &str) -> StoreResult<Vec<RecipientStatus>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, l.state, l.expires_at AS link_expires_at, s.submitted_at, \
             s.mail_client, s.imap_check, l.opened_at, u.needs_help_at, u.reported_at \
             FROM recipients r \
             JOIN links l ON l.id = (SELECT MAX(id) FROM links WHERE recipient_id = r.id) \
             LEFT JOIN submissions s ON s.recipient_id = r.id \
             LEFT JOIN user_states u ON u.recipient_id = r.id \
             WHERE r.batch_id = ? ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(RecipientStatus {
                    recipient: row_to_recipient(row)?,
                    link_state: LinkState::parse(&state)?,
                    link_expires_at: row.try_get("link_expires_at")?,
                    submitted_at: row.try_get("submitted_at")?,
                    mail_client: row
                        .try_get::<Option<String>, _>("mail_client")?
                        .as_deref()
                        .and_then(MailClient::parse),
                    opened_at: row.try_get("opened_at")?,
                    imap_check: row
                        .try_get::<Option<String>, _>("imap_check")?
                        .as_deref()
                        .map(ImapCheck::parse)
                        .transpose()?,
                    needs_help_at: row.try_get("needs_help_at")?,
                    reported_at: row.try_get("reported_at")?,
                })
            })
            .collect()
    }

    /// The link a token hash names, with its recipient and batch; `None` if unknown or
    /// its batch is purged or being purged. The answer a read right now would give:
    /// remembered from an earlier read while the database has not changed since
    /// (`link_views.rs`), else read straight from SQLite on this thread (`reader.rs`),
    /// without a thread hop. Its span is at debug level: at the default (info) every
    /// page would make one, for nothing.
    #[instrument(level = "debug", skip_all)]
    pub async fn link_by_token_hash(
        &self,
        token_hash: &[u8; 32],
    ) -> StoreResult<Option<Arc<LinkView>>> {
        // The header is read before the database: what is read then holds every commit
        // the header stands for.
        let stamp = self.link_views.stamp();
        if let Some(stamp) = &stamp
            && let Some(view) = self.link_views.get(token_hash, stamp)
        {
            self.link_views.count(true);
            return Ok(Some(view));
        }
        self.link_views.count(false);
        let found = self.readers.read(|conn| {
            let mut query = conn.prepare_cached(&LINK_VIEW_SQL)?;
            let columns = LINK_VIEW_COLUMNS.get_or_init(|| super::reader::ColumnIndex::of(&query));
            let mut rows = query.query([token_hash.as_slice()])?;
            Ok(rows
                .next()?
                .map(|row| row_to_link_view(&super::reader::OrderedRow::new(row, columns))))
        })?;
        // Remembered only if no commit came during the read (the header is still the
        // same): every view remembered under one header is then that header's state.
        Ok(match (found.transpose()?, stamp) {
            (Some(view), Some(stamp)) if self.link_views.stamp() == Some(stamp) => {
                // Many links read one by one: the writer reads them all at once,
                // between its commits (`writer/warm.rs`). Only links found count, so
                // made-up tokens never ask for it. Nobody waits for it; with the
                // writer's queue full it is simply not done.
                if self.link_views.wants_warm(&stamp)
                    && self
                        .submissions
                        .try_send(super::writer::WriteJob::Warm)
                        .is_err()
                {
                    self.link_views.warm_not_sent();
                }
                Some(self.link_views.put(token_hash, &stamp, view))
            }
            (view, _) => view.map(Arc::new),
        })
    }

    /// Forgets the link views remembered so far if the database changed since they
    /// were read, or they are too old (`serve` runs this once a second, so that what a
    /// CLI command changed or purged is not kept in memory for long).
    pub fn refresh_link_views(&self) {
        self.link_views.refresh();
    }

    /// Link lookups answered so far from memory, and by reading the database (`/metrics`).
    pub fn link_view_answers(&self) -> (u64, u64) {
        self.link_views.answered()
    }

    /// Burns a live, unexpired link and stores its sealed password, in one transaction.
    /// Fails with `LinkNotLive` (changing nothing) if the link was used, revoked,
    /// replaced or expired in the meantime, or its batch is being purged.
    ///
    /// Submissions arriving together share one transaction and one fsync (group
    /// commit); each is answered only once that transaction is durable.
    #[instrument(skip_all)]
    #[allow(clippy::too_many_arguments)] // each is one fact of the submission's row
    pub async fn burn_link_with_submission(
        &self,
        token_hash: &[u8; 32],
        recipient_id: i64,
        sealed: &SealedPassword,
        mail_client: Option<MailClient>,
        imap_check: Option<ImapCheck>,
        lint_codes: &str,
        now: i64,
    ) -> StoreResult<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = WriteJob::Submit {
            pending: PendingSubmission {
                token_hash: *token_hash,
                recipient_id,
                mail_client,
                imap_check,
                lint_codes: lint_codes.to_owned(),
                now,
            },
            sealed: sealed.clone(),
            done,
        };
        self.through_writer(job, answer).await
    }

    /// Counts a failed attempt on a live link and locks it once `cap` is reached; a
    /// lock is recorded in the batch's audit trail ("a link was locked", no user data)
    /// in the same transaction. Returns whether the link is now locked and its count so
    /// far, or `None` if it was no longer live.
    #[instrument(skip_all)]
    pub async fn record_failed_attempt(
        &self,
        token_hash: &[u8; 32],
        cap: i64,
        now: i64,
    ) -> StoreResult<Option<(bool, i64)>> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE links SET failed_attempts = failed_attempts + 1, \
               state = CASE WHEN failed_attempts + 1 >= ?2 THEN 'locked' ELSE state END \
             WHERE token_hash = ?1 AND state = 'live' RETURNING state, failed_attempts",
        )
        .bind(token_hash.as_slice())
        .bind(cap)
        .fetch_optional(&mut *tx)
        .await?;
        let locked = row.as_ref().is_some_and(|(state, _)| state == "locked");
        if locked {
            let batch_id: String = sqlx::query_scalar(
                "SELECT r.batch_id FROM links l JOIN recipients r ON r.id = l.recipient_id \
                 WHERE l.token_hash = ?",
            )
            .bind(token_hash.as_slice())
            .fetch_one(&mut *tx)
            .await?;
            Self::record_event_in(&mut tx, &batch_id, AuditKind::LinkLocked, 1, now).await?;
        }
        tx.commit().await?;
        Ok(row.map(|(_, count)| (locked, count)))
    }

    /// A recipient of a batch, by address (case-insensitive).
    #[instrument(skip_all)]
    pub async fn recipient(&self, batch: &Batch, email: &str) -> StoreResult<Recipient> {
        let mut conn = self.pool.acquire().await?;
        Self::recipient_by_email(&mut conn, batch, email).await
    }

    pub(super) async fn recipient_by_email(
        tx: &mut sqlx::SqliteConnection,
        batch: &Batch,
        email: &str,
    ) -> StoreResult<Recipient> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients r WHERE r.batch_id = ? AND r.email = ?"
        )))
        .bind(&batch.id)
        .bind(email.trim())
        .fetch_optional(&mut *tx)
        .await?;
        match row {
            Some(row) => Ok(row_to_recipient(&row)?),
            None => Err(StoreError::NoSuchRecipient {
                batch: batch.name.clone(),
                email: email.to_owned(),
            }),
        }
    }

    /// Replaces a recipient's live link (if any) with a new one. A password already
    /// submitted stays until a new one arrives through the new link.
    #[instrument(skip_all)]
    pub async fn reissue_link(
        &self,
        batch: &Batch,
        email: &str,
        token_hash: &[u8; 32],
        sealed_token: &SealedToken,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<Recipient> {
        let mut tx = self.begin_write().await?;
        let recipient = Self::recipient_by_email(&mut tx, batch, email).await?;
        sqlx::query(
            "UPDATE links SET state = 'replaced' WHERE recipient_id = ? AND state = 'live'",
        )
        .bind(recipient.id)
        .execute(&mut *tx)
        .await?;
        // The new link has not been emailed: a plain `send` picks it up.
        sqlx::query("DELETE FROM deliveries WHERE recipient_id = ?")
            .bind(recipient.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO links (token_hash, recipient_id, state, created_at, expires_at, \
             sealed_token_enc, sealed_token) VALUES (?, ?, 'live', ?, ?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(recipient.id)
        .bind(now)
        .bind(expires_at)
        .bind(&sealed_token.enc)
        .bind(&sealed_token.ciphertext)
        .execute(&mut *tx)
        .await?;
        Self::record_event_in(&mut tx, &batch.id, AuditKind::Reissued, 1, now).await?;
        tx.commit().await?;
        Ok(recipient)
    }

    /// Revokes a recipient's live link. Returns `false` if they had none to revoke.
    #[instrument(skip_all)]
    pub async fn revoke_link(&self, batch: &Batch, email: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let recipient = Self::recipient_by_email(&mut tx, batch, email).await?;
        let revoked = sqlx::query(
            "UPDATE links SET state = 'revoked' WHERE recipient_id = ? AND state = 'live'",
        )
        .bind(recipient.id)
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() > 0 {
            Self::record_event_in(
                &mut tx,
                &batch.id,
                AuditKind::Revoked,
                1,
                crate::config::now(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(revoked.rows_affected() > 0)
    }

    /// The batch's private key sealed to the admin; `None` once purge has begun.
    #[instrument(skip_all)]
    pub async fn sealed_batch_key(&self, batch_id: &str) -> StoreResult<Option<SealedBatchKey>> {
        let row = sqlx::query("SELECT enc, sealed_private_key FROM batch_keys WHERE batch_id = ?")
            .bind(batch_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SealedBatchKey {
            enc: row.try_get("enc")?,
            ciphertext: row.try_get("sealed_private_key")?,
        }))
    }

    /// Every sealed password of a batch, and the addresses of those who have not
    /// submitted, both in roster order and read from one snapshot (so a submission
    /// landing meanwhile is in exactly one of the two).
    #[instrument(skip_all)]
    pub async fn submissions_and_missing(
        &self,
        batch_id: &str,
    ) -> StoreResult<(Vec<StoredSubmission>, Vec<String>)> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {OWNER_COLUMNS}, s.enc, s.ciphertext FROM submissions s \
             JOIN recipients r ON r.id = s.recipient_id WHERE r.batch_id = ? ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?;
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT r.email FROM recipients r WHERE r.batch_id = ? AND NOT EXISTS \
             (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id) ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let submissions = rows
            .iter()
            .map(|row| {
                // By place, as `OWNER_COLUMNS` lists them, then the seal.
                Ok(StoredSubmission {
                    recipient: SubmissionOwner {
                        id: row.try_get(0)?,
                        roster_line: row.try_get(1)?,
                        email: row.try_get(2)?,
                        user_name: row.try_get(3)?,
                        user_root: row.try_get(4)?,
                    },
                    sealed: SealedPassword {
                        enc: row.try_get(OWNER_COLUMN_COUNT)?,
                        ciphertext: row.try_get(OWNER_COLUMN_COUNT + 1)?,
                    },
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((submissions, missing))
    }

    /// Notes the first time a live link was opened (a GET never burns a link; this only
    /// tells the admin the message arrived).
    ///
    /// Queued for the group commit and not waited for: a GET does not wait for an
    /// fsync to show the form (and when the writer's queue is full the note is dropped). The
    /// note is committed with the next group: `OPENED_PAUSE` (25 ms) after the commit
    /// under way ends, plus its own commit's time (notes alone shortly after a commit
    /// wait to share one, `writer::pause`); a group that fails
    /// is logged by the writer; `close` commits every note still queued. A crash
    /// before the commit loses the note (the link stays "pending"; the next visit
    /// notes it again). Its span is at debug level, as `link_by_token_hash`'s.
    #[instrument(level = "debug", skip_all)]
    pub async fn mark_opened(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<()> {
        // The outcome is nobody's business here: dropping the receiver is allowed.
        let (done, _outcome) = tokio::sync::oneshot::channel();
        let job = WriteJob::Opened {
            token_hash: *token_hash,
            now,
            done,
        };
        // A note is not worth a failed page or a wait behind a flood of submissions:
        // when the writer's queue is full, or the writer has stopped, it is dropped
        // (logged; the link stays "pending" and its next visit notes it again).
        if let Err(e) = self.submissions.try_send(job) {
            let why = match e {
                tokio::sync::mpsc::error::TrySendError::Full(_) => "the writer's queue is full",
                tokio::sync::mpsc::error::TrySendError::Closed(_) => "the writer has stopped",
            };
            tracing::warn!(why, "an \"opened\" note was dropped");
        }
        Ok(())
    }

    /// Waits until every write queued before now (the "opened" notes above) is
    /// committed: a flush goes through the same queue, in order, and is waited for
    /// (it never waits for the notes' pause). `close` does this; so do tests that read
    /// what a GET noted.
    pub async fn flush_writes(&self) -> StoreResult<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.through_writer(WriteJob::Flush { done }, answer).await
    }

    /// The batch's link key sealed to its batch key; `None` for batches from before
    /// link keys (migration 0017) and once purge has begun.
    #[instrument(skip_all)]
    pub async fn sealed_link_key(&self, batch_id: &str) -> StoreResult<Option<SealedSecret>> {
        let row = sqlx::query(
            "SELECT link_key_enc, sealed_link_key FROM batch_keys WHERE batch_id = ? \
             AND sealed_link_key IS NOT NULL",
        )
        .bind(batch_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SealedSecret {
            enc: row.try_get("link_key_enc")?,
            ciphertext: row.try_get("sealed_link_key")?,
        }))
    }

    /// How every recipient's live, unexpired link can be given out again (its sealed
    /// token or its derivation counter), with its expiry, in roster order.
    #[instrument(skip_all)]
    pub async fn live_link_secrets(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(Recipient, StoredLinkSecret, i64)>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, l.sealed_token_enc, l.sealed_token, l.link_counter, \
             l.expires_at AS link_expires_at FROM links l \
             JOIN recipients r ON r.id = l.recipient_id \
             WHERE r.batch_id = ? AND l.state = 'live' AND l.expires_at > ? \
             AND (l.sealed_token IS NOT NULL OR l.link_counter IS NOT NULL) \
             ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let counter: Option<i64> = row.try_get("link_counter")?;
                let secret = match counter {
                    Some(counter) => StoredLinkSecret::Derived(counter),
                    None => StoredLinkSecret::Sealed(SealedToken {
                        enc: row.try_get("sealed_token_enc")?,
                        ciphertext: row.try_get("sealed_token")?,
                    }),
                };
                Ok((
                    row_to_recipient(row)?,
                    secret,
                    row.try_get("link_expires_at")?,
                ))
            })
            .collect()
    }
}

/// The link a token hash names, with its recipient and batch (`link_by_token_hash`).
/// A link's view: its columns and tables, for one link (`LINK_VIEW_SQL`) or many
/// (`LIVE_VIEWS_SQL`).
static LINK_VIEW_FROM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "l.state, l.expires_at AS link_expires_at, l.opened_at, l.used_at, \
         l.failed_attempts, {RECIPIENT_COLUMNS}, {BATCH_COLUMNS} \
         FROM links l JOIN recipients r ON r.id = l.recipient_id \
         JOIN batches b ON b.id = r.batch_id JOIN batch_keys k ON k.batch_id = b.id"
    )
});

static LINK_VIEW_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} WHERE l.token_hash = ?", *LINK_VIEW_FROM));

/// The views of live, unexpired links before a link id, newest first (the links most
/// likely to be opened: a batch just sent).
static LIVE_VIEWS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT l.id AS link_id, l.token_hash, {} \
         WHERE l.state = 'live' AND l.expires_at > ?3 AND l.id < ?1 \
         ORDER BY l.id DESC LIMIT ?2",
        *LINK_VIEW_FROM
    )
});

/// `LIVE_VIEWS_SQL`'s columns by name.
static LIVE_VIEWS_COLUMNS: std::sync::OnceLock<super::reader::ColumnIndex> =
    std::sync::OnceLock::new();

/// A link's view with its token's hash.
pub(super) type HashedView = ([u8; 32], LinkView);

/// What one step of the warm read: the views with their tokens' hashes, the number of
/// rows read, and the id of the last row (the next step reads before it).
pub(super) struct LiveViews {
    /// The views read.
    pub(super) views: Vec<HashedView>,
    /// Rows read (a row whose hash is not 32 bytes gives no view).
    pub(super) rows: usize,
    /// The id of the last row read.
    pub(super) last: Option<i64>,
}

/// The views of at most `limit` live links unexpired at `now`, with ids below `before`,
/// newest first, in one statement, so one read transaction (`LinkViews::warm`, run by
/// the writer between its commits).
pub(super) fn read_live_views(
    conn: &rusqlite::Connection,
    before: i64,
    limit: usize,
    now: i64,
) -> StoreResult<LiveViews> {
    let read_error = super::reader::read_error;
    let mut query = conn.prepare_cached(&LIVE_VIEWS_SQL).map_err(read_error)?;
    let columns = LIVE_VIEWS_COLUMNS.get_or_init(|| super::reader::ColumnIndex::of(&query));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = query
        .query(rusqlite::params![before, limit, now])
        .map_err(read_error)?;
    let mut read = LiveViews {
        views: Vec::new(),
        rows: 0,
        last: None,
    };
    let mut batch = None;
    while let Some(row) = rows.next().map_err(read_error)? {
        let row = super::reader::OrderedRow::new(row, columns);
        read.rows += 1;
        read.last = Some(super::reader::Columns::try_get(&row, "link_id")?);
        let hash: Vec<u8> = super::reader::Columns::try_get(&row, "token_hash")?;
        if let Ok(token_hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            read.views
                .push((token_hash, row_to_link_view_after(&row, &mut batch)?));
        }
    }
    Ok(read)
}

/// `LINK_VIEW_SQL`'s columns by name (the same on every connection: one query text).
static LINK_VIEW_COLUMNS: std::sync::OnceLock<super::reader::ColumnIndex> =
    std::sync::OnceLock::new();

fn row_to_link_view(row: &impl super::reader::Columns) -> StoreResult<LinkView> {
    row_to_link_view_after(row, &mut None)
}

/// A link's view; its batch is `last`'s if it is the same batch (rows of one statement
/// read one snapshot, so one batch's columns are the same on each of its rows: the
/// warm decodes them once per batch, not once per link), else decoded and kept there.
fn row_to_link_view_after(
    row: &impl super::reader::Columns,
    last: &mut Option<Arc<Batch>>,
) -> StoreResult<LinkView> {
    // Read in the query's order (`OrderedRow`).
    let state: String = row.try_get("state")?;
    let (expires_at, opened_at, used_at, failed_attempts) = (
        row.try_get("link_expires_at")?,
        row.try_get("opened_at")?,
        row.try_get("used_at")?,
        row.try_get("failed_attempts")?,
    );
    let recipient = row_to_recipient(row)?;
    let batch = match last {
        Some(batch) if batch.id == recipient.batch_id => Arc::clone(batch),
        _ => Arc::clone(last.insert(Arc::new(row_to_batch(row)?))),
    };
    Ok(LinkView {
        state: LinkState::parse(&state)?,
        expires_at,
        opened_at,
        used_at,
        failed_attempts,
        recipient,
        batch,
    })
}
