//! `link_views.rs`' tests: stamps read from real WAL databases, and what is remembered
//! under them.

use super::*;

fn batch(id: &str) -> Arc<Batch> {
    Arc::new(Batch::for_tests(id))
}

fn view(email: &str) -> LinkView {
    LinkView {
        state: LinkState::Live,
        expires_at: 100,
        opened_at: None,
        used_at: None,
        failed_attempts: 0,
        recipient: Recipient {
            id: 1,
            batch_id: "b".to_owned(),
            roster_line: 1,
            email: email.to_owned(),
            user_name: email.to_owned(),
            display_name: None,
            alternate_email: None,
            user_root: None,
            language: None,
        },
        batch: batch("b"),
    }
}

/// A WAL database with one table, its writer, and the views of it.
fn database() -> (tempfile::TempDir, rusqlite::Connection, LinkViews) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
        )
        .unwrap();
    let views = LinkViews::new(&path);
    (dir, writer, views)
}

/// Every commit, by any connection, changes the header; a read does not; neither
/// does a checkpoint that moves nothing the readers see. A WAL reset after a
/// checkpoint changes it too.
#[test]
fn every_commit_and_only_a_commit_changes_the_stamp() {
    let (dir, writer, views) = database();
    let first = views.stamp().expect("a WAL database has a header");
    // One descriptor per file for the process, kept open (`shm_file`).
    let shm = dir.path().join("db.sqlite-shm");
    let (one, two) = (shm_file(&shm).unwrap(), shm_file(&shm).unwrap());
    assert!(Arc::ptr_eq(&one.0, &two.0));
    assert_eq!(views.stamp(), Some(first));
    let reader = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    let count = || reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0));
    assert_eq!(count().unwrap(), 0);
    assert_eq!(views.stamp(), Some(first), "a read changes nothing");
    let mut seen = vec![first];
    for i in 0..5 {
        writer
            .execute("INSERT INTO t (v) VALUES (?)", [format!("row {i}")])
            .unwrap();
        let now = views.stamp().unwrap();
        assert!(!seen.contains(&now), "commit {i} changed the header");
        seen.push(now);
    }
    // Another connection's commit.
    reader
        .execute("UPDATE t SET v = 'x' WHERE id = 1", [])
        .unwrap();
    let after_other = views.stamp().unwrap();
    assert!(!seen.contains(&after_other));
    seen.push(after_other);
    // A checkpoint copies pages; what a reader sees is the same.
    writer
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .unwrap();
    // The next commit starts the WAL over (new salts), and still differs.
    writer.execute("DELETE FROM t WHERE id = 2", []).unwrap();
    let after_reset = views.stamp().unwrap();
    assert!(!seen.contains(&after_reset));
    assert_eq!(count().unwrap(), 4);
}

/// A view is answered only under the header it was read under; another header
/// forgets it, and a view read under an old header is not remembered.
#[test]
fn a_view_is_answered_only_under_its_own_header() {
    let (_dir, writer, views) = database();
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let before = views.stamp().unwrap();
    assert!(views.get(&a, &before).is_none());
    views.put(&a, &before, view("a@example.org"));
    views.put(&b, &before, view("b@example.org"));
    let got = views.get(&a, &before).unwrap();
    assert_eq!(got.recipient.email, "a@example.org");
    // The two views share one copy of their batch.
    assert!(Arc::ptr_eq(
        &got.batch,
        &views.get(&b, &before).unwrap().batch
    ));
    writer
        .execute("INSERT INTO t (v) VALUES ('x')", [])
        .unwrap();
    let after = views.stamp().unwrap();
    assert!(views.get(&a, &after).is_none(), "the commit forgot it");
    assert_eq!(views.len(), 0);
    // A lookup that read the old header before the commit may not put its view.
    views.put(&b, &before, view("b@example.org"));
    assert!(views.get(&b, &after).is_none());
    views.put(&b, &after, view("b@example.org"));
    assert!(views.get(&b, &after).is_some());
    // The refresh finds nothing changed, then a change: it forgets.
    views.refresh();
    assert_eq!(views.len(), 1);
    writer
        .execute("INSERT INTO t (v) VALUES ('y')", [])
        .unwrap();
    views.refresh();
    assert_eq!(views.len(), 0);
    views.put(&a, &views.stamp().unwrap(), view("a@example.org"));
    views.forget();
    assert_eq!(views.len(), 0);
}

/// The writer's own commit carries the views over with what it changed; a commit
/// by anyone else in between, or a transaction that did not commit, forgets them.
/// While the writer's commit is under way, a lookup under the new header forgets
/// nothing.
#[test]
fn the_writers_own_commit_carries_the_views_over() {
    let (dir, writer, views) = database();
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let fill = |views: &LinkViews| {
        let stamp = views.stamp().unwrap();
        // A lookup under the header now: it starts over if the header changed.
        views.get(&a, &stamp);
        for (hash, email) in [(a, "a@x.org"), (b, "b@x.org"), (c, "c@x.org")] {
            views.put(&hash, &stamp, view(email));
        }
        stamp
    };
    let before = fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer
        .execute("INSERT INTO t (v) VALUES ('x')", [])
        .unwrap();
    writer.execute_batch("COMMIT").unwrap();
    let after = views.stamp().unwrap();
    assert_ne!(after, before);
    assert!(views.get(&c, &after).is_none(), "not yet carried over");
    assert!(
        views.get(&c, &before).is_some(),
        "nothing forgotten meanwhile"
    );
    // Nor by the once-a-second refresh: the writer's `end_write` judges its commit.
    views.refresh();
    assert_eq!(views.len(), 3);
    let changes = [Change::Opened(a, 42), Change::Used(b)];
    views.end_write(writing, Some((&changes[..], true)), || true);
    assert_eq!(views.get(&a, &after).unwrap().opened_at, Some(42));
    assert!(views.get(&b, &after).is_none(), "a used link is read again");
    assert_eq!(views.get(&c, &after).unwrap().opened_at, None);
    // A lookup that read the header before the commit forgets nothing either.
    assert!(views.get(&c, &before).is_none());
    assert!(views.get(&c, &after).is_some());

    // Another connection commits between the writer's commit and its end.
    let other = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    let before = fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer
        .execute("INSERT INTO t (v) VALUES ('y')", [])
        .unwrap();
    writer.execute_batch("COMMIT").unwrap();
    other.execute("INSERT INTO t (v) VALUES ('z')", []).unwrap();
    views.end_write(writing, Some((&[][..], true)), || true);
    assert_eq!(views.len(), 0);
    let now = views.stamp().unwrap();
    assert_ne!(now, before);
    assert!(views.get(&c, &now).is_none());

    // A commit that changed nothing writes nothing: another connection's commit
    // right after it is not taken for the writer's (the counter moved by one).
    fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer.execute_batch("COMMIT").unwrap();
    other.execute("INSERT INTO t (v) VALUES ('w')", []).unwrap();
    views.end_write(writing, Some((&[][..], false)), || true);
    assert_eq!(views.len(), 0);
    // Alone, it keeps what is remembered.
    let before = fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer.execute_batch("COMMIT").unwrap();
    views.end_write(writing, Some((&[][..], false)), || true);
    assert_eq!(views.len(), 3);
    assert!(views.get(&c, &before).is_some());

    // The writer's commit alone moved the counter by one, but another connection
    // committed too (its data_version says so): forgotten.
    fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer
        .execute("INSERT INTO t (v) VALUES ('v')", [])
        .unwrap();
    writer.execute_batch("COMMIT").unwrap();
    views.end_write(writing, Some((&[][..], true)), || false);
    assert_eq!(views.len(), 0);

    // A transaction that did not commit.
    let before = fill(&views);
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writing = views.begin_write();
    writer.execute_batch("ROLLBACK").unwrap();
    views.end_write(writing, None, || true);
    assert_eq!(views.len(), 0);
    assert!(views.get(&c, &before).is_none());
}

/// While views may be remembered the process keeps the `-shm` file in use; once
/// closed (`Store::close`) nothing is remembered, the last connection removes the file,
/// and a new file's header never matches the old one's.
#[test]
fn a_new_shm_file_is_a_new_file() {
    let (dir, writer, views) = database();
    let old = views.stamp().unwrap();
    // While views may be remembered, this process keeps the file in use.
    drop(writer);
    assert!(dir.path().join("db.sqlite-shm").exists(), "kept in use");
    let writer = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    writer
        .query_row("SELECT COUNT(*) FROM t", [], |_| Ok(()))
        .unwrap();
    views.close();
    assert!(views.stamp().is_none(), "closed for good");
    drop(writer);
    assert!(
        !dir.path().join("db.sqlite-shm").exists(),
        "the last close removes it"
    );
    let writer = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    writer
        .execute("INSERT INTO t (v) VALUES ('x')", [])
        .unwrap();
    // A new store's views, in this process: the new file, never taken for the old.
    let again = LinkViews::new(&dir.path().join("db.sqlite"));
    let new = again.stamp().unwrap();
    assert_ne!(new.header, old.header);
}

/// No `-shm` file (no WAL database), or a header in another format: nothing is
/// stamped, so nothing is remembered.
#[test]
fn without_a_header_it_knows_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let views = LinkViews::new(&path);
    assert!(views.stamp().is_none(), "no database");
    // A database in rollback-journal mode: SQLite never looks at a `-shm` file, so
    // the one written below is the only one.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY);")
        .unwrap();
    assert!(views.stamp().is_none(), "no -shm file");
    let mut bytes = vec![0u8; 136];
    bytes[0..4].copy_from_slice(&3_007_001u32.to_ne_bytes());
    bytes[48..52].copy_from_slice(&3_007_001u32.to_ne_bytes());
    bytes[12] = 1;
    bytes[60] = 1;
    std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
    std::thread::sleep(CHECK_FILE_EVERY + Duration::from_millis(50));
    assert!(views.stamp().is_none(), "unknown version");
    // The two copies differing: being written.
    bytes[0..4].copy_from_slice(&WAL_INDEX_VERSION.to_ne_bytes());
    bytes[48..52].copy_from_slice(&WAL_INDEX_VERSION.to_ne_bytes());
    bytes[20] = 7;
    std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
    assert!(views.stamp().is_none(), "copies differ");
    bytes[68] = 7;
    std::fs::write(dir.path().join("db.sqlite-shm"), &bytes).unwrap();
    assert!(views.stamp().is_some());
}

/// The writer is asked to warm the views after `WARM_AFTER_MISSES` lookups read a link
/// from the database under the header remembered under, at most once per
/// `WARM_EVERY`; a request that could not be sent is asked again by the next lookup.
#[test]
fn many_lookups_from_the_database_ask_for_a_warm() {
    let (_dir, writer, views) = database();
    let stamp = views.stamp().unwrap();
    assert!(views.get(&[0; 32], &stamp).is_none(), "remembers under it");
    let start = Instant::now();
    let asked = |views: &LinkViews, stamp: &Stamp, at: Instant, lookups: u32| {
        (0..lookups)
            .filter(|_| views.wants_warm_at(stamp, at))
            .count()
    };
    assert_eq!(asked(&views, &stamp, start, WARM_AFTER_MISSES - 1), 0);
    assert_eq!(asked(&views, &stamp, start, 1), 1, "the 64th asks");
    // Not again within `WARM_EVERY`, however many.
    assert_eq!(asked(&views, &stamp, start, 3 * WARM_AFTER_MISSES), 0);
    // Past it, the lookups counted meanwhile ask at once.
    let later = start + WARM_EVERY;
    assert_eq!(asked(&views, &stamp, later, 1), 1);
    // The count started again when it asked: after another 64.
    let later = later + WARM_EVERY;
    assert_eq!(asked(&views, &stamp, later, WARM_AFTER_MISSES - 1), 0);
    assert_eq!(asked(&views, &stamp, later, 1), 1);
    // Not sent (a full queue): the next lookup asks again.
    views.warm_not_sent();
    assert_eq!(asked(&views, &stamp, later, 1), 1);
    // Under a new header the count starts from nothing; a stamp the views are not
    // remembered under counts nothing.
    writer
        .execute("INSERT INTO t (v) VALUES ('x')", [])
        .unwrap();
    let after = views.stamp().unwrap();
    assert!(views.get(&[0; 32], &after).is_none());
    let much_later = later + WARM_EVERY;
    assert_eq!(asked(&views, &stamp, much_later, 3 * WARM_AFTER_MISSES), 0);
    assert_eq!(asked(&views, &after, much_later, WARM_AFTER_MISSES), 1);
}

/// A warm step remembers what it read only if the header did not change during the
/// read and is the one remembered under; a view remembered meanwhile is kept; it goes
/// on while it reads as many rows as it asked for, and leaves room for the views of
/// the links people open.
#[test]
fn a_warm_step_remembers_only_under_an_unchanged_header() {
    let (dir, writer, views) = database();
    let stamp = views.stamp().unwrap();
    // Nothing remembered under this header yet: the step reads nothing.
    assert!(!views.warm(|_| panic!("read although nothing is remembered under the header")));
    assert!(views.get(&[0; 32], &stamp).is_none());
    let kept = views.put(&[1; 32], &stamp, view("kept@example.org"));
    let hash = |i: usize| {
        let mut hash = [7u8; 32];
        hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
        hash
    };
    let more = views.warm(|limit| {
        assert_eq!(limit, WARM_STEP);
        let mut read: Vec<_> = (1..limit)
            .map(|i| (hash(i), view("w@example.org")))
            .collect();
        read.push(([1; 32], view("other@example.org")));
        Some((read, limit))
    });
    assert!(more, "a full step: there may be more");
    assert_eq!(views.len(), WARM_STEP);
    let still = views.get(&[1; 32], &stamp).unwrap();
    assert!(
        Arc::ptr_eq(&still, &kept),
        "the view remembered meanwhile is kept"
    );
    assert_eq!(still.recipient.email, "kept@example.org");
    assert!(views.get(&hash(5), &stamp).is_some());
    // A short step (fewer rows than asked): the end.
    assert!(!views.warm(|_| Some((vec![([9; 32], view("last@example.org"))], 1))));
    assert!(views.get(&[9; 32], &stamp).is_some());
    assert_eq!(views.len(), WARM_STEP + 1);
    // Another connection commits during the read: nothing of it is remembered.
    let other = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    let more = views.warm(|_| {
        other.execute("INSERT INTO t (v) VALUES ('y')", []).unwrap();
        Some((vec![([8; 32], view("late@example.org"))], 1))
    });
    assert!(!more);
    assert_eq!(views.len(), WARM_STEP + 1, "nothing of the step remembered");
    // A failed read stops it.
    let after = views.stamp().unwrap();
    assert!(views.get(&[0; 32], &after).is_none());
    assert!(!views.warm(|_| None));
    // It stops short of `MAX_VIEWS`, leaving `WARM_ROOM_KEPT` for the pages' own.
    let mut steps = 0;
    while views.warm(|limit| {
        let start = steps * WARM_STEP;
        Some((
            (start..start + limit)
                .map(|i| (hash(i), view("w@example.org")))
                .collect(),
            limit,
        ))
    }) {
        steps += 1;
        assert!(steps <= MAX_VIEWS / WARM_STEP, "it never stops");
    }
    assert_eq!(views.len(), MAX_VIEWS - WARM_ROOM_KEPT);
    views.put(&[2; 32], &after, view("opened@example.org"));
    assert!(views.get(&[2; 32], &after).is_some());
    drop(writer);
}
