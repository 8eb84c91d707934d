//! The old server's admin login in the console: set, change or stop it, and probe the
//! users not probed yet. Each takes the passphrase (the admin login decides whose
//! passwords are asked for, and only the passphrase opens its sealed password). Setting
//! it tries it once first (a refused admin password changes nothing); then the server
//! probes every user in the background, through the same gate as the password checks.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use secrecy::SecretString;
use serde::Deserialize;

use super::{AdminSession, ClientKey, live_batch, refused, see_other, unlock_throttled};
use crate::batch::admin_login::{self, AdminForm, AdminLogin, NewAdminLogin, ProbeOutcome};
use crate::crypto::AdminKey;
use crate::storage::Batch;
use crate::web::{AppError, AppState};

/// The admin-login form on the batch page.
#[derive(Deserialize)]
pub struct AdminLoginForm {
    #[serde(default)]
    admin_form: String,
    #[serde(default)]
    admin_user: String,
    #[serde(default)]
    admin_separator: String,
    #[serde(default)]
    admin_password: String,
    #[serde(default)]
    admin_probe_user: String,
    #[serde(default)]
    off: Option<String>,
    #[serde(default)]
    passphrase: String,
}

/// The probe form: the passphrase only.
#[derive(Deserialize)]
pub struct ProbeForm {
    #[serde(default)]
    passphrase: String,
}

/// `POST /admin/batches/{id}/admin-login`: set, change or stop the admin login; then
/// 303 to the batch page, the probe running in the background.
pub async fn set(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<AdminLoginForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let new = if form.off.is_some() {
        None
    } else {
        let login = AdminForm::parse(&form.admin_form).and_then(|f| {
            let sep = (f == AdminForm::Dovecot && !form.admin_separator.trim().is_empty())
                .then(|| form.admin_separator.trim());
            AdminLogin::new(f, &form.admin_user, sep)
        });
        let login = match login {
            Ok(login) => login,
            Err(problem) => return nothing_changed(&state, &b, &problem).await,
        };
        if form.admin_password.is_empty() {
            return nothing_changed(&state, &b, "give the admin password").await;
        }
        Some(NewAdminLogin {
            login,
            password: SecretString::from(form.admin_password.clone()),
        })
    };
    let admin = match unlock_throttled(&state, client, form.passphrase.clone()).await {
        Ok(admin) => admin,
        Err(refusal) => return nothing_changed(&state, &b, &refusal.reason()?).await,
    };
    let probe_user = Some(form.admin_probe_user.trim()).filter(|u| !u.is_empty());
    let set = match admin_login::set_admin_login(&state.store, &b, new, probe_user, &admin).await {
        Ok(set) => set,
        Err(e) => return nothing_changed(&state, &b, &e.to_string()).await,
    };
    let notice = match &set.outcome {
        None => {
            html! { p { strong { "Saved." } " The admin login is no longer used: every user gets a link." } }
        }
        Some(outcome) => {
            spawn_probe(&state, &b.id, admin);
            html! {
                p { strong { "Saved." } " "
                    @match outcome {
                        ProbeOutcome::NeedsPassword(words) => {
                            "The admin password is right, but it does not open " (set.probe_user)
                            "'s mailbox (" (words) "). "
                        }
                        _ => { "It opened " (set.probe_user) "'s mailbox. " }
                    }
                    "The other users are being probed now; reload this page to see who is covered. Links go only to users who need their password, once their probe has answered."
                }
            }
        }
    };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}", b.id),
        notice,
    )
}

/// `POST /admin/batches/{id}/admin-login/probe`: probe the users not probed yet, in
/// the background.
pub async fn probe(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<ProbeForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    if b.admin_login.is_none() {
        return nothing_changed(&state, &b, "this batch has no admin login").await;
    }
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return nothing_changed(&state, &b, &refusal.reason()?).await,
    };
    spawn_probe(&state, &b.id, admin);
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}", b.id),
        html! { p { strong { "Probing." } " The users not probed yet are being probed in the background; reload this page to see the groups." } },
    )
}

async fn nothing_changed(state: &AppState, b: &Batch, why: &str) -> Result<Response, AppError> {
    refused(
        state,
        b,
        html! { p { strong { "Nothing was changed." } " Admin login: " (why) } },
    )
    .await
}

/// Rounds a background probe makes for users without a clear answer, and the wait
/// between them.
const PROBE_ROUNDS: usize = 5;
const PROBE_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Probes the batch's unprobed users in the background with the unlocked key (dropped,
/// zeroized, when the probe ends); users without a clear answer are tried again a
/// minute later, a few rounds at most. Only counts are logged.
pub(super) fn spawn_probe(state: &AppState, batch_id: &str, admin: AdminKey) {
    let (store, gate, batch_id) = (
        state.store.clone(),
        state.imap_gate.clone(),
        batch_id.to_owned(),
    );
    tokio::spawn(async move {
        for round in 1..=PROBE_ROUNDS {
            let outcome = match store.require_batch(&batch_id).await {
                Ok(b) if b.admin_login.is_some() => {
                    admin_login::probe_users(&store, &b, &admin, &gate, |_, _| {}).await
                }
                Ok(_) => return,
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(s) => {
                    tracing::info!(
                        %batch_id,
                        round,
                        covered = s.covered,
                        needs_password = s.needs_password,
                        unclear = s.unclear,
                        admin_refused = s.admin_refused,
                        "admin login probe finished"
                    );
                    if s.unclear == 0 || s.admin_refused {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(%batch_id, error = %e, "admin login probe failed");
                    return;
                }
            }
            tokio::time::sleep(PROBE_RETRY_WAIT).await;
        }
    });
}
