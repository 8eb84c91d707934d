//! What an export reads, in as few passes over the sealed passwords as it can (issue
//! 21). The sealed passwords are 1 KB each (padded): 50,000 of them are about 70 MB of
//! pages, so every query that merely looks a submission up reads them all again.

use super::*;

impl Store {
    /// Every submission of a batch in roster order, and the EmailAddress of every
    /// recipient without one (in roster order): one pass over the batch, where
    /// `submissions_and_missing` made two (the second only to find who is missing).
    /// Read in roster order through `recipients_by_roster_line` (migration 0022), so
    /// nothing is sorted.
    ///
    /// Read straight from SQLite (rusqlite, the same libsqlite3 as sqlx) on a blocking
    /// thread of its own, on a read-only connection opened for this read: through sqlx
    /// every one of 50,000 rows (1 KB each) was copied into sqlx's own row, handed over
    /// from its connection thread, and copied again. One read transaction, so the
    /// submissions and the missing are one consistent view, as before.
    #[instrument(skip_all)]
    pub async fn submissions_for_export(
        &self,
        batch_id: &str,
    ) -> StoreResult<(Vec<StoredSubmission>, Vec<String>)> {
        let (path, batch_id) = (self.path.clone(), batch_id.to_owned());
        tokio::task::spawn_blocking(move || read_submissions_for_export(&path, &batch_id))
            .await
            .map_err(|e| StoreError::Other(anyhow::Error::new(e)))?
    }

    /// The id and EmailAddress of every recipient of a batch who has submitted, in roster
    /// order, read from the submissions' primary key alone (no sealed password is read).
    #[instrument(skip_all)]
    pub async fn submitted_recipients(&self, batch_id: &str) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.email FROM recipients r WHERE r.batch_id = ? AND EXISTS \
             (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id) ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The recipients of a batch whose newest link is live and expires after `now`,
    /// with that link's expiry: what the purge rule needs from the links, without
    /// reading the submissions (the caller knows who submitted from the export).
    #[instrument(skip_all)]
    pub async fn live_link_expiries(
        &self,
        batch_id: &str,
        now: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT r.id, l.expires_at FROM recipients r \
             JOIN links l ON l.id = (SELECT MAX(id) FROM links WHERE recipient_id = r.id) \
             WHERE r.batch_id = ? AND l.state = 'live' AND l.expires_at > ?",
        )
        .bind(batch_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// How long the export's read waits for a lock (only while another connection recovers
/// the WAL after a crash: in WAL mode a reader never waits for a writer).
const EXPORT_READ_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// `Store::submissions_for_export`, on this thread.
fn read_submissions_for_export(
    path: &Path,
    batch_id: &str,
) -> StoreResult<(Vec<StoredSubmission>, Vec<String>)> {
    use rusqlite::OpenFlags as F;
    let failed = |e: rusqlite::Error| {
        StoreError::Other(anyhow::Error::new(e).context("could not read the submissions"))
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        F::SQLITE_OPEN_READ_ONLY | F::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    conn.busy_timeout(EXPORT_READ_BUSY_TIMEOUT)
        .map_err(failed)?;
    // As every connection of the store: nothing spills to a temporary file, and this
    // one can only read.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(failed)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(failed)?;
    let mut query = conn
        .prepare(&format!(
            "SELECT {RECIPIENT_COLUMNS}, s.enc, s.ciphertext FROM recipients r \
             LEFT JOIN submissions s ON s.recipient_id = r.id \
             WHERE r.batch_id = ? ORDER BY r.roster_line"
        ))
        .map_err(failed)?;
    let columns = super::reader::column_map(&query);
    let (enc_at, ciphertext_at) = match (columns.get("enc"), columns.get("ciphertext")) {
        (Some(&e), Some(&c)) => (e, c),
        _ => {
            return Err(StoreError::Other(anyhow::anyhow!(
                "the export query lost a column"
            )));
        }
    };
    let mut rows = query.query([batch_id]).map_err(failed)?;
    let mut submissions = Vec::new();
    let mut missing = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        let enc: Option<Vec<u8>> = row.get(enc_at).map_err(failed)?;
        let ciphertext: Option<Vec<u8>> = row.get(ciphertext_at).map_err(failed)?;
        let named = super::reader::NamedRow {
            row,
            columns: &columns,
        };
        match (enc, ciphertext) {
            (Some(enc), Some(ciphertext)) => submissions.push(StoredSubmission {
                recipient: row_to_recipient(&named)?,
                sealed: SealedPassword { enc, ciphertext },
            }),
            _ => missing.push(super::reader::Columns::try_get(&named, "email")?),
        }
    }
    Ok((submissions, missing))
}
