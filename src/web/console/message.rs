//! The message each user is emailed with their link: the editor (subject and body with
//! placeholders), its preview, saving it for a batch or going back to the default.
//! Saving takes the passphrase again: what users are told is a phishing target. A save
//! answers 303 to the editor, which says "Saved" once; a preview changes nothing and is
//! the POST's own answer.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{admin_layout, error_box, notice_box, optional_passphrase_field};
use super::{
    AdminSession, ClientKey, FlashQuery, Refused, live_batch, see_other, shown_once,
    unlock_throttled,
};
use crate::batch;
use crate::config::{format_time, now};
use crate::mail::{LinkFields, PLACEHOLDERS, Template};
use crate::storage::{AuditKind, Batch, RecipientStatus};
use crate::web::{AppError, AppState};

/// The message form.
#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    passphrase: String,
    action: String,
}

/// The message as the preview shows it: the headers a user sees, and the text.
struct Preview {
    from: String,
    to: String,
    subject: String,
    text: String,
}

/// The message `t` as the first user of `b` would get it, with a stand-in link, sent
/// from the relay's From address.
async fn preview(
    state: &AppState,
    b: &Batch,
    first: Option<&crate::storage::RecipientStatus>,
    t: &Template,
) -> Result<Preview, AppError> {
    let expires = format_time(b.expires_at);
    let link = state.config.public_url.link_for("THEIR-OWN-LINK");
    let contact = crate::batch::contact_signature(
        &b.branding,
        b.org_name.as_deref().unwrap_or("Your IT team"),
    );
    let fields = preview_fields(b, first, &expires, &link, &contact);
    let (subject, text, _) = t.render(&fields);
    let from = match &state.config.smtp {
        Some(s) => Some(s.from.to_string()),
        None => state.store.smtp_settings().await?.map(|s| s.from),
    };
    Ok(Preview {
        from: from.unwrap_or_else(|| "(set in the email settings)".to_owned()),
        to: fields.mailbox.to_owned(),
        subject,
        text,
    })
}

/// `GET /admin/batches/{id}/message` (with `?flash=` after a save).
pub async fn form(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let statuses = state.store.recipient_statuses(&b.id).await?;
    let t = Template::of(b.message.as_ref());
    let shown = preview(&state, &b, statuses.first(), &t).await?;
    let notice = shown_once(&state, &session, &flash);
    Ok(message_page(&b, t.subject(), t.body(), Some(shown), notice, None).into_response())
}

/// `POST /admin/batches/{id}/message`: preview, save, or go back to the default.
pub async fn submit(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<MessageForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let statuses = state.store.recipient_statuses(&b.id).await?;
    // What users are told is a phishing target: changing it takes the passphrase, not
    // just a session.
    let mut admin = None;
    if form.action == "save" || form.action == "default" {
        let passphrase = std::mem::take(&mut form.passphrase);
        match unlock_throttled(&state, client, passphrase).await {
            Ok(unlocked) => admin = Some(unlocked),
            Err(refusal) => {
                return refusal.respond(|why| {
                    let error = format!("Not saved. {why}");
                    message_page(&b, &form.subject, &form.body, None, None, Some(&error))
                });
            }
        }
    }
    if let (Some(admin), "default") = (&admin, form.action.as_str()) {
        batch::set_message(&state.store, &b, None, admin).await?;
        state
            .store
            .record_event(&b.id, AuditKind::MessageChanged, 1, now())
            .await?;
        let notice = html! { p { "Saved: this batch sends the default message." } };
        return see_other(
            &state,
            &session,
            &format!("/admin/batches/{}/message", b.id),
            notice,
        );
    }
    let t = match Template::new(&form.subject, &form.body) {
        Ok(t) => t,
        Err(e) => {
            let page = message_page(
                &b,
                &form.subject,
                &form.body,
                None,
                None,
                Some(&format!("Not saved: {e}.")),
            );
            return Ok(Refused::unprocessable(page).into_response());
        }
    };
    let Some(admin) = admin.filter(|_| form.action == "save") else {
        let shown = preview(&state, &b, statuses.first(), &t).await?;
        return Ok(
            message_page(&b, t.subject(), t.body(), Some(shown), None, None).into_response(),
        );
    };
    let message = (!t.is_default()).then(|| (t.subject(), t.body()));
    batch::set_message(&state.store, &b, message, &admin).await?;
    state
        .store
        .record_event(&b.id, AuditKind::MessageChanged, 1, now())
        .await?;
    let notice = html! { p { "Saved: messages sent from now on use it." } };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}/message", b.id),
        notice,
    )
}

/// Example values for the message preview.
fn preview_fields<'a>(
    b: &'a Batch,
    first: Option<&'a RecipientStatus>,
    expires: &'a str,
    link: &'a str,
    contact: &'a str,
) -> LinkFields<'a> {
    LinkFields {
        name: first.and_then(|s| s.recipient.display_name.as_deref()),
        org: b.org_name.as_deref().unwrap_or("Your IT team"),
        mailbox: first.map_or("user@example.org", |s| s.recipient.email.as_str()),
        link,
        expires,
        contact,
        link_prefix: b.branding.link_prefix.as_deref(),
    }
}

/// The message editor: subject and body with placeholders, and a preview.
fn message_page(
    b: &Batch,
    subject: &str,
    body: &str,
    preview: Option<Preview>,
    notice: Option<Markup>,
    error: Option<&str>,
) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    admin_layout(
        "Message",
        true,
        html! {
            h1 { "The message for " (b.name) }
            (notice_box(notice))
            (error_box(error))
            p { "Each user gets this message with their own link, as plain text and simple HTML. "
                "Keep the warning that IT never asks for a password any other way: it is what tells a real request from phishing." }
            form method="post" action={ (base) "/message" } {
                div.field {
                    label for="subject" { "Subject" }
                    input type="text" id="subject" name="subject" value=(subject) required maxlength="200";
                }
                div.field {
                    label for="body" { "Body (plain text; a blank line starts a paragraph)" }
                    textarea id="body" name="body" rows="16" { (body) }
                }
                p.small { "Placeholders: "
                    @for (i, (name, what)) in PLACEHOLDERS.iter().enumerate() {
                        @if i > 0 { "; " }
                        code { "{" (name) "}" } " " (what)
                    }
                    ". Write " code { "{{" } " and " code { "}}" } " for braces." }
                (optional_passphrase_field("message-passphrase", "Admin passphrase (to save)"))
                button type="submit" name="action" value="save" { "Save" }
                " "
                button.secondary type="submit" name="action" value="preview" { "Preview" }
                " "
                button.secondary type="submit" name="action" value="default" formnovalidate { "Back to the default message" }
            }
            @if let Some(p) = preview {
                h2 { "Preview" }
                p.small { "As the first user of the batch receives it (the link is a stand-in)." }
                div.email-preview {
                    dl {
                        dt { "From" } dd { (p.from) }
                        dt { "To" } dd { (p.to) }
                        dt { "Subject" } dd { (p.subject) }
                    }
                    pre.preview { (p.text) }
                }
            }
            p { a href=(base) { "Back to the batch" } }
        },
    )
}
