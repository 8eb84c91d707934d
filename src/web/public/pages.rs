//! The pages a person with a link sees, as plain maud functions in the shared
//! `layout`: the collection form, the thank-you page, and why a link does not work.
//! User data is always escaped (never `PreEscaped`); there is no script and no inline
//! style.

use maud::{Markup, html};

use crate::batch::{LinkStatus, MailClient};
use crate::config::format_time;
use crate::web::layout::{layout, message_page};

/// What the collection form shows.
pub struct FormPage<'a> {
    /// Organisation asking.
    pub org_name: Option<&'a str>,
    /// Mailbox being moved.
    pub email: &'a str,
    /// When the link expires.
    pub expires_at: i64,
    /// Whether to ask how the user reads their email.
    pub ask_mail_client: bool,
    /// The old IMAP server's host, when the password is checked with it before it is
    /// accepted (then it is asked for once, not twice).
    pub checked_with: Option<&'a str>,
    /// The answer chosen on a previous attempt, kept on a 422.
    pub mail_client: Option<MailClient>,
    /// A problem with the last attempt, shown next to the field it concerns.
    pub error: Option<FormError<'a>>,
}

/// Which part of the form a problem concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorField {
    /// The password itself (empty, too long, forbidden character).
    Password,
    /// The two password fields together (they differ).
    BothPasswords,
    /// The email-reading question.
    MailClient,
    /// The request as a whole (not sent as a normal form).
    Form,
}

/// A problem to show on the form.
#[derive(Debug, Clone, Copy)]
pub struct FormError<'a> {
    /// Where it belongs.
    pub field: ErrorField,
    /// What to tell the user.
    pub message: &'a str,
}

/// The collection form.
pub fn collection_form(page: &FormPage<'_>) -> Markup {
    let asker = page.org_name.unwrap_or("Your IT team");
    let field = page.error.map(|e| e.field);
    let password_invalid = matches!(
        field,
        Some(ErrorField::Password | ErrorField::BothPasswords)
    );
    let confirm_invalid = field == Some(ErrorField::BothPasswords);
    let password_described = password_invalid || field == Some(ErrorField::Form);
    let described_by = match (password_described, page.checked_with.is_some()) {
        (true, true) => Some("password-error password-hint"),
        (true, false) => Some("password-error"),
        (false, true) => Some("password-hint"),
        (false, false) => None,
    };
    let mail_client_error = page.error.filter(|e| e.field == ErrorField::MailClient);
    layout(
        "Your email is moving",
        html! {
            h1 { "Your email is moving" }
            p.lead {
                strong { (asker) } " is moving your mailbox "
                strong.mailbox { (page.email) }
                " to Microsoft 365. To copy the mail you already have, the move needs your "
                em { "current" } " email password, once."
            }
            ul.facts {
                li { "It is encrypted the moment you send it; only the person running the move can unlock it." }
                li { "It is used only to copy your existing mail, and deleted after the move." }
                li { "This link works once, and only until " strong { (format_time(page.expires_at)) } "." }
            }
            form method="post" autocomplete="off" novalidate {
                @if let Some(e) = page.error.filter(|e| e.field != ErrorField::MailClient) {
                    p.error id="password-error" role="alert" {
                        span.sr-only { "Error: " }
                        (e.message)
                    }
                }
                div.field {
                    label for="password" { "Current email password" }
                    // The data-* attributes ask password managers not to offer saving it.
                    input type="password" id="password" name="password" required
                        autocomplete="off" autocapitalize="off" spellcheck="false"
                        data-1p-ignore data-lpignore="true" data-bwignore="true" autofocus
                        aria-invalid=[password_invalid.then_some("true")]
                        aria-describedby=[described_by];
                }
                @if let Some(host) = page.checked_with {
                    p.hint id="password-hint" {
                        "Type it exactly as your email app uses it. Before saving it, we check "
                        "it with your current mail server (" (host) "), so a typing mistake is "
                        "caught now rather than on moving day."
                    }
                } @else {
                    div.field {
                        label for="password_confirm" { "Type the same password again" }
                        input type="password" id="password_confirm" name="password_confirm" required
                            autocomplete="off" autocapitalize="off" spellcheck="false"
                            data-1p-ignore data-lpignore="true" data-bwignore="true"
                            aria-invalid=[confirm_invalid.then_some("true")]
                            aria-describedby=[confirm_invalid.then_some("password-error")];
                    }
                }
                @if page.ask_mail_client {
                    fieldset.question
                        aria-describedby=[mail_client_error.map(|_| "mail-client-error")] {
                        legend { "How do you read your email today? " span.optional { "(optional)" } }
                        @if let Some(e) = mail_client_error {
                            p.error id="mail-client-error" role="alert" {
                                span.sr-only { "Error: " }
                                (e.message)
                            }
                        }
                        @for choice in MailClient::ALL {
                            label.choice {
                                input type="radio" name="mail_client" value=(choice.as_str())
                                    checked[page.mail_client == Some(choice)];
                                " " (choice.label())
                            }
                        }
                    }
                }
                button type="submit" { "Send password securely" }
            }
            p.small {
                "Not expecting this? Do not type anything; ask your IT contact. IT will never ask "
                "for your password any other way."
            }
        },
    )
}

/// Shown once a password is accepted.
pub fn submitted(email: &str, next_steps: Option<&str>) -> Markup {
    layout(
        "Thank you",
        html! {
            h1 { "Thank you, you're done" }
            p.lead {
                "The password for " strong.mailbox { (email) }
                " is encrypted and stored for the move."
            }
            @if let Some(text) = next_steps {
                section.next-steps {
                    h2 { "What happens next" }
                    p.preformatted { (text) }
                }
            }
            p { "This link is now used up and cannot be used again. You can close this page." }
        },
    )
}

/// The 404 page for a link nobody issued.
pub fn unknown_link() -> Markup {
    message_page(
        "Link not recognised",
        "This link is not valid. Check that you opened the whole link from your message (a \
         link split over two lines may be cut short), or ask whoever sent it for a new one.",
    )
}

/// The 410 page for a link whose batch was purged: nothing of the user is left to show,
/// only the organisation the tombstone names.
pub fn collection_closed(org_name: Option<&str>) -> Markup {
    let contact = org_name.map_or_else(
        || "whoever sent you this link".to_owned(),
        |org| format!("{org} (whoever sent you this link)"),
    );
    message_page(
        "This collection has closed",
        &format!(
            "This collection has closed; contact {contact} if you still need to send your \
             password. This link no longer takes a password, and nothing sent to it now is \
             kept."
        ),
    )
}

/// The 410 pages for links that can no longer take a password.
pub fn link_gone(status: LinkStatus) -> Markup {
    let (title, text) = match status {
        LinkStatus::Used => (
            "Already sent",
            "A password was already sent with this link, so it cannot be used again. If you \
             changed your password since, or sent the wrong one, ask whoever sent you the link \
             for a new one.",
        ),
        LinkStatus::Revoked => (
            "Link withdrawn",
            "This link was withdrawn by the person who sent it. Ask them if you still need to \
             send your password.",
        ),
        LinkStatus::Replaced => (
            "This link was replaced by a newer one",
            "This link was replaced by a newer one for the same mailbox, so it no longer works. \
             If you were given a newer link, use that one; if not, ask whoever sent you this \
             link for a new one.",
        ),
        LinkStatus::Locked => (
            "Link locked",
            "This link was locked after too many unsuccessful tries. Ask whoever sent it for a \
             new one.",
        ),
        LinkStatus::Expired | LinkStatus::Usable => (
            "Link expired",
            "This link has expired. Ask whoever sent it for a new one.",
        ),
    };
    message_page(title, text)
}
