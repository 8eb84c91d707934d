//! API tokens for `/api/v1/`: made with the passphrase, shown once, kept only as their
//! SHA-256, checked on every call.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{BatchError, BatchResult};
use crate::crypto::{self, AdminKey};
use crate::storage::{ApiScope, ApiToken, Store};

/// What every token starts with, so secret scanners (and people) recognise one.
pub const API_TOKEN_PREFIX: &str = "pdk_";
/// How long a token works unless told otherwise.
pub const DEFAULT_API_TOKEN_LIFETIME: &str = "90d";
/// Shortest and longest lifetime a token may be given.
const MIN_API_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
const MAX_API_TOKEN_LIFETIME: Duration = Duration::from_secs(366 * 86_400);
/// Longest token name.
const MAX_API_TOKEN_NAME: usize = 64;
/// Characters of the random part: 32 bytes in base64url without padding.
const SECRET_CHARS: usize = 43;

/// A token just made: its text is shown once and never stored.
pub struct NewApiToken {
    /// What was stored.
    pub token: ApiToken,
    /// `pdk_...`, to show once.
    pub text: SecretString,
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not shaped like a passdrop token (`pdk_` and 43 base64url characters).
    Malformed,
    /// No token has this value (never made, or revoked).
    Unknown,
    /// The token's lifetime is over.
    Expired,
}

/// A token lifetime such as `30d`, between 10 minutes and 366 days.
pub fn parse_api_token_lifetime(text: &str) -> Result<Duration, String> {
    let d = crate::config::parse_duration(text)?;
    if d < MIN_API_TOKEN_LIFETIME || d > MAX_API_TOKEN_LIFETIME {
        return Err(format!(
            "{text:?} is out of range: a token lives between 10m and 366d"
        ));
    }
    Ok(d)
}

/// A token name: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_token_name(name: &str) -> BatchResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_API_TOKEN_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(BatchError::InvalidName(format!(
            "the token name {name:?} must be 1 to {MAX_API_TOKEN_NAME} letters, digits, '.', '_' \
             or '-'"
        )))
    }
}

/// SHA-256 of a token's text, as stored.
pub fn api_token_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Makes a token. The unlocked admin key is the proof that whoever asks holds the
/// passphrase; the token itself is random and independent of it.
pub async fn create_api_token(
    store: &Store,
    _admin: &AdminKey,
    name: &str,
    scope: ApiScope,
    lifetime: Duration,
    now: i64,
) -> BatchResult<NewApiToken> {
    check_token_name(name)?;
    let secret = crypto::random_bytes::<32>()?;
    let text = SecretString::from(format!(
        "{API_TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(secret)
    ));
    let token = ApiToken {
        name: name.to_owned(),
        token_hash: api_token_hash(text.expose_secret()),
        scope,
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
        last_used_at: None,
    };
    if !store.insert_api_token(&token).await? {
        return Err(BatchError::InvalidName(format!(
            "an API token named {name:?} already exists (revoke it first, or choose another name)"
        )));
    }
    Ok(NewApiToken { token, text })
}

/// Whether `text` has a token's shape, without looking anything up.
fn well_formed(text: &str) -> bool {
    text.strip_prefix(API_TOKEN_PREFIX).is_some_and(|secret| {
        secret.len() == SECRET_CHARS
            && URL_SAFE_NO_PAD
                .decode(secret)
                .is_ok_and(|bytes| bytes.len() == 32 && URL_SAFE_NO_PAD.encode(&bytes) == secret)
    })
}

/// The token `text` names, if it is well formed, known and unexpired; its last use is
/// noted. The lookup is by hash, and the hashes are compared again in constant time.
pub async fn authenticate_api_token(
    store: &Store,
    text: &str,
    now: i64,
) -> BatchResult<Result<ApiToken, TokenRefusal>> {
    if !well_formed(text) {
        return Ok(Err(TokenRefusal::Malformed));
    }
    let hash = api_token_hash(text);
    let Some(token) = store.api_token_by_hash(&hash).await? else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    if !bool::from(token.token_hash.ct_eq(&hash)) {
        return Ok(Err(TokenRefusal::Unknown));
    }
    if token.expires_at <= now {
        return Ok(Err(TokenRefusal::Expired));
    }
    store.touch_api_token(&token.name, now).await?;
    Ok(Ok(token))
}

/// Revokes (deletes) the token `name`.
pub async fn revoke_api_token(store: &Store, name: &str) -> BatchResult<()> {
    if store.delete_api_token(name).await? {
        Ok(())
    } else {
        Err(BatchError::InvalidName(format!(
            "no API token is named {name:?} (`passdrop api-token list` shows them)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        let good = format!("pdk_{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        assert!(well_formed(&good));
        assert!(!well_formed(&good[1..]));
        assert!(!well_formed(&format!("{good}x")));
        assert!(!well_formed("pdk_"));
        assert!(!well_formed("Bearer pdk_abc"));
    }

    #[test]
    fn token_names_and_lifetimes_are_checked() {
        assert!(check_token_name("halo-psa_1.0").is_ok());
        assert!(check_token_name("").is_err());
        assert!(check_token_name("has space").is_err());
        assert_eq!(
            parse_api_token_lifetime("30d").ok(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert!(parse_api_token_lifetime("400d").is_err());
        assert!(parse_api_token_lifetime("1m").is_err());
    }
}
