//! The HTTP API, `/api/v1/`: JSON in and out, for the tools an MSP already runs. Its own
//! room: neither `public` nor `console` imports it, and it imports neither.
//!
//! A caller is an API token (`Authorization: Bearer pdk_...`, never a console cookie),
//! looked up by its SHA-256 ([`authenticate`]), which also writes every authenticated
//! call to the trail with the token's name. A `read` token looks; a `write` token also
//! acts ([`Writer`]). What decides where passwords go, replaces or destroys collected
//! data takes the passphrase as the JSON field `passphrase` (never a header or a query
//! string, which proxies log), checked by the console's throttle ([`unlock`]). Errors
//! are problems ([`problem`]); the OpenAPI document is generated from the handlers
//! ([`openapi`]).

mod actions;
mod batches;
pub mod openapi;
pub mod problem;

use std::net::IpAddr;
use std::time::Duration;

use axum::RequestExt as _;
use axum::Router;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, MatchedPath, RawPathParams, Request, State,
};
use axum::handler::Handler as _;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;

use self::problem::Problem;
use crate::batch::{self, BatchError, TokenRefusal};
use crate::config::now;
use crate::crypto::AdminKey;
use crate::storage::{ApiCall, ApiScope, ApiToken};
use crate::web::AppState;
use crate::web::rate_limit::{client_ip, rate_limit_key};

/// Largest roster (CSV or JSON rows) accepted.
const ROSTER_LIMIT: usize = 16 * 1024 * 1024;
/// Largest body of any other call.
const BODY_LIMIT: usize = 16 * 1024;
/// Pause after a wrong passphrase, as on the console.
const FAILED_PASSPHRASE_DELAY: Duration = Duration::from_millis(500);
/// The wait suggested when every Argon2 slot stayed busy.
const BUSY_RETRY_AFTER: u64 = 5;

/// The API's routes, to be nested under `/api/v1`.
pub fn routes(state: &AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route(
            "/batches",
            get(batches::list).post(batches::create.layer(DefaultBodyLimit::max(ROSTER_LIMIT))),
        )
        .route("/batches/{id}", get(batches::show))
        .route("/batches/{id}/users/{email}/revoke", post(actions::revoke))
        .route(
            "/batches/{id}/users/{email}/reissue",
            post(actions::reissue),
        )
        .route("/batches/{id}/send", post(actions::send))
        .route("/batches/{id}/purge", post(actions::purge))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let api = authenticated
        // What the API offers describes no data: no token needed.
        .route("/openapi.json", get(openapi::serve))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .fallback(not_found);
    crate::web::rate_limit::apply(api, &state.config)
}

async fn not_found() -> Problem {
    Problem::for_status(StatusCode::NOT_FOUND)
}

/// The bearer token of a request: the `Authorization` header alone (cookies are never
/// read here).
fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::missing_token());
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::invalid_token("The Authorization header is not plain ASCII."))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Problem::invalid_token(
            "The Authorization header must be `Bearer pdk_...`.",
        )),
    }
}

/// Accepts the request's token (or answers 401), runs the handler with it, and writes
/// the call to the trail: the token's name, the method, the route's pattern (never the
/// concrete path, which may hold an email address), the batch and the status.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = match bearer(request.headers()) {
        Ok(token) => token.to_owned(),
        Err(problem) => return problem.into_response(),
    };
    let at = now();
    let caller = match batch::authenticate_api_token(&state.store, &token, at).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(refusal)) => {
            tracing::info!(?refusal, "an API token was refused");
            return match refusal {
                TokenRefusal::Malformed => Problem::invalid_token(
                    "This is not a passdrop API token (`pdk_` and 43 more characters).",
                ),
                TokenRefusal::Unknown => {
                    Problem::invalid_token("No API token has this value (it may be revoked).")
                }
                TokenRefusal::Expired => Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "expired-token",
                    "The API token has expired",
                    "Make a new one with `passdrop api-token create`.",
                ),
            }
            .into_response();
        }
        Err(e) => return Problem::from(crate::web::AppError::from(e)).into_response(),
    };
    drop(token);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    // The `{id}` parameter alone: the path may also hold an email address.
    let batch_id = request
        .extract_parts::<RawPathParams>()
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "id")
                .map(|(_, value)| value.to_owned())
        });
    let method = request.method().as_str().to_owned();
    let token_name = caller.name.clone();
    request.extensions_mut().insert(Caller(caller));
    let response = next.run(request).await;
    let call = ApiCall {
        at,
        token_name,
        method,
        route,
        batch_id,
        status: i64::from(response.status().as_u16()),
    };
    if let Err(e) = state.store.record_api_call(&call).await {
        tracing::error!(error = %e, "an API call could not be written to the trail");
    }
    response
}

/// The token a request was accepted with.
#[derive(Clone)]
struct Caller(ApiToken);

/// Any accepted token (read or write scope).
pub struct Reader(pub ApiToken);

impl FromRequestParts<AppState> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Caller>()
            .map(|c| Self(c.0.clone()))
            .ok_or_else(Problem::missing_token)
    }
}

/// A token with the write scope.
pub struct Writer;

impl FromRequestParts<AppState> for Writer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Reader(token) = Reader::from_request_parts(parts, state).await?;
        if token.scope == ApiScope::Write {
            Ok(Self)
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "This token may only read",
                format!(
                    "The token {:?} has the read scope; this call needs a write token. \
                     Nothing was changed.",
                    token.name
                ),
            ))
        }
    }
}

/// The client as the passphrase throttle counts it (as on the console).
pub struct Client(IpAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(&parts.headers, &parts.extensions, state.config.trust_proxy)
            .map_or(IpAddr::from([0, 0, 0, 0]), rate_limit_key);
        Ok(Self(ip))
    }
}

/// A body that is only the passphrase (reissue, purge). Its value goes into a secret
/// type at once.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PassphraseBody {
    /// The admin passphrase.
    #[serde(default)]
    passphrase: Option<String>,
}

impl PassphraseBody {
    /// The passphrase, or the problem that it is missing.
    fn take(&mut self, why: &str) -> Result<SecretString, Problem> {
        self.passphrase
            .take()
            .filter(|p| !p.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| passphrase_required(why))
    }
}

/// The problem: this call needs the passphrase in the JSON body.
fn passphrase_required(why: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "passphrase-required",
        "This call needs the passphrase",
        format!(
            "{why} Send the admin passphrase as the JSON field \"passphrase\" (never in a \
             header or the query string). Nothing was changed."
        ),
    )
}

/// The body as JSON of type `T`, or an `invalid-body` problem saying where it is wrong.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(Problem::invalid_body(
            "Send the body as JSON with `Content-Type: application/json`.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        Problem::invalid_body(format!(
            "The JSON body is not valid at line {}, column {}: {}.",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                serde_json::error::Category::Syntax => "it is not JSON",
                serde_json::error::Category::Eof => "it ends too early",
                serde_json::error::Category::Io => "it could not be read",
            }
        ))
    })
}

/// Unlocks the admin key with the console's throttle: per client, wrong passphrases are
/// slowed and then blocked, and every check counts against the server-wide budget (an
/// API client is never a known browser). The attempt is counted before Argon2 runs.
async fn unlock(
    state: &AppState,
    client: &Client,
    passphrase: SecretString,
) -> Result<AdminKey, Problem> {
    let throttle = &state.login_throttle;
    let ip = client.0;
    let too_many = |wait: Duration| {
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "Too many passphrase attempts",
            format!(
                "Too many wrong passphrases lately; try again in {} seconds. Nothing was \
                 changed.",
                wait.as_secs().max(1)
            ),
        )
        .retry_after(wait.as_secs())
    };
    if let Some(wait) = throttle.blocked_for(ip) {
        return Err(too_many(wait));
    }
    if let Err(wait) = throttle.take_budget() {
        return Err(too_many(wait));
    }
    throttle.failed(ip);
    match batch::unlock_admin(&state.store, passphrase).await {
        Ok(key) => {
            throttle.succeeded(ip);
            throttle.refund_budget();
            Ok(key)
        }
        Err(BatchError::WrongPassphrase | BatchError::NoAdmin) => {
            tracing::warn!("wrong admin passphrase on the API");
            tokio::time::sleep(FAILED_PASSPHRASE_DELAY).await;
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "wrong-passphrase",
                "The passphrase is not right",
                "The passphrase did not unlock the admin key. Nothing was changed.",
            ))
        }
        Err(BatchError::Busy) => {
            throttle.forgive(ip);
            throttle.refund_budget();
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "The server is busy",
                "Every passphrase check is in use; nothing was checked or changed.",
            )
            .retry_after(BUSY_RETRY_AFTER))
        }
        Err(e) => Err(Problem::from(crate::web::AppError::from(e))),
    }
}
