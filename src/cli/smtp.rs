//! `passdrop smtp test | save | forget`, and the relay every sending command uses: the
//! one the --smtp-* options give, else the one saved in the console.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::args::RELAY_PASSPHRASE_HELP;
use super::{CliResult, Context, Failure, PassphraseArgs, SmtpArgs};
use crate::batch;
use crate::config;
use crate::mail;
use crate::storage::Store;

/// `passdrop smtp ...`
#[derive(Debug, Subcommand)]
pub enum SmtpCommand {
    /// Send a test message and show the relay's answer.
    Test(SmtpTestArgs),
    /// Test the relay given by the --smtp-* options and save it for the console and
    /// `passdrop send` (its password sealed: only the passphrase opens it).
    Save(SmtpSaveArgs),
    /// Forget the saved relay.
    Forget,
}

/// `passdrop smtp save` options.
#[derive(Debug, clap::Args)]
pub struct SmtpSaveArgs {
    /// The relay.
    #[command(flatten)]
    pub smtp: SmtpArgs,
    /// Where the passphrase comes from (it seals the password and signs the relay).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

impl SmtpCommand {
    /// Runs the `smtp` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Test(args) => test_relay(&ctx.store, &args).await,
            Self::Save(args) => save_relay(&ctx.store, &args.smtp, &args.passphrase).await,
            Self::Forget => forget_relay(&ctx.store).await,
        }
    }
}

/// `passdrop smtp test` options.
#[derive(Debug, Args)]
#[command(mut_arg("passphrase_file", |a| a.help(RELAY_PASSPHRASE_HELP)))]
pub struct SmtpTestArgs {
    /// Where to send it.
    #[arg(long)]
    pub to: String,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The SMTP relay's settings.
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

/// Reads the --smtp-* options into relay settings; `None` when no relay is given.
pub(super) fn smtp_settings(args: &SmtpArgs) -> Result<Option<crate::mail::SmtpSettings>, Failure> {
    crate::mail::SmtpSecurity::parse(&args.smtp_security)
        .map_err(|e| Failure::Usage(format!("--smtp-security: {e}")))?;
    let Some(host) = args.smtp_host.as_deref() else {
        let stray = [
            (args.smtp_port.is_some(), "--smtp-port"),
            (args.smtp_user.is_some(), "--smtp-user"),
            (args.smtp_password_file.is_some(), "--smtp-password-file"),
            (args.smtp_from.is_some(), "--smtp-from"),
            (args.smtp_reply_to.is_some(), "--smtp-reply-to"),
            (args.smtp_ca_file.is_some(), "--smtp-ca-file"),
        ];
        if let Some((_, flag)) = stray.iter().find(|(given, _)| *given) {
            return Err(Failure::Usage(format!(
                "{flag} is given without --smtp-host (PASSDROP_SMTP_HOST)"
            )));
        }
        return Ok(None);
    };
    let from = args.smtp_from.as_deref().ok_or_else(|| {
        Failure::Usage("give the sender with --smtp-from (PASSDROP_SMTP_FROM)".into())
    })?;
    let password = match (
        &args.smtp_password_file,
        std::env::var("PASSDROP_SMTP_PASSWORD"),
    ) {
        (Some(path), _) => {
            let raw = Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                format!("could not read the SMTP password file {}", path.display())
            })?);
            let text = raw
                .strip_suffix("\r\n")
                .or_else(|| raw.strip_suffix('\n'))
                .unwrap_or(&raw);
            Some(SecretString::from(text.to_owned()))
        }
        (None, Ok(p)) => Some(SecretString::from(p)),
        (None, Err(_)) => None,
    };
    let credentials = match (&args.smtp_user, password) {
        (Some(user), Some(p)) => Some((user.clone(), p)),
        (Some(_), None) => {
            return Err(Failure::Usage(
                "--smtp-user needs a password: PASSDROP_SMTP_PASSWORD or --smtp-password-file"
                    .into(),
            ));
        }
        (None, _) => None,
    };
    let ca_pem = match &args.smtp_ca_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("could not read the SMTP CA file {}", path.display()))?,
        ),
        None => None,
    };
    crate::mail::SmtpSettings::from_fields(crate::mail::RelayFields {
        host,
        port: args.smtp_port,
        security: &args.smtp_security,
        credentials,
        from,
        reply_to: args.smtp_reply_to.as_deref(),
        ca_pem,
    })
    .map(Some)
    .map_err(|e| Failure::Usage(format!("the --smtp-* settings: {e}")))
}

/// The relay to use: the one given by options or the environment, else the one saved
/// in the console (whose password, if any, needs the unlocked admin key).
pub(super) async fn relay(
    store: &Store,
    configured: Option<crate::mail::SmtpSettings>,
    admin: Option<&crate::crypto::AdminKey>,
) -> Result<crate::mail::SmtpSettings, Failure> {
    crate::mail::effective_relay(store, configured.as_ref(), admin)
        .await
        .map_err(|e| Failure::Error(anyhow::anyhow!(e)))?
        .ok_or_else(|| {
            Failure::Usage(
                "no SMTP relay is set: give --smtp-host and --smtp-from (PASSDROP_SMTP_HOST, \
                 PASSDROP_SMTP_FROM), save one with `passdrop smtp save`, or in the console"
                    .into(),
            )
        })
}

/// The relay to use where the links themselves are not needed: the passphrase is asked
/// only for a saved relay with a password.
pub(super) async fn relay_unlocking(
    store: &Store,
    configured: Option<crate::mail::SmtpSettings>,
    passphrase: &PassphraseArgs,
) -> Result<crate::mail::SmtpSettings, Failure> {
    let saved_password = configured.is_none()
        && store
            .smtp_settings()
            .await?
            .is_some_and(|s| s.password.is_some());
    let admin = if saved_password {
        let passphrase = passphrase.read(false)?;
        Some(batch::unlock_admin(store, passphrase).await?)
    } else {
        None
    };
    relay(store, configured, admin.as_ref()).await
}

/// Sends a test message through the relay and shows its answer.
async fn test_relay(store: &Store, args: &SmtpTestArgs) -> CliResult {
    let settings = relay_unlocking(store, smtp_settings(&args.smtp)?, &args.passphrase).await?;
    let to = mail::parse_mailbox("--to", &args.to).map_err(Failure::Usage)?;
    let message = settings.test_message(to).map_err(Failure::Usage)?;
    match settings.send(message).await {
        Ok(answer) => {
            println!(
                "The relay {}:{} accepted the test message: {answer}",
                settings.host, settings.port
            );
            Ok(())
        }
        Err(f) => Err(Failure::Error(anyhow::anyhow!(
            "the relay {}:{} did not accept the test message ({}): {}",
            settings.host,
            settings.port,
            match f.kind {
                crate::mail::FailureKind::Refused => "refused",
                crate::mail::FailureKind::Temporary => "temporary failure or no connection",
                crate::mail::FailureKind::Unknown => "no clear answer",
            },
            f.reason
        ))),
    }
}

/// Tests the relay of the --smtp-* options and saves it, its password sealed to the
/// admin key.
async fn save_relay(store: &Store, args: &SmtpArgs, passphrase: &PassphraseArgs) -> CliResult {
    let settings = smtp_settings(args)?.ok_or_else(|| {
        Failure::Usage("give the relay to save with --smtp-host and --smtp-from".into())
    })?;
    let admin = store
        .admin_key()
        .await?
        .ok_or_else(|| anyhow::anyhow!("{}", batch::BatchError::NoAdmin))?;
    settings.test_connection().await.map_err(|e| {
        anyhow::anyhow!(
            "the relay {}:{} cannot be used, so nothing was saved: {e}",
            settings.host,
            settings.port
        )
    })?;
    let unlocked = batch::unlock_admin(store, passphrase.read(false)?).await?;
    let mut stored = settings
        .to_stored(&admin.public_key, config::now())
        .map_err(|e| anyhow::anyhow!(e))?;
    stored.sig = Some(batch::sign_relay(
        &batch::settings_signer(&unlocked)?,
        &stored,
    ));
    store.save_smtp_settings(&stored).await?;
    eprintln!(
        "Saved the relay {}:{} ({}); the console and `passdrop send` use it when no \
         --smtp-host is given.",
        settings.host,
        settings.port,
        if stored.password.is_some() {
            "its password sealed to the admin key"
        } else {
            "no login"
        }
    );
    Ok(())
}

/// Deletes the saved relay.
async fn forget_relay(store: &Store) -> CliResult {
    store.delete_smtp_settings().await?;
    eprintln!("The saved relay is forgotten.");
    Ok(())
}
