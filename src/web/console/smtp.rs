//! The console's email handlers: send, remind and resume; the relay settings; the
//! message editor. Every action that sends or changes where mail goes takes the
//! passphrase again (a stolen session cookie alone cannot send the links anywhere).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::batch_page::Filter;
use super::message::{self as pages, RelayShown, SmtpFields};
use super::session::AdminSession;
use super::{ClientKey, Refused, live_batch, refused, render_batch_page, unlock_throttled};
use crate::batch;
use crate::config::{format_time, now};
use crate::crypto::AdminKey;
use crate::mail::{RelayFields, SmtpSettings, Template};
use crate::outbox::{Letter, OutboxError, Selection};
use crate::storage::Batch;
use crate::web::{AppError, AppState};

/// The relay to send with: the configured one, else the saved one (its password opened
/// with the admin key).
async fn relay(state: &AppState, admin: &AdminKey) -> Result<SmtpSettings, String> {
    crate::mail::effective_relay(&state.store, state.config.smtp.as_ref(), Some(admin))
        .await?
        .ok_or_else(|| "no SMTP relay is set up: see Email settings".to_owned())
}

/// The send form.
#[derive(Deserialize)]
pub struct SendForm {
    who: String,
    #[serde(default)]
    email: String,
    passphrase: String,
}

/// `POST /admin/batches/{id}/send`: queue messages and send them in the background.
pub async fn send(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<SendForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let nothing = |why: String| html! { p { strong { "Nothing was sent." } " " (why) } };
    let selection = match form.who.as_str() {
        "unsent" => Selection::Unsent,
        "reminder" => Selection::Reminder,
        "queued" => Selection::Queued,
        "one" if form.email.trim().contains('@') => Selection::One(form.email.trim().to_owned()),
        "one" => return refused(&state, &b, nothing("Give the user's EmailAddress.".into())).await,
        _ => return refused(&state, &b, nothing("Choose whom to email.".into())).await,
    };
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return refused(&state, &b, nothing(refusal.reason()?)).await,
    };
    let settings = match relay(&state, &admin).await {
        Ok(s) => s,
        Err(e) => return refused(&state, &b, nothing(e)).await,
    };
    let letters: Vec<Letter> =
        batch::open_live_links(&state.store, &state.config.public_url, &b, &admin, now())
            .await?
            .into_iter()
            .map(|(recipient, link)| Letter { recipient, link })
            .collect();
    drop(admin);
    if let Err(e) = settings.test_connection().await {
        let why = format!(
            "The relay {}:{} cannot be used: {e}",
            settings.host, settings.port
        );
        return refused(&state, &b, nothing(why)).await;
    }
    let plan = match state.outbox.send(&b, settings, letters, &selection).await {
        Ok(plan) => plan,
        Err(
            e @ (OutboxError::NoOpenLink(_) | OutboxError::InFlight(_) | OutboxError::Stopping),
        ) => {
            return refused(&state, &b, html! { p { (e.to_string()) "." } }).await;
        }
        Err(OutboxError::Store(e)) => return Err(e.into()),
    };
    if plan.queued > 0 {
        state
            .store
            .record_event(&b.id, "emails_queued", plan.queued, now())
            .await?;
    }
    let waiting = state.store.queued_deliveries(&b.id).await?.len();
    let sending = state.outbox.is_sending(&b.id).await;
    let notice = html! {
        p {
            @if plan.queued > 0 {
                strong { (plan.queued) @if plan.queued == 1 { " message" } @else { " messages" } " queued" }
                "; they are sent in the background, at most " (state.config.send_rate) " a second."
            } @else if selection == Selection::Queued && sending {
                "Sending resumed: " (waiting) @if waiting == 1 { " queued message." } @else { " queued messages." }
            } @else if selection == Selection::Queued && waiting > 0 {
                (waiting) " queued messages have no open link any more (used, revoked or expired); nothing to send."
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
            p { (plan.unreachable) " users who have not submitted have no open link (expired, revoked or locked): reissue theirs." }
        }
    };
    render_batch_page(&state, &b, Filter::All, Some(notice)).await
}

/// The relay settings form.
#[derive(Deserialize)]
pub struct SmtpForm {
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    ca_pem: String,
    passphrase: String,
    action: String,
}

async fn shown_saved(state: &AppState) -> Result<RelayShown<'_>, AppError> {
    let saved = state.store.smtp_settings().await?;
    Ok(RelayShown::Saved {
        fields: saved.as_ref().map(SmtpFields::of).unwrap_or_default(),
        has_password: saved.as_ref().is_some_and(|s| s.password.is_some()),
        saved_at: saved.map(|s| s.updated_at),
    })
}

async fn smtp_page(state: &AppState) -> Result<RelayShown<'_>, AppError> {
    match &state.config.smtp {
        Some(s) => Ok(RelayShown::Configured(s)),
        None => shown_saved(state).await,
    }
}

/// `GET /admin/smtp`.
pub async fn smtp_form(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<Response, AppError> {
    Ok(pages::smtp_page(&smtp_page(&state).await?, None, None).into_response())
}

/// Reads the form into settings; an empty password keeps the saved one when the host
/// and login are unchanged.
async fn settings_from_form(
    state: &AppState,
    form: &SmtpForm,
    admin: &AdminKey,
) -> Result<SmtpSettings, String> {
    let host = form.host.trim();
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err("SMTP server: give a host name, such as smtp.office365.com".into());
    }
    let security = if form.security.is_empty() {
        "starttls"
    } else {
        &form.security
    };
    let port = match form.port.trim() {
        "" => None,
        p => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("Port: {p:?} is not a port number"))?,
        ),
    };
    let user = form.user.trim();
    let credentials = if user.is_empty() {
        None
    } else if !form.password.is_empty() {
        Some((
            user.to_owned(),
            secrecy::SecretString::from(form.password.clone()),
        ))
    } else {
        let saved = state
            .store
            .smtp_settings()
            .await
            .map_err(|e| e.to_string())?
            .filter(|s| s.host == host && s.username.as_deref() == Some(user));
        match saved {
            Some(s) => SmtpSettings::from_stored(&s, Some(admin))?.credentials,
            None => return Err("SMTP password: give the password for this login".into()),
        }
    };
    let ca_pem = match form.ca_pem.trim() {
        "" => None,
        pem => {
            lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("Certificate authority: not a PEM certificate ({e})"))?;
            Some(pem.to_owned())
        }
    };
    SmtpSettings::from_fields(RelayFields {
        host,
        port,
        security,
        credentials,
        from: &form.from,
        reply_to: Some(&form.reply_to),
        ca_pem,
    })
}

/// `POST /admin/smtp`: test and save the relay, or forget it.
pub async fn smtp_submit(
    State(state): State<AppState>,
    _session: AdminSession,
    client: ClientKey,
    Form(mut form): Form<SmtpForm>,
) -> Result<Response, AppError> {
    // What the admin typed is shown again on a refusal (never the password).
    let typed = RelayShown::Saved {
        fields: SmtpFields {
            host: form.host.clone(),
            port: form.port.clone(),
            security: form.security.clone(),
            user: form.user.clone(),
            from: form.from.clone(),
            reply_to: form.reply_to.clone(),
            ca_pem: form.ca_pem.clone(),
        },
        has_password: state
            .store
            .smtp_settings()
            .await?
            .is_some_and(|s| s.password.is_some()),
        saved_at: None,
    };
    let not_saved = |shown: &RelayShown<'_>, why: &str| {
        pages::smtp_page(shown, None, Some(&format!("Nothing was saved. {why}")))
    };
    if state.config.smtp.is_some() {
        let shown = smtp_page(&state).await?;
        let page = not_saved(&shown, "The relay is set by the server's configuration.");
        return Ok(Refused::new(StatusCode::CONFLICT, page).into_response());
    }
    let admin = match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        Ok(admin) => admin,
        Err(refusal) => return refusal.respond(|why| not_saved(&typed, why)),
    };
    if form.action == "forget" {
        state.store.delete_smtp_settings().await?;
        tracing::info!("the saved SMTP relay was forgotten");
        let shown = shown_saved(&state).await?;
        let notice = html! { p { "The saved relay is forgotten." } };
        return Ok(pages::smtp_page(&shown, Some(notice), None).into_response());
    }
    let settings = match settings_from_form(&state, &form, &admin).await {
        Ok(s) => s,
        Err(e) => return Ok(Refused::unprocessable(not_saved(&typed, &e)).into_response()),
    };
    if let Err(e) = settings.test_connection().await {
        let why = format!(
            "The relay {}:{} cannot be used: {e}",
            settings.host, settings.port
        );
        return Ok(Refused::unprocessable(not_saved(&typed, &why)).into_response());
    }
    let admin_public = state
        .store
        .admin_key()
        .await?
        .map(|k| k.public_key)
        .unwrap_or_default();
    let stored = settings
        .to_stored(&admin_public, now())
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    state.store.save_smtp_settings(&stored).await?;
    tracing::info!(host = %settings.host, port = settings.port, "the SMTP relay was saved");
    let shown = shown_saved(&state).await?;
    let notice = html! { p { strong { "Saved." } " The relay " (settings.host) ":" (settings.port) " answered"
    @if settings.credentials.is_some() { " and accepted the login; its password is sealed with your admin key" } "." } };
    Ok(pages::smtp_page(&shown, Some(notice), None).into_response())
}

/// The test message form.
#[derive(Deserialize)]
pub struct TestForm {
    to: String,
    passphrase: String,
}

/// `POST /admin/smtp/test`: send a test message and show the relay's answer.
pub async fn smtp_test(
    State(state): State<AppState>,
    _session: AdminSession,
    client: ClientKey,
    Form(form): Form<TestForm>,
) -> Result<Response, AppError> {
    let shown = smtp_page(&state).await?;
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return refusal.respond(|why| pages::smtp_page(&shown, None, Some(why))),
    };
    let result = async {
        let settings = relay(&state, &admin).await?;
        let to = form
            .to
            .trim()
            .parse()
            .map_err(|e| format!("To: not an email address ({e})"))?;
        let message = settings.test_message(to)?;
        // Well inside the request's own time limit.
        tokio::time::timeout(std::time::Duration::from_secs(20), settings.send(message))
            .await
            .map_err(|_| "the relay did not answer within 20 seconds".to_owned())?
            .map(|answer| (settings.host.clone(), answer))
            .map_err(|f| format!("the relay did not accept the test message: {}", f.reason))
    }
    .await;
    drop(admin);
    Ok(match result {
        Ok((host, answer)) => {
            let notice = html! { p { "The relay " (host) " accepted the test message: " code { (answer) } } };
            pages::smtp_page(&shown, Some(notice), None).into_response()
        }
        Err(e) => Refused::unprocessable(pages::smtp_page(&shown, None, Some(&e))).into_response(),
    })
}

/// The message form.
#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    passphrase: String,
    action: String,
}

fn preview(
    state: &AppState,
    b: &Batch,
    first: Option<&crate::storage::RecipientStatus>,
    t: &Template,
) -> (String, String) {
    let expires = format_time(b.expires_at);
    let link = state.config.public_url.link_for("THEIR-OWN-LINK");
    let (subject, text, _) = t.render(&pages::preview_fields(b, first, &expires, &link));
    (subject, text)
}

/// `GET /admin/batches/{id}/message`.
pub async fn message_form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let statuses = state.store.recipient_statuses(&b.id).await?;
    let t = Template::of(b.message.as_ref());
    let shown = preview(&state, &b, statuses.first(), &t);
    Ok(pages::message_page(&b, t.subject(), t.body(), Some(shown), None, None).into_response())
}

/// `POST /admin/batches/{id}/message`: preview, save, or go back to the default.
pub async fn message_submit(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<MessageForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let statuses = state.store.recipient_statuses(&b.id).await?;
    // What users are told is a phishing target: changing it takes the passphrase, not
    // just a session.
    if form.action == "save" || form.action == "default" {
        let passphrase = std::mem::take(&mut form.passphrase);
        if let Err(refusal) = unlock_throttled(&state, client, passphrase).await {
            return refusal.respond(|why| {
                let error = format!("Not saved. {why}");
                pages::message_page(&b, &form.subject, &form.body, None, None, Some(&error))
            });
        }
    }
    if form.action == "default" {
        state.store.set_batch_message(&b.id, None).await?;
        state
            .store
            .record_event(&b.id, "message_changed", 1, now())
            .await?;
        let t = Template::default();
        let shown = preview(&state, &b, statuses.first(), &t);
        return Ok(pages::message_page(
            &b,
            t.subject(),
            t.body(),
            Some(shown),
            Some("Saved: this batch sends the default message."),
            None,
        )
        .into_response());
    }
    let t = match Template::new(&form.subject, &form.body) {
        Ok(t) => t,
        Err(e) => {
            let page = pages::message_page(
                &b,
                &form.subject,
                &form.body,
                None,
                None,
                Some(&format!("Not saved: {e}.")),
            );
            return Ok(Refused::unprocessable(page).into_response());
        }
    };
    let shown = preview(&state, &b, statuses.first(), &t);
    if form.action != "save" {
        return Ok(
            pages::message_page(&b, t.subject(), t.body(), Some(shown), None, None).into_response(),
        );
    }
    if t.is_default() {
        state.store.set_batch_message(&b.id, None).await?;
    } else {
        state
            .store
            .set_batch_message(&b.id, Some((t.subject(), t.body())))
            .await?;
    }
    state
        .store
        .record_event(&b.id, "message_changed", 1, now())
        .await?;
    Ok(pages::message_page(
        &b,
        t.subject(),
        t.body(),
        Some(shown),
        Some("Saved: messages sent from now on use it."),
        None,
    )
    .into_response())
}
