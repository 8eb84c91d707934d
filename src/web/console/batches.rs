//! Batches: the list, the new-batch form and its roster upload, each batch's page, and
//! the two per-user actions on it (reissue a link, revoke one). Thin: parse, call
//! `batch`, render.
//!
//! A batch that checks passwords against a mail server, and a reissue (it shows a new
//! link), take the passphrase in the same request; see SECURITY.md, "Session versus
//! authority". A revoke does not: it only stops a link that has taken nothing yet.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::batch_page::{self as pages, Filter};
use super::layout::{admin_layout, at, notice_box, passphrase_form, when};
use super::{
    AdminSession, ClientKey, FlashQuery, live_batch, mailto, refused, render_batch_page, see_other,
    shown_once, unlock_throttled,
};
use crate::batch::{self, BatchError, IssuedLink};
use crate::config::{TimeZoneSetting, now};
use crate::storage::{Batch, BatchSummary, StoreError, Tombstone};
use crate::web::{AppError, AppState};
use secrecy::ExposeSecret as _;

/// `?show=` on the batch page.
#[derive(Deserialize)]
pub struct ShowQuery {
    show: Option<String>,
}

/// The recipient a reissue or revoke is about (a reissue also takes the passphrase).
#[derive(Deserialize)]
pub struct RecipientForm {
    email: String,
    #[serde(default)]
    passphrase: String,
}

/// `GET /admin`: the batches page (or the login page when logged out).
pub async fn home(_session: AdminSession) -> Redirect {
    Redirect::to("/admin/batches")
}

/// `GET /admin/batches` (with `?flash=` after a setup or a purge).
pub async fn list(
    State(state): State<AppState>,
    session: AdminSession,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let list = state.store.list_batches().await?;
    let tombstones = state.store.list_tombstones().await?;
    let notice = shown_once(&state, &session, &flash);
    let tz = &state.config.time_zone;
    Ok(list_page(&list, &tombstones, now(), tz, notice).into_response())
}

/// `GET /admin/batches/{id}` (with `?flash=` after an action on the batch).
pub async fn show(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let notice = shown_once(&state, &session, &flash);
    render_batch_page(&state, &b, Filter::parse(query.show.as_deref()), notice).await
}

/// `GET /admin/batches/{id}/reissue?email=`: what a reissue does, and the passphrase.
pub async fn reissue_form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    Query(form): Query<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    Ok(reissue_page(&b, &form.email, None).into_response())
}

/// `POST /admin/batches/{id}/reissue`: a new link, then 303 to the batch page, which
/// shows it once (a flash in memory: reloading that page never reissues again). It
/// takes the passphrase: the new link opens the user's form (and replaces what they
/// may have submitted), so a stolen session must not be enough to get one.
pub async fn reissue(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        // A batch made without the passphrase is signed now, or the new link would take
        // no password.
        Ok(admin) => batch::sign_new_batch(&state.store, &admin, &b).await?,
        Err(refusal) => return refusal.respond(|why| reissue_page(&b, &form.email, Some(why))),
    }
    // Read before the reissue: after it, the new link is shown once and must not be
    // lost to a later error.
    let to = match state.store.recipient(&b, &form.email).await {
        Ok(r) => r.alternate_email.unwrap_or(r.email),
        Err(StoreError::NoSuchRecipient { .. }) => {
            return refused(&state, &b, no_such_recipient()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let relay = pages::relay_description(&state).await?;
    let link = match batch::reissue(
        &state.store,
        &state.config.public_url,
        &b,
        &form.email,
        now(),
    )
    .await
    {
        Ok(link) => link,
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => {
            return refused(&state, &b, no_such_recipient()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let notice = html! {
        (reissued_notice(&link, &to, &b))
        @if relay.is_some() {
            p { (pages::email_one_button(&link.email)) }
        }
    };
    drop(link);
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}", b.id),
        notice,
    )
}

/// The notice when a reissue or revoke names someone not in the batch.
fn no_such_recipient() -> Markup {
    html! { p { "That address is not in this batch; nothing was changed." } }
}

/// `POST /admin/batches/{id}/revoke`: 303 to the batch page, which says so once.
pub async fn revoke(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Form(form): Form<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    match batch::revoke(&state.store, &b, &form.email).await {
        Ok(()) => {
            let notice = html! { p { "The link of " (form.email) " is revoked." } };
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", b.id),
                notice,
            )
        }
        Err(e @ BatchError::NothingToRevoke(_)) => {
            refused(
                &state,
                &b,
                html! { p { (super::sentence(&e.to_string())) " Nothing was changed." } },
            )
            .await
        }
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => {
            refused(&state, &b, no_such_recipient()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Before a reissue: what it does, and the passphrase.
fn reissue_page(b: &Batch, email: &str, error: Option<&str>) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    admin_layout(
        "Reissue a link",
        true,
        html! {
            h1 { "Reissue the link of " (email) }
            p { "The current link stops working at once. The new one is shown once, on the \
                 next page, ready to send (reloading that page does not reissue again, and \
                 no longer shows it). Your passphrase is asked again because the new link \
                 opens this user's form." }
            (passphrase_form(&format!("{base}/reissue"), error, html! {
                input type="hidden" name="email" value=(email);
                button type="submit" { "Reissue the link" }
            }))
            p { a href=(base) { "Back to the batch" } }
        },
    )
}

/// Shown after a reissue: the new link, once.
fn reissued_notice(link: &IssuedLink, to: &str, b: &Batch) -> Markup {
    html! {
        p { "New link for " strong { (link.email) } " (the old one no longer works):" }
        p { code.link { (link.link.expose_secret()) } }
        p { a href=(mailto(to, link, b)) { "Write it to " (to) " yourself" } }
        p.small { "This link is shown this once: reloading the page does not show it again \
                   (and does not reissue). To get another, reissue again." }
    }
}

/// Every batch, with progress, and the tombstones of purged ones; `notice` on top.
fn list_page(
    list: &[BatchSummary],
    tombstones: &[Tombstone],
    now: i64,
    tz: &TimeZoneSetting,
    notice: Option<Markup>,
) -> Markup {
    admin_layout(
        "Batches",
        true,
        html! {
            h1 { "Batches" }
            (notice_box(notice))
            @if list.is_empty() {
                p { "No batches yet. " a href="/admin/batches/new" { "Create the first one" } "." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Links valid until" } th { "Progress" } th { "Purged automatically" } } }
                    tbody {
                        @for s in list {
                            @let zone = TimeZoneSetting::or_stored(s.batch.time_zone.as_deref(), tz);
                            tr {
                                td { a href={ "/admin/batches/" (s.batch.id) } { (s.batch.name) } }
                                td {
                                    (at(s.batch.expires_at, now, &zone))
                                    @if s.batch.expires_at <= now { " " span.badge { "expired" } }
                                }
                                td {
                                    progress value=(s.submitted) max=(s.recipients.max(1)) {
                                        (s.submitted) " of " (s.recipients)
                                    }
                                    " " (s.submitted) " / " (s.recipients)
                                }
                                td { (at(batch::automatic_purge_at(&s.batch), now, &zone)) }
                            }
                        }
                    }
                }
            }
            @if !tombstones.is_empty() {
                h2 { "Purged" }
                table {
                    thead { tr { th { "Name" } th { "Created" } th { "Purged" } th { "Submitted" } } }
                    tbody {
                        @for t in tombstones {
                            tr {
                                td { a href={ "/admin/purged/" (t.batch_id) } { (t.name) } }
                                td { (when(t.created_at, now, tz)) }
                                td { (when(t.purged_at, now, tz)) }
                                td { (t.submitted) " of " (t.recipients) }
                            }
                        }
                    }
                }
            }
        },
    )
}
