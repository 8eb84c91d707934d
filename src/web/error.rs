//! The one error type handlers return: users see a clear page, logs get the cause.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::message_page;
use super::public::pages::{link_gone, unknown_link};
use crate::batch::{BatchError, LinkStatus};
use crate::storage::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No link has this token (or it is malformed, or its batch is purged).
    #[error("unknown link")]
    UnknownLink,
    /// The link exists but can no longer take a password.
    #[error("link no longer usable: {0:?}")]
    LinkGone(LinkStatus),
    /// Something that existed is gone for good (title, explanation).
    #[error("gone: {0}")]
    Gone(&'static str, &'static str),
    /// Anything unexpected; the cause is logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<BatchError> for AppError {
    fn from(e: BatchError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::UnknownLink => (StatusCode::NOT_FOUND, unknown_link()).into_response(),
            Self::LinkGone(status) => (StatusCode::GONE, link_gone(status)).into_response(),
            Self::Gone(title, text) => {
                (StatusCode::GONE, message_page(title, text)).into_response()
            }
            Self::Internal(cause) => {
                // Causes never carry tokens or passwords: the layers below do not put
                // them into errors.
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    message_page(
                        "Something went wrong",
                        "passdrop could not finish this request. Nothing was saved; please try \
                         again in a minute. If it keeps happening, tell whoever sent you the link.",
                    ),
                )
                    .into_response()
            }
        }
    }
}
