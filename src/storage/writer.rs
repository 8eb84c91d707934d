//! The group commit: submissions and link openings wait briefly and are committed many
//! to a transaction, so one fsync serves a whole company opening its links at once.
//!
//! The writer is one plain thread with its own SQLite connection (rusqlite, statements
//! prepared once and cached): a group of writes costs no hand-off between threads per
//! statement, only one for the group. Sealing happens before (the seal pool hands the
//! sealed record straight to [`SubmissionWriter::send_blocking`]).
//!
//! "Opened" notes alone, shortly after a commit, wait a little to share a commit
//! ([`pause`]); a write someone awaits never waits for them.

mod checkpoint;
mod pause;
mod warm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::link_views::{Change, LinkViews};
use super::*;

/// How many submissions may wait for the writer before senders wait too.
pub(super) const GROUP_COMMIT_QUEUE: usize = 1024;
/// The most submissions committed in one transaction.
const GROUP_COMMIT_MAX: usize = 256;

/// Where a write's outcome goes once its group has committed (or failed).
pub type SubmissionAnswer = tokio::sync::oneshot::Sender<StoreResult<()>>;
type Answer = SubmissionAnswer;

/// What a submission stores besides its sealed password.
#[derive(Debug, Clone)]
pub struct PendingSubmission {
    /// SHA-256 of the link's token.
    pub token_hash: [u8; 32],
    /// Whose link it is.
    pub recipient_id: i64,
    /// How the user reads their mail, if asked.
    pub mail_client: Option<MailClient>,
    /// The outcome of the old-server check, if any.
    pub imap_check: Option<ImapCheck>,
    /// The password's lint codes, space-separated (`batch::lint`).
    pub lint_codes: String,
    /// The time of the submission.
    pub now: i64,
}

/// A write waiting for the group commit, with where to send its outcome.
#[derive(Debug)]
pub(super) enum WriteJob {
    /// Burn a live link and store its sealed password, in the same transaction.
    Submit {
        /// What is stored with it.
        pending: PendingSubmission,
        /// The sealed password.
        sealed: SealedPassword,
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
    /// Answered once every write queued before it is committed (`flush_writes`).
    Flush {
        /// The outcome of the group it was committed with.
        done: Answer,
    },
    /// The store is closing: the writer closes its connection (it opens a new one if
    /// anything is written after).
    Close {
        /// Answered once the connection is closed.
        done: Answer,
    },
    /// Read every live link's view into memory, a step at a time between commits
    /// (`warm.rs`). Nobody waits for it.
    Warm,
}

impl WriteJob {
    /// An "opened" note (or a request to warm the views): nobody waits for it, so it
    /// may wait for company ([`pause`]).
    fn is_note(&self) -> bool {
        matches!(self, Self::Opened { .. } | Self::Warm)
    }

    fn answer(self, outcome: StoreResult<()>) {
        let done = match self {
            Self::Submit { done, .. }
            | Self::Opened { done, .. }
            | Self::Flush { done }
            | Self::Close { done } => done,
            Self::Warm => return,
        };
        // The caller may have given up waiting; its outcome is then nobody's business.
        let _ = done.send(outcome);
    }
}

/// A handle on the group-commit writer for code that runs off the async runtime (the
/// seal pool): it hands a sealed submission over without a trip back to the runtime.
#[derive(Debug, Clone)]
pub struct SubmissionWriter {
    jobs: tokio::sync::mpsc::Sender<WriteJob>,
}

impl SubmissionWriter {
    /// Hands a sealed submission to the writer, waiting while its queue is full; `done`
    /// gets the outcome once its group is committed (or the writer's error). Call it
    /// from a plain thread only, never from async code.
    pub fn send_blocking(
        &self,
        pending: PendingSubmission,
        sealed: SealedPassword,
        done: SubmissionAnswer,
    ) {
        let job = WriteJob::Submit {
            pending,
            sealed,
            done,
        };
        if let Err(tokio::sync::mpsc::error::SendError(job)) = self.jobs.blocking_send(job) {
            job.answer(Err(writer_stopped()));
        }
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Other(anyhow::anyhow!("the group-commit writer has stopped"))
}

impl Store {
    /// Hands a write to the group-commit writer and waits until its group is committed.
    pub(super) async fn through_writer(
        &self,
        job: WriteJob,
        answer: tokio::sync::oneshot::Receiver<StoreResult<()>>,
    ) -> StoreResult<()> {
        self.submissions
            .send(job)
            .await
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| {
            StoreError::Other(anyhow::anyhow!(
                "the group-commit writer stopped before answering"
            ))
        })?
    }

    /// The writer, for a submission sealed off the async runtime.
    pub fn submission_writer(&self) -> SubmissionWriter {
        SubmissionWriter {
            jobs: self.submissions.clone(),
        }
    }

    /// Closes the writer's connection (before the pool closes, so the last connection
    /// to close is the pool's, which checkpoints the WAL).
    pub(super) async fn close_writer(&self) {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self
            .submissions
            .send(WriteJob::Close { done })
            .await
            .is_ok()
        {
            let _ = answer.await;
        }
    }
}

/// Starts the writer's thread; it stops when the last clone of the store (and so of the
/// sender) is gone.
pub(super) fn start_writer(
    path: PathBuf,
    jobs: tokio::sync::mpsc::Receiver<WriteJob>,
    views: std::sync::Arc<LinkViews>,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("passdrop-writer".to_owned())
        .spawn(move || submission_writer(&path, jobs, pause::OPENED_PAUSE, &views))
        .context("could not start the database writer's thread")?;
    Ok(())
}

/// Commits submissions in groups: it takes every submission waiting (up to
/// `GROUP_COMMIT_MAX`), burns and stores them all in one `BEGIN IMMEDIATE`
/// transaction, and answers each only after the commit (`synchronous=FULL`: durable).
/// While one group commits, the next one gathers, so under load one fsync
/// acknowledges many submissions; alone, a submission is committed at once. A group of
/// only "opened" notes less than `pause` after the last commit waits for the rest of
/// that interval ([`pause::Pause::gather`]). Returns how many groups it committed.
fn submission_writer(
    path: &Path,
    mut jobs: tokio::sync::mpsc::Receiver<WriteJob>,
    pause: Duration,
    views: &LinkViews,
) -> u64 {
    let mut conn: Option<Connection> = None;
    let mut group = Vec::with_capacity(GROUP_COMMIT_MAX);
    let mut closing = Vec::new();
    let mut pause = pause::Pause::new(pause);
    let mut commits = 0;
    let mut warming = None;
    while let Some(first) = warm::next_job(&mut jobs, &mut warming, &conn, views) {
        group.push(first);
        while group.len() < GROUP_COMMIT_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        pause.gather(&mut jobs, &mut group, GROUP_COMMIT_MAX, || {
            warm::step_if_warming(&mut warming, &conn, views)
        });
        let (close, writes): (Vec<_>, Vec<_>) = group
            .drain(..)
            .partition(|job| matches!(job, WriteJob::Close { .. }));
        closing.extend(close);
        let (warm, writes): (Vec<_>, Vec<_>) = writes
            .into_iter()
            .partition(|job| matches!(job, WriteJob::Warm));
        if !warm.is_empty() {
            warming.get_or_insert_with(warm::Warming::default);
        }
        if !writes.is_empty() {
            commit_group(path, &mut conn, writes, views);
            pause.committed();
            commits += 1;
        }
        if !closing.is_empty() {
            conn = None;
            warming = None;
            for job in closing.drain(..) {
                job.answer(Ok(()));
            }
        }
    }
    commits
}

/// Commits one group and answers each of its writes: all of them in one transaction,
/// or, if that fails for a reason other than "nothing can be written now", each alone.
fn commit_group(
    path: &Path,
    conn: &mut Option<Connection>,
    group: Vec<WriteJob>,
    views: &LinkViews,
) {
    let outcome = match conn {
        Some(c) => commit_submissions(c, &group, views),
        None => checkpoint::open_writer(path).and_then(|c| {
            let outcome = commit_submissions(&c, &group, views);
            *conn = Some(c);
            outcome
        }),
    };
    match outcome {
        Ok(burned) => {
            for (job, burned) in group.into_iter().zip(burned) {
                job.answer(if burned {
                    Ok(())
                } else {
                    Err(StoreError::LinkNotLive)
                });
            }
        }
        Err(e) => {
            // Nothing of the group was committed.
            let message = format!("{e:#}");
            tracing::error!(error = %message, "a group of submissions could not be committed");
            // When a commit fails (a full disk), SQLite may have left the connection
            // inside the transaction: a fresh connection is opened for the next group.
            if conn.as_ref().is_some_and(|c| !c.is_autocommit()) {
                tracing::warn!(
                    "the writer's connection was left inside a failed transaction; replacing it"
                );
                *conn = None;
            }
            let passing = connection::sqlite_cannot_write(&e);
            if passing.is_none() && group.len() > 1 {
                // Perhaps one write of the group is at fault (a constraint): each is
                // tried alone, in its own transaction, so only that one fails. Not when
                // nothing can be written (a full disk): every one would fail the same.
                tracing::warn!(
                    writes = group.len(),
                    "committing the group's writes one by one"
                );
                for job in group {
                    commit_group(path, conn, vec![job], views);
                }
                return;
            }
            // Each submitter gets the error.
            for job in group {
                job.answer(Err(match passing {
                    Some(reason) => StoreError::CannotWrite(reason),
                    None => StoreError::Other(anyhow::anyhow!("database error: {message}")),
                }));
            }
        }
    }
}

/// One transaction for a group of submissions; returns which links were burned (a
/// link that is no longer live, or was burned earlier in the same group, is not).
/// The link views the pages remember are carried over the commit with what it
/// changed in them (`link_views.rs`): the writer's own commits do not make every page
/// read the database again.
fn commit_submissions(
    conn: &Connection,
    jobs: &[WriteJob],
    views: &LinkViews,
) -> rusqlite::Result<Vec<bool>> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let writing = views.begin_write();
    let version_before = data_version(conn);
    let rows_before = conn.total_changes();
    let mut changes = Vec::with_capacity(jobs.len());
    let outcome = match write_group(&tx, jobs, &mut changes) {
        Ok(burned) => tx.commit().map(|()| burned),
        Err(e) => {
            drop(tx);
            Err(e)
        }
    };
    let wrote = conn.total_changes() != rows_before;
    views.end_write(
        writing,
        outcome.is_ok().then_some((&changes[..], wrote)),
        || version_before.is_some() && data_version(conn) == version_before,
    );
    outcome
}

/// The connection's `PRAGMA data_version`: it changes only when another connection
/// commits (`link_views.rs` asks whether the writer's commit was the only one).
fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |row| row.get(0))
        .ok()
}

/// The writes of one group, inside its transaction, noting what each changed in a
/// link's view. Each statement is taken from the connection's cache once per group,
/// not once per submission (a lookup that hashed the whole SQL text each time).
fn write_group(
    tx: &rusqlite::Transaction<'_>,
    jobs: &[WriteJob],
    changes: &mut Vec<Change>,
) -> rusqlite::Result<Vec<bool>> {
    let mut burned = Vec::with_capacity(jobs.len());
    {
        let mut opened = tx.prepare_cached(
            "UPDATE links SET opened_at = ?1 WHERE token_hash = ?2 AND state = 'live' \
             AND opened_at IS NULL",
        )?;
        // The recipient's batch, if it still has its key (a purge deletes both): read
        // first, so that the burn is a plain one-row UPDATE and the audit row a plain
        // one-row INSERT. An `INSERT ... SELECT` may write many rows and abort halfway,
        // so SQLite gave it a statement journal (a copy of every page it changed, in
        // memory) in each submission; a one-row INSERT needs none. The same
        // transaction (`BEGIN IMMEDIATE`) holds the read and the writes together.
        let mut batch_of = tx.prepare_cached(
            "SELECT r.batch_id FROM recipients r JOIN batch_keys k \
             ON k.batch_id = r.batch_id WHERE r.id = ?1",
        )?;
        let mut burn = tx.prepare_cached(
            "UPDATE links SET state = 'used', used_at = ?1 \
             WHERE token_hash = ?2 AND recipient_id = ?3 AND state = 'live' \
             AND expires_at > ?1",
        )?;
        let mut store = tx.prepare_cached(
            "INSERT INTO submissions (recipient_id, enc, ciphertext, submitted_at, mail_client, \
             imap_check) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (recipient_id) DO UPDATE \
             SET enc = excluded.enc, ciphertext = excluded.ciphertext, \
             submitted_at = excluded.submitted_at, mail_client = excluded.mail_client, \
             imap_check = excluded.imap_check",
        )?;
        // A new password: its lint codes, and none of the last one's re-check or
        // inventory (migration 0013). A password with no codes (most) needs no row at
        // all: every reader takes a missing row as one with no codes, re-check or
        // inventory, so the last one's row is deleted and none written (one b-tree page
        // fewer per submission in the commit, its fsync and the checkpoint).
        let mut readiness = tx.prepare_cached(
            "INSERT OR REPLACE INTO user_readiness (recipient_id, lint_codes) VALUES (?1, ?2)",
        )?;
        let mut no_readiness =
            tx.prepare_cached("DELETE FROM user_readiness WHERE recipient_id = ?1")?;
        let mut audit = tx.prepare_cached(
            "INSERT INTO audit_events (batch_id, at, kind, count) VALUES (?1, ?2, ?3, 1)",
        )?;
        for job in jobs {
            let (pending, sealed) = match job {
                WriteJob::Opened {
                    token_hash, now, ..
                } => {
                    if opened.execute(params![now, token_hash.as_slice()])? == 1 {
                        changes.push(Change::Opened(*token_hash, *now));
                    }
                    burned.push(true);
                    continue;
                }
                WriteJob::Flush { .. } | WriteJob::Close { .. } | WriteJob::Warm => {
                    burned.push(true);
                    continue;
                }
                WriteJob::Submit {
                    pending, sealed, ..
                } => (pending, sealed),
            };
            let (recipient_id, now) = (pending.recipient_id, pending.now);
            let batch_id: Option<String> = batch_of
                .query_row(params![recipient_id], |row| row.get(0))
                .optional()?;
            let Some(batch_id) = batch_id else {
                burned.push(false);
                continue;
            };
            let updated =
                burn.execute(params![now, pending.token_hash.as_slice(), recipient_id])?;
            if updated != 1 {
                burned.push(false);
                continue;
            }
            store.execute(params![
                recipient_id,
                sealed.enc,
                sealed.ciphertext,
                now,
                pending.mail_client.map(MailClient::as_str),
                pending.imap_check.map(ImapCheck::as_str),
            ])?;
            if pending.lint_codes.is_empty() {
                no_readiness.execute(params![recipient_id])?;
            } else {
                readiness.execute(params![recipient_id, pending.lint_codes])?;
            }
            audit.execute(params![batch_id, now, AuditKind::Submitted.as_str()])?;
            changes.push(Change::Used(pending.token_hash));
            burned.push(true);
        }
    }
    Ok(burned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables the writer's statements touch, with only the columns they use, and a
    /// trigger that refuses recipient 2's password (a write that fails on its own).
    pub(super) const SCHEMA: &str = "
        CREATE TABLE recipients (id INTEGER PRIMARY KEY, batch_id TEXT NOT NULL);
        CREATE TABLE batch_keys (batch_id TEXT PRIMARY KEY);
        CREATE TABLE links (token_hash BLOB NOT NULL UNIQUE, recipient_id INTEGER NOT NULL,
            state TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER,
            opened_at INTEGER);
        CREATE TABLE submissions (recipient_id INTEGER PRIMARY KEY, enc BLOB NOT NULL,
            ciphertext BLOB NOT NULL, submitted_at INTEGER NOT NULL, mail_client TEXT,
            imap_check TEXT);
        CREATE TABLE user_readiness (recipient_id INTEGER PRIMARY KEY, lint_codes TEXT,
            recheck TEXT);
        CREATE TABLE audit_events (batch_id TEXT, at INTEGER, kind TEXT, count INTEGER);
        INSERT INTO batch_keys VALUES ('b');
        INSERT INTO recipients VALUES (1, 'b'), (2, 'b'), (3, 'b'), (4, 'b');
        CREATE TRIGGER refuse_two BEFORE INSERT ON submissions WHEN NEW.recipient_id = 2
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
    ";

    pub(super) fn token_of(recipient_id: i64) -> [u8; 32] {
        let mut token_hash = [0; 32];
        token_hash[0] = u8::try_from(recipient_id).unwrap();
        token_hash
    }

    pub(super) fn submit(
        recipient_id: i64,
    ) -> (WriteJob, tokio::sync::oneshot::Receiver<StoreResult<()>>) {
        submit_with_codes(recipient_id, "")
    }

    fn submit_with_codes(
        recipient_id: i64,
        lint_codes: &str,
    ) -> (WriteJob, tokio::sync::oneshot::Receiver<StoreResult<()>>) {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = WriteJob::Submit {
            pending: PendingSubmission {
                token_hash: token_of(recipient_id),
                recipient_id,
                mail_client: None,
                imap_check: None,
                lint_codes: lint_codes.to_owned(),
                now: 10,
            },
            sealed: SealedPassword {
                enc: vec![1],
                ciphertext: vec![2],
            },
            done,
        };
        (job, answer)
    }

    #[test]
    fn one_failing_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let setup = Connection::open(&path).unwrap();
        setup.execute_batch(SCHEMA).unwrap();
        for recipient_id in 1..=4 {
            let (state, used_at) = if recipient_id == 4 {
                ("used", Some(5))
            } else {
                ("live", None)
            };
            setup
                .execute(
                    "INSERT INTO links VALUES (?1, ?2, ?3, 100, ?4, NULL)",
                    params![
                        token_of(recipient_id).as_slice(),
                        recipient_id,
                        state,
                        used_at
                    ],
                )
                .unwrap();
        }
        let (jobs, mut answers): (Vec<_>, Vec<_>) = [1, 2, 3, 4].into_iter().map(submit).unzip();
        let mut conn = None;
        commit_group(&path, &mut conn, jobs, &LinkViews::new(&path));
        let outcomes: Vec<_> = answers.iter_mut().map(|a| a.try_recv().unwrap()).collect();
        assert!(outcomes[0].is_ok(), "{outcomes:?}");
        assert!(
            matches!(&outcomes[1], Err(StoreError::Other(e)) if format!("{e:#}").contains("refused by the test")),
            "{outcomes:?}"
        );
        assert!(outcomes[2].is_ok(), "{outcomes:?}");
        assert!(
            matches!(outcomes[3], Err(StoreError::LinkNotLive)),
            "{outcomes:?}"
        );
        let stored: Vec<i64> = setup
            .prepare("SELECT recipient_id FROM submissions ORDER BY recipient_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, [1, 3]);
        let live: Vec<i64> = setup
            .prepare("SELECT recipient_id FROM links WHERE state = 'live'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(live, [2], "the refused write burned nothing");
        assert!(conn.as_ref().is_some_and(Connection::is_autocommit));
    }
    /// Commits `jobs` as one group and checks their answers: the first two stored, the
    /// third refused because its link is no longer live.
    fn two_stored_and_the_third_not_live(
        path: &Path,
        jobs: Vec<WriteJob>,
        answers: &mut [tokio::sync::oneshot::Receiver<StoreResult<()>>],
    ) {
        let mut conn = None;
        commit_group(path, &mut conn, jobs, &LinkViews::new(path));
        let outcomes: Vec<_> = answers.iter_mut().map(|a| a.try_recv().unwrap()).collect();
        assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
        assert!(
            matches!(outcomes[2], Err(StoreError::LinkNotLive)),
            "{outcomes:?}"
        );
    }

    /// A stored password leaves one audit row: its recipient's batch, its time, the kind
    /// and a count of 1. A link whose batch has lost its key (a purge under way) is not
    /// burned and leaves nothing.
    #[test]
    fn a_submission_is_audited_once_and_a_keyless_batch_burns_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let setup = Connection::open(&path).unwrap();
        setup.execute_batch(SCHEMA).unwrap();
        setup
            .execute_batch(
                "INSERT INTO batch_keys VALUES ('c');
                 INSERT INTO recipients VALUES (5, 'c'), (6, 'gone');",
            )
            .unwrap();
        for recipient_id in [3, 5, 6] {
            setup
                .execute(
                    "INSERT INTO links VALUES (?1, ?2, 'live', 100, NULL, NULL)",
                    params![token_of(recipient_id).as_slice(), recipient_id],
                )
                .unwrap();
        }
        let (jobs, mut answers): (Vec<_>, Vec<_>) = [3, 5, 6].into_iter().map(submit).unzip();
        two_stored_and_the_third_not_live(&path, jobs, &mut answers);
        let audit: Vec<(String, i64, String, i64)> = setup
            .prepare("SELECT batch_id, at, kind, count FROM audit_events ORDER BY batch_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            audit,
            [
                ("b".to_owned(), 10, "submitted".to_owned(), 1),
                ("c".to_owned(), 10, "submitted".to_owned(), 1)
            ]
        );
        let left: (String, Option<i64>, i64) = setup
            .query_row(
                "SELECT state, used_at, (SELECT count(*) FROM submissions WHERE recipient_id = 6) \
                 FROM links WHERE recipient_id = 6",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(left, ("live".to_owned(), None, 0));
    }

    /// A new password replaces the last one's readiness row: with lint codes, a row with
    /// only them; without (most passwords), no row at all (what every reader takes as no
    /// codes, re-check or inventory). Either way the last password's re-check is gone. A
    /// write refused because the link is no longer live leaves the row as it was.
    #[test]
    fn a_new_password_leaves_its_codes_and_nothing_of_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let setup = Connection::open(&path).unwrap();
        setup.execute_batch(SCHEMA).unwrap();
        for recipient_id in [1, 3, 4] {
            let state = if recipient_id == 4 { "used" } else { "live" };
            setup
                .execute(
                    "INSERT INTO links VALUES (?1, ?2, ?3, 100, NULL, NULL)",
                    params![token_of(recipient_id).as_slice(), recipient_id, state],
                )
                .unwrap();
            setup
                .execute(
                    "INSERT INTO user_readiness VALUES (?1, 'space_at_edge', 'password_changed')",
                    params![recipient_id],
                )
                .unwrap();
        }
        let (jobs, mut answers): (Vec<_>, Vec<_>) =
            [(1, ""), (3, "separator_in_password"), (4, "")]
                .into_iter()
                .map(|(id, codes)| submit_with_codes(id, codes))
                .unzip();
        two_stored_and_the_third_not_live(&path, jobs, &mut answers);
        let rows: Vec<(i64, String, Option<String>)> = setup
            .prepare("SELECT recipient_id, lint_codes, recheck FROM user_readiness ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (3, "separator_in_password".to_owned(), None),
                (
                    4,
                    "space_at_edge".to_owned(),
                    Some("password_changed".to_owned())
                )
            ]
        );
    }
}
