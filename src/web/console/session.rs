//! Admin sessions: a random cookie stored only as its SHA-256, with idle and absolute
//! timeouts, and a login throttle that slows and then blocks repeated failures per IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::crypto::LinkToken;
use crate::web::AppState;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
/// A session ends this long after login, whatever happens.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 3600;
/// Failed logins from one IP before it is blocked for a while.
const FREE_FAILURES: u32 = 5;
/// First block length; it doubles with each further failure, up to `MAX_BLOCK`.
const FIRST_BLOCK: Duration = Duration::from_secs(30);
const MAX_BLOCK: Duration = Duration::from_secs(15 * 60);

/// The cookie's name: `__Host-` prefixed (so only this exact host, over https, with
/// `Path=/` and no `Domain` can set it) when the public URL is https.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-passdrop_session"
    } else {
        "passdrop_session"
    }
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &LinkToken, https: bool) -> Option<HeaderValue> {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ABSOLUTE_TIMEOUT_SECS}{secure}",
        cookie_name(https),
        token.expose()
    ))
    .ok()
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clearing_cookie(https: bool) -> HeaderValue {
    let value = if https {
        "__Host-passdrop_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    } else {
        "passdrop_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    };
    HeaderValue::from_static(value)
}

/// The session token a request carries, if any.
pub fn session_token(headers: &axum::http::HeaderMap, https: bool) -> Option<LinkToken> {
    let name = cookie_name(https);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| LinkToken::parse(v))
}

/// Proof that the request comes from a logged-in admin. Handlers that take it refuse
/// everyone else (a redirect to the login page).
pub struct AdminSession {
    /// The session token's hash (for logout).
    pub token_hash: [u8; 32],
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let https = state.config.public_url.is_https();
        let to_login = || Redirect::to("/admin/login").into_response();
        let Some(token) = session_token(&parts.headers, https) else {
            return Err(to_login());
        };
        let hash = token.hash();
        match state
            .store
            .touch_session(
                &hash,
                crate::config::now(),
                IDLE_TIMEOUT_SECS,
                ABSOLUTE_TIMEOUT_SECS,
            )
            .await
        {
            Ok(true) => Ok(Self { token_hash: hash }),
            Ok(false) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session check failed");
                Err(crate::web::AppError::Internal(anyhow::Error::new(e)).into_response())
            }
        }
    }
}

/// Failed logins per client IP, in memory (a restart forgives, which is acceptable:
/// each try still costs an Argon2 run and the per-IP rate limit applies).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginThrottle {
    /// How long `ip` must still wait before it may try again, if at all.
    pub fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let map = self.failures.lock().ok()?;
        let (count, last) = map.get(&ip)?;
        if *count < FREE_FAILURES {
            return None;
        }
        let exponent = (*count - FREE_FAILURES).min(10);
        let block = FIRST_BLOCK.saturating_mul(1 << exponent).min(MAX_BLOCK);
        block.checked_sub(last.elapsed())
    }

    /// Counts a failure.
    pub fn failed(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            // Keep the table small: forget IPs that have been quiet for a while.
            if map.len() > 10_000 {
                map.retain(|_, (_, last)| last.elapsed() < MAX_BLOCK);
            }
            let entry = map.entry(ip).or_insert((0, Instant::now()));
            entry.0 = entry.0.saturating_add(1);
            entry.1 = Instant::now();
        }
    }

    /// Forgets an IP's failures after a successful login.
    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_ip_waits() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            assert!(t.blocked_for(ip).is_none());
            t.failed(ip);
        }
        let wait = t.blocked_for(ip).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= FIRST_BLOCK);
        t.failed(ip);
        assert!(t.blocked_for(ip).unwrap() > FIRST_BLOCK);
        t.succeeded(ip);
        assert!(t.blocked_for(ip).is_none());
        assert!(t.blocked_for("192.0.2.2".parse().unwrap()).is_none());
    }

    #[test]
    fn cookies_carry_the_right_attributes() {
        let token = LinkToken::generate().unwrap();
        let plain = session_cookie(&token, false).unwrap();
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("passdrop_session="));
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let https = session_cookie(&token, true).unwrap();
        let https = https.to_str().unwrap();
        assert!(https.starts_with("__Host-passdrop_session="));
        assert!(https.contains("; Secure") && https.contains("Path=/"));
        assert!(!https.contains("Domain"));
    }
}
