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
//! ever remembered from a read transaction that began after its header was read and
//! ended with the header unchanged, so it is exactly the state that header stands for:
//! a remembered answer is the answer a read at the moment of the header's read would
//! have given, never older. Single use is still decided only by the write transaction
//! (`writer.rs`). The descriptor that reads the header is never closed (`shm_file`):
//! closing it would drop SQLite's own POSIX locks on that file. A read-only connection
//! is held open from the first lookup until `Store::close`, so this process always
//! holds SQLite's "in use" lock on the file: no other process removes it or rebuilds
//! its header while views are remembered.
//!
//! One exception keeps the views across this server's own busiest writes: the
//! group-commit writer (`writer.rs`: "opened" notes and submissions). It reads the
//! header after `BEGIN IMMEDIATE`, when it holds the write lock and so makes the next
//! commit itself, and again after its commit. If the change counter moved by exactly
//! one and its connection's `PRAGMA data_version` (which only other connections'
//! commits change) did not move, no other commit came between, and the views are
//! carried over to the new header
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
//! finds the database changed (other than by the writer's commit under way, which its
//! `end_write` judges), so a CLI purge leaves no view behind for long; a purge
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
/// Views read in one step of `warm` (one statement; the writer takes the jobs waiting
/// between two steps).
pub(super) const WARM_STEP: usize = 1024;
/// Views a warm remembers under one hold of the lock.
const WARM_LOCKED: usize = 128;
/// Room a warm leaves for the views of the links people open.
const WARM_ROOM_KEPT: usize = 8_192;
/// Lookups that read the database under one header and found a link before the
/// writer is asked to read every live link's view at once (`warm`).
const WARM_AFTER_MISSES: u32 = 64;
/// The writer is asked to read every live link's view at most this often.
const WARM_EVERY: Duration = Duration::from_secs(5);

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
    file: Arc<File>,
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
    /// Lookups under this header that read the database and found a link (`wants_warm`).
    misses: u32,
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

    /// Remembers `view` (there is room: the caller checked). Under one header a batch's
    /// row is one row: its views share one copy.
    fn remember(&mut self, token_hash: [u8; 32], mut view: LinkView) -> Arc<LinkView> {
        match self.batches.get(&view.batch.id) {
            Some(batch) => view.batch = Arc::clone(batch),
            None => {
                let batch = Arc::clone(&view.batch);
                self.batches.insert(batch.id.clone(), batch);
            }
        }
        let view = Arc::new(view);
        self.views.insert(token_hash, Arc::clone(&view));
        view
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
    /// A read-only connection held from the first stamp to `close`, so that this
    /// process always holds SQLite's own "in use" lock on the `-shm` file while views
    /// are remembered: no other process may then remove it or rebuild its header.
    keeper: Mutex<Option<rusqlite::Connection>>,
    database: PathBuf,
    /// `close` ran: nothing is remembered any more, and the keeper stays closed.
    closed: std::sync::atomic::AtomicBool,
    /// When the writer was last asked to read every live link's view (`wants_warm`).
    warm_asked: Mutex<Option<Instant>>,
}

impl LinkViews {
    /// For the database at `database`.
    pub(super) fn new(database: &Path) -> Self {
        // SQLite names the file after the database's real path, symbolic links followed.
        let database = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_owned());
        let mut shm_path = database.clone().into_os_string();
        shm_path.push("-shm");
        Self {
            database,
            keeper: Mutex::new(None),
            closed: std::sync::atomic::AtomicBool::new(false),
            shm_path: PathBuf::from(shm_path),
            shm: RwLock::new(None),
            opened: std::sync::atomic::AtomicU64::new(0),
            memory: Mutex::new(Memory::default()),
            answered: Default::default(),
            warm_asked: Mutex::new(None),
        }
    }

    /// The database's WAL-index header now, or `None` when it cannot be read, is being
    /// written, or is not a format this module knows (then nothing is remembered).
    pub(super) fn stamp(&self) -> Option<Stamp> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        {
            let shm = self.shm.read().ok()?;
            if let Some(shm) = shm.as_ref()
                && shm.checked_at.elapsed() < CHECK_FILE_EVERY
            {
                return read_stamp(shm);
            }
        }
        let mut shm = self.shm.write().ok()?;
        // Gone or unreadable: nothing is answered from memory until it is back (and,
        // the check being stale, every lookup looks again).
        let on_disk = std::fs::metadata(&self.shm_path).ok()?;
        let same = match shm.as_mut() {
            Some(open) if open.device == on_disk.dev() && open.inode == on_disk.ino() => {
                open.checked_at = Instant::now();
                true
            }
            _ => false,
        };
        if !same {
            self.keep_open()?;
            let (file, (device, inode)) = shm_file(&self.shm_path)?;
            *shm = Some(Shm {
                file,
                device,
                inode,
                number: self
                    .opened
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                checked_at: Instant::now(),
            });
        }
        shm.as_ref().and_then(read_stamp)
    }

    /// Opens the keeper connection if it is not open (a read maps the `-shm` file and
    /// takes SQLite's lock on it, which the idle connection keeps).
    fn keep_open(&self) -> Option<()> {
        let mut keeper = self.keeper.lock().ok()?;
        if keeper.is_none() {
            let conn =
                super::reader::open_read_only(&self.database, Duration::from_secs(2)).ok()?;
            conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
                .ok()?;
            *keeper = Some(conn);
        }
        Some(())
    }

    /// Closes the keeper connection and forgets every view, for good (`Store::close`:
    /// before the pool closes, so that its last connection checkpoints and removes the
    /// WAL; the writer's last commits after it remember nothing and reopen nothing).
    pub(super) fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.forget();
        if let Ok(mut keeper) = self.keeper.lock() {
            keeper.take();
        }
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
        view: LinkView,
    ) -> Arc<LinkView> {
        let Ok(mut memory) = self.memory.lock() else {
            return Arc::new(view);
        };
        if !memory.is_current(stamp) || memory.views.len() >= MAX_VIEWS {
            return Arc::new(view);
        }
        memory.remember(*token_hash, view)
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

    /// The writer's transaction ended: committed with `changes`, or not (`None`). The
    /// `bool` beside them says whether it changed any row: a commit that changed none
    /// writes nothing (SQLite skips it), so the header must then be the one it began
    /// under. `alone` is asked after the header is read again: whether no other
    /// connection committed since the transaction began (the writer's connection's
    /// `PRAGMA data_version`, which only another connection's commit changes). If the
    /// header now is the one its commit wrote (the change counter one more than when
    /// it began) and the writer was alone, the views are carried over to it with
    /// `changes` applied; otherwise everything is forgotten.
    pub(super) fn end_write(
        &self,
        writing: Writing,
        committed: Option<(&[Change], bool)>,
        alone: impl FnOnce() -> bool,
    ) {
        let Writing(Some(before)) = writing else {
            return;
        };
        let after = self.stamp().filter(|_| alone());
        let Ok(mut memory) = self.memory.lock() else {
            return;
        };
        memory.writing = false;
        let carried = match (committed, after) {
            (Some((_, false)), Some(after)) => memory.stamp == Some(before) && after == before,
            (Some((changes, true)), Some(after))
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
    /// older than `MAX_AGE` (run once a second while `serve` runs). A header changed by
    /// the writer's own commit, before its `end_write`, is left to `end_write` to judge,
    /// as a lookup leaves it: forgetting then would throw away, about once a second under
    /// a steady stream of submissions, views the commit carries over.
    ///
    /// A header that only looks older than the one remembered under is no reason to keep
    /// them here (SQLite's recovery of a WAL index zeroes its counter): a header read just
    /// before the writer's `end_write` moved the views on is told apart by reading it
    /// once more.
    pub(super) fn refresh(&self) {
        let stale = |stamp: Option<Stamp>| match self.memory.lock() {
            Ok(memory) => match &stamp {
                Some(stamp) => {
                    let aged = memory.since.is_some_and(|s| s.elapsed() >= MAX_AGE);
                    aged || !(memory.is_current(stamp) || memory.writing)
                }
                None => true,
            },
            Err(_) => false,
        };
        if stale(self.stamp()) && stale(self.stamp()) {
            self.forget();
        }
    }

    /// Counts a lookup that read the database under `stamp` and found a link; whether
    /// the writer should now be asked to read every live link's view at once (`warm`):
    /// after `WARM_AFTER_MISSES` such lookups under the header remembered under, at most
    /// once per `WARM_EVERY` (the count starts again when it asks). A company opening its
    /// links one after the other then costs one read of them all instead of one read
    /// transaction each; a page now and then costs nothing more. If the request cannot
    /// be sent, `warm_not_sent` lets the next such lookup ask again.
    pub(super) fn wants_warm(&self, stamp: &Stamp) -> bool {
        self.wants_warm_at(stamp, Instant::now())
    }

    /// `wants_warm` at `now` (tests move the clock).
    fn wants_warm_at(&self, stamp: &Stamp, now: Instant) -> bool {
        let Ok(mut memory) = self.memory.lock() else {
            return false;
        };
        if !memory.is_current(stamp) {
            return false;
        }
        memory.misses = memory.misses.saturating_add(1);
        if memory.misses < WARM_AFTER_MISSES {
            return false;
        }
        let Ok(mut asked) = self.warm_asked.lock() else {
            return false;
        };
        if asked.is_some_and(|at| now.saturating_duration_since(at) < WARM_EVERY) {
            return false;
        }
        *asked = Some(now);
        memory.misses = 0;
        true
    }

    /// The request `wants_warm` answered for was not sent (the writer's queue was
    /// full): the next lookup that reads a link may ask again.
    pub(super) fn warm_not_sent(&self) {
        if let Ok(mut memory) = self.memory.lock() {
            memory.misses = WARM_AFTER_MISSES;
        }
        if let Ok(mut asked) = self.warm_asked.lock() {
            *asked = None;
        }
    }

    /// One step of reading every live link's view, run by the writer between its own
    /// commits: `read` reads the next views (at most the number it is given), in one
    /// statement (one read transaction), after the header was read, and answers them
    /// with the number of rows it read. They are remembered only if the header is the
    /// same after the read and is the one remembered under: every view remembered under
    /// a header is that header's state, as for a single lookup. (The writer's own
    /// commits cannot come during a step; any other commit, by the pool or another
    /// process, changes the header and the step is dropped.) At most `MAX_VIEWS -
    /// WARM_ROOM_KEPT` views are remembered this way, so the links people open are
    /// always remembered too. Answers whether to go on (`read` found as many rows as it
    /// was asked for, all were remembered and there is room for more).
    pub(super) fn warm(
        &self,
        read: impl FnOnce(usize) -> Option<(Vec<super::links::HashedView>, usize)>,
    ) -> bool {
        let Some(before) = self.stamp() else {
            return false;
        };
        let room = match self.memory.lock() {
            Ok(memory) if memory.is_current(&before) => {
                (MAX_VIEWS - WARM_ROOM_KEPT).saturating_sub(memory.views.len())
            }
            _ => return false,
        };
        let asked = room.min(WARM_STEP);
        if asked == 0 {
            return false;
        }
        let Some((views, rows)) = read(asked) else {
            return false;
        };
        if self.stamp() != Some(before) {
            return false;
        }
        // A few at a time, so that a page's lookup never waits for the whole step.
        let mut views = views.into_iter().peekable();
        while views.peek().is_some() {
            let Ok(mut memory) = self.memory.lock() else {
                return false;
            };
            if !memory.is_current(&before) {
                return false;
            }
            for (token_hash, view) in views.by_ref().take(WARM_LOCKED) {
                if memory.views.len() >= MAX_VIEWS - WARM_ROOM_KEPT {
                    return false;
                }
                // A view remembered meanwhile is the same state: it is kept.
                if !memory.views.contains_key(&token_hash) {
                    memory.remember(token_hash, view);
                }
            }
        }
        rows == asked
    }

    /// How many views are remembered (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.memory.lock().map(|m| m.views.len()).unwrap_or(0)
    }
}

/// The `-shm` file at `path` open for reading, with its device and inode: one
/// descriptor per file for the whole process, **never closed**. Closing any descriptor
/// of a file drops every POSIX lock the process holds on it, and SQLite's connections
/// hold theirs on this file (the lock that says it is in use, the readers' marks):
/// were this descriptor closed while one of them is open, another process could
/// rebuild the file under them. So a descriptor opened here stays open until the
/// process ends: one per `-shm` file a process served pages from (`serve`: one).
fn shm_file(path: &Path) -> Option<(Arc<File>, (u64, u64))> {
    type Files = HashMap<(u64, u64), Arc<File>>;
    static FILES: std::sync::LazyLock<Mutex<Files>> = std::sync::LazyLock::new(Mutex::default);
    let mut files = FILES.lock().ok()?;
    let on_disk = std::fs::metadata(path).ok()?;
    let known = (on_disk.dev(), on_disk.ino());
    if let Some(file) = files.get(&known) {
        return Some((Arc::clone(file), known));
    }
    let file = File::open(path).ok()?;
    let Ok(meta) = file.metadata() else {
        std::mem::forget(file);
        return None;
    };
    let opened = (meta.dev(), meta.ino());
    match files.get(&opened) {
        // Replaced between the two looks, by a file already open here: this
        // descriptor is left open too, unused.
        Some(file_before) => {
            let file_before = Arc::clone(file_before);
            std::mem::forget(file);
            Some((file_before, opened))
        }
        None => {
            let file = Arc::new(file);
            files.insert(opened, Arc::clone(&file));
            Some((file, opened))
        }
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
mod tests;
