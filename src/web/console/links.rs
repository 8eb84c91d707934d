//! The links of a batch, opened again with the passphrase: as a mail-merge CSV, or as a
//! page of `mailto:` links that each open a ready message.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{admin_layout, passphrase_form};
use super::{AdminSession, ClientKey, csv_download, live_batch, mailto, unlock_throttled};
use crate::batch::{self, IssuedLink};
use crate::config::now;
use crate::storage::{AuditKind, Batch, Recipient};
use crate::web::{AppError, AppState};

/// The links form: the passphrase, CSV or `mailto:` links, and whether the CSV starts
/// with a byte order mark for Excel.
#[derive(serde::Deserialize)]
pub struct LinksForm {
    passphrase: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    excel_bom: Option<String>,
}

/// `GET /admin/batches/{id}/links`.
pub async fn form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    Ok(links_page(&b, None).into_response())
}

/// `POST /admin/batches/{id}/links`: the passphrase unlocks the live links, as a
/// mail-merge CSV or a page of `mailto:` links.
pub async fn submit(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<LinksForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(key) => key,
        Err(refusal) => return refusal.respond(|why| links_page(&b, Some(why))),
    };
    let opened =
        batch::open_live_links(&state.store, &state.config.public_url, &b, &admin, now()).await?;
    drop(admin);
    state
        .store
        .record_event(&b.id, AuditKind::LinksViewed, opened.len(), now())
        .await?;
    if form.format.as_deref() == Some("mailto") {
        return Ok(mailto_page(&b, &opened).into_response());
    }
    let links: Vec<_> = opened.into_iter().map(|(_, link)| link).collect();
    let csv = batch::links_csv(&links, form.excel_bom.as_deref() == Some("yes"));
    Ok(csv_download(csv, &format!("passdrop-{}-links", b.name)))
}

/// The links page: the passphrase unlocks the links again.
fn links_page(b: &Batch, error: Option<&str>) -> Markup {
    admin_layout(
        "Links",
        true,
        html! {
            h1 { "Links for " (b.name) }
            p { "Links are stored encrypted, like the passwords: your passphrase unlocks them. \
                 Each link is a key to one mailbox's form, so send each only to its user." }
            (passphrase_form(&format!("/admin/batches/{}/links", b.id), error, html! {
                label.choice {
                    input type="checkbox" name="excel_bom" value="yes";
                    " For Excel: start the CSV with a byte order mark, so Excel shows accented \
                     names right (leave it off for other mail-merge tools)"
                }
                button type="submit" name="format" value="csv" { "Download mail-merge CSV" }
                " "
                button.secondary type="submit" name="format" value="mailto" { "Show email links" }
            }))
            p { a href={ "/admin/batches/" (b.id) } { "Back to the batch" } }
        },
    )
}

/// The per-user email links.
fn mailto_page(b: &Batch, links: &[(Recipient, IssuedLink)]) -> Markup {
    admin_layout(
        "Email links",
        true,
        html! {
            h1 { "Email links for " (b.name) }
            p { "Each link opens a ready message in your mail program. Close this page when done." }
            table {
                thead { tr { th { "Email" } th { "Message" } } }
                tbody {
                    @for (r, l) in links {
                        @let to = r.alternate_email.as_deref().unwrap_or(&r.email);
                        tr {
                            td { (l.email) }
                            td { a href=(mailto(to, l, b)) { "Write to " (to) } }
                        }
                    }
                }
            }
            p { a href={ "/admin/batches/" (b.id) } { "Back to the batch" } }
        },
    )
}
