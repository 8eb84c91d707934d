//! At most a few password checks against the old server at once, so a flood of
//! submissions cannot turn passdrop into a hammer against it.

use super::*;

/// How many password checks may talk to IMAP servers at once, so that a burst of
/// submissions does not look like an attack to the old server.
pub const MAX_CONCURRENT_CHECKS: usize = 8;

/// How long a check waits for a free slot before the user is asked to try again.
pub(super) const SLOT_WAIT: Duration = Duration::from_secs(5);

/// Admits password checks: one at a time per link (so that parallel requests cannot
/// guess more passwords than the per-link cap allows before each is counted) and at
/// most `MAX_CONCURRENT_CHECKS` overall.
#[derive(Debug)]
pub struct CheckGate {
    in_flight: Mutex<std::collections::HashSet<[u8; 32]>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for CheckGate {
    fn default() -> Self {
        Self {
            in_flight: Mutex::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CHECKS)),
        }
    }
}

/// Whether a check may run now.
#[derive(Debug)]
pub enum Entry {
    /// Yes; the link is free again when the pass is dropped.
    Admitted(CheckPass),
    /// A check for the same link is already running.
    AlreadyChecking,
    /// Every slot stayed busy for `SLOT_WAIT`.
    Busy,
}

/// Permission to run one check; the link is free again when it is dropped.
#[derive(Debug)]
pub struct CheckPass {
    gate: Arc<CheckGate>,
    key: [u8; 32],
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl CheckGate {
    /// Claims `key` (a link's token hash) and waits (a few seconds at most) for a slot.
    pub async fn enter(self: &Arc<Self>, key: [u8; 32]) -> Entry {
        {
            let Ok(mut set) = self.in_flight.lock() else {
                return Entry::Busy;
            };
            if !set.insert(key) {
                return Entry::AlreadyChecking;
            }
        }
        let release = Release {
            gate: Arc::clone(self),
            key,
        };
        let slot = tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned()).await;
        let Ok(Ok(slot)) = slot else {
            return Entry::Busy;
        };
        std::mem::forget(release);
        Entry::Admitted(CheckPass {
            gate: Arc::clone(self),
            key,
            _slot: slot,
        })
    }

    fn release(&self, key: &[u8; 32]) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(key);
        }
    }
}

/// Frees the link if the wait for a slot ends without one (or the request is dropped).
pub(super) struct Release {
    gate: Arc<CheckGate>,
    key: [u8; 32],
}

impl Drop for Release {
    fn drop(&mut self) {
        self.gate.release(&self.key);
    }
}

impl Drop for CheckPass {
    fn drop(&mut self) {
        self.gate.release(&self.key);
    }
}
