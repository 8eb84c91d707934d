//! The old server's admin login from the console's new-batch form (issue 18), against a
//! real Dovecot with a master passdb: each wrong field comes back at its field with
//! everything else typed (never a secret) and no batch; the right admin login creates
//! the batch, tries it once, and probes the rest in the background. Then a covered user
//! is asked for their password from the batch page's admin-login section: they get a
//! link, and their own password wins in the export. And probes that meet a server
//! refusing connections warn of throttling as the password checks do.

use passdrop::storage::ProbeState;

use crate::admin_login::{ADMIN_PASSWORD, dovecot_with_master};
use crate::helpers::{
    PASSPHRASE, Pki, TestApp, canaries_found, console_get, console_post, dovecot_available, follow,
    parse_csv, passdrop, run, secret,
};

const ROSTER: &str =
    "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\ncy@example.org,cy\n";
const WRONG: &str = "wrong CANARY-5d1f admin";

/// The new-batch form with an old server and an admin login; `(field, value)` pairs
/// replace or drop (empty value) fields.
fn form(url: &str, ca: &str, changes: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut fields = vec![
        ("name", "Move with admin".to_owned()),
        ("org", "Example Ltd".to_owned()),
        ("expires_number", "7".to_owned()),
        ("expires_unit", "days".to_owned()),
        ("roster_text", ROSTER.to_owned()),
        ("imap_url", url.to_owned()),
        ("imap_ca_pem", ca.to_owned()),
        ("imap_when_unreachable", "retry".to_owned()),
        ("admin_form", "dovecot".to_owned()),
        ("admin_user", "mailadmin".to_owned()),
        ("admin_separator", "*".to_owned()),
        ("admin_password", ADMIN_PASSWORD.to_owned()),
        ("passphrase", PASSPHRASE.to_owned()),
    ];
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, (*value).to_owned()));
    }
    fields
        .into_iter()
        .fold(reqwest::multipart::Form::new(), |f, (n, v)| {
            f.text(n.to_owned(), v)
        })
}

async fn post(app: &TestApp, cookie: &str, form: reqwest::multipart::Form) -> (u16, String) {
    let url = format!("{}/admin/batches", app.address);
    let r = app
        .client
        .post(&url)
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    follow(&app.client, &url, cookie, r).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_batch_form_takes_the_admin_login_and_a_covered_user_can_still_be_asked() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let url = dovecot.imaps_url();
    let ca = pki.ca_pem.clone();

    // Each refusal: 422, the problem at its field and in the summary, the other fields
    // as typed, no secret sent back, and no batch.
    for (changes, field, words) in [
        (
            vec![("admin_password", WRONG)],
            "admin_password",
            "refused the admin password",
        ),
        (
            vec![("admin_password", "")],
            "admin_password",
            "Admin password: it is missing",
        ),
        (
            vec![("imap_url", ""), ("imap_ca_pem", "")],
            "admin_form",
            "it needs the old mail server above",
        ),
        (vec![("admin_form", "notes")], "admin_form", "Server type:"),
        (
            vec![("admin_user", "mail admin")],
            "admin_user",
            "Admin login:",
        ),
        (
            vec![("admin_probe_user", "zed@example.org")],
            "admin_probe_user",
            "is not in the roster",
        ),
    ] {
        let (status, page) = post(&app, &cookie, form(&url, &ca, &changes)).await;
        assert_eq!(status, 422, "{field}: {page}");
        assert!(page.contains(words), "{field}: {page}");
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{page}");
        assert!(page.contains(&format!("href=\"#{field}\"")), "{page}");
        assert!(page.contains("value=\"Move with admin\""), "{page}");
        assert!(page.contains("ann@example.org,ann"), "{page}");
        if field != "admin_user" {
            assert!(page.contains("value=\"mailadmin\""), "{page}");
        }
        for secret in [ADMIN_PASSWORD, WRONG, PASSPHRASE] {
            assert!(!page.contains(secret), "{field}: a secret came back");
        }
        assert!(
            app.store.list_batches().await.unwrap().is_empty(),
            "{field}"
        );
    }

    // The right admin login: one batch, tried with bob, the rest probed in the background.
    let (status, page) = post(
        &app,
        &cookie,
        form(&url, &ca, &[("admin_probe_user", "bob@example.org")]),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("It opened bob@example.org"), "{page}");
    let batches = app.store.list_batches().await.unwrap();
    assert_eq!(batches.len(), 1);
    let b = app.store.require_batch(&batches[0].batch.id).await.unwrap();
    assert!(b.admin_login.is_some());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while app.store.probe_records(&b.id).await.unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the probe did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let batch_url = format!("{}/admin/batches/{}", app.address, b.id);
    let page = console_get(&app.client, &batch_url, &cookie).await;
    assert!(page.contains("2 users are</strong> covered"), "{page}");
    assert!(
        page.contains("aria-label=\"Ask ann@example.org for their password\""),
        "{page}"
    );
    // Only cy needs a link.
    let admin = app.admin().await;
    let open = |b: passdrop::storage::Batch| {
        let (store, url) = (app.store.clone(), app.public_url.clone());
        let admin = &admin;
        async move {
            passdrop::batch::open_live_links(&store, &url, &b, admin, passdrop::config::now())
                .await
                .unwrap()
        }
    };
    let emails = |links: &[(passdrop::storage::Recipient, passdrop::batch::IssuedLink)]| {
        links
            .iter()
            .map(|(r, _)| r.email.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(emails(&open(b.clone()).await), ["cy@example.org"]);

    // Ask ann anyway, from the console: the reissue page, then the passphrase (PRG).
    let ask = console_get(
        &app.client,
        &format!("{batch_url}/reissue?email=ann%40example.org"),
        &cookie,
    )
    .await;
    assert!(ask.contains("ann@example.org"), "{ask}");
    let (status, page) = console_post(
        &app.client,
        &format!("{batch_url}/reissue"),
        &cookie,
        &[("email", "ann@example.org"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let probes = app.store.probe_records(&b.id).await.unwrap();
    let ann = app.store.recipient(&b, "ann@example.org").await.unwrap();
    assert_eq!(probes[&ann.id].state, ProbeState::Requested);
    assert!(page.contains("a link was reissued"), "{page}");
    let links = open(b.clone()).await;
    assert_eq!(emails(&links), ["ann@example.org", "cy@example.org"]);

    // ann gives her own password: it wins over the admin login in the export.
    let r = app
        .submit(&crate::helpers::link(&links[0].1), "Ann pw 1", "Ann pw 1")
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (csv, _) = app.export(&b).await;
    let mut rows = parse_csv(&csv);
    rows[1..].sort();
    assert_eq!(
        rows[..3],
        [
            vec!["EmailAddress", "UserName", "Password"],
            vec!["ann@example.org", "ann", "Ann pw 1"],
            vec!["bob@example.org", "bob*mailadmin", ADMIN_PASSWORD],
        ]
    );
    let found = canaries_found(app.data_dir.path(), &[WRONG, PASSPHRASE, ADMIN_PASSWORD]);
    assert!(found.is_empty(), "in the data directory: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_that_meet_a_closed_door_warn_of_throttling_like_password_checks() {
    use passdrop::batch::admin_login::{self, AdminForm, AdminLogin, NewAdminLogin};
    use passdrop::imap::{CertTrust, CheckGate, ImapServer, ImapSettings, WhenUnreachable};

    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    let app = TestApp::spawn().await;
    let server = ImapServer::parse(&dovecot.imaps_url()).unwrap();
    let settings = ImapSettings {
        server: server.clone(),
        trust: CertTrust::ca_file(&pki.ca_pem).unwrap(),
        when_unreachable: WhenUnreachable::AskToRetry,
    };
    let (b, _) = app
        .create_batch_checked_with(
            "probe-throttled",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n\
             cy@example.org,cy\ndee@example.org,dee\n",
            Some(settings),
        )
        .await
        .unwrap();
    let admin = app.admin().await;
    let login = NewAdminLogin {
        login: AdminLogin::new(AdminForm::Dovecot, "mailadmin", Some("*")).unwrap(),
        password: secret(ADMIN_PASSWORD),
    };
    admin_login::set_admin_login(&app.store, &b, Some(login), None, &admin)
        .await
        .unwrap();
    let b = app.store.require_batch(&b.id).await.unwrap();
    // The server goes away: each of the three remaining probes meets a closed door.
    drop(dovecot);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let gate = std::sync::Arc::new(CheckGate::default());
    let summary = admin_login::probe_users(&app.store, &b, &admin, &gate, |_, _| {})
        .await
        .unwrap();
    assert_eq!(summary.unclear, 3, "{summary:?}");
    let warning = gate
        .throttling(&server)
        .expect("the gate saw the throttling");
    assert!(warning.contains("3 were refused or cut off"), "{warning}");
    // Said once, in the audit trail, where `batch status` (and `doctor`) find it.
    let events = app.store.audit_trail(&b.id).await.unwrap();
    let said = events
        .iter()
        .filter(|e| e.kind.as_str() == "imap_throttling")
        .count();
    assert_eq!(said, 1, "{events:?}");
    let o = run(passdrop(app.data_dir.path()).args(["batch", "status", "probe-throttled"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("seemed to slow down or block"), "{out}");
}

/// The new-batch form logs in with the admin login once, not twice (no second login
/// between the batch created and its admin login set: nothing on the network can fail
/// there), and the batch ends with its admin login and that first answer. Counted on
/// a scripted server that lets every login in.
#[tokio::test(flavor = "multi_thread")]
async fn the_new_batch_form_tries_the_admin_login_exactly_once() {
    use crate::helpers::{FakeImap, Script};
    let fake = FakeImap::start(Script::Accept).await;
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let pin = hex::encode(fake.fingerprint);
    let changes = [
        ("imap_ca_pem", ""),
        ("imap_cert_sha256", pin.as_str()),
        (
            "roster_text",
            "EmailAddress,UserName\nann@example.org,ann\n",
        ),
    ];
    let (status, page) = post(&app, &cookie, form(&fake.url(), "", &changes)).await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("It opened ann@example.org"), "{page}");
    let batches = app.store.list_batches().await.unwrap();
    assert_eq!(batches.len(), 1);
    let b = app.store.require_batch(&batches[0].batch.id).await.unwrap();
    assert!(
        b.admin_login.is_some(),
        "the batch ends with its admin login"
    );
    let ann = &app.store.recipient_statuses(&b.id).await.unwrap()[0].recipient;
    let probes = app.store.probe_records(&b.id).await.unwrap();
    assert_eq!(probes[&ann.id].state, ProbeState::Covered);
    // The background probe has no one left to try; give it time to show it does not.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(fake.logins(), 1, "the admin login was tried more than once");
}

/// The browser gives up (closed, or the request's time limit) while the admin login is
/// being tried: the form's work goes on in a task of its own, and the batch ends whole,
/// with its admin login, never half-made.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_gives_up_cannot_leave_the_new_batch_half_made() {
    use crate::helpers::{FakeImap, Script};
    let fake = FakeImap::start(Script::SlowAccept).await;
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let pin = hex::encode(fake.fingerprint);
    let changes = [
        ("imap_ca_pem", ""),
        ("imap_cert_sha256", pin.as_str()),
        (
            "roster_text",
            "EmailAddress,UserName\nann@example.org,ann\n",
        ),
    ];
    let sent = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(form(&fake.url(), "", &changes))
        .timeout(std::time::Duration::from_millis(1500))
        .send()
        .await;
    assert!(
        sent.is_err(),
        "the browser gave up before the answer: {sent:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let b = loop {
        assert!(std::time::Instant::now() < deadline, "no batch was made");
        if let Some(listed) = app.store.list_batches().await.unwrap().first() {
            let b = app.store.require_batch(&listed.batch.id).await.unwrap();
            if b.admin_login.is_some() {
                break b;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(app.store.probe_records(&b.id).await.unwrap().len(), 1);
    assert_eq!(fake.logins(), 1);
}
