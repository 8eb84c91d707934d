//! The credential re-check ("drift"): with the passphrase, each submitted password is
//! opened and tried again at the old server, through the `CheckGate` like every other
//! check, so that users who changed their password since are found before Microsoft's
//! first or incremental sync fails on them.
//!
//! Only a clear refusal (`NO`, `[AUTHENTICATIONFAILED]`) marks `password_changed`; no
//! clear answer is `recheck_inconclusive`, never a change.
//!
//! Users the old server's admin login covers (no password of their own) are re-checked
//! through it afterwards (`admin_login::recheck_covered`): `admin_login_refused` when
//! it no longer opens their mailbox; a refused admin password stops that part (and is
//! kept: `admin_login::admin_password_refused`).

use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::*;
use crate::imap::{CheckGate, Entry, Verdict};
use crate::storage::{AuditKind, RecheckOutcome};

/// How many times a re-check waits for a free slot in the gate before it calls that
/// user's check inconclusive.
const GATE_TRIES: usize = 12;

/// The audit kind of a re-check (count: users checked).
pub const AUDIT_RECHECKED: &str = "rechecked";

/// The audit kind of a re-check's failures (count: passwords that no longer work).
pub const AUDIT_RECHECK_FAILED: &str = "recheck_failed";

/// What a re-check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckSummary {
    /// Users checked.
    pub checked: usize,
    /// EmailAddresses whose password the server now refuses.
    pub password_changed: Vec<String>,
    /// EmailAddresses with no clear answer.
    pub inconclusive: Vec<String>,
    /// EmailAddresses of covered users the admin login no longer opens.
    pub admin_login_refused: Vec<String>,
    /// The server refused the admin password: covered users were not (all) re-checked,
    /// and nobody after it was marked.
    pub admin_password_refused: bool,
}

/// The outcome a verdict means for a re-check.
pub fn recheck_outcome(verdict: &Verdict) -> RecheckOutcome {
    match verdict {
        Verdict::Accepted => RecheckOutcome::Ok,
        Verdict::Rejected => RecheckOutcome::PasswordChanged,
        // A stated other reason (expired, disabled), no answer, or no server: nothing
        // says the password changed.
        // An "app password required" answer says nothing about a change either.
        Verdict::RefusedOther(_)
        | Verdict::AppPasswordRequired(_)
        | Verdict::CouldNotCheck(_)
        | Verdict::NoAnswer(_) => RecheckOutcome::Inconclusive,
    }
}

/// Re-checks every submitted password of `batch` (unlocked with `admin`) at its old
/// server, through `gate`. `progress(done, total)` is called after each user. The
/// progress and each outcome are stored as they come; the audit trail gets the counts.
pub async fn recheck(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    gate: &Arc<CheckGate>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> BatchResult<RecheckSummary> {
    let Some(settings) = batch.imap.clone() else {
        return Err(BatchError::Other(anyhow::anyhow!(
            "batch “{}” has no old IMAP server to re-check passwords with; set one with \
             `passdrop batch set-imap`",
            batch.name
        )));
    };
    // No password goes to a server the admin did not sign for.
    require_signed_batch_by_admin(store, admin, batch).await?;
    let batch_key = open_batch_key(store, batch, admin).await?;
    let (submissions, _) = store.submissions_and_missing(&batch.id).await?;
    let batch_id = batch.id.clone();
    let (submissions, passwords) = tokio::task::spawn_blocking(move || {
        let passwords = open_passwords(&batch_key, &batch_id, &submissions, None);
        (submissions, passwords)
    })
    .await
    .map_err(anyhow::Error::new)?;
    let passwords = passwords?;
    let covered = super::admin_login::recheck_targets(store, batch, admin).await?;
    let total = submissions.len() + covered.as_ref().map_or(0, |c| c.len());
    let now = crate::config::now();
    store
        .begin_recheck(&batch.id, i64::try_from(total).unwrap_or(i64::MAX), now)
        .await?;
    let mut summary = RecheckSummary::default();
    for (i, (s, sealed_open)) in submissions.iter().zip(passwords).enumerate() {
        let password = match std::str::from_utf8(sealed_open.expose_secret()) {
            Ok(p) => SecretString::from(p.to_owned()),
            Err(_) => {
                // Never happens for a password typed in the form; not a change either.
                summary.inconclusive.push(s.recipient.email.clone());
                store
                    .record_recheck(
                        &batch.id,
                        s.recipient.id,
                        RecheckOutcome::Inconclusive,
                        crate::config::now(),
                    )
                    .await?;
                progress(i + 1, total);
                continue;
            }
        };
        drop(sealed_open);
        let key: [u8; 32] =
            Sha256::digest(format!("recheck:{}:{}", batch.id, s.recipient.id)).into();
        let mut verdict = None;
        for _ in 0..GATE_TRIES {
            match gate.enter(key, &settings.server).await {
                Entry::Admitted(_pass) => {
                    verdict = Some(
                        imap::verify_password(&settings, &s.recipient.user_name, &password).await,
                    );
                    break;
                }
                Entry::AlreadyChecking | Entry::Busy => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        drop(password);
        let outcome = verdict
            .as_ref()
            .map_or(RecheckOutcome::Inconclusive, recheck_outcome);
        match outcome {
            RecheckOutcome::Ok => {}
            RecheckOutcome::PasswordChanged => {
                summary.password_changed.push(s.recipient.email.clone())
            }
            RecheckOutcome::Inconclusive | RecheckOutcome::AdminLoginRefused => {
                summary.inconclusive.push(s.recipient.email.clone())
            }
        }
        summary.checked += 1;
        store
            .record_recheck(&batch.id, s.recipient.id, outcome, crate::config::now())
            .await?;
        progress(i + 1, total);
    }
    if let Some(targets) = covered.filter(|c| !c.is_empty()) {
        let before = submissions.len();
        let found =
            super::admin_login::recheck_covered(store, batch, admin, targets, gate, &mut |done| {
                progress(before + done, total)
            })
            .await?;
        summary.checked += found.checked;
        summary.inconclusive.extend(found.inconclusive);
        summary.admin_login_refused = found.refused;
        summary.admin_password_refused = found.admin_password_refused;
    }
    let now = crate::config::now();
    store.finish_recheck(&batch.id, now).await?;
    store
        .record_event(
            &batch.id,
            AuditKind::Other(AUDIT_RECHECKED.to_owned()),
            summary.checked,
            now,
        )
        .await?;
    store
        .record_event(
            &batch.id,
            AuditKind::Other(AUDIT_RECHECK_FAILED.to_owned()),
            summary.password_changed.len(),
            now,
        )
        .await?;
    tracing::info!(
        batch_id = %batch.id,
        checked = summary.checked,
        failed = summary.password_changed.len(),
        admin_login_refused = summary.admin_login_refused.len(),
        admin_password_refused = summary.admin_password_refused,
        inconclusive = summary.inconclusive.len(),
        "re-check ran"
    );
    Ok(summary)
}

/// Issues new links to exactly the users whose last re-check found their password
/// changed, or (covered users) the admin login refused (their old links are replaced as
/// `reissue` does).
pub async fn reissue_password_changed(
    store: &Store,
    public_url: &PublicUrl,
    batch: &Batch,
    now: i64,
) -> BatchResult<Vec<IssuedLink>> {
    let mut links = Vec::new();
    for (_, email) in store.password_changed_users(&batch.id).await? {
        links.push(reissue(store, public_url, batch, &email, now).await?);
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::ImapProblem;

    #[test]
    fn only_a_clear_refusal_means_the_password_changed() {
        assert_eq!(recheck_outcome(&Verdict::Accepted), RecheckOutcome::Ok);
        assert_eq!(
            recheck_outcome(&Verdict::Rejected),
            RecheckOutcome::PasswordChanged
        );
        for unclear in [
            Verdict::RefusedOther("expired".into()),
            Verdict::CouldNotCheck(ImapProblem::NoLogin),
            Verdict::NoAnswer(ImapProblem::Timeout("logging in")),
        ] {
            assert_eq!(recheck_outcome(&unclear), RecheckOutcome::Inconclusive);
        }
    }
}
