//! A full disk: submissions fail cleanly while it is full, and the server recovers by
//! itself once there is room again (no restart), with exactly the acknowledged
//! passwords kept. Runs on a small tmpfs the test mounts (root only).

use std::sync::Arc;

use crate::helpers::{
    SmallDisk, TestApp, console_get, link, parse_csv, passdrop, roster_of, run, stderr,
};

const USERS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_full_disk_every_refused_user_can_submit_without_a_restart() {
    let Some(disk) = SmallDisk::mount(16) else {
        return;
    };
    let app = Arc::new(TestApp::spawn_in(disk.dir.path()).await);
    let roster = roster_of("user", USERS);
    let (b, links) = app.create_batch("full disk", &roster).await;
    let links: Vec<String> = links.iter().map(link).collect();

    // A few go through before the disk fills.
    for (i, l) in links.iter().take(5).enumerate() {
        let r = app
            .submit(l, &format!("before-{i}"), &format!("before-{i}"))
            .await;
        assert_eq!(r.status(), 200);
    }

    let cookie = app.login().await;
    // The WAL emptied first. Once a checkpoint has copied all of it into the database
    // file (each batch creation ends with one), the next write reuses the WAL's space
    // from its start without growing the file: on a full disk a batch that fits into
    // that space is created, and rightly so. Emptied, it has no room anywhere.
    rusqlite::Connection::open(app.data_dir.path().join("passdrop.sqlite3"))
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|busy| assert_eq!(busy, 0, "the WAL could not be emptied"))
        .unwrap();
    let filler = disk.fill();
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let said = health.text().await.unwrap();
    assert!(said.contains("disk") && !said.contains('\n'), "{said}");
    let page = console_get(
        &app.client,
        &format!("{}/admin/batches", app.address),
        &cookie,
    )
    .await;
    assert!(
        page.contains("Nothing can be saved right now"),
        "no banner:\n{page}"
    );
    // The doctor names it too.
    let o = run(passdrop(app.data_dir.path()).arg("doctor").arg("--offline"));
    assert!(
        stderr(&o).contains("nothing can be saved")
            || String::from_utf8_lossy(&o.stdout).contains("nothing can be saved"),
        "{}",
        stderr(&o)
    );
    // A batch created now is refused whole: nothing half-created.
    let big = roster_of("someone", 2000);
    let created = app
        .create_batch_checked_with("while full", &big, None)
        .await;
    assert!(
        matches!(
            created,
            Err(passdrop::batch::BatchError::Store(
                passdrop::storage::StoreError::CannotWrite(_)
            ))
        ),
        "{created:?}"
    );
    assert!(
        passdrop::batch::find(&app.store, "while full")
            .await
            .is_err()
    );
    // Many clients at once while the disk is full.
    let mut tasks = Vec::new();
    for (i, l) in links.iter().enumerate().skip(5) {
        let (app, l) = (Arc::clone(&app), l.clone());
        tasks.push(tokio::spawn(async move {
            let p = format!("while-full-{i}");
            let r = app.submit(&l, &p, &p).await;
            let status = r.status().as_u16();
            let page = r.text().await.unwrap();
            (i, status, page)
        }));
    }
    let mut acknowledged: Vec<usize> = (0..5).collect();
    let mut refused = Vec::new();
    for t in tasks {
        let (i, status, page) = t.await.unwrap();
        match status {
            200 => acknowledged.push(i),
            503 => {
                assert!(page.contains("nothing was used up"), "{page}");
                refused.push(i);
            }
            other => panic!("unexpected status {other} while the disk was full:\n{page}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk was full, yet every submission was accepted: the test checked nothing"
    );

    std::fs::remove_file(filler).unwrap();
    // The probe's answer is reused for a few seconds.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let page = console_get(
        &app.client,
        &format!("{}/admin/batches", app.address),
        &cookie,
    )
    .await;
    assert!(!page.contains("Nothing can be saved"), "the banner stayed");
    // Room again: everyone refused submits now, on the same server.
    for &i in &refused {
        let p = format!("after-{i}");
        let r = app.submit(&links[i], &p, &p).await;
        assert_eq!(
            r.status(),
            200,
            "user {i} could not submit after space was freed"
        );
        acknowledged.push(i);
    }
    assert_eq!(app.store.integrity_check().await.unwrap(), "ok");

    let (csv, missing) = app.export(&b).await;
    assert!(missing.is_empty(), "missing after recovery: {missing:?}");
    let rows = parse_csv(&csv);
    assert_eq!(
        rows.len() - 1,
        USERS,
        "one row per user, no ghost, none lost"
    );
    for row in &rows[1..] {
        let i: usize = row[0]
            .trim_start_matches("user")
            .trim_end_matches("@example.org")
            .parse()
            .unwrap();
        let expected = if i < 5 {
            format!("before-{i}")
        } else if refused.contains(&i) {
            format!("after-{i}")
        } else {
            format!("while-full-{i}")
        };
        assert_eq!(row[2], expected, "user {i}");
    }
}
