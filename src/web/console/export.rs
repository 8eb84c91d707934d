//! The end of a batch: the Microsoft 365 CSV (made on request, never stored), the purge
//! after it, and the tombstone that remains.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::batch_page::audit_words;
use super::layout::{admin_layout, error_box, passphrase_field, passphrase_form};
use super::{
    AdminSession, ClientKey, Refusal, Refused, csv_download, live_batch, see_other,
    unlock_throttled,
};
use crate::batch;
use crate::config::{format_time, now};
use crate::storage::{AuditEvent, Batch, Tombstone};
use crate::web::{AppError, AppState};

/// The export form: the passphrase, and whether the admin has seen the warning about
/// passwords that look like spreadsheet formulas.
#[derive(Deserialize)]
pub struct ExportForm {
    passphrase: String,
    #[serde(default)]
    formula_ok: Option<String>,
}

/// The purge confirmation and the passphrase.
#[derive(Deserialize)]
pub struct PurgeForm {
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    passphrase: String,
}

/// `GET /admin/batches/{id}/export`.
pub async fn form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let missing = missing_count(&state, &b).await?;
    Ok(export_page(&b, missing, None, None).into_response())
}

/// How many users of `b` have not submitted (they are not in the file).
async fn missing_count(state: &AppState, b: &Batch) -> Result<usize, AppError> {
    Ok(state
        .store
        .recipient_statuses(&b.id)
        .await?
        .iter()
        .filter(|s| s.submitted_at.is_none())
        .count())
}

/// `POST /admin/batches/{id}/export`: the Microsoft 365 CSV as a download; nothing is
/// stored on the server. When passwords look like spreadsheet formulas, a page naming
/// their users comes first (a download cannot carry a warning), and the file only
/// after the admin has read it.
pub async fn submit(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<ExportForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(key) => key,
        Err(Refusal::Internal(e)) => return Err(e),
        Err(refusal) => {
            let missing = missing_count(&state, &b).await?;
            return refusal.respond(|why| export_page(&b, missing, Some(why), None));
        }
    };
    let exported = batch::prepare_m365(&state.store, &b, &admin).await?;
    drop(admin);
    if !exported.formula_risk.is_empty() && form.formula_ok.as_deref() != Some("yes") {
        return Ok(formula_page(&b, &exported.formula_risk).into_response());
    }
    state
        .store
        .mark_exported(&b.id, exported.rows, now())
        .await?;
    Ok(csv_download(
        exported.csv,
        &format!("passdrop-{}-m365", b.name),
    ))
}

/// `POST /admin/batches/{id}/purge`: after the "I have saved the file" confirmation,
/// and with the passphrase: a purge destroys every collected password, so a session
/// alone must not be enough. Then 303 to the batches, which say so once.
pub async fn purge(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<PurgeForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    if form.confirm.as_deref() != Some("yes") {
        let missing = missing_count(&state, &b).await?;
        let page = export_page(
            &b,
            missing,
            None,
            Some("Tick the box to confirm the file is saved."),
        );
        return Ok(Refused::unprocessable(page).into_response());
    }
    match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        Ok(admin) => drop(admin),
        Err(Refusal::Internal(e)) => return Err(e),
        Err(refusal) => {
            let missing = missing_count(&state, &b).await?;
            return refusal.respond(|why| export_page(&b, missing, None, Some(why)));
        }
    }
    batch::purge(&state.store, &b, now()).await?;
    let notice = html! { p { strong { "Purged " (b.name) ": nothing readable remains." } } };
    see_other(&state, &session, "/admin/batches", notice)
}

/// `GET /admin/purged/{id}`: what remains of a purged batch: its tombstone and audit
/// trail, no user data.
pub async fn tombstone(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some(tombstone) = state.store.find_tombstone(&id).await? else {
        return Err(AppError::Gone(
            "No such batch",
            "No purged batch has this id.",
        ));
    };
    let audit = state.store.audit_trail(&tombstone.batch_id).await?;
    Ok(tombstone_page(&tombstone, &audit).into_response())
}

/// The export page: passphrase for the download, then the purge confirmation and the
/// passphrase again; each form with its own problem, if any.
fn export_page(
    b: &Batch,
    missing: usize,
    error: Option<&str>,
    purge_error: Option<&str>,
) -> Markup {
    admin_layout(
        "Export",
        true,
        html! {
            h1 { "Export " (b.name) }
            @if missing > 0 {
                p.notice { strong { (missing) @if missing == 1 { " user has" } @else { " users have" } } " not submitted yet; they will not be in the file." }
            }
            h2 { "1. Download the Microsoft 365 CSV" }
            p { "The file (EmailAddress, UserName, Password) is made now and sent only to your \
                 browser; it is never stored on the server. Keep it safe and delete it after \
                 the migration." }
            (formula_note())
            (passphrase_form(&format!("/admin/batches/{}/export", b.id), error, html! {
                button type="submit" { "Download CSV" }
            }))
            h2 { "2. Purge the batch" }
            p { "Once the file is saved, purge: the batch key, every password, link and roster \
                 row are deleted for good. If you do nothing, the batch is purged on "
                strong { (format_time(batch::automatic_purge_at(b))) } "." }
            form method="post" action={ "/admin/batches/" (b.id) "/purge" } {
                (error_box(purge_error))
                label.choice {
                    input type="checkbox" name="confirm" value="yes" required;
                    " I have saved the CSV file"
                }
                (passphrase_field("purge-passphrase", "Admin passphrase"))
                button.danger type="submit" { "Purge now" }
            }
            p { a href={ "/admin/batches/" (b.id) } { "Back to the batch" } }
        },
    )
}

/// Why the file must not be opened in a spreadsheet, on the export page.
fn formula_note() -> Markup {
    html! {
        p.notice {
            strong { "Never open the file in a spreadsheet program" }
            " (Excel, LibreOffice, Numbers), and never save it from one: a user can type a \
             password that starts with =, +, - or @, which a spreadsheet runs as a formula, \
             and saving would change the passwords. Upload it to Microsoft as it is. passdrop \
             names such users before the download."
        }
    }
}

/// Before a download whose passwords look like formulas: who, and the download again.
fn formula_page(b: &Batch, emails: &[String]) -> Markup {
    admin_layout(
        "Before you download",
        true,
        html! {
            h1 { "Before you download " (b.name) }
            div.notice role="alert" {
                p { strong { (emails.len()) @if emails.len() == 1 { " password starts" } @else { " passwords start" } }
                    " with =, +, -, @, a tab or a carriage return, which a spreadsheet runs as a \
                     formula (and which may be an attack on whoever opens the file). The file \
                     keeps every password exactly as typed, as Microsoft needs. Their users:" }
                ul { @for e in emails { li { (e) } } }
                p { strong { "Never open this file in Excel, LibreOffice or another spreadsheet \
                              program" } ", and never save it from one: upload it to Microsoft as \
                              it is. Check these users' passwords with them if in doubt." }
            }
            (passphrase_form(&format!("/admin/batches/{}/export", b.id), None, html! {
                input type="hidden" name="formula_ok" value="yes";
                button type="submit" { "Download the CSV; I will not open it in a spreadsheet" }
            }))
            p { a href={ "/admin/batches/" (b.id) "/export" } { "Back to the export page" } }
        },
    )
}

/// What remains of a purged batch.
fn tombstone_page(t: &Tombstone, audit: &[AuditEvent]) -> Markup {
    admin_layout(
        &t.name,
        true,
        html! {
            h1 { (t.name) " (purged)" }
            p { "Created " (format_time(t.created_at)) ", purged " (format_time(t.purged_at))
                ". " (t.submitted) " of " (t.recipients) " users had submitted." }
            p.small { "No password, link, address or name of its users remains." }
            h2 { "Audit trail" }
            ul.audit { @for e in audit { li { (format_time(e.at)) " — " (audit_words(e)) } } }
            p { a href="/admin/batches" { "Back to the batches" } }
        },
    )
}
