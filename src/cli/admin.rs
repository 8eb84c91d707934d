//! `passdrop admin init`: choosing the admin passphrase, once per data directory (or
//! taking a generated one); `passdrop admin setup-link`: a one-time link to choose it in
//! a browser instead; `passdrop admin change-passphrase`: choosing another.

use std::io::Write as _;
use std::path::PathBuf;

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
    /// Write the settings key file (--settings-key-file), or print the line to put in it
    /// when this user cannot write there.
    SettingsKey(SettingsKeyArgs),
    /// List the stored settings that have no signature yet (batches made without the
    /// passphrase or before signatures, a relay saved before) and, with --yes, sign them
    /// as they stand (and write the settings key file if it is missing); check them first.
    SignSettings(SignSettingsArgs),
}

/// `passdrop admin settings-key` options.
#[derive(Debug, Args)]
pub struct SettingsKeyArgs {
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Replace a key file that holds another key (only after checking why it differs).
    #[arg(long)]
    pub replace_settings_key: bool,
}

/// `passdrop admin sign-settings` options.
#[derive(Debug, Args)]
pub struct SignSettingsArgs {
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Sign them: without it, only list what would be signed.
    #[arg(long)]
    pub yes: bool,
}

impl AdminCommand {
    /// Runs the `admin` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Init(args) => init(ctx, &args).await,
            Self::SettingsKey(args) => settings_key(ctx, &args).await,
            Self::SignSettings(args) => sign_settings(ctx, &args).await,
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

/// Writes the settings key file, or says what to put in it.
fn report_key_file(written: batch::KeyFileWrite, ctx: &Context) {
    let path = ctx.settings_key.path().display();
    match written {
        batch::KeyFileWrite::Written => eprintln!("Wrote the settings key file {path}."),
        batch::KeyFileWrite::Unchanged => {
            eprintln!("The settings key file {path} already holds this key.");
        }
        batch::KeyFileWrite::NotWritable { line, why } => eprintln!(
            "Could not write the settings key file {path} ({why}). No link takes a password \
             until it exists. As root, run:\n  mkdir -p {dir} && echo '{line}' > {path} && \
             chmod 0644 {path}",
            dir = ctx
                .settings_key
                .path()
                .parent()
                .map_or_else(|| ".".into(), |p| p.display().to_string()),
        ),
    }
}

/// `passdrop admin settings-key`.
async fn settings_key(ctx: &Context, args: &SettingsKeyArgs) -> CliResult {
    let admin = batch::unlock_admin(&ctx.store, args.passphrase.read(false)?).await?;
    let written =
        batch::install_settings_key(&admin, &ctx.settings_key, args.replace_settings_key)?;
    report_key_file(written, ctx);
    Ok(())
}

/// `passdrop admin sign-settings`: lists, then (with --yes) signs, what has no signature.
async fn sign_settings(ctx: &Context, args: &SignSettingsArgs) -> CliResult {
    let admin = batch::unlock_admin(&ctx.store, args.passphrase.read(false)?).await?;
    if args.yes || ctx.settings_key.load().is_err() {
        // Without a key file nothing verifies: write it first (never over another key).
        report_key_file(
            batch::install_settings_key(&admin, &ctx.settings_key, false)?,
            ctx,
        );
    }
    let unsigned: Vec<_> = ctx
        .store
        .list_batches()
        .await?
        .into_iter()
        .map(|s| s.batch)
        .filter(|b| b.settings_sig.is_none() || b.message_sig.is_none())
        .collect();
    for b in &unsigned {
        println!(
            "batch {:?} ({}): old mail server {}; organisation {:?}; message: {}",
            b.name,
            b.id,
            b.imap
                .as_ref()
                .map_or_else(|| "none".to_owned(), |i| i.server.to_string()),
            b.org_name.as_deref().unwrap_or(""),
            if b.message.is_some() {
                "custom (see `passdrop batch message`)"
            } else {
                "the default"
            },
        );
        if args.yes {
            batch::sign_unsigned(&ctx.store, &admin, b).await?;
        }
    }
    let relay = ctx
        .store
        .smtp_settings()
        .await?
        .filter(|stored| stored.sig.is_none());
    if let Some(mut stored) = relay.clone() {
        println!(
            "the saved SMTP relay {}:{} ({}, from {:?})",
            stored.host, stored.port, stored.security, stored.from
        );
        if args.yes {
            stored.sig = Some(batch::sign_relay(&batch::settings_signer(&admin)?, &stored));
            ctx.store.save_smtp_settings(&stored).await?;
        }
    }
    if (!unsigned.is_empty() || relay.is_some()) && !args.yes {
        eprintln!("Nothing was signed: check the settings above, then run again with --yes.");
    } else if args.yes {
        eprintln!("Every stored setting is signed.");
    }
    Ok(())
}

/// Chooses the admin passphrase, unless an admin exists, and writes the settings key file.
async fn init(ctx: &Context, args: &InitArgs) -> CliResult {
    let (store, data_dir) = (&ctx.store, ctx.data_dir.as_path());
    if store.admin_exists().await? {
        return Err(anyhow::anyhow!(
            "an admin already exists in {}; nothing was changed",
            data_dir.display()
        )
        .into());
    }
    // A new admin has a new settings key: a key file that already holds one belongs to
    // another admin (or data directory) and is never replaced by init.
    if ctx.settings_key.load().is_ok() {
        return Err(anyhow::anyhow!(
            "the settings key file {} already holds another admin's key; nothing was \
             changed. Give this data directory its own --settings-key-file, or remove that \
             file if it is stale",
            ctx.settings_key.path().display()
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
    let admin = match batch::init_admin(store, passphrase, KdfParams::DEFAULT).await {
        Ok(admin) => admin,
        Err(e) => {
            if args.generate {
                eprintln!("The passphrase printed above was not set.");
            }
            return Err(refusal(e, "admin init"));
        }
    };
    eprintln!("Admin created in {}.", data_dir.display());
    report_key_file(
        batch::install_settings_key(&admin, &ctx.settings_key, false)?,
        ctx,
    );
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
