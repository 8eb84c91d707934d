//! The branded collection form in a real browser (headless Chromium): axe-core finds no
//! WCAG 2.2 AA violation on a phone (390x844) and a desktop, in three languages and in
//! dark mode, and so are the ways out (`/password`, `/help`, `/not-me`), branded the same;
//! the screenshots go under `target/screenshots/` (the README shows
//! copies from `assets/screenshots/`).

use fantoccini::{Client, ClientBuilder};

use crate::branding::brand;
use crate::browser::{
    Driver, assert_accessible, browser_available, save_screenshot, save_screenshot_only,
    wait_for_heading,
};
use crate::helpers::{TestApp, link};

/// A session whose pages see `prefers-color-scheme: dark`.
async fn dark_client(driver_port: u16, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
                "--force-dark-mode", "--blink-settings=preferredColorScheme=0",
                format!("--user-data-dir={}", profile.join("chrome").display()),
                "--lang=en-GB",
            ],
            "prefs": { "intl.accept_languages": "en-GB,en" },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_branded_form_is_accessible_in_three_languages_and_dark_mode() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "branded-browser",
            "EmailAddress,DisplayName,Language\nann.lee@example.com,Ann Lee,en\n\
             bob@example.com,Bob,de\ncy@example.com,Cy,fr\n",
        )
        .await;
    brand(&app, &b).await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let client = driver.client(profile.path()).await;
    for (i, (tag, heading)) in [
        ("en", "Your email is moving"),
        ("de", "Ihr E-Mail-Postfach zieht um"),
        ("fr", "Votre messagerie déménage"),
    ]
    .into_iter()
    .enumerate()
    {
        client.set_window_size(390, 844).await.unwrap();
        client.goto(&link(&links[i])).await.unwrap();
        wait_for_heading(&client, heading).await;
        let html = client.source().await.unwrap();
        assert!(html.contains("Ann Smith"), "{tag}: contact shown");
        assert_accessible(&client, &format!("branded form, {tag}, 390x844")).await;
        // The whole page (the contact block sits below the button), for the README.
        client.set_window_size(390, 1750).await.unwrap();
        save_screenshot_only(&client, &format!("branded-form-{tag}-phone.png")).await;
        client.set_window_size(1280, 1500).await.unwrap();
        save_screenshot(&client, &format!("branded-form-{tag}-desktop.png")).await;
        // The ways out are branded like the form, and as accessible.
        client.set_window_size(390, 844).await.unwrap();
        for way in ["password", "help", "not-me"] {
            client
                .goto(&format!("{}/{way}", link(&links[i])))
                .await
                .unwrap();
            client
                .wait()
                .for_element(fantoccini::Locator::Css("h1"))
                .await
                .unwrap();
            let html = client.source().await.unwrap();
            assert!(html.contains("Ann Smith"), "{tag} {way}: contact shown");
            assert_accessible(&client, &format!("branded {way}, {tag}, 390x844")).await;
            save_screenshot_only(&client, &format!("branded-{way}-{tag}-phone.png")).await;
        }
    }
    client.close().await.unwrap();

    let dark_profile = tempfile::tempdir().unwrap();
    let dark = dark_client(driver.port(), dark_profile.path()).await;
    dark.set_window_size(390, 844).await.unwrap();
    dark.goto(&link(&links[0])).await.unwrap();
    wait_for_heading(&dark, "Your email is moving").await;
    let is_dark = dark
        .execute(
            "return window.matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        is_dark,
        serde_json::Value::Bool(true),
        "dark mode not emulated"
    );
    assert_accessible(&dark, "branded form, dark, 390x844").await;
    dark.set_window_size(390, 1750).await.unwrap();
    save_screenshot(&dark, "branded-form-dark-phone.png").await;
    dark.close().await.unwrap();
    app.stop().await;
}
