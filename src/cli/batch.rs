//! `passdrop batch create | list | status | check-imap | set-imap | message`: creating
//! batches and looking after them.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::io::{Output, print_imap_report, read_roster};
use super::table::{Align, Table};
use super::{BatchArg, CliResult, Context, Failure, ImapArgs, LinksOutArg, PassphraseArgs};
use crate::batch::{self, BatchError, NewBatch};
use crate::config::{self, PublicUrl, TimeZoneSetting, format_time_in};
use crate::imap::{self, CertTrust, ImapServer, ImapSettings, WhenUnreachable};
use crate::roster::parse_roster;
use crate::storage::{ImapCheck, LinkState, Store};

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
    /// Log in again with each submitted password (the passphrase opens them) and mark
    /// the users whose password no longer works; --reissue-failed [--send] gives them new
    /// links.
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
            Self::List => list(store, &ctx.time_zone).await,
            Self::Status(batch) => status(store, &ctx.time_zone, &batch).await,
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
    let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
    if let (Some(login), Some(settings)) = (&admin_login, &imap) {
        // Tried before anything is created: a refused admin password creates nothing.
        super::admin_login::try_first(
            settings,
            login,
            &roster,
            args.admin_login.imap_admin_probe_user.as_deref(),
        )
        .await?;
    }
    let output = Output::open(args.links_out.links_out.as_deref())?;
    let tally = batch::Tally::new();
    let created = batch::create_signed_counted(
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
            language: Some(args.language),
            time_zone: args.batch_time_zone,
        },
        config::now(),
        &admin,
        std::sync::Arc::clone(&tally),
    );
    let created =
        super::progress::watch("Issuing links", tally, super::progress::LARGE, created).await;
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
    if let Err(e) = output.finish(&batch::links_csv(&links, args.links_out.excel_bom)) {
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

/// Lists the batches, then the purged ones.
async fn list(store: &Store, time_zone: &TimeZoneSetting) -> CliResult {
    let format_time = |t| format_time_in(t, time_zone);
    let batches = store.list_batches().await?;
    let tombstones = store.list_tombstones().await?;
    if batches.is_empty() && tombstones.is_empty() {
        println!(
            "No batches yet. Create one with `passdrop batch create --name NAME --roster FILE`."
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        ("ID", Align::Left),
        ("NAME", Align::Left),
        ("SUBMITTED", Align::Right),
        ("EXPIRES", Align::Left),
        ("STATE", Align::Left),
    ]);
    let now = config::now();
    for s in &batches {
        let state = if s.batch.expires_at <= now {
            "expired"
        } else {
            "collecting"
        };
        table.row(vec![
            s.batch.id.clone(),
            s.batch.name.clone(),
            format!("{}/{}", s.submitted, s.recipients),
            format_time_in(
                s.batch.expires_at,
                &TimeZoneSetting::or_stored(s.batch.time_zone.as_deref(), time_zone),
            ),
            state.to_owned(),
        ]);
    }
    for t in &tombstones {
        table.row(vec![
            t.batch_id.clone(),
            t.name.clone(),
            format!("{}/{}", t.submitted, t.recipients),
            "-".to_owned(),
            format!("purged {}", format_time(t.purged_at)),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

/// Prints each user's progress in a batch, and what to check with them.
async fn status(store: &Store, time_zone: &TimeZoneSetting, batch: &BatchArg) -> CliResult {
    let b = batch.find(store).await?;
    let zone = TimeZoneSetting::or_stored(b.time_zone.as_deref(), time_zone);
    let format_time = |t| format_time_in(t, &zone);
    let statuses = store.recipient_statuses(&b.id).await?;
    let deliveries = store.deliveries(&b.id).await?;
    let probes = match &b.admin_login {
        Some(_) => Some(store.probe_records(&b.id).await?),
        None => None,
    };
    let now = config::now();
    println!(
        "Batch “{}” (id {}), created {}, links valid until {}",
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
        if let Some(at) = batch::recent_throttling(store, &b.id, now).await? {
            println!(
                "WARNING: {}",
                batch::throttling_advice(&imap.server.to_string(), &format_time(at))
            );
        }
        let app = batch::app_password_required(store, &b.id).await?;
        if !app.is_empty() {
            let emails: Vec<&str> = app.iter().map(|(e, _)| e.as_str()).collect();
            println!(
                "The old server asked for an app password (two-step sign-in) for: {}. They \
                 were told to create one; their tries were not counted.",
                emails.join(", ")
            );
        }
    }
    if let Some(login) = &b.admin_login {
        println!(
            "Mailboxes are opened with the old server's admin login {} ({} form) wherever \
             the probe found it works; only the others get a link.",
            login.user, login.form
        );
    }
    let mut table = Table::new(&[
        ("EMAIL", Align::Left),
        ("STATUS", Align::Left),
        ("READS MAIL", Align::Left),
        ("DETAIL", Align::Left),
    ]);
    let (mut submitted, mut pending, mut pop_risk, mut attention) = (0, 0, 0, 0);
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
        let detail = match s.imap_check {
            Some(ImapCheck::Verified) => {
                format!("{detail} (password checked with the IMAP server)")
            }
            Some(ImapCheck::Unverified) => {
                format!("{detail} (NOT checked: the IMAP server could not be reached)")
            }
            None => detail,
        };
        let detail = match &probes {
            Some(probes) if s.submitted_at.is_none() => {
                let probe = super::admin_login::probe_detail(probes, s.recipient.id);
                if detail.is_empty() {
                    probe
                } else {
                    format!("{detail}; {probe}")
                }
            }
            _ => detail,
        };
        // The user's own word comes first: it is what the admin must act on.
        let mut states = Vec::new();
        if let Some(at) = s.reported_at {
            states.push(format!(
                "REPORTED by the user {} (\"this wasn't me\")",
                format_time(at)
            ));
        }
        if let Some(at) = s.needs_help_at {
            states.push(format!("NEEDS HELP since {}", format_time(at)));
        }
        let detail = match (states.is_empty(), detail.is_empty()) {
            (true, _) => detail,
            (false, true) => states.join("; "),
            (false, false) => format!("{}; {detail}", states.join("; ")),
        };
        attention += usize::from(!states.is_empty());
        if s.submitted_at.is_some() {
            submitted += 1;
        } else {
            pending += 1;
        }
        let client = s.mail_client;
        if client.is_some_and(batch::MailClient::pop_risk) {
            pop_risk += 1;
        }
        let client_text = match client {
            Some(c) if c.pop_risk() => format!("{} (!)", c.as_str()),
            Some(c) => c.as_str().to_owned(),
            None => "-".to_owned(),
        };
        table.row(vec![
            s.recipient.email.clone(),
            status.to_owned(),
            client_text,
            detail,
        ]);
    }
    print!("{}", table.render());
    println!(
        "{submitted} submitted, {pending} not yet, {} in all",
        statuses.len()
    );
    if let Some(probes) = &probes {
        println!(
            "{}",
            super::admin_login::probe_counts(probes, statuses.len())
        );
    }
    if attention > 0 {
        println!(
            "{attention} users reported their link or asked for help: contact them through a \
             channel you trust, then clear their state on the console's batch page."
        );
    }
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
