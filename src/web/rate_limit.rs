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
use tower_governor::key_extractor::KeyExtractor;

use super::ServerConfig;
use super::layout::message_page;

/// The client's IP: the peer address, or, with `--trust-proxy`, the address our proxy
/// put last in `X-Forwarded-For` (the rightmost entry: everything left of it came from
/// the client and may be forged), or `X-Real-IP` when there is no `X-Forwarded-For` at
/// all. A header that is there but cannot be read means the peer address, never the next
/// header: the client may have written that one. IPv6 addresses are keyed by their /64,
/// since one client commonly holds a whole /64.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp {
    trust_proxy: bool,
}

fn peer_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// What a proxy header says about the client.
#[derive(Debug, PartialEq, Eq)]
enum Reported {
    /// The header is not there.
    Absent,
    /// The header is there but holds no address we can read (non-ASCII bytes, an empty
    /// or garbled entry).
    Unreadable,
    /// The address the proxy reported.
    Ip(IpAddr),
}

/// Parses one address entry, read as bytes: surrounding spaces are dropped.
fn parse_entry(entry: &[u8]) -> Reported {
    std::str::from_utf8(entry)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map_or(Reported::Unreadable, Reported::Ip)
}

/// The rightmost entry of the last `X-Forwarded-For` header. Read byte-wise, so bytes a
/// client put further left cannot make the proxy's own entry unreadable.
fn forwarded_ip(headers: &axum::http::HeaderMap) -> Reported {
    let Some(last) = headers.get_all("x-forwarded-for").iter().next_back() else {
        return Reported::Absent;
    };
    let bytes = last.as_bytes();
    let entry = bytes
        .iter()
        .rposition(|b| *b == b',')
        .map_or(bytes, |i| &bytes[i + 1..]);
    parse_entry(entry)
}

fn real_ip(headers: &axum::http::HeaderMap) -> Reported {
    match headers.get("x-real-ip") {
        Some(v) => parse_entry(v.as_bytes()),
        None => Reported::Absent,
    }
}

/// The client's IP as `ClientIp` sees it (before folding IPv6 into its /64).
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    trust_proxy: bool,
) -> Option<IpAddr> {
    if !trust_proxy {
        return peer_ip(extensions);
    }
    let reported = match forwarded_ip(headers) {
        Reported::Absent => real_ip(headers),
        present => present,
    };
    match reported {
        Reported::Ip(ip) => Some(ip),
        Reported::Absent | Reported::Unreadable => peer_ip(extensions),
    }
}

/// Folds addresses that belong to one client together.
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
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
        let ip = client_ip(req.headers(), req.extensions(), self.trust_proxy);
        ip.map(rate_limit_key)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

fn rejection(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                message_page(
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
                message_page("Something went wrong", "Please try again in a minute."),
            )
                .into_response()
        }
    }
}

/// How many times the pages' limit `/healthz` and `/assets` get (their own count).
pub const GENEROUS_FACTOR: u32 = 4;

/// Applies the limit of `config` to `router`; a limit of 0 leaves it unlimited (for
/// benchmarks).
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    config: &ServerConfig,
) -> axum::Router<S> {
    apply_per_minute(router, config.rate_limit, config)
}

/// Applies `GENEROUS_FACTOR` times the limit of `config`, counted on its own, to
/// `router` (health checks and assets); a limit of 0 leaves it unlimited.
pub fn apply_generous<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    config: &ServerConfig,
) -> axum::Router<S> {
    let per_minute = config.rate_limit.saturating_mul(GENEROUS_FACTOR);
    apply_per_minute(router, per_minute, config)
}

fn apply_per_minute<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    per_minute: u32,
    config: &ServerConfig,
) -> axum::Router<S> {
    if per_minute == 0 {
        return router;
    }
    // One request's allowance comes back every 60 s / N; a full minute's worth may
    // arrive at once.
    let period = Duration::from_secs(60) / per_minute;
    let Some(governor) = GovernorConfigBuilder::default()
        .period(period.max(Duration::from_micros(1)))
        .burst_size(per_minute)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder();
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut req = builder.body(()).unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(
            "127.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        req
    }

    fn key(trust_proxy: bool, headers: &[(&str, &str)]) -> IpAddr {
        ClientIp { trust_proxy }.extract(&request(headers)).unwrap()
    }

    #[test]
    fn without_trust_proxy_forwarded_headers_are_ignored() {
        let ip = key(
            false,
            &[
                ("x-forwarded-for", "203.0.113.9"),
                ("x-real-ip", "203.0.113.8"),
            ],
        );
        assert_eq!(ip.to_string(), "127.0.0.1");
    }

    #[test]
    fn with_trust_proxy_the_proxys_own_entry_counts_not_the_clients() {
        let ip = key(true, &[("x-forwarded-for", "198.51.100.1, 203.0.113.9")]);
        assert_eq!(ip.to_string(), "203.0.113.9");
        let ip = key(true, &[("x-real-ip", "203.0.113.8")]);
        assert_eq!(ip.to_string(), "203.0.113.8");
        assert_eq!(key(true, &[]).to_string(), "127.0.0.1");
    }

    #[test]
    fn with_trust_proxy_an_unreadable_header_means_the_peer_never_the_next_header() {
        // Bytes a client wrote left of the proxy's entry do not hide that entry.
        let mut req = request(&[("x-real-ip", "203.0.113.8")]);
        req.headers_mut().insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.4").unwrap(),
        );
        let key = |req: &Request<()>| ClientIp { trust_proxy: true }.extract(req).unwrap();
        assert_eq!(key(&req).to_string(), "198.51.100.4");
        // An X-Forwarded-For nobody can read: the peer, not the client's X-Real-IP.
        for bad in [
            &b"\xff\xfe"[..],
            b"",
            b"198.51.100.4, \xc3\xa9",
            b"unknown",
            b" , ",
        ] {
            let mut req = request(&[("x-real-ip", "203.0.113.8")]);
            req.headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_bytes(bad).unwrap());
            assert_eq!(key(&req).to_string(), "127.0.0.1", "{bad:?}");
        }
        // An unreadable X-Real-IP (and no X-Forwarded-For): the peer too.
        let mut req = request(&[]);
        req.headers_mut()
            .insert("x-real-ip", HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(key(&req).to_string(), "127.0.0.1");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a = rate_limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = rate_limit_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(
            rate_limit_key("::ffff:192.0.2.1".parse().unwrap()).to_string(),
            "192.0.2.1"
        );
    }
}
