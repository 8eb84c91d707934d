//! Re-checking covered users through the admin login (issue 18): users who gave no
//! password of their own are re-checked the way they were probed. Still opens: `ok`.
//! Clearly refused for that user (`[AUTHORIZATIONFAILED]`, `NO`, a UserRoot gone):
//! `admin_login_refused`, and their signed probe answer becomes "needs their password"
//! (re-signed; a set-aside answer, signed under its own kind, is kept for
//! `--include-stale`). The admin password refused (`[AUTHENTICATIONFAILED]`): the run
//! stops and marks nobody after it, and the refusal is kept until a later re-check gets
//! in (`admin_password_refused`): meanwhile an export leaves covered users out unless
//! asked to include stale users, and the readiness report lists it. No clear answer:
//! inconclusive, nothing changed.

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
    /// The server refused the admin password: the run stopped, nobody after it was
    /// marked (users re-checked before it keep their outcome).
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
    let password = password_text(&password)?;
    let login_enc = login_enc_of(batch);
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
            .is_some_and(|sig| stale_verifies(&public_key, sig, &batch.id, &r, &login_enc))
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
        let (outcome, session, warning) =
            probe_one(gate, settings, &login, recipient, &password, GATE_TRIES).await;
        if let Some(session) = session {
            session.close().await;
        }
        if let Some(warning) = warning {
            let now = crate::config::now();
            crate::batch::note_throttling(store, &batch.id, &settings.server, &warning, now)
                .await?;
        }
        let email = recipient.email.clone();
        let (recheck, answer) = match &outcome {
            ProbeOutcome::Covered => {
                let sig = was_refused
                    .then(|| sign_probe(&signer, &batch.id, recipient, true, &login_enc));
                (RecheckOutcome::Ok, sig.map(|sig| (true, None, sig, None)))
            }
            ProbeOutcome::NeedsPassword(words) => {
                let sig = sign_probe(&signer, &batch.id, recipient, false, &login_enc);
                let stale = sign_stale(&signer, &batch.id, recipient, &login_enc);
                found.refused.push(email);
                (
                    RecheckOutcome::AdminLoginRefused,
                    Some((false, Some(words.as_str()), sig, Some(stale))),
                )
            }
            ProbeOutcome::Unclear(_) => {
                found.inconclusive.push(email);
                (RecheckOutcome::Inconclusive, None)
            }
            ProbeOutcome::AdminRefused => {
                found.admin_password_refused = true;
                tracing::warn!(batch_id = %batch.id, "the old server refused the admin password; the re-check of covered users stopped");
                let now = crate::config::now();
                store
                    .record_admin_password_refused(&batch.id, &login_enc, now)
                    .await?;
                store
                    .record_event(
                        &batch.id,
                        AuditKind::Other(AUDIT_ADMIN_REFUSED.into()),
                        1,
                        now,
                    )
                    .await?;
                break;
            }
        };
        let change = AdminRecheckChange {
            login_enc: &login_enc,
            answer: answer.as_ref().map(|(covered, words, sig, stale)| {
                (*covered, *words, sig.as_slice(), stale.as_deref())
            }),
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

/// When a re-check found the old server refusing the batch's admin password, unless a
/// later re-check got in through it (or the admin login was set again since).
pub async fn admin_password_refused(store: &Store, batch: &Batch) -> BatchResult<Option<i64>> {
    let Some(login) = &batch.admin_login else {
        return Ok(None);
    };
    Ok(store
        .admin_password_refused_at(&batch.id, &login.sealed.enc)
        .await?)
}

/// What an export writes through the admin login.
pub struct CoveredForExport {
    /// The admin login.
    pub login: AdminLogin,
    /// Its password.
    pub password: SecretBox<[u8]>,
    /// The users whose rows carry it, in roster order.
    pub users: Vec<Recipient>,
    /// Covered users left out because the last re-check found the admin password
    /// refused (EmailAddresses; empty with `include_stale`).
    pub held_back: Vec<String>,
}

/// Like `covered_without_password`, for an export. Without `include_stale`, users whose
/// last re-check found the admin login refused stay out (even if their answer was put
/// back to "covered" in the database), and, while a re-check's refusal of the admin
/// password stands (`admin_password_refused`), every covered user does (`held_back`).
/// With it, also the users a re-check found the admin login refused for, whose
/// set-aside answer verifies (as stale users with a changed password are included).
pub async fn covered_for_export(
    store: &Store,
    batch: &Batch,
    admin: &AdminKey,
    include_stale: bool,
) -> BatchResult<Option<CoveredForExport>> {
    let Some((login, password, mut covered)) =
        covered_without_password(store, batch, admin).await?
    else {
        return Ok(None);
    };
    let mut held_back = Vec::new();
    if !include_stale {
        let marked: std::collections::HashSet<i64> = store
            .password_changed_users(&batch.id)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        covered.retain(|r| {
            let keep = !marked.contains(&r.id);
            if !keep {
                tracing::error!(batch_id = %batch.id, recipient_id = r.id, "a user the last re-check found refused reads as covered; the admin login is not used for this user");
            }
            keep
        });
        if admin_password_refused(store, batch).await?.is_some() {
            held_back = covered.drain(..).map(|r| r.email).collect();
        }
        return Ok(Some(CoveredForExport {
            login,
            password,
            users: covered,
            held_back,
        }));
    }
    let public_key = settings_signer(admin)?.public_key();
    let login_enc = login_enc_of(batch);
    let refused: std::collections::HashMap<i64, Vec<u8>> = store
        .admin_refused_users(&batch.id)
        .await?
        .into_iter()
        .collect();
    for s in store.recipient_statuses(&batch.id).await? {
        let r = s.recipient;
        if refused
            .get(&r.id)
            .is_some_and(|sig| stale_verifies(&public_key, sig, &batch.id, &r, &login_enc))
        {
            covered.push(r);
        }
    }
    covered.sort_by_key(|r| r.roster_line);
    Ok(Some(CoveredForExport {
        login,
        password,
        users: covered,
        held_back,
    }))
}
