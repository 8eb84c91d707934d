//! A user's "needs help" and "reported" states: the admin clears them once dealt with
//! (`POST /admin/batches/{id}/clear-state`). A session is enough: clearing decides
//! nothing about where passwords go and reveals nothing.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{AdminSession, live_batch, refused, see_other};
use crate::config::now;
use crate::storage::StoreError;
use crate::web::{AppError, AppState};

/// The user whose state is cleared.
#[derive(Deserialize)]
pub struct ClearForm {
    email: String,
}

/// `POST /admin/batches/{id}/clear-state`: 303 to the batch page, which says so once.
pub async fn clear(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Form(form): Form<ClearForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    match state.store.clear_user_state(&b, &form.email, now()).await {
        Ok(true) => {
            let notice = html! { p { "The help/report state of " (form.email) " is cleared." } };
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", b.id),
                notice,
            )
        }
        Ok(false) => {
            let notice = html! { p { (form.email) " has no help or report state to clear; nothing was changed." } };
            refused(&state, &b, notice).await
        }
        Err(StoreError::NoSuchRecipient { .. }) => {
            let notice = html! { p { "That address is not in this batch; nothing was changed." } };
            refused(&state, &b, notice).await
        }
        Err(e) => Err(e.into()),
    }
}
