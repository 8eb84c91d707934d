//! Settings signatures: the settings the server must trust unattended (a batch's public
//! key and old-server check, its message, the saved relay) are signed with an Ed25519 key
//! derived from the admin private key, so only the passphrase can sign; the server checks
//! them with the public half, kept in a file outside the data directory.

use super::*;

/// HKDF info of the settings signing key (derived from the admin private key, so a
/// passphrase change keeps it).
const SETTINGS_KEY_INFO: &[u8] = b"passdrop/settings-signing-key/v1";

/// First field of every signed settings message.
const SETTINGS_DOMAIN: &[u8] = b"passdrop/settings/v1";

/// Length of an Ed25519 public key and of a signature.
pub const SETTINGS_PUBLIC_KEY_BYTES: usize = 32;
/// Length of an Ed25519 signature.
pub const SETTINGS_SIGNATURE_BYTES: usize = 64;

/// The settings signing key: Ed25519, its seed HKDF-SHA256 of the admin private key.
/// Lives only in memory while the admin key is unlocked.
pub struct SettingsSigner {
    pair: ring::signature::Ed25519KeyPair,
}

impl std::fmt::Debug for SettingsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettingsSigner([redacted])")
    }
}

struct SeedLen;
impl ring::hkdf::KeyType for SeedLen {
    fn len(&self) -> usize {
        32
    }
}

/// The settings signing key of an unlocked admin key (the same for every wrap of it).
pub fn settings_signer(admin: &AdminKey) -> Result<SettingsSigner, CryptoError> {
    let ikm = admin.private.as_bytes();
    let mut seed = Zeroizing::new([0u8; 32]);
    ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, SETTINGS_KEY_INFO)
        .extract(ikm)
        .expand(&[SETTINGS_KEY_INFO], SeedLen)
        .and_then(|okm| okm.fill(seed.as_mut_slice()))
        .map_err(|_| CryptoError::Malformed)?;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed.as_slice())
        .map_err(|_| CryptoError::Malformed)?;
    Ok(SettingsSigner { pair })
}

impl SettingsSigner {
    /// The public half, for the key file.
    pub fn public_key(&self) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs one settings group: `kind` (what it is), `scope` (the batch id, or empty for
    /// the relay) and its fields, each length-prefixed.
    pub fn sign(&self, kind: &str, scope: &str, fields: &[SettingsField<'_>]) -> Vec<u8> {
        self.pair
            .sign(&settings_message(kind, scope, fields))
            .as_ref()
            .to_vec()
    }
}

/// One field of a signed settings group: absent (`None`) and empty are told apart.
pub type SettingsField<'a> = Option<&'a [u8]>;

/// The canonical bytes a settings signature covers: the domain (with its version),
/// the kind, the scope, then each field as a presence byte and, when present, a 4-byte
/// big-endian length and the bytes.
fn settings_message(kind: &str, scope: &str, fields: &[SettingsField<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for part in [SETTINGS_DOMAIN, kind.as_bytes(), scope.as_bytes()] {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(
        &u32::try_from(fields.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for field in fields {
        match field {
            None => out.push(0),
            Some(bytes) => {
                out.push(1);
                out.extend_from_slice(
                    &u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes(),
                );
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

/// Whether `signature` is the settings key's signature over exactly this group.
pub fn verify_settings(
    public_key: &[u8],
    signature: &[u8],
    kind: &str,
    scope: &str,
    fields: &[SettingsField<'_>],
) -> bool {
    if public_key.len() != SETTINGS_PUBLIC_KEY_BYTES || signature.len() != SETTINGS_SIGNATURE_BYTES
    {
        return false;
    }
    let message = settings_message(kind, scope, fields);
    // A success is remembered for exactly these bytes (`verified.rs`).
    super::verified::remembered(public_key, signature, &message, || {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
            .verify(&message, signature)
            .is_ok()
    })
}
