//! The settings key file, parsed once and kept while the file stays the same (issue 21):
//! the collection page verifies the batch's signature on every request, and reading and
//! parsing the file each time cost a few syscalls and an allocation per GET. The parsed
//! key is reused only while the file's device, inode, length, mtime and ctime are those
//! it was read with; any change (rewrite, replace, chmod, delete) reads it again.
//!
//! Looking at the file (one `stat`, a path walk) is itself about 5% of a GET's server
//! time (PERFORMANCE.md, ninth round), so a check that succeeds looks at most once per
//! [`LOOK_EVERY`]: a file changed or removed is noticed within that second, not
//! necessarily on the very next request. A check that fails looks at once
//! ([`KeyCache::get`] with `look_now`): a key replaced together with re-signed settings
//! is never refused for that second. The signature is still checked on every use (a
//! success remembered for exactly its bytes, `crypto/verified.rs`).

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a look at the file is trusted when the key it found verifies.
pub(super) const LOOK_EVERY: Duration = Duration::from_secs(1);

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// The key as read, the file's stamp when it was read, and when the file was last
/// looked at (and found the same).
type Cached = Option<(Stamp, Vec<u8>, Instant)>;

/// The last key read, shared by every clone of its key file (one per request).
#[derive(Debug, Clone, Default)]
pub(super) struct KeyCache(Arc<Mutex<Cached>>);

impl KeyCache {
    /// The key in `path`: the cached one while the file is unchanged, else `read()`'s
    /// (kept only when it succeeds; an error is returned and forgets the cache). The
    /// file is looked at when `look_now` or when it was last looked at [`LOOK_EVERY`]
    /// ago or more; the `bool` says whether it was (`false`: the key was answered from
    /// the last look, which the caller repeats with `look_now` if the key fails it).
    pub(super) fn get<E>(
        &self,
        path: &Path,
        look_now: bool,
        read: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<(Vec<u8>, bool), E> {
        self.get_at(path, look_now, Instant::now(), read)
    }

    /// Forgets the key (the file was just written here: its new stamp may equal the
    /// old one when both writes fall in one tick of the file system's clock).
    pub(super) fn forget(&self) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = None;
        }
    }

    /// [`Self::get`] at the time `now` (the tests' clock).
    pub(super) fn get_at<E>(
        &self,
        path: &Path,
        look_now: bool,
        now: Instant,
        read: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<(Vec<u8>, bool), E> {
        if !look_now
            && let Ok(cached) = self.0.lock()
            && let Some((_, key, looked)) = cached.as_ref()
            && now.saturating_duration_since(*looked) < LOOK_EVERY
        {
            return Ok((key.clone(), false));
        }
        let stamp = Stamp::of(path);
        if let (Some(stamp), Ok(mut cached)) = (stamp, self.0.lock())
            && let Some((at, key, looked)) = cached.as_mut()
            && *at == stamp
        {
            *looked = now;
            return Ok((key.clone(), true));
        }
        let read = read();
        if let Ok(mut cached) = self.0.lock() {
            *cached = match (&read, stamp) {
                (Ok(key), Some(stamp)) => Some((stamp, key.clone(), now)),
                _ => None,
            };
        }
        read.map(|key| (key, true))
    }
}

/// Every clone compares equal: the cache is not part of what a key file is.
impl PartialEq for KeyCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for KeyCache {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_removed_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pub");
        let cache = KeyCache::default();
        let reads = std::cell::Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            std::fs::read(&path).map_err(|e| e.kind())
        };
        let get = |look_now| cache.get(&path, look_now, read).map(|(key, _)| key);
        std::fs::write(&path, b"first").unwrap();
        assert_eq!(get(true).unwrap(), b"first");
        assert_eq!(get(true).unwrap(), b"first");
        assert_eq!(reads.get(), 1, "an unchanged file is read once");
        // Same length, rewritten in place: mtime/ctime change.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"other").unwrap();
        assert_eq!(get(true).unwrap(), b"other");
        // Replaced by another file (a new inode).
        let next = dir.path().join("next");
        std::fs::write(&next, b"third!").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(get(true).unwrap(), b"third!");
        // Removed: the error, never the cached key.
        std::fs::remove_file(&path).unwrap();
        assert!(get(true).is_err());
        assert!(get(false).is_err(), "nothing is kept after an error");
        // A clone shares the cache.
        std::fs::write(&path, b"again").unwrap();
        assert_eq!(cache.clone().get(&path, true, read).unwrap().0, b"again");
        let before = reads.get();
        assert_eq!(get(true).unwrap(), b"again");
        assert_eq!(reads.get(), before);
    }

    /// Within `LOOK_EVERY` of a look, the key is answered without looking (and says
    /// so); after it, or when asked to, the file is looked at again. (On a clock of its
    /// own: a slow machine cannot make it pass or fail.)
    #[test]
    fn the_file_is_looked_at_once_a_second_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pub");
        let cache = KeyCache::default();
        let read = || std::fs::read(&path).map_err(|e| e.kind());
        let start = Instant::now();
        let within = start + LOOK_EVERY - Duration::from_millis(1);
        let after = start + LOOK_EVERY;
        let get = |look_now, at| cache.get_at(&path, look_now, at, read);
        std::fs::write(&path, b"first").unwrap();
        assert_eq!(get(false, start).unwrap(), (b"first".to_vec(), true));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            get(false, within).unwrap(),
            (b"first".to_vec(), false),
            "answered from the last look"
        );
        assert!(get(false, after).is_err(), "looked at a second after");
        std::fs::write(&path, b"second").unwrap();
        assert_eq!(get(false, start).unwrap(), (b"second".to_vec(), true));
        std::fs::write(&path, b"third!").unwrap();
        assert_eq!(get(false, within).unwrap(), (b"second".to_vec(), false));
        assert_eq!(
            get(true, within).unwrap(),
            (b"third!".to_vec(), true),
            "asked"
        );
        // A look that finds the file unchanged counts as a look.
        let next = within + LOOK_EVERY;
        assert_eq!(get(false, next).unwrap(), (b"third!".to_vec(), true));
        std::fs::remove_file(&path).unwrap();
        let a_moment_after = next + Duration::from_millis(1);
        assert_eq!(
            get(false, a_moment_after).unwrap(),
            (b"third!".to_vec(), false)
        );
    }
}
