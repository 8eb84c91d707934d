//! `passdrop admin init`: choosing the admin passphrase, once per data directory (or
//! taking a generated one).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret as _, SecretString};

use super::{CliResult, Context, Failure, PassphraseArgs};
use crate::batch::{self, BatchError};
use crate::crypto::KdfParams;
use crate::storage::Store;

/// `passdrop admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Choose the admin passphrase (once per data directory).
    Init(InitArgs),
}

impl AdminCommand {
    /// Runs the `admin` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Init(args) => init(&ctx.store, &ctx.data_dir, &args).await,
        }
    }
}

/// `passdrop admin init` options.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Generate the passphrase (six random words) and print it to stdout, once.
    #[arg(long, conflicts_with = "passphrase_file")]
    pub generate: bool,
}

/// Chooses the admin passphrase, unless an admin exists.
async fn init(store: &Store, data_dir: &Path, args: &InitArgs) -> CliResult {
    if store.admin_exists().await? {
        return Err(anyhow::anyhow!(
            "an admin already exists in {}; nothing was changed",
            data_dir.display()
        )
        .into());
    }
    let passphrase = if args.generate {
        let generated = batch::generate_passphrase()?;
        print_generated(&generated)?;
        generated
    } else {
        args.passphrase.read(true)?
    };
    if let Err(e) = batch::init_admin(store, passphrase, KdfParams::DEFAULT).await {
        if args.generate {
            eprintln!("The passphrase printed above was not set.");
        }
        return Err(refusal(e, "admin init"));
    }
    eprintln!("Admin created in {}.", data_dir.display());
    eprintln!(
        "Keep the passphrase safe: it is the only way to open the collected passwords, and it \
         cannot be recovered."
    );
    Ok(())
}

/// A refused new passphrase is bad usage (exit 2), with a hint to generate one; any
/// other failure is an error.
fn refusal(e: BatchError, command: &str) -> Failure {
    match e {
        BatchError::WeakPassphrase(why) => Failure::Usage(format!(
            "{}. Nothing was changed: choose another, or run `passdrop {command} --generate` \
             to have one made",
            why.trim_end_matches('.')
        )),
        other => other.into(),
    }
}

/// Prints a generated passphrase to stdout, once, before it is set: if it cannot be
/// written, it is not set either. Nothing else ever shows it.
fn print_generated(passphrase: &SecretString) -> CliResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", passphrase.expose_secret())
        .and_then(|()| out.flush())
        .context("could not write the generated passphrase to stdout; nothing was changed")?;
    eprintln!(
        "Above is the new admin passphrase: six random words. Store it in your password \
         manager now; passdrop shows it only this once and keeps no copy."
    );
    Ok(())
}
