//! The group commit: submissions and link openings wait briefly and are committed many
//! to a transaction, so one fsync serves a whole company opening its links at once.

use super::*;

/// How many submissions may wait for the writer before senders wait too.
pub(super) const GROUP_COMMIT_QUEUE: usize = 1024;
/// The most submissions committed in one transaction.
const GROUP_COMMIT_MAX: usize = 256;

/// Where a write's outcome goes once its group has committed (or failed).
pub(super) type Answer = tokio::sync::oneshot::Sender<StoreResult<()>>;

/// A write waiting for the group commit, with where to send its outcome.
#[derive(Debug)]
pub(super) enum WriteJob {
    /// Burn a live link and store its sealed password, in the same transaction.
    Submit {
        /// SHA-256 of the link's token.
        token_hash: [u8; 32],
        /// Whose link it is.
        recipient_id: i64,
        /// The HPKE encapsulated key.
        enc: Vec<u8>,
        /// The sealed password.
        ciphertext: Vec<u8>,
        /// How the user reads their mail, if asked.
        mail_client: Option<MailClient>,
        /// The outcome of the old-server check, if any.
        imap_check: Option<ImapCheck>,
        /// The password's lint codes, space-separated (`batch::lint`).
        lint_codes: String,
        /// The time of the submission.
        now: i64,
        /// The outcome: `LinkNotLive` when the link could not be burned.
        done: Answer,
    },
    /// Note the first time a live link was opened.
    Opened {
        /// SHA-256 of the link's token.
        token_hash: [u8; 32],
        /// The time it was opened.
        now: i64,
        /// The outcome.
        done: Answer,
    },
}

impl WriteJob {
    fn answer(self, outcome: StoreResult<()>) {
        let done = match self {
            Self::Submit { done, .. } | Self::Opened { done, .. } => done,
        };
        // The caller may have given up waiting; its outcome is then nobody's business.
        let _ = done.send(outcome);
    }
}

impl Store {
    /// Hands a write to the group-commit writer and waits until its group is committed.
    pub(super) async fn through_writer(
        &self,
        job: WriteJob,
        answer: tokio::sync::oneshot::Receiver<StoreResult<()>>,
    ) -> StoreResult<()> {
        self.submissions.send(job).await.map_err(|_| {
            StoreError::Other(anyhow::anyhow!("the group-commit writer has stopped"))
        })?;
        answer.await.map_err(|_| {
            StoreError::Other(anyhow::anyhow!(
                "the group-commit writer stopped before answering"
            ))
        })?
    }
}

/// Commits submissions in groups: it takes every submission waiting (up to
/// `GROUP_COMMIT_MAX`), burns and stores them all in one `BEGIN IMMEDIATE`
/// transaction, and answers each only after the commit (`synchronous=FULL`: durable).
/// While one group commits, the next one gathers, so under load one fsync
/// acknowledges many submissions; alone, a submission is committed at once.
pub(super) async fn submission_writer(
    pool: SqlitePool,
    mut jobs: tokio::sync::mpsc::Receiver<WriteJob>,
) {
    let mut group = Vec::with_capacity(GROUP_COMMIT_MAX);
    while jobs.recv_many(&mut group, GROUP_COMMIT_MAX).await > 0 {
        match commit_submissions(&pool, &group).await {
            Ok(burned) => {
                for (job, burned) in group.drain(..).zip(burned) {
                    job.answer(if burned {
                        Ok(())
                    } else {
                        Err(StoreError::LinkNotLive)
                    });
                }
            }
            Err(e) => {
                // Nothing of the group was committed; each submitter gets the error.
                let message = format!("{e:#}");
                tracing::error!(error = %message, "a group of submissions could not be committed");
                let passing = cannot_write(&e);
                for job in group.drain(..) {
                    job.answer(Err(match passing {
                        Some(reason) => StoreError::CannotWrite(reason),
                        None => StoreError::Other(anyhow::anyhow!("database error: {message}")),
                    }));
                }
            }
        }
    }
}

/// One transaction for a group of submissions; returns which links were burned (a
/// link that is no longer live, or was burned earlier in the same group, is not).
async fn commit_submissions(
    pool: &SqlitePool,
    jobs: &[WriteJob],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut burned = Vec::with_capacity(jobs.len());
    for job in jobs {
        let lint_codes = match &job {
            WriteJob::Submit { lint_codes, .. } => lint_codes.clone(),
            WriteJob::Opened { .. } => String::new(),
        };
        let (token_hash, recipient_id, enc, ciphertext, mail_client, imap_check, now) = match job {
            WriteJob::Opened {
                token_hash, now, ..
            } => {
                sqlx::query(
                    "UPDATE links SET opened_at = ? WHERE token_hash = ? AND state = 'live' \
                     AND opened_at IS NULL",
                )
                .bind(now)
                .bind(token_hash.as_slice())
                .execute(&mut *tx)
                .await?;
                burned.push(true);
                continue;
            }
            WriteJob::Submit {
                token_hash,
                recipient_id,
                enc,
                ciphertext,
                mail_client,
                imap_check,
                now,
                ..
            } => (
                token_hash,
                recipient_id,
                enc,
                ciphertext,
                mail_client,
                imap_check,
                now,
            ),
        };
        let updated = sqlx::query(
            "UPDATE links SET state = 'used', used_at = ?1 \
             WHERE token_hash = ?2 AND recipient_id = ?3 AND state = 'live' AND expires_at > ?1 \
             AND EXISTS (SELECT 1 FROM recipients r JOIN batch_keys k ON k.batch_id = r.batch_id \
                         WHERE r.id = ?3)",
        )
        .bind(now)
        .bind(token_hash.as_slice())
        .bind(recipient_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            burned.push(false);
            continue;
        }
        sqlx::query(
            "INSERT INTO submissions (recipient_id, enc, ciphertext, submitted_at, mail_client, \
             imap_check) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id) DO UPDATE SET \
             enc = excluded.enc, ciphertext = excluded.ciphertext, \
             submitted_at = excluded.submitted_at, mail_client = excluded.mail_client, \
             imap_check = excluded.imap_check",
        )
        .bind(recipient_id)
        .bind(enc)
        .bind(ciphertext)
        .bind(now)
        .bind(mail_client.map(MailClient::as_str))
        .bind(imap_check.map(ImapCheck::as_str))
        .execute(&mut *tx)
        .await?;
        // A new password: its lint codes, and none of the last one's re-check or
        // inventory (migration 0013).
        sqlx::query(
            "INSERT OR REPLACE INTO user_readiness (recipient_id, lint_codes) VALUES (?, ?)",
        )
        .bind(recipient_id)
        .bind(lint_codes)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_events (batch_id, at, kind, count) \
             SELECT batch_id, ?, ?, 1 FROM recipients WHERE id = ?",
        )
        .bind(now)
        .bind(AuditKind::Submitted.as_str())
        .bind(recipient_id)
        .execute(&mut *tx)
        .await?;
        burned.push(true);
    }
    tx.commit().await?;
    Ok(burned)
}
