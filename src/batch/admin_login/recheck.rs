//! Re-checking covered users through the admin login (issue 18): users who gave no
//! password of their own are re-checked the way they were probed. Still opens: `ok`.
//! Clearly refused for that user (`[AUTHORIZATIONFAILED]`, `NO`, a UserRoot gone):
//! `admin_login_refused`, and their signed probe answer becomes "needs their password"
//! (re-signed; the covered answer's signature is set aside for `--include-stale`). The
//! admin password refused (`[AUTHENTICATIONFAILED]`): the run stops and marks nobody.
//! No clear answer: inconclusive, nothing changed.

use super::*;
use crate::storage::{AdminRecheckChange, RecheckOutcome};

/// How many times a re-check waits (a second each) for a free slot in the gate.
const GATE_TRIES: usize = 12;

/// The audit kind of a re-check stopped by a refused admin password (count 1).
pub const AUDIT_ADMIN_REFUSED: &str = "recheck_admin_password_refused";

/// The audit kind of a re-check's covered users the admin login no longer opens
/// (count: users).
pub const AUDIT_ADMIN_LOGIN_REFUSED: &str = "recheck_admin_login_refused";

/// Whom to re-check through the admin login, with the opened login.
pub struct AdminTargets {
    login: AdminLogin,
    password: SecretString,
    login_enc: Vec<u8>,
    /// (user, whether a previous re-check found the admin login refused for them).
    users: Vec<(Recipient, bool)>,
}

impl AdminTargets {
    /// How many users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there is nobody to re-check.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// What the admin-login part of a re-check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminRecheck {
    /// Users re-checked through the admin login.
    pub checked: usize,
    /// EmailAddresses the admin login no longer opens.
    pub refused: Vec<String>,
    /// EmailAddresses with no clear answer.
    pub inconclusive: Vec<String>,
    /// The server refused the admin password: the run stopped, nobody was marked.
    pub admin_password_refused: bool,
}

/// The users to re-check through the admin login (none without one): covered users
/// without a password of their own whose signed answer verifies, and those a previous
/// re-check found refused (so that restored access is seen), in roster order.
pub async fn recheck_targets(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
) -> BatchResult<Option<AdminTargets>> {
    let Some((login, password, covered)) = covered_without_password(store, batch, admin).await?
    else {
        return Ok(None);
    };
    let password = SecretString::from(
        std::str::from_utf8(password.expose_secret())
            .map_err(|_| refuse("the stored admin password is not UTF-8".into()))?
            .to_owned(),
    );
    let login_enc = batch
        .admin_login
        .as_ref()
        .map(|l| l.sealed.enc.clone())
        .unwrap_or_default();
    let public_key = settings_signer(admin)?.public_key();
    let refused: std::collections::HashMap<i64, Vec<u8>> = store
        .admin_refused_users(&batch.id)
        .await?
        .into_iter()
        .collect();
    let mut users: Vec<(Recipient, bool)> = Vec::new();
    for s in store.recipient_statuses(&batch.id).await? {
        let r = s.recipient;
        if covered.iter().any(|c| c.id == r.id) {
            users.push((r, false));
        } else if refused
            .get(&r.id)
            .is_some_and(|sig| probe_verifies(&public_key, sig, &batch.id, &r, &login_enc))
        {
            users.push((r, true));
        }
    }
    Ok(Some(AdminTargets {
        login,
        password,
        login_enc,
        users,
    }))
}

/// Re-checks `targets` through the admin login, one at a time through `gate`, recording
/// each outcome as it comes; `progress(done)` after each.
pub async fn recheck_covered(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    targets: AdminTargets,
    gate: &Arc<CheckGate>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> BatchResult<AdminRecheck> {
    let mut found = AdminRecheck::default();
    let Some(settings) = &batch.imap else {
        return Ok(found);
    };
    let signer = settings_signer(admin)?;
    let AdminTargets {
        login,
        password,
        login_enc,
        users,
    } = targets;
    for (done, (recipient, was_refused)) in users.iter().enumerate() {
        let (outcome, session) =
            probe_one(gate, settings, &login, recipient, &password, GATE_TRIES).await;
        if let Some(session) = session {
            session.close().await;
        }
        let email = recipient.email.clone();
        let (recheck, answer) = match &outcome {
            ProbeOutcome::Covered => {
                let sig = was_refused
                    .then(|| sign_probe(&signer, &batch.id, recipient, true, &login_enc));
                (RecheckOutcome::Ok, sig.map(|sig| (true, None, sig)))
            }
            ProbeOutcome::NeedsPassword(words) => {
                let sig = sign_probe(&signer, &batch.id, recipient, false, &login_enc);
                found.refused.push(email);
                (
                    RecheckOutcome::AdminLoginRefused,
                    Some((false, Some(words.as_str()), sig)),
                )
            }
            ProbeOutcome::Unclear(_) => {
                found.inconclusive.push(email);
                (RecheckOutcome::Inconclusive, None)
            }
            ProbeOutcome::AdminRefused => {
                found.admin_password_refused = true;
                tracing::warn!(batch_id = %batch.id, "the old server refused the admin password; the re-check of covered users stopped");
                store
                    .record_event(
                        &batch.id,
                        AuditKind::Other(AUDIT_ADMIN_REFUSED.into()),
                        1,
                        crate::config::now(),
                    )
                    .await?;
                break;
            }
        };
        let change = AdminRecheckChange {
            login_enc: &login_enc,
            answer: answer
                .as_ref()
                .map(|(covered, words, sig)| (*covered, *words, sig.as_slice())),
        };
        if !store
            .record_admin_recheck(
                &batch.id,
                recipient.id,
                change,
                recheck,
                crate::config::now(),
            )
            .await?
        {
            // The admin login changed meanwhile: what this run found is no longer about it.
            break;
        }
        found.checked += 1;
        progress(done + 1);
    }
    if !found.refused.is_empty() {
        store
            .record_event(
                &batch.id,
                AuditKind::Other(AUDIT_ADMIN_LOGIN_REFUSED.into()),
                found.refused.len(),
                crate::config::now(),
            )
            .await?;
    }
    Ok(found)
}

/// Like `covered_without_password`, for an export: with `include_stale`, also the users
/// a re-check found the admin login refused for, whose set-aside covered answer still
/// verifies (as stale users with a changed password are included), in roster order.
pub async fn covered_for_export(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    include_stale: bool,
) -> BatchResult<Option<(AdminLogin, SecretBox<[u8]>, Vec<Recipient>)>> {
    let Some((login, password, mut covered)) =
        covered_without_password(store, batch, admin).await?
    else {
        return Ok(None);
    };
    if include_stale {
        let public_key = settings_signer(admin)?.public_key();
        let login_enc = batch
            .admin_login
            .as_ref()
            .map(|l| l.sealed.enc.clone())
            .unwrap_or_default();
        let refused: std::collections::HashMap<i64, Vec<u8>> = store
            .admin_refused_users(&batch.id)
            .await?
            .into_iter()
            .collect();
        for s in store.recipient_statuses(&batch.id).await? {
            let r = s.recipient;
            if refused
                .get(&r.id)
                .is_some_and(|sig| probe_verifies(&public_key, sig, &batch.id, &r, &login_enc))
            {
                covered.push(r);
            }
        }
        covered.sort_by_key(|r| r.roster_line);
    }
    Ok(Some((login, password, covered)))
}
