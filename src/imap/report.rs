//! Outcomes in plain words: what a connection test or a password check found, and the
//! problems an admin or a user is told about.

use super::*;

/// Why the server could not be asked. Every message is plain words for an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapProblem {
    /// The host name does not resolve.
    Resolve { host: String },
    /// No TCP connection: every address refused (`refused`) or some never answered.
    Connect {
        host: String,
        port: u16,
        refused: bool,
    },
    /// A step took too long.
    Timeout(&'static str),
    /// The certificate was refused.
    Certificate(String),
    /// TLS failed for another reason.
    Tls(String),
    /// `imap://` but the server will not start TLS.
    NoStartTls,
    /// The server refused the connection or greeted oddly. The words are passdrop's,
    /// never the server's.
    Greeting(String),
    /// Something answered that does not speak IMAP. What it sent is never shown, so that
    /// a connection test cannot be used to read other services.
    NotImap,
    /// The server offers no login passdrop may use.
    NoLogin,
    /// The server said it cannot check passwords now.
    Temporary(String),
    /// The server broke the protocol or closed the connection. The words are passdrop's,
    /// never the server's.
    Protocol(String),
}

impl fmt::Display for ImapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolve { host } => write!(
                f,
                "the name {host} could not be found: check the server name for typos \
                 (it is usually the one in your users' mail apps, e.g. mail.example.org)"
            ),
            Self::Connect {
                host,
                port,
                refused: true,
            } => write!(
                f,
                "nothing answers on {host} port {port}: check the server name and the port \
                 (993 for imaps://, 143 for imap://)"
            ),
            Self::Connect {
                host,
                port,
                refused: false,
            } => write!(
                f,
                "{host} port {port} did not answer: a firewall may be dropping connections \
                 from this machine, or the name points somewhere else; check the name and \
                 the port, and ask the host to allow this machine's address"
            ),
            Self::Timeout(stage) => write!(
                f,
                "the server did not answer in time ({stage}); it may be overloaded or \
                 slowing down logins from this machine: try again in a few minutes"
            ),
            Self::Certificate(why) => write!(f, "the server's certificate is not trusted: {why}"),
            Self::Tls(e) => write!(f, "the encrypted connection failed: {e}"),
            Self::NoStartTls => f.write_str(
                "the server does not offer STARTTLS on this port, and passdrop never sends a \
                 password unencrypted; use imaps:// (port 993) if the server has it",
            ),
            Self::Greeting(text) => write!(f, "the server refused the connection: {text}"),
            Self::NotImap => f.write_str(
                "not an IMAP server: something answered on this port, but not in IMAP (check \
                 the host and port)",
            ),
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
    /// The server refused the login because this account needs an application password
    /// (Gmail's `[ALERT] Application-specific password required`, "Please log in via
    /// your web browser", other hosts' "app password" wording): its words, shortened.
    /// It says nothing about whether the password typed was right, and never counts
    /// toward the link's lock.
    AppPasswordRequired(String),
    /// The server could not be asked; the password was never sent.
    CouldNotCheck(ImapProblem),
    /// The password was sent but no clear answer came back (a timeout, a lost
    /// connection, BYE, "try later"). It never counts as a try: a server slowing down
    /// passdrop's one address after other users' typos must not lock this user out.
    /// (A person cannot cut the check short either: it runs to its end in a task of
    /// its own, paced per server.)
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
    /// TLS as Microsoft 365 will see it (TLS 1.2 or later, public authorities only),
    /// when the server could be reached that far.
    pub public_tls: Option<microsoft_view::PublicTls>,
    /// What the recent password checks against this server suggest, when they look
    /// like a penalty or a ban on passdrop's address (filled in by the caller that
    /// knows: the running server's gate, or the audit trail).
    pub throttling: Option<String>,
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
        lines.extend(microsoft_view::lines(self));
        lines
    }
}

/// RFC 5530 codes that mean "not now" rather than "wrong password". imap-proto does not
/// parse them, so they stay in the text of the answer.
pub(super) fn is_temporary(text: &str) -> bool {
    ["[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]"]
        .iter()
        .any(|code| text.contains(code))
}

/// Whether a refusal says the account needs an application password (or a sign-in in
/// a browser first) rather than that the password is wrong. Seen in the wild: Gmail and
/// Google Workspace `[ALERT] Application-specific password required: https://support.
/// google.com/accounts/answer/185833 (Failure)` and `[ALERT] Please log in via your web
/// browser: https://support.google.com/mail/accounts/answer/78754 (Failure)`; other
/// hosts with two-step sign-in say "app password" or "application password".
pub(super) fn needs_app_password(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "application-specific password",
        "application specific password",
        "app-specific password",
        "app specific password",
        "app password",
        "application password",
        "log in via your web browser",
        "web login required",
    ]
    .iter()
    .any(|words| lower.contains(words))
}

/// What a NO to a login means: a wrong password only with `[AUTHENTICATIONFAILED]` or
/// no reason code at all; "not now" codes are no answer; any other code (an expired
/// password, `[CONTACTADMIN]`, `[PRIVACYREQUIRED]`...) is a refusal for that reason.
pub(super) fn classify_no(text: &str) -> Verdict {
    let info = server_text(text);
    // A wrong password is a wrong password, whatever advice follows the code (a server
    // may mention app passwords in every refusal): it counts toward the lock.
    if info.trim_start().starts_with("[AUTHENTICATIONFAILED]") {
        return Verdict::Rejected;
    }
    if needs_app_password(&info) {
        return Verdict::AppPasswordRequired(info);
    }
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
pub(super) fn server_text(text: &str) -> String {
    let info = text
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(text, |(info, _)| info);
    printable(info)
}

/// Server-sent text as it may be shown or logged: control characters replaced, cut to
/// 200 characters.
pub(super) fn printable(text: &str) -> String {
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

pub(super) fn protocol_problem(error: &ImapError) -> ImapProblem {
    // Nothing the server sent goes into the problem: a connection test must not print
    // another service's answer (async-imap puts the unparsed bytes into its errors).
    match error {
        ImapError::ConnectionLost => {
            ImapProblem::Protocol("the server closed the connection".into())
        }
        ImapError::Io(e) => io_problem(e),
        ImapError::Bad(_) => ImapProblem::Protocol("the server answered BAD".into()),
        ImapError::No(_) => ImapProblem::Protocol("the server answered NO".into()),
        ImapError::Parse(_) => ImapProblem::NotImap,
        _ => ImapProblem::Protocol("the server's answer was not understood".into()),
    }
}

/// A failed read in plain words, without the bytes read: async-imap reports an answer it
/// cannot parse as an `Other` error quoting it.
pub(super) fn io_problem(error: &std::io::Error) -> ImapProblem {
    match error.kind() {
        std::io::ErrorKind::Other => ImapProblem::NotImap,
        std::io::ErrorKind::UnexpectedEof => {
            ImapProblem::Protocol("the server closed the connection".into())
        }
        kind => ImapProblem::Protocol(format!("the connection failed ({kind})")),
    }
}
