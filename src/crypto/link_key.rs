//! Link tokens derived from a per-batch link key (issue 21): one HPKE seal per batch
//! instead of one per link. The key is 32 random bytes, sealed once to the batch key;
//! each link's secret is HMAC-SHA256 of the link key over a domain-separated,
//! length-prefixed message naming the batch, the recipient and the link's counter
//! (SECURITY.md, "Link tokens derived from the link key").

use hmac::{Hmac, KeyInit as _, Mac as _};

use super::{
    BatchKey, CryptoError, LINK_FORMAT_V2, LinkTag, LinkToken, SealedSecret, TOKEN_BYTES,
    URL_SAFE_NO_PAD, hpke_base, hpke_seal, length_prefixed, random_bytes,
};
use base64::Engine as _;
use secrecy::SecretString;
use sha2::Sha256;
use zeroize::Zeroizing;

/// HPKE `info` for a batch's sealed link key.
const LINK_KEY_INFO: &[u8] = b"passdrop/link-key/v1";
/// The domain separation string that starts every derived link secret's message.
const LINK_DERIVE_DOMAIN: &[u8] = b"passdrop link v2";
/// Bytes in a link key.
pub const LINK_KEY_BYTES: usize = 32;

/// A batch's link key. Secret: with it, every derived link of the batch can be
/// recomputed. Exists in memory only while a batch is created or its links are given
/// out; stored only sealed to the batch key.
pub struct LinkKey(Zeroizing<[u8; LINK_KEY_BYTES]>);

impl LinkKey {
    /// Draws a fresh link key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(random_bytes::<LINK_KEY_BYTES>()?)))
    }

    /// A link key from known bytes (tests and known-answer vectors).
    pub fn from_bytes(bytes: [u8; LINK_KEY_BYTES]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The 32-byte secret of one link: HMAC-SHA256(link key, length-prefixed
    /// `"passdrop link v2"`, batch id, recipient's EmailAddress, counter as 8 bytes
    /// big-endian). The full 256-bit output is the secret: HMAC-SHA256 is a PRF, so
    /// without the key each secret is as unguessable as 32 random bytes.
    fn secret(
        &self,
        batch_id: &str,
        email: &str,
        counter: u64,
    ) -> Result<Zeroizing<[u8; TOKEN_BYTES]>, CryptoError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_slice())
            .map_err(|_| CryptoError::Malformed)?;
        mac.update(&length_prefixed(&[
            LINK_DERIVE_DOMAIN,
            batch_id.as_bytes(),
            email.as_bytes(),
            &counter.to_be_bytes(),
        ]));
        Ok(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    /// The format 2 link token (`2.{tag}.{secret}`) of `email`'s link number `counter`
    /// in batch `batch_id`: the same inputs always give the same token, and any other
    /// batch, recipient or counter gives an unrelated one.
    pub fn derive_token(
        &self,
        tag: &LinkTag,
        batch_id: &str,
        email: &str,
        counter: u64,
    ) -> Result<LinkToken, CryptoError> {
        let raw = self.secret(batch_id, email, counter)?;
        let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw.as_slice()));
        Ok(LinkToken(SecretString::from(format!(
            "{LINK_FORMAT_V2}.{}.{}",
            tag.as_str(),
            secret.as_str()
        ))))
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

fn link_key_aad(batch_id: &str) -> Vec<u8> {
    length_prefixed(&[LINK_KEY_INFO, batch_id.as_bytes()])
}

/// Seals a batch's link key to the batch public key (HPKE, as the batch's other
/// secrets), bound to the batch id: it opens only with that batch's private key, which
/// only the admin passphrase opens.
pub fn seal_link_key(
    batch_public_key: &[u8],
    batch_id: &str,
    key: &LinkKey,
) -> Result<SealedSecret, CryptoError> {
    let public = hpke_base::public_key(batch_public_key)?;
    let (enc, ciphertext) = hpke_seal(
        &public,
        LINK_KEY_INFO,
        key.0.as_slice(),
        &link_key_aad(batch_id),
    )?;
    Ok(SealedSecret { enc, ciphertext })
}

/// Opens a batch's link key with its batch key; fails unless it was sealed for
/// `batch_id`.
pub fn open_link_key(
    batch: &BatchKey,
    batch_id: &str,
    sealed: &SealedSecret,
) -> Result<LinkKey, CryptoError> {
    let plain = hpke_base::open(
        &batch.private,
        LINK_KEY_INFO,
        &sealed.enc,
        &sealed.ciphertext,
        &link_key_aad(batch_id),
    )?;
    let bytes: [u8; LINK_KEY_BYTES] = plain
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    Ok(LinkKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag() -> LinkTag {
        LinkTag::parse("0123456789ab").unwrap()
    }

    /// Known answer: recomputed independently as
    /// `HMAC-SHA256(key = 00 01 .. 1f, msg = len-prefixed("passdrop link v2",
    /// "b1", "ann@example.com", 00..00 07))`, base64url without padding.
    #[test]
    fn derivation_matches_the_known_answer() {
        let key = LinkKey::from_bytes(std::array::from_fn(|i| i as u8));
        let token = key
            .derive_token(&tag(), "b1", "ann@example.com", 7)
            .unwrap();
        assert_eq!(token.expose(), KNOWN_ANSWER);
        // It is a well-formed format 2 token of the batch's tag, 43 characters of secret.
        let parsed = LinkToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.tag(), Some(tag()));
        assert_eq!(token.expose().len(), 2 + 12 + 1 + super::super::TOKEN_CHARS);
    }

    const KNOWN_ANSWER: &str = "2.0123456789ab.TzwSfKfrn5C0oeW64IjXS9haTKrHQbBxBNjNGEJZJdk";

    #[test]
    fn every_input_changes_the_token() {
        let key = LinkKey::from_bytes([7; 32]);
        let other = LinkKey::from_bytes([8; 32]);
        let base = key.derive_token(&tag(), "b1", "ann@x.org", 0).unwrap();
        let variants = [
            key.derive_token(&tag(), "b1", "ann@x.org", 1).unwrap(),
            key.derive_token(&tag(), "b2", "ann@x.org", 0).unwrap(),
            key.derive_token(&tag(), "b1", "bob@x.org", 0).unwrap(),
            key.derive_token(&tag(), "b1", "Ann@x.org", 0).unwrap(),
            other.derive_token(&tag(), "b1", "ann@x.org", 0).unwrap(),
        ];
        for v in &variants {
            assert_ne!(v.expose(), base.expose());
        }
        // Length prefixes keep field boundaries: ("b1a", "x") differs from ("b1", "ax").
        assert_ne!(
            key.derive_token(&tag(), "b1a", "x", 0).unwrap().expose(),
            key.derive_token(&tag(), "b1", "ax", 0).unwrap().expose()
        );
        assert_eq!(
            key.derive_token(&tag(), "b1", "ann@x.org", 0)
                .unwrap()
                .expose(),
            base.expose()
        );
    }

    #[test]
    fn the_link_key_opens_only_for_its_batch() {
        let private = BatchKey {
            private: hpke_base::PrivateKey::generate().unwrap(),
        };
        let public = private.private.public().to_vec();
        let key = LinkKey::from_bytes([9; 32]);
        let sealed = seal_link_key(&public, "b1", &key).unwrap();
        let opened = open_link_key(&private, "b1", &sealed).unwrap();
        assert_eq!(opened.0.as_slice(), key.0.as_slice());
        assert!(open_link_key(&private, "b2", &sealed).is_err());
        let mut bad = sealed.clone();
        bad.ciphertext[0] ^= 1;
        assert!(open_link_key(&private, "b1", &bad).is_err());
    }
}
