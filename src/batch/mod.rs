//! The batch lifecycle shared by the command line and the web console: create a batch
//! from a roster, reissue or revoke a link, accept a submission, export, purge.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::config::PublicUrl;
use crate::crypto::{self, AdminKey, CryptoError, KdfParams, LinkToken, SubmissionBinding};
use crate::export::{self, ExportError, LinkRow};
use crate::imap::{self, ImapSettings};
use crate::roster::Roster;
use crate::storage::{
    Batch, LinkState, LinkView, NewRecipient, PendingSubmission, Store, StoreError,
    StoredLinkSecret, Tombstone,
};

mod admin_key;
pub mod admin_login;
mod api_tokens;
mod branding;
mod creation;
mod ending;
pub mod events;
mod key_cache;
pub mod lint;
mod opening;
mod pacing;
mod passphrase;
pub mod readiness;
mod recheck;
mod seal_pool;
mod signed;
mod submission;
mod tally;
mod targets;
mod unexported;

pub use crate::storage::{ImapCheck, MailClient};
pub use admin_key::*;
pub use api_tokens::*;
pub use branding::*;
pub use creation::*;
pub use ending::*;
use opening::open_passwords;
pub use pacing::*;
pub use passphrase::*;
pub use recheck::*;
pub use signed::*;
pub use submission::*;
pub use tally::Tally;
pub use targets::*;
pub use unexported::*;

/// By default a batch nobody purges is purged this long after its links expire...
pub const DEFAULT_RETAIN_AFTER_EXPIRY: &str = "7d";

/// ...or this long after an export, whichever comes first (never before the live links
/// of users still pending expire, unless the admin chooses it: `purge_plan`).
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

/// Errors of the batch lifecycle. Each message is a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// `admin init` has not run.
    #[error("no admin exists yet; run `passdrop admin init` first")]
    NoAdmin,
    /// A new passphrase is too short or too easy to guess; the text says why.
    #[error("{0}")]
    WeakPassphrase(String),
    /// A name is unusable.
    #[error("{0}")]
    InvalidName(String),
    /// The passphrase did not unlock the admin key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Too many passphrase checks are running; this one was not made.
    #[error("the server is busy checking other passphrases; try again in a few seconds")]
    Busy,
    /// The batch has been purged.
    #[error("batch “{name}” was purged on {when}")]
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
    /// Stored settings failed their signature check (or cannot be checked).
    #[error(transparent)]
    Settings(Box<SettingsError>),
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

/// A batch operation's result.
pub type BatchResult<T> = Result<T, BatchError>;

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

/// Renders issued links as the mail-merge CSV (`EmailAddress,DisplayName,Link`), with a
/// UTF-8 byte order mark first when `excel_bom` (Excel then reads accented names right).
pub fn links_csv(links: &[IssuedLink], excel_bom: bool) -> Zeroizing<Vec<u8>> {
    let rows: Vec<LinkRow<'_>> = links
        .iter()
        .map(|l| LinkRow {
            email: &l.email,
            display_name: l.display_name.as_deref().unwrap_or_default(),
            link: l.link.expose_secret(),
        })
        .collect();
    export::render_links_csv(&rows, excel_bom)
}

/// What a link of a purged batch is answered with: the tombstone of the batch its
/// format 2 token names, if that batch was purged. Format 1 links carry no tag, so
/// they stay unknown once their batch is gone.
pub async fn closed_collection(store: &Store, token: &LinkToken) -> BatchResult<Option<Tombstone>> {
    match token.tag() {
        Some(tag) => Ok(store.tombstone_by_link_tag(&tag).await?),
        None => Ok(None),
    }
}

/// When a batch nobody purges is purged automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// This long after its links expire...
    pub after_expiry: Duration,
    /// ...or this long after an export, whichever comes first (see `purge_plan`).
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
    /// The language of users whose roster row and browser name none passdrop speaks;
    /// `None`: the server's default (`serve --language`).
    pub language: Option<crate::i18n::Language>,
    /// The IANA time zone its times are shown in, if not the server's (checked here).
    pub time_zone: Option<String>,
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

/// Issues a new link for one recipient; their previous link stops working. The new token
/// is drawn at random and sealed to the batch key (no passphrase needed, one seal), never
/// derived: a replaced link's token cannot come back.
pub async fn reissue(
    store: &Store,
    public_url: &PublicUrl,
    batch: &Batch,
    email: &str,
    now: i64,
) -> BatchResult<IssuedLink> {
    let token = LinkToken::generate_tagged(&batch.link_tag)?;
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
    admin_login::note_requested(store, batch, recipient.id).await?;
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
    // The links are about to go out: a batch made without the passphrase is signed now,
    // as it stands, or its links would take no password.
    sign_new_batch(store, admin, batch).await?;
    let sealed = store.live_link_secrets(&batch.id, now).await?;
    let sealed = admin_login::links_wanted(store, batch, sealed).await?;
    // Derived links need the batch's link key, opened once; a batch from before link
    // keys has none, and all its links are sealed tokens.
    let link_key = match store.sealed_link_key(&batch.id).await? {
        Some(sealed_key) => Some(crypto::open_link_key(&batch_key, &batch.id, &sealed_key)?),
        None => None,
    };
    let (batch_id, tag) = (batch.id.clone(), batch.link_tag.clone());
    let public_url = public_url.clone();
    // One X25519 exchange per sealed link (tens of thousands take seconds), an HMAC per
    // derived one: off the runtime either way.
    tokio::task::spawn_blocking(move || {
        sealed
            .into_iter()
            .map(|(recipient, secret, expires_at)| {
                let token = match (&secret, &link_key) {
                    (StoredLinkSecret::Sealed(token), _) => {
                        crypto::open_token(&batch_key, &batch_id, &recipient.email, token)?
                    }
                    (StoredLinkSecret::Derived(counter), Some(key)) => key.derive_token(
                        &tag,
                        &batch_id,
                        &recipient.email,
                        u64::try_from(*counter).map_err(|_| crypto::CryptoError::Malformed)?,
                    )?,
                    (StoredLinkSecret::Derived(_), None) => {
                        return Err(crypto::CryptoError::Malformed.into());
                    }
                };
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
