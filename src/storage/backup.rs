//! Online backups: a consistent copy of the database taken while the server runs
//! (`VACUUM INTO`, one read transaction), and restoring one into a new data directory.
//!
//! A backup holds what the database holds: sealed passwords, sealed links and hashes,
//! useless without the admin passphrase; purged batches are absent (only their
//! tombstones remain). It outlives every later purge, so keep it no longer than needed.

use super::*;

/// What a backup holds, counted in the copy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Batches not purged.
    pub batches: i64,
    /// Recipients of those batches.
    pub recipients: i64,
    /// Sealed passwords.
    pub submissions: i64,
    /// Purged batches, kept as tombstones (no user data).
    pub tombstones: i64,
    /// Size of the copy in bytes.
    pub bytes: u64,
}

impl Store {
    /// Writes a consistent copy of the database to `out`, created 0600 and never
    /// overwriting a file; runs while other connections read and write.
    #[instrument(skip_all)]
    pub async fn backup_to(&self, out: &Path) -> anyhow::Result<BackupSummary> {
        vacuum_into(&self.pool, out).await?;
        set_mode(out, 0o600)?;
        summarize(out).await
    }
}

/// Writes a consistent copy of the database into `out`, a file created 0600 that must
/// not exist; removes it again if the copy fails.
pub(super) async fn vacuum_into(pool: &SqlitePool, out: &Path) -> anyhow::Result<()> {
    // An empty file of our own, 0600, is what VACUUM INTO may write into; creating it
    // with create_new refuses any existing file.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("could not create {} (it must not exist)", out.display()))?;
    let target = out
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8, which SQLite needs", out.display()))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(pool)
        .await;
    if let Err(e) = copied {
        // Leave no half-written copy behind.
        let _ = fs::remove_file(out);
        return Err(anyhow::Error::new(e).context("the copy could not be written"));
    }
    Ok(())
}

/// Counts what a database file holds, opening it read-only.
pub async fn summarize(file: &Path) -> anyhow::Result<BackupSummary> {
    let options = SqliteConnectOptions::from_str("sqlite://")
        .context("building SQLite options")?
        .filename(file)
        .read_only(true)
        .disable_statement_logging();
    let mut conn = options
        .connect()
        .await
        .with_context(|| format!("could not open {}", file.display()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    if integrity != "ok" {
        anyhow::bail!("{} is damaged: {integrity}", file.display());
    }
    let count = |table: &'static str| constant_sql(format!("SELECT COUNT(*) FROM {table}"));
    let batches: i64 = sqlx::query_scalar(count("batches"))
        .fetch_one(&mut conn)
        .await?;
    let recipients: i64 = sqlx::query_scalar(count("recipients"))
        .fetch_one(&mut conn)
        .await?;
    let submissions: i64 = sqlx::query_scalar(count("submissions"))
        .fetch_one(&mut conn)
        .await?;
    let tombstones: i64 = sqlx::query_scalar(count("tombstones"))
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    let bytes = fs::metadata(file)?.len();
    Ok(BackupSummary {
        batches,
        recipients,
        submissions,
        tombstones,
        bytes,
    })
}

/// Restores a backup into `data_dir`, which must not hold a database yet: checks the
/// copy, then copies it in 0600 (the next `Store::open` applies any newer migrations).
pub async fn restore_into(backup: &Path, data_dir: &Path) -> anyhow::Result<BackupSummary> {
    let summary = summarize(backup).await?;
    prepare_data_dir(data_dir)?;
    let target = data_dir.join(DATABASE_FILE);
    let mut from =
        fs::File::open(backup).with_context(|| format!("could not read {}", backup.display()))?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .with_context(|| {
            format!(
                "{} already holds a database; restore into an empty data directory",
                data_dir.display()
            )
        })?;
    let copied = std::io::copy(&mut from, &mut to).and_then(|_| to.sync_all());
    if let Err(e) = copied {
        let _ = fs::remove_file(&target);
        return Err(anyhow::Error::new(e).context("the backup could not be restored"));
    }
    Ok(summary)
}
