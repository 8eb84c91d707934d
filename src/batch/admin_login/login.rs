//! One login through the admin path for one user, paced through the `CheckGate` like the
//! password checks. For the dovecot, exchange and mirapoint forms an accepted login is
//! the user's own mailbox: its session is handed back for the inventory (after the
//! gate's slot is given back). For the userroot form the login is the admin's own, so
//! an accepted login proves only the admin password: the user's `UserRoot` is then
//! checked in that session (`imap::check_user_root`), and a root that is not there
//! means the user needs their password, with what the server said.

use std::time::Duration;

use super::*;
use crate::imap::{LoggedIn, RootCheck};

/// Logs in as `recipient` through the admin login. `tries`: how many times to wait
/// (a second each) for a free slot in `gate` before calling it unclear. The third value
/// is the throttling warning the answer started, if any (`imap::Pass::record`).
pub(super) async fn probe_one(
    gate: &Arc<CheckGate>,
    settings: &ImapSettings,
    login: &AdminLogin,
    recipient: &Recipient,
    password: &SecretString,
    tries: usize,
) -> (ProbeOutcome, Option<LoggedIn>, Option<String>) {
    let key =
        sha2_digest(format!("admin-probe/{}/{}", recipient.batch_id, recipient.id).as_bytes());
    let mut admitted = None;
    for i in 0..tries.max(1) {
        match gate.enter(key, &settings.server).await {
            Entry::Admitted(pass) => {
                admitted = Some(pass);
                break;
            }
            Entry::AlreadyChecking | Entry::Busy if i + 1 < tries => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Entry::AlreadyChecking | Entry::Busy => {}
        }
    }
    let Some(pass) = admitted else {
        return (
            ProbeOutcome::Unclear("the checks are busy; try again later".into()),
            None,
            None,
        );
    };
    let (verdict, session) = tokio::time::timeout(
        imap::CHECK_DEADLINE,
        imap::verify_password_keeping(settings, &login.login_for(&recipient.user_name), password),
    )
    .await
    .unwrap_or((
        Verdict::NoAnswer(imap::ImapProblem::Timeout("the whole check")),
        None,
    ));
    let warning = pass.record(&verdict);
    let outcome = classify(verdict);
    let Some(root) = login.user_root_for(recipient) else {
        drop(pass);
        return (outcome, session, warning);
    };
    // The userroot form: the login was the admin's own; the user's root decides (a
    // short, bounded check, still inside the gate's slot).
    let outcome = match (outcome, session) {
        (ProbeOutcome::Covered, Some(session)) => {
            match imap::check_user_root(session, &root).await {
                RootCheck::Readable => ProbeOutcome::Covered,
                RootCheck::Missing(words) => ProbeOutcome::NeedsPassword(words),
                RootCheck::Unclear(words) => ProbeOutcome::Unclear(words),
            }
        }
        (ProbeOutcome::Covered, None) => {
            ProbeOutcome::Unclear("the admin session closed before the UserRoot check".into())
        }
        (other, session) => {
            if let Some(session) = session {
                session.close().await;
            }
            other
        }
    };
    drop(pass);
    (outcome, None, warning)
}

/// `try_admin_login`, keeping an opened mailbox's session (for its inventory).
pub(super) async fn try_keeping(
    settings: &ImapSettings,
    new: &NewAdminLogin,
    recipient: &Recipient,
) -> BatchResult<(ProbeOutcome, Option<LoggedIn>)> {
    let gate = Arc::new(CheckGate::default());
    let (outcome, session, _) =
        probe_one(&gate, settings, &new.login, recipient, &new.password, 1).await;
    match outcome {
        ProbeOutcome::AdminRefused => Err(refuse(format!(
            "the old server refused the admin password ([AUTHENTICATIONFAILED] for {}): \
             check the admin login and password; nothing was changed",
            new.login.login_for(&recipient.user_name)
        ))),
        ProbeOutcome::Unclear(why) => Err(refuse(format!(
            "the admin login could not be tried ({why}); nothing was changed"
        ))),
        answered => Ok((answered, session)),
    }
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
