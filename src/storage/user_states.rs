//! The user's ways out (issue 16): "I need help" and "This wasn't me" as per-user states
//! kept with the user's rows, and the admin's notices about them queued for email.
//! The audit trail gets only the kind and the time, never who.

use super::*;

/// What an admin notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A user reported their link ("This wasn't me"); it was revoked.
    Reported,
    /// A user asked IT for help.
    NeedsHelp,
    /// Everyone in the batch has submitted.
    Completed,
}

impl NoticeKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::NeedsHelp => "needs_help",
            Self::Completed => "completed",
        }
    }

    /// Parses a stored value strictly.
    pub fn parse(value: &str) -> Result<Self, sqlx::Error> {
        match value {
            "reported" => Ok(Self::Reported),
            "needs_help" => Ok(Self::NeedsHelp),
            "completed" => Ok(Self::Completed),
            other => Err(sqlx::Error::Decode(
                format!("unknown admin notice kind {other:?}").into(),
            )),
        }
    }
}

/// An email to the admin, queued or done.
#[derive(Debug, Clone)]
pub struct AdminNotice {
    /// Its id.
    pub id: i64,
    /// The batch it is about.
    pub batch_id: String,
    /// The user it is about (none for a completed batch).
    pub recipient_id: Option<i64>,
    /// What happened.
    pub kind: NoticeKind,
    /// When it happened.
    pub at: i64,
    /// `queued`, `sending`, `sent` or `failed`.
    pub state: String,
    /// Tries so far.
    pub attempts: i64,
    /// The relay's last answer or the problem.
    pub last_error: Option<String>,
}

/// What marking a user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserMark {
    /// The batch's user.
    pub recipient_id: i64,
    /// Whether the state is new (a repeat changes nothing and tells nobody again).
    pub first_time: bool,
    /// Whether a password had been received with the link (a report then means the
    /// stored password may be someone else's).
    pub after_use: bool,
}

const NOTICE_COLUMNS: &str = "id, batch_id, recipient_id, kind, at, state, attempts, last_error";

fn row_to_notice(row: &sqlx::sqlite::SqliteRow) -> Result<AdminNotice, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(AdminNotice {
        id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        recipient_id: row.try_get("recipient_id")?,
        kind: NoticeKind::parse(&kind)?,
        at: row.try_get("at")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Queues "everyone has submitted" for the batches `b` a `WHERE` clause picks (`?1`:
/// now); the unique index `admin_notices_one_completion` makes it once per batch.
const QUEUE_COMPLETION: &str = "INSERT OR IGNORE INTO admin_notices (batch_id, kind, at, state, next_attempt_at) \
     SELECT b.id, 'completed', ?1, 'queued', ?1 FROM batches b";

/// Batch `b` has users and every one of them has submitted.
const BATCH_IS_COMPLETE: &str = "EXISTS (SELECT 1 FROM recipients WHERE batch_id = b.id) \
     AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.batch_id = b.id \
         AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id))";

impl Store {
    /// "This wasn't me": in one transaction, revokes the link `token_hash` names (if it
    /// is still live), marks its user reported, writes "a link was reported" (or, for a
    /// link a password was received with, "a used link was reported") to the audit
    /// trail and, with `notify`, queues the admin's email. `None` if no such link (or
    /// its batch is being purged). A repeat changes nothing.
    #[instrument(skip_all)]
    pub async fn report_link(
        &self,
        token_hash: &[u8; 32],
        notify: bool,
        now: i64,
    ) -> StoreResult<Option<UserMark>> {
        let mut tx = self.begin_write().await?;
        let Some((link_id, recipient_id, batch_id, state)) =
            Self::link_owner(&mut tx, token_hash).await?
        else {
            return Ok(None);
        };
        sqlx::query("UPDATE links SET state = 'revoked' WHERE id = ? AND state = 'live'")
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
        let first_time = sqlx::query(
            "INSERT INTO user_states (recipient_id, reported_at) VALUES (?1, ?2) \
             ON CONFLICT (recipient_id) DO UPDATE SET reported_at = ?2 \
             WHERE user_states.reported_at IS NULL",
        )
        .bind(recipient_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let after_use = state == "used";
        if first_time {
            let kind = if after_use {
                AuditKind::ReportedAfterUse
            } else {
                AuditKind::LinkReported
            };
            Self::record_event_in(&mut tx, &batch_id, kind, 1, now).await?;
            if notify {
                Self::queue_notice_in(
                    &mut tx,
                    &batch_id,
                    Some(recipient_id),
                    NoticeKind::Reported,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Some(UserMark {
            recipient_id,
            first_time,
            after_use,
        }))
    }

    /// "I need help": marks the user of the link `token_hash` names (the link stays as it
    /// is), writes "a user asked for help" to the audit trail and, with `notify`, queues
    /// the admin's email, in one transaction. `None` if no such link. A repeat while the
    /// state stands changes nothing.
    #[instrument(skip_all)]
    pub async fn mark_needs_help(
        &self,
        token_hash: &[u8; 32],
        notify: bool,
        now: i64,
    ) -> StoreResult<Option<UserMark>> {
        let mut tx = self.begin_write().await?;
        let Some((_, recipient_id, batch_id, state)) =
            Self::link_owner(&mut tx, token_hash).await?
        else {
            return Ok(None);
        };
        let first_time = sqlx::query(
            "INSERT INTO user_states (recipient_id, needs_help_at) VALUES (?1, ?2) \
             ON CONFLICT (recipient_id) DO UPDATE SET needs_help_at = ?2 \
             WHERE user_states.needs_help_at IS NULL",
        )
        .bind(recipient_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if first_time {
            Self::record_event_in(&mut tx, &batch_id, AuditKind::HelpAsked, 1, now).await?;
            if notify {
                Self::queue_notice_in(
                    &mut tx,
                    &batch_id,
                    Some(recipient_id),
                    NoticeKind::NeedsHelp,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Some(UserMark {
            recipient_id,
            first_time,
            after_use: state == "used",
        }))
    }

    /// The link's id, its user, batch and stored state; `None` if unknown or its batch
    /// is being purged.
    async fn link_owner(
        tx: &mut sqlx::SqliteConnection,
        token_hash: &[u8; 32],
    ) -> StoreResult<Option<(i64, i64, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.recipient_id, r.batch_id, l.state FROM links l \
             JOIN recipients r ON r.id = l.recipient_id \
             JOIN batch_keys k ON k.batch_id = r.batch_id WHERE l.token_hash = ?",
        )
        .bind(token_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await?)
    }

    async fn queue_notice_in(
        tx: &mut sqlx::SqliteConnection,
        batch_id: &str,
        recipient_id: Option<i64>,
        kind: NoticeKind,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(sqlx::query(
            "INSERT OR IGNORE INTO admin_notices (batch_id, recipient_id, kind, at, state, \
             next_attempt_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?4)",
        )
        .bind(batch_id)
        .bind(recipient_id)
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected())
    }

    /// Clears a user's "needs help" and "reported" states (the admin has dealt with
    /// them), noting "a user's state was cleared" in the audit trail. `false` if there
    /// was nothing to clear.
    #[instrument(skip_all)]
    pub async fn clear_user_state(
        &self,
        batch: &Batch,
        email: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let recipient = Self::recipient_by_email(&mut tx, batch, email).await?;
        let cleared = sqlx::query(
            "DELETE FROM user_states WHERE recipient_id = ? \
             AND (needs_help_at IS NOT NULL OR reported_at IS NOT NULL)",
        )
        .bind(recipient.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if cleared {
            Self::record_event_in(&mut tx, &batch.id, AuditKind::UserStateCleared, 1, now).await?;
        }
        tx.commit().await?;
        Ok(cleared)
    }

    /// Queues "everyone has submitted" for the batch, once in its life, when every user
    /// has submitted. Returns whether it was queued now.
    #[instrument(skip_all)]
    pub async fn queue_completion_notice(&self, batch_id: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(constant_sql(format!(
            "{QUEUE_COMPLETION} WHERE b.id = ?2 AND {BATCH_IS_COMPLETE}"
        )))
        .bind(now)
        .bind(batch_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues "everyone has submitted" for every batch that is complete and was never
    /// exported (once in its life: the unique index ignores a batch that had it queued):
    /// the notices a server stopped (or crashed) before queueing, between the last
    /// user's committed submission and the question it asks afterwards. Returns how many
    /// were queued.
    #[instrument(skip_all)]
    pub async fn queue_missed_completion_notices(&self, now: i64) -> StoreResult<u64> {
        let done = sqlx::query(constant_sql(format!(
            "{QUEUE_COMPLETION} WHERE b.first_exported_at IS NULL AND {BATCH_IS_COMPLETE}"
        )))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A batch's admin notices, newest first.
    #[instrument(skip_all)]
    pub async fn admin_notices(&self, batch_id: &str) -> StoreResult<Vec<AdminNotice>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {NOTICE_COLUMNS} FROM admin_notices WHERE batch_id = ? ORDER BY id DESC"
        )))
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(row_to_notice)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Queued notices due by `now`, oldest first, at most `limit`.
    #[instrument(skip_all)]
    pub async fn due_admin_notices(&self, now: i64, limit: i64) -> StoreResult<Vec<AdminNotice>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {NOTICE_COLUMNS} FROM admin_notices WHERE state = 'queued' \
             AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(row_to_notice)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Claims a queued notice before the relay is contacted (committed first, so a
    /// crash mid-send never sends it twice). Returns the try it is, or `None` if another
    /// sender took it.
    #[instrument(skip_all)]
    pub async fn claim_admin_notice(&self, id: i64, now: i64) -> StoreResult<Option<i64>> {
        let _ = now;
        Ok(sqlx::query_scalar(
            "UPDATE admin_notices SET state = 'sending', attempts = attempts + 1 \
             WHERE id = ? AND state = 'queued' RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records what became of a claimed notice. An unknown outcome counts as failed: it
    /// is not sent again automatically.
    #[instrument(skip_all)]
    pub async fn finish_admin_notice(
        &self,
        id: i64,
        outcome: DeliveryOutcome<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let (state, error, next) = match outcome {
            DeliveryOutcome::Sent => ("sent", None, now),
            DeliveryOutcome::Retry { reason, at } => ("queued", Some(reason), at),
            DeliveryOutcome::Unknown { reason } | DeliveryOutcome::Failed { reason } => {
                ("failed", Some(reason), now)
            }
        };
        sqlx::query(
            "UPDATE admin_notices SET state = ?2, last_error = ?3, next_attempt_at = ?4, \
             sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1",
        )
        .bind(id)
        .bind(state)
        .bind(error)
        .bind(next)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user's EmailAddress by id (for the admin's email), if the user still exists.
    #[instrument(skip_all)]
    pub async fn recipient_email(&self, recipient_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT email FROM recipients WHERE id = ?")
                .bind(recipient_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Whether a user has a submission.
    #[instrument(skip_all)]
    pub async fn recipient_submitted(&self, recipient_id: i64) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM submissions WHERE recipient_id = ?)")
                .bind(recipient_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Whether a user has reported their link (and not been cleared since).
    #[instrument(skip_all)]
    pub async fn is_reported(&self, recipient_id: i64) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM user_states WHERE recipient_id = ? \
             AND reported_at IS NOT NULL)",
        )
        .bind(recipient_id)
        .fetch_one(&self.pool)
        .await?)
    }
}
