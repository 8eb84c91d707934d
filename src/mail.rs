//! Sending the links by email through the organisation's SMTP relay (lettre over
//! rustls): the settings, the message, and one delivery with retries.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};

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

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Anything but a "try later" (4xx) answer: a refusal, or a connection, TLS or
    /// login problem, which a retry would not fix, or after which the message may have
    /// arrived (so it is not sent again).
    pub permanent: bool,
    /// The relay's answer or the problem, for the admin.
    pub reason: String,
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
                    "--smtp-security none sends links unencrypted, so it is only allowed for a \
                     relay on this machine, not {}",
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
                .timeout(Some(Duration::from_secs(30)));
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
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the relay did not answer as an SMTP server".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends one message; on success returns the relay's answer.
    pub async fn send(&self, message: Message) -> Result<String, SendFailure> {
        let transport = self.transport().map_err(|reason| SendFailure {
            permanent: true,
            reason,
        })?;
        match transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err(SendFailure {
                permanent: !e.is_transient(),
                reason: e.to_string(),
            }),
        }
    }

    /// Sends with up to `tries` attempts, waiting longer after each temporary failure
    /// (`backoff`, then twice that, ...). A permanent refusal is not retried.
    pub async fn send_with_retries(
        &self,
        message: &Message,
        tries: u32,
        backoff: Duration,
    ) -> (u32, Result<String, SendFailure>) {
        let mut wait = backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send(message.clone()).await;
            match result {
                Err(ref f) if !f.permanent && attempt < tries => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return (attempt, other),
            }
        }
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
        let mut b = Message::builder().from(self.from.clone()).to(to);
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        b
    }

    /// The message that carries one user's link: plain text and simple HTML.
    pub fn link_message(&self, to: Mailbox, fields: &LinkFields<'_>) -> Result<Message, String> {
        let (subject, text, html) = default_template(fields);
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

/// The default message: what is asked, why, until when, and that IT never asks for a
/// password any other way.
pub fn default_template(f: &LinkFields<'_>) -> (String, String, String) {
    let greeting = f
        .name
        .map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"));
    let subject = format!("Action needed: your email {} is moving", f.mailbox);
    let text = format!(
        "{greeting}\n\n\
         {org} is moving your mailbox {mailbox} to Microsoft 365. To copy the mail you \
         already have, the move needs your current email password, once.\n\n\
         Open this link and type it there (the link works once, until {expires}):\n\n\
         {link}\n\n\
         It is encrypted the moment you send it, used only to copy your mail, and deleted \
         after the move.\n\n\
         {org} will never ask for your password by email, chat or phone: only through this \
         link. If you did not expect this message, do not open the link; ask your IT \
         contact.\n",
        org = f.org,
        mailbox = f.mailbox,
        expires = f.expires,
        link = f.link,
    );
    let html = maud::html! {
        p { (greeting) }
        p { (f.org) " is moving your mailbox " strong { (f.mailbox) } " to Microsoft 365. To copy \
            the mail you already have, the move needs your " em { "current" } " email password, once." }
        p { "Open this link and type it there (the link works once, until " (f.expires) "):" }
        p { a href=(f.link) { (f.link) } }
        p { "It is encrypted the moment you send it, used only to copy your mail, and deleted after the move." }
        p { strong { (f.org) " will never ask for your password by email, chat or phone" } ": only \
            through this link. If you did not expect this message, do not open the link; ask your IT contact." }
    }
    .into_string();
    (subject, text, html)
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
        let (subject, text, html) = default_template(&f);
        assert!(subject.contains("ann@example.org"));
        assert!(text.contains("https://pass.example.org/s/TOKEN"));
        assert!(text.contains("will never ask for your password"));
        assert!(text.contains("until 2026-12-03 09:00 UTC"));
        assert!(html.contains("Ann &lt;Lee&gt;"), "{html}");
        assert!(html.contains("Example &amp; Co"), "{html}");
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
