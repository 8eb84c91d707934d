//! How the store opens its rusqlite connections (the submission writer's, a batch
//! creation's, the export's read) and reports their errors, so that every one has the
//! same settings and answers as the sqlx pool's connections.

use rusqlite::{Connection, OpenFlags};

use super::*;

/// How long any connection of the store waits for another writer (the server's group
/// commit, another command, a WAL recovery after a crash) before it reports the
/// database busy.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection that can write, with the settings of every writing connection of the
/// store: `synchronous=FULL`, `foreign_keys=ON`, `secure_delete=ON`, `temp_store=MEMORY`
/// and the busy timeout. No `journal_mode`: the store made the database WAL when it
/// opened it, a lasting setting of the file. Never creates the file.
pub(super) fn open_read_write(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// A rusqlite error, reported as the store reports sqlx's errors (`From<sqlx::Error>`):
/// a passing condition (busy, I/O error, full disk) is `CannotWrite` (the "cannot save
/// now, try again" answer), anything else an unexpected error saying what failed.
pub(super) fn rusqlite_error(e: rusqlite::Error, what_failed: &'static str) -> StoreError {
    match sqlite_cannot_write(&e) {
        Some(reason) => {
            tracing::warn!(error = %e, what_failed, "the database cannot be used right now");
            StoreError::CannotWrite(reason)
        }
        None => StoreError::Other(anyhow::Error::new(e).context(what_failed)),
    }
}

/// [`cannot_write`] for a rusqlite connection (the writer's, a creation's, a read's).
pub(super) fn sqlite_cannot_write(e: &rusqlite::Error) -> Option<&'static str> {
    match e {
        rusqlite::Error::SqliteFailure(failure, _) => passing_code(failure.extended_code),
        _ => None,
    }
}

/// Runs `work` on a blocking thread, with the caller's tracing span, and hands it a
/// sender that is closed as soon as the caller's future is dropped (the request went
/// away): `work` looks at it now and then and stops early (`is_closed`). A panic in
/// `work` is a panic here too, not a database error; `what` names the work if the
/// blocking thread was lost otherwise.
pub(super) async fn on_blocking_thread<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce(&tokio::sync::oneshot::Sender<()>) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let (waiting, dropped) = tokio::sync::oneshot::channel::<()>();
    let span = tracing::Span::current();
    let done = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        work(&waiting)
    })
    .await;
    drop(dropped);
    match done {
        Ok(answer) => answer,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Other(anyhow::Error::new(e).context(what))),
    }
}
