//! The send queue: which message each recipient is owed, claimed before the relay is
//! contacted, finished with the relay's answer.

use super::*;

impl Store {
    /// Each recipient's delivery state in a batch, by recipient id.
    #[instrument(skip_all)]
    pub async fn deliveries(
        &self,
        batch_id: &str,
    ) -> StoreResult<std::collections::HashMap<i64, Delivery>> {
        type Row = (
            i64,
            String,
            i64,
            Option<String>,
            Option<i64>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.recipient_id, d.state, d.attempts, d.last_error, d.sent_at, d.reminders, \
             d.next_attempt_at \
             FROM deliveries d JOIN recipients r ON r.id = d.recipient_id WHERE r.batch_id = ?",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(id, state, attempts, last_error, sent_at, reminders, next_attempt_at)| {
                    Ok((
                        id,
                        Delivery {
                            state: DeliveryState::parse(&state)?,
                            attempts,
                            last_error,
                            sent_at,
                            reminders,
                            next_attempt_at,
                        },
                    ))
                },
            )
            .collect()
    }

    /// Queues a message for each of `recipient_ids`, to be tried from `now`, where
    /// `requeue` allows it (a recipient never emailed is always queued; one already
    /// queued stays as it is). Returns how many were queued. The allowance is checked in
    /// the same statement as the write, so a message sent meanwhile is not queued again.
    #[instrument(skip_all)]
    pub async fn enqueue_deliveries(
        &self,
        recipient_ids: &[i64],
        requeue: Requeue,
        now: i64,
    ) -> StoreResult<usize> {
        let allowed = match requeue {
            Requeue::Failed => "deliveries.state = 'failed'",
            Requeue::Answered => "deliveries.state IN ('sent', 'failed')",
            // Not a message being handed to the relay right now (a 'sending' row is
            // taken for a crash's leftover only once no send could still be running).
            Requeue::Any => {
                "deliveries.state IN ('sent', 'failed', 'unknown') OR (deliveries.state = \
                 'sending' AND deliveries.updated_at < ?2 - 300)"
            }
        };
        let sql = constant_sql(format!(
            "INSERT INTO deliveries (recipient_id, state, next_attempt_at, updated_at) \
             VALUES (?1, 'queued', ?2, ?2) \
             ON CONFLICT (recipient_id) DO UPDATE SET state = 'queued', attempts = 0, \
               last_error = NULL, next_attempt_at = ?2, updated_at = ?2 \
             WHERE {allowed}"
        ));
        let mut tx = self.begin_write().await?;
        let mut queued = 0;
        for id in recipient_ids {
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.0.as_str()))
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            queued += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// How many messages wait in the queue, in all batches.
    #[instrument(skip_all)]
    pub async fn queued_delivery_count(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The queued messages of a batch, `(recipient id, not before)`, soonest first.
    #[instrument(skip_all)]
    pub async fn queued_deliveries(&self, batch_id: &str) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT d.recipient_id, COALESCE(d.next_attempt_at, 0) FROM deliveries d \
             JOIN recipients r ON r.id = d.recipient_id \
             WHERE r.batch_id = ? AND d.state = 'queued' \
             ORDER BY d.next_attempt_at, r.roster_line",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Claims a queued message before it is handed to the relay: committed before the
    /// SMTP conversation starts, so that a crash in between is never taken for "not
    /// sent". Returns the try it is (1 for the first), or `None` if another sender took
    /// it, or if the link with `token_hash` is no longer live and unexpired (used,
    /// revoked, replaced, expired); the message is then dropped from the queue.
    #[instrument(skip_all)]
    pub async fn claim_delivery(
        &self,
        recipient_id: i64,
        token_hash: &[u8; 32],
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?2 \
             WHERE recipient_id = ?1 AND state = 'queued' AND EXISTS (SELECT 1 FROM links \
               WHERE recipient_id = ?1 AND token_hash = ?3 AND state = 'live' \
               AND expires_at > ?2) RETURNING attempts",
        )
        .bind(recipient_id)
        .bind(now)
        .bind(token_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        // The user has no usable link any more (submitted, revoked, locked, expired): a
        // reminder falls back to "sent", a first message is forgotten. A link replaced
        // by a newer live one leaves the message queued for a sender holding that one.
        const NO_LIVE_LINK: &str = "NOT EXISTS (SELECT 1 FROM links WHERE recipient_id = ?1 \
             AND state = 'live' AND expires_at > ?2)";
        if claimed.is_none() {
            sqlx::query(constant_sql(format!(
                "DELETE FROM deliveries WHERE recipient_id = ?1 AND state = 'queued' \
                 AND sent_at IS NULL AND {NO_LIVE_LINK}"
            )))
            .bind(recipient_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(constant_sql(format!(
                "UPDATE deliveries SET state = 'sent', last_error = NULL, \
                 next_attempt_at = NULL, updated_at = ?2 WHERE recipient_id = ?1 \
                 AND state = 'queued' AND {NO_LIVE_LINK}"
            )))
            .bind(recipient_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of a claimed message.
    #[instrument(skip_all)]
    pub async fn finish_delivery(
        &self,
        recipient_id: i64,
        outcome: DeliveryOutcome<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let query = match outcome {
            DeliveryOutcome::Sent => sqlx::query(
                "UPDATE deliveries SET state = 'sent', last_error = NULL, \
                 reminders = reminders + (sent_at IS NOT NULL), sent_at = ?2, \
                 next_attempt_at = NULL, updated_at = ?2 \
                 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now),
            DeliveryOutcome::Retry { reason, at } => sqlx::query(
                "UPDATE deliveries SET state = 'queued', last_error = ?3, next_attempt_at = ?4, \
                 updated_at = ?2 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason)
            .bind(at),
            DeliveryOutcome::Unknown { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'unknown', last_error = ?3, \
                 next_attempt_at = NULL, updated_at = ?2 \
                 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason),
            DeliveryOutcome::Failed { reason } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', last_error = ?3, next_attempt_at = NULL, \
                 updated_at = ?2 WHERE recipient_id = ?1 AND state = 'sending'",
            )
            .bind(recipient_id)
            .bind(now)
            .bind(reason),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }
}
