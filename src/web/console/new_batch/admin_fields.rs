//! The new-batch form's optional fieldset "The old server's admin login", the console's
//! `batch create --imap-admin-*`: checked like the CLI's options, tried once through
//! the admin path before anything is created (a refused admin password creates
//! nothing and comes back at its field), then set on the new batch, whose other users
//! are probed in the background as from the batch page. The admin password is never
//! shown again.

use maud::{Markup, html};
use secrecy::{ExposeSecret as _, SecretString};

use super::super::batch_page::form_words;
use super::super::layout::{field_error, invalid};
use super::{Problem, about, described, problem};
use crate::batch::admin_login::{self, AdminForm, AdminLogin, NewAdminLogin, ProbeOutcome};
use crate::imap::ImapSettings;
use crate::roster::Roster;
use crate::storage::Recipient;

/// The server types, as the select offers them (empty: no admin login).
const FORMS: [AdminForm; 4] = [
    AdminForm::Dovecot,
    AdminForm::Exchange,
    AdminForm::Mirapoint,
    AdminForm::UserRoot,
];

/// What the fieldset shows again after a refusal (never the password).
#[derive(Default)]
pub(super) struct AdminFields {
    form: String,
    user: String,
    separator: String,
    /// The admin password, from the form's bytes on (zeroized when dropped).
    password: SecretString,
    probe_user: String,
}

impl AdminFields {
    /// The fieldset as first shown.
    pub(super) fn defaults() -> Self {
        Self {
            separator: "*".to_owned(),
            ..Self::default()
        }
    }

    /// Takes one field of the form; `false` when `name` is not one of this fieldset's.
    /// The admin password goes from the form's bytes straight into a `SecretString`.
    pub(super) fn read(&mut self, name: &str, text: impl FnOnce() -> String) -> bool {
        let slot = match name {
            "admin_form" => &mut self.form,
            "admin_user" => &mut self.user,
            "admin_separator" => &mut self.separator,
            "admin_password" => {
                self.password = SecretString::from(text());
                return true;
            }
            "admin_probe_user" => &mut self.probe_user,
            _ => return false,
        };
        *slot = text();
        true
    }

    /// Whether anything of an admin login was given.
    fn given(&self) -> bool {
        !self.form.trim().is_empty()
            || !self.user.trim().is_empty()
            || !self.password.expose_secret().is_empty()
    }

    /// Whether the fieldset should be open (something typed, or a problem in it).
    pub(super) fn open(&self, problems: &[Problem]) -> bool {
        self.given() || FIELDS.iter().any(|f| about(problems, f).is_some())
    }

    /// The user to try the admin login with, as typed (`None`: the roster's first).
    pub(super) fn probe_user(&self) -> Option<&str> {
        Some(self.probe_user.trim()).filter(|u| !u.is_empty())
    }

    /// Checks the fieldset as `batch create` checks its `--imap-admin-*` options; the
    /// admin password is taken out of the form (it is never shown again). `None` and
    /// no problem when no admin login was given.
    pub(super) fn check(
        &mut self,
        imap_given: bool,
        roster: Option<&Roster>,
        problems: &mut Vec<Problem>,
    ) -> Option<NewAdminLogin> {
        let password = std::mem::take(&mut self.password);
        if !self.given() && password.expose_secret().is_empty() {
            return None;
        }
        let before = problems.len();
        if !imap_given {
            problems.push(problem(
                "admin_form",
                "The old server's admin login: it needs the old mail server above (its \
                 address); give one, or leave the admin login empty.",
            ));
        }
        let form = AdminForm::parse(&self.form)
            .map_err(|e| problems.push(problem("admin_form", format!("Server type: {e}."))))
            .ok();
        let login = form.and_then(|f| {
            let sep = (f == AdminForm::Dovecot && !self.separator.trim().is_empty())
                .then(|| self.separator.trim());
            AdminLogin::new(f, &self.user, sep)
                .map_err(|e| {
                    let field = if e.contains("separator") {
                        "admin_separator"
                    } else {
                        "admin_user"
                    };
                    problems.push(problem(field, format!("Admin login: {e}.")));
                })
                .ok()
        });
        if password.expose_secret().is_empty() {
            problems.push(problem(
                "admin_password",
                "Admin password: it is missing (it is asked again after any refusal, never kept \
                 in the form).",
            ));
        }
        if let (Some(email), Some(roster)) = (self.probe_user(), roster)
            && !roster
                .entries
                .iter()
                .any(|e| e.email.eq_ignore_ascii_case(email))
        {
            problems.push(problem(
                "admin_probe_user",
                format!("Try it with: {email:?} is not in the roster."),
            ));
        }
        let login = login.filter(|_| problems.len() == before)?;
        Some(NewAdminLogin { login, password })
    }
}

/// The ids of the fieldset's fields, in order.
const FIELDS: [&str; 5] = [
    "admin_form",
    "admin_user",
    "admin_separator",
    "admin_password",
    "admin_probe_user",
];

/// Before the batch is created: tries the admin login with the probe user's roster row
/// (or the first), so that a refused admin password creates nothing. The user tried
/// (EmailAddress) and the answer, which the new batch keeps as is (no second login); or
/// why not, for the admin password's field.
pub(super) async fn try_first(
    settings: &ImapSettings,
    login: &NewAdminLogin,
    roster: &Roster,
    probe_email: Option<&str>,
) -> Result<(String, ProbeOutcome), Problem> {
    let entry = match probe_email {
        Some(email) => roster
            .entries
            .iter()
            .find(|e| e.email.eq_ignore_ascii_case(email)),
        None => roster.entries.first(),
    }
    .ok_or_else(|| problem("admin_probe_user", "Try it with: no such roster user."))?;
    let recipient = Recipient {
        id: 0,
        batch_id: String::new(),
        roster_line: i64::try_from(entry.line).unwrap_or(i64::MAX),
        email: entry.email.clone(),
        user_name: entry.user_name.clone(),
        display_name: None,
        alternate_email: None,
        user_root: entry.user_root.clone(),
        language: None,
    };
    admin_login::try_admin_login(settings, login, &recipient)
        .await
        .map(|outcome| (recipient.email, outcome))
        .map_err(|e| problem("admin_password", format!("Admin password: {e}.")))
}

/// The fieldset, each problem beside its field (inside the old-server section).
pub(super) fn fieldset(fields: &AdminFields, problems: &[Problem]) -> Markup {
    let [form_e, user_e, sep_e, pw_e, probe_e] = FIELDS.map(|f| about(problems, f));
    html! {
        fieldset.question {
            legend { "The old server's admin login (optional)" }
            p.small id="admin-login-hint" {
                "If the old server has an admin (master user) login, passdrop tries it once now, \
                 then probes every user with it in the background: only the users it does not \
                 open get a link. A refused admin password creates nothing."
            }
            div.field {
                label for="admin_form" { "Server type" }
                select id="admin_form" name="admin_form"
                    aria-invalid=[invalid(form_e.as_ref())]
                    aria-describedby=[described(Some("admin-login-hint"), "admin_form", form_e.as_ref())] {
                    option value="" selected[fields.form.trim().is_empty()] { "No admin login" }
                    @for f in FORMS {
                        option value=(f.as_str())
                            selected[AdminForm::parse(&fields.form).ok() == Some(f)] { (form_words(f)) }
                    }
                }
                (field_error("admin_form", form_e.as_deref()))
            }
            div.field {
                label for="admin_user" { "Admin login (Exchange: DOMAIN/ADMIN)" }
                input type="text" id="admin_user" name="admin_user" autocomplete="off" value=(fields.user)
                    aria-invalid=[invalid(user_e.as_ref())]
                    aria-describedby=[described(None, "admin_user", user_e.as_ref())];
                (field_error("admin_user", user_e.as_deref()))
            }
            div.field {
                label for="admin_separator" { "Dovecot master user separator" }
                input type="text" id="admin_separator" name="admin_separator" size="4" value=(fields.separator)
                    aria-invalid=[invalid(sep_e.as_ref())]
                    aria-describedby=[described(None, "admin_separator", sep_e.as_ref())];
                (field_error("admin_separator", sep_e.as_deref()))
            }
            div.field {
                label for="admin_password" { "Admin password" }
                input type="password" id="admin_password" name="admin_password" autocomplete="off"
                    aria-invalid=[invalid(pw_e.as_ref())]
                    aria-describedby=[described(None, "admin_password", pw_e.as_ref())];
                (field_error("admin_password", pw_e.as_deref()))
            }
            div.field {
                label for="admin_probe_user" { "Try it with (EmailAddress; empty: the roster's first user)" }
                input type="text" id="admin_probe_user" name="admin_probe_user" autocomplete="off" value=(fields.probe_user)
                    aria-invalid=[invalid(probe_e.as_ref())]
                    aria-describedby=[described(None, "admin_probe_user", probe_e.as_ref())];
                (field_error("admin_probe_user", probe_e.as_deref()))
            }
        }
    }
}

/// The notice after a batch was created with an admin login.
pub(super) fn created_notice(probe_user: &str, outcome: Option<&ProbeOutcome>) -> Markup {
    html! {
        p { strong { "Batch created with the old server's admin login." } " "
            @match outcome {
                Some(ProbeOutcome::NeedsPassword(words)) => {
                    "The admin password is right, but it does not open " (probe_user)
                    "'s mailbox (" (words) "). "
                }
                _ => { "It opened " (probe_user) "'s mailbox. " }
            }
            "The other users are being probed now; reload the page to see who is covered. \
             Nothing has been sent: links go only to users who need their password, once \
             their probe has answered." }
    }
}
