//! Batches: the list, the new-batch form and its roster upload, each batch's page, and
//! the two per-user actions on it (reissue a link, revoke one). Thin: parse, call
//! `batch`, render.
//!
//! A batch that checks passwords against a mail server, and a reissue (it shows a new
//! link), take the passphrase in the same request; see SECURITY.md, "Session versus
//! authority". A revoke does not: it only stops a link that has taken nothing yet.

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::batch_page::{self as pages, Filter};
use super::layout::{admin_layout, notice_box, passphrase_form};
use super::{
    AdminSession, ClientKey, FlashQuery, Refused, live_batch, mailto, refused, render_batch_page,
    see_other, shown_once, unlock_throttled,
};
use crate::batch::{self, BatchError, IssuedLink, NewBatch};
use crate::config::{self, format_time, now};
use crate::i18n::Language;
use crate::imap::{ImapSettings, WhenUnreachable};
use crate::roster::parse_roster;
use crate::storage::{Batch, BatchSummary, StoreError, Tombstone};
use crate::web::{AppError, AppState};
use secrecy::ExposeSecret as _;

/// `?show=` on the batch page.
#[derive(Deserialize)]
pub struct ShowQuery {
    show: Option<String>,
}

/// The recipient a reissue or revoke is about (a reissue also takes the passphrase).
#[derive(Deserialize)]
pub struct RecipientForm {
    email: String,
    #[serde(default)]
    passphrase: String,
}

/// `GET /admin`: the batches page (or the login page when logged out).
pub async fn home(_session: AdminSession) -> Redirect {
    Redirect::to("/admin/batches")
}

/// `GET /admin/batches` (with `?flash=` after a setup or a purge).
pub async fn list(
    State(state): State<AppState>,
    session: AdminSession,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let list = state.store.list_batches().await?;
    let tombstones = state.store.list_tombstones().await?;
    let notice = shown_once(&state, &session, &flash);
    Ok(list_page(&list, &tombstones, now(), notice).into_response())
}

/// `GET /admin/batches/new`.
pub async fn new(State(state): State<AppState>, _session: AdminSession) -> Response {
    let form = NewBatchForm {
        language: state.config.language.tag().to_owned(),
        expires_in: config::DEFAULT_EXPIRES_IN.to_owned(),
        retain_after_expiry: batch::DEFAULT_RETAIN_AFTER_EXPIRY.to_owned(),
        retain_after_export: batch::DEFAULT_RETAIN_AFTER_EXPORT.to_owned(),
        ask_mail_client: true,
        imap_when_unreachable: WhenUnreachable::AskToRetry.as_str().to_owned(),
        ..NewBatchForm::default()
    };
    new_batch_page(&form, &[]).into_response()
}

/// What the new-batch form shows again after a refusal.
#[derive(Default)]
struct NewBatchForm {
    /// Name typed.
    name: String,
    /// Organisation typed.
    org: String,
    /// Link lifetime typed.
    expires_in: String,
    /// Next steps typed.
    next_steps: String,
    /// The users' default language chosen (a tag; empty: the server's).
    language: String,
    /// Whether the question is on.
    ask_mail_client: bool,
    /// Retention after expiry typed.
    retain_after_expiry: String,
    /// Retention after the first export typed.
    retain_after_export: String,
    /// Pasted roster.
    roster_text: String,
    /// IMAP server to check passwords against (empty: none).
    imap_url: String,
    /// Certificate fingerprint to pin.
    imap_cert_sha256: String,
    /// Certificate authority (PEM) to trust.
    imap_ca_pem: String,
    /// `retry` or `accept`.
    imap_when_unreachable: String,
    /// The admin passphrase, needed with a mail server; never shown again.
    passphrase: String,
}

/// Reads the new-batch form: its fields, and the roster file's bytes.
async fn read_new_batch(mut multipart: Multipart) -> Result<(NewBatchForm, Vec<u8>), String> {
    // Fields a script may leave out take their defaults.
    let mut form = NewBatchForm {
        retain_after_expiry: batch::DEFAULT_RETAIN_AFTER_EXPIRY.to_owned(),
        retain_after_export: batch::DEFAULT_RETAIN_AFTER_EXPORT.to_owned(),
        imap_when_unreachable: WhenUnreachable::AskToRetry.as_str().to_owned(),
        ..NewBatchForm::default()
    };
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
            "expires_in" => form.expires_in = text(),
            "next_steps" => form.next_steps = text(),
            "language" => form.language = text(),
            "retain_after_expiry" => form.retain_after_expiry = text(),
            "retain_after_export" => form.retain_after_export = text(),
            "ask_mail_client" => form.ask_mail_client = true,
            "roster_text" => form.roster_text = text(),
            "imap_url" => form.imap_url = text(),
            "imap_cert_sha256" => form.imap_cert_sha256 = text(),
            "imap_ca_pem" => form.imap_ca_pem = text(),
            "imap_when_unreachable" => form.imap_when_unreachable = text(),
            "passphrase" => form.passphrase = text(),
            // The file is parsed as bytes, so encoding problems get their line numbers.
            "roster_file" => file = bytes.to_vec(),
            _ => {}
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
    let (mut form, file) = match read_new_batch(multipart).await {
        Ok(read) => read,
        Err(problem) => {
            let form = NewBatchForm {
                ask_mail_client: true,
                ..NewBatchForm::default()
            };
            return Ok(Refused::unprocessable(new_batch_page(&form, &[problem])).into_response());
        }
    };
    let refuse = |form: &NewBatchForm, problems: &[String]| {
        Refused::unprocessable(new_batch_page(form, problems)).into_response()
    };
    let mut problems = Vec::new();
    let lifetime = config::parse_link_lifetime(&form.expires_in)
        .map_err(|e| problems.push(format!("Links expire after: {e}")))
        .ok();
    let retention = batch::Retention::parse(&form.retain_after_expiry, &form.retain_after_export)
        .map_err(|e| problems.push(format!("Automatic purge: {e}")))
        .ok();
    let language = match form.language.trim() {
        "" => None,
        tag => Language::parse_setting(tag)
            .map_err(|e| problems.push(format!("Language: {e}")))
            .ok(),
    };
    let roster_bytes = match (file.is_empty(), form.roster_text.trim().is_empty()) {
        (false, true) => Some(file.as_slice()),
        (true, false) => Some(form.roster_text.as_bytes()),
        (false, false) => {
            problems.push("Give the roster either as a file or pasted, not both.".to_owned());
            None
        }
        (true, true) => {
            problems.push("The roster is missing: upload a CSV file or paste its rows.".to_owned());
            None
        }
    };
    let imap = ImapSettings::from_fields(
        &form.imap_url,
        &form.imap_cert_sha256,
        &form.imap_ca_pem,
        &form.imap_when_unreachable,
    )
    .map_err(|e| problems.push(format!("Old mail server: {e}")))
    .ok();
    let roster = roster_bytes.and_then(|bytes| {
        parse_roster(bytes)
            .map_err(|e| problems.extend(e.problems.iter().map(|p| format!("Roster {p}"))))
            .ok()
    });
    let (Some(lifetime), Some(retention), Some(roster), Some(imap)) =
        (lifetime, retention, roster, imap)
    else {
        return Ok(refuse(&form, &problems));
    };
    if !problems.is_empty() {
        return Ok(refuse(&form, &problems));
    }
    // Before the server is even tested: the test itself connects where the form says.
    let passphrase = std::mem::take(&mut form.passphrase);
    let mut admin = None;
    if imap.is_some() {
        match unlock_throttled(&state, client, passphrase).await {
            Ok(unlocked) => admin = Some(unlocked),
            Err(refusal) => {
                return refusal.respond(|why| {
                    new_batch_page(&form, &[format!("Admin passphrase: {why} {IMAP_NEEDS_IT}")])
                });
            }
        }
    }
    let request = NewBatch {
        name: form.name.clone(),
        org_name: Some(form.org.clone()),
        link_lifetime: lifetime,
        next_steps: Some(form.next_steps.clone()),
        ask_mail_client: form.ask_mail_client,
        retention,
        roster,
        imap,
        language,
    };
    // With the passphrase the batch is signed now; without it, when its links are first
    // opened (which takes the passphrase).
    let created = match &admin {
        Some(admin) => {
            batch::create_signed(
                &state.store,
                &state.config.public_url,
                request,
                now(),
                admin,
            )
            .await
        }
        None => batch::create(&state.store, &state.config.public_url, request, now()).await,
    };
    match created {
        Ok((created, links)) => {
            let notice = html! {
                p { strong { "Batch created with " (links.len())
                    @if links.len() == 1 { " link." } @else { " links." } }
                    " Nothing has been sent yet: email the links below, or get them as a CSV." }
            };
            drop(links);
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", created.id),
                notice,
            )
        }
        Err(
            e @ (BatchError::InvalidName(_) | BatchError::Store(StoreError::DuplicateBatchName(_))),
        ) => Ok(refuse(&form, &[e.to_string()])),
        Err(BatchError::ImapUnusable(report)) => {
            let mut problems = vec![format!(
                "Old mail server: passwords cannot be checked against {}.",
                report.server
            )];
            problems.extend(
                report
                    .lines()
                    .into_iter()
                    .skip(1)
                    .map(|(label, value)| format!("{label}: {value}")),
            );
            Ok(refuse(&form, &problems))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/batches/{id}` (with `?flash=` after an action on the batch).
pub async fn show(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
    Query(flash): Query<FlashQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let notice = shown_once(&state, &session, &flash);
    render_batch_page(&state, &b, Filter::parse(query.show.as_deref()), notice).await
}

/// Why a batch with a mail server asks for the passphrase.
const IMAP_NEEDS_IT: &str = "It is needed to check passwords against a mail server, because \
                             every password of the batch will go to that server.";

/// `GET /admin/batches/{id}/reissue?email=`: what a reissue does, and the passphrase.
pub async fn reissue_form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    Query(form): Query<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    Ok(reissue_page(&b, &form.email, None).into_response())
}

/// `POST /admin/batches/{id}/reissue`: a new link, then 303 to the batch page, which
/// shows it once (a flash in memory: reloading that page never reissues again). It
/// takes the passphrase: the new link opens the user's form (and replaces what they
/// may have submitted), so a stolen session must not be enough to get one.
pub async fn reissue(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        // A batch made without the passphrase is signed now, or the new link would take
        // no password.
        Ok(admin) => batch::sign_new_batch(&state.store, &admin, &b).await?,
        Err(refusal) => return refusal.respond(|why| reissue_page(&b, &form.email, Some(why))),
    }
    // Read before the reissue: after it, the new link is shown once and must not be
    // lost to a later error.
    let to = match state.store.recipient(&b, &form.email).await {
        Ok(r) => r.alternate_email.unwrap_or(r.email),
        Err(StoreError::NoSuchRecipient { .. }) => {
            return refused(&state, &b, no_such_recipient()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let relay = pages::relay_description(&state).await?;
    let link = match batch::reissue(
        &state.store,
        &state.config.public_url,
        &b,
        &form.email,
        now(),
    )
    .await
    {
        Ok(link) => link,
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => {
            return refused(&state, &b, no_such_recipient()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let notice = html! {
        (reissued_notice(&link, &to, &b))
        @if relay.is_some() {
            p { (pages::email_one_button(&link.email)) }
        }
    };
    drop(link);
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}", b.id),
        notice,
    )
}

/// The notice when a reissue or revoke names someone not in the batch.
fn no_such_recipient() -> Markup {
    html! { p { "That address is not in this batch; nothing was changed." } }
}

/// `POST /admin/batches/{id}/revoke`: 303 to the batch page, which says so once.
pub async fn revoke(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Form(form): Form<RecipientForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    match batch::revoke(&state.store, &b, &form.email).await {
        Ok(()) => {
            let notice = html! { p { "The link of " (form.email) " is revoked." } };
            see_other(
                &state,
                &session,
                &format!("/admin/batches/{}", b.id),
                notice,
            )
        }
        Err(e @ BatchError::NothingToRevoke(_)) => {
            refused(
                &state,
                &b,
                html! { p { (super::sentence(&e.to_string())) " Nothing was changed." } },
            )
            .await
        }
        Err(BatchError::Store(StoreError::NoSuchRecipient { .. })) => {
            refused(&state, &b, no_such_recipient()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Before a reissue: what it does, and the passphrase.
fn reissue_page(b: &Batch, email: &str, error: Option<&str>) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    admin_layout(
        "Reissue a link",
        true,
        html! {
            h1 { "Reissue the link of " (email) }
            p { "The current link stops working at once. The new one is shown once, on the \
                 next page, ready to send (reloading that page does not reissue again, and \
                 no longer shows it). Your passphrase is asked again because the new link \
                 opens this user's form." }
            (passphrase_form(&format!("{base}/reissue"), error, html! {
                input type="hidden" name="email" value=(email);
                button type="submit" { "Reissue the link" }
            }))
            p { a href=(base) { "Back to the batch" } }
        },
    )
}

/// Shown after a reissue: the new link, once.
fn reissued_notice(link: &IssuedLink, to: &str, b: &Batch) -> Markup {
    html! {
        p { "New link for " strong { (link.email) } " (the old one no longer works):" }
        p { code.link { (link.link.expose_secret()) } }
        p { a href=(mailto(to, link, b)) { "Write it to " (to) " yourself" } }
        p.small { "This link is shown this once: reloading the page does not show it again \
                   (and does not reissue). To get another, reissue again." }
    }
}

/// Every batch, with progress, and the tombstones of purged ones; `notice` on top.
fn list_page(
    list: &[BatchSummary],
    tombstones: &[Tombstone],
    now: i64,
    notice: Option<Markup>,
) -> Markup {
    admin_layout(
        "Batches",
        true,
        html! {
            h1 { "Batches" }
            (notice_box(notice))
            @if list.is_empty() {
                p { "No batches yet. " a href="/admin/batches/new" { "Create the first one" } "." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Links valid until" } th { "Progress" } th { "Purged automatically" } } }
                    tbody {
                        @for s in list {
                            tr {
                                td { a href={ "/admin/batches/" (s.batch.id) } { (s.batch.name) } }
                                td {
                                    (format_time(s.batch.expires_at))
                                    @if s.batch.expires_at <= now { " " span.badge { "expired" } }
                                }
                                td {
                                    progress value=(s.submitted) max=(s.recipients.max(1)) {
                                        (s.submitted) " of " (s.recipients)
                                    }
                                    " " (s.submitted) " / " (s.recipients)
                                }
                                td { (format_time(batch::automatic_purge_at(&s.batch))) }
                            }
                        }
                    }
                }
            }
            @if !tombstones.is_empty() {
                h2 { "Purged" }
                table {
                    thead { tr { th { "Name" } th { "Created" } th { "Purged" } th { "Submitted" } } }
                    tbody {
                        @for t in tombstones {
                            tr {
                                td { a href={ "/admin/purged/" (t.batch_id) } { (t.name) } }
                                td { (format_time(t.created_at)) }
                                td { (format_time(t.purged_at)) }
                                td { (t.submitted) " of " (t.recipients) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The new-batch form, with every problem listed.
fn new_batch_page(form: &NewBatchForm, problems: &[String]) -> Markup {
    admin_layout(
        "New batch",
        true,
        html! {
            h1 { "New batch" }
            @if !problems.is_empty() {
                div.error role="alert" id="form-error" {
                    p { strong { "Nothing was created. Please fix:" } }
                    ul { @for p in problems { li { (p) } } }
                }
            }
            form method="post" action="/admin/batches" enctype="multipart/form-data" {
                div.field {
                    label for="name" { "Batch name" }
                    input type="text" id="name" name="name" required maxlength="100" value=(form.name);
                }
                div.field {
                    label for="org" { "Organisation name shown to users" }
                    input type="text" id="org" name="org" maxlength="100" value=(form.org)
                        placeholder="Example Ltd";
                }
                div.field {
                    label for="language" { "Users' language" }
                    select id="language" name="language" aria-describedby="language-hint" {
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
                }
                div.field {
                    label for="expires_in" { "Links expire after" }
                    input type="text" id="expires_in" name="expires_in" required value=(form.expires_in)
                        aria-describedby="expires-hint";
                    p.small id="expires-hint" { "For example 7d, 48h or 2w (10 minutes to 90 days)." }
                }
                div.field {
                    label for="next_steps" { "What happens next (shown after a user submits)" }
                    textarea id="next_steps" name="next_steps" rows="3" { (form.next_steps) }
                }
                fieldset.question {
                    legend { "Automatic purge (if you do not purge it yourself)" }
                    div.field {
                        label for="retain_after_expiry" { "This long after the links expire" }
                        input type="text" id="retain_after_expiry" name="retain_after_expiry"
                            required value=(form.retain_after_expiry);
                    }
                    div.field {
                        label for="retain_after_export" { "…or this long after an export (never before the links of users still pending expire, unless you choose so when exporting)" }
                        input type="text" id="retain_after_export" name="retain_after_export"
                            required value=(form.retain_after_export);
                    }
                }
                label.choice {
                    input type="checkbox" name="ask_mail_client" value="on" checked[form.ask_mail_client];
                    " Ask users how they read their email (spots POP users)"
                }
                fieldset.question {
                    legend { "Check each password with the old mail server (optional)" }
                    (pages::imap_fields(&form.imap_url, &form.imap_cert_sha256, &form.imap_ca_pem,
                                 &form.imap_when_unreachable))
                    (pages::imap_passphrase("new-imap-passphrase"))
                }
                fieldset.question {
                    legend { "Roster" }
                    p.small { "A CSV with a header row: EmailAddress (required), UserName, DisplayName, \
                               AlternateEmail, UserRoot. Microsoft's migration template with an empty \
                               Password column works as is. Upload a file or paste the rows." }
                    div.field {
                        label for="roster_file" { "Roster file" }
                        input type="file" id="roster_file" name="roster_file" accept=".csv,text/csv";
                    }
                    div.field {
                        label for="roster_text" { "…or paste it here" }
                        textarea id="roster_text" name="roster_text" rows="6"
                            placeholder="EmailAddress,DisplayName\nann@example.org,Ann Lee" { (form.roster_text) }
                    }
                }
                button type="submit" { "Create batch" }
            }
        },
    )
}
