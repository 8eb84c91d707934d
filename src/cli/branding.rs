//! `passdrop batch branding` and the branding options of `batch create`: who is asking
//! (contact, logo, accent colour, link prefix). Every value is checked before anything is
//! written, and a change takes the passphrase (it signs the batch's settings).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::{BatchArg, CliResult, Failure, PassphraseArgs};
use crate::batch::{self, BrandingChange};
use crate::config::{PublicUrl, now};
use crate::storage::{Batch, Branding, LogoChange, Store};

/// Who is asking, as users see it on the form, every refusal page and the email.
#[derive(Debug, Args, Default)]
pub struct BrandingArgs {
    /// The contact users may ask (name), shown on the pages and signing the default email.
    #[arg(long)]
    pub contact_name: Option<String>,
    /// The contact's role, e.g. "IT manager".
    #[arg(long)]
    pub contact_role: Option<String>,
    /// The contact's phone number (digits, spaces and + ( ) - . /).
    #[arg(long)]
    pub contact_phone: Option<String>,
    /// The contact's email address.
    #[arg(long)]
    pub contact_email: Option<String>,
    /// A logo (PNG or JPEG, at most 512 KiB and 2048x2048 px); passdrop re-encodes it as
    /// PNG and serves it itself.
    #[arg(long, value_name = "FILE")]
    pub logo: Option<PathBuf>,
    /// The accent colour, #rrggbb (light mode; at least 4.5:1 against white text).
    #[arg(long, visible_alias = "accent-color", value_name = "#RRGGBB")]
    pub accent_colour: Option<String>,
    /// The line "our link always starts with ..." (an https prefix of this server's
    /// links, e.g. https://passdrop.example.org/s/).
    #[arg(long, value_name = "URL")]
    pub link_prefix: Option<String>,
}

impl BrandingArgs {
    fn change(&self) -> BrandingChange {
        BrandingChange {
            contact_name: self.contact_name.clone(),
            contact_role: self.contact_role.clone(),
            contact_phone: self.contact_phone.clone(),
            contact_email: self.contact_email.clone(),
            accent_colour: self.accent_colour.clone(),
            link_prefix: self.link_prefix.clone(),
        }
    }

    /// Checks every value (and reads and re-encodes the logo) against `current`: the
    /// branding to store and the logo change. Nothing is written.
    pub(super) fn prepare(
        &self,
        current: &Branding,
        url: &PublicUrl,
    ) -> Result<(Branding, LogoChange), Failure> {
        let branding = self
            .change()
            .apply(current, url)
            .map_err(|e| Failure::Usage(format!("--{}", flag_of(&e))))?;
        let logo = match &self.logo {
            None => LogoChange::Keep,
            Some(path) => LogoChange::Set(read_logo(path)?),
        };
        Ok((branding, logo))
    }

    /// Whether any branding option was given.
    pub(super) fn given(&self) -> bool {
        !self.change().is_empty() || self.logo.is_some()
    }
}

/// "contact phone: ..." → "contact-phone: ...": the option the message is about.
fn flag_of(message: &str) -> String {
    match message.split_once(':') {
        Some((field, rest)) => format!("{}:{rest}", field.replace(' ', "-")),
        None => message.to_owned(),
    }
}

fn read_logo(path: &Path) -> Result<Vec<u8>, Failure> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("--logo: could not read {}", path.display()))?;
    if meta.len() > u64::try_from(batch::MAX_LOGO_BYTES).unwrap_or(u64::MAX) {
        return Err(Failure::Usage(format!(
            "--logo: {} is {} KiB; at most {} KiB",
            path.display(),
            meta.len().div_ceil(1024),
            batch::MAX_LOGO_BYTES / 1024
        )));
    }
    let bytes = std::fs::read(path)
        .with_context(|| format!("--logo: could not read {}", path.display()))?;
    let name = path.file_name().and_then(|n| n.to_str());
    batch::prepare_logo(&bytes, name)
        .map_err(|e| Failure::Usage(format!("--logo {}: {e}", path.display())))
}

/// `passdrop batch branding` options.
#[derive(Debug, Args)]
pub struct BrandingCommandArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// Where the passphrase comes from, to change the branding (it signs it).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The new values; an empty one ("") removes that item. None: print the branding.
    #[command(flatten)]
    pub branding: BrandingArgs,
    /// Remove the logo.
    #[arg(long, conflicts_with = "logo")]
    pub no_logo: bool,
}

/// `passdrop batch branding`: changes a batch's branding (all checked first; the
/// passphrase signs it), or prints it.
pub(super) async fn branding(
    store: &Store,
    url: &PublicUrl,
    args: &BrandingCommandArgs,
) -> CliResult {
    let b = args.batch.find(store).await?;
    if !args.branding.given() && !args.no_logo {
        print_branding(&b, url);
        return Ok(());
    }
    let (branding, mut logo) = args.branding.prepare(&b.branding, url)?;
    if args.no_logo {
        logo = LogoChange::Remove;
    }
    let admin = batch::unlock_admin(store, args.passphrase.read(false)?).await?;
    batch::set_branding(store, &b, branding, logo, &admin, now()).await?;
    eprintln!("Batch “{}”: branding changed.", b.name);
    Ok(())
}

/// Sets the branding of a batch just created (`batch create`), its values checked
/// before the batch was.
pub(super) async fn apply_new(
    store: &Store,
    created: &Batch,
    prepared: (Branding, LogoChange),
    admin: &crate::crypto::AdminKey,
) -> CliResult {
    let (branding, logo) = prepared;
    if !branding.is_set() && logo == LogoChange::Keep {
        return Ok(());
    }
    let created = store.require_batch(&created.id).await?;
    batch::set_branding(store, &created, branding, logo, admin, now()).await?;
    Ok(())
}

fn print_branding(b: &Batch, url: &PublicUrl) {
    let br = &b.branding;
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".to_owned());
    println!(
        "Organisation:  {}",
        b.org_name.clone().unwrap_or_else(|| "(not set)".to_owned())
    );
    println!("Contact name:  {}", show(&br.contact_name));
    println!("Contact role:  {}", show(&br.contact_role));
    println!("Contact phone: {}", show(&br.contact_phone));
    println!("Contact email: {}", show(&br.contact_email));
    println!("Accent colour: {}", show(&br.accent_colour));
    println!(
        "Link prefix:   {}",
        br.link_prefix.clone().unwrap_or_else(|| format!(
            "(not set; suggested: {})",
            batch::suggested_link_prefix(url)
        ))
    );
    println!(
        "Logo:          {}",
        br.logo_sha256.as_ref().map_or_else(
            || "(none)".to_owned(),
            |d| format!("PNG, SHA-256 {}", hex::encode(d))
        )
    );
}
