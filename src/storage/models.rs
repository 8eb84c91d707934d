//! The rows the store hands out and the states stored with them.

use super::*;

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
    /// The automatic purge an export set (`batch::purge_plan`), if any.
    pub export_purge_at: Option<i64>,
    /// Purged automatically this long after the links expire...
    pub retain_after_expiry_secs: i64,
    /// ...or this long after an export (never before the links expire unless the admin
    /// chose it), whichever comes first.
    pub retain_after_export_secs: i64,
    /// The tag every format 2 link of the batch carries (not secret).
    pub link_tag: LinkTag,
    /// The old IMAP server each password is checked against, if any.
    pub imap: Option<ImapSettings>,
    /// The emailed message's subject and body (placeholders unfilled), if not the
    /// default.
    pub message: Option<(String, String)>,
    /// The settings key's signature over the public key, the old-server check and what
    /// the form shows (`batch::signed`); `None` until the passphrase signs it.
    pub settings_sig: Option<Vec<u8>>,
    /// The settings key's signature over the message; `None` until signed.
    pub message_sig: Option<Vec<u8>>,
    /// The batch's default language (a supported BCP 47 tag), if one was chosen.
    pub language: Option<String>,
    /// The IANA time zone the batch's times are shown in, if not the server's.
    pub time_zone: Option<String>,
    /// The admin (master user) login for the old server, if set (migration 0015).
    pub admin_login: Option<StoredAdminLogin>,
    /// Who is asking, beyond the organisation name (contact, accent, link prefix, logo);
    /// part of the signed `batch` group.
    pub branding: Branding,
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
    /// The tag its format 2 links carry (`None` for batches purged before tags).
    pub link_tag: Option<String>,
    /// The organisation name its users were shown, if any (the admin's words).
    pub org_name: Option<String>,
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
    /// Language (a BCP 47 tag), if the roster gave one.
    pub language: Option<String>,
    /// SHA-256 of the first link's token.
    pub token_hash: [u8; 32],
    /// How the admin can get the first link again: its token sealed to the batch key,
    /// or the counter it was derived with from the batch's link key.
    pub link_secret: StoredLinkSecret,
}

/// How a link's token is kept so the admin can get the link again (migration 0017).
#[derive(Debug, Clone)]
pub enum StoredLinkSecret {
    /// The token sealed to the batch key: batches from before link keys, and reissued
    /// links.
    Sealed(SealedToken),
    /// The counter the token was derived with from the batch's sealed link key
    /// (`crypto::LinkKey::derive_token`); nothing of the token itself is stored.
    Derived(i64),
}

impl StoredLinkSecret {
    /// The `sealed_token_enc`, `sealed_token` and `link_counter` columns.
    pub(super) fn columns(&self) -> (Option<&[u8]>, Option<&[u8]>, Option<i64>) {
        match self {
            Self::Sealed(t) => (Some(&t.enc), Some(&t.ciphertext), None),
            Self::Derived(counter) => (None, None, Some(*counter)),
        }
    }
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
    /// Language (a BCP 47 tag), if the roster gave one.
    pub language: Option<String>,
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
    pub(super) fn parse(s: &str) -> StoreResult<Self> {
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

    /// Decodes a stored value strictly (the column has a CHECK constraint).
    pub(super) fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "verified" => Ok(Self::Verified),
            "unverified" => Ok(Self::Unverified),
            other => Err(StoreError::Other(anyhow::anyhow!(
                "unknown IMAP check {other:?} in the database"
            ))),
        }
    }
}

/// Where a recipient's emailed link stands in the send queue (`deliveries.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting to be sent (a first message, a reminder or a retry).
    Queued,
    /// Claimed by a sender and being handed to the relay.
    Sending,
    /// No clear answer after the hand-over: it may have arrived; never re-sent by itself.
    Unknown,
    /// Accepted by the relay.
    Sent,
    /// Refused, or temporary failures too many times.
    Failed,
}

impl DeliveryState {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Unknown => "unknown",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Decodes a stored value strictly (the column has a CHECK constraint).
    pub(super) fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "unknown" => Self::Unknown,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            other => {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "unknown delivery state {other:?} in the database"
                )));
            }
        })
    }
}

/// What an audit entry records (`audit_events.kind`). The column has no CHECK, so a
/// value this version does not know is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKind {
    /// The batch was created (count: links issued).
    Created,
    /// A link was reissued.
    Reissued,
    /// A link was revoked.
    Revoked,
    /// A password was submitted.
    Submitted,
    /// The batch was exported (count: rows).
    Exported,
    /// The batch was purged.
    Purged,
    /// The old mail server setting was changed.
    ImapChanged,
    /// The links were fetched again (count: links).
    LinksViewed,
    /// Link emails were queued (count: messages).
    EmailsQueued,
    /// The emailed message was changed.
    MessageChanged,
    /// Stored settings failed their signature check and were not used.
    SettingsRefused,
    /// A link was locked after too many refused tries (count: 1).
    LinkLocked,
    /// The batch's branding (contact, logo, accent, link prefix) was changed.
    BrandingChanged,
    /// A user reported their link ("This wasn't me"); it was revoked (count: 1).
    LinkReported,
    /// A user reported a link a password had been received with (count: 1).
    ReportedAfterUse,
    /// A user asked IT for help (count: 1).
    HelpAsked,
    /// The admin cleared a user's "needs help" or "reported" state (count: 1).
    UserStateCleared,
    /// A kind this version does not know.
    Other(String),
}

impl AuditKind {
    const KNOWN: [Self; 17] = [
        Self::Created,
        Self::Reissued,
        Self::Revoked,
        Self::Submitted,
        Self::Exported,
        Self::Purged,
        Self::ImapChanged,
        Self::LinksViewed,
        Self::EmailsQueued,
        Self::MessageChanged,
        Self::SettingsRefused,
        Self::LinkLocked,
        Self::BrandingChanged,
        Self::LinkReported,
        Self::ReportedAfterUse,
        Self::HelpAsked,
        Self::UserStateCleared,
    ];

    /// The stored value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Created => "created",
            Self::Reissued => "reissued",
            Self::Revoked => "revoked",
            Self::Submitted => "submitted",
            Self::Exported => "exported",
            Self::Purged => "purged",
            Self::ImapChanged => "imap_changed",
            Self::LinksViewed => "links_viewed",
            Self::EmailsQueued => "emails_queued",
            Self::MessageChanged => "message_changed",
            Self::SettingsRefused => "settings_refused",
            Self::LinkLocked => "link_locked",
            Self::BrandingChanged => "branding_changed",
            Self::LinkReported => "link_reported",
            Self::ReportedAfterUse => "reported_after_use",
            Self::HelpAsked => "help_asked",
            Self::UserStateCleared => "user_state_cleared",
            Self::Other(other) => other,
        }
    }
}

impl From<String> for AuditKind {
    fn from(stored: String) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|k| k.as_str() == stored)
            .unwrap_or(Self::Other(stored))
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
    /// When a password was received with it, if one was.
    pub used_at: Option<i64>,
    /// Refused submissions counted against it so far.
    pub failed_attempts: i64,
    /// Whom the link is for.
    pub recipient: Recipient,
    /// The batch it belongs to (shared by the views `link_views.rs` remembers).
    pub batch: std::sync::Arc<Batch>,
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
    /// Their answer to the email-reading question, if asked and answered (a value this
    /// version does not know reads as no answer).
    pub mail_client: Option<MailClient>,
    /// When the newest link was first opened, if it was.
    pub opened_at: Option<i64>,
    /// What the old-server check said, or nothing (no check).
    pub imap_check: Option<ImapCheck>,
    /// When the user asked IT for help ("I need help"), until the admin clears it.
    pub needs_help_at: Option<i64>,
    /// When the user reported their link ("This wasn't me"), until the admin clears it.
    pub reported_at: Option<i64>,
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
    /// The settings key's signature over all of the above but the time.
    pub sig: Option<Vec<u8>>,
}

/// Where a recipient's emailed link stands.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Where the message stands.
    pub state: DeliveryState,
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
    /// What.
    #[sqlx(try_from = "String")]
    pub kind: AuditKind,
    /// How many (links created, rows exported...).
    pub count: i64,
}

/// A submission ready to be opened for export.
#[derive(Debug, Clone)]
pub struct StoredSubmission {
    /// Whose it is.
    pub recipient: SubmissionOwner,
    /// The sealed password.
    pub sealed: SealedPassword,
}

/// What the export and the re-check use of a submission's recipient: the columns that
/// bind the seal, name the row and go into the file. The export reads 50,000 of them
/// at a time; the rest of `Recipient` would be four more strings each to read and free
/// (issue 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionOwner {
    /// Row id (part of the sealing binding).
    pub id: i64,
    /// Roster line.
    pub roster_line: i64,
    /// EmailAddress.
    pub email: String,
    /// UserName.
    pub user_name: String,
    /// UserRoot.
    pub user_root: Option<String>,
}

/// The columns of `SubmissionOwner`, in its order, from `recipients r`: read by place
/// (the first `OWNER_COLUMN_COUNT` of a row; `email` is the third).
pub(crate) const OWNER_COLUMNS: &str = "r.id, r.roster_line, r.email, r.user_name, r.user_root";

/// How many columns `OWNER_COLUMNS` names.
pub(crate) const OWNER_COLUMN_COUNT: usize = 5;

/// What tells one sealed password of a user from the next (migration 0023): the last 8
/// bytes of its HPKE encapsulated key (`SealedPassword::enc`), a public key drawn anew
/// for every seal, as an integer. Shorter input is zero-padded on the left. Opens
/// nothing and says nothing about the user.
pub fn submission_tag(enc: &[u8]) -> i64 {
    let mut end = [0u8; 8];
    let take = enc.len().min(8);
    end[8 - take..].copy_from_slice(&enc[enc.len() - take..]);
    i64::from_be_bytes(end)
}

/// A batch for unit tests: named `id`, live from 0 to 100, no key, settings, branding or
/// signatures. A test states the fields it is about with `..Batch::for_tests(id)`.
#[cfg(test)]
impl Batch {
    pub(crate) fn for_tests(id: &str) -> Self {
        Self {
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
        }
    }
}
