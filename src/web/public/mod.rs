//! What a person with a link sees: no session, and every input is hostile. The
//! collection form lives in `collect`, its strict body parser in `form` (fuzzed), its
//! pages in `pages`; here are the answers that are not about one link.

pub(super) mod brand;
pub(super) mod collect;
mod completion;
pub mod form;
mod form_template;
pub(super) mod pages;
pub(super) mod ways;
pub(super) mod ways_pages;

pub(crate) use completion::{
    FLUSH_WITHIN as COMPLETION_FLUSH_WITHIN, ask_for_missed_at_start as ask_for_missed_completions,
    flush as flush_completion_checks,
};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::layout::{message_page, message_page_in};
use crate::i18n::{self, Language};

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

/// The 403 (a POST from elsewhere) and 429 (too many requests) pages a person with a
/// link can meet, in their language: `language` (the browser's, else the server's), or
/// for a 403 the roster's language of the link in `path` when it names one. A 429 looks
/// nothing up: a flood costs the database nothing. `None` for any other status.
pub(super) async fn refusal_in_language(
    state: &AppState,
    path: &str,
    language: Language,
    status: StatusCode,
) -> Option<maud::Markup> {
    let key = match status {
        StatusCode::FORBIDDEN => "page-forbidden",
        StatusCode::TOO_MANY_REQUESTS => "page-too-many",
        _ => return None,
    };
    let mut language = language;
    if status == StatusCode::FORBIDDEN {
        let token = path
            .strip_prefix("/s/")
            .and_then(|rest| rest.split('/').next())
            .and_then(crate::crypto::LinkToken::parse);
        if let Some(token) = token
            && let Ok(Some(view)) = state.store.link_by_token_hash(&token.hash()).await
            && let Some(roster) = view
                .recipient
                .language
                .as_deref()
                .and_then(Language::from_tag)
        {
            language = roster;
        }
    }
    Some(message_page_in(
        language,
        &i18n::text(language, &format!("{key}-title")),
        &i18n::text(language, &format!("{key}-text")),
    ))
}
