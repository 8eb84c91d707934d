//! The frame every page shares, public and console alike: the `<head>`, the layout of
//! a public page, and a page with a heading and one paragraph (error pages use it).
//! User data is always escaped (never `PreEscaped`); there is no inline script or
//! style, and no public page has a script (only the console's batch page loads
//! `/assets/progress.js`, while emails are sent).

use maud::{DOCTYPE, Markup, html};

use super::assets;

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

/// The frame every collection page shares.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.site {
                    img src=(assets::ICON.url()) alt="" width="28" height="28";
                    span { "Secure password collection" }
                }
                main {
                    (body)
                }
                footer {
                    "This page stores nothing in your browser and uses no cookies or trackers."
                }
            }
        }
    }
}

/// A page with a heading and one paragraph.
pub fn message_page(title: &str, text: &str) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p { (text) }
        },
    )
}
