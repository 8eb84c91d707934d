//! Checking passwords against a real Dovecot (Debian's `dovecot-imapd`), started by each
//! test with its own configuration, users and certificates on 127.0.0.1 high ports.
//!
//! Dovecot slows repeated failed logins from one address (about 4 s each after the
//! first), so each test runs its own instance and makes few failed logins.

use std::process::Command;
use std::time::{Duration, Instant};

use passdrop::batch::{self, BatchError};
use passdrop::imap::{self, CertTrust, ImapProblem, ImapServer, ImapSettings, WhenUnreachable};
use secrecy::ExposeSecret as _;

use crate::helpers::{Dovecot, DovecotSetup, Pki, TestApp, dovecot_available, parse_csv, secret};

pub fn settings(url: &str, trust: CertTrust, when: WhenUnreachable) -> ImapSettings {
    ImapSettings {
        server: ImapServer::parse(url).unwrap(),
        trust,
        when_unreachable: when,
    }
}

async fn submit_once(app: &TestApp, link: &str, password: &str) -> (u16, String) {
    let r = app
        .client
        .post(link)
        .form(&[("password", password)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn imap_checks(app: &TestApp, batch_id: &str) -> Vec<Option<String>> {
    app.store
        .recipient_statuses(batch_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.imap_check.map(|c| c.as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_accepts_only_the_right_password() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = Dovecot::with_ann(&pki);
    let app = TestApp::spawn().await;
    let trust = CertTrust::ca_file(&pki.ca_pem).unwrap();
    let (b, links) = app
        .create_batch_checked_with(
            "imaps",
            "EmailAddress,UserName\nann@example.org,ann\n",
            Some(settings(
                &dovecot.imaps_url(),
                trust,
                WhenUnreachable::AskToRetry,
            )),
        )
        .await
        .unwrap();
    let link = links[0].link.expose_secret();

    // The form asks once (the server's answer replaces typing it twice) and says why.
    let page = app.get(link).await.text().await.unwrap();
    assert!(!page.contains("password_confirm"), "{page}");
    assert!(page.contains("current mail server (127.0.0.1)"), "{page}");

    let (status, page) = submit_once(&app, link, "wrong horse").await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("did not accept this password for ann@example.org"),
        "{page}"
    );
    assert_eq!(app.get(link).await.status(), 200, "the link stays usable");

    let (status, page) = submit_once(&app, link, "Right horse 1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        imap_checks(&app, &b.id).await,
        [Some("verified".to_owned())]
    );
    let (csv, _) = app.export(&b).await;
    assert_eq!(
        parse_csv(&csv)[1],
        ["ann@example.org", "ann", "Right horse 1"]
    );
    // The kept session's inventory and LOGOUT come after the answer.
    let log = dovecot.log_once_it_has("Logged out").await;
    assert!(log.contains("method=PLAIN"), "{log}");
    assert!(log.contains("Logged out"), "passdrop logs out: {log}");
}

const TRICKY: [(&str, &str); 5] = [
    ("quote", "say \"hello\""),
    ("backslash", "back\\slash\\"),
    ("space", " spaces  inside and out "),
    ("unicode", "pässwörd-ñ-日本-✓"),
    ("symbols", "{5}:%*()[]~'`"),
];

#[tokio::test(flavor = "multi_thread")]
async fn starttls_checks_tricky_passwords_with_plain_and_with_login() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let users = TRICKY.to_vec();
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &users,
        mechanisms: "plain login",
        tls: true,
        pki: &pki,
    });
    let s = settings(
        &dovecot.starttls_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let report = imap::check_connection(&s).await;
    assert!(report.ok(), "{:?}", report.lines());
    assert_eq!(
        report.login_method,
        Some(imap::LoginMethod::AuthenticatePlain)
    );
    assert!(
        report.capabilities.iter().all(|c| c != "STARTTLS"),
        "capabilities are read again after STARTTLS: {:?}",
        report.capabilities
    );
    // AUTHENTICATE PLAIN (preferred), then the LOGIN command with quoted strings, and
    // literals for 8-bit values. (Dovecot offers LOGIN only alongside AUTH=PLAIN, so the
    // LOGIN path is chosen explicitly here.)
    for method in [
        imap::LoginMethod::AuthenticatePlain,
        imap::LoginMethod::Login,
    ] {
        for (user, password) in &users {
            let verdict =
                imap::verify_password_using(&s, user, &secret(password), Some(method)).await;
            assert_eq!(verdict, imap::Verdict::Accepted, "{method}: {user}");
        }
    }
    let log = dovecot.log();
    assert_eq!(
        log.matches("method=PLAIN").count(),
        2 * users.len(),
        "{log}"
    );
    // One refusal only: Dovecot slows every further failure from the same address.
    let verdict = imap::verify_password(&s, "quote", &secret("say \"hello")).await;
    assert_eq!(verdict, imap::Verdict::Rejected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_is_refused_unless_pinned() {
    if !dovecot_available() {
        return;
    }
    // Old web hosts often present their own shared name, not the customer's.
    let pki = Pki::new(&["mail.webhost.example"]);
    let dovecot = Dovecot::with_ann(&pki);
    let app = TestApp::spawn().await;
    let roster = "EmailAddress,UserName\nann@example.org,ann\n";

    for (trust, expected) in [
        (CertTrust::PublicAuthorities, "not signed by an authority"),
        (
            CertTrust::ca_file(&pki.ca_pem).unwrap(),
            "made out to mail.webhost.example rather than to 127.0.0.1",
        ),
        (CertTrust::Pin([7; 32]), "not the pinned certificate"),
    ] {
        let s = settings(&dovecot.imaps_url(), trust, WhenUnreachable::AskToRetry);
        let report = imap::check_connection(&s).await;
        match &report.problem {
            Some(ImapProblem::Certificate(why)) => assert!(why.contains(expected), "{why}"),
            other => panic!("{other:?}"),
        }
        // The admin is shown what the server presented, so that it can be pinned.
        assert_eq!(report.certificate_sha256, Some(pki.fingerprint));
        let text = format!("{:?}", report.lines());
        assert!(
            text.contains(&imap::fingerprint_hex(&pki.fingerprint)),
            "{text}"
        );
        // Nothing is created with a server that cannot be used.
        let e = app
            .create_batch_checked_with("refused", roster, Some(s))
            .await
            .unwrap_err();
        assert!(matches!(e, BatchError::ImapUnusable(_)), "{e}");
        assert!(app.store.find_batch("refused").await.unwrap().is_none());
    }

    let pinned = settings(
        &dovecot.imaps_url(),
        CertTrust::Pin(pki.fingerprint),
        WhenUnreachable::AskToRetry,
    );
    let (b, links) = app
        .create_batch_checked_with("pinned", roster, Some(pinned))
        .await
        .unwrap();
    let (status, page) = submit_once(&app, links[0].link.expose_secret(), "Right horse 1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        imap_checks(&app, &b.id).await,
        [Some("verified".to_owned())]
    );

    // The command line shows the same test in plain words.
    let out = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", app.data_dir.path())
        .args(["batch", "check-imap", "pinned"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Encryption:          TLS 1.3"), "{text}");
    assert!(text.contains("trusted (the pinned certificate"), "{text}");
    assert!(
        text.contains("Passwords sent with: AUTHENTICATE PLAIN"),
        "{text}"
    );
    assert!(text.contains("Result:              OK"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_is_required_never_plaintext() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &[("ann", "Right horse 1")],
        mechanisms: "plain login",
        tls: false,
        pki: &pki,
    });
    let s = settings(
        &dovecot.starttls_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let report = imap::check_connection(&s).await;
    assert_eq!(report.problem, Some(ImapProblem::NoStartTls));
    let verdict = imap::verify_password(&s, "ann", &secret("Right horse 1")).await;
    assert_eq!(
        verdict,
        imap::Verdict::CouldNotCheck(ImapProblem::NoStartTls)
    );
    let log = dovecot.log();
    assert!(!log.contains("user=<ann>"), "no login was tried: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_asks_to_retry_or_accepts_unverified() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::with_ann(&pki);
    let app = TestApp::spawn().await;
    let roster = "EmailAddress,UserName\nann@example.org,ann\n";
    let trust = CertTrust::ca_file(&pki.ca_pem).unwrap();
    let url = dovecot.imaps_url();
    let (retry, retry_links) = app
        .create_batch_checked_with(
            "retry",
            roster,
            Some(settings(&url, trust.clone(), WhenUnreachable::AskToRetry)),
        )
        .await
        .unwrap();
    let (accept, accept_links) = app
        .create_batch_checked_with(
            "accept",
            roster,
            Some(settings(
                &url,
                trust.clone(),
                WhenUnreachable::AcceptUnverified,
            )),
        )
        .await
        .unwrap();
    drop(dovecot);

    // More tries than the lockout cap: none counts, the link stays usable.
    let link = retry_links[0].link.expose_secret();
    for _ in 0..=batch::MAX_FAILED_ATTEMPTS {
        let r = app
            .client
            .post(link)
            .form(&[("password", "Right horse 1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "120");
        let page = r.text().await.unwrap();
        assert!(page.contains("could not be checked"), "{page}");
    }
    assert_eq!(app.get(link).await.status(), 200);
    assert_eq!(imap_checks(&app, &retry.id).await, [None]);

    let (status, page) =
        submit_once(&app, accept_links[0].link.expose_secret(), "Right horse 1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        imap_checks(&app, &accept.id).await,
        [Some("unverified".to_owned())]
    );

    // A server that cannot be reached is not accepted for a new batch or a change.
    let e = app
        .create_batch_checked_with(
            "new",
            roster,
            Some(settings(&url, trust.clone(), WhenUnreachable::AskToRetry)),
        )
        .await
        .unwrap_err();
    match e {
        BatchError::ImapUnusable(report) => {
            assert!(
                matches!(
                    report.problem,
                    Some(ImapProblem::Connect { refused: true, .. })
                ),
                "{:?}",
                report.problem
            );
        }
        other => panic!("{other}"),
    }
    let before = app.store.require_batch("retry").await.unwrap().imap;
    let e = batch::set_imap(&app.store, &retry, None, &app.admin().await).await;
    assert!(e.is_ok());
    assert!(
        app.store
            .require_batch("retry")
            .await
            .unwrap()
            .imap
            .is_none()
    );
    let e = batch::set_imap(&app.store, &retry, before.clone(), &app.admin().await).await;
    assert!(matches!(e, Err(BatchError::ImapUnusable(_))));
    assert!(
        app.store
            .require_batch("retry")
            .await
            .unwrap()
            .imap
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_passwords_count_toward_the_lockout() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::with_ann(&pki);
    let app = TestApp::spawn().await;
    let (_b, links) = app
        .create_batch_checked_with(
            "lockout",
            "EmailAddress,UserName\nann@example.org,ann\n",
            Some(settings(
                &dovecot.imaps_url(),
                CertTrust::ca_file(&pki.ca_pem).unwrap(),
                WhenUnreachable::AskToRetry,
            )),
        )
        .await
        .unwrap();
    let link = links[0].link.expose_secret();
    // Wrong passwords (checked with the server) and forbidden ones (refused at once) share the
    // per-link count; only a few go to the server, because Dovecot slows each failure.
    let started = Instant::now();
    let (status, page) = submit_once(&app, link, "wrong horse").await;
    assert_eq!(status, 422, "{page}");
    // A client that hangs up while the server is answering (Dovecot now delays its
    // answers to this address by seconds) does not get an uncounted guess.
    let aborted = app
        .client
        .post(link)
        .timeout(Duration::from_millis(800))
        .form(&[("password", "wrong guess, then hang up")])
        .send()
        .await;
    assert!(
        aborted.is_err(),
        "the check should take longer than the client waits"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while dovecot.log().matches("auth failed").count() < 2 {
        assert!(Instant::now() < deadline, "{}", dovecot.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 3..batch::MAX_FAILED_ATTEMPTS {
        // (An empty password never counts; a line break does.)
        let (status, page) = submit_once(&app, link, "line\nbreak").await;
        assert_eq!(status, 422, "attempt {i}: {page}");
    }
    let (status, page) = submit_once(&app, link, "wrong again").await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("locked"), "{page}");
    let (status, _) = submit_once(&app, link, "Right horse 1").await;
    assert_eq!(
        status, 410,
        "a locked link takes nothing, even the right password"
    );
    println!("lockout reached in {:?}", started.elapsed());
    let log = dovecot.log();
    assert_eq!(
        log.matches("auth failed").count(),
        3,
        "three wrong passwords reached the server: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_and_tokens_stay_out_of_a_trace_log_with_imap() {
    if !dovecot_available() {
        return;
    }
    let right = "ImapRightCanary\"1";
    let wrong = "ImapWrongCanary\\2";
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &[("ann", right)],
        mechanisms: "plain login",
        tls: true,
        pki: &pki,
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .env("PASSDROP_PASSPHRASE", "imap canary passphrase")
            .env("PASSDROP_LOG", "trace")
            .args(args)
            .output()
            .unwrap()
    };
    // No directive can loosen the cap on the libraries that would log secrets.
    let server = crate::helpers::Server::start(
        &data,
        &[(
            "PASSDROP_LOG",
            "trace,async_imap::imap_stream=trace,tower_http::csrf=trace",
        )],
    );
    let o = run(&["admin", "init"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let roster = dir.path().join("roster.csv");
    std::fs::write(&roster, "EmailAddress,UserName\nann@example.org,ann\n").unwrap();
    let url = dovecot.starttls_url();
    let o = run(&[
        "batch",
        "create",
        "--name",
        "canary",
        "--roster",
        roster.to_str().unwrap(),
        "--verify-imap",
        &url,
        "--imap-ca-file",
        ca.to_str().unwrap(),
        "--public-url",
        &server.address,
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let link = parse_csv(&o.stdout)[1][2].clone();
    let client = reqwest::Client::new();
    for (password, status) in [(wrong, 422), (right, 200)] {
        let r = client
            .post(&link)
            .form(&[("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }
    let log = server.stop();
    assert!(log.contains("password submitted"), "{log}");
    assert!(log.contains("\"verified\""), "{log}");
    let token = link.rsplit('/').next().unwrap();
    for canary in [right, wrong, token, "SW1hcFJpZ2h0Q2FuYXJ5"] {
        assert!(!log.contains(canary), "{canary:?} is in the log:\n{log}");
        assert!(
            !stderr.contains(canary),
            "{canary:?} is in the CLI's output"
        );
    }
}

#[test]
fn test_certificates_have_the_names_asked_for() {
    let pki = Pki::new(&["127.0.0.1"]);
    assert!(CertTrust::ca_file(&pki.ca_pem).is_ok());
    assert!(pki.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_tests_pins_and_changes_the_server() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["mail.webhost.example"]);
    let dovecot = Dovecot::with_ann(&pki);
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = app
        .create_batch("console", "EmailAddress,UserName\nann@example.org,ann\n")
        .await;
    let page_url = format!("{}/admin/batches/{}", app.address, b.id);
    let post = |path: &str, mut form: Vec<(&'static str, String)>| {
        if !form.iter().any(|(k, _)| *k == "passphrase") {
            form.push(("passphrase", crate::helpers::PASSPHRASE.to_owned()));
        }
        app.client
            .post(format!("{page_url}{path}"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };

    // Not checked yet: the page says so and offers the form.
    let page = app
        .client
        .get(&page_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("accepted without checking them"), "{page}");

    // A server whose certificate is for another name: refused, nothing changes, the
    // fingerprint is shown with an offer to trust exactly that certificate.
    let url = dovecot.imaps_url();
    let r = post(
        "/imap",
        vec![
            ("imap_url", url.clone()),
            ("imap_when_unreachable", "retry".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    let fp = imap::fingerprint_hex(&pki.fingerprint);
    assert!(page.contains("Nothing was changed"), "{page}");
    assert!(page.contains(&fp), "{page}");
    assert!(page.contains("Trust this certificate"), "{page}");
    assert!(
        app.store
            .require_batch("console")
            .await
            .unwrap()
            .imap
            .is_none()
    );

    // Bad input is named and changes nothing.
    for (form, expected) in [
        (
            vec![("imap_url", "https://mail.example".to_owned())],
            "is not an IMAP server address",
        ),
        (
            vec![
                ("imap_url", url.clone()),
                ("imap_cert_sha256", "abc".into()),
            ],
            "is not a SHA-256 fingerprint",
        ),
        (
            vec![
                ("imap_url", url.clone()),
                ("imap_cert_sha256", fp.clone()),
                ("imap_ca_pem", pki.ca_pem.clone()),
            ],
            "not both",
        ),
    ] {
        let r = post("/imap", form).await.unwrap();
        assert_eq!(r.status(), 422);
        let page = r.text().await.unwrap();
        assert!(page.contains(expected), "{expected}: {page}");
    }

    // A session alone cannot choose where passwords go: the passphrase is asked again.
    let r = post(
        "/imap",
        vec![
            ("imap_url", url.clone()),
            ("imap_cert_sha256", fp.clone()),
            ("passphrase", "not the passphrase".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Nothing was changed"), "{page}");
    assert!(
        app.store
            .require_batch("console")
            .await
            .unwrap()
            .imap
            .is_none()
    );

    // "Trust this certificate" posts the pin; the server is tested and saved.
    let r = post(
        "/imap",
        vec![
            ("imap_url", url.clone()),
            ("imap_cert_sha256", fp.clone()),
            ("imap_when_unreachable", "accept".into()),
        ],
    )
    .await
    .unwrap();
    let (status, page) = crate::helpers::follow(&app.client, &page_url, &cookie, r).await;
    assert_eq!(status, 303);
    assert!(page.contains("Saved."), "{page}");
    assert!(page.contains("marked \"not verified\"") || page.contains("not verified"));
    let saved = app
        .store
        .require_batch("console")
        .await
        .unwrap()
        .imap
        .unwrap();
    assert_eq!(saved.trust, CertTrust::Pin(pki.fingerprint));
    assert_eq!(saved.when_unreachable, WhenUnreachable::AcceptUnverified);

    let r = post("/imap/test", vec![]).await.unwrap();
    let (status, page) = crate::helpers::follow(&app.client, &page_url, &cookie, r).await;
    assert_eq!(status, 303);
    assert!(page.contains("The connection works."), "{page}");
    assert!(page.contains("AUTHENTICATE PLAIN"), "{page}");

    // The user's submission is now checked, and the console shows it.
    let (status, _) = submit_once(&app, links[0].link.expose_secret(), "Right horse 1").await;
    assert_eq!(status, 200);
    let page = app
        .client
        .get(&page_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("checked with the server"), "{page}");

    // Stop checking.
    let r = post("/imap", vec![("off", "1".into())]).await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        app.store
            .require_batch("console")
            .await
            .unwrap()
            .imap
            .is_none()
    );

    // Anonymous requests change nothing.
    let r = app
        .client
        .post(format!("{page_url}/imap/test"))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 303 || r.status() == 401, "{}", r.status());
}
