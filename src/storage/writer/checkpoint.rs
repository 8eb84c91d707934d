//! How often the writer's connection checkpoints (issue 21). SQLite copies the WAL into
//! the database file by itself inside the COMMIT that takes the WAL past
//! `wal_autocheckpoint` pages (1,000 by default): that group of submissions, and every
//! one queued behind it, waits for the copy and the database file's fsync. Those stalls
//! made the stores' p99: with no checkpoint in the writer at all (an experiment, the
//! WAL growing without bound), the load bench's p99 fell from 28.7 and 33.2 ms to 23.5
//! and 22.9. The writer's connection checkpoints every 250 pages instead: four times as
//! often, a quarter of the pages to copy each time (the fsync stays), and the WAL stays
//! smaller. In four alternating A/B pairs the p99 was 21.7-23.0 ms against 25.0-28.0.
//!
//! Tried and dropped: 4,000 pages (a longer stall: p99 up), and a thread of its own
//! copying the pages beside the writer (`PASSIVE`, the writer catching up past 4,000
//! pages so that the WAL could start over): p99 47.8 and 36.8 ms against 31.6 and 29.6,
//! the copy and its fsync competing with the writer's own. The other connections of the
//! store keep SQLite's default.

use std::path::Path;

use rusqlite::Connection;

use super::super::connection;

/// WAL pages past which a commit of the writer checkpoints.
pub(super) const WRITER_CHECKPOINT_PAGES: i64 = 250;

/// The writer's connection: every writing connection's settings, and its checkpoint
/// threshold.
pub(super) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connection::open_read_write(path)?;
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_checkpoints_every_250_pages_and_other_connections_at_1000() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "journal_mode", "wal")
            .unwrap();
        let threshold = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(threshold(&open_writer(&path).unwrap()), 250);
        assert_eq!(
            threshold(&connection::open_read_write(&path).unwrap()),
            1000
        );
    }
}
