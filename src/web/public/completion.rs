//! After a submission: "has everyone in the batch submitted?", asked once per burst of
//! submissions rather than once per submission. Each question costs a database read (is
//! a relay set up?) and, with a relay, a scan of the batch; under load they were one
//! extra query per submission. Now a batch has at most one question running, and a
//! submission that lands while it runs makes it ask once more after it: the last
//! submission is always followed by a question that starts after its commit, so
//! "everyone has submitted" is still noticed (and queued once, by the database).
//!
//! That "once more" waits [`ASK_AGAIN_AFTER`] first. Without the wait, under a steady
//! stream of submissions the question ran back to back (each a trip to sqlx's connection
//! thread and back): about 6% of the server's CPU in the store benchmark, for an answer
//! that matters once per batch. With it, a batch is asked at most about ten times a
//! second, and the admin's notice (an email) comes at most that much later. The
//! "another submission came" flag is cleared after the pause, just before the question:
//! every submission committed until then, during the question before or the pause, is
//! covered by that one question, and only one landing after it asks once more.
//!
//! The submission and its question run in a task of their own ([`submit_then_ask`]),
//! so a request dropped once its password is on the way to the writer still asks.
//!
//! A question that fails (the database busy under load, say) is asked again after the
//! same pause, [`TRIES`] times at most in a row; a batch whose question still failed is
//! remembered. At a clean stop, [`flush`] asks once more, without the pause, for every
//! batch with a question running, paused or given up, before the store closes. A crash
//! (or `kill -9`) between a batch's last commit and its question is covered when the
//! server starts again: [`ask_for_missed_at_start`] asks for every complete batch not
//! yet exported whose notice was never queued.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use secrecy::SecretString;

use crate::batch::{self, BatchResult, SubmitOutcome};
use crate::config::now;
use crate::crypto::LinkToken;
use crate::outbox::notify;
use crate::storage::{ImapCheck, LinkView, MailClient, StoreError};
use crate::web::AppState;

/// How long a batch's next question waits when submissions came while one ran, or when
/// it failed.
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(100);
/// How many times in a row a failing question is asked before the batch is left to
/// [`flush`] (or to its next submission).
const TRIES: u32 = 5;
/// How long the last questions at a clean stop may take, all together.
pub(crate) const FLUSH_WITHIN: Duration = Duration::from_secs(10);

/// The batches this process has questions about. Batch ids are random and never reused,
/// so one map serves every store of the process.
#[derive(Default)]
struct Batches {
    /// Batches with a question running or paused, and whether another submission was
    /// committed since the flag was last cleared (just before the last question).
    running: HashMap<String, bool>,
    /// Batches whose question failed [`TRIES`] times in a row, with no question since.
    failed: HashSet<String>,
}

fn lock() -> std::sync::MutexGuard<'static, Batches> {
    static BATCHES: OnceLock<Mutex<Batches>> = OnceLock::new();
    BATCHES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Removes a batch's entry if its task ends early (a panic, or the runtime dropping it),
/// so a later submission starts a new question.
struct Running {
    batch_id: String,
    /// Set once the task removed its own entry (under the lock, with nothing pending).
    done: bool,
}

impl Running {
    /// The task removed its own entry: nothing left to do when it ends.
    fn disarm(&mut self) {
        self.done = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            lock().running.remove(&self.batch_id);
        }
    }
}

/// What a failed question logs: the kind of error, never its text (which could quote
/// a query's data).
fn error_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::CannotWrite(reason) => reason,
        _ => "unexpected database error",
    }
}

/// The question: is a relay set up, and if so, has everyone in the batch submitted (the
/// notice is then queued, once: a unique index)?
async fn ask(state: &AppState, batch_id: &str) -> Result<(), &'static str> {
    let relay = notify::relay_is_set(&state.store, state.config.smtp.as_ref())
        .await
        .map_err(|e| error_kind(&e))?;
    let queued = batch::events::note_submission(&state.store, batch_id, relay, now())
        .await
        .map_err(|e| error_kind(&e))?;
    if queued {
        state.notifier.wake();
    }
    Ok(())
}

/// Called once a submission on `batch_id` is committed: asks (in the background, off the
/// user's answer) whether everyone has submitted, unless a question for that batch is
/// already running or paused, which then asks once more.
fn after_submission(state: &AppState, batch_id: &str) {
    let bg = state.clone();
    let id = batch_id.to_owned();
    after_commit(batch_id, move || {
        let (bg, id) = (bg.clone(), id.clone());
        async move { ask(&bg, &id).await }
    });
}

/// A submission as `Reader::accept` hands it over: the link's token, its view, the
/// password, how the user reads mail and the old server's verdict.
pub(super) type Submission = (
    LinkToken,
    Arc<LinkView>,
    SecretString,
    Option<MailClient>,
    Option<ImapCheck>,
);

/// `batch::submit`, then, if it was accepted, [`after_submission`], in a task of their
/// own that the caller awaits: if the request is dropped (its timeout, the client gone)
/// once the password is on its way to the writer, the commit still comes, and so does
/// the question after it.
pub(super) async fn submit_then_ask(
    state: &AppState,
    submission: Submission,
) -> Result<BatchResult<SubmitOutcome>, anyhow::Error> {
    let state = state.clone();
    let (token, view, password, mail_client, imap_check) = submission;
    tokio::spawn(async move {
        let outcome = batch::submit(
            &state.store,
            &state.config.settings_key,
            &token,
            &view,
            &password,
            mail_client,
            imap_check,
            now(),
        )
        .await;
        if matches!(outcome, Ok(SubmitOutcome::Accepted)) {
            // Everyone has submitted: the admin hears of it (once), when a relay is set
            // up. Off the user's answer: the password is durable already.
            after_submission(&state, &view.batch.id);
        }
        outcome
    })
    .await
    .map_err(|_| anyhow::anyhow!("the submission's task stopped before answering"))
}

/// [`after_submission`] with its question given (the tests count theirs).
fn after_commit<A, F>(batch_id: &str, mut ask: A)
where
    A: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<(), &'static str>> + Send,
{
    {
        let mut batches = lock();
        if let Some(again) = batches.running.get_mut(batch_id) {
            *again = true;
            return;
        }
        batches.running.insert(batch_id.to_owned(), false);
    }
    let mut guard = Running {
        batch_id: batch_id.to_owned(),
        done: false,
    };
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let failed = match ask().await {
                Ok(()) => {
                    failures = 0;
                    false
                }
                Err(kind) => {
                    failures += 1;
                    tracing::warn!(
                        batch_id = %guard.batch_id,
                        error = kind,
                        attempt = failures,
                        "the \"everyone has submitted\" check failed"
                    );
                    true
                }
            };
            {
                let mut batches = lock();
                let again = batches
                    .running
                    .get(&guard.batch_id)
                    .copied()
                    .unwrap_or(false);
                // Asked again: a submission noted since the flag was cleared (it may have
                // committed after this question read), or this question failed and has
                // tries left. Otherwise done, and the next submission asks anew.
                let retry = failed && failures < TRIES;
                if !(again || retry) {
                    batches.running.remove(&guard.batch_id);
                    if failed {
                        tracing::error!(
                            batch_id = %guard.batch_id,
                            "the \"everyone has submitted\" check kept failing; it is asked \
                             again at the next submission or when the server stops"
                        );
                        batches.failed.insert(guard.batch_id.clone());
                    } else {
                        batches.failed.remove(&guard.batch_id);
                    }
                    guard.disarm();
                    return;
                }
            }
            tokio::time::sleep(ASK_AGAIN_AFTER).await;
            // Cleared after the pause, just before asking: every submission committed
            // until now (during the last question or the pause) is covered by this one
            // question; one committed after it sets the flag again.
            if let Some(again) = lock().running.get_mut(&guard.batch_id) {
                *again = false;
            }
        }
    });
}

/// When the server starts: with a relay set up, queues "everyone has submitted" for
/// every complete batch never exported whose notice was never queued (the question a
/// crash or `kill -9` cut off between the last commit and the question; or a relay set
/// up after the last user submitted). In the background, so the start is not delayed.
pub(crate) fn ask_for_missed_at_start(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let queued = match notify::relay_is_set(&state.store, state.config.smtp.as_ref()).await {
            Ok(false) => return,
            Ok(true) => state.store.queue_missed_completion_notices(now()).await,
            Err(e) => Err(e),
        };
        match queued {
            Ok(0) => {}
            Ok(batches) => {
                tracing::info!(
                    batches,
                    "queued \"everyone has submitted\" notices that an earlier run had not queued"
                );
                state.notifier.wake();
            }
            Err(e) => tracing::warn!(
                error = error_kind(&e),
                "the \"everyone has submitted\" check at start failed"
            ),
        }
    });
}

/// At a clean stop, once no request is left and before the store closes: asks once,
/// without the pause, for every batch with a question running, paused or given up,
/// within `within` in all. The notice is queued once whatever asks (a unique index).
pub(crate) async fn flush(state: &AppState, within: Duration) {
    flush_with(|id| async move { ask(state, &id).await }, within).await;
}

/// [`flush`] with its question given (the tests count theirs).
async fn flush_with<A, F>(mut ask: A, within: Duration)
where
    A: FnMut(String) -> F,
    F: Future<Output = Result<(), &'static str>>,
{
    let pending: Vec<String> = {
        let batches = lock();
        batches
            .running
            .keys()
            .chain(batches.failed.iter())
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    };
    if pending.is_empty() {
        return;
    }
    let count = pending.len();
    let all = async {
        for batch_id in pending {
            match ask(batch_id.clone()).await {
                Ok(()) => {
                    lock().failed.remove(&batch_id);
                }
                Err(kind) => tracing::warn!(
                    batch_id = %batch_id,
                    error = kind,
                    "the last \"everyone has submitted\" check before stopping failed"
                ),
            }
        }
    };
    if tokio::time::timeout(within, all).await.is_err() {
        tracing::warn!(
            batches = count,
            "the last \"everyone has submitted\" checks before stopping did not finish in time"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::time::{Instant, sleep};

    use super::*;

    /// How long each counted question takes.
    const QUESTION: Duration = Duration::from_millis(10);

    /// A question that notes when it started, takes [`QUESTION`], and fails while
    /// `failing` is above zero (one less each time).
    fn counted(
        starts: &Arc<Mutex<Vec<Instant>>>,
        failing: u32,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Result<(), &'static str>> + Send>>
    + Send
    + 'static {
        let starts = Arc::clone(starts);
        let failing = Arc::new(Mutex::new(failing));
        move || {
            let (starts, failing) = (Arc::clone(&starts), Arc::clone(&failing));
            Box::pin(async move {
                starts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Instant::now());
                sleep(QUESTION).await;
                let mut left = failing.lock().unwrap_or_else(PoisonError::into_inner);
                if *left > 0 {
                    *left -= 1;
                    return Err("the database is busy");
                }
                Ok(())
            })
        }
    }

    fn starts_of(starts: &Arc<Mutex<Vec<Instant>>>) -> Vec<Instant> {
        starts.lock().unwrap().clone()
    }

    fn is_running(batch_id: &str) -> bool {
        lock().running.contains_key(batch_id)
    }

    #[tokio::test(start_paused = true)]
    async fn submissions_during_a_question_and_its_pause_share_one_more_question() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let id = "burst-during-question-and-pause";
        let t0 = Instant::now();
        after_commit(id, counted(&starts, 0));
        // During the first question, then during the pause after it.
        sleep(QUESTION / 2).await;
        after_commit(id, counted(&starts, 0));
        sleep(ASK_AGAIN_AFTER / 2).await;
        let last_commit = Instant::now();
        after_commit(id, counted(&starts, 0));
        sleep(ASK_AGAIN_AFTER * 5).await;
        let starts = starts_of(&starts);
        // The first question, then exactly one more, started after the last commit.
        assert_eq!(starts.len(), 2, "{starts:?}");
        assert_eq!(starts[0], t0);
        assert!(starts[1] > last_commit);
        assert!(!is_running(id));
    }

    #[tokio::test(start_paused = true)]
    async fn a_submission_during_the_last_question_gets_its_own() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let id = "last-during-second-question";
        after_commit(id, counted(&starts, 0));
        sleep(QUESTION / 2).await;
        after_commit(id, counted(&starts, 0));
        // Into the second question (after the first and the pause).
        sleep(QUESTION + ASK_AGAIN_AFTER).await;
        assert_eq!(starts_of(&starts).len(), 2);
        let last_commit = Instant::now();
        after_commit(id, counted(&starts, 0));
        sleep(ASK_AGAIN_AFTER * 5).await;
        let starts = starts_of(&starts);
        assert_eq!(starts.len(), 3, "{starts:?}");
        assert!(starts[2] > last_commit);
        assert!(!is_running(id));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_question_is_asked_again_after_a_pause() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let id = "fails-twice";
        after_commit(id, counted(&starts, 2));
        sleep(ASK_AGAIN_AFTER * 10).await;
        let starts = starts_of(&starts);
        assert_eq!(starts.len(), 3, "{starts:?}");
        assert!(starts[1] - starts[0] >= QUESTION + ASK_AGAIN_AFTER);
        assert!(!is_running(id));
        assert!(!lock().failed.contains(id));
    }

    #[tokio::test(start_paused = true)]
    async fn a_question_that_keeps_failing_is_left_to_the_flush() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let id = "keeps-failing";
        after_commit(id, counted(&starts, u32::MAX));
        sleep(ASK_AGAIN_AFTER * 20).await;
        assert_eq!(starts_of(&starts).len(), TRIES as usize);
        assert!(!is_running(id));
        assert!(lock().failed.contains(id));

        // A paused one too: its question failed once, and it waits to ask again.
        let paused = "paused-at-stop";
        after_commit(paused, counted(&Arc::new(Mutex::new(Vec::new())), u32::MAX));
        sleep(QUESTION + ASK_AGAIN_AFTER / 2).await;
        assert!(is_running(paused));

        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        flush_with(
            move |batch_id| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock().unwrap().push(batch_id);
                    Ok(())
                }
            },
            FLUSH_WITHIN,
        )
        .await;
        let asked = asked.lock().unwrap().clone();
        assert!(asked.iter().any(|b| b == id), "{asked:?}");
        assert!(asked.iter().any(|b| b == paused), "{asked:?}");
        assert!(!lock().failed.contains(id));
    }

    #[tokio::test(start_paused = true)]
    async fn the_flush_is_bounded_in_time() {
        let id = "flush-never-answers";
        lock().failed.insert(id.to_owned());
        let start = Instant::now();
        flush_with(
            |_| std::future::pending::<Result<(), &'static str>>(),
            Duration::from_secs(1),
        )
        .await;
        // (Another test's flush may have asked it already; then nothing was left.)
        assert!(start.elapsed() <= Duration::from_secs(1));
        lock().failed.remove(id);
    }
}
