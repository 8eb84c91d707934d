//! The pages a person with a link sees, as plain maud functions in the shared
//! `layout`, in the reader's language: the collection form, the thank-you page, and why
//! a link does not work. Every text comes from the catalogue (`i18n`, keys in
//! `src/locales/en/passdrop.ftl`); the admin's own texts (next steps) stay as written.
//! User data is always escaped (the only `PreEscaped` is `rich`'s own escaped output);
//! there is no inline script or style. The form's one script (`assets/reveal.js`) is a
//! progressive enhancement: without it the form keeps its two password fields.

use maud::{Markup, PreEscaped, html};

use super::ways_pages::{Ways, ways_nav};
use crate::batch::{LinkStatus, MailClient};
use crate::config::TimeZoneSetting;
use crate::i18n::{self, Arg, Language};
use crate::web::assets;
use crate::web::brand::PageBrand;
use crate::web::layout::{layout_branded, message_page_branded};

/// From this many tries left, the form says how many remain before the link locks.
pub const WARN_FROM_TRIES_LEFT: i64 = 2;

/// What the collection form shows.
pub struct FormPage<'a> {
    /// The reader's language.
    pub language: Language,
    /// Organisation asking.
    pub org_name: Option<&'a str>,
    /// Mailbox being moved.
    pub email: &'a str,
    /// When the link expires.
    pub expires_at: i64,
    /// The time zone dates are written in (the batch's, else the server's).
    pub time_zone: &'a TimeZoneSetting,
    /// Whether to ask how the user reads their email.
    pub ask_mail_client: bool,
    /// The old IMAP server's host, when the password is checked with it before it is
    /// accepted (then it is asked for once, not twice).
    pub checked_with: Option<&'a str>,
    /// The answer chosen on a previous attempt, kept on a 422.
    pub mail_client: Option<MailClient>,
    /// Refusals left before the link locks (said from `WARN_FROM_TRIES_LEFT` down).
    pub tries_left: i64,
    /// A problem with the last attempt, shown next to the field it concerns.
    pub error: Option<FormError>,
    /// Who is asking (the batch's organisation, contact, logo, accent), its signature
    /// checked.
    pub brand: Option<&'a PageBrand>,
    /// The link's address, for the ways out under the form ("I don't know my
    /// password", "This wasn't me"); `None` shows none.
    pub link: Option<&'a str>,
}

/// Which part of the form a problem concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone)]
pub struct FormError {
    /// Where it belongs.
    pub field: ErrorField,
    /// What to tell the user, in their language.
    pub message: String,
}

/// A catalogue message with markup values (the message escaped, each value put in as
/// the markup given): for `<strong>` around a name inside a translated sentence.
pub(super) fn rich(language: Language, key: &str, values: &[(&str, Markup)]) -> Markup {
    let marks: Vec<String> = (0..values.len())
        .map(|i| format!("\u{E000}{i}\u{E001}"))
        .collect();
    let args: Vec<(&str, Arg<'_>)> = values
        .iter()
        .zip(&marks)
        .map(|((name, _), mark)| (*name, Arg::Text(mark)))
        .collect();
    // The private-use marks survive escaping; the values are already escaped markup.
    // One pass: a value is put in once and never searched for marks itself (a value
    // that holds text looking like a mark stays as it is).
    let text = html! { (i18n::text_with(language, key, &args)) }.into_string();
    let mut out =
        String::with_capacity(text.len() + values.iter().map(|v| v.1.0.len()).sum::<usize>());
    let mut rest = text.as_str();
    while let Some(start) = rest.find('\u{E000}') {
        out.push_str(&rest[..start]);
        let after = &rest[start + '\u{E000}'.len_utf8()..];
        let value = after.find('\u{E001}').and_then(|end| {
            let index: usize = after[..end].parse().ok()?;
            Some((&values.get(index)?.1, end))
        });
        match value {
            Some((markup, end)) => {
                out.push_str(&markup.0);
                rest = &after[end + '\u{E001}'.len_utf8()..];
            }
            None => {
                out.push('\u{E000}');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    PreEscaped(out)
}

/// The label users see for an answer to the email-reading question.
fn mail_client_label(language: Language, choice: MailClient) -> String {
    i18n::text(language, &format!("mail-client-{}", choice.as_str()))
}

/// The collection form: for a GET's page, its fixed parts rendered once per language and
/// shape (`form_template`), the page's values escaped into them; with an error, whole.
pub fn collection_form(page: &FormPage<'_>) -> Markup {
    super::form_template::render(page)
}

/// The collection form rendered whole with maud, its expiry date already written out
/// (`expires`): what `form_template` renders once with markers in place of the values.
/// So what it shows (and everything it calls) may depend on whether a value is present,
/// never on its content: no `is_empty`, truncation or comparison of a value, and no
/// catalogue message selecting on one (`form_template`'s tests try awkward values).
pub(super) fn collection_form_dated(page: &FormPage<'_>, expires: &str) -> Markup {
    let language = page.language;
    let t = |key: &str| i18n::text(language, key);
    let asker = page
        .org_name
        .map_or_else(|| t("form-asker-default"), str::to_owned);
    let field = page.error.as_ref().map(|e| e.field);
    let password_invalid = matches!(
        field,
        Some(ErrorField::Password | ErrorField::BothPasswords)
    );
    let confirm_invalid = field == Some(ErrorField::BothPasswords);
    let password_described = password_invalid || field == Some(ErrorField::Form);
    let warn_tries = page.tries_left <= WARN_FROM_TRIES_LEFT;
    let described_by: Vec<&str> = [
        (password_described, "password-error"),
        (page.checked_with.is_some(), "password-hint"),
        (warn_tries, "tries-left"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, id)| *id)
    .collect();
    let described_by = (!described_by.is_empty()).then(|| described_by.join(" "));
    let mail_client_error = page
        .error
        .as_ref()
        .filter(|e| e.field == ErrorField::MailClient);
    let contact = page.brand.and_then(PageBrand::contact_short);
    layout_branded(
        language,
        &t("form-title"),
        page.brand,
        html! {
            h1 { (t("form-title")) }
            p.lead {
                (rich(language, "form-lead", &[
                    ("org", html! { strong { (asker) } }),
                    ("email", html! { strong.mailbox { (page.email) } }),
                ]))
            }
            ul.facts {
                li { (t("form-fact-encrypted")) }
                li { (t("form-fact-deleted")) }
                li { (rich(language, "form-fact-once", &[("expires", html! { strong { (expires) } })])) }
            }
            form method="post" novalidate {
                @if let Some(e) = page.error.as_ref().filter(|e| e.field != ErrorField::MailClient) {
                    p.error id="password-error" role="alert" {
                        span.sr-only { (t("error-prefix")) " " }
                        (e.message)
                    }
                }
                @if warn_tries {
                    p.warning id="tries-left" {
                        (i18n::text_with(language, "form-tries-left", &[("count", Arg::Count(page.tries_left))]))
                    }
                }
                // The mailbox, for password managers that fill in or save the password.
                input type="text" id="username" autocomplete="username" value=(page.email)
                    readonly hidden;
                div.field {
                    label for="password" { (t("form-password-label")) }
                    div.password-row {
                        input type="password" id="password" name="password" required
                            autocomplete="current-password" autocapitalize="none"
                            autocorrect="off" spellcheck="false" autofocus
                            aria-invalid=[password_invalid.then_some("true")]
                            aria-describedby=[described_by];
                        // Shown by assets/reveal.js, which also folds the two fields into one.
                        button type="button" id="password-toggle" class="reveal" hidden
                            aria-controls="password" aria-pressed="false"
                            data-show=(t("form-show-password")) data-hide=(t("form-hide-password")) {
                            (t("form-show-password"))
                        }
                    }
                }
                @if let Some(host) = page.checked_with {
                    p.hint id="password-hint" {
                        (i18n::text_with(language, "form-checked-hint", &[("host", Arg::Text(host))]))
                    }
                } @else {
                    div.field id="confirm-field" {
                        label for="password_confirm" { (t("form-confirm-label")) }
                        input type="password" id="password_confirm" name="password_confirm" required
                            autocomplete="current-password" autocapitalize="none"
                            autocorrect="off" spellcheck="false"
                            aria-invalid=[confirm_invalid.then_some("true")]
                            aria-describedby=[confirm_invalid.then_some("password-error")];
                    }
                }
                @if page.ask_mail_client {
                    fieldset.question
                        aria-describedby=[mail_client_error.map(|_| "mail-client-error")] {
                        legend { (t("form-mail-client-legend")) " " span.optional { (t("form-optional")) } }
                        @if let Some(e) = mail_client_error {
                            p.error id="mail-client-error" role="alert" {
                                span.sr-only { (t("error-prefix")) " " }
                                (e.message)
                            }
                        }
                        @for choice in MailClient::ALL {
                            label.choice {
                                input type="radio" name="mail_client" value=(choice.as_str())
                                    checked[page.mail_client == Some(choice)];
                                " " (mail_client_label(language, choice))
                            }
                        }
                    }
                }
                @if page.checked_with.is_some() {
                    // The check may wait for the server (up to a minute): said before the
                    // press, without a script; assets/reveal.js also marks the button busy.
                    button type="submit" id="submit" data-checking=(t("form-checking"))
                        aria-describedby="checking-wait" { (t("form-submit")) }
                    p.hint id="checking-wait" role="status" { (t("form-checking-wait")) }
                } @else {
                    button type="submit" { (t("form-submit")) }
                }
            }
            @if let Some(brand) = page.brand {
                (brand.contact_block(language))
                (brand.link_prefix_line(language))
            }
            @if let Some(contact) = contact {
                p.small {
                    (i18n::text_with(language, "brand-not-expecting", &[("contact", Arg::Text(contact))]))
                }
            } @else {
                p.small { (t("form-not-expecting")) }
            }
            @if let Some(link) = page.link {
                (ways_nav(language, Ways { link }, true, false, true))
            }
            script src=(assets::REVEAL.url()) defer {}
        },
    )
}

/// Shown once a password is accepted.
pub fn submitted(
    language: Language,
    email: &str,
    next_steps: Option<&str>,
    brand: Option<&PageBrand>,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    layout_branded(
        language,
        &t("done-title"),
        brand,
        html! {
            h1 { (t("done-heading")) }
            p.lead {
                (rich(language, "done-lead", &[("email", html! { strong.mailbox { (email) } })]))
            }
            @if let Some(text) = next_steps {
                section.next-steps {
                    h2 { (t("done-next-steps")) }
                    p.preformatted { (text) }
                }
            }
            p { (t("done-closing")) }
        },
    )
}

/// The 404 page for a link nobody issued (with who is asking when the link's tag names
/// a batch).
pub fn unknown_link(language: Language, brand: Option<&PageBrand>) -> Markup {
    message_page_branded(
        language,
        &i18n::text(language, "unknown-title"),
        &i18n::text(language, "unknown-text"),
        brand,
    )
}

/// The 410 page for a link whose batch was purged: nothing of the user is left to show,
/// only the organisation the tombstone names.
pub fn collection_closed(language: Language, org_name: Option<&str>) -> Markup {
    let title = i18n::text(language, "closed-title");
    let text = match org_name {
        Some(org) => i18n::text_with(language, "closed-text", &[("org", Arg::Text(org))]),
        None => i18n::text(language, "closed-text-no-org"),
    };
    message_page_branded(
        language,
        &title,
        &text,
        PageBrand::org_only(org_name).as_ref(),
    )
}

/// The 410 pages for links that can no longer take a password. A used link (what a
/// reload of the confirmation shows) says when the password came, and that there is
/// nothing more to do.
pub fn link_gone(
    language: Language,
    status: LinkStatus,
    used_at: Option<(i64, &TimeZoneSetting)>,
    brand: Option<&PageBrand>,
    link: Option<&str>,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    let (title, text) = match status {
        LinkStatus::Used => (
            t("used-title"),
            match used_at {
                Some((at, zone)) => i18n::text_with(
                    language,
                    "used-text",
                    &[("date", Arg::Text(&i18n::format_date_in(language, at, zone)))],
                ),
                None => t("used-text-undated"),
            },
        ),
        LinkStatus::Revoked => (t("revoked-title"), t("revoked-text")),
        LinkStatus::Replaced => (t("replaced-title"), t("replaced-text")),
        LinkStatus::Locked => (t("locked-title"), t("locked-text")),
        LinkStatus::Expired | LinkStatus::Usable => (t("expired-title"), t("expired-text")),
    };
    // The ways out that still make sense: a user who did not send the password a used
    // link received can report it; a locked or expired link's user can ask for help.
    let (help, not_me) = match status {
        LinkStatus::Used => (false, true),
        LinkStatus::Locked | LinkStatus::Expired => (true, true),
        LinkStatus::Revoked | LinkStatus::Replaced | LinkStatus::Usable => (false, false),
    };
    match link.filter(|_| help || not_me) {
        Some(link) => layout_branded(
            language,
            &title,
            brand,
            html! {
                h1 { (title) }
                p { (text) }
                (ways_nav(language, Ways { link }, false, help, not_me))
                @if let Some(brand) = brand {
                    (brand.contact_block(language))
                    (brand.link_prefix_line(language))
                }
            },
        ),
        None => message_page_branded(language, &title, &text, brand),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A value that looks like one of `rich`'s marks is put in as it is, never replaced
    /// by another value.
    #[test]
    fn rich_puts_each_value_in_once() {
        let org = html! { strong { "\u{E000}1\u{E001} Ltd" } };
        let email = html! { strong { "ann@example.com" } };
        let out = rich(Language::En, "form-lead", &[("org", org), ("email", email)]).0;
        assert!(
            out.contains("<strong>\u{E000}1\u{E001} Ltd</strong>"),
            "{out}"
        );
        assert_eq!(out.matches("ann@example.com").count(), 1, "{out}");
    }

    /// A form page without error or brand (other tests in `web::public` start from it).
    pub(in crate::web::public) fn form(language: Language) -> FormPage<'static> {
        FormPage {
            language,
            org_name: Some("Example <Ltd>"),
            email: "ann@example.com",
            expires_at: 1_796_662_800,
            time_zone: &TimeZoneSetting::Utc,
            ask_mail_client: true,
            checked_with: None,
            mail_client: None,
            tries_left: 10,
            error: None,
            brand: None,
            link: Some("https://pass.example.org/s/TOKEN"),
        }
    }

    #[test]
    fn every_page_carries_its_language_and_no_english_left_in_it() {
        for language in Language::ALL {
            let lang = format!("<html lang=\"{}\">", language.tag());
            let mut pages = vec![
                collection_form(&form(language)).into_string(),
                submitted(language, "ann@example.com", Some("Next: nothing"), None).into_string(),
                unknown_link(language, None).into_string(),
            ];
            for status in [
                LinkStatus::Used,
                LinkStatus::Revoked,
                LinkStatus::Replaced,
                LinkStatus::Locked,
                LinkStatus::Expired,
            ] {
                pages.push(
                    link_gone(
                        language,
                        status,
                        Some((1_796_662_800, &TimeZoneSetting::Utc)),
                        None,
                        Some("https://pass.example.org/s/TOKEN"),
                    )
                    .into_string(),
                );
            }
            pages.push(collection_closed(language, Some("Example Ltd")).into_string());
            pages.push(collection_closed(language, None).into_string());
            for page in &pages {
                assert!(page.contains(&lang), "{}: {page}", language.tag());
                if language != Language::En {
                    for english in [
                        "Your email is moving",
                        "Thank you",
                        "Send password",
                        "This link",
                    ] {
                        assert!(
                            !page.contains(&format!(">{english}")),
                            "{}: {english} in {page}",
                            language.tag()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_form_escapes_user_data_inside_translated_sentences() {
        let page = collection_form(&form(Language::Fr)).into_string();
        assert!(
            page.contains("<strong>Example &lt;Ltd&gt;</strong> transfère"),
            "{page}"
        );
        assert!(page.contains("<strong class=\"mailbox\">ann@example.com</strong>"));
        assert!(page.contains("lundi 7 décembre à 17:00 UTC"));
    }

    #[test]
    fn the_form_has_two_fields_a_hidden_toggle_and_fields_managers_can_fill() {
        let page = collection_form(&form(Language::De)).into_string();
        assert!(page.contains("name=\"password\""));
        assert!(page.contains("name=\"password_confirm\""));
        assert!(page.contains("id=\"password-toggle\" class=\"reveal\" hidden"));
        assert!(page.contains("data-show=\"Passwort anzeigen\""));
        assert!(page.contains("autocomplete=\"current-password\""));
        assert!(page.contains("autocomplete=\"username\" value=\"ann@example.com\""));
        assert!(page.contains("spellcheck=\"false\""));
        assert!(page.contains("autocapitalize=\"none\""));
        assert!(page.contains("/assets/reveal.js?v="));
        assert!(!page.contains("onpaste"));
    }

    #[test]
    fn the_tries_left_show_from_two_down() {
        let mut page = form(Language::En);
        page.tries_left = 3;
        assert!(!collection_form(&page).into_string().contains("tries-left"));
        page.tries_left = 2;
        assert!(
            collection_form(&page)
                .into_string()
                .contains("You have 2 more tries before this link locks.")
        );
        page.tries_left = 1;
        assert!(
            collection_form(&page)
                .into_string()
                .contains("You have one more try before this link locks.")
        );
    }

    #[test]
    fn a_used_link_says_when_and_that_nothing_more_is_needed() {
        let page = link_gone(
            Language::En,
            LinkStatus::Used,
            Some((1_796_662_800, &TimeZoneSetting::Utc)),
            None,
            None,
        )
        .into_string();
        assert!(page.contains(
            "A password was received for this link on Monday 7 December, 17:00 UTC. There is \
             nothing more to do. If you did not send it, tell your IT contact now."
        ));
        let page = link_gone(
            Language::De,
            LinkStatus::Used,
            Some((1_796_662_800, &TimeZoneSetting::Utc)),
            None,
            None,
        )
        .into_string();
        assert!(page.contains("am Montag, 7. Dezember, 17:00 UTC ein Passwort empfangen"));
    }
}
