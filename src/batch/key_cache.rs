//! The settings key file, parsed once and kept while the file stays the same (issue 21):
//! the collection page verifies the batch's signature on every request, and reading and
//! parsing the file each time cost a few syscalls and an allocation per GET. The parsed
//! key is reused only while the file's device, inode, length, mtime and ctime are those
//! it was read with; any change (rewrite, replace, chmod, delete) reads it again, so a
//! changed or removed file is noticed on the next request, as before. The signature is
//! still checked on every use (a success remembered for exactly its bytes,
//! `crypto/verified.rs`).

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// The key as read, and the file's stamp when it was read.
type Cached = Option<(Stamp, Vec<u8>)>;

/// The last key read, shared by every clone of its key file (one per request).
#[derive(Debug, Clone, Default)]
pub(super) struct KeyCache(Arc<Mutex<Cached>>);

impl KeyCache {
    /// The key in `path`: the cached one while the file is unchanged, else `read()`'s
    /// (kept only when it succeeds; an error is returned and forgets the cache).
    pub(super) fn get<E>(
        &self,
        path: &Path,
        read: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let stamp = Stamp::of(path);
        if let (Some(stamp), Ok(cached)) = (stamp, self.0.lock())
            && let Some((at, key)) = cached.as_ref()
            && *at == stamp
        {
            return Ok(key.clone());
        }
        let read = read();
        if let Ok(mut cached) = self.0.lock() {
            *cached = match (&read, stamp) {
                (Ok(key), Some(stamp)) => Some((stamp, key.clone())),
                _ => None,
            };
        }
        read
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
        std::fs::write(&path, b"first").unwrap();
        assert_eq!(cache.get(&path, read).unwrap(), b"first");
        assert_eq!(cache.get(&path, read).unwrap(), b"first");
        assert_eq!(reads.get(), 1, "an unchanged file is read once");
        // Same length, rewritten in place: mtime/ctime change.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"other").unwrap();
        assert_eq!(cache.get(&path, read).unwrap(), b"other");
        // Replaced by another file (a new inode).
        let next = dir.path().join("next");
        std::fs::write(&next, b"third!").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(cache.get(&path, read).unwrap(), b"third!");
        // Removed: the error, never the cached key.
        std::fs::remove_file(&path).unwrap();
        assert!(cache.get(&path, read).is_err());
        assert!(cache.get(&path, read).is_err());
        // A clone shares the cache.
        std::fs::write(&path, b"again").unwrap();
        assert_eq!(cache.clone().get(&path, read).unwrap(), b"again");
        let before = reads.get();
        assert_eq!(cache.get(&path, read).unwrap(), b"again");
        assert_eq!(reads.get(), before);
    }
}
