//! The admin key: passphrase rules, the Argon2id slots (at most two hashes at once, off
//! the async runtime), creating the key at `admin init` or setup, and unlocking it.

use super::*;

/// Shortest admin passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Longest admin passphrase accepted (Argon2 hashes it whole).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// Argon2 runs at once, at most: each takes 64 MiB, so parallel login attempts cannot
/// exhaust memory.
pub(super) const ARGON2_AT_ONCE: usize = 2;

/// Longest a passphrase check waits for a free Argon2 slot before it is refused as
/// [`BatchError::Busy`] (nothing was checked, so nothing is counted).
pub const ARGON2_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) static ARGON2_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(ARGON2_AT_ONCE);

/// Runs an Argon2-bound closure on a blocking thread, at most `ARGON2_AT_ONCE` at a time.
///
/// The slot moves into the blocking task and is freed only when the hash is done: a
/// caller that goes away (a client hanging up) does not stop a running hash, so it must
/// not free the slot either, or hung-up logins would run any number of 64 MiB hashes at
/// once.
pub(super) async fn run_argon2<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
) -> BatchResult<T> {
    let slot = match tokio::time::timeout(ARGON2_MAX_WAIT, ARGON2_SLOTS.acquire()).await {
        Ok(Ok(slot)) => slot,
        Ok(Err(e)) => return Err(BatchError::Other(anyhow::Error::new(e))),
        Err(_) => return Err(BatchError::Busy),
    };
    Ok(tokio::task::spawn_blocking(move || {
        let result = work();
        drop(slot);
        result
    })
    .await
    .map_err(anyhow::Error::new)??)
}

pub(super) fn check_passphrase_length(passphrase: &SecretString) -> BatchResult<()> {
    if passphrase.expose_secret().len() > MAX_PASSPHRASE_BYTES {
        return Err(BatchError::InvalidName(format!(
            "the passphrase must be at most {MAX_PASSPHRASE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Creates the admin key from a passphrase, refused unless strong enough
/// ([`check_new_passphrase`]; Argon2 runs on a blocking thread).
///
/// Returns the unlocked key, for writing the settings key file ([`install_settings_key`]).
pub async fn init_admin(
    store: &Store,
    passphrase: SecretString,
    kdf: KdfParams,
) -> BatchResult<AdminKey> {
    check_new_passphrase(&passphrase)?;
    if store.admin_exists().await? {
        return Err(StoreError::AdminExists.into());
    }
    let (wrapped, admin) = run_argon2(move || create_and_unlock(&passphrase, kdf)).await?;
    store
        .insert_admin_key(&wrapped, crate::config::now())
        .await?;
    Ok(admin)
}

/// A new admin key, and the same key unlocked (a check that it opens, and the settings
/// key's source).
fn create_and_unlock(
    passphrase: &SecretString,
    kdf: KdfParams,
) -> Result<(crypto::WrappedAdminKey, AdminKey), CryptoError> {
    let wrapped = crypto::create_admin_key(passphrase, kdf)?;
    let admin = crypto::unlock_admin_key(&wrapped, passphrase)?;
    Ok((wrapped, admin))
}

/// Creates the admin key from the one-time setup link's form, using the link up in the
/// same transaction; the passphrase is refused unless strong enough (Argon2 runs on a
/// blocking thread). Then writes the settings key file if this process can; if not
/// (`/etc/passdrop` is root's), logs the exact line to install, which `passdrop doctor`
/// and `passdrop admin settings-key` also give.
pub async fn init_admin_with_setup_token(
    store: &Store,
    setup_token: &LinkToken,
    passphrase: SecretString,
    kdf: KdfParams,
    key_file: &SettingsKeyFile,
) -> BatchResult<()> {
    check_new_passphrase(&passphrase)?;
    let (wrapped, admin) = run_argon2(move || create_and_unlock(&passphrase, kdf)).await?;
    store
        .insert_admin_key_with_setup_token(&setup_token.hash(), &wrapped, crate::config::now())
        .await?;
    match install_settings_key(&admin, key_file, false) {
        Ok(KeyFileWrite::Written | KeyFileWrite::Unchanged) => {
            tracing::info!(path = %key_file.path().display(), "wrote the settings key file");
        }
        Ok(KeyFileWrite::NotWritable { line, why }) => {
            tracing::error!(
                path = %key_file.path().display(),
                %why,
                "could not write the settings key file: no link takes a password until it \
                 exists. As root: echo '{line}' > {}",
                key_file.path().display()
            );
        }
        Err(e) => tracing::error!(problem = %e, "the settings key file was not written"),
    }
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

/// How long a one-time setup link stays valid.
pub const SETUP_LINK_LIFETIME_SECS: i64 = 3600;

/// Creates a one-time setup link (valid one hour) for choosing the admin passphrase in a
/// browser, replacing any earlier one, which stops working. Refused once an admin exists.
/// The link is a secret until used: print it to the person who asked, never to a log.
pub async fn issue_setup_link(store: &Store, public_url: &PublicUrl) -> BatchResult<String> {
    if store.admin_exists().await? {
        return Err(StoreError::AdminExists.into());
    }
    let token = LinkToken::generate()?;
    store
        .replace_setup_token(
            &token.hash(),
            crate::config::now() + SETUP_LINK_LIFETIME_SECS,
        )
        .await?;
    Ok(format!("{public_url}/admin/setup/{}", token.expose()))
}

/// Changes the admin passphrase. The unlocked `admin` key is wrapped again under `new`
/// with `kdf` (the stored key's parameters when `None`), a fresh salt and nonce, checked
/// to unlock, and stored in place of the old wrap in one transaction that also ends every
/// admin session but `keep_session`. `new` is refused unless strong enough. The keypair
/// stays the same, so the batch keys and the saved SMTP password, sealed to its public
/// half, still open and need nothing. Returns the parameters the key is now wrapped with.
pub async fn change_admin_passphrase(
    store: &Store,
    admin: AdminKey,
    new: SecretString,
    kdf: Option<KdfParams>,
    keep_session: Option<&[u8; 32]>,
) -> BatchResult<KdfParams> {
    check_new_passphrase(&new)?;
    let current = store.admin_key().await?.ok_or(BatchError::NoAdmin)?;
    if crypto::admin_public_key(&admin) != current.public_key {
        return Err(BatchError::WrongPassphrase);
    }
    let kdf = kdf.unwrap_or(current.kdf);
    let rewrapped = run_argon2(move || {
        let rewrapped = crypto::rewrap_admin_key(&admin, &new, kdf)?;
        // Before the old wrap is replaced: the new one opens to this very key.
        let reopened = crypto::unlock_admin_key(&rewrapped, &new)?;
        if crypto::admin_public_key(&reopened) != rewrapped.public_key {
            return Err(CryptoError::WrongPassphrase);
        }
        Ok(rewrapped)
    })
    .await?;
    store
        .replace_admin_key(&current, &rewrapped, keep_session)
        .await?;
    tracing::info!(
        m_cost_kib = kdf.m_cost,
        t_cost = kdf.t_cost,
        "the admin passphrase was changed"
    );
    Ok(kdf)
}
