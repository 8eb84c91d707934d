//! `GET` and `POST /s/{token}`: the collection form, and sealing the password it sends.
//! Parse, call the domain, render; nothing here touches SQL or keys.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::parse_collection_form;
use super::pages::{self, ErrorField, FormError, FormPage};
use crate::batch::{
    self, FailedAttempt, ImapCheck, LinkStatus, MailClient, PasswordProblem, SubmitOutcome,
};
use crate::config::now;
use crate::crypto::LinkToken;
use crate::imap::{self, Entry, Verdict, WhenUnreachable};
use crate::storage::LinkView;
use crate::web::{AppError, AppState};
use secrecy::SecretString;

/// Looks up a token from the URL; unknown and malformed tokens look the same.
/// A path segment that cannot even be decoded is an unknown link too. A format 2 link
/// whose batch was purged is answered from the tombstone: the collection has closed.
async fn usable_link(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
) -> Result<(LinkToken, LinkView), AppError> {
    let Ok(Path(token)) = token else {
        return Err(AppError::UnknownLink);
    };
    let token = LinkToken::parse(&token).ok_or(AppError::UnknownLink)?;
    let Some(view) = state.store.link_by_token_hash(&token.hash()).await? else {
        return Err(gone_or_unknown(state, &token).await);
    };
    match LinkStatus::of(&view, now()) {
        LinkStatus::Usable => Ok((token, view)),
        other => Err(AppError::LinkGone(other)),
    }
}

/// Why a token names no link: its batch was purged (410, from the tombstone), or it is
/// unknown (404).
async fn gone_or_unknown(state: &AppState, token: &LinkToken) -> AppError {
    match batch::closed_collection(&state.store, token).await {
        Ok(Some(tombstone)) => AppError::CollectionClosed(tombstone.org_name),
        Ok(None) => AppError::UnknownLink,
        Err(e) => e.into(),
    }
}

fn form_page(
    view: &LinkView,
    mail_client: Option<MailClient>,
    error: Option<FormError<'_>>,
) -> maud::Markup {
    pages::collection_form(&FormPage {
        org_name: view.batch.org_name.as_deref(),
        email: &view.recipient.email,
        expires_at: view.expires_at,
        ask_mail_client: view.batch.ask_mail_client,
        checked_with: view.batch.imap.as_ref().map(|i| i.server.host.as_str()),
        mail_client,
        error,
    })
}

/// `GET /s/{token}`: the collection form. Never changes the link.
pub async fn show(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let (token, view) = usable_link(&state, token).await?;
    // Tells the admin the message arrived; it does not use the link up. Only the first
    // visit writes.
    if view.opened_at.is_none() {
        state.store.mark_opened(&token.hash(), now()).await?;
    }
    Ok(form_page(&view, None, None).into_response())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /s/{token}`: seal the password and burn the link, or explain what is wrong
/// (422 with the form again; the link stays usable until too many refusals lock it).
pub async fn submit(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (token, view) = usable_link(&state, token).await?;
    if !is_form(&headers) {
        return refuse(
            &state,
            &token,
            &view,
            None,
            FormError {
                field: ErrorField::Form,
                message: "The form was not sent the usual way. Please reload the page and try again.",
            },
        )
        .await;
    }
    let form = match parse_collection_form(&body) {
        Ok(form) => form,
        Err(e) => {
            let message = e.to_string();
            let error = FormError {
                field: ErrorField::Form,
                message: &message,
            };
            return refuse(&state, &token, &view, None, error).await;
        }
    };
    let mail_client = match form.mail_client.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(value) => match MailClient::parse(value) {
            Some(choice) if view.batch.ask_mail_client => Some(choice),
            Some(_) => None,
            None => {
                return refuse(
                    &state,
                    &token,
                    &view,
                    None,
                    FormError {
                        field: ErrorField::MailClient,
                        message: "Please choose one of the answers about how you read your email.",
                    },
                )
                .await;
            }
        },
    };
    // A batch that checks passwords with the old server asks for the password once: the
    // server's answer replaces typing it twice.
    let confirm = match (&view.batch.imap, &form.password_confirm) {
        (Some(_), _) => &form.password,
        (None, Some(confirm)) => confirm,
        (None, None) => {
            // Not counted: the batch may have stopped checking passwords while the
            // one-field form was open.
            let message = super::form::FormError::MissingField.to_string();
            let error = FormError {
                field: ErrorField::Form,
                message: &message,
            };
            return Ok(form_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &view,
                mail_client,
                error,
            ));
        }
    };
    if let Err(problem) = batch::check_password(&form.password, confirm) {
        let message = problem.to_string();
        let field = match problem {
            PasswordProblem::Mismatch => ErrorField::BothPasswords,
            _ => ErrorField::Password,
        };
        let error = FormError {
            field,
            message: &message,
        };
        return refuse(&state, &token, &view, mail_client, error).await;
    }
    if view.batch.imap.is_none() {
        return accept(&state, &token, &view, &form.password, mail_client, None).await;
    }
    // The check, and what follows from it, runs in a task of its own: a client that
    // hangs up (or the request timeout) cannot cancel it once the password is on its
    // way, so every try is counted.
    let task = tokio::spawn(checked_submit(
        state.clone(),
        token,
        form.password,
        mail_client,
    ));
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password check task failed: {e}")))?
}

/// Checks a password with the batch's old IMAP server, then accepts it, refuses it
/// (counted toward the link's cap), or asks the user to try again later.
async fn checked_submit(
    state: AppState,
    token: LinkToken,
    password: SecretString,
    mail_client: Option<MailClient>,
) -> Result<Response, AppError> {
    let entry = state.imap_gate.enter(token.hash()).await;
    // The link (or its batch's settings) may have changed while this request waited.
    let Some(view) = state.store.link_by_token_hash(&token.hash()).await? else {
        return Err(gone_or_unknown(&state, &token).await);
    };
    match LinkStatus::of(&view, now()) {
        LinkStatus::Usable => {}
        other => return Err(AppError::LinkGone(other)),
    }
    let _pass = match entry {
        Entry::Admitted(pass) => pass,
        Entry::AlreadyChecking => {
            return Ok(form_response(
                StatusCode::TOO_MANY_REQUESTS,
                &view,
                mail_client,
                FormError {
                    field: ErrorField::Form,
                    message: "A password for this link is already being checked with your \
                              mail server. Please wait a few seconds, then try again.",
                },
            ));
        }
        Entry::Busy => return Ok(try_again_later(&view, mail_client)),
    };
    let Some(settings) = view.batch.imap.clone() else {
        return accept(&state, &token, &view, &password, mail_client, None).await;
    };
    // No password goes to a server the admin did not sign for.
    batch::require_signed_batch(&state.store, &state.config.settings_key, &view.batch).await?;
    let verdict = imap::verify_password(&settings, &view.recipient.user_name, &password).await;
    state.metrics.imap_check(match &verdict {
        Verdict::Accepted => "accepted",
        Verdict::Rejected => "rejected",
        Verdict::RefusedOther(_) => "refused_other",
        Verdict::CouldNotCheck(_) => "could_not_check",
        Verdict::NoAnswer(_) => "no_answer",
    });
    let (batch_id, recipient_id) = (&view.batch.id, view.recipient.id);
    match verdict {
        Verdict::Accepted => {
            accept(
                &state,
                &token,
                &view,
                &password,
                mail_client,
                Some(ImapCheck::Verified),
            )
            .await
        }
        Verdict::Rejected => {
            tracing::info!(%batch_id, recipient_id, "the IMAP server refused a submitted password");
            let message = format!(
                "Your current mail server ({}) did not accept this password for {}. Check it \
                 and type it again, exactly as your email app uses it.",
                settings.server.host, view.recipient.email
            );
            let error = FormError {
                field: ErrorField::Password,
                message: &message,
            };
            refuse(&state, &token, &view, mail_client, error).await
        }
        Verdict::RefusedOther(reason) => {
            tracing::warn!(%batch_id, recipient_id, %reason, "the IMAP server refused a login for a stated reason");
            let message = format!(
                "Your current mail server ({}) refused this login: \u{201c}{reason}\u{201d}. \
                 This is usually not a typing mistake; please tell whoever sent you this link.",
                settings.server.host
            );
            let error = FormError {
                field: ErrorField::Password,
                message: &message,
            };
            refuse(&state, &token, &view, mail_client, error).await
        }
        Verdict::CouldNotCheck(problem) => {
            tracing::warn!(%batch_id, recipient_id, server = %settings.server, %problem, "could not reach the IMAP server to check a password");
            match settings.when_unreachable {
                WhenUnreachable::AcceptUnverified => {
                    accept(
                        &state,
                        &token,
                        &view,
                        &password,
                        mail_client,
                        Some(ImapCheck::Unverified),
                    )
                    .await
                }
                WhenUnreachable::AskToRetry => {
                    state.metrics.submission("try_later");
                    Ok(try_again_later(&view, mail_client))
                }
            }
        }
        Verdict::NoAnswer(problem) => {
            // The password reached the server: this try counts, whatever the policy.
            tracing::warn!(%batch_id, recipient_id, server = %settings.server, %problem, "the IMAP server gave no clear answer to a password check");
            match batch::record_failed_attempt(&state.store, &token, now()).await? {
                FailedAttempt::Counted => {
                    state.metrics.submission("try_later");
                    Ok(try_again_later(&view, mail_client))
                }
                FailedAttempt::Locked => Err(AppError::LinkGone(LinkStatus::Locked)),
                FailedAttempt::NoLongerLive(status) => Err(AppError::LinkGone(status)),
            }
        }
    }
}

/// 503 with the form: the password could not be checked now; the link still works.
fn try_again_later(view: &LinkView, mail_client: Option<MailClient>) -> Response {
    let mut response = form_response(
        StatusCode::SERVICE_UNAVAILABLE,
        view,
        mail_client,
        FormError {
            field: ErrorField::Form,
            message: "Your password could not be checked with your current mail server just \
                      now, so nothing was saved. Please try again in a few minutes; this link \
                      still works.",
        },
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
    response
}

/// Seals the password and burns the link.
async fn accept(
    state: &AppState,
    token: &LinkToken,
    view: &LinkView,
    password: &SecretString,
    mail_client: Option<MailClient>,
    imap_check: Option<ImapCheck>,
) -> Result<Response, AppError> {
    match batch::submit(
        &state.store,
        &state.config.settings_key,
        token,
        view,
        password,
        mail_client,
        imap_check,
        now(),
    )
    .await?
    {
        SubmitOutcome::Accepted => {
            state.metrics.submission("accepted");
            tracing::info!(
                batch_id = %view.batch.id,
                recipient_id = view.recipient.id,
                imap_check = imap_check.map_or("none", ImapCheck::as_str),
                "password submitted"
            );
            Ok(
                pages::submitted(&view.recipient.email, view.batch.next_steps.as_deref())
                    .into_response(),
            )
        }
        SubmitOutcome::Refused(status) => {
            state.metrics.submission("gone");
            Err(AppError::LinkGone(status))
        }
    }
}

/// Answers a refused submission: 422 with the form and the reason, or 410 once the
/// refusals have locked the link.
async fn refuse(
    state: &AppState,
    token: &LinkToken,
    view: &LinkView,
    mail_client: Option<MailClient>,
    error: FormError<'_>,
) -> Result<Response, AppError> {
    state.metrics.submission("refused");
    match batch::record_failed_attempt(&state.store, token, now()).await? {
        FailedAttempt::Counted => {}
        FailedAttempt::Locked => {
            tracing::warn!(
                batch_id = %view.batch.id,
                recipient_id = view.recipient.id,
                "link locked after too many refused submissions"
            );
            return Err(AppError::LinkGone(LinkStatus::Locked));
        }
        // Another request used the link (or the admin acted) meanwhile.
        FailedAttempt::NoLongerLive(status) => return Err(AppError::LinkGone(status)),
    }
    Ok(form_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        view,
        mail_client,
        error,
    ))
}

/// The form again with a problem, without counting it against the link.
fn form_response(
    status: StatusCode,
    view: &LinkView,
    mail_client: Option<MailClient>,
    error: FormError<'_>,
) -> Response {
    (status, form_page(view, mail_client, Some(error))).into_response()
}
