//! Who is asking, as the `/s/` pages show it (issue 16): the organisation in the header
//! and the tab title, the logo, the accent stylesheet, the contact block and the line
//! "our link always starts with ...". A `PageBrand` is only ever made from a batch whose
//! signature was checked in the same request (or from a tombstone's organisation name).
//! User-visible words come from the catalogue; the admin's values are escaped.
//!
//! The rule the form's template (`public::form_template`) relies on: what a page shows
//! may depend on whether a value is present, never on its content (no `is_empty`, no
//! truncation, no comparison, no catalogue selector on it); the value itself is only
//! ever escaped into the page whole.

use maud::{Markup, html};

use crate::i18n::{self, Arg, Language};
use crate::storage::Batch;

/// What a page shows about who is asking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageBrand {
    /// The organisation.
    pub org: Option<String>,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// Their role.
    pub contact_role: Option<String>,
    /// Their phone number, as shown and as a `tel:` link takes it (one value, so the
    /// two are present together).
    pub contact_phone: Option<Phone>,
    /// Their address.
    pub contact_email: Option<String>,
    /// "Our link always starts with ...".
    pub link_prefix: Option<String>,
    /// The logo's URL (first-party, versioned by its digest), if there is one.
    pub logo_url: Option<String>,
    /// The accent stylesheet's URL, if an accent is set.
    pub accent_url: Option<String>,
}

/// A contact's phone number as shown, with the number a `tel:` link takes (its digits
/// and `+`), worked out once. The fields are private: `Phone::new` makes the second from
/// the first, so they cannot drift apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    shown: String,
    tel: String,
}

impl Phone {
    /// A number as the admin wrote it.
    pub fn new(shown: &str) -> Self {
        Self {
            tel: PageBrand::tel_of(shown),
            shown: shown.to_owned(),
        }
    }

    /// The form's template only (`public::form_template`): a marker in place of each,
    /// since the `tel:` number of a marker is not a marker.
    pub(in crate::web) fn marked(shown: String, tel: String) -> Self {
        Self { shown, tel }
    }

    /// The number as the admin wrote it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The number a `tel:` link takes.
    pub fn tel(&self) -> &str {
        &self.tel
    }
}

/// The path of a batch's logo (`tag`: its link tag, not secret; no token).
pub fn logo_path(tag: &str) -> String {
    format!("/brand/{tag}/logo.png")
}

/// The path of a batch's accent stylesheet.
pub fn accent_path(tag: &str) -> String {
    format!("/brand/{tag}/accent.css")
}

impl PageBrand {
    /// What a batch (its signature checked) shows.
    pub fn of(batch: &Batch) -> Self {
        let b = &batch.branding;
        let tag = batch.link_tag.as_str();
        Self {
            org: batch.org_name.clone(),
            contact_name: b.contact_name.clone(),
            contact_role: b.contact_role.clone(),
            contact_phone: b.contact_phone.as_deref().map(Phone::new),
            contact_email: b.contact_email.clone(),
            link_prefix: b.link_prefix.clone(),
            logo_url: b
                .logo_sha256
                .as_ref()
                .map(|d| format!("{}?v={}", logo_path(tag), hex::encode(&d[..d.len().min(8)]))),
            accent_url: b
                .accent_colour
                .as_ref()
                .map(|c| format!("{}?v={}", accent_path(tag), c.trim_start_matches('#'))),
        }
    }

    /// A phone number as a `tel:` link takes it: its digits and `+`.
    pub fn tel_of(phone: &str) -> String {
        phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }

    /// Only the organisation (a purged batch's tombstone).
    pub fn org_only(org: Option<&str>) -> Option<Self> {
        org.map(|o| Self {
            org: Some(o.to_owned()),
            ..Self::default()
        })
    }

    /// Whether a contact is set.
    pub fn has_contact(&self) -> bool {
        self.contact_name.is_some()
            || self.contact_role.is_some()
            || self.contact_phone.is_some()
            || self.contact_email.is_some()
    }

    /// Who to ask, in a sentence: the contact's name, else their role, else `None`.
    pub fn contact_short(&self) -> Option<&str> {
        self.contact_name
            .as_deref()
            .or(self.contact_role.as_deref())
            .or(self.contact_email.as_deref())
            .or(self.contact_phone.as_ref().map(Phone::shown))
    }

    /// The contact block (nothing when no contact is set).
    pub fn contact_block(&self, language: Language) -> Markup {
        if !self.has_contact() {
            return html! {};
        }
        html! {
            section.contact aria-labelledby="contact-heading" {
                h2 id="contact-heading" { (i18n::text(language, "brand-contact-heading")) }
                ul {
                    @if self.contact_name.is_some() || self.contact_role.is_some() {
                        li {
                            @if let Some(name) = &self.contact_name { strong { (name) } }
                            @if self.contact_name.is_some() && self.contact_role.is_some() { ", " }
                            @if let Some(role) = &self.contact_role { (role) }
                        }
                    }
                    @if let Some(phone) = &self.contact_phone {
                        li {
                            (i18n::text(language, "brand-contact-phone")) " "
                            a href={ "tel:" (phone.tel()) } { (phone.shown()) }
                        }
                    }
                    @if let Some(email) = &self.contact_email {
                        li {
                            (i18n::text(language, "brand-contact-email")) " "
                            a href={ "mailto:" (email) } { (email) }
                        }
                    }
                }
            }
        }
    }

    /// The line "our link always starts with ..." (nothing when unset).
    pub fn link_prefix_line(&self, language: Language) -> Markup {
        match &self.link_prefix {
            None => html! {},
            Some(prefix) => html! {
                p.link-prefix {
                    (i18n::text_with(language, "brand-link-prefix", &[("prefix", Arg::Text(prefix))]))
                }
            },
        }
    }

    /// The page title with the organisation: "Link expired – Example Ltd".
    pub fn title(&self, title: &str) -> String {
        match &self.org {
            Some(org) => format!("{title} – {org}"),
            None => title.to_owned(),
        }
    }
}
