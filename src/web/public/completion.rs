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
//! second, and the admin's notice (an email) comes at most that much later.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::batch;
use crate::config::now;
use crate::outbox::notify;
use crate::web::AppState;

/// How long a batch's next question waits when submissions came while one ran.
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(100);

/// Batches with a question running, and whether another submission came meanwhile.
/// Batch ids are random and never reused, so one map serves every store of the process.
fn running() -> &'static Mutex<HashMap<String, bool>> {
    static RUNNING: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    RUNNING.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, bool>> {
    running().lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a batch's entry if its task ends early (a panic), so a later submission
/// starts a new question.
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
            lock().remove(&self.batch_id);
        }
    }
}

/// Called once a submission on `batch_id` is committed: asks (in the background, off the
/// user's answer) whether everyone has submitted, unless a question for that batch is
/// already running, which then asks once more.
pub(super) fn after_submission(state: &AppState, batch_id: &str) {
    {
        let mut running = lock();
        if let Some(again) = running.get_mut(batch_id) {
            *again = true;
            return;
        }
        running.insert(batch_id.to_owned(), false);
    }
    let bg = state.clone();
    let mut guard = Running {
        batch_id: batch_id.to_owned(),
        done: false,
    };
    tokio::spawn(async move {
        loop {
            let relay = notify::relay_is_set(&bg.store, bg.config.smtp.as_ref()).await;
            let notify = relay.unwrap_or(false);
            let queued =
                batch::events::note_submission(&bg.store, &guard.batch_id, notify, now()).await;
            if matches!(queued, Ok(true)) {
                bg.notifier.wake();
            }
            {
                let mut running = lock();
                match running.get_mut(&guard.batch_id) {
                    // A submission came while this one ran: ask again, after its commit
                    // (and after a pause: submissions landing meanwhile share that question).
                    Some(again) if *again => *again = false,
                    // Nothing came meanwhile: done, and the next submission asks anew.
                    _ => {
                        running.remove(&guard.batch_id);
                        guard.disarm();
                        return;
                    }
                }
            }
            tokio::time::sleep(ASK_AGAIN_AFTER).await;
        }
    });
}
