//! The user's ways out in a real browser (headless Chromium): each page on a phone
//! (390x844) and a desktop, screenshots under `target/screenshots/`, axe-core (WCAG 2.2
//! AA) with zero violations, and every link, box and button at least 24x24 px.

use fantoccini::{Client, Locator};

use crate::browser::{Driver, browser_available, save_screenshot, wait_for_heading};
use crate::helpers::{TestApp, link};

/// Every way-out link, confirmation box and button in the page measures at least
/// 24x24 CSS pixels.
async fn assert_targets_large_enough(client: &Client, label: &str) {
    let sizes = client
        .execute(
            "return [...document.querySelectorAll('ul.ways a, label.confirm input, main button')]\
               .filter(e => e.offsetParent !== null)\
               .map(e => { const r = e.getBoundingClientRect(); \
                 return [e.tagName + ' ' + (e.textContent || e.name).trim().slice(0, 40), r.width, r.height]; });",
            vec![],
        )
        .await
        .unwrap();
    let sizes: Vec<(String, f64, f64)> = serde_json::from_value(sizes).unwrap();
    assert!(!sizes.is_empty(), "{label}: no targets found");
    for (what, w, h) in sizes {
        assert!(w >= 24.0 && h >= 24.0, "{label}: {what} is {w}x{h}");
    }
}

async fn look(client: &Client, url: &str, heading: &str, name: &str) {
    client.goto(url).await.unwrap();
    wait_for_heading(client, heading).await;
    save_screenshot(client, name).await;
    assert_targets_large_enough(client, name).await;
}

#[tokio::test]
async fn the_ways_out_pass_axe_on_a_phone_and_a_desktop() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "ways-browser",
            "EmailAddress\nann@example.org\nbob@example.org\ncy@example.org\n",
        )
        .await;
    let (ann, bob, cy) = (link(&links[0]), link(&links[1]), link(&links[2]));
    assert_eq!(
        app.submit(&bob, "Pw-bob-1!", "Pw-bob-1!").await.status(),
        200
    );
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let client = driver.client(profile.path()).await;
    for (width, height, size) in [(390, 844, "phone"), (1280, 1000, "desktop")] {
        client.set_window_size(width, height).await.unwrap();
        let pages = [
            (ann.clone(), "Your email is moving", "ways-form"),
            (
                format!("{ann}/password"),
                "If you don't know your password",
                "ways-dont-know",
            ),
            (format!("{ann}/help"), "Tell IT you need help", "ways-help"),
            (
                format!("{ann}/not-me"),
                "Didn't expect this?",
                "ways-not-me",
            ),
            (bob.clone(), "Password already received", "ways-used"),
        ];
        for (url, heading, name) in pages {
            look(&client, &url, heading, &format!("{name}-{size}.png")).await;
        }
        // The button pressed without ticking the box: the page again, calmly.
        client.goto(&format!("{ann}/help")).await.unwrap();
        wait_for_heading(&client, "Tell IT you need help").await;
        client
            .find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Id("confirm-note"))
            .await
            .unwrap();
        save_screenshot(&client, &format!("ways-help-unticked-{size}.png")).await;
    }
    // Ticked by hand: the help request, then a report on Cy's link.
    client.goto(&format!("{ann}/help")).await.unwrap();
    wait_for_heading(&client, "Tell IT you need help").await;
    client
        .find(Locator::Css("label.confirm input"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "IT knows you need help").await;
    save_screenshot(&client, "ways-help-done-phone.png").await;
    client.goto(&format!("{cy}/not-me")).await.unwrap();
    wait_for_heading(&client, "Didn't expect this?").await;
    client
        .find(Locator::Css("label.confirm input"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Thank you for telling us").await;
    save_screenshot(&client, "ways-not-me-done-desktop.png").await;
    assert_eq!(app.get(&cy).await.status(), 410);

    // The admin sees both, with the users' languages, on a phone and a desktop.
    client
        .goto(&format!("{}/admin/login", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Log in").await;
    client
        .find(Locator::Css("input[name=passphrase]"))
        .await
        .unwrap()
        .send_keys(crate::helpers::PASSPHRASE)
        .await
        .unwrap();
    client
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Batches").await;
    for (width, height, size) in [(390, 844, "phone"), (1280, 1000, "desktop")] {
        client.set_window_size(width, height).await.unwrap();
        client
            .goto(&format!("{}/admin/batches/{}", app.address, b.id))
            .await
            .unwrap();
        wait_for_heading(&client, "ways-browser").await;
        let source = client.source().await.unwrap();
        assert!(source.contains("id=\"reported-banner\""), "{source}");
        assert!(source.contains("id=\"help-banner\""), "{source}");
        save_screenshot(&client, &format!("ways-console-{size}.png")).await;
    }
    client.close().await.unwrap();
}
