//! The webhook queue: endpoints (added with the passphrase, the secret shown once), the
//! events that the database's triggers write in the same transaction as each change,
//! turned into signed deliveries, and the loop that delivers them, retried with backoff,
//! from the database (so a restart loses nothing).
//!
//! Event types: [`EVENTS`]. A new per-user state is one more name in `EVENTS`, one
//! trigger in a migration that writes it to `webhook_events` (as 0018 does for
//! `user.needs_help` and `user.reported`), and its `state` word in [`payload`].

use std::sync::Weak;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use super::webhook::{self, DeliveryError, Signed, Target};
use crate::config::rfc3339;
use crate::crypto::AdminKey;
use crate::storage::{
    NewWebhookDelivery, Store, StoreError, Webhook, WebhookDelivery, WebhookEvent,
};

/// Every event type a webhook can ask for.
pub const EVENTS: [&str; 8] = [
    "batch.created",
    "user.opened",
    "user.submitted",
    "user.verified",
    "user.needs_help",
    "user.reported",
    "batch.completed",
    "batch.purged",
];
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Work done per tick at most.
const BATCH: i64 = 50;

/// How the delivery loop runs.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliver to private, loopback and other non-public addresses too
    /// (`--webhook-allow-private`; tests).
    pub allow_private: bool,
    /// The wait after the first failed attempt (doubling each time).
    pub retry_base: Duration,
    /// How often the queue is looked at.
    pub poll: Duration,
    /// Longest one delivery may take.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry_base: Duration::from_secs(30),
            poll: Duration::from_secs(2),
            timeout: webhook::DELIVERY_TIMEOUT,
        }
    }
}

/// The event list of `--events` (comma-separated; empty: all), checked.
pub fn parse_events(list: &str) -> Result<String, String> {
    let wanted: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if wanted.is_empty() || wanted == ["*"] {
        return Ok("*".to_owned());
    }
    if let Some(bad) = wanted.iter().find(|e| !EVENTS.contains(e)) {
        return Err(format!(
            "{bad:?} is not an event: use {}",
            EVENTS.join(", ")
        ));
    }
    Ok(wanted.join(" "))
}

/// Adds an endpoint (the admin key proves the passphrase was given) and returns it with
/// its secret, to show once.
pub async fn add_webhook(
    store: &Store,
    _admin: &AdminKey,
    url: &str,
    batch_id: Option<String>,
    events: String,
    now: i64,
) -> anyhow::Result<(Webhook, SecretString)> {
    Target::parse(url).map_err(anyhow::Error::msg)?;
    let secret = webhook::generate_secret()?;
    let hook = Webhook {
        id: format!("wh_{}", hex::encode(crate::crypto::random_bytes::<8>()?)),
        url: url.to_owned(),
        batch_id,
        events,
        secret: secret.expose_secret().to_owned(),
        created_at: now,
        last_status: None,
        last_attempt_at: None,
    };
    store.insert_webhook(&hook).await?;
    Ok((hook, secret))
}

/// Gives an endpoint a new secret and returns it, to show once.
pub async fn rotate_secret(
    store: &Store,
    _admin: &AdminKey,
    id: &str,
) -> anyhow::Result<SecretString> {
    let secret = webhook::generate_secret()?;
    if store.set_webhook_secret(id, secret.expose_secret()).await? {
        Ok(secret)
    } else {
        Err(anyhow::anyhow!(
            "no webhook has the id {id:?} (`passdrop webhook list`)"
        ))
    }
}

/// The JSON body for `event`: ids, the user's email and state; never a link, token or
/// password. `email` is `None` for batch events (a `batch.purged` carries none).
pub fn payload(event: &str, batch_id: &str, email: Option<&str>, at: i64) -> Vec<u8> {
    let mut data = json!({ "batch_id": batch_id });
    if let Some(email) = email {
        data["email"] = json!(email);
        data["state"] = json!(event.strip_prefix("user.").unwrap_or(event));
    }
    json!({ "type": event, "timestamp": rfc3339(at), "data": data })
        .to_string()
        .into_bytes()
}

/// Turns one event into deliveries for the endpoints that want it.
async fn expand(
    store: &Store,
    hooks: &[Webhook],
    e: &WebhookEvent,
    now: i64,
) -> anyhow::Result<()> {
    let email = match e.recipient_id {
        // A user gone (their batch purged meanwhile) gets no message.
        Some(id) => match store.webhook_recipient_email(id).await? {
            Some(email) => Some(email),
            None => return Ok(store.queue_webhook_deliveries(e.id, &[], now).await?),
        },
        None => None,
    };
    let messages = [(e.event.as_str(), email)];
    let mut deliveries = Vec::new();
    for (event, email) in &messages {
        let body = payload(event, &e.batch_id, email.as_deref(), e.at);
        for hook in hooks.iter().filter(|h| h.wants(event, &e.batch_id)) {
            deliveries.push(NewWebhookDelivery {
                id: webhook::message_id()?,
                webhook_id: hook.id.clone(),
                batch_id: e.batch_id.clone(),
                event: (*event).to_owned(),
                payload: body.clone(),
            });
        }
    }
    store
        .queue_webhook_deliveries(e.id, &deliveries, now)
        .await?;
    Ok(())
}

/// The wait before attempt `attempts + 1`.
fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

/// One attempt at one delivery.
async fn attempt(
    store: &Store,
    hooks: &[Webhook],
    d: &WebhookDelivery,
    settings: &WebhookSettings,
    now: i64,
) -> Result<(), StoreError> {
    let Some(hook) = hooks.iter().find(|h| h.id == d.webhook_id) else {
        return Ok(());
    };
    let until = now.saturating_add(i64::try_from(settings.timeout.as_secs()).unwrap_or(60) + 60);
    if !store.claim_webhook_delivery(&d.id, now, until).await? {
        return Ok(());
    }
    let secret = SecretString::from(hook.secret.clone());
    let result = match (
        Target::parse(&hook.url),
        webhook::sign(&secret, &d.id, now, &d.payload),
    ) {
        (Ok(target), Ok(signature)) => {
            let message = Signed {
                id: &d.id,
                timestamp: now,
                signature: &signature,
                body: &d.payload,
            };
            webhook::deliver(&target, &message, settings.allow_private, settings.timeout).await
        }
        (Err(why), _) | (_, Err(why)) => Err(DeliveryError::Refused(why)),
    };
    let (state, next, outcome) = match result {
        Ok(status) => ("delivered", now, format!("delivered ({status})")),
        Err(DeliveryError::Refused(why)) => ("failed", now, format!("refused: {why}")),
        Err(DeliveryError::Failed(why)) if d.attempts + 1 >= MAX_ATTEMPTS => (
            "failed",
            now,
            format!("gave up after {MAX_ATTEMPTS} attempts: {why}"),
        ),
        Err(DeliveryError::Failed(why)) => {
            let wait = i64::try_from(backoff(settings.retry_base, d.attempts).as_secs())
                .unwrap_or(i64::MAX);
            (
                "queued",
                now.saturating_add(wait.max(1)),
                format!("will retry: {why}"),
            )
        }
    };
    tracing::info!(webhook = %hook.id, delivery = %d.id, event = %d.event, %outcome, "webhook delivery");
    store
        .finish_webhook_attempt(d, state, next, &outcome, now)
        .await
}

/// One round: events into deliveries, then the deliveries due. Returns the attempts
/// made.
pub async fn run_once(
    store: &Store,
    settings: &WebhookSettings,
    now: i64,
) -> anyhow::Result<usize> {
    let hooks = store.webhooks().await?;
    for e in store.webhook_events(BATCH).await? {
        expand(store, &hooks, &e, now).await?;
    }
    let due = store.due_webhook_deliveries(now, BATCH).await?;
    for d in &due {
        attempt(store, &hooks, d, settings, now).await?;
    }
    Ok(due.len())
}

/// Runs [`run_once`] every `settings.poll` while `alive` can be upgraded.
pub async fn delivery_loop(store: Store, settings: WebhookSettings, alive: Weak<()>) {
    let mut tick = tokio::time::interval(settings.poll);
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() {
            break;
        }
        if let Err(e) = run_once(&store, &settings, crate::config::now()).await {
            tracing::warn!(error = %format!("{e:#}"), "the webhook queue could not be worked through");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_and_payloads_carry_no_secret() {
        assert_eq!(parse_events("").unwrap(), "*");
        assert_eq!(
            parse_events("user.submitted, batch.purged").unwrap(),
            "user.submitted batch.purged"
        );
        assert!(parse_events("user.password").is_err());
        let body = String::from_utf8(payload("batch.purged", "b1", None, 0)).unwrap();
        assert!(!body.contains("email"), "{body}");
        let body = String::from_utf8(payload("user.verified", "b1", Some("a@x.org"), 0)).unwrap();
        assert!(body.contains(r#""state":"verified""#), "{body}");
        assert_eq!(backoff(Duration::from_secs(30), 0), Duration::from_secs(30));
        assert_eq!(
            backoff(Duration::from_secs(30), 3),
            Duration::from_secs(240)
        );
        assert_eq!(backoff(Duration::from_secs(30), 19), MAX_BACKOFF);
    }
}
