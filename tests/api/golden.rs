//! Sealed records committed to the repository must keep opening: a change to the key
//! hierarchy, the AAD, the padding or the HPKE suite cannot slip by unnoticed. One record
//! per format passdrop has written: `golden_v1.txt` (unpadded) and `golden_v2.txt`
//! (padded).

use std::collections::HashMap;

use passdrop::crypto::{
    self, KdfParams, SealedBatchKey, SealedPassword, SubmissionBinding, WrappedAdminKey,
};
use secrecy::ExposeSecret as _;

use crate::helpers::secret;

const GOLDEN_V1: &str = include_str!("../fixtures/golden_v1.txt");
const GOLDEN_V2: &str = include_str!("../fixtures/golden_v2.txt");
const GOLDEN_PASSPHRASE: &str = "golden fixture passphrase";
const GOLDEN_PASSWORD: &str = "Golden \"pass\", wörd=1";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const BINDING: SubmissionBinding<'static> = SubmissionBinding {
    batch_id: "00112233aabbccdd",
    recipient_id: 42,
    email: "golden@example.com",
    user_name: "golden-user",
};

/// Opens a committed record: the admin key with the golden passphrase, the batch key
/// with it, and the password with the batch key. Returns the stored password record.
fn open_golden(text: &str) -> SealedPassword {
    let f: HashMap<&str, &str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('=').unwrap())
        .collect();
    let num = |k: &str| f[k].parse::<u32>().unwrap();
    let wrapped = WrappedAdminKey {
        public_key: unhex(f["admin_public_key"]),
        salt: unhex(f["kdf_salt"]),
        kdf: KdfParams {
            m_cost: num("kdf_m_cost"),
            t_cost: num("kdf_t_cost"),
            p_cost: num("kdf_p_cost"),
        },
        nonce: unhex(f["wrap_nonce"]),
        ciphertext: unhex(f["wrapped_private_key"]),
    };
    assert_eq!(
        wrapped.kdf,
        KdfParams::DEFAULT,
        "the golden record uses the real parameters"
    );
    let admin = crypto::unlock_admin_key(&wrapped, &secret(GOLDEN_PASSPHRASE)).unwrap();
    let batch_key = crypto::open_batch_key(
        &admin,
        &SealedBatchKey {
            enc: unhex(f["batch_key_enc"]),
            ciphertext: unhex(f["batch_key_ciphertext"]),
        },
        BINDING.batch_id,
    )
    .unwrap();
    let sealed = SealedPassword {
        enc: unhex(f["password_enc"]),
        ciphertext: unhex(f["password_ciphertext"]),
    };
    let opened = crypto::open_password(&batch_key, BINDING, &sealed).unwrap();
    assert_eq!(opened.expose_secret(), GOLDEN_PASSWORD.as_bytes());
    assert!(crypto::unlock_admin_key(&wrapped, &secret("golden fixture passphrasE")).is_err());
    sealed
}

/// Format 1: written by releases before padding, unpadded; it must keep opening.
#[test]
fn the_committed_golden_record_still_opens() {
    let sealed = open_golden(GOLDEN_V1);
    assert_eq!(sealed.enc.len(), 32, "format 1: the bare encapsulated key");
    assert_eq!(sealed.ciphertext.len(), GOLDEN_PASSWORD.len() + 16);
}

/// Format 2: the password padded to 1,024 bytes behind its length, `enc` starting with
/// the format byte.
#[test]
fn the_committed_padded_golden_record_still_opens() {
    let sealed = open_golden(GOLDEN_V2);
    assert_eq!(sealed.enc.len(), 33);
    assert_eq!(sealed.enc[0], 2, "the format byte");
    assert_eq!(
        sealed.ciphertext.len(),
        4 + crypto::PADDED_SECRET_BYTES + 16,
        "the length prefix, the padded password and the tag"
    );
}

/// Prints a fresh golden record in the format passdrop writes now (format 2). Run with
/// `cargo test print_golden -- --ignored --nocapture` only when the format changes on
/// purpose, into a new `golden_vN.txt` (never over a committed one), and say so in the
/// commit.
#[test]
#[ignore]
fn print_golden_record() {
    let wrapped = crypto::create_admin_key(&secret(GOLDEN_PASSPHRASE), KdfParams::DEFAULT).unwrap();
    let (batch_public, sealed_key) =
        crypto::create_batch_key(&wrapped.public_key, BINDING.batch_id).unwrap();
    let sealed = crypto::seal_password(&batch_public, BINDING, &secret(GOLDEN_PASSWORD)).unwrap();
    println!(
        "# passdrop golden sealed record, format v2 (padded). Passphrase and binding: tests/api/golden.rs"
    );
    println!("admin_public_key={}", hex(&wrapped.public_key));
    println!("kdf_salt={}", hex(&wrapped.salt));
    println!("kdf_m_cost={}", wrapped.kdf.m_cost);
    println!("kdf_t_cost={}", wrapped.kdf.t_cost);
    println!("kdf_p_cost={}", wrapped.kdf.p_cost);
    println!("wrap_nonce={}", hex(&wrapped.nonce));
    println!("wrapped_private_key={}", hex(&wrapped.ciphertext));
    println!("batch_key_enc={}", hex(&sealed_key.enc));
    println!("batch_key_ciphertext={}", hex(&sealed_key.ciphertext));
    println!("password_enc={}", hex(&sealed.enc));
    println!("password_ciphertext={}", hex(&sealed.ciphertext));
}
