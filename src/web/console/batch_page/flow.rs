//! The batch page's flow: where a batch stands (the stepper, its one next action), the
//! banner when links are locked, a user's last event, and plural forms.

use maud::{Markup, html};

use super::{EmailView, status_word};
use crate::config::TimeZoneSetting;
use crate::storage::{AuditEvent, AuditKind, Batch, LinkState, RecipientStatus};
use crate::web::console::layout::{at, when};

/// `n` in words with its noun: `one` when it is 1, else `before`, the number, `after`
/// ("the one user" / "all 3 users").
pub fn plural(n: impl std::fmt::Display, one: &str, before: &str, after: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        one.to_owned()
    } else {
        format!("{before}{n}{after}")
    }
}

/// A user's last event, in words, for the batch table: past events relative ("2 min
/// ago", the exact time in a title), the expiry as a date.
pub(super) fn last_event(s: &RecipientStatus, now: i64, tz: &TimeZoneSetting) -> Markup {
    html! {
        @if let Some(t) = s.submitted_at { "submitted " (when(t, now, tz)) }
        @else {
            @match s.link_state {
                LinkState::Locked => "link locked after too many refused tries",
                LinkState::Revoked => "link revoked",
                _ if s.link_expires_at <= now => { "link expired " (when(s.link_expires_at, now, tz)) }
                _ => {
                    @if let Some(t) = s.opened_at { "opened " (when(t, now, tz)) }
                    @else { "link valid until " (at(s.link_expires_at, now, tz)) }
                }
            }
        }
    }
}

/// The steps of a batch's life, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Created; no link is known to have gone out.
    Created,
    /// Links were emailed or fetched; nobody has submitted yet.
    LinksSent,
    /// Passwords are coming in.
    Collecting,
    /// Exported; the purge comes next.
    Exported,
    /// Purged (shown on the purged batch's page only).
    Purged,
}

impl Step {
    /// Every step, in order, with its name in the stepper.
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Created, "Created"),
        (Self::LinksSent, "Links sent"),
        (Self::Collecting, "Collecting"),
        (Self::Exported, "Exported"),
        (Self::Purged, "Purged"),
    ];
}

/// The one primary action the batch page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// "Email all users not yet emailed" (the send form).
    EmailEveryone,
    /// "Get the links" (no relay set up).
    GetLinks,
    /// "Remind all still waiting" (the send form).
    Remind,
    /// "Export the passwords".
    Export,
    /// "Purge" (after an export).
    Purge,
}

/// Where a batch stands and what comes next.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    /// The current step.
    pub step: Step,
    /// The one primary action.
    pub next: Next,
    waiting: usize,
    total: usize,
}

impl Flow {
    /// Where `b` stands.
    pub fn of(
        b: &Batch,
        statuses: &[RecipientStatus],
        audit: &[AuditEvent],
        v: &EmailView,
    ) -> Self {
        let total = statuses.len();
        let submitted = statuses.iter().filter(|s| s.submitted_at.is_some()).count();
        let waiting = total - submitted;
        let ever_sent = v.deliveries.values().any(|d| d.sent_at.is_some());
        let never = statuses
            .iter()
            .filter(|s| s.submitted_at.is_none() && !v.deliveries.contains_key(&s.recipient.id))
            .count();
        let handed_out = !v.deliveries.is_empty()
            || statuses.iter().any(|s| s.opened_at.is_some())
            || audit.iter().any(|e| e.kind == AuditKind::LinksViewed);
        let step = if b.first_exported_at.is_some() {
            Step::Exported
        } else if submitted > 0 {
            Step::Collecting
        } else if handed_out {
            Step::LinksSent
        } else {
            Step::Created
        };
        let relay = v.relay.is_some();
        let next = match step {
            Step::Exported | Step::Purged => Next::Purge,
            _ if waiting == 0 => Next::Export,
            _ if relay && never > 0 && !ever_sent => Next::EmailEveryone,
            Step::Created if !relay => Next::GetLinks,
            Step::Created => Next::EmailEveryone,
            _ if relay && ever_sent => Next::Remind,
            Step::LinksSent => Next::GetLinks,
            _ => Next::Export,
        };
        Self {
            step,
            next,
            waiting,
            total,
        }
    }
}

/// The stepper: the batch's steps, the current one marked, and the one next action.
pub(super) fn stepper(flow: &Flow, base: &str) -> Markup {
    html! {
        nav.stepper aria-label="Progress of this batch" {
            ol {
                @for (step, name) in Step::ALL {
                    @let class = if step < flow.step { "done" } else if step == flow.step { "current" } else { "todo" };
                    li class=(class) aria-current=[(step == flow.step).then_some("step")] {
                        @if step < flow.step { span.sr-only { "Done: " } }
                        (name)
                    }
                }
            }
        }
        div.next-step {
            p { strong { "Next: " }
                @match flow.next {
                    Next::EmailEveryone => { "email each user their own link, with "
                        a href="#send-form" { "the form below" } "." }
                    Next::Remind => { (plural(flow.waiting, "One user has", "", " users have")) " not submitted yet: "
                        "remind them with " a href="#send-form" { "the form below" } ", or export what came in." }
                    Next::GetLinks => { "get the links and send each user their own (a mail-merge CSV), or "
                        a href="/admin/smtp" { "set up email sending" } "." }
                    Next::Export if flow.waiting == 0 => { "everyone (" (flow.total) ") has submitted: export the passwords for the migration." }
                    Next::Export => { (plural(flow.waiting, "One user has", "", " users have")) " not submitted yet: "
                        "wait for them (reissue a link that expired or locked), or export the passwords that came in." }
                    Next::Purge => { "once the migration has run, purge the batch: its passwords are deleted for good." }
                }
            }
            @match flow.next {
                Next::GetLinks => { p { a.button href={ (base) "/links" } { "Get the links" } } }
                Next::Export => { p { a.button href={ (base) "/export" } { "Export the passwords" } } }
                Next::Purge => { p { a.button href={ (base) "/export" } { "Export again or purge" } } }
                Next::EmailEveryone | Next::Remind => {}
            }
            p.small.other-steps {
                @if flow.next != Next::GetLinks { a href={ (base) "/links" } { "Get the links (CSV or email)" } " · " }
                @if !matches!(flow.next, Next::Export | Next::Purge) { a href={ (base) "/export" } { "Export and purge" } }
                @else { a href={ (base) "/message" } { "The message users get" } }
                " · " a href={ (base) "/readiness" } { "Readiness and re-check" }
            }
        }
    }
}

/// A banner when links are locked, saying what to do.
pub(super) fn locked_banner(statuses: &[RecipientStatus], now: i64) -> Markup {
    let locked: Vec<&str> = statuses
        .iter()
        .filter(|s| s.submitted_at.is_none() && status_word(s, now) == "locked")
        .map(|s| s.recipient.email.as_str())
        .collect();
    html! {
        @if !locked.is_empty() {
            div.notice.warn role="status" id="locked-banner" {
                p { strong { (plural(locked.len(), "One link is", "", " links are")) " locked" }
                    " after too many refused passwords: "
                    (locked.join(", ")) ". "
                    "Ask the user whether they were trying; then choose " strong { "Reissue" }
                    " on their row to give them a new link (the old one stays dead)." }
            }
        }
    }
}
