//! `passdrop serve`: the web server, with the maintenance loop (automatic purges), the
//! optional metrics listener and the console's sender, stopped in order on a signal.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::smtp::smtp_settings;
use super::{CliResult, Context, ProxyArgs, SendingArgs, SmtpArgs};
use crate::batch;
use crate::config::PublicUrl;
use crate::web;

/// `passdrop serve` options.
#[derive(Debug, Args)]
#[command(
    mut_arg("send_rate", |a| a.help("Messages per second at most when the console sends links")),
    mut_arg("send_retry_wait", |a| a.help(
        "Wait this long before retrying a temporary sending failure (doubling each time; 4 tries)"
    ))
)]
pub struct ServeArgs {
    /// Requests per minute per client IP on public pages (0 turns the limit off, and the
    /// cap on connections per address).
    #[arg(long, env = "PASSDROP_RATE_LIMIT", default_value_t = web::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// The users' language when neither their roster row, their browser nor their batch
    /// names one passdrop speaks: en, de, fr, es, nl, it or pt.
    #[arg(long, env = "PASSDROP_LANGUAGE", default_value = "en", value_parser = crate::i18n::Language::parse_setting)]
    pub language: crate::i18n::Language,
    /// The reverse proxy and metrics settings.
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// The sending rate and retry wait.
    #[command(flatten)]
    pub sending: SendingArgs,
    /// The SMTP relay's settings.
    #[command(flatten)]
    pub smtp: SmtpArgs,
    /// Password checks talking to one old IMAP server (host and port) at once, 1 to 8;
    /// more wait their turn in a fair queue (up to 25 s, then the user is asked to try
    /// again later, nothing counted).
    #[arg(long, env = "PASSDROP_IMAP_CHECKS_PER_SERVER", default_value_t = crate::imap::DEFAULT_CHECKS_PER_SERVER)]
    pub imap_checks_per_server: usize,
    /// Least time between two logins to one old IMAP server, in milliseconds (at most
    /// 10000).
    #[arg(long, env = "PASSDROP_IMAP_LOGIN_INTERVAL_MS", default_value_t = 250)]
    pub imap_login_interval_ms: u64,
    /// Password checks per link and hour that may end without a clear answer from the
    /// old server (a timeout, BYE, "try later", "an app password is required"), 1 to
    /// 1000. They never count toward the link's lock; past this, the user is asked to
    /// try again later (no check, nothing counted, the link still works).
    #[arg(long, env = "PASSDROP_IMAP_UNCOUNTED_CHECKS_PER_LINK", default_value_t = crate::batch::DEFAULT_UNCOUNTED_CHECKS_PER_LINK)]
    pub imap_uncounted_checks_per_link: u32,
    /// Deliver webhooks to private, loopback and other non-public addresses too (refused
    /// by default, checked on the address connected to).
    #[arg(long, env = "PASSDROP_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
}

impl ServeArgs {
    /// Serves until a shutdown signal, then lets a message in flight finish.
    pub(super) async fn run(self, ctx: &Context) -> CliResult {
        let (store, data_dir, listen) = (&ctx.store, &ctx.data_dir, ctx.listen);
        let public_url = ctx.given_url().cloned();
        let send_retry_wait = self.sending.retry_wait()?;
        let imap_pacing = crate::imap::Pacing::new(
            self.imap_checks_per_server,
            Duration::from_millis(self.imap_login_interval_ms),
        )
        .map_err(super::Failure::Usage)?;
        let imap_uncounted_per_link =
            batch::uncounted_checks_cap(self.imap_uncounted_checks_per_link)
                .map_err(super::Failure::Usage)?;
        let smtp = smtp_settings(&self.smtp)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("could not listen on {listen}"))?;
        let local = listener
            .local_addr()
            .context("reading the listen address")?;
        let public_url = public_url.unwrap_or_else(|| PublicUrl::from_listen(local));
        eprintln!("passdrop is listening on http://{local} (public URL {public_url})");
        eprintln!("data directory: {}", data_dir.display());
        let maintenance = tokio::spawn(batch::maintenance_loop(store.clone()));
        let forgetting = tokio::spawn(forget_changed_link_views(store.clone()));
        let metrics_listener = match self.proxy.metrics_listen {
            Some(addr) => {
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("could not listen on {addr} for metrics"))?;
                eprintln!(
                    "metrics on http://{}/metrics",
                    l.local_addr().context("reading the metrics address")?
                );
                Some(l)
            }
            None => None,
        };
        let state = web::AppState::new(
            store.clone(),
            web::ServerConfig {
                rate_limit: self.rate_limit,
                language: self.language,
                trust_proxy: self.proxy.trust_proxy,
                smtp,
                send_rate: self.sending.send_rate,
                send_retry_wait,
                settings_key: ctx.settings_key.clone(),
                time_zone: ctx.time_zone.clone(),
                imap_pacing,
                imap_uncounted_per_link,
                webhooks: crate::outbox::webhook_queue::WebhookSettings {
                    allow_private: self.webhook_allow_private,
                    ..Default::default()
                },
                ..web::ServerConfig::new(public_url)
            },
        );
        // Said at once, not only at the first refused submission.
        for problem in crate::batch::settings_findings(store, &ctx.settings_key).await? {
            tracing::error!(%problem, "stored settings cannot be trusted; they are refused until fixed (see `passdrop doctor`)");
        }
        let waiting = store.queued_delivery_count().await?;
        if waiting > 0 {
            eprintln!(
                "{waiting} link emails wait in the send queue: resume them on their batch page \
                 (the passphrase reopens the links) or with `passdrop send`."
            );
        }
        let metrics_server = metrics_listener.map(|l| {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = web::serve_metrics(l, state, std::future::pending()).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })
        });
        if !store.admin_exists().await? {
            // No setup link here: this output often lands in a journal that outlives it.
            eprintln!();
            eprintln!("No admin exists yet. To choose the admin passphrase in your browser, run");
            eprintln!();
            eprintln!(
                "    passdrop admin setup-link --data-dir {} --public-url {}",
                data_dir.display(),
                state.config.public_url
            );
            eprintln!();
            eprintln!(
                "(it prints a one-time link, valid for one hour), or on the command line: \
                 passdrop admin init --data-dir {}",
                data_dir.display()
            );
        }
        let outbox = std::sync::Arc::clone(&state.outbox);
        let signalled = std::sync::Arc::clone(&outbox);
        let shutdown = async move {
            web::shutdown_signal().await;
            // No new message from now on, while open requests finish.
            signalled.begin_stop().await;
        };
        let last_checks = state.clone();
        web::serve_on(listener, state, shutdown)
            .await
            .context("the server stopped with an error")?;
        // No request is left: the "everyone has submitted" questions still running,
        // paused or given up are asked once more, before the store closes.
        web::flush_completion_checks(&last_checks, web::COMPLETION_FLUSH_WITHIN).await;
        drop(last_checks);
        // A message being handed to the relay is finished, so it is not left "unknown".
        outbox.stop(Duration::from_secs(30)).await;
        maintenance.abort();
        forgetting.abort();
        if let Some(m) = metrics_server {
            m.abort();
        }
        store.close().await;
        eprintln!("passdrop stopped");
        Ok(())
    }
}

/// Once a second, forgets the link views the pages remembered if the database changed
/// since (a CLI command's purge, say): nothing stays in memory long after it is gone
/// from the database (`storage/link_views.rs`).
async fn forget_changed_link_views(store: crate::storage::Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        store.refresh_link_views();
    }
}
