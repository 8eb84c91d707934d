//! The collection form, its fixed parts rendered once (issue 21). Rendering the whole
//! page with maud on every GET formats about thirty catalogue texts, builds the
//! sentences with values in Fluent and escapes every text again; nearly all of it is
//! the same for every link in a language. So the page a GET shows (no error, no kept
//! answer) is rendered once per language and *shape* (which values are present, how
//! many tries are said) by the same maud function (`pages::collection_form_dated`), with
//! a marker in place of each value; the markers cut it into fixed text and holes. A
//! request then appends the fixed parts and its own values, each escaped exactly as maud
//! escapes it, into one `String`.
//!
//! Only those shapes are kept: a page with an error (422, 503, 413 and the like: a POST
//! that went wrong) is rendered whole by maud, as before. Otherwise one link could reach
//! hundreds of shapes (language × error × kept answer × tries) and keep pushing the GET
//! shapes out; a link's GET reaches a handful (its language and tries said). At most
//! `MAX_TEMPLATES` are kept; past it one goes for each new one.
//!
//! Every value the page shows is escaped once by maud wherever it appears (text or
//! attribute, alone or inside a translated sentence: escaping is byte by byte, so
//! escaping a sentence is escaping its parts), so filling a hole with the escaped value
//! gives the same bytes. Only plain `{ $name }` placeables hold values (no catalogue
//! selects on a text value; the count of tries left, which selects a plural, is part of
//! the shape). The templates hold no user data, no token and no link: only markers.
//! `tests` compare both renderings, byte for byte, in every language and shape, and with
//! awkward values (quotes, `<`, `&`, empty, long, non-ASCII) in every hole.
//!
//! **The rule this needs**: what `collection_form_dated` and everything it calls
//! (`layout_branded`, `PageBrand`'s blocks, `ways_nav`, the catalogue's messages) shows
//! may depend on whether a value is present, never on its content: no `is_empty`, no
//! truncation, no comparison, no Fluent selector on a text value. A branch on content
//! would be taken once for a marker and reused for every value.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use maud::{Markup, PreEscaped, Render as _};

use super::pages::{FormPage, WARN_FROM_TRIES_LEFT, collection_form_dated};
use crate::i18n::{self, Language};
use crate::web::brand::{PageBrand, Phone};

/// A value the form shows, by its place among the holes (`HOLES`, checked at compile
/// time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Hole {
    Email,
    Asker,
    Expires,
    Host,
    Link,
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

/// Every hole, each at its own discriminant (a marker names a hole by that number).
const HOLES: [Hole; Hole::AccentUrl as usize + 1] = [
    Hole::Email,
    Hole::Asker,
    Hole::Expires,
    Hole::Host,
    Hole::Link,
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

// `HOLES[i]` is the hole numbered `i`: a reordered or forgotten entry fails the build.
const _: () = {
    let mut i = 0;
    while i < HOLES.len() {
        assert!(HOLES[i] as usize == i, "HOLES must list Hole in its order");
        i += 1;
    }
};

/// Where a hole starts and ends in the page rendered with markers: private-use
/// characters that no catalogue text holds, that escaping leaves alone, and that differ
/// from those `pages::rich` uses for its own values.
const OPEN: char = '\u{E002}';
const CLOSE: char = '\u{E003}';

fn marker(hole: Hole) -> String {
    format!("{OPEN}{}{CLOSE}", hole as u8)
}

/// What decides the fixed text of a GET's form (no error, no answer kept): everything
/// but the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    language: Language,
    /// The tries left when the page says them; above the warning threshold, one value.
    tries: i64,
    ask_mail_client: bool,
    asker: bool,
    checked: bool,
    link: bool,
    /// Which of the brand's values are present (`PageBrand`'s order), when there is one.
    brand: Option<[bool; 8]>,
}

impl Shape {
    /// The page's shape; `None` for a page with an error or a kept answer (rendered
    /// whole: only what a GET shows is kept).
    fn of(page: &FormPage<'_>) -> Option<Self> {
        if page.error.is_some() || page.mail_client.is_some() {
            return None;
        }
        Some(Self {
            language: page.language,
            tries: page.tries_left.min(WARN_FROM_TRIES_LEFT + 1),
            ask_mail_client: page.ask_mail_client,
            asker: page.org_name.is_some(),
            checked: page.checked_with.is_some(),
            link: page.link.is_some(),
            brand: page.brand.map(|b| {
                [
                    b.org.is_some(),
                    b.contact_name.is_some(),
                    b.contact_role.is_some(),
                    b.contact_phone.is_some(),
                    b.contact_email.is_some(),
                    b.link_prefix.is_some(),
                    b.logo_url.is_some(),
                    b.accent_url.is_some(),
                ]
            }),
        })
    }

    /// The page in this shape with markers for values, rendered by maud, cut into parts.
    fn template(&self) -> Option<Template> {
        let m = |on: bool, hole: Hole| on.then(|| marker(hole));
        let brand = self.brand.map(|b| PageBrand {
            org: m(b[0], Hole::BrandOrg),
            contact_name: m(b[1], Hole::ContactName),
            contact_role: m(b[2], Hole::ContactRole),
            contact_phone: b[3]
                .then(|| Phone::marked(marker(Hole::ContactPhone), marker(Hole::ContactTel))),
            contact_email: m(b[4], Hole::ContactEmail),
            link_prefix: m(b[5], Hole::LinkPrefix),
            logo_url: m(b[6], Hole::LogoUrl),
            accent_url: m(b[7], Hole::AccentUrl),
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
            mail_client: None,
            tries_left: self.tries,
            error: None,
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
        let phone = brand.and_then(|b| b.contact_phone.as_ref());
        let mut v = [None; HOLES.len()];
        v[Hole::Email as usize] = Some(page.email);
        v[Hole::Asker as usize] = page.org_name;
        v[Hole::Expires as usize] = Some(expires);
        v[Hole::Host as usize] = page.checked_with;
        v[Hole::Link as usize] = page.link;
        v[Hole::BrandOrg as usize] = b(|b| &b.org);
        v[Hole::ContactName as usize] = b(|b| &b.contact_name);
        v[Hole::ContactRole as usize] = b(|b| &b.contact_role);
        v[Hole::ContactPhone as usize] = phone.map(Phone::shown);
        v[Hole::ContactTel as usize] = phone.map(Phone::tel);
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

/// Most templates kept (a GET's shape is a handful of flags per language, so a running
/// server needs a few dozen; each is about 10 KB).
const MAX_TEMPLATES: usize = 512;

/// Templates by shape, at most `max`; past it one goes (any: they cost the same to make
/// again) for each new one, so no shape pushes all the others out.
struct Templates {
    max: usize,
    map: Mutex<HashMap<Shape, Arc<Template>>>,
}

impl Templates {
    fn new(max: usize) -> Self {
        Self {
            max,
            map: Mutex::default(),
        }
    }

    /// The template of `shape`, made (and kept) if it is not kept yet.
    fn get(&self, shape: Shape) -> Option<Arc<Template>> {
        if let Some(found) = self.map.lock().ok()?.get(&shape) {
            return Some(Arc::clone(found));
        }
        let made = Arc::new(shape.template()?);
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.max
                && !map.contains_key(&shape)
                && let Some(out) = map.keys().next().copied()
            {
                map.remove(&out);
            }
            map.insert(shape, Arc::clone(&made));
        }
        Some(made)
    }
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| Templates::new(MAX_TEMPLATES));

/// The collection form: for a GET's page, the template of its shape with its values
/// escaped in; otherwise (an error shown, or if filling ever fails) the page rendered
/// whole.
pub(super) fn render(page: &FormPage<'_>) -> Markup {
    let expires = i18n::format_date_in(page.language, page.expires_at, page.time_zone);
    render_dated(page, &expires, &TEMPLATES)
}

/// `render` with the date written out and the templates to use.
fn render_dated(page: &FormPage<'_>, expires: &str, templates: &Templates) -> Markup {
    let filled = Shape::of(page)
        .and_then(|shape| templates.get(shape))
        .and_then(|template| template.fill(&Values::of(page, expires)));
    match filled {
        Some(page) => PreEscaped(page),
        None => collection_form_dated(page, expires),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::MailClient;
    use crate::config::TimeZoneSetting;
    use crate::web::public::pages::{ErrorField, FormError};

    fn brand(mask: u16) -> PageBrand {
        let on = |bit: u16, value: &str| (mask & (1 << bit) != 0).then(|| value.to_owned());
        PageBrand {
            org: on(0, "Example & <Co> \"Ltd\""),
            contact_name: on(1, "Ann <b>O'Neil</b>"),
            contact_role: on(3, "IT & security"),
            contact_phone: on(2, "+44 (0)20 <7946> & 0958\"")
                .as_deref()
                .map(Phone::new),
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
    /// renders whole, with values that need escaping everywhere (and pages with an
    /// error, rendered whole, the same as before).
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
        let (mut pages, mut templated) = (0, 0);
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
                                // An answer is kept only with an error (a POST's page).
                                mail_client: error.and_then(|_| {
                                    MailClient::ALL.get(usize::from(flags) % 5).copied()
                                }),
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
                            templated += usize::from(Shape::of(&page).is_some());
                        }
                    }
                }
            }
        }
        assert!(pages > 1000, "{pages}");
        assert!(templated > 200, "{templated}");
    }

    /// A GET's page with every value present.
    fn full_page<'a>(brand: &'a PageBrand, values: [&'a str; 3]) -> FormPage<'a> {
        FormPage {
            language: Language::En,
            org_name: Some(values[0]),
            email: values[1],
            expires_at: 1_796_662_800,
            time_zone: &TimeZoneSetting::Utc,
            ask_mail_client: true,
            checked_with: Some(values[2]),
            mail_client: None,
            tries_left: 2,
            error: None,
            brand: Some(brand),
            link: Some("https://pass.example.org/s/TOKEN"),
        }
    }

    /// Awkward values in every hole, alone and all at once, in every language: the
    /// template filled in is still maud's page byte for byte (the rule in the module's
    /// documentation: nothing may depend on a value's content), marks of `pages::rich`
    /// and of the template included.
    #[test]
    fn awkward_values_in_every_hole_give_the_same_bytes() {
        let long = "Ab<&\"'>ü".repeat(700);
        let tricky = [
            "",
            " ",
            "\"",
            "'",
            "<",
            ">",
            "&",
            "&amp;",
            "&lt;b&gt;",
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "a\"b'c<d>e&f",
            "javascript:alert(1)",
            "Zoë Ünal – 日本語 🙂 \u{202E}rtl\u{202C}",
            "\u{E002}0\u{E003}",
            "\u{E002}",
            "\u{E000}1\u{E001}",
            "\u{E000}0\u{E001}x\u{E000}9\u{E001}",
            "\u{E000}",
            "{ $org }",
            "%s {0} \\ \n\t",
            &long,
        ];
        let plain = "plain";
        let templates = Templates::new(64);
        let mut pages = 0;
        for language in Language::ALL {
            for value in tricky {
                // Slot 13: a phone number around it (its `tel:` number then holds the
                // value's digits); slot 14: `value` in every hole at once.
                for slot in 0..=14 {
                    let at = |n: usize| {
                        if slot == n || slot == 14 {
                            value
                        } else {
                            plain
                        }
                    };
                    let phone = if slot == 13 {
                        format!("+1 {value} 2")
                    } else {
                        at(6).to_owned()
                    };
                    let brand = PageBrand {
                        org: Some(at(3).to_owned()),
                        contact_name: Some(at(4).to_owned()),
                        contact_role: Some(at(5).to_owned()),
                        contact_phone: Some(Phone::new(&phone)),
                        contact_email: Some(at(7).to_owned()),
                        link_prefix: Some(at(8).to_owned()),
                        logo_url: Some(at(9).to_owned()),
                        accent_url: Some(at(10).to_owned()),
                    };
                    let mut page = full_page(&brand, [at(0), at(1), at(2)]);
                    page.language = language;
                    page.link = Some(at(11));
                    let expires = if slot == 12 || slot == 14 {
                        value.to_owned()
                    } else {
                        i18n::format_date_in(language, page.expires_at, page.time_zone)
                    };
                    let whole = collection_form_dated(&page, &expires).into_string();
                    let fast = render_dated(&page, &expires, &templates).into_string();
                    assert_eq!(fast, whole, "{language:?}, slot {slot}, {value:?}");
                    pages += 1;
                }
            }
        }
        assert!(
            templates.map.lock().unwrap().len() <= 7,
            "one shape per language"
        );
        assert!(pages > 1000, "{pages}");
    }

    /// Pages with an error are rendered whole and never kept, so however many error
    /// shapes one link reaches, the GET's shapes stay; GET shapes past the bound push
    /// out one each, and the bound holds.
    #[test]
    fn error_pages_do_not_push_out_the_get_shapes() {
        let templates = Templates::new(8);
        let brand = brand(0xff);
        let get_page = |language| {
            let mut page = full_page(&brand, ["Org", "ann@example.com", "imap.example.org"]);
            page.language = language;
            page
        };
        let dated = |page: &FormPage<'_>| {
            i18n::format_date_in(page.language, page.expires_at, page.time_zone)
        };
        let mut kept = Vec::new();
        for language in [Language::De, Language::Fr] {
            let page = get_page(language);
            render_dated(&page, &dated(&page), &templates);
            kept.push(templates.get(Shape::of(&page).unwrap()).unwrap());
        }
        let mut errors = 0;
        for language in Language::ALL {
            for field in [
                ErrorField::Password,
                ErrorField::BothPasswords,
                ErrorField::MailClient,
                ErrorField::Form,
            ] {
                for mail_client in std::iter::once(None).chain(MailClient::ALL.map(Some)) {
                    for tries in [10, 3, 2, 1, 0] {
                        let mut page = get_page(language);
                        page.mail_client = mail_client;
                        page.tries_left = tries;
                        page.error = Some(FormError {
                            field,
                            message: "Wrong <password>".to_owned(),
                        });
                        assert_eq!(Shape::of(&page), None);
                        let expires = dated(&page);
                        assert_eq!(
                            render_dated(&page, &expires, &templates).into_string(),
                            collection_form_dated(&page, &expires).into_string()
                        );
                        errors += 1;
                    }
                }
            }
        }
        assert!(errors > 500, "{errors}");
        assert_eq!(templates.map.lock().unwrap().len(), 2);
        for (language, template) in [Language::De, Language::Fr].into_iter().zip(&kept) {
            let again = templates.get(Shape::of(&get_page(language)).unwrap());
            assert!(Arc::ptr_eq(template, &again.unwrap()), "{language:?}");
        }
        // A kept answer without an error is not a GET's page either.
        let mut page = get_page(Language::En);
        page.mail_client = Some(MailClient::ALL[0]);
        assert_eq!(Shape::of(&page), None);
        // More GET shapes than the bound: it holds, and the newest is kept.
        for language in Language::ALL {
            for tries in [10, 2, 1, 0] {
                let mut page = get_page(language);
                page.tries_left = tries;
                same(&page);
                render_dated(&page, &dated(&page), &templates);
                let map = templates.map.lock().unwrap();
                assert!(map.len() <= 8, "{}", map.len());
                assert!(map.contains_key(&Shape::of(&page).unwrap()));
            }
        }
    }

    /// Each hole's marker is read back as that hole (`HOLES` is also checked against
    /// the enum's order when the crate is built).
    #[test]
    fn every_marker_names_its_hole() {
        for (i, hole) in HOLES.iter().enumerate() {
            assert_eq!(*hole as usize, i);
            let template = Template::parse(&format!("a{}b", marker(*hole))).unwrap();
            assert!(matches!(
                template.parts.as_slice(),
                [Part::Text(a), Part::Hole(h), Part::Text(b)] if &**a == "a" && h == hole && &**b == "b"
            ));
        }
    }

    /// The GET's page (no error, no brand) and the templates hold no value of a page.
    #[test]
    fn templates_hold_markers_not_values() {
        let page = FormPage {
            org_name: Some("Secret Org"),
            ..crate::web::public::pages::tests::form(Language::De)
        };
        same(&page);
        let template = TEMPLATES.get(Shape::of(&page).unwrap()).unwrap();
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
