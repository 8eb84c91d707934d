//! Session versus authority (SECURITY.md): a stolen console cookie lets its holder look,
//! never decide where passwords go, reveal a link or destroy what was collected. And a
//! connection test never repeats what another service answered.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use passdrop::imap::{self, CertTrust, ImapServer, ImapSettings, WhenUnreachable};
use secrecy::ExposeSecret as _;

use crate::helpers::{
    Dovecot, PASSPHRASE, Pki, TestApp, console_post, dovecot_available, parse_csv,
};

const ROSTER: &str = "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n";

/// What the fake services below send, which must never reach a page or the terminal.
const CANARY: &str = "CANARY-b4nn3r-51f0";

/// A TCP service on 127.0.0.1 that greets with `banner` and answers every line it
/// receives with the canary; it counts the connections it gets.
struct FakeService {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl FakeService {
    fn start(banner: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let banner = banner.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let _ = stream.write_all(banner.as_bytes());
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let _ = stream.write_all(format!("{CANARY} {n}\r\n").as_bytes());
                    }
                });
            }
        });
        Self { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The new-batch form, with an old mail server and, if given, the passphrase.
fn new_batch_form(
    name: &str,
    imap_url: &str,
    pin: &str,
    passphrase: Option<&str>,
) -> reqwest::multipart::Form {
    let form = reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .text("org", "Example Ltd")
        .text("expires_in", "7d")
        .text("roster_text", ROSTER)
        .text("imap_url", imap_url.to_owned())
        .text("imap_cert_sha256", pin.to_owned())
        .text("imap_when_unreachable", "retry");
    match passphrase {
        Some(p) => form.text("passphrase", p.to_owned()),
        None => form,
    }
}

async fn post_new_batch(
    app: &TestApp,
    cookie: &str,
    form: reqwest::multipart::Form,
) -> (u16, String) {
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// POSTs a console form; a 303 is followed (its page returned with the 303).
async fn post(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let url = format!("{}{path}", app.address);
    console_post(&app.client, &url, cookie, form).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_session_cannot_point_a_new_batch_at_another_server() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    // The attacker's "IMAP server", with the pin of their own certificate.
    let attacker = FakeService::start("* OK IMAP4rev1 ready\r\n".to_owned());
    let url = format!("imaps://127.0.0.1:{}", attacker.port);
    let pin = "ab".repeat(32);

    for passphrase in [None, Some("not the passphrase at all")] {
        let form = new_batch_form("Phish 2026", &url, &pin, passphrase);
        let (status, page) = post_new_batch(&app, &cookie, form).await;
        assert_eq!(status, 401, "{page}");
        assert!(page.contains("Nothing was created"), "{page}");
        assert!(page.contains("Admin passphrase"), "{page}");
        // What was typed is kept (never the passphrase).
        assert!(page.contains("Phish 2026") && page.contains(&url), "{page}");
        assert!(!page.contains("not the passphrase at all"), "{page}");
    }
    assert!(app.store.list_batches().await.unwrap().is_empty());
    assert_eq!(
        attacker.connections(),
        0,
        "passdrop connected to the named server before the passphrase was given"
    );

    // A batch without a mail server still needs only the session: its links open only
    // with the passphrase.
    let form = new_batch_form("Plain 2026", "", "", None);
    let (status, page) = post_new_batch(&app, &cookie, form).await;
    assert_eq!(status, 303, "{page}");

    // With the passphrase the server is tried (and this one refused: it is no IMAP
    // server passdrop can use).
    let form = new_batch_form("Phish 2026", &url, &pin, Some(PASSPHRASE));
    let (status, page) = post_new_batch(&app, &cookie, form).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("passwords cannot be checked against"),
        "{page}"
    );
    assert!(attacker.connections() >= 1);
    assert!(app.store.find_batch("Phish 2026").await.unwrap().is_none());

    // And with a real server and the passphrase, the batch is created.
    if dovecot_available() {
        let pki = Pki::new(&["127.0.0.1"]);
        let dovecot = Dovecot::with_ann(&pki);
        let pin = imap::fingerprint_hex(&pki.fingerprint);
        let form = new_batch_form("Real 2026", &dovecot.imaps_url(), &pin, Some(PASSPHRASE));
        let (status, page) = post_new_batch(&app, &cookie, form).await;
        assert_eq!(status, 303, "{page}");
        let b = app.store.require_batch("Real 2026").await.unwrap();
        assert_eq!(b.imap.unwrap().trust, CertTrust::Pin(pki.fingerprint));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stolen_session_cannot_reissue_purge_or_stop_the_checks() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = app.create_batch("Move 2026", ROSTER).await;
    let base = format!("/admin/batches/{}", b.id);
    let ann = links[0].link.expose_secret().to_owned();

    // Reissue: the batch page's button leads to a page that asks for the passphrase.
    let r = app
        .client
        .get(format!(
            "{}{base}/reissue?email=ann@example.org",
            app.address
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"passphrase\""), "{page}");
    for form in [
        vec![("email", "ann@example.org")],
        vec![
            ("email", "ann@example.org"),
            ("passphrase", "a wrong one, surely"),
        ],
    ] {
        let (status, page) = post(&app, &cookie, &format!("{base}/reissue"), &form).await;
        assert_eq!(status, 401, "{page}");
        assert!(!page.contains("New link for"), "{page}");
        assert!(
            !page.contains(&app.public_url.link_for("")),
            "a link is shown: {page}"
        );
    }
    assert_eq!(
        app.get(&ann).await.status(),
        200,
        "the old link still works"
    );
    let kinds = |audit: Vec<passdrop::storage::AuditEvent>| -> Vec<String> {
        audit
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect()
    };
    assert!(!kinds(app.store.audit_trail(&b.id).await.unwrap()).contains(&"reissued".to_owned()));
    let (status, page) = post(
        &app,
        &cookie,
        &format!("{base}/reissue"),
        &[("email", "ann@example.org"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("New link for"), "{page}");
    assert_eq!(app.get(&ann).await.status(), 410);

    // Revoke needs only the session: it stops a link that has taken nothing yet, and a
    // reissue (with the passphrase) undoes it.
    let (status, page) = post(
        &app,
        &cookie,
        &format!("{base}/revoke"),
        &[("email", "bob@example.org")],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("is revoked"), "{page}");

    // Setting a server takes the passphrase before any connection; a refusal keeps what
    // was typed.
    let attacker = FakeService::start("* OK IMAP4rev1 ready\r\n".to_owned());
    let url = format!("imaps://127.0.0.1:{}", attacker.port);
    let (status, page) = post(
        &app,
        &cookie,
        &format!("{base}/imap"),
        &[("imap_url", &url), ("imap_when_unreachable", "retry")],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was changed"), "{page}");
    assert!(page.contains(&format!("value=\"{url}\"")), "{page}");
    assert_eq!(attacker.connections(), 0);
    assert!(app.store.require_batch(&b.id).await.unwrap().imap.is_none());

    // Turning the IMAP check off takes the passphrase too.
    let settings = ImapSettings {
        server: ImapServer::parse("imaps://127.0.0.1:1").unwrap(),
        trust: CertTrust::PublicAuthorities,
        when_unreachable: WhenUnreachable::AskToRetry,
    };
    signed_imap(&app, &b, &settings).await;
    let (status, page) = post(&app, &cookie, &format!("{base}/imap"), &[("off", "1")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was changed"), "{page}");
    assert!(
        page.contains("You asked to stop checking passwords"),
        "{page}"
    );
    assert!(app.store.require_batch(&b.id).await.unwrap().imap.is_some());
    let (status, page) = post(
        &app,
        &cookie,
        &format!("{base}/imap"),
        &[("off", "1"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(app.store.require_batch(&b.id).await.unwrap().imap.is_none());

    // Purge: the confirmation alone is not enough.
    let (status, page) = post(
        &app,
        &cookie,
        &format!("{base}/purge"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("passphrase is not right"), "{page}");
    assert!(app.store.find_batch(&b.id).await.unwrap().is_some());
    let r = app
        .client
        .post(format!("{}{base}/purge", app.address))
        .header("cookie", &cookie)
        .form(&[("confirm", "yes"), ("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(app.store.find_batch(&b.id).await.unwrap().is_none());
    app.stop().await;
}

/// What other services might answer on a port an admin names.
fn banners() -> Vec<String> {
    vec![
        format!("SSH-2.0-OpenSSH_9.6 {CANARY}\r\n"),
        format!("* BYE {CANARY}\r\n"),
        format!("* NO {CANARY}\r\n"),
        format!("HTTP/1.1 400 Bad Request {CANARY}\r\n\r\n"),
        format!("-ERR {CANARY}\r\n"),
        // An IMAP-looking greeting, then the canary in answer to STARTTLS.
        "* OK ready\r\n".to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_tests_never_repeat_what_another_service_sent() {
    for banner in banners() {
        let service = FakeService::start(banner.clone());
        for scheme in ["imap", "imaps"] {
            let settings = ImapSettings {
                server: ImapServer::parse(&format!("{scheme}://127.0.0.1:{}", service.port))
                    .unwrap(),
                trust: CertTrust::PublicAuthorities,
                when_unreachable: WhenUnreachable::AskToRetry,
            };
            let report = imap::check_connection(&settings).await;
            assert!(!report.ok());
            let text = format!("{:?} {:?}", report.lines(), report.problem);
            assert!(!text.contains(CANARY), "{banner:?} over {scheme}: {text}");
        }
    }
    let ssh = FakeService::start(banners().swap_remove(0));
    let settings = ImapSettings {
        server: ImapServer::parse(&format!("imap://127.0.0.1:{}", ssh.port)).unwrap(),
        trust: CertTrust::PublicAuthorities,
        when_unreachable: WhenUnreachable::AskToRetry,
    };
    let report = imap::check_connection(&settings).await;
    assert_eq!(report.problem, Some(imap::ImapProblem::NotImap));

    // The console's test of a saved server, and its form to change the server.
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("Move 2026", ROSTER).await;
    signed_imap(&app, &b, &settings).await;
    let base = format!("/admin/batches/{}", b.id);
    let (status, page) = post(&app, &cookie, &format!("{base}/imap/test"), &[]).await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("The connection test failed"), "{page}");
    assert!(page.contains("not an IMAP server"), "{page}");
    assert!(!page.contains(CANARY), "{page}");
    for banner in banners() {
        let service = FakeService::start(banner);
        let url = format!("imap://127.0.0.1:{}", service.port);
        let (status, page) = post(
            &app,
            &cookie,
            &format!("{base}/imap"),
            &[
                ("imap_url", &url),
                ("imap_when_unreachable", "retry"),
                ("passphrase", PASSPHRASE),
            ],
        )
        .await;
        assert_eq!(status, 422, "{page}");
        assert!(!page.contains(CANARY), "{page}");
        let form = new_batch_form("New 2026", &url, "", Some(PASSPHRASE));
        let (status, page) = post_new_batch(&app, &cookie, form).await;
        assert_eq!(status, 422, "{page}");
        assert!(!page.contains(CANARY), "{page}");
    }

    // The command line: `batch check-imap` and `batch create --verify-imap`.
    let data = app.data_dir.path().to_owned();
    let roster = data.join("roster.csv");
    std::fs::write(&roster, ROSTER).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE)
            .args(args)
            .output()
            .unwrap()
    };
    let url = format!("imap://127.0.0.1:{}", ssh.port);
    let outputs = [
        run(&["batch", "check-imap", "Move 2026"]),
        run(&[
            "batch",
            "create",
            "--name",
            "CLI 2026",
            "--roster",
            roster.to_str().unwrap(),
            "--verify-imap",
            &url,
        ]),
    ];
    for o in &outputs {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.status.success(), "{text}");
        assert!(text.contains("not an IMAP server"), "{text}");
        assert!(!text.contains(CANARY), "{text}");
    }
    assert!(parse_csv(&outputs[1].stdout).is_empty());
    app.stop().await;
}

/// Saves an old-server setting for a batch, signed as the admin would (without the
/// connection test `batch::set_imap` makes, since these servers are not usable).
async fn signed_imap(app: &TestApp, b: &passdrop::storage::Batch, settings: &ImapSettings) {
    let mut changed = app.store.require_batch(&b.id).await.unwrap();
    changed.imap = Some(settings.clone());
    let signer = passdrop::batch::settings_signer(&app.admin().await).unwrap();
    let sig = passdrop::batch::sign_batch(&signer, &changed);
    app.store
        .set_batch_imap(&b.id, Some(settings), &sig)
        .await
        .unwrap();
}
