//! The email settings: the SMTP relay (set by the server's options, or saved here with
//! its password sealed with the admin key) and a test message through it. Saving or
//! testing takes the passphrase again (a stolen session cookie alone cannot send the
//! links anywhere). One form: "Send a test message" tries the values as typed and saves
//! nothing (its answer is the POST's own page, keeping what was typed, like a preview);
//! "Test and save" answers 303 to the settings page, which says so once. A failure of
//! either shows the form again as typed (never the SMTP password).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{admin_layout, error_box, notice_box, passphrase_field, when};
use super::{
    AdminSession, ClientKey, FlashQuery, Refused, relay, see_other, shown_once, unlock_throttled,
};
use crate::batch;
use crate::config::now;
use crate::crypto::AdminKey;
use crate::mail::{self, RelayFields, SmtpSecurity, SmtpSettings};
use crate::storage::StoredSmtp;
use crate::web::{AppError, AppState};

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
    /// Where "Send a test message" sends, with the values typed.
    #[serde(default)]
    to: String,
    passphrase: String,
    action: String,
}

/// The saved relay (or an empty form), never its password.
async fn shown_saved(state: &AppState) -> Result<RelayShown<'_>, AppError> {
    let saved = state.store.smtp_settings().await?;
    Ok(RelayShown::Saved {
        fields: saved.as_ref().map(SmtpFields::of).unwrap_or_default(),
        has_password: saved.as_ref().is_some_and(|s| s.password.is_some()),
        saved_at: saved.map(|s| when(s.updated_at, now(), &state.config.time_zone)),
    })
}

/// What the relay page shows: the configured relay, else the saved one.
async fn relay_shown(state: &AppState) -> Result<RelayShown<'_>, AppError> {
    match &state.config.smtp {
        Some(s) => Ok(RelayShown::Configured(s)),
        None => shown_saved(state).await,
    }
}

/// `GET /admin/smtp` (with `?flash=` after a save, a forget or a test message).
pub async fn form(
    State(state): State<AppState>,
    session: AdminSession,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let notice = shown_once(&state, &session, &flash);
    Ok(smtp_page(&relay_shown(&state).await?, notice, None, "").into_response())
}

/// Where the settings page is.
const SMTP_PATH: &str = "/admin/smtp";

/// Reads the form into settings; an empty password keeps the saved one when the relay
/// is the saved one exactly (host, login, port, encryption, certificate authority).
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
                .ok_or_else(|| format!("Port: “{p}” is not a port number (1 to 65535)"))?,
        ),
    };
    let ca_pem = match form.ca_pem.trim() {
        "" => None,
        pem => {
            lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("Certificate authority: not a PEM certificate ({e})"))?;
            Some(pem.to_owned())
        }
    };
    let user = form.user.trim();
    // The saved password is used only with the saved relay exactly (host, login, port,
    // encryption and certificate authority): it was sealed for that relay, and must not
    // go to another port or over other encryption because a form says so.
    let mode = SmtpSecurity::parse(security)?;
    let same_relay = |s: &crate::storage::StoredSmtp| {
        s.host == host
            && s.username.as_deref() == Some(user)
            && s.port == port.unwrap_or(mode.default_port())
            && SmtpSecurity::parse(&s.security).ok() == Some(mode)
            && s.ca_pem.as_deref().map(str::trim) == ca_pem.as_deref()
    };
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
            .filter(same_relay);
        match saved {
            Some(s) => SmtpSettings::from_stored(&s, Some(admin))?.credentials,
            None => {
                return Err(
                    "SMTP password: give the password for this login (the saved one \
                            is used only with the saved server, port, encryption and \
                            certificate authority)"
                        .into(),
                );
            }
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
pub async fn submit(
    State(state): State<AppState>,
    session: AdminSession,
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
    let testing = form.action == "test";
    let to = form.to.clone();
    let not_saved = |shown: &RelayShown<'_>, why: &str| {
        let error = if testing {
            format!("No test message was sent, and nothing was saved. {why}")
        } else {
            format!("Nothing was saved. {why}")
        };
        smtp_page(shown, None, Some(&error), &to)
    };
    if state.config.smtp.is_some() {
        let shown = relay_shown(&state).await?;
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
        let notice = html! { p { "The saved relay is forgotten." } };
        return see_other(&state, &session, SMTP_PATH, notice);
    }
    let settings = match settings_from_form(&state, &form, &admin).await {
        Ok(s) => s,
        Err(e) => return Ok(Refused::unprocessable(not_saved(&typed, &e)).into_response()),
    };
    if testing {
        // The values typed, not the saved ones; nothing is saved, and the form keeps
        // what was typed (the page is this POST's own answer, like a preview).
        drop(admin);
        return match send_test(&settings, &form.to).await {
            Ok(answer) => {
                let notice = html! { p { "The relay " (settings.host) ":" (settings.port)
                " accepted the test message to " (form.to.trim()) ": " code { (answer) }
                ". " strong { "Nothing is saved yet" } ": choose “Test and save” to keep these settings." } };
                Ok(smtp_page(&typed, Some(notice), None, &form.to).into_response())
            }
            Err(e) => Ok(Refused::unprocessable(not_saved(&typed, &e)).into_response()),
        };
    }
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
    let mut stored = settings
        .to_stored(&admin_public, now())
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    stored.sig = Some(batch::sign_relay(&batch::settings_signer(&admin)?, &stored));
    state.store.save_smtp_settings(&stored).await?;
    tracing::info!(host = %settings.host, port = settings.port, "the SMTP relay was saved");
    let notice = html! { p { strong { "Saved." } " The relay " (settings.host) ":" (settings.port) " answered"
    @if settings.credentials.is_some() { " and accepted the login; its password is sealed with your admin key" } "." } };
    see_other(&state, &session, SMTP_PATH, notice)
}

/// The test message form.
#[derive(Deserialize)]
pub struct TestForm {
    to: String,
    passphrase: String,
}

/// `POST /admin/smtp/test`: send a test message and show the relay's answer.
pub async fn test(
    State(state): State<AppState>,
    session: AdminSession,
    client: ClientKey,
    Form(form): Form<TestForm>,
) -> Result<Response, AppError> {
    let shown = relay_shown(&state).await?;
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => {
            return refusal.respond(|why| smtp_page(&shown, None, Some(why), &form.to));
        }
    };
    let result = async {
        let settings = relay(&state, &admin).await?;
        let answer = send_test(&settings, &form.to).await?;
        Ok::<_, String>((settings.host.clone(), answer))
    }
    .await;
    drop(admin);
    match result {
        Ok((host, answer)) => {
            let notice = html! { p { "The relay " (host) " accepted the test message: " code { (answer) } } };
            see_other(&state, &session, SMTP_PATH, notice)
        }
        Err(e) => {
            let page = smtp_page(&shown, None, Some(&e), &form.to);
            Ok(Refused::unprocessable(page).into_response())
        }
    }
}

/// Sends a test message to `to` through `settings`; the relay's answer, or why not.
async fn send_test(settings: &SmtpSettings, to: &str) -> Result<String, String> {
    if to.trim().is_empty() {
        return Err("Send a test message to: give the address to send it to.".into());
    }
    let to = mail::parse_mailbox("Send a test message to", to)?;
    let message = settings.test_message(to)?;
    // Well inside the request's own time limit.
    tokio::time::timeout(std::time::Duration::from_secs(20), settings.send(message))
        .await
        .map_err(|_| "the relay did not answer within 20 seconds".to_owned())?
        .map_err(|f| format!("the relay did not accept the test message: {}", f.reason))
}

/// The relay settings form's values.
#[derive(Debug, Default, Clone)]
pub struct SmtpFields {
    /// Host.
    pub host: String,
    /// Port (empty: the mode's usual one).
    pub port: String,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// Login name.
    pub user: String,
    /// Sender.
    pub from: String,
    /// Reply-To.
    pub reply_to: String,
    /// Extra authority, PEM.
    pub ca_pem: String,
}

impl SmtpFields {
    /// The fields of a saved relay (never its password).
    pub fn of(s: &StoredSmtp) -> Self {
        Self {
            host: s.host.clone(),
            port: s.port.to_string(),
            security: s.security.clone(),
            user: s.username.clone().unwrap_or_default(),
            from: s.from.clone(),
            reply_to: s.reply_to.clone().unwrap_or_default(),
            ca_pem: s.ca_pem.clone().unwrap_or_default(),
        }
    }
}

/// What the relay page shows.
pub enum RelayShown<'a> {
    /// Set by the server's options or environment: shown, not editable.
    Configured(&'a crate::mail::SmtpSettings),
    /// Saved in the console (or nothing yet): editable.
    Saved {
        /// The form's values.
        fields: SmtpFields,
        /// Whether a password is saved.
        has_password: bool,
        /// When saved, if it was (as `layout::when`).
        saved_at: Option<Markup>,
    },
}

/// The email settings page; `test_to` is the test message's address as typed.
fn smtp_page(
    shown: &RelayShown<'_>,
    notice: Option<Markup>,
    error: Option<&str>,
    test_to: &str,
) -> Markup {
    admin_layout(
        "Email settings",
        true,
        html! {
            h1 { "Email settings" }
            (notice_box(notice))
            (error_box(error))
            p { "passdrop emails each user their link through your organisation's SMTP relay: "
                "Microsoft 365 (smtp.office365.com, port 587, STARTTLS, a licensed mailbox with SMTP AUTH on), "
                "your web host's SMTP server, or a relay on this machine." }
            @match shown {
                RelayShown::Configured(s) => {
                    p { "The relay is set by the server's configuration (the "
                        code { "--smtp-*" } " options or " code { "PASSDROP_SMTP_*" } " variables), which take precedence: change it there." }
                    dl {
                        dt { "Server" } dd { (s.host) ":" (s.port) " (" (s.security.as_str()) ")" }
                        dt { "Login" } dd { (s.credentials.as_ref().map_or("none", |(u, _)| u.as_str())) }
                        dt { "From" } dd { (s.from.to_string()) }
                    }
                }
                RelayShown::Saved { fields, has_password, saved_at } => {
                    @if let Some(at) = saved_at { p.small { "Saved " (at) "." } }
                    form method="post" action="/admin/smtp" {
                        div.field {
                            label for="smtp_host" { "SMTP server" }
                            input type="text" id="smtp_host" name="host" value=(fields.host) required
                                placeholder="smtp.office365.com";
                        }
                        div.field {
                            label for="smtp_security" { "Encryption" }
                            select id="smtp_security" name="security" {
                                @for (value, label) in [("starttls", "STARTTLS, required (port 587)"),
                                                        ("tls", "TLS from the start (port 465)"),
                                                        ("none", "None: a relay on this machine only (port 25)")] {
                                    option value=(value) selected[fields.security == value] { (label) }
                                }
                            }
                        }
                        div.field {
                            label for="smtp_port" { "Port (empty: the usual one)" }
                            input type="text" id="smtp_port" name="port" value=(fields.port) inputmode="numeric";
                        }
                        div.field {
                            label for="smtp_user" { "Login name (empty: no login)" }
                            input type="text" id="smtp_user" name="user" value=(fields.user) autocomplete="off";
                        }
                        div.field {
                            label for="smtp_password" {
                                "SMTP password"
                                @if *has_password { " (a password is saved; leave empty to keep it)" }
                            }
                            input type="password" id="smtp_password" name="password" autocomplete="new-password";
                        }
                        div.field {
                            label for="smtp_from" { "From, e.g. IT team <it@example.org>" }
                            input type="text" id="smtp_from" name="from" value=(fields.from) required;
                        }
                        div.field {
                            label for="smtp_reply_to" { "Reply-To (optional)" }
                            input type="text" id="smtp_reply_to" name="reply_to" value=(fields.reply_to);
                        }
                        div.field {
                            label for="smtp_ca" { "Also trust this certificate authority (PEM, optional, for a relay with a private certificate)" }
                            textarea id="smtp_ca" name="ca_pem" rows="3" { (fields.ca_pem) }
                        }
                        div.field {
                            label for="test_to" { "Send a test message to (optional)" }
                            input type="email" id="test_to" name="to" value=(test_to) aria-describedby="test-to-hint";
                            p.small id="test-to-hint" { "“Send a test message” uses the values above as typed and saves nothing; "
                                "“Test and save” checks the relay answers, then saves them. Either way the form keeps what you typed "
                                "(the SMTP password excepted: type it again if it is not saved yet)." }
                        }
                        (passphrase_field("smtp-passphrase", "Admin passphrase (the SMTP password is sealed with your admin key)"))
                        div.actions {
                            button type="submit" name="action" value="save" { "Test and save" }
                            button.secondary type="submit" name="action" value="test" { "Send a test message" }
                            @if saved_at.is_some() {
                                button.secondary type="submit" name="action" value="forget" formnovalidate { "Forget the saved relay" }
                            }
                        }
                    }
                }
            }
            @if let RelayShown::Configured(_) = shown {
                h2 { "Send a test message" }
                form method="post" action="/admin/smtp/test" {
                    div.field {
                        label for="test_to" { "To" }
                        input type="email" id="test_to" name="to" required value=(test_to);
                    }
                    (passphrase_field("test-passphrase", "Admin passphrase"))
                    button.secondary type="submit" { "Send a test message" }
                }
            }
            p { a href="/admin/batches" { "Back to the batches" } }
        },
    )
}
