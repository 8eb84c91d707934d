//! The end of a batch: the Microsoft 365 CSV (made on request, never stored), the purge
//! after it, and the tombstone that remains.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::batch_page::audit_words;
use super::layout::{admin_layout, error_box, passphrase_field, passphrase_form, when};
use super::{
    AdminSession, ClientKey, Refusal, Refused, file_download, live_batch, safe_file_name,
    see_other, unlock_throttled, zone_of,
};
use crate::batch::{self, ExportOutlook, PendingUser, PurgeChoice, PurgePlan};
use crate::config::{TimeZoneSetting, format_time_in, now};
use crate::export::imapsync::DestLogin;
use crate::export::powershell::DEFAULT_MAX_CONCURRENT;
use crate::export::{Format, Target, closing_checklist};
use crate::storage::{AuditEvent, Batch, StoreError, Tombstone};
use crate::web::{AppError, AppState};

/// The export form: the passphrase, whether the admin has seen the warning about
/// passwords that look like spreadsheet formulas, and what the export does to the
/// automatic purge (`PurgeChoice`; absent: the default).
#[derive(Deserialize)]
pub struct ExportForm {
    passphrase: String,
    #[serde(default)]
    formula_ok: Option<String>,
    #[serde(default)]
    purge: Option<String>,
    /// `export::Format::as_str` (absent: m365).
    #[serde(default)]
    format: Option<String>,
    /// imapsync: the destination host, used for this file only.
    #[serde(default)]
    dest_host: Option<String>,
    /// imapsync: `email` or `user-name`.
    #[serde(default)]
    dest_login: Option<String>,
    #[serde(default)]
    include_stale: Option<String>,
}

impl ExportForm {
    /// The chosen format and what the file is rendered as, or why not.
    fn target(&self, b: &Batch) -> Result<(Format, Target), String> {
        let format = match self.format.as_deref() {
            None | Some("") => Format::M365,
            Some(value) => Format::parse(value).ok_or("Choose one of the formats.")?,
        };
        let target = match format {
            Format::M365 | Format::M365PowerShell => Target::M365,
            Format::MigrationWiz => Target::MigrationWiz,
            Format::Gwmme => Target::Gwmme,
            Format::Imapsync => {
                let login = match self.dest_login.as_deref() {
                    None | Some("") => DestLogin::Email,
                    Some(value) => {
                        DestLogin::parse(value).ok_or("Choose the destination login.")?
                    }
                };
                let host = self.dest_host.as_deref().unwrap_or_default();
                batch::imapsync_target(b, host, login).map_err(|e| e.to_string())?
            }
        };
        Ok((format, target))
    }
}

/// `?missing=all` lists every user who has not submitted, not only the first ones.
#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    missing: Option<String>,
}

/// How many users who have not submitted the export page names before "show all".
const PENDING_SHOWN: usize = 20;

/// The purge confirmation, the passphrase, and (when some passwords are in no
/// downloaded file) the fingerprint of the list the admin chose to discard.
#[derive(Deserialize)]
pub struct PurgeForm {
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    discard: Option<String>,
    #[serde(default)]
    passphrase: String,
}

/// Why a purge is refused while some passwords are in no downloaded file and the form
/// did not discard exactly those (`Unexported::discarded_by`); `None` when it may go on.
fn unexported_refusal(outlook: &ExportOutlook, discard: Option<&str>) -> Option<String> {
    let lost = &outlook.unexported;
    if lost.discarded_by(discard) {
        return None;
    }
    let n = lost.emails.len();
    let users = if n == 1 {
        "user's password is"
    } else {
        "users' passwords are"
    };
    Some(if discard.is_some_and(|d| !d.is_empty()) {
        format!(
            "The list changed while the page was open: {n} {users} now in no downloaded file \
             (listed above). Nothing was purged; download again, or tick the box for this list."
        )
    } else {
        format!(
            "{n} {users} in no downloaded file (listed above). Nothing was purged; download \
             again first, or tick “Purge anyway” to destroy them."
        )
    })
}

/// `GET /admin/batches/{id}/export`.
pub async fn form(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let outlook = batch::export_outlook(&state.store, &b, now()).await?;
    let all = query.missing.as_deref() == Some("all");
    Ok(export_page(&zone_of(&state, &b), &b, &outlook, all, None, None).into_response())
}

/// Who has not submitted, the purge date and the last export, for the export page.
async fn outlook(state: &AppState, b: &Batch) -> Result<ExportOutlook, AppError> {
    Ok(batch::export_outlook(&state.store, b, now()).await?)
}

/// `POST /admin/batches/{id}/export`: the Microsoft 365 CSV as a download; nothing is
/// stored on the server. When passwords look like spreadsheet formulas, a page naming
/// their users comes first (a download cannot carry a warning), and the file only
/// after the admin has read it.
pub async fn submit(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<ExportForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let (format, target) = match form.target(&b) {
        Ok(chosen) => chosen,
        Err(why) => {
            let outlook = outlook(&state, &b).await?;
            let page = export_page(&zone_of(&state, &b), &b, &outlook, false, Some(&why), None);
            return Ok(Refused::unprocessable(page).into_response());
        }
    };
    let choice = match form.purge.as_deref() {
        None | Some("") => PurgeChoice::AfterLinksExpire,
        Some(value) => match PurgeChoice::parse(value) {
            Some(choice) => choice,
            None => {
                let outlook = outlook(&state, &b).await?;
                let page = export_page(
                    &zone_of(&state, &b),
                    &b,
                    &outlook,
                    false,
                    Some("Choose what the download does to the automatic purge."),
                    None,
                );
                return Ok(Refused::unprocessable(page).into_response());
            }
        },
    };
    let admin = match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        Ok(key) => key,
        Err(Refusal::Internal(e)) => return Err(e),
        Err(refusal) => {
            let outlook = outlook(&state, &b).await?;
            return refusal.respond(|why| {
                export_page(&zone_of(&state, &b), &b, &outlook, false, Some(why), None)
            });
        }
    };
    let include_stale = form.include_stale.as_deref() == Some("yes");
    let prepared =
        batch::prepare_export(&state.store, &b, &admin, &target, None, include_stale).await;
    drop(admin);
    let exported = match prepared {
        Ok(exported) => exported,
        // A value the format cannot carry: its row is named, nothing is recorded.
        Err(batch::BatchError::Export(e)) => {
            let outlook = outlook(&state, &b).await?;
            let why = format!("{e}.");
            let page = export_page(&zone_of(&state, &b), &b, &outlook, false, Some(&why), None);
            return Ok(Refused::unprocessable(page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    if !exported.formula_risk.is_empty() && form.formula_ok.as_deref() != Some("yes") {
        return Ok(formula_page(&b, &exported.formula_risk, choice, &form).into_response());
    }
    batch::record_export_of(&state.store, &b, &exported, choice, now()).await?;
    let content_type = match format.extension() {
        "csv" => "text/csv; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    Ok(file_download(
        exported.csv,
        &download_name(&b, target.format()),
        format.extension(),
        content_type,
    ))
}

/// The download's name (without extension): the CSV beside the PowerShell script is
/// the m365 file, so the script can name it.
fn download_name(b: &Batch, format: Format) -> String {
    format!("passdrop-{}-{}", b.name, format.as_str())
}

/// `GET /admin/batches/{id}/export/script`: the PowerShell script for the Microsoft 365
/// CSV this page downloads. It holds no password (only the batch's name and old server,
/// which the session already shows), so it takes no passphrase.
pub async fn script(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let csv_name = format!("{}.csv", safe_file_name(&download_name(&b, Format::M365)));
    match batch::powershell_script(
        &state.store,
        &state.config.settings_key,
        &b,
        &csv_name,
        DEFAULT_MAX_CONCURRENT,
    )
    .await
    {
        Ok(script) => Ok(file_download(
            zeroize::Zeroizing::new(script.into_bytes()),
            &format!("passdrop-{}-m365", b.name),
            "ps1",
            "text/plain; charset=utf-8",
        )),
        Err(e) => {
            let outlook = outlook(&state, &b).await?;
            let why = format!("{e}.");
            let page = export_page(&zone_of(&state, &b), &b, &outlook, false, Some(&why), None);
            Ok(Refused::unprocessable(page).into_response())
        }
    }
}

/// `POST /admin/batches/{id}/purge`: after the "I have saved the file" confirmation,
/// and with the passphrase: a purge destroys every collected password, so a session
/// alone must not be enough. Then 303 to the batches, which say so once.
pub async fn purge(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(mut form): Form<PurgeForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    if form.confirm.as_deref() != Some("yes") {
        let outlook = outlook(&state, &b).await?;
        let page = export_page(
            &zone_of(&state, &b),
            &b,
            &outlook,
            false,
            None,
            Some("Tick the box to confirm the file is saved."),
        );
        return Ok(Refused::unprocessable(page).into_response());
    }
    // Checked before the passphrase (a refusal costs no attempt); what may be destroyed
    // is then exactly this list, checked again where the key is destroyed.
    let refuse_unexported = |outlook: &ExportOutlook| {
        unexported_refusal(outlook, form.discard.as_deref()).map(|why| {
            let page = export_page(&zone_of(&state, &b), &b, outlook, false, None, Some(&why));
            Refused::new(axum::http::StatusCode::CONFLICT, page).into_response()
        })
    };
    let shown = outlook(&state, &b).await?;
    if let Some(refused) = refuse_unexported(&shown) {
        return Ok(refused);
    }
    match unlock_throttled(&state, client, std::mem::take(&mut form.passphrase)).await {
        Ok(admin) => drop(admin),
        Err(Refusal::Internal(e)) => return Err(e),
        Err(refusal) => {
            let outlook = outlook(&state, &b).await?;
            return refusal.respond(|why| {
                export_page(&zone_of(&state, &b), &b, &outlook, false, None, Some(why))
            });
        }
    }
    match batch::purge_discarding(&state.store, &b, now(), &shown.unexported).await {
        Ok(_) => {}
        // A user submitted during the passphrase check: nothing was purged.
        Err(batch::BatchError::Store(StoreError::MoreUnexported)) => {
            let fresh = outlook(&state, &b).await?;
            return Ok(refuse_unexported(&fresh).unwrap_or_else(|| {
                let why = "A user submitted while the passphrase was checked. Nothing was \
                           purged; look at the lists again, then purge.";
                let page = export_page(&zone_of(&state, &b), &b, &fresh, false, None, Some(why));
                Refused::new(axum::http::StatusCode::CONFLICT, page).into_response()
            }));
        }
        Err(e) => return Err(e.into()),
    }
    let notice = html! { p { strong { "Purged " (b.name) ": nothing readable remains." } } };
    see_other(&state, &session, "/admin/batches", notice)
}

/// `GET /admin/purged/{id}`: what remains of a purged batch: its tombstone and audit
/// trail, no user data.
pub async fn tombstone(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some(tombstone) = state.store.find_tombstone(&id).await? else {
        return Err(AppError::Gone(
            "No such batch",
            "No purged batch has this id.",
        ));
    };
    let audit = state.store.audit_trail(&tombstone.batch_id).await?;
    Ok(tombstone_page(&tombstone, &audit, &state.config.time_zone).into_response())
}

/// The export page: who has not submitted, the last export, the passphrase for the
/// download with what it does to the automatic purge, then the purge confirmation
/// (naming the users whose links it stops) and the passphrase again; each form with its
/// own problem, if any.
fn export_page(
    tz: &TimeZoneSetting,
    b: &Batch,
    outlook: &ExportOutlook,
    show_all: bool,
    error: Option<&str>,
    purge_error: Option<&str>,
) -> Markup {
    let format_time = |t| format_time_in(t, tz);
    let pending = outlook.pending.len();
    let live: Vec<&PendingUser> = outlook.with_live_links().collect();
    admin_layout(
        "Export",
        true,
        html! {
            h1 { "Export " (b.name) }
            @if let Some((rows, at)) = outlook.last_export {
                p.notice { strong { "Last export: " (rows) @if rows == 1 { " row" } @else { " rows" } }
                    " written at " (format_time(at)) ". The automatic purge is now on "
                    strong { (format_time(outlook.purge_at)) } "." }
            }
            @if pending > 0 {
                h2 { "Who has not submitted (" (pending) ")" }
                p { strong { (pending) @if pending == 1 { " user has" } @else { " users have" } }
                    " not submitted yet; they will not be in the file." }
                (pending_list(tz, b, &outlook.pending, show_all))
            } @else {
                p { "Every user has submitted." }
            }
            h2 { "1. Download the Microsoft 365 CSV, or another format" }
            p { "The file is made now and sent only to your browser; it is never stored on the \
                 server. Keep it safe and delete it after the migration." }
            (formula_note())
            (recheck_note(tz, b, outlook))
            (passphrase_form(&format!("/admin/batches/{}/export", b.id), error, html! {
                (format_choice(b))
                @if !outlook.password_changed.is_empty() {
                    label.choice {
                        input type="checkbox" name="include_stale" value="yes";
                        span { " Include the " (outlook.password_changed.len())
                            " users whose password changed since collection (their rows will fail)" }
                    }
                }
                (purge_choices(tz, b, outlook))
                button type="submit" { "Download" }
            }))
            (checklist(Format::M365))
            h2 { "2. Purge the batch" }
            p { "Once the file is saved, purge: the batch key, every password, link and roster \
                 row are deleted for good. If you do nothing, the batch is purged on "
                strong { (format_time(outlook.purge_at)) } "." }
            @if !live.is_empty() {
                div.error role="alert" {
                    p { strong { (live.len()) @if live.len() == 1 { " user has" } @else { " users have" } }
                        " not submitted and " @if live.len() == 1 { "their link still works" } @else { "their links still work" }
                        ". Purging now stops " @if live.len() == 1 { "it" } @else { "them" }
                        " at once: they will be told the collection has closed." }
                    ul { @for p in live.iter().take(if show_all { usize::MAX } else { PENDING_SHOWN }) { li { (user_words(tz, p)) } } }
                    @if live.len() > PENDING_SHOWN && !show_all {
                        p { "and " (live.len() - PENDING_SHOWN) " more (" a href={ "/admin/batches/" (b.id) "/export?missing=all" } { "show all" } ")." }
                    }
                }
            }
            (unexported_note(tz, b, outlook, show_all))
            form method="post" action={ "/admin/batches/" (b.id) "/purge" } {
                (error_box(purge_error))
                @if !outlook.unexported.is_empty() {
                    label.choice {
                        input type="checkbox" name="discard" value=(outlook.unexported.fingerprint) aria-describedby="unexported";
                        span { " Purge anyway: destroy the " (outlook.unexported.emails.len())
                            @if outlook.unexported.emails.len() == 1 { " password" } @else { " passwords" }
                            " named above, which no downloaded file holds" }
                    }
                }
                label.choice {
                    input type="checkbox" name="confirm" value="yes" required;
                    span {
                        @if live.is_empty() { " I have saved the CSV file" }
                        @else { " I have saved the CSV file, and the links above stop working now" }
                    }
                }
                (passphrase_field("purge-passphrase", "Admin passphrase"))
                button.danger type="submit" { "Purge now" }
            }
            p { a href={ "/admin/batches/" (b.id) } { "Back to the batch" } }
        },
    )
}

/// Whose password is in no downloaded file (they submitted after the last download, or
/// nothing was downloaded yet): a purge would destroy it with nothing to migrate from.
fn unexported_note(
    tz: &TimeZoneSetting,
    b: &Batch,
    outlook: &ExportOutlook,
    show_all: bool,
) -> Markup {
    let lost = &outlook.unexported.emails;
    let n = lost.len();
    html! {
        @if n > 0 {
            div.error role="note" id="unexported" {
                p { strong { (n) @if n == 1 { " user's password is" } @else { " users' passwords are" }
                    " in no file you downloaded" }
                    @match outlook.last_export {
                        Some((_, at)) => { ": no download was recorded since they submitted (the last was at " (format_time_in(at, tz)) ")" }
                        None => { ": no file has been downloaded yet" }
                    }
                    ". " @if outlook.last_export.is_some() { "Download again" } @else { "Download the file" }
                    " (step 1) to keep " @if n == 1 { "it" } @else { "them" }
                    "; a purge destroys " @if n == 1 { "it." } @else { "them." } }
                ul { @for e in lost.iter().take(if show_all { usize::MAX } else { PENDING_SHOWN }) { li { (e) } } }
                @if n > PENDING_SHOWN && !show_all {
                    p { "and " (n - PENDING_SHOWN) " more (" a href={ "/admin/batches/" (b.id) "/export?missing=all" } { "show all" } ")." }
                }
            }
        }
    }
}

/// When the passwords were last re-checked with the old server, and whose no longer
/// works (left out of the file unless included).
fn recheck_note(tz: &TimeZoneSetting, b: &Batch, outlook: &ExportOutlook) -> Markup {
    let readiness = format!("/admin/batches/{}/readiness", b.id);
    html! {
        @match outlook.last_recheck {
            None => p { "The passwords have not been re-checked with the old server since                 collection. " a href=(readiness) { "Readiness and re-check" } },
            Some(r) => p.notice {
                strong { "Last re-check: " } (format_time_in(r.started_at, tz)) ": "
                (r.done) " of " (r.total) " checked, " strong { (r.failed) " failed" }
                @if r.inconclusive > 0 { ", " (r.inconclusive) " without a clear answer" }
                @if r.finished_at.is_none() { " (still running, or cut short)" }
                ". " a href=(readiness) { "Readiness and re-check" }
            },
        }
        @if let Some(at) = outlook.admin_password_refused {
            div.error role="note" id="admin-password-refused" {
                p { strong { "The old server refused the admin password" } " at the re-check of "
                    (format_time_in(at, tz)) ": the rows of the users its admin login covers would \
                    carry a password it no longer takes, so the file leaves them out unless you tick \
                    the box below. Set the admin login again (batch page), or re-check once the old \
                    server takes it again." }
            }
        }
        @if !outlook.password_changed.is_empty() {
            div.error role="note" {
                p { strong { (outlook.password_changed.len()) " users' passwords no longer work" }
                    " (changed since collection, or the old server's admin login no longer opens their mailbox); the file leaves them out unless you tick the box below:" }
                ul { @for e in &outlook.password_changed { li { (e) } } }
            }
        }
    }
}

/// A pending user in words: name, address, and whether their link still works.
fn user_words(tz: &TimeZoneSetting, p: &PendingUser) -> Markup {
    let format_time = |t| format_time_in(t, tz);
    html! {
        @if let Some(name) = &p.display_name { (name) " " }
        "<" (p.email) ">"
        @match p.live_until {
            Some(t) => { " — link works until " (format_time(t)) }
            None => { " — no working link" }
        }
    }
}

/// The users who have not submitted: the first few, and a way to see all.
fn pending_list(
    tz: &TimeZoneSetting,
    b: &Batch,
    pending: &[PendingUser],
    show_all: bool,
) -> Markup {
    let shown = if show_all {
        pending.len()
    } else {
        PENDING_SHOWN
    };
    html! {
        ul.pending { @for p in pending.iter().take(shown) { li { (user_words(tz, p)) } } }
        @if pending.len() > shown {
            p { "and " (pending.len() - shown) " more: "
                a href={ "/admin/batches/" (b.id) "/export?missing=all" } { "show all " (pending.len()) } "." }
        }
    }
}

/// What the download does to the automatic purge: with users still pending, the admin
/// chooses (keep collecting; purge after their links expire, the default; or, behind a
/// red notice, purge before); otherwise one sentence says it.
fn purge_choices(tz: &TimeZoneSetting, b: &Batch, outlook: &ExportOutlook) -> Markup {
    let format_time = |t| format_time_in(t, tz);
    let t = now();
    let plan = |choice| batch::purge_plan(b, outlook.live_links_until, choice, t);
    let (keep, after, early) = (
        plan(PurgeChoice::KeepCollecting),
        plan(PurgeChoice::AfterLinksExpire),
        plan(PurgeChoice::Early),
    );
    html! {
        @if outlook.pending.is_empty() {
            p { "The download sets the automatic purge to " strong { (format_time(after.purge_at)) } "." }
        } @else {
            fieldset.question {
                legend { "What the download does to the automatic purge" }
                label.choice {
                    input type="radio" name="purge" value=(PurgeChoice::KeepCollecting.as_str());
                    span { " Partial export, keep collecting: the automatic purge stays on "
                        strong { (format_time(keep.purge_at)) } "; export again when more users have submitted." }
                }
                label.choice {
                    input type="radio" name="purge" value=(PurgeChoice::AfterLinksExpire.as_str()) checked;
                    span { " " (plan_words(tz, &after)) }
                }
                @if early.cuts_links_short() {
                    label.choice {
                        input type="radio" name="purge" value=(PurgeChoice::Early.as_str());
                        span { " Purge early, on " strong { (format_time(early.purge_at)) } ", before the links expire" }
                    }
                    div.error role="note" {
                        p { strong { "Purging early cuts links short." } " With this choice the batch is \
                            purged on " (format_time(early.purge_at)) ", before the links of the "
                            (outlook.with_live_links().count()) " users who have not submitted expire (the \
                            last on " (format_time(early.links_until.unwrap_or(early.purge_at))) "). Their \
                            emails promised them until then; after the purge their links only say the \
                            collection has closed. Choose it only on purpose." }
                    }
                }
            }
        }
    }
}

/// The default choice in words.
fn plan_words(tz: &TimeZoneSetting, plan: &PurgePlan) -> Markup {
    let format_time = |t| format_time_in(t, tz);
    html! {
        @if plan.purge_at == plan.purge_at_before {
            "Export; the automatic purge stays on " strong { (format_time(plan.purge_at)) } "."
        } @else if plan.links_until.is_some_and(|t| plan.purge_at <= t) {
            "Export and purge automatically on " strong { (format_time(plan.purge_at)) }
            ", once the links of the users still pending have expired."
        } @else {
            "Export and purge automatically on " strong { (format_time(plan.purge_at)) } "."
        }
    }
}

/// The format select, the imapsync fields, and the PowerShell script's link.
fn format_choice(b: &Batch) -> Markup {
    html! {
        div.field {
            label for="format" { "Format" }
            select id="format" name="format" aria-describedby="format-hint" {
                @for f in Format::ALL {
                    option value=(f.as_str()) selected[f == Format::M365] { (f.label()) }
                }
            }
            p.small id="format-hint" {
                "Microsoft 365: EmailAddress, UserName, Password. With the PowerShell script, \
                 download the CSV here, then "
                a href={ "/admin/batches/" (b.id) "/export/script" } { "the script (no passwords in it)" }
                " into the same folder: it creates the IMAP endpoint and the migration batch. \
                 MigrationWiz and GWMME take the old server's logins; imapsync also needs the \
                 destination below. A password a format cannot carry is named, never changed."
            }
        }
        details {
            summary { "imapsync destination (used for this file only, never stored)" }
            div.field {
                label for="dest-host" { "Destination IMAP host (host2)" }
                input type="text" id="dest-host" name="dest_host" autocomplete="off";
            }
            div.field {
                label for="dest-login" { "Destination login (user2)" }
                select id="dest-login" name="dest_login" {
                    option value=(DestLogin::Email.as_str()) selected { "EmailAddress" }
                    option value=(DestLogin::UserName.as_str()) { "UserName" }
                }
            }
        }
    }
}

/// What the admin does once the migration is done.
fn checklist(format: Format) -> Markup {
    html! {
        h2 { "After the migration" }
        ol.checklist { @for step in closing_checklist(format) { li { (step) } } }
    }
}

/// Why the file must not be opened in a spreadsheet, on the export page.
fn formula_note() -> Markup {
    html! {
        p.notice {
            strong { "Never open the file in a spreadsheet program" }
            " (Excel, LibreOffice, Numbers), and never save it from one: a user can type a \
             password that starts with =, +, - or @, which a spreadsheet runs as a formula, \
             and saving would change the passwords. Upload it to Microsoft as it is. passdrop \
             names such users before the download."
        }
    }
}

/// Before a download whose passwords look like formulas: who, and the download again
/// (with the purge choice already made).
fn formula_page(b: &Batch, emails: &[String], choice: PurgeChoice, form: &ExportForm) -> Markup {
    admin_layout(
        "Before you download",
        true,
        html! {
            h1 { "Before you download " (b.name) }
            div.notice role="alert" {
                p { strong { (emails.len()) @if emails.len() == 1 { " password starts" } @else { " passwords start" } }
                    " with =, +, -, @, a tab or a carriage return, which a spreadsheet runs as a \
                     formula (and which may be an attack on whoever opens the file). The file \
                     keeps every password exactly as typed, as Microsoft needs. Their users:" }
                ul { @for e in emails { li { (e) } } }
                p { strong { "Never open this file in Excel, LibreOffice or another spreadsheet \
                              program" } ", and never save it from one: upload it to Microsoft as \
                              it is. Check these users' passwords with them if in doubt." }
            }
            (passphrase_form(&format!("/admin/batches/{}/export", b.id), None, html! {
                input type="hidden" name="formula_ok" value="yes";
                input type="hidden" name="purge" value=(choice.as_str());
                @for (name, value) in [("format", &form.format), ("dest_host", &form.dest_host), ("dest_login", &form.dest_login), ("include_stale", &form.include_stale)] {
                    @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
                }
                button type="submit" { "Download the file; I will not open it in a spreadsheet" }
            }))
            (checklist(form.target(b).map_or(Format::M365, |(f, _)| f)))
            p { a href={ "/admin/batches/" (b.id) "/export" } { "Back to the export page" } }
        },
    )
}

/// What remains of a purged batch.
fn tombstone_page(t: &Tombstone, audit: &[AuditEvent], tz: &TimeZoneSetting) -> Markup {
    let (format_time, now) = (|t| format_time_in(t, tz), now());
    admin_layout(
        &t.name,
        true,
        html! {
            h1 { (t.name) " (purged)" }
            p { "Created " (format_time(t.created_at)) ", purged " (format_time(t.purged_at))
                ". " (t.submitted) " of " (t.recipients) " users had submitted." }
            p.small { "No password, link, address or name of its users remains." }
            h2 { "Audit trail" }
            ul.audit { @for e in audit { li { (when(e.at, now, tz)) " — " (audit_words(e)) } } }
            p { a href="/admin/batches" { "Back to the batches" } }
        },
    )
}
