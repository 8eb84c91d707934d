//! The embedded SQLite store. All SQL lives here, one method per question the app asks.
//!
//! Every connection sets `journal_mode=WAL`, `synchronous=FULL`, `foreign_keys=ON`,
//! `secure_delete=ON`, `temp_store=MEMORY` and a busy timeout; the data directory is 0700
//! and the database files 0600.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Row as _};
use tracing::instrument;

use crate::crypto::{KdfParams, SealedBatchKey, SealedPassword, SealedToken, WrappedAdminKey};
use crate::imap::ImapSettings;

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
    /// Anything unexpected from SQLite or the file system.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Other(anyhow::Error::new(e).context("database error"))
    }
}

type StoreResult<T> = Result<T, StoreError>;

/// The store: a pool of SQLite connections to one database file.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    /// Submissions waiting for the group commit (see `submission_writer`).
    submissions: tokio::sync::mpsc::Sender<SubmissionJob>,
}

/// A batch as stored (no secrets: the public key is public).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Batch {
    /// Random id, 16 hex characters.
    pub id: String,
    /// Unique name chosen by the admin.
    pub name: String,
    /// Organisation name shown to users.
    pub org_name: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// When the links issued at creation expire.
    pub expires_at: i64,
    /// How long each link lives, for reissues.
    pub link_lifetime_secs: i64,
    /// Whether the roster had UserRoot values (the export then has a UserRoot column).
    pub has_user_root: bool,
    /// Text shown to users after they submit (plain text).
    pub next_steps: Option<String>,
    /// Whether the form asks how the user reads their email.
    pub ask_mail_client: bool,
    /// The batch's HPKE public key.
    pub public_key: Vec<u8>,
    /// When the batch was first exported.
    pub first_exported_at: Option<i64>,
    /// Purged automatically this long after the links expire...
    pub retain_after_expiry_secs: i64,
    /// ...or this long after the first export, whichever comes first.
    pub retain_after_export_secs: i64,
    /// The old IMAP server each password is checked against, if any.
    pub imap: Option<ImapSettings>,
    /// The emailed message's subject and body (placeholders unfilled), if not the
    /// default.
    pub message: Option<(String, String)>,
}

/// A batch with its progress counts.
#[derive(Debug, Clone)]
pub struct BatchSummary {
    /// The batch.
    pub batch: Batch,
    /// Recipients in the roster.
    pub recipients: i64,
    /// Recipients who have submitted.
    pub submitted: i64,
}

/// What remains of a purged batch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tombstone {
    /// The purged batch's id.
    pub batch_id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: i64,
    /// When it was purged.
    pub purged_at: i64,
    /// How many recipients it had.
    pub recipients: i64,
    /// How many had submitted.
    pub submitted: i64,
    /// When it was first exported, if ever.
    pub first_exported_at: Option<i64>,
}

/// A recipient to insert, with the hash of their first link's token.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    /// Line of the roster the row came from.
    pub roster_line: i64,
    /// EmailAddress.
    pub email: String,
    /// UserName.
    pub user_name: String,
    /// DisplayName.
    pub display_name: Option<String>,
    /// AlternateEmail.
    pub alternate_email: Option<String>,
    /// UserRoot.
    pub user_root: Option<String>,
    /// SHA-256 of the first link's token.
    pub token_hash: [u8; 32],
    /// The token sealed to the batch key, so the admin can fetch the link again.
    pub sealed_token: SealedToken,
}

/// A recipient as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    /// Row id (part of the sealing binding).
    pub id: i64,
    /// The batch.
    pub batch_id: String,
    /// Roster line.
    pub roster_line: i64,
    /// EmailAddress.
    pub email: String,
    /// UserName.
    pub user_name: String,
    /// DisplayName.
    pub display_name: Option<String>,
    /// AlternateEmail.
    pub alternate_email: Option<String>,
    /// UserRoot.
    pub user_root: Option<String>,
}

/// State of one link row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Usable until it expires.
    Live,
    /// A password was submitted with it.
    Used,
    /// The admin revoked it.
    Revoked,
    /// The admin issued a newer link for the same recipient.
    Replaced,
    /// Too many failed attempts; only a reissue helps.
    Locked,
}

impl LinkState {
    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "live" => Self::Live,
            "used" => Self::Used,
            "revoked" => Self::Revoked,
            "replaced" => Self::Replaced,
            "locked" => Self::Locked,
            other => {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "unknown link state {other:?} in the database"
                )));
            }
        })
    }
}

/// Everything the collection page needs about the link a token names.
#[derive(Debug, Clone)]
pub struct LinkView {
    /// The link's state as stored (expiry is judged by the caller against the clock).
    pub state: LinkState,
    /// When the link expires.
    pub expires_at: i64,
    /// When the link was first opened, if it was.
    pub opened_at: Option<i64>,
    /// Whom the link is for.
    pub recipient: Recipient,
    /// The batch it belongs to.
    pub batch: Batch,
}

/// One recipient's progress, for `batch status` and the console.
#[derive(Debug, Clone)]
pub struct RecipientStatus {
    /// The recipient.
    pub recipient: Recipient,
    /// State of the newest link.
    pub link_state: LinkState,
    /// When the newest link expires.
    pub link_expires_at: i64,
    /// When they submitted, if they did.
    pub submitted_at: Option<i64>,
    /// Their answer to the email-reading question, if asked and answered.
    pub mail_client: Option<String>,
    /// When the newest link was first opened, if it was.
    pub opened_at: Option<i64>,
    /// What the IMAP check said: `verified`, `unverified`, or nothing (no check).
    pub imap_check: Option<String>,
}

/// What became of a message handed to the relay.
#[derive(Debug, Clone, Copy)]
pub enum DeliveryOutcome<'a> {
    /// The relay accepted it.
    Sent,
    /// A temporary failure: queued again, not before `at`.
    Retry {
        /// The relay's answer.
        reason: &'a str,
        /// When to try again.
        at: i64,
    },
    /// No clear answer after the message was handed over (a timeout, a lost
    /// connection): it may have arrived, so it is not sent again automatically.
    Unknown {
        /// What happened.
        reason: &'a str,
    },
    /// Refused, or temporary failures too many times.
    Failed {
        /// The relay's answer or the problem.
        reason: &'a str,
    },
}

/// Which earlier messages a new one may replace in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Only a failed one (a first message).
    Failed,
    /// A sent or failed one (a reminder).
    Answered,
    /// Any but one being handed to the relay right now (one user, on request).
    Any,
}

pub use crate::crypto::SealedSecret;

/// The SMTP relay as saved in the console.
#[derive(Debug, Clone)]
pub struct StoredSmtp {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// Login name, if any.
    pub username: Option<String>,
    /// The password, sealed to the admin public key (present exactly when a user is).
    pub password: Option<SealedSecret>,
    /// Sender.
    pub from: String,
    /// Reply-To.
    pub reply_to: Option<String>,
    /// Extra authority (PEM).
    pub ca_pem: Option<String>,
    /// When saved.
    pub updated_at: i64,
}

/// Where a recipient's emailed link stands.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `queued`, `sending`, `unknown`, `sent` or `failed`.
    pub state: String,
    /// SMTP attempts so far.
    pub attempts: i64,
    /// The relay's reason for the last failure.
    pub last_error: Option<String>,
    /// When the last message was accepted by the relay.
    pub sent_at: Option<i64>,
    /// Reminders sent after the first message.
    pub reminders: i64,
    /// For a queued message: not before this time.
    pub next_attempt_at: Option<i64>,
}

/// One entry of a batch's audit trail: what happened and when, never to whom.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    /// When.
    pub at: i64,
    /// What: `created`, `reissued`, `revoked`, `submitted`, `exported`, `purged`.
    pub kind: String,
    /// How many (links created, rows exported...).
    pub count: i64,
}

/// A submission ready to be opened for export.
#[derive(Debug, Clone)]
pub struct StoredSubmission {
    /// Whose it is.
    pub recipient: Recipient,
    /// The sealed password.
    pub sealed: SealedPassword,
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("could not set permissions on {}", path.display()))
}

/// Creates the data directory (0700) if needed and tightens it if it exists.
fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
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

fn row_to_batch(row: &sqlx::sqlite::SqliteRow) -> Result<Batch, sqlx::Error> {
    Ok(Batch {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        org_name: row.try_get("org_name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        link_lifetime_secs: row.try_get("link_lifetime_secs")?,
        has_user_root: row.try_get("has_user_root")?,
        next_steps: row.try_get("next_steps")?,
        ask_mail_client: row.try_get("ask_mail_client")?,
        public_key: row.try_get("public_key")?,
        first_exported_at: row.try_get("first_exported_at")?,
        retain_after_expiry_secs: row.try_get("retain_after_expiry_secs")?,
        retain_after_export_secs: row.try_get("retain_after_export_secs")?,
        imap: row_to_imap(row)?,
        message: match (
            row.try_get::<Option<String>, _>("mail_subject")?,
            row.try_get::<Option<String>, _>("mail_body")?,
        ) {
            (Some(subject), Some(body)) => Some((subject, body)),
            _ => None,
        },
    })
}

fn row_to_imap(row: &sqlx::sqlite::SqliteRow) -> Result<Option<ImapSettings>, sqlx::Error> {
    let Some(url) = row.try_get::<Option<String>, _>("imap_url")? else {
        return Ok(None);
    };
    let ca: Option<String> = row.try_get("imap_ca_pem")?;
    let pin: Option<String> = row.try_get("imap_cert_sha256")?;
    let when: String = row.try_get("imap_when_unreachable")?;
    ImapSettings::from_stored(&url, ca.as_deref(), pin.as_deref(), &when)
        .map(Some)
        .map_err(|e| sqlx::Error::Decode(format!("stored IMAP settings: {e}").into()))
}

fn row_to_recipient(row: &sqlx::sqlite::SqliteRow) -> Result<Recipient, sqlx::Error> {
    Ok(Recipient {
        id: row.try_get("r_id")?,
        batch_id: row.try_get("r_batch_id")?,
        roster_line: row.try_get("roster_line")?,
        email: row.try_get("email")?,
        user_name: row.try_get("user_name")?,
        display_name: row.try_get("display_name")?,
        alternate_email: row.try_get("alternate_email")?,
        user_root: row.try_get("user_root")?,
    })
}

/// Marks SQL assembled only from this module's constant fragments (column lists), never
/// from input: every value is bound as a parameter.
fn constant_sql(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

const RECIPIENT_COLUMNS: &str = "r.id AS r_id, r.batch_id AS r_batch_id, r.roster_line, r.email, \
     r.user_name, r.display_name, r.alternate_email, r.user_root";
const BATCH_COLUMNS: &str = "b.id, b.name, b.org_name, b.created_at, b.expires_at, \
     b.link_lifetime_secs, b.has_user_root, b.next_steps, b.ask_mail_client, b.public_key, \
     b.first_exported_at, b.retain_after_expiry_secs, b.retain_after_export_secs, \
     b.imap_url, b.imap_ca_pem, b.imap_cert_sha256, b.imap_when_unreachable, b.mail_subject, \
     b.mail_body";

/// Rows per multi-row INSERT when a batch is created (7 values each, well under
/// SQLite's limit on bound parameters).
const INSERT_ROWS: usize = 500;

/// How many submissions may wait for the writer before senders wait too.
const GROUP_COMMIT_QUEUE: usize = 1024;
/// The most submissions committed in one transaction.
const GROUP_COMMIT_MAX: usize = 256;

/// A write waiting for the group commit, with where to send its outcome.
#[derive(Debug)]
struct SubmissionJob {
    /// `true`: only note that the link was opened (the rest is unused).
    open_only: bool,
    token_hash: [u8; 32],
    recipient_id: i64,
    enc: Vec<u8>,
    ciphertext: Vec<u8>,
    mail_client: Option<String>,
    imap_check: Option<String>,
    now: i64,
    done: tokio::sync::oneshot::Sender<StoreResult<()>>,
}

/// Commits submissions in groups: it takes every submission waiting (up to
/// `GROUP_COMMIT_MAX`), burns and stores them all in one `BEGIN IMMEDIATE`
/// transaction, and answers each only after the commit (`synchronous=FULL`: durable).
/// While one group commits, the next one gathers, so under load one fsync
/// acknowledges many submissions; alone, a submission is committed at once.
async fn submission_writer(pool: SqlitePool, mut jobs: tokio::sync::mpsc::Receiver<SubmissionJob>) {
    let mut group = Vec::with_capacity(GROUP_COMMIT_MAX);
    while jobs.recv_many(&mut group, GROUP_COMMIT_MAX).await > 0 {
        match commit_submissions(&pool, &group).await {
            Ok(burned) => {
                for (job, burned) in group.drain(..).zip(burned) {
                    let outcome = if burned {
                        Ok(())
                    } else {
                        Err(StoreError::LinkNotLive)
                    };
                    let _ = job.done.send(outcome);
                }
            }
            Err(e) => {
                // Nothing of the group was committed; each submitter gets the error.
                let message = format!("{e:#}");
                tracing::error!(error = %message, "a group of submissions could not be committed");
                for job in group.drain(..) {
                    let _ = job.done.send(Err(StoreError::Other(anyhow::anyhow!(
                        "database error: {message}"
                    ))));
                }
            }
        }
    }
}

/// One transaction for a group of submissions; returns which links were burned (a
/// link that is no longer live, or was burned earlier in the same group, is not).
async fn commit_submissions(
    pool: &SqlitePool,
    jobs: &[SubmissionJob],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut burned = Vec::with_capacity(jobs.len());
    for job in jobs {
        if job.open_only {
            sqlx::query(
                "UPDATE links SET opened_at = ? WHERE token_hash = ? AND state = 'live' \
                 AND opened_at IS NULL",
            )
            .bind(job.now)
            .bind(job.token_hash.as_slice())
            .execute(&mut *tx)
            .await?;
            burned.push(true);
            continue;
        }
        let updated = sqlx::query(
            "UPDATE links SET state = 'used', used_at = ?1 \
             WHERE token_hash = ?2 AND recipient_id = ?3 AND state = 'live' AND expires_at > ?1 \
             AND EXISTS (SELECT 1 FROM recipients r JOIN batch_keys k ON k.batch_id = r.batch_id \
                         WHERE r.id = ?3)",
        )
        .bind(job.now)
        .bind(job.token_hash.as_slice())
        .bind(job.recipient_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            burned.push(false);
            continue;
        }
        sqlx::query(
            "INSERT INTO submissions (recipient_id, enc, ciphertext, submitted_at, mail_client, \
             imap_check) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id) DO UPDATE SET \
             enc = excluded.enc, ciphertext = excluded.ciphertext, \
             submitted_at = excluded.submitted_at, mail_client = excluded.mail_client, \
             imap_check = excluded.imap_check",
        )
        .bind(job.recipient_id)
        .bind(&job.enc)
        .bind(&job.ciphertext)
        .bind(job.now)
        .bind(&job.mail_client)
        .bind(&job.imap_check)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_events (batch_id, at, kind, count) \
             SELECT batch_id, ?, 'submitted', 1 FROM recipients WHERE id = ?",
        )
        .bind(job.now)
        .bind(job.recipient_id)
        .execute(&mut *tx)
        .await?;
        burned.push(true);
    }
    tx.commit().await?;
    Ok(burned)
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
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON")
            .pragma("temp_store", "MEMORY")
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("could not open the database {}", path.display()))?;
        sqlx::migrate!("src/migrations")
            .run(&pool)
            .await
            .context("could not apply database migrations")?;
        // The group-commit writer holds its own handle on the pool; it stops when the
        // last clone of the store (and so of the sender) is gone.
        let (submissions, jobs) = tokio::sync::mpsc::channel(GROUP_COMMIT_QUEUE);
        tokio::spawn(submission_writer(pool.clone(), jobs));
        let store = Self {
            pool,
            path,
            submissions,
        };
        store.tighten_file_modes()?;
        store.finish_interrupted_purges().await?;
        Ok(store)
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred one that reads first could fail to upgrade under WAL when another
    /// connection commits in between, and the busy timeout would not help.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
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

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether `admin init` has run.
    #[instrument(skip_all)]
    pub async fn admin_exists(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The wrapped admin key, if an admin exists.
    #[instrument(skip_all)]
    pub async fn admin_key(&self) -> StoreResult<Option<WrappedAdminKey>> {
        let row = sqlx::query(
            "SELECT public_key, kdf_salt, kdf_m_cost, kdf_t_cost, kdf_p_cost, wrap_nonce, \
             wrapped_private_key FROM admin WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let cost = |col: &str| -> StoreResult<u32> {
            let v: i64 = row.try_get(col)?;
            u32::try_from(v)
                .map_err(|_| StoreError::Other(anyhow::anyhow!("bad {col} in database")))
        };
        Ok(Some(WrappedAdminKey {
            public_key: row.try_get("public_key")?,
            salt: row.try_get("kdf_salt")?,
            kdf: KdfParams {
                m_cost: cost("kdf_m_cost")?,
                t_cost: cost("kdf_t_cost")?,
                p_cost: cost("kdf_p_cost")?,
            },
            nonce: row.try_get("wrap_nonce")?,
            ciphertext: row.try_get("wrapped_private_key")?,
        }))
    }

    /// Stores the admin key; fails with `AdminExists` if one is already there.
    #[instrument(skip_all)]
    pub async fn insert_admin_key(&self, key: &WrappedAdminKey, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let inserted = Self::insert_admin_key_in(&mut tx, key, now).await?;
        tx.commit().await?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::AdminExists)
        }
    }

    async fn insert_admin_key_in(
        tx: &mut sqlx::SqliteConnection,
        key: &WrappedAdminKey,
        now: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO admin (id, public_key, kdf_salt, kdf_m_cost, kdf_t_cost, kdf_p_cost, \
             wrap_nonce, wrapped_private_key, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key.public_key)
        .bind(&key.salt)
        .bind(i64::from(key.kdf.m_cost))
        .bind(i64::from(key.kdf.t_cost))
        .bind(i64::from(key.kdf.p_cost))
        .bind(&key.nonce)
        .bind(&key.ciphertext)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Creates a batch, its sealed key, its recipients and their first links in one
    /// transaction: either all of it exists afterwards or none of it.
    #[instrument(skip_all)]
    pub async fn create_batch(
        &self,
        batch: &Batch,
        sealed_key: &SealedBatchKey,
        recipients: &[NewRecipient],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO batches (id, name, org_name, created_at, expires_at, link_lifetime_secs, \
             has_user_root, next_steps, ask_mail_client, public_key, retain_after_expiry_secs, \
             retain_after_export_secs, imap_url, imap_ca_pem, imap_cert_sha256, \
             imap_when_unreachable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&batch.id)
        .bind(&batch.name)
        .bind(&batch.org_name)
        .bind(batch.created_at)
        .bind(batch.expires_at)
        .bind(batch.link_lifetime_secs)
        .bind(batch.has_user_root)
        .bind(&batch.next_steps)
        .bind(batch.ask_mail_client)
        .bind(&batch.public_key)
        .bind(batch.retain_after_expiry_secs)
        .bind(batch.retain_after_export_secs)
        .bind(batch.imap.as_ref().map(|i| i.server.to_string()))
        .bind(
            batch
                .imap
                .as_ref()
                .and_then(|i| i.ca_pem().map(str::to_owned)),
        )
        .bind(batch.imap.as_ref().and_then(ImapSettings::pin_hex))
        .bind(
            batch
                .imap
                .as_ref()
                .map_or("retry", |i| i.when_unreachable.as_str()),
        )
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::DuplicateBatchName(batch.name.clone()));
        }
        sqlx::query("INSERT INTO batch_keys (batch_id, enc, sealed_private_key) VALUES (?, ?, ?)")
            .bind(&batch.id)
            .bind(&sealed_key.enc)
            .bind(&sealed_key.ciphertext)
            .execute(&mut *tx)
            .await?;
        // Many rows per statement: 50,000 single-row inserts cost more in statement
        // overhead than in SQLite's own work.
        for chunk in recipients.chunks(INSERT_ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO recipients (batch_id, roster_line, email, user_name, display_name, \
                 alternate_email, user_root) ",
            );
            insert.push_values(chunk, |mut row, r| {
                row.push_bind(&batch.id)
                    .push_bind(r.roster_line)
                    .push_bind(&r.email)
                    .push_bind(&r.user_name)
                    .push_bind(&r.display_name)
                    .push_bind(&r.alternate_email)
                    .push_bind(&r.user_root);
            });
            insert.build().execute(&mut *tx).await?;
        }
        let ids: std::collections::HashMap<i64, i64> =
            sqlx::query_as("SELECT roster_line, id FROM recipients WHERE batch_id = ?")
                .bind(&batch.id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        for chunk in recipients.chunks(INSERT_ROWS) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO links (token_hash, recipient_id, state, created_at, expires_at, \
                 sealed_token_enc, sealed_token) ",
            );
            let mut missing = None;
            insert.push_values(chunk, |mut row, r| {
                let id = ids.get(&r.roster_line).copied();
                if id.is_none() {
                    missing = Some(r.roster_line);
                }
                row.push_bind(r.token_hash.as_slice())
                    .push_bind(id.unwrap_or_default())
                    .push_bind("live")
                    .push_bind(batch.created_at)
                    .push_bind(batch.expires_at)
                    .push_bind(&r.sealed_token.enc)
                    .push_bind(&r.sealed_token.ciphertext);
            });
            if let Some(line) = missing {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "roster line {line} was not stored; nothing was created"
                )));
            }
            insert.build().execute(&mut *tx).await?;
        }
        Self::record_event_in(
            &mut tx,
            &batch.id,
            "created",
            recipients.len(),
            batch.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds a live (not purged) batch by id or by name.
    #[instrument(skip_all)]
    pub async fn find_batch(&self, id_or_name: &str) -> StoreResult<Option<Batch>> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS} FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             WHERE b.id = ?1 OR b.name = ?1 ORDER BY b.id = ?1 DESC LIMIT 1"
        )))
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_batch).transpose()?)
    }

    /// Finds a batch by id or name, or says it does not exist.
    pub async fn require_batch(&self, id_or_name: &str) -> StoreResult<Batch> {
        self.find_batch(id_or_name)
            .await?
            .ok_or_else(|| StoreError::NoSuchBatch(id_or_name.to_owned()))
    }

    /// Finds the tombstone of a purged batch by id or name (newest first).
    #[instrument(skip_all)]
    pub async fn find_tombstone(&self, id_or_name: &str) -> StoreResult<Option<Tombstone>> {
        Ok(sqlx::query_as(
            "SELECT batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at FROM tombstones WHERE batch_id = ?1 OR name = ?1 \
             ORDER BY purged_at DESC LIMIT 1",
        )
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every live batch with its counts, newest first.
    #[instrument(skip_all)]
    pub async fn list_batches(&self) -> StoreResult<Vec<BatchSummary>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS}, \
               (SELECT COUNT(*) FROM recipients r WHERE r.batch_id = b.id) AS n_recipients, \
               (SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id \
                  WHERE r.batch_id = b.id) AS n_submitted \
             FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             ORDER BY b.created_at DESC, b.name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BatchSummary {
                    batch: row_to_batch(row)?,
                    recipients: row.try_get("n_recipients")?,
                    submitted: row.try_get("n_submitted")?,
                })
            })
            .collect()
    }

    /// Every tombstone, newest first.
    #[instrument(skip_all)]
    pub async fn list_tombstones(&self) -> StoreResult<Vec<Tombstone>> {
        Ok(sqlx::query_as(
            "SELECT batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at FROM tombstones ORDER BY purged_at DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Each recipient of a batch with the state of their newest link, in roster order.
    #[instrument(skip_all)]
    pub async fn recipient_statuses(&self, batch_id: &str) -> StoreResult<Vec<RecipientStatus>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, l.state, l.expires_at AS link_expires_at, s.submitted_at, \
             s.mail_client, s.imap_check, l.opened_at \
             FROM recipients r \
             JOIN links l ON l.id = (SELECT MAX(id) FROM links WHERE recipient_id = r.id) \
             LEFT JOIN submissions s ON s.recipient_id = r.id \
             WHERE r.batch_id = ? ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok(RecipientStatus {
                    recipient: row_to_recipient(row)?,
                    link_state: LinkState::parse(&state)?,
                    link_expires_at: row.try_get("link_expires_at")?,
                    submitted_at: row.try_get("submitted_at")?,
                    mail_client: row.try_get("mail_client")?,
                    opened_at: row.try_get("opened_at")?,
                    imap_check: row.try_get("imap_check")?,
                })
            })
            .collect()
    }

    /// The link a token hash names, with its recipient and batch; `None` if unknown or
    /// its batch is purged or being purged.
    #[instrument(skip_all)]
    pub async fn link_by_token_hash(&self, token_hash: &[u8; 32]) -> StoreResult<Option<LinkView>> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT l.state, l.expires_at AS link_expires_at, l.opened_at, {RECIPIENT_COLUMNS}, \
             {BATCH_COLUMNS} \
             FROM links l JOIN recipients r ON r.id = l.recipient_id \
             JOIN batches b ON b.id = r.batch_id JOIN batch_keys k ON k.batch_id = b.id \
             WHERE l.token_hash = ?"
        )))
        .bind(token_hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        Ok(Some(LinkView {
            state: LinkState::parse(&state)?,
            expires_at: row.try_get("link_expires_at")?,
            opened_at: row.try_get("opened_at")?,
            recipient: row_to_recipient(&row)?,
            batch: row_to_batch(&row)?,
        }))
    }

    /// Burns a live, unexpired link and stores its sealed password, in one transaction.
    /// Fails with `LinkNotLive` (changing nothing) if the link was used, revoked,
    /// replaced or expired in the meantime, or its batch is being purged.
    ///
    /// Submissions arriving together share one transaction and one fsync (group
    /// commit); each is answered only once that transaction is durable.
    #[instrument(skip_all)]
    pub async fn burn_link_with_submission(
        &self,
        token_hash: &[u8; 32],
        recipient_id: i64,
        sealed: &SealedPassword,
        mail_client: Option<&str>,
        imap_check: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = SubmissionJob {
            open_only: false,
            token_hash: *token_hash,
            recipient_id,
            enc: sealed.enc.clone(),
            ciphertext: sealed.ciphertext.clone(),
            mail_client: mail_client.map(str::to_owned),
            imap_check: imap_check.map(str::to_owned),
            now,
            done,
        };
        self.submissions
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the submission writer has stopped")))?;
        answer.await.map_err(|_| {
            StoreError::Other(anyhow::anyhow!(
                "the submission writer stopped before answering"
            ))
        })?
    }

    /// Counts a failed attempt on a live link and locks it once `cap` is reached.
    /// Returns whether the link is now locked, or `None` if it was no longer live.
    #[instrument(skip_all)]
    pub async fn record_failed_attempt(
        &self,
        token_hash: &[u8; 32],
        cap: i64,
    ) -> StoreResult<Option<bool>> {
        let state: Option<String> = sqlx::query_scalar(
            "UPDATE links SET failed_attempts = failed_attempts + 1, \
               state = CASE WHEN failed_attempts + 1 >= ?2 THEN 'locked' ELSE state END \
             WHERE token_hash = ?1 AND state = 'live' RETURNING state",
        )
        .bind(token_hash.as_slice())
        .bind(cap)
        .fetch_optional(&self.pool)
        .await?;
        Ok(state.map(|s| s == "locked"))
    }

    /// A recipient of a batch, by address (case-insensitive).
    #[instrument(skip_all)]
    pub async fn recipient(&self, batch: &Batch, email: &str) -> StoreResult<Recipient> {
        let mut conn = self.pool.acquire().await?;
        Self::recipient_by_email(&mut conn, batch, email).await
    }

    async fn recipient_by_email(
        tx: &mut sqlx::SqliteConnection,
        batch: &Batch,
        email: &str,
    ) -> StoreResult<Recipient> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients r WHERE r.batch_id = ? AND r.email = ?"
        )))
        .bind(&batch.id)
        .bind(email.trim())
        .fetch_optional(&mut *tx)
        .await?;
        match row {
            Some(row) => Ok(row_to_recipient(&row)?),
            None => Err(StoreError::NoSuchRecipient {
                batch: batch.name.clone(),
                email: email.to_owned(),
            }),
        }
    }

    /// Replaces a recipient's live link (if any) with a new one. A password already
    /// submitted stays until a new one arrives through the new link.
    #[instrument(skip_all)]
    pub async fn reissue_link(
        &self,
        batch: &Batch,
        email: &str,
        token_hash: &[u8; 32],
        sealed_token: &SealedToken,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<Recipient> {
        let mut tx = self.begin_write().await?;
        let recipient = Self::recipient_by_email(&mut tx, batch, email).await?;
        sqlx::query(
            "UPDATE links SET state = 'replaced' WHERE recipient_id = ? AND state = 'live'",
        )
        .bind(recipient.id)
        .execute(&mut *tx)
        .await?;
        // The new link has not been emailed: a plain `send` picks it up.
        sqlx::query("DELETE FROM deliveries WHERE recipient_id = ?")
            .bind(recipient.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO links (token_hash, recipient_id, state, created_at, expires_at, \
             sealed_token_enc, sealed_token) VALUES (?, ?, 'live', ?, ?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(recipient.id)
        .bind(now)
        .bind(expires_at)
        .bind(&sealed_token.enc)
        .bind(&sealed_token.ciphertext)
        .execute(&mut *tx)
        .await?;
        Self::record_event_in(&mut tx, &batch.id, "reissued", 1, now).await?;
        tx.commit().await?;
        Ok(recipient)
    }

    /// Revokes a recipient's live link. Returns `false` if they had none to revoke.
    #[instrument(skip_all)]
    pub async fn revoke_link(&self, batch: &Batch, email: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let recipient = Self::recipient_by_email(&mut tx, batch, email).await?;
        let revoked = sqlx::query(
            "UPDATE links SET state = 'revoked' WHERE recipient_id = ? AND state = 'live'",
        )
        .bind(recipient.id)
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() > 0 {
            Self::record_event_in(&mut tx, &batch.id, "revoked", 1, crate::config::now()).await?;
        }
        tx.commit().await?;
        Ok(revoked.rows_affected() > 0)
    }

    /// The batch's private key sealed to the admin; `None` once purge has begun.
    #[instrument(skip_all)]
    pub async fn sealed_batch_key(&self, batch_id: &str) -> StoreResult<Option<SealedBatchKey>> {
        let row = sqlx::query("SELECT enc, sealed_private_key FROM batch_keys WHERE batch_id = ?")
            .bind(batch_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SealedBatchKey {
            enc: row.try_get("enc")?,
            ciphertext: row.try_get("sealed_private_key")?,
        }))
    }

    /// Every sealed password of a batch, and the addresses of those who have not
    /// submitted, both in roster order and read from one snapshot (so a submission
    /// landing meanwhile is in exactly one of the two).
    #[instrument(skip_all)]
    pub async fn submissions_and_missing(
        &self,
        batch_id: &str,
    ) -> StoreResult<(Vec<StoredSubmission>, Vec<String>)> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, s.enc, s.ciphertext FROM submissions s \
             JOIN recipients r ON r.id = s.recipient_id WHERE r.batch_id = ? ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?;
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT r.email FROM recipients r WHERE r.batch_id = ? AND NOT EXISTS \
             (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id) ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let submissions = rows
            .iter()
            .map(|row| {
                Ok(StoredSubmission {
                    recipient: row_to_recipient(row)?,
                    sealed: SealedPassword {
                        enc: row.try_get("enc")?,
                        ciphertext: row.try_get("ciphertext")?,
                    },
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((submissions, missing))
    }

    /// Sets (or with `None` removes) the IMAP server a batch checks passwords against.
    #[instrument(skip_all)]
    pub async fn set_batch_imap(
        &self,
        batch_id: &str,
        imap: Option<&ImapSettings>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE batches SET imap_url = ?, imap_ca_pem = ?, imap_cert_sha256 = ?, \
             imap_when_unreachable = ? WHERE id = ? \
             AND EXISTS (SELECT 1 FROM batch_keys k WHERE k.batch_id = batches.id)",
        )
        .bind(imap.map(|i| i.server.to_string()))
        .bind(imap.and_then(|i| i.ca_pem().map(str::to_owned)))
        .bind(imap.and_then(ImapSettings::pin_hex))
        .bind(imap.map_or("retry", |i| i.when_unreachable.as_str()))
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records the first export time of a batch (later exports keep the first).
    #[instrument(skip_all)]
    pub async fn mark_exported(&self, batch_id: &str, rows: usize, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE batches SET first_exported_at = COALESCE(first_exported_at, ?) WHERE id = ?",
        )
        .bind(now)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        Self::record_event_in(&mut tx, batch_id, "exported", rows, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds an entry to a batch's audit trail.
    #[instrument(skip_all)]
    pub async fn record_event(
        &self,
        batch_id: &str,
        kind: &str,
        count: usize,
        now: i64,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        Self::record_event_in(&mut conn, batch_id, kind, count, now).await
    }

    async fn record_event_in(
        tx: &mut sqlx::SqliteConnection,
        batch_id: &str,
        kind: &str,
        count: usize,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_events (batch_id, at, kind, count) VALUES (?, ?, ?, ?)")
            .bind(batch_id)
            .bind(now)
            .bind(kind)
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// A batch's audit trail, oldest first (kept after purge).
    #[instrument(skip_all)]
    pub async fn audit_trail(&self, batch_id: &str) -> StoreResult<Vec<AuditEvent>> {
        Ok(sqlx::query_as(
            "SELECT at, kind, count FROM audit_events WHERE batch_id = ? ORDER BY at, id",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Notes the first time a live link was opened (a GET never burns a link; this only
    /// tells the admin the message arrived).
    #[instrument(skip_all)]
    ///
    /// Goes through the group commit: when a whole company opens its links at once, one
    /// fsync notes many of them.
    pub async fn mark_opened(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = SubmissionJob {
            open_only: true,
            token_hash: *token_hash,
            recipient_id: 0,
            enc: Vec::new(),
            ciphertext: Vec::new(),
            mail_client: None,
            imap_check: None,
            now,
            done,
        };
        self.submissions
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer has stopped")))?;
        answer.await.map_err(|_| {
            StoreError::Other(anyhow::anyhow!(
                "the database writer stopped before answering"
            ))
        })?
    }

    /// The sealed tokens of every recipient's live, unexpired link, with its expiry, in
    /// roster order.
    #[instrument(skip_all)]
    pub async fn live_sealed_tokens(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(Recipient, SealedToken, i64)>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {RECIPIENT_COLUMNS}, l.sealed_token_enc, l.sealed_token, \
             l.expires_at AS link_expires_at FROM links l \
             JOIN recipients r ON r.id = l.recipient_id \
             WHERE r.batch_id = ? AND l.state = 'live' AND l.expires_at > ? \
             AND l.sealed_token IS NOT NULL ORDER BY r.roster_line"
        )))
        .bind(batch_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row_to_recipient(row)?,
                    SealedToken {
                        enc: row.try_get("sealed_token_enc")?,
                        ciphertext: row.try_get("sealed_token")?,
                    },
                    row.try_get("link_expires_at")?,
                ))
            })
            .collect()
    }

    /// Each recipient's delivery state in a batch, by recipient id.
    #[instrument(skip_all)]
    pub async fn deliveries(
        &self,
        batch_id: &str,
    ) -> StoreResult<std::collections::HashMap<i64, Delivery>> {
        type Row = (
            i64,
            String,
            i64,
            Option<String>,
            Option<i64>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.recipient_id, d.state, d.attempts, d.last_error, d.sent_at, d.reminders, \
             d.next_attempt_at \
             FROM deliveries d JOIN recipients r ON r.id = d.recipient_id WHERE r.batch_id = ?",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, state, attempts, last_error, sent_at, reminders, next_attempt_at)| {
                    (
                        id,
                        Delivery {
                            state,
                            attempts,
                            last_error,
                            sent_at,
                            reminders,
                            next_attempt_at,
                        },
                    )
                },
            )
            .collect())
    }

    /// Queues a message for each of `recipient_ids`, to be tried from `now`, where
    /// `requeue` allows it (a recipient never emailed is always queued; one already
    /// queued stays as it is). Returns how many were queued. The allowance is checked in
    /// the same statement as the write, so a message sent meanwhile is not queued again.
    #[instrument(skip_all)]
    pub async fn enqueue_deliveries(
        &self,
        recipient_ids: &[i64],
        requeue: Requeue,
        now: i64,
    ) -> StoreResult<usize> {
        let allowed = match requeue {
            Requeue::Failed => "deliveries.state = 'failed'",
            Requeue::Answered => "deliveries.state IN ('sent', 'failed')",
            // Not a message being handed to the relay right now (a 'sending' row is
            // taken for a crash's leftover only once no send could still be running).
            Requeue::Any => {
                "deliveries.state IN ('sent', 'failed', 'unknown') OR (deliveries.state = \
                 'sending' AND deliveries.updated_at < ?2 - 300)"
            }
        };
        let sql = constant_sql(format!(
            "INSERT INTO deliveries (recipient_id, state, next_attempt_at, updated_at) \
             VALUES (?1, 'queued', ?2, ?2) \
             ON CONFLICT (recipient_id) DO UPDATE SET state = 'queued', attempts = 0, \
               last_error = NULL, next_attempt_at = ?2, updated_at = ?2 \
             WHERE {allowed}"
        ));
        let mut tx = self.begin_write().await?;
        let mut queued = 0;
        for id in recipient_ids {
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.0.as_str()))
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            queued += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// How many messages wait in the queue, in all batches.
    #[instrument(skip_all)]
    pub async fn queued_delivery_count(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The queued messages of a batch, `(recipient id, not before)`, soonest first.
    #[instrument(skip_all)]
    pub async fn queued_deliveries(&self, batch_id: &str) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT d.recipient_id, COALESCE(d.next_attempt_at, 0) FROM deliveries d \
             JOIN recipients r ON r.id = d.recipient_id \
             WHERE r.batch_id = ? AND d.state = 'queued' \
             ORDER BY d.next_attempt_at, r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Claims a queued message before it is handed to the relay: committed before the
    /// SMTP conversation starts, so that a crash in between is never taken for "not
    /// sent". Returns the try it is (1 for the first), or `None` if another sender took
    /// it, or if the link with `token_hash` is no longer live and unexpired (used,
    /// revoked, replaced, expired); the message is then dropped from the queue.
    #[instrument(skip_all)]
    pub async fn claim_delivery(
        &self,
        recipient_id: i64,
        token_hash: &[u8; 32],
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?2 \
             WHERE recipient_id = ?1 AND state = 'queued' AND EXISTS (SELECT 1 FROM links \
               WHERE recipient_id = ?1 AND token_hash = ?3 AND state = 'live' \
               AND expires_at > ?2) RETURNING attempts",
        )
        .bind(recipient_id)
        .bind(now)
        .bind(token_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        // The user has no usable link any more (submitted, revoked, locked, expired): a
        // reminder falls back to "sent", a first message is forgotten. A link replaced
        // by a newer live one leaves the message queued for a sender holding that one.
        const NO_LIVE_LINK: &str = "NOT EXISTS (SELECT 1 FROM links WHERE recipient_id = ?1 \
             AND state = 'live' AND expires_at > ?2)";
        if claimed.is_none() {
            sqlx::query(constant_sql(format!(
                "DELETE FROM deliveries WHERE recipient_id = ?1 AND state = 'queued' \
                 AND sent_at IS NULL AND {NO_LIVE_LINK}"
            )))
            .bind(recipient_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(constant_sql(format!(
                "UPDATE deliveries SET state = 'sent', last_error = NULL, \
                 next_attempt_at = NULL, updated_at = ?2 WHERE recipient_id = ?1 \
                 AND state = 'queued' AND {NO_LIVE_LINK}"
            )))
            .bind(recipient_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of a claimed message.
    #[instrument(skip_all)]
    pub async fn finish_delivery(
        &self,
        recipient_id: i64,
        outcome: DeliveryOutcome<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let query = match outcome {
            DeliveryOutcome::Sent => sqlx::query(
                "UPDATE deliveries SET state = 'sent', last_error = NULL, \
                 reminders = reminders + (sent_at IS NOT NULL), sent_at = ?2, \
                 next_attempt_at = NULL, updated_at = ?2 \
                 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now),
            DeliveryOutcome::Retry { reason, at } => sqlx::query(
                "UPDATE deliveries SET state = 'queued', last_error = ?3, next_attempt_at = ?4, \
                 updated_at = ?2 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason)
            .bind(at),
            DeliveryOutcome::Unknown { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'unknown', last_error = ?3, \
                 next_attempt_at = NULL, updated_at = ?2 \
                 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason),
            DeliveryOutcome::Failed { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', last_error = ?3, next_attempt_at = NULL, \
                 updated_at = ?2 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// The relay saved in the console, if any.
    #[instrument(skip_all)]
    pub async fn smtp_settings(&self) -> StoreResult<Option<StoredSmtp>> {
        let row = sqlx::query(
            "SELECT host, port, security, username, password_enc, password_sealed, from_addr, \
             reply_to, ca_pem, updated_at FROM smtp_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let enc: Option<Vec<u8>> = row.try_get("password_enc")?;
            let sealed: Option<Vec<u8>> = row.try_get("password_sealed")?;
            Ok::<_, sqlx::Error>(StoredSmtp {
                host: row.try_get("host")?,
                port: u16::try_from(row.try_get::<i64, _>("port")?)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
                security: row.try_get("security")?,
                username: row.try_get("username")?,
                password: enc
                    .zip(sealed)
                    .map(|(enc, ciphertext)| SealedSecret { enc, ciphertext }),
                from: row.try_get("from_addr")?,
                reply_to: row.try_get("reply_to")?,
                ca_pem: row.try_get("ca_pem")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
        .map_err(StoreError::from)
    }

    /// Saves the relay (replacing what was saved).
    #[instrument(skip_all)]
    pub async fn save_smtp_settings(&self, s: &StoredSmtp) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO smtp_settings (id, host, port, security, username, \
             password_enc, password_sealed, from_addr, reply_to, ca_pem, updated_at) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.host)
        .bind(i64::from(s.port))
        .bind(&s.security)
        .bind(&s.username)
        .bind(s.password.as_ref().map(|p| p.enc.as_slice()))
        .bind(s.password.as_ref().map(|p| p.ciphertext.as_slice()))
        .bind(&s.from)
        .bind(&s.reply_to)
        .bind(&s.ca_pem)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the saved relay.
    #[instrument(skip_all)]
    pub async fn delete_smtp_settings(&self) -> StoreResult<()> {
        sqlx::query("DELETE FROM smtp_settings")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a batch's message (`None`: back to the default).
    #[instrument(skip_all)]
    pub async fn set_batch_message(
        &self,
        batch_id: &str,
        message: Option<(&str, &str)>,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE batches SET mail_subject = ?, mail_body = ? WHERE id = ?")
            .bind(message.map(|m| m.0))
            .bind(message.map(|m| m.1))
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        Ok(())
    }

    /// Stores a new admin session (by hash).
    #[instrument(skip_all)]
    pub async fn create_session(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, created_at, last_seen_at) VALUES (?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a session is valid (seen within `idle` seconds, created within `absolute`);
    /// a valid one is touched, an expired one deleted.
    #[instrument(skip_all)]
    pub async fn touch_session(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        idle: i64,
        absolute: i64,
    ) -> StoreResult<bool> {
        let touched = sqlx::query(
            "UPDATE admin_sessions SET last_seen_at = ?1 WHERE token_hash = ?2 \
             AND last_seen_at + ?3 > ?1 AND created_at + ?4 > ?1",
        )
        .bind(now)
        .bind(token_hash.as_slice())
        .bind(idle)
        .bind(absolute)
        .execute(&self.pool)
        .await?;
        if touched.rows_affected() == 1 {
            return Ok(true);
        }
        self.delete_session(token_hash).await?;
        Ok(false)
    }

    /// Ends a session.
    #[instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = ?")
            .bind(token_hash.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a one-time setup token (by hash), replacing any earlier one.
    #[instrument(skip_all)]
    pub async fn replace_setup_token(
        &self,
        token_hash: &[u8; 32],
        expires_at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)")
            .bind(token_hash.as_slice())
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a setup token is known and unexpired.
    #[instrument(skip_all)]
    pub async fn setup_token_valid(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Uses up a setup token and stores the admin key in one transaction: fails with
    /// `AdminExists` if an admin appeared meanwhile, or `LinkNotLive` if the token is
    /// unknown, used or expired.
    #[instrument(skip_all)]
    pub async fn insert_admin_key_with_setup_token(
        &self,
        token_hash: &[u8; 32],
        key: &WrappedAdminKey,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash.as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Err(StoreError::LinkNotLive);
        }
        if !Self::insert_admin_key_in(&mut tx, key, now).await? {
            return Err(StoreError::AdminExists);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Purges a batch: deletes its key first (crypto-shredding, committed on its own),
    /// then writes a tombstone and deletes every row of the batch, then `VACUUM`s and
    /// truncates the WAL so no freed page keeps the data.
    #[instrument(skip_all)]
    pub async fn purge_batch(&self, batch_id: &str, now: i64) -> StoreResult<Tombstone> {
        sqlx::query("DELETE FROM batch_keys WHERE batch_id = ?")
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        let tombstone = self.delete_batch_rows(batch_id, now).await?;
        self.compact().await?;
        Ok(tombstone)
    }

    async fn delete_batch_rows(&self, batch_id: &str, now: i64) -> StoreResult<Tombstone> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT b.name, b.created_at, b.first_exported_at, \
               (SELECT COUNT(*) FROM recipients r WHERE r.batch_id = b.id) AS n_recipients, \
               (SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id \
                  WHERE r.batch_id = b.id) AS n_submitted \
             FROM batches b WHERE b.id = ?",
        )
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        };
        let tombstone = Tombstone {
            batch_id: batch_id.to_owned(),
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
            purged_at: now,
            recipients: row.try_get("n_recipients")?,
            submitted: row.try_get("n_submitted")?,
            first_exported_at: row.try_get("first_exported_at")?,
        };
        sqlx::query(
            "INSERT INTO tombstones (batch_id, name, created_at, purged_at, recipients, submitted, \
             first_exported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&tombstone.batch_id)
        .bind(&tombstone.name)
        .bind(tombstone.created_at)
        .bind(tombstone.purged_at)
        .bind(tombstone.recipients)
        .bind(tombstone.submitted)
        .bind(tombstone.first_exported_at)
        .execute(&mut *tx)
        .await?;
        // Explicit deletes, children first, rather than relying on cascades alone.
        for sql in [
            "DELETE FROM submissions WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM links WHERE recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
            "DELETE FROM recipients WHERE batch_id = ?",
            "DELETE FROM batch_keys WHERE batch_id = ?",
            "DELETE FROM batches WHERE id = ?",
        ] {
            sqlx::query(sql).bind(batch_id).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO pending_compaction (id) VALUES (1)")
            .execute(&mut *tx)
            .await?;
        Self::record_event_in(&mut tx, batch_id, "purged", 1, now).await?;
        tx.commit().await?;
        Ok(tombstone)
    }

    /// Rewrites the database file and empties the WAL, so deleted rows leave no trace.
    /// Fails (and the purge is reported as incomplete) if a reader keeps the WAL busy.
    async fn compact(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("VACUUM").execute(&mut *conn).await?;
        for attempt in 0..100u32 {
            let (busy, log, checkpointed): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *conn)
                    .await?;
            if busy == 0 && log == checkpointed {
                // Cleared only now; the deletion leaves a few bytes in the WAL again,
                // which holds no user data.
                sqlx::query("DELETE FROM pending_compaction")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *conn)
                    .await?;
                return Ok(());
            }
            // A reader still uses old WAL frames; wait for it to finish.
            tokio::time::sleep(Duration::from_millis(20 + 10 * u64::from(attempt))).await;
        }
        Err(StoreError::Other(anyhow::anyhow!(
            "the database's write-ahead log could not be emptied because it stayed busy; \
             run the purge again"
        )))
    }

    /// Completes purges that were interrupted after the batch key was deleted, and any
    /// compaction that could not finish. Returns how many batches it finished.
    #[instrument(skip_all)]
    pub async fn finish_interrupted_purges(&self) -> StoreResult<usize> {
        let orphans: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM batches WHERE id NOT IN (SELECT batch_id FROM batch_keys)",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for id in &orphans {
            tracing::warn!(batch_id = %id, "finishing a purge that was interrupted");
            self.delete_batch_rows(id, now).await?;
        }
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_compaction")
            .fetch_one(&self.pool)
            .await?;
        if pending > 0 {
            self.compact().await?;
        }
        Ok(orphans.len())
    }

    /// Batches whose retention has run out: their own `retain_after_expiry_secs` past
    /// their expiry, or `retain_after_export_secs` past their first export, whichever
    /// comes first.
    #[instrument(skip_all)]
    pub async fn batches_due_for_purge(&self, now: i64) -> StoreResult<Vec<Batch>> {
        let rows = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS} FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             WHERE b.expires_at + b.retain_after_expiry_secs <= ?1 \
                OR (b.first_exported_at IS NOT NULL \
                    AND b.first_exported_at + b.retain_after_export_secs <= ?1)"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_batch).collect::<Result<_, _>>()?)
    }

    /// SQLite's own consistency check; `ok` when the file is sound.
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?)
    }
}
