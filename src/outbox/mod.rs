//! The send queue: which users a sending run emails, and the loop that emails them.
//!
//! The queue lives in the database (`deliveries`, state `queued`), so a restart loses
//! nothing; the links it needs live only in memory, opened with the passphrase, so a
//! copy of the disk holds no usable link. A message is claimed (`sending`) before the
//! relay is contacted: one whose answer was never recorded (a crash mid-send) is never
//! sent again automatically. `passdrop send` and the server's background sender run the
//! same loop (`background` runs it in the server); claims make them safe together. The
//! admin's own notices: `notify`; webhooks: `webhook`, `webhook_queue`.

mod background;
pub mod notify;
mod pace;
pub mod webhook;
pub mod webhook_queue;
pub use background::Outbox;
pub use pace::{Pacer, RetryPolicy};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tracing::{info, warn};

use crate::batch::{self, BatchResult, IssuedLink};
use crate::config::{PublicUrl, TimeZoneSetting, now};
use crate::crypto::AdminKey;
use crate::i18n::{self, Language};
use crate::mail::FailureKind;
use crate::mail::{LinkFields, SmtpSettings, Template};
use crate::storage::{
    AuditKind, Batch, DeliveryOutcome, DeliveryState, Recipient, Requeue, Store, StoreError,
};

/// Who a sending run emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Everyone who has not submitted and was not emailed yet (or whose message
    /// failed).
    Unsent,
    /// A reminder: everyone who has not submitted, emailed before or not.
    Reminder,
    /// One user (by EmailAddress), even if a message to them is in an unknown state.
    One(String),
    /// Nothing new: only the messages already queued (after a restart).
    Queued,
}

/// One user's link, ready to be emailed.
pub struct Letter {
    /// The user.
    pub recipient: Recipient,
    /// Their live link.
    pub link: IssuedLink,
}

impl Letter {
    /// Where the message goes: the AlternateEmail when the roster has one (the work
    /// mailbox may be mid-move), else the EmailAddress.
    pub fn address(&self) -> &str {
        self.recipient
            .alternate_email
            .as_deref()
            .unwrap_or(&self.recipient.email)
    }

    fn token_hash(&self) -> Option<[u8; 32]> {
        self.link
            .link
            .expose_secret()
            .rsplit('/')
            .next()
            .and_then(crate::crypto::LinkToken::parse)
            .map(|t| t.hash())
    }
}

/// What queueing found.
#[derive(Debug, Default)]
pub struct Plan {
    /// Messages now queued by this run.
    pub queued: usize,
    /// Users whose earlier message has an unknown outcome (a run stopped while
    /// sending): not queued again, except by [`Selection::One`].
    pub unknown: Vec<String>,
    /// Users who have not submitted but have no open link to email.
    pub unreachable: usize,
}

/// Why nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The one user asked for has no open link.
    #[error(
        "{0} has no open link in this batch (not in the roster, already submitted, revoked, \
         locked or expired); nothing was sent"
    )]
    NoOpenLink(String),
    /// The server is stopping: what was queued waits for a resume after the restart.
    #[error("the server is stopping: the messages are queued and will be sent after a resume")]
    Stopping,
    /// A message to that user is being handed to the relay right now.
    #[error("a message to {0} is being sent right now; nothing more was queued")]
    InFlight(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues the messages `selection` asks for, given the batch's live links, and notes
/// how many in the audit trail (`emails_queued`), whichever front end asked.
pub async fn enqueue(
    store: &Store,
    batch: &Batch,
    letters: &[Letter],
    selection: &Selection,
    now: i64,
) -> Result<Plan, OutboxError> {
    let plan = plan_and_queue(store, batch, letters, selection, now).await?;
    if plan.queued > 0 {
        store
            .record_event(&batch.id, AuditKind::EmailsQueued, plan.queued, now)
            .await?;
    }
    Ok(plan)
}

/// One letter for each live, unexpired link of a batch: the links are opened with the
/// admin key (they are stored sealed), so only a passphrase can start a send.
pub async fn letters_from_live_links(
    store: &Store,
    public_url: &PublicUrl,
    batch: &Batch,
    admin: &AdminKey,
    now: i64,
) -> BatchResult<Vec<Letter>> {
    // A batch made in the console without the passphrase is signed now, as it stands
    // (its links are about to go out); then what users are told must be what the admin
    // signed.
    batch::sign_new_batch(store, admin, batch).await?;
    let batch = &store.require_batch(&batch.id).await?;
    batch::require_signed_batch_by_admin(store, admin, batch).await?;
    batch::require_signed_message(store, admin, batch).await?;
    Ok(batch::open_live_links(store, public_url, batch, admin, now)
        .await?
        .into_iter()
        .map(|(recipient, link)| Letter { recipient, link })
        .collect())
}

async fn plan_and_queue(
    store: &Store,
    batch: &Batch,
    letters: &[Letter],
    selection: &Selection,
    now: i64,
) -> Result<Plan, OutboxError> {
    let statuses = store.recipient_statuses(&batch.id).await?;
    let deliveries = store.deliveries(&batch.id).await?;
    let submitted: HashSet<i64> = statuses
        .iter()
        .filter(|s| s.submitted_at.is_some())
        .map(|s| s.recipient.id)
        .collect();
    let mut plan = Plan::default();
    if let Selection::One(email) = selection {
        let Some(letter) = letters
            .iter()
            .find(|l| l.recipient.email.eq_ignore_ascii_case(email))
        else {
            return Err(OutboxError::NoOpenLink(email.clone()));
        };
        plan.queued = store
            .enqueue_deliveries(&[letter.recipient.id], Requeue::Any, now)
            .await?;
        if plan.queued == 0
            && deliveries
                .get(&letter.recipient.id)
                .is_some_and(|d| d.state == DeliveryState::Sending)
        {
            return Err(OutboxError::InFlight(email.clone()));
        }
        return Ok(plan);
    }
    let mut ids = Vec::new();
    for letter in letters {
        let id = letter.recipient.id;
        let state = deliveries.get(&id).map(|d| d.state);
        if submitted.contains(&id) || state == Some(DeliveryState::Queued) {
            continue;
        }
        if matches!(state, Some(DeliveryState::Sending | DeliveryState::Unknown)) {
            plan.unknown.push(letter.recipient.email.clone());
            continue;
        }
        let wanted = match selection {
            Selection::Unsent => state.is_none() || state == Some(DeliveryState::Failed),
            Selection::Reminder => true,
            Selection::One(_) | Selection::Queued => false,
        };
        if wanted {
            ids.push(id);
        }
    }
    let open: HashSet<i64> = letters.iter().map(|l| l.recipient.id).collect();
    plan.unreachable = statuses
        .iter()
        .filter(|s| s.submitted_at.is_none() && !open.contains(&s.recipient.id))
        .count();
    let requeue = match selection {
        Selection::Reminder => Requeue::Answered,
        _ => Requeue::Failed,
    };
    plan.queued = store.enqueue_deliveries(&ids, requeue, now).await?;
    Ok(plan)
}

/// The letters a run needs: the one user's for [`Selection::One`], else those whose
/// message is queued.
pub async fn letters_to_hold(
    store: &Store,
    batch_id: &str,
    letters: Vec<Letter>,
    selection: &Selection,
) -> Result<Vec<Letter>, StoreError> {
    let queued: HashSet<i64> = store
        .queued_deliveries(batch_id)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(letters
        .into_iter()
        .filter(|l| queued.contains(&l.recipient.id))
        .filter(|l| match selection {
            Selection::One(email) => l.recipient.email.eq_ignore_ascii_case(email),
            _ => true,
        })
        .collect())
}

/// What became of one message, as it happens.
#[derive(Debug)]
pub enum Event {
    /// The relay accepted it.
    Sent {
        /// EmailAddress.
        email: String,
        /// Where it went.
        address: String,
        /// The relay's answer.
        answer: String,
    },
    /// A temporary failure; tried again later.
    Retrying {
        /// EmailAddress.
        email: String,
        /// The relay's answer.
        reason: String,
        /// When it will be tried again.
        at: i64,
    },
    /// Refused, or given up after temporary failures.
    Failed {
        /// EmailAddress.
        email: String,
        /// Tries made.
        attempts: i64,
        /// The relay's answer or the problem.
        reason: String,
    },
    /// No clear answer once the message was handed over: it may have arrived, and is
    /// not sent again automatically.
    Unknown {
        /// EmailAddress.
        email: String,
        /// What happened.
        reason: String,
    },
    /// Not sent: the link was used, revoked or replaced, or another sender took it.
    Skipped {
        /// EmailAddress.
        email: String,
    },
}

/// The links a sending run holds, by recipient id, and the relay it uses.
pub struct Job {
    batch_id: String,
    letters: Mutex<HashMap<i64, Arc<Letter>>>,
    settings: Mutex<Arc<SmtpSettings>>,
    /// The batch's message is checked against this key file before each message.
    key_file: batch::SettingsKeyFile,
    /// The server's time zone, for dates in the default message of a batch without one.
    time_zone: TimeZoneSetting,
    /// Take no further message (the server is stopping).
    stop: AtomicBool,
    /// A message is between its claim and its recorded outcome.
    busy: AtomicBool,
}

/// Marks a job busy while it lives.
struct Busy<'a>(&'a AtomicBool);

impl<'a> Busy<'a> {
    fn new(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::SeqCst);
        Self(flag)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Job {
    /// A run for one batch; its message must match its signature under `key_file`.
    pub fn new(
        batch_id: &str,
        settings: SmtpSettings,
        letters: Vec<Letter>,
        key_file: batch::SettingsKeyFile,
        time_zone: TimeZoneSetting,
    ) -> Self {
        let job = Self {
            batch_id: batch_id.to_owned(),
            key_file,
            time_zone,
            letters: Mutex::default(),
            settings: Mutex::new(Arc::new(settings)),
            stop: AtomicBool::new(false),
            busy: AtomicBool::new(false),
        };
        job.add(letters, None);
        job
    }

    fn add(&self, letters: Vec<Letter>, settings: Option<SmtpSettings>) {
        if let Ok(mut held) = self.letters.lock() {
            for letter in letters {
                held.insert(letter.recipient.id, Arc::new(letter));
            }
        }
        if let (Some(s), Ok(mut held)) = (settings, self.settings.lock()) {
            *held = Arc::new(s);
        }
    }

    /// How many letters it holds.
    pub fn held(&self) -> usize {
        self.letters.lock().map_or(0, |l| l.len())
    }

    /// Drops a letter that can no longer be sent (its link was replaced or is gone).
    fn forget(&self, recipient_id: i64) {
        if let Ok(mut held) = self.letters.lock() {
            held.remove(&recipient_id);
        }
    }

    fn letter(&self, recipient_id: i64) -> Option<Arc<Letter>> {
        self.letters
            .lock()
            .ok()
            .and_then(|l| l.get(&recipient_id).cloned())
    }

    fn settings(&self) -> Option<Arc<SmtpSettings>> {
        self.settings.lock().ok().map(|s| Arc::clone(&s))
    }

    /// Keeps only the letters of users whose message is still queued.
    fn keep_only(&self, queued: &HashSet<i64>) {
        if let Ok(mut held) = self.letters.lock() {
            held.retain(|id, _| queued.contains(id));
        }
    }

    /// The next queued message this run holds a link for, and when it is due.
    async fn next(&self, store: &Store) -> Result<Option<(i64, i64)>, StoreError> {
        let queued = store.queued_deliveries(&self.batch_id).await?;
        let ids: HashSet<i64> = queued.iter().map(|(id, _)| *id).collect();
        self.keep_only(&ids);
        Ok(queued
            .into_iter()
            .find(|(id, _)| self.letter(*id).is_some()))
    }
}

/// Emails every queued message of the job's batch that it holds a link for, waiting
/// for retries, until none is left. The batch is read again before each message, so
/// an edited message is used at once and a purge stops the run.
pub async fn drain(
    store: &Store,
    job: &Job,
    pacer: &Pacer,
    policy: RetryPolicy,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<(), StoreError> {
    while let Some((id, due)) = job.next(store).await? {
        if job.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let wait = due.saturating_sub(now());
        if wait > 0 {
            let secs = u64::try_from(wait.min(60)).unwrap_or(60);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            continue;
        }
        let Some(letter) = job.letter(id) else {
            continue;
        };
        let Some(settings) = job.settings() else {
            return Ok(());
        };
        let Some(batch) = store.find_batch(&job.batch_id).await? else {
            return Ok(());
        };
        // Unsigned or changed outside passdrop (the message, or the contact it carries):
        // the run stops, the messages stay queued.
        if batch::require_signed_email_settings(store, &job.key_file, &batch)
            .await
            .is_err()
        {
            return Ok(());
        }
        pacer.wait().await;
        // Busy before the stop check: a stop that sees "not busy" has already been seen.
        let _busy = Busy::new(&job.busy);
        if job.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let email = letter.recipient.email.clone();
        let claimed = match letter.token_hash() {
            Some(hash) => store.claim_delivery(id, &hash, now()).await?,
            None => None,
        };
        let Some(attempts) = claimed else {
            // Used, revoked, replaced or expired meanwhile, or another sender took it.
            job.forget(id);
            on_event(Event::Skipped { email });
            continue;
        };
        let result = send_one(&settings, &batch, &letter, &job.time_zone).await;
        let at = now();
        match result {
            Ok(answer) => {
                store.finish_delivery(id, DeliveryOutcome::Sent, at).await?;
                on_event(Event::Sent {
                    email,
                    address: letter.address().to_owned(),
                    answer,
                });
            }
            Err((FailureKind::Temporary, reason)) if attempts < i64::from(policy.tries) => {
                let factor = 1u32 << u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
                let wait = policy.wait.saturating_mul(factor);
                let retry_at = at.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(0));
                store
                    .finish_delivery(
                        id,
                        DeliveryOutcome::Retry {
                            reason: &reason,
                            at: retry_at,
                        },
                        at,
                    )
                    .await?;
                on_event(Event::Retrying {
                    email,
                    reason,
                    at: retry_at,
                });
            }
            Err((FailureKind::Unknown, reason)) => {
                store
                    .finish_delivery(id, DeliveryOutcome::Unknown { reason: &reason }, at)
                    .await?;
                on_event(Event::Unknown { email, reason });
            }
            Err((_, reason)) => {
                store
                    .finish_delivery(id, DeliveryOutcome::Failed { reason: &reason }, at)
                    .await?;
                on_event(Event::Failed {
                    email,
                    attempts,
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// The longest relay answer kept, in characters.
const MAX_REASON_CHARS: usize = 300;

/// Builds and sends one message; on failure, what it means and why (with the link and
/// its token cut out of an answer that quotes them, and cut short).
async fn send_one(
    settings: &SmtpSettings,
    batch: &Batch,
    letter: &Letter,
    server_zone: &TimeZoneSetting,
) -> Result<String, (FailureKind, String)> {
    let to = letter.address().parse().map_err(|e| {
        (
            FailureKind::Refused,
            format!("“{}” is not an address ({e})", letter.address()),
        )
    })?;
    // The roster's language, else the batch's (the default message only: an admin's
    // own message is sent as written).
    let language = [&letter.recipient.language, &batch.language]
        .into_iter()
        .find_map(|tag| tag.as_deref().and_then(Language::from_tag))
        .unwrap_or_default();
    let zone = TimeZoneSetting::or_stored(batch.time_zone.as_deref(), server_zone);
    let expires = i18n::format_date_in(language, letter.link.expires_at, &zone);
    let default_org = i18n::text(language, "form-asker-default");
    let org = batch.org_name.as_deref().unwrap_or(&default_org);
    let contact = batch::contact_signature(&batch.branding, org);
    let fields = LinkFields {
        name: letter.recipient.display_name.as_deref(),
        org,
        mailbox: &letter.recipient.email,
        link: letter.link.link.expose_secret(),
        expires: &expires,
        contact: &contact,
        link_prefix: batch.branding.link_prefix.as_deref(),
    };
    let template = Template::for_user(batch.message.as_ref(), language);
    let message = settings
        .link_message(to, &template, &fields)
        .map_err(|e| (FailureKind::Refused, e))?;
    settings.send(message).await.map_err(|f| {
        let link = letter.link.link.expose_secret();
        let token = link.rsplit('/').next().unwrap_or(link);
        let reason: String = f
            .reason
            .replace(link, "[link]")
            .replace(token, "[link]")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_REASON_CHARS)
            .collect();
        (f.kind, reason)
    })
}
