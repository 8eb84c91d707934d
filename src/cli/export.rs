//! `passdrop export` and `passdrop purge`: the end of a batch, where the passwords
//! leave (decrypted, with the passphrase) and then everything is deleted.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::io::Output;
use super::progress;
use super::{BatchArg, CliResult, Context, Failure, PassphraseArgs};
use crate::batch::{self, ExportOutlook, PurgeChoice, PurgePlan};
use crate::config::{self, TimeZoneSetting};
use crate::export::imapsync::DestLogin;
use crate::export::powershell::DEFAULT_MAX_CONCURRENT;
use crate::export::{Format, Target, closing_checklist};
use crate::storage::Store;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Microsoft 365 IMAP migration CSV: EmailAddress,UserName,Password[,UserRoot].
    M365,
    /// The Microsoft 365 CSV (to --out) and a PowerShell script beside it (same name,
    /// .ps1) that creates the IMAP endpoint and the migration batch; no password in it.
    #[value(name = "m365-powershell")]
    M365Powershell,
    /// BitTitan MigrationWiz Bulk Add CSV.
    #[value(name = "migrationwiz")]
    MigrationWiz,
    /// Google Workspace Migration for Microsoft Exchange: `userid#password, target` lines.
    Gwmme,
    /// imapsync: `host1;user1;password1;host2;user2;password2;extra;` lines (needs
    /// --dest-host).
    Imapsync,
}

impl ExportFormat {
    fn format(self) -> Format {
        match self {
            Self::M365 => Format::M365,
            Self::M365Powershell => Format::M365PowerShell,
            Self::MigrationWiz => Format::MigrationWiz,
            Self::Gwmme => Format::Gwmme,
            Self::Imapsync => Format::Imapsync,
        }
    }
}

/// The destination login of an imapsync line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DestLoginArg {
    /// The user's EmailAddress.
    Email,
    /// The user's UserName (their login on the old server).
    UserName,
}

/// `passdrop export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Output format.
    #[arg(long, env = "PASSDROP_FORMAT", value_enum, default_value = "m365")]
    pub format: ExportFormat,
    /// Write here (created 0600, never overwritten) instead of stdout; required for
    /// m365-powershell, whose script goes beside it.
    #[arg(long, env = "PASSDROP_OUT")]
    pub out: Option<PathBuf>,
    /// imapsync: the destination IMAP host (host2); used for this file, never stored.
    #[arg(long, env = "PASSDROP_DEST_HOST")]
    pub dest_host: Option<String>,
    /// imapsync: the destination login (user2): the EmailAddress or the UserName.
    #[arg(long, env = "PASSDROP_DEST_LOGIN", value_enum, default_value = "email")]
    pub dest_login: DestLoginArg,
    /// m365-powershell: the endpoint's concurrent migrations and incremental syncs.
    #[arg(long, env = "PASSDROP_MAX_CONCURRENT", default_value_t = DEFAULT_MAX_CONCURRENT)]
    pub max_concurrent: u32,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Purge the batch once the file is written (the links of users who have not
    /// submitted stop working at once; they are named).
    #[arg(long, env = "PASSDROP_PURGE", conflicts_with = "keep_collecting")]
    pub purge: bool,
    /// Partial export, keep collecting: leave the automatic purge date as it is.
    #[arg(long, env = "PASSDROP_KEEP_COLLECTING")]
    pub keep_collecting: bool,
    /// Deliberately let the automatic purge come the batch's retention after export
    /// (--retain-after-export) after this export, even before the links of users who
    /// have not submitted expire. Without it, an export never brings the purge before
    /// those links expire.
    #[arg(
        long,
        env = "PASSDROP_ALLOW_EARLY_PURGE",
        conflicts_with = "keep_collecting"
    )]
    pub allow_early_purge: bool,
    /// Keep the users whose last re-check (`batch recheck`) found their password changed,
    /// or the old server's admin login (or its password) refused (left out otherwise;
    /// named on stderr).
    #[arg(long, env = "PASSDROP_INCLUDE_STALE")]
    pub include_stale: bool,
}

impl ExportArgs {
    /// Decrypts the batch and writes the file; purges the batch after if asked.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        export(&ctx.store, &ctx.settings_key, &ctx.time_zone, self).await
    }
}

/// `passdrop purge` options.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Do not ask for confirmation.
    #[arg(long, env = "PASSDROP_YES")]
    pub yes: bool,
}

impl PurgeArgs {
    /// Deletes the batch for good, once confirmed.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        purge(&ctx.store, self).await
    }
}

/// Writes a batch's passwords in the chosen format (and, for m365-powershell, the
/// script beside the CSV); nothing is written when a value cannot be carried.
async fn export(
    store: &Store,
    key_file: &batch::SettingsKeyFile,
    zone: &TimeZoneSetting,
    args: ExportArgs,
) -> CliResult {
    let format = args.format.format();
    let script_path = match (format, &args.out) {
        (Format::M365PowerShell, None) => {
            return Err(Failure::Usage(
                "--format m365-powershell needs --out FILE.csv: the script goes beside it"
                    .to_owned(),
            ));
        }
        (Format::M365PowerShell, Some(out)) => Some(script_path(out)?),
        _ => None,
    };
    if format == Format::Imapsync && args.dest_host.is_none() {
        return Err(Failure::Usage(
            "--format imapsync needs --dest-host HOST (the destination IMAP server)".to_owned(),
        ));
    }
    let b = args.batch.find(store).await?;
    let target = match format {
        Format::M365 | Format::M365PowerShell => Target::M365,
        Format::MigrationWiz => Target::MigrationWiz,
        Format::Gwmme => Target::Gwmme,
        Format::Imapsync => {
            let login = match args.dest_login {
                DestLoginArg::Email => DestLogin::Email,
                DestLoginArg::UserName => DestLogin::UserName,
            };
            batch::imapsync_target(&b, args.dest_host.as_deref().unwrap_or_default(), login)?
        }
    };
    // The script holds no secret; it is made before anything is opened, so a setting it
    // cannot carry stops the export before the passphrase is asked for.
    let script = match (&script_path, &args.out) {
        (Some(_), Some(out)) => {
            let csv_name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                Failure::Usage("--out must end in a file name of UTF-8 text".to_owned())
            })?;
            Some(
                batch::powershell_script(store, key_file, &b, csv_name, args.max_concurrent)
                    .await?,
            )
        }
        _ => None,
    };
    let output = Output::open(args.out.as_deref())?;
    let script_file = script_path
        .as_deref()
        .map(crate::export::SecretFile::create)
        .transpose()?;
    let passphrase = args.passphrase.read(false)?;
    // Argon2 takes one core; the sealed passwords are read from the database on another
    // meanwhile (they stay sealed until the batch key is open). The debug events mark
    // the export's steps, so `PASSDROP_LOG=passdrop=debug` times them (README,
    // "Performance").
    tracing::debug!("export: passphrase read");
    let (admin, read) = tokio::join!(
        async {
            let admin = batch::unlock_admin(store, passphrase).await;
            tracing::debug!("export: admin key unlocked");
            admin
        },
        async {
            let read = batch::read_for_export(store, &b).await;
            tracing::debug!("export: sealed passwords read");
            read
        }
    );
    let (admin, read) = (admin?, read?);
    let choice = if args.keep_collecting {
        PurgeChoice::KeepCollecting
    } else if args.allow_early_purge {
        PurgeChoice::Early
    } else {
        PurgeChoice::AfterLinksExpire
    };
    let tally = batch::Tally::new();
    let prepared = batch::prepare_export_from(
        store,
        &b,
        &admin,
        &target,
        Some(Arc::clone(&tally)),
        args.include_stale,
        read,
    );
    let mut exported =
        progress::watch("Opening passwords", tally, progress::LARGE, prepared).await?;
    drop(admin);
    // The file (and the script) are written and synced on a blocking thread while the
    // purge plan is read; the export is recorded only once they are whole.
    let now = config::now();
    let csv = std::mem::take(&mut exported.csv);
    let script_out = script_file.zip(script);
    // The script (no secret) first: a script that cannot be written leaves no CSV.
    let write = tokio::task::spawn_blocking(move || -> CliResult {
        if let Some((file, script)) = script_out {
            file.finish(script.as_bytes())?;
        }
        output.finish(&csv)
    });
    let (written, plan) = tokio::join!(
        write,
        batch::export_purge_plan(store, &b, &exported, choice, now)
    );
    written
        .map_err(anyhow::Error::new)
        .context("writing the export's file stopped")??;
    tracing::debug!("export: file written");
    // The file is whole from here on: a failure to record it says so.
    let recorded = match plan {
        Ok(plan) => batch::mark_export_of(store, &b, &exported, &plan, now)
            .await
            .map(|()| plan),
        Err(e) => Err(e),
    };
    let plan = recorded.map_err(|e| {
        let written = match &args.out {
            Some(out) => format!("{} is whole", out.display()),
            None => "the file went to standard output whole".to_owned(),
        };
        Failure::from(match &e {
            batch::BatchError::Store(crate::storage::StoreError::NoSuchBatch(_)) => {
                anyhow::anyhow!(
                    "{written}, but the batch was purged meanwhile, so this export is not \
                     recorded"
                )
            }
            other => anyhow::anyhow!(
                "{written}, but this export could not be recorded ({other}); until an export \
                 is recorded, a purge names its users as in no exported file"
            ),
        })
    })?;
    tracing::debug!("export: recorded");
    match &args.out {
        Some(out) => eprintln!("Wrote {} rows to {}.", exported.rows, out.display()),
        None => eprintln!("Wrote {} rows.", exported.rows),
    }
    if let Some(path) = &script_path {
        eprintln!(
            "Wrote the PowerShell script to {} (it holds no password; run it in Exchange \
             Online PowerShell from the CSV's folder).",
            path.display()
        );
    }
    if !exported.formula_risk.is_empty() {
        eprintln!("{}", crate::export::formula_warning(&exported.formula_risk));
    }
    if !exported.stale.is_empty() {
        eprintln!(
            "{} {} whose password changed, or whom the admin login no longer opens, since \
             collection (batch recheck): {}",
            if args.include_stale {
                "Included"
            } else {
                "Left out"
            },
            exported.stale.len(),
            exported.stale.join(", ")
        );
    }
    if let Some(at) = batch::admin_login::admin_password_refused(store, &b).await? {
        eprintln!(
            "Warning: the old server refused the admin password at the re-check of {} \
             ([AUTHENTICATIONFAILED]): {} the users its admin login covers. Set the admin login \
             again (`passdrop batch set-imap --imap-admin-password-file`), or run `passdrop \
             batch recheck` once the old server takes it again.",
            config::format_time(at),
            if args.include_stale {
                "the file still writes it into the rows of"
            } else {
                "the file leaves out"
            }
        );
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
    // Whoever submitted (or submitted again) after the read: in no file recorded so far.
    let late = batch::submitted_since(store, &b, &exported).await?;
    if !late.is_empty() {
        let names = late.join(", ");
        if args.purge {
            return Err(anyhow::anyhow!(
                "{} users submitted while this file was being made, so their passwords are \
                 not in it: {names}. Nothing was purged; export again.",
                late.len()
            )
            .into());
        }
        eprintln!(
            "{} users submitted while this file was being made; their passwords are not in \
             it: {names}. Export again before the purge.",
            late.len()
        );
    }
    if args.purge {
        let outlook = batch::export_outlook(store, &b, config::now()).await?;
        eprint!("{}", links_stopped(&outlook));
        // Nothing may be lost: a user who submits from here on stops the purge.
        let t = batch::purge_discarding(store, &b, config::now(), &Default::default()).await?;
        eprintln!(
            "Purged batch “{}”: keys, passwords, links and roster are deleted.",
            t.name
        );
    } else {
        let zone = TimeZoneSetting::or_stored(b.time_zone.as_deref(), zone);
        eprintln!("{}", plan_words(&plan, &zone));
    }
    eprintln!("When the migration is done:");
    for (i, step) in closing_checklist(format).iter().enumerate() {
        eprintln!("  {}. {step}", i + 1);
    }
    Ok(())
}

/// The script's path for a CSV at `out`: the same name with `.ps1`.
fn script_path(out: &Path) -> Result<PathBuf, Failure> {
    let script = out.with_extension("ps1");
    if script == out {
        return Err(Failure::Usage(
            "--out must not end in .ps1: the script is written beside the CSV under that name"
                .to_owned(),
        ));
    }
    Ok(script)
}

/// What the export did to the automatic purge, in one or two sentences.
fn plan_words(plan: &PurgePlan, zone: &TimeZoneSetting) -> String {
    let format_time = |t| config::format_time_in(t, zone);
    let when = format_time(plan.purge_at);
    if plan.purge_at == plan.purge_at_before {
        return match plan.choice {
            PurgeChoice::KeepCollecting => {
                format!("Partial export, collecting goes on: the automatic purge stays on {when}.")
            }
            _ => format!("The automatic purge stays on {when}."),
        };
    }
    let moved = format!(
        "The automatic purge moved from {} to {when}",
        format_time(plan.purge_at_before)
    );
    match plan.links_until {
        Some(until) if plan.cuts_links_short() => format!(
            "WARNING: {moved}, before the links of users who have not submitted expire (the \
             last on {}); after the purge those links only say the collection has closed.",
            format_time(until)
        ),
        Some(_) => format!("{moved}, once the links of users who have not submitted expire."),
        None => format!("{moved}."),
    }
}

/// Before a purge: who has not submitted and whose link stops working now.
fn links_stopped(outlook: &ExportOutlook) -> String {
    let live: Vec<&str> = outlook
        .with_live_links()
        .map(|p| p.email.as_str())
        .collect();
    if live.is_empty() {
        return String::new();
    }
    format!(
        "{} {} not submitted and {} working link{} that stop{} working now: {}\n",
        live.len(),
        if live.len() == 1 {
            "user has"
        } else {
            "users have"
        },
        if live.len() == 1 { "has a" } else { "have" },
        if live.len() == 1 { "" } else { "s" },
        if live.len() == 1 { "s" } else { "" },
        live.join(", ")
    )
}

/// The warning before a purge that destroys passwords no recorded export read
/// (`batch::Unexported`), naming their users; empty when there are none. The command
/// line does not refuse: typing the batch name (or `--yes`) is the decision.
fn passwords_lost(outlook: &batch::ExportOutlook) -> String {
    let lost = &outlook.unexported.emails;
    if lost.is_empty() {
        return String::new();
    }
    let one = lost.len() == 1;
    let (whose, them) = if one {
        ("user's password is", "it")
    } else {
        ("users' passwords are", "them")
    };
    let why = match (outlook.last_export, one) {
        (None, _) => "the batch was never exported",
        (Some(_), true) => "no export was recorded since it was submitted",
        (Some(_), false) => "no export was recorded since they were submitted",
    };
    format!(
        "Warning: {} {whose} in no exported file ({why}), and the purge destroys {them}: \
         {}. Run `passdrop export` first to keep {them}.\n",
        lost.len(),
        lost.join(", "),
    )
}

/// Asks for confirmation (the batch name, or --yes) and purges the batch.
async fn purge(store: &Store, args: PurgeArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    let outlook = batch::export_outlook(store, &b, config::now()).await?;
    eprint!("{}", links_stopped(&outlook));
    eprint!("{}", passwords_lost(&outlook));
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage(
                "purge deletes the batch for good; confirm with --yes when not running in a terminal"
                    .to_owned(),
            ));
        }
        eprint!(
            "This deletes every password, link and roster row of batch “{}” for good.\n\
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
    // Only the passwords named above may be lost: a user who submitted while the name
    // was typed stops the purge.
    let t = batch::purge_discarding(store, &b, config::now(), &outlook.unexported).await?;
    eprintln!(
        "Purged batch “{}” ({} {}, {} had submitted): keys, passwords, links and roster are deleted.",
        t.name,
        t.recipients,
        if t.recipients == 1 { "user" } else { "users" },
        t.submitted
    );
    Ok(())
}
