//! A purge while another program reads the database: the answer tells the truth (the
//! batch is purged; its old pages are not wiped yet), and once the reader ends passdrop
//! wipes them, so that no byte of the batch's users stays in any file.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::helpers::{PASSPHRASE, TestApp, canaries_found, link, passdrop, token_of};
use passdrop::batch;
use passdrop::config;

const ROSTER: &str = "EmailAddress,UserName,DisplayName\n\
                      reader.ann@reader-canary.example,readeruser-ann,Readername Annika\n\
                      reader.bob@reader-canary.example,readeruser-bob,Readername Bobrik\n";
const PASSWORDS: [&str; 2] = ["ReaderCanaryPass-Ann-91", "ReaderCanaryPass-Bob-92"];

/// A batch whose users both submitted; returns its id and every canary of it.
async fn collected_batch(app: &TestApp, name: &str) -> (String, Vec<String>) {
    let (b, links) = app.create_batch(name, ROSTER).await;
    for (l, pw) in links.iter().zip(PASSWORDS) {
        assert_eq!(app.submit(&link(l), pw, pw).await.status(), 200);
    }
    let mut canaries: Vec<String> = PASSWORDS.iter().map(|p| (*p).to_owned()).collect();
    canaries.extend(links.iter().map(|l| token_of(&link(l))));
    canaries.extend(
        [
            "reader.ann@reader-canary.example",
            "reader-canary",
            "readeruser-bob",
            "Readername",
        ]
        .map(str::to_owned),
    );
    (b.id, canaries)
}

/// Another program reading the database: a connection of its own in a read transaction
/// that has read the batch's rows, as `sqlite3` with `BEGIN; SELECT ...` would.
async fn open_reader(db: &Path) -> SqliteConnection {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recipients")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(n > 0);
    conn
}

async fn end_reader(mut conn: SqliteConnection) {
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

fn found(dir: &Path, canaries: &[String]) -> Vec<String> {
    let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
    canaries_found(dir, &canaries)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_purge_beside_a_reader_says_what_is_done_and_the_wipe_follows() {
    let app = TestApp::spawn().await;
    let (id, canaries) = collected_batch(&app, "Reader 2026").await;
    let cookie = app.login().await;
    let reader = open_reader(app.store.database_path()).await;
    // Never exported: the purge destroys the collected passwords on purpose.
    let b = app.store.require_batch(&id).await.unwrap();
    let discard = batch::unexported(&app.store, &b).await.unwrap().fingerprint;

    let started = Instant::now();
    let r = app
        .client
        .post(format!("{}/admin/batches/{id}/purge", app.address))
        .header("cookie", &cookie)
        .form(&[
            ("confirm", "yes"),
            ("passphrase", PASSPHRASE),
            ("discard", discard.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = r.status().as_u16();
    let page = r.text().await.unwrap();
    println!("purge answered {status} after {took:?}");
    // The batch is gone, and the answer says so (never "nothing was saved").
    assert_eq!(status, 202, "{page}");
    assert!(took < Duration::from_secs(25), "{took:?}");
    assert!(page.contains("rows are deleted"), "{page}");
    assert!(page.contains("still in the database files"), "{page}");
    assert!(!page.contains("Nothing was"), "{page}");
    assert!(app.store.find_batch(&id).await.unwrap().is_none());
    assert!(app.store.find_tombstone(&id).await.unwrap().is_some());

    // The reader's snapshot still holds the old pages, as the answer said.
    assert!(!found(app.data_dir.path(), &canaries).is_empty());

    // The reader ends; the maintenance loop's next round wipes the old pages.
    end_reader(reader).await;
    batch::purge_past_retention(&app.store, config::now())
        .await
        .unwrap();
    let left = found(app.data_dir.path(), &canaries);
    assert!(left.is_empty(), "after the wipe, server running: {left:?}");
    let dir = app.stop().await;
    let left = found(dir.path(), &canaries);
    assert!(left.is_empty(), "after the wipe and stop: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_line_purge_beside_a_reader_returns_and_the_next_command_wipes() {
    let app = TestApp::spawn().await;
    let (id, canaries) = collected_batch(&app, "Reader CLI").await;
    let db = app.store.database_path().to_owned();
    let dir = app.stop().await;
    let reader = open_reader(&db).await;

    let mut child = passdrop(dir.path())
        .args(["purge", "Reader CLI", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("purge did not return within a minute while a reader was open");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    println!("{stderr}");
    // Not a success (the files still hold old pages), but it says the batch is purged.
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("\"Reader CLI\" is purged"), "{stderr}");
    assert!(stderr.contains("key is destroyed"), "{stderr}");
    assert!(stderr.contains("still reading"), "{stderr}");

    assert!(!found(dir.path(), &canaries).is_empty());
    end_reader(reader).await;
    // Any later command finishes the wipe when it opens the store.
    let o = passdrop(dir.path())
        .args(["batch", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        listed.contains("Reader CLI") && listed.contains("purged"),
        "{listed}"
    );
    let left = found(dir.path(), &canaries);
    assert!(left.is_empty(), "after the next command: {left:?}");
    let _ = id;
}
