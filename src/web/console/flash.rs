//! Flash confirmations for Post/Redirect/Get: what a console page shows once after a
//! POST that answered 303 (a reissued link, a send summary, "saved").
//!
//! Held in memory only, never in the database (a copy of the disk must not reveal a
//! reissued link): gone after `ttl` (a minute), at a restart, or once read. Each is bound
//! to the session that made it, under a random id the 303's `Location` carries
//! (`?flash=`); another session presenting the id reads nothing. The store is bounded, so
//! a flood of actions cannot grow it, and its HTML is zeroized when dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use subtle::ConstantTimeEq as _;

use crate::crypto::{CryptoError, LinkToken};

/// How long a flash waits to be read.
pub const FLASH_TTL: Duration = Duration::from_secs(60);
/// Most flashes held at once; beyond it, the oldest is dropped.
const MAX_FLASHES: usize = 256;
/// Most bytes of HTML held at once (a batch's page of email links can be large);
/// beyond it, the oldest flashes are dropped.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One confirmation waiting to be shown.
struct Entry {
    /// The SHA-256 of the session token that made it.
    session: [u8; 32],
    /// The rendered (already escaped) HTML.
    html: Zeroizing<String>,
    /// When it was made.
    at: Instant,
}

/// The flashes waiting to be shown, by the SHA-256 of their id.
pub struct Flashes {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for Flashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("Flashes")
            .field("ttl", &self.ttl)
            .field("held", &held)
            .finish()
    }
}

impl Default for Flashes {
    fn default() -> Self {
        Self::new(FLASH_TTL)
    }
}

impl Flashes {
    /// An empty store whose flashes last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// Keeps `html` for the session whose token hashes to `session`; returns the id to
    /// put in the redirect's URL.
    pub fn put(&self, session: [u8; 32], html: String) -> Result<String, CryptoError> {
        let id = LinkToken::generate()?;
        let entry = Entry {
            session,
            html: Zeroizing::new(html),
            at: Instant::now(),
        };
        if let Ok(mut entries) = self.entries.lock() {
            let ttl = self.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
            let mut held: usize = entries.values().map(|e| e.html.len()).sum();
            while entries.len() >= MAX_FLASHES || held + entry.html.len() > MAX_BYTES {
                let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| *k) else {
                    break;
                };
                if let Some(gone) = entries.remove(&oldest) {
                    held -= gone.html.len();
                }
            }
            entries.insert(id.hash(), entry);
        }
        Ok(id.expose().to_owned())
    }

    /// The flash `id` of the session `session`, removed: `None` when there is none, it
    /// has expired, or it belongs to another session (which leaves it in place).
    pub fn take(&self, session: &[u8; 32], id: &str) -> Option<Zeroizing<String>> {
        let key = LinkToken::parse(id)?.hash();
        let mut entries = self.entries.lock().ok()?;
        let ttl = self.ttl;
        entries.retain(|_, e| e.at.elapsed() < ttl);
        let entry = entries.get(&key)?;
        if !bool::from(entry.session.ct_eq(session)) {
            return None;
        }
        let entry = entries.remove(&key)?;
        (entry.at.elapsed() < self.ttl).then_some(entry.html)
    }

    /// Drops every flash of the session `session` (at logout), and every expired one.
    pub fn forget_session(&self, session: &[u8; 32]) {
        if let Ok(mut entries) = self.entries.lock() {
            let ttl = self.ttl;
            entries.retain(|_, e| !bool::from(e.session.ct_eq(session)) && e.at.elapsed() < ttl);
        }
    }

    /// Drops (and zeroizes) every expired flash; the server runs it a few times a
    /// minute, so a link nobody came back for does not outlive its minute by much.
    pub fn sweep(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            let ttl = self.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
        }
    }

    /// How many flashes are held (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_is_read_once_by_its_own_session_only() {
        let flashes = Flashes::default();
        let id = flashes.put([1; 32], "<p>link</p>".to_owned()).unwrap();
        assert!(flashes.take(&[2; 32], &id).is_none(), "another session");
        assert_eq!(flashes.take(&[1; 32], &id).unwrap().as_str(), "<p>link</p>");
        assert!(flashes.take(&[1; 32], &id).is_none(), "read once");
        assert!(flashes.take(&[1; 32], "not-an-id").is_none());
        assert!(flashes.is_empty());
        let id = flashes.put([1; 32], "<p>link</p>".to_owned()).unwrap();
        let other = flashes.put([2; 32], "<p>other</p>".to_owned()).unwrap();
        flashes.forget_session(&[1; 32]);
        assert!(flashes.take(&[1; 32], &id).is_none(), "gone at logout");
        assert!(flashes.take(&[2; 32], &other).is_some(), "others' stay");
    }

    #[test]
    fn a_flash_expires() {
        let flashes = Flashes::new(Duration::from_millis(30));
        let id = flashes.put([1; 32], "<p>link</p>".to_owned()).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert!(flashes.take(&[1; 32], &id).is_none());
        assert!(
            flashes.is_empty(),
            "an expired flash is dropped when looked at"
        );
        let _old = flashes.put([1; 32], "old".to_owned()).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let _new = flashes.put([1; 32], "new".to_owned()).unwrap();
        assert_eq!(
            flashes.len(),
            1,
            "expired flashes are dropped at the next put"
        );
        std::thread::sleep(Duration::from_millis(60));
        flashes.sweep();
        assert!(flashes.is_empty(), "and by the sweep nobody waits for");
    }

    #[test]
    fn the_store_is_bounded() {
        let flashes = Flashes::default();
        let first = flashes.put([1; 32], "first".to_owned()).unwrap();
        for _ in 0..MAX_FLASHES * 2 {
            flashes.put([1; 32], "more".to_owned()).unwrap();
        }
        assert_eq!(flashes.len(), MAX_FLASHES);
        assert!(
            flashes.take(&[1; 32], &first).is_none(),
            "the oldest went first"
        );
    }
}
