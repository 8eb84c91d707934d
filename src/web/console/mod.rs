//! The admin console, `/admin/**`: a session for every page, and the passphrase again,
//! in the same request, for anything that decides where passwords go, replaces or
//! destroys collected data, or reveals links (SECURITY.md, "Session versus authority").
//!
//! One file per resource, each with its handlers and their pages (`auth`, `batches`,
//! `imap`, `links`, `export`, `sending`, `smtp`, `message`, `passphrase`, `api_access`).
//! They import only this module, `layout` (the frame and the widgets) and `batch_page`
//! (the page most actions answer with), never each other; `auth` also uses `session`'s
//! cookies.
//!
//! Here is the plumbing they share: who the client is for the login throttle
//! ([`ClientKey`]), the throttled passphrase check ([`unlock_throttled`]), the batch a
//! URL names ([`live_batch`]), one way to refuse ([`Refused`]), the CSV download, the
//! `mailto:` link for one user, and the relay to send with.

pub(super) mod admin_login;
pub(super) mod api_access;
pub(super) mod auth;
pub(super) mod batch_page;
pub(super) mod batches;
pub(super) mod branding;
pub(super) mod export;
pub(super) mod flash;
pub(super) mod imap;
pub(super) mod layout;
pub(super) mod links;
pub(super) mod message;
pub(super) mod new_batch;
pub(super) mod passphrase;
pub(super) mod readiness;
pub(super) mod sending;
pub(super) mod session;
pub(super) mod smtp;
pub(super) mod user_states;

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use self::admin_login::spawn_probe;
use self::batch_page::Filter;
use self::session::AdminSession;
use crate::batch::{self, BatchError, IssuedLink};
use crate::config::format_time;
use crate::crypto::AdminKey;
use crate::mail::SmtpSettings;
use crate::storage::{Batch, StoreError};
use crate::web::rate_limit::{client_ip, rate_limit_key};
use crate::web::{AppError, AppState};

/// Pause after a wrong passphrase, on top of Argon2's own cost.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(500);
/// The wait suggested when every Argon2 slot stayed busy.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The fields of the passphrase forms. Values are moved into secret types at once.
#[derive(Deserialize)]
pub struct PassphraseForm {
    passphrase: String,
    #[serde(default)]
    passphrase_confirm: Option<String>,
}

/// The client as the login throttle counts it: the peer's IP, or with `--trust-proxy`
/// the one the proxy reports, IPv6 folded into its /64; and the hash of the
/// known-browser cookie it sent, if any (`session::browser_cookie`). Never fails: a
/// request without an IP counts as 0.0.0.0.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientKey {
    ip: IpAddr,
    browser: Option<[u8; 32]>,
}

impl ClientKey {
    /// The known-browser token's hash the request carried (known or not).
    pub(super) fn browser(&self) -> Option<[u8; 32]> {
        self.browser
    }
}

impl FromRequestParts<AppState> for ClientKey {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let ip = client_ip(&parts.headers, &parts.extensions, state.config.trust_proxy)
            .map_or(IpAddr::from([0, 0, 0, 0]), rate_limit_key);
        let https = state.config.public_url.is_https();
        Ok(Self {
            ip,
            browser: session::browser_token_hash(&parts.headers, https),
        })
    }
}

/// A refusal: nothing was changed, and the page says why.
pub(super) struct Refused {
    /// 401, 409, 422 or 429.
    pub(super) status: StatusCode,
    /// The page that says why.
    pub(super) page: Markup,
    /// How long to wait before trying again, sent as `Retry-After` (in whole seconds,
    /// at least 1).
    pub(super) retry_after: Option<Duration>,
}

impl Refused {
    /// `page` with `status`.
    pub(super) fn new(status: StatusCode, page: Markup) -> Self {
        Self {
            status,
            page,
            retry_after: None,
        }
    }

    /// `page` with 422: the request was understood, and nothing was changed.
    pub(super) fn unprocessable(page: Markup) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, page)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.page).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Why the passphrase did not unlock the admin key.
pub(super) enum Refusal {
    /// Too many wrong passphrases from this client lately.
    Blocked(Duration),
    /// Too many passphrase checks from unknown browsers on the whole server lately (a
    /// flood); nothing was checked.
    Flood(Duration),
    /// Every Argon2 slot stayed busy; nothing was checked.
    Busy,
    /// Wrong passphrase.
    Wrong,
    /// The check itself failed (the database, say): a 500, not a refusal.
    Internal(AppError),
}

impl Refusal {
    /// The reason in words for the admin; an internal error is passed on instead.
    pub(super) fn reason(self) -> Result<String, AppError> {
        match self {
            Self::Blocked(wait) => Ok(format!(
                "Too many wrong passphrases. Try again in {} seconds.",
                wait.as_secs().max(1)
            )),
            Self::Flood(wait) => Ok(format!(
                "This server has had too many failed logins in the last minute, from \
                 anywhere, so it is not checking passphrases from new browsers for now. Try \
                 again in {} seconds. A browser you logged in with before is not held up.",
                wait.as_secs().max(1)
            )),
            Self::Busy => Ok(format!(
                "The server is busy checking other passphrases. Try again in {} seconds.",
                BUSY_RETRY_AFTER.as_secs()
            )),
            Self::Wrong => Ok("That passphrase is not right.".to_owned()),
            Self::Internal(e) => Err(e),
        }
    }

    /// The page `page(reason)` with 429 (and Retry-After) or 401; an internal error is
    /// passed on instead.
    pub(super) fn respond(self, page: impl FnOnce(&str) -> Markup) -> Result<Response, AppError> {
        let (status, retry_after) = match &self {
            Self::Blocked(wait) | Self::Flood(wait) => (StatusCode::TOO_MANY_REQUESTS, Some(*wait)),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, Some(BUSY_RETRY_AFTER)),
            // An internal error goes no further than `reason()` below.
            Self::Wrong | Self::Internal(_) => (StatusCode::UNAUTHORIZED, None),
        };
        let page = page(&self.reason()?);
        Ok(Refused {
            status,
            page,
            retry_after,
        }
        .into_response())
    }
}

/// Checks the passphrase, throttled per client and, for browsers the admin has not
/// logged in from lately, by the server-wide budget: the attempt is counted before
/// Argon2 runs (so parallel guesses, and guesses whose client hangs up, are all counted)
/// and forgiven on success or when it could not be checked.
pub(super) async fn unlock_throttled(
    state: &AppState,
    client: ClientKey,
    passphrase: String,
) -> Result<AdminKey, Refusal> {
    let throttle = &state.login_throttle;
    let ClientKey { ip, browser } = client;
    if let Some(wait) = throttle.blocked_for(ip) {
        return Err(Refusal::Blocked(wait));
    }
    let known = browser.filter(|hash| throttle.is_known(hash));
    if known.is_none()
        && let Err(wait) = throttle.take_budget()
    {
        return Err(Refusal::Flood(wait));
    }
    throttle.failed(ip);
    match batch::unlock_admin(&state.store, SecretString::from(passphrase)).await {
        Ok(key) => {
            throttle.succeeded(ip);
            if known.is_none() {
                throttle.refund_budget();
            }
            Ok(key)
        }
        Err(BatchError::WrongPassphrase | BatchError::NoAdmin) => {
            if let Some(hash) = known {
                throttle.known_failed(&hash);
            }
            tracing::warn!("wrong admin passphrase");
            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            Err(Refusal::Wrong)
        }
        Err(BatchError::Busy) => {
            throttle.forgive(ip);
            if known.is_none() {
                throttle.refund_budget();
            }
            tracing::warn!("a passphrase check waited too long for a free Argon2 slot");
            Err(Refusal::Busy)
        }
        Err(e) => Err(Refusal::Internal(e.into())),
    }
}

/// An error message as a sentence: capital first letter, final full stop.
pub(super) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', ')']) {
        out.push('.');
    }
    out
}

/// The batch a URL names; 410 when it does not exist or has been purged.
pub(super) async fn live_batch(state: &AppState, id: &str) -> Result<Batch, AppError> {
    match batch::find(&state.store, id).await {
        Ok(b) => Ok(b),
        Err(BatchError::Purged { .. } | BatchError::Store(StoreError::NoSuchBatch(_))) => {
            Err(AppError::Gone(
                "No such batch",
                "This batch does not exist or has been purged.",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The batch page, listing the users `filter` keeps, with `notice` on top.
pub(super) async fn render_batch_page(
    state: &AppState,
    b: &Batch,
    filter: Filter,
    notice: Option<Markup>,
) -> Result<Response, AppError> {
    Ok(batch_page::render(state, b, filter, notice)
        .await?
        .into_response())
}

/// The zone a batch's times are shown in: its own, else the server's `--time-zone`.
pub(super) fn zone_of(state: &AppState, b: &Batch) -> crate::config::TimeZoneSetting {
    crate::config::TimeZoneSetting::or_stored(b.time_zone.as_deref(), &state.config.time_zone)
}

/// The batch page with a notice, as a 422: nothing was changed.
pub(super) async fn refused(
    state: &AppState,
    b: &Batch,
    notice: Markup,
) -> Result<Response, AppError> {
    let page = batch_page::render(state, b, Filter::All, Some(notice)).await?;
    Ok(Refused::unprocessable(page).into_response())
}

/// `?flash=` on the pages a console action redirects to.
#[derive(Deserialize, Default)]
pub struct FlashQuery {
    #[serde(default)]
    flash: Option<String>,
}

/// Post/Redirect/Get: keeps `notice` as a flash for the session whose token hashes to
/// `session` and returns `location` with its id, for a 303.
pub(super) fn flash_location(
    state: &AppState,
    session: [u8; 32],
    location: &str,
    notice: Markup,
) -> Result<String, AppError> {
    let id = state
        .flashes
        .put(session, notice.into_string())
        .map_err(anyhow::Error::new)?;
    let separator = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{separator}flash={id}"))
}

/// A console action's success: 303 See Other to the GET page `location`, which shows
/// `notice` once (Post/Redirect/Get: reloading that page never repeats the action).
pub(super) fn see_other(
    state: &AppState,
    session: &AdminSession,
    location: &str,
    notice: Markup,
) -> Result<Response, AppError> {
    let location = flash_location(state, session.token_hash, location, notice)?;
    Ok(Redirect::to(&location).into_response())
}

/// The notice a page shows for `?flash=`: the flash, read once; or, when it was read
/// already, has expired or belongs to another session, a sentence saying so.
pub(super) fn shown_once(
    state: &AppState,
    session: &AdminSession,
    query: &FlashQuery,
) -> Option<Markup> {
    let id = query.flash.as_deref()?;
    // The HTML was rendered (and escaped) by maud when the action ran.
    Some(match state.flashes.take(&session.token_hash, id) {
        // Moved out, not copied: the page's HTML is the one copy left.
        Some(mut html) => PreEscaped(std::mem::take(&mut *html)),
        None => html! {
            p { "The confirmation of your last action was shown once and is gone (it is kept \
                 for a minute, for your session only); nothing was done again. If it held a \
                 new link, reissue that user's link again to get another." }
        },
    })
}

/// The batch page with a notice, as a 422, with `one_email` typed again into "Email
/// one user": a refused send changed nothing.
pub(super) async fn refused_send(
    state: &AppState,
    b: &Batch,
    one_email: &str,
    notice: Markup,
) -> Result<Response, AppError> {
    let page = batch_page::render_typed(state, b, Filter::All, Some(notice), one_email).await?;
    Ok(Refused::unprocessable(page).into_response())
}

/// A CSV attachment. The body owns the zeroize-on-drop buffer, so the file's bytes are
/// wiped once sent.
pub(super) fn csv_download(bytes: zeroize::Zeroizing<Vec<u8>>, file_name: &str) -> Response {
    file_download(bytes, file_name, "csv", "text/csv; charset=utf-8")
}

/// `file_name` with every character but ASCII letters, digits and `-` made a `-`: safe in
/// a Content-Disposition header and on every file system.
pub(super) fn safe_file_name(file_name: &str) -> String {
    file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A download of `bytes` named `{file_name}.{extension}` (made safe), held in a
/// zeroize-on-drop buffer until sent.
pub(super) fn file_download(
    bytes: zeroize::Zeroizing<Vec<u8>>,
    file_name: &str,
    extension: &str,
    content_type: &'static str,
) -> Response {
    let safe = safe_file_name(file_name);
    let mut response = axum::body::Body::from(axum::body::Bytes::from_owner(ZeroizingBytes(bytes)))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.{extension}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Owns a zeroize-on-drop buffer for a response body.
struct ZeroizingBytes(zeroize::Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// Subject and body of the message that carries a link: the batch's message, as
/// `passdrop send` would send it.
pub fn message_text(link: &IssuedLink, b: &Batch) -> (String, String) {
    let expires = format_time(link.expires_at);
    let org = b.org_name.as_deref().unwrap_or("Your IT team");
    let contact = crate::batch::contact_signature(&b.branding, org);
    let fields = crate::mail::LinkFields {
        name: link.display_name.as_deref(),
        org,
        mailbox: &link.email,
        link: link.link.expose_secret(),
        expires: &expires,
        contact: &contact,
        link_prefix: b.branding.link_prefix.as_deref(),
    };
    let (subject, text, _) = crate::mail::Template::of(b.message.as_ref()).render(&fields);
    (subject, text)
}

/// Percent-escapes everything but RFC 3986's unreserved characters.
fn mailto_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `mailto:` URL to `to` (the user's AlternateEmail when the roster has one, as
/// passdrop's own emails use) with a ready subject and body.
pub fn mailto(to: &str, link: &IssuedLink, b: &Batch) -> String {
    let (subject, body) = message_text(link, b);
    // RFC 6068: everything but unreserved characters is escaped on both sides of '@'.
    let to: String = to
        .split('@')
        .map(mailto_escape)
        .collect::<Vec<_>>()
        .join("@");
    format!(
        "mailto:{to}?subject={}&body={}",
        mailto_escape(&subject),
        mailto_escape(&body.replace('\n', "\r\n"))
    )
}

/// The relay to send with: the configured one, else the saved one (its password opened
/// with the admin key).
pub(super) async fn relay(state: &AppState, admin: &AdminKey) -> Result<SmtpSettings, String> {
    let relay = crate::mail::effective_relay(&state.store, state.config.smtp.as_ref(), Some(admin))
        .await?
        .ok_or_else(|| "no SMTP relay is set up: see Email settings".to_owned())?;
    // Opened with the passphrase: the admin's own notices may use it too.
    state.notifier.remember_unlocked(relay.clone());
    Ok(relay)
}
