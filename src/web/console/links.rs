//! The links of a batch, opened again with the passphrase: as a mail-merge CSV, or as a
//! page of `mailto:` links that each open a ready message. The CSV is the POST's answer
//! (a download: the browser stays on the form, so nothing is sent again on reload); the
//! `mailto:` links are shown once on the links page after a 303, from a flash in memory.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{admin_layout, passphrase_form};
use super::{
    AdminSession, ClientKey, FlashQuery, csv_download, live_batch, mailto, see_other, shown_once,
    unlock_throttled,
};
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

/// `GET /admin/batches/{id}/links` (with `?flash=`: the email links, once).
pub async fn form(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let shown = shown_once(&state, &session, &flash);
    Ok(links_page(&b, None, shown).into_response())
}

/// `POST /admin/batches/{id}/links`: the passphrase unlocks the live links, as a
/// mail-merge CSV or a page of `mailto:` links.
pub async fn submit(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<LinksForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(key) => key,
        Err(refusal) => return refusal.respond(|why| links_page(&b, Some(why), None)),
    };
    let opened =
        batch::open_live_links(&state.store, &state.config.public_url, &b, &admin, now()).await?;
    drop(admin);
    state
        .store
        .record_event(&b.id, AuditKind::LinksViewed, opened.len(), now())
        .await?;
    if form.format.as_deref() == Some("mailto") {
        let list = mailto_list(&b, &opened);
        drop(opened);
        return see_other(
            &state,
            &session,
            &format!("/admin/batches/{}/links", b.id),
            list,
        );
    }
    let links: Vec<_> = opened.into_iter().map(|(_, link)| link).collect();
    let csv = batch::links_csv(&links, form.excel_bom.as_deref() == Some("yes"));
    Ok(csv_download(csv, &format!("passdrop-{}-links", b.name)))
}

/// The links page: the passphrase unlocks the links again; `shown` is what the last
/// unlock showed (once).
fn links_page(b: &Batch, error: Option<&str>, shown: Option<Markup>) -> Markup {
    admin_layout(
        "Links",
        true,
        html! {
            h1 { "Links for " (b.name) }
            @if let Some(shown) = shown { section { (shown) } }
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

/// The per-user email links, shown once on the links page.
fn mailto_list(b: &Batch, links: &[(Recipient, IssuedLink)]) -> Markup {
    html! {
        h2 { "Email links" }
        p { "Each link opens a ready message in your mail program. They are shown this once: \
             reloading the page does not show them again." }
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
    }
}
