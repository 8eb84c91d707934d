//! Durable submissions through the seal pool and the group-commit writer's own
//! connection: more at once than the seal queue and a commit group hold, each link
//! submitted twice at the same moment; exactly one answer per link acknowledges, and
//! exactly the acknowledged passwords are in the export. When the store closes, the
//! writer's connection closes first, so the last connection checkpoints the WAL away.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::helpers::{TestApp, link, parse_csv, roster_of};

/// More than the seal queue (256) and a commit group (256).
const USERS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_double_submissions_acknowledges_one_per_link_and_exports_exactly_those() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("flood", &roster_of("flood", USERS)).await;
    // Under the server's cap of 64 connections from one address.
    let slots = Arc::new(Semaphore::new(48));
    let mut tasks = Vec::new();
    for (i, l) in links.iter().enumerate() {
        for attempt in 0..2 {
            let (client, url, slots) = (app.client.clone(), link(l), slots.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.unwrap();
                let pw = format!("Flood{i}-attempt{attempt}");
                let r = client
                    .post(&url)
                    .form(&[("password", pw.as_str()), ("password_confirm", pw.as_str())])
                    .send()
                    .await
                    .unwrap();
                (format!("flood{i}@example.org"), pw, r.status().as_u16())
            }));
        }
    }
    let mut acked: HashMap<String, String> = HashMap::new();
    for t in tasks {
        let (email, pw, status) = t.await.unwrap();
        assert!(status == 200 || status == 410, "{email}: {status}");
        if status == 200 {
            assert!(
                acked.insert(email.clone(), pw).is_none(),
                "{email}: two submissions acknowledged on one link"
            );
        }
    }
    assert_eq!(acked.len(), USERS, "every link took exactly one password");
    let (csv, missing) = app.export(&b).await;
    assert!(missing.is_empty(), "{missing:?}");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len() - 1, USERS);
    for row in &rows[1..] {
        assert_eq!(acked.get(&row[0]), Some(&row[2]), "{row:?}");
    }
    let data_dir = app.stop().await;
    // Every connection is closed, the writer's among them: the WAL went with the last.
    let wal = data_dir.path().join("passdrop.sqlite3-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "a connection was left open"
    );
}
