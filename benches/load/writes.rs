//! The durable-write limit: passdrop's own group-commit writer, in this process, storing
//! submissions sealed beforehand, `clients` at a time as the HTTP clients send them, each
//! acknowledged only once its group is committed (`synchronous=FULL`), with no HTTP and
//! no seal. With the seal limit and the ceiling replaying passdrop's answer to a
//! submission, it bounds what durable stores can reach on this machine, whatever the
//! rest of passdrop costs (`report.rs`). Bounded in count (one write per link) and time.

use std::sync::Mutex;
use std::time::Instant;

use passdrop::batch::lint;
use passdrop::crypto::{self, LinkToken, SealedPassword, SubmissionBinding};
use passdrop::storage::{PendingSubmission, Store};
use secrecy::SecretString;

use super::{passdrop, timed};

/// What the writer alone did.
pub struct Writes {
    /// Durable writes per second, wall time.
    pub per_s: f64,
    /// The writer thread's CPU time (user + system) per write while it stored them, µs.
    pub writer_cpu_us: f64,
}

/// CPU seconds (user + system) of this process's threads named `name`, together.
fn threads_cpu_seconds(name: &str, ticks: f64) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut seconds = 0.0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks_at = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        match (ticks_at(11), ticks_at(12)) {
            (Some(user), Some(system)) => seconds += (user + system) / ticks,
            _ => return f64::NAN,
        }
    }
    seconds
}

/// Creates a batch of `links` in a fresh data directory, seals one password per link,
/// then times the writer storing them all, `clients` in flight.
pub fn measure(links: usize, clients: usize) -> Writes {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    timed(passdrop(&data).args(["admin", "init"]));
    let (_, urls) = super::create_batch(dir.path(), &data, links, "http://127.0.0.1:9");
    let tokens: Vec<LinkToken> = urls
        .iter()
        .map(|url| LinkToken::parse(url.rsplit('/').next().unwrap()).unwrap())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The lookups that find each link's recipient ask the writer to read every link's
    // view (`storage/writer/warm.rs`): they use a store of their own, closed before the
    // timed writes, so its writer's work is not counted.
    let jobs = {
        let lookups = runtime.block_on(Store::open(&data)).unwrap();
        let jobs = seal_all(&runtime, &lookups, &tokens);
        runtime.block_on(lookups.close());
        jobs
    };
    let store = runtime.block_on(Store::open(&data)).unwrap();
    let writes = jobs.len();
    let jobs = Mutex::new(jobs);
    let writer = store.submission_writer();
    let ticks = super::proc::clock_ticks();
    let cpu_before = threads_cpu_seconds("passdrop-writer", ticks);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                loop {
                    let Some((pending, sealed)) = jobs.lock().unwrap().pop() else {
                        return;
                    };
                    let (done, answer) = tokio::sync::oneshot::channel();
                    writer.send_blocking(pending, sealed, done);
                    answer.blocking_recv().unwrap().unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let writer_cpu = threads_cpu_seconds("passdrop-writer", ticks) - cpu_before;
    runtime.block_on(store.close());
    assert_eq!(writes, links);
    Writes {
        per_s: writes as f64 / elapsed,
        writer_cpu_us: writer_cpu * 1e6 / writes as f64,
    }
}

/// One submission per link, sealed as the server seals one (on all cores).
fn seal_all(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    tokens: &[LinkToken],
) -> Vec<(PendingSubmission, SealedPassword)> {
    let views: Vec<_> = runtime.block_on(async {
        let mut views = Vec::with_capacity(tokens.len());
        for token in tokens {
            views.push(
                store
                    .link_by_token_hash(&token.hash())
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        views
    });
    let now = passdrop::config::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = tokens.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = tokens
            .chunks(chunk)
            .zip(views.chunks(chunk))
            .map(|(tokens, views)| {
                scope.spawn(move || {
                    tokens
                        .iter()
                        .zip(views)
                        .map(|(token, view)| {
                            let password = format!("Bench+password+{}", view.recipient.id);
                            let binding = SubmissionBinding {
                                batch_id: &view.batch.id,
                                recipient_id: view.recipient.id,
                                email: &view.recipient.email,
                                user_name: &view.recipient.user_name,
                            };
                            let sealed = crypto::seal_password(
                                &view.batch.public_key,
                                binding,
                                &SecretString::from(password.clone()),
                            )
                            .unwrap();
                            let pending = PendingSubmission {
                                token_hash: token.hash(),
                                recipient_id: view.recipient.id,
                                mail_client: None,
                                imap_check: None,
                                lint_codes: lint::codes_to_stored(&lint::lint_password(&password)),
                                now,
                            };
                            (pending, sealed)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    })
}
