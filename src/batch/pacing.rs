//! Living with the old server's brute-force defences: what its answers said about a user
//! (an application password is required) and whether it recently seemed to throttle
//! passdrop's checks.

use super::*;
use crate::storage::{AuditKind, THROTTLING_EVENT};

/// How long after it started a throttling warning is still shown (`batch status`,
/// `doctor`), when the process that saw it is not the one asking.
pub const THROTTLING_SHOWN_FOR: Duration = Duration::from_secs(24 * 3600);

/// The audit entry written when a server starts to look throttled.
pub fn throttling_event() -> AuditKind {
    AuditKind::Other(THROTTLING_EVENT.to_owned())
}

/// Says once, when it starts, that the batch's old server looks like it slows down or
/// blocks passdrop's checks (password checks and admin-login probes alike): in the log
/// and in the batch's audit trail, where `batch status` and `doctor` find it (no user
/// data in either).
pub async fn note_throttling(
    store: &Store,
    batch_id: &str,
    server: &crate::imap::ImapServer,
    warning: &str,
    now: i64,
) -> BatchResult<()> {
    tracing::warn!(%batch_id, %server, %warning, "the IMAP server seems to be throttling passdrop");
    store
        .record_event(batch_id, throttling_event(), 1, now)
        .await?;
    Ok(())
}

/// Notes on the user's row that the old server asked for an application password (for
/// the readiness report; the row goes at purge).
pub async fn note_app_password_required(
    store: &Store,
    recipient_id: i64,
    now: i64,
) -> BatchResult<()> {
    Ok(store.mark_app_password_required(recipient_id, now).await?)
}

/// The users of a batch whose old server asked for an application password: (email,
/// when it last did), by email.
pub async fn app_password_required(
    store: &Store,
    batch_id: &str,
) -> BatchResult<Vec<(String, i64)>> {
    Ok(store.app_password_required(batch_id).await?)
}

/// When, within `THROTTLING_SHOWN_FOR` before `now`, the batch's old server last
/// started to look like it slowed down or blocked passdrop's checks.
pub async fn recent_throttling(
    store: &Store,
    batch_id: &str,
    now: i64,
) -> BatchResult<Option<i64>> {
    let shown_for = i64::try_from(THROTTLING_SHOWN_FOR.as_secs()).unwrap_or(i64::MAX);
    Ok(store
        .last_throttling(batch_id)
        .await?
        .filter(|at| now.saturating_sub(*at) <= shown_for))
}

/// The plain words for the admin about a throttling warning seen at a time (`at`,
/// already written for people), for `batch status` and `doctor`.
pub fn throttling_advice(server: &str, at: &str) -> String {
    format!(
        "{server} seemed to slow down or block passdrop's password checks at {at} (slow \
         answers, timeouts, refused connections or \"try later\"). Mail servers do this to an \
         address after failed logins (Dovecot's auth penalty, fail2ban, cPanel's cPHulk), and \
         every check comes from this machine's one address: users were asked to try again \
         later and nothing was counted against them. If it goes on, ask the host to allowlist \
         this machine's public IP address for IMAP logins."
    )
}
