//! The frame every page shares, public and console alike: the `<head>`, the layout of
//! a public page, and a page with a heading and one paragraph (error pages use it).
//! User data is always escaped (never `PreEscaped`); there is no inline script or style.
//! Scripts are first-party files only: the collection form's show/hide toggle
//! (`/assets/reveal.js`) and the console batch page's progress (`/assets/progress.js`).
//! The public frame is written in the reader's language (`i18n`).

use maud::{DOCTYPE, Markup, html};

use super::assets;
use crate::i18n::{self, Language};

/// The `<head>` every page shares: no external resource, no script.
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            meta name="robots" content="noindex, nofollow";
            title { (title) }
            link rel="stylesheet" href=(assets::STYLESHEET.url());
            link rel="icon" type="image/svg+xml" href=(assets::ICON.url());
        }
    }
}

/// The frame every collection page shares, in `language` (`<html lang>` too).
pub fn layout_in(language: Language, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(language.tag()) {
            (head(title))
            body {
                header.site {
                    img src=(assets::ICON.url()) alt="" width="28" height="28";
                    span { (i18n::text(language, "site-header")) }
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
    layout_in(
        language,
        title,
        html! {
            h1 { (title) }
            p { (text) }
        },
    )
}
