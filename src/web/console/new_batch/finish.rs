//! The new-batch form past its checks: unlock the admin key, try the admin login once,
//! create the batch, then set its admin login (with that try's answer: no second login)
//! and its contact. It runs in a task of its own (`create` spawns it), so the request's
//! time limit or a client that hangs up cannot leave a batch half-made.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use maud::html;

use super::super::{AdminSession, ClientKey, Refused, see_other, spawn_probe, unlock_throttled};
use super::{
    CONTACT_NEEDS_IT, IMAP_NEEDS_IT, NewBatchForm, Problem, created_notice, new_batch_page,
    problem, try_first,
};
use crate::batch::admin_login::NewAdminLogin;
use crate::batch::{self, BatchError, NewBatch, Retention};
use crate::config::now;
use crate::i18n::Language;
use crate::imap::ImapSettings;
use crate::roster::Roster;
use crate::storage::{Batch, Branding, StoreError};
use crate::web::{AppError, AppState};

/// What the form's checks gave.
pub(super) struct Checked {
    pub(super) lifetime: Duration,
    pub(super) retention: Retention,
    pub(super) roster: Roster,
    pub(super) imap: Option<ImapSettings>,
    pub(super) branding: Branding,
    pub(super) admin_login: Option<NewAdminLogin>,
    pub(super) language: Option<Language>,
}

/// Purges a batch whose admin login or contact could not be set (its links never
/// left); a failed purge is logged, never silently dropped.
async fn undo(state: &AppState, created: &Batch) {
    if let Err(e) = batch::purge(&state.store, created, now()).await {
        tracing::error!(batch_id = %created.id, error = %e, "a half-made batch could not be purged");
    }
}

/// Everything after the form's checks (see the module's comment).
pub(super) async fn finish(
    state: AppState,
    token_hash: [u8; 32],
    client: ClientKey,
    mut form: NewBatchForm,
    checked: Checked,
) -> Result<Response, AppError> {
    let session = AdminSession { token_hash };
    let server_zone = state.config.time_zone.clone();
    let refuse = |form: &NewBatchForm, problems: &[Problem]| {
        Refused::unprocessable(new_batch_page(form, problems, &server_zone)).into_response()
    };
    let Checked {
        lifetime,
        retention,
        roster,
        imap,
        branding,
        admin_login,
        language,
    } = checked;
    // Before the server is even tested: the test itself connects where the form says.
    let passphrase = std::mem::take(&mut form.passphrase);
    let mut admin = None;
    if imap.is_some() || branding.is_set() {
        let (field, needs) = if imap.is_some() {
            ("new-imap-passphrase", IMAP_NEEDS_IT)
        } else {
            ("new-contact-passphrase", CONTACT_NEEDS_IT)
        };
        match unlock_throttled(&state, client, passphrase).await {
            Ok(unlocked) => admin = Some(unlocked),
            Err(refusal) => {
                return refusal.respond(|why| {
                    let p = problem(field, format!("Admin passphrase: {why} {needs}"));
                    new_batch_page(&form, &[p], &server_zone)
                });
            }
        }
    }
    // Tried once, before anything is created: a refused admin password creates nothing,
    // and its answer is what the batch keeps (no second login once the batch exists).
    let mut tried = None;
    if let (Some(login), Some(settings)) = (&admin_login, &imap) {
        let probe_user = form.admin_login.probe_user();
        match try_first(settings, login, &roster, probe_user).await {
            Ok(answer) => tried = Some(answer),
            Err(p) => return Ok(refuse(&form, &[p])),
        }
    }
    let request = NewBatch {
        name: form.name.clone(),
        org_name: Some(form.org.clone()),
        link_lifetime: lifetime,
        next_steps: Some(form.next_steps.clone()),
        ask_mail_client: form.ask_mail_client,
        retention,
        roster,
        imap,
        time_zone: Some(form.time_zone.clone()),
        language,
    };
    // With the passphrase the batch is signed now; without it, when its links are first
    // opened (which takes the passphrase).
    let created = match &admin {
        Some(admin) => {
            batch::create_signed(
                &state.store,
                &state.config.public_url,
                request,
                now(),
                admin,
            )
            .await
        }
        None => batch::create(&state.store, &state.config.public_url, request, now()).await,
    };
    match created {
        Ok((created, links)) => {
            let mut admin_notice = None;
            if let (Some(admin), Some(login), Some((email, outcome))) = (&admin, admin_login, tried)
            {
                let fresh = state.store.require_batch(&created.id).await?;
                let set = batch::admin_login::set_tried_admin_login(
                    &state.store,
                    &fresh,
                    Some(login),
                    Some(&email),
                    Some(outcome),
                    admin,
                );
                match set.await {
                    Ok(set) => {
                        admin_notice = Some(created_notice(&set.probe_user, set.outcome.as_ref()));
                    }
                    Err(e) => {
                        // Nothing half-made: the batch goes, its links never left.
                        undo(&state, &created).await;
                        let p = problem("admin_password", super::super::sentence(&e.to_string()));
                        return Ok(refuse(&form, &[p]));
                    }
                }
            }
            if let (Some(admin), true) = (&admin, branding.is_set()) {
                let fresh = state.store.require_batch(&created.id).await?;
                let set = batch::set_branding(
                    &state.store,
                    &fresh,
                    branding,
                    crate::storage::LogoChange::Keep,
                    admin,
                    now(),
                );
                if let Err(e) = set.await {
                    // Nothing half-made: the batch goes, its links never left.
                    undo(&state, &created).await;
                    return Err(e.into());
                }
            }
            if let (Some(notice), Some(admin)) = (admin_notice, admin) {
                drop(links);
                // The other users are probed as from the batch page.
                spawn_probe(&state, &created.id, admin);
                return see_other(
                    &state,
                    &session,
                    &format!("/admin/batches/{}", created.id),
                    notice,
                );
            }
            let notice = html! {
                p { strong { "Batch created with " (links.len())
                    @if links.len() == 1 { " link." } @else { " links." } }
                    " Nothing has been sent yet: email the links below, or get them as a CSV." }
            };
            drop(links);
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", created.id),
                notice,
            )
        }
        Err(BatchError::InvalidName(e)) => {
            let field = if e.contains("organisation") {
                "org"
            } else if e.contains("next-steps") {
                "next_steps"
            } else {
                "name"
            };
            Ok(refuse(&form, &[problem(field, super::super::sentence(&e))]))
        }
        Err(e @ BatchError::Store(StoreError::DuplicateBatchName(_))) => Ok(refuse(
            &form,
            &[problem("name", super::super::sentence(&e.to_string()))],
        )),
        Err(BatchError::ImapUnusable(report)) => {
            let mut problems = vec![problem(
                "imap_url",
                format!(
                    "Old mail server: passwords cannot be checked against {}.",
                    report.server
                ),
            )];
            problems.extend(
                report
                    .lines()
                    .into_iter()
                    .skip(1)
                    .map(|(label, value)| problem("imap_url", format!("{label}: {value}"))),
            );
            Ok(refuse(&form, &problems))
        }
        Err(e) => Err(e.into()),
    }
}
