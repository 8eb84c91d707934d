//! `passdrop link reissue [--send] | revoke | clear-state`: one user's link (and their
//! "needs help" / "reported" state).

use clap::{Args, Subcommand};

use super::args::RELAY_PASSPHRASE_HELP;
use super::io::Output;
use super::send::run_sending;
use super::smtp::{relay_unlocking, smtp_settings};
use super::{BatchArg, CliResult, Context, Failure, LinksOutArg, PassphraseArgs, SmtpArgs};
use crate::batch;
use crate::config::{self, PublicUrl};
use crate::outbox;
use crate::storage::Store;

/// `passdrop link ...`
#[derive(Debug, Subcommand)]
// Parsed once per run; boxing the larger argument set would gain nothing.
#[allow(clippy::large_enum_variant)]
pub enum LinkCommand {
    /// Issue a new link for one user; their old link stops working.
    Reissue(ReissueArgs),
    /// Withdraw one user's link.
    Revoke(RevokeArgs),
    /// Clear one user's "needs help" or "reported" state, once you have dealt with it.
    ClearState(RevokeArgs),
}

impl LinkCommand {
    /// Runs the `link` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Reissue(args) if args.send => {
                let url = ctx.url_for_email()?;
                reissue_and_send(&ctx.store, url, &args, &ctx.settings_key, &ctx.time_zone).await
            }
            Self::Reissue(args) => reissue(&ctx.store, &ctx.url, &args).await,
            Self::Revoke(args) => revoke(&ctx.store, &args).await,
            Self::ClearState(args) => clear_state(&ctx.store, &args).await,
        }
    }
}

/// `passdrop link reissue` options.
#[derive(Debug, Args)]
#[command(mut_arg("passphrase_file", |a| a.help(RELAY_PASSPHRASE_HELP)))]
pub struct ReissueArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// The user's EmailAddress.
    pub email: String,
    /// Where the links go.
    #[command(flatten)]
    pub links_out: LinksOutArg,
    /// Email the new link at once (through the relay of the --smtp-* options, or
    /// the saved one) instead of printing it.
    #[arg(long)]
    pub send: bool,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The SMTP relay's settings.
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

/// `passdrop link revoke` options.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The batch.
    #[command(flatten)]
    pub batch: BatchArg,
    /// The user's EmailAddress.
    pub email: String,
}

/// Reissues one user's link and emails it at once (the link is not printed).
async fn reissue_and_send(
    store: &Store,
    url: &PublicUrl,
    args: &ReissueArgs,
    key_file: &crate::batch::SettingsKeyFile,
    time_zone: &crate::config::TimeZoneSetting,
) -> CliResult {
    let email = args.email.as_str();
    let configured = smtp_settings(&args.smtp)?;
    let b = args.batch.find(store).await?;
    store.recipient(&b, email).await?;
    let settings = relay_unlocking(store, configured, &args.passphrase).await?;
    settings
        .test_connection()
        .await
        .map_err(|e| anyhow::anyhow!("the relay cannot be used, so no link was reissued: {e}"))?;
    let recipient = store.recipient(&b, email).await?;
    let link = batch::reissue(store, url, &b, email, config::now()).await?;
    eprintln!(
        "Issued a new link for {}; the previous one no longer works.",
        link.email
    );
    let letters = vec![outbox::Letter { recipient, link }];
    let selection = outbox::Selection::One(email.to_owned());
    outbox::enqueue(store, &b, &letters, &selection, config::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let job = outbox::Job::new(
        &b.id,
        settings,
        letters,
        key_file.clone(),
        time_zone.clone(),
    );
    let failed = run_sending(
        store,
        &b.id,
        &job,
        1.0,
        config::DEFAULT_SEND_RETRY_WAIT,
        true,
    )
    .await?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Error(anyhow::anyhow!(
            "the new link was not emailed; send it again with `passdrop send {} --to {email}`",
            b.name
        )))
    }
}

/// Reissues one user's link and writes it out as a links CSV.
async fn reissue(store: &Store, url: &PublicUrl, args: &ReissueArgs) -> CliResult {
    let output = Output::open(args.links_out.links_out.as_deref())?;
    let b = args.batch.find(store).await?;
    let link = batch::reissue(store, url, &b, &args.email, config::now()).await?;
    output.finish(&batch::links_csv(
        std::slice::from_ref(&link),
        args.links_out.excel_bom,
    ))?;
    eprintln!(
        "Issued a new link for {}; the previous one no longer works.",
        link.email
    );
    Ok(())
}

/// Withdraws one user's link.
async fn revoke(store: &Store, args: &RevokeArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    batch::revoke(store, &b, &args.email).await?;
    eprintln!("Revoked the link of {} in batch “{}”.", args.email, b.name);
    Ok(())
}

/// Clears a user's "needs help" / "reported" state (the link stays as it is).
async fn clear_state(store: &Store, args: &RevokeArgs) -> CliResult {
    let b = args.batch.find(store).await?;
    if !store
        .clear_user_state(&b, &args.email, config::now())
        .await?
    {
        return Err(Failure::Error(anyhow::anyhow!(
            "{} has no \"needs help\" or \"reported\" state in batch “{}”; nothing was changed",
            args.email,
            b.name
        )));
    }
    eprintln!(
        "Cleared the help/report state of {} in batch “{}”.",
        args.email, b.name
    );
    Ok(())
}
