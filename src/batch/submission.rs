//! What a person with a link does: the link's status, the password rules, the optional
//! old-server check, the submission that burns the link, and failed attempts.

use std::sync::Arc;

use super::*;

/// Longest password accepted on the collection form, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

// Every password a user may submit pads to one sealed length.
const _: () = assert!(MAX_PASSWORD_BYTES <= crate::crypto::PADDED_SECRET_BYTES);

/// Refused submissions a link takes before it locks (only a reissue helps then).
pub const MAX_FAILED_ATTEMPTS: i64 = 10;

/// Where a link stands, judged against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// It can be used.
    Usable,
    /// A password was already submitted with it.
    Used,
    /// The admin revoked it.
    Revoked,
    /// A newer link was issued.
    Replaced,
    /// Its time ran out.
    Expired,
    /// Too many failed attempts.
    Locked,
}

impl LinkStatus {
    /// The status of a stored link at `now`.
    pub fn of(view: &LinkView, now: i64) -> Self {
        match view.state {
            LinkState::Used => Self::Used,
            LinkState::Revoked => Self::Revoked,
            LinkState::Replaced => Self::Replaced,
            LinkState::Locked => Self::Locked,
            LinkState::Live if view.expires_at <= now => Self::Expired,
            LinkState::Live => Self::Usable,
        }
    }
}

/// Why a password typed on the form was refused. The link is untouched in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Nothing typed.
    #[error("Please type your current email password.")]
    Empty,
    /// Over 1024 bytes.
    #[error("That password is longer than 1024 bytes; please check it.")]
    TooLong,
    /// NUL, CR or LF.
    #[error("A password cannot contain line breaks or NUL characters; please type it again.")]
    ForbiddenCharacter,
    /// The two fields differ.
    #[error("The two passwords do not match; please type them again.")]
    Mismatch,
}

/// Checks a password and its confirmation as typed on the collection form.
pub fn check_password(
    password: &SecretString,
    confirm: &SecretString,
) -> Result<(), PasswordProblem> {
    let p = password.expose_secret();
    if p.is_empty() {
        return Err(PasswordProblem::Empty);
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordProblem::TooLong);
    }
    if p.contains(['\0', '\r', '\n']) {
        return Err(PasswordProblem::ForbiddenCharacter);
    }
    if !crypto::secrets_equal(password, confirm) {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

/// Outcome of trying to submit on a link.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Sealed and stored; the link is burned.
    Accepted,
    /// The link could not take a password (used, revoked, replaced, expired).
    Refused(LinkStatus),
}

/// Seals a (checked) password to the batch key and burns the link, atomically.
#[allow(clippy::too_many_arguments)] // each is one fact of this submission
pub async fn submit(
    store: &Store,
    key_file: &SettingsKeyFile,
    token: &LinkToken,
    view: &Arc<LinkView>,
    password: &SecretString,
    mail_client: Option<MailClient>,
    imap_check: Option<ImapCheck>,
    now: i64,
) -> BatchResult<SubmitOutcome> {
    let status = LinkStatus::of(view, now);
    if status != LinkStatus::Usable {
        return Ok(SubmitOutcome::Refused(status));
    }
    // Nothing is sealed to a public key the admin did not sign.
    require_signed_batch(store, key_file, &view.batch).await?;
    // What about the password will trouble the migration: the codes only, stored in the
    // submission's transaction.
    let lint_codes = lint::codes_to_stored(&lint::lint_password(password.expose_secret()));
    let pending = PendingSubmission {
        token_hash: token.hash(),
        recipient_id: view.recipient.id,
        mail_client,
        imap_check,
        lint_codes,
        now,
    };
    match seal_and_store(store, view, password, pending).await {
        Ok(()) => Ok(SubmitOutcome::Accepted),
        Err(BatchError::Store(StoreError::LinkNotLive)) => {
            // Someone else won the race, or the admin acted meanwhile: report what it is now.
            let current = store.link_by_token_hash(&token.hash()).await?;
            Ok(SubmitOutcome::Refused(current.map_or(
                LinkStatus::Revoked,
                |v| match LinkStatus::of(&v, now) {
                    LinkStatus::Usable => LinkStatus::Used,
                    other => other,
                },
            )))
        }
        Err(e) => Err(e),
    }
}

/// Seals the password on the seal pool (off the async runtime), which hands the sealed
/// record to the group-commit writer; answers once the writer has committed it (or not).
/// The sealing task shares the view (no copy of its batch's key, id or the user's names).
async fn seal_and_store(
    store: &Store,
    view: &Arc<LinkView>,
    password: &SecretString,
    pending: PendingSubmission,
) -> Result<(), BatchError> {
    let (done, answer) = tokio::sync::oneshot::channel();
    let (seal_failed, seal_failure) = tokio::sync::oneshot::channel::<CryptoError>();
    let writer = store.submission_writer();
    let view = Arc::clone(view);
    // The pool's copy of the password is zeroized when the task ends, like this one.
    let password = password.clone();
    seal_pool::run(Box::new(move || {
        let binding = SubmissionBinding {
            batch_id: &view.batch.id,
            recipient_id: pending.recipient_id,
            email: &view.recipient.email,
            user_name: &view.recipient.user_name,
        };
        match crypto::seal_password(&view.batch.public_key, binding, &password) {
            Ok(sealed) => {
                drop(password);
                writer.send_blocking(pending, sealed, done);
            }
            Err(e) => {
                // The failure first, then `done` drops: the waiting side finds it.
                let _ = seal_failed.send(e);
                drop(done);
            }
        }
    }))
    .await;
    match answer.await {
        Ok(outcome) => Ok(outcome?),
        Err(_) => Err(match seal_failure.await {
            Ok(e) => e.into(),
            Err(_) => BatchError::Store(StoreError::Other(anyhow::anyhow!(
                "the submission was lost before it was stored"
            ))),
        }),
    }
}

/// What counting a refused submission did to its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedAttempt {
    /// Counted; the link stays usable for this many more refusals.
    Counted {
        /// Refusals left before the link locks (at least 1).
        tries_left: i64,
    },
    /// That was one too many: the link is locked until reissued.
    Locked,
    /// The link stopped being usable meanwhile (used, revoked, expired...).
    NoLongerLive(LinkStatus),
}

/// Counts a refused submission against a link, locking it at `MAX_FAILED_ATTEMPTS`.
pub async fn record_failed_attempt(
    store: &Store,
    token: &LinkToken,
    now: i64,
) -> BatchResult<FailedAttempt> {
    match store
        .record_failed_attempt(&token.hash(), MAX_FAILED_ATTEMPTS, now)
        .await?
    {
        Some((true, _)) => Ok(FailedAttempt::Locked),
        Some((false, count)) => Ok(FailedAttempt::Counted {
            tries_left: MAX_FAILED_ATTEMPTS - count,
        }),
        None => {
            let current = store.link_by_token_hash(&token.hash()).await?;
            Ok(FailedAttempt::NoLongerLive(
                current.map_or(LinkStatus::Revoked, |v| LinkStatus::of(&v, now)),
            ))
        }
    }
}
