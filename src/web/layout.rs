//! The frame every page shares, public and console alike: the `<head>`, the layout of
//! a public page, and a page with a heading and one paragraph (error pages use it).
//! User data is always escaped (never `PreEscaped`); there is no inline script or style.
//! Scripts are first-party files only: the collection form's show/hide toggle
//! (`/assets/reveal.js`) and the console batch page's progress (`/assets/progress.js`).
//! The public frame is written in the reader's language (`i18n`).

use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::brand::PageBrand;
use crate::i18n::{self, Language};

/// The `<head>` every page shares: no external resource, no script.
pub fn head(title: &str) -> Markup {
    head_with(title, None)
}

/// The `<head>`, with a batch's accent stylesheet (first-party) when it has one.
fn head_with(title: &str, accent_url: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            meta name="robots" content="noindex, nofollow";
            title { (title) }
            link rel="stylesheet" href=(assets::STYLESHEET.url());
            @if let Some(accent) = accent_url {
                link rel="stylesheet" href=(accent);
            }
            link rel="icon" type="image/svg+xml" href=(assets::ICON.url());
        }
    }
}

/// The frame every collection page shares, in `language` (`<html lang>` too); when the
/// page knows who is asking, the organisation in the header and the tab title, its logo
/// (alt text: the organisation) and accent.
pub fn layout_branded(
    language: Language,
    title: &str,
    brand: Option<&PageBrand>,
    body: Markup,
) -> Markup {
    let org = brand.and_then(|b| b.org.as_deref());
    let full_title = brand.map_or_else(|| title.to_owned(), |b| b.title(title));
    let logo = brand.and_then(|b| b.logo_url.as_deref());
    html! {
        (DOCTYPE)
        html lang=(language.tag()) {
            (head_with(&full_title, brand.and_then(|b| b.accent_url.as_deref())))
            body {
                header.site {
                    @if let Some(logo) = logo {
                        img.logo src=(logo) alt=(org.unwrap_or_default()) height="40";
                    } @else {
                        img src=(assets::ICON.url()) alt="" width="28" height="28";
                    }
                    @if let Some(org) = org {
                        span.org { (org) }
                    } @else {
                        span { (i18n::text(language, "site-header")) }
                    }
                }
                main {
                    (body)
                }
                footer {
                    (i18n::text(language, "site-footer"))
                }
            }
        }
    }
}

/// A page with a heading and one paragraph, in English.
pub fn message_page(title: &str, text: &str) -> Markup {
    message_page_in(Language::En, title, text)
}

/// A page with a heading and one paragraph, in `language`.
pub fn message_page_in(language: Language, title: &str, text: &str) -> Markup {
    message_page_branded(language, title, text, None)
}

/// A page with a heading and one paragraph, in `language`, then who is asking (the
/// contact and the link-prefix line) when the page knows.
pub fn message_page_branded(
    language: Language,
    title: &str,
    text: &str,
    brand: Option<&PageBrand>,
) -> Markup {
    layout_branded(
        language,
        title,
        brand,
        html! {
            h1 { (title) }
            p { (text) }
            @if let Some(brand) = brand {
                (brand.contact_block(language))
                (brand.link_prefix_line(language))
            }
        },
    )
}
