//! Sending the links by email through the organisation's SMTP relay (lettre over
//! rustls): the settings, the message, and one delivery with retries.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};

/// The longest a connection test may take (it runs inside a console request).
const TEST_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest one message may take, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(90);
/// Each step of the conversation (connect, each command).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the relay is encrypted. There is no plaintext mode except
/// `None`, which is for a relay on the same machine (127.0.0.1) only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// STARTTLS, required (port 587 or 25).
    StartTls,
    /// No encryption: only for a relay on loopback.
    None,
}

impl SmtpSecurity {
    /// The name `parse` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::StartTls => "starttls",
            Self::None => "none",
        }
    }

    /// The usual port for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::StartTls => 587,
            Self::None => 25,
        }
    }

    /// Parses `tls`, `starttls` or `none`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "tls" => Ok(Self::Tls),
            "starttls" => Ok(Self::StartTls),
            "none" => Ok(Self::None),
            other => Err(format!(
                "{other:?} is not an SMTP security mode: use tls (port 465), starttls (587) or \
                 none (a relay on this machine only)"
            )),
        }
    }
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Relay host.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Encryption.
    pub security: SmtpSecurity,
    /// Login, if the relay wants one.
    pub credentials: Option<(String, SecretString)>,
    /// The sender.
    pub from: Mailbox,
    /// Where replies go, if not to the sender.
    pub reply_to: Option<Mailbox>,
    /// Extra authority (PEM) trusted for the relay's certificate.
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// What a failed send means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Not delivered, and worth trying later: a "try later" (4xx) answer, or no
    /// connection to the relay.
    Temporary,
    /// Not delivered, and a retry would not help: a refusal (5xx), a TLS or login
    /// problem, a bad message.
    Refused,
    /// No clear answer once the conversation had started (a timeout, a lost
    /// connection, a garbled reply): the message may have arrived.
    Unknown,
}

/// A relay's settings as text, before they are checked.
#[derive(Debug)]
pub struct RelayFields<'a> {
    /// Host.
    pub host: &'a str,
    /// Port, if not the mode's usual one.
    pub port: Option<u16>,
    /// `tls`, `starttls` or `none`.
    pub security: &'a str,
    /// Login.
    pub credentials: Option<(String, SecretString)>,
    /// Sender.
    pub from: &'a str,
    /// Reply-To.
    pub reply_to: Option<&'a str>,
    /// Extra authority (PEM).
    pub ca_pem: Option<String>,
}

/// The relay to use: the configured one (options or environment), else the one saved
/// in the console, its password opened with `admin`. `None` when neither is set.
pub async fn effective_relay(
    store: &crate::storage::Store,
    configured: Option<&SmtpSettings>,
    admin: Option<&crate::crypto::AdminKey>,
) -> Result<Option<SmtpSettings>, String> {
    if let Some(s) = configured {
        return Ok(Some(s.clone()));
    }
    match store.smtp_settings().await.map_err(|e| e.to_string())? {
        Some(stored) => SmtpSettings::from_stored(&stored, admin).map(Some),
        None => Ok(None),
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// What it means for the message.
    pub kind: FailureKind,
    /// The relay's answer or the problem, for the admin.
    pub reason: String,
}

impl SendFailure {
    fn of(e: &lettre::transport::smtp::Error) -> Self {
        let text = e.to_string();
        let kind = if e.is_transient() || text.starts_with("Connection error") {
            FailureKind::Temporary
        } else if e.is_permanent() || e.is_tls() || e.is_client() {
            FailureKind::Refused
        } else {
            FailureKind::Unknown
        };
        Self { kind, reason: text }
    }
}

impl SmtpSettings {
    /// Checks the settings that can be checked without connecting.
    pub fn check(&self) -> Result<(), String> {
        if self.security == SmtpSecurity::None {
            let loopback = self.host == "localhost"
                || self
                    .host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(format!(
                    "no encryption (security \"none\") would send the links in the clear, so it \
                     is only allowed for a relay on this machine, not {}",
                    self.host
                ));
            }
            if self.credentials.is_some() {
                return Err("an SMTP password is never sent without encryption".into());
            }
        }
        Ok(())
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        self.check()?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.clone())
                .port(self.port)
                .timeout(Some(STEP_TIMEOUT));
        if self.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.ca_pem {
                let cert = Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("the SMTP CA file: {e}"))?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls.build_rustls().map_err(|e| format!("SMTP TLS: {e}"))?;
            builder = builder.tls(match self.security {
                SmtpSecurity::Tls => Tls::Wrapper(tls),
                _ => Tls::Required(tls),
            });
        }
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }

    /// Connects, encrypts and greets the relay (logging in if set up), sending nothing.
    pub async fn test_connection(&self) -> Result<(), String> {
        let transport = self.transport()?;
        match tokio::time::timeout(TEST_TIMEOUT, transport.test_connection()).await {
            Err(_) => Err(format!(
                "the relay did not finish greeting, encrypting and logging in within {} seconds",
                TEST_TIMEOUT.as_secs()
            )),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("the relay did not answer as an SMTP server".into()),
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    /// Sends one message; on success returns the relay's answer.
    pub async fn send(&self, message: Message) -> Result<String, SendFailure> {
        let transport = self.transport().map_err(|reason| SendFailure {
            kind: FailureKind::Refused,
            reason,
        })?;
        let Ok(result) = tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await else {
            // The message may have been accepted: it is not sent again automatically.
            return Err(SendFailure {
                kind: FailureKind::Unknown,
                reason: format!(
                    "the relay did not answer within {} seconds; the message may have arrived",
                    SEND_TIMEOUT.as_secs()
                ),
            });
        };
        match result {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err(SendFailure::of(&e)),
        }
    }

    /// The relay saved in the console. Its password (if any) is opened with `admin`;
    /// without the admin key, settings with a password cannot be used.
    pub fn from_stored(
        stored: &crate::storage::StoredSmtp,
        admin: Option<&crate::crypto::AdminKey>,
    ) -> Result<Self, String> {
        let credentials = match (&stored.username, &stored.password) {
            (Some(user), Some(sealed)) => {
                let admin = admin.ok_or("the saved SMTP password needs the passphrase")?;
                let binding = crate::crypto::SmtpBinding {
                    host: &stored.host,
                    port: stored.port,
                    security: &stored.security,
                    user,
                    ca_pem: stored.ca_pem.as_deref(),
                };
                let password =
                    crate::crypto::open_smtp_password(admin, binding, sealed).map_err(|_| {
                        "the saved SMTP password cannot be opened (saved under another \
                             admin key?): save the relay again"
                            .to_owned()
                    })?;
                Some((user.clone(), password))
            }
            _ => None,
        };
        Self::from_fields(RelayFields {
            host: &stored.host,
            port: Some(stored.port),
            security: &stored.security,
            credentials,
            from: &stored.from,
            reply_to: stored.reply_to.as_deref(),
            ca_pem: stored.ca_pem.clone(),
        })
    }

    /// Settings from their text (the options, the console's form, or the saved row),
    /// checked: the addresses parse, the port defaults to the mode's usual one, and
    /// plaintext is for loopback only.
    pub fn from_fields(f: RelayFields<'_>) -> Result<Self, String> {
        let security = SmtpSecurity::parse(f.security)?;
        let from = f
            .from
            .trim()
            .parse()
            .map_err(|e| format!("From: not an email address ({e})"))?;
        let reply_to = match f.reply_to.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(
                r.parse()
                    .map_err(|e| format!("Reply-To: not an email address ({e})"))?,
            ),
            None => None,
        };
        let settings = Self {
            host: f.host.to_owned(),
            port: f.port.unwrap_or(security.default_port()),
            security,
            credentials: f.credentials,
            from,
            reply_to,
            ca_pem: f.ca_pem,
        };
        settings.check()?;
        Ok(settings)
    }

    /// These settings as saved, the password sealed to the admin public key.
    pub fn to_stored(
        &self,
        admin_public_key: &[u8],
        now: i64,
    ) -> Result<crate::storage::StoredSmtp, String> {
        let (username, password) = match &self.credentials {
            Some((user, password)) => (
                Some(user.clone()),
                Some(
                    crate::crypto::seal_smtp_password(
                        admin_public_key,
                        crate::crypto::SmtpBinding {
                            host: &self.host,
                            port: self.port,
                            security: self.security.as_str(),
                            user,
                            ca_pem: self.ca_pem.as_deref(),
                        },
                        password,
                    )
                    .map_err(|e| e.to_string())?,
                ),
            ),
            None => (None, None),
        };
        Ok(crate::storage::StoredSmtp {
            host: self.host.clone(),
            port: self.port,
            security: self.security.as_str().to_owned(),
            username,
            password,
            from: self.from.to_string(),
            reply_to: self.reply_to.as_ref().map(ToString::to_string),
            ca_pem: self.ca_pem.clone(),
            updated_at: now,
        })
    }

    /// A short test message to `to`.
    pub fn test_message(&self, to: Mailbox) -> Result<Message, String> {
        self.envelope(to)
            .subject("passdrop test message")
            .singlepart(SinglePart::plain(
                "This is a test message from passdrop. If you can read it, passdrop can send \
                 the collection links through this relay.\n"
                    .to_owned(),
            ))
            .map_err(|e| e.to_string())
    }

    fn envelope(&self, to: Mailbox) -> lettre::message::MessageBuilder {
        // A Message-ID (spam filters look for one) in the sender's domain, not this
        // machine's host name; lettre adds the Date.
        let mut b = Message::builder().from(self.from.clone()).to(to);
        if let Ok(random) = crate::crypto::random_bytes::<16>() {
            let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
            b = b.message_id(Some(format!("<{id}@{}>", self.from.email.domain())));
        }
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        b
    }

    /// The message that carries one user's link: plain text and simple HTML.
    pub fn link_message(
        &self,
        to: Mailbox,
        template: &Template,
        fields: &LinkFields<'_>,
    ) -> Result<Message, String> {
        let (subject, text, html) = template.render(fields);
        self.envelope(to)
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| e.to_string())
    }
}

/// What a link message says about its user.
#[derive(Debug, Clone, Copy)]
pub struct LinkFields<'a> {
    /// The user's name, if the roster had one.
    pub name: Option<&'a str>,
    /// Who is asking.
    pub org: &'a str,
    /// The mailbox being moved.
    pub mailbox: &'a str,
    /// The link.
    pub link: &'a str,
    /// When it expires, formatted.
    pub expires: &'a str,
}

/// The default subject.
pub const DEFAULT_SUBJECT: &str = "Action needed: your email {email} is moving";

/// The default body: what is asked, why, until when, and that IT never asks for a
/// password any other way.
pub const DEFAULT_BODY: &str = "Hello {name},

{org} is moving your mailbox {email} to Microsoft 365. To copy the mail you already \
have, the move needs your current email password, once.

Open this link and type it there (the link works once, until {expires}):

{link}

It is encrypted the moment you send it, used only to copy your mail, and deleted after \
the move.

{org} will never ask for your password by email, chat or phone: only through this \
link. If you did not expect this message, do not open the link; ask your IT contact.
";

/// The placeholders a message may use, with what each stands for.
pub const PLACEHOLDERS: [(&str, &str); 5] = [
    (
        "name",
        "the user's DisplayName (their address if the roster has none)",
    ),
    ("email", "the mailbox being moved (EmailAddress)"),
    ("org", "the organisation named for the batch"),
    ("link", "the user's own link (the body must contain it)"),
    ("expires", "when the link expires"),
];

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 8000;

/// Stands for the link while the HTML part is escaped (a private-use character, removed
/// from every value first).
const LINK_MARK: char = '\u{E000}';

/// A batch's message: subject and plain-text body with `{placeholders}`. `{{` and `}}`
/// stand for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    subject: String,
    body: String,
}

impl Default for Template {
    fn default() -> Self {
        Self {
            subject: DEFAULT_SUBJECT.to_owned(),
            body: DEFAULT_BODY.to_owned(),
        }
    }
}

/// Fills `{placeholders}` in `text` with `value(name)`; refuses an unknown or unclosed
/// one, naming it and its line.
fn fill(
    text: &str,
    what: &str,
    mut value: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let line = text[..i].matches('\n').count() + 1;
                let rest = &text[i + 1..];
                let Some(end) = rest.find('}') else {
                    return Err(format!(
                        "{what}, line {line}: a {{ is not closed (write {{{{ for a brace)"
                    ));
                };
                let name = &rest[..end];
                let filled = value(name.trim()).ok_or_else(|| {
                    let known: Vec<String> = PLACEHOLDERS
                        .iter()
                        .map(|(n, _)| format!("{{{n}}}"))
                        .collect();
                    format!(
                        "{what}, line {line}: {{{name}}} is not a placeholder (use {})",
                        known.join(", ")
                    )
                })?;
                out.push_str(&filled);
                // Past the closing brace, by position (the name may hold multi-byte
                // characters).
                let close = i + 1 + end;
                while chars.next_if(|&(j, _)| j <= close).is_some() {}
            }
            '}' => {
                let line = text[..i].matches('\n').count() + 1;
                return Err(format!(
                    "{what}, line {line}: a }} without its {{ (write }}}} for a brace)"
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Template {
    /// Checks a subject and body: known placeholders only, the link in the body (and
    /// not in the subject), one line of subject, sizes within bounds.
    pub fn new(subject: &str, body: &str) -> Result<Self, String> {
        let subject = subject.trim();
        let body = body.replace("\r\n", "\n");
        if subject.is_empty() {
            return Err("the subject is empty".into());
        }
        if subject.contains(['\r', '\n']) {
            return Err("the subject must be one line".into());
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(format!(
                "the subject is longer than {MAX_SUBJECT_CHARS} characters"
            ));
        }
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(format!(
                "the body is longer than {MAX_BODY_CHARS} characters"
            ));
        }
        if let Some(c) = subject
            .chars()
            .chain(body.chars())
            .find(|&c| (c.is_control() && c != '\n' && c != '\t') || c == LINK_MARK)
        {
            return Err(format!(
                "the message contains the control character U+{:04X}",
                u32::from(c)
            ));
        }
        let probe = |name: &str| {
            PLACEHOLDERS
                .iter()
                .any(|(n, _)| *n == name)
                .then(String::new)
        };
        fill(subject, "the subject", probe)?;
        let mut links = 0;
        fill(&body, "the body", |name| {
            links += usize::from(name == "link");
            probe(name)
        })?;
        let mut subject_link = false;
        fill(subject, "the subject", |name| {
            subject_link |= name == "link";
            Some(String::new())
        })?;
        if subject_link {
            return Err("the subject must not contain {link}: previews and lists show it".into());
        }
        if links == 0 {
            return Err("the body must contain {link}, or the user has nothing to open".into());
        }
        Ok(Self {
            subject: subject.to_owned(),
            body,
        })
    }

    /// The template stored for a batch, or the default.
    pub fn of(stored: Option<&(String, String)>) -> Self {
        stored
            .and_then(|(subject, body)| Self::new(subject, body).ok())
            .unwrap_or_default()
    }

    /// Whether this is the default message.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The subject with its placeholders.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The body with its placeholders.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Fills the template for one user: (subject, plain text, HTML).
    pub fn render(&self, f: &LinkFields<'_>) -> (String, String, String) {
        let clean = |v: &str| v.replace(LINK_MARK, "");
        let name = f.name.unwrap_or(f.mailbox);
        let value = |key: &str, link: &str| -> Option<String> {
            Some(match key {
                "name" => clean(name),
                "email" => clean(f.mailbox),
                "org" => clean(f.org),
                "expires" => clean(f.expires),
                "link" => link.to_owned(),
                _ => return None,
            })
        };
        // Checked in `new`: filling cannot fail; fall back to the raw text if it did.
        let subject = fill(&self.subject, "", |k| value(k, ""))
            .unwrap_or_else(|_| self.subject.clone())
            .replace(['\r', '\n'], " ");
        let text = fill(&self.body, "", |k| value(k, f.link)).unwrap_or_else(|_| self.body.clone());
        let marked = fill(&self.body, "", |k| value(k, &LINK_MARK.to_string()))
            .unwrap_or_else(|_| self.body.clone());
        let mut html = String::from("<!DOCTYPE html><html><body>");
        for paragraph in marked
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let escaped = maud::html! { (paragraph) }.into_string();
            let anchor = maud::html! { a href=(f.link) { (f.link) } }.into_string();
            html.push_str("<p>");
            html.push_str(&escaped.replace('\n', "<br>").replace(LINK_MARK, &anchor));
            html.push_str("</p>");
        }
        html.push_str("</body></html>");
        (subject, text, html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_message_explains_and_warns() {
        let f = LinkFields {
            name: Some("Ann <Lee>"),
            org: "Example & Co",
            mailbox: "ann@example.org",
            link: "https://pass.example.org/s/TOKEN",
            expires: "2026-12-03 09:00 UTC",
        };
        let (subject, text, html) = Template::default().render(&f);
        assert_eq!(
            subject,
            "Action needed: your email ann@example.org is moving"
        );
        assert!(
            text.starts_with("Hello Ann <Lee>,\n\nExample & Co is moving"),
            "{text}"
        );
        assert!(text.contains("\nhttps://pass.example.org/s/TOKEN\n"));
        assert!(text.contains("will never ask for your password"));
        assert!(text.contains("until 2026-12-03 09:00 UTC"));
        assert!(html.contains("Ann &lt;Lee&gt;"), "{html}");
        assert!(html.contains("Example &amp; Co"), "{html}");
        assert!(
            html.contains(r#"<p><a href="https://pass.example.org/s/TOKEN">"#),
            "{html}"
        );
    }

    #[test]
    fn a_template_is_checked_and_filled() {
        let f = LinkFields {
            name: None,
            org: "Org",
            mailbox: "bob@example.org",
            link: "https://p/s/T",
            expires: "soon",
        };
        let t = Template::new("Hi {name}", "Go: {link}\r\nBraces: {{x}} line\nbreak").unwrap();
        let (subject, text, html) = t.render(&f);
        assert_eq!(subject, "Hi bob@example.org");
        assert_eq!(text, "Go: https://p/s/T\nBraces: {x} line\nbreak");
        assert!(html.contains("Braces: {x} line<br>break"), "{html}");
        for (subject, body, says) in [
            ("Hi", "no link here", "must contain {link}"),
            ("{link}", "{link}", "must not contain {link}"),
            (
                "Hi",
                "{link} {password}",
                "line 1: {password} is not a placeholder",
            ),
            ("Hi", "{link}\n\n{oops", "line 3: a { is not closed"),
            ("Hi", "{link} }", "without its {"),
            ("", "{link}", "subject is empty"),
            ("Hi", "{link}\u{7}", "control character"),
            ("Hi", "{link} {\u{a0}link\u{e9}} x", "is not a placeholder"),
        ] {
            let e = Template::new(subject, body).unwrap_err();
            assert!(e.contains(says), "{subject:?} {body:?}: {e}");
        }
        assert!(Template::of(None).is_default());
    }

    #[test]
    fn plaintext_smtp_is_for_loopback_only() {
        let settings = |host: &str, security| SmtpSettings {
            host: host.into(),
            port: 25,
            security,
            credentials: None,
            from: "it@example.org".parse().unwrap(),
            reply_to: None,
            ca_pem: None,
        };
        assert!(settings("127.0.0.1", SmtpSecurity::None).check().is_ok());
        assert!(
            settings("smtp.example.org", SmtpSecurity::None)
                .check()
                .is_err()
        );
        assert!(
            settings("smtp.example.org", SmtpSecurity::StartTls)
                .check()
                .is_ok()
        );
        assert!(SmtpSecurity::parse("ssl").is_err());
    }
}
