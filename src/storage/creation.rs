//! Creating a batch: its row, its sealed keys, its recipients and their first links, in
//! one `BEGIN IMMEDIATE` transaction on a connection of its own (rusqlite, set up as
//! every connection of the store, on a blocking thread): either all of it exists
//! afterwards or none of it.
//!
//! Each row is one run of a statement prepared once, its values bound from where they
//! are (SQLite copies them into buffers it reuses from row to row): nothing is copied
//! into an argument list first, and a recipient's id is the row id its insert returns.
//! A single-row INSERT also needs no statement journal, which the 500-row INSERTs this
//! replaces kept: a copy of every page the statement changed, so that it could be
//! undone alone. Random token hashes go into a unique index, so a 500-row statement
//! changed more distinct pages the larger the batch was, and a link of a batch of
//! 50,000 cost more than one of a batch of 10,000 (the statement journal's `memjrnlWrite`:
//! 24 profile samples at 50,000 links, none at 10,000).

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use super::*;

/// The page cache (KiB) of the connection a batch is created on: large enough for every
/// page a batch of 50,000 (the most a roster may have) touches, about 16 MB. With the
/// default 2 MB, inserting 50,000 random token hashes and addresses into their unique
/// indexes spilled pages to the WAL and read them back again. Only pages actually used
/// are allocated, and the connection is closed after the creation, so the memory goes.
const CREATION_CACHE_KIB: i64 = 32 * 1024;

/// How many rows the creation inserts between two looks at whether anyone still waits
/// for it.
const CANCEL_CHECK_ROWS: usize = 1024;

/// What a failed creation reports when it is not a passing condition.
const CREATION_FAILED: &str = "could not create the batch";

/// A batch's settings and message signatures (`Batch::settings_sig`, `message_sig`),
/// made while the creation goes on: `passdrop batch create` unlocks the admin key
/// (Argon2, one core) meanwhile. The creation commits only once they arrive; if their
/// sender is dropped (a wrong passphrase) it rolls back, and nothing was created.
pub struct LateSignatures {
    /// Where they arrive.
    pub receiver: tokio::sync::oneshot::Receiver<(Vec<u8>, Vec<u8>)>,
    /// Insert the rows first and wait for them just before the commit (a batch whose
    /// inserts take longer than the unlock); otherwise wait for them before taking the
    /// write lock, so that the lock, and every submission waiting for it, is never held
    /// for the unlock alone.
    pub insert_first: bool,
}

impl Store {
    /// Creates a batch, its sealed key, its recipients (in the order given: roster
    /// order) and their first links in one transaction: either all of it exists
    /// afterwards or none of it.
    #[instrument(skip_all)]
    pub async fn create_batch(
        &self,
        batch: &Batch,
        sealed_key: &SealedBatchKey,
        sealed_link_key: Option<&SealedSecret>,
        recipients: Vec<NewRecipient>,
        signatures: Option<LateSignatures>,
    ) -> StoreResult<()> {
        let path = self.path.clone();
        let (batch, sealed_key) = (batch.clone(), sealed_key.clone());
        let sealed_link_key = sealed_link_key.cloned();
        // Closed when this future is dropped (the caller went away: an API client that
        // hung up, a request that timed out): the creation then rolls back instead of
        // committing a batch nobody was told about. Looked at after BEGIN (which may
        // wait for the lock), every CANCEL_CHECK_ROWS rows and just before COMMIT.
        connection::on_blocking_thread("the batch creation stopped", move |waiting| {
            let failed = |e| connection::rusqlite_error(e, CREATION_FAILED);
            let mut conn = open_creation(&path).map_err(failed)?;
            let created = create_on(
                &mut conn,
                &batch,
                &sealed_key,
                sealed_link_key.as_ref(),
                &recipients,
                signatures,
                waiting,
            )
            .map_err(|e| match e {
                Created::Refused(e) => e,
                Created::Cancelled => StoreError::Other(anyhow::anyhow!(
                    "the batch creation was cancelled (nothing was created)"
                )),
                Created::Sqlite(e) => failed(e),
            });
            if created.is_ok() {
                checkpoint_what_was_written(&conn);
            }
            if let Err((_, e)) = conn.close() {
                tracing::warn!(problem = %e, "the batch creation's connection did not close cleanly");
            }
            created
        })
        .await
    }
}

/// Why `create_on` stopped (its transaction rolled back).
enum Created {
    /// Something the caller branches on (the name is taken).
    Refused(StoreError),
    /// Nobody waits for the creation any more.
    Cancelled,
    /// SQLite's error.
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Created {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

/// The creation's connection: the settings of every writing connection of the store
/// and a page cache for the whole batch.
fn open_creation(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connection::open_read_write(path)?;
    conn.pragma_update(None, "cache_size", -CREATION_CACHE_KIB)?;
    Ok(conn)
}

/// Copies the pages a committed creation wrote to the WAL into the database file
/// (`PRAGMA wal_checkpoint(PASSIVE)`: it waits for no reader and no writer, and copies
/// what no reader still needs), so that the creation pays for its own pages. Left to
/// SQLite, the copy happens only once the WAL holds 1,000 pages (about 13,000 links):
/// a batch of 50,000 paid for itself and for the smaller batches before it, and after a
/// smaller one the copy fell to the next write, often a user's submission in the
/// server's writer. The batch is committed already, so a checkpoint that fails (a full
/// disk) changes nothing: the pages stay in the WAL, and a later checkpoint copies them.
fn checkpoint_what_was_written(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(problem = %e, "the new batch's pages stay in the WAL for a later checkpoint");
    }
}

/// `Store::create_batch` on `conn`. Returning early drops the transaction, which rolls
/// it back: so does `Cancelled`, once `waiting` is closed or the signatures' sender is
/// dropped.
fn create_on(
    conn: &mut Connection,
    batch: &Batch,
    sealed_key: &SealedBatchKey,
    sealed_link_key: Option<&SealedSecret>,
    recipients: &[NewRecipient],
    signatures: Option<LateSignatures>,
    waiting: &tokio::sync::oneshot::Sender<()>,
) -> Result<(), Created> {
    let mut pending = Pending::new(signatures);
    let cancelled = |pending: &mut Pending| {
        if waiting.is_closed() {
            Err(Created::Cancelled)
        } else {
            pending.look()
        }
    };
    // A key that did not unlock stops the creation before it takes the write lock.
    pending.look()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    cancelled(&mut pending)?;
    // In the row now if they are here; otherwise set just before the commit.
    let late = matches!(pending, Pending::Waiting(_));
    let (settings_sig, message_sig) = match &pending {
        Pending::Arrived(settings, message) => (Some(settings.clone()), Some(message.clone())),
        Pending::Waiting(_) | Pending::Gone => (None, None),
        Pending::None => (batch.settings_sig.clone(), batch.message_sig.clone()),
    };
    let imap = batch.imap.as_ref();
    let inserted = tx.execute(
        "INSERT INTO batches (id, name, org_name, created_at, expires_at, link_lifetime_secs, \
         has_user_root, next_steps, ask_mail_client, public_key, retain_after_expiry_secs, \
         retain_after_export_secs, imap_url, imap_ca_pem, imap_cert_sha256, \
         imap_when_unreachable, link_tag, settings_sig, message_sig, language, time_zone) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21) ON CONFLICT DO NOTHING",
        params![
            batch.id,
            batch.name,
            batch.org_name,
            batch.created_at,
            batch.expires_at,
            batch.link_lifetime_secs,
            batch.has_user_root,
            batch.next_steps,
            batch.ask_mail_client,
            batch.public_key,
            batch.retain_after_expiry_secs,
            batch.retain_after_export_secs,
            imap.map(|i| i.server.to_string()),
            imap.and_then(ImapSettings::ca_pem),
            imap.and_then(ImapSettings::pin_hex),
            imap.map_or("retry", |i| i.when_unreachable.as_str()),
            batch.link_tag.as_str(),
            settings_sig,
            message_sig,
            batch.language,
            batch.time_zone,
        ],
    )?;
    if inserted != 1 {
        return Err(Created::Refused(StoreError::DuplicateBatchName(
            batch.name.clone(),
        )));
    }
    tx.execute(
        "INSERT INTO batch_keys (batch_id, enc, sealed_private_key, link_key_enc, \
         sealed_link_key) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            batch.id,
            sealed_key.enc,
            sealed_key.ciphertext,
            sealed_link_key.map(|k| &k.enc),
            sealed_link_key.map(|k| &k.ciphertext),
        ],
    )?;
    {
        let mut recipient = tx.prepare(
            "INSERT INTO recipients (batch_id, roster_line, email, user_name, display_name, \
             alternate_email, user_root, language) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut link = tx.prepare(
            "INSERT INTO links (token_hash, recipient_id, state, created_at, expires_at, \
             sealed_token_enc, sealed_token, link_counter) \
             VALUES (?1, ?2, 'live', ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, r) in recipients.iter().enumerate() {
            if i.is_multiple_of(CANCEL_CHECK_ROWS) {
                cancelled(&mut pending)?;
            }
            recipient.execute(params![
                batch.id,
                r.roster_line,
                r.email,
                r.user_name,
                r.display_name,
                r.alternate_email,
                r.user_root,
                r.language,
            ])?;
            let recipient_id = tx.last_insert_rowid();
            let (sealed_enc, sealed_token, counter) = r.link_secret.columns();
            link.execute(params![
                r.token_hash.as_slice(),
                recipient_id,
                batch.created_at,
                batch.expires_at,
                sealed_enc,
                sealed_token,
                counter,
            ])?;
        }
    }
    tx.execute(
        "INSERT INTO audit_events (batch_id, at, kind, count) VALUES (?1, ?2, ?3, ?4)",
        params![
            batch.id,
            batch.created_at,
            AuditKind::Created.as_str(),
            i64::try_from(recipients.len()).unwrap_or(i64::MAX),
        ],
    )?;
    cancelled(&mut pending)?;
    if late {
        let (settings, message) = pending.wait()?;
        tx.execute(
            "UPDATE batches SET settings_sig = ?2, message_sig = ?3 WHERE id = ?1",
            params![batch.id, settings, message],
        )?;
        // The wait may have been long: whoever asked may have gone meanwhile.
        if waiting.is_closed() {
            return Err(Created::Cancelled);
        }
    }
    tx.commit()?;
    Ok(())
}

/// Where a creation's `LateSignatures` are.
enum Pending {
    /// None are coming: the batch's own (or none).
    None,
    /// Received: they go into the batch's row.
    Arrived(Vec<u8>, Vec<u8>),
    /// Still being made; the creation waits for them after its inserts.
    Waiting(tokio::sync::oneshot::Receiver<(Vec<u8>, Vec<u8>)>),
    /// Their sender was dropped: the creation stops.
    Gone,
}

impl Pending {
    /// A creation that does not insert first waits for its signatures here, before it
    /// takes the write lock (`LateSignatures::insert_first`).
    fn new(signatures: Option<LateSignatures>) -> Self {
        match signatures {
            None => Self::None,
            Some(LateSignatures {
                receiver,
                insert_first: false,
            }) => match receiver.blocking_recv() {
                Ok((settings, message)) => Self::Arrived(settings, message),
                Err(_) => Self::Gone,
            },
            Some(LateSignatures { receiver, .. }) => Self::Waiting(receiver),
        }
    }

    /// The signatures, waiting for them if they are still being made; `Cancelled` if
    /// they never come.
    fn wait(self) -> Result<(Vec<u8>, Vec<u8>), Created> {
        match self {
            Self::Arrived(settings, message) => Ok((settings, message)),
            Self::Waiting(receiver) => receiver.blocking_recv().map_err(|_| Created::Cancelled),
            Self::None | Self::Gone => Err(Created::Cancelled),
        }
    }

    /// Takes signatures that have arrived; `Cancelled` once their sender is gone (the
    /// admin key did not unlock), so a wrong passphrase stops the inserts early.
    fn look(&mut self) -> Result<(), Created> {
        match self {
            Self::Waiting(receiver) => match receiver.try_recv() {
                Ok((settings, message)) => *self = Self::Arrived(settings, message),
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    *self = Self::Gone;
                    return Err(Created::Cancelled);
                }
            },
            Self::Gone => return Err(Created::Cancelled),
            Self::None | Self::Arrived(..) => {}
        }
        Ok(())
    }
}
