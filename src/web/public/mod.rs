//! What a person with a link sees: no session, and every input is hostile. The
//! collection form lives in `collect`, its strict body parser in `form` (fuzzed), its
//! pages in `pages`; here are the answers that are not about one link.

pub(super) mod collect;
pub mod form;
pub(super) mod pages;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::layout::message_page;

/// `GET /healthz`: the process is up and the database answers.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.admin_exists().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// The answer to a POST that did not come from our own page (403; nothing changes).
pub fn cross_site_rejection(
    _error: tower_http::csrf::ProtectionError,
) -> axum::http::Response<axum::body::Body> {
    (
        StatusCode::FORBIDDEN,
        message_page(
            "Request refused",
            "This form can only be sent from its own page. Please open your link again and \
             send the form from there; nothing was changed.",
        ),
    )
        .into_response()
}

/// Any other path.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        message_page("Page not found", "There is nothing at this address."),
    )
        .into_response()
}
