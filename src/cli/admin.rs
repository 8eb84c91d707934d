//! `passdrop admin init`: choosing the admin passphrase, once per data directory (or
//! taking a generated one); `passdrop admin setup-link`: a one-time link to choose it in
//! a browser instead; `passdrop admin change-passphrase`: choosing another.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret as _, SecretString};

use super::io::read_new_passphrase;
use super::{CliResult, Context, Failure, PassphraseArgs};
use crate::batch::{self, BatchError};
use crate::crypto::KdfParams;
use crate::storage::Store;

/// `passdrop admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Choose the admin passphrase (once per data directory).
    Init(InitArgs),
    /// Print a one-time link (valid one hour) to choose the admin passphrase in a
    /// browser; an earlier link stops working.
    SetupLink,
    /// Replace the admin passphrase (the key stays the same: nothing else changes).
    ChangePassphrase(ChangePassphraseArgs),
}

impl AdminCommand {
    /// Runs the `admin` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Init(args) => init(&ctx.store, &ctx.data_dir, &args).await,
            Self::SetupLink => setup_link(ctx).await,
            Self::ChangePassphrase(args) => change_passphrase(&ctx.store, &args).await,
        }
    }
}

/// Prints a fresh one-time setup link on stdout (only there: it is a key until used),
/// replacing any earlier one.
async fn setup_link(ctx: &Context) -> CliResult {
    if ctx.store.admin_exists().await? {
        return Err(anyhow::anyhow!(
            "an admin already exists in {}; log in at /admin/login (nothing was changed)",
            ctx.data_dir.display()
        )
        .into());
    }
    let url = batch::issue_setup_link(&ctx.store, &ctx.url).await?;
    if ctx.given_url().is_none() {
        eprintln!(
            "(No --public-url given: the link uses the listen address {}. Give the server's \
             --public-url if it is reached at another address.)",
            ctx.listen
        );
    }
    eprintln!(
        "Open this link in your browser to choose the admin passphrase. It works once, for \
         one hour; running this command again replaces it."
    );
    println!("{url}");
    Ok(())
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

/// `passdrop admin change-passphrase` options.
#[derive(Debug, Args)]
pub struct ChangePassphraseArgs {
    /// Where the current passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Read the new passphrase from this file instead of PASSDROP_NEW_PASSPHRASE or a
    /// prompt (asked twice).
    #[arg(
        long,
        env = "PASSDROP_NEW_PASSPHRASE_FILE",
        conflicts_with = "generate"
    )]
    pub new_passphrase_file: Option<PathBuf>,
    /// Generate the new passphrase (six random words) and print it to stdout, once.
    #[arg(long)]
    pub generate: bool,
    /// Argon2id memory for the new passphrase, in MiB (64 to 512; each login and export
    /// then takes this much) [default: what the key has now, 64 unless changed]
    #[arg(long, env = "PASSDROP_KDF_MEMORY_MIB")]
    pub kdf_memory_mib: Option<u32>,
}

/// Replaces the admin passphrase: the current one unlocks the key, the new one (checked
/// for strength first) wraps it again, in one transaction that also ends every console
/// session.
async fn change_passphrase(store: &Store, args: &ChangePassphraseArgs) -> CliResult {
    let current = store.admin_key().await?.ok_or(BatchError::NoAdmin)?;
    let kdf = args
        .kdf_memory_mib
        .map(|mib| batch::kdf_with_memory(current.kdf, mib))
        .transpose()
        .map_err(|e| Failure::Usage(format!("--kdf-memory-mib: {e}")))?;
    let old = args.passphrase.read(false)?;
    let new = if args.generate {
        batch::generate_passphrase()?
    } else {
        read_new_passphrase(args.new_passphrase_file.as_deref())?
    };
    batch::check_new_passphrase(&new).map_err(|e| refusal(e, "admin change-passphrase"))?;
    let admin = batch::unlock_admin(store, old).await.map_err(|e| match e {
        BatchError::WrongPassphrase => Failure::Error(anyhow::anyhow!(
            "the current passphrase is wrong; nothing was changed"
        )),
        other => other.into(),
    })?;
    if args.generate {
        print_generated(&new)?;
    }
    match batch::change_admin_passphrase(store, admin, new, kdf, None).await {
        Ok(kdf) => {
            eprintln!(
                "The admin passphrase was changed (Argon2id {} MiB, t={}). The old one no \
                 longer opens anything here; backups made before now still open with it. \
                 Every console session was logged out.",
                kdf.m_cost / 1024,
                kdf.t_cost
            );
            Ok(())
        }
        Err(e) => {
            if args.generate {
                eprintln!("The passphrase printed above was not set; the old one still works.");
            }
            Err(refusal(e, "admin change-passphrase"))
        }
    }
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
