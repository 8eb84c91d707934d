//! Signed settings: what the server trusts unattended is signed with the settings key
//! (Ed25519, derived from the admin private key, so only the passphrase signs) and
//! checked before each use against the public half in the key file, kept outside the data
//! directory. Groups: a batch's `batch` settings (its public key, the old-server check,
//! the organisation and next-steps text the form shows), its `message`, and the saved
//! `relay`. Each signature binds its kind and its batch id. A missing signature is
//! refused like a wrong one: nothing is ever "legacy, unsigned, accepted".

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::*;
use crate::crypto::{SettingsField, SettingsSigner};
use crate::storage::{AuditKind, StoredSmtp};

/// First word of the key file's one line (the format's version).
const KEY_FILE_TAG: &str = "passdrop-settings-key-v1";

/// Why settings cannot be trusted. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The key file is not there.
    #[error(
        "the settings key file {0} does not exist (or is empty), so no stored setting can be \
         verified; install it with `passdrop admin settings-key` (it needs the passphrase)"
    )]
    KeyFileMissing(String),
    /// The key file cannot be read or is not a key.
    #[error("the settings key file {path} cannot be used: {why}")]
    KeyFileBad {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The key file holds another key than the one the passphrase opens.
    #[error(
        "the settings key file {0} holds another key than this admin's; nothing was written \
         (give --replace-settings-key to replace it, after checking why it differs)"
    )]
    KeyFileDiffers(String),
    /// A settings group has no signature.
    #[error(
        "{0} is not signed (it was saved by an earlier version, without the passphrase, or \
         its signature was removed); check it and sign it with `passdrop admin sign-settings`"
    )]
    Unsigned(String),
    /// A settings group does not match its signature.
    #[error(
        "{0} does not match its signature: it was changed outside passdrop (or the key file \
         is not this admin's); it is not used. Check the database and set it again with \
         the passphrase"
    )]
    Mismatch(String),
}

/// The file holding the settings key's public half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsKeyFile {
    path: PathBuf,
    /// The key last read, while the file is unchanged (`key_cache.rs`).
    cache: super::key_cache::KeyCache,
}

/// What writing the key file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileWrite {
    /// Written (0644).
    Written,
    /// It already held this key.
    Unchanged,
    /// It could not be written here (say, `/etc/passdrop` is root's): the one line to put
    /// into it, and why.
    NotWritable {
        /// The file's line.
        line: String,
        /// The error.
        why: String,
    },
}

impl SettingsKeyFile {
    /// The key file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache: super::key_cache::KeyCache::default(),
        }
    }

    /// The default beside (never inside) the data directory:
    /// `<data dir>.settings-key.pub`. Installed systems set `/etc/passdrop/...`.
    pub fn beside(data_dir: &Path) -> Self {
        let mut name = data_dir
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_else(|| "passdrop-data".into());
        name.push(".settings-key.pub");
        Self::new(data_dir.with_file_name(name))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The file's one line for `public_key`.
    pub fn line_for(public_key: &[u8]) -> String {
        format!(
            "{KEY_FILE_TAG} {}",
            base64::engine::general_purpose::STANDARD.encode(public_key)
        )
    }

    /// The public key: read from the file, or as last read while the file is unchanged
    /// (the file is looked at now).
    pub fn load(&self) -> Result<Vec<u8>, SettingsError> {
        self.cache
            .get(&self.path, true, || self.read())
            .map(|(key, _)| key)
    }

    /// `check` under the public key, looking at the file at most once a second while
    /// the key passes (`key_cache.rs`): a check that fails under a key answered without
    /// looking looks now, and is made again if the file holds another key.
    pub fn check<T>(
        &self,
        check: impl Fn(&[u8]) -> Result<T, SettingsError>,
    ) -> Result<T, SettingsError> {
        self.check_at(std::time::Instant::now(), check)
    }

    /// [`Self::check`] at the time `at` (the tests' clock).
    fn check_at<T>(
        &self,
        at: std::time::Instant,
        check: impl Fn(&[u8]) -> Result<T, SettingsError>,
    ) -> Result<T, SettingsError> {
        let (key, looked) = self.cache.get_at(&self.path, false, at, || self.read())?;
        match check(&key) {
            Err(problem) if !looked => {
                let (now, _) = self.cache.get_at(&self.path, true, at, || self.read())?;
                if now == key {
                    Err(problem)
                } else {
                    check(&now)
                }
            }
            verdict => verdict,
        }
    }

    fn read(&self) -> Result<Vec<u8>, SettingsError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) if text.trim().is_empty() => {
                return Err(SettingsError::KeyFileMissing(self.shown()));
            }
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SettingsError::KeyFileMissing(self.shown()));
            }
            Err(e) => {
                return Err(SettingsError::KeyFileBad {
                    path: self.shown(),
                    why: e.to_string(),
                });
            }
        };
        let bad = |why: &str| SettingsError::KeyFileBad {
            path: self.shown(),
            why: why.to_owned(),
        };
        let line = text.trim_end_matches(['\n', '\r']);
        let encoded = line
            .strip_prefix(KEY_FILE_TAG)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or_else(|| bad(&format!("its line must start with {KEY_FILE_TAG:?}")))?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| bad("the key is not base64"))?;
        if key.len() != crypto::SETTINGS_PUBLIC_KEY_BYTES || line.contains('\n') {
            return Err(bad("it does not hold one 32-byte key"));
        }
        Ok(key)
    }

    /// Writes `public_key` (mode 0644). An existing file with another key is refused
    /// unless `replace`.
    pub fn write(&self, public_key: &[u8], replace: bool) -> Result<KeyFileWrite, SettingsError> {
        let line = Self::line_for(public_key);
        match self.load() {
            Ok(existing) if existing == public_key => return Ok(KeyFileWrite::Unchanged),
            Ok(_) | Err(SettingsError::KeyFileBad { .. }) if !replace => {
                return Err(SettingsError::KeyFileDiffers(self.shown()));
            }
            _ => {}
        }
        let written = (|| {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(&self.path)?;
            file.write_all(format!("{line}\n").as_bytes())?;
            file.sync_all()?;
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644))
        })();
        // Read again at the next use, whatever was written.
        self.cache.forget();
        match written {
            Ok(()) => Ok(KeyFileWrite::Written),
            Err(e) => Ok(KeyFileWrite::NotWritable {
                line,
                why: e.to_string(),
            }),
        }
    }
}

/// The fields of a batch's `batch` group.
fn batch_fields(batch: &Batch) -> Vec<Option<Vec<u8>>> {
    let imap = batch.imap.as_ref();
    let mut fields = vec![
        Some(batch.public_key.clone()),
        imap.map(|i| i.server.to_string().into_bytes()),
        imap.and_then(|i| i.ca_pem().map(|p| p.as_bytes().to_vec())),
        imap.and_then(ImapSettings::pin_hex).map(String::into_bytes),
        imap.map(|i| i.when_unreachable.as_str().as_bytes().to_vec()),
        batch.org_name.as_ref().map(|o| o.as_bytes().to_vec()),
        batch.next_steps.as_ref().map(|n| n.as_bytes().to_vec()),
    ];
    // Appended only when set, after their tag, so signatures made before branding
    // existed keep verifying.
    let b = &batch.branding;
    if b.is_set() {
        let text = |v: &Option<String>| v.as_ref().map(|v| v.as_bytes().to_vec());
        fields.extend([
            Some(b"ext:branding".to_vec()),
            text(&b.contact_name),
            text(&b.contact_role),
            text(&b.contact_phone),
            text(&b.contact_email),
            text(&b.accent_colour),
            text(&b.link_prefix),
            b.logo_sha256.clone(),
        ]);
    }
    // Extensions, each appended only when set and after its tag, so that signatures
    // made before they existed keep verifying: `ext:branding` first, then this one.
    fields.extend(super::admin_login::signed_fields(batch));
    fields
}

/// The fields of a batch's `message` group (both absent: the default message).
fn message_fields(batch: &Batch) -> Vec<Option<Vec<u8>>> {
    let m = batch.message.as_ref();
    vec![
        m.map(|m| m.0.as_bytes().to_vec()),
        m.map(|m| m.1.as_bytes().to_vec()),
    ]
}

/// The fields of the saved relay's group (its sealed password included).
fn relay_fields(s: &StoredSmtp) -> Vec<Option<Vec<u8>>> {
    vec![
        Some(s.host.as_bytes().to_vec()),
        Some(s.port.to_be_bytes().to_vec()),
        Some(s.security.as_bytes().to_vec()),
        s.username.as_ref().map(|u| u.as_bytes().to_vec()),
        s.password.as_ref().map(|p| p.enc.clone()),
        s.password.as_ref().map(|p| p.ciphertext.clone()),
        Some(s.from.as_bytes().to_vec()),
        s.reply_to.as_ref().map(|r| r.as_bytes().to_vec()),
        s.ca_pem.as_ref().map(|c| c.as_bytes().to_vec()),
    ]
}

fn borrowed(fields: &[Option<Vec<u8>>]) -> Vec<SettingsField<'_>> {
    fields.iter().map(Option::as_deref).collect()
}

fn check(
    public_key: &[u8],
    signature: Option<&[u8]>,
    kind: &str,
    scope: &str,
    fields: &[Option<Vec<u8>>],
    what: impl FnOnce() -> String,
) -> Result<(), SettingsError> {
    let Some(signature) = signature else {
        return Err(SettingsError::Unsigned(what()));
    };
    if crypto::verify_settings(public_key, signature, kind, scope, &borrowed(fields)) {
        Ok(())
    } else {
        Err(SettingsError::Mismatch(what()))
    }
}

/// Checks a batch's `batch` group (public key, old-server check, form texts).
pub fn verify_batch(public_key: &[u8], batch: &Batch) -> Result<(), SettingsError> {
    check(
        public_key,
        batch.settings_sig.as_deref(),
        "batch",
        &batch.id,
        &batch_fields(batch),
        || {
            format!(
                "the settings of batch {:?} (its key and old mail server)",
                batch.name
            )
        },
    )
}

/// Checks a batch's `message` group.
pub fn verify_message(public_key: &[u8], batch: &Batch) -> Result<(), SettingsError> {
    check(
        public_key,
        batch.message_sig.as_deref(),
        "message",
        &batch.id,
        &message_fields(batch),
        || format!("the emailed message of batch {:?}", batch.name),
    )
}

/// Checks the saved relay.
pub fn verify_relay(public_key: &[u8], stored: &StoredSmtp) -> Result<(), SettingsError> {
    check(
        public_key,
        stored.sig.as_deref(),
        "relay",
        "",
        &relay_fields(stored),
        || format!("the saved SMTP relay ({}:{})", stored.host, stored.port),
    )
}

/// Signs a batch's `batch` group as it is in `batch`.
pub fn sign_batch(signer: &SettingsSigner, batch: &Batch) -> Vec<u8> {
    signer.sign("batch", &batch.id, &borrowed(&batch_fields(batch)))
}

/// Signs a batch's `message` group as it is in `batch`.
pub fn sign_message(signer: &SettingsSigner, batch: &Batch) -> Vec<u8> {
    signer.sign("message", &batch.id, &borrowed(&message_fields(batch)))
}

/// Signs the relay about to be saved.
pub fn sign_relay(signer: &SettingsSigner, stored: &StoredSmtp) -> Vec<u8> {
    signer.sign("relay", "", &borrowed(&relay_fields(stored)))
}

/// The settings key of the unlocked admin key.
pub fn settings_signer(admin: &AdminKey) -> BatchResult<SettingsSigner> {
    Ok(crypto::settings_signer(admin)?)
}

/// Writes the key file for the unlocked admin key (`admin init`, the setup page,
/// `admin settings-key`).
pub fn install_settings_key(
    admin: &AdminKey,
    key_file: &SettingsKeyFile,
    replace: bool,
) -> BatchResult<KeyFileWrite> {
    let public = settings_signer(admin)?.public_key();
    key_file
        .write(&public, replace)
        .map_err(|e| BatchError::Settings(Box::new(e)))
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
/// The new settings are signed with the unlocked admin key.
pub async fn set_imap(
    store: &Store,
    batch: &Batch,
    settings: Option<ImapSettings>,
    admin: &AdminKey,
) -> BatchResult<Option<imap::ConnectionReport>> {
    let signer = settings_signer(admin)?;
    require_trusted_batch_group(store, admin, &signer, batch).await?;
    let report = match &settings {
        Some(s) => Some(require_usable_imap(s).await?),
        None => None,
    };
    let mut changed = batch.clone();
    changed.imap = settings;
    let sig = sign_batch(&signer, &changed);
    store
        .set_batch_imap(&batch.id, changed.imap.as_ref(), &sig)
        .await?;
    // An admin login (and its probe answers) belongs to the server it was tried on: a
    // new server, or none, removes it, so the next one is tried once before any use.
    let server = |b: &Batch| b.imap.as_ref().map(|i| i.server.clone());
    if batch.admin_login.is_some() && server(batch) != server(&changed) {
        let current = store.require_batch(&batch.id).await?;
        super::admin_login::set_admin_login(store, &current, None, None, admin).await?;
    }
    Ok(report)
}

/// Before re-signing a batch's settings group with a change, or signing it as it stands:
/// the group as stored must be the one the admin signed or, never signed, hold the public
/// key its sealed private key opens to. Otherwise a row changed outside passdrop (say, a
/// swapped public key) would be signed along with the admin's change.
pub(super) async fn require_trusted_batch_group(
    store: &Store,
    admin: &AdminKey,
    signer: &SettingsSigner,
    batch: &Batch,
) -> BatchResult<()> {
    let problem = if batch.settings_sig.is_some() {
        verify_batch(&signer.public_key(), batch).err()
    } else {
        let key = open_batch_key(store, batch, admin).await?;
        (crypto::batch_public_key(&key) != batch.public_key)
            .then(|| SettingsError::Mismatch(format!("the public key of batch {:?}", batch.name)))
    };
    match problem {
        None => Ok(()),
        Some(problem) => {
            refused(store, &batch.id, &problem).await;
            Err(BatchError::Settings(Box::new(problem)))
        }
    }
}

/// Before its links go out: the batch's settings (its public key, old server and what
/// the form shows) must match their signature under the unlocked admin key's settings
/// key.
pub async fn require_signed_batch_by_admin(
    store: &Store,
    admin: &AdminKey,
    batch: &Batch,
) -> BatchResult<()> {
    if batch.settings_sig.is_none() {
        let problem = SettingsError::Unsigned(format!("the settings of batch {:?}", batch.name));
        refused(store, &batch.id, &problem).await;
        return Err(BatchError::Settings(Box::new(problem)));
    }
    require_trusted_batch_group(store, admin, &settings_signer(admin)?, batch).await
}

/// Sets a batch's message (`None`: back to the default), signed with the unlocked admin
/// key.
pub async fn set_message(
    store: &Store,
    batch: &Batch,
    message: Option<(&str, &str)>,
    admin: &AdminKey,
) -> BatchResult<()> {
    let signer = settings_signer(admin)?;
    let mut changed = batch.clone();
    changed.message = message.map(|(s, b)| (s.to_owned(), b.to_owned()));
    let sig = sign_message(&signer, &changed);
    store.set_batch_message(&batch.id, message, &sig).await?;
    Ok(())
}

/// Before a submission is checked with the old server or sealed: the batch's settings
/// must match their signature under the key file's key. A refusal is logged and audited
/// (at most once a minute per batch) and nothing is used.
pub async fn require_signed_batch(
    store: &Store,
    key_file: &SettingsKeyFile,
    batch: &Batch,
) -> BatchResult<()> {
    let verdict = key_file.check(|public| verify_batch(public, batch));
    let Err(problem) = verdict else {
        return Ok(());
    };
    refused(store, &batch.id, &problem).await;
    Err(BatchError::Settings(Box::new(problem)))
}

/// Before sending: the message and the saved relay (when it is the one used) must match
/// their signatures under the unlocked admin key's settings key.
pub async fn require_signed_message(
    store: &Store,
    admin: &AdminKey,
    batch: &Batch,
) -> BatchResult<()> {
    let public = settings_signer(admin)?.public_key();
    if let Err(problem) = verify_message(&public, batch) {
        refused(store, &batch.id, &problem).await;
        return Err(BatchError::Settings(Box::new(problem)));
    }
    Ok(())
}

/// Before each message of a sending run: the message must match its signature under the
/// key file's key (it is read again before each message, so it is checked each time).
pub async fn require_signed_message_file(
    store: &Store,
    key_file: &SettingsKeyFile,
    batch: &Batch,
) -> BatchResult<()> {
    let verdict = key_file.check(|public| verify_message(public, batch));
    let Err(problem) = verdict else {
        return Ok(());
    };
    refused(store, &batch.id, &problem).await;
    Err(BatchError::Settings(Box::new(problem)))
}

/// Logs and audits a refusal (the audit at most once a minute per batch, so a flood of
/// submissions cannot fill the trail).
pub(super) async fn refused(store: &Store, batch_id: &str, problem: &SettingsError) {
    tracing::error!(%batch_id, problem = %problem, "stored settings failed their signature check; refused");
    static LAST: std::sync::Mutex<Vec<(String, i64)>> = std::sync::Mutex::new(Vec::new());
    let now = crate::config::now();
    let due = LAST.lock().map_or(true, |mut last| {
        last.retain(|(_, at)| now - at < 60);
        if last.iter().any(|(id, _)| id == batch_id) {
            false
        } else {
            last.push((batch_id.to_owned(), now));
            true
        }
    });
    if due
        && let Err(e) = store
            .record_event(batch_id, AuditKind::SettingsRefused, 1, now)
            .await
    {
        tracing::error!(error = %e, "could not audit a settings refusal");
    }
}

/// For a batch created in the console without the passphrase (a session is enough for
/// one without an old server), signs its settings the first time its links are given
/// out, which takes the passphrase. Only a batch that has never been signed can be
/// signed this way: none of its groups signed, no password taken yet (one that took a
/// password was signed then, or is from before signatures: `admin sign-settings`), and
/// its public key the one its sealed private key opens to. Anything else stays refused.
pub async fn sign_new_batch(store: &Store, admin: &AdminKey, batch: &Batch) -> BatchResult<()> {
    if batch.settings_sig.is_some() && batch.message_sig.is_some() {
        return Ok(());
    }
    let refuse = |problem: SettingsError| Err(BatchError::Settings(Box::new(problem)));
    // A batch with an old server is always created signed (it takes the passphrase):
    // an unsigned one was changed outside passdrop, or predates signatures.
    if batch.settings_sig.is_some()
        || batch.imap.is_some()
        || batch.message_sig.is_some()
        || store.batch_has_submissions(&batch.id).await?
    {
        let problem = SettingsError::Unsigned(format!(
            "a signature of batch {:?} (which was signed, or took passwords)",
            batch.name
        ));
        refused(store, &batch.id, &problem).await;
        return refuse(problem);
    }
    let key = open_batch_key(store, batch, admin).await?;
    if crypto::batch_public_key(&key) != batch.public_key {
        let problem = SettingsError::Mismatch(format!("the public key of batch {:?}", batch.name));
        refused(store, &batch.id, &problem).await;
        return refuse(problem);
    }
    sign_unsigned(store, admin, batch).await.map(drop)
}

/// Signs a batch's `batch` and `message` groups as they stand, where a signature is
/// missing (by an earlier version, or a batch made without the passphrase): `admin
/// sign-settings`, after listing them, and [`sign_new_batch`]. Returns whether anything
/// was signed.
pub async fn sign_unsigned(store: &Store, admin: &AdminKey, batch: &Batch) -> BatchResult<bool> {
    let signer = settings_signer(admin)?;
    if batch.settings_sig.is_none() {
        require_trusted_batch_group(store, admin, &signer, batch).await?;
    }
    let settings = batch
        .settings_sig
        .is_none()
        .then(|| sign_batch(&signer, batch));
    let message = batch
        .message_sig
        .is_none()
        .then(|| sign_message(&signer, batch));
    if settings.is_none() && message.is_none() {
        return Ok(false);
    }
    store
        .sign_batch_settings(&batch.id, settings.as_deref(), message.as_deref())
        .await?;
    tracing::info!(batch_id = %batch.id, "signed the batch's unsigned settings as they stand");
    Ok(true)
}

/// What `passdrop doctor` says about every stored setting: one line per problem.
pub async fn settings_findings(
    store: &Store,
    key_file: &SettingsKeyFile,
) -> BatchResult<Vec<String>> {
    if !store.admin_exists().await? {
        return Ok(Vec::new());
    }
    let public = match key_file.load() {
        Ok(public) => public,
        Err(e) => return Ok(vec![e.to_string()]),
    };
    let mut out = Vec::new();
    for summary in store.list_batches().await? {
        let b = &summary.batch;
        for verdict in [verify_batch(&public, b), verify_message(&public, b)] {
            if let Err(e) = verdict {
                out.push(e.to_string());
            }
        }
    }
    if let Some(stored) = store.smtp_settings().await?
        && let Err(e) = verify_relay(&public, &stored)
    {
        out.push(e.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
