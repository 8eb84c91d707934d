//! Shared test setup: a real server on 127.0.0.1:0 over a fresh data directory.

use passdrop::batch::{self, IssuedLink, NewBatch};
use passdrop::config::{self, PublicUrl};
use passdrop::crypto::KdfParams;
use passdrop::roster::parse_roster;
use passdrop::storage::{Batch, Store};
use passdrop::web::{self, AppState, ServerConfig};
use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::oneshot;

mod binary;
mod console;
mod external;
mod fake_imap;
mod files;

pub use binary::*;
pub use console::*;
pub use external::*;
pub use fake_imap::*;
pub use files::*;

/// The admin passphrase every test app uses.
pub const PASSPHRASE: &str = "test passphrase, long enough";

/// The "next steps" text of every test batch.
pub const NEXT_STEPS: &str = "Your mailbox moves on Friday.\nKeep using your old mail until then.";

/// Argon2 parameters cheap enough for tests that unlock the key many times. The CLI
/// tests use the real defaults.
pub const CHEAP_KDF: KdfParams = KdfParams {
    m_cost: 1024,
    t_cost: 1,
    p_cost: 1,
};

/// A running server with its own data directory.
pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub public_url: PublicUrl,
    pub data_dir: tempfile::TempDir,
    /// Holds the settings key file, outside the data directory.
    pub key_dir: tempfile::TempDir,
    pub client: reqwest::Client,
    setup_state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

impl TestApp {
    /// A plain sqlx connection to the app's database, for a test that looks at rows.
    pub async fn db(&self) -> sqlx::SqliteConnection {
        use sqlx::ConnectOptions as _;
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.data_dir.path().join("passdrop.sqlite3"))
            .connect()
            .await
            .unwrap()
    }

    /// Starts the server with an admin already set up.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the server with its settings adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start(adjust, true).await
    }

    /// Starts the server on a fresh data directory with no admin yet.
    pub async fn spawn_without_admin() -> Self {
        Self::start_in(None, |_| {}, false).await
    }

    /// Starts the server (admin set up) with its data directory inside `parent`, e.g. a
    /// small file system a test fills.
    pub async fn spawn_in(parent: &Path) -> Self {
        Self::start_in(Some(parent), |_| {}, true).await
    }

    async fn start(adjust: impl FnOnce(&mut ServerConfig), with_admin: bool) -> Self {
        Self::start_in(None, adjust, with_admin).await
    }

    async fn start_in(
        parent: Option<&Path>,
        adjust: impl FnOnce(&mut ServerConfig),
        with_admin: bool,
    ) -> Self {
        let data_dir = match parent {
            Some(parent) => tempfile::tempdir_in(parent).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        Self::start_on(data_dir, adjust, with_admin).await
    }

    /// Stops the server and starts a new one (fresh memory, as after a restart) on the
    /// same data directory; sessions, kept in the database, stay valid.
    pub async fn restart(self) -> Self {
        self.restart_with(|_| {}).await
    }

    /// [`TestApp::restart`] with the new server's configuration adjusted.
    pub async fn restart_with(self, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let data_dir = self.stop().await;
        Self::start_on(data_dir, adjust, false).await
    }

    async fn start_on(
        data_dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut ServerConfig),
        with_admin: bool,
    ) -> Self {
        let store = Store::open(data_dir.path()).await.unwrap();
        let key_dir = tempfile::tempdir().unwrap();
        let key_file = batch::SettingsKeyFile::new(key_dir.path().join("settings-key.pub"));
        if with_admin {
            let admin = batch::init_admin(&store, secret(PASSPHRASE), CHEAP_KDF)
                .await
                .unwrap();
            batch::install_settings_key(&admin, &key_file, false).unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let public_url = PublicUrl::from_listen(local);
        let mut config = ServerConfig::new(public_url.clone());
        config.settings_key = key_file;
        adjust(&mut config);
        let setup_state = AppState::new(store.clone(), config.clone());
        let state = AppState::new(store.clone(), config);
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            web::serve_on(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            address: format!("http://{local}"),
            store,
            public_url,
            data_dir,
            key_dir,
            client,
            setup_state,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// The settings key file the server checks stored settings against.
    pub fn key_file(&self) -> batch::SettingsKeyFile {
        batch::SettingsKeyFile::new(self.key_dir.path().join("settings-key.pub"))
    }

    /// The admin key, unlocked.
    pub async fn admin(&self) -> passdrop::crypto::AdminKey {
        batch::unlock_admin(&self.store, secret(PASSPHRASE))
            .await
            .unwrap()
    }

    /// Creates a batch from roster text; returns it and its links.
    pub async fn create_batch(&self, name: &str, roster: &str) -> (Batch, Vec<IssuedLink>) {
        self.create_batch_checked_with(name, roster, None)
            .await
            .unwrap()
    }

    /// Creates a batch that checks passwords against an IMAP server (or not).
    pub async fn create_batch_checked_with(
        &self,
        name: &str,
        roster: &str,
        imap: Option<passdrop::imap::ImapSettings>,
    ) -> Result<(Batch, Vec<IssuedLink>), batch::BatchError> {
        let admin = batch::unlock_admin(&self.store, secret(PASSPHRASE)).await?;
        batch::create_signed(
            &self.store,
            &self.public_url,
            NewBatch {
                name: name.to_owned(),
                org_name: Some("Example Ltd".to_owned()),
                link_lifetime: std::time::Duration::from_secs(7 * 86_400),
                next_steps: Some(NEXT_STEPS.to_owned()),
                ask_mail_client: true,
                retention: batch::Retention::default(),
                roster: parse_roster(roster.as_bytes()).unwrap(),
                imap,
                language: None,
                time_zone: None,
            },
            config::now(),
            &admin,
        )
        .await
    }

    /// A fresh one-time setup URL, as `serve` prints it.
    pub async fn setup_url(&self) -> String {
        self.setup_state.setup_url().await.unwrap()
    }

    /// Logs in with the test passphrase and returns the `Cookie` header value.
    pub async fn login(&self) -> String {
        let r = self
            .client
            .post(format!("{}/admin/login", self.address))
            .form(&[("passphrase", PASSPHRASE)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login failed");
        cookie_of(&r)
    }

    /// A GET; the "opened" note a first visit queues is committed before this returns,
    /// so what a test reads next includes it.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        let r = self.client.get(url).send().await.unwrap();
        self.store.flush_writes().await.unwrap();
        r
    }

    /// Posts the collection form with both fields.
    pub async fn submit(&self, link: &str, password: &str, confirm: &str) -> reqwest::Response {
        self.client
            .post(link)
            .form(&[("password", password), ("password_confirm", confirm)])
            .send()
            .await
            .unwrap()
    }

    /// Exports a batch with the test passphrase; returns the CSV text and missing users.
    pub async fn export(&self, b: &Batch) -> (Vec<u8>, Vec<String>) {
        let admin = batch::unlock_admin(&self.store, secret(PASSPHRASE))
            .await
            .unwrap();
        let (e, _) = batch::export_m365(
            &self.store,
            b,
            &admin,
            batch::PurgeChoice::AfterLinksExpire,
            config::now(),
        )
        .await
        .unwrap();
        (e.csv.to_vec(), e.missing)
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        self.store.close().await;
        self.data_dir
    }
}

/// The link text of an issued link.
pub fn link(l: &IssuedLink) -> String {
    l.link.expose_secret().to_owned()
}

/// A roster of `n` users, `{prefix}{i}@example.org` for i from 0.
pub fn roster_of(prefix: &str, n: usize) -> String {
    std::iter::once("EmailAddress".to_owned())
        .chain((0..n).map(|i| format!("{prefix}{i}@example.org")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The token part of a link.
pub fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}
