//! The data directory (0700) and the database files (0600).

use super::*;

pub(super) fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("could not set permissions on {}", path.display()))
}

/// Creates the data directory (0700) if needed and tightens it if it exists.
pub(super) fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        use std::os::unix::fs::DirBuilderExt as _;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| {
                format!("could not create the data directory {}", data_dir.display())
            })?;
    }
    if !data_dir.is_dir() {
        anyhow::bail!("{} exists but is not a directory", data_dir.display());
    }
    set_mode(data_dir, 0o700)
}

/// How long a write probe's answer is reused: `/healthz` may be asked often.
const PROBE_REUSE: Duration = Duration::from_secs(5);
/// What a write probe writes: more than a group commit's WAL frames usually take.
const PROBE_BYTES: usize = 64 * 1024;

/// A write probe's answer and when it was found.
#[derive(Debug, Clone)]
pub(super) struct ProbeAnswer {
    at: std::time::Instant,
    outcome: Result<(), String>,
}

impl Store {
    /// Whether the data directory can take a write now: a small file is written,
    /// synced to disk and removed (the answer is reused for a few seconds). `Err` says
    /// why not in one line, e.g. that the disk is full.
    pub async fn can_write(&self) -> Result<(), String> {
        if let Ok(last) = self.write_probe.lock()
            && let Some(answer) = last.as_ref().filter(|a| a.at.elapsed() < PROBE_REUSE)
        {
            return answer.outcome.clone();
        }
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || probe(&dir))
            .await
            .unwrap_or_else(|e| Err(format!("the write probe failed: {e}")));
        if let Ok(mut last) = self.write_probe.lock() {
            *last = Some(ProbeAnswer {
                at: std::time::Instant::now(),
                outcome: outcome.clone(),
            });
        }
        outcome
    }
}

fn probe(dir: &Path) -> Result<(), String> {
    use std::io::Write as _;
    let path = dir.join(".write-probe");
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(&[0u8; PROBE_BYTES])?;
            f.sync_all()
        });
    let _ = fs::remove_file(&path);
    written.map_err(|e| match e.raw_os_error() {
        Some(28) => "the disk holding the data directory is full".to_owned(),
        _ => format!("the data directory cannot be written: {e}"),
    })
}

/// `ENOLCK`: the kernel has no lock to give now (passing, unlike a file system that
/// cannot lock at all).
const NO_LOCKS_LEFT: i32 = 37;

/// The data directory, locked (`flock`, which leaves SQLite's own POSIX locks alone) by
/// every process that has the store open: shared, and exclusively while one upgrades the
/// database or puts back the copy an upgrade left. An upgrade so never runs beside a
/// `serve` (or any command) of this release or later; the lock goes with the last clone
/// of the store. `None` where the file system cannot lock (a warning says so): an upgrade then relies
/// on the WAL check of `set_aside_before_upgrade` alone.
#[derive(Debug)]
pub(super) struct DirLock(Option<fs::File>);

impl DirLock {
    /// Takes the lock shared, waiting up to `wait` for an upgrade in another process.
    pub(super) async fn shared(dir: &Path, wait: std::time::Duration) -> anyhow::Result<Self> {
        let file = fs::File::open(dir)
            .with_context(|| format!("could not open the data directory {}", dir.display()))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(Self(Some(file))),
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(fs::TryLockError::WouldBlock) => anyhow::bail!(
                    "another passdrop process is upgrading the database in {}; try again \
                     once it has finished",
                    dir.display()
                ),
                // Out of lock resources for now: not a file system without locks.
                Err(fs::TryLockError::Error(e)) if e.raw_os_error() == Some(NO_LOCKS_LEFT) => {
                    return Err(e).context("could not lock the data directory");
                }
                Err(fs::TryLockError::Error(e)) => {
                    tracing::warn!(
                        problem = %e,
                        "the data directory cannot be locked: an upgrade cannot tell whether \
                         another passdrop process has the database open"
                    );
                    return Ok(Self(None));
                }
            }
        }
    }

    /// Takes the lock exclusively, for `what` (an upgrade, a copy put back), or says that
    /// another process has the store open.
    pub(super) fn exclusive(&self, what: &str) -> anyhow::Result<()> {
        let Some(file) = &self.0 else {
            return Ok(());
        };
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(fs::TryLockError::WouldBlock) => anyhow::bail!(
                "the database is in use by another passdrop process (a running `passdrop \
                 serve`?): stop it before {what}"
            ),
            Err(fs::TryLockError::Error(e)) => Err(e).context("could not lock the data directory"),
        }
    }

    /// Back to shared, once the upgrade is done.
    pub(super) fn share(&self) -> anyhow::Result<()> {
        match &self.0 {
            Some(file) => file
                .lock_shared()
                .context("could not lock the data directory"),
            None => Ok(()),
        }
    }
}

/// Where the database is copied before an upgrade migrates it.
pub(super) fn pre_upgrade_copy(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".pre-upgrade");
    PathBuf::from(name)
}

/// After a failed (or interrupted) upgrade, puts the copy taken before it back in place
/// of the database, with no WAL or index beside it; does nothing when there is no copy.
/// Only called while no connection is open on the database.
pub(super) fn finish_failed_upgrade(db: &Path) -> anyhow::Result<()> {
    let copy = pre_upgrade_copy(db);
    // A copy cut short (the process killed while copying) never took the copy's name,
    // and the database was not touched yet: it is only removed.
    match fs::remove_file(partial(&copy)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).context("could not remove an unfinished pre-upgrade copy"),
    }
    if !copy.exists() {
        return Ok(());
    }
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("could not remove the half-upgraded database's WAL"),
        }
    }
    fs::rename(&copy, db).with_context(|| {
        format!(
            "could not put back the copy taken before the upgrade ({} is the database as it \
             was: move it to {} by hand)",
            copy.display(),
            db.display()
        )
    })?;
    tracing::warn!("the upgrade did not finish; the database is back as it was before it");
    Ok(())
}

/// Where `copy_aside` writes before the copy is whole.
fn partial(copy: &Path) -> PathBuf {
    let mut name = copy.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Copies the database file, byte for byte, to `copy` (created 0600, never over a file).
/// The copy is written under another name and takes `copy`'s only once it is whole and
/// synced (then the directory is synced too): a copy at `copy` is always the whole
/// database, so `finish_failed_upgrade` may put it back.
pub(super) fn copy_aside(db: &Path, copy: &Path) -> anyhow::Result<()> {
    if copy.exists() {
        anyhow::bail!("{} exists already", copy.display());
    }
    let unfinished = partial(copy);
    let mut from = fs::File::open(db)?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&unfinished)
        .with_context(|| format!("could not create {}", unfinished.display()))?;
    let copied = std::io::copy(&mut from, &mut to)
        .and_then(|_| to.sync_all())
        .and_then(|()| fs::rename(&unfinished, copy))
        .and_then(|()| match copy.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => fs::File::open(dir)?.sync_all(),
            _ => Ok(()),
        });
    if let Err(e) = copied {
        let _ = fs::remove_file(&unfinished);
        let _ = fs::remove_file(copy);
        return Err(e.into());
    }
    Ok(())
}

/// Removes the copy taken before a successful upgrade, then syncs the directory, so
/// that no crash can bring the copy back to be put over the upgraded database (and
/// what was written since).
pub(super) fn forget_pre_upgrade_copy(db: &Path) -> anyhow::Result<()> {
    let copy = pre_upgrade_copy(db);
    fs::remove_file(&copy)
        .and_then(|()| match copy.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => fs::File::open(dir)?.sync_all(),
            _ => Ok(()),
        })
        .context("could not remove the copy taken before the upgrade")
}
