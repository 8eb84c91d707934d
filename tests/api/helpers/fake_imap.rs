//! A scripted IMAP server on 127.0.0.1 (implicit TLS with a self-signed certificate):
//! it greets, answers CAPABILITY and LOGOUT, and answers every login as its script
//! says. For the answers a real Dovecot cannot be made to give (Gmail's app-password
//! refusal, "[UNAVAILABLE]", BYE in the middle of a login).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio_rustls::rustls;

/// How the fake answers a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Gmail's refusal for an account with two-step sign-in.
    AppPassword,
    /// "Not now".
    Unavailable,
    /// BYE and a closed connection instead of an answer.
    Bye,
    /// Every login succeeds (an admin login that opens every mailbox).
    Accept,
    /// "Not now", but only after two seconds (a slow server: a check still running).
    SlowUnavailable,
    /// Every login succeeds, but only after two seconds.
    SlowAccept,
}

/// A running fake; it stops when dropped.
pub struct FakeImap {
    pub port: u16,
    /// SHA-256 of its certificate, to pin.
    pub fingerprint: [u8; 32],
    /// Logins it was asked for (each AUTHENTICATE).
    pub logins: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeImap {
    pub async fn start(script: Script) -> Self {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let der = cert.cert.der().clone();
        let fingerprint = Sha256::digest(der.as_ref()).into();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let logins = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&logins);
        let task = tokio::spawn(async move {
            // Bounded: a test never makes more connections than this.
            for _ in 0..200 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(30),
                        converse(tls, script, counted),
                    )
                    .await;
                });
            }
        });
        Self {
            port,
            fingerprint,
            logins,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("imaps://127.0.0.1:{}", self.port)
    }

    pub fn logins(&self) -> usize {
        self.logins.load(Ordering::SeqCst)
    }
}

impl Drop for FakeImap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    script: Script,
    logins: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(tls);
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
        .await?;
    for _ in 0..20 {
        let Some(line) = lines.next_line().await? else {
            return Ok(());
        };
        let (tag, command) = line.split_once(' ').unwrap_or((&line, ""));
        let command = command.to_ascii_uppercase();
        if command.starts_with("CAPABILITY") {
            let answer = format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n");
            write.write_all(answer.as_bytes()).await?;
        } else if command.starts_with("LOGOUT") {
            let answer = format!("* BYE bye\r\n{tag} OK done\r\n");
            write.write_all(answer.as_bytes()).await?;
            return Ok(());
        } else if command.starts_with("AUTHENTICATE") {
            logins.fetch_add(1, Ordering::SeqCst);
            write.write_all(b"+ \r\n").await?;
            let _credentials = lines.next_line().await?;
            if matches!(script, Script::SlowUnavailable | Script::SlowAccept) {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            let answer = match script {
                Script::AppPassword => format!(
                    "{tag} NO [ALERT] Application-specific password required: \
                     https://support.google.com/accounts/answer/185833 (Failure)\r\n"
                ),
                Script::Unavailable | Script::SlowUnavailable => {
                    format!("{tag} NO [UNAVAILABLE] Temporary authentication failure.\r\n")
                }
                Script::Accept | Script::SlowAccept => format!("{tag} OK Logged in\r\n"),
                Script::Bye => "* BYE too many connections from your address\r\n".to_owned(),
            };
            write.write_all(answer.as_bytes()).await?;
            if script == Script::Bye {
                return Ok(());
            }
        } else {
            write
                .write_all(format!("{tag} BAD unknown\r\n").as_bytes())
                .await?;
        }
    }
    Ok(())
}
