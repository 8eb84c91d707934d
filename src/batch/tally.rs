//! How far a long piece of work has got (opening every password of an export, issuing
//! every link of a new batch): a counter the work bumps and a front end reads, so the
//! domain shows progress without knowing how it is drawn.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Items done of a total, shared between the work and whoever shows it.
#[derive(Debug, Default)]
pub struct Tally {
    total: AtomicU64,
    done: AtomicU64,
}

impl Tally {
    /// A new tally, nothing to do yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Sets how many items there are.
    pub fn set_total(&self, total: usize) {
        self.total
            .store(u64::try_from(total).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts one more item done.
    pub fn bump(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// How many items there are (0 until the work knows).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// How many are done.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}
