//! Living with the old server's brute-force defences: checks paced per server, only a
//! clear refusal counted, app-password refusals explained, throttling noticed, and the
//! server as Microsoft 365 will see it. Against a real Dovecot where one can run, and a
//! scripted fake (tests/api/helpers/fake_imap.rs) for answers Dovecot cannot give.

use std::time::{Duration, Instant};

use passdrop::batch;
use passdrop::crypto::LinkToken;
use passdrop::imap::{self, CertTrust, ImapProblem, PublicTls, WhenUnreachable, microsoft_view};
use secrecy::ExposeSecret as _;

use crate::helpers::{
    Dovecot, DovecotSetup, FakeImap, Pki, Script, TestApp, canaries_found, console_get,
    dovecot_available, external_available, free_port, passdrop, run, token_of,
};
use crate::imap::settings;

async fn post(app: &TestApp, link: &str, password: &str) -> (u16, String) {
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

/// The refusals counted against a link so far.
async fn counted(app: &TestApp, link: &str) -> i64 {
    let token = LinkToken::parse(&token_of(link)).unwrap();
    app.store
        .link_by_token_hash(&token.hash())
        .await
        .unwrap()
        .unwrap()
        .failed_attempts
}

fn codes(report: &imap::ConnectionReport) -> Vec<&'static str> {
    microsoft_view::problems(report)
        .into_iter()
        .map(|p| p.code)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_users_typos_do_not_stop_a_fourth_users_right_password() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let users = [
        ("ann", "Right horse 1"),
        ("bob", "Right horse 2"),
        ("cy", "Right horse 3"),
        ("dee", "Right horse 4"),
    ];
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &users,
        mechanisms: "plain login",
        tls: true,
        pki: &pki,
    });
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch_checked_with(
            "typos",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n\
             cy@example.org,cy\ndee@example.org,dee\n",
            Some(settings(
                &dovecot.imaps_url(),
                CertTrust::ca_file(&pki.ca_pem).unwrap(),
                WhenUnreachable::AskToRetry,
            )),
        )
        .await
        .unwrap();
    let links: Vec<String> = links
        .iter()
        .map(|l| l.link.expose_secret().to_owned())
        .collect();

    // While the three typos are checked (two at once, the third queued), the fourth
    // user sends the right password: it waits its turn and for Dovecot's penalty.
    let started = Instant::now();
    let mut typos = Vec::new();
    for link in &links[..3] {
        let client = app.client.clone();
        let link = link.clone();
        typos.push(tokio::spawn(async move {
            let r = client
                .post(&link)
                .form(&[("password", "wrong horse")])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, page) = post(&app, &links[3], "Right horse 4").await;
    let fourth_took = started.elapsed();
    assert_eq!(status, 200, "{page}");
    for typo in typos {
        let (status, page) = typo.await.unwrap();
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("did not accept this password"), "{page}");
    }
    println!(
        "the right password after three typos was accepted in {fourth_took:?}; all four \
         answered in {:?}",
        started.elapsed()
    );
    // Dovecot's penalty was on (it delays the next login from this address by seconds
    // after each failure), and the right password still got through within the wait.
    assert!(
        fourth_took > Duration::from_secs(2) && fourth_took < imap::VERIFY_BUDGET,
        "{fourth_took:?}"
    );
    // Each typo counted once, for its own user only; the fourth user's count stays 0.
    for link in &links[..3] {
        assert_eq!(counted(&app, link).await, 1);
    }
    assert_eq!(counted(&app, &links[3]).await, 0);
    let checks: Vec<Option<String>> = app
        .store
        .recipient_statuses(&b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.imap_check.map(|c| c.as_str().to_owned()))
        .collect();
    assert_eq!(
        checks.iter().filter(|c| c.is_some()).count(),
        1,
        "{checks:?}"
    );
    let log = dovecot.log();
    assert_eq!(log.matches("auth failed").count(), 3, "{log}");

    // As Microsoft would see this server: a private address, a certificate from the
    // test's own authority; TLS 1.2 or later is fine. Warnings, not a failed check.
    let report = imap::check_connection(&settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    ))
    .await;
    assert!(report.ok(), "{:?}", report.problem);
    assert_eq!(
        codes(&report),
        ["certificate_not_trusted", "host_not_public"]
    );
    let lines = report.lines();
    for (label, value) in &lines {
        println!("{label}: {value}");
    }
    assert!(
        lines
            .iter()
            .any(|(l, v)| *l == "AUTH mechanisms" && v.contains("PLAIN")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_password_refusal_is_explained_counted_apart_and_purged() {
    let fake = FakeImap::start(Script::AppPassword).await;
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch_checked_with(
            "gmail",
            "EmailAddress,UserName\ncanary.ann@canary-pace.example,ann\n",
            Some(settings(
                &fake.url(),
                CertTrust::Pin(fake.fingerprint),
                WhenUnreachable::AskToRetry,
            )),
        )
        .await
        .unwrap();
    let link = links[0].link.expose_secret();
    // Before pressing the button, the user is told the check may take a while.
    let form = app.get(link).await.text().await.unwrap();
    assert!(form.contains("can take up to a minute"), "{form}");
    assert!(
        form.contains("data-checking=\"Checking with your mail server"),
        "{form}"
    );
    for _ in 0..2 {
        let (status, page) = post(&app, link, "my usual password").await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("asks for an app password"), "{page}");
        assert!(page.contains("myaccount.google.com/apppasswords"), "{page}");
        assert!(page.contains("canary.ann@canary-pace.example"), "{page}");
    }
    assert_eq!(fake.logins(), 2);
    assert_eq!(counted(&app, link).await, 0, "never toward the lock");
    assert_eq!(app.get(link).await.status(), 200);
    let noted = batch::app_password_required(&app.store, &b.id)
        .await
        .unwrap();
    assert_eq!(
        noted.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["canary.ann@canary-pace.example"]
    );
    // In another language too.
    let r = app
        .client
        .post(link)
        .header("accept-language", "de")
        .form(&[("password", "x")])
        .send()
        .await
        .unwrap();
    // (The roster names no language, so the browser's is used.)
    assert!(r.text().await.unwrap().contains("App-Passwort"));

    let o = run(passdrop(app.data_dir.path()).args(["batch", "status", "gmail"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("asked for an app password"), "{out}");
    assert!(out.contains("canary.ann@canary-pace.example"), "{out}");

    // It goes at purge with the user's row, and nothing of the user stays on disk.
    app.store
        .purge_batch(
            &b.id,
            passdrop::config::now(),
            passdrop::storage::LossAllowed::Any,
        )
        .await
        .unwrap();
    assert!(
        app.store
            .app_password_required(&b.id)
            .await
            .unwrap()
            .is_empty()
    );
    let found = canaries_found(app.data_dir.path(), &["canary-pace", "my usual password"]);
    assert!(found.is_empty(), "after purge: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_clear_answer_counts_nothing_and_a_throttling_server_is_reported_once() {
    let app = TestApp::spawn().await;
    for (script, name) in [(Script::Unavailable, "unavailable"), (Script::Bye, "bye")] {
        let fake = FakeImap::start(script).await;
        let (b, links) = app
            .create_batch_checked_with(
                name,
                "EmailAddress,UserName\nann@example.org,ann\n",
                Some(settings(
                    &fake.url(),
                    CertTrust::Pin(fake.fingerprint),
                    WhenUnreachable::AskToRetry,
                )),
            )
            .await
            .unwrap();
        let link = links[0].link.expose_secret();
        // More tries than the lock allows: none counts, the link stays usable.
        for _ in 0..=batch::MAX_FAILED_ATTEMPTS {
            let (status, page) = post(&app, link, "Right horse 1").await;
            assert_eq!(status, 503, "{name}: {page}");
            assert!(page.contains("could not be checked"), "{name}: {page}");
        }
        assert_eq!(
            fake.logins(),
            usize::try_from(batch::MAX_FAILED_ATTEMPTS).unwrap() + 1,
            "{name}: each try reached the server"
        );
        assert_eq!(counted(&app, link).await, 0, "{name}");
        assert_eq!(app.get(link).await.status(), 200, "{name}");
        // The admin is told once, in the audit trail, and by `batch status`.
        let events = app.store.audit_trail(&b.id).await.unwrap();
        let throttling = events
            .iter()
            .filter(|e| e.kind.as_str() == "imap_throttling")
            .count();
        assert_eq!(throttling, 1, "{name}: {events:?}");
        let o = run(passdrop(app.data_dir.path()).args(["batch", "status", name]));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("seemed to slow down or block"), "{out}");
        assert!(out.contains("allowlist"), "{out}");
        let o = run(passdrop(app.data_dir.path()).args(["batch", "check-imap", name]));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("WARNING server_throttling"), "{out}");
        // The console's batch page says it at the top while it lasts.
        let cookie = app.login().await;
        let page = console_get(
            &app.client,
            &format!("{}/admin/batches/{}", app.address, b.id),
            &cookie,
        )
        .await;
        assert!(page.contains("may be throttling passdrop"), "{page}");
        assert!(page.contains("allowlist"), "{page}");
        // And `doctor`, with the server as Microsoft will see it.
        let o = run(passdrop(app.data_dir.path())
            .arg("--settings-key-file")
            .arg(app.key_dir.path().join("settings-key.pub"))
            .arg("doctor"));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains(&format!(
                "as Microsoft 365 will see {} (server_throttling)",
                fake.url()
            )),
            "{out}"
        );
        assert!(out.contains("(host_not_public)"), "{out}");
        assert!(out.contains("(certificate_not_trusted)"), "{out}");

        // A stopped server: nothing counted either, the user asked to retry.
        drop(fake);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, page) = post(&app, link, "Right horse 1").await;
        assert_eq!(status, 503, "{page}");
        assert_eq!(counted(&app, link).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn microsoft_sees_a_self_signed_certificate_and_a_private_address() {
    let fake = FakeImap::start(Script::AppPassword).await;
    let report = imap::check_connection(&settings(
        &fake.url(),
        CertTrust::Pin(fake.fingerprint),
        WhenUnreachable::AskToRetry,
    ))
    .await;
    assert!(
        report.ok(),
        "pinned, passdrop trusts it: {:?}",
        report.problem
    );
    assert!(
        matches!(report.public_tls, Some(PublicTls::Untrusted(_))),
        "{:?}",
        report.public_tls
    );
    assert_eq!(
        codes(&report),
        ["certificate_not_trusted", "host_not_public"]
    );
    let text: Vec<String> = report
        .lines()
        .into_iter()
        .map(|(l, v)| format!("{l}: {v}"))
        .collect();
    let text = text.join("\n");
    assert!(text.contains("-AcceptUntrustedCertificates"), "{text}");
    assert!(
        text.contains("127.0.0.1 is a private or loopback address"),
        "{text}"
    );
    assert!(text.contains("AUTH mechanisms: PLAIN"), "{text}");
    assert!(text.contains("MaxConcurrentIncrementalSyncs"), "{text}");
    assert!(text.starts_with("Server: "), "{text}");

    // A closed port: unreachable, and said so with its code.
    let port = free_port();
    let report = imap::check_connection(&settings(
        &format!("imaps://127.0.0.1:{port}"),
        CertTrust::PublicAuthorities,
        WhenUnreachable::AskToRetry,
    ))
    .await;
    assert!(matches!(report.problem, Some(ImapProblem::Connect { .. })));
    assert_eq!(codes(&report), ["server_unreachable", "host_not_public"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_1_0_only_server_is_reported_below_tls_1_2() {
    let openssl = std::path::Path::new("/usr/bin/openssl");
    if !external_available(openssl.exists(), "openssl", "openssl") {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &pki.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &pki.key_pem).unwrap();
    let port = free_port();
    // OpenSSL 3 allows TLS 1.0 only at security level 0.
    let mut server = std::process::Command::new(openssl)
        .args([
            "s_server",
            "-quiet",
            "-tls1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ])
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("-key")
        .arg(dir.path().join("key.pem"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = imap::check_connection(&settings(
        &format!("imaps://127.0.0.1:{port}"),
        CertTrust::PublicAuthorities,
        WhenUnreachable::AskToRetry,
    ))
    .await;
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        matches!(report.problem, Some(ImapProblem::Tls(_))),
        "{:?}",
        report.problem
    );
    assert!(
        matches!(report.public_tls, Some(PublicTls::BelowTls12(_))),
        "{:?} / {:?}",
        report.public_tls,
        report.problem
    );
    assert_eq!(codes(&report), ["tls_below_1_2", "host_not_public"]);
}

#[test]
fn pacing_options_out_of_range_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    for (option, value) in [
        ("--imap-checks-per-server", "0"),
        ("--imap-checks-per-server", "9"),
        ("--imap-login-interval-ms", "60000"),
        ("--imap-uncounted-checks-per-link", "0"),
        ("--imap-uncounted-checks-per-link", "1001"),
    ] {
        let o = run(passdrop(&dir.path().join("data")).args([
            "--listen",
            "127.0.0.1:0",
            "serve",
            option,
            value,
        ]));
        assert_eq!(o.status.code(), Some(2), "{option} {value}");
        let err = crate::helpers::stderr(&o);
        assert!(err.contains(option), "{err}");
    }
}
