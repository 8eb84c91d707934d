//! The command line: `Cli` and `Command`, and `run`, which opens the store, hands it to
//! the command in a `Context` and maps the outcome to the exit status: 0 success, 1
//! error, 2 bad usage. Every option is also read from a `PASSDROP_*` variable and from
//! the `--config` file (`settings_file`).
//!
//! Each command group is one file that owns its arguments and its `run`: `serve`,
//! `admin`, `batch`, `link`, `export` (with purge), `send`, `smtp`, `doctor` and the
//! hidden `generate` (man pages and completions). Options several commands take are
//! declared once in `args`; `io` reads the passphrase and the roster and writes secret
//! output; `logging` sets up stderr logging.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, PublicUrl, TimeZoneSetting};
use crate::storage::Store;

mod admin;
mod admin_login;
mod api_token;
mod args;
mod backup;
mod batch;
mod branding;
mod doctor;
mod export;
mod generate;
mod io;
mod link;
mod logging;
pub mod progress;
mod readiness;
mod send;
mod serve;
mod settings_file;
mod smtp;
mod status;
mod table;
mod webhook;

pub use admin::{AdminCommand, ChangePassphraseArgs, InitArgs};
pub use admin_login::{AdminLoginArgs, ProbeArgs};
pub use api_token::{ApiTokenCommand, CreateTokenArgs, RevokeTokenArgs};
pub use args::{BatchArg, ImapArgs, LinksOutArg, PassphraseArgs, ProxyArgs, SendingArgs, SmtpArgs};
pub use backup::{BackupArgs, RestoreArgs};
pub use batch::{BatchCommand, CreateArgs, MessageArgs, SetImapArgs};
pub use doctor::DoctorArgs;
pub use export::{ExportArgs, ExportFormat, PurgeArgs};
pub use generate::{GenerateCommand, OutDirArg};
pub use link::{LinkCommand, ReissueArgs, RevokeArgs};
pub use logging::{LogFormat, init_logging};
pub use readiness::{ReadinessArgs, RecheckArgs};
pub use send::SendArgs;
pub use serve::ServeArgs;
pub use settings_file::{ArgsError, parse_args, parse_args_from};
pub use smtp::{SmtpCommand, SmtpTestArgs};
pub use webhook::{AddWebhookArgs, RotateSecretArgs, WebhookCommand, WebhookIdArg};

/// passdrop: collect mailbox passwords once, for an email migration, then forget them.
#[derive(Debug, Parser)]
#[command(name = "passdrop", version, about, propagate_version = true)]
pub struct Cli {
    /// A TOML file of settings (`public_url = "https://..."`, `rate_limit = 300`, ...):
    /// flags beat environment variables, which beat the file, which beats defaults. The
    /// Debian package's passdrop reads /etc/passdrop/passdrop.toml when neither is given.
    #[arg(long, env = "PASSDROP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (created 0700 on first use).
    #[arg(long, env = "PASSDROP_DATA_DIR", default_value = config::DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// Public base URL that links are built from, e.g. https://passdrop.example.org
    /// [default: http://LISTEN]
    #[arg(long, env = "PASSDROP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// The time zone times are shown in, an IANA name such as Europe/London (a batch
    /// may have its own) [default: UTC]
    #[arg(long, env = "PASSDROP_TIME_ZONE", global = true)]
    pub time_zone: Option<String>,
    /// Address the server listens on (also the default public URL's host).
    #[arg(long, env = "PASSDROP_LISTEN", default_value = config::DEFAULT_LISTEN, global = true)]
    pub listen: SocketAddr,
    /// The settings key file (public key; every stored setting is checked against it
    /// before use). Keep it outside the data directory, root-owned, e.g.
    /// /etc/passdrop/settings-key.pub [default: DATA_DIR.settings-key.pub, beside the data
    /// directory]
    #[arg(long, env = "PASSDROP_SETTINGS_KEY_FILE", global = true)]
    pub settings_key_file: Option<PathBuf>,
    /// Log lines as `human` text or `json` objects (stderr; level set by PASSDROP_LOG).
    #[arg(
        long,
        env = "PASSDROP_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (collection pages).
    Serve(ServeArgs),
    /// Manage the admin.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Create and inspect batches.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Reissue or revoke one user's link.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Decrypt a batch and write its migration file (the Microsoft 365 CSV, or --format).
    Export(ExportArgs),
    /// Delete a batch for good: keys, passwords, links, roster.
    Purge(PurgeArgs),
    /// Check the configuration and the machine, and say what to fix.
    Doctor(DoctorArgs),
    /// Email each user their link through an SMTP relay (the passphrase opens the links).
    Send(SendArgs),
    /// The SMTP relay.
    #[command(subcommand)]
    Smtp(SmtpCommand),
    /// Write a consistent copy of the database while the server runs.
    Backup(BackupArgs),
    /// Put a backup into a new, empty data directory.
    Restore(RestoreArgs),
    /// Tokens for the HTTP API (/api/v1/).
    #[command(subcommand)]
    ApiToken(ApiTokenCommand),
    /// Webhooks: signed event deliveries to a URL (Standard Webhooks).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Write the man pages or shell completions (for packagers).
    #[command(subcommand, hide = true)]
    Generate(GenerateCommand),
}

/// A command's failure, with the exit status it maps to.
#[derive(Debug)]
enum Failure {
    /// Bad usage: exit 2.
    Usage(String),
    /// An error: exit 1.
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::Error(e.into())
    }
}

impl std::fmt::Display for Failure {
    /// The message alone (an error with its causes), as `run` prints it after "error: ".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Usage(message) => f.write_str(message),
            Self::Error(e) => write!(f, "{e:#}"),
        }
    }
}

impl Failure {
    /// The process exit status: 2 for bad usage, 1 for an error.
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Error(_) => ExitCode::from(1),
        }
    }
}

/// What a command returns: nothing, or its failure.
type CliResult = Result<(), Failure>;

/// What every command works with: the opened store and the global options.
struct Context {
    /// The store in `--data-dir`.
    store: Store,
    /// `--data-dir`.
    data_dir: PathBuf,
    /// `--listen`.
    listen: SocketAddr,
    /// The base URL links are built from: `--public-url`, else `http://LISTEN`.
    url: PublicUrl,
    /// Whether `--public-url` was given (by a flag, the environment or the file).
    url_given: bool,
    /// `--settings-key-file`, else the default beside the data directory.
    settings_key: crate::batch::SettingsKeyFile,
    /// `--time-zone`, UTC when unset.
    time_zone: TimeZoneSetting,
}

impl Context {
    /// `--public-url`, if it was given.
    fn given_url(&self) -> Option<&PublicUrl> {
        self.url_given.then_some(&self.url)
    }

    /// The URL emailed links are built from. It must be given: emailed links must point
    /// where users reach the server, which the listen address (the default public URL)
    /// almost never is.
    fn url_for_email(&self) -> Result<&PublicUrl, Failure> {
        self.given_url().ok_or_else(|| {
            Failure::Usage(
                "give the address users open the links at with --public-url (PASSDROP_PUBLIC_URL), \
                 the same as the server's: emailed links are built from it"
                    .into(),
            )
        })
    }
}

/// Runs a parsed command line and returns the process exit status.
pub async fn run(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

/// `--public-url` checked, else the URL of the listen address.
fn public_url(cli_value: Option<&str>, listen: SocketAddr) -> Result<PublicUrl, Failure> {
    match cli_value {
        Some(url) => PublicUrl::parse(url).map_err(Failure::Usage),
        None => Ok(PublicUrl::from_listen(listen)),
    }
}

/// Opens the store, runs the command, and closes the store again.
async fn dispatch(cli: Cli) -> CliResult {
    let url = public_url(cli.public_url.as_deref(), cli.listen)?;
    let time_zone = TimeZoneSetting::parse(cli.time_zone.as_deref().unwrap_or_default())
        .map_err(|e| Failure::Usage(format!("--time-zone: {e}")))?;
    // A restore writes the database itself: nothing may open (and so create) it first.
    let command = match cli.command {
        Command::Restore(args) => return args.run(&cli.data_dir).await,
        // Generating files needs no store (and must not create one where it runs).
        Command::Generate(command) => return command.run(),
        // Before setup the doctor checks what it can without creating the database.
        Command::Doctor(args) if !cli.data_dir.join(crate::storage::DATABASE_FILE).exists() => {
            let given = cli.public_url.is_some().then_some(&url);
            return args.run_before_setup(&cli.data_dir, cli.listen, given);
        }
        command => command,
    };
    // Opening the store repairs file modes, so the doctor looks at them first.
    let modes = match &command {
        Command::Doctor(_) => doctor::data_dir_findings(&cli.data_dir),
        _ => Vec::new(),
    };
    let settings_key = match &cli.settings_key_file {
        Some(path) => crate::batch::SettingsKeyFile::new(path),
        None => crate::batch::SettingsKeyFile::beside(&cli.data_dir),
    };
    let ctx = Context {
        settings_key,
        store: Store::open(&cli.data_dir).await?,
        data_dir: cli.data_dir,
        listen: cli.listen,
        url,
        url_given: cli.public_url.is_some(),
        time_zone,
    };
    let result = match command {
        Command::Serve(args) => args.run(&ctx).await,
        Command::Admin(command) => command.run(&ctx).await,
        Command::Batch(command) => command.run(&ctx).await,
        Command::Link(command) => command.run(&ctx).await,
        Command::Export(args) => args.run(&ctx).await,
        Command::Purge(args) => args.run(&ctx).await,
        Command::Send(args) => args.run(&ctx).await,
        Command::Smtp(command) => command.run(&ctx).await,
        Command::Doctor(args) => args.run(&ctx, modes).await,
        Command::Backup(args) => args.run(&ctx).await,
        Command::ApiToken(command) => command.run(&ctx).await,
        Command::Webhook(command) => command.run(&ctx).await,
        Command::Restore(_) | Command::Generate(_) => Ok(()),
    };
    // Closing checkpoints the WAL into the database file and removes it.
    ctx.store.close().await;
    result
}
