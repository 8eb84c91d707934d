//! The console's email pages: the batch page's sending section and per-user state, the
//! relay settings, and the message editor.

use maud::{Markup, html};

use super::layout::{
    admin_layout, error_box, notice as notice_box, optional_passphrase_field, passphrase_field,
};
use crate::config::format_time;
use crate::mail::{LinkFields, PLACEHOLDERS};
use crate::storage::{Batch, RecipientStatus, StoredSmtp};

/// The relay settings form's values.
#[derive(Debug, Default, Clone)]
pub struct SmtpFields {
    /// Host.
    pub host: String,
    /// Port (empty: the mode's usual one).
    pub port: String,
    /// `tls`, `starttls` or `none`.
    pub security: String,
    /// Login name.
    pub user: String,
    /// Sender.
    pub from: String,
    /// Reply-To.
    pub reply_to: String,
    /// Extra authority, PEM.
    pub ca_pem: String,
}

impl SmtpFields {
    /// The fields of a saved relay (never its password).
    pub fn of(s: &StoredSmtp) -> Self {
        Self {
            host: s.host.clone(),
            port: s.port.to_string(),
            security: s.security.clone(),
            user: s.username.clone().unwrap_or_default(),
            from: s.from.clone(),
            reply_to: s.reply_to.clone().unwrap_or_default(),
            ca_pem: s.ca_pem.clone().unwrap_or_default(),
        }
    }
}

/// What the relay page shows.
pub enum RelayShown<'a> {
    /// Set by the server's options or environment: shown, not editable.
    Configured(&'a crate::mail::SmtpSettings),
    /// Saved in the console (or nothing yet): editable.
    Saved {
        /// The form's values.
        fields: SmtpFields,
        /// Whether a password is saved.
        has_password: bool,
        /// When saved, if it was.
        saved_at: Option<i64>,
    },
}

/// The email settings page.
pub fn smtp_page(shown: &RelayShown<'_>, notice: Option<Markup>, error: Option<&str>) -> Markup {
    admin_layout(
        "Email settings",
        true,
        html! {
            h1 { "Email settings" }
            (notice_box(notice))
            @if let Some(e) = error { p.error role="alert" { span.sr-only { "Error: " } (e) } }
            p { "passdrop emails each user their link through your organisation's SMTP relay: "
                "Microsoft 365 (smtp.office365.com, port 587, STARTTLS, a licensed mailbox with SMTP AUTH on), "
                "your web host's SMTP server, or a relay on this machine." }
            @match shown {
                RelayShown::Configured(s) => {
                    p { "The relay is set by the server's configuration (the "
                        code { "--smtp-*" } " options or " code { "PASSDROP_SMTP_*" } " variables), which take precedence: change it there." }
                    dl {
                        dt { "Server" } dd { (s.host) ":" (s.port) " (" (s.security.as_str()) ")" }
                        dt { "Login" } dd { (s.credentials.as_ref().map_or("none", |(u, _)| u.as_str())) }
                        dt { "From" } dd { (s.from.to_string()) }
                    }
                }
                RelayShown::Saved { fields, has_password, saved_at } => {
                    @if let Some(at) = saved_at { p.small { "Saved " (format_time(*at)) "." } }
                    form method="post" action="/admin/smtp" {
                        div.field {
                            label for="smtp_host" { "SMTP server" }
                            input type="text" id="smtp_host" name="host" value=(fields.host) required
                                placeholder="smtp.office365.com";
                        }
                        div.field {
                            label for="smtp_security" { "Encryption" }
                            select id="smtp_security" name="security" {
                                @for (value, label) in [("starttls", "STARTTLS, required (port 587)"),
                                                        ("tls", "TLS from the start (port 465)"),
                                                        ("none", "None: a relay on this machine only (port 25)")] {
                                    option value=(value) selected[fields.security == value] { (label) }
                                }
                            }
                        }
                        div.field {
                            label for="smtp_port" { "Port (empty: the usual one)" }
                            input type="text" id="smtp_port" name="port" value=(fields.port) inputmode="numeric";
                        }
                        div.field {
                            label for="smtp_user" { "Login name (empty: no login)" }
                            input type="text" id="smtp_user" name="user" value=(fields.user) autocomplete="off";
                        }
                        div.field {
                            label for="smtp_password" {
                                "SMTP password"
                                @if *has_password { " (a password is saved; leave empty to keep it)" }
                            }
                            input type="password" id="smtp_password" name="password" autocomplete="new-password";
                        }
                        div.field {
                            label for="smtp_from" { "From, e.g. IT team <it@example.org>" }
                            input type="text" id="smtp_from" name="from" value=(fields.from) required;
                        }
                        div.field {
                            label for="smtp_reply_to" { "Reply-To (optional)" }
                            input type="text" id="smtp_reply_to" name="reply_to" value=(fields.reply_to);
                        }
                        div.field {
                            label for="smtp_ca" { "Also trust this certificate authority (PEM, optional, for a relay with a private certificate)" }
                            textarea id="smtp_ca" name="ca_pem" rows="3" { (fields.ca_pem) }
                        }
                        (passphrase_field("smtp-passphrase", "Admin passphrase (the SMTP password is sealed with your admin key)"))
                        button type="submit" name="action" value="save" { "Test and save" }
                        @if saved_at.is_some() {
                            " "
                            button.secondary type="submit" name="action" value="forget" formnovalidate { "Forget the saved relay" }
                        }
                    }
                }
            }
            h2 { "Send a test message" }
            form method="post" action="/admin/smtp/test" {
                div.field {
                    label for="test_to" { "To" }
                    input type="email" id="test_to" name="to" required;
                }
                (passphrase_field("test-passphrase", "Admin passphrase"))
                button.secondary type="submit" { "Send a test message" }
            }
            p { a href="/admin/batches" { "Back to the batches" } }
        },
    )
}

/// Example values for the message preview.
pub fn preview_fields<'a>(
    b: &'a Batch,
    first: Option<&'a RecipientStatus>,
    expires: &'a str,
    link: &'a str,
) -> LinkFields<'a> {
    LinkFields {
        name: first.and_then(|s| s.recipient.display_name.as_deref()),
        org: b.org_name.as_deref().unwrap_or("Your IT team"),
        mailbox: first.map_or("user@example.org", |s| s.recipient.email.as_str()),
        link,
        expires,
    }
}

/// The message editor: subject and body with placeholders, and a preview.
pub fn message_page(
    b: &Batch,
    subject: &str,
    body: &str,
    preview: Option<(String, String)>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    admin_layout(
        "Message",
        true,
        html! {
            h1 { "The message for " (b.name) }
            (notice_box(notice.map(|n| html! { p { (n) } })))
            (error_box(error))
            p { "Each user gets this message with their own link, as plain text and simple HTML. "
                "Keep the warning that IT never asks for a password any other way: it is what tells a real request from phishing." }
            form method="post" action={ (base) "/message" } {
                div.field {
                    label for="subject" { "Subject" }
                    input type="text" id="subject" name="subject" value=(subject) required maxlength="200";
                }
                div.field {
                    label for="body" { "Body (plain text; a blank line starts a paragraph)" }
                    textarea id="body" name="body" rows="16" { (body) }
                }
                p.small { "Placeholders: "
                    @for (i, (name, what)) in PLACEHOLDERS.iter().enumerate() {
                        @if i > 0 { "; " }
                        code { "{" (name) "}" } " " (what)
                    }
                    ". Write " code { "{{" } " and " code { "}}" } " for braces." }
                (optional_passphrase_field("message-passphrase", "Admin passphrase (to save)"))
                button type="submit" name="action" value="save" { "Save" }
                " "
                button.secondary type="submit" name="action" value="preview" { "Preview" }
                " "
                button.secondary type="submit" name="action" value="default" formnovalidate { "Back to the default message" }
            }
            @if let Some((subject, text)) = preview {
                h2 { "Preview" }
                p { strong { "Subject: " } (subject) }
                pre.preview { (text) }
            }
            p { a href=(base) { "Back to the batch" } }
        },
    )
}
