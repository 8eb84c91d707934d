//! Reading every live link's view into memory at once (issue 21), for the pages
//! (`link_views.rs`). When many lookups under one header read the database (a company
//! opening its links one after the other; the load bench's first pass over 50,000
//! links), each pays a read transaction of its own, and every one of the writer's
//! commits of their "opened" notes makes the readers' page caches start again. One
//! statement per thousand of them costs a small part of that.
//!
//! The writer runs it, a step of `WARM_STEP` views at a time, newest link first (a
//! batch just sent), live and unexpired links only: one step before each group it
//! commits, and more while its queue is empty or it waits out the notes' pause. The
//! writer's own commits cannot come between the header read before a step and the one
//! read after it; any other commit (the server's pool, another process) changes the
//! header, and the step is dropped and the warm ends (`LinkViews::warm`). A write
//! waits at most one step (a few milliseconds). It never opens a connection: after
//! `Close`, the pool's must be the last to close.

use rusqlite::Connection;
use tokio::sync::mpsc::Receiver;
use tokio::sync::mpsc::error::TryRecvError;

use super::WriteJob;
use crate::storage::link_views::LinkViews;

/// A warm under way: the id of the last link read (the next step reads older ones),
/// and how many views it read so far.
#[derive(Debug)]
pub(super) struct Warming {
    before: i64,
    seen: usize,
}

impl Default for Warming {
    fn default() -> Self {
        Self {
            before: i64::MAX,
            seen: 0,
        }
    }
}

/// The writer's next job. While a warm is under way, one step runs before each group
/// (a stream of "opened" notes, which is what asks for a warm, would otherwise never
/// leave the queue empty), and more while no job waits (here, and in the notes' pause:
/// `pause::Pause::gather`); otherwise the writer waits for a job. `None` once every
/// sender is gone.
pub(super) fn next_job(
    jobs: &mut Receiver<WriteJob>,
    warming: &mut Option<Warming>,
    conn: &Option<Connection>,
    views: &LinkViews,
) -> Option<WriteJob> {
    while step_if_warming(warming, conn, views) {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
    }
    jobs.blocking_recv()
}

/// Runs one step of the warm under way, if there is one; answers whether it ran one.
pub(super) fn step_if_warming(
    warming: &mut Option<Warming>,
    conn: &Option<Connection>,
    views: &LinkViews,
) -> bool {
    let Some(warm) = warming.as_mut() else {
        return false;
    };
    if !step(warm, conn, views) {
        tracing::debug!(views = warm.seen, "read the live links' views at once");
        *warming = None;
    }
    true
}

/// One step: reads the next views and hands them to `LinkViews::warm`. Answers whether
/// there is more to read. Only on the writer's open connection: a warm never opens one
/// (after `Close`, the pool's connection must be the last to close).
fn step(warm: &mut Warming, conn: &Option<Connection>, views: &LinkViews) -> bool {
    let Some(conn) = conn.as_ref() else {
        return false;
    };
    let now = crate::config::now();
    views.warm(|limit| {
        match crate::storage::links::read_live_views(conn, warm.before, limit, now) {
            Ok(read) => {
                if let Some(last) = read.last {
                    warm.before = last;
                }
                warm.seen += read.views.len();
                Some((read.views, read.rows))
            }
            Err(e) => {
                tracing::debug!(error = %e, "could not read the live links' views");
                None
            }
        }
    })
}
