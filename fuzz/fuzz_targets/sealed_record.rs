//! Stored records read back from a (possibly tampered) database never panic the
//! decoders and never open unless they are genuine.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use passdrop::crypto::{self, KdfParams, SealedBatchKey, SealedPassword, SubmissionBinding};
use secrecy::SecretString;

struct Keys {
    wrapped: crypto::WrappedAdminKey,
    admin: crypto::AdminKey,
    batch: crypto::BatchKey,
}

const KDF: KdfParams = KdfParams {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pass = SecretString::from("fuzz passphrase".to_owned());
        let wrapped = crypto::create_admin_key(&pass, KDF).unwrap();
        let admin = crypto::unlock_admin_key(&wrapped, &pass).unwrap();
        let (_, sealed) = crypto::create_batch_key(&wrapped.public_key, "b").unwrap();
        let batch = crypto::open_batch_key(&admin, &sealed, "b").unwrap();
        Keys {
            wrapped,
            admin,
            batch,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (a, b) = data.split_at(split);
    let binding = SubmissionBinding {
        batch_id: "b",
        recipient_id: 1,
        email: "a@b",
        user_name: "a",
    };
    let sealed = SealedPassword {
        enc: a.to_vec(),
        ciphertext: b.to_vec(),
    };
    assert!(crypto::open_password(&k.batch, binding, &sealed).is_err());
    // Either format of the SMTP password: format 1 (a 32-byte enc) or 2 (the byte 2 first).
    let relay = crypto::SmtpBinding {
        host: "smtp.example.org",
        port: 587,
        security: "starttls",
        user: "it",
        ca_pem: None,
    };
    let sealed_secret = crypto::SealedSecret {
        enc: a.to_vec(),
        ciphertext: b.to_vec(),
    };
    assert!(crypto::open_smtp_password(&k.admin, relay, &sealed_secret).is_err());
    let sealed_key = SealedBatchKey {
        enc: a.to_vec(),
        ciphertext: b.to_vec(),
    };
    assert!(crypto::open_batch_key(&k.admin, &sealed_key, "b").is_err());
    let mut tampered = k.wrapped.clone();
    tampered.ciphertext = b.to_vec();
    tampered.nonce = a.iter().copied().take(12).collect();
    let pass = SecretString::from("fuzz passphrase".to_owned());
    let _ = crypto::unlock_admin_key(&tampered, &pass);
});
