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

/// Parses a duration: a whole number and a unit, with or without a space: `7d`, `36h`,
/// `90m`, `2w`, `3600s`, or in words, `7 days`, `1 week`, `36 hours`, `90 minutes`.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("{input:?} is not a duration; write it like 7d, 36h, 90m, 2w or \"7 days\"")
    })?;
    let unit_secs = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "" => {
            return Err(format!(
                "{input:?} has no unit; add one: minutes, hours, days or weeks (for example 7d \
                 or \"7 days\")"
            ));
        }
        _ => {
            return Err(format!(
                "{input:?} has an unknown unit; use minutes, hours, days or weeks (m, h, d, w; \
                 for example 7d or \"1 week\")"
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
    format_time_in(unix, &TimeZoneSetting::Utc)
}

/// The time zone times are shown in: `--time-zone` (`PASSDROP_TIME_ZONE`), or a batch's
/// own. Unset, it is UTC, said plainly. The zone database is bundled in the binary
/// (jiff's `tzdb-bundle-always`), so a machine without /usr/share/zoneinfo works too.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum TimeZoneSetting {
    /// No zone set: times in UTC, written "UTC".
    #[default]
    Utc,
    /// An IANA zone such as Europe/London.
    Zone(jiff::tz::TimeZone),
}

impl TimeZoneSetting {
    /// Parses an IANA name (`Europe/London`); an empty value is UTC.
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim();
        if name.is_empty() {
            return Ok(Self::Utc);
        }
        // Only names: a POSIX TZ string or a path is not a zone an admin can read back.
        if name.contains(['\\', ',', '<']) || name.starts_with(['/', '.']) {
            return Err(unknown_zone(name));
        }
        jiff::tz::TimeZone::get(name)
            .map(Self::Zone)
            .map_err(|_| unknown_zone(name))
    }

    /// A stored zone name (a batch's), `None` for the default: unknown or absent names
    /// fall back to `fallback`.
    pub fn or_stored(stored: Option<&str>, fallback: &Self) -> Self {
        match stored.map(Self::parse) {
            Some(Ok(zone)) if zone != Self::Utc => zone,
            _ => fallback.clone(),
        }
    }

    /// The IANA name, or "UTC" when unset.
    pub fn name(&self) -> &str {
        match self {
            Self::Utc => "UTC",
            Self::Zone(tz) => tz.iana_name().unwrap_or("UTC"),
        }
    }

    /// Whether a zone was set.
    pub fn is_set(&self) -> bool {
        matches!(self, Self::Zone(_))
    }

    fn zone(&self) -> jiff::tz::TimeZone {
        match self {
            Self::Utc => jiff::tz::TimeZone::UTC,
            Self::Zone(tz) => tz.clone(),
        }
    }
}

/// The refusal of a zone name.
fn unknown_zone(name: &str) -> String {
    format!("unknown time zone {name:?}; use an IANA name such as Europe/London")
}

/// Common zones, for the console's suggestions (any IANA name is accepted).
pub const COMMON_TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Zurich",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// Formats Unix seconds in `tz`: `2026-12-07 17:00 CET`, `2026-07-01 13:00 BST`; where
/// the zone has no letters for it, the offset and the IANA name (`2026-07-01 15:00
/// +03:00 Europe/Istanbul`); `2026-11-26 14:05 UTC` when unset. The one formatter of
/// times for the console and the command line (the user pages and email may call it
/// too).
pub fn format_time_in(unix: i64, tz: &TimeZoneSetting) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return unix.to_string();
    };
    let zoned = ts.to_zoned(tz.zone());
    let day_time = zoned.strftime("%Y-%m-%d %H:%M").to_string();
    let abbreviation = zoned.strftime("%Z").to_string();
    match tz {
        TimeZoneSetting::Utc => format!("{day_time} UTC"),
        TimeZoneSetting::Zone(_) if abbreviation.starts_with(char::is_alphabetic) => {
            format!("{day_time} {abbreviation}")
        }
        TimeZoneSetting::Zone(_) => {
            format!("{day_time} {} {}", zoned.strftime("%:z"), tz.name())
        }
    }
}

/// The wall-clock time of `unix` in `tz`, for dates written in words: weekday (1 is
/// Monday), day, month (1 is January), hour, minute, and the zone as `format_time_in`
/// writes it ("UTC", "CET", "+03:00 Europe/Istanbul").
pub struct CivilTime {
    pub weekday: i8,
    pub day: i8,
    pub month: i8,
    pub hour: i8,
    pub minute: i8,
    pub zone: String,
}

/// `unix` on the wall clock of `tz`; `None` outside the representable range.
pub fn civil_time(unix: i64, tz: &TimeZoneSetting) -> Option<CivilTime> {
    let zoned = jiff::Timestamp::from_second(unix).ok()?.to_zoned(tz.zone());
    let abbreviation = zoned.strftime("%Z").to_string();
    let zone = match tz {
        TimeZoneSetting::Utc => "UTC".to_owned(),
        TimeZoneSetting::Zone(_) if abbreviation.starts_with(char::is_alphabetic) => abbreviation,
        TimeZoneSetting::Zone(_) => format!("{} {}", zoned.strftime("%:z"), tz.name()),
    };
    Some(CivilTime {
        weekday: zoned.weekday().to_monday_one_offset(),
        day: zoned.day(),
        month: zoned.month(),
        hour: zoned.hour(),
        minute: zoned.minute(),
        zone,
    })
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-07T16:00:00Z`), for `<time datetime>`.
pub fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

/// How long ago (or how far ahead) `unix` is from `now`, in words: "just now",
/// "2 min ago", "3 hours ago", "5 days ago", "in 6 days".
pub fn relative_time(unix: i64, now: i64) -> String {
    let diff = now.saturating_sub(unix);
    let span = diff.unsigned_abs();
    let amount = if span < 60 {
        return "just now".to_owned();
    } else if span < 3600 {
        format!("{} min", span / 60)
    } else if span < 86_400 {
        plural(span / 3600, "hour")
    } else if span < 60 * 86_400 {
        plural(span / 86_400, "day")
    } else if span < 730 * 86_400 {
        plural(span / (30 * 86_400), "month")
    } else {
        plural(span / (365 * 86_400), "year")
    };
    if diff >= 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// `1 hour`, `2 hours`.
fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
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
        assert!(parse_duration("7").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("7 fortnights")
                .unwrap_err()
                .contains("unknown unit")
        );
        for (text, days) in [
            ("7 days", 7),
            ("1 week", 7),
            ("2 weeks", 14),
            ("1 day", 1),
            (" 7D ", 7),
        ] {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_secs(days * 86_400),
                "{text}"
            );
        }
        assert_eq!(
            parse_duration("36 hours").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(
            parse_duration("36h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
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

    #[test]
    fn time_zones_parse_and_format_with_daylight_saving() {
        let london = TimeZoneSetting::parse("Europe/London").unwrap();
        assert_eq!(london.name(), "Europe/London");
        // 2026-07-01 12:00 UTC is 13:00 British Summer Time.
        assert_eq!(
            format_time_in(1_782_907_200, &london),
            "2026-07-01 13:00 BST"
        );
        // 2026-12-07 16:00 UTC: GMT in London, CET in Paris.
        assert_eq!(
            format_time_in(1_796_659_200, &london),
            "2026-12-07 16:00 GMT"
        );
        let paris = TimeZoneSetting::parse("Europe/Paris").unwrap();
        assert_eq!(
            format_time_in(1_796_659_200, &paris),
            "2026-12-07 17:00 CET"
        );
        let istanbul = TimeZoneSetting::parse("Europe/Istanbul").unwrap();
        assert_eq!(
            format_time_in(1_796_659_200, &istanbul),
            "2026-12-07 19:00 +03:00 Europe/Istanbul"
        );
        assert_eq!(
            format_time_in(1_796_659_200, &TimeZoneSetting::Utc),
            "2026-12-07 16:00 UTC"
        );
        assert_eq!(TimeZoneSetting::parse("").unwrap(), TimeZoneSetting::Utc);
        assert_eq!(TimeZoneSetting::Utc.name(), "UTC");
        assert_eq!(
            TimeZoneSetting::parse("Europe/Lodnon").unwrap_err(),
            "unknown time zone \"Europe/Lodnon\"; use an IANA name such as Europe/London"
        );
        assert!(TimeZoneSetting::parse("/etc/passwd").is_err());
        assert_eq!(
            TimeZoneSetting::or_stored(Some("Europe/Paris"), &london),
            paris
        );
        assert_eq!(TimeZoneSetting::or_stored(None, &london), london);
        assert_eq!(rfc3339(1_796_659_200), "2026-12-07T16:00:00Z");
    }

    #[test]
    fn relative_times_read_like_speech() {
        let now = 1_000_000;
        assert_eq!(relative_time(now - 5, now), "just now");
        assert_eq!(relative_time(now - 120, now), "2 min ago");
        assert_eq!(relative_time(now - 3 * 3600, now), "3 hours ago");
        assert_eq!(relative_time(now - 3600, now), "1 hour ago");
        assert_eq!(relative_time(now + 6 * 86_400, now), "in 6 days");
        assert_eq!(relative_time(now - 86_400, now), "1 day ago");
    }
}
