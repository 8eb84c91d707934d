//! The readiness page (`GET /admin/batches/{id}/readiness`): what will trouble the
//! migration, per user and for the batch, with the codes of `passdrop batch readiness`;
//! the re-check button (`POST .../recheck`, with the passphrase: it opens the sealed
//! passwords; it runs in the background and the page shows its progress) and, after it,
//! new links for exactly the users whose password changed (`POST .../reissue-failed`).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{admin_layout, notice_box, passphrase_form, when};
use super::{
    AdminSession, ClientKey, FlashQuery, Refusal, Refused, live_batch, relay, see_other,
    shown_once, unlock_throttled, zone_of,
};
use crate::batch::{self, readiness};
use crate::config::{TimeZoneSetting, now};
use crate::outbox::{self, Selection};
use crate::storage::{Batch, BatchRecheck};
use crate::web::{AppError, AppState};

/// A re-check that has not finished after this long is taken as cut short (a restart),
/// and a new one may start.
const RECHECK_STALE_SECS: i64 = 3_600;

/// `?server=1` tests the old server too (a few seconds at most).
#[derive(Deserialize, Default)]
pub struct ReadinessQuery {
    #[serde(default)]
    server: Option<String>,
    #[serde(flatten)]
    flash: FlashQuery,
}

/// The passphrase, and for the reissue whether to email the new links.
#[derive(Deserialize)]
pub struct RecheckForm {
    passphrase: String,
    #[serde(default)]
    send: Option<String>,
}

/// `GET /admin/batches/{id}/readiness`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    Query(query): Query<ReadinessQuery>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let notice = shown_once(&state, &session, &query.flash);
    let test_server = query.server.as_deref() == Some("1");
    Ok(render(&state, &b, test_server, notice, None)
        .await?
        .into_response())
}

/// What the page shows, read once; rendered with a notice or a refusal's reason.
struct View {
    tz: TimeZoneSetting,
    b: Batch,
    report: readiness::ReadinessReport,
    server: readiness::ServerProblems,
    last: Option<BatchRecheck>,
    changed: usize,
}

impl View {
    async fn load(state: &AppState, b: &Batch, test_server: bool) -> Result<Self, AppError> {
        let throttling = readiness::recent_throttling_advice(&state.store, b, now()).await?;
        let server = readiness::server_problems(b.imap.as_ref(), !test_server, throttling).await;
        let report = readiness::readiness_report(&state.store, b, &server, now()).await?;
        Ok(Self {
            tz: zone_of(state, b),
            b: b.clone(),
            report,
            server,
            last: state.store.last_recheck(&b.id).await?,
            changed: state.store.password_changed_users(&b.id).await?.len(),
        })
    }

    fn page(&self, notice: Option<Markup>, error: Option<&str>) -> Markup {
        readiness_page(
            &self.tz,
            &self.b,
            &self.report,
            &self.server,
            self.last,
            self.changed,
            notice,
            error,
        )
    }
}

async fn render(
    state: &AppState,
    b: &Batch,
    test_server: bool,
    notice: Option<Markup>,
    error: Option<&str>,
) -> Result<Markup, AppError> {
    Ok(View::load(state, b, test_server).await?.page(notice, error))
}

/// The page again with the passphrase's refusal (401, 429 or 503).
async fn refused_passphrase(
    state: &AppState,
    b: &Batch,
    refusal: Refusal,
) -> Result<Response, AppError> {
    if let Refusal::Internal(e) = refusal {
        return Err(e);
    }
    let view = View::load(state, b, false).await?;
    refusal.respond(|why| view.page(None, Some(why)))
}

fn running(last: Option<BatchRecheck>) -> bool {
    last.is_some_and(|r| r.finished_at.is_none() && now() - r.started_at < RECHECK_STALE_SECS)
}

/// `POST /admin/batches/{id}/recheck`: with the passphrase, starts the re-check in the
/// background and answers 303 to the readiness page, which shows its progress.
pub async fn recheck(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<RecheckForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let refuse = |why: &str| {
        let state = state.clone();
        let b = b.clone();
        let why = why.to_owned();
        async move {
            let page = render(&state, &b, false, None, Some(&why)).await?;
            Ok::<_, AppError>(Refused::unprocessable(page).into_response())
        }
    };
    if b.imap.is_none() {
        return refuse("This batch has no old IMAP server to re-check the passwords with.").await;
    }
    if running(state.store.last_recheck(&b.id).await?) {
        return refuse("A re-check of this batch is running; its progress is below.").await;
    }
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return refused_passphrase(&state, &b, refusal).await,
    };
    // No password goes to a server the admin did not sign for: refused here, in words,
    // rather than in the background.
    if let Err(e) = batch::require_signed_batch_by_admin(&state.store, &admin, &b).await {
        return refuse(&e.to_string()).await;
    }
    let total = state.store.recipient_statuses(&b.id).await?;
    let total = total.iter().filter(|s| s.submitted_at.is_some()).count();
    // Counted before the answer, so that the page already shows it running.
    state
        .store
        .begin_recheck(&b.id, i64::try_from(total).unwrap_or(i64::MAX), now())
        .await?;
    let (store, gate, batch) = (state.store.clone(), Arc::clone(&state.imap_gate), b.clone());
    tokio::spawn(async move {
        if let Err(e) = batch::recheck(&store, &batch, &admin, &gate, &mut |_, _| {}).await {
            tracing::warn!(batch_id = %batch.id, error = %e, "the re-check stopped");
            let _ = store.finish_recheck(&batch.id, now()).await;
        }
    });
    let notice = html! { p { strong { "Re-check started" } " for " (total) " submitted passwords; \
    this page shows its progress." } };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}/readiness", b.id),
        notice,
    )
}

/// `POST /admin/batches/{id}/reissue-failed`: with the passphrase, new links for exactly
/// the users whose password the last re-check found changed; emailed when asked.
pub async fn reissue_failed(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    client: ClientKey,
    Form(form): Form<RecheckForm>,
) -> Result<Response, AppError> {
    let b = live_batch(&state, &id).await?;
    let refuse = |why: String| {
        let state = state.clone();
        let b = b.clone();
        async move {
            let page = render(&state, &b, false, None, Some(&why)).await?;
            Ok::<_, AppError>(Refused::unprocessable(page).into_response())
        }
    };
    let admin = match unlock_throttled(&state, client, form.passphrase).await {
        Ok(admin) => admin,
        Err(refusal) => return refused_passphrase(&state, &b, refusal).await,
    };
    let send = form.send.as_deref() == Some("yes");
    // Checked before any link is replaced, so that a send cannot fail half-way.
    let settings = if send {
        match relay(&state, &admin).await {
            Ok(s) => match s.test_connection().await {
                Ok(()) => Some(s),
                Err(e) => {
                    return refuse(format!(
                        "The relay cannot be used, so no link was reissued: {e}"
                    ))
                    .await;
                }
            },
            Err(e) => return refuse(e).await,
        }
    } else {
        None
    };
    let links =
        batch::reissue_password_changed(&state.store, &state.config.public_url, &b, now()).await?;
    let emails: Vec<String> = links.iter().map(|l| l.email.clone()).collect();
    let mut queued = 0;
    if let Some(settings) = settings {
        let letters = outbox::letters_from_live_links(
            &state.store,
            &state.config.public_url,
            &b,
            &admin,
            now(),
        )
        .await?;
        for letter in letters.into_iter().filter(|l| {
            emails
                .iter()
                .any(|e| e.eq_ignore_ascii_case(&l.recipient.email))
        }) {
            let selection = Selection::One(letter.recipient.email.clone());
            match state
                .outbox
                .send(&b, settings.clone(), vec![letter], &selection)
                .await
            {
                Ok(plan) => queued += plan.queued,
                Err(e) => {
                    tracing::warn!(batch_id = %b.id, error = %e, "a reissued link was not queued")
                }
            }
        }
    }
    drop(admin);
    let notice = html! {
        @if emails.is_empty() {
            p { "No user's password was found changed; no link was reissued." }
        } @else {
            p { strong { "New links issued" } " for " (emails.join(", ")) "; their previous links no longer work."
                @if send { " " (queued) " emails queued; the batch page shows the sending." }
                @else { " Email them from the batch page (“Email one user”), or reissue with “email them” ticked." } }
        }
    };
    see_other(
        &state,
        &session,
        &format!("/admin/batches/{}/readiness", b.id),
        notice,
    )
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

#[allow(clippy::too_many_arguments)] // each is one part of the page
fn readiness_page(
    tz: &TimeZoneSetting,
    b: &Batch,
    report: &readiness::ReadinessReport,
    server: &readiness::ServerProblems,
    last: Option<BatchRecheck>,
    changed: usize,
    notice: Option<Markup>,
    error: Option<&str>,
) -> Markup {
    let t = &report.batch.totals;
    let base = format!("/admin/batches/{}", b.id);
    let is_running = running(last);
    admin_layout(
        "Readiness",
        true,
        html! {
            @if is_running {
                // Progress without a script: the page reloads itself while the re-check runs.
                meta http-equiv="refresh" content="3";
            }
            h1 { "Readiness of " (b.name) }
            (notice_box(notice))
            p { (t.mailboxes) " mailboxes inventoried: " (t.messages) " messages, " (mb(i64::try_from(t.bytes).unwrap_or(i64::MAX))) ". "
                (report.problem_count()) " problems listed. The same report: "
                code { "passdrop batch readiness \"" (b.name) "\" --json" } "." }
            h2 { "The old server" }
            @if let Some(why) = &server.not_tested {
                p { @if b.imap.is_some() {
                    "Not tested on this view (it takes a few seconds). "
                    a href={ (base) "/readiness?server=1" } { "Test the connection now" }
                } @else { "Not tested: " (why) "." } }
            } @else if report.server.problems.is_empty() {
                p { "Tested now: no problem found." }
            }
            @if !report.server.problems.is_empty() {
                ul { @for p in &report.server.problems { li { code { (p.code) } ": " (p.detail) } } }
            }
            h2 { "Re-check the passwords" }
            @match last {
                None => p { "Not re-checked yet. A re-check logs in again with each submitted password \
                    (paced like every check) and finds the users who changed theirs since; users the old server's admin login covers are re-checked through it." },
                Some(r) => p id="recheck-progress" {
                    @if is_running { strong { "Re-check running: " } (r.done) " of " (r.total) " checked" }
                    @else { "Last re-check " (when(r.started_at, now(), tz)) ": " (r.done) " of " (r.total) " checked" }
                    ", " strong { (r.failed) " failed" } ", " (r.inconclusive) " without a clear answer."
                    @if is_running { " " a href={ (base) "/readiness" } { "Refresh" } }
                },
            }
            @if b.imap.is_some() && !is_running {
                (passphrase_form(&format!("{base}/recheck"), error, html! {
                    button type="submit" { "Re-check the passwords" }
                }))
            }
            @if changed > 0 && !is_running {
                h2 { "New links for the " (changed) " users whose password changed (or whom the admin login no longer opens)" }
                (passphrase_form(&format!("{base}/reissue-failed"), None, html! {
                    label.choice { input type="checkbox" name="send" value="yes" checked; span { " Email them the new links" } }
                    button type="submit" { "Reissue their links" }
                }))
            }
            h2 { "Users" }
            table {
                thead { tr { th { "User" } th { "State" } th { "Mailbox" } th { "Problems" } } }
                tbody {
                    @for u in &report.users {
                        tr {
                            td { (u.email) }
                            td { (u.state) }
                            td { @match &u.mailbox {
                                None => "-",
                                Some(m) => { (m.folders) " folders, " (m.messages) " messages, " (mb(m.bytes)) }
                            } }
                            td { @if u.problems.is_empty() { "none" } @else {
                                ul { @for p in &u.problems { li { code { (p.code) } ": " (p.detail) } } }
                            } }
                        }
                    }
                }
            }
            p { a href=(base) { "Back to the batch" } }
        },
    )
}
