//! The collection form, its fixed parts rendered once (issue 21). Rendering the whole
//! page with maud on every GET formats about thirty catalogue texts, builds the
//! sentences with values in Fluent and escapes every text again; nearly all of it is
//! the same for every link in a language. So the page is rendered once per language and
//! *shape* (which values are present, which error, how many tries are said) by the same
//! maud function (`pages::collection_form_dated`), with a marker in place of each value;
//! the markers cut it into fixed text and holes. A request then appends the fixed parts
//! and its own values, each escaped exactly as maud escapes it, into one `String`.
//!
//! Every value the page shows is escaped once by maud wherever it appears (text or
//! attribute, alone or inside a translated sentence: escaping is byte by byte, so
//! escaping a sentence is escaping its parts), so filling a hole with the escaped value
//! gives the same bytes. Only plain `{ $name }` placeables hold values (no catalogue
//! selects on a text value; the count of tries left, which selects a plural, is part of
//! the shape). The templates hold no user data, no token and no link: only markers.
//! `tests` compare both renderings, byte for byte, in every language and shape.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use maud::{Markup, PreEscaped, Render as _};

use super::pages::{ErrorField, FormError, FormPage, WARN_FROM_TRIES_LEFT, collection_form_dated};
use crate::batch::MailClient;
use crate::i18n::{self, Language};
use crate::web::brand::PageBrand;

/// A value the form shows, by its place among the holes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Hole {
    Email,
    Asker,
    Expires,
    Host,
    Link,
    ErrorMessage,
    BrandOrg,
    ContactName,
    ContactRole,
    ContactPhone,
    ContactTel,
    ContactEmail,
    LinkPrefix,
    LogoUrl,
    AccentUrl,
}

const HOLES: [Hole; 15] = [
    Hole::Email,
    Hole::Asker,
    Hole::Expires,
    Hole::Host,
    Hole::Link,
    Hole::ErrorMessage,
    Hole::BrandOrg,
    Hole::ContactName,
    Hole::ContactRole,
    Hole::ContactPhone,
    Hole::ContactTel,
    Hole::ContactEmail,
    Hole::LinkPrefix,
    Hole::LogoUrl,
    Hole::AccentUrl,
];

/// Where a hole starts and ends in the page rendered with markers: private-use
/// characters that no catalogue text holds, that escaping leaves alone, and that differ
/// from those `pages::rich` uses for its own values.
const OPEN: char = '\u{E002}';
const CLOSE: char = '\u{E003}';

fn marker(hole: Hole) -> String {
    format!("{OPEN}{}{CLOSE}", hole as u8)
}

/// What decides a form's fixed text: everything but the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    language: Language,
    /// The tries left when the page says them; above the warning threshold, one value.
    tries: i64,
    ask_mail_client: bool,
    /// `MailClient::ALL`'s index of the answer kept, if any.
    mail_client: Option<usize>,
    error: Option<ErrorField>,
    asker: bool,
    checked: bool,
    link: bool,
    /// Which of the brand's values are present (`PageBrand`'s order), when there is one.
    brand: Option<[bool; 9]>,
}

impl Shape {
    fn of(page: &FormPage<'_>) -> Self {
        Self {
            language: page.language,
            tries: page.tries_left.min(WARN_FROM_TRIES_LEFT + 1),
            ask_mail_client: page.ask_mail_client,
            mail_client: page
                .mail_client
                .and_then(|m| MailClient::ALL.iter().position(|c| *c == m)),
            error: page.error.as_ref().map(|e| e.field),
            asker: page.org_name.is_some(),
            checked: page.checked_with.is_some(),
            link: page.link.is_some(),
            brand: page.brand.map(|b| {
                [
                    b.org.is_some(),
                    b.contact_name.is_some(),
                    b.contact_role.is_some(),
                    b.contact_phone.is_some(),
                    b.contact_tel.is_some(),
                    b.contact_email.is_some(),
                    b.link_prefix.is_some(),
                    b.logo_url.is_some(),
                    b.accent_url.is_some(),
                ]
            }),
        }
    }

    /// The page in this shape with markers for values, rendered by maud, cut into parts.
    fn template(&self) -> Option<Template> {
        let m = |on: bool, hole: Hole| on.then(|| marker(hole));
        let brand = self.brand.map(|b| PageBrand {
            org: m(b[0], Hole::BrandOrg),
            contact_name: m(b[1], Hole::ContactName),
            contact_role: m(b[2], Hole::ContactRole),
            contact_phone: m(b[3], Hole::ContactPhone),
            contact_tel: m(b[4], Hole::ContactTel),
            contact_email: m(b[5], Hole::ContactEmail),
            link_prefix: m(b[6], Hole::LinkPrefix),
            logo_url: m(b[7], Hole::LogoUrl),
            accent_url: m(b[8], Hole::AccentUrl),
        });
        let (email, asker, host, link) = (
            marker(Hole::Email),
            m(self.asker, Hole::Asker),
            m(self.checked, Hole::Host),
            m(self.link, Hole::Link),
        );
        let page = FormPage {
            language: self.language,
            org_name: asker.as_deref(),
            email: &email,
            expires_at: 0,
            time_zone: &crate::config::TimeZoneSetting::Utc,
            ask_mail_client: self.ask_mail_client,
            checked_with: host.as_deref(),
            mail_client: self
                .mail_client
                .and_then(|i| MailClient::ALL.get(i).copied()),
            tries_left: self.tries,
            error: self.error.map(|field| FormError {
                field,
                message: marker(Hole::ErrorMessage),
            }),
            brand: brand.as_ref(),
            link: link.as_deref(),
        };
        Template::parse(&collection_form_dated(&page, &marker(Hole::Expires)).0)
    }
}

/// One part of a template.
#[derive(Debug)]
enum Part {
    Text(Box<str>),
    Hole(Hole),
}

/// A form page's fixed text with the holes its values go in.
#[derive(Debug)]
struct Template {
    parts: Vec<Part>,
    /// The fixed text's length.
    fixed: usize,
}

impl Template {
    /// Cuts a page rendered with markers; `None` if a marker is malformed (never, unless
    /// a catalogue held the marker characters: the page is then rendered whole).
    fn parse(page: &str) -> Option<Self> {
        let mut parts = Vec::new();
        let mut fixed = 0;
        let mut rest = page;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len_utf8()..];
            let end = after.find(CLOSE)?;
            let index: usize = after[..end].parse().ok()?;
            let hole = *HOLES.get(index)?;
            if start > 0 {
                parts.push(Part::Text(rest[..start].into()));
                fixed += start;
            }
            parts.push(Part::Hole(hole));
            rest = &after[end + CLOSE.len_utf8()..];
        }
        if rest.contains(CLOSE) {
            return None;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
            fixed += rest.len();
        }
        Some(Self { parts, fixed })
    }

    /// The page with `values` escaped into the holes; `None` if one is missing.
    fn fill(&self, values: &Values<'_>) -> Option<String> {
        let mut out = String::with_capacity(self.fixed + values.len() * 2 + 64);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Hole(hole) => values.get(*hole)?.render_to(&mut out),
            }
        }
        Some(out)
    }
}

/// The values of one page, by hole.
struct Values<'a>([Option<&'a str>; HOLES.len()]);

impl<'a> Values<'a> {
    fn of(page: &'a FormPage<'_>, expires: &'a str) -> Self {
        let brand = page.brand;
        let b = |f: fn(&PageBrand) -> &Option<String>| brand.and_then(|b| f(b).as_deref());
        let mut v = [None; HOLES.len()];
        v[Hole::Email as usize] = Some(page.email);
        v[Hole::Asker as usize] = page.org_name;
        v[Hole::Expires as usize] = Some(expires);
        v[Hole::Host as usize] = page.checked_with;
        v[Hole::Link as usize] = page.link;
        v[Hole::ErrorMessage as usize] = page.error.as_ref().map(|e| e.message.as_str());
        v[Hole::BrandOrg as usize] = b(|b| &b.org);
        v[Hole::ContactName as usize] = b(|b| &b.contact_name);
        v[Hole::ContactRole as usize] = b(|b| &b.contact_role);
        v[Hole::ContactPhone as usize] = b(|b| &b.contact_phone);
        v[Hole::ContactTel as usize] = b(|b| &b.contact_tel);
        v[Hole::ContactEmail as usize] = b(|b| &b.contact_email);
        v[Hole::LinkPrefix as usize] = b(|b| &b.link_prefix);
        v[Hole::LogoUrl as usize] = b(|b| &b.logo_url);
        v[Hole::AccentUrl as usize] = b(|b| &b.accent_url);
        Self(v)
    }

    fn get(&self, hole: Hole) -> Option<&'a str> {
        self.0[hole as usize]
    }

    /// Their total length.
    fn len(&self) -> usize {
        self.0.iter().flatten().map(|v| v.len()).sum()
    }
}

/// Most templates kept; past it the map starts again empty (a page shape is a handful
/// of flags per language, so a running server needs a few dozen).
const MAX_TEMPLATES: usize = 512;

static TEMPLATES: LazyLock<Mutex<HashMap<Shape, Arc<Template>>>> = LazyLock::new(Mutex::default);

fn template_for(shape: Shape) -> Option<Arc<Template>> {
    if let Some(found) = TEMPLATES.lock().ok()?.get(&shape) {
        return Some(Arc::clone(found));
    }
    let made = Arc::new(shape.template()?);
    if let Ok(mut templates) = TEMPLATES.lock() {
        if templates.len() >= MAX_TEMPLATES {
            templates.clear();
        }
        templates.insert(shape, Arc::clone(&made));
    }
    Some(made)
}

/// The collection form: the template of its shape with its values escaped in, or (if
/// that ever fails) the page rendered whole.
pub(super) fn render(page: &FormPage<'_>) -> Markup {
    let expires = i18n::format_date_in(page.language, page.expires_at, page.time_zone);
    let filled = template_for(Shape::of(page))
        .and_then(|template| template.fill(&Values::of(page, &expires)));
    match filled {
        Some(page) => PreEscaped(page),
        None => collection_form_dated(page, &expires),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimeZoneSetting;

    fn brand(mask: u16) -> PageBrand {
        let on = |bit: u16, value: &str| (mask & (1 << bit) != 0).then(|| value.to_owned());
        let phone = on(2, "+44 (0)20 <7946> & 0958\"");
        PageBrand {
            org: on(0, "Example & <Co> \"Ltd\""),
            contact_name: on(1, "Ann <b>O'Neil</b>"),
            contact_role: on(3, "IT & security"),
            contact_tel: phone.as_deref().map(PageBrand::tel_of),
            contact_phone: phone,
            contact_email: on(4, "it+help@example.com\"><script>"),
            link_prefix: on(5, "https://pass.example.org/s/?a=1&b=<2>"),
            logo_url: on(6, "/brand/abc/logo.png?v=0011\"x"),
            accent_url: on(7, "/brand/abc/accent.css?v=c0ffee&"),
        }
    }

    fn same(page: &FormPage<'_>) {
        let expires = i18n::format_date_in(page.language, page.expires_at, page.time_zone);
        let whole = collection_form_dated(page, &expires).into_string();
        let fast = render(page).into_string();
        assert_eq!(fast, whole, "{:?}", Shape::of(page));
    }

    /// Every language and shape: the template filled in is byte for byte the page maud
    /// renders whole, with values that need escaping everywhere.
    #[test]
    fn the_template_gives_the_same_bytes_as_the_whole_page() {
        let paris = TimeZoneSetting::parse("Europe/Paris").unwrap();
        let errors = [
            None,
            Some(ErrorField::Password),
            Some(ErrorField::BothPasswords),
            Some(ErrorField::MailClient),
            Some(ErrorField::Form),
        ];
        let mut pages = 0;
        for language in Language::ALL {
            for (i, error) in errors.iter().enumerate() {
                for mask in [
                    0u16,
                    0xff,
                    0b1,
                    0b10,
                    0b100,
                    0b1000,
                    0b1_0000,
                    0b1110_0001,
                    0b0001_1110,
                    0b1010_1010,
                    0b0101_0101,
                ] {
                    for tries in [10, 3, 2, 1, 0] {
                        for flags in 0..16u8 {
                            // Not every combination of everything: a spread of each.
                            if !(flags as usize + i + tries as usize).is_multiple_of(3)
                                && mask != 0xff
                            {
                                continue;
                            }
                            let brand = brand(mask);
                            let email = "ann&<bob>\"@example.com";
                            let page = FormPage {
                                language,
                                org_name: (flags & 1 != 0).then_some("Org <&> \"x\""),
                                email,
                                expires_at: 1_796_662_800 + i64::from(flags) * 86_400,
                                time_zone: if flags & 2 != 0 {
                                    &paris
                                } else {
                                    &TimeZoneSetting::Utc
                                },
                                ask_mail_client: flags & 4 != 0,
                                checked_with: (flags & 8 != 0).then_some("imap.<old>&host\""),
                                mail_client: MailClient::ALL.get(usize::from(flags) % 5).copied(),
                                tries_left: tries,
                                error: error.map(|field| FormError {
                                    field,
                                    message: "Wrong <password> for \"ann\" & co".to_owned(),
                                }),
                                brand: (mask != 0 || flags & 1 != 0).then_some(&brand),
                                link: (flags & 3 != 1)
                                    .then_some("https://pass.example.org/x/s/AbC-_\"&<"),
                            };
                            same(&page);
                            pages += 1;
                        }
                    }
                }
            }
        }
        assert!(pages > 1000, "{pages}");
    }

    /// The GET's page (no error, no brand) and the templates hold no value of a page.
    #[test]
    fn templates_hold_markers_not_values() {
        let page = FormPage {
            language: Language::De,
            org_name: Some("Secret Org"),
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
        };
        same(&page);
        let template = template_for(Shape::of(&page)).unwrap();
        for part in &template.parts {
            if let Part::Text(text) = part {
                for value in ["Secret Org", "ann@example.com", "TOKEN", "Dezember"] {
                    assert!(!text.contains(value), "{value} in {text}");
                }
            }
        }
        assert!(
            template
                .parts
                .iter()
                .any(|p| matches!(p, Part::Hole(Hole::Link)))
        );
    }
}
