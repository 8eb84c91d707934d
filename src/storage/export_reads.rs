//! What an export reads, in as few passes over the sealed passwords as it can (issue
//! 21). The sealed passwords are 1 KB each (padded): 50,000 of them are about 70 MB of
//! pages, so every query that merely looks a submission up reads them all again.

use super::*;

impl Store {
    /// Every submission of a batch in roster order, and the EmailAddress of every
    /// recipient without one (in roster order): one pass over the batch, where
    /// `submissions_and_missing` made two (the second only to find who is missing).
    /// With them, from the same snapshot, where a submission made after it can be
    /// (`LateWatch`, for `late_submissions`).
    /// Read in roster order through `recipients_by_roster_line` (migration 0022), so
    /// nothing is sorted.
    ///
    /// Read straight from SQLite (rusqlite, the same libsqlite3 as sqlx) on a blocking
    /// thread of its own, on a read-only connection opened for this read: through sqlx
    /// every one of 50,000 rows (1 KB each) was copied into sqlx's own row, handed over
    /// from its connection thread, and copied again. One explicit read transaction, so
    /// the submissions and the missing are one consistent view, as before. A busy, full
    /// or failing disk is `CannotWrite`, as through sqlx.
    #[instrument(skip_all)]
    pub async fn submissions_for_export(
        &self,
        batch_id: &str,
    ) -> StoreResult<(Vec<StoredSubmission>, Vec<String>, LateWatch)> {
        let (path, batch_id) = (self.path.clone(), batch_id.to_owned());
        // The read stops within 1,024 rows once this future is dropped (the console
        // request went away) instead of decoding the whole batch for no one.
        connection::on_blocking_thread(
            "the export's read of the submissions stopped",
            move |waiting| read_submissions_for_export(&path, &batch_id, waiting),
        )
        .await
    }

    /// Every recipient of a batch whose submission no recorded export read (none did,
    /// or the user submitted again since), as (id, EmailAddress, `submission_tag`), in
    /// roster order: whose password is in no file the admin was given.
    #[instrument(skip_all)]
    pub async fn unexported_submissions(
        &self,
        batch_id: &str,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        unexported_in(&self.pool, batch_id).await
    }

    /// `unexported_submissions` among the recipients where a submission made after an
    /// export's read can be (`LateWatch`, taken by that read): once the export has
    /// recorded what it read, exactly whoever submitted (or submitted again) since.
    /// Looks up those recipients alone, where `unexported_submissions` reads every
    /// submission's page (0.1 s for 50,000; issue 21).
    #[instrument(skip_all)]
    pub async fn late_submissions(
        &self,
        batch_id: &str,
        watch: &LateWatch,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        let live = serde_json::to_string(&watch.live).map_err(anyhow::Error::new)?;
        let rows = sqlx::query_as(LATE)
            .bind(batch_id)
            .bind(live)
            .bind(watch.last_link)
            .fetch_all(&self.pool)
            .await?;
        Ok(unexported_of(rows))
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
        // From the live links (the partial index `one_live_link_per_recipient`, probed
        // per recipient, named so that the planner cannot pick the newest link first)
        // rather than from every recipient's newest link: 8 ms instead of 70 for 50,000
        // recipients who all submitted (issue 21).
        Ok(sqlx::query_as(
            "SELECT r.id, l.expires_at FROM recipients r \
             JOIN links l INDEXED BY one_live_link_per_recipient \
               ON l.recipient_id = r.id AND l.state = 'live' \
             WHERE r.batch_id = ? AND l.expires_at > ? \
             AND l.id = (SELECT MAX(id) FROM links WHERE recipient_id = l.recipient_id)",
        )
        .bind(batch_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The submissions of a batch (`?`) that no recorded export read, in roster order: see
/// `unexported_in`.
const UNEXPORTED: &str = "SELECT r.id, r.email, substr(s.enc, -8), e.enc_tag FROM recipients r \
     JOIN submissions s ON s.recipient_id = r.id \
     LEFT JOIN exported_submissions e ON e.recipient_id = r.id \
     WHERE r.batch_id = ? AND (e.enc_tag IS NULL \
       OR printf('%016X', e.enc_tag) \
          != substr('0000000000000000' || hex(substr(s.enc, -8)), -16)) \
     ORDER BY r.roster_line";

/// Where a submission made after an export's read can be, taken by that read: every
/// submission burns a live link of its user in its own transaction (`writer.rs`), and a
/// link is live only from its insert (no link becomes live again; ids only grow,
/// AUTOINCREMENT), so a later one burned a link that was live at the read or was
/// inserted since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LateWatch {
    /// The batch's recipients with a live link at the read.
    pub live: Vec<i64>,
    /// The highest link id (of any batch) at the read.
    pub last_link: i64,
}

/// `UNEXPORTED` among the recipients of a `LateWatch` (`?2` the JSON array of its live
/// ones, `?3` its last link id), driven from them (CROSS JOIN keeps that order, the
/// submissions never outermost): each is one lookup by id.
const LATE: &str = "WITH watched(id) AS (SELECT value FROM json_each(?2) \
       UNION SELECT recipient_id FROM links WHERE id > ?3) \
     SELECT r.id, r.email, substr(s.enc, -8), e.enc_tag FROM watched w \
     CROSS JOIN recipients r ON r.id = w.id \
     CROSS JOIN submissions s ON s.recipient_id = r.id \
     LEFT JOIN exported_submissions e ON e.recipient_id = r.id \
     WHERE r.batch_id = ?1 AND (e.enc_tag IS NULL \
       OR printf('%016X', e.enc_tag) \
          != substr('0000000000000000' || hex(substr(s.enc, -8)), -16)) \
     ORDER BY r.roster_line";

/// `Store::unexported_submissions` on `on` (the pool, or the purge's own transaction).
pub(super) async fn unexported_in<'c>(
    on: impl sqlx::SqliteExecutor<'c>,
    batch_id: &str,
) -> StoreResult<Vec<(i64, String, i64)>> {
    // The SQL leaves out the submissions an export recorded (the usual case: all of
    // them), so that only the unexported cross over (through sqlx, 50,000 rows took
    // about 0.3 s of two threads after each export: issue 21). SQLite cannot turn 8
    // bytes into an integer (and Debian's 3.40 has no unhex()), so both sides are
    // compared as 16 hexadecimal digits: the recorded tag by printf (two's complement
    // for a negative one), the last 8 bytes of `enc` by hex(), zero-padded on the left
    // as `submission_tag` pads a shorter `enc`. The tag is then compared again here, as
    // before, on the few rows that cross over: the SQL only narrows.
    let rows = sqlx::query_as(UNEXPORTED)
        .bind(batch_id)
        .fetch_all(on)
        .await?;
    Ok(unexported_of(rows))
}

/// The rows of `UNEXPORTED` or `LATE` whose submission's tag is not the one recorded.
fn unexported_of(rows: Vec<(i64, String, Vec<u8>, Option<i64>)>) -> Vec<(i64, String, i64)> {
    rows.into_iter()
        .filter_map(|(id, email, end, exported)| {
            let tag = submission_tag(&end);
            (exported != Some(tag)).then_some((id, email, tag))
        })
        .collect()
}

/// How many rows the export's read decodes between two looks at whether anyone still
/// waits for it.
const CANCEL_CHECK_ROWS: usize = 1024;

/// A failed export read: a passing condition (busy, I/O error, full disk) is
/// `CannotWrite` (the console's "cannot save now, try again"), anything else an
/// unexpected error.
fn export_read_error(e: rusqlite::Error) -> StoreError {
    connection::rusqlite_error(e, "could not read the submissions")
}

/// `Store::submissions_for_export`, on this thread. Stops early, with an error nobody
/// reads, once `waiting` is closed (the export was dropped).
fn read_submissions_for_export(
    path: &Path,
    batch_id: &str,
    waiting: &tokio::sync::oneshot::Sender<()>,
) -> StoreResult<(Vec<StoredSubmission>, Vec<String>, LateWatch)> {
    let failed = export_read_error;
    let conn = reader::open_read_only(path, connection::BUSY_TIMEOUT).map_err(failed)?;
    // One read transaction (deferred: its snapshot is taken by the first SELECT), so the
    // count, the submissions and the missing are one consistent view. A single SELECT
    // would be one snapshot by itself; the explicit transaction keeps that true for any
    // statement added here. Dropped unfinished, it rolls back (nothing was written).
    let tx = rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Deferred)
        .map_err(failed)?;
    // Every recipient is at most one submission: sized once, as the sqlx read was.
    let recipients: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM recipients WHERE batch_id = ?",
            [batch_id],
            |row| row.get(0),
        )
        .map_err(failed)?;
    let mut query = tx
        .prepare(&format!(
            "SELECT {OWNER_COLUMNS}, s.enc, s.ciphertext FROM recipients r \
             LEFT JOIN submissions s ON s.recipient_id = r.id \
             WHERE r.batch_id = ? ORDER BY r.roster_line"
        ))
        .map_err(failed)?;
    let mut rows = query.query([batch_id]).map_err(failed)?;
    let mut submissions = Vec::with_capacity(usize::try_from(recipients).unwrap_or(0));
    let mut missing = Vec::new();
    let mut read = 0usize;
    while let Some(row) = rows.next().map_err(failed)? {
        read += 1;
        if read.is_multiple_of(CANCEL_CHECK_ROWS) && waiting.is_closed() {
            return Err(StoreError::Other(anyhow::anyhow!(
                "the export was cancelled while its submissions were read"
            )));
        }
        // The columns by place, as `OWNER_COLUMNS` lists them, then the seal.
        let enc: Option<Vec<u8>> = row.get(OWNER_COLUMN_COUNT).map_err(failed)?;
        let ciphertext: Option<Vec<u8>> = row.get(OWNER_COLUMN_COUNT + 1).map_err(failed)?;
        match (enc, ciphertext) {
            (Some(enc), Some(ciphertext)) => submissions.push(StoredSubmission {
                recipient: owner_of(row).map_err(failed)?,
                sealed: SealedPassword { enc, ciphertext },
            }),
            _ => missing.push(row.get(2).map_err(failed)?),
        }
    }
    drop(rows);
    drop(query);
    // In the same snapshot: where a submission made after it can be. From the live
    // links' partial index (CROSS JOIN keeps it outermost), so the cost is the live
    // links of every batch, not this batch's recipients: none once everyone has
    // submitted.
    let live = tx
        .prepare(
            "SELECT l.recipient_id FROM links l INDEXED BY one_live_link_per_recipient \
             CROSS JOIN recipients r ON r.id = l.recipient_id \
             WHERE l.state = 'live' AND r.batch_id = ?",
        )
        .and_then(|mut live| {
            live.query_map([batch_id], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .map_err(failed)?;
    let last_link = tx
        .query_row("SELECT COALESCE(MAX(id), 0) FROM links", [], |row| {
            row.get(0)
        })
        .map_err(failed)?;
    tx.commit().map_err(failed)?;
    Ok((submissions, missing, LateWatch { live, last_link }))
}

/// A `SubmissionOwner` from a row whose first columns are `OWNER_COLUMNS`.
pub(super) fn owner_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<SubmissionOwner> {
    Ok(SubmissionOwner {
        id: row.get(0)?,
        roster_line: row.get(1)?,
        email: row.get(2)?,
        user_name: row.get(3)?,
        user_root: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn passing_read_errors_are_cannot_write() {
        for (code, reason) in [
            (rusqlite::ffi::SQLITE_BUSY, "the database is busy"),
            (rusqlite::ffi::SQLITE_FULL, "the disk is full"),
            (
                rusqlite::ffi::SQLITE_IOERR_READ,
                "the disk reported an input/output error",
            ),
        ] {
            match export_read_error(sqlite_failure(code)) {
                StoreError::CannotWrite(r) => assert_eq!(r, reason),
                other => panic!("code {code}: {other:?}"),
            }
        }
    }

    /// A database with just the columns the export's query names, and `n` recipients
    /// of batch "b" who have not submitted.
    fn database_with_missing(name: &str, n: usize) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "passdrop-export-read-{name}-{}.sqlite",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE recipients (id INTEGER PRIMARY KEY, batch_id TEXT, roster_line \
             INTEGER, email TEXT, user_name TEXT, display_name TEXT, alternate_email TEXT, \
             user_root TEXT, language TEXT); \
             CREATE TABLE submissions (recipient_id INTEGER, enc BLOB, ciphertext BLOB); \
             CREATE TABLE links (id INTEGER PRIMARY KEY, recipient_id INTEGER, state TEXT); \
             CREATE UNIQUE INDEX one_live_link_per_recipient ON links (recipient_id) \
             WHERE state = 'live';",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for line in 0..n {
            tx.execute(
                "INSERT INTO recipients (batch_id, roster_line, email) VALUES ('b', ?1, ?2)",
                rusqlite::params![line as i64, format!("u{line}@example.org")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        path
    }

    /// The SQL's narrowing (hexadecimal text on both sides) agrees with
    /// `submission_tag` on every kind of ending: high bit set, zeros, shorter than 8
    /// bytes, empty, and random ones; recorded equal, recorded different, not recorded.
    #[tokio::test]
    async fn the_sql_leaves_out_exactly_the_recorded_tags() {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE recipients (id INTEGER PRIMARY KEY, batch_id TEXT, roster_line \
             INTEGER, email TEXT); \
             CREATE TABLE submissions (recipient_id INTEGER PRIMARY KEY, enc BLOB); \
             CREATE TABLE exported_submissions (recipient_id INTEGER PRIMARY KEY, \
             enc_tag INTEGER);",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let fixed: Vec<Vec<u8>> = vec![
            vec![0xff; 32],
            vec![0; 32],
            [vec![7; 24], vec![0x80, 0, 0, 0, 0, 0, 0, 0]].concat(),
            [
                vec![7; 24],
                vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ]
            .concat(),
            vec![1, 2],
            vec![0x80],
            vec![],
        ];
        const FIXED: usize = 7;
        assert_eq!(fixed.len(), FIXED);
        // Each fixed ending twice: once recorded as read, once not (or otherwise).
        let mut encs = [fixed.clone(), fixed].concat();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..600 {
            let mut enc = vec![0u8; 32];
            for b in &mut enc {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            encs.push(enc);
        }
        let mut expected = Vec::new();
        for (i, enc) in encs.iter().enumerate() {
            let id = i as i64 + 1;
            let tag = submission_tag(enc);
            sqlx::query("INSERT INTO recipients VALUES (?, 'b', ?, ?)")
                .bind(id)
                .bind(id)
                .bind(format!("u{id}@example.org"))
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("INSERT INTO submissions VALUES (?, ?)")
                .bind(id)
                .bind(enc)
                .execute(&mut conn)
                .await
                .unwrap();
            // Recorded as read (each fixed ending's first copy, a quarter of the rest),
            // recorded with another tag (one bit off, bits inverted, sign flipped: the
            // same for 0 and i64::MIN), or never recorded.
            let recorded = match (i, i % 4) {
                (0..FIXED, _) => Some(tag),
                (_, 0) => Some(tag ^ 1),
                (_, 1) => Some(!tag),
                (_, 2) if i % 8 == 2 => Some(tag.wrapping_neg()),
                (_, 2) => None,
                _ => Some(tag),
            };
            if let Some(recorded) = recorded {
                sqlx::query("INSERT INTO exported_submissions VALUES (?, ?)")
                    .bind(id)
                    .bind(recorded)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            if recorded != Some(tag) {
                expected.push((id, format!("u{id}@example.org"), tag));
            }
        }
        assert!(expected.len() > 250, "{}", expected.len());
        assert_eq!(unexported_in(&mut conn, "b").await.unwrap(), expected);
        // The SQL alone narrows to exactly those (not merely to more of them).
        let narrowed: Vec<(i64, String, Vec<u8>, Option<i64>)> = sqlx::query_as(UNEXPORTED)
            .bind("b")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let ids = |rows: &[(i64, String, i64)]| rows.iter().map(|r| r.0).collect::<Vec<_>>();
        assert_eq!(
            narrowed.iter().map(|r| r.0).collect::<Vec<_>>(),
            ids(&expected)
        );
    }

    #[test]
    fn the_read_stops_once_nobody_waits() {
        let path = database_with_missing("cancel", 3 * CANCEL_CHECK_ROWS);
        let (waiting, dropped) = tokio::sync::oneshot::channel::<()>();
        let (submissions, missing, _) = read_submissions_for_export(&path, "b", &waiting).unwrap();
        assert!(submissions.is_empty());
        assert_eq!(missing.len(), 3 * CANCEL_CHECK_ROWS);
        assert_eq!(missing[5], "u5@example.org");
        drop(dropped);
        match read_submissions_for_export(&path, "b", &waiting) {
            Err(StoreError::Other(e)) => assert!(e.to_string().contains("cancelled")),
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn other_read_errors_stay_unexpected() {
        for e in [
            sqlite_failure(rusqlite::ffi::SQLITE_CORRUPT),
            rusqlite::Error::InvalidColumnIndex(3),
        ] {
            match export_read_error(e) {
                StoreError::Other(e) => {
                    assert!(format!("{e:#}").starts_with("could not read the submissions"))
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
