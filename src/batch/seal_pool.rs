//! Sealing off the async runtime: a fixed set of threads, one per core, takes
//! submissions from a bounded queue, seals each password to its batch key (X25519, about
//! 40% of a submission's CPU) and hands the sealed record straight to the group-commit
//! writer. The runtime's threads never run a seal, so pages (GETs) never wait behind
//! one; a full queue makes submitters wait (await), not grow memory.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Submissions that may wait for a sealing thread before submitters wait too.
const SEAL_QUEUE: usize = 256;

/// One piece of work for a sealing thread.
pub(super) type SealTask = Box<dyn FnOnce() + Send + 'static>;

/// The pool's queue; `None` when no thread could be started (then each task runs on
/// tokio's blocking pool instead).
static POOL: OnceLock<Option<tokio::sync::mpsc::Sender<SealTask>>> = OnceLock::new();

fn start() -> Option<tokio::sync::mpsc::Sender<SealTask>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (queue, tasks) = tokio::sync::mpsc::channel::<SealTask>(SEAL_QUEUE);
    let tasks = Arc::new(Mutex::new(tasks));
    let mut started = 0;
    for i in 0..threads {
        let tasks = Arc::clone(&tasks);
        let spawned = std::thread::Builder::new()
            .name(format!("passdrop-seal-{i}"))
            .spawn(move || sealer(&tasks));
        match spawned {
            Ok(_) => started += 1,
            Err(e) => tracing::warn!(error = %e, "could not start a sealing thread"),
        }
    }
    (started > 0).then_some(queue)
}

/// A sealing thread: runs tasks until the queue closes (never: the pool lives as long
/// as the process).
fn sealer(tasks: &Mutex<tokio::sync::mpsc::Receiver<SealTask>>) {
    loop {
        // Only the wait for a task holds the lock; the task runs without it.
        let task = tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(task) = task else { return };
        // A task that panics loses only its own answer (its sender is dropped, so its
        // submitter gets an error), not the thread.
        if catch_unwind(AssertUnwindSafe(task)).is_err() {
            tracing::error!("a sealing task panicked");
        }
    }
}

/// Runs `task` on a sealing thread, waiting (asynchronously) while the queue is full.
/// The task answers its submitter itself (through the channels it carries).
pub(super) async fn run(task: SealTask) {
    match POOL.get_or_init(start) {
        Some(queue) => {
            if let Err(tokio::sync::mpsc::error::SendError(task)) = queue.send(task).await {
                // Not reached: the queue's receiver lives as long as the process.
                tokio::task::spawn_blocking(task);
            }
        }
        None => {
            tokio::task::spawn_blocking(task);
        }
    }
}
