//! `GET /admin/api`: the API tokens (make one with the passphrase: it is shown once;
//! revoke one) and the webhook endpoints with their last delivery's outcome. Endpoints
//! are added on the command line (`passdrop webhook add`).

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::ExposeSecret as _;
use serde::Deserialize;

use super::layout::{admin_layout, error_box, notice_box, passphrase_field, when};
use super::{
    AdminSession, ClientKey, FlashQuery, Refused, see_other, sentence, shown_once, unlock_throttled,
};
use crate::batch::{self, BatchError};
use crate::config::now;
use crate::storage::ApiScope;
use crate::web::{AppError, AppState};

const PAGE: &str = "/admin/api";

/// The new-token form. The passphrase is moved into a secret type by the unlock.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    passphrase: String,
}

/// The revoke button's form.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    name: String,
}

/// `GET /admin/api`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let notice = shown_once(&state, &session, &flash);
    Ok(render(&state, notice, None).await?.into_response())
}

/// `POST /admin/api/tokens`: a new token, shown once on the page it redirects to.
pub async fn create(
    State(state): State<AppState>,
    session: AdminSession,
    client: ClientKey,
    Form(mut form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let refuse = |state: &AppState, why: String| {
        let state = state.clone();
        async move {
            let page = render(&state, None, Some(&format!("No token was made. {why}"))).await?;
            Ok::<_, AppError>(Refused::unprocessable(page).into_response())
        }
    };
    let scope = match ApiScope::parse(form.scope.trim()) {
        Ok(scope) => scope,
        Err(e) => return refuse(&state, sentence(&e)).await,
    };
    let expires_in = match form.expires_in.trim() {
        "" => batch::DEFAULT_API_TOKEN_LIFETIME,
        text => text,
    };
    let lifetime = match batch::parse_api_token_lifetime(expires_in) {
        Ok(lifetime) => lifetime,
        Err(e) => return refuse(&state, format!("Expires in: {}", sentence(&e))).await,
    };
    let admin = match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        Ok(admin) => admin,
        Err(refusal) => {
            let (tokens, hooks) = (
                state.store.api_tokens().await?,
                state.store.webhooks().await?,
            );
            return refusal.respond(|why| {
                let error = format!("No token was made. {why}");
                page_markup(&state, &tokens, &hooks, None, Some(&error))
            });
        }
    };
    let made = batch::create_api_token(
        &state.store,
        &admin,
        form.name.trim(),
        scope,
        lifetime,
        now(),
    )
    .await;
    drop(admin);
    match made {
        Ok(made) => {
            let notice = html! {
                p { "API token " strong { (made.token.name) } " (" (scope.as_str()) " scope). \
                     Copy it now: it is shown this once, and only its hash is kept." }
                p { code.link { (made.text.expose_secret()) } }
            };
            see_other(&state, &session, PAGE, notice)
        }
        Err(BatchError::InvalidName(e)) => refuse(&state, sentence(&e)).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/api/revoke`: the token stops working at once.
pub async fn revoke(
    State(state): State<AppState>,
    session: AdminSession,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AppError> {
    match batch::revoke_api_token(&state.store, &form.name).await {
        Ok(()) => {
            let notice = html! { p { "The API token " strong { (form.name) } " is revoked." } };
            see_other(&state, &session, PAGE, notice)
        }
        Err(BatchError::InvalidName(e)) => {
            let page = render(&state, None, Some(&sentence(&e))).await?;
            Ok(Refused::unprocessable(page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The page, with `notice` or `error` on top.
async fn render(
    state: &AppState,
    notice: Option<Markup>,
    error: Option<&str>,
) -> Result<Markup, AppError> {
    let tokens = state.store.api_tokens().await?;
    let hooks = state.store.webhooks().await?;
    Ok(page_markup(state, &tokens, &hooks, notice, error))
}

/// The page for `tokens` and `hooks`.
fn page_markup(
    state: &AppState,
    tokens: &[crate::storage::ApiToken],
    hooks: &[crate::storage::Webhook],
    notice: Option<Markup>,
    error: Option<&str>,
) -> Markup {
    let at = now();
    let tz = &state.config.time_zone;
    admin_layout(
        "API and webhooks",
        true,
        html! {
            h1 { "API and webhooks" }
            (notice_box(notice))
            h2 { "API tokens" }
            p { "Tools send a token as " code { "Authorization: Bearer pdk_…" } " to "
                code { "/api/v1/" } " (the routes: " a href="/api/v1/openapi.json" { "openapi.json" }
                "). A read token looks; a write token also creates, revokes, reissues, sends \
                 and purges, the last three with the passphrase in the request." }
            @if tokens.is_empty() {
                p { "No tokens yet." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Scope" } th { "Created" } th { "Expires" } th { "Last used" } th { span.sr-only { "Action" } } } }
                    tbody {
                        @for t in tokens {
                            tr {
                                td { (t.name) }
                                td { (t.scope.as_str()) }
                                td { (when(t.created_at, at, tz)) }
                                td { (when(t.expires_at, at, tz)) @if t.expires_at <= at { " " span.badge { "expired" } } }
                                td { @if let Some(used) = t.last_used_at { (when(used, at, tz)) } @else { "never" } }
                                td {
                                    form method="post" action="/admin/api/revoke" {
                                        input type="hidden" name="name" value=(t.name);
                                        button.link type="submit" { "Revoke " span.sr-only { (t.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Make a token" }
            form method="post" action="/admin/api/tokens" {
                (error_box(error))
                div.field {
                    label for="token-name" { "Name (shown in the trail of API calls)" }
                    input type="text" id="token-name" name="name" required maxlength="64"
                        pattern="[A-Za-z0-9._\\-]+" autocomplete="off";
                }
                div.field {
                    label for="token-scope" { "Scope" }
                    select id="token-scope" name="scope" {
                        option value="read" selected { "read: look" }
                        option value="write" { "write: look and act" }
                    }
                }
                div.field {
                    label for="token-expires" { "Expires in (10m to 366d)" }
                    input type="text" id="token-expires" name="expires_in" value="90d";
                }
                (passphrase_field("token-passphrase", "Admin passphrase"))
                button type="submit" { "Make the token" }
            }
            h2 { "Webhooks" }
            p { "Add one with " code { "passdrop webhook add --url URL" } " on the server (it \
                 prints the signing secret once)." }
            @if hooks.is_empty() {
                p { "No webhooks." }
            } @else {
                table {
                    thead { tr { th { "Id" } th { "URL" } th { "Batch" } th { "Events" } th { "Last delivery" } } }
                    tbody {
                        @for h in hooks {
                            tr {
                                td { (h.id) }
                                td { (h.url) }
                                td { (h.batch_id.as_deref().unwrap_or("all")) }
                                td { (h.events.replace(' ', ", ")) }
                                td {
                                    @match (&h.last_status, h.last_attempt_at) {
                                        (Some(status), Some(t)) => { (status) ", " (when(t, at, tz)) }
                                        _ => "none yet",
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
