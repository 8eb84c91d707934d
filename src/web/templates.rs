//! Pages, as plain maud functions: `layout` plus one function per page. User data is
//! always escaped (never `PreEscaped`).

use maud::{DOCTYPE, Markup, html};

use crate::batch::LinkStatus;
use crate::config::format_time;

/// The frame every page shares.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · passdrop" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                main {
                    (body)
                }
                footer { "passdrop · secure password collection for your email move" }
            }
        }
    }
}

/// What the collection form shows.
pub struct FormPage<'a> {
    /// Organisation asking.
    pub org_name: Option<&'a str>,
    /// Mailbox being moved.
    pub email: &'a str,
    /// When the link expires.
    pub expires_at: i64,
    /// A problem with the last attempt, shown next to the field.
    pub error: Option<&'a str>,
}

/// The collection form.
pub fn collection_form(page: &FormPage<'_>) -> Markup {
    let asker = page.org_name.unwrap_or("Your IT team");
    layout(
        "Your email move",
        html! {
            h1 { "Your mailbox is moving" }
            p {
                (asker) " is moving the mailbox " strong { (page.email) }
                " to Microsoft 365. To copy your existing mail across, the move needs your "
                strong { "current" } " email password, once."
            }
            ul.facts {
                li { "It is encrypted the moment you send it." }
                li { "It is used only to copy your mail, then deleted." }
                li { "This link works once and expires on " (format_time(page.expires_at)) "." }
            }
            form method="post" autocomplete="off" {
                @if let Some(error) = page.error {
                    p.error id="form-error" role="alert" { (error) }
                }
                label for="password" { "Current email password" }
                input type="password" id="password" name="password" required
                    autocomplete="off" maxlength="1024"
                    aria-describedby=[page.error.map(|_| "form-error")];
                label for="password_confirm" { "Type it again" }
                input type="password" id="password_confirm" name="password_confirm" required
                    autocomplete="off" maxlength="1024";
                button type="submit" { "Send securely" }
            }
        },
    )
}

/// Shown once a password is accepted.
pub fn submitted(email: &str) -> Markup {
    layout(
        "Thank you",
        html! {
            h1 { "Thank you, that's all" }
            p { "The password for " strong { (email) } " is encrypted and stored for the move." }
            p { "This link is now used up. You can close this page." }
        },
    )
}

/// The 404 page for a link nobody issued.
pub fn unknown_link() -> Markup {
    message_page(
        "Link not recognised",
        "This link is not valid. Check that you opened the whole link from your message, or \
         ask whoever sent it for a new one.",
    )
}

/// The 410 pages for links that can no longer take a password.
pub fn link_gone(status: LinkStatus) -> Markup {
    let (title, text) = match status {
        LinkStatus::Used => (
            "Already sent",
            "A password was already sent with this link, so it cannot be used again. If you \
             need to change what you sent, ask whoever sent you the link for a new one.",
        ),
        LinkStatus::Revoked => (
            "Link withdrawn",
            "This link was withdrawn by the person who sent it. Ask them if you still need to \
             send your password.",
        ),
        LinkStatus::Replaced => (
            "Newer link sent",
            "A newer link was sent to you for the same mailbox; please use that one.",
        ),
        LinkStatus::Expired | LinkStatus::Usable => (
            "Link expired",
            "This link has expired. Ask whoever sent it for a new one.",
        ),
    };
    message_page(title, text)
}

/// A page with a heading and one paragraph.
pub fn message_page(title: &str, text: &str) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p { (text) }
        },
    )
}
