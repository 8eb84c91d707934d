//! The collection pages' reads without a thread hop (issue 21). sqlx's SQLite driver
//! runs each connection on a thread of its own and hands every query to it over a
//! channel: for a GET, whose one query is a short indexed read, the two thread
//! switches and wake-ups cost more than the query. These reads go straight to SQLite
//! (rusqlite, the same libsqlite3 as sqlx) on the request's own thread, through a few
//! read-only connections kept for reuse.
//!
//! Each read here is its own read transaction and sees everything committed before it
//! began, by this process's writer or by a CLI command in another process, exactly as a
//! sqlx read would (what `link_views.rs` remembers of it, it remembers only while no
//! commit has happened since). Single use is
//! still decided by the write transaction alone (`writer.rs`). In WAL mode a reader
//! never waits for a writer; it can wait only while another connection rebuilds the
//! WAL index after a crash, so the wait is bounded by a short busy timeout.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;

/// How many idle read connections are kept (more may be open at once under load; the
/// surplus is closed when returned).
const IDLE_READERS: usize = 8;
/// How long a read waits for a lock (only while another connection recovers the WAL).
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// A value both a sqlx row and a rusqlite row can decode.
pub(super) trait Column:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + rusqlite::types::FromSql
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + rusqlite::types::FromSql
{
}

/// A row whose columns are read by name: one decoding (`rows.rs`) for sqlx's rows and
/// for this module's (`OrderedRow`).
pub(super) trait Columns {
    /// The column `name`, decoded as `T`.
    fn try_get<T: Column, I: AsRef<str>>(&self, name: I) -> Result<T, sqlx::Error>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn try_get<T: Column, I: AsRef<str>>(&self, name: I) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, name.as_ref())
    }
}

/// A statement's columns: their names in order, and by name.
#[derive(Debug)]
pub(super) struct ColumnIndex {
    /// Each column's name, `None` for a name already used by an earlier column.
    names: Vec<Option<String>>,
    by_name: HashMap<String, usize>,
}

impl ColumnIndex {
    /// The columns of `statement`.
    pub(super) fn of(statement: &rusqlite::Statement<'_>) -> Self {
        let by_name = column_map(statement);
        let names = statement
            .column_names()
            .into_iter()
            .enumerate()
            .map(|(index, name)| (by_name.get(name) == Some(&index)).then(|| name.to_owned()))
            .collect();
        Self { names, by_name }
    }
}

/// A rusqlite row read by name where the names are mostly asked for in the query's
/// order (the row decoders in `rows.rs` read them so): the column after the last one
/// read is tried first, by comparing its name, before the map (issue 21: hashing each
/// of a 60-column row's names on every page cost more than comparing them). A name
/// repeated in the query is found as SQLite's lookup finds it, its first column.
pub(super) struct OrderedRow<'a, 'r> {
    /// The row.
    pub(super) row: &'a rusqlite::Row<'r>,
    /// Its columns.
    pub(super) columns: &'a ColumnIndex,
    /// The column after the last one read.
    pub(super) next: std::cell::Cell<usize>,
}

impl<'a, 'r> OrderedRow<'a, 'r> {
    /// `row`, read by the names of `columns`, from its first column.
    pub(super) fn new(row: &'a rusqlite::Row<'r>, columns: &'a ColumnIndex) -> Self {
        Self {
            row,
            columns,
            next: std::cell::Cell::new(0),
        }
    }
}

impl Columns for OrderedRow<'_, '_> {
    fn try_get<T: Column, I: AsRef<str>>(&self, name: I) -> Result<T, sqlx::Error> {
        let name = name.as_ref();
        let guess = self.next.get();
        let index = match self.columns.names.get(guess) {
            Some(Some(n)) if n == name => guess,
            _ => match self.columns.by_name.get(name) {
                Some(&index) => index,
                None => return Err(sqlx::Error::ColumnNotFound(name.to_owned())),
            },
        };
        self.next.set(index + 1);
        self.row
            .get(index)
            .map_err(|e| sqlx::Error::Decode(format!("column {name:?}: {e}").into()))
    }
}

/// A statement's columns by name (the first of a repeated name, as SQLite's own lookup).
pub(super) fn column_map(statement: &rusqlite::Statement<'_>) -> HashMap<String, usize> {
    let mut columns = HashMap::new();
    for (index, name) in statement.column_names().into_iter().enumerate() {
        columns.entry(name.to_owned()).or_insert(index);
    }
    columns
}

/// Read-only connections to the database, opened when first needed (a CLI command that
/// never reads a link opens none).
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        open_read_only(&self.path, READ_BUSY_TIMEOUT)
    }

    /// Runs `read` on an idle connection (or a new one), on this thread.
    pub(super) fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(read_error)?,
        };
        let answer = read(&conn).map_err(read_error)?;
        // Only a connection with no statement still running goes back: one left inside
        // a read would keep its old snapshot for ever.
        if !conn.is_busy()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        Ok(answer)
    }

    /// Closes the idle connections (before the pool closes, so that its last connection
    /// checkpoints the WAL and removes it: a read-only one cannot).
    pub(super) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// A read-only connection to the database at `path`, waiting at most `busy` for a lock:
/// the one way this module and the export's read (`export_reads.rs`) open one.
///
/// It sets only what a reader needs: as every connection of the store (DESIGN.md), a
/// sort never spills to a temporary file, and this connection can only read. The
/// writing pragmas (`synchronous`, `foreign_keys`, `secure_delete`) do not apply to a
/// connection that cannot write, and WAL is a lasting property of the file.
pub(super) fn open_read_only(
    path: &Path,
    busy: Duration,
) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags as F;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        F::SQLITE_OPEN_READ_ONLY | F::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// A failed read, reported as the store reports sqlx's errors (`connection::rusqlite_error`).
pub(super) fn read_error(e: rusqlite::Error) -> StoreError {
    connection::rusqlite_error(e, "database error")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy or full database is the passing condition sqlx's reads reported, not an
    /// unexpected error.
    #[test]
    fn passing_conditions_are_reported_as_such() {
        let failure = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(
            read_error(failure(rusqlite::ffi::SQLITE_BUSY)),
            StoreError::CannotWrite(_)
        ));
        assert!(matches!(
            read_error(failure(rusqlite::ffi::SQLITE_FULL)),
            StoreError::CannotWrite(_)
        ));
        assert!(matches!(
            read_error(failure(rusqlite::ffi::SQLITE_CORRUPT)),
            StoreError::Other(_)
        ));
    }

    /// A kept read connection sees every commit another connection made before its read
    /// began (nothing is remembered between reads): rows changed in place, the file
    /// grown and checkpointed into, then shrunk by a VACUUM.
    #[test]
    fn a_kept_reader_sees_each_commit_as_the_file_grows_and_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); \
                 INSERT INTO t (id, v) VALUES (1, 'first');",
            )
            .unwrap();
        let readers = Readers::new(path.clone());
        let value = || {
            readers
                .read(|c| {
                    c.query_row("SELECT v FROM t WHERE id = 1", [], |r| {
                        r.get::<_, String>(0)
                    })
                })
                .unwrap()
        };
        let count = || {
            readers
                .read(|c| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)))
                .unwrap()
        };
        assert_eq!(value(), "first");
        writer
            .execute("UPDATE t SET v = 'second' WHERE id = 1", [])
            .unwrap();
        assert_eq!(value(), "second");
        // Grow the file well past its first size, and move it all into the file.
        let filler = "x".repeat(3000);
        writer.execute_batch("BEGIN").unwrap();
        for id in 2..2000 {
            writer
                .execute(
                    "INSERT INTO t (id, v) VALUES (?, ?)",
                    rusqlite::params![id, filler],
                )
                .unwrap();
        }
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(count(), 1999);
        writer
            .execute("UPDATE t SET v = 'third' WHERE id = 1", [])
            .unwrap();
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        assert_eq!(value(), "third");
        assert_eq!(count(), 1999);
        // Shrink it: the rows go, the file is rebuilt smaller.
        writer.execute("DELETE FROM t WHERE id > 1", []).unwrap();
        writer.execute_batch("VACUUM").unwrap();
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < 1_000_000);
        assert_eq!(count(), 1);
        assert_eq!(value(), "third");
        writer
            .execute("UPDATE t SET v = 'fourth' WHERE id = 1", [])
            .unwrap();
        assert_eq!(value(), "fourth");
    }

    /// Columns asked for in order, out of order, missing, and by a repeated name (its
    /// first column, as SQLite's own lookup answers) give what the map alone gave.
    #[test]
    fn ordered_rows_answer_as_the_name_map() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut query = conn
            .prepare("SELECT 1 AS a, 2 AS b, 3 AS a, 4 AS c, 'x' AS d")
            .unwrap();
        let columns = ColumnIndex::of(&query);
        let mut rows = query.query([]).unwrap();
        let row = rows.next().unwrap().unwrap();
        let row = OrderedRow::new(row, &columns);
        let get = |name: &str| row.try_get::<i64, _>(name).ok();
        assert_eq!(get("a"), Some(1));
        assert_eq!(get("b"), Some(2));
        // The column after b is the second "a": the name still means the first.
        assert_eq!(get("a"), Some(1));
        assert_eq!(get("c"), Some(4));
        assert_eq!(get("b"), Some(2));
        assert_eq!(get("nope"), None);
        assert_eq!(row.try_get::<String, _>("d").unwrap(), "x");
        assert!(
            row.try_get::<String, _>("a").is_err(),
            "wrong type: an error"
        );
    }
}
