//! The link views the collection pages read, remembered between requests for as long as
//! the database has not changed (issue 21).
//!
//! A page's one SQLite read transaction cost more than everything else passdrop does
//! for a GET (PERFORMANCE.md): about a third of its server time, most of it taking and
//! dropping the WAL read lock. A link's view changes only when a transaction commits,
//! and every commit to a WAL database, by this process or by any other (a CLI command,
//! `sqlite3`), rewrites the WAL-index header at the start of the `-shm` file: the
//! committing connection increments its change counter (`iChange`) and records the new
//! last frame (`mxFrame`), under a new checksum; a WAL reset draws new salts
//! (<https://www.sqlite.org/walformat.html>, "The WAL-Index Header"; `walFrames` and
//! `walIndexWriteHdr` in SQLite's `wal.c`). The header is written before the commit
//! returns and before any new reader can see it.
//!
//! So each lookup first reads that header (one `pread` of 96 bytes: SQLite keeps two
//! copies and writes them one after the other, so two that differ mean "being
//! written": the lookup then reads the database, as before). Remembered views are kept
//! with the header they were read under: a lookup uses one only if the header it just
//! read is that one, byte for byte. Any other header forgets them all. A view is only
//! ever remembered from a read transaction that began after its header was read, so it
//! holds every commit that header stands for: a remembered answer is the answer a read
//! at the moment of the header's read would have given, never older. Single use is
//! still decided only by the write transaction (`writer.rs`).
//!
//! One exception keeps the views across this server's own busiest writes: the
//! group-commit writer (`writer.rs`: "opened" notes and submissions). It reads the
//! header after `BEGIN IMMEDIATE`, when it holds the write lock and so makes the next
//! commit itself, and again after its commit. If the change counter moved by exactly
//! one, no other commit came between, and the views are carried over to the new header
//! with what the commit changed in them: an opening noted, a used link dropped (read
//! again next time). Any other outcome (another commit in between, a failed commit)
//! forgets them all. While the writer's commit is under way, a lookup under another
//! header reads the database without forgetting anything.
//!
//! Where the header cannot be read or does not look like the format SQLite has written
//! since 3.7.0 (version 3007000, initialised), nothing is remembered and every lookup
//! reads the database. The `-shm` file is checked to still be the one on disk once a
//! second, and whatever is remembered is forgotten after at most `MAX_AGE` and at
//! every refresh (`Store::refresh_link_views`, once a second while `serve` runs) that
//! finds the database changed, so a CLI purge leaves no view behind for long; a purge
//! by this process forgets them at once. Memory is bounded: at most `MAX_VIEWS` views,
//! with one copy of each batch they share.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::*;

/// Bytes in one copy of the WAL-index header.
const HEADER: usize = 48;
/// The WAL-index format version SQLite has written since 3.7.0 (`WALINDEX_MAX_VERSION`).
const WAL_INDEX_VERSION: u32 = 3_007_000;
/// At most this many views are remembered (about 25 MB at the most).
const MAX_VIEWS: usize = 65_536;
/// Nothing is remembered for longer than this, changed or not.
const MAX_AGE: Duration = Duration::from_secs(30);
/// How often the `-shm` file open here is checked to still be the one at its path.
const CHECK_FILE_EVERY: Duration = Duration::from_secs(1);

/// What a lookup read: which `-shm` file (counted from the first one opened) and its
/// WAL-index header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    file: u64,
    header: [u8; HEADER],
}

/// The `-shm` file open for reading its header.
#[derive(Debug)]
struct Shm {
    file: File,
    device: u64,
    inode: u64,
    /// Counts the files opened so far: a new file's headers mean nothing next to the
    /// old one's.
    number: u64,
    checked_at: Instant,
}

/// The views remembered under one header.
#[derive(Debug, Default)]
struct Memory {
    stamp: Option<Stamp>,
    since: Option<Instant>,
    views: HashMap<[u8; 32], Arc<LinkView>>,
    batches: HashMap<String, Arc<Batch>>,
    /// The writer holds the write lock and will commit next (`begin_write`).
    writing: bool,
}

impl Memory {
    /// Starts over under `stamp`, handing back what was remembered (dropped by the
    /// caller after the lock).
    fn start_over(&mut self, stamp: Option<Stamp>) -> Memory {
        std::mem::replace(
            self,
            Memory {
                stamp,
                since: Some(Instant::now()),
                ..Memory::default()
            },
        )
    }

    fn is_current(&self, stamp: &Stamp) -> bool {
        self.stamp.as_ref() == Some(stamp) && self.since.is_some_and(|s| s.elapsed() < MAX_AGE)
    }

    /// Whether `stamp` was read before the header remembered under (the same file, an
    /// earlier change counter): a lookup that read it before a commit and asks after.
    fn is_older(&self, stamp: &Stamp) -> bool {
        self.stamp.as_ref().is_some_and(|mine| {
            mine.file == stamp.file
                && (change_counter(stamp).wrapping_sub(change_counter(mine)) as i32) < 0
        })
    }
}

/// What one of the writer's commits changed in a link's view (`writer.rs`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    /// Its first opening was noted at this time.
    Opened([u8; 32], i64),
    /// A password was stored with it: the link is used.
    Used([u8; 32]),
}

/// The header the writer's transaction began under, while it holds the write lock.
#[derive(Debug)]
pub(super) struct Writing(Option<Stamp>);

/// The WAL-index header's change counter (`iChange`, incremented by every commit).
fn change_counter(stamp: &Stamp) -> u32 {
    let h = &stamp.header;
    u32::from_ne_bytes([h[8], h[9], h[10], h[11]])
}

/// Link views remembered while the database stays unchanged.
#[derive(Debug)]
pub(super) struct LinkViews {
    shm_path: PathBuf,
    shm: RwLock<Option<Shm>>,
    opened: std::sync::atomic::AtomicU64,
    memory: Mutex<Memory>,
    /// Lookups answered from memory, and by reading the database (`/metrics`).
    answered: [std::sync::atomic::AtomicU64; 2],
}

impl LinkViews {
    /// For the database at `database`.
    pub(super) fn new(database: &Path) -> Self {
        let mut shm_path = database.as_os_str().to_owned();
        shm_path.push("-shm");
        Self {
            shm_path: PathBuf::from(shm_path),
            shm: RwLock::new(None),
            opened: std::sync::atomic::AtomicU64::new(0),
            memory: Mutex::new(Memory::default()),
            answered: Default::default(),
        }
    }

    /// The database's WAL-index header now, or `None` when it cannot be read, is being
    /// written, or is not a format this module knows (then nothing is remembered).
    pub(super) fn stamp(&self) -> Option<Stamp> {
        {
            let shm = self.shm.read().ok()?;
            if let Some(shm) = shm.as_ref()
                && shm.checked_at.elapsed() < CHECK_FILE_EVERY
            {
                return read_stamp(shm);
            }
        }
        let mut shm = self.shm.write().ok()?;
        let on_disk = std::fs::metadata(&self.shm_path).ok();
        let same = match (shm.as_mut(), &on_disk) {
            (Some(open), Some(disk)) if open.device == disk.dev() && open.inode == disk.ino() => {
                open.checked_at = Instant::now();
                true
            }
            _ => false,
        };
        if !same {
            *shm = None;
            let file = File::open(&self.shm_path).ok()?;
            let meta = file.metadata().ok()?;
            *shm = Some(Shm {
                file,
                device: meta.dev(),
                inode: meta.ino(),
                number: self
                    .opened
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                checked_at: Instant::now(),
            });
        }
        shm.as_ref().and_then(read_stamp)
    }

    /// Counts a lookup answered from memory (`from_memory`) or from the database.
    pub(super) fn count(&self, from_memory: bool) {
        self.answered[usize::from(!from_memory)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Lookups answered so far: from memory, and from the database.
    pub(super) fn answered(&self) -> (u64, u64) {
        let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        (get(&self.answered[0]), get(&self.answered[1]))
    }

    /// The view remembered for `token_hash` under `stamp`, if any. A `stamp` other than
    /// the one remembered under forgets everything.
    pub(super) fn get(&self, token_hash: &[u8; 32], stamp: &Stamp) -> Option<Arc<LinkView>> {
        let mut memory = self.memory.lock().ok()?;
        if memory.is_current(stamp) {
            return memory.views.get(token_hash).cloned();
        }
        // A header from before the one remembered under, or one the writer's commit
        // is writing: this lookup reads the database, and what is remembered stays.
        if memory.writing || memory.is_older(stamp) {
            return None;
        }
        let old = memory.start_over(Some(*stamp));
        drop(memory);
        drop(old);
        None
    }

    /// Remembers `view`, read by a transaction that began after `stamp` was read, if
    /// `stamp` is still the one remembered under and there is room; answers the view.
    pub(super) fn put(
        &self,
        token_hash: &[u8; 32],
        stamp: &Stamp,
        mut view: LinkView,
    ) -> Arc<LinkView> {
        let Ok(mut memory) = self.memory.lock() else {
            return Arc::new(view);
        };
        if !memory.is_current(stamp) || memory.views.len() >= MAX_VIEWS {
            return Arc::new(view);
        }
        // Under one header a batch's row is one row: its views share one copy.
        match memory.batches.get(&view.batch.id) {
            Some(batch) => view.batch = Arc::clone(batch),
            None => {
                let batch = Arc::clone(&view.batch);
                memory.batches.insert(batch.id.clone(), batch);
            }
        }
        let view = Arc::new(view);
        memory.views.insert(*token_hash, Arc::clone(&view));
        view
    }

    /// The writer has begun a transaction (`BEGIN IMMEDIATE`: it holds the write lock,
    /// so the next commit to the database is its own). Reads the header it began
    /// under; until `end_write`, a lookup under another header reads the database
    /// and forgets nothing.
    pub(super) fn begin_write(&self) -> Writing {
        let stamp = self.stamp();
        let Ok(mut memory) = self.memory.lock() else {
            return Writing(None);
        };
        match stamp {
            Some(stamp) if memory.is_current(&stamp) => {
                memory.writing = true;
                Writing(Some(stamp))
            }
            _ => Writing(None),
        }
    }

    /// The writer's transaction ended: committed with `changes`, or not (`None`). If
    /// the header now is the one its commit wrote (the change counter one more than
    /// when it began: no other commit since), the views are carried over to it with
    /// `changes` applied; otherwise everything is forgotten.
    pub(super) fn end_write(&self, writing: Writing, changes: Option<&[Change]>) {
        let Writing(Some(before)) = writing else {
            return;
        };
        let after = self.stamp();
        let Ok(mut memory) = self.memory.lock() else {
            return;
        };
        memory.writing = false;
        let carried = match (changes, after) {
            (Some(changes), Some(after))
                if memory.stamp == Some(before)
                    && after.file == before.file
                    && change_counter(&after) == change_counter(&before).wrapping_add(1) =>
            {
                for change in changes {
                    match *change {
                        Change::Opened(token_hash, at) => {
                            if let Some(view) = memory.views.get_mut(&token_hash)
                                && view.opened_at.is_none()
                            {
                                Arc::make_mut(view).opened_at = Some(at);
                            }
                        }
                        Change::Used(token_hash) => {
                            memory.views.remove(&token_hash);
                        }
                    }
                }
                memory.stamp = Some(after);
                true
            }
            _ => false,
        };
        if !carried {
            let old = memory.start_over(None);
            drop(memory);
            drop(old);
        }
    }

    /// Forgets every view now (a purge by this process).
    pub(super) fn forget(&self) {
        if let Ok(mut memory) = self.memory.lock() {
            let old = memory.start_over(None);
            drop(memory);
            drop(old);
        }
    }

    /// Forgets every view if the database changed since they were read or they are
    /// older than `MAX_AGE` (run once a second while `serve` runs).
    pub(super) fn refresh(&self) {
        let stamp = self.stamp();
        let stale = match self.memory.lock() {
            Ok(memory) => match &stamp {
                Some(stamp) => !memory.is_current(stamp),
                None => true,
            },
            Err(_) => false,
        };
        if stale {
            self.forget();
        }
    }

    /// How many views are remembered (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.memory.lock().map(|m| m.views.len()).unwrap_or(0)
    }
}

/// The header of `shm`, if both copies agree and it is an initialised header of the
/// known version.
fn read_stamp(shm: &Shm) -> Option<Stamp> {
    let mut both = [0u8; 2 * HEADER];
    shm.file.read_exact_at(&mut both, 0).ok()?;
    let (first, second) = both.split_at(HEADER);
    if first != second {
        return None;
    }
    let version = u32::from_ne_bytes([first[0], first[1], first[2], first[3]]);
    // isInit: the byte after the version, its padding and the change counter.
    if version != WAL_INDEX_VERSION || first[12] != 1 {
        return None;
    }
    let mut header = [0u8; HEADER];
    header.copy_from_slice(first);
    Some(Stamp {
        file: shm.number,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str) -> Arc<Batch> {
        Arc::new(Batch {
            id: id.to_owned(),
            name: id.to_owned(),
            org_name: None,
            created_at: 0,
            expires_at: 100,
            link_lifetime_secs: 100,
            has_user_root: false,
            next_steps: None,
            ask_mail_client: false,
            public_key: Vec::new(),
            first_exported_at: None,
            export_purge_at: None,
            retain_after_expiry_secs: 100,
            retain_after_export_secs: 100,
            link_tag: crate::crypto::LinkTag::parse("0123456789ab").unwrap(),
            imap: None,
            message: None,
            settings_sig: None,
            message_sig: None,
            language: None,
            time_zone: None,
            admin_login: None,
            branding: Default::default(),
        })
    }

    fn view(email: &str) -> LinkView {
        LinkView {
            state: LinkState::Live,
            expires_at: 100,
            opened_at: None,
            used_at: None,
            failed_attempts: 0,
            recipient: Recipient {
                id: 1,
                batch_id: "b".to_owned(),
                roster_line: 1,
                email: email.to_owned(),
                user_name: email.to_owned(),
                display_name: None,
                alternate_email: None,
                user_root: None,
                language: None,
            },
            batch: batch("b"),
        }
    }

    /// A WAL database with one table, its writer, and the views of it.
    fn database() -> (tempfile::TempDir, rusqlite::Connection, LinkViews) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
            )
            .unwrap();
        let views = LinkViews::new(&path);
        (dir, writer, views)
    }

    /// Every commit, by any connection, changes the header; a read does not; neither
    /// does a checkpoint that moves nothing the readers see. A WAL reset after a
    /// checkpoint changes it too.
    #[test]
    fn every_commit_and_only_a_commit_changes_the_stamp() {
        let (dir, writer, views) = database();
        let first = views.stamp().expect("a WAL database has a header");
        assert_eq!(views.stamp(), Some(first));
        let reader = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
        let count = || reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0));
        assert_eq!(count().unwrap(), 0);
        assert_eq!(views.stamp(), Some(first), "a read changes nothing");
        let mut seen = vec![first];
        for i in 0..5 {
            writer
                .execute("INSERT INTO t (v) VALUES (?)", [format!("row {i}")])
                .unwrap();
            let now = views.stamp().unwrap();
            assert!(!seen.contains(&now), "commit {i} changed the header");
            seen.push(now);
        }
        // Another connection's commit.
        reader
            .execute("UPDATE t SET v = 'x' WHERE id = 1", [])
            .unwrap();
        let after_other = views.stamp().unwrap();
        assert!(!seen.contains(&after_other));
        seen.push(after_other);
        // A checkpoint copies pages; what a reader sees is the same.
        writer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        // The next commit starts the WAL over (new salts), and still differs.
        writer.execute("DELETE FROM t WHERE id = 2", []).unwrap();
        let after_reset = views.stamp().unwrap();
        assert!(!seen.contains(&after_reset));
        assert_eq!(count().unwrap(), 4);
    }

    /// A view is answered only under the header it was read under; another header
    /// forgets it, and a view read under an old header is not remembered.
    #[test]
    fn a_view_is_answered_only_under_its_own_header() {
        let (_dir, writer, views) = database();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let before = views.stamp().unwrap();
        assert!(views.get(&a, &before).is_none());
        views.put(&a, &before, view("a@example.org"));
        views.put(&b, &before, view("b@example.org"));
        let got = views.get(&a, &before).unwrap();
        assert_eq!(got.recipient.email, "a@example.org");
        // The two views share one copy of their batch.
        assert!(Arc::ptr_eq(
            &got.batch,
            &views.get(&b, &before).unwrap().batch
        ));
        writer
            .execute("INSERT INTO t (v) VALUES ('x')", [])
            .unwrap();
        let after = views.stamp().unwrap();
        assert!(views.get(&a, &after).is_none(), "the commit forgot it");
        assert_eq!(views.len(), 0);
        // A lookup that read the old header before the commit may not put its view.
        views.put(&b, &before, view("b@example.org"));
        assert!(views.get(&b, &after).is_none());
        views.put(&b, &after, view("b@example.org"));
        assert!(views.get(&b, &after).is_some());
        // The refresh finds nothing changed, then a change: it forgets.
        views.refresh();
        assert_eq!(views.len(), 1);
        writer
            .execute("INSERT INTO t (v) VALUES ('y')", [])
            .unwrap();
        views.refresh();
        assert_eq!(views.len(), 0);
        views.put(&a, &views.stamp().unwrap(), view("a@example.org"));
        views.forget();
        assert_eq!(views.len(), 0);
    }

    /// The writer's own commit carries the views over with what it changed; a commit
    /// by anyone else in between, or a transaction that did not commit, forgets them.
    /// While the writer's commit is under way, a lookup under the new header forgets
    /// nothing.
    #[test]
    fn the_writers_own_commit_carries_the_views_over() {
        let (dir, writer, views) = database();
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let fill = |views: &LinkViews| {
            let stamp = views.stamp().unwrap();
            // A lookup under the header now: it starts over if the header changed.
            views.get(&a, &stamp);
            for (hash, email) in [(a, "a@x.org"), (b, "b@x.org"), (c, "c@x.org")] {
                views.put(&hash, &stamp, view(email));
            }
            stamp
        };
        let before = fill(&views);
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writing = views.begin_write();
        writer
            .execute("INSERT INTO t (v) VALUES ('x')", [])
            .unwrap();
        writer.execute_batch("COMMIT").unwrap();
        let after = views.stamp().unwrap();
        assert_ne!(after, before);
        assert!(views.get(&c, &after).is_none(), "not yet carried over");
        assert!(
            views.get(&c, &before).is_some(),
            "nothing forgotten meanwhile"
        );
        views.end_write(writing, Some(&[Change::Opened(a, 42), Change::Used(b)]));
        assert_eq!(views.get(&a, &after).unwrap().opened_at, Some(42));
        assert!(views.get(&b, &after).is_none(), "a used link is read again");
        assert_eq!(views.get(&c, &after).unwrap().opened_at, None);
        // A lookup that read the header before the commit forgets nothing either.
        assert!(views.get(&c, &before).is_none());
        assert!(views.get(&c, &after).is_some());

        // Another connection commits between the writer's commit and its end.
        let other = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
        let before = fill(&views);
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writing = views.begin_write();
        writer
            .execute("INSERT INTO t (v) VALUES ('y')", [])
            .unwrap();
        writer.execute_batch("COMMIT").unwrap();
        other.execute("INSERT INTO t (v) VALUES ('z')", []).unwrap();
        views.end_write(writing, Some(&[]));
        assert_eq!(views.len(), 0);
        let now = views.stamp().unwrap();
        assert_ne!(now, before);
        assert!(views.get(&c, &now).is_none());

        // A transaction that did not commit.
        let before = fill(&views);
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writing = views.begin_write();
        writer.execute_batch("ROLLBACK").unwrap();
        views.end_write(writing, None);
        assert_eq!(views.len(), 0);
        assert!(views.get(&c, &before).is_none());
    }

    /// A replaced `-shm` file (the database closed by everyone and opened again) is
    /// noticed within `CHECK_FILE_EVERY`, and its headers never match the old file's.
    #[test]
    fn a_new_shm_file_is_a_new_file() {
        let (dir, writer, views) = database();
        let old = views.stamp().unwrap();
        drop(writer);
        assert!(
            !dir.path().join("db.sqlite-shm").exists(),
            "the last close removes it"
        );
        let writer = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
        writer
            .execute("INSERT INTO t (v) VALUES ('x')", [])
            .unwrap();
        std::thread::sleep(CHECK_FILE_EVERY + Duration::from_millis(50));
        let new = views.stamp().unwrap();
        assert_ne!(new.file, old.file);
    }

    /// No `-shm` file (no WAL database), or a header in another format: nothing is
    /// stamped, so nothing is remembered.
    #[test]
    fn without_a_header_it_knows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let views = LinkViews::new(&path);
        assert!(views.stamp().is_none());
        let mut bytes = vec![0u8; 136];
        bytes[0..4].copy_from_slice(&3_007_001u32.to_ne_bytes());
        bytes[48..52].copy_from_slice(&3_007_001u32.to_ne_bytes());
        bytes[12] = 1;
        bytes[60] = 1;
        std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
        std::thread::sleep(CHECK_FILE_EVERY + Duration::from_millis(50));
        assert!(views.stamp().is_none(), "unknown version");
        // The two copies differing: being written.
        bytes[0..4].copy_from_slice(&WAL_INDEX_VERSION.to_ne_bytes());
        bytes[48..52].copy_from_slice(&WAL_INDEX_VERSION.to_ne_bytes());
        bytes[20] = 7;
        std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
        assert!(views.stamp().is_none(), "copies differ");
        bytes[68] = 7;
        std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
        assert!(views.stamp().is_some());
    }
}
