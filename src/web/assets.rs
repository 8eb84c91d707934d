//! CSS, icons, the console's progress script and the collection form's show/hide
//! script, embedded in the binary. Each is linked with a content hash in its URL,
//! so it can be cached for a year and still change with the next release.

use axum::extract::Path;
use axum::http::Uri;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    /// File name under `/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// FNV-1a of the bytes, for cache busting.
    version: u64,
}

/// FNV-1a, computed at compile time: a cache key, not a security measure.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/", $name)),
            version: fnv1a(include_bytes!(concat!("../../assets/", $name))),
        }
    };
}

/// The stylesheet.
pub const STYLESHEET: Asset = asset!("style.css", "text/css; charset=utf-8");
/// The icon (also the favicon).
pub const ICON: Asset = asset!("icon.svg", "image/svg+xml");

/// The console's progress script (the batch page while emails are sent; console pages
/// allow `script-src 'self'`).
pub const PROGRESS: Asset = asset!("progress.js", "text/javascript; charset=utf-8");

/// The show/hide toggle of the collection form (pages under `/s/` allow `script-src
/// 'self'` for it).
pub const REVEAL: Asset = asset!("reveal.js", "text/javascript; charset=utf-8");

const ALL: [&Asset; 4] = [&STYLESHEET, &ICON, &PROGRESS, &REVEAL];

impl Asset {
    /// The URL pages link to.
    pub fn url(&self) -> String {
        format!("/assets/{}?v={:016x}", self.name, self.version)
    }
}

/// `GET /assets/{name}`: an embedded file; cached for a year when the URL names its
/// current version, revalidated otherwise.
pub async fn serve_asset(Path(name): Path<String>, uri: Uri) -> Response {
    let Some(asset) = ALL.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response();
    let current = uri.query() == Some(format!("v={:016x}", asset.version).as_str());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    response
}
