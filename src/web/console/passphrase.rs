//! Changing the admin passphrase: the session and the current passphrase in the same
//! request, the new one twice (checked for strength before any Argon2 runs). The admin
//! key is wrapped again under the new passphrase in one transaction, which also ends
//! every other session; success answers 303 to a page that says so (Post/Redirect/Get).

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::SecretString;
use serde::Deserialize;

use super::layout::{admin_layout, error_box, notice_box, strength_hint, suggestion_box};
use super::{AdminSession, ClientKey, Refused, sentence, unlock_throttled};
use crate::batch::{self, BatchError};
use crate::web::{AppError, AppState};

/// Where the change answers when it is done.
pub const CHANGED_PATH: &str = "/admin/passphrase/changed";

/// The change form. Values are moved into secret types at once.
#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    passphrase: String,
    #[serde(default)]
    new_passphrase: String,
    #[serde(default)]
    new_passphrase_confirm: String,
}

/// `GET /admin/passphrase`.
pub async fn form(_session: AdminSession) -> Response {
    change_page(None).into_response()
}

/// `POST /admin/passphrase`: check the new passphrase, then the current one (throttled),
/// then wrap the admin key again.
pub async fn submit(
    State(state): State<AppState>,
    session: AdminSession,
    client: ClientKey,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AppError> {
    let ChangeForm {
        passphrase,
        new_passphrase,
        new_passphrase_confirm,
    } = form;
    let new = SecretString::from(new_passphrase);
    let confirm = SecretString::from(new_passphrase_confirm);
    let refuse = |why: &str| {
        let error = format!("Nothing was changed. {why}");
        Refused::unprocessable(change_page(Some(&error))).into_response()
    };
    if !crate::crypto::secrets_equal(&new, &confirm) {
        return Ok(refuse(
            "The two new passphrases differ; please type them again.",
        ));
    }
    if let Err(e) = batch::check_new_passphrase(&new) {
        return Ok(refuse(&sentence(&e.to_string())));
    }
    let admin = match unlock_throttled(&state, client, passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => {
            return refusal.respond(|why| {
                let error = format!("Nothing was changed. {why}");
                change_page(Some(&error))
            });
        }
    };
    match batch::change_admin_passphrase(&state.store, admin, new, None, Some(&session.token_hash))
        .await
    {
        Ok(_) => Ok(Redirect::to(CHANGED_PATH).into_response()),
        Err(e @ (BatchError::WeakPassphrase(_) | BatchError::InvalidName(_))) => {
            Ok(refuse(&sentence(&e.to_string())))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/passphrase/changed`.
pub async fn changed(_session: AdminSession) -> Response {
    admin_layout(
        "Passphrase changed",
        true,
        html! {
            h1 { "Passphrase changed" }
            (notice_box(Some(html! {
                "The admin passphrase was changed. From now on only the new one logs in, \
                 exports and opens the links; the old one no longer opens anything."
            })))
            ul.facts {
                li { "Every collected password, every batch and the saved email settings are \
                      as they were: they are sealed to the same key, which is now locked \
                      with the new passphrase." }
                li { "Every other console session was logged out." }
                li { "Copies of the database made before the change (backups) still open with \
                      the old passphrase." }
            }
            p { a href="/admin/batches" { "Back to the batches" } }
        },
    )
    .into_response()
}

/// The change form, with `error` on top if the last attempt was refused.
fn change_page(error: Option<&str>) -> Markup {
    let suggestion = batch::generate_passphrase().ok();
    admin_layout(
        "Change the passphrase",
        true,
        html! {
            h1 { "Change the admin passphrase" }
            p { "The new passphrase locks the same key: every batch, collected password and \
                 saved setting stays as it is. Other console sessions are logged out." }
            form method="post" action="/admin/passphrase" {
                (error_box(error))
                div.field {
                    label for="passphrase" { "Current passphrase" }
                    input type="password" id="passphrase" name="passphrase" required
                        autocomplete="current-password" autofocus
                        aria-describedby=[error.map(|_| "form-error")];
                }
                div.field {
                    label for="new_passphrase" { "New passphrase" }
                    input type="password" id="new_passphrase" name="new_passphrase" required
                        autocomplete="new-password" minlength=(batch::MIN_PASSPHRASE_CHARS)
                        aria-describedby="new-passphrase-hint";
                    p.small id="new-passphrase-hint" { (strength_hint()) }
                }
                div.field {
                    label for="new_passphrase_confirm" { "Type the new one again" }
                    input type="password" id="new_passphrase_confirm"
                        name="new_passphrase_confirm" required autocomplete="new-password";
                }
                (suggestion_box(suggestion.as_ref()))
                button type="submit" { "Change the passphrase" }
            }
        },
    )
}
