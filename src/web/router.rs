//! The whole route table, with the body limits of each side and the order of the layers
//! around it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler as _;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::middleware::{
    AllowedHosts, COLLECTION_CONTENT_SECURITY_POLICY, Front, FrontLayer, RedactedPath,
    cannot_save_banner,
};
use super::{AppState, api, assets, console, public, rate_limit};

/// Largest roster upload accepted by the console.
const ROSTER_UPLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// Largest body of any other console form (a passphrase, an address).
const CONSOLE_FORM_LIMIT: usize = 16 * 1024;
/// Largest branding form: a logo (512 KiB) and a few short fields.
const BRANDING_LIMIT: usize = 640 * 1024;
/// Largest body accepted on the collection form.
pub const FORM_BODY_LIMIT: usize = 8 * 1024;
/// Longest a request may take end to end. (A body gets 10 s of it: see
/// `middleware::BODY_READ_TIMEOUT`.) A submission checked with the old server may wait
/// `imap::VERIFY_BUDGET` (60 s: its turn in the server's queue, then the server's
/// possibly delayed answer) after its body is read.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(75);

const _: () = assert!(
    super::middleware::BODY_READ_TIMEOUT.as_secs() + crate::imap::VERIFY_BUDGET.as_secs()
        <= REQUEST_TIMEOUT.as_secs()
);

/// The whole route table, for a server listening on `listen` (which, with the public
/// URL, decides the Host names served).
pub fn router(state: AppState, listen: SocketAddr) -> Router {
    let csrf = CsrfLayer::new()
        .add_trusted_origin(state.config.public_url.origin())
        .unwrap_or_else(|_| CsrfLayer::new())
        .with_rejection_response(public::cross_site_rejection);
    let collection = Router::new()
        .route(
            "/s/{token}",
            get(public::collect::show).post(public::collect::submit),
        )
        // The user's ways out: a GET never changes anything; a POST only with its box
        // ticked by hand.
        .route("/s/{token}/password", get(public::ways::dont_know))
        .route(
            "/s/{token}/help",
            get(public::ways::help_form).post(public::ways::help_submit),
        )
        .route(
            "/s/{token}/not-me",
            get(public::ways::not_me_form).post(public::ways::not_me_submit),
        )
        // Its layers as one (a `ServiceBuilder`, outermost first): each `Router::layer`
        // boxes every route again and clones every route inside it on each request
        // (issue 21).
        .layer(
            ServiceBuilder::new()
                // POSTs must come from our own pages (Sec-Fetch-Site / Origin); GETs
                // never change anything.
                .layer(csrf.clone())
                // (The CSRF refusal is a plain `Response`, so the limit's body is made one.)
                .map_response(IntoResponse::into_response)
                // The collection pages alone may run a script: the form's show/hide
                // toggle.
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(COLLECTION_CONTENT_SECURITY_POLICY),
                ))
                .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT)),
        );
    let collection = rate_limit::apply(collection, &state.config);
    let console = Router::new()
        .route("/admin", get(console::batches::home))
        .route(
            "/admin/setup/{token}",
            get(console::auth::setup_form).post(console::auth::setup_submit),
        )
        .route(
            "/admin/login",
            get(console::auth::login_form).post(console::auth::login_submit),
        )
        .route("/admin/logout", post(console::auth::logout))
        .route(
            "/admin/batches",
            // A 50,000-row roster upload is a few megabytes; nothing else is big.
            get(console::batches::list)
                .post(console::new_batch::create.layer(DefaultBodyLimit::max(ROSTER_UPLOAD_LIMIT))),
        )
        .route("/admin/batches/new", get(console::new_batch::new))
        .route("/admin/batches/{id}", get(console::batches::show))
        .route(
            "/admin/batches/{id}/reissue",
            get(console::batches::reissue_form).post(console::batches::reissue),
        )
        .route("/admin/batches/{id}/revoke", post(console::batches::revoke))
        .route(
            "/admin/batches/{id}/clear-state",
            post(console::user_states::clear),
        )
        .route(
            "/admin/batches/{id}/links",
            get(console::links::form).post(console::links::submit),
        )
        .route(
            "/admin/batches/{id}/export",
            get(console::export::form).post(console::export::submit),
        )
        .route(
            "/admin/batches/{id}/export/script",
            get(console::export::script),
        )
        .route("/admin/batches/{id}/purge", post(console::export::purge))
        .route(
            "/admin/batches/{id}/readiness",
            get(console::readiness::page),
        )
        .route(
            "/admin/batches/{id}/recheck",
            post(console::readiness::recheck),
        )
        .route(
            "/admin/batches/{id}/reissue-failed",
            post(console::readiness::reissue_failed),
        )
        .route("/admin/batches/{id}/imap", post(console::imap::set))
        .route("/admin/batches/{id}/imap/test", post(console::imap::test))
        .route(
            "/admin/batches/{id}/admin-login",
            post(console::admin_login::set),
        )
        .route(
            "/admin/batches/{id}/admin-login/probe",
            post(console::admin_login::probe),
        )
        .route("/admin/batches/{id}/send", post(console::sending::send))
        .route(
            "/admin/batches/{id}/progress",
            get(console::sending::progress),
        )
        .route(
            "/admin/batches/{id}/message",
            get(console::message::form).post(console::message::submit),
        )
        .route(
            "/admin/batches/{id}/branding",
            get(console::branding::form)
                .post(console::branding::submit.layer(DefaultBodyLimit::max(BRANDING_LIMIT))),
        )
        .route(
            "/admin/smtp",
            get(console::smtp::form).post(console::smtp::submit),
        )
        .route("/admin/smtp/test", post(console::smtp::test))
        .route("/admin/purged/{id}", get(console::export::tombstone))
        .route(
            "/admin/passphrase",
            get(console::passphrase::form).post(console::passphrase::submit),
        )
        .route(
            "/admin/passphrase/changed",
            get(console::passphrase::changed),
        )
        .route("/admin/api", get(console::api_access::page))
        .route("/admin/api/tokens", post(console::api_access::create))
        .route("/admin/api/revoke", post(console::api_access::revoke))
        .layer(DefaultBodyLimit::max(CONSOLE_FORM_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cannot_save_banner,
        ));
    let console = rate_limit::apply(console.layer(csrf), &state.config);
    // Health checks and the stylesheet and icon: limited too, but generously.
    let machine = Router::new()
        .route("/healthz", get(public::healthz))
        .route("/assets/{name}", get(assets::serve_asset));
    let machine = rate_limit::apply_generous(machine, &state.config);
    // A batch's logo and accent (by its link tag, never a token), limited like the form.
    let brand = Router::new()
        .route("/brand/{tag}/logo.png", get(public::brand::logo))
        .route("/brand/{tag}/accent.css", get(public::brand::accent));
    let brand = rate_limit::apply(brand, &state.config);
    // The API: bearer tokens, no cookies, no CSRF (a browser never sends the token by
    // itself); rate limited like the console.
    let api = Router::new().nest("/api/v1", api::routes(&state));
    let hosts = Arc::new(AllowedHosts::new(&state.config.public_url, listen));
    Router::new()
        .merge(machine)
        .merge(brand)
        .merge(api)
        .merge(collection)
        .merge(console)
        .fallback(public::not_found)
        // The layers around every route, as one (a `ServiceBuilder`, outermost first; see
        // the collection's above for why).
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %RedactedPath(req.uri().path()),
                    )
                }))
                // Counting, the security headers and the designed error pages, then the
                // Host names served and the body's deadline, in one layer
                // (`middleware::front`): outside the layers that answer on their own
                // (limits, timeouts, CSRF), so that their plain-text refusals become
                // designed pages and carry the headers too; the Host check before the
                // rate limits, so a request for another host name costs nobody's
                // allowance.
                .layer(FrontLayer(Front {
                    state: state.clone(),
                    hosts,
                }))
                // A handler that takes too long is the server's fault: 503, not 408. A
                // body that ran past its own deadline (10 s, 30 s for an upload) still
                // answers 408, even if this timeout fires too: `body_deadline` (in `front`)
                // is outside this layer and turns the 503 into its 408.
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                )),
        )
        .with_state(state)
}
