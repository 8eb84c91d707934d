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
    // The creation is confirmed once, on the batch page the form was redirected to.
    wait_for_text(&admin, "Batch created with 3 links").await;
    let mut batch_url = admin.current_url().await.unwrap();
    batch_url.set_query(None);
    let batch_url = batch_url.to_string();

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
    // Reloading the page (a phone restoring the tab) neither reissues again nor shows
    // the link again.
    let reissues = |app: &TestApp| {
        let store = app.store.clone();
        let id = batch_url.rsplit('/').next().unwrap().to_owned();
        async move {
            store
                .audit_trail(&id)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.kind.as_str() == "reissued")
                .count()
        }
    };
    assert_eq!(reissues(&app).await, 1);
    admin.refresh().await.unwrap();
    let page = wait_for_text(&admin, "shown once and is gone").await;
    assert!(!page.contains(&link), "the link is not shown again");
    assert_eq!(reissues(&app).await, 1, "a reload does not reissue");
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
    // Nothing downloaded yet: the purge step names Ann, whose password no file holds.
    let page = wait_for_text(&admin, "in no file you downloaded").await;
    assert!(page.contains("no file has been downloaded yet"));
    admin
        .execute(
            "document.getElementById('unexported').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    save_screenshot(&admin, "admin-export-unsaved.png").await;
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

/// While link emails are sent, the batch page follows the progress by itself: the
/// console's own script runs under its CSP (`script-src 'self'`), polls, and stops when
/// sending ends, without a reload.
#[tokio::test(flavor = "multi_thread")]
async fn the_batch_page_follows_sending_without_a_reload() {
    if !browser_available() || !crate::helpers::aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = crate::helpers::Relay::start(dir.path());
    let ca = std::fs::read_to_string(&relay.ca).unwrap();
    let port = relay.port;
    let app = TestApp::spawn_with(move |c| {
        let settings = passdrop::mail::SmtpSettings::from_fields(passdrop::mail::RelayFields {
            host: "127.0.0.1",
            port: Some(port),
            security: "starttls",
            credentials: Some((
                crate::helpers::RELAY_USER.to_owned(),
                crate::helpers::secret(crate::helpers::RELAY_PASSWORD),
            )),
            from: "IT <it@example.org>",
            reply_to: None,
            ca_pem: Some(ca),
        });
        c.smtp = Some(settings.unwrap());
        c.send_rate = 2.0;
    })
    .await;
    let (b, _) = app
        .create_batch("Progress 2026", &crate::helpers::roster_of("user", 8))
        .await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let admin = driver.client(profile.path()).await;
    admin
        .goto(&format!("{}/admin/login", app.address))
        .await
        .unwrap();
    wait_for_heading(&admin, "Log in").await;
    fill(&admin, "passphrase", crate::helpers::PASSPHRASE).await;
    click(&admin, "main form button[type=submit]").await;
    wait_for_heading(&admin, "Batches").await;
    admin
        .goto(&format!("{}/admin/batches/{}", app.address, b.id))
        .await
        .unwrap();
    wait_for_heading(&admin, "Progress 2026").await;
    fill(&admin, "send-passphrase", crate::helpers::PASSPHRASE).await;
    click(&admin, "button[name=who][value=unsent]").await;
    wait_for_text(&admin, "8 messages queued").await;
    let page = admin.source().await.unwrap();
    assert!(page.contains("Sending in the background"), "{page}");
    let url = admin.current_url().await.unwrap();
    // No reload: the script's words appear once the queue is done.
    let deadline = Instant::now() + Duration::from_secs(40);
    let page = loop {
        let page = admin.source().await.unwrap();
        if page.contains("Sending has stopped.") {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the page never followed:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("8 emailed, 0 queued, 0 failed."), "{page}");
    assert_eq!(admin.current_url().await.unwrap(), url, "no navigation");
    assert_eq!(relay.messages().len(), 8);
    admin.close().await.unwrap();
    app.stop().await;
}
