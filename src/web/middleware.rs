//! The middleware around every route: security headers on every response, designed
//! pages for the plain-text refusals of library layers, the Host names served, the time
//! a body may take, and the path as it may be logged.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::AppState;
use super::layout::{message_page, message_page_in};
use crate::config::PublicUrl;
use crate::i18n::{self, Language};

/// Longest a client may take to send a request body, all of it, counted from the end of
/// its headers (not reset by each piece that arrives).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The exception: a roster upload in the console (`POST /admin/batches`, up to 16 MiB,
/// read only after the session is checked) may take the whole request time.
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The path as it may be logged: the segment after `s` (a link token) and any long
/// segment (which might be a token sent to the wrong place) are replaced. Query strings
/// never reach here: the caller passes only the path.
pub fn redact_path(path: &str) -> String {
    RedactedPath(path).to_string()
}

/// `redact_path` written straight into a log line (the request span's field), without
/// a string of its own.
pub struct RedactedPath<'a>(pub &'a str);

impl std::fmt::Display for RedactedPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut after_s = false;
        for (i, segment) in self.0.split('/').take(8).enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            if after_s && !segment.is_empty() {
                f.write_str("[token]")?;
            } else if segment.len() > 24 {
                f.write_str("[redacted]")?;
            } else {
                f.write_str(segment)?;
            }
            after_s = segment.eq_ignore_ascii_case("s");
        }
        Ok(())
    }
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The console's: the same, plus its own scripts (`/assets/progress.js`) and their
/// requests to the console; never inline script.
const CONSOLE_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";
/// The collection pages' policy (`/s/`): the same as the default, plus `script-src
/// 'self'` for the form's show/hide toggle (`assets/reveal.js`). Set by the collection
/// routes; the console gets `CONSOLE_CONTENT_SECURITY_POLICY`; every other response
/// `CONTENT_SECURITY_POLICY`.
pub(super) const COLLECTION_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
     magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";

/// The headers every response gets, made at compile time.
const FIXED_HEADERS: [(HeaderName, HeaderValue); 9] = [
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static("require-corp"),
    ),
    (
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        HeaderValue::from_static("none"),
    ),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS_POLICY),
    ),
    (
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    ),
];

/// Replaces the plain-text (or empty) body of an error response from a library layer
/// (413, 408, 405, 400, ...) with a page that says what happened and what to do; on the
/// collection pages (`/s/`), in the reader's language (`Accept-Language`, else the
/// server's default).
async fn designed_error_pages<S: Inner>(
    state: &AppState,
    hosts: &AllowedHosts,
    request: Request,
    next: S,
) -> Response {
    // The API answers problems (RFC 9457), never pages.
    if request.uri().path().starts_with("/api/") {
        return super::api::problem::as_problem(host_then_deadline(hosts, request, next).await);
    }
    let machine_route = request.uri().path() == "/healthz";
    // Only for a link's pages, whose refusals are shown in the reader's language: its
    // URI and `Accept-Language`, kept (they share the request's bytes: this layer copies
    // and parses nothing on a page that succeeds; the GET handler still parses the
    // header for the page's language unless the roster sets one).
    let link = request.uri().path().starts_with("/s/").then(|| {
        let accept = request.headers().get(header::ACCEPT_LANGUAGE).cloned();
        (request.uri().clone(), accept)
    });
    let response = host_then_deadline(hosts, request, next).await;
    // A page its handler designed (`DesignedPage`) says more than any page put in its place.
    if response.extensions().get::<super::DesignedPage>().is_some() {
        return response;
    }
    let status = response.status();
    let failed = status.is_client_error() || status.is_server_error();
    let (language, link_uri) = match link.filter(|_| failed) {
        Some((uri, accept)) => {
            let language = accept
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .and_then(Language::from_accept_language)
                .unwrap_or(state.config.language);
            (Some(language), Some(uri))
        }
        None => (None, None),
    };
    if let (Some(language), Some(uri)) = (language, &link_uri)
        && let Some(page) =
            super::public::refusal_in_language(state, uri.path(), language, status).await
    {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return Response::from_parts(parts, axum::body::Body::from(page.into_string()));
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if machine_route || is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (title, text) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too much data",
            "What was sent is larger than this form accepts (a password can be at most 1024 \
             bytes). Nothing was saved and your link still works; please go back and try again.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "That took too long",
            "Your browser took too long to send the form. Nothing was saved and your link \
             still works; please try again.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Not possible here",
            "This address does not accept that kind of request. Please open your link again.",
        ),
        StatusCode::NOT_FOUND => ("Page not found", "There is nothing at this address."),
        s if s.is_client_error() => (
            "Request not understood",
            "passdrop could not understand that request. Nothing was changed; please open \
             your link again.",
        ),
        _ => (
            "Something went wrong",
            "passdrop could not finish this request. Nothing was saved; please try again in a \
             minute.",
        ),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let page = match language {
        Some(language) => {
            let key = match status {
                StatusCode::PAYLOAD_TOO_LARGE => "page-too-large",
                StatusCode::REQUEST_TIMEOUT => "page-timeout",
                s if s.is_client_error() => "page-bad-request",
                _ => "page-server-error",
            };
            let title = i18n::text(language, &format!("{key}-title"));
            let text = i18n::text(language, &format!("{key}-text"));
            message_page_in(language, &title, &text).into_string()
        }
        None => message_page(title, text).into_string(),
    };
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// What the outermost of passdrop's own layers (`front`) works with: the server's state
/// and the Host names it serves.
#[derive(Debug, Clone)]
pub(super) struct Front {
    pub(super) state: AppState,
    pub(super) hosts: Arc<AllowedHosts>,
}

/// The outermost of passdrop's own layers (`FrontLayer`), five in one (issue 21: each
/// `axum::middleware::from_fn` layer boxes its future, a clone of the whole stack inside
/// it and that stack's future again, and each layered route clones every route inside
/// it, on every request), in this order: every request is counted (`metrics`),
/// outermost; every response gets the security headers (ARCHITECTURE.md, "Stable
/// surfaces"), error pages included; inside that, the plain-text refusals of library
/// layers become designed pages (`designed_error_pages`); inside that, a request for a
/// host name not served is answered 421 (`check_host`); and last, a request body gets
/// its deadline (`body_deadline`). The request timeout (`router.rs`) sits inside all of
/// them.
async fn front<S: Inner>(front: &Front, request: Request, next: S) -> Response {
    let state = &front.state;
    let route = super::metrics::route_kind(request.uri().path());
    let started = std::time::Instant::now();
    let path = request.uri().path();
    let console = path == "/admin" || path.starts_with("/admin/");
    let mut response = designed_error_pages(state, &front.hosts, request, next).await;
    security_headers(&mut response, console, state.config.public_url.is_https());
    state
        .metrics
        .record(route, response.status(), started.elapsed().as_secs_f64());
    response
}

/// The inner two steps of `front`: the host name, then the body's deadline.
async fn host_then_deadline<S: Inner>(hosts: &AllowedHosts, request: Request, next: S) -> Response {
    match check_host(hosts, &request) {
        Some(refusal) => refusal,
        None => body_deadline(request, next).await,
    }
}

/// What `front` wraps: the rest of the stack, for one request (already polled ready).
pub(super) trait Inner:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send> + Send
{
}

impl<S> Inner for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send> + Send
{
}

/// Runs the rest of the stack on `request`.
async fn run<S: Inner>(mut next: S, request: Request) -> Response {
    match next.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `front` as a layer.
#[derive(Debug, Clone)]
pub(super) struct FrontLayer(pub(super) Front);

impl<S> tower::Layer<S> for FrontLayer {
    type Service = FrontService<S>;

    fn layer(&self, inner: S) -> FrontService<S> {
        FrontService {
            front: self.0.clone(),
            inner,
        }
    }
}

/// `front` around the rest of the stack.
#[derive(Debug, Clone)]
pub(super) struct FrontService<S> {
    front: Front,
    inner: S,
}

impl<S> tower::Service<Request> for FrontService<S>
where
    S: Inner + Clone + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service polled ready goes with this request; its clone stays for the next.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let state = self.front.clone();
        Box::pin(async move { Ok(front(&state, request, ready).await) })
    }
}

/// Adds the security headers to a response (`console`: for a console page; `https`:
/// the public URL is https, so HSTS is sent).
fn security_headers(response: &mut Response, console: bool, https: bool) {
    let headers = response.headers_mut();
    // A route may set its own policy (the collection pages allow their one script).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if console {
            CONSOLE_CONTENT_SECURITY_POLICY
        } else {
            CONTENT_SECURITY_POLICY
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    // Room for every header below at once, instead of growing the map several times.
    headers.reserve(FIXED_HEADERS.len() + 3);
    for (name, value) in FIXED_HEADERS {
        headers.insert(name, value);
    }
    // Only embedded assets set their own (long) cache lifetime; nothing else is stored.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    headers.remove(header::SERVER);
}

/// The Host names this server answers for: the public URL's, and the listen address's
/// (with `localhost` and the loopback addresses when it listens on loopback, and any IP
/// address when it listens on all of them). Ports are not compared: a proxy may pass the
/// name without one (nginx's `$host`).
#[derive(Debug, Clone)]
pub(super) struct AllowedHosts {
    names: Vec<String>,
    any_ip: bool,
}

/// The host name of an authority (`Host` header or URI), without port, brackets or a
/// trailing dot (its case as sent); `None` if it is malformed.
fn host_name(authority: &str) -> Option<&str> {
    let authority = authority.trim();
    let host = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        inside
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            Some(_) => return None,
            None => authority,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

impl AllowedHosts {
    /// The names for a server reached at `public_url` and listening on `listen`.
    pub(super) fn new(public_url: &PublicUrl, listen: SocketAddr) -> Self {
        let origin = public_url.origin();
        let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
        let mut names: Vec<String> = host_name(authority)
            .map(str::to_ascii_lowercase)
            .into_iter()
            .collect();
        let ip = listen.ip();
        if ip.is_loopback() || ip.is_unspecified() {
            names.extend(["localhost", "127.0.0.1", "::1"].map(str::to_owned));
        }
        if !ip.is_unspecified() {
            names.push(ip.to_string());
        }
        Self {
            names,
            any_ip: ip.is_unspecified(),
        }
    }

    /// Whether a request for `authority` is for this server.
    fn allows(&self, authority: &str) -> bool {
        // The names are kept lower-cased; compared without a lower-cased copy.
        host_name(authority).is_some_and(|name| {
            self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
                || (self.any_ip && name.parse::<IpAddr>().is_ok())
        })
    }
}

/// The 421 (with a page) for a request for a host name this server does not serve (DNS
/// rebinding, a stray virtual host), before anything else looks at it; `None` for one
/// it serves.
fn check_host(hosts: &AllowedHosts, request: &Request) -> Option<Response> {
    let allowed = match request.uri().authority() {
        Some(authority) => hosts.allows(authority.as_str()),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|host| hosts.allows(host)),
    };
    if allowed {
        return None;
    }
    Some(
        (
            StatusCode::MISDIRECTED_REQUEST,
            message_page(
                "Wrong address",
                "This server does not answer for the name in that address. Open your link \
                 exactly as you received it; nothing was changed.",
            ),
        )
            .into_response(),
    )
}

/// Gives a request body `BODY_READ_TIMEOUT` in all (`UPLOAD_READ_TIMEOUT` for a roster
/// upload); a body still arriving then is cut off and the request answered 408, on a
/// connection that is then closed.
async fn body_deadline<S: Inner>(request: Request, next: S) -> Response {
    if request.body().is_end_stream() {
        return run(next, request).await;
    }
    let limit = if request.method() == Method::POST && request.uri().path() == "/admin/batches" {
        UPLOAD_READ_TIMEOUT
    } else {
        BODY_READ_TIMEOUT
    };
    let http1 = request.version() < Version::HTTP_2;
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            expired: Arc::clone(&expired),
        })
    });
    let response = run(next, request).await;
    if !expired.load(Ordering::Relaxed) {
        return response;
    }
    // Whatever the handler made of the cut-off body, the answer is a 408 (its page comes
    // from `designed_error_pages`).
    let mut response = StatusCode::REQUEST_TIMEOUT.into_response();
    if http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The error a body past its deadline yields.
#[derive(Debug)]
struct BodyTooSlow;

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body took too long to arrive")
    }
}

impl std::error::Error for BodyTooSlow {}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// On console pages, a banner while nothing can be saved (a full disk, say), so the admin
/// hears of it before the users do. Only GET pages get it: they never carry a link or a
/// password, so re-reading their body copies no secret.
pub(super) async fn cannot_save_banner(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_get = request.method() == axum::http::Method::GET;
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_get || !is_html {
        return response;
    }
    let Err(reason) = state.store.can_write().await else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    let banner = maud::html! {
        div.error role="alert" {
            strong { "Nothing can be saved right now: " (reason) "." }
            " Users who submit are told to try again in a few minutes; their links stay usable. \
             Free space on the server: passdrop recovers by itself, without a restart."
        }
    }
    .into_string();
    let page = match page.find("<main>") {
        Some(i) => {
            let at = i + "<main>".len();
            format!("{}{banner}{}", &page[..at], &page[at..])
        }
        None => page.into_owned(),
    };
    let mut parts = parts;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_reach_a_logged_path() {
        assert_eq!(
            redact_path("/s/abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"),
            "/s/[token]"
        );
        assert_eq!(redact_path("//s/abc"), "//s/[token]");
        assert_eq!(
            redact_path("/x/abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"),
            "/x/[redacted]"
        );
        assert_eq!(redact_path("/healthz"), "/healthz");
    }

    #[test]
    fn only_the_public_and_listen_host_names_are_served() {
        let public = PublicUrl::parse("https://Pass.Example.org").unwrap();
        let hosts = AllowedHosts::new(&public, "127.0.0.1:8080".parse().unwrap());
        for ok in [
            "pass.example.org",
            "PASS.example.org:443",
            "pass.example.org.",
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "pass.example.org.evil.example",
            "10.0.0.1:8080",
            "",
            ":8080",
            "[::1]x",
            "pass.example.org:x",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        let specific = AllowedHosts::new(&public, "192.0.2.7:8080".parse().unwrap());
        assert!(specific.allows("192.0.2.7:8080") && !specific.allows("localhost:8080"));
        let all = AllowedHosts::new(&public, "0.0.0.0:8080".parse().unwrap());
        assert!(all.allows("10.1.2.3:8080") && all.allows("[fd00::1]:8080"));
        assert!(!all.allows("evil.example"));
    }
}
