//! The options several commands share, each declared once and `#[command(flatten)]`ed
//! into the commands that take it, so its name, variable, default and help cannot drift
//! apart. Where a command words an option's help for its own context, it says so with
//! `#[command(mut_arg(ID, |a| a.help(...)))]` next to the flatten.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

use super::Failure;
use super::io::read_passphrase;
use crate::batch::{self, BatchError};
use crate::config;
use crate::storage::{Batch, Store};

use crate::config::DEFAULT_SEND_RETRY_WAIT_TEXT;

/// The batch a command works on.
#[derive(Debug, Args)]
pub struct BatchArg {
    /// Batch id or name.
    pub batch: String,
}

impl BatchArg {
    /// Finds the batch; a purged one is reported as such.
    pub(super) async fn find(&self, store: &Store) -> Result<Batch, BatchError> {
        batch::find(store, &self.batch).await
    }
}

/// Where the admin passphrase comes from, for a command that needs it.
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from this file instead of PASSDROP_PASSPHRASE or a prompt.
    #[arg(long, env = "PASSDROP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `--passphrase-file`'s help where only a saved relay's password needs the passphrase.
pub(super) const RELAY_PASSPHRASE_HELP: &str =
    "For a relay saved with a password: read the passphrase from this file";

impl PassphraseArgs {
    /// Reads the passphrase from the file, `PASSDROP_PASSPHRASE`, or a terminal prompt
    /// (asked twice when `confirm`).
    pub(super) fn read(&self, confirm: bool) -> Result<SecretString, Failure> {
        read_passphrase(self.passphrase_file.as_deref(), confirm)
    }
}

/// Where a command writes the links it issues.
#[derive(Debug, Args)]
pub struct LinksOutArg {
    /// Write the links CSV here (created 0600, never overwritten) instead of stdout.
    #[arg(long, env = "PASSDROP_LINKS_OUT")]
    pub links_out: Option<PathBuf>,
    /// Start the links CSV with a UTF-8 byte order mark, so Excel shows accented names
    /// right (never used for the Microsoft 365 export).
    #[arg(long, env = "PASSDROP_EXCEL_BOM")]
    pub excel_bom: bool,
}

/// The SMTP relay's settings.
#[derive(Debug, Args)]
pub struct SmtpArgs {
    /// Relay host name.
    #[arg(long, env = "PASSDROP_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Relay port [default: 465 for tls, 587 for starttls, 25 for none].
    #[arg(long, env = "PASSDROP_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `tls` (implicit), `starttls` (required), or `none` (a relay on this machine only).
    #[arg(long, env = "PASSDROP_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    /// Login name, if the relay wants one (the password comes from PASSDROP_SMTP_PASSWORD
    /// or --smtp-password-file, never from a flag).
    #[arg(long, env = "PASSDROP_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// File holding the SMTP password.
    #[arg(long, env = "PASSDROP_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// Sender address, e.g. "IT team <it@example.org>".
    #[arg(long, env = "PASSDROP_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Where replies go, if not to the sender.
    #[arg(long, env = "PASSDROP_SMTP_REPLY_TO")]
    pub smtp_reply_to: Option<String>,
    /// Also trust this authority (PEM) for the relay's certificate.
    #[arg(long, env = "PASSDROP_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
}

/// Where and how passwords are checked against the old IMAP server.
#[derive(Debug, Args)]
pub struct ImapArgs {
    /// Check passwords against the old IMAP server (imaps://host[:993] or imap://host[:143]).
    #[arg(long, env = "PASSDROP_VERIFY_IMAP")]
    pub verify_imap: Option<String>,
    /// Trust the IMAP server's certificate if one of these authorities (PEM) issued it.
    #[arg(long, env = "PASSDROP_IMAP_CA_FILE", requires = "verify_imap")]
    pub imap_ca_file: Option<PathBuf>,
    /// Trust exactly the IMAP server certificate with this SHA-256 fingerprint (shown by
    /// `batch check-imap`), whatever name or issuer it has.
    #[arg(
        long,
        env = "PASSDROP_IMAP_CERT_SHA256",
        requires = "verify_imap",
        conflicts_with = "imap_ca_file"
    )]
    pub imap_cert_sha256: Option<String>,
    /// When the IMAP server cannot be reached: `retry` (ask the user to try again later)
    /// or `accept` (accept the password, marked not verified).
    #[arg(long, env = "PASSDROP_IMAP_WHEN_UNREACHABLE", default_value = "retry")]
    pub imap_when_unreachable: String,
}

/// How fast a sending run goes, and how it waits after a temporary failure.
#[derive(Debug, Args)]
pub struct SendingArgs {
    /// Messages per second at most.
    #[arg(long, env = "PASSDROP_SEND_RATE", default_value_t = config::DEFAULT_SEND_RATE)]
    pub send_rate: f64,
    /// Wait this long before retrying a temporary failure (doubling each time; 4 tries).
    #[arg(long, env = "PASSDROP_SEND_RETRY_WAIT", default_value = DEFAULT_SEND_RETRY_WAIT_TEXT)]
    pub send_retry_wait: String,
}

impl SendingArgs {
    /// Checks `--send-rate` and reads `--send-retry-wait`.
    pub(super) fn retry_wait(&self) -> Result<Duration, Failure> {
        if !(self.send_rate > 0.0 && self.send_rate <= 100.0) {
            return Err(Failure::Usage(
                "--send-rate must be more than 0 and at most 100 messages per second".into(),
            ));
        }
        config::parse_duration(&self.send_retry_wait)
            .map_err(|e| Failure::Usage(format!("--send-retry-wait: {e}")))
    }
}

/// How the server sits behind a reverse proxy, and where it serves metrics.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Trust the rightmost X-Forwarded-For entry (X-Real-IP only when there is no
    /// X-Forwarded-For; an unreadable header means the proxy's address) for the client IP.
    /// Only behind a reverse proxy that sets them; otherwise clients could pick their own IP.
    #[arg(long, env = "PASSDROP_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Serve Prometheus metrics (`GET /metrics`: counts and latencies only) on this
    /// separate address, e.g. 127.0.0.1:9180. Off when not given.
    #[arg(long, env = "PASSDROP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_wait_default_is_the_servers() {
        assert_eq!(
            config::parse_duration(DEFAULT_SEND_RETRY_WAIT_TEXT),
            Ok(config::DEFAULT_SEND_RETRY_WAIT)
        );
    }
}
