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

/// Copies the database file, byte for byte, to `copy` (created 0600, never over a file).
pub(super) fn copy_aside(db: &Path, copy: &Path) -> anyhow::Result<()> {
    let mut from = fs::File::open(db)?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(copy)
        .with_context(|| format!("could not create {}", copy.display()))?;
    let copied = std::io::copy(&mut from, &mut to).and_then(|_| to.sync_all());
    if let Err(e) = copied {
        let _ = fs::remove_file(copy);
        return Err(e.into());
    }
    Ok(())
}

/// Removes the copy taken before a successful upgrade.
pub(super) fn forget_pre_upgrade_copy(db: &Path) -> anyhow::Result<()> {
    fs::remove_file(pre_upgrade_copy(db))
        .context("could not remove the copy taken before the upgrade")
}
