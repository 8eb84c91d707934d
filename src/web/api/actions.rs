//! What a write token does to a batch: revoke or reissue one user's link, queue the
//! emails, purge. Reissue, send and purge take the passphrase in the JSON body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::batches::live_batch;
use super::problem::{Problem, ProblemBody};
use super::{Client, PassphraseBody, Writer, json_body, unlock};
use crate::batch::{self, BatchError};
use crate::config::{now, rfc3339};
use crate::outbox::{self, OutboxError, Selection};
use crate::storage::StoreError;
use crate::web::{AppError, AppState};

/// What became of one user's link.
#[derive(Serialize, ToSchema)]
pub struct UserChange {
    /// EmailAddress.
    pub email: String,
    /// `revoked`, or `pending` after a reissue.
    pub state: String,
    /// When the new link expires (reissue only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_expires_at: Option<String>,
}

fn no_such_user() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-such-user",
        "No such user",
        "That address is not in this batch; nothing was changed.",
    )
}

fn internal(e: impl Into<AppError>) -> Problem {
    Problem::from(e.into())
}

/// Revokes one user's live link.
#[utoipa::path(post, path = "/api/v1/batches/{id}/users/{email}/revoke", tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The batch"), ("email" = String, Path, description = "The user's EmailAddress")),
    responses(
        (status = 200, description = "Revoked", body = UserChange),
        (status = 403, description = "A read token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such batch or user", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "No live link to revoke", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    _caller: Writer,
    Path((id, email)): Path<(String, String)>,
) -> Result<Json<UserChange>, Problem> {
    let b = live_batch(&state, &id).await?;
    match batch::revoke(&state.store, &b, &email).await {
        Ok(()) => Ok(Json(UserChange {
            email,
            state: "revoked".to_owned(),
            link_expires_at: None,
        })),
        Err(e @ BatchError::NothingToRevoke(_)) => Err(Problem::new(
            StatusCode::CONFLICT,
            "nothing-to-revoke",
            "No live link to revoke",
            format!("{e}; nothing was changed."),
        )),
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => Err(no_such_user()),
        Err(e) => Err(internal(e)),
    }
}

/// Issues a new link for one user (their old one stops working). It takes the
/// passphrase: the new link opens their form and replaces what they may have
/// submitted. The link itself is not returned: `/send` with `"who": "one"` emails it.
#[utoipa::path(post, path = "/api/v1/batches/{id}/users/{email}/reissue", tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The batch"), ("email" = String, Path, description = "The user's EmailAddress")),
    request_body(content = PassphraseBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Reissued (the link is not shown: email it with /send)", body = UserChange),
        (status = 403, description = "A read token, or a wrong passphrase", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such batch or user", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "No passphrase", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passphrases", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn reissue(
    State(state): State<AppState>,
    _caller: Writer,
    client: Client,
    Path((id, email)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<UserChange>, Problem> {
    let b = live_batch(&state, &id).await?;
    let mut body: PassphraseBody = json_body(&headers, &body)?;
    let passphrase = body.take("A new link replaces what the user may have submitted.")?;
    let admin = unlock(&state, &client, passphrase).await?;
    match state.store.recipient(&b, &email).await {
        Ok(_) => {}
        Err(StoreError::NoSuchRecipient { .. }) => return Err(no_such_user()),
        Err(e) => return Err(internal(e)),
    }
    // A batch made without the passphrase is signed now, or the new link would take no
    // password.
    batch::sign_new_batch(&state.store, &admin, &b)
        .await
        .map_err(internal)?;
    drop(admin);
    match batch::reissue(&state.store, &state.config.public_url, &b, &email, now()).await {
        Ok(link) => Ok(Json(UserChange {
            email: link.email.clone(),
            state: "pending".to_owned(),
            link_expires_at: Some(rfc3339(link.expires_at)),
        })),
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => Err(no_such_user()),
        Err(e) => Err(internal(e)),
    }
}

/// Whom to email.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// `unsent` (everyone not emailed yet), `reminder` (everyone still waiting), `one`
    /// (with `email`) or `queued` (resume the queue).
    pub who: String,
    /// The user, for `one`.
    #[serde(default)]
    pub email: Option<String>,
    /// The admin passphrase: it opens the links to email them.
    pub passphrase: Option<String>,
}

/// What was queued.
#[derive(Serialize, ToSchema)]
pub struct SendPlan {
    /// Messages queued now; they are sent in the background.
    pub queued: usize,
    /// Users whose earlier message may have arrived (not queued again; use `one`).
    pub unknown: Vec<String>,
    /// Users still waiting who have no open link (reissue theirs).
    pub unreachable: usize,
}

/// Queues the link emails through the relay (configured or saved), as `passdrop send`
/// does.
#[utoipa::path(post, path = "/api/v1/batches/{id}/send", tag = "batches",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The batch")),
    request_body(content = SendBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Queued", body = SendPlan),
        (status = 403, description = "A read token, or a wrong passphrase", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Nothing can be sent (no relay, relay unusable, no open link)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad field, or no passphrase", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn send(
    State(state): State<AppState>,
    _caller: Writer,
    client: Client,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let b = live_batch(&state, &id).await?;
    let body: SendBody = json_body(&headers, &body)?;
    let selection = match (body.who.as_str(), body.email.as_deref().map(str::trim)) {
        ("unsent", _) => Selection::Unsent,
        ("reminder", _) => Selection::Reminder,
        ("queued", _) => Selection::Queued,
        ("one", Some(email)) if email.contains('@') => Selection::One(email.to_owned()),
        ("one", _) => {
            return Err(Problem::invalid_request(vec![
                "email: give the user's EmailAddress with \"who\": \"one\"".to_owned(),
            ]));
        }
        (other, _) => {
            return Err(Problem::invalid_request(vec![format!(
                "who: {other:?} is not one of unsent, reminder, one, queued"
            )]));
        }
    };
    let mut passphrase = PassphraseBody {
        passphrase: body.passphrase,
    };
    let passphrase = passphrase.take("Sending opens the links.")?;
    let admin = unlock(&state, &client, passphrase).await?;
    let cannot_send = |why: String| {
        Problem::new(
            StatusCode::CONFLICT,
            "cannot-send",
            "Nothing can be sent",
            format!("{why}; nothing was sent."),
        )
    };
    let settings =
        match crate::mail::effective_relay(&state.store, state.config.smtp.as_ref(), Some(&admin))
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => return Err(cannot_send("No SMTP relay is set up".to_owned())),
            Err(e) => return Err(cannot_send(e)),
        };
    let letters =
        outbox::letters_from_live_links(&state.store, &state.config.public_url, &b, &admin, now())
            .await
            .map_err(internal)?;
    drop(admin);
    if let Err(e) = settings.test_connection().await {
        return Err(cannot_send(format!(
            "The relay {}:{} cannot be used: {e}",
            settings.host, settings.port
        )));
    }
    match state.outbox.send(&b, settings, letters, &selection).await {
        Ok(plan) => Ok((
            StatusCode::ACCEPTED,
            Json(SendPlan {
                queued: plan.queued,
                unknown: plan.unknown,
                unreachable: plan.unreachable,
            }),
        )
            .into_response()),
        Err(
            e @ (OutboxError::NoOpenLink(_) | OutboxError::InFlight(_) | OutboxError::Stopping),
        ) => Err(cannot_send(e.to_string())),
        Err(OutboxError::Store(e)) => Err(internal(e)),
    }
}

/// What a purge left.
#[derive(Serialize, ToSchema)]
pub struct Purged {
    /// The purged batch's id.
    pub id: String,
    /// When (RFC 3339).
    pub purged_at: String,
    /// `true` when old pages are still being wiped from the database files (done within
    /// a minute); nothing of the batch can be read any more either way.
    pub wipe_pending: bool,
}

/// A purge's body: the passphrase and, to destroy passwords that are in no exported
/// file, the fingerprint of exactly those (given by the `unexported-submissions`
/// problem).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeBody {
    /// The admin passphrase.
    #[serde(default)]
    passphrase: Option<String>,
    /// The `fingerprint` an `unexported-submissions` problem named: purge anyway,
    /// destroying exactly the passwords it listed. A user who submits after it makes
    /// the list, and the fingerprint, change.
    #[serde(default)]
    discard_unexported: Option<String>,
}

/// The problem: some users' passwords are in no exported file, and the request did not
/// discard exactly those.
fn unexported_problem(lost: &batch::Unexported) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "unexported-submissions",
        "Some passwords are in no exported file",
        format!(
            "{} users submitted after the last export (or the batch was never exported): \
             their passwords, listed in \"errors\", are in no exported file, and a purge \
             destroys them. Nothing was purged. Export again first, or send \
             \"discard_unexported\": \"{}\" (this answer's \"discard_unexported\") with \
             the passphrase to purge anyway.",
            lost.emails.len(),
            lost.fingerprint
        ),
    )
    .with_errors(lost.emails.clone())
    .discard_unexported(lost.fingerprint.clone())
}

/// Purges a batch for good: keys, passwords, links, roster. It takes the passphrase.
/// Passwords that no export read (users who submitted after the last export) are not
/// destroyed unless the body discards exactly those (`409 unexported-submissions`).
#[utoipa::path(post, path = "/api/v1/batches/{id}/purge", tag = "batches",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The batch")),
    request_body(content = PurgeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Purged", body = Purged),
        (status = 403, description = "A read token, or a wrong passphrase", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Some passwords are in no exported file (`unexported-submissions`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "No passphrase", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn purge(
    State(state): State<AppState>,
    _caller: Writer,
    client: Client,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Purged>, Problem> {
    let b = live_batch(&state, &id).await?;
    let body: PurgeBody = json_body(&headers, &body)?;
    let mut passphrase = PassphraseBody {
        passphrase: body.passphrase,
    };
    let passphrase = passphrase.take("A purge destroys what was collected.")?;
    // Checked before the passphrase (a refusal costs no attempt); what may be destroyed
    // is then exactly this list, checked again where the key is destroyed.
    let shown = batch::unexported(&state.store, &b)
        .await
        .map_err(internal)?;
    if !shown.discarded_by(body.discard_unexported.as_deref()) {
        return Err(unexported_problem(&shown));
    }
    drop(unlock(&state, &client, passphrase).await?);
    match batch::purge_discarding(&state.store, &b, now(), &shown).await {
        Ok(t) => Ok(Json(Purged {
            id: t.batch_id,
            purged_at: rfc3339(t.purged_at),
            wipe_pending: false,
        })),
        Err(BatchError::Store(StoreError::WipePending { tombstone, .. })) => Ok(Json(Purged {
            id: tombstone.batch_id,
            purged_at: rfc3339(tombstone.purged_at),
            wipe_pending: true,
        })),
        // A user submitted during the passphrase check: nothing was purged.
        Err(BatchError::Store(StoreError::MoreUnexported)) => {
            let fresh = batch::unexported(&state.store, &b)
                .await
                .map_err(internal)?;
            Err(unexported_problem(&fresh))
        }
        Err(e) => Err(internal(e)),
    }
}
