//! Admin sessions: a random cookie stored only as its SHA-256, with idle and absolute
//! timeouts; and the login throttle: repeated failures per IP are slowed and then
//! blocked, failures across all clients have a budget per minute, and a browser the
//! admin logged in from lately (a second cookie) is not held up by that budget.

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
/// Passphrase checks from browsers not known to the server, across all clients, per
/// minute at most (the budget refills evenly; a full minute's worth may come at once).
/// Each costs a 64 MiB, CPU-heavy Argon2 run: this bounds what a flood from many
/// addresses can make the server do, and how fast it can guess.
pub const GLOBAL_LOGIN_BUDGET_PER_MINUTE: u32 = 30;
/// How long a browser stays known after a login from it (the cookie's lifetime).
pub const KNOWN_BROWSER_SECS: i64 = 30 * 86_400;
/// Most browsers known at once; the one known longest is forgotten first.
const MAX_KNOWN_BROWSERS: usize = 32;
/// Wrong passphrases from a known browser before it is forgotten (a stolen cookie buys
/// only this many guesses outside the budget).
const KNOWN_BROWSER_FAILURES: u32 = 3;

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
    cookie_token(headers, cookie_name(https))
}

/// The token in the cookie called `name`, if any.
fn cookie_token(headers: &axum::http::HeaderMap, name: &str) -> Option<LinkToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| LinkToken::parse(v))
}

/// The known-browser cookie's name (`__Host-` prefixed on https, as the session's).
pub fn browser_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-passdrop_browser"
    } else {
        "passdrop_browser"
    }
}

/// The `Set-Cookie` value that marks a browser as one the admin logged in from.
pub fn browser_cookie(token: &LinkToken, https: bool) -> Option<HeaderValue> {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={KNOWN_BROWSER_SECS}{secure}",
        browser_cookie_name(https),
        token.expose()
    ))
    .ok()
}

/// The `Set-Cookie` value that removes the known-browser cookie.
pub fn clearing_browser_cookie(https: bool) -> HeaderValue {
    let value = if https {
        "__Host-passdrop_browser=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    } else {
        "passdrop_browser=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    };
    HeaderValue::from_static(value)
}

/// The hash of the known-browser token a request carries, if any (known or not).
pub fn browser_token_hash(headers: &axum::http::HeaderMap, https: bool) -> Option<[u8; 32]> {
    cookie_token(headers, browser_cookie_name(https)).map(|t| t.hash())
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

/// Failed logins per client IP, the server-wide budget, and the known browsers, in
/// memory (a restart forgives and forgets, which is acceptable: each try still costs an
/// Argon2 run and the per-IP rate limit applies; a forgotten browser is known again at
/// its next login).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    budget: Mutex<Budget>,
    /// Hashes of known-browser tokens: when each was issued, and its wrong passphrases.
    known: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

/// The server-wide budget of passphrase checks: a token bucket.
#[derive(Debug)]
struct Budget {
    tokens: f64,
    at: Instant,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            tokens: f64::from(GLOBAL_LOGIN_BUDGET_PER_MINUTE),
            at: Instant::now(),
        }
    }
}

impl Budget {
    const CAPACITY: f64 = GLOBAL_LOGIN_BUDGET_PER_MINUTE as f64;
    const PER_SECOND: f64 = Self::CAPACITY / 60.0;

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * Self::PER_SECOND;
        self.tokens = (self.tokens + earned).min(Self::CAPACITY);
        self.at = now;
    }
}

impl LoginThrottle {
    /// Takes one check from the server-wide budget, or says how long until one is free.
    pub fn take_budget(&self) -> Result<(), Duration> {
        let Ok(mut budget) = self.budget.lock() else {
            return Err(FIRST_BLOCK);
        };
        budget.refill();
        if budget.tokens >= 1.0 {
            budget.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - budget.tokens) / Budget::PER_SECOND;
        Err(Duration::from_secs_f64(wait.clamp(1.0, 60.0)))
    }

    /// Gives a check back to the budget (the passphrase was right, or was never checked).
    pub fn refund_budget(&self) {
        if let Ok(mut budget) = self.budget.lock() {
            budget.refill();
            budget.tokens = (budget.tokens + 1.0).min(Budget::CAPACITY);
        }
    }

    /// Whether the browser whose token hashes to `hash` is one the admin logged in from
    /// within `KNOWN_BROWSER_SECS`.
    pub fn is_known(&self, hash: &[u8; 32]) -> bool {
        let lifetime = Duration::from_secs(KNOWN_BROWSER_SECS.unsigned_abs());
        self.known.lock().is_ok_and(|known| {
            known
                .get(hash)
                .is_some_and(|(at, _)| at.elapsed() < lifetime)
        })
    }

    /// Notes a browser the admin just logged in from (forgetting the one known longest
    /// when there are too many).
    pub fn remember(&self, hash: [u8; 32]) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MAX_KNOWN_BROWSERS
                && let Some(oldest) = known.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k)
            {
                known.remove(&oldest);
            }
            known.insert(hash, (Instant::now(), 0));
        }
    }

    /// Forgets a browser (at logout).
    pub fn forget(&self, hash: &[u8; 32]) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(hash);
        }
    }

    /// Counts a wrong passphrase from a known browser; after `KNOWN_BROWSER_FAILURES` it
    /// is forgotten.
    pub fn known_failed(&self, hash: &[u8; 32]) {
        if let Ok(mut known) = self.known.lock()
            && let Some((_, failures)) = known.get_mut(hash)
        {
            *failures += 1;
            if *failures >= KNOWN_BROWSER_FAILURES {
                known.remove(hash);
            }
        }
    }

    /// Takes back a failure counted for `ip` whose passphrase was never checked.
    pub fn forgive(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock()
            && let Some(entry) = map.get_mut(&ip)
        {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

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
    fn the_budget_is_shared_by_everyone_and_refills() {
        let t = LoginThrottle::default();
        for _ in 0..GLOBAL_LOGIN_BUDGET_PER_MINUTE {
            assert!(t.take_budget().is_ok());
        }
        let wait = t.take_budget().unwrap_err();
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2));
        t.refund_budget();
        assert!(t.take_budget().is_ok());
        assert!(t.take_budget().is_err());
        // Refilled evenly: two seconds bring one check back.
        if let Ok(mut b) = t.budget.lock() {
            b.at -= Duration::from_secs(2);
        }
        assert!(t.take_budget().is_ok());
    }

    #[test]
    fn a_known_browser_is_forgotten_after_wrong_passphrases_or_logout() {
        let t = LoginThrottle::default();
        let a = [1u8; 32];
        assert!(!t.is_known(&a));
        t.remember(a);
        assert!(t.is_known(&a));
        for _ in 1..KNOWN_BROWSER_FAILURES {
            t.known_failed(&a);
            assert!(t.is_known(&a));
        }
        t.known_failed(&a);
        assert!(!t.is_known(&a));
        t.remember(a);
        t.forget(&a);
        assert!(!t.is_known(&a));
        for i in 0..=MAX_KNOWN_BROWSERS {
            t.remember([u8::try_from(i).unwrap(); 32]);
        }
        assert_eq!(t.known.lock().unwrap().len(), MAX_KNOWN_BROWSERS);
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
        let browser = browser_cookie(&token, true).unwrap();
        let browser = browser.to_str().unwrap();
        assert!(browser.starts_with("__Host-passdrop_browser="));
        assert!(browser.contains("HttpOnly") && browser.contains("; Secure"));
        assert!(browser.contains(&format!("Max-Age={KNOWN_BROWSER_SECS}")));
    }
}
