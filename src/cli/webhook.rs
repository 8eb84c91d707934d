//! `passdrop webhook add | list | remove | rotate-secret`: where passdrop POSTs its
//! events, signed as Standard Webhooks. Adding one, or a new secret, takes the
//! passphrase; the `whsec_` secret is printed once.

use clap::{Args, Subcommand};
use secrecy::ExposeSecret as _;

use super::table::{Align, Table};
use super::{CliResult, Context, Failure, PassphraseArgs};
use crate::batch;
use crate::config::{self, format_time_in};
use crate::outbox::webhook::Target;
use crate::outbox::webhook_queue::{self, EVENTS};

/// `passdrop webhook ...`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint and print its signing secret once.
    Add(AddWebhookArgs),
    /// List the endpoints with their last delivery's outcome (never a secret).
    List,
    /// Remove an endpoint and its queued deliveries.
    Remove(WebhookIdArg),
    /// Give an endpoint a new signing secret and print it once.
    RotateSecret(RotateSecretArgs),
}

/// `passdrop webhook add` options.
#[derive(Debug, Args)]
pub struct AddWebhookArgs {
    /// Where to POST the events: an http:// or https:// URL.
    #[arg(long, env = "PASSDROP_WEBHOOK_URL")]
    pub url: String,
    /// Only this batch's events (an id or a name) [default: every batch].
    #[arg(long, env = "PASSDROP_WEBHOOK_BATCH")]
    pub batch: Option<String>,
    /// The events, comma-separated: batch.created, user.opened, user.submitted,
    /// user.verified, batch.completed, batch.purged [default: all].
    #[arg(long, env = "PASSDROP_WEBHOOK_EVENTS", default_value = "")]
    pub events: String,
    /// Where the passphrase comes from (adding an endpoint takes it).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// An endpoint's id.
#[derive(Debug, Args)]
pub struct WebhookIdArg {
    /// The endpoint's id (`wh_...`, from `webhook list`).
    pub id: String,
}

/// `passdrop webhook rotate-secret` options.
#[derive(Debug, Args)]
pub struct RotateSecretArgs {
    /// The endpoint.
    #[command(flatten)]
    pub id: WebhookIdArg,
    /// Where the passphrase comes from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

impl WebhookCommand {
    /// Runs the `webhook` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Add(args) => add(ctx, args).await,
            Self::List => list(ctx).await,
            Self::Remove(arg) => {
                if !ctx.store.delete_webhook(&arg.id).await? {
                    return Err(Failure::Error(anyhow::anyhow!(
                        "no webhook has the id {:?} (`passdrop webhook list`)",
                        arg.id
                    )));
                }
                eprintln!("Webhook {} removed, with its queued deliveries.", arg.id);
                Ok(())
            }
            Self::RotateSecret(args) => {
                let admin = batch::unlock_admin(&ctx.store, args.passphrase.read(false)?).await?;
                let secret = webhook_queue::rotate_secret(&ctx.store, &admin, &args.id.id).await?;
                eprintln!(
                    "New signing secret for {}; the old one no longer signs. It is shown this once.",
                    args.id.id
                );
                println!("{}", secret.expose_secret());
                Ok(())
            }
        }
    }
}

async fn add(ctx: &Context, args: AddWebhookArgs) -> CliResult {
    Target::parse(&args.url).map_err(|e| Failure::Usage(format!("--url: {e}")))?;
    let events = webhook_queue::parse_events(&args.events)
        .map_err(|e| Failure::Usage(format!("--events: {e}")))?;
    let batch_id = match &args.batch {
        Some(b) => Some(batch::find(&ctx.store, b).await?.id),
        None => None,
    };
    let admin = batch::unlock_admin(&ctx.store, args.passphrase.read(false)?).await?;
    let (hook, secret) = webhook_queue::add_webhook(
        &ctx.store,
        &admin,
        &args.url,
        batch_id,
        events,
        config::now(),
    )
    .await?;
    drop(admin);
    eprintln!(
        "Webhook {} added: {} for {} ({}). Its signing secret is shown this once:",
        hook.id,
        hook.url,
        hook.batch_id.as_deref().unwrap_or("every batch"),
        if hook.events == "*" {
            EVENTS.join(", ")
        } else {
            hook.events.replace(' ', ", ")
        }
    );
    println!("{}", secret.expose_secret());
    Ok(())
}

async fn list(ctx: &Context) -> CliResult {
    let hooks = ctx.store.webhooks().await?;
    if hooks.is_empty() {
        println!("No webhooks. Add one with `passdrop webhook add --url URL`.");
        return Ok(());
    }
    let mut table = Table::new(&[
        ("ID", Align::Left),
        ("URL", Align::Left),
        ("BATCH", Align::Left),
        ("EVENTS", Align::Left),
        ("LAST", Align::Left),
    ]);
    for h in &hooks {
        let last = match (&h.last_status, h.last_attempt_at) {
            (Some(status), Some(at)) => format!("{status}, {}", format_time_in(at, &ctx.time_zone)),
            _ => "none yet".to_owned(),
        };
        table.row(vec![
            h.id.clone(),
            h.url.clone(),
            h.batch_id.clone().unwrap_or_else(|| "all".to_owned()),
            h.events.replace(' ', ","),
            last,
        ]);
    }
    print!("{}", table.render());
    Ok(())
}
