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

pub(super) static ARGON2_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(ARGON2_AT_ONCE);

/// Runs an Argon2-bound closure on a blocking thread, at most `ARGON2_AT_ONCE` at a time.
pub(super) async fn run_argon2<T: Send + 'static>(
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
pub async fn init_admin(
    store: &Store,
    passphrase: SecretString,
    kdf: KdfParams,
) -> BatchResult<()> {
    check_new_passphrase(&passphrase)?;
    if store.admin_exists().await? {
        return Err(StoreError::AdminExists.into());
    }
    let wrapped = run_argon2(move || crypto::create_admin_key(&passphrase, kdf)).await?;
    store
        .insert_admin_key(&wrapped, crate::config::now())
        .await?;
    Ok(())
}

/// Creates the admin key from the one-time setup link's form, using the link up in the
/// same transaction; the passphrase is refused unless strong enough (Argon2 runs on a
/// blocking thread).
pub async fn init_admin_with_setup_token(
    store: &Store,
    setup_token: &LinkToken,
    passphrase: SecretString,
    kdf: KdfParams,
) -> BatchResult<()> {
    check_new_passphrase(&passphrase)?;
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
