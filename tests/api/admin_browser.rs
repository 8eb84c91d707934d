//! The whole journey in a real browser, admin side: setup, create a batch from an
//! uploaded roster, a user submits in a second browser, export, download, purge.
//! Screenshots of the main console pages land in `target/screenshots/`.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::{Driver, browser_available, save_screenshot, wait_for_heading};
use crate::helpers::{TestApp, parse_csv};

const PASSPHRASE: &str = "browser admin passphrase 2026";

async fn fill(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn wait_for_text(client: &Client, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let source = client.source().await.unwrap();
        if source.contains(needle) {
            return source;
        }
        assert!(
            Instant::now() < deadline,
            "page never showed {needle:?}:\n{source}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_runs_a_whole_collection_in_the_browser() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn_without_admin().await;
    let setup_url = app.setup_url().await;
    let driver = Driver::start();
    let admin_profile = tempfile::tempdir().unwrap();
    let admin = driver.client(admin_profile.path()).await;
    admin.set_window_size(1280, 1000).await.unwrap();

    // Setup: choose the passphrase; that logs the admin in.
    admin.goto(&setup_url).await.unwrap();
    wait_for_heading(&admin, "Choose the admin passphrase").await;
    save_screenshot(&admin, "admin-setup.png").await;
    fill(&admin, "passphrase", PASSPHRASE).await;
    fill(&admin, "passphrase_confirm", PASSPHRASE).await;
    click(&admin, "button[type=submit]").await;
    wait_for_heading(&admin, "Batches").await;

    // Log out and back in through the login page.
    click(&admin, "header form button").await;
    wait_for_heading(&admin, "Log in").await;
    save_screenshot(&admin, "admin-login.png").await;
    fill(&admin, "passphrase", PASSPHRASE).await;
    click(&admin, "main form button[type=submit]").await;
    wait_for_heading(&admin, "Batches").await;

    // Create a batch from an uploaded roster file.
    let roster = admin_profile.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,DisplayName\nann.lee@example.com,Ann Lee\nbob.ray@example.com,Bob Ray\ncy@example.com,Cy\n",
    )
    .unwrap();
    admin
        .goto(&format!("{}/admin/batches/new", app.address))
        .await
        .unwrap();
    wait_for_heading(&admin, "New batch").await;
    fill(&admin, "name", "Move to Microsoft 365").await;
    fill(&admin, "org", "Example Ltd").await;
    fill(
        &admin,
        "next_steps",
        "Your mailbox moves on Friday evening.",
    )
    .await;
    admin
        .find(Locator::Id("roster_file"))
        .await
        .unwrap()
        .send_keys(&roster.display().to_string())
        .await
        .unwrap();
    save_screenshot(&admin, "admin-new-batch.png").await;
    click(&admin, "main form button[type=submit]").await;
    wait_for_heading(&admin, "Move to Microsoft 365").await;
    let batch_url = admin.current_url().await.unwrap().to_string();

    // A reissue asks for the passphrase, then shows Ann's new link once; a user opens it
    // in another browser.
    let reissue = admin
        .find(Locator::Css("form[action$='/reissue'] button"))
        .await
        .unwrap();
    reissue.click().await.unwrap();
    wait_for_heading(&admin, "Reissue the link of ann.lee@example.com").await;
    fill(&admin, "passphrase", PASSPHRASE).await;
    click(&admin, "form[action$='/reissue'] button").await;
    let page = wait_for_text(&admin, "New link for").await;
    let link = page
        .split("<code class=\"link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .replace("&amp;", "&");
    let user_profile = tempfile::tempdir().unwrap();
    let user = driver.client(user_profile.path()).await;
    user.goto(&link).await.unwrap();
    wait_for_heading(&user, "Your email is moving").await;
    fill(&user, "password", "Ann's old-host password").await;
    // With JavaScript the form asks once, with a show/hide toggle.
    click(&user, "input[value=one-computer]").await;
    click(&user, "form button[type=submit]").await;
    wait_for_heading(&user, "Thank you, you're done").await;
    user.close().await.unwrap();

    // The admin sees the progress change.
    admin.goto(&batch_url).await.unwrap();
    wait_for_text(&admin, "1 of 3").await;
    save_screenshot(&admin, "admin-batch.png").await;
    admin
        .goto(&format!("{}/admin/batches", app.address))
        .await
        .unwrap();
    wait_for_heading(&admin, "Batches").await;
    save_screenshot(&admin, "admin-batches.png").await;

    // The email pages render (sending itself is tested against a real relay in smtp.rs).
    admin
        .goto(&format!("{}/admin/smtp", app.address))
        .await
        .unwrap();
    wait_for_heading(&admin, "Email settings").await;
    save_screenshot(&admin, "admin-email-settings.png").await;
    admin.goto(&format!("{batch_url}/message")).await.unwrap();
    wait_for_text(&admin, "Placeholders").await;
    save_screenshot(&admin, "admin-message.png").await;

    // Export with the passphrase: the browser downloads the Microsoft file.
    admin.goto(&format!("{batch_url}/export")).await.unwrap();
    wait_for_text(&admin, "Download the Microsoft 365 CSV").await;
    save_screenshot(&admin, "admin-export.png").await;
    fill(&admin, "passphrase", PASSPHRASE).await;
    click(&admin, "form[action$='/export'] button").await;
    let downloads = admin_profile.path().join("downloads");
    let deadline = Instant::now() + Duration::from_secs(15);
    let csv = loop {
        let done = std::fs::read_dir(&downloads)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "csv"));
        // The file may appear before all of it is written (seen under load).
        if let Some(bytes) = done.and_then(|path| std::fs::read(path).ok())
            && bytes.ends_with(b"\r\n")
        {
            break bytes;
        }
        assert!(Instant::now() < deadline, "the export never downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], ["EmailAddress", "UserName", "Password"]);
    assert_eq!(
        rows[1],
        [
            "ann.lee@example.com",
            "ann.lee@example.com",
            "Ann's old-host password"
        ]
    );
    assert_eq!(rows.len(), 2);

    // Confirm the file is saved, purge, and see the tombstone.
    click(&admin, "input[name=confirm]").await;
    fill(&admin, "purge-passphrase", PASSPHRASE).await;
    click(&admin, "button.danger").await;
    wait_for_heading(&admin, "Batches").await;
    let page = wait_for_text(&admin, "Purged").await;
    assert!(page.contains("Move to Microsoft 365"));
    save_screenshot(&admin, "admin-purged.png").await;
    admin.close().await.unwrap();
    assert!(app.store.list_batches().await.unwrap().is_empty());
    app.stop().await;
}
