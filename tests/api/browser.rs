//! A real browser (headless Chromium over WebDriver) uses the collection page with the
//! keyboard only, and saves screenshots under `target/screenshots/` for people to look at.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{TestApp, link, parse_csv};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `true` when the browser is there; otherwise prints SKIPPED, or fails when
/// PASSDROP_REQUIRE_EXTERNAL=1 (as in CI).
pub fn browser_available() -> bool {
    crate::helpers::external_available(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "chromium",
        "chromium chromium-driver",
    )
}

pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// The port chromedriver listens on (for a session with capabilities of its own).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn start() -> Self {
        let port = crate::helpers::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    /// A browser session with its own profile (so its own cookies); downloads land in
    /// `profile/downloads`.
    pub async fn client(&self, profile: &Path) -> Client {
        self.client_with(profile, true, "en-GB,en").await
    }

    /// A session with JavaScript on or off, asking for `languages` (Accept-Language).
    pub async fn client_with(&self, profile: &Path, javascript: bool, languages: &str) -> Client {
        let downloads = profile.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.join("chrome").display()),
                    format!("--lang={}", languages.split(',').next().unwrap_or("en")),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    "intl.accept_languages": languages,
                    "profile.managed_default_content_settings.javascript":
                        if javascript { 1 } else { 2 },
                },
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of the page as it is now under `target/screenshots/`, then checks
/// the same page state with axe-core (WCAG 2.2 AA and best practice): every page a test
/// looks at is also checked for accessibility.
pub async fn save_screenshot(client: &Client, name: &str) {
    save_screenshot_only(client, name).await;
    assert_accessible(client, name).await;
}

/// Saves a screenshot under `target/screenshots/`, without checking the page.
pub async fn save_screenshot_only(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(screenshot_dir().join(name), png).unwrap();
}

/// axe-core's script, installed by `npm ci --prefix tools/axe` (as `.ci/run` does).
fn axe_script() -> Option<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/axe/node_modules/axe-core/axe.min.js");
    let script = std::fs::read_to_string(path).ok();
    if script.is_none() {
        assert!(
            std::env::var("PASSDROP_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "axe-core is required (PASSDROP_REQUIRE_EXTERNAL=1) but not installed: \
             npm ci --prefix tools/axe"
        );
        println!("SKIPPED: axe-core not installed (npm ci --prefix tools/axe)");
    }
    script
}

/// The axe-core rule sets every page must pass, none disabled and nothing excluded.
const AXE_TAGS: &str =
    r#"["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]"#;

/// Runs axe-core in the page as it is now and fails, naming each rule and element, on
/// any violation. `label` says which page state this was (the screenshot's name).
pub async fn assert_accessible(client: &Client, label: &str) {
    let violations = accessibility_problems(client).await;
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) on {label}:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// axe-core's violations in the page as it is now, one text per rule with the elements
/// that break it; empty when there are none (or when axe-core is missing outside CI).
pub async fn accessibility_problems(client: &Client) -> Vec<String> {
    let Some(axe) = axe_script() else {
        return Vec::new();
    };
    client.execute(&axe, vec![]).await.unwrap();
    let run = format!(
        r#"const done = arguments[arguments.length - 1];
        axe.run(document, {{ runOnly: {{ type: "tag", values: {AXE_TAGS} }},
                             resultTypes: ["violations"] }})
          .then(r => done(r.violations.map(v =>
              v.id + " (" + v.impact + "): " + v.help + "\n" +
              v.nodes.map(n => "    " + n.target.join(" ") + "\n      " +
                  (n.failureSummary || "").replace(/\n/g, " ")).join("\n"))))
          .catch(e => done(["axe failed: " + e]));"#
    );
    let result = client.execute_async(&run, vec![]).await.unwrap();
    serde_json::from_value(result).unwrap()
}

/// Waits (up to 10 s) until the page's heading is `expected`, as after a navigation.
pub async fn wait_for_heading(client: &Client, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(h1) = client.find(Locator::Css("h1")).await {
            last = h1.text().await.unwrap_or_default();
            if last == expected {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("heading stayed {last:?}, expected {expected:?}");
}

/// Waits (up to 10 s) until the form's script has shown the show/hide toggle.
async fn wait_for_toggle(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(toggle) = client.find(Locator::Id("password-toggle")).await
            && toggle.is_displayed().await.unwrap_or(false)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the show/hide toggle never appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_submits_with_the_keyboard_and_sees_each_page() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "browser",
            "EmailAddress,DisplayName\nann.lee@example.com,Ann Lee\nbob@example.com,Bob\n",
        )
        .await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let client = driver.client(profile.path()).await;

    // Desktop: the form, then a mismatched confirmation, then a good submission.
    client.set_window_size(1280, 1350).await.unwrap();
    client.goto(&link(&links[0])).await.unwrap();
    wait_for_heading(&client, "Your email is moving").await;
    save_screenshot(&client, "form-desktop.png").await;

    // With JavaScript: one password field with a show/hide toggle, no second field.
    wait_for_toggle(&client).await;
    let confirm = client.find(Locator::Id("password_confirm")).await.unwrap();
    assert!(!confirm.is_displayed().await.unwrap());

    let password = "Correct \"horse\", battery=staple ü";
    // The password field has focus on arrival; Enter with nothing typed shows an error
    // (which never counts toward the lock).
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.find(Locator::Css("#password-error")).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "no error shown after an empty form"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = client
        .find(Locator::Css("#password-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("Please type your current email password"),
        "{error}"
    );
    save_screenshot(&client, "error-desktop.png").await;

    // After the error, focus is back in the password field.
    let focused = client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("password")
    );
    focused.send_keys(password).await.unwrap();
    // The toggle shows what was typed, then hides it again, and gives focus back.
    let field = client.find(Locator::Id("password")).await.unwrap();
    let toggle = client.find(Locator::Id("password-toggle")).await.unwrap();
    toggle.clone().click().await.unwrap();
    assert_eq!(field.attr("type").await.unwrap().as_deref(), Some("text"));
    assert_eq!(toggle.text().await.unwrap(), "Hide password");
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some(password)
    );
    save_screenshot(&client, "form-shown-desktop.png").await;
    toggle.clone().click().await.unwrap();
    assert_eq!(
        field.attr("type").await.unwrap().as_deref(),
        Some("password")
    );
    // Tab past the toggle into the question; Space picks the first answer.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&format!("{}{}{}", Key::Tab, Key::Tab, Key::Space))
        .await
        .unwrap();
    // Space chose the first answer; Enter on a radio button submits the form.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    wait_for_heading(&client, "Thank you, you're done").await;
    let body = client.source().await.unwrap();
    assert!(body.contains("Your mailbox moves on Friday."));
    save_screenshot(&client, "confirmation-desktop.png").await;

    // A second visit says the link is used.
    client.goto(&link(&links[0])).await.unwrap();
    wait_for_heading(&client, "Password already received").await;
    save_screenshot(&client, "used-desktop.png").await;

    // Phone-sized screen: the form still fits and works.
    client.set_window_size(390, 1500).await.unwrap();
    client.goto(&link(&links[1])).await.unwrap();
    wait_for_heading(&client, "Your email is moving").await;
    save_screenshot(&client, "form-phone.png").await;

    client.close().await.unwrap();

    let (csv, missing) = app.export(&b).await;
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[1][2], password,
        "the browser-submitted password came back changed"
    );
    assert_eq!(missing, vec!["bob@example.com"]);
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert_eq!(statuses[0].mail_client.map(|c| c.as_str()), Some("webmail"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_the_form_keeps_two_fields_and_speaks_the_browsers_language() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch(
            "languages",
            "EmailAddress,DisplayName\nann@example.com,Ann\nbob@example.com,Bob\n",
        )
        .await;
    let driver = Driver::start();

    // German, JavaScript off: both fields, no toggle; the form still works.
    let profile = tempfile::tempdir().unwrap();
    let client = driver.client_with(profile.path(), false, "de-DE,de").await;
    client.set_window_size(1280, 1350).await.unwrap();
    client.goto(&link(&links[0])).await.unwrap();
    wait_for_heading(&client, "Ihr E-Mail-Postfach zieht um").await;
    let confirm = client.find(Locator::Id("password_confirm")).await.unwrap();
    assert!(confirm.is_displayed().await.unwrap());
    let toggle = client.find(Locator::Id("password-toggle")).await.unwrap();
    assert!(!toggle.is_displayed().await.unwrap());
    let html = client.find(Locator::Css("html")).await.unwrap();
    assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some("de"));
    // axe-core runs as a script, which this browser refuses: the same markup is checked
    // with JavaScript on (before the toggle changes it) in the other browser tests.
    save_screenshot_only(&client, "form-de-no-javascript.png").await;
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("Ein Passwort")
        .await
        .unwrap();
    confirm.send_keys("Ein Passwort").await.unwrap();
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Vielen Dank, Sie sind fertig").await;
    client.close().await.unwrap();

    // French, JavaScript on: one field and its toggle, in French.
    let profile = tempfile::tempdir().unwrap();
    let client = driver.client_with(profile.path(), true, "fr-FR,fr").await;
    client.set_window_size(1280, 1350).await.unwrap();
    client.goto(&link(&links[1])).await.unwrap();
    wait_for_heading(&client, "Votre messagerie déménage").await;
    wait_for_toggle(&client).await;
    let toggle = client.find(Locator::Id("password-toggle")).await.unwrap();
    assert_eq!(toggle.text().await.unwrap(), "Afficher le mot de passe");
    save_screenshot(&client, "form-fr.png").await;
    client.close().await.unwrap();

    let (csv, _) = app.export(&b).await;
    assert!(String::from_utf8(csv).unwrap().contains(",Ein Passwort"));
    app.stop().await;
}
