//! The old mail server a batch checks passwords against: test the connection, and set,
//! change or remove it. Setting, changing or removing it takes the passphrase, since it
//! decides where every later password goes. The test needs only the session: it tries
//! the saved server (which only the passphrase can set), and its report never quotes
//! what the server sent.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::batch_page::imap_passphrase;
use super::{AdminSession, ClientKey, live_batch, refused, see_other, unlock_throttled};
use crate::batch::{self, BatchError};
use crate::config::now;
use crate::imap::{self, ImapSettings, WhenUnreachable};
use crate::storage::{AuditKind, Batch};
use crate::web::{AppError, AppState};

/// The old-mail-server form on the batch page.
#[derive(Debug, Deserialize)]
pub struct ImapForm {
    #[serde(default)]
    imap_url: String,
    #[serde(default)]
    imap_cert_sha256: String,
    #[serde(default)]
    imap_ca_pem: String,
    #[serde(default)]
    imap_when_unreachable: String,
    #[serde(default)]
    off: Option<String>,
    #[serde(default)]
    passphrase: String,
}

/// `POST /admin/batches/{id}/imap/test`: test the connection to the saved server,
/// without any password; 303 to the batch page, which shows the report once.
pub async fn test(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let notice = match &b.imap {
        None => html! { p { "This batch does not check passwords against a mail server." } },
        Some(settings) => {
            // Only a server the admin signed for is connected to with a session alone.
            batch::require_signed_batch(&state.store, &state.config.settings_key, &b).await?;
            let mut report = imap::check_connection(settings).await;
            report.throttling = state.imap_gate.throttling(&settings.server);
            html! {
                p { strong { @if report.ok() { "The connection works." } @else { "The connection test failed." } } }
                (imap_report(&report))
                (pin_offer(&b, &report))
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

/// `POST /admin/batches/{id}/imap`: set, change or remove the old mail server. A server
/// is tested first and saved only if passwords can be checked with it; then 303 to the
/// batch page.
pub async fn set(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<ImapForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    // Every later password goes to this server: choosing it, or turning checks off,
    // takes the passphrase, not just a session (which a stolen cookie would give).
    let admin = match unlock_throttled(&state, client, form.passphrase.clone()).await {
        Ok(admin) => admin,
        Err(refusal) => {
            let why = refusal.reason()?;
            let notice = html! {
                p { strong { "Nothing was changed." } " " (why) }
                (typed_again(&b, &form))
            };
            return refused(&state, &b, notice).await;
        }
    };
    let settings = if form.off.is_some() {
        Ok(None)
    } else {
        let when = if form.imap_when_unreachable.is_empty() {
            WhenUnreachable::AskToRetry.as_str()
        } else {
            &form.imap_when_unreachable
        };
        ImapSettings::from_fields(
            &form.imap_url,
            &form.imap_cert_sha256,
            &form.imap_ca_pem,
            when,
        )
    };
    let settings = match settings {
        Ok(s) => s,
        Err(problem) => {
            return refused(
                &state,
                &b,
                html! {
                    p { strong { "Nothing was changed." } " Old mail server: " (problem) }
                },
            )
            .await;
        }
    };
    match batch::set_imap(&state.store, &b, settings, &admin).await {
        Ok(report) => {
            state
                .store
                .record_event(&b.id, AuditKind::ImapChanged, 1, now())
                .await?;
            let notice = match report {
                Some(report) => html! {
                    p { strong { "Saved." } " Every password will now be checked against "
                        (report.server) " before it is accepted." }
                    (imap_report(&report))
                },
                None => {
                    html! { p { strong { "Saved." } " Passwords are no longer checked against a mail server." } }
                }
            };
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", b.id),
                notice,
            )
        }
        Err(BatchError::ImapUnusable(report)) => {
            let offer = {
                // Offer the pin for the server that was tried, not the one stored.
                let mut tried = b.clone();
                tried.imap = ImapSettings::from_fields(
                    &form.imap_url,
                    "",
                    "",
                    if form.imap_when_unreachable.is_empty() {
                        "retry"
                    } else {
                        &form.imap_when_unreachable
                    },
                )
                .ok()
                .flatten();
                pin_offer(&tried, &report)
            };
            refused(
                &state,
                &b,
                html! {
                    p { strong { "Nothing was changed:" } " passwords cannot be checked against "
                        (report.server) "." }
                    (imap_report(&report))
                    (offer)
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// After a refused passphrase: what the admin asked for, kept (never the passphrase),
/// ready to send again with the passphrase.
fn typed_again(b: &Batch, form: &ImapForm) -> Markup {
    html! {
        form method="post" action={ "/admin/batches/" (b.id) "/imap" } {
            p {
                @if form.off.is_some() {
                    "You asked to stop checking passwords."
                    input type="hidden" name="off" value="1";
                } @else {
                    "You asked to check passwords against " code { (form.imap_url) } "."
                }
            }
            input type="hidden" name="imap_url" value=(form.imap_url);
            input type="hidden" name="imap_cert_sha256" value=(form.imap_cert_sha256);
            input type="hidden" name="imap_ca_pem" value=(form.imap_ca_pem);
            input type="hidden" name="imap_when_unreachable" value=(form.imap_when_unreachable);
            (imap_passphrase("again-passphrase"))
            button type="submit" { "Try again" }
        }
    }
}

/// A connection test's report as a definition list.
fn imap_report(report: &imap::ConnectionReport) -> Markup {
    html! {
        dl.report {
            @for (label, value) in report.lines() {
                dt { (label) }
                dd { (value) }
            }
        }
    }
}

/// After a failed test, an offer to pin the certificate the server presented.
fn pin_offer(b: &Batch, report: &imap::ConnectionReport) -> Markup {
    let Some(fp) = report.certificate_sha256 else {
        return html! {};
    };
    let Some(i) = &b.imap else { return html! {} };
    if !matches!(report.problem, Some(imap::ImapProblem::Certificate(_))) {
        return html! {};
    }
    html! {
        form method="post" action={ "/admin/batches/" (b.id) "/imap" } {
            input type="hidden" name="imap_url" value=(i.server.to_string());
            input type="hidden" name="imap_cert_sha256" value=(imap::fingerprint_hex(&fp));
            input type="hidden" name="imap_when_unreachable" value=(i.when_unreachable.as_str());
            (imap_passphrase("pin-passphrase"))
            p.small {
                "If you are sure this is your old mail server (ask the web host for the                  fingerprint if in doubt), you can trust exactly this certificate."
            }
            button type="submit" { "Trust this certificate" }
        }
    }
}
