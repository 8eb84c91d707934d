//! What a user tells the admin through their link, and the batch completing: one domain
//! event type ([`UserEvent`]) that the admin's email (`outbox::notify`) is made from,
//! and that a webhook sender can take later from the same queue (`admin_notices`).
//!
//! Both user actions change the user's state and write the audit trail in one
//! transaction (`Store::report_link`, `Store::mark_needs_help`); the trail keeps the kind
//! and the time only, never who.

use crate::crypto::LinkToken;
use crate::storage::{AdminNotice, Store, StoreResult, UserMark};

pub use crate::storage::NoticeKind as UserEventKind;

/// Something the admin hears of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    /// The batch.
    pub batch_id: String,
    /// The user (none when the batch completed).
    pub recipient_id: Option<i64>,
    /// What happened.
    pub kind: UserEventKind,
    /// When.
    pub at: i64,
}

impl From<&AdminNotice> for UserEvent {
    fn from(n: &AdminNotice) -> Self {
        Self {
            batch_id: n.batch_id.clone(),
            recipient_id: n.recipient_id,
            kind: n.kind,
            at: n.at,
        }
    }
}

/// "This wasn't me": revokes the link, marks its user reported, audits it and, when a
/// relay is set up (`notify`), queues the admin's email; all in one transaction. `None`
/// when the token names no link.
pub async fn report(
    store: &Store,
    token: &LinkToken,
    notify: bool,
    now: i64,
) -> StoreResult<Option<UserMark>> {
    let mark = store.report_link(&token.hash(), notify, now).await?;
    if let Some(m) = mark.filter(|m| m.first_time) {
        tracing::warn!(
            recipient_id = m.recipient_id,
            after_use = m.after_use,
            "a user reported their link; it was revoked"
        );
    }
    Ok(mark)
}

/// "I need help": marks the user, audits it and, when a relay is set up, queues the
/// admin's email; the link stays as it is. `None` when the token names no link.
pub async fn ask_for_help(
    store: &Store,
    token: &LinkToken,
    notify: bool,
    now: i64,
) -> StoreResult<Option<UserMark>> {
    let mark = store.mark_needs_help(&token.hash(), notify, now).await?;
    if let Some(m) = mark.filter(|m| m.first_time) {
        tracing::info!(recipient_id = m.recipient_id, "a user asked for help");
    }
    Ok(mark)
}

/// After a submission: when everyone in the batch has submitted and a relay is set up,
/// queues "everyone has submitted" (once in the batch's life).
pub async fn note_submission(
    store: &Store,
    batch_id: &str,
    notify: bool,
    now: i64,
) -> StoreResult<bool> {
    if !notify {
        return Ok(false);
    }
    store.queue_completion_notice(batch_id, now).await
}
