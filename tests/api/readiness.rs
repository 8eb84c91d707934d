//! Migration readiness against a real Dovecot: the mailbox inventory after a verified
//! submission, the lint codes, the readiness report (JSON checked field by field), the
//! re-check that finds a changed password and reissues only that user's link, and the
//! purge that leaves none of it.
//!
//! Fixtures are made by each test: a Maildir with a folder whose name holds `/`
//! (Dovecot's listescape plugin, `.` separator), a message over a lowered size limit
//! (writing 35 MB per run would only slow the test: the limit is a parameter, and the
//! server's `SEARCH LARGER` is what is exercised), and the quota plugin enabled.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use passdrop::batch::{self, readiness};
use passdrop::config;
use passdrop::imap::{self, CertTrust, InventoryLimits, WhenUnreachable};
use passdrop::storage::RecheckOutcome;
use secrecy::ExposeSecret as _;

use crate::helpers::{
    Dovecot, DovecotSetup, PASSPHRASE, Pki, Relay, TestApp, aiosmtpd_available, canaries_found,
    console_get, console_post, dovecot_available, parse_csv, passdrop, run, secret, stderr,
};
use crate::imap::settings;

/// listescape (a `/` inside a name, `.` as separator) and the quota plugin.
const EXTRA: &str = "mail_plugins = $mail_plugins listescape quota\n\
     namespace inbox {\n  inbox = yes\n  separator = .\n}\n\
     plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=1G\n}\n\
     protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n";

/// A message of about `body` bytes, in lines of 70 characters.
fn message(n: usize, body: usize) -> String {
    let line = format!("{}\r\n", "x".repeat(70));
    format!(
        "From: it@example.org\r\nTo: ann@example.org\r\nSubject: m{n}\r\n\
         Message-ID: <m{n}@example.org>\r\n\r\n{}",
        line.repeat(body / line.len() + 1)
    )
}

/// Writes `user`'s Maildir: INBOX with `inbox` messages of the given body sizes, and one
/// folder per `(on-disk name, sizes)`; then hands it to Dovecot's mail user.
fn fill_maildir(dovecot: &Dovecot, user: &str, inbox: &[usize], folders: &[(&str, &[usize])]) {
    let root = dovecot.dir.path().join("home").join(user).join("Maildir");
    let mut n = 0;
    let mut write = |dir: &Path, sizes: &[usize]| {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for &size in sizes {
            n += 1;
            let name = format!("{}.M{n}P1.fixture:2,S", 1_700_000_000 + n);
            std::fs::write(dir.join("cur").join(name), message(n, size)).unwrap();
        }
    };
    write(&root, inbox);
    for (name, sizes) in folders {
        write(&root.join(name), sizes);
    }
    let home = dovecot.dir.path().join("home");
    let o = run(Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(&home));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Replaces the users file (Dovecot re-reads it when its time changes).
fn set_users(dovecot: &Dovecot, users: &[(&str, &str)]) {
    use base64::Engine as _;
    let path = dovecot.dir.path().join("users");
    let text: String = users
        .iter()
        .map(|(u, p)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(p);
            format!("{u}:{{PLAIN.B64}}{b64}\n")
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    // Whole seconds: move the time forward so that the change cannot go unseen.
    let later = format!("@{}", config::now() + 5);
    let o = run(Command::new("touch").args(["-d", &later]).arg(&path));
    assert!(o.status.success(), "{}", stderr(&o));
}

async fn wait_for_inventory(app: &TestApp, batch_id: &str) -> passdrop::storage::UserReadiness {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let facts = app.store.user_readiness(batch_id).await.unwrap();
        if let Some(f) = facts.into_iter().find(|f| f.inventory.is_some()) {
            return f;
        }
        assert!(Instant::now() < deadline, "no inventory was stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inventory_counts_folders_sizes_and_messages_over_the_limit_read_only() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::start_with(
        &DovecotSetup {
            users: &[("ann", "Right horse 1")],
            mechanisms: "plain login",
            tls: true,
            pki: &pki,
        },
        EXTRA,
    );
    fill_maildir(
        &dovecot,
        "ann",
        &[1_000, 2_000, 150_000],
        &[(".Projects\\2f2024", &[500]), (".Archive", &[])],
    );
    let s = settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (verdict, session) =
        imap::verify_password_keeping(&s, "ann", &secret("Right horse 1")).await;
    assert_eq!(verdict, imap::Verdict::Accepted);
    // A lowered limit (100 kB) instead of a 35 MB fixture: see the module's comment.
    let limits = InventoryLimits {
        message_limit: 100_000,
        ..InventoryLimits::default()
    };
    let inv = imap::take_inventory(session.unwrap(), limits).await;
    assert!(!inv.partial, "{inv:?}");
    assert_eq!(inv.folders, 3, "{inv:?}");
    assert_eq!(inv.delimiter, Some('.'));
    assert_eq!(inv.messages, 4);
    assert_eq!(inv.oversized_messages, 1);
    let largest = inv.largest_message_bytes.unwrap();
    assert!((150_000..160_000).contains(&largest), "{largest}");
    assert!(
        inv.bytes > largest && inv.bytes < largest + 10_000,
        "{}",
        inv.bytes
    );
    assert_eq!(
        inv.problem_folders,
        [(
            imap::FolderProblem::NameHasSlash,
            "Projects/2024".to_owned()
        )]
    );
    // Read-only: EXAMINE, never SELECT, and nothing fetched but sizes.
    let log = dovecot.log();
    assert!(!log.contains("SELECT"), "{log}");
    let seen = std::fs::read_dir(dovecot.dir.path().join("home/ann/Maildir/cur"))
        .unwrap()
        .count();
    assert_eq!(seen, 3, "no message moved or added");

    // The fallbacks for servers without STATUS SIZE: the quota (the fixture enables
    // Dovecot's quota plugin; KiB, so within a few of the sizes), then fetched sizes.
    for (quota, close) in [(true, 4_096), (false, 0)] {
        let (_, session) = imap::verify_password_keeping(&s, "ann", &secret("Right horse 1")).await;
        let fallback = InventoryLimits {
            message_limit: 100_000,
            status_size: false,
            quota,
            ..InventoryLimits::default()
        };
        let other = imap::take_inventory(session.unwrap(), fallback).await;
        assert_eq!((other.messages, other.oversized_messages), (4, 1));
        assert!(
            other.bytes.abs_diff(inv.bytes) <= close,
            "quota {quota}: {} against {}",
            other.bytes,
            inv.bytes
        );
        assert!(!other.partial);
        // The quota counts whole KiB: a multiple of 1024 shows it was the source.
        assert_eq!(other.bytes % 1024 == 0, quota, "{}", other.bytes);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_submission_leaves_an_inventory_and_lint_codes_the_report_shows_until_purge() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let ann_password = "=Canary horse 1 ";
    let dovecot = Dovecot::start_with(
        &DovecotSetup {
            users: &[("ann", ann_password)],
            mechanisms: "plain login",
            tls: true,
            pki: &pki,
        },
        EXTRA,
    );
    fill_maildir(
        &dovecot,
        "ann",
        &[1_000, 2_000],
        &[(".Canaryfolder\\2f2024", &[500])],
    );
    let app = TestApp::spawn().await;
    let s = settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (b, links) = app
        .create_batch_checked_with(
            "ready",
            "EmailAddress,UserName\ncanary.ann@example.org,ann\nbob@example.org,bob\n",
            Some(s),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let r = app
        .client
        .post(links[0].link.expose_secret())
        .form(&[("password", ann_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answered = started.elapsed();
    let facts = wait_for_inventory(&app, &b.id).await;
    eprintln!(
        "answer after {answered:?}, inventory stored after {:?}",
        started.elapsed()
    );
    assert_eq!(
        facts.lint_codes, "formula_like_password space_at_edge",
        "only the codes are kept"
    );
    let (inv, _) = facts.inventory.unwrap();
    assert_eq!((inv.folders, inv.messages), (2, 3));
    assert_eq!(inv.oversized_messages, 0, "35 MB by default");
    assert_eq!(
        inv.problem_folders,
        [(
            "folder_name_has_slash".to_owned(),
            "Canaryfolder/2024".to_owned()
        )]
    );

    let key = app.key_dir.path().join("settings-key.pub");
    let readiness = |extra: &[&str]| {
        let mut cmd = passdrop(app.data_dir.path());
        cmd.env("PASSDROP_SETTINGS_KEY_FILE", &key)
            .args(["batch", "readiness", "ready"])
            .args(extra);
        run(&mut cmd)
    };
    let o = readiness(&["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["batch"]["id"], b.id.as_str());
    assert_eq!(json["batch"]["name"], "ready");
    assert_eq!(json["batch"]["totals"]["mailboxes"], 1);
    assert_eq!(json["batch"]["totals"]["messages"], 3);
    assert_eq!(json["batch"]["totals"]["bytes"], inv.bytes);
    // The test's Dovecot is what Microsoft could not use: a test CA on a loopback address.
    let server_codes: Vec<&str> = json["server"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(server_codes, ["certificate_not_trusted", "host_not_public"]);
    let users = json["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let ann = &users[0];
    assert_eq!(ann["email"], "canary.ann@example.org");
    assert_eq!(ann["state"], "verified");
    let verified_at = ann["verified_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(verified_at, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{verified_at}"
    );
    assert!(ann["rechecked_at"].is_null());
    assert_eq!(ann["mailbox"]["folders"], 2);
    assert_eq!(ann["mailbox"]["messages"], 3);
    assert_eq!(ann["mailbox"]["bytes"], inv.bytes);
    assert_eq!(
        ann["mailbox"]["largest_message_bytes"],
        inv.largest_message_bytes.unwrap()
    );
    assert_eq!(
        ann["mailbox"]["problem_folders"],
        serde_json::json!(["Canaryfolder/2024"])
    );
    let codes = |u: &serde_json::Value| -> Vec<String> {
        u["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert!(!p["detail"].as_str().unwrap().is_empty());
                p["code"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(
        codes(ann),
        [
            "folder_name_has_slash",
            "formula_like_password",
            "space_at_edge"
        ]
    );
    let bob = &users[1];
    assert_eq!(bob["email"], "bob@example.org");
    assert_eq!(bob["state"], "pending");
    assert!(bob["verified_at"].is_null() && bob["mailbox"].is_null());
    assert_eq!(codes(bob), ["not_submitted"]);
    // No password, and nothing of it but the codes, in the report.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Canary horse"));

    // Exit 0 when produced; --strict: 1, as problems are listed. --offline says so.
    let o = readiness(&["--strict", "--offline"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("was not tested (--offline)"),
        "{}",
        stderr(&o)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("folder_name_has_slash"), "{text}");

    // An oversized message (a lowered limit again) shows as message_too_large.
    let (_, session) =
        imap::verify_password_keeping(b.imap.as_ref().unwrap(), "ann", &secret(ann_password)).await;
    let limits = InventoryLimits {
        message_limit: 1_500,
        ..InventoryLimits::default()
    };
    let inv = imap::take_inventory(session.unwrap(), limits).await;
    readiness::save_inventory(&app.store, facts.recipient_id, &inv, config::now()).await;
    let server = readiness::server_problems(None, true, None).await;
    let report = readiness::readiness_report(&app.store, &b, &server, config::now())
        .await
        .unwrap();
    assert!(
        report.users[0]
            .problems
            .iter()
            .any(|p| p.code == "message_too_large" && p.detail.starts_with("1 message over")),
        "{:?}",
        report.users[0].problems
    );

    batch::purge(&app.store, &b, config::now()).await.unwrap();
    assert!(app.store.last_recheck(&b.id).await.unwrap().is_none());
    let canaries = ["Canaryfolder", "canary.ann", "Canary horse"];
    let found = canaries_found(app.data_dir.path(), &canaries);
    assert!(found.is_empty(), "after purge: {found:?}");
    let dir = app.stop().await;
    let found = canaries_found(dir.path(), &canaries);
    assert!(found.is_empty(), "after purge and stop: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recheck_finds_the_changed_password_and_reissues_and_emails_only_that_user() {
    if !dovecot_available() || !aiosmtpd_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &[("ann", "Ann pass 1"), ("bob", "Bob pass 1")],
        mechanisms: "plain login",
        tls: true,
        pki: &pki,
    });
    let app = TestApp::spawn().await;
    let s = settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (b, links) = app
        .create_batch_checked_with(
            "drift",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n",
            Some(s),
        )
        .await
        .unwrap();
    for (l, pw) in links.iter().zip(["Ann pass 1", "Bob pass 1"]) {
        let r = app
            .client
            .post(l.link.expose_secret())
            .form(&[("password", pw)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Bob changes his password after submitting.
    set_users(&dovecot, &[("ann", "Ann pass 1"), ("bob", "Bob pass two")]);
    // Dovecot looks at the file's time at most once a second.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let key = app.key_dir.path().join("settings-key.pub");
    let mut cmd = passdrop(app.data_dir.path());
    cmd.env("PASSDROP_SETTINGS_KEY_FILE", &key)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE)
        .env("PASSDROP_PUBLIC_URL", app.public_url.as_str())
        .env("PASSDROP_SMTP_HOST", "127.0.0.1")
        .env("PASSDROP_SMTP_PORT", relay.port.to_string())
        .env("PASSDROP_SMTP_FROM", "IT team <it@example.org>")
        .env("PASSDROP_SMTP_CA_FILE", &relay.ca)
        .env("PASSDROP_SEND_RETRY_WAIT", "1s")
        .args(["batch", "recheck", "drift", "--reissue-failed", "--send"]);
    let o = run(&mut cmd);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("Re-check ran: 2 checked, 1 failed"), "{err}");
    assert!(
        err.contains("Password no longer works: bob@example.org"),
        "{err}"
    );
    assert!(
        !err.contains("Ann pass") && !err.contains("Bob pass"),
        "{err}"
    );
    // Only Bob is emailed, with a new link.
    let mail = relay.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].0, "bob@example.org");
    assert!(mail[0].1.contains(app.public_url.as_str()), "{}", mail[0].1);

    let facts = app.store.user_readiness(&b.id).await.unwrap();
    let outcomes: Vec<_> = facts.iter().map(|f| f.recheck.map(|r| r.0)).collect();
    assert_eq!(
        outcomes,
        [
            Some(RecheckOutcome::Ok),
            Some(RecheckOutcome::PasswordChanged)
        ]
    );
    let last = app.store.last_recheck(&b.id).await.unwrap().unwrap();
    assert_eq!((last.total, last.done, last.failed), (2, 2, 1));
    assert!(last.finished_at.is_some());
    let audit = app.store.audit_trail(&b.id).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.kind.as_str() == "rechecked" && e.count == 2),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.kind.as_str() == "recheck_failed" && e.count == 1),
        "{audit:?}"
    );

    // The export leaves Bob out (and names him) unless asked.
    let admin = app.admin().await;
    let exported = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    let rows = parse_csv(&exported.csv);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "ann@example.org");
    assert_eq!(exported.stale, ["bob@example.org"]);
    let all = batch::prepare_m365_with(&app.store, &b, &admin, true)
        .await
        .unwrap();
    assert_eq!(parse_csv(&all.csv).len(), 3);

    // The command-line export leaves Bob out and names him; the re-check still works
    // between export and purge.
    let out = dir.path().join("drift.csv");
    let mut cmd = passdrop(app.data_dir.path());
    cmd.env("PASSDROP_PASSPHRASE", PASSPHRASE)
        .args(["export", "drift", "--keep-collecting", "--out"])
        .arg(&out);
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "Left out 1 whose password changed, or whom the admin login no longer opens, \
             since collection (batch recheck): bob@example.org"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(parse_csv(&std::fs::read(&out).unwrap()).len(), 2);

    // The server stopped: no clear answer is inconclusive, never a changed password.
    drop(dovecot);
    let gate = std::sync::Arc::new(imap::CheckGate::default());
    let summary = batch::recheck(&app.store, &b, &admin, &gate, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(summary.checked, 2);
    assert!(summary.password_changed.is_empty(), "{summary:?}");
    assert_eq!(summary.inconclusive.len(), 2);
    let facts = app.store.user_readiness(&b.id).await.unwrap();
    assert!(
        facts
            .iter()
            .all(|f| f.recheck.map(|r| r.0) == Some(RecheckOutcome::Inconclusive))
    );
    let server = readiness::server_problems(b.imap.as_ref(), false, None).await;
    let codes: Vec<&str> = server.problems.iter().map(|p| p.code.as_str()).collect();
    assert!(codes.contains(&"server_unreachable"), "{codes:?}");
    assert!(!codes.contains(&"certificate_not_trusted"), "{codes:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_rechecks_with_the_passphrase_shows_progress_and_reissues_only_the_failed() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1"]);
    let dovecot = Dovecot::start(&DovecotSetup {
        users: &[("ann", "Ann pass 1"), ("bob", "Bob pass 1")],
        mechanisms: "plain login",
        tls: true,
        pki: &pki,
    });
    let app = TestApp::spawn().await;
    let s = settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (b, links) = app
        .create_batch_checked_with(
            "console-drift",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n",
            Some(s),
        )
        .await
        .unwrap();
    for (l, pw) in links.iter().zip(["Ann pass 1", "Bob pass 1"]) {
        let r = app
            .client
            .post(l.link.expose_secret())
            .form(&[("password", pw)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    set_users(&dovecot, &[("ann", "Ann pass 1"), ("bob", "Bob pass two")]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let cookie = app.login().await;
    let base = format!("{}/admin/batches/{}", app.address, b.id);
    let batch_page = console_get(&app.client, &base, &cookie).await;
    assert!(
        batch_page.contains("/readiness\""),
        "the batch page links the readiness page"
    );
    let page = console_get(&app.client, &format!("{base}/readiness"), &cookie).await;
    assert!(page.contains("Not re-checked yet"), "{page}");
    assert!(
        page.contains("ann@example.org") && page.contains("verified"),
        "{page}"
    );

    // The passphrase opens the passwords: a wrong one changes nothing.
    let (status, page) = console_post(
        &app.client,
        &format!("{base}/recheck"),
        &cookie,
        &[("passphrase", "not it")],
    )
    .await;
    assert_eq!(status, 401, "{page}");
    assert!(app.store.last_recheck(&b.id).await.unwrap().is_none());

    let (status, page) = console_post(
        &app.client,
        &format!("{base}/recheck"),
        &cookie,
        &[("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303);
    assert!(page.contains("Re-check started"), "{page}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = console_get(&app.client, &format!("{base}/readiness"), &cookie).await;
        if page.contains("Last re-check") {
            break page;
        }
        assert!(page.contains("Re-check running"), "{page}");
        assert!(page.contains("http-equiv=\"refresh\""), "{page}");
        assert!(Instant::now() < deadline, "the re-check did not end");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("2 of 2 checked"), "{page}");
    assert!(page.contains("1 failed"), "{page}");
    assert!(page.contains("password_changed"), "{page}");
    let batch_page = console_get(&app.client, &base, &cookie).await;
    assert!(
        batch_page.contains("re-check ran: 2 checked"),
        "{batch_page}"
    );
    assert!(!batch_page.contains("Bob pass"), "no password on any page");

    // The export page says when and who; the file leaves Bob out unless ticked.
    let export = console_get(&app.client, &format!("{base}/export"), &cookie).await;
    assert!(export.contains("Last re-check"), "{export}");
    assert!(export.contains("bob@example.org"), "{export}");
    assert!(export.contains("include_stale"), "{export}");
    let r = app
        .client
        .post(format!("{base}/export"))
        .header("Cookie", &cookie)
        .form(&[("passphrase", PASSPHRASE), ("purge", "keep-collecting")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rows = parse_csv(&r.bytes().await.unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "ann@example.org");

    let (status, page) = console_post(
        &app.client,
        &format!("{base}/reissue-failed"),
        &cookie,
        &[("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("New links issued"), "{page}");
    assert!(page.contains("bob@example.org"), "{page}");
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    let live: Vec<&str> = statuses
        .iter()
        .filter(|s| s.link_state == passdrop::storage::LinkState::Live)
        .map(|s| s.recipient.email.as_str())
        .collect();
    assert_eq!(live, ["bob@example.org"], "only Bob got a new link");
    app.stop().await;
}
