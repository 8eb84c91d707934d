//! Settings signatures already checked (issue 21). Every collection page checks its
//! batch's signature (Ed25519, about 47 µs on this project's machine, measured by
//! `cargo bench --bench load`: a large share of a GET). A check is a pure function of
//! the public key, the signature and the signed message, so a success is remembered by
//! SHA-256 of those three, length-prefixed: the same bytes verify again without the
//! curve arithmetic, and any other key, signature or settings miss and are checked in
//! full. Failures are never remembered. At most [`MAX_REMEMBERED`] entries; when full,
//! it starts again empty.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use sha2::{Digest, Sha256};

/// How many checked signatures are remembered at most (32 bytes each).
const MAX_REMEMBERED: usize = 4096;

static VERIFIED: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Mutex::default);

fn fingerprint(public_key: &[u8], signature: &[u8], message: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [public_key, signature, message] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// `verify()`'s answer for these bytes: `true` at once if they verified before.
pub(super) fn remembered(
    public_key: &[u8],
    signature: &[u8],
    message: &[u8],
    verify: impl FnOnce() -> bool,
) -> bool {
    let key = fingerprint(public_key, signature, message);
    if VERIFIED.lock().is_ok_and(|seen| seen.contains(&key)) {
        return true;
    }
    let ok = verify();
    if ok && let Ok(mut seen) = VERIFIED.lock() {
        if seen.len() >= MAX_REMEMBERED {
            seen.clear();
        }
        seen.insert(key);
    }
    ok
}
