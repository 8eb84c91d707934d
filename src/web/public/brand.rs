//! `GET /brand/{tag}/logo.png` and `GET /brand/{tag}/accent.css`: a batch's logo and
//! accent, served from passdrop's own origin (so the pages' `img-src 'self'` and
//! `style-src 'self'` allow them). `tag` is the batch's link tag, which every link of
//! the batch shows anyway: no token is ever in these URLs. Each answer checks the batch's
//! signature once (and the logo's bytes against the signed digest); anything else is a
//! plain 404.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::batch;
use crate::crypto::LinkTag;
use crate::storage::Batch;
use crate::web::AppState;

/// How long a browser may keep a logo or accent (their URLs carry a version).
const CACHE: &str = "public, max-age=86400";

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The live batch tagged `tag`, its settings checked against their signature.
async fn signed_batch(state: &AppState, tag: &str) -> Option<Batch> {
    let tag = LinkTag::parse(tag)?;
    let batch = state.store.batch_by_link_tag(&tag).await.ok().flatten()?;
    batch::require_signed_batch(&state.store, &state.config.settings_key, &batch)
        .await
        .ok()?;
    Some(batch)
}

fn cached(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /brand/{tag}/logo.png`: the PNG passdrop re-encoded when it was set.
pub async fn logo(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    let Some(batch) = signed_batch(&state, &tag).await else {
        return not_found();
    };
    match batch::verified_logo(&state.store, &batch).await {
        Ok(Some(png)) => cached("image/png", png),
        _ => not_found(),
    }
}

/// The accent stylesheet: the colour replaces passdrop's accent in light mode only (its
/// contrast with white was checked when it was set); dark mode keeps passdrop's own
/// light-on-dark accent.
pub fn accent_css(colour: &str) -> String {
    format!(
        "/* passdrop: this batch's accent (light mode only) */\n\
         @media (prefers-color-scheme: light) {{\n  :root {{ --accent: {colour}; --focus: {colour}; }}\n}}\n"
    )
}

/// `GET /brand/{tag}/accent.css`.
pub async fn accent(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    let Some(batch) = signed_batch(&state, &tag).await else {
        return not_found();
    };
    match &batch.branding.accent_colour {
        Some(colour) => cached("text/css; charset=utf-8", accent_css(colour).into_bytes()),
        None => not_found(),
    }
}
