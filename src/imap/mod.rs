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

/// How long to wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the TLS handshake.
const TLS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the greeting, CAPABILITY, STARTTLS and LOGOUT answers.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the answer to a login. Servers delay answers on purpose after
/// failures from the same address (Dovecot: up to 15 s), and passdrop is one address.
const AUTH_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the answer to LOGOUT.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connecting may take (address, TLS, greeting, STARTTLS, capabilities).
const CONNECT_BUDGET: Duration = Duration::from_secs(8);
/// The most a whole check may take (connecting, logging in, logging out), so that a
/// user's submission (and its HTTP request, which times out at 30 s) gets an answer.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(25);
/// The largest CA file accepted.
const MAX_CA_FILE_BYTES: usize = 1024 * 1024;

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

/// Which server certificates are trusted.
#[derive(Clone, PartialEq, Eq)]
pub enum CertTrust {
    /// Certificates from the public authorities (Mozilla's list, built in), for the
    /// server's name.
    PublicAuthorities,
    /// Certificates issued by the authorities in this PEM text, for the server's name.
    CaFile(String),
    /// Exactly the certificate with this SHA-256 fingerprint, whatever its name or issuer.
    Pin([u8; 32]),
}

impl fmt::Debug for CertTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PublicAuthorities => f.write_str("PublicAuthorities"),
            Self::CaFile(_) => f.write_str("CaFile(..)"),
            Self::Pin(pin) => write!(f, "Pin({})", fingerprint_hex(pin)),
        }
    }
}

impl CertTrust {
    /// Checks a CA file's text: PEM certificates that can be trust anchors.
    pub fn ca_file(pem: &str) -> Result<Self, String> {
        if pem.len() > MAX_CA_FILE_BYTES {
            return Err("the CA file is larger than 1 MiB".into());
        }
        root_store_from_pem(pem)?;
        Ok(Self::CaFile(pem.to_owned()))
    }

    /// Parses a SHA-256 fingerprint: 64 hexadecimal digits, colons allowed.
    pub fn pin(text: &str) -> Result<Self, String> {
        // `openssl x509 -fingerprint` prints `sha256 Fingerprint=AB:CD:...`.
        let value = text.rsplit_once('=').map_or(text, |(_, v)| v);
        let digits: String = value
            .trim()
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let digits = digits
            .strip_prefix("sha256/")
            .or_else(|| digits.strip_prefix("SHA256/"))
            .unwrap_or(&digits);
        let mut pin = [0u8; 32];
        let ok = digits.len() == 64
            && digits.is_ascii()
            && pin.iter_mut().enumerate().all(|(i, byte)| {
                u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                    .map(|b| *byte = b)
                    .is_ok()
            });
        if ok {
            Ok(Self::Pin(pin))
        } else {
            Err(format!(
                "{text:?} is not a SHA-256 fingerprint (64 hexadecimal digits, as shown by \
                 `passdrop batch check-imap` or `openssl x509 -noout -fingerprint -sha256`)"
            ))
        }
    }

    /// A short description for people.
    pub fn describe(&self) -> String {
        match self {
            Self::PublicAuthorities => "public certificate authorities".into(),
            Self::CaFile(_) => "the certificate authority from the CA file".into(),
            Self::Pin(pin) => format!("the pinned certificate {}", fingerprint_hex(pin)),
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
            CertTrust::Pin(pin) => Some(hex(pin)),
            _ => None,
        }
    }
}

/// A fingerprint as colon-separated uppercase hex pairs (the form `openssl` prints).
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn root_store_from_pem(pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = cert.map_err(|e| format!("certificate {} of the CA file: {e}", i + 1))?;
        roots
            .add(cert)
            .map_err(|e| format!("certificate {} of the CA file: {e}", i + 1))?;
    }
    if roots.is_empty() {
        return Err("the CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(roots)
}

/// Why the server could not be asked. Every message is plain words for an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapProblem {
    /// The host name does not resolve.
    Resolve(String),
    /// No TCP connection.
    Connect(String),
    /// A step took too long.
    Timeout(&'static str),
    /// The certificate was refused.
    Certificate(String),
    /// TLS failed for another reason.
    Tls(String),
    /// `imap://` but the server will not start TLS.
    NoStartTls,
    /// The server refused the connection or greeted oddly.
    Greeting(String),
    /// The server offers no login passdrop may use.
    NoLogin,
    /// The server said it cannot check passwords now.
    Temporary(String),
    /// The server broke the protocol or closed the connection.
    Protocol(String),
}

impl fmt::Display for ImapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolve(e) => write!(f, "the server's name could not be looked up: {e}"),
            Self::Connect(e) => write!(f, "could not connect: {e}"),
            Self::Timeout(stage) => write!(f, "the server did not answer in time ({stage})"),
            Self::Certificate(why) => write!(f, "the server's certificate is not trusted: {why}"),
            Self::Tls(e) => write!(f, "the encrypted connection failed: {e}"),
            Self::NoStartTls => f.write_str(
                "the server does not offer STARTTLS on this port, and passdrop never sends a \
                 password unencrypted; use imaps:// (port 993) if the server has it",
            ),
            Self::Greeting(text) => write!(f, "the server refused the connection: {text}"),
            Self::NoLogin => f.write_str(
                "the server offers no login passdrop can use (it announces LOGINDISABLED and \
                 no AUTH=PLAIN)",
            ),
            Self::Temporary(text) => {
                write!(f, "the server cannot check passwords right now: {text}")
            }
            Self::Protocol(e) => write!(f, "the server's answer was not understood: {e}"),
        }
    }
}

/// The result of checking one password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The server accepted the login.
    Accepted,
    /// The server refused the login as a wrong password (`[AUTHENTICATIONFAILED]`, or a
    /// NO without a reason code).
    Rejected,
    /// The server refused the login for another reason it stated (an expired password,
    /// a disabled account...): its words, shortened.
    RefusedOther(String),
    /// The server could not be asked; the password was never sent.
    CouldNotCheck(ImapProblem),
    /// The password was sent but no clear answer came back (a timeout, a lost
    /// connection, "try later"). It counts as a try, so that cutting answers short
    /// cannot be used to guess without limit.
    NoAnswer(ImapProblem),
}

/// How passdrop logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// `AUTHENTICATE PLAIN` (preferred: no quoting issues).
    AuthenticatePlain,
    /// `LOGIN user password`.
    Login,
}

impl fmt::Display for LoginMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AuthenticatePlain => "AUTHENTICATE PLAIN",
            Self::Login => "LOGIN",
        })
    }
}

/// What a connection test found, step by step.
#[derive(Debug, Clone, Default)]
pub struct ConnectionReport {
    /// The server as configured.
    pub server: String,
    /// The address connected to.
    pub address: Option<SocketAddr>,
    /// The negotiated TLS version.
    pub tls_version: Option<String>,
    /// The SHA-256 fingerprint of the certificate the server presented (also when it
    /// was refused, so that the admin can pin it knowingly).
    pub certificate_sha256: Option<[u8; 32]>,
    /// What the certificate was trusted by, when it was.
    pub trusted_by: Option<String>,
    /// Capabilities after TLS.
    pub capabilities: Vec<String>,
    /// How passwords will be sent.
    pub login_method: Option<LoginMethod>,
    /// What went wrong, if anything.
    pub problem: Option<ImapProblem>,
    /// How long the test took.
    pub elapsed: Duration,
}

impl ConnectionReport {
    /// Whether passwords can be checked against this server.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    /// The report as labelled lines, for the command line and the console.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![("Server", self.server.clone())];
        if let Some(addr) = self.address {
            lines.push(("Connected to", addr.to_string()));
        }
        if let Some(v) = &self.tls_version {
            lines.push(("Encryption", v.clone()));
        }
        if let Some(fp) = &self.certificate_sha256 {
            lines.push(("Certificate SHA-256", fingerprint_hex(fp)));
        }
        if let Some(by) = &self.trusted_by {
            lines.push(("Certificate", format!("trusted ({by})")));
        }
        if !self.capabilities.is_empty() {
            lines.push(("Capabilities", self.capabilities.join(" ")));
        }
        if let Some(m) = self.login_method {
            lines.push(("Passwords sent with", m.to_string()));
        }
        lines.push(("Time", format!("{} ms", self.elapsed.as_millis())));
        match &self.problem {
            None => lines.push((
                "Result",
                "OK: passwords submitted to this batch will be checked against this server".into(),
            )),
            Some(p) => {
                lines.push(("Result", format!("FAILED: {p}")));
                if let (Some(ImapProblem::Certificate(_)), Some(fp)) =
                    (&self.problem, &self.certificate_sha256)
                {
                    lines.push((
                        "To trust it",
                        format!(
                            "if you are sure this is your old mail server, pin this certificate \
                             (--imap-cert-sha256 {}) or give its authority (--imap-ca-file)",
                            fingerprint_hex(fp)
                        ),
                    ));
                }
            }
        }
        lines
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
    match outcome {
        Err(_) => report.problem = Some(ImapProblem::Timeout("the whole test")),
        Ok(Err(problem)) => report.problem = Some(problem),
        Ok(Ok(session)) => {
            report.login_method = session.login_method();
            if report.login_method.is_none() {
                report.problem = Some(ImapProblem::NoLogin);
            }
            session.logout().await;
        }
    }
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

/// A connection after the greeting, TLS and a fresh CAPABILITY, before any login.
struct Connected {
    client: async_imap::Client<tokio_rustls::client::TlsStream<TcpStream>>,
    capabilities: Vec<String>,
}

impl Connected {
    fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    fn login_method(&self) -> Option<LoginMethod> {
        if self.has("AUTH=PLAIN") {
            Some(LoginMethod::AuthenticatePlain)
        } else if self.has("LOGINDISABLED") {
            None
        } else {
            Some(LoginMethod::Login)
        }
    }

    async fn logout(mut self) {
        let _ = tokio::time::timeout(
            LOGOUT_TIMEOUT,
            self.client.run_command_and_check_ok("LOGOUT", None),
        )
        .await;
    }

    async fn log_in(
        self,
        user: &str,
        password: &SecretString,
        prefer: Option<LoginMethod>,
    ) -> Verdict {
        let method = match prefer {
            Some(LoginMethod::Login) if !self.has("LOGINDISABLED") => Some(LoginMethod::Login),
            _ => self.login_method(),
        };
        let Some(method) = method else {
            self.logout().await;
            return Verdict::CouldNotCheck(ImapProblem::NoLogin);
        };
        let literal_plus = self.has("LITERAL+");
        let Connected { client, .. } = self;
        let pass = password.expose_secret();
        let result = match method {
            LoginMethod::AuthenticatePlain => {
                let auth = PlainAuth::new(user, pass);
                tokio::time::timeout(AUTH_TIMEOUT, client.authenticate("PLAIN", auth))
                    .await
                    .map(LoginResult::from_session)
            }
            LoginMethod::Login if literal_plus && !(user.is_ascii() && pass.is_ascii()) => {
                // Quoted strings are 7-bit: send 8-bit values as non-synchronising
                // literals, which the server announced it accepts.
                let command = Zeroizing::new(format!(
                    "LOGIN {{{}+}}\r\n{user} {{{}+}}\r\n{pass}",
                    user.len(),
                    pass.len()
                ));
                let mut client = client;
                tokio::time::timeout(AUTH_TIMEOUT, async {
                    match client.run_command_and_check_ok(&command, None).await {
                        Ok(()) => LoginResult::LoggedIn(Authenticated::Client(Box::new(client))),
                        Err(e) => LoginResult::Refused(e, Box::new(client)),
                    }
                })
                .await
            }
            LoginMethod::Login => tokio::time::timeout(AUTH_TIMEOUT, client.login(user, pass))
                .await
                .map(LoginResult::from_session),
        };
        match result {
            Err(_) => Verdict::NoAnswer(ImapProblem::Timeout("logging in")),
            Ok(LoginResult::LoggedIn(authenticated)) => {
                authenticated.logout().await;
                Verdict::Accepted
            }
            Ok(LoginResult::Refused(error, mut client)) => {
                let verdict = match error {
                    ImapError::No(text) => classify_no(&text),
                    other => Verdict::NoAnswer(protocol_problem(&other)),
                };
                let _ = tokio::time::timeout(
                    LOGOUT_TIMEOUT,
                    client.run_command_and_check_ok("LOGOUT", None),
                )
                .await;
                verdict
            }
        }
    }
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// How a login attempt ended (async-imap hands the client back on failure).
enum LoginResult {
    LoggedIn(Authenticated),
    Refused(ImapError, Box<async_imap::Client<Tls>>),
}

impl LoginResult {
    #[allow(clippy::result_large_err)] // async-imap's own signature
    fn from_session(
        r: Result<async_imap::Session<Tls>, (ImapError, async_imap::Client<Tls>)>,
    ) -> Self {
        match r {
            Ok(session) => Self::LoggedIn(Authenticated::Session(Box::new(session))),
            Err((e, client)) => Self::Refused(e, Box::new(client)),
        }
    }
}

enum Authenticated {
    Session(Box<async_imap::Session<Tls>>),
    Client(Box<async_imap::Client<Tls>>),
}

impl Authenticated {
    async fn logout(self) {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, async {
            match self {
                Self::Session(mut s) => s.logout().await,
                Self::Client(mut c) => c.run_command_and_check_ok("LOGOUT", None).await,
            }
        })
        .await;
    }
}

/// RFC 5530 codes that mean "not now" rather than "wrong password". imap-proto does not
/// parse them, so they stay in the text of the answer.
fn is_temporary(text: &str) -> bool {
    ["[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]"]
        .iter()
        .any(|code| text.contains(code))
}

/// What a NO to a login means: a wrong password only with `[AUTHENTICATIONFAILED]` or
/// no reason code at all; "not now" codes are no answer; any other code (an expired
/// password, `[CONTACTADMIN]`, `[PRIVACYREQUIRED]`...) is a refusal for that reason.
fn classify_no(text: &str) -> Verdict {
    let info = server_text(text);
    if is_temporary(&info) {
        return Verdict::NoAnswer(ImapProblem::Temporary(info));
    }
    match info.trim_start().strip_prefix('[') {
        Some(rest) if !rest.starts_with("AUTHENTICATIONFAILED]") => Verdict::RefusedOther(info),
        _ => Verdict::Rejected,
    }
}

/// The human part of a NO answer as async-imap reports it (`code: .., info: Some(..)`),
/// made safe to show.
fn server_text(text: &str) -> String {
    let info = text
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(text, |(info, _)| info);
    printable(info)
}

/// Server-sent text as it may be shown or logged: control characters replaced, cut to
/// 200 characters.
fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn protocol_problem(error: &ImapError) -> ImapProblem {
    match error {
        ImapError::ConnectionLost => {
            ImapProblem::Protocol("the server closed the connection".into())
        }
        ImapError::Io(e) => ImapProblem::Protocol(printable(&e.to_string())),
        ImapError::Bad(text) => {
            ImapProblem::Protocol(format!("the server answered BAD: {}", server_text(text)))
        }
        ImapError::No(text) => {
            ImapProblem::Protocol(format!("the server answered NO: {}", server_text(text)))
        }
        other => ImapProblem::Protocol(printable(&other.to_string())),
    }
}

/// SASL PLAIN: `\0user\0password`, sent once the server asks.
struct PlainAuth {
    message: Zeroizing<Vec<u8>>,
}

impl PlainAuth {
    fn new(user: &str, password: &str) -> Self {
        let mut message = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 2));
        message.push(0);
        message.extend_from_slice(user.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        Self { message }
    }
}

impl async_imap::Authenticator for PlainAuth {
    type Response = Zeroizing<Vec<u8>>;

    fn process(&mut self, _challenge: &[u8]) -> Self::Response {
        self.message.clone()
    }
}

async fn with_timeout<T>(
    limit: Duration,
    stage: &'static str,
    f: impl Future<Output = Result<T, ImapProblem>>,
) -> Result<T, ImapProblem> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or(Err(ImapProblem::Timeout(stage)))
}

/// Connects, encrypts, reads the greeting and the capabilities.
async fn connect(
    settings: &ImapSettings,
    report: &mut ConnectionReport,
) -> Result<Connected, ImapProblem> {
    let server = &settings.server;
    let addrs = with_timeout(CONNECT_TIMEOUT, "looking up its name", async {
        tokio::net::lookup_host((server.host.as_str(), server.port))
            .await
            .map(Iterator::collect::<Vec<_>>)
            .map_err(|e| ImapProblem::Resolve(e.to_string()))
    })
    .await?;
    // Each address gets its own timeout, so that one that never answers (often IPv6)
    // does not use up the time of the next.
    let mut last = None;
    let mut connected = None;
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                connected = Some(s);
                break;
            }
            Ok(Err(e)) => last = Some(format!("{addr}: {e}")),
            Err(_) => last = Some(format!("{addr}: no answer within {CONNECT_TIMEOUT:?}")),
        }
    }
    let tcp = connected.ok_or_else(|| {
        ImapProblem::Connect(last.unwrap_or_else(|| format!("{} has no address", server.host)))
    })?;
    report.address = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);

    let tcp = match server.security {
        Security::ImplicitTls => tcp,
        Security::StartTls => {
            let mut client = async_imap::Client::new(tcp);
            read_greeting(&mut client).await?;
            with_timeout(COMMAND_TIMEOUT, "starting TLS", async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match e {
                        ImapError::No(_) | ImapError::Bad(_) => ImapProblem::NoStartTls,
                        other => protocol_problem(&other),
                    })
            })
            .await?;
            // Anything the server (or someone in between) sent after its OK is dropped
            // with the client's buffer, as STARTTLS requires.
            client.into_inner()
        }
    };

    let (connector, verifier) = tls_connector(&settings.trust)?;
    let name = ServerName::try_from(server.host.clone())
        .map_err(|e| ImapProblem::Tls(format!("{:?} is not a valid TLS name: {e}", server.host)))?;
    let handshake = tokio::time::timeout(TLS_TIMEOUT, connector.connect(name, tcp)).await;
    report.certificate_sha256 = verifier.seen();
    let tls = match handshake {
        Err(_) => return Err(ImapProblem::Timeout("the TLS handshake")),
        Ok(Err(e)) => return Err(tls_problem(&e, &server.host)),
        Ok(Ok(tls)) => tls,
    };
    report.tls_version = tls
        .get_ref()
        .1
        .protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."));
    report.trusted_by = Some(settings.trust.describe());

    let mut client = async_imap::Client::new(tls);
    if server.security == Security::ImplicitTls {
        read_greeting(&mut client).await?;
    }
    let capabilities = capabilities(&mut client).await?;
    report.capabilities = capabilities.clone();
    Ok(Connected {
        client,
        capabilities,
    })
}

async fn read_greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), ImapProblem>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    with_timeout(COMMAND_TIMEOUT, "waiting for the greeting", async {
        let greeting = client
            .read_response()
            .await
            .map_err(|e| ImapProblem::Protocol(e.to_string()))?
            .ok_or_else(|| {
                ImapProblem::Protocol("the server closed the connection before greeting".into())
            })?;
        match greeting.parsed() {
            Response::Data {
                status: Status::Ok, ..
            } => Ok(()),
            Response::Data {
                status: Status::PreAuth,
                ..
            } => Err(ImapProblem::Greeting(
                "it logged in without a password (PREAUTH), so it cannot check one".into(),
            )),
            Response::Data { status, outcome } => Err(ImapProblem::Greeting(format!(
                "{status:?} {}",
                outcome.information.as_deref().unwrap_or("")
            ))),
            _ => Err(ImapProblem::Protocol(
                "the greeting was not an IMAP greeting".into(),
            )),
        }
    })
    .await
}

async fn capabilities<T>(client: &mut async_imap::Client<T>) -> Result<Vec<String>, ImapProblem>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    let (tx, rx) = async_channel::unbounded();
    with_timeout(COMMAND_TIMEOUT, "asking for capabilities", async {
        client
            .run_command_and_check_ok("CAPABILITY", Some(tx))
            .await
            .map_err(|e| protocol_problem(&e))
    })
    .await?;
    let mut found = Vec::new();
    while let Ok(response) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = response
            && let Response::Capabilities(list) = data.parsed()
        {
            for c in list {
                let name = match c {
                    Capability::Imap4rev1 => "IMAP4REV1".to_owned(),
                    Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
                    Capability::Atom(a) => a.to_ascii_uppercase(),
                };
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
    }
    Ok(found)
}

fn tls_problem(error: &std::io::Error, host: &str) -> ImapProblem {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return ImapProblem::Tls(error.to_string());
    };
    match tls {
        rustls::Error::InvalidCertificate(e) => ImapProblem::Certificate(match e {
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "it is made out to {} rather than to {host}",
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|p| plain_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::NotValidForName => {
                format!("it is made out to another name than {host}")
            }
            CertificateError::UnknownIssuer => "it is not signed by an authority passdrop trusts \
                (it may be self-signed, or issued by the web host's own authority)"
                .to_owned(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (check this machine's clock)".to_owned()
            }
            CertificateError::ApplicationVerificationFailure => {
                "it is not the pinned certificate (its SHA-256 fingerprint differs)".to_owned()
            }
            CertificateError::Other(e) if format!("{e:?}").contains("CaUsedAsEndEntity") => {
                "it is self-signed (an authority certificate used as the server's own)".to_owned()
            }
            other => format!("{other:?}"),
        }),
        other => ImapProblem::Tls(other.to_string()),
    }
}

/// `DnsName("mail.example.com")` (rustls's wording) as `mail.example.com`.
fn plain_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_connector(trust: &CertTrust) -> Result<(TlsConnector, Arc<RecordingVerifier>), ImapProblem> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let check = match trust {
        CertTrust::Pin(pin) => Check::Pin(*pin),
        CertTrust::PublicAuthorities | CertTrust::CaFile(_) => {
            let roots = match trust {
                CertTrust::CaFile(pem) => root_store_from_pem(pem).map_err(ImapProblem::Tls)?,
                _ => RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
            };
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| ImapProblem::Tls(e.to_string()))?;
            Check::WebPki(verifier)
        }
    };
    let verifier = Arc::new(RecordingVerifier {
        check,
        algorithms,
        seen: Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapProblem::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    Ok((TlsConnector::from(Arc::new(config)), verifier))
}

#[derive(Debug)]
enum Check {
    WebPki(Arc<WebPkiServerVerifier>),
    Pin([u8; 32]),
}

/// Verifies the server certificate (by the public or given authorities, or by its pinned
/// fingerprint) and remembers the fingerprint it saw, so that the admin can be shown it.
/// Handshake signatures are always verified against the certificate's key.
#[derive(Debug)]
struct RecordingVerifier {
    check: Check,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Option<[u8; 32]>>,
}

impl RecordingVerifier {
    fn seen(&self) -> Option<[u8; 32]> {
        self.seen.lock().ok().and_then(|g| *g)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        match &self.check {
            Check::WebPki(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Check::Pin(pin) => {
                if bool::from(subtle::ConstantTimeEq::ct_eq(&fingerprint[..], &pin[..])) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// How many password checks may talk to IMAP servers at once, so that a burst of
/// submissions does not look like an attack to the old server.
pub const MAX_CONCURRENT_CHECKS: usize = 8;

/// How long a check waits for a free slot before the user is asked to try again.
const SLOT_WAIT: Duration = Duration::from_secs(5);

/// Admits password checks: one at a time per link (so that parallel requests cannot
/// guess more passwords than the per-link cap allows before each is counted) and at
/// most `MAX_CONCURRENT_CHECKS` overall.
#[derive(Debug)]
pub struct CheckGate {
    in_flight: Mutex<std::collections::HashSet<[u8; 32]>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for CheckGate {
    fn default() -> Self {
        Self {
            in_flight: Mutex::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CHECKS)),
        }
    }
}

/// Whether a check may run now.
#[derive(Debug)]
pub enum Entry {
    /// Yes; the link is free again when the pass is dropped.
    Admitted(CheckPass),
    /// A check for the same link is already running.
    AlreadyChecking,
    /// Every slot stayed busy for `SLOT_WAIT`.
    Busy,
}

/// Permission to run one check; the link is free again when it is dropped.
#[derive(Debug)]
pub struct CheckPass {
    gate: Arc<CheckGate>,
    key: [u8; 32],
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl CheckGate {
    /// Claims `key` (a link's token hash) and waits (a few seconds at most) for a slot.
    pub async fn enter(self: &Arc<Self>, key: [u8; 32]) -> Entry {
        {
            let Ok(mut set) = self.in_flight.lock() else {
                return Entry::Busy;
            };
            if !set.insert(key) {
                return Entry::AlreadyChecking;
            }
        }
        let release = Release {
            gate: Arc::clone(self),
            key,
        };
        let slot = tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned()).await;
        let Ok(Ok(slot)) = slot else {
            return Entry::Busy;
        };
        std::mem::forget(release);
        Entry::Admitted(CheckPass {
            gate: Arc::clone(self),
            key,
            _slot: slot,
        })
    }

    fn release(&self, key: &[u8; 32]) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(key);
        }
    }
}

/// Frees the link if the wait for a slot ends without one (or the request is dropped).
struct Release {
    gate: Arc<CheckGate>,
    key: [u8; 32],
}

impl Drop for Release {
    fn drop(&mut self) {
        self.gate.release(&self.key);
    }
}

impl Drop for CheckPass {
    fn drop(&mut self) {
        self.gate.release(&self.key);
    }
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
    async fn the_gate_admits_one_check_per_link() {
        let gate = Arc::new(CheckGate::default());
        let Entry::Admitted(a) = gate.enter([1; 32]).await else {
            panic!()
        };
        assert!(matches!(gate.enter([1; 32]).await, Entry::AlreadyChecking));
        let Entry::Admitted(b) = gate.enter([2; 32]).await else {
            panic!()
        };
        drop(a);
        assert!(matches!(gate.enter([1; 32]).await, Entry::Admitted(_)));
        drop(b);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_gate_says_busy_and_frees_the_link() {
        let gate = Arc::new(CheckGate::default());
        let mut passes = Vec::new();
        for i in 0..MAX_CONCURRENT_CHECKS {
            let Entry::Admitted(p) = gate.enter([i as u8; 32]).await else {
                panic!()
            };
            passes.push(p);
        }
        assert!(matches!(gate.enter([99; 32]).await, Entry::Busy));
        drop(passes.pop());
        assert!(matches!(gate.enter([99; 32]).await, Entry::Admitted(_)));
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
        assert_eq!(printable("a\u{7}b"), "a b");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
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
