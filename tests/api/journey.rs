//! The whole journey through the library and real HTTP, ending in a purge that leaves no
//! trace of the batch's users in any file of the data directory.

use crate::helpers::{TestApp, canaries_found, link, parse_csv, token_of};
use passdrop::batch::{self, BatchError};
use passdrop::config;

#[tokio::test]
async fn the_journey_ends_with_a_purge_that_leaves_no_trace() {
    let app = TestApp::spawn().await;
    let roster = "EmailAddress,UserName,DisplayName\n\
                  canary.ann@canary-domain.example,canaryuser-ann,Canaryname Annabel\n\
                  canary.bob@canary-domain.example,canaryuser-bob,Canaryname Bobbington\n\
                  canary.cy@canary-domain.example,canaryuser-cy,Canaryname Cyrilla\n";
    // A webhook: its queued deliveries carry the users' emails until the purge.
    passdrop::outbox::webhook_queue::add_webhook(
        &app.store,
        &app.admin().await,
        "http://127.0.0.1:9/hook",
        None,
        "*".to_owned(),
        config::now(),
    )
    .await
    .unwrap();
    let (b, links) = app.create_batch("journey", roster).await;
    let passwords = ["CanaryPass-Ann-7f3a!", "CanaryPass \"Bob\", =2+2"];
    for (l, pw) in links.iter().zip(passwords) {
        assert_eq!(app.get(&link(l)).await.status(), 200);
        assert_eq!(app.submit(&link(l), pw, pw).await.status(), 200);
    }

    // What readiness keeps about a user (migration 0013): lint codes (stored at
    // submission), an inventory with a folder name, a re-check.
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    let ann = statuses[0].recipient.id;
    let record = passdrop::storage::InventoryRecord {
        folders: 2,
        messages: 7,
        bytes: 7_000,
        problem_folders: vec![(
            "folder_name_has_slash".to_owned(),
            "Canaryfolder/Annabel".to_owned(),
        )],
        ..Default::default()
    };
    app.store
        .save_inventory(ann, &record, config::now())
        .await
        .unwrap();
    app.store
        .begin_recheck(&b.id, 2, config::now())
        .await
        .unwrap();
    app.store
        .record_recheck(
            &b.id,
            ann,
            passdrop::storage::RecheckOutcome::Ok,
            config::now(),
        )
        .await
        .unwrap();
    let facts = app.store.user_readiness(&b.id).await.unwrap();
    assert_eq!(facts.len(), 2);
    assert_eq!(facts[1].lint_codes, "separator_in_password");

    let (csv, missing) = app.export(&b).await;
    assert_eq!(missing, vec!["canary.cy@canary-domain.example"]);
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], ["EmailAddress", "UserName", "Password"]);
    assert_eq!(
        rows[1],
        [
            "canary.ann@canary-domain.example",
            "canaryuser-ann",
            passwords[0]
        ]
    );
    assert_eq!(
        rows[2],
        [
            "canary.bob@canary-domain.example",
            "canaryuser-bob",
            passwords[1]
        ]
    );
    assert_eq!(rows.len(), 3);

    let settings = passdrop::outbox::webhook_queue::WebhookSettings::default();
    passdrop::outbox::webhook_queue::run_once(&app.store, &settings, config::now())
        .await
        .unwrap();
    let queued = app.store.webhook_deliveries().await.unwrap();
    assert!(
        queued
            .iter()
            .any(|d| String::from_utf8_lossy(&d.payload)
                .contains("canary.ann@canary-domain.example")),
        "{queued:?}"
    );
    let tokens: Vec<String> = links.iter().map(|l| token_of(&link(l))).collect();
    let tombstone = batch::purge(&app.store, &b, config::now()).await.unwrap();
    assert_eq!((tombstone.recipients, tombstone.submitted), (3, 2));
    // Every link of the purged batch says the collection has closed (from the
    // tombstone, which holds no user data: the canaries below).
    for l in &links {
        let r = app.get(&link(l)).await;
        assert_eq!(r.status(), 410);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("This collection has closed")
        );
    }
    assert!(matches!(
        batch::find(&app.store, "journey").await,
        Err(BatchError::Purged { .. })
    ));
    assert_eq!(app.store.integrity_check().await.unwrap(), "ok");
    assert!(app.store.last_recheck(&b.id).await.unwrap().is_none());

    let mut canaries: Vec<&str> = passwords.to_vec();
    canaries.extend(tokens.iter().map(String::as_str));
    canaries.extend([
        "canary.ann@canary-domain.example",
        "canary.cy@canary-domain.example",
        "canary-domain",
        "canaryuser-bob",
        "Canaryname",
        "Bobbington",
        "Canaryfolder",
    ]);
    // Scan while the server still runs (WAL and SHM present), then again after it stops.
    let found = canaries_found(app.data_dir.path(), &canaries);
    assert!(
        found.is_empty(),
        "found after purge, server running: {found:?}"
    );
    let dir = app.stop().await;
    let found = canaries_found(dir.path(), &canaries);
    assert!(found.is_empty(), "found after purge and stop: {found:?}");
}

#[tokio::test]
async fn the_database_holds_no_password_or_token_before_purge_either() {
    let app = TestApp::spawn().await;
    let (_, links) = app
        .create_batch("sealed", "EmailAddress\nann@example.com\n")
        .await;
    let pw = "PlaintextCanary-0xDEADBEEF";
    assert_eq!(app.submit(&link(&links[0]), pw, pw).await.status(), 200);
    let other = app
        .create_batch("pending", "EmailAddress\nzed@example.com\n")
        .await;
    let pending_token = token_of(&link(&other.1[0]));
    let used_token = token_of(&link(&links[0]));
    let dir = app.stop().await;
    let found = canaries_found(dir.path(), &[pw, &pending_token, &used_token]);
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn a_wrong_passphrase_opens_nothing() {
    let app = TestApp::spawn().await;
    let r = batch::unlock_admin(&app.store, crate::helpers::secret("not the passphrase")).await;
    assert!(matches!(r, Err(BatchError::WrongPassphrase)));
    app.stop().await;
}

#[tokio::test]
async fn a_purge_interrupted_after_the_key_is_gone_is_finished_on_the_next_open() {
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "interrupted",
            "EmailAddress\ninterrupted-canary@example.com\n",
        )
        .await;
    let pw = "InterruptedCanaryPassword";
    assert_eq!(app.submit(&link(&links[0]), pw, pw).await.status(), 200);
    // Simulate a crash right after the first purge step: the key row is deleted, the
    // rest is still there.
    let db = app.store.database_path().to_owned();
    let dir = app.stop().await;
    sqlx_delete_key(&db, &b.id).await;
    let store = passdrop::storage::Store::open(dir.path()).await.unwrap();
    assert!(store.find_batch("interrupted").await.unwrap().is_none());
    assert!(store.find_tombstone("interrupted").await.unwrap().is_some());
    store.close().await;
    let found = canaries_found(dir.path(), &[pw, "interrupted-canary@example.com"]);
    assert!(found.is_empty(), "{found:?}");
}

async fn sqlx_delete_key(db: &std::path::Path, batch_id: &str) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    sqlx::query("DELETE FROM batch_keys WHERE batch_id = ?")
        .bind(batch_id)
        .execute(&mut conn)
        .await
        .unwrap();
    use sqlx::Connection as _;
    conn.close().await.unwrap();
}

#[tokio::test]
async fn batches_past_retention_are_purged_automatically() {
    let app = TestApp::spawn().await;
    let (old, old_links) = app
        .create_batch("old", "EmailAddress\nold@example.com\n")
        .await;
    let (exported, _) = app
        .create_batch("exported", "EmailAddress\nexp@example.com\n")
        .await;
    let (fresh, _) = app
        .create_batch("fresh", "EmailAddress\nfresh@example.com\n")
        .await;
    let now = config::now();
    assert_eq!(
        batch::automatic_purge_at(&old),
        old.expires_at + old.retain_after_expiry_secs
    );
    app.store
        .mark_exported(
            &exported.id,
            0,
            now,
            Some(now + exported.retain_after_export_secs),
            &[],
        )
        .await
        .unwrap();

    // Nothing is due yet.
    assert!(
        batch::purge_past_retention(&app.store, now)
            .await
            .unwrap()
            .is_empty()
    );

    // A day and a bit later, the exported batch is due; the others are not.
    let later = now + exported.retain_after_export_secs + 1;
    let purged = batch::purge_past_retention(&app.store, later)
        .await
        .unwrap();
    assert_eq!(
        purged.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["exported"]
    );

    // A week after expiry, the rest are due.
    let much_later = old.expires_at.max(fresh.expires_at) + old.retain_after_expiry_secs;
    let purged = batch::purge_past_retention(&app.store, much_later)
        .await
        .unwrap();
    assert_eq!(purged.len(), 2);
    assert_eq!(app.get(&link(&old_links[0])).await.status(), 410);
    assert!(app.store.list_batches().await.unwrap().is_empty());
    app.stop().await;
}
