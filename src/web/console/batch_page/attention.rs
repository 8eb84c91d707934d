//! What needs the admin: users who reported their link ("This wasn't me") or asked for
//! help, as a banner on top and as badges on their rows, with whether the admin's email
//! about it went out; and each user's language.

use maud::{Markup, html};

use super::super::layout::{at, when};
use super::plural;
use crate::config::TimeZoneSetting;
use crate::i18n::Language;
use crate::storage::{AdminNotice, Batch, NoticeKind, RecipientStatus};

/// The banner: who reported, who asked for help, and what became of the emails.
pub(super) fn attention_banner(
    statuses: &[RecipientStatus],
    notices: &[AdminNotice],
    relay: bool,
    now: i64,
    tz: &TimeZoneSetting,
) -> Markup {
    let reported: Vec<&RecipientStatus> = statuses
        .iter()
        .filter(|s| s.reported_at.is_some())
        .collect();
    let help: Vec<&RecipientStatus> = statuses
        .iter()
        .filter(|s| s.needs_help_at.is_some())
        .collect();
    let emails = |kind: NoticeKind| {
        let of: Vec<&AdminNotice> = notices.iter().filter(|n| n.kind == kind).collect();
        let sent = of.iter().filter(|n| n.state == "sent").count();
        let waiting = of
            .iter()
            .filter(|n| n.state == "queued" || n.state == "sending")
            .count();
        let failed = of.iter().filter(|n| n.state == "failed").count();
        let problem = of.iter().find_map(|n| n.last_error.clone());
        (sent, waiting, failed, problem)
    };
    html! {
        @if !reported.is_empty() {
            div.notice.warn.attention role="status" id="reported-banner" {
                p { strong { (plural(reported.len(), "One user", "", " users")) " reported their link" }
                    " (\"This wasn't me / I didn't expect this\"); it was revoked: " }
                ul { @for s in &reported { li {
                    (s.recipient.email) " — "
                    @if let Some(t) = s.reported_at { (when(t, now, tz)) }
                    @if s.submitted_at.is_some() {
                        " — " strong { "a password had already been received: it may be someone else's; do not use it before you have checked" }
                    }
                } } }
                p { "Contact them through a channel you trust (phone, in person). Reissue their link only once you know it is safe, then clear their state." }
                (email_line(relay, emails(NoticeKind::Reported)))
            }
        }
        @if !help.is_empty() {
            div.notice.attention role="status" id="help-banner" {
                p { strong { (plural(help.len(), "One user", "", " users")) " asked for help" }
                    " (their link still works): " }
                ul { @for s in &help { li {
                    (s.recipient.email) " — "
                    @if let Some(t) = s.needs_help_at { (when(t, now, tz)) }
                } } }
                p { "Most often they do not know their current password. Once they can submit (or you have helped), clear their state." }
                (email_line(relay, emails(NoticeKind::NeedsHelp)))
            }
        }
    }
}

/// Whether the admin was emailed.
fn email_line(
    relay: bool,
    (sent, waiting, failed, problem): (usize, usize, usize, Option<String>),
) -> Markup {
    html! {
        p.small {
            @if !relay && sent + waiting + failed == 0 {
                "No relay is set up, so nobody was emailed: this page is where you hear of it."
            } @else {
                "Emails to you: " (sent) " sent, " (waiting) " waiting, " (failed) " failed."
                @if let Some(p) = problem { " Last problem: " (p) }
            }
        }
    }
}

/// A user's states, as badges with their times.
pub(super) fn state_badges(s: &RecipientStatus, now: i64, tz: &TimeZoneSetting) -> Markup {
    html! {
        @if let Some(t) = s.reported_at {
            br; span.badge.warn { "reported" } " " span.small { (at(t, now, tz)) }
        }
        @if let Some(t) = s.needs_help_at {
            br; span.badge.warn { "needs help" } " " span.small { (at(t, now, tz)) }
        }
    }
}

/// A user's language: the roster's, else what their browser asks for (then the
/// batch's default).
pub(super) fn language_cell(s: &RecipientStatus, b: &Batch) -> Markup {
    let named = |tag: &str| {
        Language::from_tag(tag).map_or_else(|| tag.to_owned(), |l| format!("{} ({tag})", l.name()))
    };
    html! {
        @match s.recipient.language.as_deref() {
            Some(tag) => { (named(tag)) br; span.small { "roster" } }
            None => {
                "browser's"
                br; span.small { "else " (b.language.as_deref().map_or_else(|| "the server's default".to_owned(), named)) }
            }
        }
    }
}
