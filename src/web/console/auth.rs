//! Setting up, logging in and out: the one-time setup link that chooses the admin
//! passphrase, the login (throttled per client, Argon2 off the runtime) that starts a
//! session, and the logout that ends it.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use super::layout::{admin_layout, error_box, passphrase_form, strength_hint, suggestion_box};
use super::session;
use super::{
    AdminSession, ClientKey, PassphraseForm, Refused, flash_location, sentence, unlock_throttled,
};
use crate::batch::{self, BatchError};
use crate::config::now;
use crate::crypto::{KdfParams, LinkToken};
use crate::storage::StoreError;
use crate::web::{AppError, AppState};

/// Whether the public URL is https (the session cookie's name and `Secure` follow it).
fn https(state: &AppState) -> bool {
    state.config.public_url.is_https()
}

/// Starts a session and redirects (303) to `location` with its cookie; `notice`, if
/// any, is shown there once.
async fn start_session(
    state: &AppState,
    location: &str,
    notice: Option<Markup>,
) -> Result<Response, AppError> {
    let token = LinkToken::generate().map_err(anyhow::Error::new)?;
    state.store.create_session(&token.hash(), now()).await?;
    let location = match notice {
        Some(notice) => flash_location(state, token.hash(), location, notice)?,
        None => location.to_owned(),
    };
    let mut response = Redirect::to(&location).into_response();
    if let Some(cookie) = session::session_cookie(&token, https(state)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The setup token from the URL, if it may still be used (and no admin exists yet).
async fn setup_token_ok(state: &AppState, token: &str) -> Result<LinkToken, AppError> {
    if state.store.admin_exists().await? {
        return Err(AppError::Gone(
            "Already set up",
            "An admin passphrase has already been chosen. Log in at /admin/login.",
        ));
    }
    let token = LinkToken::parse(token).ok_or(AppError::UnknownLink(crate::i18n::Language::En))?;
    if !state.store.setup_token_valid(&token.hash(), now()).await? {
        return Err(AppError::Gone(
            "Setup link expired",
            "This setup link has expired, was replaced by a newer one, or was already used. \
             On the server, `passdrop admin setup-link` prints a new one (or choose the \
             passphrase there with `passdrop admin init`).",
        ));
    }
    Ok(token)
}

/// `GET /admin/setup/{token}`: choose the passphrase.
pub async fn setup_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    setup_token_ok(&state, &token).await?;
    Ok(setup_page(None).into_response())
}

/// `POST /admin/setup/{token}`: create the admin key, use up the link, log in.
pub async fn setup_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<PassphraseForm>,
) -> Result<Response, AppError> {
    let token = setup_token_ok(&state, &token).await?;
    let passphrase = SecretString::from(form.passphrase);
    let confirm = SecretString::from(form.passphrase_confirm.unwrap_or_default());
    let refuse = |message: &str| Refused::unprocessable(setup_page(Some(message))).into_response();
    if !crate::crypto::secrets_equal(&passphrase, &confirm) {
        return Ok(refuse(
            "The two passphrases differ; please type them again.",
        ));
    }
    match batch::init_admin_with_setup_token(
        &state.store,
        &token,
        passphrase,
        KdfParams::DEFAULT,
        &state.config.settings_key,
    )
    .await
    {
        Ok(()) => {
            let notice = html! {
                p { strong { "Passphrase set." } " Keep it in your password manager: it cannot \
                    be recovered. Next, create a batch." }
            };
            start_session(&state, "/admin/batches", Some(notice)).await
        }
        Err(e @ (BatchError::WeakPassphrase(_) | BatchError::InvalidName(_))) => {
            Ok(refuse(&sentence(&e.to_string())))
        }
        // Another request used the link (or set up an admin) first.
        Err(BatchError::Store(StoreError::LinkNotLive | StoreError::AdminExists)) => {
            Err(AppError::Gone(
                "Already set up",
                "This setup link was just used. Log in at /admin/login.",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/login`.
pub async fn login_form() -> Response {
    login_page(None).into_response()
}

/// `POST /admin/login`: check the passphrase (Argon2, off the runtime), throttled per IP
/// and by the server-wide budget; a login also marks the browser as known, which lets it
/// past that budget next time (a fresh known-browser token each login).
pub async fn login_submit(
    State(state): State<AppState>,
    client: ClientKey,
    headers: HeaderMap,
    Form(form): Form<PassphraseForm>,
) -> Result<Response, AppError> {
    match unlock_throttled(&state, client, form.passphrase).await {
        Ok(_admin_key) => {
            // A login always starts a new session; any session presented ends here.
            if let Some(old) = session::session_token(&headers, https(&state)) {
                state.store.delete_session(&old.hash()).await?;
            }
            let mut response = start_session(&state, "/admin/batches", None).await?;
            if let Some(old) = client.browser() {
                state.login_throttle.forget(&old);
            }
            let token = LinkToken::generate().map_err(anyhow::Error::new)?;
            if let Some(cookie) = session::browser_cookie(&token, https(&state)) {
                state.login_throttle.remember(token.hash());
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(refusal) => refusal.respond(|why| login_page(Some(why))),
    }
}

/// `POST /admin/logout`: ends the session (and drops its flashes) and forgets the browser.
pub async fn logout(
    State(state): State<AppState>,
    session: AdminSession,
    client: ClientKey,
) -> Result<Response, AppError> {
    state.store.delete_session(&session.token_hash).await?;
    state.flashes.forget_session(&session.token_hash);
    if let Some(browser) = client.browser() {
        state.login_throttle.forget(&browser);
    }
    let mut response = Redirect::to("/admin/login").into_response();
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, session::clearing_cookie(https(&state)));
    headers.append(
        header::SET_COOKIE,
        session::clearing_browser_cookie(https(&state)),
    );
    // The browser forgets this origin's cache, cookies and storage too.
    headers.insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    Ok(response)
}

/// The one-time setup page: choose the admin passphrase, or take the generated one it
/// suggests (made afresh for each showing, never stored or logged).
fn setup_page(error: Option<&str>) -> Markup {
    let suggestion = batch::generate_passphrase().ok();
    admin_layout(
        "Set up",
        false,
        html! {
            h1 { "Choose the admin passphrase" }
            p { "This passphrase is the only key to the passwords your users will send. "
                strong { "It cannot be recovered" }
                ": if it is lost, the collected passwords are lost too, and you would have to \
                 collect them again." }
            ul.facts {
                li { "Anyone who copies this server's disk can try passphrases against it \
                      without limit, so passdrop refuses one that is easy to guess. Four or \
                      five unrelated words are strong and easy to type." }
                li { "Store it in your password manager now." }
            }
            form method="post" {
                (error_box(error))
                div.field {
                    label for="passphrase" { "Passphrase" }
                    input type="password" id="passphrase" name="passphrase" required
                        autocomplete="new-password" minlength=(batch::MIN_PASSPHRASE_CHARS)
                        aria-describedby="passphrase-hint" autofocus;
                    p.small id="passphrase-hint" { (strength_hint()) }
                }
                div.field {
                    label for="passphrase_confirm" { "Type it again" }
                    input type="password" id="passphrase_confirm" name="passphrase_confirm"
                        required autocomplete="new-password";
                }
                (suggestion_box(suggestion.as_ref()))
                button type="submit" { "Set passphrase and continue" }
            }
        },
    )
}

/// The login page.
fn login_page(error: Option<&str>) -> Markup {
    admin_layout(
        "Log in",
        false,
        html! {
            h1 { "Log in" }
            (passphrase_form("/admin/login", error, html! { button type="submit" { "Log in" } }))
        },
    )
}
