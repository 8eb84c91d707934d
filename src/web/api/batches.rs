//! `GET /api/v1/batches`, `GET /api/v1/batches/{id}` and `POST /api/v1/batches`: the
//! batches with their progress, one batch's users and their states (never a secret or a
//! link), and a new batch from a roster.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::{Problem, ProblemBody, no_such_batch};
use super::{Client, Reader, Writer, json_body, passphrase_required, unlock};
use crate::batch::{self, BatchError, NewBatch};
use crate::config::{self, TimeZoneSetting, now, rfc3339};
use crate::i18n::Language;
use crate::imap::ImapSettings;
use crate::roster::parse_roster;
use crate::storage::{Batch, ImapCheck, LinkState, RecipientStatus, StoreError};
use crate::web::{AppError, AppState};

/// A batch and its progress.
#[derive(Serialize, ToSchema)]
pub struct BatchSummary {
    /// The batch's id (use it in the other routes).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its first links expire (RFC 3339).
    pub expires_at: String,
    /// When it is purged automatically, at the latest (RFC 3339).
    pub purge_at: String,
    /// Users in its roster.
    pub users: i64,
    /// Users who have submitted.
    pub submitted: i64,
}

impl BatchSummary {
    fn of(b: &Batch, users: i64, submitted: i64) -> Self {
        Self {
            id: b.id.clone(),
            name: b.name.clone(),
            created_at: rfc3339(b.created_at),
            expires_at: rfc3339(b.expires_at),
            purge_at: rfc3339(batch::automatic_purge_at(b)),
            users,
            submitted,
        }
    }
}

/// The batches.
#[derive(Serialize, ToSchema)]
pub struct BatchList {
    /// Every live batch, newest first.
    pub batches: Vec<BatchSummary>,
}

/// One user of a batch: where they stand, never a password or a link.
#[derive(Serialize, ToSchema)]
pub struct UserState {
    /// EmailAddress.
    pub email: String,
    /// `pending`, `opened`, `submitted`, `expired`, `revoked`, `locked` or `replaced`.
    pub state: String,
    /// When their current link expires (RFC 3339).
    pub link_expires_at: String,
    /// When their current link was first opened, if it was.
    pub opened_at: Option<String>,
    /// When they submitted, if they did.
    pub submitted_at: Option<String>,
    /// For a submission: whether the old server accepted the password (`false`: it
    /// could not be asked); absent when the batch has no old-server check.
    pub verified: Option<bool>,
}

/// A batch with its users.
#[derive(Serialize, ToSchema)]
pub struct BatchDetail {
    /// The batch and its counts.
    #[serde(flatten)]
    pub batch: BatchSummary,
    /// Whether passwords are checked against an old server.
    pub old_server_check: bool,
    /// Each user, in roster order.
    pub user_states: Vec<UserState>,
}

/// The word for where a user stands, the one place the API names them. What the admin
/// must act on comes first: a report ("This wasn't me"), then a request for help from a
/// user who has not submitted.
pub fn user_state(s: &RecipientStatus, now: i64) -> &'static str {
    if s.reported_at.is_some() {
        return "reported";
    }
    if s.submitted_at.is_some() {
        return "submitted";
    }
    if s.needs_help_at.is_some() {
        return "needs_help";
    }
    match s.link_state {
        LinkState::Live if s.link_expires_at <= now => "expired",
        LinkState::Live if s.opened_at.is_some() => "opened",
        LinkState::Live => "pending",
        LinkState::Used => "submitted",
        LinkState::Revoked => "revoked",
        LinkState::Replaced => "replaced",
        LinkState::Locked => "locked",
    }
}

/// The live batch `id` (an id or a unique name) names.
pub(super) async fn live_batch(state: &AppState, id: &str) -> Result<Batch, Problem> {
    match batch::find(&state.store, id).await {
        Ok(b) => Ok(b),
        Err(BatchError::Purged { .. } | BatchError::Store(StoreError::NoSuchBatch(_))) => {
            Err(no_such_batch())
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// Every live batch with its progress.
#[utoipa::path(get, path = "/api/v1/batches", tag = "batches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The batches", body = BatchList),
        (status = 401, description = "No token, or not a valid one", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Reader,
) -> Result<Json<BatchList>, Problem> {
    let batches = state
        .store
        .list_batches()
        .await
        .map_err(|e| Problem::from(AppError::from(e)))?;
    Ok(Json(BatchList {
        batches: batches
            .iter()
            .map(|s| BatchSummary::of(&s.batch, s.recipients, s.submitted))
            .collect(),
    }))
}

/// One batch with each user's state (no secret, no link).
#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "batches",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The batch's id or unique name")),
    responses(
        (status = 200, description = "The batch and its users", body = BatchDetail),
        (status = 401, description = "No token, or not a valid one", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    _caller: Reader,
    Path(id): Path<String>,
) -> Result<Json<BatchDetail>, Problem> {
    let b = live_batch(&state, &id).await?;
    let statuses = state
        .store
        .recipient_statuses(&b.id)
        .await
        .map_err(|e| Problem::from(AppError::from(e)))?;
    let at = now();
    let submitted = statuses.iter().filter(|s| s.submitted_at.is_some()).count();
    let user_states = statuses
        .iter()
        .map(|s| UserState {
            email: s.recipient.email.clone(),
            state: user_state(s, at).to_owned(),
            link_expires_at: rfc3339(s.link_expires_at),
            opened_at: s.opened_at.map(rfc3339),
            submitted_at: s.submitted_at.map(rfc3339),
            verified: s.imap_check.map(|c| c == ImapCheck::Verified),
        })
        .collect();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Ok(Json(BatchDetail {
        batch: BatchSummary::of(&b, count(statuses.len()), count(submitted)),
        old_server_check: b.imap.is_some(),
        user_states,
    }))
}

/// One roster row, as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterRow {
    /// EmailAddress (required).
    pub email_address: String,
    /// UserName (default: the EmailAddress).
    #[serde(default)]
    pub user_name: Option<String>,
    /// DisplayName.
    #[serde(default)]
    pub display_name: Option<String>,
    /// AlternateEmail: where passdrop emails the link instead.
    #[serde(default)]
    pub alternate_email: Option<String>,
    /// UserRoot.
    #[serde(default)]
    pub user_root: Option<String>,
    /// Language (BCP 47).
    #[serde(default)]
    pub language: Option<String>,
}

/// The old server each password is checked against.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OldServer {
    /// `imaps://host[:993]` or `imap://host[:143]` (STARTTLS).
    pub url: String,
    /// The certificate's SHA-256 fingerprint to pin, if not publicly trusted.
    #[serde(default)]
    pub cert_sha256: String,
    /// A certificate authority (PEM) to trust for it.
    #[serde(default)]
    pub ca_pem: String,
    /// When the server cannot be reached: `retry` (ask the user to try later; the
    /// default) or `accept` (accept the password marked not verified).
    #[serde(default)]
    pub when_unreachable: String,
}

/// A new batch, as JSON. (Or send the roster CSV itself with `Content-Type: text/csv`
/// and the other fields in the query string; a CSV batch has no old-server check.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchBody {
    /// Unique batch name.
    pub name: String,
    /// The roster as rows...
    #[serde(default)]
    pub rows: Option<Vec<RosterRow>>,
    /// ...or as CSV text (header required), as `passdrop batch create --roster` reads it.
    #[serde(default)]
    pub roster_csv: Option<String>,
    /// How long links stay valid: 10m to 90d (default 7d).
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Organisation name shown to users.
    #[serde(default)]
    pub org: Option<String>,
    /// Text shown after a submission.
    #[serde(default)]
    pub next_steps: Option<String>,
    /// Ask users how they read their email (default true).
    #[serde(default)]
    pub ask_mail_client: Option<bool>,
    /// The users' default language: en, de, fr, es, nl, it or pt.
    #[serde(default)]
    pub language: Option<String>,
    /// The batch's time zone (IANA name).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Automatic purge this long after the links expire (default 7d).
    #[serde(default)]
    pub retain_after_expiry: Option<String>,
    /// ...or this long after an export (default 24h).
    #[serde(default)]
    pub retain_after_export: Option<String>,
    /// Check each password against this old server: it decides where passwords go, so
    /// it takes `passphrase`.
    #[serde(default)]
    pub old_server: Option<OldServer>,
    /// The admin passphrase: required with `old_server`; otherwise it signs the batch's
    /// settings now (without it they are signed when its links are first sent).
    #[serde(default)]
    pub passphrase: Option<String>,
}

/// The fields of a CSV upload, in the query string (never the passphrase).
#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct CsvQuery {
    /// Unique batch name (required).
    pub name: String,
    /// How long links stay valid (default 7d).
    pub expires_in: Option<String>,
    /// Organisation name shown to users.
    pub org: Option<String>,
}

/// The batch created.
#[derive(Serialize, ToSchema)]
pub struct Created {
    /// The batch and its counts.
    #[serde(flatten)]
    pub batch: BatchSummary,
    /// Whether its settings are signed already (with the passphrase).
    pub signed: bool,
}

/// Rows as roster CSV text, so they are checked exactly as a file is (line 2 is the
/// first row). Only columns some row fills are written.
fn rows_as_csv(rows: &[RosterRow]) -> Result<Vec<u8>, Problem> {
    type Column = (&'static str, fn(&RosterRow) -> Option<&str>);
    let columns: [Column; 6] = [
        ("EmailAddress", |r| Some(r.email_address.as_str())),
        // A row without one, beside rows with one, takes its EmailAddress (the default).
        ("UserName", |r| {
            r.user_name.as_deref().or(Some(r.email_address.as_str()))
        }),
        ("DisplayName", |r| r.display_name.as_deref()),
        ("AlternateEmail", |r| r.alternate_email.as_deref()),
        ("UserRoot", |r| r.user_root.as_deref()),
        ("Language", |r| r.language.as_deref()),
    ];
    let used: Vec<&Column> = columns
        .iter()
        .filter(|(name, get)| match *name {
            "EmailAddress" => true,
            "UserName" => rows.iter().any(|r| r.user_name.is_some()),
            _ => rows.iter().any(|r| get(r).is_some()),
        })
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Problem::from(AppError::Internal(anyhow::Error::new(e)));
    out.write_record(used.iter().map(|(name, _)| *name))
        .map_err(fail)?;
    for row in rows {
        out.write_record(used.iter().map(|(_, get)| get(row).unwrap_or("")))
            .map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| Problem::from(AppError::Internal(anyhow::anyhow!("{e}"))))
}

/// Creates a batch from a roster: same checks and messages as `passdrop batch create`,
/// nothing created on any error. No link is returned: send them with `/send`.
#[utoipa::path(post, path = "/api/v1/batches", tag = "batches",
    security(("bearer" = [])),
    params(CsvQuery),
    request_body(content(
        (NewBatchBody = "application/json"),
        (String = "text/csv"),
    )),
    responses(
        (status = 201, description = "Created (no links: send them with /send)", body = Created),
        (status = 400, description = "The body is not valid JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A read token, or a wrong passphrase", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A bad field or roster; nothing created", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    _caller: Writer,
    client: Client,
    headers: HeaderMap,
    Query(query): Query<CsvQuery>,
    body: Bytes,
) -> Result<Response, Problem> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/csv"));
    let mut request: NewBatchBody = if csv {
        NewBatchBody {
            name: query.name,
            rows: None,
            roster_csv: None,
            expires_in: query.expires_in,
            org: query.org,
            next_steps: None,
            ask_mail_client: None,
            language: None,
            time_zone: None,
            retain_after_expiry: None,
            retain_after_export: None,
            old_server: None,
            passphrase: None,
        }
    } else {
        json_body(&headers, &body)?
    };
    let mut errors = Vec::new();
    let lifetime = config::parse_link_lifetime(
        request
            .expires_in
            .as_deref()
            .unwrap_or(config::DEFAULT_EXPIRES_IN),
    )
    .map_err(|e| errors.push(format!("expires_in: {e}")))
    .ok();
    let time_zone = request.time_zone.take().filter(|z| !z.trim().is_empty());
    if let Some(zone) = &time_zone
        && let Err(e) = TimeZoneSetting::parse(zone)
    {
        errors.push(format!("time_zone: {e}"));
    }
    let language = match request.language.as_deref() {
        None | Some("") => None,
        Some(tag) => Language::parse_setting(tag)
            .map_err(|e| errors.push(format!("language: {e}")))
            .ok(),
    };
    let retention = batch::Retention::parse(
        request
            .retain_after_expiry
            .as_deref()
            .unwrap_or(batch::DEFAULT_RETAIN_AFTER_EXPIRY),
        request
            .retain_after_export
            .as_deref()
            .unwrap_or(batch::DEFAULT_RETAIN_AFTER_EXPORT),
    )
    .map_err(|e| errors.push(format!("retention: {e}")))
    .ok();
    let imap = match &request.old_server {
        None => Some(None),
        Some(s) => ImapSettings::from_fields(
            &s.url,
            &s.cert_sha256,
            &s.ca_pem,
            if s.when_unreachable.is_empty() {
                "retry"
            } else {
                &s.when_unreachable
            },
        )
        .map_err(|e| errors.push(format!("old_server: {e}")))
        .ok(),
    };
    let roster_bytes = match (csv, request.rows.as_deref(), request.roster_csv.as_deref()) {
        (true, _, _) => Some(body.to_vec()),
        (false, Some(rows), None) => Some(rows_as_csv(rows)?),
        (false, None, Some(text)) => Some(text.as_bytes().to_vec()),
        (false, Some(_), Some(_)) => {
            errors.push("roster: give either rows or roster_csv, not both".to_owned());
            None
        }
        (false, None, None) => {
            errors.push("roster: it is missing; give rows or roster_csv".to_owned());
            None
        }
    };
    let roster = roster_bytes.and_then(|bytes| {
        parse_roster(&bytes)
            .map_err(|e| {
                errors.extend(e.problems.iter().map(|p| format!("roster {p}")));
                if e.truncated {
                    errors.push("roster: more problems were found than listed".to_owned());
                }
            })
            .ok()
    });
    let (Some(lifetime), Some(retention), Some(roster), Some(imap), true) =
        (lifetime, retention, roster, imap, errors.is_empty())
    else {
        return Err(Problem::invalid_request(errors));
    };
    let passphrase = request.passphrase.take().filter(|p| !p.is_empty());
    let admin = match passphrase {
        Some(p) => Some(unlock(&state, &client, secrecy::SecretString::from(p)).await?),
        None if imap.is_some() => {
            return Err(passphrase_required(
                "An old-server check decides where passwords go.",
            ));
        }
        None => None,
    };
    let new = NewBatch {
        name: request.name,
        org_name: request.org,
        link_lifetime: lifetime,
        next_steps: request.next_steps,
        ask_mail_client: request.ask_mail_client.unwrap_or(true),
        retention,
        roster,
        imap,
        language,
        time_zone,
    };
    let url = &state.config.public_url;
    let created = match &admin {
        Some(admin) => batch::create_signed(&state.store, url, new, now(), admin).await,
        None => batch::create(&state.store, url, new, now()).await,
    };
    let signed = admin.is_some();
    drop(admin);
    match created {
        Ok((b, links)) => {
            let users = i64::try_from(links.len()).unwrap_or(i64::MAX);
            drop(links);
            let body = Created {
                batch: BatchSummary::of(&b, users, 0),
                signed,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Err(BatchError::InvalidName(e)) => Err(Problem::invalid_request(vec![e])),
        Err(e @ BatchError::Store(StoreError::DuplicateBatchName(_))) => Err(Problem::new(
            StatusCode::CONFLICT,
            "duplicate-name",
            "The name is taken",
            format!("{e}; nothing was created."),
        )),
        Err(BatchError::ImapUnusable(report)) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "old-server-unusable",
            "Passwords cannot be checked against the old server",
            format!(
                "Passwords cannot be checked against {}{}; nothing was created.",
                report.server,
                report
                    .problem
                    .as_ref()
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default()
            ),
        )),
        Err(e) => Err(AppError::from(e).into()),
    }
}
