//! The old server's admin login (issue 18) against a real Dovecot with a master passdb:
//! a wrong admin password is refused with nothing created; users the master may open
//! are probed "covered" and exported as `user*mailadmin` rows that really log in; a user
//! outside the master's reach (a per-master deny file, DOVECOT-NOTES.md) falls back to a
//! link, and only they are emailed; the admin password is never in a log, never in the
//! database in clear, and gone at purge.

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use passdrop::imap::{self, CertTrust, Verdict, WhenUnreachable};

use crate::helpers::{
    Dovecot, DovecotSetup, Pki, Relay, Server, TestApp, aiosmtpd_available, canaries_found,
    console_get, console_post, dovecot_available, parse_csv, passdrop, run, secret, stderr,
};

pub(crate) const ADMIN_PASSWORD: &str = "Adm1n CANARY-9c4e pw";
const PASSPHRASE: &str = "admin login test passphrase";

/// A Dovecot whose master user `mailadmin` may open every user but `cy`.
pub(crate) fn dovecot_with_master(pki: &Pki) -> Dovecot {
    dovecot_with_master_users(
        pki,
        &[("ann", "Ann pw 1"), ("bob", "Bob pw 2"), ("cy", "Cy pw 3")],
        ADMIN_PASSWORD,
    )
}

/// The master passdb's file: `mailadmin` with `password`.
pub(crate) fn masters(password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(password);
    format!("mailadmin:{{PLAIN.B64}}{b64}\n")
}

/// A Dovecot with `users` whose master user `mailadmin` (`admin_password`, separator
/// `*`) may open each of them but `cy` (a per-master deny file, DOVECOT-NOTES.md).
pub(crate) fn dovecot_with_master_users(
    pki: &Pki,
    users: &[(&str, &str)],
    admin_password: &str,
) -> Dovecot {
    Dovecot::start_with_auth(
        &DovecotSetup {
            users,
            mechanisms: "plain login",
            tls: true,
            pki,
        },
        |dir: &Path| {
            std::fs::write(dir.join("masters"), masters(admin_password)).unwrap();
            // The master's deny file: the users it may not open. (A deny passdb with
            // `skip = unauthenticated` would not be consulted after a master login.)
            std::fs::write(dir.join("deny-mailadmin"), "cy:\n").unwrap();
            std::fs::write(dir.join("deny-"), "").unwrap();
            let d = dir.display();
            format!(
                "auth_master_user_separator = *\n\
                 passdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/masters\n  master = yes\n  pass = yes\n}}\n\
                 passdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/deny-%{{master_user}}\n  deny = yes\n}}\n"
            )
        },
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_login_covers_whom_it_can_and_links_go_only_to_the_rest() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let (right, wrong) = (dir.path().join("right"), dir.path().join("wrong"));
    std::fs::write(&right, format!("{ADMIN_PASSWORD}\n")).unwrap();
    std::fs::write(&wrong, "not the admin password\n").unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\ncy@example.org,cy\n",
    )
    .unwrap();
    let said = std::cell::RefCell::new(String::new());
    let cli = |args: &[&str]| {
        let o = run(passdrop(&data)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE)
            .args(args));
        said.borrow_mut().push_str(&text(&o));
        o
    };
    assert!(cli(&["admin", "init"]).status.success());
    let server = Server::start(&data, &[]);
    let url = dovecot.imaps_url();
    let create = |password: &Path, links: &Path| -> Vec<String> {
        [
            "batch",
            "create",
            "--name",
            "admin-login",
            "--roster",
            roster.to_str().unwrap(),
            "--verify-imap",
            &url,
            "--imap-ca-file",
            ca.to_str().unwrap(),
            "--imap-admin-form",
            "dovecot",
            "--imap-admin-user",
            "mailadmin",
            "--imap-admin-password-file",
            password.to_str().unwrap(),
            "--links-out",
            links.to_str().unwrap(),
            "--public-url",
            &server.address,
        ]
        .map(str::to_owned)
        .to_vec()
    };

    // A wrong admin password: refused, nothing created, no links file left.
    let refused_links = dir.path().join("refused.csv");
    let v = create(&wrong, &refused_links);
    let o = cli(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("refused the admin password ([AUTHENTICATIONFAILED]"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));
    assert!(!refused_links.exists());
    let o = cli(&["batch", "list"]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("admin-login"),
        "{}",
        text(&o)
    );

    // The right one: tried with the first user (covered); no link written yet.
    let first_links = dir.path().join("first.csv");
    let v = create(&right, &first_links);
    let o = cli(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("opened ann@example.org's mailbox"),
        "{}",
        stderr(&o)
    );
    assert_eq!(parse_csv(&std::fs::read(&first_links).unwrap()).len(), 1);

    // The probe: bob covered, cy outside the master's reach; only cy's link is written.
    let links = dir.path().join("links.csv");
    let o = cli(&[
        "batch",
        "probe",
        "admin-login",
        "--links-out",
        links.to_str().unwrap(),
        "--public-url",
        &server.address,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("1 covered by the admin login, 1 need their own password"),
        "{}",
        stderr(&o)
    );
    let rows = parse_csv(&std::fs::read(&links).unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "cy@example.org");
    let cy_link = rows[1]
        .iter()
        .find(|f| f.starts_with("http"))
        .unwrap()
        .clone();

    // A wrong admin password given to set-imap: refused, nothing changed.
    let o = cli(&[
        "batch",
        "set-imap",
        "admin-login",
        "--imap-admin-form",
        "dovecot",
        "--imap-admin-user",
        "mailadmin",
        "--imap-admin-password-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));

    let o = cli(&["batch", "status", "admin-login"]);
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(status.contains("covered by admin login"), "{status}");
    assert!(
        status.contains("needs password: [AUTHORIZATIONFAILED]"),
        "{status}"
    );
    assert!(
        status.contains("Admin login: 2 covered by it, 1 need"),
        "{status}"
    );

    // Only cy is emailed.
    if aiosmtpd_available() {
        let relay = Relay::start(dir.path());
        let o = run(passdrop(&data)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE)
            .env("PASSDROP_SMTP_HOST", "127.0.0.1")
            .env("PASSDROP_SMTP_PORT", relay.port.to_string())
            .env("PASSDROP_SMTP_FROM", "IT team <it@example.org>")
            .env("PASSDROP_SMTP_CA_FILE", &relay.ca)
            .env("PASSDROP_SEND_RATE", "50")
            .args(["send", "admin-login", "--public-url", &server.address]));
        said.borrow_mut().push_str(&text(&o));
        assert!(o.status.success(), "{}", text(&o));
        let to: Vec<String> = relay.messages().into_iter().map(|(r, _)| r).collect();
        assert_eq!(to, ["cy@example.org"], "{to:?}");
    }

    // cy gives her password (checked with Dovecot).
    let r = reqwest::Client::new()
        .post(&cy_link)
        .form(&[("password", "Cy pw 3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // One Microsoft 365 file: ann and bob through the master login, cy with her own.
    let out = dir.path().join("m365.csv");
    let o = cli(&[
        "export",
        "admin-login",
        "--out",
        out.to_str().unwrap(),
        "--keep-collecting",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut rows = parse_csv(&std::fs::read(&out).unwrap());
    rows[1..].sort();
    assert_eq!(
        rows,
        [
            vec!["EmailAddress", "UserName", "Password"],
            vec!["ann@example.org", "ann*mailadmin", ADMIN_PASSWORD],
            vec!["bob@example.org", "bob*mailadmin", ADMIN_PASSWORD],
            vec!["cy@example.org", "cy", "Cy pw 3"],
        ]
    );
    // Each row really logs in.
    let settings = crate::imap::settings(
        &url,
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    for row in &rows[1..] {
        let verdict = imap::verify_password(&settings, &row[1], &secret(&row[2])).await;
        assert_eq!(verdict, Verdict::Accepted, "{row:?}: {}", dovecot.log());
    }
    let dlog = dovecot.log();
    // bob never gave passdrop a password: each of his logins (the probe, the row) was
    // the master's.
    assert!(dlog.matches("Login: user=<bob>").count() >= 2, "{dlog}");

    // A covered user's row changed in the database (say, bob's UserName pointed at the
    // CEO's mailbox) no longer matches its signed probe answer: the admin password stays
    // out of that row, and bob is listed as missing instead.
    {
        use sqlx::ConnectOptions as _;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join(passdrop::storage::DATABASE_FILE))
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE recipients SET user_name = 'ceo' WHERE email = 'bob@example.org'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let tampered = dir.path().join("tampered.csv");
    let o = cli(&[
        "export",
        "admin-login",
        "--out",
        tampered.to_str().unwrap(),
        "--keep-collecting",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let body = String::from_utf8(std::fs::read(&tampered).unwrap()).unwrap();
    assert!(!body.contains("ceo"), "{body}");
    assert!(!body.contains("bob@example.org"), "{body}");
    assert!(body.contains("ann*mailadmin"), "{body}");

    // Never in a log, never in the database in clear.
    let log = server.stop();
    let said = said.borrow().clone();
    assert!(!said.contains("CANARY-9c4e"), "{said}");
    assert!(!log.contains("CANARY-9c4e"), "{log}");
    assert!(canaries_found(&data, &[ADMIN_PASSWORD]).is_empty());

    // The audit trail counts, never values.
    let o = cli(&["purge", "admin-login", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let found = canaries_found(
        &data,
        &[
            ADMIN_PASSWORD,
            "mailadmin",
            "cy@example.org",
            "AUTHORIZATIONFAILED",
        ],
    );
    assert!(found.is_empty(), "found after purge: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_sets_the_admin_login_with_the_passphrase_and_probes_in_the_background() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    let app = TestApp::spawn().await;
    let settings = crate::imap::settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (b, _) = app
        .create_batch_checked_with(
            "console-admin",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\ncy@example.org,cy\n",
            Some(settings),
        )
        .await
        .unwrap();
    let cookie = app.login().await;
    let url = format!("{}/admin/batches/{}/admin-login", app.address, b.id);
    let form = |password: &str, passphrase: &str| {
        vec![
            ("admin_form", "dovecot".to_owned()),
            ("admin_user", "mailadmin".to_owned()),
            ("admin_separator", "*".to_owned()),
            ("admin_password", password.to_owned()),
            ("passphrase", passphrase.to_owned()),
        ]
    };
    let unchanged = |app: &TestApp| {
        let store = app.store.clone();
        let id = b.id.clone();
        async move {
            let now = store.require_batch(&id).await.unwrap();
            assert!(now.admin_login.is_none());
            assert!(store.probe_records(&id).await.unwrap().is_empty());
        }
    };

    // Without the passphrase, or with a wrong admin password: nothing changes.
    let (status, page) = console_post(&app.client, &url, &cookie, &form(ADMIN_PASSWORD, "")).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was changed."), "{page}");
    unchanged(&app).await;
    let (status, page) = console_post(
        &app.client,
        &url,
        &cookie,
        &form("wrong", crate::helpers::PASSPHRASE),
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("refused the admin password"), "{page}");
    unchanged(&app).await;

    // The right one: saved, and the others probed in the background.
    let (status, page) = console_post(
        &app.client,
        &url,
        &cookie,
        &form(ADMIN_PASSWORD, crate::helpers::PASSPHRASE),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("It opened ann@example.org"), "{page}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while app.store.probe_records(&b.id).await.unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the probe did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let page = console_get(
        &app.client,
        &format!("{}/admin/batches/{}", app.address, b.id),
        &cookie,
    )
    .await;
    assert!(page.contains("2 users are</strong> covered"), "{page}");
    assert!(
        page.contains("cy@example.org: [AUTHORIZATIONFAILED]"),
        "{page}"
    );
    assert!(!page.contains("CANARY-9c4e"));

    // Links only for cy; reissuing ann's asks her anyway.
    let b = app.store.require_batch(&b.id).await.unwrap();
    let admin = app.admin().await;
    let open = |b: passdrop::storage::Batch| {
        let (store, url) = (app.store.clone(), app.public_url.clone());
        let admin = &admin;
        async move {
            passdrop::batch::open_live_links(&store, &url, &b, admin, passdrop::config::now())
                .await
                .unwrap()
                .into_iter()
                .map(|(r, _)| r.email)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(open(b.clone()).await, ["cy@example.org"]);
    // Covered users are not "pending" before an export or a purge.
    let outlook = passdrop::batch::export_outlook(&app.store, &b, passdrop::config::now())
        .await
        .unwrap();
    let pending: Vec<&str> = outlook.pending.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(pending, ["cy@example.org"]);
    passdrop::batch::reissue(
        &app.store,
        &app.public_url,
        &b,
        "ann@example.org",
        passdrop::config::now(),
    )
    .await
    .unwrap();
    assert_eq!(open(b.clone()).await, ["ann@example.org", "cy@example.org"]);

    // Each admin-login field is covered by the batch's signature (`ext:admin-login`).
    let public = app.key_file().load().unwrap();
    let sealed = b.admin_login.clone().unwrap().sealed;
    let id = &b.id;
    for (tamper, restore, blob) in [
        ("admin_user = 'root'", "admin_user = 'mailadmin'", None),
        ("admin_separator = '%'", "admin_separator = '*'", None),
        ("admin_form = 'mirapoint'", "admin_form = 'dovecot'", None),
        ("admin_form = NULL", "admin_form = 'dovecot'", None),
        (
            "admin_password_ct = x'00'",
            "admin_password_ct = ?",
            Some(sealed.ciphertext),
        ),
        (
            "admin_password_enc = x'00'",
            "admin_password_enc = ?",
            Some(sealed.enc),
        ),
    ] {
        exec(
            &app,
            &format!("UPDATE batches SET {tamper} WHERE id = '{id}'"),
            None,
        )
        .await;
        let now = app.store.require_batch(id).await.unwrap();
        assert!(
            passdrop::batch::verify_batch(&public, &now).is_err(),
            "{tamper} went unnoticed"
        );
        exec(
            &app,
            &format!("UPDATE batches SET {restore} WHERE id = '{id}'"),
            blob,
        )
        .await;
        let now = app.store.require_batch(id).await.unwrap();
        passdrop::batch::verify_batch(&public, &now).unwrap();
    }
}

async fn exec(app: &TestApp, sql: &str, blob: Option<Vec<u8>>) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store.database_path())
        .connect()
        .await
        .unwrap();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(blob) = blob {
        q = q.bind(blob);
    }
    q.execute(&mut conn).await.unwrap();
}
