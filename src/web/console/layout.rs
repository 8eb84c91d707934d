//! The console's frame and the widgets its pages share, one copy of each: the layout
//! with the navigation, the error box, the passphrase field and form, the notice, and
//! the new-passphrase hint and generated suggestion (setup and change), a field's own
//! error, the time zone input, and times (`when`: "2 min ago"; `at`: the exact time).

use maud::{DOCTYPE, Markup, html};
use secrecy::{ExposeSecret as _, SecretString};

use crate::batch;
use crate::config::{COMMON_TIME_ZONES, TimeZoneSetting, format_time_in, relative_time, rfc3339};
use crate::web::{assets, layout};

/// The frame of every console page; `logged_in` adds the navigation. On a phone the
/// navigation collapses to a "Menu" link that leads to the same links at the foot of
/// the page (no script needed; CSS shows one or the other, so only one is ever in the
/// accessibility tree).
pub fn admin_layout(title: &str, logged_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head(&format!("{title} · passdrop admin")))
            body.admin {
                header.site {
                    img src=(assets::ICON.url()) alt="" width="28" height="28";
                    span { "passdrop admin" }
                    @if logged_in {
                        nav.top aria-label="Console" { (nav_links()) }
                        a.menu-link href="#site-menu" { "Menu" }
                    }
                }
                main { (body) }
                @if logged_in {
                    nav.bottom id="site-menu" aria-label="Console menu" {
                        h2 { "Menu" }
                        (nav_links())
                    }
                }
            }
        }
    }
}

/// The console's links and the logout button.
fn nav_links() -> Markup {
    html! {
        a href="/admin/batches" { "Batches" }
        a href="/admin/batches/new" { "New batch" }
        a href="/admin/smtp" { "Email settings" }
        a href="/admin/api" { "API" }
        a href="/admin/passphrase" { "Passphrase" }
        form method="post" action="/admin/logout" {
            button.link type="submit" { "Log out" }
        }
    }
}

/// The problem with the last attempt, if any, announced to screen readers; a field can
/// point at it with `aria-describedby="form-error"`.
pub fn error_box(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error role="alert" id="form-error" { span.sr-only { "Error: " } (e) }
        }
    }
}

/// What happened, on top of a page, if anything did.
pub fn notice_box(notice: Option<Markup>) -> Markup {
    html! {
        @if let Some(n) = notice { div.notice role="status" { (n) } }
    }
}

/// The admin passphrase, asked again inside a form that opens secrets; the browser
/// will not send the form without it.
pub fn passphrase_field(id: &str, label: &str) -> Markup {
    passphrase_input(id, label, true)
}

/// The admin passphrase inside a form where some buttons do not need it (the server
/// asks for it when one that does is pressed).
pub fn optional_passphrase_field(id: &str, label: &str) -> Markup {
    passphrase_input(id, label, false)
}

/// The one copy of the passphrase field's markup.
fn passphrase_input(id: &str, label: &str, required: bool) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input type="password" id=(id) name="passphrase" required[required] autocomplete="current-password";
        }
    }
}

/// A form that asks only for the passphrase (the login, links and export pages).
pub fn passphrase_form(action: &str, error: Option<&str>, buttons: Markup) -> Markup {
    html! {
        form method="post" action=(action) {
            (error_box(error))
            div.field {
                label for="passphrase" { "Admin passphrase" }
                input type="password" id="passphrase" name="passphrase" required
                    autocomplete="current-password" autofocus
                    aria-describedby=[error.map(|_| "form-error")];
            }
            (buttons)
        }
    }
}

/// What a new passphrase must be, in words.
pub fn strength_hint() -> Markup {
    html! {
        "At least " (batch::MIN_PASSPHRASE_CHARS) " characters, and hard to guess: passdrop \
         refuses common passwords, names, dates, keyboard patterns and repeats. Four or five \
         unrelated words are usually enough."
    }
}

/// A generated passphrase the admin may copy: shown on this page only, never stored or
/// logged.
pub fn suggestion_box(suggestion: Option<&SecretString>) -> Markup {
    html! {
        @if let Some(s) = suggestion {
            div.field {
                p { "Or use this one, made just now from " (batch::GENERATED_WORDS)
                    " random words (about 77 bits):" }
                p { code.passphrase { (s.expose_secret()) } }
                p.small { "passdrop does not keep it: copy it into your password manager \
                           first, then paste it into both fields. Reloading the page shows \
                           another." }
            }
        }
    }
}

/// `"true"` for `aria-invalid` when the field has a problem.
pub fn invalid<T>(error: Option<&T>) -> Option<&'static str> {
    error.map(|_| "true")
}

/// A field's own problem, under it, with the id `{field}-error` its `aria-describedby`
/// names.
pub fn field_error(field: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error id={ (field) "-error" } { span.sr-only { "Error: " } (e) }
        }
    }
}

/// A text input for an IANA time zone, with the common ones suggested (any is
/// accepted); empty means `server`'s.
pub fn time_zone_input(
    id: &str,
    value: &str,
    server: &TimeZoneSetting,
    described_by: Option<String>,
    is_invalid: bool,
) -> Markup {
    let list = format!("{id}-zones");
    html! {
        input type="text" id=(id) name=(id) value=(value) list=(list) autocomplete="off"
            spellcheck="false" placeholder=(server.name())
            aria-invalid=[is_invalid.then_some("true")] aria-describedby=[described_by];
        datalist id=(list) {
            @for zone in COMMON_TIME_ZONES { option value=(zone) {} }
        }
    }
}

/// A moment shown relative to now ("2 min ago", "in 6 days"), with the exact time in
/// `tz` as its title and RFC 3339 as its `datetime`.
pub fn when(unix: i64, now: i64, tz: &TimeZoneSetting) -> Markup {
    html! {
        time datetime=(rfc3339(unix)) title=(format_time_in(unix, tz)) { (relative_time(unix, now)) }
    }
}

/// A moment shown exactly in `tz` (a date people plan by: an expiry, a purge), with
/// how far it is as its title.
pub fn at(unix: i64, now: i64, tz: &TimeZoneSetting) -> Markup {
    html! {
        time datetime=(rfc3339(unix)) title=(relative_time(unix, now)) { (format_time_in(unix, tz)) }
    }
}
