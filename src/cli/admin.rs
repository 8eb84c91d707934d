//! `passdrop admin init`: choosing the admin passphrase, once per data directory; and
//! `passdrop admin setup-link`: a one-time link to choose it in a browser instead.

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
    /// Print a one-time link (valid one hour) to choose the admin passphrase in a
    /// browser; an earlier link stops working.
    SetupLink,
}

impl AdminCommand {
    /// Runs the `admin` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Init(args) => init(&ctx.store, &ctx.data_dir, &args).await,
            Self::SetupLink => setup_link(ctx).await,
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
