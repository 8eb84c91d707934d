//! The organisation's SMTP relay: its settings (from options or saved in the console),
//! a connection test, and handing one message over with a clear outcome.

use super::*;

/// The longest a connection test may take (it runs inside a console request).
pub(super) const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest one message may take, connection included.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(90);

/// Each step of the conversation (connect, each command).
pub(super) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

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
                "“{other}” is not an SMTP security mode: use tls (port 465), starttls (587) or \
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
        Some(stored) => {
            // With the passphrase at hand, the saved relay must be the one it signed.
            if let Some(admin) = admin {
                let public = crate::batch::settings_signer(admin)
                    .map_err(|e| e.to_string())?
                    .public_key();
                crate::batch::verify_relay(&public, &stored).map_err(|e| {
                    tracing::error!(problem = %e, "the saved SMTP relay failed its signature check; refused");
                    e.to_string()
                })?;
            }
            SmtpSettings::from_stored(&stored, admin).map(Some)
        }
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
        let from = super::parse_mailbox("From", f.from)?;
        let reply_to = match f.reply_to.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(super::parse_mailbox("Reply-To", r)?),
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
            sig: None,
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

    /// A plain-text message to the admin (`outbox::notify`): never a link or a password.
    pub fn plain_message(
        &self,
        to: Mailbox,
        subject: &str,
        text: String,
    ) -> Result<Message, String> {
        self.envelope(to)
            .subject(subject)
            .singlepart(SinglePart::plain(text))
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
