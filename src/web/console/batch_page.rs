//! The batch page, which most console actions answer with: counts, filters, each user's
//! status and message, the email and old-mail-server sections, and the audit trail.
//! Plain maud functions; user data is always escaped.

use std::collections::HashMap;

use maud::{Markup, html};

use super::layout::{
    admin_layout, at, notice_box, optional_passphrase_field, passphrase_field, when,
};
use crate::batch::{self, MailClient};
use crate::config::{TimeZoneSetting, now};
use crate::imap::WhenUnreachable;
use crate::mail::Template;
use crate::storage::{
    AuditEvent, AuditKind, Batch, Delivery, DeliveryState, ImapCheck, LinkState, RecipientStatus,
};
use crate::web::{AppError, AppState, assets};

mod admin_login;
mod attention;
mod flow;
pub use admin_login::form_words;
use attention::{attention_banner, language_cell, state_badges};
pub use flow::{Flow, Next, plural};
use flow::{last_event, locked_banner, stepper};

/// Which users the batch page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Everyone.
    All,
    /// Not submitted yet (pending, opened, expired, revoked, locked).
    Waiting,
    /// Submitted.
    Submitted,
    /// Flagged as possibly keeping mail in one program (POP).
    PopRisk,
}

impl Filter {
    /// Parses `?show=`.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("waiting") => Self::Waiting,
            Some("submitted") => Self::Submitted,
            Some("pop") => Self::PopRisk,
            _ => Self::All,
        }
    }

    fn keeps(self, s: &RecipientStatus) -> bool {
        match self {
            Self::All => true,
            Self::Waiting => s.submitted_at.is_none(),
            Self::Submitted => s.submitted_at.is_some(),
            Self::PopRisk => mail_client(s).is_some_and(MailClient::pop_risk),
        }
    }
}

fn mail_client(s: &RecipientStatus) -> Option<MailClient> {
    s.mail_client
}

/// A user's status in words, for the batch page.
pub fn status_word(s: &RecipientStatus, now: i64) -> &'static str {
    match (s.submitted_at, s.link_state) {
        (Some(_), _) => "submitted",
        (None, LinkState::Live) if s.link_expires_at <= now => "expired",
        (None, LinkState::Live) if s.opened_at.is_some() => "opened",
        (None, LinkState::Live) => "pending",
        (None, LinkState::Revoked) => "revoked",
        (None, LinkState::Locked) => "locked",
        (None, LinkState::Used | LinkState::Replaced) => "pending",
    }
}

/// The batch page of `b`, listing the users `filter` keeps, with `notice` on top.
pub(super) async fn render(
    state: &AppState,
    b: &Batch,
    filter: Filter,
    notice: Option<Markup>,
) -> Result<Markup, AppError> {
    render_typed(state, b, filter, notice, "").await
}

/// The batch page as [`render`] makes it, with `one_email` typed again into "Email one
/// user" (after a refused send).
pub(super) async fn render_typed(
    state: &AppState,
    b: &Batch,
    filter: Filter,
    notice: Option<Markup>,
    one_email: &str,
) -> Result<Markup, AppError> {
    let statuses = state.store.recipient_statuses(&b.id).await?;
    let audit = state.store.audit_trail(&b.id).await?;
    let mut email = email_view(state, b).await?;
    email.one_email = one_email.to_owned();
    // A server that seems to slow down or block the checks is said at the top, in plain
    // words, while it lasts (this process's memory; the audit trail keeps when it began).
    let throttling = b
        .imap
        .as_ref()
        .and_then(|i| state.imap_gate.throttling(&i.server));
    let notice = match (notice, throttling) {
        (notice, Some(warning)) => Some(html! {
            @if let Some(n) = notice { (n) }
            p.warning { strong { "The old mail server may be throttling passdrop. " } (warning) }
        }),
        (notice, None) => notice,
    };
    let admin_login = admin_login::section(state, b, &statuses).await?;
    Ok(batch_page(
        b,
        &statuses,
        &audit,
        filter,
        notice,
        &email,
        admin_login,
        now(),
        &TimeZoneSetting::or_stored(b.time_zone.as_deref(), &state.config.time_zone),
    ))
}

/// A batch's page: counts, filters, per-user status and actions, audit trail; times
/// in `tz` (the batch's zone, else the server's).
#[allow(clippy::too_many_arguments)] // the time zone joined `now`; the page is being reworked
pub fn batch_page(
    b: &Batch,
    statuses: &[RecipientStatus],
    audit: &[AuditEvent],
    filter: Filter,
    notice: Option<Markup>,
    email: &EmailView,
    admin_login: Markup,
    now: i64,
    tz: &TimeZoneSetting,
) -> Markup {
    let submitted = statuses.iter().filter(|s| s.submitted_at.is_some()).count();
    let pop = statuses
        .iter()
        .filter(|s| mail_client(s).is_some_and(MailClient::pop_risk))
        .count();
    let base = format!("/admin/batches/{}", b.id);
    let flow = Flow::of(b, statuses, audit, email);
    admin_layout(
        &b.name,
        true,
        html! {
            h1 { (b.name) }
            (notice_box(notice))
            p {
                progress value=(submitted) max=(statuses.len().max(1)) { (submitted) " of " (statuses.len()) }
                " " strong { (submitted) " of " (statuses.len()) } " have submitted."
            }
            p.small {
                "Links valid until " (at(b.expires_at, now, tz)) ". "
                "Purged automatically on " strong { (at(batch::automatic_purge_at(b), now, tz)) }
                " unless you purge it sooner."
            }
            (stepper(&flow, &base))
            (locked_banner(statuses, now))
            (attention_banner(statuses, &email.notices, email.relay.is_some(), now, tz))
            (email_section(b, statuses, email, &base, flow.next))
            (imap_section(b, &base))
            (admin_login)
            @if pop > 0 {
                div.notice {
                    p { strong { (plural(pop, "One user", "", " users")) } @if pop == 1 { " reads" } @else { " read" } " their mail in one program on one computer, \
                        or are not sure. If that program uses POP, their folders and older mail may \
                        live only on that computer and will not come across in a server-to-server \
                        move. Check with them; if so, export their mail from the program to a PST \
                        file and import it into Microsoft 365 (Outlook: File › Open & Export)." }
                }
            }
            nav.filters aria-label="Show" {
                @for (label, key, f) in [("All", "all", Filter::All), ("Waiting", "waiting", Filter::Waiting),
                                         ("Submitted", "submitted", Filter::Submitted), ("POP risk", "pop", Filter::PopRisk)] {
                    @if f == filter {
                        strong aria-current="page" { (label) }
                    } @else {
                        a href={ (base) "?show=" (key) } { (label) }
                    }
                }
            }
            table.users {
                thead { tr { th scope="col" { "Email" } th scope="col" { "Status" } th scope="col" { "Reads mail" } th scope="col" { "Language" }
                             th scope="col" { "Last event" } th scope="col" { "Link emailed" } th scope="col" { "Actions" } } }
                tbody {
                    @for s in statuses.iter().filter(|s| filter.keeps(s)) {
                        @let word = status_word(s, now);
                        @let address = &s.recipient.email;
                        tr {
                            td data-label="Email" { (address)
                                @if let Some(d) = &s.recipient.display_name { br; span.small { (d) } } }
                            td data-label="Status" { span class={ "badge " (word) } { (word) }
                                @match s.imap_check {
                                    Some(ImapCheck::Verified) => { br; span.small { "checked with the server" } }
                                    Some(ImapCheck::Unverified) => { br; span.badge.warn { "not verified" } }
                                    None => {}
                                }
                                (state_badges(s, now, tz))
                            }
                            td data-label="Reads mail" {
                                @match mail_client(s) {
                                    Some(c) if c.pop_risk() => { span.badge.warn { (c.label()) } }
                                    Some(c) => { (c.label()) }
                                    None => { "–" }
                                }
                            }
                            td data-label="Language" { (language_cell(s, b)) }
                            td.small data-label="Last event" { (last_event(s, now, tz)) }
                            td data-label="Link emailed" { (delivery_cell(email.deliveries.get(&s.recipient.id), email.sending, now, tz)) }
                            td data-label="Actions" { div.row-actions {
                                // A page that asks for the passphrase, then reissues.
                                form method="get" action={ (base) "/reissue" } {
                                    input type="hidden" name="email" value=(address);
                                    button.compact.secondary type="submit" aria-label={ "Reissue link for " (address) } { "Reissue" }
                                }
                                @if s.needs_help_at.is_some() || s.reported_at.is_some() {
                                    form method="post" action={ (base) "/clear-state" } {
                                        input type="hidden" name="email" value=(address);
                                        button.compact.secondary type="submit" aria-label={ "Clear state of " (address) } { "Clear state" }
                                    }
                                }
                                @if s.link_state == LinkState::Live && s.submitted_at.is_none() {
                                    form method="post" action={ (base) "/revoke" } {
                                        input type="hidden" name="email" value=(address);
                                        button.compact.secondary type="submit" aria-label={ "Revoke link for " (address) } { "Revoke" }
                                    }
                                }
                            } }
                        }
                    }
                }
            }
            h2 { "Audit trail" }
            p.small { "What happened to this batch, without any user's data. It stays after purge." }
            ul.audit {
                @for e in audit {
                    li { (when(e.at, now, tz)) " — " (audit_words(e)) }
                }
            }
        },
    )
}

/// What the batch page shows about email.
pub struct EmailView {
    /// Each recipient's delivery, by recipient id.
    pub deliveries: HashMap<i64, Delivery>,
    /// Whether the background sender is working on this batch now.
    pub sending: bool,
    /// The relay in use, described; `None` when none is set up.
    pub relay: Option<String>,
    /// What "Email one user" shows typed (after a refused send).
    pub one_email: String,
    /// The admin's notices about this batch (reports, help requests, completion).
    pub notices: Vec<crate::storage::AdminNotice>,
}

/// Loads what the batch page shows about email.
async fn email_view(state: &AppState, b: &Batch) -> Result<EmailView, AppError> {
    Ok(EmailView {
        deliveries: state.store.deliveries(&b.id).await?,
        sending: state.outbox.is_sending(&b.id).await,
        relay: relay_description(state).await?,
        one_email: String::new(),
        notices: state.store.admin_notices(&b.id).await?,
    })
}

/// The relay in use, in words; `None` when none is set up.
pub(super) async fn relay_description(state: &AppState) -> Result<Option<String>, AppError> {
    if let Some(s) = &state.config.smtp {
        return Ok(Some(format!("{}:{}", s.host, s.port)));
    }
    Ok(state
        .store
        .smtp_settings()
        .await?
        .map(|s| format!("{}:{}", s.host, s.port)))
}

/// Counts of where a batch's messages stand.
#[derive(Debug, Default)]
struct Counts {
    sent: usize,
    queued: usize,
    sending: usize,
    unknown: usize,
    failed: usize,
}

fn counts(v: &EmailView) -> Counts {
    let mut c = Counts::default();
    for d in v.deliveries.values() {
        match d.state {
            DeliveryState::Sent => c.sent += 1,
            DeliveryState::Queued => c.queued += 1,
            DeliveryState::Sending if v.sending => c.sending += 1,
            DeliveryState::Sending | DeliveryState::Unknown => c.unknown += 1,
            DeliveryState::Failed => c.failed += 1,
        }
    }
    c
}

/// The batch page's section on emailing the links.
pub fn email_section(
    b: &Batch,
    statuses: &[RecipientStatus],
    v: &EmailView,
    base: &str,
    next: Next,
) -> Markup {
    let c = counts(v);
    let total = c.sent + c.queued + c.sending + c.unknown + c.failed;
    let waiting = statuses.iter().filter(|s| s.submitted_at.is_none()).count();
    let never = statuses
        .iter()
        .filter(|s| s.submitted_at.is_none() && !v.deliveries.contains_key(&s.recipient.id))
        .count();
    let template = Template::of(b.message.as_ref());
    let ever_sent = v.deliveries.values().any(|d| d.sent_at.is_some());
    html! {
        section.email {
            h2 { "Email the links" }
            p.small { (crate::export::BEFORE_SENDING) }
            @match &v.relay {
                None => {
                    p { "No SMTP relay is set up. " a href="/admin/smtp" { "Set up email sending" }
                        " to have passdrop email each user their own link, or send the mail-merge CSV yourself." }
                }
                Some(relay) => {
                    p { "Sent through " strong { (relay) } " (" a href="/admin/smtp" { "email settings" } "). "
                        "Subject: “" (template.subject()) "” (" a href={ (base) "/message" } { "view or edit the message" } "; "
                        a href={ (base) "/branding" } { "who is asking" } ")." }
                    @if total > 0 {
                        p {
                            progress id="send-bar" value=(c.sent + c.failed + c.unknown) max=(total) { (c.sent) " of " (total) }
                            " "
                            span id="send-counts" {
                                strong { (c.sent) " emailed" } ", " (c.queued) " queued, " (c.failed) " failed"
                                @if c.sending > 0 { ", " (c.sending) " sending now" }
                                @if c.unknown > 0 {
                                    ", " (c.unknown) " with an unknown outcome (they may have arrived; not sent again unless you email that user)"
                                }
                                "."
                            }
                            @if never > 0 { " " (plural(never, "One waiting user has", "", " waiting users have")) " not been emailed yet." }
                        }
                    }
                    @if v.sending {
                        // Updated by progress.js while sending; without JavaScript, the link.
                        p.notice role="status" id="send-progress" data-url={ (base) "/progress" } {
                            span id="send-state" { "Sending in the background." } " "
                            a href=(base) { "Refresh" } " to see each user's state."
                        }
                        script src=(assets::PROGRESS.url()) defer {}
                    } @else if c.queued > 0 {
                        p.notice role="status" { (plural(c.queued, "One message waits", "", " messages wait")) " in the queue: sending stopped (for instance, the server restarted). "
                            "Its links are opened only with the passphrase: enter it below and choose " strong { "Resume" } "." }
                    }
                    // One form, one passphrase field, for every send action (and the
                    // "email the new link" button a reissue shows, through form=).
                    p.hint id="second-channel" {
                        "Before sending: announce the move through a second channel (a phone call, a team meeting, the intranet), "
                        "naming the sender and the contact, so users expect this message and can tell it from phishing. "
                        "Who users are told to ask is set under " a href={ (base) "/branding" } { "who is asking" } "."
                    }
                    form id="send-form" method="post" action={ (base) "/send" } {
                        (passphrase_field("send-passphrase", "Admin passphrase (it opens the links to send)"))
                        // First, so that Enter in a field never emails everyone.
                        details open[!v.one_email.is_empty()] {
                            summary { "Email one user" }
                            div.field {
                                label for="one-email" { "EmailAddress" }
                                input type="email" id="one-email" name="email" value=(v.one_email);
                            }
                            button.secondary type="submit" name="who" value="one" { "Email this user their link" }
                        }
                        // Only when someone is left to email; a reminder only after a
                        // first message went out.
                        div.actions {
                            @if never > 0 {
                                button type="submit" name="who" value="unsent" class=[(next != Next::EmailEveryone).then_some("secondary")] {
                                    "Email " (plural(never, "the one user", "all ", " users")) " not yet emailed"
                                }
                            }
                            @if waiting > 0 && ever_sent {
                                button type="submit" name="who" value="reminder" class=[(next != Next::Remind).then_some("secondary")] {
                                    "Remind " (plural(waiting, "the one user", "all ", " users")) " still waiting"
                                }
                            }
                            @if c.queued > 0 && !v.sending {
                                button.secondary type="submit" name="who" value="queued" { "Resume" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A button that emails `email` their current link through the batch page's send form
/// (and its one passphrase field).
pub fn email_one_button(email: &str) -> Markup {
    html! {
        "Type your passphrase under “Email the links” below, then: "
        button type="submit" form="send-form" name="one" value=(email) { "Email " (email) " the new link" }
    }
}

/// Where a batch's messages stand, for the progress script.
#[derive(Debug, serde::Serialize)]
pub struct SendProgress {
    /// Whether the background sender is working on the batch.
    pub sending: bool,
    /// Sent.
    pub sent: usize,
    /// Waiting in the queue.
    pub queued: usize,
    /// Failed for good.
    pub failed: usize,
    /// Outcome unknown.
    pub unknown: usize,
    /// Done one way or another (sent, failed, unknown).
    pub done: usize,
    /// All messages of the batch.
    pub total: usize,
}

/// Where `b`'s messages stand.
pub(super) async fn send_progress(state: &AppState, b: &Batch) -> Result<SendProgress, AppError> {
    let view = EmailView {
        deliveries: state.store.deliveries(&b.id).await?,
        sending: state.outbox.is_sending(&b.id).await,
        relay: None,
        one_email: String::new(),
        notices: Vec::new(),
    };
    let c = counts(&view);
    Ok(SendProgress {
        sending: view.sending,
        sent: c.sent,
        queued: c.queued,
        failed: c.failed,
        unknown: c.unknown,
        done: c.sent + c.failed + c.unknown,
        total: c.sent + c.queued + c.sending + c.unknown + c.failed,
    })
}

/// One user's message state, for the batch table.
pub fn delivery_cell(
    d: Option<&Delivery>,
    sending: bool,
    now: i64,
    tz: &TimeZoneSetting,
) -> Markup {
    let Some(d) = d else {
        return html! { span.small { "not emailed" } };
    };
    html! {
        @match d.state {
            DeliveryState::Sent => {
                span.small { "emailed " @if let Some(t) = d.sent_at { (when(t, now, tz)) } }
                @if d.reminders > 0 { br; span.small { "reminded " (d.reminders) "×" } }
            }
            DeliveryState::Queued => {
                span.badge { @if d.sent_at.is_some() { "reminder queued" } @else { "queued" } }
                @if let Some(e) = &d.last_error {
                    br; span.small { "temporary failure (" (e) "); next try "
                        @if let Some(t) = d.next_attempt_at { (when(t, now, tz)) } }
                }
            }
            DeliveryState::Sending if sending => { span.badge { "sending" } }
            DeliveryState::Sending | DeliveryState::Unknown => {
                span.badge.warn { "outcome unknown" } br;
                span.small { (d.last_error.as_deref().unwrap_or("sending stopped mid-message")) "; it may have arrived" }
            }
            DeliveryState::Failed => {
                span.badge.warn { "failed" }
                @if let Some(e) = &d.last_error { br; span.small { (e) } }
            }
        }
    }
}

/// The batch page's section on the old mail server: what is set, a test button, and a
/// form to change it.
fn imap_section(b: &Batch, base: &str) -> Markup {
    let (url, pin, ca, when) = match &b.imap {
        Some(i) => (
            i.server.to_string(),
            i.pin_hex().unwrap_or_default(),
            i.ca_pem().unwrap_or_default().to_owned(),
            i.when_unreachable.as_str(),
        ),
        None => (String::new(), String::new(), String::new(), "retry"),
    };
    html! {
        section.imap {
            h2 { "Old mail server" }
            @match &b.imap {
                Some(i) => {
                    p {
                        "Each password is checked against " strong { (i.server) }
                        " (trusting " (i.trust.describe()) ") before it is accepted. "
                        @match i.when_unreachable {
                            WhenUnreachable::AskToRetry => "If the server cannot be reached, users are asked to try again later.",
                            WhenUnreachable::AcceptUnverified => "If the server cannot be reached, passwords are accepted and marked \"not verified\".",
                        }
                    }
                    form method="post" action={ (base) "/imap/test" } {
                        button.secondary type="submit" { "Test the connection" }
                    }
                }
                None => {
                    p { "Passwords are accepted without checking them against the old mail server." }
                }
            }
            details {
                summary { "Change the old mail server" }
                form method="post" action={ (base) "/imap" } {
                    (imap_fields(&url, &pin, &ca, when))
                    (imap_passphrase("imap-passphrase"))
                    button.secondary type="submit" { "Test and save" }
                    @if b.imap.is_some() {
                        " "
                        button.secondary type="submit" name="off" value="1" { "Stop checking passwords" }
                    }
                }
            }
        }
    }
}

/// The IMAP fields, shared by the new-batch form and the batch page.
pub(super) fn imap_fields(url: &str, pin: &str, ca_pem: &str, when: &str) -> Markup {
    let accept = when == WhenUnreachable::AcceptUnverified.as_str();
    html! {
        div.field {
            label for="imap_url" { "Old mail server" }
            input type="text" id="imap_url" name="imap_url" value=(url)
                placeholder="imaps://mail.example.com" aria-describedby="imap-url-hint";
            p.small id="imap-url-hint" {
                "imaps://host (TLS, port 993) or imap://host (STARTTLS, port 143; never                  unencrypted). Leave empty to accept passwords without checking them."
            }
        }
        div.field {
            label for="imap_cert_sha256" { "Trust exactly this certificate (SHA-256, optional)" }
            input type="text" id="imap_cert_sha256" name="imap_cert_sha256" value=(pin)
                aria-describedby="imap-pin-hint";
            p.small id="imap-pin-hint" {
                "For a server whose certificate is made out to another name (common at web                  hosts). Test the connection to see the fingerprint the server presents."
            }
        }
        div.field {
            label for="imap_ca_pem" { "…or trust this certificate authority (PEM, optional)" }
            textarea id="imap_ca_pem" name="imap_ca_pem" rows="3"
                placeholder="-----BEGIN CERTIFICATE-----" { (ca_pem) }
        }
        fieldset {
            legend { "When the server cannot be reached" }
            label.choice {
                input type="radio" name="imap_when_unreachable" value="retry" checked[!accept];
                " Ask the user to try again later (nothing is saved)"
            }
            label.choice {
                input type="radio" name="imap_when_unreachable" value="accept" checked[accept];
                " Accept the password, marked \"not verified\""
            }
        }
    }
}

/// The passphrase, asked again before the old mail server is set, changed or removed.
pub(super) fn imap_passphrase(id: &str) -> Markup {
    optional_passphrase_field(
        id,
        "Admin passphrase (to set, change or stop a server: it decides where passwords go)",
    )
}

/// An audit event in words.
pub fn audit_words(e: &AuditEvent) -> String {
    match &e.kind {
        AuditKind::Created => format!("created with {}", plural(e.count, "one link", "", " links")),
        AuditKind::Reissued => "a link was reissued".to_owned(),
        AuditKind::Revoked => "a link was revoked".to_owned(),
        AuditKind::Submitted => "a password was submitted".to_owned(),
        AuditKind::Exported => format!("exported ({})", plural(e.count, "one row", "", " rows")),
        AuditKind::Purged => "purged".to_owned(),
        AuditKind::ImapChanged => "the old mail server setting was changed".to_owned(),
        AuditKind::LinksViewed => format!(
            "the links were fetched again ({})",
            plural(e.count, "one link", "", " links")
        ),
        AuditKind::EmailsQueued if e.count == 1 => "a link email was queued".to_owned(),
        AuditKind::EmailsQueued => format!("{} link emails were queued", e.count),
        AuditKind::MessageChanged => "the emailed message was changed".to_owned(),
        AuditKind::SettingsRefused => {
            "REFUSED: stored settings did not match their signature (changed outside \
             passdrop?); nothing was used. Run `passdrop doctor`"
                .to_owned()
        }
        AuditKind::LinkLocked => "a link was locked after too many refused tries".to_owned(),
        AuditKind::BrandingChanged => "branding changed".to_owned(),
        AuditKind::LinkReported => "a user reported their link as not expected; it was revoked".to_owned(),
        AuditKind::ReportedAfterUse => "a user reported a link a password was already received with: that password may be someone else's".to_owned(),
        AuditKind::HelpAsked => "a user asked for help".to_owned(),
        AuditKind::UserStateCleared => "a user's help or report state was cleared".to_owned(),
        AuditKind::Other(other) if other == crate::batch::AUDIT_RECHECKED => {
            format!("re-check ran: {} checked", e.count)
        }
        AuditKind::Other(other) if other == crate::batch::AUDIT_RECHECK_FAILED => {
            format!("re-check: {} failed (password changed)", e.count)
        }
        AuditKind::Other(other) => admin_login::audit_words(other, e.count),
    }
}
