//! The batch page's section on the old server's admin login: what is set, who it covers
//! and who needs their password (with the server's words), and the forms to set, probe
//! or stop it (each with the passphrase).

use std::collections::HashMap;

use maud::{Markup, html};

use super::super::layout::optional_passphrase_field;
use super::plural;
use crate::batch::admin_login::{AdminForm, AdminLogin};
use crate::storage::{Batch, ProbeRecord, ProbeState, RecipientStatus};
use crate::web::{AppError, AppState};

/// Most users named in each group on the page (the counts are always whole).
const MAX_NAMED: usize = 50;

/// Loads the probe answers and renders the section.
pub(in super::super) async fn section(
    state: &AppState,
    b: &Batch,
    statuses: &[RecipientStatus],
) -> Result<Markup, AppError> {
    if b.imap.is_none() && b.admin_login.is_none() {
        return Ok(html! {});
    }
    let probes = match &b.admin_login {
        Some(_) => state.store.probe_records(&b.id).await?,
        None => HashMap::new(),
    };
    Ok(render(b, statuses, &probes))
}

fn render(b: &Batch, statuses: &[RecipientStatus], probes: &HashMap<i64, ProbeRecord>) -> Markup {
    let base = format!("/admin/batches/{}", b.id);
    let login = b
        .admin_login
        .as_ref()
        .and_then(|s| AdminLogin::from_stored(s).ok());
    let waiting: Vec<&RecipientStatus> = statuses
        .iter()
        .filter(|s| s.submitted_at.is_none())
        .collect();
    let group = |wanted: &[ProbeState]| -> Vec<(&str, Option<&str>)> {
        waiting
            .iter()
            .filter_map(|s| {
                probes
                    .get(&s.recipient.id)
                    .filter(|p| wanted.contains(&p.state))
                    .map(|p| (s.recipient.email.as_str(), p.reason.as_deref()))
            })
            .collect()
    };
    let covered = group(&[ProbeState::Covered]);
    let needs = group(&[ProbeState::NeedsPassword, ProbeState::Requested]);
    let unprobed = waiting
        .iter()
        .filter(|s| !probes.contains_key(&s.recipient.id))
        .count();
    html! {
        section.admin-login {
            h2 { "Old server's admin login" }
            @match &login {
                Some(l) => {
                    p {
                        "Mailboxes are opened with the admin login " code { (l.user) }
                        " (" (form_words(l.form)) ", for example " code { (l.login_for("ann@example.org")) } ")"
                        " wherever it works; only the other users get a link. "
                        strong { (plural(covered.len(), "One user is", "", " users are")) } " covered, "
                        strong { (plural(needs.len(), "one needs", "", " need")) } " their own password, "
                        (plural(unprobed, "one is", "", " are")) " not probed yet."
                    }
                    @if !needs.is_empty() {
                        details {
                            summary { "Who needs their password, and why" }
                            ul {
                                @for (email, reason) in needs.iter().take(MAX_NAMED) {
                                    li { (email) @if let Some(r) = reason { ": " (r) } }
                                }
                            }
                        }
                    }
                    @if !covered.is_empty() {
                        details {
                            summary { "Who the admin login covers" }
                            p.small { "To ask one of them for their password anyway, use their button: a new link is made (with the passphrase, as a reissue; shown once on the next page), they then \"need their password\" and get links like the others, and their own password wins in the export." }
                            ul {
                                @for (email, _) in covered.iter().take(MAX_NAMED) {
                                    li {
                                        form method="get" action={ (base) "/reissue" } {
                                            (email) " "
                                            input type="hidden" name="email" value=(email);
                                            button.compact.secondary type="submit"
                                                aria-label={ "Ask " (email) " for their password" } { "Ask for their password" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form method="post" action={ (base) "/admin-login/probe" } {
                        (optional_passphrase_field("probe-passphrase", "Admin passphrase (opens the sealed admin password)"))
                        button.secondary type="submit" { "Probe the users not probed yet" }
                    }
                }
                None => {
                    p { "Every user gets a link. If the old server has an admin (master user) login, passdrop can use it instead wherever it works and ask only the others for their password." }
                }
            }
            details {
                summary { @if login.is_some() { "Change the admin login" } @else { "Use an admin login" } }
                form method="post" action={ (base) "/admin-login" } {
                    div.field {
                        label for="admin_form" { "Server type" }
                        select id="admin_form" name="admin_form" {
                            @for form in [AdminForm::Dovecot, AdminForm::Exchange, AdminForm::Mirapoint, AdminForm::UserRoot] {
                                option value=(form.as_str()) selected[login.as_ref().is_some_and(|l| l.form == form)] { (form_words(form)) }
                            }
                        }
                    }
                    div.field {
                        label for="admin_user" { "Admin login (Exchange: DOMAIN/ADMIN)" }
                        input type="text" id="admin_user" name="admin_user" autocomplete="off"
                            value=(login.as_ref().map(|l| l.user.as_str()).unwrap_or_default());
                    }
                    div.field {
                        label for="admin_separator" { "Dovecot master user separator" }
                        input type="text" id="admin_separator" name="admin_separator" size="4"
                            value=(login.as_ref().and_then(|l| l.separator.as_deref()).unwrap_or("*"));
                    }
                    div.field {
                        label for="admin_password" { "Admin password" }
                        input type="password" id="admin_password" name="admin_password" autocomplete="off";
                    }
                    div.field {
                        label for="admin_probe_user" { "Try it with (EmailAddress; empty: the first user)" }
                        input type="text" id="admin_probe_user" name="admin_probe_user" autocomplete="off";
                    }
                    (optional_passphrase_field("admin-login-passphrase", "Admin passphrase (the admin login decides whose passwords are asked for)"))
                    button.secondary type="submit" { "Try and save" }
                    @if login.is_some() {
                        " "
                        button.secondary type="submit" name="off" value="1" { "Stop using the admin login" }
                    }
                }
            }
        }
    }
}

/// A form in words.
pub fn form_words(form: AdminForm) -> &'static str {
    match form {
        AdminForm::Dovecot => "Dovecot master user",
        AdminForm::Exchange => "Exchange, Domain/Admin/User",
        AdminForm::Mirapoint => "Mirapoint, #user@domain#admin#",
        AdminForm::UserRoot => "Courier or Oracle IMAP, with UserRoot",
    }
}

/// The admin login's audit events in words (counts only); any other unknown kind as it
/// is stored.
pub(super) fn audit_words(kind: &str, count: i64) -> String {
    match kind {
        "admin_login_set" => "the old server's admin login was set (tried once first)".to_owned(),
        "admin_login_removed" => "the old server's admin login was removed".to_owned(),
        "admin_login_probed" => format!(
            "{} through the admin login",
            plural(count, "one user was probed", "", " users were probed")
        ),
        "admin_login_used" => format!(
            "the admin login was used in an export ({})",
            plural(count, "one row", "", " rows")
        ),
        "recheck_admin_login_refused" => format!(
            "re-check: the admin login no longer opens {}",
            plural(count, "one user's mailbox", "", " users' mailboxes")
        ),
        "recheck_admin_password_refused" => "REFUSED: the old server refused the admin password \
            during a re-check; the users it covers were not re-checked. Set it again"
            .to_owned(),
        other => other.to_owned(),
    }
}
