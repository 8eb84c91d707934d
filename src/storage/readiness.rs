//! What passdrop learned about each submitted user for the migration (lint codes, the
//! mailbox inventory, the last re-check) and each batch's last re-check (migration 0013).
//! Counts, sizes, codes and folder names only; it all goes at purge.

use super::*;

/// What the last re-check found for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecheckOutcome {
    /// The password still works.
    Ok,
    /// The server clearly refused it (NO, `[AUTHENTICATIONFAILED]`).
    PasswordChanged,
    /// No clear answer (unreachable, timeout, "try later", another refusal).
    Inconclusive,
    /// A covered user (no password of their own): the admin login no longer opens
    /// their mailbox (`[AUTHORIZATIONFAILED]`, or their UserRoot is gone).
    AdminLoginRefused,
}

impl RecheckOutcome {
    /// The stored value (also the readiness code for the two problems).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::PasswordChanged => "password_changed",
            Self::Inconclusive => "recheck_inconclusive",
            Self::AdminLoginRefused => "admin_login_refused",
        }
    }

    /// Reads a stored value.
    pub fn parse(value: &str) -> StoreResult<Self> {
        match value {
            "ok" => Ok(Self::Ok),
            "password_changed" => Ok(Self::PasswordChanged),
            "recheck_inconclusive" => Ok(Self::Inconclusive),
            "admin_login_refused" => Ok(Self::AdminLoginRefused),
            other => Err(StoreError::Other(anyhow::anyhow!(
                "unknown re-check outcome {other:?}"
            ))),
        }
    }
}

/// A mailbox inventory's summary as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryRecord {
    /// How many folders.
    pub folders: i64,
    /// How many messages in all.
    pub messages: i64,
    /// Their total size in bytes.
    pub bytes: i64,
    /// The largest message's size, when known.
    pub largest_message_bytes: Option<i64>,
    /// How many messages exceed the target's limit.
    pub oversized_messages: i64,
    /// Folders that will trouble the migration: (code, folder name).
    pub problem_folders: Vec<(String, String)>,
    /// Codes about the whole mailbox (`too_many_items`).
    pub mailbox_codes: Vec<String>,
    /// Not everything could be read in time: the counts are a floor.
    pub partial: bool,
}

/// One user's stored readiness facts: a `user_readiness` row, kept only for a user who
/// has any (lint codes, a re-check or an inventory; migration 0013's "one row per
/// submitted recipient" is older than that). No row reads as none of them.
#[derive(Debug, Clone, Default)]
pub struct UserReadiness {
    /// The recipient.
    pub recipient_id: i64,
    /// Lint codes of the password, as stored (space-separated).
    pub lint_codes: String,
    /// The last re-check, and when.
    pub recheck: Option<(RecheckOutcome, i64)>,
    /// The inventory, and when it was read.
    pub inventory: Option<(InventoryRecord, i64)>,
}

/// A batch's last (or running) re-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRecheck {
    /// When it started.
    pub started_at: i64,
    /// When it ended; `None` while it runs (or if it was cut short).
    pub finished_at: Option<i64>,
    /// Users to check.
    pub total: i64,
    /// Users checked so far.
    pub done: i64,
    /// Of those, passwords that no longer work.
    pub failed: i64,
    /// Of those, no clear answer.
    pub inconclusive: i64,
}

fn lines_of(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(code, name)| format!("{code}\t{}", name.replace(['\t', '\n', '\r'], " ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pairs_of(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(c, n)| (c.to_owned(), n.to_owned()))
        .collect()
}

impl Store {
    /// Stores a mailbox inventory (only if the recipient still exists).
    #[instrument(skip_all)]
    pub async fn save_inventory(
        &self,
        recipient_id: i64,
        record: &InventoryRecord,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_readiness (recipient_id, inventory_at, folders, messages, bytes, \
               largest_message_bytes, oversized_messages, problem_folders, mailbox_codes, \
               inventory_partial) \
             SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM recipients WHERE id = ? \
             ON CONFLICT (recipient_id) DO UPDATE SET inventory_at = excluded.inventory_at, \
               folders = excluded.folders, messages = excluded.messages, bytes = excluded.bytes, \
               largest_message_bytes = excluded.largest_message_bytes, \
               oversized_messages = excluded.oversized_messages, \
               problem_folders = excluded.problem_folders, \
               mailbox_codes = excluded.mailbox_codes, \
               inventory_partial = excluded.inventory_partial",
        )
        .bind(now)
        .bind(record.folders)
        .bind(record.messages)
        .bind(record.bytes)
        .bind(record.largest_message_bytes)
        .bind(record.oversized_messages)
        .bind(lines_of(&record.problem_folders))
        .bind(record.mailbox_codes.join(" "))
        .bind(i64::from(record.partial))
        .bind(recipient_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The readiness facts of every user of a batch who has any.
    #[instrument(skip_all)]
    pub async fn user_readiness(&self, batch_id: &str) -> StoreResult<Vec<UserReadiness>> {
        let rows = sqlx::query(
            "SELECT u.* FROM user_readiness u JOIN recipients r ON r.id = u.recipient_id \
             WHERE r.batch_id = ? ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let recheck: Option<String> = row.try_get("recheck")?;
                let rechecked_at: Option<i64> = row.try_get("rechecked_at")?;
                let recheck = match (recheck, rechecked_at) {
                    (Some(r), Some(at)) => Some((RecheckOutcome::parse(&r)?, at)),
                    _ => None,
                };
                let inventory_at: Option<i64> = row.try_get("inventory_at")?;
                let inventory = match inventory_at {
                    None => None,
                    Some(at) => Some((
                        InventoryRecord {
                            folders: row.try_get::<Option<i64>, _>("folders")?.unwrap_or(0),
                            messages: row.try_get::<Option<i64>, _>("messages")?.unwrap_or(0),
                            bytes: row.try_get::<Option<i64>, _>("bytes")?.unwrap_or(0),
                            largest_message_bytes: row.try_get("largest_message_bytes")?,
                            oversized_messages: row
                                .try_get::<Option<i64>, _>("oversized_messages")?
                                .unwrap_or(0),
                            problem_folders: pairs_of(
                                &row.try_get::<Option<String>, _>("problem_folders")?
                                    .unwrap_or_default(),
                            ),
                            mailbox_codes: row
                                .try_get::<Option<String>, _>("mailbox_codes")?
                                .unwrap_or_default()
                                .split_whitespace()
                                .map(str::to_owned)
                                .collect(),
                            partial: row
                                .try_get::<Option<i64>, _>("inventory_partial")?
                                .unwrap_or(0)
                                != 0,
                        },
                        at,
                    )),
                };
                Ok(UserReadiness {
                    recipient_id: row.try_get("recipient_id")?,
                    lint_codes: row.try_get("lint_codes")?,
                    recheck,
                    inventory,
                })
            })
            .collect()
    }

    /// Starts a batch's re-check of `total` users (replacing the last one's counts).
    #[instrument(skip_all)]
    pub async fn begin_recheck(&self, batch_id: &str, total: i64, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO batch_rechecks (batch_id, started_at, total) VALUES (?, ?, ?)",
        )
        .bind(batch_id)
        .bind(now)
        .bind(total)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records one user's re-check and counts it in the batch's progress, in one
    /// transaction.
    #[instrument(skip_all)]
    pub async fn record_recheck(
        &self,
        batch_id: &str,
        recipient_id: i64,
        outcome: RecheckOutcome,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        Self::write_recheck(&mut tx, batch_id, recipient_id, outcome, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `record_recheck` inside a caller's transaction.
    pub(super) async fn write_recheck(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        batch_id: &str,
        recipient_id: i64,
        outcome: RecheckOutcome,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_readiness (recipient_id, recheck, rechecked_at) \
             SELECT id, ?, ? FROM recipients WHERE id = ? AND batch_id = ? \
             ON CONFLICT (recipient_id) DO UPDATE SET recheck = excluded.recheck, \
               rechecked_at = excluded.rechecked_at",
        )
        .bind(outcome.as_str())
        .bind(now)
        .bind(recipient_id)
        .bind(batch_id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE batch_rechecks SET done = done + 1, failed = failed + ?, \
             inconclusive = inconclusive + ? WHERE batch_id = ?",
        )
        .bind(i64::from(matches!(
            outcome,
            RecheckOutcome::PasswordChanged | RecheckOutcome::AdminLoginRefused
        )))
        .bind(i64::from(outcome == RecheckOutcome::Inconclusive))
        .bind(batch_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Ends a batch's re-check.
    #[instrument(skip_all)]
    pub async fn finish_recheck(&self, batch_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE batch_rechecks SET finished_at = ? WHERE batch_id = ?")
            .bind(now)
            .bind(batch_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A batch's last (or running) re-check.
    #[instrument(skip_all)]
    pub async fn last_recheck(&self, batch_id: &str) -> StoreResult<Option<BatchRecheck>> {
        let row = sqlx::query(
            "SELECT started_at, finished_at, total, done, failed, inconclusive \
             FROM batch_rechecks WHERE batch_id = ?",
        )
        .bind(batch_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(BatchRecheck {
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                total: row.try_get("total")?,
                done: row.try_get("done")?,
                failed: row.try_get("failed")?,
                inconclusive: row.try_get("inconclusive")?,
            })
        })
        .transpose()
    }

    /// The users whose last re-check found their password changed, or (covered users
    /// who gave no password since) the admin login refused: (id, EmailAddress), in
    /// roster order.
    #[instrument(skip_all)]
    pub async fn password_changed_users(&self, batch_id: &str) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.email FROM user_readiness u JOIN recipients r ON r.id = u.recipient_id \
             WHERE r.batch_id = ? AND ((u.recheck = 'password_changed' \
               AND EXISTS (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id)) \
             OR (u.recheck = 'admin_login_refused' \
               AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.recipient_id = r.id))) \
             ORDER BY r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_folders_survive_their_stored_lines() {
        let pairs = vec![
            (
                "folder_name_has_slash".to_owned(),
                "Projects/2024".to_owned(),
            ),
            ("gmail_labels".to_owned(), "[Gmail]/All Mail".to_owned()),
        ];
        assert_eq!(pairs_of(&lines_of(&pairs)), pairs);
        assert_eq!(pairs_of(""), []);
    }
}
