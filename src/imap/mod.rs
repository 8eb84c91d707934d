//! Checking a password against the old IMAP server before accepting it, and testing the
//! connection to that server without any password.
//!
//! The protocol is async-imap's; this module chooses the transport (implicit TLS, or
//! STARTTLS that is never allowed to fall back to plaintext), the certificate trust (the
//! public authorities, a CA file, or a pinned SHA-256 fingerprint), the login command,
//! and turns every outcome into plain words.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_imap::error::Error as ImapError;
use async_imap::imap_proto::{Capability, Response, Status};
use async_imap::types::UnsolicitedResponse;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use zeroize::Zeroizing;

mod gate;
mod inventory;
pub mod microsoft_view;
mod report;
mod session;
mod throttle;
mod tls;
mod user_root;
mod wire;

pub use gate::{
    CheckGate, CheckPass, DEFAULT_CHECKS_PER_SERVER, DEFAULT_LOGIN_INTERVAL, Entry,
    MAX_CONCURRENT_CHECKS, Pacing, QUEUE_WAIT, VERIFY_BUDGET,
};
pub use inventory::{
    FolderProblem, INVENTORY_DEADLINE, InventoryLimits, LoggedIn, MAX_ITEMS_PER_MAILBOX,
    MESSAGE_SIZE_LIMIT, MailboxInventory, take_inventory, verify_password_keeping,
};
pub use microsoft_view::{PublicTls, ServerProblem};
use report::*;
pub use report::{ConnectionReport, ImapProblem, LoginMethod, Verdict};
use session::*;
use tls::*;
pub use tls::{CertTrust, fingerprint_hex};
pub use user_root::{RootCheck, check_user_root};

/// The most a whole check may take (connecting, logging in with the server's possibly
/// delayed answer, logging out). With its turn in the queue (`QUEUE_WAIT`) a verifying
/// submission takes at most `VERIFY_BUDGET`, well within its HTTP request's 75 s.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(35);

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`imaps://`, port 993).
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS before anything else (`imap://`, port
    /// 143). Never falls back to plaintext.
    StartTls,
}

/// The old IMAP server: where it is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapServer {
    /// Implicit TLS or STARTTLS.
    pub security: Security,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ImapServer {
    /// Parses `imaps://host[:993]` or `imap://host[:143]` (an IPv6 address in brackets).
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        let (security, rest) = if lower.starts_with("imaps://") {
            (Security::ImplicitTls, &url["imaps://".len()..])
        } else if lower.starts_with("imap://") {
            (Security::StartTls, &url["imap://".len()..])
        } else {
            return Err(format!(
                "{url:?} is not an IMAP server address: write imaps://host (TLS, port 993) \
                 or imap://host (STARTTLS, port 143)"
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{url:?}: give only the server's host and port, with no user, path or query \
                 (for example imaps://mail.example.com)"
            ));
        }
        let default_port = match security {
            Security::ImplicitTls => 993,
            Security::StartTls => 143,
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: an IPv6 address needs its closing ']'"))?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("{url:?}: [{addr}] is not an IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("{url:?}: unexpected text after ']'"))?,
                ),
            };
            (addr.to_owned(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (rest.to_owned(), None),
            }
        };
        let host = host.strip_suffix('.').map(str::to_owned).unwrap_or(host);
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => {
                    return Err(format!(
                        "{url:?}: the port {p:?} is not a number from 1 to 65535"
                    ));
                }
            },
        };
        let valid_host = !host.is_empty()
            && host.len() <= 253
            && (host.parse::<std::net::IpAddr>().is_ok()
                || host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                }));
        if !valid_host {
            return Err(format!(
                "{url:?}: {host:?} is not a host name or IP address"
            ));
        }
        Ok(Self {
            security,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for ImapServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.security {
            Security::ImplicitTls => "imaps",
            Security::StartTls => "imap",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// What to do with a submission when the server cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnreachable {
    /// Ask the user to try again later; nothing is stored.
    AskToRetry,
    /// Accept the password, marked "not verified" for the admin.
    AcceptUnverified,
}

impl WhenUnreachable {
    /// The stored and command-line value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AskToRetry => "retry",
            Self::AcceptUnverified => "accept",
        }
    }

    /// Parses a stored or command-line value.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "retry" => Ok(Self::AskToRetry),
            "accept" => Ok(Self::AcceptUnverified),
            other => Err(format!(
                "{other:?} is not a choice for an unreachable IMAP server: use retry (ask the \
                 user to try later) or accept (accept it marked not verified)"
            )),
        }
    }
}

/// A batch's IMAP verification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSettings {
    /// The server.
    pub server: ImapServer,
    /// Which certificates it may present.
    pub trust: CertTrust,
    /// What to do when it cannot be reached.
    pub when_unreachable: WhenUnreachable,
}

impl ImapSettings {
    /// Rebuilds settings from their stored columns.
    pub fn from_stored(
        url: &str,
        ca_pem: Option<&str>,
        pin_hex: Option<&str>,
        when_unreachable: &str,
    ) -> Result<Self, String> {
        let trust = match (ca_pem, pin_hex) {
            (_, Some(pin)) => CertTrust::pin(pin)?,
            (Some(pem), None) => CertTrust::CaFile(pem.to_owned()),
            (None, None) => CertTrust::PublicAuthorities,
        };
        Ok(Self {
            server: ImapServer::parse(url)?,
            trust,
            when_unreachable: WhenUnreachable::parse(when_unreachable)?,
        })
    }

    /// Reads the console's fields: an empty URL means no checking. At most one of the
    /// pin and the CA text may be given.
    pub fn from_fields(
        url: &str,
        pin: &str,
        ca_pem: &str,
        when_unreachable: &str,
    ) -> Result<Option<Self>, String> {
        let when_unreachable = WhenUnreachable::parse(when_unreachable)?;
        if url.trim().is_empty() {
            if !pin.trim().is_empty() || !ca_pem.trim().is_empty() {
                return Err("a certificate fingerprint or authority needs a server address".into());
            }
            return Ok(None);
        }
        let server = ImapServer::parse(url)?;
        let trust = match (pin.trim(), ca_pem.trim()) {
            ("", "") => CertTrust::PublicAuthorities,
            (pin, "") => CertTrust::pin(pin)?,
            ("", pem) => CertTrust::ca_file(pem)?,
            _ => {
                return Err(
                    "give either a certificate fingerprint to pin or an authority to trust, not \
                     both"
                        .into(),
                );
            }
        };
        Ok(Some(Self {
            server,
            trust,
            when_unreachable,
        }))
    }

    /// The stored CA PEM, if any.
    pub fn ca_pem(&self) -> Option<&str> {
        match &self.trust {
            CertTrust::CaFile(pem) => Some(pem),
            _ => None,
        }
    }

    /// The stored pin as lowercase hex, if any.
    pub fn pin_hex(&self) -> Option<String> {
        match &self.trust {
            CertTrust::Pin(pin) => Some(hex::encode(pin)),
            _ => None,
        }
    }
}

/// Tests the connection (TLS, certificate, capabilities) without any password, and
/// logs out.
pub async fn check_connection(settings: &ImapSettings) -> ConnectionReport {
    let started = Instant::now();
    let mut report = ConnectionReport {
        server: settings.server.to_string(),
        ..ConnectionReport::default()
    };
    let outcome = tokio::time::timeout(CONNECT_BUDGET, connect(settings, &mut report)).await;
    let reached = match outcome {
        Err(_) => Err(ImapProblem::Timeout("the whole test")),
        Ok(Err(problem)) => Err(problem),
        Ok(Ok(session)) => {
            report.login_method = session.login_method();
            session.logout().await;
            Ok(())
        }
    };
    // How Microsoft would see it: from this connection when it trusted the public
    // authorities too, else from one more (no login) that does.
    report.public_tls = match (&settings.trust, &reached) {
        (CertTrust::PublicAuthorities, _) => microsoft_view::public_tls(&reached, &report),
        (_, Err(ImapProblem::Resolve { .. } | ImapProblem::Connect { .. })) => None,
        _ => microsoft_view::probe(settings).await,
    };
    report.problem = match reached {
        Err(problem) => Some(problem),
        Ok(()) if report.login_method.is_none() => Some(ImapProblem::NoLogin),
        Ok(()) => None,
    };
    report.elapsed = started.elapsed();
    report
}

/// Logs in as `user` with `password` and logs out: the server's answer is the verdict.
pub async fn verify_password(
    settings: &ImapSettings,
    user: &str,
    password: &SecretString,
) -> Verdict {
    verify_password_using(settings, user, password, None).await
}

/// Like `verify_password`, but with `method` when the server allows it. (Servers that
/// accept LOGIN also offer AUTHENTICATE PLAIN, which passdrop prefers; the tests use
/// this to exercise LOGIN against them.)
pub async fn verify_password_using(
    settings: &ImapSettings,
    user: &str,
    password: &SecretString,
    method: Option<LoginMethod>,
) -> Verdict {
    let mut report = ConnectionReport::default();
    // Until the password is sent, a failure means the server could not be asked.
    let session = match tokio::time::timeout(CONNECT_BUDGET, connect(settings, &mut report)).await {
        Ok(Ok(s)) => s,
        Ok(Err(problem)) => return Verdict::CouldNotCheck(problem),
        Err(_) => return Verdict::CouldNotCheck(ImapProblem::Timeout("connecting")),
    };
    session.log_in(user, password, method).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_parse_with_default_ports() {
        let s = ImapServer::parse("imaps://Mail.Example.com").unwrap();
        assert_eq!(s.security, Security::ImplicitTls);
        assert_eq!(s.port, 993);
        assert_eq!(s.to_string(), "imaps://mail.example.com:993");
        let s = ImapServer::parse("IMAP://mail.example.com:1143/").unwrap();
        assert_eq!(s.security, Security::StartTls);
        assert_eq!(s.port, 1143);
        let s = ImapServer::parse("imaps://[::1]:10993").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.to_string(), "imaps://[::1]:10993");
        assert_eq!(
            ImapServer::parse("imaps://127.0.0.1").unwrap().host,
            "127.0.0.1"
        );
        assert_eq!(
            ImapServer::parse("imaps://mail.example.com.:993")
                .unwrap()
                .host,
            "mail.example.com"
        );
    }

    #[test]
    fn bad_server_urls_say_what_is_wrong() {
        for bad in [
            "mail.example.com",
            "https://mail.example.com",
            "imaps://",
            "imaps://user@mail.example.com",
            "imaps://mail.example.com/INBOX",
            "imaps://mail.example.com:0",
            "imaps://mail.example.com:99999",
            "imaps://mail example.com",
            "imaps://[::1",
            "imaps://[zz]:993",
            "pop3://mail.example.com",
        ] {
            let e = ImapServer::parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(
            ImapServer::parse("http://x")
                .unwrap_err()
                .contains("imaps://host")
        );
    }

    #[test]
    fn pins_accept_openssl_and_plain_hex() {
        let hex64 = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(CertTrust::pin(&hex64).unwrap(), CertTrust::Pin([0xab; 32]));
        assert_eq!(CertTrust::pin(&colons).unwrap(), CertTrust::Pin([0xab; 32]));
        assert!(CertTrust::pin("ab").is_err());
        assert!(CertTrust::pin(&"zz".repeat(32)).is_err());
        assert!(CertTrust::pin(&"é".repeat(32)).is_err());
        assert_eq!(fingerprint_hex(&[0xab; 32]), colons);
        let openssl = format!("sha256 Fingerprint={colons}");
        assert_eq!(
            CertTrust::pin(&openssl).unwrap(),
            CertTrust::Pin([0xab; 32])
        );
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        assert!(CertTrust::ca_file("").is_err());
        assert!(CertTrust::ca_file("not pem").is_err());
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        assert!(CertTrust::ca_file(&cert.cert.pem()).is_ok());
    }

    #[test]
    fn temporary_answers_are_not_wrong_passwords() {
        assert!(is_temporary(
            "code: None, info: Some(\"[UNAVAILABLE] Temporary authentication failure.\")"
        ));
        assert!(!is_temporary(
            "code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")"
        ));
        assert_eq!(
            server_text("code: None, info: Some(\"[UNAVAILABLE] Try later.\")"),
            "[UNAVAILABLE] Try later."
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_explained_with_its_host_and_port() {
        // A closed port on loopback: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = ImapSettings {
            server: ImapServer::parse(&format!("imaps://127.0.0.1:{port}")).unwrap(),
            trust: CertTrust::PublicAuthorities,
            when_unreachable: WhenUnreachable::AskToRetry,
        };
        let report = check_connection(&settings).await;
        let problem = report.problem.unwrap();
        assert_eq!(
            problem,
            ImapProblem::Connect {
                host: "127.0.0.1".into(),
                port,
                refused: true
            }
        );
        assert!(
            problem
                .to_string()
                .starts_with(&format!("nothing answers on 127.0.0.1 port {port}: check")),
            "{problem}"
        );
    }

    #[test]
    fn only_authentication_failures_are_wrong_passwords() {
        let no = |info: &str| format!("code: None, info: Some(\"{info}\")");
        assert_eq!(
            classify_no(&no("[AUTHENTICATIONFAILED] Authentication failed.")),
            Verdict::Rejected
        );
        assert_eq!(classify_no(&no("Login failed.")), Verdict::Rejected);
        assert_eq!(
            classify_no(&no("[EXPIRED] Password expired.")),
            Verdict::RefusedOther("[EXPIRED] Password expired.".into())
        );
        assert!(matches!(
            classify_no(&no("[UNAVAILABLE] Try later.")),
            Verdict::NoAnswer(ImapProblem::Temporary(_))
        ));
        for gmail in [
            "[ALERT] Application-specific password required: \
             https://support.google.com/accounts/answer/185833 (Failure)",
            "[ALERT] Please log in via your web browser: \
             https://support.google.com/mail/accounts/answer/78754 (Failure)",
            "Login failed: an app password is required for IMAP",
        ] {
            assert!(
                matches!(classify_no(&no(gmail)), Verdict::AppPasswordRequired(_)),
                "{gmail}"
            );
        }
        assert_eq!(printable("a\u{7}b"), "a b");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn problems_never_quote_what_the_server_sent() {
        let canary = "CANARY-7d1e banner";
        let sent = [
            ImapError::Io(std::io::Error::other(format!(
                "Error(..) during parsing of \"SSH-2.0-{canary}\\r\\n\""
            ))),
            ImapError::Bad(canary.into()),
            ImapError::No(canary.into()),
            ImapError::Parse(async_imap::error::ParseError::Unexpected(canary.into())),
        ];
        for error in &sent {
            let problem = protocol_problem(error);
            assert!(!problem.to_string().contains("CANARY"), "{problem}");
        }
        assert_eq!(protocol_problem(&sent[0]), ImapProblem::NotImap);
        assert!(
            ImapProblem::NotImap
                .to_string()
                .starts_with("not an IMAP server")
        );
    }

    #[test]
    fn unreachable_policy_round_trips() {
        for p in [
            WhenUnreachable::AskToRetry,
            WhenUnreachable::AcceptUnverified,
        ] {
            assert_eq!(WhenUnreachable::parse(p.as_str()), Ok(p));
        }
        assert!(WhenUnreachable::parse("maybe").is_err());
    }
}
