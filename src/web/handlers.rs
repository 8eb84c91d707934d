//! Request handlers: parse, call the domain, render. Nothing here touches SQL or keys.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::parse_collection_form;
use super::templates::{self, FormPage};
use super::{AppError, AppState};
use crate::batch::{self, LinkStatus, SubmitOutcome};
use crate::config::now;
use crate::crypto::LinkToken;
use crate::storage::LinkView;

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

/// `GET /assets/style.css`: the one stylesheet, embedded in the binary.
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/style.css"),
    )
        .into_response()
}

/// Any other path.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        templates::message_page("Page not found", "There is nothing at this address."),
    )
        .into_response()
}

/// Looks up a token from the URL; unknown and malformed tokens look the same.
/// A path segment that cannot even be decoded is an unknown link too.
async fn usable_link(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
) -> Result<(LinkToken, LinkView), AppError> {
    let Ok(Path(token)) = token else {
        return Err(AppError::UnknownLink);
    };
    let token = LinkToken::parse(&token).ok_or(AppError::UnknownLink)?;
    let view = state
        .store
        .link_by_token_hash(&token.hash())
        .await?
        .ok_or(AppError::UnknownLink)?;
    match LinkStatus::of(&view, now()) {
        LinkStatus::Usable => Ok((token, view)),
        other => Err(AppError::LinkGone(other)),
    }
}

fn form_page(view: &LinkView, error: Option<&str>) -> maud::Markup {
    templates::collection_form(&FormPage {
        org_name: view.batch.org_name.as_deref(),
        email: &view.recipient.email,
        expires_at: view.expires_at,
        error,
    })
}

/// `GET /s/{token}`: the collection form. Never changes the link.
pub async fn show_collection_form(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let (_, view) = usable_link(&state, token).await?;
    Ok(form_page(&view, None).into_response())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /s/{token}`: seal the password and burn the link, or explain what is wrong
/// (422, link untouched).
pub async fn submit_collection_form(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (token, view) = usable_link(&state, token).await?;
    let invalid = |message: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&view, Some(&message)),
        )
            .into_response()
    };
    if !is_form(&headers) {
        return Ok(invalid(
            "The form was not sent the usual way. Please reload the page and try again.".to_owned(),
        ));
    }
    let form = match parse_collection_form(&body) {
        Ok(form) => form,
        Err(e) => return Ok(invalid(e.to_string())),
    };
    if let Err(problem) = batch::check_password(&form.password, &form.password_confirm) {
        return Ok(invalid(problem.to_string()));
    }
    match batch::submit(&state.store, &token, &view, &form.password, now()).await? {
        SubmitOutcome::Accepted => {
            tracing::info!(batch_id = %view.batch.id, recipient_id = view.recipient.id, "password submitted");
            Ok(templates::submitted(&view.recipient.email).into_response())
        }
        SubmitOutcome::Refused(status) => Err(AppError::LinkGone(status)),
    }
}
