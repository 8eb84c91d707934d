//! Settings shared by every command: where data lives, where the server listens, and the
//! public URL links are built from. Also the small parsers for durations and URLs.

use std::net::SocketAddr;
use std::time::Duration;

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./passdrop-data";
/// The configuration file read when neither `--config` nor `PASSDROP_CONFIG` names one,
/// if it exists: fixed at build time by `PASSDROP_BUILD_DEFAULT_CONFIG` (the Debian
/// package's build, `scripts/build-deb.sh`, sets `/etc/passdrop/passdrop.toml`); none in
/// a plain `cargo build`, so tests and hand-built binaries never read a system file.
pub const BUILT_IN_CONFIG: Option<&str> = option_env!("PASSDROP_BUILD_DEFAULT_CONFIG");
/// Default listen address: loopback only, so a fresh install is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default link lifetime.
pub const DEFAULT_EXPIRES_IN: &str = "7d";
/// Shortest link lifetime accepted.
pub const MIN_LINK_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Longest link lifetime accepted.
pub const MAX_LINK_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// By default a batch nobody purges is purged this long after its links expire...
pub const DEFAULT_RETAIN_AFTER_EXPIRY: &str = "7d";
/// ...or this long after an export, whichever comes first (never before pending users'
/// links expire unless the admin chooses it).
pub const DEFAULT_RETAIN_AFTER_EXPORT: &str = "24h";
/// Default per-IP limit, in requests per minute: enough for a whole office behind one
/// NAT opening its links after one email (each visit is two or three requests).
pub const DEFAULT_RATE_LIMIT: u32 = 600;
/// Messages per second when sending links, unless set: 30 a minute, Microsoft 365's
/// limit for one mailbox.
pub const DEFAULT_SEND_RATE: f64 = 0.5;
/// The first wait after a temporary sending failure, unless set.
pub const DEFAULT_SEND_RETRY_WAIT: Duration = Duration::from_secs(30);
/// [`DEFAULT_SEND_RETRY_WAIT`] written the way the option is, for `--help` (a test
/// checks the two agree).
pub const DEFAULT_SEND_RETRY_WAIT_TEXT: &str = "30s";

/// A validated public base URL such as `https://passdrop.example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses and normalises a public URL: `http` or `https`, a host, an optional path
    /// prefix, no query or fragment; scheme and host lower-cased, a default port and the
    /// trailing slash dropped, so the origin matches what browsers send.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        let lower = trimmed.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            ("https", &trimmed[8..])
        } else if lower.starts_with("http://") {
            ("http", &trimmed[7..])
        } else {
            return Err(format!(
                "public URL {trimmed:?} must start with https:// or http://"
            ));
        };
        if trimmed.contains(['?', '#', ' ', '"', '<', '>', '\\'])
            || trimmed.chars().any(char::is_control)
        {
            return Err(format!(
                "public URL {trimmed:?} must not contain a query, fragment, space or quote"
            ));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("public URL {trimmed:?} has no host"));
        }
        if authority.contains('@') {
            return Err(format!(
                "public URL {trimmed:?} must not contain a user name"
            ));
        }
        if !authority.is_ascii() {
            return Err(format!(
                "public URL {trimmed:?}: write an international domain name in its ASCII \
                 (xn--) form"
            ));
        }
        let mut authority = authority.to_ascii_lowercase();
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        if let Some(host) = authority.strip_suffix(default_port) {
            authority = host.to_owned();
        }
        let path = path.trim_end_matches('/');
        Ok(Self(format!("{scheme}://{authority}{path}")))
    }

    /// The URL users follow for a token.
    pub fn link_for(&self, token: &str) -> String {
        format!("{}/s/{token}", self.0)
    }

    /// Whether the public URL is https (HSTS is then sent).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`), without any path prefix.
    pub fn origin(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |i| i + 3);
        match self.0[after_scheme..].find('/') {
            Some(i) => &self.0[..after_scheme + i],
            None => &self.0,
        }
    }

    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The default when none is configured: plain http on the listen address.
    pub fn from_listen(listen: SocketAddr) -> Self {
        Self(format!("http://{listen}"))
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a duration such as `7d`, `36h`, `90m`, `2w` or `3600s`.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{input:?} is not a duration; write it like 7d, 36h, 90m or 2w"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{input:?} has an unknown unit; use s, m, h, d or w (for example 7d)"
            ));
        }
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{input:?} is too long"))
}

/// Parses a link lifetime and checks it lies between 10 minutes and 90 days.
pub fn parse_link_lifetime(input: &str) -> Result<Duration, String> {
    let d = parse_duration(input)?;
    if d < MIN_LINK_LIFETIME || d > MAX_LINK_LIFETIME {
        return Err(format!(
            "links must expire after between 10 minutes and 90 days, not {input:?}"
        ));
    }
    Ok(d)
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats Unix seconds as `2026-11-26 14:05 UTC`.
pub fn format_time(unix: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return unix.to_string();
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&format).unwrap_or_else(|_| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert!(parse_duration("7").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn link_lifetimes_are_bounded() {
        assert!(parse_link_lifetime("7d").is_ok());
        assert!(parse_link_lifetime("5m").is_err());
        assert!(parse_link_lifetime("91d").is_err());
    }

    #[test]
    fn public_urls_are_normalised_and_checked() {
        let u = PublicUrl::parse("https://pw.example.org/").unwrap();
        assert_eq!(u.link_for("abc"), "https://pw.example.org/s/abc");
        assert!(u.is_https());
        assert_eq!(u.origin(), "https://pw.example.org");
        let prefixed = PublicUrl::parse("https://example.org:8443/passdrop").unwrap();
        assert_eq!(prefixed.origin(), "https://example.org:8443");
        assert_eq!(
            prefixed.link_for("t"),
            "https://example.org:8443/passdrop/s/t"
        );
        assert_eq!(
            PublicUrl::parse("HTTPS://PW.Example.org:443/Pre/")
                .unwrap()
                .as_str(),
            "https://pw.example.org/Pre"
        );
        assert_eq!(
            PublicUrl::parse("http://h:80").unwrap().as_str(),
            "http://h"
        );
        assert_eq!(
            PublicUrl::parse("http://h:8080").unwrap().as_str(),
            "http://h:8080"
        );
        assert!(PublicUrl::parse("https://user@h").is_err());
        assert!(PublicUrl::parse("https://bücher.example").is_err());
        assert!(PublicUrl::parse("ftp://x").is_err());
        assert!(PublicUrl::parse("https://").is_err());
        assert!(PublicUrl::parse("https://x/?a=b").is_err());
        assert!(
            !PublicUrl::parse("http://127.0.0.1:8080")
                .unwrap()
                .is_https()
        );
    }

    #[test]
    fn times_format_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
    }
}
