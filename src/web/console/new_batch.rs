//! The new-batch form and its roster upload: `GET /admin/batches/new` and
//! `POST /admin/batches`. It reads like a form: name, organisation, roster, expiry (a
//! number and a unit, with the date it gives), users' language, time zone, next steps, then the automatic
//! purge and, collapsed, the old mail server check (with, optionally, the old server's
//! admin login: `new_batch/admin_fields.rs`). A refusal shows the form again with
//! everything typed, the uploaded roster in the paste box (nothing is kept on the
//! server), and each problem tied to its field.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use self::admin_fields::{AdminFields, created_notice, try_first};
use super::batch_page as pages;
use super::layout::{
    admin_layout, field_error, invalid, optional_passphrase_field, time_zone_input,
};
use super::{AdminSession, ClientKey, Refused};
use crate::batch;
use crate::config::{self, TimeZoneSetting, format_time_in, now};
use crate::i18n::Language;
use crate::imap::{ImapSettings, WhenUnreachable};
use crate::roster::parse_roster;
use crate::web::{AppError, AppState};

mod admin_fields;
mod finish;

/// The units the expiry may be given in, as the select offers them.
const UNITS: [(&str, &str); 4] = [
    ("minutes", "minutes"),
    ("hours", "hours"),
    ("days", "days"),
    ("weeks", "weeks"),
];

/// What the new-batch form shows again after a refusal.
#[derive(Default)]
struct NewBatchForm {
    name: String,
    org: String,
    /// The expiry's number and unit (`7`, `days`).
    expires_number: String,
    expires_unit: String,
    /// The expiry as one text (`7d`, `1 week`), from scripts; used when no number is given.
    expires_in: String,
    /// The batch's own time zone (empty: the server's).
    time_zone: String,
    /// The users' default language chosen (a tag; empty: the server's).
    language: String,
    next_steps: String,
    ask_mail_client: bool,
    retain_after_expiry: String,
    retain_after_export: String,
    /// The pasted roster (after a refusal, also the uploaded file's text).
    roster_text: String,
    imap_url: String,
    imap_cert_sha256: String,
    imap_ca_pem: String,
    imap_when_unreachable: String,
    /// The admin passphrase, needed with a mail server or a contact; never shown again.
    passphrase: String,
    /// Who is asking: the contact's name, role, phone and email (empty: none).
    contact: [String; 4],
    /// The old server's admin login (optional; its password is never shown again).
    admin_login: AdminFields,
}

/// The contact fields of the new-batch form: (name, label, input type, autocomplete).
const CONTACT_FIELDS: [(&str, &str, &str, &str); 4] = [
    ("contact_name", "Contact name", "text", "name"),
    (
        "contact_role",
        "Contact role (e.g. IT manager)",
        "text",
        "organization-title",
    ),
    ("contact_phone", "Contact phone", "tel", "tel"),
    ("contact_email", "Contact email", "email", "email"),
];

impl NewBatchForm {
    /// The form as first shown, and the defaults of fields a script leaves out.
    fn defaults() -> Self {
        Self {
            expires_number: String::new(),
            expires_unit: "days".to_owned(),
            retain_after_expiry: batch::DEFAULT_RETAIN_AFTER_EXPIRY.to_owned(),
            retain_after_export: batch::DEFAULT_RETAIN_AFTER_EXPORT.to_owned(),
            imap_when_unreachable: WhenUnreachable::AskToRetry.as_str().to_owned(),
            admin_login: AdminFields::defaults(),
            ..Self::default()
        }
    }

    /// The expiry as one text for `config::parse_link_lifetime`.
    fn expiry_text(&self) -> String {
        if self.expires_number.trim().is_empty() && !self.expires_in.trim().is_empty() {
            self.expires_in.clone()
        } else {
            format!(
                "{} {}",
                self.expires_number.trim(),
                self.expires_unit.trim()
            )
        }
    }
}

/// A problem and the id of the field it is about (the summary links to it).
struct Problem {
    field: &'static str,
    text: String,
}

fn problem(field: &'static str, text: impl Into<String>) -> Problem {
    Problem {
        field,
        text: text.into(),
    }
}

/// `GET /admin/batches/new`.
pub async fn new(State(state): State<AppState>, _session: AdminSession) -> Response {
    let form = NewBatchForm {
        expires_number: "7".to_owned(),
        ask_mail_client: true,
        language: state.config.language.tag().to_owned(),
        ..NewBatchForm::defaults()
    };
    new_batch_page(&form, &[], &state.config.time_zone).into_response()
}

/// Reads the new-batch form: its fields, and the roster file's bytes.
async fn read_new_batch(mut multipart: Multipart) -> Result<(NewBatchForm, Vec<u8>), String> {
    let mut form = NewBatchForm::defaults();
    let mut file = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the form could not be read: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("the form could not be read: {e}"))?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "name" => form.name = text(),
            "org" => form.org = text(),
            "expires_number" => form.expires_number = text(),
            "expires_unit" => form.expires_unit = text(),
            "expires_in" => form.expires_in = text(),
            "time_zone" => form.time_zone = text(),
            "language" => form.language = text(),
            "next_steps" => form.next_steps = text(),
            "retain_after_expiry" => form.retain_after_expiry = text(),
            "retain_after_export" => form.retain_after_export = text(),
            "ask_mail_client" => form.ask_mail_client = true,
            "roster_text" => form.roster_text = text(),
            "imap_url" => form.imap_url = text(),
            "imap_cert_sha256" => form.imap_cert_sha256 = text(),
            "imap_ca_pem" => form.imap_ca_pem = text(),
            "imap_when_unreachable" => form.imap_when_unreachable = text(),
            // The form has two passphrase fields (old server, contact): the one typed in.
            "passphrase" if !bytes.is_empty() => form.passphrase = text(),
            "contact_name" => form.contact[0] = text(),
            "contact_role" => form.contact[1] = text(),
            "contact_phone" => form.contact[2] = text(),
            "contact_email" => form.contact[3] = text(),
            // The file is parsed as bytes, so encoding problems get their line numbers.
            "roster_file" => file = bytes.to_vec(),
            other => {
                form.admin_login.read(other, text);
            }
        }
    }
    Ok((form, file))
}

/// `POST /admin/batches`: create a batch from an uploaded or pasted roster. Every
/// problem is listed and nothing is created when there is any. With a mail server to
/// check passwords against, the passphrase is required too: every password of the
/// batch will go to that server, so a session alone must not choose it.
pub async fn create(
    State(state): State<AppState>,
    session: AdminSession,
    client: ClientKey,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let server_zone = state.config.time_zone.clone();
    let (mut form, file) = match read_new_batch(multipart).await {
        Ok(read) => read,
        Err(e) => {
            let form = NewBatchForm {
                ask_mail_client: true,
                ..NewBatchForm::defaults()
            };
            let page = new_batch_page(&form, &[problem("name", e)], &server_zone);
            return Ok(Refused::unprocessable(page).into_response());
        }
    };
    let mut problems = Vec::new();
    let lifetime = config::parse_link_lifetime(&form.expiry_text())
        .map_err(|e| {
            problems.push(problem(
                "expires_number",
                format!("Links expire after: {e}"),
            ))
        })
        .ok();
    if let Err(e) = TimeZoneSetting::parse(&form.time_zone) {
        problems.push(problem("time_zone", format!("Time zone: {e}")));
    }
    let language = match form.language.trim() {
        "" => None,
        tag => Language::parse_setting(tag)
            .map_err(|e| problems.push(problem("language", format!("Users' language: {e}"))))
            .ok(),
    };
    let retention = batch::Retention::parse(&form.retain_after_expiry, &form.retain_after_export)
        .map_err(|e| {
            problems.push(problem(
                "retain_after_expiry",
                format!("Automatic purge: {e}"),
            ))
        })
        .ok();
    let roster_bytes = match (file.is_empty(), form.roster_text.trim().is_empty()) {
        (false, true) => Some(file.as_slice()),
        (true, false) => Some(form.roster_text.as_bytes()),
        (false, false) => {
            problems.push(problem(
                "roster_text",
                "Roster: give it either as a file or pasted, not both (the pasted rows are \
                 kept below; the file was not read).",
            ));
            None
        }
        (true, true) => {
            problems.push(problem(
                "roster_file",
                "Roster: it is missing; upload a CSV file or paste its rows.",
            ));
            None
        }
    };
    let imap = ImapSettings::from_fields(
        &form.imap_url,
        &form.imap_cert_sha256,
        &form.imap_ca_pem,
        &form.imap_when_unreachable,
    )
    .map_err(|e| problems.push(problem("imap_url", format!("Old mail server: {e}"))))
    .ok();
    // Who is asking: checked like `batch branding`, set (signed) once the batch exists.
    let contact_change = batch::BrandingChange {
        contact_name: Some(form.contact[0].clone()),
        contact_role: Some(form.contact[1].clone()),
        contact_phone: Some(form.contact[2].clone()),
        contact_email: Some(form.contact[3].clone()),
        ..Default::default()
    };
    let branding = contact_change
        .apply(&Default::default(), &state.config.public_url)
        .map_err(|e| {
            let field = CONTACT_FIELDS
                .iter()
                .map(|(name, ..)| *name)
                .find(|name| e.starts_with(&format!("{}:", name.replace('_', " "))))
                .unwrap_or("contact_name");
            problems.push(problem(field, super::sentence(&e)));
        })
        .ok();
    let roster = roster_bytes.and_then(|bytes| {
        parse_roster(bytes)
            .map_err(|e| {
                let field = if file.is_empty() {
                    "roster_text"
                } else {
                    "roster_file"
                };
                problems.extend(
                    e.problems
                        .iter()
                        .map(|p| problem(field, format!("Roster {p}"))),
                );
            })
            .ok()
    });
    let imap_given = !form.imap_url.trim().is_empty();
    let admin_login = form
        .admin_login
        .check(imap_given, roster.as_ref(), &mut problems);
    // From here on, a refusal shows the uploaded file's text in the paste box, so
    // nothing is lost and nothing is kept on the server.
    if form.roster_text.trim().is_empty() && !file.is_empty() {
        form.roster_text = String::from_utf8_lossy(&file).into_owned();
    }
    let refuse = |form: &NewBatchForm, problems: &[Problem]| {
        Refused::unprocessable(new_batch_page(form, problems, &server_zone)).into_response()
    };
    let (Some(lifetime), Some(retention), Some(roster), Some(imap), Some(branding)) =
        (lifetime, retention, roster, imap, branding)
    else {
        return Ok(refuse(&form, &problems));
    };
    if !problems.is_empty() {
        return Ok(refuse(&form, &problems));
    }
    // From here on the work runs in a task of its own (as a password check does): the
    // request's time limit, or a client that hangs up, cannot stop it halfway, between
    // the batch created and its admin login or contact set.
    let checked = finish::Checked {
        lifetime,
        retention,
        roster,
        imap,
        branding,
        admin_login,
        language,
    };
    let task = tokio::spawn(finish::finish(
        state,
        session.token_hash,
        client,
        form,
        checked,
    ));
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("batch creation task failed: {e}")))?
}

/// Why a batch with a mail server asks for the passphrase.
/// Why a contact needs the passphrase.
const CONTACT_NEEDS_IT: &str = "It is needed to name a contact: who users are told to ask is a \
     signed setting, like the organisation.";

const IMAP_NEEDS_IT: &str = "It is needed to check passwords against a mail server, because \
                             every password of the batch will go to that server.";

/// The problems about one field, joined, if any.
fn about(problems: &[Problem], field: &str) -> Option<String> {
    let texts: Vec<&str> = problems
        .iter()
        .filter(|p| p.field == field)
        .map(|p| p.text.as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join(" "))
}

/// The `aria-describedby` of a field: its hint, and its error when it has one.
fn described(hint: Option<&str>, field: &str, error: Option<&String>) -> Option<String> {
    let error_id = error.map(|_| format!("{field}-error"));
    let ids: Vec<&str> = hint.into_iter().chain(error_id.as_deref()).collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The new-batch form, each problem beside its field and listed on top.
fn new_batch_page(
    form: &NewBatchForm,
    problems: &[Problem],
    server_zone: &TimeZoneSetting,
) -> Markup {
    let zone = TimeZoneSetting::or_stored(Some(&form.time_zone), server_zone);
    let until = config::parse_link_lifetime(&form.expiry_text())
        .ok()
        .map(|d| {
            format_time_in(
                now().saturating_add(d.as_secs().try_into().unwrap_or(i64::MAX)),
                &zone,
            )
        });
    let e = |field: &str| about(problems, field);
    let (name_e, org_e, file_e, text_e, exp_e, tz_e, next_e, ret_e, imap_e) = (
        e("name"),
        e("org"),
        e("roster_file"),
        e("roster_text"),
        e("expires_number"),
        e("time_zone"),
        e("next_steps"),
        e("retain_after_expiry"),
        e("imap_url").or(e("new-imap-passphrase")),
    );
    let admin_open = form.admin_login.open(problems);
    let contact_open = form.contact.iter().any(|c| !c.trim().is_empty())
        || CONTACT_FIELDS.iter().any(|(name, ..)| e(name).is_some())
        || e("new-contact-passphrase").is_some();
    let lang_e = e("language");
    admin_layout(
        "New batch",
        true,
        html! {
            h1 { "New batch" }
            @if !problems.is_empty() {
                div.error role="alert" id="form-error" {
                    p { strong { "Nothing was created. Please fix:" } }
                    ul { @for p in problems { li { a href={ "#" (p.field) } { (p.text) } } } }
                }
            }
            form method="post" action="/admin/batches" enctype="multipart/form-data" {
                div.field {
                    label for="name" { "Batch name" }
                    input type="text" id="name" name="name" required maxlength="100" value=(form.name)
                        aria-invalid=[invalid(name_e.as_ref())]
                        aria-describedby=[described(None, "name", name_e.as_ref())];
                    (field_error("name", name_e.as_deref()))
                }
                div.field {
                    label for="org" { "Organisation name shown to users" }
                    input type="text" id="org" name="org" maxlength="100" value=(form.org)
                        placeholder="Example Ltd" aria-invalid=[invalid(org_e.as_ref())]
                        aria-describedby=[described(None, "org", org_e.as_ref())];
                    (field_error("org", org_e.as_deref()))
                }
                fieldset.question {
                    legend { "Roster" }
                    p.small id="roster-hint" { "A CSV with a header row: EmailAddress (required), \
                        UserName, DisplayName, AlternateEmail, UserRoot. Microsoft's migration \
                        template with an empty Password column works as is. Upload a file or \
                        paste the rows." }
                    div.field {
                        label for="roster_file" { "Roster file" }
                        input type="file" id="roster_file" name="roster_file" accept=".csv,text/csv"
                            aria-invalid=[invalid(file_e.as_ref())]
                            aria-describedby=[described(Some("roster-hint"), "roster_file", file_e.as_ref())];
                        (field_error("roster_file", file_e.as_deref()))
                    }
                    div.field {
                        label for="roster_text" { "…or paste it here" }
                        textarea id="roster_text" name="roster_text" rows="6"
                            placeholder="EmailAddress,DisplayName\nann@example.org,Ann Lee"
                            aria-invalid=[invalid(text_e.as_ref())]
                            aria-describedby=[described(Some("roster-hint"), "roster_text", text_e.as_ref())]
                            { (form.roster_text) }
                        (field_error("roster_text", text_e.as_deref()))
                    }
                }
                fieldset.question {
                    legend { "Links expire after" }
                    div.inline {
                        label for="expires_number" class="sr-only" { "Number" }
                        input type="number" id="expires_number" name="expires_number" min="1"
                            max="999" required value=(form.expires_number) inputmode="numeric"
                            aria-invalid=[invalid(exp_e.as_ref())]
                            aria-describedby=[described(Some("expires-hint"), "expires_number", exp_e.as_ref())];
                        " "
                        label for="expires_unit" class="sr-only" { "Unit" }
                        select id="expires_unit" name="expires_unit" {
                            @for (value, words) in UNITS {
                                option value=(value) selected[form.expires_unit == value] { (words) }
                            }
                        }
                    }
                    p.small id="expires-hint" {
                        "10 minutes to 90 days. "
                        @if let Some(until) = &until { "Links made now would expire on " strong { (until) } "." }
                    }
                    (field_error("expires_number", exp_e.as_deref()))
                }
                div.field {
                    label for="language" { "Users' language" }
                    select id="language" name="language"
                        aria-invalid=[invalid(lang_e.as_ref())]
                        aria-describedby=[described(Some("language-hint"), "language", lang_e.as_ref())] {
                        @for language in Language::ALL {
                            option value=(language.tag())
                                selected[Language::from_tag(&form.language) == Some(language)] {
                                (language.name()) " (" (language.tag()) ")"
                            }
                        }
                    }
                    p.small id="language-hint" {
                        "For pages and the default email, when neither the roster's Language "
                        "column nor the user's browser names a language passdrop speaks."
                    }
                    (field_error("language", lang_e.as_deref()))
                }
                div.field {
                    label for="time_zone" { "Time zone for this batch's dates" }
                    (time_zone_input("time_zone", &form.time_zone, server_zone,
                        described(Some("time-zone-hint"), "time_zone", tz_e.as_ref()), tz_e.is_some()))
                    p.small id="time-zone-hint" { "An IANA name such as Europe/London. Empty: "
                        (server_zone.name()) ", the server's setting." }
                    (field_error("time_zone", tz_e.as_deref()))
                }
                div.field {
                    label for="next_steps" { "What happens next (shown after a user submits)" }
                    textarea id="next_steps" name="next_steps" rows="3"
                        aria-invalid=[invalid(next_e.as_ref())]
                        aria-describedby=[described(None, "next_steps", next_e.as_ref())]
                        { (form.next_steps) }
                    (field_error("next_steps", next_e.as_deref()))
                }
                label.choice {
                    input type="checkbox" name="ask_mail_client" value="on" checked[form.ask_mail_client];
                    " Ask users how they read their email (spots POP users)"
                }
                fieldset.question {
                    legend { "Automatic purge (if you do not purge it yourself)" }
                    div.field {
                        label for="retain_after_expiry" { "This long after the links expire" }
                        input type="text" id="retain_after_expiry" name="retain_after_expiry"
                            required value=(form.retain_after_expiry)
                            aria-invalid=[invalid(ret_e.as_ref())]
                            aria-describedby=[described(None, "retain_after_expiry", ret_e.as_ref())];
                        (field_error("retain_after_expiry", ret_e.as_deref()))
                    }
                    div.field {
                        label for="retain_after_export" { "…or this long after an export (never before the links of users still pending expire, unless you choose so when exporting)" }
                        input type="text" id="retain_after_export" name="retain_after_export"
                            required value=(form.retain_after_export);
                    }
                }
                details.advanced open[!form.imap_url.trim().is_empty() || imap_e.is_some() || admin_open] {
                    summary { "Check passwords with the old mail server (advanced)" }
                    (field_error("imap_url", imap_e.as_deref()))
                    (pages::imap_fields(&form.imap_url, &form.imap_cert_sha256, &form.imap_ca_pem,
                                 &form.imap_when_unreachable))
                    (admin_fields::fieldset(&form.admin_login, problems))
                    (pages::imap_passphrase("new-imap-passphrase"))
                }
                details.advanced open[contact_open] {
                    summary { "Who is asking: the contact users may ask" }
                    p.small { "Shown on the form, on every page a link can end on, and signing the default email. "
                        "Logo, accent colour and link prefix: on the batch's \"who is asking\" page once it exists." }
                    @for (i, (name, label, kind, autocomplete)) in CONTACT_FIELDS.into_iter().enumerate() {
                        @let err = e(name);
                        div.field {
                            label for=(name) { (label) }
                            input type=(kind) id=(name) name=(name) value=(form.contact[i])
                                autocomplete=(autocomplete)
                                aria-invalid=[invalid(err.as_ref())]
                                aria-describedby=[described(None, name, err.as_ref())];
                            (field_error(name, err.as_deref()))
                        }
                    }
                    (field_error("new-contact-passphrase", e("new-contact-passphrase").as_deref()))
                    (optional_passphrase_field("new-contact-passphrase", "Admin passphrase (a contact is a signed setting)"))
                }
                button type="submit" { "Create batch" }
            }
        },
    )
}
