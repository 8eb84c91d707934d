//! Sending links through a real SMTP server: Debian's aiosmtpd, started by the test on
//! 127.0.0.1 with STARTTLS required and a test certificate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::Server;
use crate::helpers::free_port;
use crate::imap::Pki;

const PYTHON: &str = "/usr/bin/python3";

fn aiosmtpd_available() -> bool {
    let present = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    crate::helpers::external_available(present, "aiosmtpd", "python3-aiosmtpd")
}

/// The relay: accepts everything, except `temp@...` once (451) and `bounce@...` (550);
/// writes each message to a file.
const RELAY: &str = r#"
import os, signal, ssl, sys
from aiosmtpd.controller import Controller
port, outdir, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seen = {}
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('temp@'):
            seen[address] = seen.get(address, 0) + 1
            if seen[address] == 1:
                return '451 4.3.0 Mailbox busy, try again later'
        if address.startswith('bounce@'):
            return '550 5.1.1 No such user here'
        envelope.rcpt_tos.append(address)
        return '250 OK'
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(outdir))
        path = os.path.join(outdir, '%05d-%s.eml' % (n, envelope.rcpt_tos[0]))
        with open(path + '.tmp', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + '.tmp', path)
        return '250 2.0.0 Queued as test-%d' % n
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Handler(), hostname='127.0.0.1', port=port, tls_context=ctx, require_starttls=True)
c.start()
print('ready', flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
"#;

struct Relay {
    child: Child,
    port: u16,
    outdir: PathBuf,
    ca: PathBuf,
}

impl Relay {
    fn start(dir: &Path) -> Self {
        let pki = Pki::new(&["127.0.0.1", "localhost"]);
        let (cert, key, ca) = (
            dir.join("cert.pem"),
            dir.join("key.pem"),
            dir.join("ca.pem"),
        );
        std::fs::write(&cert, &pki.cert_pem).unwrap();
        std::fs::write(&key, &pki.key_pem).unwrap();
        std::fs::write(&ca, &pki.ca_pem).unwrap();
        let outdir = dir.join("mail");
        std::fs::create_dir(&outdir).unwrap();
        let script = dir.join("relay.py");
        std::fs::write(&script, RELAY).unwrap();
        let port = free_port();
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(&outdir)
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        Self {
            child,
            port,
            outdir,
            ca,
        }
    }

    /// Messages received so far: (recipient, raw text with soft line breaks undone).
    fn messages(&self) -> Vec<(String, String)> {
        let mut names: Vec<_> = std::fs::read_dir(&self.outdir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.outdir.join(&n)).unwrap();
                let rcpt = n[6..n.len() - 4].to_owned();
                (rcpt, text.replace("=\r\n", "").replace("=\n", ""))
            })
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn links_in(text: &str, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(base) {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || ":/._-".contains(c)))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn links_are_emailed_once_reminders_reach_only_the_pending() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let data = dir.path().join("data");
    let passphrase = "smtp test passphrase";
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .env("PASSDROP_PASSPHRASE", passphrase)
            .env("PASSDROP_SMTP_HOST", "127.0.0.1")
            .env("PASSDROP_SMTP_PORT", relay.port.to_string())
            .env("PASSDROP_SMTP_FROM", "IT team <it@example.org>")
            .env("PASSDROP_SMTP_CA_FILE", &relay.ca)
            .env("PASSDROP_SEND_RATE", "50")
            .env("PASSDROP_SEND_RETRY_WAIT", "1s")
            .args(args)
            .output()
            .unwrap()
    };
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(cli(&["admin", "init"]).status.success());
    let server = Server::start(&data, &[]);
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,DisplayName,AlternateEmail\n\
         ann@example.org,Ann Lee,ann.home@example.net\n\
         bob@example.org,Bob Stone,\n\
         temp@example.org,Tim Temp,\n\
         bounce@example.org,Bea Bounce,\n",
    )
    .unwrap();
    let o = cli(&[
        "batch",
        "create",
        "--name",
        "mailing",
        "--org",
        "Example Ltd",
        "--roster",
        roster.to_str().unwrap(),
        "--links-out",
        dir.path().join("links.csv").to_str().unwrap(),
        "--public-url",
        &server.address,
    ]);
    assert!(o.status.success(), "{}", err(&o));

    // The relay answers a test message.
    let o = cli(&["smtp", "test", "--to", "admin@example.org"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("250 2.0.0 Queued as test-0"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A relay whose certificate is not trusted is refused before anything is sent.
    let o = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", &data)
        .env("PASSDROP_SMTP_HOST", "127.0.0.1")
        .env("PASSDROP_SMTP_PORT", relay.port.to_string())
        .env("PASSDROP_SMTP_FROM", "it@example.org")
        .args(["smtp", "test", "--to", "admin@example.org"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).to_lowercase().contains("certificate"),
        "{}",
        err(&o)
    );
    assert_eq!(relay.messages().len(), 1);

    // Everyone pending gets one message; the temporary failure is retried; the
    // permanent one is reported with the relay's reason.
    let args = ["send", "mailing", "--public-url", &server.address];
    let o = cli(&args);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = err(&o);
    assert!(text.contains("3 sent, 1 failed, of 4"), "{text}");
    assert!(
        text.contains("bounce@example.org: FAILED after 1 tries"),
        "{text}"
    );
    assert!(text.contains("No such user here"), "{text}");
    let got = relay.messages();
    let rcpts: Vec<&str> = got.iter().skip(1).map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        rcpts,
        [
            "ann.home@example.net",
            "bob@example.org",
            "temp@example.org"
        ],
        "AlternateEmail is used; one message each"
    );
    let client = reqwest::Client::new();
    let mut ann_link = String::new();
    for (rcpt, message) in got.iter().skip(1) {
        assert!(
            message.contains("Content-Type: multipart/alternative"),
            "{message}"
        );
        assert!(
            message.contains("will never ask for your password"),
            "{message}"
        );
        let links = links_in(message, &format!("{}/s/", server.address));
        assert_eq!(links.len(), 1, "{rcpt}: {links:?}");
        assert_eq!(
            client.get(&links[0]).send().await.unwrap().status(),
            200,
            "{rcpt}"
        );
        if rcpt.starts_with("ann") {
            ann_link = links[0].clone();
        }
    }

    // Running it again sends nothing new (only the failed one is tried again).
    let o = cli(&args);
    assert!(err(&o).contains("0 sent, 1 failed, of 1"), "{}", err(&o));
    assert_eq!(relay.messages().len(), 4);

    // Ann submits; a reminder reaches only those still pending.
    let r = client
        .post(&ann_link)
        .form(&[("password", "pw"), ("password_confirm", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let o = cli(&[
        "send",
        "mailing",
        "--pending",
        "--public-url",
        &server.address,
    ]);
    assert!(err(&o).contains("2 sent, 1 failed, of 3"), "{}", err(&o));
    let reminded: Vec<String> = relay
        .messages()
        .iter()
        .skip(4)
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(reminded, ["bob@example.org", "temp@example.org"]);

    // A message whose outcome was never recorded (the run stopped mid-send) is not sent
    // again by a plain re-run.
    {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        let b = store.require_batch("mailing").await.unwrap();
        let bounce = store.recipient(&b, "bounce@example.org").await.unwrap();
        let links =
            crate::helpers::parse_csv(&std::fs::read(dir.path().join("links.csv")).unwrap());
        let bounce_link = &links.iter().find(|r| r[0] == "bounce@example.org").unwrap()[2];
        let token =
            passdrop::crypto::LinkToken::parse(bounce_link.rsplit('/').next().unwrap()).unwrap();
        let now = passdrop::config::now();
        store
            .enqueue_deliveries(&[bounce.id], true, now)
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_delivery(bounce.id, &token.hash(), now)
                .await
                .unwrap(),
            Some(1)
        );
        // A second run cannot claim the same message while it is being sent.
        assert_eq!(
            store
                .claim_delivery(bounce.id, &token.hash(), now)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .enqueue_deliveries(&[bounce.id], false, now)
                .await
                .unwrap(),
            0
        );
        store.close().await;
    }
    let before = relay.messages().len();
    let o = cli(&args);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("Not sent again"), "{}", err(&o));
    assert_eq!(relay.messages().len(), before);

    // The doctor reaches the relay with the same settings.
    let o = cli(&["doctor", "--public-url", "https://pass.example.org"]);
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        report.contains("ok       the SMTP relay 127.0.0.1 answers"),
        "{report}"
    );

    // `batch status` shows where each message stands.
    let o = cli(&["batch", "status", "mailing"]);
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(status.contains("emailed"), "{status}");
    let log = server.stop();
    for (_, message) in relay.messages() {
        for link in links_in(&message, "/s/") {
            let token = link.rsplit('/').next().unwrap();
            assert!(!log.contains(token), "a token reached the log");
        }
    }
}
