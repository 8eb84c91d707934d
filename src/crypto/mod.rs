//! The key hierarchy and every sealing operation, built only from HPKE (RFC 9180, in
//! `hpke_base.rs`: curve25519-dalek, HKDF-SHA256 and ChaCha20-Poly1305, checked against
//! the RFC's vector and the `hpke` crate), `argon2` and `chacha20poly1305` (SECURITY.md's
//! cryptography inventory); nothing here invents a construction.
//!
//! - Link tokens: 32 bytes (from the OS CSPRNG, or HMAC-SHA256 of the batch's link key,
//!   `link_key.rs`), base64url without padding, behind the version marker and the
//!   batch's link tag (`2.{tag}.{secret}`); only SHA-256 of the token text is stored.
//! - Admin key: an HPKE X25519 keypair whose private key is wrapped with ChaCha20-Poly1305
//!   under Argon2id(passphrase).
//! - Batch key: one HPKE keypair per batch, its private key HPKE-sealed to the admin key.
//! - Password: padded to 1,024 bytes behind its length, HPKE-sealed to the batch key, the
//!   AAD binding batch, recipient, EmailAddress and UserName (the SMTP password is padded
//!   the same way). Records written before padding (format 1) still open.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::TryRng as _;
use rand::rngs::SysRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

mod hpke_base;
mod link_key;
mod settings;
mod verified;
pub use link_key::*;
pub use settings::*;

/// HPKE `info` for a sealed password, format 1 (unpadded; still opened, never written).
const SUBMISSION_INFO_V1: &[u8] = b"passdrop/submission/v1";
/// HPKE `info` for a sealed password, format 2 (padded, see [`pad_secret`]).
const SUBMISSION_INFO_V2: &[u8] = b"passdrop/submission/v2";
/// HPKE `info` for a batch private key sealed to the admin.
const BATCH_KEY_INFO: &[u8] = b"passdrop/batch-key/v1";
/// HPKE `info` for a link token kept (sealed) so the admin can fetch links again.
const LINK_TOKEN_INFO: &[u8] = b"passdrop/link-token/v1";
/// HPKE `info` for the SMTP password sealed to the admin, format 1 (unpadded; still
/// opened, never written).
const SMTP_PASSWORD_INFO_V1: &[u8] = b"passdrop/smtp-password/v1";
/// HPKE `info` for the SMTP password sealed to the admin, format 2 (padded).
const SMTP_PASSWORD_INFO_V2: &[u8] = b"passdrop/smtp-password/v2";
/// Domain separation for the admin key wrap's AAD.
const ADMIN_WRAP_LABEL: &[u8] = b"passdrop/admin-key/v1";
/// HPKE `info` (and first AAD field) of a batch's old-server admin password (padded).
const ADMIN_LOGIN_INFO_V2: &[u8] = b"passdrop/imap-admin-password/v2";

/// Length of a link token in bytes before encoding.
pub const TOKEN_BYTES: usize = 32;
/// Length of a link token once base64url-encoded without padding.
pub const TOKEN_CHARS: usize = 43;
/// Length of an Argon2 salt.
pub const SALT_BYTES: usize = 16;

/// A sealed secret (a password, the SMTP password) is padded to this many bytes of
/// secret, so that every ciphertext up to it has one length: the longest password a
/// user may submit (`batch::MAX_PASSWORD_BYTES`). A longer secret takes whole multiples.
pub const PADDED_SECRET_BYTES: usize = 1024;

/// The padded plaintext starts with the secret's length, as a big-endian `u32`.
const LENGTH_PREFIX_BYTES: usize = 4;

/// The format byte that starts the stored `enc` of a padded (format 2) record. A format 1
/// record's `enc` is the bare 32-byte encapsulated key, so the two cannot be confused.
const FORMAT_V2: u8 = 2;

/// Failures of the cryptographic layer. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// The passphrase did not open the admin key (or the stored key was altered).
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A stored record did not open: altered, moved to another row, or not ours.
    #[error("a sealed record failed to open (it was altered or does not belong here)")]
    OpenFailed,
    /// A stored key or record has the wrong shape.
    #[error("a stored key or record is malformed")]
    Malformed,
    /// Argon2 parameters were rejected.
    #[error("invalid key-derivation parameters: {0}")]
    KdfParams(String),
    /// HPKE refused to seal.
    #[error("sealing failed")]
    SealFailed,
}

/// Fills `buf` from the operating system's CSPRNG.
fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    SysRng.try_fill_bytes(buf).map_err(|_| CryptoError::Random)
}

/// Random bytes of a fixed length, from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill_random(&mut out)?;
    Ok(out)
}

/// The version marker that starts a format 2 link token (`2.{tag}.{secret}`).
const LINK_FORMAT_V2: &str = "2";
/// Random bytes in a batch's link tag.
pub const LINK_TAG_BYTES: usize = 6;
/// Characters of a batch's link tag: lowercase hex.
pub const LINK_TAG_CHARS: usize = 2 * LINK_TAG_BYTES;

/// A batch's link tag: 6 random bytes as 12 lowercase hex digits, drawn when the batch is
/// created (or by migration 0008 for older batches) and carried in every format 2 link of
/// the batch. Not secret and not user data: it names the batch, so that after a purge
/// its tombstone can still tell a link holder the collection has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTag(String);

impl LinkTag {
    /// Draws a fresh tag from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(hex::encode(random_bytes::<LINK_TAG_BYTES>()?)))
    }

    /// Parses a tag; `None` unless it is exactly 12 lowercase hex digits.
    pub fn parse(candidate: &str) -> Option<Self> {
        Self::is_tag(candidate).then(|| Self(candidate.to_owned()))
    }

    /// Whether `candidate` is exactly 12 lowercase hex digits.
    fn is_tag(candidate: &str) -> bool {
        candidate.len() == LINK_TAG_CHARS
            && candidate
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A link token as handed to a user. Secret. Two formats (ARCHITECTURE.md, "Links"):
///
/// - format 1, the bare secret: 43 base64url characters (32 random bytes). Links
///   emailed before format 2 have it; setup links and session cookies still use it;
/// - format 2, `2.{tag}.{secret}`: the version marker `2`, the batch's [`LinkTag`] and
///   the same 43-character secret, separated by dots (outside the base64url alphabet,
///   so the two formats cannot be confused).
///
/// Either way only SHA-256 of the whole text is stored.
pub struct LinkToken(SecretString);

impl LinkToken {
    /// Draws a fresh format 1 token (the bare secret) from the OS CSPRNG: setup links
    /// and sessions. A batch's first links are derived ([`LinkKey::derive_token`]),
    /// reissued ones drawn with [`LinkToken::generate_tagged`].
    pub fn generate() -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(random_bytes::<TOKEN_BYTES>()?);
        Ok(Self(SecretString::from(
            URL_SAFE_NO_PAD.encode(raw.as_slice()),
        )))
    }

    /// Draws a fresh format 2 token for a batch's link: `2.{tag}.{secret}`.
    pub fn generate_tagged(tag: &LinkTag) -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(random_bytes::<TOKEN_BYTES>()?);
        let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_slice()));
        Ok(Self(SecretString::from(format!(
            "{LINK_FORMAT_V2}.{}.{}",
            tag.as_str(),
            secret.as_str()
        ))))
    }

    /// Parses a token taken from a URL; `None` unless it has exactly one of the shapes we
    /// issue (format 1 or 2), spelt canonically.
    pub fn parse(candidate: &str) -> Option<Self> {
        let secret = match candidate.split_once('.') {
            None => candidate,
            Some((LINK_FORMAT_V2, rest)) => {
                let (tag, secret) = rest.split_once('.')?;
                if !LinkTag::is_tag(tag) {
                    return None;
                }
                secret
            }
            Some(_) => return None,
        };
        if secret.len() != TOKEN_CHARS {
            return None;
        }
        // Decoded on the stack, not allocated (issue 21: a page's parse was four
        // allocations). The engine refuses padding and a last character with bits set
        // beyond the 256 encoded (`decode_allow_trailing_bits` is off), so one token
        // has one spelling; `parsing_accepts_only_the_canonical_spelling` pins it.
        let mut decoded = Zeroizing::new([0u8; TOKEN_BYTES + 1]);
        if URL_SAFE_NO_PAD.decode_slice(secret, decoded.as_mut_slice()) != Ok(TOKEN_BYTES) {
            return None;
        }
        Some(Self(SecretString::from(candidate.to_owned())))
    }

    /// The batch tag a format 2 token carries; `None` for format 1.
    pub fn tag(&self) -> Option<LinkTag> {
        let text = self.0.expose_secret();
        let rest = text.strip_prefix(LINK_FORMAT_V2)?.strip_prefix('.')?;
        rest.split_once('.')
            .and_then(|(tag, _)| LinkTag::parse(tag))
    }

    /// The token text, for building a link. Never log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// SHA-256 of the token text (for format 2, of the whole `2.{tag}.{secret}`): the
    /// only form that is ever stored.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.expose_secret().as_bytes()).into()
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

/// Argon2id cost parameters, stored beside each wrapped key so they can change later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl KdfParams {
    /// The parameters SECURITY.md states: m=64 MiB, t=3, p=1.
    pub const DEFAULT: Self = Self {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
}

/// The admin private key wrapped under the passphrase, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedAdminKey {
    /// The admin's HPKE public key (not secret).
    pub public_key: Vec<u8>,
    /// Argon2id salt.
    pub salt: Vec<u8>,
    /// Argon2id parameters used.
    pub kdf: KdfParams,
    /// ChaCha20-Poly1305 nonce.
    pub nonce: Vec<u8>,
    /// The wrapped private key, with its tag.
    pub ciphertext: Vec<u8>,
}

/// The admin's private key once unwrapped. Lives only in memory, zeroized on drop.
pub struct AdminKey {
    private: hpke_base::PrivateKey,
}

/// A batch's private key once opened. Lives only in memory, zeroized on drop.
pub struct BatchKey {
    private: hpke_base::PrivateKey,
}

/// A batch private key sealed to the admin public key, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatchKey {
    /// HPKE encapsulated key.
    pub enc: Vec<u8>,
    /// HPKE ciphertext of the private key.
    pub ciphertext: Vec<u8>,
}

/// A password sealed to a batch public key, as stored.
///
/// Two formats open: format 2 (written since passwords are padded) stores `enc` as the
/// format byte 2 followed by the 32-byte HPKE encapsulated key, and seals the padded
/// password under the `info` `passdrop/submission/v2`; format 1 (earlier releases)
/// stores the bare 32-byte key and the password unpadded under `passdrop/submission/v1`.
/// The stored length of `enc` says which: no record is tried both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPassword {
    /// The format byte (format 2) and the HPKE encapsulated key.
    pub enc: Vec<u8>,
    /// HPKE ciphertext of the (padded) password.
    pub ciphertext: Vec<u8>,
}

/// What a sealed password is bound to. A ciphertext opened with any other binding fails.
#[derive(Debug, Clone, Copy)]
pub struct SubmissionBinding<'a> {
    /// The batch id.
    pub batch_id: &'a str,
    /// The recipient row id.
    pub recipient_id: i64,
    /// The mailbox address.
    pub email: &'a str,
    /// The IMAP user name.
    pub user_name: &'a str,
}

/// Encodes fields as (u32 big-endian length, bytes)*, so no two field lists share an encoding.
fn length_prefixed(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum());
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

impl SubmissionBinding<'_> {
    /// The AAD, starting with the format's `info`.
    fn aad(&self, info: &[u8]) -> Vec<u8> {
        let recipient = self.recipient_id.to_string();
        length_prefixed(&[
            info,
            self.batch_id.as_bytes(),
            recipient.as_bytes(),
            self.email.as_bytes(),
            self.user_name.as_bytes(),
        ])
    }
}

fn admin_wrap_aad(public_key: &[u8]) -> Vec<u8> {
    // There is one admin per installation; the label names it and the public key binds
    // the wrapped private key to its own public half.
    length_prefixed(&[ADMIN_WRAP_LABEL, b"admin", public_key])
}

fn batch_key_aad(batch_id: &str) -> Vec<u8> {
    length_prefixed(&[BATCH_KEY_INFO, batch_id.as_bytes()])
}

fn derive_wrapping_key(
    passphrase: &SecretString,
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let params = Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| CryptoError::KdfParams(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(
            passphrase.expose_secret().as_bytes(),
            salt,
            key.as_mut_slice(),
        )
        .map_err(|e| CryptoError::KdfParams(e.to_string()))?;
    Ok(key)
}

/// Creates the admin keypair and wraps its private key under `passphrase` with `kdf`.
/// Runs Argon2: call it off the async runtime.
pub fn create_admin_key(
    passphrase: &SecretString,
    kdf: KdfParams,
) -> Result<WrappedAdminKey, CryptoError> {
    wrap_admin_key(&hpke_base::PrivateKey::generate()?, passphrase, kdf)
}

/// Wraps the unlocked admin key again, under a new passphrase and `kdf`, with a fresh
/// salt and nonce: the keypair is the same, so everything sealed to its public key (the
/// batch keys, the SMTP password) still opens. Runs Argon2: call it off the async runtime.
pub fn rewrap_admin_key(
    admin: &AdminKey,
    new_passphrase: &SecretString,
    kdf: KdfParams,
) -> Result<WrappedAdminKey, CryptoError> {
    wrap_admin_key(&admin.private, new_passphrase, kdf)
}

/// The admin public key that belongs to an unlocked admin key.
pub fn admin_public_key(admin: &AdminKey) -> Vec<u8> {
    admin.private.public().to_vec()
}

/// Wraps `private` under Argon2id(`passphrase`, a fresh salt) with a fresh nonce.
fn wrap_admin_key(
    private: &hpke_base::PrivateKey,
    passphrase: &SecretString,
    kdf: KdfParams,
) -> Result<WrappedAdminKey, CryptoError> {
    let public_key = private.public().to_vec();
    let salt = random_bytes::<SALT_BYTES>()?.to_vec();
    let nonce_bytes = random_bytes::<12>()?;
    let wrapping = derive_wrapping_key(passphrase, &salt, kdf)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*wrapping));
    let private_bytes = private.as_bytes();
    let aad = admin_wrap_aad(&public_key);
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: private_bytes.as_slice(),
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::SealFailed)?;
    Ok(WrappedAdminKey {
        public_key,
        salt,
        kdf,
        nonce: nonce_bytes.to_vec(),
        ciphertext,
    })
}

/// Unwraps the admin private key with `passphrase`. Runs Argon2: call it off the async
/// runtime. A wrong passphrase and an altered record both give `WrongPassphrase`.
pub fn unlock_admin_key(
    wrapped: &WrappedAdminKey,
    passphrase: &SecretString,
) -> Result<AdminKey, CryptoError> {
    let nonce: [u8; 12] = wrapped
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    let wrapping = derive_wrapping_key(passphrase, &wrapped.salt, wrapped.kdf)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*wrapping));
    let aad = admin_wrap_aad(&wrapped.public_key);
    let private_bytes = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &wrapped.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::WrongPassphrase)?,
    );
    let private = hpke_base::PrivateKey::from_bytes(&private_bytes)?;
    // The public key stored in the clear must be the private key's own half.
    let derived_public = private.public();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        derived_public.as_slice(),
        wrapped.public_key.as_slice(),
    )) {
        return Err(CryptoError::WrongPassphrase);
    }
    Ok(AdminKey { private })
}

/// HPKE base-mode single-shot seal (the suite above) to `public`: the encapsulated key
/// and the ciphertext.
fn hpke_seal(
    public: &[u8; hpke_base::KEY_BYTES],
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let (enc, ciphertext) = hpke_base::seal(public, info, plaintext, aad)?;
    Ok((enc.to_vec(), ciphertext))
}

/// Creates a batch keypair; returns its public key and its private key sealed to the admin.
pub fn create_batch_key(
    admin_public_key: &[u8],
    batch_id: &str,
) -> Result<(Vec<u8>, SealedBatchKey), CryptoError> {
    let admin_public = hpke_base::public_key(admin_public_key)?;
    let private = hpke_base::PrivateKey::generate()?;
    let (enc, ciphertext) = hpke_seal(
        &admin_public,
        BATCH_KEY_INFO,
        private.as_bytes(),
        &batch_key_aad(batch_id),
    )?;
    Ok((
        private.public().to_vec(),
        SealedBatchKey { enc, ciphertext },
    ))
}

/// The public half of an opened batch key (to check it against the stored one).
pub fn batch_public_key(key: &BatchKey) -> Vec<u8> {
    key.private.public().to_vec()
}

/// Opens a batch private key with the unlocked admin key.
pub fn open_batch_key(
    admin: &AdminKey,
    sealed: &SealedBatchKey,
    batch_id: &str,
) -> Result<BatchKey, CryptoError> {
    let private_bytes = hpke_base::open(
        &admin.private,
        BATCH_KEY_INFO,
        &sealed.enc,
        &sealed.ciphertext,
        &batch_key_aad(batch_id),
    )?;
    Ok(BatchKey {
        private: hpke_base::PrivateKey::from_bytes(&private_bytes)?,
    })
}

/// The padded form of `secret`: its length (big-endian `u32`), the secret, then zeros up
/// to [`PADDED_SECRET_BYTES`] of secret (or the next whole multiple of it, for a longer
/// one). Every secret up to that size pads to the same length.
fn pad_secret(secret: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let len = u32::try_from(secret.len()).map_err(|_| CryptoError::SealFailed)?;
    let block = LENGTH_PREFIX_BYTES + PADDED_SECRET_BYTES;
    let padded_len = (LENGTH_PREFIX_BYTES + secret.len()).div_ceil(block) * block;
    let mut out = Zeroizing::new(Vec::with_capacity(padded_len));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(secret);
    out.resize(padded_len, 0);
    Ok(out)
}

/// The secret inside a padded plaintext; `Malformed` unless the length fits and every
/// padding byte is zero (a record that opened was sealed by us, so this is a bug check).
fn unpad_secret(padded: &[u8]) -> Result<&[u8], CryptoError> {
    let (prefix, rest) = padded
        .split_first_chunk::<LENGTH_PREFIX_BYTES>()
        .ok_or(CryptoError::Malformed)?;
    let len = usize::try_from(u32::from_be_bytes(*prefix)).map_err(|_| CryptoError::Malformed)?;
    if len > rest.len() {
        return Err(CryptoError::Malformed);
    }
    let (secret, padding) = rest.split_at(len);
    if padding.iter().any(|&b| b != 0) {
        return Err(CryptoError::Malformed);
    }
    Ok(secret)
}

/// Seals `secret` padded, as a format 2 record: the format byte, then the encapsulated
/// key, and the ciphertext of the padded secret.
fn seal_padded(
    public: &[u8; hpke_base::KEY_BYTES],
    info: &[u8],
    secret: &[u8],
    aad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let padded = pad_secret(secret)?;
    let (enc, ciphertext) = hpke_seal(public, info, &padded, aad)?;
    let mut versioned = Vec::with_capacity(1 + enc.len());
    versioned.push(FORMAT_V2);
    versioned.extend_from_slice(&enc);
    Ok((versioned, ciphertext))
}

/// The formats a stored secret may have.
enum Format {
    /// Unpadded, `enc` the bare encapsulated key.
    V1,
    /// Padded, `enc` the format byte and the encapsulated key.
    V2,
}

/// Which format a stored `enc` names, and the encapsulated key inside it.
fn format_of(enc: &[u8]) -> Result<(Format, &[u8]), CryptoError> {
    match enc {
        [FORMAT_V2, key @ ..] if key.len() == hpke_base::KEY_BYTES => Ok((Format::V2, key)),
        key if key.len() == hpke_base::KEY_BYTES => Ok((Format::V1, key)),
        _ => Err(CryptoError::OpenFailed),
    }
}

/// Opens a stored secret of either format: `infos` are the format 1 and 2 `info`s, and
/// `aad` builds the AAD from the format's `info`.
fn open_versioned(
    private: &hpke_base::PrivateKey,
    infos: (&[u8], &[u8]),
    enc: &[u8],
    ciphertext: &[u8],
    aad: impl Fn(&[u8]) -> Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (format, key) = format_of(enc)?;
    match format {
        Format::V1 => hpke_base::open(private, infos.0, key, ciphertext, &aad(infos.0)),
        Format::V2 => {
            let padded = hpke_base::open(private, infos.1, key, ciphertext, &aad(infos.1))?;
            Ok(Zeroizing::new(unpad_secret(&padded)?.to_vec()))
        }
    }
}

/// Seals a password to a batch public key, bound to `binding`, padded (format 2) so
/// that its length does not show.
pub fn seal_password(
    batch_public_key: &[u8],
    binding: SubmissionBinding<'_>,
    password: &SecretString,
) -> Result<SealedPassword, CryptoError> {
    let public = hpke_base::public_key(batch_public_key)?;
    let (enc, ciphertext) = seal_padded(
        &public,
        SUBMISSION_INFO_V2,
        password.expose_secret().as_bytes(),
        &binding.aad(SUBMISSION_INFO_V2),
    )?;
    Ok(SealedPassword { enc, ciphertext })
}

/// Opens a sealed password of either format; fails unless `binding` is exactly the one
/// it was sealed with.
pub fn open_password(
    batch: &BatchKey,
    binding: SubmissionBinding<'_>,
    sealed: &SealedPassword,
) -> Result<SecretBox<[u8]>, CryptoError> {
    let plaintext = open_versioned(
        &batch.private,
        (SUBMISSION_INFO_V1, SUBMISSION_INFO_V2),
        &sealed.enc,
        &sealed.ciphertext,
        |info| binding.aad(info),
    )?;
    Ok(SecretBox::from(Box::<[u8]>::from(plaintext.as_slice())))
}

/// A link token sealed to its batch key, as stored: only the admin passphrase can
/// recover the link from it (so the console can offer the links again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedToken {
    /// HPKE encapsulated key.
    pub enc: Vec<u8>,
    /// HPKE ciphertext of the token text.
    pub ciphertext: Vec<u8>,
}

fn token_aad(batch_id: &str, email: &str) -> Vec<u8> {
    length_prefixed(&[LINK_TOKEN_INFO, batch_id.as_bytes(), email.as_bytes()])
}

/// Seals a link token to the batch public key, bound to its batch and recipient's
/// address (unique within a batch, and known before the recipient row exists).
pub fn seal_token(
    batch_public_key: &[u8],
    batch_id: &str,
    email: &str,
    token: &LinkToken,
) -> Result<SealedToken, CryptoError> {
    let public = hpke_base::public_key(batch_public_key)?;
    let (enc, ciphertext) = hpke_seal(
        &public,
        LINK_TOKEN_INFO,
        token.expose().as_bytes(),
        &token_aad(batch_id, email),
    )?;
    Ok(SealedToken { enc, ciphertext })
}

/// Opens a sealed link token; fails unless batch and recipient are the sealed ones.
pub fn open_token(
    batch: &BatchKey,
    batch_id: &str,
    email: &str,
    sealed: &SealedToken,
) -> Result<LinkToken, CryptoError> {
    let plaintext = hpke_base::open(
        &batch.private,
        LINK_TOKEN_INFO,
        &sealed.enc,
        &sealed.ciphertext,
        &token_aad(batch_id, email),
    )?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| CryptoError::Malformed)?;
    LinkToken::parse(text).ok_or(CryptoError::Malformed)
}

/// A secret sealed with HPKE to the admin public key, as stored: format 2 (padded,
/// `enc` starting with the format byte) or format 1, as for [`SealedPassword`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The format byte (format 2) and the HPKE encapsulated key.
    pub enc: Vec<u8>,
    /// HPKE ciphertext.
    pub ciphertext: Vec<u8>,
}

/// Where an SMTP password may be used: the relay as saved, all of whose fields bind the
/// sealed password.
#[derive(Debug, Clone, Copy)]
pub struct SmtpBinding<'a> {
    /// Host.
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// `tls`, `starttls` or `none`.
    pub security: &'a str,
    /// Login name.
    pub user: &'a str,
    /// Extra authority trusted (PEM), if any.
    pub ca_pem: Option<&'a str>,
}

fn smtp_password_aad(info: &[u8], b: SmtpBinding<'_>) -> Vec<u8> {
    length_prefixed(&[
        info,
        b.host.as_bytes(),
        &b.port.to_be_bytes(),
        b.security.as_bytes(),
        b.user.as_bytes(),
        b.ca_pem.unwrap_or_default().as_bytes(),
    ])
}

/// Seals the SMTP relay's password to the admin public key, bound to the relay's host,
/// port, encryption, user name and trusted authority: with any of them changed in the
/// database, it no longer opens. Padded (format 2), so its length does not show.
pub fn seal_smtp_password(
    admin_public_key: &[u8],
    binding: SmtpBinding<'_>,
    password: &SecretString,
) -> Result<SealedSecret, CryptoError> {
    let public = hpke_base::public_key(admin_public_key)?;
    let (enc, ciphertext) = seal_padded(
        &public,
        SMTP_PASSWORD_INFO_V2,
        password.expose_secret().as_bytes(),
        &smtp_password_aad(SMTP_PASSWORD_INFO_V2, binding),
    )?;
    Ok(SealedSecret { enc, ciphertext })
}

/// Opens the SMTP password (either format) with the unlocked admin key.
pub fn open_smtp_password(
    admin: &AdminKey,
    binding: SmtpBinding<'_>,
    sealed: &SealedSecret,
) -> Result<SecretString, CryptoError> {
    let plaintext = open_versioned(
        &admin.private,
        (SMTP_PASSWORD_INFO_V1, SMTP_PASSWORD_INFO_V2),
        &sealed.enc,
        &sealed.ciphertext,
        |info| smtp_password_aad(info, binding),
    )?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| CryptoError::Malformed)?;
    Ok(SecretString::from(text.to_owned()))
}

/// Where a batch's old-server admin password may be used: its batch, the login form and
/// the admin's login. With any of them changed in the database, it no longer opens.
#[derive(Debug, Clone, Copy)]
pub struct AdminLoginBinding<'a> {
    /// The batch id.
    pub batch_id: &'a str,
    /// The login form (`dovecot`, `exchange`, `mirapoint`, `userroot`).
    pub form: &'a str,
    /// The admin's login.
    pub user: &'a str,
}

fn admin_login_aad(b: AdminLoginBinding<'_>) -> Vec<u8> {
    length_prefixed(&[
        ADMIN_LOGIN_INFO_V2,
        b.batch_id.as_bytes(),
        b.form.as_bytes(),
        b.user.as_bytes(),
    ])
}

/// Seals a batch's old-server admin password to the batch public key exactly as users'
/// passwords are (HPKE, padded), under its own label and bound to batch, form and login.
pub fn seal_admin_password(
    batch_public_key: &[u8],
    binding: AdminLoginBinding<'_>,
    password: &SecretString,
) -> Result<SealedSecret, CryptoError> {
    let public = hpke_base::public_key(batch_public_key)?;
    let (enc, ciphertext) = seal_padded(
        &public,
        ADMIN_LOGIN_INFO_V2,
        password.expose_secret().as_bytes(),
        &admin_login_aad(binding),
    )?;
    Ok(SealedSecret { enc, ciphertext })
}

/// Opens a batch's admin password with its batch key; fails unless `binding` is the
/// sealed one. Only the padded format exists.
pub fn open_admin_password(
    batch: &BatchKey,
    binding: AdminLoginBinding<'_>,
    sealed: &SealedSecret,
) -> Result<SecretBox<[u8]>, CryptoError> {
    let (Format::V2, key) = format_of(&sealed.enc)? else {
        return Err(CryptoError::OpenFailed);
    };
    let padded = hpke_base::open(
        &batch.private,
        ADMIN_LOGIN_INFO_V2,
        key,
        &sealed.ciphertext,
        &admin_login_aad(binding),
    )?;
    Ok(SecretBox::from(Box::<[u8]>::from(unpad_secret(&padded)?)))
}

/// Constant-time equality of two secret strings (lengths may leak, contents do not).
pub fn secrets_equal(a: &SecretString, b: &SecretString) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(
        a.expose_secret().as_bytes(),
        b.expose_secret().as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_password_opens_only_with_its_batch_form_and_login() {
        let (public, sealed_key) = create_batch_key_for_test("b1");
        let binding = AdminLoginBinding {
            batch_id: "b1",
            form: "dovecot",
            user: "mailadmin",
        };
        let pw = SecretString::from("Admin CANARY pw".to_owned());
        let sealed = seal_admin_password(&public, binding, &pw).unwrap();
        let opened = open_admin_password(&sealed_key, binding, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), b"Admin CANARY pw");
        for other in [
            AdminLoginBinding {
                batch_id: "b2",
                ..binding
            },
            AdminLoginBinding {
                form: "exchange",
                ..binding
            },
            AdminLoginBinding {
                user: "root",
                ..binding
            },
        ] {
            assert!(open_admin_password(&sealed_key, other, &sealed).is_err());
        }
        // A user's password record never opens as the admin password, nor the reverse.
        let user = SubmissionBinding {
            batch_id: "b1",
            recipient_id: 1,
            email: "a@b",
            user_name: "a",
        };
        let as_user = seal_password(&public, user, &pw).unwrap();
        let as_secret = SealedSecret {
            enc: as_user.enc,
            ciphertext: as_user.ciphertext,
        };
        assert!(open_admin_password(&sealed_key, binding, &as_secret).is_err());
    }

    fn create_batch_key_for_test(id: &str) -> (Vec<u8>, BatchKey) {
        let passphrase = SecretString::from("admin login unit test".to_owned());
        let kdf = KdfParams {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        };
        let admin =
            unlock_admin_key(&create_admin_key(&passphrase, kdf).unwrap(), &passphrase).unwrap();
        let (public, sealed) = create_batch_key(&admin_public_key(&admin), id).unwrap();
        let key = open_batch_key(&admin, &sealed, id).unwrap();
        (public, key)
    }

    #[test]
    fn settings_signatures_bind_kind_scope_and_fields_and_survive_a_rewrap() {
        let passphrase = SecretString::from("settings signing test".to_owned());
        let wrapped = create_admin_key(&passphrase, TEST_KDF).unwrap();
        let admin = unlock_admin_key(&wrapped, &passphrase).unwrap();
        let signer = settings_signer(&admin).unwrap();
        let public = signer.public_key();
        let fields: [SettingsField<'_>; 2] = [Some(b"imap.example.org"), None];
        let sig = signer.sign("batch", "b1", &fields);
        assert!(verify_settings(&public, &sig, "batch", "b1", &fields));
        // Remembered once verified (`verified.rs`), for exactly those bytes: a changed
        // signature or key is still checked in full, and refused.
        assert!(verify_settings(&public, &sig, "batch", "b1", &fields));
        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        assert!(!verify_settings(&public, &flipped, "batch", "b1", &fields));
        let mut other_key = public.clone();
        other_key[0] ^= 1;
        assert!(!verify_settings(&other_key, &sig, "batch", "b1", &fields));
        assert!(!verify_settings(&public, &sig, "batch", "b2", &fields));
        assert!(!verify_settings(&public, &sig, "message", "b1", &fields));
        assert!(!verify_settings(
            &public,
            &sig,
            "batch",
            "b1",
            &[Some(b"evil.example"), None]
        ));
        assert!(!verify_settings(
            &public,
            &sig,
            "batch",
            "b1",
            &[Some(b"imap.example.org"), Some(b"")]
        ));
        assert!(!verify_settings(&public, &[], "batch", "b1", &fields));
        // A new passphrase wraps the same admin key: the signing key stays the same.
        let new = SecretString::from("another settings passphrase".to_owned());
        let rewrapped = rewrap_admin_key(&admin, &new, TEST_KDF).unwrap();
        let again = unlock_admin_key(&rewrapped, &new).unwrap();
        assert_eq!(settings_signer(&again).unwrap().public_key(), public);
        // Another admin key has another signing key.
        let other = create_admin_key(&passphrase, TEST_KDF).unwrap();
        let other = unlock_admin_key(&other, &passphrase).unwrap();
        assert_ne!(settings_signer(&other).unwrap().public_key(), public);
    }

    /// Cheap parameters so unit tests stay fast; the format is the same.
    const TEST_KDF: KdfParams = KdfParams {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn binding<'a>(
        batch: &'a str,
        id: i64,
        email: &'a str,
        user: &'a str,
    ) -> SubmissionBinding<'a> {
        SubmissionBinding {
            batch_id: batch,
            recipient_id: id,
            email,
            user_name: user,
        }
    }

    struct Fixture {
        admin: AdminKey,
        batch_public: Vec<u8>,
        batch: BatchKey,
    }

    fn fixture() -> Fixture {
        let wrapped = create_admin_key(&secret("correct horse battery"), TEST_KDF).unwrap();
        let admin = unlock_admin_key(&wrapped, &secret("correct horse battery")).unwrap();
        let (batch_public, sealed) = create_batch_key(&wrapped.public_key, "b1").unwrap();
        let batch = open_batch_key(&admin, &sealed, "b1").unwrap();
        Fixture {
            admin,
            batch_public,
            batch,
        }
    }

    #[test]
    fn tokens_are_43_url_safe_chars_and_parse_back() {
        let token = LinkToken::generate().unwrap();
        assert_eq!(token.expose().len(), TOKEN_CHARS);
        let parsed = LinkToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(LinkToken::generate().unwrap().hash(), token.hash());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = LinkToken::generate().unwrap();
        let text = good.expose();
        assert!(LinkToken::parse(&text[..42]).is_none());
        assert!(LinkToken::parse(&format!("{text}A")).is_none());
        assert!(LinkToken::parse(&format!("{}+", &text[..42])).is_none());
        assert!(LinkToken::parse(&format!("{}/", &text[..42])).is_none());
        assert!(LinkToken::parse("../../../../../../../../../../../etc/passwd").is_none());
        // Non-canonical: the last character carries bits beyond the 256 encoded.
        let mut chars: Vec<char> = text.chars().collect();
        chars[42] = if chars[42] == 'B' { 'C' } else { 'B' };
        let tweaked: String = chars.into_iter().collect();
        assert!(LinkToken::parse(&tweaked).is_none() || tweaked == text);
    }

    /// Of the 64 characters that could end a token, only the 16 that carry no bits
    /// beyond the 256 encoded are accepted: one token, one spelling.
    #[test]
    fn parsing_accepts_only_the_canonical_spelling() {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let text = LinkToken::generate().unwrap().expose().to_owned();
        let tag = LinkTag::generate().unwrap();
        let mut accepted = 0;
        for (value, last) in ALPHABET.iter().enumerate() {
            let candidate = format!("{}{}", &text[..TOKEN_CHARS - 1], char::from(*last));
            let canonical = value % 4 == 0;
            assert_eq!(
                LinkToken::parse(&candidate).is_some(),
                canonical,
                "{candidate}"
            );
            let tagged = format!("2.{}.{candidate}", tag.as_str());
            assert_eq!(LinkToken::parse(&tagged).is_some(), canonical, "{tagged}");
            accepted += usize::from(canonical);
        }
        assert_eq!(accepted, 16);
        // Padding, whitespace and the standard alphabet's characters are refused.
        for bad in [
            format!("{}=", &text[..TOKEN_CHARS - 1]),
            format!("{} ", &text[..TOKEN_CHARS - 1]),
            format!("{}+", &text[..TOKEN_CHARS - 1]),
        ] {
            assert!(LinkToken::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tagged_tokens_carry_their_tag_and_parse_back() {
        let tag = LinkTag::generate().unwrap();
        assert_eq!(tag.as_str().len(), LINK_TAG_CHARS);
        let token = LinkToken::generate_tagged(&tag).unwrap();
        let text = token.expose();
        assert_eq!(text.len(), 2 + LINK_TAG_CHARS + 1 + TOKEN_CHARS);
        assert!(text.starts_with(&format!("2.{}.", tag.as_str())));
        let parsed = LinkToken::parse(text).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(parsed.tag(), Some(tag.clone()));
        // The hash covers the tag: the same secret under another tag is another link.
        let secret = &text[2 + LINK_TAG_CHARS + 1..];
        let other = LinkToken::parse(&format!("2.000000000000.{secret}")).unwrap();
        assert_ne!(other.hash(), token.hash());
        // Format 1 has no tag.
        assert_eq!(LinkToken::parse(secret).unwrap().tag(), None);
        assert_eq!(LinkToken::generate().unwrap().tag(), None);
    }

    #[test]
    fn non_canonical_tagged_tokens_are_refused() {
        let tag = LinkTag::generate().unwrap();
        let token = LinkToken::generate_tagged(&tag).unwrap();
        let text = token.expose();
        let secret = &text[2 + LINK_TAG_CHARS + 1..];
        let t = tag.as_str();
        for bad in [
            format!("3.{t}.{secret}"),
            format!("02.{t}.{secret}"),
            format!(
                "2.{}.{secret}",
                t.to_uppercase().replace(char::is_numeric, "A")
            ),
            format!("2.{}.{secret}", &t[1..]),
            format!("2.{t}0.{secret}"),
            format!("2..{secret}"),
            format!("2.{t}.{secret}."),
            format!("2.{t}..{secret}"),
            format!("2.{t}.{}", &secret[1..]),
            format!("2.{t}.{secret}A"),
            format!(".{secret}"),
            format!("2{t}.{secret}"),
            format!("2.{t}"),
        ] {
            assert!(LinkToken::parse(&bad).is_none(), "{bad}");
        }
        assert!(LinkTag::parse("ABCDEF012345").is_none());
        assert!(LinkTag::parse("abcdef01234g").is_none());
        assert!(LinkTag::parse("abcdef012345").is_some());
    }

    #[test]
    fn token_debug_does_not_reveal_the_token() {
        let token = LinkToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(token.expose()));
        let tagged = LinkToken::generate_tagged(&LinkTag::generate().unwrap()).unwrap();
        assert!(!format!("{tagged:?}").contains(&tagged.expose()[15..]));
    }

    #[test]
    fn the_smtp_password_opens_only_for_its_host_and_user() {
        let wrapped = create_admin_key(&secret("correct horse battery"), TEST_KDF).unwrap();
        let admin = unlock_admin_key(&wrapped, &secret("correct horse battery")).unwrap();
        let b = SmtpBinding {
            host: "smtp.example.org",
            port: 587,
            security: "starttls",
            user: "it",
            ca_pem: None,
        };
        let sealed = seal_smtp_password(&wrapped.public_key, b, &secret("s3cret")).unwrap();
        let opened = open_smtp_password(&admin, b, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), "s3cret");
        for other in [
            SmtpBinding {
                host: "evil.example.net",
                ..b
            },
            SmtpBinding { port: 2525, ..b },
            SmtpBinding {
                security: "none",
                ..b
            },
            SmtpBinding { user: "other", ..b },
            SmtpBinding {
                ca_pem: Some("-----BEGIN CERTIFICATE-----"),
                ..b
            },
        ] {
            assert!(
                open_smtp_password(&admin, other, &sealed).is_err(),
                "{other:?}"
            );
        }
    }

    #[test]
    fn a_sealed_password_opens_with_its_own_binding() {
        let f = fixture();
        let b = binding("b1", 7, "ann@example.com", "ann");
        let sealed = seal_password(&f.batch_public, b, &secret("pa ss,\"wörd")).unwrap();
        let opened = open_password(&f.batch, b, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), "pa ss,\"wörd".as_bytes());
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_fails_to_open() {
        let f = fixture();
        let b = binding("b1", 7, "ann@example.com", "ann");
        let sealed = seal_password(&f.batch_public, b, &secret("hunter2")).unwrap();
        for other in [
            binding("b2", 7, "ann@example.com", "ann"),
            binding("b1", 8, "ann@example.com", "ann"),
            binding("b1", 7, "bob@example.com", "ann"),
            binding("b1", 7, "ann@example.com", "bob"),
            // Field boundaries matter: moving a character between fields must fail too.
            binding("b1", 7, "ann@example.co", "mann"),
        ] {
            assert!(matches!(
                open_password(&f.batch, other, &sealed),
                Err(CryptoError::OpenFailed)
            ));
        }
    }

    #[test]
    fn any_flipped_byte_fails_to_open() {
        let f = fixture();
        let b = binding("b1", 1, "a@x.example", "a");
        let sealed = seal_password(&f.batch_public, b, &secret("secret")).unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= 0x01;
            assert!(
                open_password(&f.batch, b, &bad).is_err(),
                "ciphertext byte {i}"
            );
        }
        for i in 0..sealed.enc.len() {
            let mut bad = sealed.clone();
            bad.enc[i] ^= 0x80;
            assert!(open_password(&f.batch, b, &bad).is_err(), "enc byte {i}");
        }
    }

    #[test]
    fn another_batch_key_cannot_open_a_password() {
        let f = fixture();
        let g = fixture();
        let b = binding("b1", 1, "a@x.example", "a");
        let sealed = seal_password(&f.batch_public, b, &secret("secret")).unwrap();
        assert!(open_password(&g.batch, b, &sealed).is_err());
        let _ = &f.admin;
    }

    #[test]
    fn a_wrong_passphrase_does_not_unlock_the_admin_key() {
        let wrapped = create_admin_key(&secret("right passphrase"), TEST_KDF).unwrap();
        assert!(matches!(
            unlock_admin_key(&wrapped, &secret("wrong passphrase")),
            Err(CryptoError::WrongPassphrase)
        ));
        let mut altered = wrapped.clone();
        altered.public_key[0] ^= 1;
        assert!(unlock_admin_key(&altered, &secret("right passphrase")).is_err());
    }

    #[test]
    fn a_batch_key_is_bound_to_its_batch_id() {
        let wrapped = create_admin_key(&secret("right passphrase"), TEST_KDF).unwrap();
        let admin = unlock_admin_key(&wrapped, &secret("right passphrase")).unwrap();
        let (_, sealed) = create_batch_key(&wrapped.public_key, "b1").unwrap();
        assert!(open_batch_key(&admin, &sealed, "b2").is_err());
        assert!(open_batch_key(&admin, &sealed, "b1").is_ok());
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_own_recipient() {
        let f = fixture();
        let token = LinkToken::generate().unwrap();
        let sealed = seal_token(&f.batch_public, "b1", "a@x.example", &token).unwrap();
        let opened = open_token(&f.batch, "b1", "a@x.example", &sealed).unwrap();
        assert_eq!(opened.hash(), token.hash());
        assert!(open_token(&f.batch, "b1", "b@x.example", &sealed).is_err());
        assert!(open_token(&f.batch, "b2", "a@x.example", &sealed).is_err());
    }

    #[test]
    fn every_password_up_to_the_maximum_seals_to_one_length() {
        let f = fixture();
        let b = binding("b1", 1, "a@x.example", "a");
        let lengths: Vec<(usize, usize)> = [1, 2, 17, 1000, PADDED_SECRET_BYTES]
            .into_iter()
            .map(|n| {
                let sealed = seal_password(&f.batch_public, b, &secret(&"x".repeat(n))).unwrap();
                (sealed.enc.len(), sealed.ciphertext.len())
            })
            .collect();
        assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
        assert_eq!(lengths[0].0, 1 + hpke_base::KEY_BYTES);
        for n in [
            0,
            1,
            1000,
            PADDED_SECRET_BYTES,
            PADDED_SECRET_BYTES + 1,
            5000,
        ] {
            let password = "é".repeat(n / 2) + &"y".repeat(n % 2);
            let sealed = seal_password(&f.batch_public, b, &secret(&password)).unwrap();
            let opened = open_password(&f.batch, b, &sealed).unwrap();
            assert_eq!(opened.expose_secret(), password.as_bytes());
        }
    }

    #[test]
    fn the_smtp_password_seals_to_one_length_too() {
        let wrapped = create_admin_key(&secret("correct horse battery"), TEST_KDF).unwrap();
        let b = SmtpBinding {
            host: "smtp.example.org",
            port: 587,
            security: "starttls",
            user: "it",
            ca_pem: None,
        };
        let short = seal_smtp_password(&wrapped.public_key, b, &secret("s")).unwrap();
        let long = seal_smtp_password(&wrapped.public_key, b, &secret(&"s".repeat(900))).unwrap();
        assert_eq!(short.ciphertext.len(), long.ciphertext.len());
        assert_eq!(short.enc.len(), long.enc.len());
    }

    /// A format 1 record, as earlier releases wrote it: unpadded, the bare key as `enc`.
    fn seal_v1(public: &[u8], info: &[u8], secret: &[u8], aad: &[u8]) -> (Vec<u8>, Vec<u8>) {
        hpke_seal(&hpke_base::public_key(public).unwrap(), info, secret, aad).unwrap()
    }

    #[test]
    fn format_1_records_still_open() {
        let f = fixture();
        let b = binding("b1", 7, "ann@example.com", "ann");
        let (enc, ciphertext) = seal_v1(
            &f.batch_public,
            SUBMISSION_INFO_V1,
            b"old, unpadded",
            &b.aad(SUBMISSION_INFO_V1),
        );
        let sealed = SealedPassword { enc, ciphertext };
        let opened = open_password(&f.batch, b, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), b"old, unpadded");
        assert!(
            open_password(
                &f.batch,
                binding("b1", 8, "ann@example.com", "ann"),
                &sealed
            )
            .is_err()
        );

        let wrapped = create_admin_key(&secret("correct horse battery"), TEST_KDF).unwrap();
        let admin = unlock_admin_key(&wrapped, &secret("correct horse battery")).unwrap();
        let relay = SmtpBinding {
            host: "smtp.example.org",
            port: 465,
            security: "tls",
            user: "it",
            ca_pem: None,
        };
        let (enc, ciphertext) = seal_v1(
            &wrapped.public_key,
            SMTP_PASSWORD_INFO_V1,
            b"relay secret",
            &smtp_password_aad(SMTP_PASSWORD_INFO_V1, relay),
        );
        let sealed = SealedSecret { enc, ciphertext };
        let opened = open_smtp_password(&admin, relay, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), "relay secret");
    }

    #[test]
    fn a_record_does_not_open_as_the_other_format() {
        let f = fixture();
        let b = binding("b1", 7, "ann@example.com", "ann");
        // Format 2 with its format byte stripped is read as format 1: it must not open.
        let v2 = seal_password(&f.batch_public, b, &secret("padded")).unwrap();
        let stripped = SealedPassword {
            enc: v2.enc[1..].to_vec(),
            ciphertext: v2.ciphertext.clone(),
        };
        assert!(open_password(&f.batch, b, &stripped).is_err());
        // Format 1 given a format byte is read as format 2: it must not open either.
        let (enc, ciphertext) = seal_v1(
            &f.batch_public,
            SUBMISSION_INFO_V1,
            b"unpadded",
            &b.aad(SUBMISSION_INFO_V1),
        );
        let prefixed = SealedPassword {
            enc: [&[FORMAT_V2][..], &enc].concat(),
            ciphertext,
        };
        assert!(open_password(&f.batch, b, &prefixed).is_err());
        // An unknown format byte or an odd length is refused before any HPKE.
        for enc in [
            [&[3u8][..], &v2.enc[1..]].concat(),
            v2.enc[..20].to_vec(),
            Vec::new(),
        ] {
            let bad = SealedPassword {
                enc,
                ciphertext: v2.ciphertext.clone(),
            };
            assert!(matches!(
                open_password(&f.batch, b, &bad),
                Err(CryptoError::OpenFailed)
            ));
        }
    }

    #[test]
    fn padding_round_trips_and_refuses_malformed_plaintexts() {
        for n in [
            0,
            1,
            255,
            PADDED_SECRET_BYTES,
            PADDED_SECRET_BYTES + 1,
            3000,
        ] {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let padded = pad_secret(&data).unwrap();
            assert_eq!(
                padded.len() % (LENGTH_PREFIX_BYTES + PADDED_SECRET_BYTES),
                0
            );
            assert_eq!(unpad_secret(&padded).unwrap(), data.as_slice());
        }
        let good = pad_secret(b"abc").unwrap();
        let mut nonzero = good.clone();
        nonzero[10] = 1;
        let mut too_long = good.clone();
        too_long[..4].copy_from_slice(&5000u32.to_be_bytes());
        for bad in [&b""[..], &b"\0\0\0"[..], &nonzero[..], &too_long[..]] {
            assert!(matches!(unpad_secret(bad), Err(CryptoError::Malformed)));
        }
    }

    #[test]
    fn a_rewrapped_admin_key_is_the_same_key_under_the_new_passphrase() {
        let old = create_admin_key(&secret("old passphrase"), TEST_KDF).unwrap();
        let admin = unlock_admin_key(&old, &secret("old passphrase")).unwrap();
        let (_, sealed_batch) = create_batch_key(&old.public_key, "b1").unwrap();
        let stronger = KdfParams {
            m_cost: 128,
            ..TEST_KDF
        };
        let new = rewrap_admin_key(&admin, &secret("new passphrase"), stronger).unwrap();
        assert_eq!(new.public_key, old.public_key);
        assert_eq!(admin_public_key(&admin), old.public_key);
        assert_eq!(new.kdf, stronger);
        assert_ne!(new.salt, old.salt);
        assert_ne!(new.nonce, old.nonce);
        assert!(unlock_admin_key(&new, &secret("old passphrase")).is_err());
        let again = unlock_admin_key(&new, &secret("new passphrase")).unwrap();
        assert!(open_batch_key(&again, &sealed_batch, "b1").is_ok());
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(secrets_equal(&secret("abc"), &secret("abc")));
        assert!(!secrets_equal(&secret("abc"), &secret("abd")));
        assert!(!secrets_equal(&secret("abc"), &secret("abcd")));
    }
}
