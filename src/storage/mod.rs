//! The embedded SQLite store. All SQL lives here, one method per question the app asks.
//!
//! Every connection that can write sets `synchronous=FULL`, `foreign_keys=ON`,
//! `secure_delete=ON`, `temp_store=MEMORY` and a busy timeout. The pool's connections
//! also set `journal_mode=WAL`, which makes the file WAL when the store opens it; the
//! rusqlite connections that write (the submission writer's, a batch creation's) rely on
//! that lasting setting of the file. The
//! read-only connections (the collection pages' reads and the export's read, both opened
//! by `reader::open_read_only`) set only `temp_store=MEMORY`, `query_only=ON` and a busy
//! timeout: the other settings govern writes, which they cannot make, and WAL is a
//! lasting property of the file. The data directory is 0700 and the database files 0600.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
use tracing::instrument;

use crate::crypto::{
    KdfParams, LinkTag, SealedBatchKey, SealedPassword, SealedToken, WrappedAdminKey,
};
use crate::imap::ImapSettings;

mod admin;
mod admin_login;
mod admin_recheck;
mod api_tokens;
mod audit;
mod backup;
mod batches;
mod branding;
mod connection;
mod creation;
mod deliveries;
mod export_reads;
mod files;
mod link_views;
mod links;
mod models;
mod pacing;
mod purge;
mod reader;
mod readiness;
mod relay;
mod rows;
mod uncounted;
mod user_states;
mod webhooks;
mod writer;

pub use admin_login::{ProbeAnswer, ProbeRecord, ProbeState, StoredAdminLogin};
pub use admin_recheck::AdminRecheckChange;
pub use api_tokens::{ApiCall, ApiScope, ApiToken};
pub use backup::{BackupSummary, restore_into, summarize};
pub use branding::{Branding, LogoChange};
pub use creation::LateSignatures;
pub use export_reads::LateWatch;
use files::{prepare_data_dir, set_mode};
pub use models::*;
pub use pacing::THROTTLING_EVENT;
pub use readiness::{BatchRecheck, InventoryRecord, RecheckOutcome, UserReadiness};
use rows::{row_to_batch, row_to_recipient};
pub use user_states::{AdminNotice, NoticeKind, UserMark};
pub use webhooks::{NewWebhookDelivery, Webhook, WebhookDelivery, WebhookEvent};
use writer::{GROUP_COMMIT_QUEUE, WriteJob, start_writer};
pub use writer::{PendingSubmission, SubmissionAnswer, SubmissionWriter};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "passdrop.sqlite3";

/// Failures a caller branches on; anything else is an `Other` with its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `admin init` ran twice.
    #[error("an admin already exists for this data directory")]
    AdminExists,
    /// A batch name is taken.
    #[error("a batch named {0:?} already exists")]
    DuplicateBatchName(String),
    /// No such batch.
    #[error("no batch has the id or name {0:?}")]
    NoSuchBatch(String),
    /// No such recipient in the batch.
    #[error("batch {batch:?} has no recipient {email:?}")]
    NoSuchRecipient {
        /// The batch.
        batch: String,
        /// The address asked for.
        email: String,
    },
    /// The link could not be burned because it is no longer live.
    #[error("the link is no longer usable")]
    LinkNotLive,
    /// Nothing can be saved right now (the disk is full, an I/O error, the database is
    /// busy); nothing was changed, and the same request may succeed later.
    #[error("the database cannot save anything right now: {0}")]
    CannotWrite(&'static str),
    /// A purge destroyed the batch's key (nothing of it can be read any more) but could
    /// not delete its rows yet; the maintenance loop or the next start finishes it.
    #[error(
        "the batch's key is destroyed, so nothing of it can be read any more, but its rows \
         could not be deleted yet ({0}); passdrop finishes the purge by itself once it can \
         write again (within a minute, or at its next start)"
    )]
    PurgeUnfinished(&'static str),
    /// A purge destroyed the batch's key and deleted its rows, but could not yet wipe the
    /// old copies of its pages from the database files (another connection was still
    /// reading an older snapshot); the maintenance loop or the next start finishes it.
    #[error(
        "batch {:?} is purged: its key is destroyed and its rows are deleted, so nothing of \
         it can be read any more through passdrop; but old copies of its pages are still in \
         the database files, because {}. passdrop wipes them once that is over: a running \
         server within a minute, or any passdrop command when it starts",
        .tombstone.name,
        .reason
    )]
    WipePending {
        /// What remains of the batch, as a finished purge returns it.
        tombstone: Box<Tombstone>,
        /// Why the wipe could not finish, in words.
        reason: &'static str,
    },
    /// A purge allowed to destroy only some passwords no recorded export read
    /// (`LossAllowed::Only`) found another one when it came to destroy the key: a user
    /// submitted meanwhile. Nothing was purged.
    #[error(
        "a user submitted a password that no export has read while the purge was being \
         confirmed; nothing was purged"
    )]
    MoreUnexported,
    /// Anything unexpected from SQLite or the file system.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a purge may destroy of the passwords no recorded export read
/// (`Store::unexported_submissions`).
#[derive(Debug, Clone, Copy)]
pub enum LossAllowed<'a> {
    /// Whatever is there (the automatic purge; a batch whose creation failed).
    Any,
    /// Only these (recipient id, `submission_tag`) pairs, the ones the admin was shown;
    /// any other is `StoreError::MoreUnexported`, checked in the transaction that
    /// destroys the key (which a submission's transaction cannot interleave with).
    Only(&'a [(i64, i64)]),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match cannot_write(&e) {
            Some(reason) => {
                tracing::warn!(error = %e, "the database cannot save anything right now");
                Self::CannotWrite(reason)
            }
            None => Self::Other(anyhow::Error::new(e).context("database error")),
        }
    }
}

/// Why a failure is a passing condition of the machine rather than a fault of the
/// request or the data: a full disk, an I/O error, a lock held too long.
pub(crate) fn cannot_write(e: &sqlx::Error) -> Option<&'static str> {
    const ENOSPC: i32 = 28;
    match e {
        sqlx::Error::Database(db) => {
            // SQLite's extended result code; the primary code is its low byte.
            passing_code(db.code()?.parse().ok()?)
        }
        sqlx::Error::Io(io) if io.raw_os_error() == Some(ENOSPC) => Some("the disk is full"),
        sqlx::Error::PoolTimedOut => Some("the database is busy"),
        _ => None,
    }
}

/// [`cannot_write`] for one of SQLite's (extended) result codes.
fn passing_code(code: i32) -> Option<&'static str> {
    // The primary code is the extended code's low byte.
    match code & 0xff {
        13 => Some("the disk is full"),
        10 => Some("the disk reported an input/output error"),
        5 | 6 => Some("the database is busy"),
        8 => Some("the database file is read-only"),
        _ => None,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The store: a pool of SQLite connections to one database file.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    /// Submissions waiting for the group commit (see `submission_writer`).
    submissions: tokio::sync::mpsc::Sender<WriteJob>,
    /// Read-only connections for the collection pages' reads (`reader.rs`).
    readers: std::sync::Arc<reader::Readers>,
    /// Link views remembered while the database is unchanged (`link_views.rs`).
    link_views: std::sync::Arc<link_views::LinkViews>,
    /// The last answer of the write probe, reused for a few seconds.
    write_probe: std::sync::Arc<std::sync::Mutex<Option<files::ProbeAnswer>>>,
    /// The data directory's lock, shared while the store is open (`files::DirLock`).
    _dir_lock: std::sync::Arc<files::DirLock>,
}

/// Marks SQL assembled only from this module's constant fragments (column lists), never
/// from input: every value is bound as a parameter.
fn constant_sql(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

const RECIPIENT_COLUMNS: &str = "r.id AS r_id, r.batch_id AS r_batch_id, r.roster_line, r.email, \
     r.user_name, r.display_name, r.alternate_email, r.user_root, r.language AS r_language";
const BATCH_COLUMNS: &str = "b.id, b.name, b.org_name, b.created_at, b.expires_at, \
     b.link_lifetime_secs, b.has_user_root, b.next_steps, b.ask_mail_client, b.public_key, \
     b.first_exported_at, b.export_purge_at, b.link_tag, b.retain_after_expiry_secs, \
     b.retain_after_export_secs, \
     b.imap_url, b.imap_ca_pem, b.imap_cert_sha256, b.imap_when_unreachable, b.mail_subject, \
     b.mail_body, b.settings_sig, b.message_sig, b.language AS b_language, b.time_zone, \
     b.admin_form, b.admin_user, b.admin_separator, b.admin_password_enc, b.admin_password_ct, \
     b.contact_name, b.contact_role, b.contact_phone, b.contact_email, b.accent_colour, \
     b.link_prefix, b.logo_sha256";

/// The migrations this binary has (`src/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/migrations");

/// Before the pool opens: puts back the copy an interrupted upgrade left (the database
/// before it), then, when this binary has migrations the database lacks and it has some
/// already (an upgrade), checkpoints the WAL into the database file and copies that file
/// aside (`files::copy_aside`), so that a migration that fails leaves the database
/// exactly as it was: sqlx commits each migration on its own, so two pending migrations,
/// the second failing, would otherwise leave it half migrated. Returns whether it is an
/// upgrade.
///
/// Done while this process has no connection open: closing any descriptor of the
/// database file (the copy reads one) drops every POSIX lock the process holds on it,
/// SQLite's own included.
fn set_aside_before_upgrade(path: &Path, lock: &files::DirLock) -> anyhow::Result<bool> {
    if files::pre_upgrade_copy(path).exists() {
        lock.exclusive("the copy an interrupted upgrade left can be put back")?;
    }
    files::finish_failed_upgrade(path)?;
    let conn = connection::open_read_write(path)
        .with_context(|| format!("could not open the database {}", path.display()))?;
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = '_sqlx_migrations')",
        [],
        |r| r.get(0),
    )?;
    let applied: Vec<i64> = if has_table {
        let mut versions =
            conn.prepare("SELECT version FROM _sqlx_migrations WHERE success = 1")?;
        versions
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    } else {
        Vec::new()
    };
    let pending = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .count();
    let upgrade = !applied.is_empty() && pending > 0;
    if upgrade {
        lock.exclusive("this version upgrades the database")?;
        // Everything into the main file first, so a byte copy of it is the whole database.
        let (busy, log, copied): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 || log != copied {
            anyhow::bail!(
                "the database {} is in use by another process (a running `passdrop serve`?): \
                 stop it before this version upgrades the database",
                path.display()
            );
        }
    }
    drop(conn);
    if upgrade {
        files::copy_aside(path, &files::pre_upgrade_copy(path))
            .context("could not copy the database aside before upgrading it")?;
    }
    Ok(upgrade)
}

/// Applies the migrations this binary has and the database lacks; after an upgrade
/// (`set_aside_before_upgrade`) that succeeded, removes the copy taken before it.
async fn migrate(pool: &SqlitePool, path: &Path, upgrade: bool) -> anyhow::Result<()> {
    // The error's own text names the migration and SQLite's reason, once.
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| anyhow::anyhow!("could not apply database migrations: {e}"))?;
    if upgrade {
        files::forget_pre_upgrade_copy(path)?;
    }
    Ok(())
}

/// Whether a pooled connection may be handed out again: not if it is still inside a
/// transaction. When a commit fails because the disk is full (or on an I/O error), SQLite
/// may already have rolled the transaction back itself; the rollback sqlx then queues
/// fails, and sqlx would count the connection as inside a transaction for ever, so every
/// later `BEGIN` on it would fail. Such a connection is closed and replaced instead, and
/// the store recovers by itself once the disk has room again.
async fn discard_if_stuck_in_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A dropped transaction's rollback may still be queued on the connection's worker:
    // a ping is answered only after it has run.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("a database connection was left inside a failed transaction; replacing it");
        return Ok(false);
    }
    Ok(true)
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, applies migrations, and
    /// finishes any purge that a crash interrupted.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        prepare_data_dir(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        if !path.exists() {
            // Create the file 0600 ourselves: SQLite gives the WAL and SHM files the
            // database file's mode.
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("could not create {}", path.display()))?;
        }
        set_mode(&path, 0o600)?;
        let options = SqliteConnectOptions::from_str("sqlite://")
            .context("building SQLite options")?
            .filename(&path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(connection::BUSY_TIMEOUT)
            .pragma("secure_delete", "ON")
            .pragma("temp_store", "MEMORY")
            .disable_statement_logging();
        let lock = files::DirLock::shared(data_dir, connection::BUSY_TIMEOUT).await?;
        let upgrade = set_aside_before_upgrade(&path, &lock)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .before_acquire(|conn, _| Box::pin(discard_if_stuck_in_transaction(conn)))
            .connect_with(options)
            .await
            .with_context(|| format!("could not open the database {}", path.display()))?;
        if let Err(e) = migrate(&pool, &path, upgrade).await {
            // Closed before returning, so no WAL or index file is left beside the
            // (untouched) database.
            pool.close().await;
            if let Err(restore) = files::finish_failed_upgrade(&path) {
                return Err(e.context(format!("{restore:#}")));
            }
            return Err(e);
        }
        // Back to shared after an upgrade or a copy put back (harmless when shared).
        lock.share()?;
        // The group-commit writer is a thread with its own connection (opened at its
        // first write); it stops when the last clone of the store (and so of the
        // sender) is gone.
        let (submissions, jobs) = tokio::sync::mpsc::channel(GROUP_COMMIT_QUEUE);
        let link_views = std::sync::Arc::new(link_views::LinkViews::new(&path));
        start_writer(path.clone(), jobs, std::sync::Arc::clone(&link_views))?;
        let store = Self {
            pool,
            readers: std::sync::Arc::new(reader::Readers::new(path.clone())),
            link_views,
            path,
            submissions,
            write_probe: std::sync::Arc::default(),
            _dir_lock: std::sync::Arc::new(lock),
        };
        store.tighten_file_modes()?;
        store.finish_interrupted_purges().await?;
        Ok(store)
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred one that reads first could fail to upgrade under WAL when another
    /// connection commits in between, and the busy timeout would not help.
    pub(super) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Path of the database file.
    pub fn database_path(&self) -> &Path {
        &self.path
    }

    fn tighten_file_modes(&self) -> anyhow::Result<()> {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let p = PathBuf::from(name);
            if p.exists() {
                set_mode(&p, 0o600)?;
            }
        }
        Ok(())
    }

    /// Commits the writes still queued (the "opened" notes of GETs: the writer takes its
    /// close after every write sent before it, and opens no connection for a store that
    /// never wrote), then closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.readers.close();
        self.link_views.close();
        self.close_writer().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 0024 rebuilds `exported_submissions` without its foreign key: every row
    /// is kept, no foreign key is left, and a recipient's row still goes with it.
    #[tokio::test]
    async fn migration_0024_keeps_the_export_marks_and_their_cascade() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("db.sqlite3"))
            .create_if_missing(true)
            .foreign_keys(false)
            .connect()
            .await
            .unwrap();
        MIGRATOR.run_to(23, &mut conn).await.unwrap();
        for id in 1..=3 {
            sqlx::query(
                "INSERT INTO recipients (id, batch_id, roster_line, email, user_name) \
                 VALUES (?1, 'b', ?1, 'u' || ?1 || '@example.org', 'u' || ?1)",
            )
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query("INSERT INTO exported_submissions (recipient_id, enc_tag) VALUES (?, ?)")
                .bind(id)
                .bind(-id * 1_000_003)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut conn)
            .await
            .unwrap();
        MIGRATOR.run(&mut conn).await.unwrap();

        let marks = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<(i64, i64)> {
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        let all = "SELECT recipient_id, enc_tag FROM exported_submissions ORDER BY 1";
        let kept = marks(sqlx::query(all).fetch_all(&mut conn).await.unwrap());
        assert_eq!(kept, [(1, -1_000_003), (2, -2_000_006), (3, -3_000_009)]);
        let keys = sqlx::query("SELECT * FROM pragma_foreign_key_list('exported_submissions')")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert!(keys.is_empty(), "a foreign key is left");
        sqlx::query("DELETE FROM recipients WHERE id = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        let left = marks(sqlx::query(all).fetch_all(&mut conn).await.unwrap());
        assert_eq!(left, [(1, -1_000_003), (3, -3_000_009)]);
    }
}
