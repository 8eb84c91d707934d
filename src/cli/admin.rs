//! `passdrop admin init`: choosing the admin passphrase, once per data directory.

use std::path::Path;

use clap::{Args, Subcommand};

use super::{CliResult, Context, PassphraseArgs};
use crate::batch;
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
    let passphrase = args.passphrase.read(true)?;
    batch::init_admin(store, passphrase, KdfParams::DEFAULT).await?;
    eprintln!("Admin created in {}.", data_dir.display());
    eprintln!(
        "Keep the passphrase safe: it is the only way to open the collected passwords, and it \
         cannot be recovered."
    );
    Ok(())
}
