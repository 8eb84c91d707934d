//! HPKE (RFC 9180) in Base mode, single shot, for the one suite passdrop uses:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305. It computes what the `hpke`
//! crate's `single_shot_seal` and `single_shot_open` compute, byte for byte (the tests
//! check RFC 9180's own vector, A.2.1, and every record both ways against `hpke`, which
//! sealed everything before), with the X25519 multiplications done for less:
//!
//! - the ephemeral public key is computed once per seal (`hpke` 0.15 computes it twice);
//! - the Diffie-Hellman multiplication runs on the Edwards form of the curve, where
//!   curve25519-dalek uses its AVX2 code when the CPU has it (chosen at run time), instead
//!   of the Montgomery ladder, which has none: about half the time here. The result's
//!   u-coordinate is the same number (RFC 7748 §4.1's birational map; the u-coordinate of
//!   a multiple depends only on the point's y, so either lift of `u` gives it). A `u`
//!   that is not on the curve (on its twist, which X25519 also accepts) takes the
//!   ladder, as before;
//! - a private key's public half is worked out once, when the key is read, not on every
//!   open;
//! - a public key sealed to again and again (a batch's, by every submission) gets a table
//!   of its multiples, as the base point has (`Recipients`): the Diffie-Hellman
//!   multiplication then costs what the ephemeral key's does, a third of the ladder.
//!
//! Every multiplication by a secret scalar is constant-time in it (dalek's variable-base
//! and base-point multiplications both select table entries in constant time). What a
//! seal's time depends on besides: whether the recipient is on the curve (public), and
//! whether its key has a table yet (`Recipients`: that it was sealed to lately). Wiped
//! after use: private keys, the ephemeral key, the Diffie-Hellman results and the Edwards
//! points they come from, the shared secret, the PRKs, the AEAD key and nonce; not the
//! scratch copies inside dalek (its batch inversion's) and hkdf (its HMAC states), as
//! with `hpke` before.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};

/// The AEAD's nonce and tag.
type Nonce = chacha20poly1305::Nonce;
type Tag = chacha20poly1305::Tag;
use curve25519_dalek::edwards::{EdwardsBasepointTable, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::traits::BasepointTable as _;
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

use super::{CryptoError, fill_random};

/// Bytes of an X25519 key (public or private) and of an encapsulated key.
pub(super) const KEY_BYTES: usize = 32;
/// Bytes of a ChaCha20Poly1305 tag.
const TAG_BYTES: usize = 16;
/// "KEM" and the KEM's id, 0x0020 (RFC 9180 §4.1, §7.1).
const KEM_SUITE: &[u8] = b"KEM\x00\x20";
/// "HPKE" and the ids of the KEM (0x0020), the KDF (0x0001) and the AEAD (0x0003) (§5.1).
const HPKE_SUITE: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x03";
/// The label every labelled extract and expand starts with (§4).
const VERSION: &[u8] = b"HPKE-v1";
/// Base mode (§5.1).
const MODE_BASE: u8 = 0x00;

/// An X25519 private key, clamped (RFC 9180 §7.1.2: deserialising and serialising a
/// private key clamp it), with its public half. Zeroized on drop.
pub(super) struct PrivateKey {
    secret: Zeroizing<[u8; KEY_BYTES]>,
    public: [u8; KEY_BYTES],
}

impl PrivateKey {
    /// A new random key.
    pub(super) fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        fill_random(bytes.as_mut_slice())?;
        Ok(Self::from_array(&bytes))
    }

    /// A stored private key: any 32 bytes, clamped as it is read.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: &[u8; KEY_BYTES] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Self::from_array(bytes))
    }

    fn from_array(bytes: &[u8; KEY_BYTES]) -> Self {
        let secret = Zeroizing::new(curve25519_dalek::scalar::clamp_integer(*bytes));
        let public = MontgomeryPoint::mul_base_clamped(*secret).to_bytes();
        Self { secret, public }
    }

    /// The (clamped) private key's bytes, as stored.
    pub(super) fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.secret
    }

    /// Its public key.
    pub(super) fn public(&self) -> &[u8; KEY_BYTES] {
        &self.public
    }
}

/// A stored X25519 public key: any 32 bytes (X25519 takes every u-coordinate).
pub(super) fn public_key(bytes: &[u8]) -> Result<[u8; KEY_BYTES], CryptoError> {
    bytes.try_into().map_err(|_| CryptoError::Malformed)
}

/// X25519(`scalar`, `u`) (RFC 7748 §5): see the module's note for how. `None` when the
/// result is all zeros (a low-order `u`), which RFC 9180 §7.1.4 tells both sides to refuse.
fn x25519(scalar: &[u8; KEY_BYTES], u: &[u8; KEY_BYTES]) -> Option<Zeroizing<[u8; KEY_BYTES]>> {
    let point = MontgomeryPoint(*u);
    let mut shared = match point.to_edwards(0) {
        Some(edwards) => {
            let mut product = edwards.mul_clamped(*scalar);
            let shared = product.to_montgomery();
            product.zeroize();
            shared
        }
        None => point.mul_clamped(*scalar),
    };
    let bytes = Zeroizing::new(shared.to_bytes());
    shared.zeroize();
    nonzero(bytes)
}

/// A seal's two multiplications by its ephemeral key: the encapsulated key (the
/// ephemeral public key) and the Diffie-Hellman result with `recipient` (`None` when all
/// zeros), by `table` when the recipient has one. On the curve both are Edwards points,
/// and their u-coordinates share one field inversion.
fn ephemeral_dh(
    ephemeral: &[u8; KEY_BYTES],
    recipient: &[u8; KEY_BYTES],
    table: Option<&EdwardsBasepointTable>,
) -> ([u8; KEY_BYTES], Option<Zeroizing<[u8; KEY_BYTES]>>) {
    let enc_point = EdwardsPoint::mul_base_clamped(*ephemeral);
    let shared_point = match table {
        Some(table) => Some(table.mul_base_clamped(*ephemeral)),
        None => MontgomeryPoint(*recipient)
            .to_edwards(0)
            .map(|point| point.mul_clamped(*ephemeral)),
    };
    let Some(shared_point) = shared_point else {
        let mut shared = MontgomeryPoint(*recipient).mul_clamped(*ephemeral);
        let dh = Zeroizing::new(shared.to_bytes());
        shared.zeroize();
        return (enc_point.to_montgomery().to_bytes(), nonzero(dh));
    };
    let mut points = [enc_point, shared_point];
    let mut both = EdwardsPoint::to_montgomery_batch(&points);
    points.zeroize();
    let pair = match both.as_slice() {
        [enc, shared] => (enc.to_bytes(), nonzero(Zeroizing::new(shared.to_bytes()))),
        // Not reached: a batch of two gives two.
        _ => ([0; KEY_BYTES], None),
    };
    both.zeroize();
    pair
}

/// The public keys sealed to most recently, and for those sealed to more than once a
/// table of their multiples (30 KB each, about 1.3 ms to make; tables are not secret).
/// A key's second seal starts making its table on a thread of its own, so no seal waits
/// for one, and a one-off seal (a batch's key to the admin's) never pays for one. A
/// seal's time then depends on whether its key has a table yet (the Diffie-Hellman
/// multiplication takes about 14 µs less with one): that says only that the key was
/// sealed to lately.
struct Recipients(Mutex<VecDeque<Recipient>>);

struct Recipient {
    public: [u8; KEY_BYTES],
    table: Option<Arc<EdwardsBasepointTable>>,
    /// Its table is being made (or cannot be: a point off the curve).
    making: bool,
}

/// How many public keys `Recipients` remembers (at most 240 KB of tables).
const RECIPIENTS_KEPT: usize = 8;

static RECIPIENTS: Recipients = Recipients::new();

impl Recipients {
    const fn new() -> Self {
        Self(Mutex::new(VecDeque::new()))
    }

    /// The table of `public`'s multiples, if it has one yet. A key seen for the first
    /// time is remembered; seen again, its table is started.
    fn table(&'static self, public: &[u8; KEY_BYTES]) -> Option<Arc<EdwardsBasepointTable>> {
        let mut recent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(at) = recent.iter().position(|r| &r.public == public) else {
            recent.push_front(Recipient {
                public: *public,
                table: None,
                making: false,
            });
            recent.truncate(RECIPIENTS_KEPT);
            return None;
        };
        let mut entry = recent.remove(at)?;
        let table = entry.table.clone();
        if table.is_none() && !entry.making {
            let public = *public;
            entry.making = std::thread::Builder::new()
                .name("passdrop-table".to_owned())
                .spawn(move || self.make(&public))
                .is_ok();
        }
        recent.push_front(entry);
        table
    }

    /// Makes `public`'s table and keeps it, if the key is still remembered.
    fn make(&self, public: &[u8; KEY_BYTES]) {
        let table = MontgomeryPoint(*public)
            .to_edwards(0)
            .map(|point| Arc::new(EdwardsBasepointTable::create(&point)));
        let mut recent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = recent.iter_mut().find(|r| &r.public == public) {
            entry.table = table;
        }
    }
}

/// `shared`, unless it is all zeros.
fn nonzero(shared: Zeroizing<[u8; KEY_BYTES]>) -> Option<Zeroizing<[u8; KEY_BYTES]>> {
    if bool::from(shared.ct_eq(&[0u8; KEY_BYTES])) {
        return None;
    }
    Some(shared)
}

/// LabeledExtract(salt, label, ikm) under `suite` (§4): a PRK.
fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [VERSION, suite, label, ikm] {
        extract.input_ikm(part);
    }
    Zeroizing::new(extract.finalize().0.into())
}

/// LabeledExpand(prk, label, info, N) under `suite` (§4), into `out` (N = its length;
/// every one here is at most 32, one HMAC).
fn labeled_expand(
    prk: &[u8; 32],
    suite: &[u8],
    label: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Option<()> {
    let length = u16::try_from(out.len()).ok()?.to_be_bytes();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(4 + info.len());
    parts.extend_from_slice(&[&length, VERSION, suite, label]);
    parts.extend_from_slice(info);
    // Neither fails: a 32-byte PRK, at most 32 bytes out (the errors are for other sizes).
    let prk = Hkdf::<Sha256>::from_prk(prk).ok()?;
    prk.expand_multi_info(&parts, out).ok()
}

/// ExtractAndExpand(dh, enc || pkR): the KEM's shared secret (§4.1).
fn shared_secret(
    dh: &[u8; KEY_BYTES],
    enc: &[u8; KEY_BYTES],
    recipient: &[u8; KEY_BYTES],
) -> Option<Zeroizing<[u8; 32]>> {
    let eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh);
    let mut secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &eae_prk,
        KEM_SUITE,
        b"shared_secret",
        &[enc, recipient],
        secret.as_mut_slice(),
    )?;
    Some(secret)
}

/// The AEAD (its key is wiped when it drops) and the nonce of the first (and only)
/// message (§5.1, §5.2: sequence number 0, so the nonce is `base_nonce`). Base mode: no
/// PSK.
fn key_schedule(
    shared_secret: &[u8; 32],
    info: &[u8],
) -> Option<(ChaCha20Poly1305, Zeroizing<[u8; 12]>)> {
    let psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info);
    let context: &[&[u8]] = &[&[MODE_BASE], psk_id_hash.as_slice(), info_hash.as_slice()];
    let secret = labeled_extract(HPKE_SUITE, shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    labeled_expand(&secret, HPKE_SUITE, b"key", context, key.as_mut_slice())?;
    let mut nonce = Zeroizing::new([0u8; 12]);
    labeled_expand(
        &secret,
        HPKE_SUITE,
        b"base_nonce",
        context,
        nonce.as_mut_slice(),
    )?;
    let aead = ChaCha20Poly1305::new_from_slice(key.as_slice()).ok()?;
    Some((aead, nonce))
}

/// Seals `plaintext` to `recipient`: the encapsulated key and the ciphertext with its
/// tag, as `hpke::single_shot_seal` gives them.
pub(super) fn seal(
    recipient: &[u8; KEY_BYTES],
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<([u8; KEY_BYTES], Vec<u8>), CryptoError> {
    let mut ephemeral = Zeroizing::new([0u8; KEY_BYTES]);
    fill_random(ephemeral.as_mut_slice())?;
    let table = RECIPIENTS.table(recipient);
    seal_with(
        &ephemeral,
        recipient,
        table.as_deref(),
        info,
        plaintext,
        aad,
    )
}

/// [`seal`] with the ephemeral private key given (the RFC's vector fixes it) and the
/// recipient's table, if it has one.
fn seal_with(
    ephemeral: &[u8; KEY_BYTES],
    recipient: &[u8; KEY_BYTES],
    table: Option<&EdwardsBasepointTable>,
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<([u8; KEY_BYTES], Vec<u8>), CryptoError> {
    let (enc, dh) = ephemeral_dh(ephemeral, recipient, table);
    let dh = dh.ok_or(CryptoError::SealFailed)?;
    let secret = shared_secret(&dh, &enc, recipient).ok_or(CryptoError::SealFailed)?;
    let (aead, nonce) = key_schedule(&secret, info).ok_or(CryptoError::SealFailed)?;
    let nonce: &Nonce = nonce
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::SealFailed)?;
    let mut sealed = Vec::with_capacity(plaintext.len() + TAG_BYTES);
    sealed.extend_from_slice(plaintext);
    let tag = aead
        .encrypt_inout_detached(nonce, aad, sealed.as_mut_slice().into())
        .map_err(|_| CryptoError::SealFailed)?;
    sealed.extend_from_slice(&tag);
    Ok((enc, sealed))
}

/// Opens what [`seal`] (or `hpke::single_shot_seal`) sealed to `private`'s public key;
/// fails unless `info` and `aad` are the sealed ones.
pub(super) fn open(
    private: &PrivateKey,
    info: &[u8],
    enc: &[u8],
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let enc: &[u8; KEY_BYTES] = enc.try_into().map_err(|_| CryptoError::OpenFailed)?;
    let split = sealed
        .len()
        .checked_sub(TAG_BYTES)
        .ok_or(CryptoError::OpenFailed)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let dh = x25519(private.as_bytes(), enc).ok_or(CryptoError::OpenFailed)?;
    let secret = shared_secret(&dh, enc, private.public()).ok_or(CryptoError::OpenFailed)?;
    let (aead, nonce) = key_schedule(&secret, info).ok_or(CryptoError::OpenFailed)?;
    let nonce: &Nonce = nonce
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::OpenFailed)?;
    let tag: &Tag = tag.try_into().map_err(|_| CryptoError::OpenFailed)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    aead.decrypt_inout_detached(nonce, aad, plaintext.as_mut_slice().into(), tag)
        .map_err(|_| CryptoError::OpenFailed)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests;
