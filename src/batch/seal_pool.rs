//! Sealing off the async runtime: a fixed set of threads, one per core, takes
//! submissions from a bounded queue, seals each password to its batch key (X25519,
//! `crypto/hpke_base.rs`: about a third of a submission's CPU) and hands the sealed
//! record straight to the group-commit writer. The runtime's threads never run a seal,
//! so pages (GETs) never wait behind one; a full queue makes submitters wait (await),
//! not grow memory.
//!
//! The queue is one multi-consumer channel (async-channel: `send().await` on the
//! runtime, `recv_blocking` on the sealing threads), so an idle sealing thread waits on
//! the channel itself; with a lock around a single receiver, as before, every task also
//! woke the other thread waiting for that lock.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// Submissions that may wait for a sealing thread before submitters wait too.
const SEAL_QUEUE: usize = 256;

/// One piece of work for a sealing thread.
pub(super) type SealTask = Box<dyn FnOnce() + Send + 'static>;

/// The pool's queue; `None` when no thread could be started (then each task runs on
/// tokio's blocking pool instead).
static POOL: OnceLock<Option<async_channel::Sender<SealTask>>> = OnceLock::new();

fn start() -> Option<async_channel::Sender<SealTask>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (queue, tasks) = async_channel::bounded::<SealTask>(SEAL_QUEUE);
    let mut started = 0;
    for i in 0..threads {
        let tasks = tasks.clone();
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
fn sealer(tasks: &async_channel::Receiver<SealTask>) {
    loop {
        let Ok(task) = tasks.recv_blocking() else {
            return;
        };
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
            if let Err(async_channel::SendError(task)) = queue.send(task).await {
                // Not reached: the queue's receiver lives as long as the process.
                tokio::task::spawn_blocking(task);
            }
        }
        None => {
            tokio::task::spawn_blocking(task);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// More tasks than the queue holds, from many submitters at once: each runs exactly
    /// once and answers, a panicking one loses only its own answer, and the pool's
    /// threads keep running.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_task_runs_once_and_a_panic_loses_only_its_own_answer() {
        const TASKS: usize = 3 * super::SEAL_QUEUE;
        let ran = Arc::new(AtomicUsize::new(0));
        let mut answers = Vec::new();
        for i in 0..TASKS {
            let (done, answer) = tokio::sync::oneshot::channel::<usize>();
            let ran = Arc::clone(&ran);
            let submit = tokio::spawn(super::run(Box::new(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                assert!(i != 7, "task 7 panics on purpose");
                let _ = done.send(i);
            })));
            answers.push((i, submit, answer));
        }
        for (i, submit, answer) in answers {
            submit.await.unwrap();
            let got = tokio::time::timeout(std::time::Duration::from_secs(30), answer)
                .await
                .expect("every task is answered in time");
            if i == 7 {
                assert!(got.is_err(), "the panicking task's answer is dropped");
            } else {
                assert_eq!(got.unwrap(), i);
            }
        }
        assert_eq!(ran.load(Ordering::SeqCst), TASKS);
    }
}
