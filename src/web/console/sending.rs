//! `POST /admin/batches/{id}/send`: email the links (everyone not yet emailed, a
//! reminder to all still waiting, one user, or resume the queue) through the relay, in
//! the background. It takes the passphrase again, which opens the links. Success
//! answers 303 to the batch page, which shows the summary once; `GET .../progress` is
//! what the page's script polls while messages are sent.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use maud::html;
use serde::Deserialize;

use super::batch_page::{plural, send_progress};
use super::{
    AdminSession, ClientKey, live_batch, refused_send, relay, see_other, unlock_throttled,
};

use crate::config::now;
use crate::outbox::{self, OutboxError, Selection};
use crate::web::{AppError, AppState};

/// The send form.
#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    who: String,
    #[serde(default)]
    email: String,
    /// Set by the "email the new link" button after a reissue, instead of `who`.
    #[serde(default)]
    one: String,
    passphrase: String,
}

/// `POST /admin/batches/{id}/send`: queue messages and send them in the background.
pub async fn send(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<SendForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    // Kept in "Email one user" if the send is refused (never the passphrase).
    let typed = if form.one.is_empty() {
        form.email.trim()
    } else {
        form.one.trim()
    };
    let nothing = |why: String| html! { p { strong { "Nothing was sent." } " " (why) } };
    let selection = match form.who.as_str() {
        _ if form.one.contains('@') => Selection::One(form.one.trim().to_owned()),
        "unsent" => Selection::Unsent,
        "reminder" => Selection::Reminder,
        "queued" => Selection::Queued,
        "one" if form.email.trim().contains('@') => Selection::One(form.email.trim().to_owned()),
        "one" => {
            return refused_send(
                &state,
                &b,
                typed,
                nothing("Give the user's EmailAddress.".into()),
            )
            .await;
        }
        _ => return refused_send(&state, &b, typed, nothing("Choose whom to email.".into())).await,
    };
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return refused_send(&state, &b, typed, nothing(refusal.reason()?)).await,
    };
    let settings = match relay(&state, &admin).await {
        Ok(s) => s,
        Err(e) => return refused_send(&state, &b, typed, nothing(e)).await,
    };
    let letters =
        outbox::letters_from_live_links(&state.store, &state.config.public_url, &b, &admin, now())
            .await?;
    drop(admin);
    if let Err(e) = settings.test_connection().await {
        let why = format!(
            "The relay {}:{} cannot be used: {e}",
            settings.host, settings.port
        );
        return refused_send(&state, &b, typed, nothing(why)).await;
    }
    let plan = match state.outbox.send(&b, settings, letters, &selection).await {
        Ok(plan) => plan,
        Err(
            e @ (OutboxError::NoOpenLink(_) | OutboxError::InFlight(_) | OutboxError::Stopping),
        ) => {
            return refused_send(&state, &b, typed, html! { p { (e.to_string()) "." } }).await;
        }
        Err(OutboxError::Store(e)) => return Err(e.into()),
    };
    let waiting = state.store.queued_deliveries(&b.id).await?.len();
    let sending = state.outbox.is_sending(&b.id).await;
    let notice = html! {
        p {
            @if plan.queued > 0 {
                strong { (plural(plan.queued, "One message", "", " messages")) " queued" }
                "; " @if plan.queued == 1 { "it is" } @else { "they are" } " sent in the background, at most " (state.config.send_rate) " a second."
            } @else if selection == Selection::Queued && sending {
                "Sending resumed: " (plural(waiting, "one queued message", "", " queued messages")) "."
            } @else if selection == Selection::Queued && waiting > 0 {
                (plural(waiting, "The one queued message has", "", " queued messages have")) " no open link any more (used, revoked or expired); nothing to send."
            } @else if selection == Selection::Queued {
                "Nothing waits in the queue."
            } @else {
                "No one to email: everyone chosen has submitted, was emailed already, or is queued."
            }
        }
        @if !plan.unknown.is_empty() {
            p { "Not emailed again, because an earlier message to them may have arrived (sending stopped mid-message): "
                (plan.unknown.join(", ")) ". Use “Email one user” to send one anyway." }
        }
        @if plan.unreachable > 0 {
            p { (plural(plan.unreachable, "One user who has not submitted has", "", " users who have not submitted have")) " no open link (expired, revoked or locked): reissue theirs." }
        }
    };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}", b.id),
        notice,
    )
}

/// `GET /admin/batches/{id}/progress`: where the batch's messages stand, as JSON, for
/// the batch page's progress script.
pub async fn progress(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    Ok(Json(send_progress(&state, &b).await?).into_response())
}
