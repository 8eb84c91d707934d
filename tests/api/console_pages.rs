//! Every console page, in real Chromium at desktop and phone sizes (390x844): a
//! screenshot of each into `target/screenshots/`, axe-core (WCAG 2.2 AA and best
//! practice) with zero violations, and nothing wider than the screen.

use fantoccini::{Client, Locator};

use crate::browser::{
    Driver, accessibility_problems, browser_available, save_screenshot_only, wait_for_heading,
};
use crate::helpers::{PASSPHRASE, TestApp, link};

/// Says so when the page scrolls sideways at the window's width.
async fn sideways_scroll(client: &Client) -> Option<String> {
    let widths = client
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let widths: [u32; 2] = serde_json::from_value(widths).unwrap();
    (widths[0] > widths[1]).then(|| {
        format!(
            "scrolls sideways: content {} px wide in a {} px window",
            widths[0], widths[1]
        )
    })
}

/// Logs `admin` in to the console at `address`.
async fn log_in(admin: &Client, address: &str) {
    admin.goto(&format!("{address}/admin/login")).await.unwrap();
    wait_for_heading(admin, "Log in").await;
    admin
        .find(Locator::Id("passphrase"))
        .await
        .unwrap()
        .send_keys(PASSPHRASE)
        .await
        .unwrap();
    admin
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(admin, "Batches").await;
}

/// Screenshots `pages` of the console at `address` at desktop and phone sizes, adding
/// what axe and the sideways-scroll check find to `problems`.
async fn walk(admin: &Client, address: &str, pages: &[(&str, String)], problems: &mut Vec<String>) {
    for (size, (width, height)) in [("desktop", (1280, 1000)), ("phone", (390, 844))] {
        admin.set_window_size(width, height).await.unwrap();
        for (name, path) in pages {
            admin.goto(&format!("{address}{path}")).await.unwrap();
            admin.find(Locator::Css("h1")).await.unwrap();
            let label = format!("console-{name}-{size}.png");
            save_screenshot_only(admin, &label).await;
            let mut found = accessibility_problems(admin).await;
            found.extend(sideways_scroll(admin).await);
            if !found.is_empty() {
                problems.push(format!("{label}:\n{}", found.join("\n")));
            }
            // The whole page too, for people to look at (same width, so same layout).
            let full = admin
                .execute("return document.documentElement.scrollHeight;", vec![])
                .await
                .unwrap();
            let full: u32 = serde_json::from_value(full).unwrap();
            admin
                .set_window_size(width, full.max(height))
                .await
                .unwrap();
            save_screenshot_only(admin, &format!("console-{name}-{size}-full.png")).await;
            admin.set_window_size(width, height).await.unwrap();
        }
    }
}

/// A relay on this machine where nothing listens: the batch page shows its send form.
fn dead_relay() -> passdrop::mail::SmtpSettings {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    passdrop::mail::SmtpSettings::from_fields(passdrop::mail::RelayFields {
        host: "127.0.0.1",
        port: Some(port),
        security: "none",
        credentials: None,
        from: "IT team <it@example.org>",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_console_page_is_accessible_on_desktop_and_phone() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "Move to Microsoft 365",
            "EmailAddress,DisplayName\nann.lee@example.com,Ann Lee\n\
             bob.ray@example.com,Bob Ray\ncy.long-address-for-a-phone@example.com,Cy\n",
        )
        .await;
    let response = app
        .submit(&link(&links[0]), "Ann's password", "Ann's password")
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    // Cy's link locks: the batch page shows the banner.
    for _ in 0..passdrop::batch::MAX_FAILED_ATTEMPTS {
        app.submit(&link(&links[2]), "a", "b").await;
    }
    // A second batch, exported: the stepper's last steps.
    let (done, done_links) = app
        .create_batch("Exported batch", "EmailAddress\ndee@example.com\n")
        .await;
    let response = app
        .submit(&link(&done_links[0]), "Dee's password", "Dee's password")
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    app.export(&done).await;

    // The same console with a relay: the batch page's send form.
    let mailing = TestApp::spawn_with(|c| c.smtp = Some(dead_relay())).await;
    let (m, _) = mailing
        .create_batch(
            "Mailing",
            "EmailAddress\nann.lee@example.com\nbob.ray@example.com\n",
        )
        .await;

    // Branded, so the branding page shows its logo and the remove box.
    let b = crate::branding::brand(&app, &b).await;

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let admin = driver.client(profile.path()).await;
    admin.set_window_size(1280, 1000).await.unwrap();
    log_in(&admin, &app.address).await;

    let batch = format!("/admin/batches/{}", b.id);
    let pages = [
        ("batches", "/admin/batches".to_owned()),
        ("new-batch", "/admin/batches/new".to_owned()),
        ("batch", batch.clone()),
        ("batch-exported", format!("/admin/batches/{}", done.id)),
        (
            "reissue",
            format!("{batch}/reissue?email=bob.ray%40example.com"),
        ),
        ("links", format!("{batch}/links")),
        ("message", format!("{batch}/message")),
        ("branding", format!("{batch}/branding")),
        ("export", format!("{batch}/export")),
        ("readiness", format!("{batch}/readiness")),
        ("email-settings", "/admin/smtp".to_owned()),
        ("passphrase", "/admin/passphrase".to_owned()),
    ];
    // Every page at both sizes is checked before failing, naming every problem found.
    let mut problems = Vec::new();
    walk(&admin, &app.address, &pages, &mut problems).await;
    // The new-batch form refused (a bad expiry and zone, the roster pasted, an admin
    // login without a server, login or password), at both sizes: the errors beside
    // their fields (the admin login's fieldset open), the summary on top, still axe clean.
    for (size, (width, height)) in [("desktop", (1280, 1000)), ("phone", (390, 844))] {
        admin.set_window_size(width, height).await.unwrap();
        admin
            .goto(&format!("{}/admin/batches/new", app.address))
            .await
            .unwrap();
        admin.find(Locator::Css("h1")).await.unwrap();
        admin
            .execute(
                "document.getElementById('name').value = 'Refused';\
                 document.getElementById('expires_number').value = '400';\
                 document.getElementById('expires_unit').value = 'days';\
                 document.getElementById('time_zone').value = 'Europe/Lodnon';\
                 document.getElementById('roster_text').value = 'EmailAddress\\nann@example.com\\nno-at';\
                 document.getElementById('admin_form').value = 'dovecot';\
                 document.getElementById('admin_user').value = 'mail admin';\
                 document.querySelector('main form').submit();",
                vec![],
            )
            .await
            .unwrap();
        admin
            .wait()
            .for_element(Locator::Id("form-error"))
            .await
            .unwrap();
        admin
            .find(Locator::Id("admin_password-error"))
            .await
            .unwrap();
        let label = format!("console-new-batch-refused-{size}.png");
        save_screenshot_only(&admin, &label).await;
        admin
            .execute(
                "document.getElementById('admin_form').scrollIntoView();",
                vec![],
            )
            .await
            .unwrap();
        save_screenshot_only(&admin, &format!("console-new-batch-admin-login-{size}.png")).await;
        let mut found = accessibility_problems(&admin).await;
        found.extend(sideways_scroll(&admin).await);
        if !found.is_empty() {
            problems.push(format!("{label}:\n{}", found.join("\n")));
        }
    }
    admin.set_window_size(1280, 1000).await.unwrap();
    log_in(&admin, &mailing.address).await;
    let sending = [("batch-sending", format!("/admin/batches/{}", m.id))];
    walk(&admin, &mailing.address, &sending, &mut problems).await;
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    // The navigation: in the header on a wide screen; on a phone a "Menu" link to the
    // same links at the foot of the page, which work.
    let shown = |css: &'static str| {
        let admin = &admin;
        async move {
            admin
                .find(Locator::Css(css))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        }
    };
    admin.set_window_size(1280, 1000).await.unwrap();
    admin
        .goto(&format!("{}/admin/batches", mailing.address))
        .await
        .unwrap();
    assert!(shown("header nav.top").await);
    assert!(!shown("header a.menu-link").await);
    assert!(!shown("nav#site-menu").await);
    admin.set_window_size(390, 844).await.unwrap();
    assert!(!shown("header nav.top").await);
    assert!(shown("header a.menu-link").await);
    admin
        .find(Locator::Css("header a.menu-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(shown("nav#site-menu").await);
    admin
        .find(Locator::Css("nav#site-menu a[href='/admin/smtp']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    crate::browser::wait_for_heading(&admin, "Email settings").await;
    admin.close().await.unwrap();
    app.stop().await;
    mailing.stop().await;
}
