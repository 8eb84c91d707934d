//! The HTTP server: the route table, shared state, security middleware and launch.

mod admin;
mod admin_mail;
mod admin_pages;
pub mod assets;
mod error;
pub mod form;
mod handlers;
mod mail_pages;
/// `/metrics`: counts and latencies in Prometheus' format, on their own listener.
pub mod metrics;
mod rate_limit;
mod session;
mod templates;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::handler::Handler as _;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

use crate::config::PublicUrl;
use crate::storage::Store;

pub use error::AppError;

/// Largest roster upload accepted by the console.
const ROSTER_UPLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// Largest body of any other console form (a passphrase, an address).
const CONSOLE_FORM_LIMIT: usize = 16 * 1024;
/// Largest body accepted on the collection form.
pub const FORM_BODY_LIMIT: usize = 8 * 1024;
/// Longest a request may take end to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a client may take to send a request body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Settings the server needs.
    pub config: Arc<ServerConfig>,
    /// Failed admin logins per client IP.
    pub login_throttle: Arc<session::LoginThrottle>,
    /// Admits password checks against IMAP servers.
    pub imap_gate: Arc<crate::imap::CheckGate>,
    /// Counts and latencies for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Sends the links in the background.
    pub outbox: Arc<crate::outbox::Outbox>,
}

impl AppState {
    /// State for a server over `store` with `config`.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let outbox = crate::outbox::Outbox::new(
            store.clone(),
            config.send_rate,
            crate::outbox::RetryPolicy::new(config.send_retry_wait),
        );
        Self {
            outbox,
            store,
            config: Arc::new(config),
            login_throttle: Arc::default(),
            imap_gate: Arc::default(),
            metrics: Arc::default(),
        }
    }

    /// Creates a one-time setup URL (valid one hour, replacing any earlier one) for
    /// choosing the admin passphrase in the browser.
    pub async fn setup_url(&self) -> Result<String, crate::storage::StoreError> {
        admin::issue_setup_url(self).await
    }
}

/// Default per-IP limit, in requests per minute: enough for a whole office behind one
/// NAT opening its links after one email (each visit is two or three requests).
pub const DEFAULT_RATE_LIMIT: u32 = 600;
/// Messages per second when sending links, unless set: 30 a minute, Microsoft 365's
/// limit for one mailbox.
pub const DEFAULT_SEND_RATE: f64 = 0.5;
/// The first wait after a temporary sending failure, unless set.
pub const DEFAULT_SEND_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Settings of the running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL (decides HSTS and the trusted origin for POSTs).
    pub public_url: PublicUrl,
    /// Requests per minute per client IP on public pages; 0 turns the limit off.
    pub rate_limit: u32,
    /// Take the client IP from `X-Forwarded-For`/`X-Real-IP`/`Forwarded` (only behind a
    /// proxy that sets them).
    pub trust_proxy: bool,
    /// Longest a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// The SMTP relay given by options or the environment (it takes precedence over
    /// the one saved in the console).
    pub smtp: Option<crate::mail::SmtpSettings>,
    /// Messages per second at most.
    pub send_rate: f64,
    /// The wait after a temporary sending failure (doubling each time).
    pub send_retry_wait: Duration,
}

impl ServerConfig {
    /// Settings with the defaults for everything but the public URL.
    pub fn new(public_url: PublicUrl) -> Self {
        Self {
            public_url,
            rate_limit: DEFAULT_RATE_LIMIT,
            trust_proxy: false,
            header_read_timeout: HEADER_READ_TIMEOUT,
            smtp: None,
            send_rate: DEFAULT_SEND_RATE,
            send_retry_wait: DEFAULT_SEND_RETRY_WAIT,
        }
    }
}

/// The whole route table.
pub fn router(state: AppState) -> Router {
    let collection = Router::new()
        .route(
            "/s/{token}",
            get(handlers::show_collection_form).post(handlers::submit_collection_form),
        )
        .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT));
    // POSTs must come from our own pages (Sec-Fetch-Site / Origin); GETs never change
    // anything.
    let csrf = CsrfLayer::new()
        .add_trusted_origin(state.config.public_url.origin())
        .unwrap_or_else(|_| CsrfLayer::new())
        .with_rejection_response(handlers::cross_site_rejection);
    let collection = rate_limit::apply(collection.layer(csrf.clone()), &state.config);
    let console = Router::new()
        .route("/admin", get(admin::home))
        .route(
            "/admin/setup/{token}",
            get(admin::setup_form).post(admin::setup_submit),
        )
        .route(
            "/admin/login",
            get(admin::login_form).post(admin::login_submit),
        )
        .route("/admin/logout", post(admin::logout))
        .route(
            "/admin/batches",
            // A 50,000-row roster upload is a few megabytes; nothing else is big.
            get(admin::list_batches)
                .post(admin::create_batch.layer(DefaultBodyLimit::max(ROSTER_UPLOAD_LIMIT))),
        )
        .route("/admin/batches/new", get(admin::new_batch_form))
        .route("/admin/batches/{id}", get(admin::show_batch))
        .route("/admin/batches/{id}/reissue", post(admin::reissue))
        .route("/admin/batches/{id}/revoke", post(admin::revoke))
        .route(
            "/admin/batches/{id}/links",
            get(admin::links_form).post(admin::links_submit),
        )
        .route(
            "/admin/batches/{id}/export",
            get(admin::export_form).post(admin::export_submit),
        )
        .route("/admin/batches/{id}/purge", post(admin::purge))
        .route("/admin/batches/{id}/imap", post(admin::set_imap))
        .route("/admin/batches/{id}/imap/test", post(admin::test_imap))
        .route("/admin/batches/{id}/send", post(admin_mail::send))
        .route(
            "/admin/batches/{id}/message",
            get(admin_mail::message_form).post(admin_mail::message_submit),
        )
        .route(
            "/admin/smtp",
            get(admin_mail::smtp_form).post(admin_mail::smtp_submit),
        )
        .route("/admin/smtp/test", post(admin_mail::smtp_test))
        .route("/admin/purged/{id}", get(admin::show_tombstone))
        .layer(DefaultBodyLimit::max(CONSOLE_FORM_LIMIT));
    let console = rate_limit::apply(console.layer(csrf), &state.config);
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/assets/{name}", get(assets::serve_asset))
        .merge(collection)
        .merge(console)
        .fallback(handlers::not_found)
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        // A handler that takes too long is the server's fault: 503, not 408.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // Outside the layers that answer on their own (limits, timeouts, CSRF), so that
        // their plain-text refusals become designed pages.
        .layer(middleware::from_fn(designed_error_pages))
        // Outside the timeouts, so that their responses carry the headers too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %redact_path(req.uri().path()),
            )
        }))
        .with_state(state)
}

/// The path as it may be logged: the segment after `s` (a link token) and any long
/// segment (which might be a token sent to the wrong place) are replaced. Query strings
/// never reach here: the caller passes only the path.
pub fn redact_path(path: &str) -> String {
    let mut out = Vec::new();
    let mut after_s = false;
    for segment in path.split('/').take(8) {
        if after_s && !segment.is_empty() {
            out.push("[token]");
        } else if segment.len() > 24 {
            out.push("[redacted]");
        } else {
            out.push(segment);
        }
        after_s = segment.eq_ignore_ascii_case("s");
    }
    out.join("/")
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
     magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";

/// Replaces the plain-text (or empty) body of an error response from a library layer
/// (413, 408, 405, 400, ...) with a page that says what happened and what to do.
async fn designed_error_pages(request: Request, next: Next) -> Response {
    let machine_route = request.uri().path() == "/healthz";
    let response = next.run(request).await;
    let status = response.status();
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
    let page = templates::message_page(title, text).into_string();
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// Adds DESIGN.md's security headers to every response, error pages included.
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 8] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
        (HeaderName::from_static("x-robots-tag"), "noindex"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Only embedded assets set their own (long) cache lifetime; nothing else is stored.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    if state.config.public_url.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    headers.remove(header::SERVER);
    response
}

/// Most connections served at once; further ones wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 1024;
/// Default for how long a client may take to send a request's headers (slow-header
/// attacks).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Serves `router(state)` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (up to 20 s).
///
/// This is `axum::serve` spelled out with hyper-util, because `axum::serve` gives hyper
/// no timer: without one, hyper cannot time out a client that sends its headers slowly,
/// and every such client would hold a connection forever.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use tower::Service as _;

    let header_read_timeout = state.config.header_read_timeout;
    let mut make_service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(service) = make_service.call(remote).await;
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are clients going away mid-request; nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("some requests were still running when the shutdown grace ran out");
        }
    }
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
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
}
