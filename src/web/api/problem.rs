//! Errors as `application/problem+json` (RFC 9457). Every `type` is
//! `https://passdrop.invalid/problems/{slug}`, one slug per kind of refusal, listed in
//! the README; they are a stable surface.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::AppError;

/// Where the problem types live (`.invalid`: nothing is served there; the README lists
/// them).
pub const PROBLEM_BASE: &str = "https://passdrop.invalid/problems/";

/// A refusal or failure, as the API answers it.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<String>,
    retry_after: Option<u64>,
    /// (A boxed `str`: the smaller field keeps `Problem` small as an `Err`.)
    discard_unexported: Option<Box<str>>,
}

/// The JSON body of a problem.
#[derive(Serialize, ToSchema)]
pub struct ProblemBody {
    /// `https://passdrop.invalid/problems/{slug}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The same for every problem of this type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, in words.
    pub detail: String,
    /// Each problem found (a roster's lines, each bad field), when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// `unexported-submissions` only: the fingerprint of the passwords listed in
    /// `errors`; send it back as `discard_unexported` to purge anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discard_unexported: Option<String>,
}

impl Problem {
    /// A problem of type `slug` with `status`, `title` and `detail`.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            discard_unexported: None,
        }
    }

    /// With each problem listed.
    pub fn with_errors(mut self, errors: Vec<String>) -> Self {
        self.errors = errors;
        self
    }

    /// With the fingerprint a purge sends back to discard the listed passwords.
    pub fn discard_unexported(mut self, fingerprint: String) -> Self {
        self.discard_unexported = Some(fingerprint.into_boxed_str());
        self
    }

    /// With `Retry-After` (seconds, at least 1).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// No `Authorization: Bearer` header.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing-token",
            "No API token",
            "Send an API token as `Authorization: Bearer pdk_...` (`passdrop api-token create` \
             makes one). A console session is not accepted here.",
        )
    }

    /// A token that is malformed, unknown or revoked.
    pub fn invalid_token(detail: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            "The API token is not valid",
            detail,
        )
    }

    /// A request body that could not be read.
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "The request body could not be read",
            detail,
        )
    }

    /// Fields that are wrong; nothing was changed.
    pub fn invalid_request(errors: Vec<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "Some fields are not valid",
            format!("{}; nothing was changed.", errors.join("; ")),
        )
        .with_errors(errors)
    }

    /// The problem for a plain error answer of `status` from a layer (body limit, rate
    /// limit, timeout, no such route).
    pub fn for_status(status: StatusCode) -> Self {
        let (slug, title, detail) = match status {
            StatusCode::NOT_FOUND => (
                "not-found",
                "No such resource",
                "There is nothing at this address (the routes are in /api/v1/openapi.json).",
            ),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "Method not allowed",
                "This address does not take that method.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body-too-large",
                "The request body is too large",
                "A roster may be at most 16 MiB, any other body 16 KiB; nothing was changed.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "invalid-body",
                "The request body could not be read",
                "Send `Content-Type: application/json` (or `text/csv` for a roster).",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "request-timeout",
                "The request took too long",
                "The body took too long to arrive; nothing was changed.",
            ),
            StatusCode::TOO_MANY_REQUESTS => (
                "rate-limited",
                "Too many requests",
                "Too many requests from this address; wait a minute.",
            ),
            s if s.is_client_error() => (
                "invalid-body",
                "The request could not be read",
                "The request was not understood; nothing was changed.",
            ),
            _ => (
                "internal",
                "Something went wrong",
                "passdrop could not finish this request; nothing was saved. Try again in a \
                 minute.",
            ),
        };
        Self::new(status, slug, title, detail)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::CannotSave(reason) => {
                tracing::error!(reason, "an API request could not be saved");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot-save",
                    "Nothing can be saved right now",
                    format!("{reason}; nothing was changed. Try again in a few minutes."),
                )
                .retry_after(120)
            }
            AppError::PurgeUnfinished(reason) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "purge-unfinished",
                "Purged in part",
                format!(
                    "The batch's key is destroyed; its rows could not be deleted yet \
                     ({reason}); passdrop finishes by itself."
                ),
            ),
            AppError::SettingsUnverified => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "settings-unverified",
                "Stored settings failed their signature check",
                "Nothing was used or changed; `passdrop doctor` says what.",
            ),
            AppError::Gone(..) | AppError::UnknownLink(_) | AppError::CollectionClosed(..) => {
                no_such_batch()
            }
            other => {
                // The cause is logged, never shown; it holds no secret (see AppError).
                tracing::error!(error = %other, "an API request failed");
                Self::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// No live batch has this id (never, or purged).
pub fn no_such_batch() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-such-batch",
        "No such batch",
        "No live batch has this id or name (it may have been purged).",
    )
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: format!("{PROBLEM_BASE}{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
            discard_unexported: self.discard_unexported.map(String::from),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.slug == "missing-token" {
                "Bearer realm=\"passdrop\""
            } else {
                "Bearer realm=\"passdrop\", error=\"invalid_token\""
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// A plain error answer from a layer, as a problem (keeping its `Retry-After`).
pub fn as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let retry = response.headers().get(header::RETRY_AFTER).cloned();
    let mut problem = Problem::for_status(status).into_response();
    if let Some(v) = retry {
        problem.headers_mut().insert(header::RETRY_AFTER, v);
    }
    problem
}
