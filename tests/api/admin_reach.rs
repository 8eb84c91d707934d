//! Covered users (the old server's admin login opens their mailbox, issue 18) read like
//! verified ones, against a real Dovecot: the probe takes their mailbox inventory (an
//! oversized message shows in the readiness report); `batch recheck` re-checks them
//! through the admin login (the master's access removed: `admin_login_refused`, a link
//! with --reissue-failed, left out of the export unless --include-stale, even when its
//! answer is put back in the database; the admin password changed: the run stops and
//! says so, marking nobody after it, and the readiness report and the export warn until
//! a re-check gets in); the userroot form's per-user root check (a wildcard root refused
//! at import). The admin passwords never reach a log.

use std::path::Path;
use std::process::{Command, Output};

use crate::admin_login::{dovecot_with_master_users, masters};
use crate::helpers::{
    Dovecot, DovecotSetup, Pki, Server, TestApp, canaries_found, console_get, console_post,
    dovecot_available, parse_csv, passdrop, run, stderr,
};

const ADMIN_PASSWORD: &str = "Adm1n CANARY-77d1 pw";
const NEW_ADMIN_PASSWORD: &str = "Adm1n CANARY-5be0 new";
const PASSPHRASE: &str = "admin reach test passphrase";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes `path` and moves its time forward (Dovecot re-reads a passwd-file when its
/// time, in whole seconds, changes).
fn write_later(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let later = format!("@{}", passdrop::config::now() + 5);
    let o = run(Command::new("touch").args(["-d", &later]).arg(path));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A message of about `body` bytes.
fn message(n: usize, body: usize) -> Vec<u8> {
    let line = format!("{}\r\n", "x".repeat(70));
    format!(
        "From: it@example.org\r\nTo: bob@example.org\r\nSubject: m{n}\r\n\
         Message-ID: <m{n}@example.org>\r\n\r\n{}",
        line.repeat(body / line.len() + 1)
    )
    .into_bytes()
}

/// Creates Maildir folders (on-disk names, `""` for INBOX) under `user`'s Maildir, with
/// messages of the given sizes, and hands them to Dovecot's mail user.
fn maildir(dovecot: &Dovecot, user: &str, folders: &[(&str, &[usize])]) {
    let root = dovecot.dir.path().join("home").join(user).join("Maildir");
    let mut n = 0;
    for (name, sizes) in folders {
        let dir = if name.is_empty() {
            root.clone()
        } else {
            root.join(name)
        };
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for &size in *sizes {
            n += 1;
            let file = format!("{}.M{n}P1.fixture:2,S", 1_700_000_000 + n);
            std::fs::write(dir.join("cur").join(file), message(n, size)).unwrap();
        }
    }
    let o = run(Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(dovecot.dir.path().join("home")));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A connection to the test's database (to read rows, or to play a database writer).
async fn db(data: &Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions as _;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data.join(passdrop::storage::DATABASE_FILE))
        .connect()
        .await
        .unwrap()
}

/// The codes of the readiness report's `server.problems`.
fn server_codes(json: &serde_json::Value) -> Vec<String> {
    json["server"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A Dovecot whose master user `mailadmin` may open ann, bob and dan, not cy.
fn dovecot_with_master(pki: &Pki) -> Dovecot {
    dovecot_with_master_users(
        pki,
        &[
            ("ann", "Ann pw 1"),
            ("bob", "Bob pw 2"),
            ("cy", "Cy pw 3"),
            ("dan", "Dan pw 4"),
        ],
        ADMIN_PASSWORD,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn covered_users_get_an_inventory_and_a_recheck_through_the_admin_login() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    // Bob's mailbox holds a message over Microsoft's 35 MB.
    maildir(&dovecot, "bob", &[("", &[2_000, 37 * 1024 * 1024])]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let password_file = dir.path().join("admin-pw");
    std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n\
         cy@example.org,cy\ndan@example.org,dan\n",
    )
    .unwrap();
    let said = std::cell::RefCell::new(String::new());
    let server = Server::start(&data, &[]);
    let address = server.address.clone();
    let cli = |args: &[&str]| {
        let o = run(passdrop(&data)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE)
            .env("PASSDROP_PUBLIC_URL", &address)
            .env("PASSDROP_LOG", "debug")
            .args(args));
        said.borrow_mut().push_str(&text(&o));
        o
    };
    assert!(cli(&["admin", "init"]).status.success());
    let url = dovecot.imaps_url();
    let links = dir.path().join("links.csv");
    let o = cli(&[
        "batch",
        "create",
        "--name",
        "reach",
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
        password_file.to_str().unwrap(),
        "--links-out",
        links.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // The probe: bob and dan covered (each mailbox inventoried), cy not.
    let o = cli(&["batch", "probe", "reach"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("2 covered by the admin login, 1 need their own password"),
        "{}",
        stderr(&o)
    );
    let report = |strict: bool| {
        let mut args = vec!["batch", "readiness", "reach", "--json", "--offline"];
        if strict {
            args.push("--strict");
        }
        let o = cli(&args);
        let json: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        (o, json)
    };
    let user = |json: &serde_json::Value, email: &str| {
        json["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()
            .clone()
    };
    let codes = |u: &serde_json::Value| -> Vec<String> {
        u["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let (o, json) = report(true);
    assert!(!o.status.success(), "--strict with problems: {}", text(&o));
    let bob = user(&json, "bob@example.org");
    assert_eq!(bob["state"], "covered by admin login", "{bob}");
    assert_eq!(bob["mailbox"]["messages"], 2, "{bob}");
    assert_eq!(codes(&bob), ["message_too_large"], "{bob}");
    let dan = user(&json, "dan@example.org");
    assert_eq!(dan["state"], "covered by admin login", "{dan}");
    assert_eq!(dan["mailbox"]["messages"], 0, "{dan}");
    assert!(codes(&dan).is_empty(), "{dan}");
    // dan's covered answer as the probe signed it (replayed by a database writer below).
    let dan_covered_sig: Vec<u8> = sqlx::query_scalar(
        "SELECT p.sig FROM admin_probes p JOIN recipients r ON r.id = p.recipient_id \
         WHERE r.email = 'dan@example.org'",
    )
    .fetch_one(&mut db(&data).await)
    .await
    .unwrap();

    // The master may no longer open dan's mailbox: the re-check marks him, and
    // --reissue-failed gives him a link.
    write_later(&dovecot.dir.path().join("deny-mailadmin"), "cy:\ndan:\n");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let o = cli(&["batch", "recheck", "reach", "--reissue-failed"]);
    assert!(o.status.success(), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains("3 checked, 0 failed"), "{err}");
    assert!(
        err.contains(
            "The admin login no longer opens (they now need their own password): dan@example.org"
        ),
        "{err}"
    );
    assert!(
        err.contains("Issued new links for dan@example.org"),
        "{err}"
    );
    let issued = parse_csv(&o.stdout);
    assert_eq!(issued.len(), 2, "{issued:?}");
    assert_eq!(issued[1][0], "dan@example.org");
    let (_, json) = report(false);
    let dan = user(&json, "dan@example.org");
    assert_ne!(dan["state"], "covered by admin login", "{dan}");
    assert_eq!(
        codes(&dan),
        ["not_submitted", "admin_login_refused"],
        "{dan}"
    );
    assert!(user(&json, "ann@example.org")["rechecked_at"].is_string());
    let o = cli(&["batch", "status", "reach"]);
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        status
            .matches("needs password: [AUTHORIZATIONFAILED]")
            .count(),
        2,
        "{status}"
    );

    {
        use sqlx::ConnectOptions as _;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join(passdrop::storage::DATABASE_FILE))
            .connect()
            .await
            .unwrap();
        let states: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT r.email, p.state, p.stale_sig IS NOT NULL FROM admin_probes p \
             JOIN recipients r ON r.id = p.recipient_id ORDER BY r.roster_line",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            states,
            [
                ("ann@example.org".into(), "covered".into(), false),
                ("bob@example.org".into(), "covered".into(), false),
                ("cy@example.org".into(), "needs_password".into(), false),
                ("dan@example.org".into(), "needs_password".into(), true),
            ]
        );
    }

    // The export leaves dan out and names him, unless asked to include stale users.
    let out = dir.path().join("m365.csv");
    let o = cli(&[
        "export",
        "reach",
        "--out",
        out.to_str().unwrap(),
        "--keep-collecting",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("Left out 1 whose password changed, or whom the admin login no longer opens, since collection (batch recheck): dan@example.org"),
        "{}",
        stderr(&o)
    );
    let mut rows = parse_csv(&std::fs::read(&out).unwrap());
    rows[1..].sort();
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["ann*mailadmin", "bob*mailadmin"], "{rows:?}");
    let all = dir.path().join("all.csv");
    let o = cli(&[
        "export",
        "reach",
        "--out",
        all.to_str().unwrap(),
        "--keep-collecting",
        "--include-stale",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let body = String::from_utf8(std::fs::read(&all).unwrap()).unwrap();
    assert!(body.contains("dan*mailadmin"), "{body}");
    // dan's answer put back to "covered" in the database, three ways: the state alone
    // (his `sig` says "needs password"), the set-aside signature moved into `sig` (it is
    // signed under its own kind, `admin-probe-stale`), and his old covered signature
    // replayed (his last re-check found the admin login refused): each time the admin
    // password stays out of his row.
    const DAN: &str = "(SELECT id FROM recipients WHERE email = 'dan@example.org')";
    let (dan_sig, dan_stale): (Vec<u8>, Vec<u8>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT sig, stale_sig FROM admin_probes WHERE recipient_id = {DAN}"
    )))
    .fetch_one(&mut db(&data).await)
    .await
    .unwrap();
    for (forgery, bind) in [
        ("state = 'covered'", None),
        ("state = 'covered', sig = stale_sig, stale_sig = NULL", None),
        ("state = 'covered', sig = ?", Some(dan_covered_sig.clone())),
    ] {
        let mut conn = db(&data).await;
        let sql = format!("UPDATE admin_probes SET {forgery} WHERE recipient_id = {DAN}");
        let mut update = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(sig) = bind {
            update = update.bind(sig);
        }
        update.execute(&mut conn).await.unwrap();
        let forged = dir.path().join("forged.csv");
        let _ = std::fs::remove_file(&forged);
        let o = cli(&[
            "export",
            "reach",
            "--out",
            forged.to_str().unwrap(),
            "--keep-collecting",
        ]);
        assert!(o.status.success(), "{forgery}: {}", text(&o));
        let body = String::from_utf8(std::fs::read(&forged).unwrap()).unwrap();
        assert!(!body.contains("dan"), "{forgery}: {body}");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE admin_probes SET state = 'needs_password', sig = ?, stale_sig = ? \
             WHERE recipient_id = {DAN}"
        )))
        .bind(&dan_sig)
        .bind(&dan_stale)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    // The admin password changed at the old server: the re-check stops, says so, and
    // marks nobody after it; the refusal is kept: the readiness report lists it
    // (--strict fails) and the export leaves the covered users out unless
    // --include-stale, until a re-check gets in again.
    write_later(
        &dovecot.dir.path().join("masters"),
        &masters(NEW_ADMIN_PASSWORD),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let before = report(false).1;
    let o = cli(&["batch", "recheck", "reach"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("refused the admin password ([AUTHENTICATIONFAILED])"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("marked nobody after it"),
        "{}",
        stderr(&o)
    );
    let after = report(false).1;
    for email in ["ann@example.org", "bob@example.org", "dan@example.org"] {
        assert_eq!(
            codes(&user(&before, email)),
            codes(&user(&after, email)),
            "{email}"
        );
        assert_eq!(user(&after, email)["state"], user(&before, email)["state"]);
    }
    assert!(!server_codes(&before).contains(&"admin_password_refused".to_owned()));
    let (o, after) = report(true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        server_codes(&after).contains(&"admin_password_refused".to_owned()),
        "{after}"
    );
    let export_now = |name: &str, include_stale: bool| {
        let out = dir.path().join(name);
        let mut args = vec![
            "export",
            "reach",
            "--out",
            out.to_str().unwrap(),
            "--keep-collecting",
        ];
        if include_stale {
            args.push("--include-stale");
        }
        let o = cli(&args);
        assert!(o.status.success(), "{}", text(&o));
        (
            stderr(&o),
            String::from_utf8(std::fs::read(&out).unwrap()).unwrap(),
        )
    };
    let (err, body) = export_now("held.csv", false);
    assert!(!body.contains("mailadmin"), "{body}");
    assert!(
        err.contains("Warning: the old server refused the admin password at the re-check of"),
        "{err}"
    );
    assert!(
        err.contains("the file leaves out the users its admin login covers"),
        "{err}"
    );
    assert!(err.contains("Left out 3 whose"), "{err}");
    assert!(err.contains("ann@example.org, bob@example.org"), "{err}");
    let (err, body) = export_now("held-all.csv", true);
    assert!(body.contains("ann*mailadmin"), "{body}");
    assert!(
        err.contains("the file still writes it into the rows of the users its admin login covers"),
        "{err}"
    );

    // The old server takes the admin password again: the next re-check clears it.
    write_later(
        &dovecot.dir.path().join("masters"),
        &masters(ADMIN_PASSWORD),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let o = cli(&["batch", "recheck", "reach"]);
    assert!(o.status.success(), "{}", text(&o));
    let (_, json) = report(false);
    assert!(
        !server_codes(&json).contains(&"admin_password_refused".to_owned()),
        "{json}"
    );
    let (err, body) = export_now("again.csv", false);
    assert!(body.contains("ann*mailadmin"), "{body}");
    assert!(!err.contains("refused the admin password"), "{err}");

    // A user who gave their own password while a re-check ran is left as they are: the
    // re-check's answer for them is not recorded.
    {
        use passdrop::storage::{AdminRecheckChange, RecheckOutcome, Store};
        let mut conn = db(&data).await;
        let (batch_id, ann, enc): (String, i64, Vec<u8>) = sqlx::query_as(
            "SELECT b.id, r.id, b.admin_password_enc FROM batches b \
             JOIN recipients r ON r.batch_id = b.id WHERE r.email = 'ann@example.org'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO submissions (recipient_id, enc, ciphertext, submitted_at) \
             VALUES (?, x'00', x'00', 1)",
        )
        .bind(ann)
        .execute(&mut conn)
        .await
        .unwrap();
        let store = Store::open(&data).await.unwrap();
        let change = AdminRecheckChange {
            login_enc: &enc,
            answer: Some((false, Some("NO"), b"sig", Some(b"stale"))),
        };
        assert!(
            store
                .record_admin_recheck(
                    &batch_id,
                    ann,
                    change,
                    RecheckOutcome::AdminLoginRefused,
                    passdrop::config::now()
                )
                .await
                .unwrap()
        );
        store.close().await;
        let row: (String, bool, Option<String>) = sqlx::query_as(
            "SELECT p.state, p.stale_sig IS NULL, u.recheck FROM admin_probes p \
             LEFT JOIN user_readiness u ON u.recipient_id = p.recipient_id \
             WHERE p.recipient_id = ?",
        )
        .bind(ann)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(row, ("covered".into(), true, Some("ok".into())));
        sqlx::query("DELETE FROM submissions WHERE recipient_id = ?")
            .bind(ann)
            .execute(&mut conn)
            .await
            .unwrap();
    }

    // Refused again, then purged: the refusal goes with the batch.
    write_later(
        &dovecot.dir.path().join("masters"),
        &masters(NEW_ADMIN_PASSWORD),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let o = cli(&["batch", "recheck", "reach"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // Never in a log or an answer, never in the database in clear; gone at purge.
    let log = server.stop();
    let said = said.borrow().clone();
    for canary in ["CANARY-77d1", "CANARY-5be0"] {
        assert!(!said.contains(canary), "{said}");
        assert!(!log.contains(canary), "{log}");
    }
    assert!(canaries_found(&data, &[ADMIN_PASSWORD]).is_empty());
    let o = cli(&["purge", "reach", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let found = canaries_found(&data, &["dan@example.org", "AUTHORIZATIONFAILED"]);
    assert!(found.is_empty(), "found after purge: {found:?}");
    // The probe answers (with the set-aside signatures) and the inventories went too.
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data.join(passdrop::storage::DATABASE_FILE))
        .connect()
        .await
        .unwrap();
    for table in ["admin_probes", "user_readiness", "admin_password_refusals"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table} after purge");
    }
}

/// Dovecot has no UserRoot: it is simulated by an admin account whose own mailbox holds
/// a folder tree per user (`users/ann`, `users/cy/INBOX`), `/` as the separator. What
/// it shows is passdrop's side (the commands and how their answers are read), not how
/// Courier or Oracle lay out or permit a UserRoot.
#[tokio::test(flavor = "multi_thread")]
async fn the_userroot_form_checks_each_users_root() {
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = Dovecot::start_with(
        &DovecotSetup {
            users: &[("rootadmin", ADMIN_PASSWORD)],
            mechanisms: "plain login",
            tls: true,
            pki: &pki,
        },
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
    );
    // users/ann: a folder; users/cy: only a parent of users/cy/INBOX (\Noselect);
    // users/bob: none.
    maildir(
        &dovecot,
        "rootadmin",
        &[("", &[]), (".users.ann", &[500]), (".users.cy.INBOX", &[])],
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let password_file = dir.path().join("admin-pw");
    std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,UserName,UserRoot\nann@example.org,ann,users/ann\n\
         bob@example.org,bob,users/bob\ncy@example.org,cy,users/cy\n",
    )
    .unwrap();
    let server = Server::start(&data, &[]);
    let address = server.address.clone();
    let said = std::cell::RefCell::new(String::new());
    let cli = |args: &[&str]| {
        let o = run(passdrop(&data)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE)
            .env("PASSDROP_PUBLIC_URL", &address)
            .args(args));
        said.borrow_mut().push_str(&text(&o));
        o
    };
    assert!(cli(&["admin", "init"]).status.success());
    let links = dir.path().join("links.csv");
    let url = dovecot.imaps_url();
    let o = cli(&[
        "batch",
        "create",
        "--name",
        "roots",
        "--roster",
        roster.to_str().unwrap(),
        "--verify-imap",
        &url,
        "--imap-ca-file",
        ca.to_str().unwrap(),
        "--imap-admin-form",
        "userroot",
        "--imap-admin-user",
        "rootadmin",
        "--imap-admin-password-file",
        password_file.to_str().unwrap(),
        "--links-out",
        links.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli(&["batch", "probe", "roots"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("1 covered by the admin login, 1 need their own password"),
        "{}",
        stderr(&o)
    );
    let o = cli(&["batch", "status", "roots"]);
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        status.contains("the server lists no folder \"users/bob\""),
        "{status}"
    );
    // The export: ann and cy with the admin's login and their UserRoot.
    let out = dir.path().join("m365.csv");
    let o = cli(&[
        "export",
        "roots",
        "--out",
        out.to_str().unwrap(),
        "--keep-collecting",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut rows = parse_csv(&std::fs::read(&out).unwrap());
    rows[1..].sort();
    assert_eq!(
        rows[0],
        ["EmailAddress", "UserName", "Password", "UserRoot"]
    );
    assert_eq!(
        rows[1..]
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str()))
            .collect::<Vec<_>>(),
        [
            ("ann@example.org", "rootadmin", "users/ann"),
            ("cy@example.org", "rootadmin", "users/cy")
        ]
    );
    // Read-only: EXAMINE, never SELECT.
    let dlog = dovecot.log();
    assert!(!dlog.contains("SELECT"), "{dlog}");
    let log = server.stop();
    assert!(!said.borrow().contains("CANARY-77d1"));
    assert!(!log.contains("CANARY-77d1"), "{log}");
}

/// Migration 0020 rebuilds `user_readiness` (for the new re-check outcome): every row
/// and column it had before comes through, and the new outcome is then accepted.
#[tokio::test]
async fn migration_0020_keeps_every_readiness_row() {
    use sqlx::{ConnectOptions as _, Connection as _};
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("db.sqlite"))
        .create_if_missing(true)
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let apply = |path: &Path| sqlx::AssertSqlSafe(std::fs::read_to_string(path).unwrap());
    let (before, after): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|p| p.file_name().unwrap().to_string_lossy().as_ref() < "0020");
    for path in &before {
        sqlx::raw_sql(apply(path)).execute(&mut conn).await.unwrap();
    }
    let row = "SELECT recipient_id, lint_codes, recheck, rechecked_at, inventory_at, folders, \
               messages, bytes, largest_message_bytes, oversized_messages, problem_folders, \
               mailbox_codes, inventory_partial FROM user_readiness ORDER BY recipient_id";
    sqlx::raw_sql(
        "INSERT INTO user_readiness VALUES \
         (7, 'space_at_edge', 'password_changed', 11, 12, 3, 40, 5000, 4000, 1, \
          'folder_name_has_slash\ta/b', 'too_many_items', 1), \
         (8, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let dump = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> {
        use sqlx::{Row as _, ValueRef as _};
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        let raw = r.try_get_raw(i).unwrap();
                        if raw.is_null() {
                            "NULL".to_owned()
                        } else {
                            r.try_get::<i64, _>(i)
                                .map(|n| n.to_string())
                                .unwrap_or_else(|_| r.get::<String, _>(i))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    let old = dump(sqlx::query(row).fetch_all(&mut conn).await.unwrap());
    assert_eq!(old.len(), 2);
    for path in &after {
        sqlx::raw_sql(apply(path)).execute(&mut conn).await.unwrap();
    }
    assert_eq!(
        dump(sqlx::query(row).fetch_all(&mut conn).await.unwrap()),
        old
    );
    sqlx::raw_sql(
        "UPDATE user_readiness SET recheck = 'admin_login_refused' WHERE recipient_id = 8",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert!(
        sqlx::raw_sql("UPDATE user_readiness SET recheck = 'nonsense' WHERE recipient_id = 8")
            .execute(&mut conn)
            .await
            .is_err()
    );
    conn.close().await.unwrap();
}

/// The console: the readiness page shows a covered user's mailbox problem, and its
/// re-check button re-checks covered users through the admin login.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_covered_users_problems_and_rechecks_them() {
    use passdrop::batch::admin_login::{self, AdminForm, AdminLogin, NewAdminLogin};
    use passdrop::imap::{CertTrust, WhenUnreachable};
    if !dovecot_available() {
        return;
    }
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let dovecot = dovecot_with_master(&pki);
    maildir(&dovecot, "bob", &[("", &[37 * 1024 * 1024])]);
    let app = TestApp::spawn().await;
    let settings = crate::imap::settings(
        &dovecot.imaps_url(),
        CertTrust::ca_file(&pki.ca_pem).unwrap(),
        WhenUnreachable::AskToRetry,
    );
    let (b, _) = app
        .create_batch_checked_with(
            "console-reach",
            "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n",
            Some(settings),
        )
        .await
        .unwrap();
    let admin = app.admin().await;
    let new = NewAdminLogin {
        login: AdminLogin::new(AdminForm::Dovecot, "mailadmin", None).unwrap(),
        password: crate::helpers::secret(ADMIN_PASSWORD),
    };
    admin_login::set_admin_login(&app.store, &b, Some(new), None, &admin)
        .await
        .unwrap();
    let b = app.store.require_batch(&b.id).await.unwrap();
    let gate = std::sync::Arc::new(passdrop::imap::CheckGate::default());
    let summary = admin_login::probe_users(&app.store, &b, &admin, &gate, |_, _| {})
        .await
        .unwrap();
    assert_eq!(summary.covered, 1, "{summary:?}");

    let cookie = app.login().await;
    let base = format!("{}/admin/batches/{}", app.address, b.id);
    let page = console_get(&app.client, &format!("{base}/readiness"), &cookie).await;
    assert!(page.contains("covered by admin login"), "{page}");
    assert!(page.contains("message_too_large"), "{page}");

    // The master loses bob: the console's re-check marks him.
    write_later(&dovecot.dir.path().join("deny-mailadmin"), "cy:\nbob:\n");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (status, page) = console_post(
        &app.client,
        &format!("{base}/recheck"),
        &cookie,
        &[("passphrase", crate::helpers::PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let last = app.store.last_recheck(&b.id).await.unwrap();
        if last.is_some_and(|r| r.finished_at.is_some()) {
            let r = last.unwrap();
            assert_eq!((r.total, r.done, r.failed), (2, 2, 1), "{r:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the re-check did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let page = console_get(&app.client, &format!("{base}/readiness"), &cookie).await;
    assert!(page.contains("admin_login_refused"), "{page}");
    assert!(
        page.contains("whom the admin login no longer opens"),
        "{page}"
    );
    let page = console_get(&app.client, &format!("{base}/export"), &cookie).await;
    assert!(page.contains("admin login no longer opens"), "{page}");
    assert!(page.contains("bob@example.org"), "{page}");
    assert!(!page.contains("admin-password-refused"), "{page}");

    // The admin password changed at the old server: the console's re-check stops; its
    // readiness page lists the refusal, and its export page warns and holds ann back.
    write_later(
        &dovecot.dir.path().join("masters"),
        &masters(NEW_ADMIN_PASSWORD),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (status, page) = console_post(
        &app.client,
        &format!("{base}/recheck"),
        &cookie,
        &[("passphrase", crate::helpers::PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while admin_login::admin_password_refused(&app.store, &b)
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal was not recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let page = console_get(&app.client, &format!("{base}/readiness"), &cookie).await;
    assert!(
        page.contains("<code>admin_password_refused</code>"),
        "{page}"
    );
    let page = console_get(&app.client, &format!("{base}/export"), &cookie).await;
    assert!(page.contains("id=\"admin-password-refused\""), "{page}");
    assert!(
        page.contains("The old server refused the admin password"),
        "{page}"
    );
    assert!(page.contains("ann@example.org"), "{page}");
    app.stop().await;
}

/// A UserRoot holding `%` or `*` (LIST wildcards, which IMAP cannot escape) would be
/// checked as a pattern: the roster refuses it, naming its line and column.
#[test]
fn a_userroot_with_a_list_wildcard_is_refused_at_import() {
    let err = passdrop::roster::parse_roster(
        b"EmailAddress,UserRoot\nann@example.org,/users/ann\nbob@example.org,/users/b*\n\
          cy@example.org,users/%\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("2 problems; nothing was created"), "{err}");
    for line in ["line 3", "line 4"] {
        assert!(
            err.lines().any(|l| l.contains(line)
                && l.contains("UserRoot contains % or *, which IMAP reads as wildcards")),
            "{line}: {err}"
        );
    }
}
