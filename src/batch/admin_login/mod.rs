//! Admin (master user) credentials for the old server (issue 18): the login forms
//! Microsoft's IMAP migration CSV can carry, setting them (checked once through the admin
//! path, refused when the server refuses the admin password), probing each roster user
//! through them, and what the export writes for each user.
//!
//! The admin password is sealed to the batch key like users' passwords
//! (`crypto::seal_admin_password`) and signed with the batch's settings as the
//! `ext:admin-login` extension of the `batch` group.

use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretBox, SecretString};

use super::*;
use crate::crypto::AdminLoginBinding;
use crate::imap::{CheckGate, Entry, Verdict};
use crate::storage::{AuditKind, ProbeState, Recipient, StoredAdminLogin};

/// The tag that starts this extension's fields in the signed `batch` group.
const EXT_TAG: &[u8] = b"ext:admin-login";

/// Audit kinds (counts only, never a value).
const AUDIT_SET: &str = "admin_login_set";
const AUDIT_REMOVED: &str = "admin_login_removed";
const AUDIT_PROBED: &str = "admin_login_probed";
const AUDIT_USED: &str = "admin_login_used";

/// Longest admin login or separator accepted.
const MAX_LOGIN_CHARS: usize = 200;

mod login;
mod probe_sig;
mod recheck;
use login::probe_one;
pub use probe_sig::sign_probe;
use probe_sig::{probe_verifies, sign_stale, stale_verifies};
pub use recheck::{
    AdminRecheck, AdminTargets, CoveredForExport, admin_password_refused, covered_for_export,
    recheck_covered, recheck_targets,
};

/// How a server takes an admin login on a user's behalf (Microsoft's forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminForm {
    /// Dovecot master user: `user<separator>admin` (`ann@example.org*mailadmin`).
    Dovecot,
    /// Exchange: `Domain/Admin/User`.
    Exchange,
    /// Mirapoint: `#user@domain#admin#`.
    Mirapoint,
    /// Courier IMAP, Oracle IMAP: the admin's own login, the user's mailbox named by
    /// `UserRoot`.
    UserRoot,
}

impl AdminForm {
    /// The stored and command-line value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dovecot => "dovecot",
            Self::Exchange => "exchange",
            Self::Mirapoint => "mirapoint",
            Self::UserRoot => "userroot",
        }
    }

    /// Parses a stored or command-line value.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "dovecot" => Ok(Self::Dovecot),
            "exchange" => Ok(Self::Exchange),
            "mirapoint" => Ok(Self::Mirapoint),
            "userroot" => Ok(Self::UserRoot),
            other => Err(format!(
                "{other:?} is not an admin login form: use dovecot (user*admin), exchange \
                 (Domain/Admin/User), mirapoint (#user@domain#admin#) or userroot (the admin's \
                 login with each user's UserRoot)"
            )),
        }
    }
}

/// A batch's admin login without its password: enough to write each user's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminLogin {
    /// The form.
    pub form: AdminForm,
    /// The admin's login (for Exchange `DOMAIN/ADMIN`).
    pub user: String,
    /// The Dovecot master user separator (`*` by default; Dovecot only).
    pub separator: Option<String>,
}

impl AdminLogin {
    /// Checks the pieces; `separator` is only for Dovecot (default `*`).
    pub fn new(form: AdminForm, user: &str, separator: Option<&str>) -> Result<Self, String> {
        let user = user.trim();
        let printable = |s: &str| !s.chars().any(char::is_control);
        if user.is_empty() || user.chars().count() > MAX_LOGIN_CHARS || !printable(user) {
            return Err(format!(
                "the admin login must be 1 to {MAX_LOGIN_CHARS} printable characters"
            ));
        }
        if user.contains(char::is_whitespace) {
            return Err("the admin login cannot contain spaces".into());
        }
        let separator = match (form, separator) {
            (AdminForm::Dovecot, separator) => {
                let sep = separator.unwrap_or("*");
                if sep.is_empty()
                    || sep.chars().count() > 4
                    || !printable(sep)
                    || sep.contains(char::is_whitespace)
                    || sep.chars().any(char::is_alphanumeric)
                {
                    return Err(format!(
                        "the separator {sep:?} must be 1 to 4 characters, neither letters, digits \
                         nor spaces (Dovecot's auth_master_user_separator, usually *)"
                    ));
                }
                if user.contains(sep) {
                    return Err(format!(
                        "the admin login {user:?} contains the separator {sep:?}"
                    ));
                }
                Some(sep.to_owned())
            }
            (_, Some(_)) => {
                return Err("a separator is only used by the dovecot form".into());
            }
            (_, None) => None,
        };
        if form == AdminForm::Exchange {
            let parts: Vec<&str> = user.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "for exchange, give the admin login as DOMAIN/ADMIN (for example \
                     contoso/mailadmin), not {user:?}"
                ));
            }
        }
        if form == AdminForm::Mirapoint && user.contains('#') {
            return Err("a mirapoint admin login cannot contain #".into());
        }
        Ok(Self {
            form,
            user: user.to_owned(),
            separator,
        })
    }

    /// Rebuilds a stored login.
    pub fn from_stored(stored: &StoredAdminLogin) -> Result<Self, String> {
        Self::new(
            AdminForm::parse(&stored.form)?,
            &stored.user,
            stored.separator.as_deref(),
        )
    }

    /// The login that opens `user_name`'s mailbox through the admin: what the probe
    /// sends and the export's `UserName`.
    pub fn login_for(&self, user_name: &str) -> String {
        match self.form {
            AdminForm::Dovecot => format!(
                "{user_name}{}{}",
                self.separator.as_deref().unwrap_or("*"),
                self.user
            ),
            AdminForm::Exchange => format!("{}/{user_name}", self.user),
            AdminForm::Mirapoint => format!("#{user_name}#{}#", self.user),
            AdminForm::UserRoot => self.user.clone(),
        }
    }

    /// The export's `UserRoot` for a user (userroot form only): the roster's UserRoot,
    /// else `/users/{UserName}`.
    pub fn user_root_for(&self, recipient: &Recipient) -> Option<String> {
        (self.form == AdminForm::UserRoot).then(|| {
            recipient
                .user_root
                .clone()
                .unwrap_or_else(|| format!("/users/{}", recipient.user_name))
        })
    }

    fn binding<'a>(&'a self, batch_id: &'a str) -> AdminLoginBinding<'a> {
        AdminLoginBinding {
            batch_id,
            form: self.form.as_str(),
            user: &self.user,
        }
    }
}

/// The `ext:admin-login` fields of the signed `batch` group: appended only when the
/// batch has an admin login, after the branding extension's, so that signatures made
/// before either existed keep verifying.
pub(super) fn signed_fields(batch: &Batch) -> Vec<Option<Vec<u8>>> {
    let Some(a) = &batch.admin_login else {
        return Vec::new();
    };
    vec![
        Some(EXT_TAG.to_vec()),
        Some(a.form.as_bytes().to_vec()),
        Some(a.user.as_bytes().to_vec()),
        a.separator.as_ref().map(|s| s.as_bytes().to_vec()),
        Some(a.sealed.enc.clone()),
        Some(a.sealed.ciphertext.clone()),
    ]
}

/// What one login through the admin path said about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The admin login opened the mailbox.
    Covered,
    /// The server refused the admin login for this user (`[AUTHORIZATIONFAILED]` or
    /// another stated reason): their own password is needed. The server's words.
    NeedsPassword(String),
    /// The server refused the admin password itself (`[AUTHENTICATIONFAILED]`): stop.
    AdminRefused,
    /// No clear answer (unreachable, a timeout, "try later"): try again later, never
    /// counted as covered.
    Unclear(String),
}

/// Turns a login's verdict into a probe outcome.
pub fn classify(verdict: Verdict) -> ProbeOutcome {
    match verdict {
        Verdict::Accepted => ProbeOutcome::Covered,
        Verdict::Rejected => ProbeOutcome::AdminRefused,
        // The admin login works only with an application password: this user cannot be
        // covered by it (their own password, or an app password of theirs, is needed).
        Verdict::RefusedOther(words) | Verdict::AppPasswordRequired(words) => {
            ProbeOutcome::NeedsPassword(words)
        }
        Verdict::CouldNotCheck(problem) | Verdict::NoAnswer(problem) => {
            ProbeOutcome::Unclear(problem.to_string())
        }
    }
}

/// A new admin login with its password, as the admin gave it.
pub struct NewAdminLogin {
    /// Form and login.
    pub login: AdminLogin,
    /// The admin password.
    pub password: SecretString,
}

/// What setting an admin login found for the user it was tried with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAdminLogin {
    /// The user tried (EmailAddress).
    pub probe_user: String,
    /// Whether the admin login opens their mailbox (`None`: it was removed).
    pub outcome: Option<ProbeOutcome>,
}

fn refuse(message: String) -> BatchError {
    BatchError::Other(anyhow::anyhow!(message))
}

/// Sets or (with `None`) removes a batch's admin login, signed with the unlocked admin
/// key. A new login is first tried once through the admin path for `probe_email` (or the
/// first roster user): a refused admin password, or no clear answer, changes nothing.
pub async fn set_admin_login(
    store: &Store,
    batch: &Batch,
    new: Option<NewAdminLogin>,
    probe_email: Option<&str>,
    admin: &AdminKey,
) -> BatchResult<SetAdminLogin> {
    set_tried_admin_login(store, batch, new, probe_email, None, admin).await
}

/// `set_admin_login` with `tried`, `try_admin_login`'s answer for `probe_email`: no login.
pub async fn set_tried_admin_login(
    store: &Store,
    batch: &Batch,
    new: Option<NewAdminLogin>,
    probe_email: Option<&str>,
    tried: Option<ProbeOutcome>,
    admin: &AdminKey,
) -> BatchResult<SetAdminLogin> {
    let signer = settings_signer(admin)?;
    require_signed_batch_by_admin(store, admin, batch).await?;
    let now = crate::config::now();
    let Some(new) = new else {
        let mut changed = batch.clone();
        changed.admin_login = None;
        let sig = sign_batch(&signer, &changed);
        store
            .set_admin_login(&batch.id, None, &sig, None, now)
            .await?;
        store
            .record_event(&batch.id, AuditKind::Other(AUDIT_REMOVED.into()), 1, now)
            .await?;
        return Ok(SetAdminLogin {
            probe_user: String::new(),
            outcome: None,
        });
    };
    let Some(settings) = &batch.imap else {
        return Err(refuse(format!(
            "batch “{}” has no old server to try the admin login with: give it one with \
             --verify-imap first; nothing was changed",
            batch.name
        )));
    };
    if new.password.expose_secret().is_empty() {
        return Err(refuse(
            "the admin password is empty; nothing was changed".into(),
        ));
    }
    let statuses = store.recipient_statuses(&batch.id).await?;
    let recipient = match probe_email {
        Some(email) => statuses
            .iter()
            .find(|s| s.recipient.email.eq_ignore_ascii_case(email))
            .ok_or_else(|| {
                refuse(format!(
                    "batch “{}” has no user {email:?} to try the admin login with; nothing \
                     was changed",
                    batch.name
                ))
            })?,
        None => statuses
            .first()
            .ok_or_else(|| refuse("the batch has no users; nothing was changed".into()))?,
    }
    .recipient
    .clone();
    let (outcome, session) = match tried {
        // Tried already (the console's new-batch form): no second login, and no
        // session for that first user's inventory.
        Some(outcome) => (outcome, None),
        None => login::try_keeping(settings, &new, &recipient).await?,
    };
    let (state, reason) = match &outcome {
        ProbeOutcome::Covered => (ProbeState::Covered, None),
        ProbeOutcome::NeedsPassword(words) => (ProbeState::NeedsPassword, Some(words.as_str())),
        ProbeOutcome::AdminRefused | ProbeOutcome::Unclear(_) => {
            return Err(refuse(
                "the admin login was not usable; nothing was changed".into(),
            ));
        }
    };
    let sealed = crypto::seal_admin_password(
        &batch.public_key,
        new.login.binding(&batch.id),
        &new.password,
    )?;
    let stored = StoredAdminLogin {
        form: new.login.form.as_str().to_owned(),
        user: new.login.user.clone(),
        separator: new.login.separator.clone(),
        sealed,
    };
    let mut changed = batch.clone();
    changed.admin_login = Some(stored.clone());
    let sig = sign_batch(&signer, &changed);
    let probe_sig = sign_probe(
        &signer,
        &batch.id,
        &recipient,
        state == ProbeState::Covered,
        &stored.sealed.enc,
    );
    let first = (recipient.id, state, reason, probe_sig.as_slice());
    store
        .set_admin_login(&batch.id, Some(&stored), &sig, Some(first), now)
        .await?;
    store
        .record_event(&batch.id, AuditKind::Other(AUDIT_SET.into()), 1, now)
        .await?;
    // The first user's mailbox inventory too, in the background (as after a verified
    // submission): the answer does not wait for it.
    if let Some(session) = session {
        super::readiness::spawn_inventory(store.clone(), session, recipient.id);
    }
    Ok(SetAdminLogin {
        probe_user: recipient.email,
        outcome: Some(outcome),
    })
}

/// Tries a new admin login once through the admin path for `recipient` (before
/// anything is stored): a refused admin password, or no clear answer, is an error that
/// says so; otherwise whether it opened their mailbox.
pub async fn try_admin_login(
    settings: &ImapSettings,
    new: &NewAdminLogin,
    recipient: &Recipient,
) -> BatchResult<ProbeOutcome> {
    let (outcome, session) = login::try_keeping(settings, new, recipient).await?;
    if let Some(session) = session {
        session.close().await;
    }
    Ok(outcome)
}

/// The admin login's identity in signatures and records: its sealed password's `enc`
/// (empty without a login).
fn login_enc_of(batch: &Batch) -> Vec<u8> {
    batch
        .admin_login
        .as_ref()
        .map(|l| l.sealed.enc.clone())
        .unwrap_or_default()
}

/// The opened admin password as the text an IMAP login sends.
fn password_text(password: &SecretBox<[u8]>) -> BatchResult<SecretString> {
    let text = std::str::from_utf8(password.expose_secret())
        .map_err(|_| refuse("the stored admin password is not UTF-8".into()))?;
    Ok(SecretString::from(text.to_owned()))
}

/// Opens a batch's admin login and password with the unlocked admin key (after
/// checking the batch's signed settings); `None` when it has none.
pub async fn open_admin_login(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
) -> BatchResult<Option<(AdminLogin, SecretBox<[u8]>)>> {
    let Some(stored) = &batch.admin_login else {
        return Ok(None);
    };
    require_signed_batch_by_admin(store, admin, batch).await?;
    let login = AdminLogin::from_stored(stored)
        .map_err(|e| refuse(format!("the stored admin login is unusable: {e}")))?;
    let key = open_batch_key(store, batch, admin).await?;
    let password = crypto::open_admin_password(&key, login.binding(&batch.id), &stored.sealed)?;
    Ok(Some((login, password)))
}

/// How a probe run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeSummary {
    /// Users probed in this run and covered.
    pub covered: usize,
    /// Users probed in this run who need their password.
    pub needs_password: usize,
    /// Users without a clear answer (left for a later run).
    pub unclear: usize,
    /// The server refused the admin password: the run stopped at once.
    pub admin_refused: bool,
}

/// Probes every roster user not probed yet (and not yet submitted) through the admin
/// login, one at a time through `gate`, recording each clear answer as it comes;
/// `progress(done, total)` after each. A refused admin password stops the run at once.
pub async fn probe_users(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    gate: &Arc<CheckGate>,
    mut progress: impl FnMut(usize, usize),
) -> BatchResult<ProbeSummary> {
    let Some((login, password)) = open_admin_login(store, batch, admin).await? else {
        return Err(refuse(format!(
            "batch “{}” has no admin login to probe with",
            batch.name
        )));
    };
    let Some(settings) = &batch.imap else {
        return Err(refuse(format!(
            "batch “{}” has no old server to probe",
            batch.name
        )));
    };
    let password = password_text(&password)?;
    // The login this run probes with: an answer is kept only while it is still the
    // batch's (`Store::record_probe`), and the run stops once it is not.
    let login_enc = login_enc_of(batch);
    let signer = settings_signer(admin)?;
    let probed = store.probe_records(&batch.id).await?;
    let todo: Vec<Recipient> = store
        .recipient_statuses(&batch.id)
        .await?
        .into_iter()
        .filter(|s| s.submitted_at.is_none() && !probed.contains_key(&s.recipient.id))
        .map(|s| s.recipient)
        .collect();
    let mut summary = ProbeSummary::default();
    let total = todo.len();
    for (done, recipient) in todo.iter().enumerate() {
        let (outcome, session, warning) =
            probe_one(gate, settings, &login, recipient, &password, 1).await;
        let now = crate::config::now();
        if let Some(warning) = warning {
            super::note_throttling(store, &batch.id, &settings.server, &warning, now).await?;
        }
        match outcome {
            ProbeOutcome::Covered => {
                summary.covered += 1;
                let sig = sign_probe(&signer, &batch.id, recipient, true, &login_enc);
                if !store
                    .record_probe(
                        &batch.id,
                        &login_enc,
                        (recipient.id, ProbeState::Covered, None, &sig),
                        now,
                    )
                    .await?
                {
                    if let Some(session) = session {
                        session.close().await;
                    }
                    break;
                }
                // Like a verified user's: the mailbox inventory, read-only and bounded,
                // in the session the admin login opened (no gate slot held).
                if let Some(session) = session {
                    super::readiness::inventory_now(store, session, recipient.id).await;
                }
            }
            ProbeOutcome::NeedsPassword(words) => {
                summary.needs_password += 1;
                let sig = sign_probe(&signer, &batch.id, recipient, false, &login_enc);
                if !store
                    .record_probe(
                        &batch.id,
                        &login_enc,
                        (recipient.id, ProbeState::NeedsPassword, Some(&words), &sig),
                        now,
                    )
                    .await?
                {
                    break;
                }
            }
            ProbeOutcome::Unclear(_) => summary.unclear += 1,
            ProbeOutcome::AdminRefused => {
                summary.admin_refused = true;
                tracing::warn!(batch_id = %batch.id, "the old server refused the admin password; probing stopped");
                break;
            }
        }
        progress(done + 1, total);
    }
    let answered = summary.covered + summary.needs_password;
    if answered > 0 {
        store
            .record_event(
                &batch.id,
                AuditKind::Other(AUDIT_PROBED.into()),
                answered,
                crate::config::now(),
            )
            .await?;
    }
    Ok(summary)
}

/// Of a batch's live links, those whose users are to get one: every link without an
/// admin login; with one, only users whose probe answered that they need their
/// password (or whom the admin asked anyway).
pub(super) async fn links_wanted<T>(
    store: &Store,
    batch: &Batch,
    links: Vec<(Recipient, T, i64)>,
) -> BatchResult<Vec<(Recipient, T, i64)>> {
    if batch.admin_login.is_none() {
        return Ok(links);
    }
    let probed = store.probe_records(&batch.id).await?;
    Ok(links
        .into_iter()
        .filter(|(r, _, _)| probed.get(&r.id).is_some_and(|p| p.state.wants_link()))
        .collect())
}

/// The users the admin login covers (no password asked of them); empty without one.
pub(super) async fn covered_ids(
    store: &Store,
    batch: &Batch,
) -> BatchResult<std::collections::HashSet<i64>> {
    if batch.admin_login.is_none() {
        return Ok(std::collections::HashSet::new());
    }
    Ok(store
        .probe_records(&batch.id)
        .await?
        .into_iter()
        .filter(|(_, p)| p.state == ProbeState::Covered)
        .map(|(id, _)| id)
        .collect())
}

/// After a link was issued by hand for a user the admin login covers: the admin asked
/// for their password anyway, so their link goes out like the others.
pub(super) async fn note_requested(
    store: &Store,
    batch: &Batch,
    recipient_id: i64,
) -> BatchResult<()> {
    if batch.admin_login.is_some() {
        store.request_password(&batch.id, recipient_id).await?;
    }
    Ok(())
}

/// One export row's user part: `UserName`, the password and `UserRoot`.
pub type ExportRowFor<'a> = (String, &'a SecretBox<[u8]>, Option<String>);

/// What an export writes for one user: their own password when they gave it (with their
/// own `UserName` and roster `UserRoot`); else, when the admin login covers them, the
/// admin form in `UserName` (or the admin's login with `UserRoot`, for the userroot
/// form) and the admin password; else nothing (they are missing). Every export format
/// follows this rule.
pub fn export_row_for<'a>(
    recipient: &Recipient,
    own_password: Option<&'a SecretBox<[u8]>>,
    covered_by: Option<(&AdminLogin, &'a SecretBox<[u8]>)>,
) -> Option<ExportRowFor<'a>> {
    if let Some(password) = own_password {
        return Some((
            recipient.user_name.clone(),
            password,
            recipient.user_root.clone(),
        ));
    }
    let (login, password) = covered_by?;
    Some((
        login.login_for(&recipient.user_name),
        password,
        login.user_root_for(recipient),
    ))
}

/// The users of a batch the admin login covers who gave no password of their own, in
/// roster order, with the opened admin login; empty without one.
pub async fn covered_without_password(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
) -> BatchResult<Option<(AdminLogin, SecretBox<[u8]>, Vec<Recipient>)>> {
    let Some((login, password)) = open_admin_login(store, batch, admin).await? else {
        return Ok(None);
    };
    let public_key = settings_signer(admin)?.public_key();
    let login_enc = login_enc_of(batch);
    let probed = store.probe_records(&batch.id).await?;
    let mut covered = Vec::new();
    for s in store.recipient_statuses(&batch.id).await? {
        let Some(p) = probed.get(&s.recipient.id) else {
            continue;
        };
        if s.submitted_at.is_some()
            || !matches!(p.state, ProbeState::Covered | ProbeState::Requested)
        {
            continue;
        }
        // The answer must be the one the admin's key signed, for this user as the roster
        // names them and for this admin login; else the admin password stays out.
        let signed = p.sig.as_deref().is_some_and(|sig| {
            probe_verifies(&public_key, sig, &batch.id, &s.recipient, &login_enc)
        });
        if signed {
            covered.push(s.recipient);
        } else {
            tracing::error!(batch_id = %batch.id, recipient_id = s.recipient.id, "a probe answer does not match its signature; the admin login is not used for this user");
        }
    }
    Ok(Some((login, password, covered)))
}

/// Notes in the audit trail that an export used the admin login for `rows` users.
pub async fn record_admin_rows(store: &Store, batch: &Batch, rows: usize) -> BatchResult<()> {
    if rows > 0 {
        store
            .record_event(
                &batch.id,
                AuditKind::Other(AUDIT_USED.into()),
                rows,
                crate::config::now(),
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
