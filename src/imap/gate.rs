//! Admitting password checks: one at a time per link, and per old server (host and port)
//! at most a few at once with a minimum interval between logins, in a fair (first come,
//! first served) queue. Every check comes from passdrop's one address, so a burst of
//! logins (or a few users' typos) would otherwise trip the server's brute-force
//! defences for everybody.

use super::throttle::{Health, Outcome};
use super::*;

/// How many password checks may talk to IMAP servers at once, all servers together.
pub const MAX_CONCURRENT_CHECKS: usize = 8;

/// Default for how many checks may talk to one server at once (`serve
/// --imap-checks-per-server`).
pub const DEFAULT_CHECKS_PER_SERVER: usize = 2;

/// Default for the least time between two logins to one server (`serve
/// --imap-login-interval`).
pub const DEFAULT_LOGIN_INTERVAL: Duration = Duration::from_millis(250);

/// How long a check waits in the queue for its turn before the user is asked to try
/// again later (nothing counted). With the check itself (`CHECK_DEADLINE`) a verifying
/// submission takes at most `VERIFY_BUDGET`.
pub const QUEUE_WAIT: Duration = Duration::from_secs(25);

/// The longest a verifying submission waits in all: its turn in the queue, then the
/// check (connecting, the server's possibly delayed answer, logging out).
pub const VERIFY_BUDGET: Duration = Duration::from_secs(60);

const _: () = assert!(QUEUE_WAIT.as_secs() + CHECK_DEADLINE.as_secs() <= VERIFY_BUDGET.as_secs());

/// How checks are paced per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Checks talking to one server at once (at least 1).
    pub per_server: usize,
    /// Least time between the starts of two logins to one server.
    pub interval: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            per_server: DEFAULT_CHECKS_PER_SERVER,
            interval: DEFAULT_LOGIN_INTERVAL,
        }
    }
}

impl Pacing {
    /// Checks the values given on the command line.
    pub fn new(per_server: usize, interval: Duration) -> Result<Self, String> {
        if !(1..=MAX_CONCURRENT_CHECKS).contains(&per_server) {
            return Err(format!(
                "--imap-checks-per-server must be from 1 to {MAX_CONCURRENT_CHECKS}, not \
                 {per_server}"
            ));
        }
        if interval > Duration::from_secs(10) {
            return Err(format!(
                "--imap-login-interval-ms must be at most 10000 (a longer pause would leave \
                 users waiting longer than their page does), not {}",
                interval.as_millis()
            ));
        }
        Ok(Self {
            per_server,
            interval,
        })
    }
}

/// One old server's queue, its pace and what its recent answers looked like.
#[derive(Debug)]
pub(super) struct Lane {
    slots: Arc<tokio::sync::Semaphore>,
    /// When the next login may start.
    next_login: tokio::sync::Mutex<tokio::time::Instant>,
    pub(super) health: Mutex<Health>,
}

/// Admits password checks: one at a time per link (so that parallel requests cannot
/// guess more passwords than the per-link cap allows before each is counted), per
/// server `Pacing`, and at most `MAX_CONCURRENT_CHECKS` overall.
#[derive(Debug)]
pub struct CheckGate {
    in_flight: Mutex<std::collections::HashSet<[u8; 32]>>,
    slots: Arc<tokio::sync::Semaphore>,
    pacing: Pacing,
    lanes: Mutex<std::collections::HashMap<String, Arc<Lane>>>,
}

impl Default for CheckGate {
    fn default() -> Self {
        Self::new(Pacing::default())
    }
}

/// Whether a check may run now.
#[derive(Debug)]
pub enum Entry {
    /// Yes; the link is free again when the pass is dropped.
    Admitted(CheckPass),
    /// A check for the same link is already running.
    AlreadyChecking,
    /// The queue for this server did not move within `QUEUE_WAIT`.
    Busy,
}

/// Permission to run one check; the link is free again when it is dropped.
#[derive(Debug)]
pub struct CheckPass {
    gate: Arc<CheckGate>,
    key: [u8; 32],
    lane: Arc<Lane>,
    server: String,
    started: Instant,
    _server_slot: tokio::sync::OwnedSemaphorePermit,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl CheckPass {
    /// Notes how the check ended, for the server's health. Answers the plain-words
    /// warning when this outcome is the one that makes the server look like it is
    /// slowing down or blocking passdrop (once, until it recovers).
    pub fn record(&self, verdict: &Verdict) -> Option<String> {
        let outcome = Outcome::of(verdict, self.started.elapsed());
        let mut health = self.lane.health.lock().ok()?;
        health.record(Instant::now(), outcome, &self.server)
    }
}

impl CheckGate {
    /// A gate pacing each server as `pacing` says.
    pub fn new(pacing: Pacing) -> Self {
        Self {
            in_flight: Mutex::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CHECKS)),
            pacing,
            lanes: Mutex::default(),
        }
    }

    /// The pacing in force.
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    pub(super) fn lane(&self, server: &str) -> Option<Arc<Lane>> {
        let mut lanes = self.lanes.lock().ok()?;
        let lane = lanes.entry(server.to_owned()).or_insert_with(|| {
            Arc::new(Lane {
                slots: Arc::new(tokio::sync::Semaphore::new(self.pacing.per_server)),
                next_login: tokio::sync::Mutex::new(tokio::time::Instant::now()),
                health: Mutex::default(),
            })
        });
        Some(Arc::clone(lane))
    }

    /// What the recent checks against `server` suggest, in plain words, if it looks
    /// like the server is slowing down or blocking passdrop's address.
    pub fn throttling(&self, server: &ImapServer) -> Option<String> {
        let key = server.to_string();
        let lane = self.lanes.lock().ok()?.get(&key).cloned()?;
        let health = lane.health.lock().ok()?;
        health.warning(Instant::now(), &key)
    }

    /// Claims `key` (a link's token hash) and waits in `server`'s queue (at most
    /// `QUEUE_WAIT`) for its turn: a free place among the server's checks, then the
    /// interval since the last login to it.
    pub async fn enter(self: &Arc<Self>, key: [u8; 32], server: &ImapServer) -> Entry {
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
        let name = server.to_string();
        let Some(lane) = self.lane(&name) else {
            return Entry::Busy;
        };
        let turn = async {
            // Semaphores hand out permits in the order they were asked for: a fair queue.
            let server_slot = Arc::clone(&lane.slots).acquire_owned().await.ok()?;
            let slot = Arc::clone(&self.slots).acquire_owned().await.ok()?;
            let mut next = lane.next_login.lock().await;
            tokio::time::sleep_until(*next).await;
            *next = tokio::time::Instant::now() + self.pacing.interval;
            Some((server_slot, slot))
        };
        let Ok(Some((server_slot, slot))) = tokio::time::timeout(QUEUE_WAIT, turn).await else {
            return Entry::Busy;
        };
        std::mem::forget(release);
        Entry::Admitted(CheckPass {
            gate: Arc::clone(self),
            key,
            lane,
            server: name,
            started: Instant::now(),
            _server_slot: server_slot,
            _slot: slot,
        })
    }

    fn release(&self, key: &[u8; 32]) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(key);
        }
    }
}

/// Frees the link if the wait for a turn ends without one (or the request is dropped).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(port: u16) -> ImapServer {
        ImapServer::parse(&format!("imaps://mail.example.org:{port}")).unwrap()
    }

    #[tokio::test]
    async fn the_gate_admits_one_check_per_link() {
        let gate = Arc::new(CheckGate::default());
        let s = server(993);
        let Entry::Admitted(a) = gate.enter([1; 32], &s).await else {
            panic!()
        };
        assert!(matches!(
            gate.enter([1; 32], &s).await,
            Entry::AlreadyChecking
        ));
        let Entry::Admitted(b) = gate.enter([2; 32], &s).await else {
            panic!()
        };
        drop(a);
        assert!(matches!(gate.enter([1; 32], &s).await, Entry::Admitted(_)));
        drop(b);
    }

    #[tokio::test(start_paused = true)]
    async fn each_server_takes_its_own_few_checks_and_a_full_queue_says_busy() {
        let gate = Arc::new(CheckGate::new(Pacing::new(2, Duration::ZERO).unwrap()));
        let (a, b) = (server(1), server(2));
        let Entry::Admitted(p1) = gate.enter([1; 32], &a).await else {
            panic!()
        };
        let Entry::Admitted(_p2) = gate.enter([2; 32], &a).await else {
            panic!()
        };
        // Another server is not held up by the first one's queue.
        let Entry::Admitted(_p3) = gate.enter([3; 32], &b).await else {
            panic!()
        };
        let started = tokio::time::Instant::now();
        assert!(matches!(gate.enter([4; 32], &a).await, Entry::Busy));
        assert!(started.elapsed() >= QUEUE_WAIT);
        // The link that waited in vain is free again.
        drop(p1);
        assert!(matches!(gate.enter([4; 32], &a).await, Entry::Admitted(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn logins_to_one_server_are_spaced_and_served_in_order() {
        let interval = Duration::from_millis(250);
        let gate = Arc::new(CheckGate::new(Pacing::new(1, interval).unwrap()));
        let s = server(993);
        let started = tokio::time::Instant::now();
        let mut waiting = Vec::new();
        for i in 0..4u8 {
            let gate = Arc::clone(&gate);
            let s = s.clone();
            waiting.push(tokio::spawn(async move {
                let Entry::Admitted(pass) = gate.enter([i; 32], &s).await else {
                    panic!("{i} not admitted")
                };
                let at = started.elapsed();
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(pass);
                (i, at)
            }));
            // Each asks a moment after the one before.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut order = Vec::new();
        for w in waiting {
            order.push(w.await.unwrap());
        }
        order.sort_by_key(|(_, at)| *at);
        assert_eq!(
            order.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for pair in order.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= interval, "{order:?}");
        }
    }

    #[test]
    fn pacing_values_are_checked() {
        assert!(Pacing::new(0, Duration::ZERO).is_err());
        assert!(Pacing::new(MAX_CONCURRENT_CHECKS + 1, Duration::ZERO).is_err());
        assert!(Pacing::new(1, Duration::from_secs(11)).is_err());
        assert_eq!(
            Pacing::new(2, Duration::from_millis(250)),
            Ok(Pacing::default())
        );
    }
}
