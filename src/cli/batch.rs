//! `passdrop batch create | list | status | check-imap | set-imap | message`: creating
//! batches and looking after them.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::io::{Output, print_imap_report, read_roster};
use super::{BatchArg, CliResult, Context, Failure, ImapArgs, LinksOutArg, PassphraseArgs};
use crate::batch::{self, BatchError, NewBatch};
use crate::config::{self, PublicUrl, TimeZoneSetting, format_time_in};
use crate::export::SecretFile;
use crate::imap::{self, CertTrust, ImapServer, ImapSettings, WhenUnreachable};
use crate::roster::parse_roster;
use crate::storage::Store;

/// `passdrop batch ...`
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Create a batch from a roster CSV and print one link per user.
    Create(Box<CreateArgs>),
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
    /// placeholders {name} {email} {org} {link} {expires} {link_start} {contact}), or
    /// print it.
    Message(MessageArgs),
    /// Log in as each user not probed yet through the batch's admin login (LOGIN, then
    /// LOGOUT), mark them covered or needing their password, and write the links of
    /// those who need one.
    Probe(super::admin_login::ProbeArgs),
    /// Set who is asking (contact, logo, accent colour, link prefix), or print it.
    Branding(super::branding::BrandingCommandArgs),
    /// Log in again with each submitted password (the passphrase opens them), and as each
    /// user the old server's admin login covers through it, and mark the users whose
    /// password (or admin login) no longer works; --reissue-failed [--send] gives them
    /// new links.
    Recheck(super::RecheckArgs),
    /// What will trouble the migration, per user and for the batch, with stable codes
    /// (--json for scripts; --strict exits 1 when any problem is listed).
    Readiness(super::ReadinessArgs),
}

impl BatchCommand {
    /// Runs the `batch` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        let store = &ctx.store;
        match self {
            Self::Create(args) => create(store, &ctx.url, &ctx.time_zone, *args).await,
            Self::List => super::status::list(store, &ctx.time_zone).await,
            Self::Status(batch) => super::status::status(store, &ctx.time_zone, &batch).await,
            Self::CheckImap(batch) => check_imap(store, &batch).await,
            Self::SetImap(args) => set_imap(store, args).await,
            Self::Message(args) => message(store, &args).await,
            Self::Probe(args) => super::admin_login::probe(ctx, args).await,
            Self::Branding(args) => super::branding::branding(store, &ctx.url, &args).await,
            Self::Recheck(args) => super::readiness::recheck(ctx, args).await,
            Self::Readiness(args) => super::readiness::readiness(ctx, args).await,
        }
    }
}

/// `passdrop batch message` options.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Where the passphrase comes from, to change the message (it signs it).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
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
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Where the passphrase comes from (it signs the new setting).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The IMAP server passwords are checked against.
    #[command(flatten)]
    pub imap: ImapArgs,
    /// Stop checking passwords against any IMAP server.
    #[arg(long, conflicts_with = "verify_imap")]
    pub off: bool,
    /// The old server's admin login (tried once through the admin path first).
    #[command(flatten)]
    pub admin_login: super::admin_login::AdminLoginArgs,
    /// Stop using the old server's admin login.
    #[arg(long, conflicts_with = "imap_admin_form")]
    pub imap_admin_off: bool,
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
    /// How long links stay valid: 10m to 90d, e.g. 7d, 48h, "7 days", "2 weeks".
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
    /// The users' language when neither their roster row (Language) nor their browser
    /// names one passdrop speaks, for the pages and the default email: en, de, fr, es,
    /// nl, it or pt.
    #[arg(long, env = "PASSDROP_LANGUAGE", default_value = "en", value_parser = crate::i18n::Language::parse_setting)]
    pub language: crate::i18n::Language,
    /// Purge the batch automatically this long after its links expire (0 to 90d).
    #[arg(long, env = "PASSDROP_RETAIN_AFTER_EXPIRY", default_value = batch::DEFAULT_RETAIN_AFTER_EXPIRY)]
    pub retain_after_expiry: String,
    /// ...or this long after an export, whichever comes first (10m to 90d); never before
    /// the links of users still pending expire, unless `export --allow-early-purge`.
    #[arg(long, env = "PASSDROP_RETAIN_AFTER_EXPORT", default_value = batch::DEFAULT_RETAIN_AFTER_EXPORT)]
    pub retain_after_export: String,
    /// The time zone this batch's times are shown in, if not --time-zone's (an IANA
    /// name such as Europe/Paris).
    #[arg(long = "batch-time-zone", env = "PASSDROP_BATCH_TIME_ZONE")]
    pub batch_time_zone: Option<String>,
    /// The IMAP server passwords are checked against.
    #[command(flatten)]
    pub imap: ImapArgs,
    /// The old server's admin login (tried once through the admin path first).
    #[command(flatten)]
    pub admin_login: super::admin_login::AdminLoginArgs,
    /// Who is asking (contact, logo, accent colour, link prefix).
    #[command(flatten)]
    pub branding: super::branding::BrandingArgs,
    /// Where the links go.
    #[command(flatten)]
    pub links_out: LinksOutArg,
    /// Where the passphrase comes from (it signs the batch's settings, without which its
    /// links take no password).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// The admin key a creation signs with: unlocked before it, or the passphrase it is
/// unlocked with meanwhile (`batch::create_unlocking`).
enum AdminKeyFor {
    Unlocked(crate::crypto::AdminKey),
    Passphrase(secrecy::SecretString),
}

/// Creates a batch from a roster and writes its links; nothing is kept if they cannot
/// be written.
async fn create(
    store: &Store,
    url: &PublicUrl,
    time_zone: &TimeZoneSetting,
    args: CreateArgs,
) -> CliResult {
    let lifetime = config::parse_link_lifetime(&args.expires_in)
        .map_err(|e| Failure::Usage(format!("--expires-in: {e}")))?;
    if let Some(zone) = &args.batch_time_zone {
        TimeZoneSetting::parse(zone)
            .map_err(|e| Failure::Usage(format!("--batch-time-zone: {e}")))?;
    }
    let retention = batch::Retention::parse(&args.retain_after_expiry, &args.retain_after_export)
        .map_err(Failure::Usage)?;
    let imap = imap_settings(&args.imap)?;
    let admin_login = args.admin_login.read()?;
    if admin_login.is_some() && imap.is_none() {
        return Err(Failure::Usage(
            "--imap-admin-form needs the old server: give --verify-imap URL".into(),
        ));
    }
    let branding = args
        .branding
        .prepare(&crate::storage::Branding::default(), url)?;
    let roster = parse_roster(&read_roster(&args.roster)?)?;
    let passphrase = args.passphrase.read(false)?;
    let admin = match (&admin_login, &imap) {
        (Some(login), Some(settings)) => {
            // The admin password goes to the old server only once the passphrase is
            // right, and before anything is created: a refused one creates nothing.
            let admin = batch::unlock_admin(store, passphrase).await?;
            super::admin_login::try_first(
                settings,
                login,
                &roster,
                args.admin_login.imap_admin_probe_user.as_deref(),
            )
            .await?;
            AdminKeyFor::Unlocked(admin)
        }
        // Unlocked while the links are issued and the rows inserted.
        _ => AdminKeyFor::Passphrase(passphrase),
    };
    let excel_bom = args.links_out.excel_bom;
    let (links_out, beside) = LinksOut::new(
        Output::open(args.links_out.links_out.as_deref())?,
        matches!(admin, AdminKeyFor::Passphrase(_)),
        excel_bom,
    );
    let tally = batch::Tally::new();
    let request = NewBatch {
        name: args.name,
        org_name: args.org,
        link_lifetime: lifetime,
        next_steps: args.next_steps,
        ask_mail_client: !args.no_mail_question,
        retention,
        roster,
        imap,
        language: Some(args.language),
        time_zone: args.batch_time_zone,
    };
    let counted = std::sync::Arc::clone(&tally);
    let created = async move {
        match admin {
            AdminKeyFor::Unlocked(admin) => {
                batch::create_signed_counted(store, url, request, config::now(), &admin, counted)
                    .await
                    .map(|(created, links)| (created, links, admin))
            }
            AdminKeyFor::Passphrase(passphrase) => {
                batch::create_unlocking(
                    store,
                    url,
                    request,
                    config::now(),
                    passphrase,
                    counted,
                    beside,
                )
                .await
            }
        }
    };
    let created =
        super::progress::watch("Issuing links", tally, super::progress::LARGE, created).await;
    let (created, links, admin) = match created {
        Err(BatchError::ImapUnusable(report)) => {
            print_imap_report(&mut std::io::stderr(), &report);
            return Err(Failure::Error(anyhow::anyhow!(
                "the batch was not created: passwords cannot be checked against {}",
                report.server
            )));
        }
        other => other?,
    };
    let links = match admin_login {
        None => links,
        Some(login) => {
            let probe_user = args.admin_login.imap_admin_probe_user.as_deref();
            match batch::admin_login::set_admin_login(
                store,
                &created,
                Some(login),
                probe_user,
                &admin,
            )
            .await
            {
                Ok(set) => super::admin_login::print_set(&created.name, &set),
                Err(e) => {
                    let _ = batch::purge(store, &created, config::now()).await;
                    return Err(Failure::Error(anyhow::anyhow!(
                        "the batch was not created: {e}"
                    )));
                }
            }
            eprintln!(
                "No links are written yet: users get one only once their probe says they \
                 need their password. Probe them with `passdrop batch probe {}` (or from \
                 the console's batch page), which writes their links.",
                created.id
            );
            Vec::new()
        }
    };
    if let Err(e) = super::branding::apply_new(store, &created, branding, &admin).await {
        let _ = batch::purge(store, &created, config::now()).await;
        eprintln!("the batch was not kept because its branding could not be saved");
        return Err(e);
    }
    if let Err(e) = links_out.finish(&links, excel_bom) {
        // Links that never reached anyone are useless; undo the batch.
        let _ = batch::purge(store, &created, config::now()).await;
        eprintln!("the batch was not kept because its links could not be written");
        return Err(e);
    }
    eprintln!(
        "Created batch “{}” (id {}) with {} {}, valid until {}.",
        created.name,
        created.id,
        links.len(),
        if links.len() == 1 { "link" } else { "links" },
        format_time_in(
            created.expires_at,
            &TimeZoneSetting::or_stored(created.time_zone.as_deref(), time_zone)
        )
    );
    if let Some(out) = &args.links_out.links_out {
        eprintln!(
            "Links written to {} (keep it private: each link is a key).",
            out.display()
        );
    }
    Ok(())
}

/// Where `batch create` writes its links, and when.
enum LinksOut {
    /// Once the batch is created: on stdout (which cannot be taken back), or for a batch
    /// with the old server's admin login (whose links are written later, by probes).
    After(Output),
    /// Into a new file on a blocking thread while the rows go in (it and the inserts
    /// take a core each), kept once the batch is committed: the file, written and
    /// synced, arrives here. A creation that fails drops it, which removes it.
    Beside(std::sync::mpsc::Receiver<anyhow::Result<SecretFile>>),
}

impl LinksOut {
    /// Where the links go, and the work to do beside the creation (for a file, when
    /// `beside` allows).
    fn new(output: Output, beside: bool, excel_bom: bool) -> (Self, Option<batch::LinksBeside>) {
        let mut file = match output {
            Output::File(file) if beside => file,
            output => return (Self::After(output), None),
        };
        let (send, receive) = std::sync::mpsc::channel();
        let write: batch::LinksBeside = Box::new(move |links: &[batch::IssuedLink]| {
            let written = file
                .fill(&batch::links_csv(links, excel_bom))
                .map(|()| file);
            // A creation that failed listens no more: the file is dropped, so removed.
            let _ = send.send(written);
        });
        (Self::Beside(receive), Some(write))
    }

    /// Writes the links now (`After`), or keeps the file written beside the creation.
    fn finish(self, links: &[batch::IssuedLink], excel_bom: bool) -> CliResult {
        match self {
            Self::After(output) => output.finish(&batch::links_csv(links, excel_bom)),
            Self::Beside(receive) => {
                let file = receive
                    .recv()
                    .map_err(|_| anyhow::anyhow!("the links file was not written"))??;
                file.keep()?;
                Ok(())
            }
        }
    }
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

/// Tests the connection to a batch's IMAP server and prints what it found.
async fn check_imap(store: &Store, batch: &BatchArg) -> CliResult {
    let b = batch.find(store).await?;
    let Some(settings) = &b.imap else {
        return Err(Failure::Error(anyhow::anyhow!(
            "batch “{}” does not check passwords against an IMAP server; give it one with \
             `passdrop batch set-imap {} --verify-imap imaps://HOST`",
            b.name,
            b.id
        )));
    };
    let mut report = imap::check_connection(settings).await;
    if let Some(at) = batch::recent_throttling(store, &b.id, crate::config::now()).await? {
        report.throttling = Some(batch::throttling_advice(
            &settings.server.to_string(),
            &crate::config::format_time(at),
        ));
    }
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

/// Sets, changes or removes a batch's IMAP server (kept only if passwords can be
/// checked with it).
async fn set_imap(store: &Store, args: SetImapArgs) -> CliResult {
    let settings = imap_settings(&args.imap)?;
    let admin_login = args.admin_login.read()?;
    if settings.is_none() && !args.off && admin_login.is_none() && !args.imap_admin_off {
        return Err(Failure::Usage(
            "give the server with --verify-imap URL, or --off to stop checking passwords, \
             or an admin login with --imap-admin-form and --imap-admin-user (--imap-admin-off \
             to stop using one)"
                .into(),
        ));
    }
    if args.off && admin_login.is_some() {
        return Err(Failure::Usage(
            "--imap-admin-form needs the old server, and --off removes it".into(),
        ));
    }
    let b = args.batch.find(store).await?;
    let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
    if settings.is_none() && !args.off {
        let login = admin_login;
        let set = batch::admin_login::set_admin_login(
            store,
            &b,
            login,
            args.admin_login.imap_admin_probe_user.as_deref(),
            &admin,
        )
        .await?;
        super::admin_login::print_set(&b.name, &set);
        return Ok(());
    }
    let previous = b.imap.clone();
    let outcome = batch::set_imap(store, &b, settings, &admin).await;
    if outcome.is_ok() && (admin_login.is_some() || args.imap_admin_off) {
        let changed = store.require_batch(&b.id).await?;
        let set = batch::admin_login::set_admin_login(
            store,
            &changed,
            admin_login,
            args.admin_login.imap_admin_probe_user.as_deref(),
            &admin,
        )
        .await;
        match set {
            Ok(set) => super::admin_login::print_set(&b.name, &set),
            Err(e) => {
                // Nothing changes: the old server goes back as it was.
                let changed = store.require_batch(&b.id).await?;
                batch::set_imap(store, &changed, previous, &admin).await?;
                return Err(e.into());
            }
        }
    }
    match outcome {
        Ok(Some(report)) => {
            print_imap_report(&mut std::io::stdout(), &report);
            println!(
                "Batch “{}” now checks every password against {}.",
                b.name, report.server
            );
            Ok(())
        }
        Ok(None) => {
            println!(
                "Batch “{}” no longer checks passwords against an IMAP server.",
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

/// Sets a batch's message, goes back to the default one, or prints it.
async fn message(store: &Store, args: &MessageArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    if args.default {
        let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
        batch::set_message(store, &b, None, &admin).await?;
        eprintln!("Batch “{}” now sends the default message.", b.name);
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
        let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
        batch::set_message(
            store,
            &b,
            Some((template.subject(), template.body())),
            &admin,
        )
        .await?;
        eprintln!("Batch “{}” now sends this message.", b.name);
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
