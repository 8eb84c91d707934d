//! The admin hears of it: an email when a user reports a link, asks for help, or the
//! batch completes (`batch::events::UserEvent`). The notices are queued in the database
//! (`admin_notices`) in the same transaction as the user's state; this sender takes them,
//! paced, through the relay: the configured one, else the saved one once it matches its
//! signature under the settings key file (like every email passdrop sends). A saved relay
//! with a password can be opened only with the passphrase: its notices then wait until a
//! console action that took the passphrase hands the opened relay over
//! ([`Notifier::remember_unlocked`]). The email names the batch, what happened, the user
//! and where to look in the console; never a link, a token or a password.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use lettre::message::Mailbox;

use super::{Pacer, RetryPolicy};
use crate::batch::events::{UserEvent, UserEventKind};
use crate::batch::{self, SettingsKeyFile};
use crate::config::{PublicUrl, TimeZoneSetting, format_time_in, now};
use crate::mail::{FailureKind, SmtpSettings};
use crate::storage::{Batch, DeliveryOutcome, Store, StoreError};

/// Where the admin's emails go: the batch's contact's address when it has one and
/// `batch_signed` (its settings matched their signature: the contact is what the admin
/// set), else the relay's Reply-To (the address users' replies reach), else its From.
pub fn recipient_for(batch: &Batch, relay: &SmtpSettings, batch_signed: bool) -> Mailbox {
    batch
        .branding
        .contact_email
        .as_deref()
        .filter(|_| batch_signed)
        .and_then(|a| a.parse::<Mailbox>().ok())
        .unwrap_or_else(|| relay.reply_to.clone().unwrap_or_else(|| relay.from.clone()))
}

/// Whether a relay is set up (configured, or saved in the console): then the admin is
/// told by email, and the user's page says so.
pub async fn relay_is_set(
    store: &Store,
    configured: Option<&SmtpSettings>,
) -> Result<bool, StoreError> {
    Ok(configured.is_some() || store.smtp_settings().await?.is_some())
}

/// How often the sender looks for due notices when nobody wakes it.
const POLL: Duration = Duration::from_secs(30);
/// The most notices taken in one pass.
const BATCH: i64 = 20;

/// The server's sender of admin notices.
pub struct Notifier {
    store: Store,
    configured: Option<SmtpSettings>,
    key_file: SettingsKeyFile,
    public_url: PublicUrl,
    time_zone: TimeZoneSetting,
    pacer: Pacer,
    policy: RetryPolicy,
    wake: Arc<tokio::sync::Notify>,
    unlocked: Mutex<Option<SmtpSettings>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// What the server hands the notifier.
pub struct NotifierSettings {
    /// The relay given by options or environment, if any.
    pub configured: Option<SmtpSettings>,
    /// The settings key file the saved relay is checked against.
    pub key_file: SettingsKeyFile,
    /// Where the console is.
    pub public_url: PublicUrl,
    /// The server's time zone (a batch's own wins).
    pub time_zone: TimeZoneSetting,
    /// At most this many emails a second.
    pub per_second: f64,
    /// How temporary failures are retried.
    pub policy: RetryPolicy,
}

impl Notifier {
    /// A sender over `store`; [`Notifier::spawn`] starts its loop.
    pub fn new(store: Store, s: NotifierSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            configured: s.configured,
            key_file: s.key_file,
            public_url: s.public_url,
            time_zone: s.time_zone,
            pacer: Pacer::new(s.per_second),
            policy: s.policy,
            wake: Arc::new(tokio::sync::Notify::new()),
            unlocked: Mutex::new(None),
        })
    }

    /// Starts the background loop on the current runtime (if any); it ends once the
    /// notifier is dropped.
    pub fn spawn(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let wake = Arc::clone(&self.wake);
        runtime.spawn(async move {
            loop {
                let Some(notifier) = weak.upgrade() else {
                    break;
                };
                if let Err(e) = notifier.send_due().await {
                    tracing::warn!(error = %e, "admin notices paused: the database failed");
                }
                drop(notifier);
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
        });
    }

    /// Looks for due notices now (a user just reported, asked for help, or submitted).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The saved relay as a console action opened it with the passphrase: notices that
    /// need its password can go now.
    pub fn remember_unlocked(&self, settings: SmtpSettings) {
        if let Ok(mut held) = self.unlocked.lock() {
            *held = Some(settings);
        }
        self.wake();
    }

    /// The relay to use, or why there is none usable now.
    async fn relay(&self) -> Result<SmtpSettings, String> {
        if let Some(s) = &self.configured {
            return Ok(s.clone());
        }
        let stored = self
            .store
            .smtp_settings()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no relay is set up")?;
        let key = self.key_file.load().map_err(|e| e.to_string())?;
        batch::verify_relay(&key, &stored).map_err(|e| {
            tracing::error!(problem = %e, "the saved SMTP relay failed its signature check; no admin notice sent");
            e.to_string()
        })?;
        if let Ok(s) = SmtpSettings::from_stored(&stored, None) {
            return Ok(s);
        }
        let held = self.unlocked.lock().ok().and_then(|h| h.clone());
        match held {
            Some(s)
                if s.host == stored.host
                    && s.port == stored.port
                    && s.from.to_string() == stored.from =>
            {
                Ok(s)
            }
            _ => Err(
                "the saved relay's password needs the passphrase: it is used once a \
                      console action that takes the passphrase (sending, saving the relay) has \
                      run since the server started"
                    .to_owned(),
            ),
        }
    }

    /// Sends every due notice once (paced); returns how many were sent.
    pub async fn send_due(&self) -> Result<usize, StoreError> {
        let mut sent = 0;
        for notice in self.store.due_admin_notices(now(), BATCH).await? {
            let relay = match self.relay().await {
                Ok(relay) => relay,
                Err(reason) => {
                    let at = now();
                    // Tried again after the retry wait (`--send-retry-wait`).
                    let wait = i64::try_from(self.policy.wait.as_secs()).unwrap_or(60);
                    let retry = DeliveryOutcome::Retry {
                        reason: &reason,
                        at: at.saturating_add(wait.max(1)),
                    };
                    self.store.finish_admin_notice(notice.id, retry, at).await?;
                    continue;
                }
            };
            self.pacer.wait().await;
            let Some(attempts) = self.store.claim_admin_notice(notice.id, now()).await? else {
                continue;
            };
            let event = UserEvent::from(&notice);
            let outcome = self.send_one(&relay, &event).await;
            let at = now();
            match outcome {
                Ok(()) => {
                    self.store
                        .finish_admin_notice(notice.id, DeliveryOutcome::Sent, at)
                        .await?;
                    sent += 1;
                }
                Err((FailureKind::Temporary, reason))
                    if attempts < i64::from(self.policy.tries) =>
                {
                    let factor = 1u32 << u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
                    let wait = self.policy.wait.saturating_mul(factor);
                    let retry_at = at.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(0));
                    let retry = DeliveryOutcome::Retry {
                        reason: &reason,
                        at: retry_at,
                    };
                    self.store.finish_admin_notice(notice.id, retry, at).await?;
                }
                Err((_, reason)) => {
                    tracing::warn!(%reason, "an admin notice could not be sent");
                    let failed = DeliveryOutcome::Failed { reason: &reason };
                    self.store
                        .finish_admin_notice(notice.id, failed, at)
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_one(
        &self,
        relay: &SmtpSettings,
        event: &UserEvent,
    ) -> Result<(), (FailureKind, String)> {
        let store_failed = |e: StoreError| (FailureKind::Temporary, e.to_string());
        let Some(batch) = self
            .store
            .find_batch(&event.batch_id)
            .await
            .map_err(store_failed)?
        else {
            return Err((FailureKind::Refused, "the batch is gone".to_owned()));
        };
        let user = match event.recipient_id {
            Some(id) => self.store.recipient_email(id).await.map_err(store_failed)?,
            None => None,
        };
        let submitted = match event.recipient_id {
            Some(id) => self
                .store
                .recipient_submitted(id)
                .await
                .map_err(store_failed)?,
            None => false,
        };
        let zone = TimeZoneSetting::or_stored(batch.time_zone.as_deref(), &self.time_zone);
        let (subject, text) = notice_text(&NoticeFacts {
            batch: &batch,
            event,
            user: user.as_deref(),
            submitted,
            when: &format_time_in(event.at, &zone),
            console: &console_url(&self.public_url, &batch.id),
        });
        let signed = self
            .key_file
            .load()
            .is_ok_and(|key| batch::verify_batch(&key, &batch).is_ok());
        let to = recipient_for(&batch, relay, signed);
        let message = relay
            .plain_message(to, &subject, text)
            .map_err(|e| (FailureKind::Refused, e))?;
        relay
            .send(message)
            .await
            .map(|_| ())
            .map_err(|f| (f.kind, f.reason.chars().take(300).collect()))
    }
}

/// The console page of a batch.
fn console_url(public_url: &PublicUrl, batch_id: &str) -> String {
    let base = public_url.link_for("");
    let base = base.strip_suffix("/s/").unwrap_or(&base);
    format!("{base}/admin/batches/{batch_id}")
}

/// What the admin's email says.
struct NoticeFacts<'a> {
    batch: &'a Batch,
    event: &'a UserEvent,
    user: Option<&'a str>,
    submitted: bool,
    when: &'a str,
    console: &'a str,
}

/// The subject and text of the admin's email (English, like the console).
fn notice_text(f: &NoticeFacts<'_>) -> (String, String) {
    let name = &f.batch.name;
    let user = f.user.unwrap_or("a user (since removed)");
    let (what, subject, todo) = match f.event.kind {
        UserEventKind::Reported => (
            format!(
                "{user} said they did not expect the passdrop link for their mailbox \
                 (\"This wasn't me\"). Their link was revoked."
            ),
            format!("passdrop: {name}: a user reported their link"),
            if f.submitted {
                "A password had already been received with this link: it may be someone \
                 else's. Do not use it before you have spoken to the user; reissue their \
                 link (and have them submit again) if in doubt."
            } else {
                "Contact the user through a channel you trust (phone, in person) before \
                 reissuing their link. Their page told them IT will contact them."
            },
        ),
        UserEventKind::NeedsHelp => (
            format!("{user} asked for help (\"I need help\"). Their link still works."),
            format!("passdrop: {name}: a user asked for help"),
            "Contact the user (phone, in person): most often they do not know their current \
             password. Once a new one is set, they can use their link.",
        ),
        UserEventKind::Completed => (
            "Everyone in the batch has submitted.".to_owned(),
            format!("passdrop: {name}: everyone has submitted"),
            "Export the batch when you are ready to start the migration.",
        ),
    };
    let text = format!(
        "Batch: {name}\nWhen: {when}\n\n{what}\n\n{todo}\n\nThe batch in the console: {console}\n\
         (Clear the user's state there once you have dealt with it.)\n\n-- \npassdrop\n",
        when = f.when,
        console = f.console,
    );
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_url_keeps_a_path_prefix() {
        let url = PublicUrl::parse("https://pass.example.org/drop").unwrap();
        assert_eq!(
            console_url(&url, "b1"),
            "https://pass.example.org/drop/admin/batches/b1"
        );
    }
}
