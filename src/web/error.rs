//! The one error type handlers return: users see a clear page, logs get the cause.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::{message_page, message_page_in};
use super::public::pages::{collection_closed, link_gone, unknown_link};
use crate::batch::{BatchError, LinkStatus};
use crate::i18n::{self, Language};
use crate::storage::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No link has this token (or it is malformed, or its batch is purged); the page is
    /// in this language.
    #[error("unknown link")]
    UnknownLink(Language),
    /// A link nobody issued whose tag names a batch: the 404 page with who is asking.
    #[error("unknown link")]
    UnknownLinkOf(Language, Box<crate::web::brand::PageBrand>),
    /// The link's batch was purged (its tombstone knows the link's tag): the
    /// organisation name its users were shown, if any, and the page's language.
    #[error("collection closed")]
    CollectionClosed(Option<String>, Language),
    /// The link exists but can no longer take a password.
    #[error("link no longer usable: {0:?}")]
    LinkGone(GoneLink),
    /// Something that existed is gone for good (title, explanation).
    #[error("gone: {0}")]
    Gone(&'static str, &'static str),
    /// Nothing can be saved right now (a full disk, an I/O error, a busy database);
    /// nothing was changed, so the same request can be made again later.
    #[error("cannot save now: {0}")]
    CannotSave(&'static str),
    /// A purge destroyed the key but could not delete the rows yet.
    #[error("purge unfinished: {0}")]
    PurgeUnfinished(&'static str),
    /// A purge destroyed the key and deleted the rows, but old pages are not wiped yet.
    #[error("purged, wipe pending: {0}")]
    WipePending(&'static str),
    /// The stored settings this needs failed their signature check (logged and audited
    /// where it was found); nothing was used or changed.
    #[error("stored settings failed their signature check")]
    SettingsUnverified,
    /// Anything unexpected; the cause is logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::CannotWrite(reason) => Self::CannotSave(reason),
            StoreError::PurgeUnfinished(reason) => Self::PurgeUnfinished(reason),
            StoreError::WipePending { reason, .. } => Self::WipePending(reason),
            e => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

impl From<BatchError> for AppError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Store(e) => e.into(),
            BatchError::Settings(_) => Self::SettingsUnverified,
            e => Self::Internal(anyhow::Error::new(e)),
        }
    }
}

/// A link that can no longer take a password, and what its 410 page says.
#[derive(Debug, Clone)]
pub struct GoneLink {
    /// Why it cannot.
    pub status: LinkStatus,
    /// The reader's language.
    pub language: Language,
    /// When a password was received with it, if one was (said on the page), and the
    /// time zone to say it in.
    pub used_at: Option<(i64, crate::config::TimeZoneSetting)>,
    /// Who is asking, when the batch's signature was checked.
    pub brand: Option<Box<crate::web::brand::PageBrand>>,
    /// The link's address, when its page may offer the ways out that still make sense
    /// ("This wasn't me" on a used link). Never logged.
    pub link: Option<String>,
}

/// How long to suggest waiting before trying again after a refusal to save.
const RETRY_AFTER_SECS: &str = "120";

impl AppError {
    /// The response on a collection page: "cannot save" and "something went wrong" in
    /// the reader's `language`; every other page as `into_response` (the link pages
    /// carry their own language).
    pub fn into_response_in(self, language: Language) -> Response {
        let page = |key: &str| {
            message_page_in(
                language,
                &i18n::text(language, &format!("{key}-title")),
                &i18n::text(language, &format!("{key}-text")),
            )
        };
        match self {
            Self::CannotSave(reason) => {
                tracing::error!(reason, "a request could not be saved");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS)],
                    page("page-cannot-save"),
                )
                    .into_response()
            }
            Self::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, page("page-server-error")).into_response()
            }
            other => other.into_response(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::UnknownLink(language) => {
                (StatusCode::NOT_FOUND, unknown_link(language, None)).into_response()
            }
            Self::UnknownLinkOf(language, brand) => {
                (StatusCode::NOT_FOUND, unknown_link(language, Some(&brand))).into_response()
            }
            Self::LinkGone(gone) => (
                StatusCode::GONE,
                link_gone(
                    gone.language,
                    gone.status,
                    gone.used_at.as_ref().map(|(at, zone)| (*at, zone)),
                    gone.brand.as_deref(),
                    gone.link.as_deref(),
                ),
            )
                .into_response(),
            Self::CollectionClosed(org, language) => (
                StatusCode::GONE,
                collection_closed(language, org.as_deref()),
            )
                .into_response(),
            Self::Gone(title, text) => {
                (StatusCode::GONE, message_page(title, text)).into_response()
            }
            Self::CannotSave(reason) => {
                tracing::error!(reason, "a request could not be saved");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS)],
                    message_page(
                        "We could not save it",
                        "Nothing was changed and nothing was used up: a link still works, and \
                         nothing you sent was kept. The server cannot save anything for the \
                         moment; please try again in a few minutes.",
                    ),
                )
                    .into_response()
            }
            Self::PurgeUnfinished(reason) => {
                tracing::error!(
                    reason,
                    "a purge could not finish; it will be finished later"
                );
                let text = format!(
                    "The batch's key is destroyed, so none of its passwords or links can be \
                     read any more. Its rows could not be deleted yet ({reason}); passdrop \
                     finishes the purge by itself once it can write again (within a minute, \
                     or at its next start)."
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    message_page("Purged in part", &text),
                )
                    .into_response()
            }
            Self::WipePending(reason) => {
                // Done as far as anyone can read: 202, the rest is under way.
                let text = format!(
                    "The batch's key is destroyed and its rows are deleted, so none of its \
                     passwords or links can be read any more. Old copies of its pages are \
                     still in the database files, because {reason}; passdrop wipes them as \
                     soon as that is over (it checks every minute)."
                );
                (
                    StatusCode::ACCEPTED,
                    message_page("Purged; the wipe is not finished", &text),
                )
                    .into_response()
            }
            Self::SettingsUnverified => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS)],
                message_page(
                    "This link cannot take your password right now",
                    "Nothing was sent anywhere and nothing was saved: your link still works. \
                     The server found its settings for this link changed without the \
                     administrator's approval (or not signed yet), so it refuses to use them. \
                     Please tell whoever sent you this link, and try again once they have \
                     fixed it. (Administrator: `passdrop doctor` on the server says what.)",
                ),
            )
                .into_response(),
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
