//! `passdrop api-token create | list | revoke`: the bearer tokens of `/api/v1/`. A token
//! is printed once, at creation; only its SHA-256 is stored.

use clap::{Args, Subcommand};
use secrecy::ExposeSecret as _;

use super::table::{Align, Table};
use super::{CliResult, Context, Failure, PassphraseArgs};
use crate::batch;
use crate::config::{self, format_time_in};
use crate::storage::ApiScope;

/// `passdrop api-token ...`
#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Make a token for the HTTP API and print it once (only its hash is kept).
    Create(CreateTokenArgs),
    /// List the tokens: name, scope, created, expires, last used (never the token).
    List,
    /// Revoke a token: it stops working at once.
    Revoke(RevokeTokenArgs),
}

/// `passdrop api-token create` options.
#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// The token's unique name, shown in the audit trail (letters, digits, . _ -).
    #[arg(long, env = "PASSDROP_TOKEN_NAME")]
    pub name: String,
    /// What the token may do: `read` (list batches and states) or `write` (also create,
    /// revoke, reissue, send and purge; those that open secrets still take the
    /// passphrase in the request).
    #[arg(long, env = "PASSDROP_TOKEN_SCOPE", default_value = "read", value_parser = ApiScope::parse)]
    pub scope: ApiScope,
    /// How long the token works: 10m to 366d, e.g. 30d.
    #[arg(long, env = "PASSDROP_TOKEN_EXPIRES_IN", default_value = batch::DEFAULT_API_TOKEN_LIFETIME)]
    pub expires_in: String,
    /// Where the passphrase comes from (making a token takes it).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `passdrop api-token revoke` options.
#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's name.
    pub name: String,
}

impl ApiTokenCommand {
    /// Runs the `api-token` command chosen.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        match self {
            Self::Create(args) => create(ctx, args).await,
            Self::List => list(ctx).await,
            Self::Revoke(args) => {
                batch::revoke_api_token(&ctx.store, &args.name).await?;
                eprintln!("The API token {:?} is revoked.", args.name);
                Ok(())
            }
        }
    }
}

async fn create(ctx: &Context, args: CreateTokenArgs) -> CliResult {
    let lifetime = batch::parse_api_token_lifetime(&args.expires_in)
        .map_err(|e| Failure::Usage(format!("--expires-in: {e}")))?;
    let admin = batch::unlock_admin(&ctx.store, args.passphrase.read(false)?).await?;
    let made = batch::create_api_token(
        &ctx.store,
        &admin,
        &args.name,
        args.scope,
        lifetime,
        config::now(),
    )
    .await?;
    drop(admin);
    eprintln!(
        "API token {:?} ({} scope), valid until {}. It is shown this once; only its hash is \
         kept. Send it as `Authorization: Bearer <token>`.",
        made.token.name,
        made.token.scope.as_str(),
        format_time_in(made.token.expires_at, &ctx.time_zone)
    );
    println!("{}", made.text.expose_secret());
    Ok(())
}

async fn list(ctx: &Context) -> CliResult {
    let tokens = ctx.store.api_tokens().await?;
    if tokens.is_empty() {
        println!("No API tokens. Make one with `passdrop api-token create --name NAME`.");
        return Ok(());
    }
    let now = config::now();
    let time = |t: i64| format_time_in(t, &ctx.time_zone);
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("SCOPE", Align::Left),
        ("CREATED", Align::Left),
        ("EXPIRES", Align::Left),
        ("LAST USED", Align::Left),
    ]);
    for t in &tokens {
        let expires = if t.expires_at <= now {
            format!("expired {}", time(t.expires_at))
        } else {
            time(t.expires_at)
        };
        table.row(vec![
            t.name.clone(),
            t.scope.as_str().to_owned(),
            time(t.created_at),
            expires,
            t.last_used_at.map_or_else(|| "never".to_owned(), time),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}
