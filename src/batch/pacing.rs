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

/// Default for how many password checks per link and hour may end without a clear
/// answer (`serve --imap-uncounted-checks-per-link`).
pub const DEFAULT_UNCOUNTED_CHECKS_PER_LINK: u32 = 20;

/// The most uncounted checks per link and hour the option allows.
pub const MAX_UNCOUNTED_CHECKS_PER_LINK: u32 = 1000;

/// The window the uncounted checks of a link are counted in.
pub const UNCOUNTED_WINDOW: Duration = Duration::from_secs(3600);

/// Checks `serve --imap-uncounted-checks-per-link`.
pub fn uncounted_checks_cap(per_link: u32) -> Result<u32, String> {
    if (1..=MAX_UNCOUNTED_CHECKS_PER_LINK).contains(&per_link) {
        Ok(per_link)
    } else {
        Err(format!(
            "--imap-uncounted-checks-per-link must be from 1 to \
             {MAX_UNCOUNTED_CHECKS_PER_LINK} (password checks per link and hour that the old \
             server gave no clear answer to), not {per_link}"
        ))
    }
}

/// Whether a check's verdict counts nothing toward the link's lock while the server was
/// asked (no clear answer, or "an app password is required"): these have their own cap.
pub fn is_uncounted(verdict: &crate::imap::Verdict) -> bool {
    use crate::imap::Verdict;
    matches!(
        verdict,
        Verdict::AppPasswordRequired(_) | Verdict::CouldNotCheck(_) | Verdict::NoAnswer(_)
    )
}

fn window_secs() -> i64 {
    i64::try_from(UNCOUNTED_WINDOW.as_secs()).unwrap_or(i64::MAX)
}

/// Whether the link with this token hash has had `cap` uncounted checks within the
/// hour: then no more check is made for it until that hour is over, and this is how
/// many seconds are left of it (at least 1; for `Retry-After`).
pub async fn uncounted_cap_wait(
    store: &Store,
    token_hash: &[u8; 32],
    cap: u32,
    now: i64,
) -> BatchResult<Option<u64>> {
    let count = store
        .uncounted_checks(token_hash, now, window_secs())
        .await?;
    if count < i64::from(cap) {
        return Ok(None);
    }
    let since = store.uncounted_since(token_hash).await?.unwrap_or(now);
    let left = since.saturating_add(window_secs()).saturating_sub(now);
    Ok(Some(u64::try_from(left).unwrap_or(0).max(1)))
}

/// Notes one uncounted check on the link with this token hash when `verdict` is one.
pub async fn note_if_uncounted(
    store: &Store,
    token_hash: &[u8; 32],
    verdict: &crate::imap::Verdict,
    now: i64,
) -> BatchResult<()> {
    if is_uncounted(verdict) {
        store
            .note_uncounted_check(token_hash, now, window_secs())
            .await?;
    }
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
