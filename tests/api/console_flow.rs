//! The batch page says what happens next (issue 15): a stepper (created, links sent,
//! collecting, exported, purged) with the current step marked and one primary button;
//! "Remind" only after a first message, "Email … not yet emailed" only while someone is
//! left; a banner and an audit event when a link locks; per-row buttons named after
//! their user; unique ids; no skipped heading levels; the email settings keep what was
//! typed when a test or a save fails.

use crate::helpers::{PASSPHRASE, TestApp, console_get, console_post, link, token_of};
use passdrop::batch;
use passdrop::crypto::LinkToken;
use passdrop::mail::{RelayFields, SmtpSettings};
use passdrop::storage::{AuditKind, DeliveryOutcome, Requeue};

const ROSTER: &str =
    "EmailAddress,DisplayName\nann@example.org,Ann\nbob@example.org,Bob\ncy@example.org,Cy\n";

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A relay on this machine where nothing listens: the send form shows, nothing sends.
fn dead_relay() -> SmtpSettings {
    SmtpSettings::from_fields(RelayFields {
        host: "127.0.0.1",
        port: Some(closed_port()),
        security: "none",
        credentials: None,
        from: "IT team <it@example.org>",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap()
}

/// The name of the stepper's current step.
fn current_step(page: &str) -> String {
    let marks: Vec<_> = page.match_indices("aria-current=\"step\">").collect();
    assert_eq!(marks.len(), 1, "one current step: {page}");
    let rest = &page[marks[0].0 + "aria-current=\"step\">".len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

/// The value of attribute `name` in the tag `tag` (`<button ...>`), if any.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// The text of every primary (filled) button or button-styled link in `main`.
fn primary_buttons(page: &str) -> Vec<String> {
    let main = &page[page.find("<main").unwrap()..];
    let mut found = Vec::new();
    for (at, _) in main.match_indices('<') {
        let tag = &main[at..at + main[at..].find('>').unwrap() + 1];
        let class = attribute(tag, "class").unwrap_or("");
        let primary = if tag.starts_with("<button") {
            !["secondary", "compact", "link"]
                .iter()
                .any(|c| class.split(' ').any(|k| k == *c))
        } else if tag.starts_with("<a ") {
            class.split(' ').any(|k| k == "button") && !class.contains("secondary")
        } else {
            false
        };
        if primary {
            let text = &main[at + tag.len()..];
            let end = text.find("</").unwrap();
            found.push(text[..end].to_owned());
        }
    }
    found
}

/// Every `id` in the page.
fn ids(page: &str) -> Vec<String> {
    page.match_indices(" id=\"")
        .map(|(at, _)| {
            let rest = &page[at + 5..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Says which heading skips a level (an h3 right after an h1), if any.
fn skipped_heading(page: &str) -> Option<String> {
    let mut last = 0;
    for (at, _) in page.match_indices("<h") {
        let Some(level) = page[at + 2..]
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .filter(|_| page[at + 3..].starts_with(['>', ' ']))
        else {
            continue;
        };
        if level > last + 1 {
            return Some(format!("h{level} after h{last}"));
        }
        last = level;
    }
    None
}

#[tokio::test]
async fn the_stepper_marks_the_current_step_and_offers_one_next_action() {
    let app = TestApp::spawn_with(|c| c.smtp = Some(dead_relay())).await;
    let cookie = app.login().await;
    let (b, links) = app.create_batch("flow", ROSTER).await;
    let url = format!("{}/admin/batches/{}", app.address, b.id);

    // Created: nothing went out yet; the one next action emails everyone.
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Created");
    assert_eq!(
        primary_buttons(&page),
        ["Email all 3 users not yet emailed"]
    );
    assert!(
        !page.contains("Remind"),
        "no reminder before a first send: {page}"
    );

    // Links sent: every user has a message, one was accepted by the relay.
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    let ids: Vec<i64> = statuses.iter().map(|s| s.recipient.id).collect();
    let now = passdrop::config::now();
    app.store
        .enqueue_deliveries(&ids, Requeue::Any, now)
        .await
        .unwrap();
    let hash = LinkToken::parse(&token_of(&link(&links[0])))
        .unwrap()
        .hash();
    assert!(
        app.store
            .claim_delivery(ids[0], &hash, now)
            .await
            .unwrap()
            .is_some()
    );
    app.store
        .finish_delivery(ids[0], DeliveryOutcome::Sent, now)
        .await
        .unwrap();
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Links sent");
    assert!(
        !page.contains("not yet emailed\n") && !page.contains("value=\"unsent\""),
        "nobody is left to email for the first time: {page}"
    );
    assert_eq!(primary_buttons(&page), ["Remind all 3 users still waiting"]);

    // Collecting: a password came in.
    let r = app
        .submit(&link(&links[1]), "Bob's pw 1", "Bob's pw 1")
        .await;
    assert_eq!(r.status(), 200);
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Collecting");
    assert!(page.contains("Remind all 2 users still waiting"), "{page}");
    assert!(page.contains("Done: </span>Links sent"), "{page}");

    // Exported: the purge is next.
    let r = app
        .client
        .post(format!("{url}/export"))
        .header("Cookie", &cookie)
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Exported");
    assert_eq!(primary_buttons(&page), ["Export again or purge"]);
    app.stop().await;
}

#[tokio::test]
async fn without_a_relay_the_next_action_is_getting_the_links_then_exporting() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = app
        .create_batch("plain", "EmailAddress\nann@example.org\n")
        .await;
    let url = format!("{}/admin/batches/{}", app.address, b.id);
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Created");
    assert_eq!(primary_buttons(&page), ["Get the links"]);
    assert!(!page.contains("Email all"), "{page}");

    let r = app
        .submit(&link(&links[0]), "Ann's pw 1", "Ann's pw 1")
        .await;
    assert_eq!(r.status(), 200);
    let page = console_get(&app.client, &url, &cookie).await;
    assert_eq!(current_step(&page), "Collecting");
    assert_eq!(primary_buttons(&page), ["Export the passwords"]);
    assert!(page.contains("everyone (1) has submitted"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn a_locked_link_shows_a_banner_and_is_audited_once() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = app.create_batch("locks", ROSTER).await;
    let url = format!("{}/admin/batches/{}", app.address, b.id);
    let page = console_get(&app.client, &url, &cookie).await;
    assert!(!page.contains("locked-banner"), "{page}");

    // A password with a line break is refused and counts (a mismatch never does).
    for _ in 0..batch::MAX_FAILED_ATTEMPTS {
        app.submit(&link(&links[2]), "a\nb", "a\nb").await;
    }
    // Tries on a locked link are no new lock.
    assert_eq!(
        app.submit(&link(&links[2]), "a\nb", "a\nb").await.status(),
        410
    );
    let audit = app.store.audit_trail(&b.id).await.unwrap();
    let locks: Vec<_> = audit
        .iter()
        .filter(|e| e.kind == AuditKind::LinkLocked)
        .collect();
    assert_eq!(locks.len(), 1, "{audit:?}");
    assert_eq!(locks[0].count, 1);

    let page = console_get(&app.client, &url, &cookie).await;
    let banner = &page[page.find("id=\"locked-banner\"").expect("banner")..];
    let banner = &banner[..banner.find("</div>").unwrap()];
    assert!(
        banner.contains("One link is</strong>") || banner.contains("One link is locked"),
        "{banner}"
    );
    assert!(banner.contains("cy@example.org"), "{banner}");
    assert!(banner.contains("Reissue"), "{banner}");
    assert!(
        page.contains("a link was locked after too many refused tries"),
        "{page}"
    );
    assert!(
        page.contains("link locked after too many refused tries"),
        "last event: {page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_batch_page_names_each_rows_buttons_and_has_unique_ids_and_ordered_headings() {
    let app = TestApp::spawn_with(|c| c.smtp = Some(dead_relay())).await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("names", ROSTER).await;
    let url = format!("{}/admin/batches/{}", app.address, b.id);
    // Every console page a logged-in admin reaches by GET.
    let base = &app.address;
    for path in [
        "/admin/batches".to_owned(),
        "/admin/batches/new".to_owned(),
        format!("/admin/batches/{}", b.id),
        format!("/admin/batches/{}/reissue?email=bob%40example.org", b.id),
        format!("/admin/batches/{}/links", b.id),
        format!("/admin/batches/{}/message", b.id),
        format!("/admin/batches/{}/export", b.id),
        "/admin/smtp".to_owned(),
        "/admin/passphrase".to_owned(),
    ] {
        let page = console_get(&app.client, &format!("{base}{path}"), &cookie).await;
        let mut seen = std::collections::BTreeSet::new();
        for id in ids(&page) {
            assert!(seen.insert(id.clone()), "{path}: duplicate id {id}: {page}");
        }
        assert_eq!(skipped_heading(&page), None, "{path}: {page}");
    }
    let page = console_get(&app.client, &url, &cookie).await;
    let mut names = std::collections::BTreeSet::new();
    for (at, _) in page.match_indices("<button") {
        let tag = &page[at..at + page[at..].find('>').unwrap()];
        if let Some(name) = attribute(tag, "aria-label") {
            assert!(names.insert(name.to_owned()), "duplicate name {name}");
        }
    }
    for who in ["ann@example.org", "bob@example.org", "cy@example.org"] {
        for action in ["Reissue", "Revoke"] {
            let name = format!("{action} link for {who}");
            assert!(names.contains(&name), "{name} missing: {names:?}");
        }
    }
    // Each cell says what it is on a phone, and the table has a "Last event" column.
    assert!(page.contains("data-label=\"Last event\""), "{page}");
    assert!(page.contains("link valid until"), "{page}");

    // The message preview looks like the email: From, To, Subject, then the body.
    let message = console_get(&app.client, &format!("{url}/message"), &cookie).await;
    let preview = &message[message.find("email-preview").unwrap()..];
    for field in [
        "<dt>From</dt><dd>IT team &lt;it@example.org&gt;</dd>",
        "<dt>To</dt><dd>ann@example.org</dd>",
        "<dt>Subject</dt>",
    ] {
        assert!(preview.contains(field), "{field}: {preview}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_email_settings_keep_what_was_typed_when_a_test_or_a_save_fails() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let port = closed_port().to_string();
    let url = format!("{}/admin/smtp", app.address);
    for (action, says) in [
        ("test", "No test message was sent, and nothing was saved."),
        ("save", "Nothing was saved."),
    ] {
        let form = [
            ("host", "127.0.0.1"),
            ("port", port.as_str()),
            ("security", "none"),
            ("user", ""),
            ("password", ""),
            ("from", "Help desk <help@example.org>"),
            ("reply_to", "replies@example.org"),
            ("ca_pem", ""),
            ("to", "admin@example.org"),
            ("passphrase", PASSPHRASE),
            ("action", action),
        ];
        let (status, page) = console_post(&app.client, &url, &cookie, &form).await;
        assert_eq!(status, 422, "{action}: {page}");
        assert!(page.contains(says), "{action}: {page}");
        for kept in [
            "value=\"127.0.0.1\"".to_owned(),
            format!("value=\"{port}\""),
            "value=\"Help desk &lt;help@example.org&gt;\"".to_owned(),
            "value=\"replies@example.org\"".to_owned(),
            "value=\"admin@example.org\"".to_owned(),
            "<option value=\"none\" selected>".to_owned(),
        ] {
            assert!(page.contains(&kept), "{action} keeps {kept}: {page}");
        }
        assert!(!page.contains(PASSPHRASE));
    }
    assert!(
        app.store.smtp_settings().await.unwrap().is_none(),
        "nothing saved"
    );

    // A port that is no port is refused in words, not debug-quoted.
    let (status, page) = console_post(
        &app.client,
        &url,
        &cookie,
        &[
            ("host", "127.0.0.1"),
            ("port", "eighty"),
            ("from", "it@example.org"),
            ("passphrase", PASSPHRASE),
            ("action", "test"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Port: “eighty” is not a port number"),
        "{page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_typed_test_uses_the_saved_smtp_password_only_with_the_saved_relay() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let saved_port = closed_port();
    let saved = SmtpSettings::from_fields(RelayFields {
        host: "127.0.0.1",
        port: Some(saved_port),
        security: "starttls",
        credentials: Some(("it@example.org".into(), "relay password".into())),
        from: "IT team <it@example.org>",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap();
    let admin = app.admin().await;
    let public = app.store.admin_key().await.unwrap().unwrap().public_key;
    let mut stored = saved.to_stored(&public, passdrop::config::now()).unwrap();
    stored.sig = Some(batch::sign_relay(
        &batch::settings_signer(&admin).unwrap(),
        &stored,
    ));
    app.store.save_smtp_settings(&stored).await.unwrap();

    let url = format!("{}/admin/smtp", app.address);
    let other_port = closed_port().to_string();
    let same_port = saved_port.to_string();
    for (port, security, refused) in [
        (other_port.as_str(), "starttls", true),
        (same_port.as_str(), "tls", true),
        (same_port.as_str(), "starttls", false),
    ] {
        let (status, page) = console_post(
            &app.client,
            &url,
            &cookie,
            &[
                ("host", "127.0.0.1"),
                ("port", port),
                ("security", security),
                ("user", "it@example.org"),
                ("password", ""),
                ("from", "it@example.org"),
                ("to", "admin@example.org"),
                ("passphrase", PASSPHRASE),
                ("action", "test"),
            ],
        )
        .await;
        assert_eq!(status, 422, "{page}");
        assert_eq!(
            page.contains("the saved one is used only with the saved server"),
            refused,
            "port {port}, {security}: {page}"
        );
    }
    app.stop().await;
}
