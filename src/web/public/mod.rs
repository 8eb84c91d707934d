//! What a person with a link sees: no session, and every input is hostile. The
//! collection form lives in `collect`, its strict body parser in `form` (fuzzed), its
//! pages in `pages`; here are the answers that are not about one link.

pub(super) mod brand;
pub(super) mod collect;
pub mod form;
pub(super) mod pages;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::layout::message_page;

/// `GET /healthz`: 200 `ok` when the process is up, the database answers and the data
/// directory takes a write; otherwise 503 with the reason on one line.
pub async fn healthz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.admin_exists().await {
        tracing::error!(error = %e, "health check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    }
    match state.store.can_write().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(reason) => {
            tracing::error!(reason = %reason, "health check: nothing can be saved");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot save: {reason}"),
            )
                .into_response()
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
