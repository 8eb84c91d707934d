//! Response parts a handler adds to a page it designed itself.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponseParts, ResponseParts};

/// Marks a page its handler designed (the collection form with its own problem, such
/// as "already being checked" with 429): `middleware::designed_error_pages` keeps it as
/// it is instead of putting its generic page for that status in its place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DesignedPage;

impl IntoResponseParts for DesignedPage {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// A `Retry-After` header of this many seconds (at least 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryAfter(pub u64);

impl IntoResponseParts for RetryAfter {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(self.0.max(1)));
        Ok(res)
    }
}
