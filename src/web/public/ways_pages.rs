//! The pages of the user's ways out, in the reader's language: "I don't know my
//! password", the "I need help" and "This wasn't me" confirmations (each a form whose
//! box must be ticked by hand: a mail scanner that submits every form with its default
//! values changes nothing), and what happens next. No script, no inline style; the
//! links are absolute (`{public_url}/s/{token}/...`), so they work at any depth. Each is
//! branded like the form (organisation, logo, accent, the contact and the link-prefix
//! line), from a batch whose signature was checked in the same request.

use maud::{Markup, html};

use super::pages::rich;
use crate::i18n::{self, Language};
use crate::web::brand::PageBrand;
use crate::web::layout::layout_branded;

/// A way-out page: `body`, then who is asking (the contact and the link-prefix line, as
/// on the form) when `brand` says.
fn page(language: Language, title: &str, brand: Option<&PageBrand>, body: Markup) -> Markup {
    layout_branded(
        language,
        title,
        brand,
        html! {
            (body)
            @if let Some(brand) = brand {
                (brand.contact_block(language))
                (brand.link_prefix_line(language))
            }
        },
    )
}

/// The field the confirmation forms need ticked, and its one accepted value.
pub const CONFIRM_FIELD: &str = "confirm";
/// The value of the ticked box.
pub const CONFIRM_VALUE: &str = "yes";

/// The addresses of one link's pages.
#[derive(Debug, Clone, Copy)]
pub struct Ways<'a> {
    /// The link itself (`{public_url}/s/{token}`): the form.
    pub link: &'a str,
}

impl Ways<'_> {
    /// "I don't know my password".
    pub fn password(&self) -> String {
        format!("{}/password", self.link)
    }
    /// The "I need help" confirmation.
    pub fn help(&self) -> String {
        format!("{}/help", self.link)
    }
    /// The "This wasn't me" confirmation.
    pub fn not_me(&self) -> String {
        format!("{}/not-me", self.link)
    }
}

/// The ways out under the collection form (and on the pages of a link that no longer
/// takes a password, those that still make sense).
pub fn ways_nav(
    language: Language,
    ways: Ways<'_>,
    dont_know: bool,
    help: bool,
    not_me: bool,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    html! {
        ul.ways {
            @if dont_know { li { a href=(ways.password()) { (t("ways-dont-know")) } } }
            @if help { li { a href=(ways.help()) { (t("ways-need-help")) } } }
            @if not_me { li { a href=(ways.not_me()) { (t("ways-not-me")) } } }
        }
    }
}

/// "I don't know my password": where it may be saved, whom to ask, and "Tell IT I need
/// help". `asker` is the organisation (or "your IT team").
pub fn dont_know(
    language: Language,
    asker: &str,
    ways: Ways<'_>,
    brand: Option<&PageBrand>,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    page(
        language,
        &t("dont-know-title"),
        brand,
        html! {
            h1 { (t("dont-know-title")) }
            p { (t("dont-know-saved")) }
            p { (rich(language, "dont-know-reset", &[("org", html! { strong { (asker) } })])) }
            p { (t("dont-know-stuck")) }
            ul.ways {
                li { a href=(ways.link) { (t("ways-back")) } }
                li { a href=(ways.help()) { (t("ways-need-help")) } }
            }
        },
    )
}

/// Which confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// "I need help".
    Help,
    /// "This wasn't me".
    NotMe,
}

impl Confirmation {
    fn key(self) -> &'static str {
        match self {
            Self::Help => "help",
            Self::NotMe => "not-me",
        }
    }
}

/// A confirmation page: what happens, a box to tick (unticked), a button. With
/// `unconfirmed`, the calm note that nothing was done because the box was not ticked.
/// `back` links to the form when the link still takes a password.
pub fn confirm(
    language: Language,
    which: Confirmation,
    email: &str,
    back: Option<&str>,
    unconfirmed: bool,
    brand: Option<&PageBrand>,
) -> Markup {
    let key = which.key();
    let t = |suffix: &str| i18n::text(language, &format!("{key}-{suffix}"));
    page(
        language,
        &t("title"),
        brand,
        html! {
            h1 { (t("title")) }
            @let text_key = if which == Confirmation::Help && back.is_none() {
                // A locked or expired link: it takes no password any more.
                "help-text-new-link".to_owned()
            } else {
                format!("{key}-text")
            };
            p { (rich(language, &text_key, &[("email", html! { strong.mailbox { (email) } })])) }
            form method="post" {
                @if unconfirmed {
                    p.notice id="confirm-note" role="status" { (t("unconfirmed")) }
                }
                label.confirm {
                    input type="checkbox" name=(CONFIRM_FIELD) value=(CONFIRM_VALUE)
                        aria-describedby=[unconfirmed.then_some("confirm-note")];
                    " " (t("confirm"))
                }
                button type="submit" { (t("submit")) }
            }
            @if let Some(link) = back {
                ul.ways { li { a href=(link) { (i18n::text(language, "ways-back")) } } }
            }
        },
    )
}

/// After "I need help": IT knows (by email when a relay is set up, else in its
/// console); the link still works.
pub fn help_done(
    language: Language,
    emailed: bool,
    back: Option<&str>,
    brand: Option<&PageBrand>,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    page(
        language,
        &t("help-done-title"),
        brand,
        html! {
            h1 { (t("help-done-title")) }
            p.lead { (t(if emailed { "help-done-emailed" } else { "help-done-console" })) }
            @if let Some(link) = back {
                p { (t("help-done-link")) }
                ul.ways { li { a href=(link) { (t("ways-back")) } } }
            }
        },
    )
}

/// After "This wasn't me": the link is off (and, if a password had come with it, IT
/// will check it), IT knows and will get in touch; nothing else to do.
pub fn not_me_done(
    language: Language,
    emailed: bool,
    after_use: bool,
    brand: Option<&PageBrand>,
) -> Markup {
    let t = |key: &str| i18n::text(language, key);
    page(
        language,
        &t("not-me-done-title"),
        brand,
        html! {
            h1 { (t("not-me-done-title")) }
            p.lead { (t(if after_use { "not-me-done-used" } else { "not-me-done-off" })) }
            p { (t(if emailed { "not-me-done-emailed" } else { "not-me-done-console" })) }
            p.small { (t("not-me-done-advice")) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://pass.example.org/s/TOKEN";

    #[test]
    fn every_way_out_page_is_in_its_language_and_the_box_starts_unticked() {
        let ways = Ways { link: LINK };
        for language in Language::ALL {
            let lang = format!("<html lang=\"{}\">", language.tag());
            let pages = [
                dont_know(language, "Example Ltd", ways, None).into_string(),
                confirm(
                    language,
                    Confirmation::Help,
                    "ann@example.com",
                    Some(LINK),
                    false,
                    None,
                )
                .into_string(),
                confirm(
                    language,
                    Confirmation::NotMe,
                    "ann@example.com",
                    None,
                    true,
                    None,
                )
                .into_string(),
                help_done(language, true, Some(LINK), None).into_string(),
                help_done(language, false, None, None).into_string(),
                not_me_done(language, true, false, None).into_string(),
                not_me_done(language, false, true, None).into_string(),
            ];
            for page in &pages {
                assert!(page.contains(&lang), "{page}");
                assert!(!page.contains(" checked"), "{page}");
                assert!(!page.contains("<script"), "{page}");
                if language != Language::En {
                    for english in ["Tell IT", "Back to the form", "This link is now"] {
                        assert!(!page.contains(english), "{}: {english}", language.tag());
                    }
                }
            }
        }
        let page = confirm(
            Language::En,
            Confirmation::NotMe,
            "a<b>@example.com",
            None,
            false,
            None,
        )
        .into_string();
        assert!(page.contains("a&lt;b&gt;@example.com"));
        assert!(page.contains(r#"type="checkbox" name="confirm" value="yes""#));
    }
}
