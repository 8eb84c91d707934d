//! The batch lifecycle shared by the command line and the web console: create a batch
//! from a roster, reissue or revoke a link, accept a submission, export, purge.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::config::PublicUrl;
use crate::crypto::{self, AdminKey, CryptoError, KdfParams, LinkToken, SubmissionBinding};
use crate::export::{self, ExportError, LinkRow, M365Row};
use crate::imap::{self, ImapSettings};
use crate::roster::Roster;
use crate::storage::{Batch, LinkState, LinkView, NewRecipient, Store, StoreError, Tombstone};

/// Shortest admin passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Longest password accepted on the collection form, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// By default a batch nobody purges is purged this long after its links expire...
pub const DEFAULT_RETAIN_AFTER_EXPIRY: &str = "7d";
/// ...or this long after its first export, whichever comes first.
pub const DEFAULT_RETAIN_AFTER_EXPORT: &str = "24h";
/// Longest retention either way.
const MAX_RETENTION: Duration = Duration::from_secs(90 * 86_400);
/// Shortest retention after an export (time to check the file landed).
const MIN_RETAIN_AFTER_EXPORT: Duration = Duration::from_secs(10 * 60);
/// How often the server looks for purges to finish and batches past retention.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
/// Longest batch or organisation name.
const MAX_NAME_CHARS: usize = 100;
/// Longest "next steps" text shown after a submission.
pub const MAX_NEXT_STEPS_CHARS: usize = 2000;
/// Refused submissions a link takes before it locks (only a reissue helps then).
pub const MAX_FAILED_ATTEMPTS: i64 = 10;

/// Errors of the batch lifecycle. Each message is a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// `admin init` has not run.
    #[error("no admin exists yet; run `passdrop admin init` first")]
    NoAdmin,
    /// A passphrase is too short.
    #[error("the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long")]
    WeakPassphrase,
    /// A name is unusable.
    #[error("{0}")]
    InvalidName(String),
    /// The passphrase did not unlock the admin key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The batch has been purged.
    #[error("batch {name:?} was purged on {when}")]
    Purged {
        /// Its name.
        name: String,
        /// When, formatted.
        when: String,
    },
    /// A recipient has no live link to revoke.
    #[error("{0} has no live link to revoke (already used, revoked or never reissued)")]
    NothingToRevoke(String),
    /// Storage said no.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The export cannot be produced.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Cryptography failed (a damaged record, or the random generator).
    #[error(transparent)]
    Crypto(CryptoError),
    /// The IMAP server given to check passwords against cannot be used.
    #[error("passwords cannot be checked against {}: {}", .0.server, .0.problem.as_ref().map_or_else(String::new, ToString::to_string))]
    ImapUnusable(Box<imap::ConnectionReport>),
    /// Something else.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<CryptoError> for BatchError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongPassphrase => Self::WrongPassphrase,
            other => Self::Crypto(other),
        }
    }
}

type BatchResult<T> = Result<T, BatchError>;

/// Longest admin passphrase accepted (Argon2 hashes it whole).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;
/// Argon2 runs at once, at most: each takes 64 MiB, so parallel login attempts cannot
/// exhaust memory.
const ARGON2_AT_ONCE: usize = 2;
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(ARGON2_AT_ONCE);

/// Runs an Argon2-bound closure on a blocking thread, at most `ARGON2_AT_ONCE` at a time.
async fn run_argon2<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
) -> BatchResult<T> {
    let _slot = ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| BatchError::Other(anyhow::Error::new(e)))?;
    Ok(tokio::task::spawn_blocking(work)
        .await
        .map_err(anyhow::Error::new)??)
}

fn check_passphrase_length(passphrase: &SecretString) -> BatchResult<()> {
    if passphrase.expose_secret().len() > MAX_PASSPHRASE_BYTES {
        return Err(BatchError::InvalidName(format!(
            "the passphrase must be at most {MAX_PASSPHRASE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Creates the admin key from a passphrase (Argon2 runs on a blocking thread).
pub async fn init_admin(
    store: &Store,
    passphrase: SecretString,
    kdf: KdfParams,
) -> BatchResult<()> {
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BatchError::WeakPassphrase);
    }
    if store.admin_exists().await? {
        return Err(StoreError::AdminExists.into());
    }
    check_passphrase_length(&passphrase)?;
    let wrapped = run_argon2(move || crypto::create_admin_key(&passphrase, kdf)).await?;
    store
        .insert_admin_key(&wrapped, crate::config::now())
        .await?;
    Ok(())
}

/// Creates the admin key from the one-time setup link's form, using the link up in the
/// same transaction (Argon2 runs on a blocking thread).
pub async fn init_admin_with_setup_token(
    store: &Store,
    setup_token: &LinkToken,
    passphrase: SecretString,
    kdf: KdfParams,
) -> BatchResult<()> {
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BatchError::WeakPassphrase);
    }
    check_passphrase_length(&passphrase)?;
    let wrapped = run_argon2(move || crypto::create_admin_key(&passphrase, kdf)).await?;
    store
        .insert_admin_key_with_setup_token(&setup_token.hash(), &wrapped, crate::config::now())
        .await?;
    Ok(())
}

/// Unlocks the admin key with the passphrase (Argon2 runs on a blocking thread).
pub async fn unlock_admin(store: &Store, passphrase: SecretString) -> BatchResult<AdminKey> {
    let wrapped = store.admin_key().await?.ok_or(BatchError::NoAdmin)?;
    if passphrase.expose_secret().len() > MAX_PASSPHRASE_BYTES {
        return Err(BatchError::WrongPassphrase);
    }
    run_argon2(move || crypto::unlock_admin_key(&wrapped, &passphrase)).await
}

/// Finds a batch by id or name; a purged one is reported as such.
pub async fn find(store: &Store, id_or_name: &str) -> BatchResult<Batch> {
    if let Some(batch) = store.find_batch(id_or_name).await? {
        return Ok(batch);
    }
    if let Some(t) = store.find_tombstone(id_or_name).await? {
        return Err(BatchError::Purged {
            name: t.name,
            when: crate::config::format_time(t.purged_at),
        });
    }
    Err(StoreError::NoSuchBatch(id_or_name.to_owned()).into())
}

/// A link just issued, to be delivered to its recipient. The link is secret.
pub struct IssuedLink {
    /// EmailAddress.
    pub email: String,
    /// DisplayName, if any.
    pub display_name: Option<String>,
    /// The full link.
    pub link: SecretString,
    /// When the link expires.
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("email", &self.email)
            .field("link", &"[redacted]")
            .finish()
    }
}

/// Renders issued links as the mail-merge CSV (`EmailAddress,DisplayName,Link`).
pub fn links_csv(links: &[IssuedLink]) -> Zeroizing<Vec<u8>> {
    let rows: Vec<LinkRow<'_>> = links
        .iter()
        .map(|l| LinkRow {
            email: &l.email,
            display_name: l.display_name.as_deref().unwrap_or_default(),
            link: l.link.expose_secret(),
        })
        .collect();
    export::render_links_csv(&rows)
}

/// When a batch nobody purges is purged automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// This long after its links expire...
    pub after_expiry: Duration,
    /// ...or this long after its first export, whichever comes first.
    pub after_export: Duration,
}

impl Retention {
    /// Parses the two durations (`7d`, `24h`...) and checks their bounds.
    pub fn parse(after_expiry: &str, after_export: &str) -> Result<Self, String> {
        let after_expiry = crate::config::parse_duration(after_expiry)?;
        let after_export = crate::config::parse_duration(after_export)?;
        if after_expiry > MAX_RETENTION {
            return Err("a batch cannot be kept more than 90 days after it expires".to_owned());
        }
        if after_export < MIN_RETAIN_AFTER_EXPORT || after_export > MAX_RETENTION {
            return Err(
                "the purge after an export must come between 10 minutes and 90 days later"
                    .to_owned(),
            );
        }
        Ok(Self {
            after_expiry,
            after_export,
        })
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            after_expiry: Duration::from_secs(7 * 86_400),
            after_export: Duration::from_secs(86_400),
        }
    }
}

/// What the admin asks for when creating a batch.
#[derive(Debug)]
pub struct NewBatch {
    /// Unique name.
    pub name: String,
    /// Organisation name shown to users.
    pub org_name: Option<String>,
    /// How long links live.
    pub link_lifetime: Duration,
    /// Plain text shown to users after they submit.
    pub next_steps: Option<String>,
    /// Whether to ask users how they read their email (on by default).
    pub ask_mail_client: bool,
    /// When a batch nobody purges is purged.
    pub retention: Retention,
    /// The validated roster.
    pub roster: Roster,
    /// The old IMAP server to check each password against, if any. Its connection is
    /// tested before the batch is created.
    pub imap: Option<ImapSettings>,
}

fn check_name(label: &str, value: &str) -> BatchResult<()> {
    let n = value.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(BatchError::InvalidName(format!(
            "the {label} must be between 1 and {MAX_NAME_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(BatchError::InvalidName(format!(
            "the {label} must not contain control characters"
        )));
    }
    Ok(())
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Creates a batch: a batch keypair sealed to the admin, one recipient and one live link
/// per roster row, all in one transaction. Returns the batch and its links.
pub async fn create(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
) -> BatchResult<(Batch, Vec<IssuedLink>)> {
    let name = request.name.trim().to_owned();
    check_name("batch name", &name)?;
    let org_name = request
        .org_name
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    if let Some(org) = &org_name {
        check_name("organisation name", org)?;
    }
    let next_steps = request
        .next_steps
        .map(|t| t.trim().replace("\r\n", "\n"))
        .filter(|t| !t.is_empty());
    if let Some(text) = &next_steps {
        if text.chars().count() > MAX_NEXT_STEPS_CHARS {
            return Err(BatchError::InvalidName(format!(
                "the next-steps text must be at most {MAX_NEXT_STEPS_CHARS} characters"
            )));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(BatchError::InvalidName(
                "the next-steps text must not contain control characters".to_owned(),
            ));
        }
    }
    let admin = store.admin_key().await?.ok_or(BatchError::NoAdmin)?;
    if let Some(settings) = &request.imap {
        require_usable_imap(settings).await?;
    }
    let id = hex(&crypto::random_bytes::<8>()?);
    let (public_key, sealed_key) = crypto::create_batch_key(&admin.public_key, &id)?;
    let lifetime = secs(request.link_lifetime);
    let batch = Batch {
        id,
        name,
        org_name,
        created_at: now,
        expires_at: now.saturating_add(lifetime),
        link_lifetime_secs: lifetime,
        has_user_root: request.roster.has_user_root(),
        next_steps,
        ask_mail_client: request.ask_mail_client,
        retain_after_expiry_secs: secs(request.retention.after_expiry),
        retain_after_export_secs: secs(request.retention.after_export),
        public_key,
        first_exported_at: None,
        imap: request.imap,
        message: None,
    };
    // Drawing and sealing 50,000 tokens is CPU work (one X25519 exchange each): it runs
    // off the async runtime, spread over the machine's cores.
    let (public_key, batch_id, expires_at) =
        (batch.public_key.clone(), batch.id.clone(), batch.expires_at);
    let public_url = public_url.clone();
    let entries = request.roster.entries;
    let issued = tokio::task::spawn_blocking(move || {
        issue_first_links(entries, &public_key, &batch_id, expires_at, &public_url)
    })
    .await
    .map_err(anyhow::Error::new)??;
    let (recipients, links): (Vec<NewRecipient>, Vec<IssuedLink>) = issued.into_iter().unzip();
    store.create_batch(&batch, &sealed_key, &recipients).await?;
    Ok((batch, links))
}

/// One new recipient row and its first link, per roster entry, in roster order.
fn issue_first_links(
    entries: Vec<crate::roster::RosterEntry>,
    public_key: &[u8],
    batch_id: &str,
    expires_at: i64,
    public_url: &PublicUrl,
) -> BatchResult<Vec<(NewRecipient, IssuedLink)>> {
    let issue_one = |entry: crate::roster::RosterEntry| -> BatchResult<(NewRecipient, IssuedLink)> {
        let token = LinkToken::generate()?;
        let sealed_token = crypto::seal_token(public_key, batch_id, &entry.email, &token)?;
        let link = IssuedLink {
            email: entry.email.clone(),
            display_name: entry.display_name.clone(),
            link: SecretString::from(public_url.link_for(token.expose())),
            expires_at,
        };
        let recipient = NewRecipient {
            roster_line: i64::try_from(entry.line).unwrap_or(i64::MAX),
            email: entry.email,
            user_name: entry.user_name,
            display_name: entry.display_name,
            alternate_email: entry.alternate_email,
            user_root: entry.user_root,
            token_hash: token.hash(),
            sealed_token,
        };
        Ok((recipient, link))
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = entries.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<crate::roster::RosterEntry>> = Vec::new();
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        chunks.push(entries.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(|| {
                    chunk
                        .into_iter()
                        .map(issue_one)
                        .collect::<BatchResult<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            let part = worker.join().map_err(|_| {
                BatchError::Other(anyhow::anyhow!("a link-issuing thread panicked"))
            })??;
            all.extend(part);
        }
        Ok(all)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a new link for one recipient; their previous link stops working.
pub async fn reissue(
    store: &Store,
    public_url: &PublicUrl,
    batch: &Batch,
    email: &str,
    now: i64,
) -> BatchResult<IssuedLink> {
    let token = LinkToken::generate()?;
    let expires_at = now.saturating_add(batch.link_lifetime_secs);
    let recipient = store.recipient(batch, email).await?;
    let sealed_token = crypto::seal_token(&batch.public_key, &batch.id, &recipient.email, &token)?;
    let recipient = store
        .reissue_link(
            batch,
            &recipient.email,
            &token.hash(),
            &sealed_token,
            now,
            expires_at,
        )
        .await?;
    Ok(IssuedLink {
        email: recipient.email,
        display_name: recipient.display_name,
        link: SecretString::from(public_url.link_for(token.expose())),
        expires_at,
    })
}

/// Recovers every live, unexpired link of a batch with the unlocked admin key, each
/// with its recipient, in roster order (the console's "links again" download and mailto
/// page, and `passdrop send`).
pub async fn open_live_links(
    store: &Store,
    public_url: &PublicUrl,
    batch: &Batch,
    admin: &AdminKey,
    now: i64,
) -> BatchResult<Vec<(crate::storage::Recipient, IssuedLink)>> {
    let batch_key = open_batch_key(store, batch, admin).await?;
    let sealed = store.live_sealed_tokens(&batch.id, now).await?;
    let batch_id = batch.id.clone();
    let public_url = public_url.clone();
    // One X25519 exchange per link: tens of thousands take seconds, so off the runtime.
    tokio::task::spawn_blocking(move || {
        sealed
            .into_iter()
            .map(|(recipient, token, expires_at)| {
                let token = crypto::open_token(&batch_key, &batch_id, &recipient.email, &token)?;
                let link = IssuedLink {
                    email: recipient.email.clone(),
                    display_name: recipient.display_name.clone(),
                    link: SecretString::from(public_url.link_for(token.expose())),
                    expires_at,
                };
                Ok((recipient, link))
            })
            .collect()
    })
    .await
    .map_err(|e| BatchError::Other(anyhow::anyhow!("opening the links stopped: {e}")))?
}

/// Opens a batch's private key with the unlocked admin key.
pub async fn open_batch_key(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
) -> BatchResult<crypto::BatchKey> {
    let sealed_key = store
        .sealed_batch_key(&batch.id)
        .await?
        .ok_or_else(|| StoreError::NoSuchBatch(batch.name.clone()))?;
    Ok(crypto::open_batch_key(admin, &sealed_key, &batch.id)?)
}

/// Revokes one recipient's live link.
pub async fn revoke(store: &Store, batch: &Batch, email: &str) -> BatchResult<()> {
    if store.revoke_link(batch, email).await? {
        Ok(())
    } else {
        Err(BatchError::NothingToRevoke(email.to_owned()))
    }
}

/// Where a link stands, judged against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// It can be used.
    Usable,
    /// A password was already submitted with it.
    Used,
    /// The admin revoked it.
    Revoked,
    /// A newer link was issued.
    Replaced,
    /// Its time ran out.
    Expired,
    /// Too many failed attempts.
    Locked,
}

impl LinkStatus {
    /// The status of a stored link at `now`.
    pub fn of(view: &LinkView, now: i64) -> Self {
        match view.state {
            LinkState::Used => Self::Used,
            LinkState::Revoked => Self::Revoked,
            LinkState::Replaced => Self::Replaced,
            LinkState::Locked => Self::Locked,
            LinkState::Live if view.expires_at <= now => Self::Expired,
            LinkState::Live => Self::Usable,
        }
    }
}

/// Why a password typed on the form was refused. The link is untouched in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Nothing typed.
    #[error("Please type your current email password.")]
    Empty,
    /// Over 1024 bytes.
    #[error("That password is longer than 1024 bytes; please check it.")]
    TooLong,
    /// NUL, CR or LF.
    #[error("A password cannot contain line breaks or NUL characters; please type it again.")]
    ForbiddenCharacter,
    /// The two fields differ.
    #[error("The two passwords do not match; please type them again.")]
    Mismatch,
}

/// Checks a password and its confirmation as typed on the collection form.
pub fn check_password(
    password: &SecretString,
    confirm: &SecretString,
) -> Result<(), PasswordProblem> {
    let p = password.expose_secret();
    if p.is_empty() {
        return Err(PasswordProblem::Empty);
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordProblem::TooLong);
    }
    if p.contains(['\0', '\r', '\n']) {
        return Err(PasswordProblem::ForbiddenCharacter);
    }
    if !crypto::secrets_equal(password, confirm) {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

/// The answer to "How do you read your email today?". Not secret: it tells the admin
/// who may keep mail only on one computer (POP), which a server-to-server move misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailClient {
    /// In a web browser.
    Webmail,
    /// An app on several devices (IMAP).
    SeveralDevices,
    /// Outlook or another program on one computer only (possibly POP).
    OneComputer,
    /// Not sure.
    NotSure,
}

impl MailClient {
    /// Every answer, in the order the form lists them.
    pub const ALL: [Self; 4] = [
        Self::Webmail,
        Self::SeveralDevices,
        Self::OneComputer,
        Self::NotSure,
    ];

    /// The form value and stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webmail => "webmail",
            Self::SeveralDevices => "several-devices",
            Self::OneComputer => "one-computer",
            Self::NotSure => "not-sure",
        }
    }

    /// Parses a form or stored value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// The label users see.
    pub fn label(self) -> &'static str {
        match self {
            Self::Webmail => "In a web browser (webmail)",
            Self::SeveralDevices => "In an app on several devices (for example phone and laptop)",
            Self::OneComputer => "In Outlook or another program on one computer only",
            Self::NotSure => "Not sure",
        }
    }

    /// Whether mail may live only on the user's computer (POP), so the admin should check.
    pub fn pop_risk(self) -> bool {
        matches!(self, Self::OneComputer | Self::NotSure)
    }
}

/// Tests the connection to an IMAP server (no password) and fails, with the full report,
/// unless passwords can be checked against it.
pub async fn require_usable_imap(settings: &ImapSettings) -> BatchResult<imap::ConnectionReport> {
    let report = imap::check_connection(settings).await;
    if report.ok() {
        Ok(report)
    } else {
        Err(BatchError::ImapUnusable(Box::new(report)))
    }
}

/// Sets, changes or (with `None`) removes the IMAP server a batch checks passwords
/// against. A server is tested first and stored only if passwords can be checked with
/// it; the test's report is returned.
pub async fn set_imap(
    store: &Store,
    batch: &Batch,
    settings: Option<ImapSettings>,
) -> BatchResult<Option<imap::ConnectionReport>> {
    let report = match &settings {
        Some(s) => Some(require_usable_imap(s).await?),
        None => None,
    };
    store.set_batch_imap(&batch.id, settings.as_ref()).await?;
    Ok(report)
}

/// What the old IMAP server said about a password that was then accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapCheck {
    /// The server accepted it.
    Verified,
    /// The server could not be asked, and the batch accepts such passwords.
    Unverified,
}

impl ImapCheck {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unverified => "unverified",
        }
    }
}

/// Outcome of trying to submit on a link.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Sealed and stored; the link is burned.
    Accepted,
    /// The link could not take a password (used, revoked, replaced, expired).
    Refused(LinkStatus),
}

/// Seals a (checked) password to the batch key and burns the link, atomically.
pub async fn submit(
    store: &Store,
    token: &LinkToken,
    view: &LinkView,
    password: &SecretString,
    mail_client: Option<MailClient>,
    imap_check: Option<ImapCheck>,
    now: i64,
) -> BatchResult<SubmitOutcome> {
    let status = LinkStatus::of(view, now);
    if status != LinkStatus::Usable {
        return Ok(SubmitOutcome::Refused(status));
    }
    let binding = SubmissionBinding {
        batch_id: &view.batch.id,
        recipient_id: view.recipient.id,
        email: &view.recipient.email,
        user_name: &view.recipient.user_name,
    };
    let sealed = crypto::seal_password(&view.batch.public_key, binding, password)?;
    match store
        .burn_link_with_submission(
            &token.hash(),
            view.recipient.id,
            &sealed,
            mail_client.map(MailClient::as_str),
            imap_check.map(ImapCheck::as_str),
            now,
        )
        .await
    {
        Ok(()) => Ok(SubmitOutcome::Accepted),
        Err(StoreError::LinkNotLive) => {
            // Someone else won the race, or the admin acted meanwhile: report what it is now.
            let current = store.link_by_token_hash(&token.hash()).await?;
            Ok(SubmitOutcome::Refused(current.map_or(
                LinkStatus::Revoked,
                |v| match LinkStatus::of(&v, now) {
                    LinkStatus::Usable => LinkStatus::Used,
                    other => other,
                },
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// What counting a refused submission did to its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedAttempt {
    /// Counted; the link stays usable.
    Counted,
    /// That was one too many: the link is locked until reissued.
    Locked,
    /// The link stopped being usable meanwhile (used, revoked, expired...).
    NoLongerLive(LinkStatus),
}

/// Counts a refused submission against a link, locking it at `MAX_FAILED_ATTEMPTS`.
pub async fn record_failed_attempt(
    store: &Store,
    token: &LinkToken,
    now: i64,
) -> BatchResult<FailedAttempt> {
    match store
        .record_failed_attempt(&token.hash(), MAX_FAILED_ATTEMPTS)
        .await?
    {
        Some(true) => Ok(FailedAttempt::Locked),
        Some(false) => Ok(FailedAttempt::Counted),
        None => {
            let current = store.link_by_token_hash(&token.hash()).await?;
            Ok(FailedAttempt::NoLongerLive(
                current.map_or(LinkStatus::Revoked, |v| LinkStatus::of(&v, now)),
            ))
        }
    }
}

/// A finished Microsoft 365 export, held in memory until written.
pub struct M365Export {
    /// The CSV bytes (zeroized on drop).
    pub csv: Zeroizing<Vec<u8>>,
    /// Rows written.
    pub rows: usize,
    /// Email addresses of recipients who have not submitted, in roster order.
    pub missing: Vec<String>,
}

/// Opens every password of a batch with the unlocked admin key and renders the
/// Microsoft 365 CSV. Nothing is written anywhere; the export time is recorded.
pub async fn export_m365(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    now: i64,
) -> BatchResult<M365Export> {
    let batch_key = open_batch_key(store, batch, admin).await?;
    let (submissions, missing) = store.submissions_and_missing(&batch.id).await?;
    // One X25519 exchange per password: opened off the async runtime, on every core.
    let batch_id = batch.id.clone();
    let (submissions, passwords) = tokio::task::spawn_blocking(move || {
        let passwords = open_passwords(&batch_key, &batch_id, &submissions);
        (submissions, passwords)
    })
    .await
    .map_err(anyhow::Error::new)?;
    let passwords = passwords?;
    let rows: Vec<M365Row<'_>> = submissions
        .iter()
        .zip(&passwords)
        .map(|(s, p)| M365Row {
            email: &s.recipient.email,
            user_name: &s.recipient.user_name,
            password: p,
            user_root: s.recipient.user_root.as_deref(),
        })
        .collect();
    let csv = export::render_m365_csv(&rows, batch.has_user_root)?;

    store.mark_exported(&batch.id, rows.len(), now).await?;
    Ok(M365Export {
        csv,
        rows: rows.len(),
        missing,
    })
}

/// Opens every sealed password of a batch, in order, spread over the machine's cores.
fn open_passwords(
    batch_key: &crypto::BatchKey,
    batch_id: &str,
    submissions: &[crate::storage::StoredSubmission],
) -> BatchResult<Vec<secrecy::SecretBox<[u8]>>> {
    let open_one = |s: &crate::storage::StoredSubmission| {
        let binding = SubmissionBinding {
            batch_id,
            recipient_id: s.recipient.id,
            email: &s.recipient.email,
            user_name: &s.recipient.user_name,
        };
        crypto::open_password(batch_key, binding, &s.sealed).map_err(|e| {
            BatchError::Other(anyhow::anyhow!(
                "the stored password of recipient {} (roster line {}) does not open ({e}); \
                 the database may be damaged",
                s.recipient.id,
                s.recipient.roster_line
            ))
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = submissions.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = submissions
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(open_one).collect::<BatchResult<Vec<_>>>())
            })
            .collect();
        let mut all = Vec::with_capacity(submissions.len());
        for worker in workers {
            all.extend(worker.join().map_err(|_| {
                BatchError::Other(anyhow::anyhow!("a password-opening thread panicked"))
            })??);
        }
        Ok(all)
    })
}

/// Purges a batch: key first, then rows, then compaction. Returns its tombstone.
pub async fn purge(store: &Store, batch: &Batch, now: i64) -> BatchResult<Tombstone> {
    Ok(store.purge_batch(&batch.id, now).await?)
}

/// When a batch will be purged automatically if nobody purges it first.
pub fn automatic_purge_at(batch: &Batch) -> i64 {
    let after_expiry = batch
        .expires_at
        .saturating_add(batch.retain_after_expiry_secs);
    batch.first_exported_at.map_or(after_expiry, |t| {
        after_expiry.min(t.saturating_add(batch.retain_after_export_secs))
    })
}

/// Finishes interrupted purges and purges every batch past its retention. Returns the
/// tombstones of the batches it purged.
pub async fn purge_past_retention(store: &Store, now: i64) -> BatchResult<Vec<Tombstone>> {
    store.finish_interrupted_purges().await?;
    let due = store.batches_due_for_purge(now).await?;
    let mut purged = Vec::with_capacity(due.len());
    for b in due {
        tracing::info!(batch_id = %b.id, "purging a batch past its retention period");
        purged.push(purge(store, &b, now).await?);
    }
    Ok(purged)
}

/// Runs `purge_past_retention` now and then every `MAINTENANCE_INTERVAL`, forever.
pub async fn maintenance_loop(store: Store) {
    let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
    loop {
        tick.tick().await;
        if let Err(e) = purge_past_retention(&store, crate::config::now()).await {
            tracing::error!(error = %format!("{e:#}"), "automatic purge failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn passwords_are_checked_before_anything_is_stored() {
        assert_eq!(check_password(&s("ok pass"), &s("ok pass")), Ok(()));
        assert_eq!(check_password(&s(""), &s("")), Err(PasswordProblem::Empty));
        assert_eq!(
            check_password(&s("a"), &s("b")),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(
            check_password(&s("a\nb"), &s("a\nb")),
            Err(PasswordProblem::ForbiddenCharacter)
        );
        assert_eq!(
            check_password(&s("a\0b"), &s("a\0b")),
            Err(PasswordProblem::ForbiddenCharacter)
        );
        let long = "é".repeat(513);
        assert_eq!(
            check_password(&s(&long), &s(&long)),
            Err(PasswordProblem::TooLong)
        );
        let max = "x".repeat(1024);
        assert_eq!(check_password(&s(&max), &s(&max)), Ok(()));
    }
}
