//! Property tests for the sealed records: any bit flip in any stored field, and any swap
//! of a ciphertext between rows or batches, fails to open.

use passdrop::crypto::{
    self, KdfParams, SealedBatchKey, SealedPassword, SealedToken, SubmissionBinding,
    WrappedAdminKey,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::secret;

const KDF: KdfParams = KdfParams {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

struct World {
    wrapped: WrappedAdminKey,
    admin: crypto::AdminKey,
    batches: Vec<(String, Vec<u8>, SealedBatchKey, crypto::BatchKey)>,
}

fn world() -> World {
    let wrapped = crypto::create_admin_key(&secret("envelope passphrase"), KDF).unwrap();
    let admin = crypto::unlock_admin_key(&wrapped, &secret("envelope passphrase")).unwrap();
    let batches = ["batch-a", "batch-b"]
        .into_iter()
        .map(|id| {
            let (public, sealed) = crypto::create_batch_key(&wrapped.public_key, id).unwrap();
            let key = crypto::open_batch_key(&admin, &sealed, id).unwrap();
            (id.to_owned(), public, sealed, key)
        })
        .collect();
    World {
        wrapped,
        admin,
        batches,
    }
}

fn binding(batch: &str, row: i64) -> SubmissionBinding<'_> {
    SubmissionBinding {
        batch_id: batch,
        recipient_id: row,
        email: "user@example.com",
        user_name: "user",
    }
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

#[test]
fn any_bit_flip_in_a_sealed_password_fails_to_open() {
    let w = world();
    let (id, public, _, key) = &w.batches[0];
    let sealed = crypto::seal_password(public, binding(id, 1), &secret("a password")).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(256));
    runner
        .run(&(any::<bool>(), any::<usize>()), |(in_enc, bit)| {
            let mut bad = sealed.clone();
            if in_enc {
                flip(&mut bad.enc, bit);
            } else {
                flip(&mut bad.ciphertext, bit);
            }
            prop_assert!(crypto::open_password(key, binding(id, 1), &bad).is_err());
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_bit_flip_in_a_stored_key_fails_to_open() {
    let w = world();
    let (id, _, sealed_key, _) = &w.batches[0];
    let mut runner = TestRunner::new(Config::with_cases(64));
    runner
        .run(&(0usize..5, any::<usize>()), |(field, bit)| {
            // The wrapped admin key (each of its stored fields)...
            let mut bad = w.wrapped.clone();
            match field {
                0 => flip(&mut bad.public_key, bit),
                1 => flip(&mut bad.salt, bit),
                2 => flip(&mut bad.nonce, bit),
                _ => flip(&mut bad.ciphertext, bit),
            }
            prop_assert!(crypto::unlock_admin_key(&bad, &secret("envelope passphrase")).is_err());
            // ...and the sealed batch key.
            let mut bad_batch = SealedBatchKey::clone(sealed_key);
            if field % 2 == 0 {
                flip(&mut bad_batch.enc, bit);
            } else {
                flip(&mut bad_batch.ciphertext, bit);
            }
            prop_assert!(crypto::open_batch_key(&w.admin, &bad_batch, id).is_err());
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_ciphertext_swapped_between_rows_or_batches_fails_to_open() {
    let w = world();
    let mut runner = TestRunner::new(Config::with_cases(64));
    runner
        .run(
            &(0usize..2, 1i64..1000, 0usize..2, 1i64..1000, "[ -~]{1,40}"),
            |(from_batch, from_row, to_batch, to_row, password)| {
                prop_assume!(from_batch != to_batch || from_row != to_row);
                let (from_id, from_public, _, _) = &w.batches[from_batch];
                let (to_id, _, _, to_key) = &w.batches[to_batch];
                let sealed: SealedPassword = crypto::seal_password(
                    from_public,
                    binding(from_id, from_row),
                    &secret(&password),
                )
                .unwrap();
                prop_assert!(
                    crypto::open_password(to_key, binding(to_id, to_row), &sealed).is_err()
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn a_sealed_token_moved_to_another_user_or_batch_fails_to_open() {
    let w = world();
    let (a_id, a_public, _, a_key) = &w.batches[0];
    let (b_id, _, _, b_key) = &w.batches[1];
    let token = crypto::LinkToken::generate().unwrap();
    let sealed: SealedToken =
        crypto::seal_token(a_public, a_id, "ann@example.com", &token).unwrap();
    assert!(crypto::open_token(a_key, a_id, "ann@example.com", &sealed).is_ok());
    assert!(crypto::open_token(a_key, a_id, "bob@example.com", &sealed).is_err());
    assert!(crypto::open_token(b_key, b_id, "ann@example.com", &sealed).is_err());
    let mut runner = TestRunner::new(Config::with_cases(128));
    runner
        .run(&any::<usize>(), |bit| {
            let mut bad = sealed.clone();
            flip(&mut bad.ciphertext, bit);
            prop_assert!(crypto::open_token(a_key, a_id, "ann@example.com", &bad).is_err());
            Ok(())
        })
        .unwrap();
}
