//! What every handler can reach ([`AppState`]) and the settings of the running server
//! ([`ServerConfig`]), with their defaults.

use std::sync::Arc;
use std::time::Duration;

use super::console::flash::Flashes;
use super::console::session::LoginThrottle;
use super::metrics::Metrics;
use crate::config::PublicUrl;
use crate::storage::Store;

/// What every handler can reach: one shared value, so that the copy each request's
/// handler gets (axum's `State`) costs one reference count, not one per field.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What `AppState` holds.
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub store: Store,
    /// Settings the server needs.
    pub config: Arc<ServerConfig>,
    /// Failed admin logins per client IP.
    pub login_throttle: Arc<LoginThrottle>,
    /// Admits password checks against IMAP servers.
    pub imap_gate: Arc<crate::imap::CheckGate>,
    /// Counts and latencies for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Sends the links in the background.
    pub outbox: Arc<crate::outbox::Outbox>,
    /// Sends the admin's notices (a user reported a link, asked for help, the batch
    /// completed) in the background.
    pub notifier: Arc<crate::outbox::notify::Notifier>,
    /// Confirmations shown once after a console action (in memory only).
    pub flashes: Arc<Flashes>,
    /// The webhook delivery loop runs while this lives.
    pub webhooks_alive: Arc<()>,
}

impl AppState {
    /// State for a server over `store` with `config`.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        let outbox = crate::outbox::Outbox::new(
            store.clone(),
            config.send_rate,
            crate::outbox::RetryPolicy::new(config.send_retry_wait),
            config.settings_key.clone(),
            config.time_zone.clone(),
        );
        let notifier = crate::outbox::notify::Notifier::new(
            store.clone(),
            crate::outbox::notify::NotifierSettings {
                configured: config.smtp.clone(),
                key_file: config.settings_key.clone(),
                public_url: config.public_url.clone(),
                time_zone: config.time_zone.clone(),
                per_second: config.send_rate,
                policy: crate::outbox::RetryPolicy::new(config.send_retry_wait),
            },
        );
        notifier.spawn();
        let flashes = Arc::new(Flashes::new(config.flash_ttl));
        let pacing = config.imap_pacing;
        // Expired flashes (a reissued link nobody came back for) are dropped a few times
        // a minute; the sweeper ends with the state.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&flashes);
            let every = (config.flash_ttl / 4).max(std::time::Duration::from_secs(1));
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(flashes) => flashes.sweep(),
                        None => break,
                    }
                }
            });
        }
        let webhooks_alive = Arc::new(());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(crate::outbox::webhook_queue::delivery_loop(
                store.clone(),
                config.webhooks.clone(),
                Arc::downgrade(&webhooks_alive),
            ));
        }
        Self(Arc::new(Shared {
            outbox,
            notifier,
            flashes,
            webhooks_alive,
            store,
            config: Arc::new(config),
            login_throttle: Arc::default(),
            imap_gate: Arc::new(crate::imap::CheckGate::new(pacing)),
            metrics: Arc::default(),
        }))
    }

    /// Creates a one-time setup URL (valid one hour, replacing any earlier one) for
    /// choosing the admin passphrase in the browser, as `passdrop admin setup-link` does.
    pub async fn setup_url(&self) -> Result<String, crate::batch::BatchError> {
        crate::batch::issue_setup_link(&self.store, &self.config.public_url).await
    }
}

pub use crate::config::{DEFAULT_RATE_LIMIT, DEFAULT_SEND_RATE, DEFAULT_SEND_RETRY_WAIT};
/// Default for how long a client may take to send a request's headers (slow-header
/// attacks).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL (decides HSTS and the trusted origin for POSTs).
    pub public_url: PublicUrl,
    /// Requests per minute per client IP on public pages; 0 turns the limit off.
    pub rate_limit: u32,
    /// The users' language when neither their roster row, their browser nor their batch
    /// names one passdrop speaks (`serve --language`).
    pub language: crate::i18n::Language,
    /// Take the client IP from `X-Forwarded-For` (else `X-Real-IP`; see
    /// `rate_limit::ClientIp`), only behind a proxy that sets them.
    pub trust_proxy: bool,
    /// Longest a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight this long is closed (behind a trusted
    /// proxy, at least 150 s: see `web::server`).
    pub idle_timeout: Duration,
    /// The zone console times are shown in, unless a batch has its own (UTC unset).
    pub time_zone: crate::config::TimeZoneSetting,
    /// The SMTP relay given by options or the environment (it takes precedence over
    /// the one saved in the console).
    pub smtp: Option<crate::mail::SmtpSettings>,
    /// Messages per second at most.
    pub send_rate: f64,
    /// The wait after a temporary sending failure (doubling each time).
    pub send_retry_wait: Duration,
    /// How long a console confirmation shown once (a reissued link, say) waits to be
    /// read.
    pub flash_ttl: Duration,
    /// The settings key file: every stored setting is checked against it before use.
    pub settings_key: crate::batch::SettingsKeyFile,
    /// How password checks are paced per old IMAP server.
    pub imap_pacing: crate::imap::Pacing,
    /// How webhooks are delivered (`--webhook-allow-private`).
    pub webhooks: crate::outbox::webhook_queue::WebhookSettings,
    /// Password checks per link and hour that may end without a clear answer
    /// (`--imap-uncounted-checks-per-link`).
    pub imap_uncounted_per_link: u32,
}

impl ServerConfig {
    /// Settings with the defaults for everything but the public URL.
    pub fn new(public_url: PublicUrl) -> Self {
        Self {
            public_url,
            rate_limit: DEFAULT_RATE_LIMIT,
            language: crate::i18n::Language::En,
            trust_proxy: false,
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: super::server::IDLE_TIMEOUT,
            smtp: None,
            send_rate: DEFAULT_SEND_RATE,
            send_retry_wait: DEFAULT_SEND_RETRY_WAIT,
            flash_ttl: super::console::flash::FLASH_TTL,
            settings_key: crate::batch::SettingsKeyFile::beside(std::path::Path::new(
                crate::config::DEFAULT_DATA_DIR,
            )),
            time_zone: crate::config::TimeZoneSetting::Utc,
            imap_pacing: crate::imap::Pacing::default(),
            webhooks: crate::outbox::webhook_queue::WebhookSettings::default(),
            imap_uncounted_per_link: crate::batch::DEFAULT_UNCOUNTED_CHECKS_PER_LINK,
        }
    }
}
