//! Webhook endpoints, the events the triggers of migration 0016 write, and the queue of
//! signed deliveries.

use super::*;

/// A webhook endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    /// `wh_` and hex.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The one batch it is for, or every batch.
    pub batch_id: Option<String>,
    /// Space-separated event types, or `*`.
    pub events: String,
    /// The `whsec_` secret (never logged).
    pub secret: String,
    /// When it was added.
    pub created_at: i64,
    /// What its last delivery attempt got, if any.
    pub last_status: Option<String>,
    /// When that was.
    pub last_attempt_at: Option<i64>,
}

impl Webhook {
    /// Whether it wants `event` about `batch_id`.
    pub fn wants(&self, event: &str, batch_id: &str) -> bool {
        self.batch_id.as_deref().is_none_or(|b| b == batch_id)
            && (self.events == "*" || self.events.split(' ').any(|e| e == event))
    }
}

/// An event a trigger wrote.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookEvent {
    /// Row id.
    pub id: i64,
    /// `batch.created`, `user.opened`, ...
    pub event: String,
    /// The batch.
    pub batch_id: String,
    /// The user, for `user.*`.
    pub recipient_id: Option<i64>,
    /// When it happened.
    pub at: i64,
}

/// A delivery waiting in the queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDelivery {
    /// `msg_...`: the `webhook-id` header.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event type.
    pub event: String,
    /// The JSON body.
    pub payload: Vec<u8>,
    /// When it was made (the `webhook-timestamp` is the time of each attempt).
    pub created_at: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewWebhookDelivery {
    /// `msg_...`.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The batch (its purge deletes the delivery).
    pub batch_id: String,
    /// The event type.
    pub event: String,
    /// The JSON body.
    pub payload: Vec<u8>,
}

const WEBHOOK_COLUMNS: &str =
    "id, url, batch_id, events, secret, created_at, last_status, last_attempt_at";

impl Store {
    /// Adds an endpoint.
    #[instrument(skip_all)]
    pub async fn insert_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, url, batch_id, events, secret, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&hook.id)
        .bind(&hook.url)
        .bind(&hook.batch_id)
        .bind(&hook.events)
        .bind(&hook.secret)
        .bind(hook.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every endpoint, oldest first.
    #[instrument(skip_all)]
    pub async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        Ok(sqlx::query_as(constant_sql(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Removes an endpoint and its queue; `false` when there was none.
    #[instrument(skip_all)]
    pub async fn delete_webhook(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces an endpoint's secret; `false` when there is no such endpoint.
    #[instrument(skip_all)]
    pub async fn set_webhook_secret(&self, id: &str, secret: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE webhooks SET secret = ? WHERE id = ?")
            .bind(secret)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` events, oldest first.
    #[instrument(skip_all)]
    pub async fn webhook_events(&self, limit: i64) -> StoreResult<Vec<WebhookEvent>> {
        Ok(sqlx::query_as(
            "SELECT id, event, batch_id, recipient_id, at FROM webhook_events ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A recipient's email, if they are still there.
    #[instrument(skip_all)]
    pub async fn webhook_recipient_email(&self, recipient_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT email FROM recipients WHERE id = ?")
                .bind(recipient_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Queues `deliveries` and deletes the event they were made from, in one
    /// transaction.
    #[instrument(skip_all)]
    pub async fn queue_webhook_deliveries(
        &self,
        event_id: i64,
        deliveries: &[NewWebhookDelivery],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        // Taken once: another loop on the same database that got here first made them.
        let taken = sqlx::query("DELETE FROM webhook_events WHERE id = ?")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 {
            return Ok(());
        }
        for d in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, batch_id, event, payload, \
                 created_at, next_attempt_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued')",
            )
            .bind(&d.id)
            .bind(&d.webhook_id)
            .bind(&d.batch_id)
            .bind(&d.event)
            .bind(&d.payload)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims a due delivery for an attempt (it is not due again until `until`);
    /// `false` when another loop claimed it first.
    #[instrument(skip_all)]
    pub async fn claim_webhook_delivery(
        &self,
        id: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = ? \
             WHERE id = ? AND state = 'queued' AND next_attempt_at <= ?",
        )
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` queued deliveries due at `now`, oldest first.
    #[instrument(skip_all)]
    pub async fn due_webhook_deliveries(
        &self,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        Ok(sqlx::query_as(
            "SELECT id, webhook_id, event, payload, created_at, attempts, state, last_error \
             FROM webhook_deliveries WHERE state = 'queued' AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, created_at LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every delivery, oldest first (tests and the doctor).
    #[instrument(skip_all)]
    pub async fn webhook_deliveries(&self) -> StoreResult<Vec<WebhookDelivery>> {
        Ok(sqlx::query_as(
            "SELECT id, webhook_id, event, payload, created_at, attempts, state, last_error \
             FROM webhook_deliveries ORDER BY created_at, rowid",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records an attempt: `state` (`delivered`, `failed`, or `queued` again at
    /// `next_attempt_at`) and what happened, on the delivery and its endpoint.
    #[instrument(skip_all)]
    pub async fn finish_webhook_attempt(
        &self,
        delivery: &WebhookDelivery,
        state: &str,
        next_attempt_at: i64,
        outcome: &str,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let error = (state != "delivered").then_some(outcome);
        sqlx::query(
            "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, \
             next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(state)
        .bind(next_attempt_at)
        .bind(error)
        .bind(&delivery.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhooks SET last_status = ?, last_attempt_at = ? WHERE id = ?")
            .bind(outcome)
            .bind(now)
            .bind(&delivery.webhook_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
