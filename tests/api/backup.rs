//! Online backups: taken under submission load, restored into a new data directory,
//! they export every password acknowledged before the backup began.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use passdrop::batch;
use passdrop::config;
use passdrop::storage::Store;

use crate::helpers::{
    PASSPHRASE, Server, TestApp, link, parse_csv, passdrop, roster_of, run, secret, stderr,
};

const USERS: usize = 60;
const BEFORE: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_every_acknowledged_password() {
    let app = Arc::new(TestApp::spawn().await);
    let roster = roster_of("user", USERS);
    let (_, links) = app.create_batch("backed up", &roster).await;
    let links: Vec<String> = links.iter().map(link).collect();
    for (i, l) in links.iter().take(BEFORE).enumerate() {
        let p = format!("pw-{i}");
        assert_eq!(app.submit(l, &p, &p).await.status(), 200);
    }

    // The rest submit while the backup is taken.
    let mut load = Vec::new();
    for (i, l) in links.iter().enumerate().skip(BEFORE) {
        let (app, l) = (Arc::clone(&app), l.clone());
        load.push(tokio::spawn(async move {
            let p = format!("pw-{i}");
            app.submit(&l, &p, &p).await.status().as_u16()
        }));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("passdrop-backup.sqlite3");
    let summary = app.store.backup_to(&out).await.unwrap();
    for t in load {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(summary.batches, 1);
    assert_eq!(summary.recipients, USERS as i64);
    assert!(summary.submissions >= BEFORE as i64);
    // Never overwrites.
    assert!(app.store.backup_to(&out).await.is_err());

    let restored = dir.path().join("restored");
    passdrop::storage::restore_into(&out, &restored)
        .await
        .unwrap();
    assert!(
        passdrop::storage::restore_into(&out, &restored)
            .await
            .is_err(),
        "a restore never overwrites a database"
    );
    let store = Store::open(&restored).await.unwrap();
    let b = batch::find(&store, "backed up").await.unwrap();
    let admin = batch::unlock_admin(&store, secret(PASSPHRASE))
        .await
        .unwrap();
    let (e, _) = batch::export_m365(
        &store,
        &b,
        &admin,
        batch::PurgeChoice::AfterLinksExpire,
        config::now(),
    )
    .await
    .unwrap();
    let rows = parse_csv(&e.csv);
    assert_eq!(rows.len() - 1, summary.submissions as usize);
    let mut seen = std::collections::HashSet::new();
    for row in &rows[1..] {
        let i: usize = row[0]
            .trim_start_matches("user")
            .trim_end_matches("@example.org")
            .parse()
            .unwrap();
        assert_eq!(row[2], format!("pw-{i}"));
        seen.insert(i);
    }
    for i in 0..BEFORE {
        assert!(
            seen.contains(&i),
            "user {i}, acknowledged before the backup, is missing"
        );
    }
}

#[tokio::test]
async fn backup_and_restore_work_from_the_command_line_while_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let pass_file = dir.join("passphrase.txt");
    std::fs::write(&pass_file, "backup cli passphrase 2026\n").unwrap();
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));
    let server = Server::start(&data, &[]);
    let roster = dir.join("roster.csv");
    std::fs::write(&roster, "EmailAddress\nann@example.org\nbob@example.org\n").unwrap();
    let links_path = dir.join("links.csv");
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "b", "--roster"])
        .arg(&roster)
        .arg("--passphrase-file")
        .arg(&pass_file)
        .arg("--links-out")
        .arg(&links_path)
        .args(["--public-url", &server.address]));
    assert!(o.status.success(), "{}", stderr(&o));
    let links = parse_csv(&std::fs::read(&links_path).unwrap());
    let r = reqwest::Client::new()
        .post(&links[1][2])
        .form(&[("password", "ann's pw"), ("password_confirm", "ann's pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let out = dir.join("copy.sqlite3");
    let o = run(passdrop(&data).args(["backup", "--out"]).arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains("1 batches with 2 users and 1 sealed passwords"),
        "{said}"
    );
    assert!(
        said.contains("useless without the admin passphrase"),
        "{said}"
    );
    let again = run(passdrop(&data).args(["backup", "--out"]).arg(&out));
    assert_eq!(again.status.code(), Some(1), "a backup never overwrites");
    drop(server);

    let restored = dir.join("restored");
    let o = run(passdrop(&restored).arg("restore").arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&restored).arg("restore").arg(&out));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a restore never overwrites a database"
    );
    assert!(
        stderr(&o).contains("already holds a database"),
        "{}",
        stderr(&o)
    );
    let csv = dir.join("export.csv");
    let o = run(passdrop(&restored)
        .args(["export", "b", "--out"])
        .arg(&csv)
        .arg("--passphrase-file")
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&std::fs::read(&csv).unwrap());
    assert_eq!(rows[1], ["ann@example.org", "ann@example.org", "ann's pw"]);
}
