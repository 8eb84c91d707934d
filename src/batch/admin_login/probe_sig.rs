//! Signed probe answers: what a probe found for a user is signed with the settings key,
//! bound to the user's row and the admin login, so an export writes the admin password
//! only where the admin's own key said the admin login opens that mailbox.

use super::*;

/// The settings key's signature over one probe answer: the batch, the user as the roster
/// names them (id, EmailAddress, UserName, UserRoot), whether the admin login opened the
/// mailbox, and the admin login it was tried with (its sealed password's `enc`).
pub fn sign_probe(
    signer: &crate::crypto::SettingsSigner,
    batch_id: &str,
    recipient: &Recipient,
    covered: bool,
    login_enc: &[u8],
) -> Vec<u8> {
    signed(signer, PROBE_KIND, batch_id, recipient, covered, login_enc)
}

/// Whether `sig` signs "the admin login opened this user's mailbox" (`sign_probe`).
pub(super) fn probe_verifies(
    public_key: &[u8],
    sig: &[u8],
    batch_id: &str,
    recipient: &Recipient,
    login_enc: &[u8],
) -> bool {
    verifies(public_key, sig, PROBE_KIND, batch_id, recipient, login_enc)
}

/// The settings key's signature, kept aside when a re-check finds the admin login no
/// longer opens a covered user's mailbox: "this user was covered by this admin login
/// before a re-check refused it", under its own kind (`admin-probe-stale`), so that it
/// never verifies as a covered answer (`sig`); only an export that includes stale users
/// consults it (`stale_verifies`).
pub(super) fn sign_stale(
    signer: &crate::crypto::SettingsSigner,
    batch_id: &str,
    recipient: &Recipient,
    login_enc: &[u8],
) -> Vec<u8> {
    signed(signer, STALE_KIND, batch_id, recipient, true, login_enc)
}

/// Whether `sig` is a set-aside answer for this user and admin login (`sign_stale`).
pub(super) fn stale_verifies(
    public_key: &[u8],
    sig: &[u8],
    batch_id: &str,
    recipient: &Recipient,
    login_enc: &[u8],
) -> bool {
    verifies(public_key, sig, STALE_KIND, batch_id, recipient, login_enc)
}

/// The settings key's signature of `kind` over one user's answer (`probe_fields`).
fn signed(
    signer: &crate::crypto::SettingsSigner,
    kind: &str,
    batch_id: &str,
    recipient: &Recipient,
    covered: bool,
    login_enc: &[u8],
) -> Vec<u8> {
    let fields = probe_fields(recipient, covered, login_enc);
    let borrowed: Vec<_> = fields.iter().map(|f| f.as_deref()).collect();
    signer.sign(kind, batch_id, &borrowed)
}

/// Whether `sig` is the settings key's signature of `kind` over "the admin login opened
/// this user's mailbox".
fn verifies(
    public_key: &[u8],
    sig: &[u8],
    kind: &str,
    batch_id: &str,
    recipient: &Recipient,
    login_enc: &[u8],
) -> bool {
    let fields = probe_fields(recipient, true, login_enc);
    let borrowed: Vec<_> = fields.iter().map(|f| f.as_deref()).collect();
    crate::crypto::verify_settings(public_key, sig, kind, batch_id, &borrowed)
}

/// The signed kind of a probe answer.
const PROBE_KIND: &str = "admin-probe";

/// The signed kind of a covered answer set aside by a re-check.
const STALE_KIND: &str = "admin-probe-stale";

fn probe_fields(recipient: &Recipient, covered: bool, login_enc: &[u8]) -> Vec<Option<Vec<u8>>> {
    vec![
        Some(recipient.id.to_string().into_bytes()),
        Some(recipient.email.as_bytes().to_vec()),
        Some(recipient.user_name.as_bytes().to_vec()),
        recipient.user_root.as_ref().map(|r| r.as_bytes().to_vec()),
        Some(if covered {
            b"covered".to_vec()
        } else {
            b"needs_password".to_vec()
        }),
        Some(login_enc.to_vec()),
    ]
}
