//! `passdrop export` and `passdrop purge`: the end of a batch, where the passwords
//! leave (decrypted, with the passphrase) and then everything is deleted.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::io::Output;
use super::{BatchArg, CliResult, Context, Failure, PassphraseArgs};
use crate::batch;
use crate::config;
use crate::storage::Store;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Microsoft 365 IMAP migration CSV: EmailAddress,UserName,Password[,UserRoot].
    M365,
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
    /// Write here (created 0600, never overwritten) instead of stdout.
    #[arg(long, env = "PASSDROP_OUT")]
    pub out: Option<PathBuf>,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Purge the batch once the file is written.
    #[arg(long, env = "PASSDROP_PURGE")]
    pub purge: bool,
}

impl ExportArgs {
    /// Decrypts the batch and writes the file; purges the batch after if asked.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        export(&ctx.store, self).await
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

/// Writes the Microsoft 365 CSV of a batch.
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
    if !exported.formula_risk.is_empty() {
        eprintln!("{}", crate::export::formula_warning(&exported.formula_risk));
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

/// Asks for confirmation (the batch name, or --yes) and purges the batch.
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
