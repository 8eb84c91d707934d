//! Per-client-IP rate limiting of public pages with `tower_governor`. Forwarded-for
//! headers are trusted only when the operator says a proxy sits in front.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};

use super::ServerConfig;
use super::templates;

/// The client's IP: the peer address, or the proxy's forwarded header when trusted.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp {
    trust_proxy: bool,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn name(&self) -> &'static str {
        if self.trust_proxy {
            "forwarded client IP"
        } else {
            "peer IP"
        }
    }

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        if self.trust_proxy {
            SmartIpKeyExtractor.extract(req)
        } else {
            PeerIpKeyExtractor.extract(req)
        }
    }
}

fn rejection(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                templates::message_page(
                    "Too many requests",
                    "Too many requests came from your network in a short time. Please wait a \
                     minute and try again; nothing you sent was lost or used.",
                ),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait_time.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        other => {
            tracing::error!(error = %other, "rate limiter could not identify the client");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                templates::message_page("Something went wrong", "Please try again in a minute."),
            )
                .into_response()
        }
    }
}

/// Applies the limit of `config` to `router`; a limit of 0 leaves it unlimited (for
/// benchmarks).
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    config: &ServerConfig,
) -> axum::Router<S> {
    if config.rate_limit == 0 {
        return router;
    }
    // One request's allowance comes back every 60 s / N; a full minute's worth may
    // arrive at once.
    let period = Duration::from_secs(60) / config.rate_limit;
    let Some(governor) = GovernorConfigBuilder::default()
        .period(period.max(Duration::from_micros(1)))
        .burst_size(config.rate_limit)
        .key_extractor(ClientIp {
            trust_proxy: config.trust_proxy,
        })
        .finish()
    else {
        return router;
    };
    // Forget clients that have been quiet, so the table stays small.
    let limiter = governor.limiter().clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.retain_recent();
            }
        });
    }
    router.layer(GovernorLayer::new(governor).error_handler(rejection))
}
