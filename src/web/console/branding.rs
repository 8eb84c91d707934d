//! Who is asking, per batch (issue 16): the contact users may ask, the logo, the accent
//! colour and the line "our link always starts with ...". What users trust, so saving
//! takes the passphrase (it signs the batch's settings); every value is checked first
//! and a refusal names its field and changes nothing. A save answers 303 to the form,
//! which says "Saved" once.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{admin_layout, error_box, field_error, notice_box, passphrase_field};
use super::{
    AdminSession, ClientKey, FlashQuery, Refused, live_batch, see_other, shown_once,
    unlock_throttled,
};
use crate::batch::{self, BrandingChange};
use crate::config::now;
use crate::storage::{Batch, LogoChange};
use crate::web::{AppError, AppState};

/// Longest text field read from the form, in bytes (the checks refuse far less).
const MAX_TEXT_BYTES: usize = 4096;

/// What the form sent.
#[derive(Default)]
struct BrandingForm {
    change: BrandingChange,
    logo: Option<(Vec<u8>, Option<String>)>,
    remove_logo: bool,
    passphrase: String,
}

/// The fields, as (form name, label, input type, autocomplete).
const FIELDS: [(&str, &str, &str, &str); 6] = [
    ("contact_name", "Contact name", "text", "name"),
    (
        "contact_role",
        "Contact role (e.g. IT manager)",
        "text",
        "organization-title",
    ),
    ("contact_phone", "Contact phone", "tel", "tel"),
    ("contact_email", "Contact email", "email", "email"),
    ("accent_colour", "Accent colour (#rrggbb)", "text", "off"),
    ("link_prefix", "Our link always starts with", "url", "url"),
];

async fn read_form(mut multipart: Multipart) -> Result<BrandingForm, String> {
    let mut form = BrandingForm::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the form could not be read: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("the form could not be read: {e}"))?;
        if name != "logo" && bytes.len() > MAX_TEXT_BYTES {
            return Err(format!("{}: far too long", name.replace('_', " ")));
        }
        let text = || Some(String::from_utf8_lossy(&bytes).into_owned());
        let c = &mut form.change;
        match name.as_str() {
            "contact_name" => c.contact_name = text(),
            "contact_role" => c.contact_role = text(),
            "contact_phone" => c.contact_phone = text(),
            "contact_email" => c.contact_email = text(),
            "accent_colour" => c.accent_colour = text(),
            "link_prefix" => c.link_prefix = text(),
            "remove_logo" => form.remove_logo = true,
            "passphrase" => form.passphrase = String::from_utf8_lossy(&bytes).into_owned(),
            "logo" if !bytes.is_empty() => form.logo = Some((bytes.to_vec(), file_name)),
            _ => {}
        }
    }
    Ok(form)
}

/// The form's current values: what was sent, else what is stored.
fn value_of<'a>(b: &'a Batch, sent: Option<&'a BrandingChange>, name: &str) -> &'a str {
    let br = &b.branding;
    let (sent, stored) = match name {
        "contact_name" => (
            sent.and_then(|c| c.contact_name.as_deref()),
            &br.contact_name,
        ),
        "contact_role" => (
            sent.and_then(|c| c.contact_role.as_deref()),
            &br.contact_role,
        ),
        "contact_phone" => (
            sent.and_then(|c| c.contact_phone.as_deref()),
            &br.contact_phone,
        ),
        "contact_email" => (
            sent.and_then(|c| c.contact_email.as_deref()),
            &br.contact_email,
        ),
        "accent_colour" => (
            sent.and_then(|c| c.accent_colour.as_deref()),
            &br.accent_colour,
        ),
        _ => (sent.and_then(|c| c.link_prefix.as_deref()), &br.link_prefix),
    };
    sent.or(stored.as_deref()).unwrap_or_default()
}

/// The branding form.
fn branding_page(
    state: &AppState,
    b: &Batch,
    sent: Option<&BrandingChange>,
    notice: Option<Markup>,
    error: Option<&str>,
) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    let suggested = batch::suggested_link_prefix(&state.config.public_url);
    // A problem names its field first ("contact phone: ..."); it is shown under it.
    let field_of = |e: &str| {
        FIELDS
            .iter()
            .find(|(name, ..)| e.starts_with(&format!("{}:", name.replace('_', " "))))
            .map(|(name, ..)| *name)
            .or_else(|| e.starts_with("logo:").then_some("logo"))
    };
    let at = error.and_then(field_of);
    let general = error.filter(|_| at.is_none());
    let err_for = |name: &str| error.filter(|_| at == Some(name));
    admin_layout(
        "Who is asking",
        true,
        html! {
            h1 { "Who is asking: " (b.name) }
            (notice_box(notice))
            (error_box(general))
            p { "Users see this on the form, on every page a link can end on, and in the default email (its "
                code { "{contact}" } " signature). A named person and the address your links start with are what tells a real request from phishing. "
                "Leave a field empty to show nothing for it. Saving takes the passphrase: these settings are signed." }
            form method="post" enctype="multipart/form-data" action={ (base) "/branding" } {
                @for (name, label, kind, autocomplete) in FIELDS {
                    @let id = format!("branding-{name}");
                    @let e = err_for(name);
                    div.field {
                        label for=(id) { (label) }
                        input type=(kind) id=(id) name=(name) value=(value_of(b, sent, name))
                            autocomplete=(autocomplete)
                            placeholder=[(name == "link_prefix").then_some(suggested.as_str())]
                            aria-invalid=[e.map(|_| "true")]
                            aria-describedby=[e.map(|_| format!("{name}-error"))];
                        (field_error(name, e))
                    }
                }
                p.small { "The accent colour is used in light mode only (dark mode keeps passdrop's own), and must reach 4.5:1 against white text. "
                    "The link prefix must be one this server's links start with, such as " code { (suggested) } "." }
                div.field {
                    label for="branding-logo" { "Logo (PNG or JPEG, at most 512 KiB and 2048×2048 px; re-encoded as PNG)" }
                    input type="file" id="branding-logo" name="logo" accept="image/png,image/jpeg"
                        aria-invalid=[err_for("logo").map(|_| "true")]
                        aria-describedby=[err_for("logo").map(|_| "logo-error")];
                    (field_error("logo", err_for("logo")))
                }
                @if b.branding.logo_sha256.is_some() {
                    p { img.logo-preview src={ "/brand/" (b.link_tag.as_str()) "/logo.png" } alt={ "Current logo of " (b.org_name.as_deref().unwrap_or(&b.name)) } height="40"; }
                    label.choice { input type="checkbox" name="remove_logo" value="1"; " Remove the logo" }
                }
                (passphrase_field("branding-passphrase", "Admin passphrase (it signs these settings)"))
                button type="submit" { "Save" }
            }
            p { a href=(base) { "Back to the batch" } }
        },
    )
}

/// `GET /admin/batches/{id}/branding`.
pub async fn form(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let notice = shown_once(&state, &session, &flash);
    Ok(branding_page(&state, &b, None, notice, None).into_response())
}

/// `POST /admin/batches/{id}/branding`: check everything, then the passphrase, then save
/// (signed, audited as "branding changed").
pub async fn submit(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let mut form = match read_form(multipart).await {
        Ok(form) => form,
        Err(e) => {
            let page = branding_page(&state, &b, None, None, Some(&format!("Not saved: {e}")));
            return Ok(Refused::unprocessable(page).into_response());
        }
    };
    let refuse = |form: &BrandingForm, e: &str| {
        let page = branding_page(&state, &b, Some(&form.change), None, Some(e));
        Ok(Refused::unprocessable(page).into_response())
    };
    let branding = match form.change.apply(&b.branding, &state.config.public_url) {
        Ok(branding) => branding,
        Err(e) => return refuse(&form, &e),
    };
    let logo = match (&form.logo, form.remove_logo) {
        (Some((bytes, name)), _) => match batch::prepare_logo(bytes, name.as_deref()) {
            Ok(png) => LogoChange::Set(png),
            Err(e) => return refuse(&form, &e),
        },
        (None, true) => LogoChange::Remove,
        (None, false) => LogoChange::Keep,
    };
    let passphrase = std::mem::take(&mut form.passphrase);
    let admin = match unlock_throttled(&state, client, passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => {
            return refusal.respond(|why| {
                let error = format!("Not saved. {why}");
                branding_page(&state, &b, Some(&form.change), None, Some(&error))
            });
        }
    };
    batch::set_branding(&state.store, &b, branding, logo, &admin, now()).await?;
    let notice = html! { p { "Saved: users see the new branding from their next page." } };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}/branding", b.id),
        notice,
    )
}
