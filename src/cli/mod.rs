//! The command line: argument definitions (every option also read from `PASSDROP_*`) and
//! one function per command. Exit status: 0 success, 1 error, 2 bad usage.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::batch::{self, BatchError, NewBatch};
use crate::config::{self, PublicUrl, format_time};
use crate::imap::{self, CertTrust, ImapServer, ImapSettings, WhenUnreachable};
use crate::roster::parse_roster;
use crate::storage::{LinkState, Store};

mod admin;
mod args;
mod doctor;
mod io;
mod link;
mod logging;
mod send;
mod serve;
mod settings_file;
mod smtp;

pub use admin::{AdminCommand, InitArgs};
pub use args::{
    BatchArg, DEFAULT_SEND_RETRY_WAIT, ImapArgs, LinksOutArg, PassphraseArgs, ProxyArgs,
    SendingArgs, SmtpArgs,
};
pub use doctor::DoctorArgs;
use io::{Output, print_imap_report, read_roster};
pub use link::{LinkCommand, ReissueArgs, RevokeArgs};
pub use logging::{LogFormat, init_logging};
pub use send::SendArgs;
pub use serve::ServeArgs;
pub use settings_file::{ArgsError, parse_args, parse_args_from};
pub use smtp::{SmtpCommand, SmtpTestArgs};

/// passdrop: collect mailbox passwords once, for an email migration, then forget them.
#[derive(Debug, Parser)]
#[command(name = "passdrop", version, about, propagate_version = true)]
pub struct Cli {
    /// A TOML file of settings (`public_url = "https://..."`, `rate_limit = 300`, ...):
    /// flags beat environment variables, which beat the file, which beats defaults.
    #[arg(long, env = "PASSDROP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (created 0700 on first use).
    #[arg(long, env = "PASSDROP_DATA_DIR", default_value = config::DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// Public base URL that links are built from, e.g. https://passdrop.example.org
    /// [default: http://LISTEN]
    #[arg(long, env = "PASSDROP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Address the server listens on (also the default public URL's host).
    #[arg(long, env = "PASSDROP_LISTEN", default_value = config::DEFAULT_LISTEN, global = true)]
    pub listen: SocketAddr,
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
// Parsed once per run; boxing the larger argument sets would gain nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Decrypt a batch and write the Microsoft 365 migration CSV.
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
}

/// `passdrop batch ...`
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Create a batch from a roster CSV and print one link per user.
    Create(CreateArgs),
    /// List batches (and purged ones).
    List,
    /// Show each user's progress in a batch.
    Status(BatchArg),
    /// Test the connection to a batch's IMAP server (TLS, certificate, capabilities)
    /// without any password.
    CheckImap(BatchArg),
    /// Set, change or remove the IMAP server a batch checks passwords against (tested
    /// first; kept only if passwords can be checked with it).
    SetImap(SetImapArgs),
    /// Set the message that emails a batch's links (subject and a plain-text body with
    /// placeholders {name} {email} {org} {link} {expires}), or print it.
    Message(MessageArgs),
}

/// `passdrop batch message` options.
#[derive(Debug, Args)]
pub struct MessageArgs {
    #[command(flatten)]
    pub batch: BatchArg,
    /// The new subject.
    #[arg(long, requires = "body_file")]
    pub subject: Option<String>,
    /// A file holding the new body (UTF-8 text; must contain {link}).
    #[arg(long, requires = "subject")]
    pub body_file: Option<PathBuf>,
    /// Go back to the default message.
    #[arg(long, conflicts_with_all = ["subject", "body_file"])]
    pub default: bool,
}

/// `passdrop batch set-imap` options.
#[derive(Debug, Args)]
pub struct SetImapArgs {
    #[command(flatten)]
    pub batch: BatchArg,
    #[command(flatten)]
    pub imap: ImapArgs,
    /// Stop checking passwords against any IMAP server.
    #[arg(long, conflicts_with = "verify_imap")]
    pub off: bool,
}

/// `passdrop batch create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Unique batch name.
    #[arg(long, env = "PASSDROP_NAME")]
    pub name: String,
    /// Roster CSV file (`-` for standard input).
    #[arg(long, env = "PASSDROP_ROSTER")]
    pub roster: PathBuf,
    /// How long links stay valid: 10m to 90d, e.g. 7d, 48h.
    #[arg(long, env = "PASSDROP_EXPIRES_IN", default_value = config::DEFAULT_EXPIRES_IN)]
    pub expires_in: String,
    /// Organisation name shown to users on the collection page.
    #[arg(long, env = "PASSDROP_ORG")]
    pub org: Option<String>,
    /// Plain text shown to users after they submit ("What happens next").
    #[arg(long, env = "PASSDROP_NEXT_STEPS")]
    pub next_steps: Option<String>,
    /// Do not ask users how they read their email (asked by default, to spot POP users).
    #[arg(long, env = "PASSDROP_NO_MAIL_QUESTION")]
    pub no_mail_question: bool,
    /// Purge the batch automatically this long after its links expire (0 to 90d).
    #[arg(long, env = "PASSDROP_RETAIN_AFTER_EXPIRY", default_value = batch::DEFAULT_RETAIN_AFTER_EXPIRY)]
    pub retain_after_expiry: String,
    /// ...or this long after its first export, whichever comes first (10m to 90d).
    #[arg(long, env = "PASSDROP_RETAIN_AFTER_EXPORT", default_value = batch::DEFAULT_RETAIN_AFTER_EXPORT)]
    pub retain_after_export: String,
    #[command(flatten)]
    pub imap: ImapArgs,
    #[command(flatten)]
    pub links_out: LinksOutArg,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Microsoft 365 IMAP migration CSV: EmailAddress,UserName,Password[,UserRoot].
    M365,
}

/// `passdrop export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub batch: BatchArg,
    /// Output format.
    #[arg(long, env = "PASSDROP_FORMAT", value_enum, default_value = "m365")]
    pub format: ExportFormat,
    /// Write here (created 0600, never overwritten) instead of stdout.
    #[arg(long, env = "PASSDROP_OUT")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Purge the batch once the file is written.
    #[arg(long, env = "PASSDROP_PURGE")]
    pub purge: bool,
}

/// `passdrop purge` options.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub batch: BatchArg,
    /// Do not ask for confirmation.
    #[arg(long, env = "PASSDROP_YES")]
    pub yes: bool,
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
    // Opening the store repairs file modes, so the doctor looks at them first.
    let modes = match &cli.command {
        Command::Doctor(_) => doctor::data_dir_findings(&cli.data_dir),
        _ => Vec::new(),
    };
    let ctx = Context {
        store: Store::open(&cli.data_dir).await?,
        data_dir: cli.data_dir,
        listen: cli.listen,
        url,
        url_given: cli.public_url.is_some(),
    };
    let store = &ctx.store;
    let result = match cli.command {
        Command::Serve(args) => args.run(&ctx).await,
        Command::Admin(command) => command.run(&ctx).await,
        Command::Batch(BatchCommand::Create(args)) => batch_create(store, &ctx.url, args).await,
        Command::Batch(BatchCommand::List) => batch_list(store).await,
        Command::Batch(BatchCommand::Status(batch)) => batch_status(store, &batch).await,
        Command::Batch(BatchCommand::CheckImap(batch)) => batch_check_imap(store, &batch).await,
        Command::Batch(BatchCommand::SetImap(args)) => batch_set_imap(store, args).await,
        Command::Batch(BatchCommand::Message(args)) => batch_message(store, &args).await,
        Command::Link(command) => command.run(&ctx).await,
        Command::Export(args) => export(store, args).await,
        Command::Purge(args) => purge(store, args).await,
        Command::Send(args) => args.run(&ctx).await,
        Command::Smtp(command) => command.run(&ctx).await,
        Command::Doctor(args) => args.run(&ctx, modes).await,
    };
    // Closing checkpoints the WAL into the database file and removes it.
    ctx.store.close().await;
    result
}

async fn batch_create(store: &Store, url: &PublicUrl, args: CreateArgs) -> CliResult {
    let lifetime = config::parse_link_lifetime(&args.expires_in).map_err(Failure::Usage)?;
    let retention = batch::Retention::parse(&args.retain_after_expiry, &args.retain_after_export)
        .map_err(Failure::Usage)?;
    let imap = imap_settings(&args.imap)?;
    let roster = parse_roster(&read_roster(&args.roster)?)?;
    let output = Output::open(args.links_out.links_out.as_deref())?;
    let created = batch::create(
        store,
        url,
        NewBatch {
            name: args.name,
            org_name: args.org,
            link_lifetime: lifetime,
            next_steps: args.next_steps,
            ask_mail_client: !args.no_mail_question,
            retention,
            roster,
            imap,
        },
        config::now(),
    )
    .await;
    let (created, links) = match created {
        Err(BatchError::ImapUnusable(report)) => {
            print_imap_report(&mut std::io::stderr(), &report);
            return Err(Failure::Error(anyhow::anyhow!(
                "the batch was not created: passwords cannot be checked against {}",
                report.server
            )));
        }
        other => other?,
    };
    if let Err(e) = output.finish(&batch::links_csv(&links)) {
        // Links that never reached anyone are useless; undo the batch.
        let _ = batch::purge(store, &created, config::now()).await;
        eprintln!("the batch was not kept because its links could not be written");
        return Err(e);
    }
    eprintln!(
        "Created batch {:?} (id {}) with {} links, valid until {}.",
        created.name,
        created.id,
        links.len(),
        format_time(created.expires_at)
    );
    if let Some(out) = &args.links_out.links_out {
        eprintln!(
            "Links written to {} (keep it private: each link is a key).",
            out.display()
        );
    }
    Ok(())
}

/// Reads the IMAP options; `None` when no server is given.
fn imap_settings(args: &ImapArgs) -> Result<Option<ImapSettings>, Failure> {
    let when = WhenUnreachable::parse(&args.imap_when_unreachable)
        .map_err(|e| Failure::Usage(format!("--imap-when-unreachable: {e}")))?;
    let Some(url) = &args.verify_imap else {
        return Ok(None);
    };
    let server =
        ImapServer::parse(url).map_err(|e| Failure::Usage(format!("--verify-imap: {e}")))?;
    let trust = match (&args.imap_ca_file, &args.imap_cert_sha256) {
        (Some(path), _) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the CA file {}", path.display()))?;
            CertTrust::ca_file(&pem)
                .map_err(|e| Failure::Usage(format!("--imap-ca-file {}: {e}", path.display())))?
        }
        (None, Some(pin)) => {
            CertTrust::pin(pin).map_err(|e| Failure::Usage(format!("--imap-cert-sha256: {e}")))?
        }
        (None, None) => CertTrust::PublicAuthorities,
    };
    Ok(Some(ImapSettings {
        server,
        trust,
        when_unreachable: when,
    }))
}

async fn batch_check_imap(store: &Store, batch: &BatchArg) -> CliResult {
    let b = batch.find(store).await?;
    let Some(settings) = &b.imap else {
        return Err(Failure::Error(anyhow::anyhow!(
            "batch {:?} does not check passwords against an IMAP server; give it one with \
             `passdrop batch set-imap {} --verify-imap imaps://HOST`",
            b.name,
            b.name
        )));
    };
    let report = imap::check_connection(settings).await;
    print_imap_report(&mut std::io::stdout(), &report);
    if report.ok() {
        Ok(())
    } else {
        Err(Failure::Error(anyhow::anyhow!(
            "passwords cannot be checked against {} until this is fixed",
            report.server
        )))
    }
}

async fn batch_set_imap(store: &Store, args: SetImapArgs) -> CliResult {
    let settings = imap_settings(&args.imap)?;
    if settings.is_none() && !args.off {
        return Err(Failure::Usage(
            "give the server with --verify-imap URL, or --off to stop checking passwords".into(),
        ));
    }
    let b = args.batch.find(store).await?;
    match batch::set_imap(store, &b, settings).await {
        Ok(Some(report)) => {
            print_imap_report(&mut std::io::stdout(), &report);
            println!(
                "Batch {:?} now checks every password against {}.",
                b.name, report.server
            );
            Ok(())
        }
        Ok(None) => {
            println!(
                "Batch {:?} no longer checks passwords against an IMAP server.",
                b.name
            );
            Ok(())
        }
        Err(BatchError::ImapUnusable(report)) => {
            print_imap_report(&mut std::io::stdout(), &report);
            Err(Failure::Error(anyhow::anyhow!(
                "nothing was changed: passwords cannot be checked against {}",
                report.server
            )))
        }
        Err(e) => Err(e.into()),
    }
}

async fn batch_message(store: &Store, args: &MessageArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    if args.default {
        store.set_batch_message(&b.id, None).await?;
        eprintln!("Batch {:?} now sends the default message.", b.name);
        return Ok(());
    }
    if let (Some(subject), Some(path)) = (&args.subject, &args.body_file) {
        let body = std::fs::read_to_string(path)
            .with_context(|| format!("could not read the body file {}", path.display()))?;
        let template = crate::mail::Template::new(subject, &body).map_err(|e| {
            let e = if e.starts_with("the subject") {
                e
            } else {
                format!("{}: {e}", path.display())
            };
            anyhow::anyhow!("the message was not saved: {e}")
        })?;
        store
            .set_batch_message(&b.id, Some((template.subject(), template.body())))
            .await?;
        eprintln!("Batch {:?} now sends this message.", b.name);
        return Ok(());
    }
    let template = crate::mail::Template::of(b.message.as_ref());
    println!("Subject: {}\n\n{}", template.subject(), template.body());
    eprintln!(
        "({}; placeholders: {})",
        if template.is_default() {
            "the default message"
        } else {
            "this batch's own message"
        },
        crate::mail::PLACEHOLDERS
            .iter()
            .map(|(n, what)| format!("{{{n}}} {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(())
}

async fn batch_list(store: &Store) -> CliResult {
    let batches = store.list_batches().await?;
    let tombstones = store.list_tombstones().await?;
    if batches.is_empty() && tombstones.is_empty() {
        println!(
            "No batches yet. Create one with `passdrop batch create --name NAME --roster FILE`."
        );
        return Ok(());
    }
    println!(
        "{:<16}  {:<24}  {:>9}  {:<20}  STATE",
        "ID", "NAME", "SUBMITTED", "EXPIRES"
    );
    let now = config::now();
    for s in &batches {
        let state = if s.batch.expires_at <= now {
            "expired"
        } else {
            "collecting"
        };
        println!(
            "{:<16}  {:<24}  {:>4}/{:<4}  {:<20}  {}",
            s.batch.id,
            s.batch.name,
            s.submitted,
            s.recipients,
            format_time(s.batch.expires_at),
            state
        );
    }
    for t in &tombstones {
        println!(
            "{:<16}  {:<24}  {:>4}/{:<4}  {:<20}  purged {}",
            t.batch_id,
            t.name,
            t.submitted,
            t.recipients,
            "-",
            format_time(t.purged_at)
        );
    }
    Ok(())
}

async fn batch_status(store: &Store, batch: &BatchArg) -> CliResult {
    let b = batch.find(store).await?;
    let statuses = store.recipient_statuses(&b.id).await?;
    let deliveries = store.deliveries(&b.id).await?;
    let now = config::now();
    println!(
        "Batch {:?} (id {}), created {}, links valid until {}",
        b.name,
        b.id,
        format_time(b.created_at),
        format_time(b.expires_at)
    );
    println!(
        "Purged automatically on {} unless you purge it sooner.",
        format_time(batch::automatic_purge_at(&b))
    );
    if let Some(imap) = &b.imap {
        println!(
            "Passwords are checked against {} ({}; when it cannot be reached: {}).",
            imap.server,
            imap.trust.describe(),
            match imap.when_unreachable {
                WhenUnreachable::AskToRetry => "users are asked to try again later",
                WhenUnreachable::AcceptUnverified => "passwords are accepted, marked not verified",
            }
        );
    }
    println!(
        "{:<36}  {:<12}  {:<16}  DETAIL",
        "EMAIL", "STATUS", "READS MAIL"
    );
    let (mut submitted, mut pending, mut pop_risk) = (0, 0, 0);
    for s in &statuses {
        let (status, detail) = match (s.submitted_at, s.link_state) {
            (Some(at), LinkState::Live) if s.link_expires_at > now => (
                "submitted",
                format!("{}; a reissued link is still open", format_time(at)),
            ),
            (Some(at), _) => ("submitted", format_time(at)),
            (None, LinkState::Live) if s.link_expires_at <= now => (
                "expired",
                format!("since {}", format_time(s.link_expires_at)),
            ),
            (None, LinkState::Live) => (
                "pending",
                format!("link valid until {}", format_time(s.link_expires_at)),
            ),
            (None, LinkState::Revoked) => ("revoked", String::new()),
            (None, LinkState::Locked) => (
                "locked",
                "too many refused attempts; reissue the link".to_owned(),
            ),
            (None, LinkState::Used | LinkState::Replaced) => ("pending", String::new()),
        };
        let email = deliveries
            .get(&s.recipient.id)
            .map(|d| match d.state.as_str() {
                "sent" if d.reminders > 0 => format!(
                    "emailed {} (reminded {}x)",
                    d.sent_at.map(format_time).unwrap_or_default(),
                    d.reminders
                ),
                "sent" => format!("emailed {}", d.sent_at.map(format_time).unwrap_or_default()),
                "failed" => format!("email failed: {}", d.last_error.as_deref().unwrap_or("")),
                "queued" => match &d.last_error {
                    Some(e) => format!("email queued, retrying ({e})"),
                    None => "email queued".to_owned(),
                },
                _ => match &d.last_error {
                    Some(e) => format!("email outcome unknown ({e}; it may have arrived)"),
                    None => "email outcome unknown (sending stopped mid-message)".to_owned(),
                },
            });
        let detail = match email {
            Some(e) if detail.is_empty() => e,
            Some(e) => format!("{detail}; {e}"),
            None => detail,
        };
        let detail = match s.imap_check.as_deref() {
            Some("verified") => format!("{detail} (password checked with the IMAP server)"),
            Some(_) => format!("{detail} (NOT checked: the IMAP server could not be reached)"),
            None => detail,
        };
        if s.submitted_at.is_some() {
            submitted += 1;
        } else {
            pending += 1;
        }
        let client = s.mail_client.as_deref().and_then(batch::MailClient::parse);
        if client.is_some_and(batch::MailClient::pop_risk) {
            pop_risk += 1;
        }
        let client_text = match client {
            Some(c) if c.pop_risk() => format!("{} (!)", c.as_str()),
            Some(c) => c.as_str().to_owned(),
            None => "-".to_owned(),
        };
        println!(
            "{:<36}  {:<12}  {:<16}  {}",
            s.recipient.email, status, client_text, detail
        );
    }
    println!(
        "{submitted} submitted, {pending} not yet, {} in all",
        statuses.len()
    );
    if pop_risk > 0 {
        println!(
            "(!) {pop_risk} users read mail in one program on one computer, or are not sure: \
             if that program uses POP, their folders and old mail may live only on that \
             computer and will not move with the server. Check with them; if so, export \
             their mail to a PST file and import it into Microsoft 365."
        );
    }
    Ok(())
}

async fn export(store: &Store, args: ExportArgs) -> CliResult {
    let ExportFormat::M365 = args.format;
    let output = Output::open(args.out.as_deref())?;
    let b = args.batch.find(store).await?;
    let passphrase = args.passphrase.read(false)?;
    let admin = batch::unlock_admin(store, passphrase).await?;
    let exported = batch::export_m365(store, &b, &admin, config::now()).await?;
    drop(admin);
    output.finish(&exported.csv)?;
    match &args.out {
        Some(out) => eprintln!("Wrote {} rows to {}.", exported.rows, out.display()),
        None => eprintln!("Wrote {} rows.", exported.rows),
    }
    if exported.missing.is_empty() {
        eprintln!("Every user has submitted.");
    } else {
        eprintln!(
            "{} users have not submitted: {}",
            exported.missing.len(),
            exported.missing.join(", ")
        );
    }
    if args.purge {
        let t = batch::purge(store, &b, config::now()).await?;
        eprintln!(
            "Purged batch {:?}: keys, passwords, links and roster are deleted.",
            t.name
        );
    }
    Ok(())
}

async fn purge(store: &Store, args: PurgeArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage(
                "purge deletes the batch for good; confirm with --yes when not running in a terminal"
                    .to_owned(),
            ));
        }
        eprint!(
            "This deletes every password, link and roster row of batch {:?} for good.\n\
             Type the batch name to confirm: ",
            b.name
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("could not read the confirmation")?;
        if answer.trim() != b.name {
            return Err(anyhow::anyhow!("the name did not match; nothing was purged").into());
        }
    }
    let t = batch::purge(store, &b, config::now()).await?;
    eprintln!(
        "Purged batch {:?} ({} users, {} had submitted): keys, passwords, links and roster are deleted.",
        t.name, t.recipients, t.submitted
    );
    Ok(())
}
