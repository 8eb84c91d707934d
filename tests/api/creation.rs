//! Creating a batch is one transaction on a connection of its own
//! (`storage/creation.rs`): a failure part-way through its links leaves nothing of it,
//! a taken name changes nothing, and a batch created whole keeps its recipients in
//! roster order, each with one live link that opens its form. A creation whose caller
//! went away rolls back.

use sqlx::Connection as _;

use crate::helpers::{TestApp, link, roster_of};
use passdrop::batch::BatchError;
use passdrop::storage::{Batch, StoreError};

/// Rows of every table a creation writes.
async fn rows(conn: &mut sqlx::SqliteConnection) -> Vec<(&'static str, i64)> {
    let mut counted = Vec::new();
    for table in [
        "batches",
        "batch_keys",
        "recipients",
        "links",
        "audit_events",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        counted.push((table, n));
    }
    counted
}

#[tokio::test]
async fn a_creation_that_fails_part_way_leaves_nothing_and_a_whole_one_keeps_roster_order() {
    const USERS: usize = 2000;
    let app = TestApp::spawn().await;
    let (_, _) = app.create_batch("first", &roster_of("first", 3)).await;
    let mut conn = app.db().await;
    let before = rows(&mut conn).await;

    // The links table refuses the 1,501st link of the new batch (the first has 3).
    sqlx::query(
        "CREATE TRIGGER fail_midway BEFORE INSERT ON links \
         WHEN (SELECT COUNT(*) FROM links) >= 1503 \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let roster = roster_of("user", USERS);
    let failed = app.create_batch_checked_with("midway", &roster, None).await;
    assert!(
        matches!(failed, Err(BatchError::Store(StoreError::Other(_)))),
        "{failed:?}"
    );
    assert_eq!(
        rows(&mut conn).await,
        before,
        "nothing of the batch is left"
    );
    assert!(passdrop::batch::find(&app.store, "midway").await.is_err());

    // Without the fault the same batch is created whole.
    sqlx::query("DROP TRIGGER fail_midway")
        .execute(&mut conn)
        .await
        .unwrap();
    let (b, links) = app.create_batch("midway", &roster).await;
    assert_eq!(links.len(), USERS);
    let emails: Vec<String> = links.iter().map(|l| l.email.clone()).collect();
    let expected: Vec<String> = (0..USERS).map(|i| format!("user{i}@example.org")).collect();
    assert_eq!(emails, expected, "the links come back in roster order");
    let stored: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT r.roster_line, r.email, \
           (SELECT COUNT(*) FROM links l WHERE l.recipient_id = r.id AND l.state = 'live') \
         FROM recipients r WHERE r.batch_id = ? ORDER BY r.id",
    )
    .bind(&b.id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(stored.len(), USERS);
    for (i, (line, email, live)) in stored.iter().enumerate() {
        // The header is line 1.
        assert_eq!((*line, email, *live), (i as i64 + 2, &expected[i], 1));
    }
    let created: i64 = sqlx::query_scalar(
        "SELECT count FROM audit_events WHERE batch_id = ? AND kind = 'created'",
    )
    .bind(&b.id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(created, USERS as i64);
    for l in [&links[0], &links[USERS / 2], &links[USERS - 1]] {
        let page = app.client.get(link(l)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{}", l.email);
    }

    // A taken name changes nothing.
    let counted = rows(&mut conn).await;
    let again = app.create_batch_checked_with("midway", &roster, None).await;
    assert!(
        matches!(
            again,
            Err(BatchError::Store(StoreError::DuplicateBatchName(_)))
        ),
        "{again:?}"
    );
    assert_eq!(rows(&mut conn).await, counted);
    conn.close().await.unwrap();
}

/// Rows of every table a creation writes, read through rusqlite (no runtime needed).
fn rows_now(conn: &rusqlite::Connection) -> Vec<(&'static str, i64)> {
    [
        "batches",
        "batch_keys",
        "recipients",
        "links",
        "audit_events",
    ]
    .into_iter()
    .map(|table| {
        let n = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        (table, n)
    })
    .collect()
}

/// A creation dropped while it waits for the write lock (an API client that hung up, a
/// request that timed out) goes on, on its blocking thread, once the lock is free, and
/// then rolls back: before, it committed a batch nobody was told about.
#[test]
fn a_dropped_creation_rolls_back_instead_of_committing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, holder, before) = runtime.block_on(async {
        let app = TestApp::spawn().await;
        let (_, _) = app.create_batch("first", &roster_of("first", 3)).await;
        let holder =
            rusqlite::Connection::open(app.data_dir.path().join("passdrop.sqlite3")).unwrap();
        let before = rows_now(&holder);
        // Another writer holds the lock: the creation waits in BEGIN IMMEDIATE (up to
        // the busy timeout, 10 s) when the caller gives up after 3 s.
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let roster = roster_of("user", 2 * 1024 + 5);
        let gave_up = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            app.create_batch_checked_with("dropped", &roster, None),
        )
        .await;
        assert!(
            gave_up.is_err(),
            "the creation waited for the lock: {gave_up:?}"
        );
        holder.execute_batch("ROLLBACK").unwrap();
        (app, holder, before)
    });
    // Dropping the runtime waits for its blocking threads: the creation has finished.
    drop(runtime);
    assert_eq!(
        rows_now(&holder),
        before,
        "nothing of the dropped batch is left"
    );
    let named: i64 = holder
        .query_row(
            "SELECT COUNT(*) FROM batches WHERE name = 'dropped'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, 0);
    drop(holder);
    drop(app);
}

/// A creation copies what it wrote into the database file itself (a checkpoint after its
/// commit), so it pays for its own pages: left in the WAL until SQLite's threshold of
/// 1,000 pages, they were copied by whichever write came next, often a user's
/// submission. The database file alone, without its WAL, holds the whole new batch.
#[tokio::test]
async fn a_created_batch_is_in_the_database_file_itself() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("copied", &roster_of("user", 300)).await;
    assert_eq!(links.len(), 300);
    let alone = tempfile::tempdir().unwrap();
    let file = alone.path().join("alone.sqlite3");
    std::fs::copy(app.data_dir.path().join("passdrop.sqlite3"), &file).unwrap();
    let conn = rusqlite::Connection::open(&file).unwrap();
    let recipients: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM recipients r JOIN batches b ON b.id = r.batch_id \
             WHERE b.name = 'copied'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recipients, 300, "the batch's rows stayed in the WAL");
    let live: i64 = conn
        .query_row("SELECT COUNT(*) FROM links", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live, 300);
}

/// `passdrop batch create` unlocks the admin key (Argon2) while the links are issued and
/// the rows inserted (`batch::create_unlocking`). The batch is committed only once the
/// key has signed its settings: with the right passphrase it is whole and signed, at a
/// size that waits for the signatures before taking the write lock (3 users) and at one
/// that inserts first and sets them before its commit (20,000); with a wrong one nothing
/// of it is left, and its name stays free.
#[tokio::test]
async fn a_creation_that_unlocks_its_key_meanwhile_commits_only_signed() {
    let app = TestApp::spawn().await;
    let (_, _) = app.create_batch("first", &roster_of("first", 3)).await;
    let mut conn = app.db().await;
    let signer = passdrop::batch::settings_signer(&app.admin().await).unwrap();
    for (name, users) in [("small", 3), ("large", 20_000)] {
        let roster = roster_of(name, users);
        let request = || passdrop::batch::NewBatch {
            name: name.to_owned(),
            org_name: Some("Example Ltd".to_owned()),
            link_lifetime: std::time::Duration::from_secs(7 * 86_400),
            next_steps: None,
            ask_mail_client: true,
            retention: passdrop::batch::Retention::default(),
            roster: passdrop::roster::parse_roster(roster.as_bytes()).unwrap(),
            imap: None,
            language: None,
            time_zone: None,
        };
        let before = rows(&mut conn).await;
        let refused = passdrop::batch::create_unlocking(
            &app.store,
            &app.public_url,
            request(),
            passdrop::config::now(),
            crate::helpers::secret("not the passphrase, but long enough"),
            passdrop::batch::Tally::new(),
            None,
        )
        .await;
        assert!(
            matches!(refused, Err(BatchError::WrongPassphrase)),
            "{name}: {:?}",
            refused.map(|(b, _, _)| b.name)
        );
        assert_eq!(rows(&mut conn).await, before, "{name}: nothing is left");

        let (b, links, _) = passdrop::batch::create_unlocking(
            &app.store,
            &app.public_url,
            request(),
            passdrop::config::now(),
            crate::helpers::secret(crate::helpers::PASSPHRASE),
            passdrop::batch::Tally::new(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(links.len(), users, "{name}");
        // Ed25519 signatures are deterministic: the stored ones are the key's own.
        let stored = passdrop::batch::find(&app.store, name).await.unwrap();
        let unsigned = Batch {
            settings_sig: None,
            message_sig: None,
            ..stored.clone()
        };
        let expected = (
            passdrop::batch::sign_batch(&signer, &unsigned),
            passdrop::batch::sign_message(&signer, &unsigned),
        );
        assert_eq!(
            (stored.settings_sig.clone(), stored.message_sig.clone()),
            (Some(expected.0.clone()), Some(expected.1.clone())),
            "{name}: stored signed"
        );
        assert_eq!(
            (b.settings_sig, b.message_sig),
            (Some(expected.0), Some(expected.1))
        );
        for l in [&links[0], &links[users - 1]] {
            let page = app.client.get(link(l)).send().await.unwrap();
            assert_eq!(page.status(), 200, "{}", l.email);
        }
    }
    conn.close().await.unwrap();
}

/// A creation that inserts first (`storage::LateSignatures::insert_first`: 20,000 rows
/// or more at the default Argon2 cost) inserts its rows before its signatures arrive,
/// holding its uncommitted transaction until they do: it
/// then sets them in the batch's row and commits; if their sender is dropped instead (a
/// wrong passphrase), it rolls back and nothing of it is left.
#[tokio::test]
async fn a_large_creation_commits_once_its_late_signatures_arrive() {
    const USERS: usize = 20_000;
    let app = TestApp::spawn().await;
    let (first, _) = app.create_batch("first", &roster_of("first", 3)).await;
    let admin_public = app.store.admin_key().await.unwrap().unwrap().public_key;
    let mut conn = app.db().await;
    let before = rows(&mut conn).await;
    for (name, arrive) in [("dropped", false), ("late", true)] {
        let id = format!("{:016x}", u64::from(arrive) + 0xfeed_0000);
        let (public_key, sealed_key) =
            passdrop::crypto::create_batch_key(&admin_public, &id).unwrap();
        let batch = Batch {
            id: id.clone(),
            name: name.to_owned(),
            public_key,
            link_tag: passdrop::crypto::LinkTag::generate().unwrap(),
            settings_sig: None,
            message_sig: None,
            ..first.clone()
        };
        let recipients: Vec<passdrop::storage::NewRecipient> = (0..USERS)
            .map(|i| passdrop::storage::NewRecipient {
                roster_line: i as i64 + 2,
                email: format!("{name}{i}@example.org"),
                user_name: format!("{name}{i}@example.org"),
                display_name: None,
                alternate_email: None,
                user_root: None,
                language: None,
                token_hash: {
                    let mut h = [0u8; 32];
                    h[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    h[8] = u8::from(arrive) + 1;
                    h
                },
                link_secret: passdrop::storage::StoredLinkSecret::Derived(0),
            })
            .collect();
        let (send, receive) = tokio::sync::oneshot::channel();
        let store = app.store.clone();
        let creating = tokio::spawn(async move {
            store
                .create_batch(
                    &batch,
                    &sealed_key,
                    None,
                    recipients,
                    Some(passdrop::storage::LateSignatures {
                        receiver: receive,
                        insert_first: true,
                    }),
                )
                .await
        });
        // Long enough for the rows to go in; nothing is committed yet.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        if creating.is_finished() {
            panic!("{name}: it did not wait: {:?}", creating.await);
        }
        let committed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batches WHERE id = ?")
            .bind(&id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(committed, 0, "{name}");
        if arrive {
            send.send((vec![1u8; 64], vec![2u8; 64])).unwrap();
            creating.await.unwrap().unwrap();
            let stored: (Option<Vec<u8>>, Option<Vec<u8>>, i64) = sqlx::query_as(
                "SELECT settings_sig, message_sig, \
                 (SELECT COUNT(*) FROM recipients WHERE batch_id = batches.id) \
                 FROM batches WHERE id = ?",
            )
            .bind(&id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(
                stored,
                (Some(vec![1u8; 64]), Some(vec![2u8; 64]), USERS as i64)
            );
        } else {
            drop(send);
            let failed = creating.await.unwrap();
            assert!(failed.is_err(), "{failed:?}");
            assert_eq!(rows(&mut conn).await, before, "nothing of it is left");
        }
    }
    conn.close().await.unwrap();
}
