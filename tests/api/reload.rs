//! Post/Redirect/Get in the console: every action that succeeds answers 303 to a GET
//! page, and reloading that page changes nothing; what is shown once (a reissued link,
//! the email links, "saved") comes from a flash held in memory, for one session, read
//! once, gone after its time or a restart. A refused action answers 422 (401/429 for a
//! passphrase) with what was typed kept, and changes nothing.

use std::time::Duration;

use crate::helpers::{PASSPHRASE, TestApp, follow, link};

const ROSTER: &str = "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n";

/// Everything an action could change, as text: the batches and tombstones, and for
/// `batch_id` its users' states, deliveries and audit trail; the saved relay. (Not the
/// sessions: every request refreshes its own session's idle time.)
async fn state_of(app: &TestApp, batch_id: &str) -> String {
    let batches: Vec<String> = app
        .store
        .list_batches()
        .await
        .unwrap()
        .iter()
        .map(|s| format!("{:?}", s.batch))
        .collect();
    let tombstones = app.store.list_tombstones().await.unwrap();
    let statuses = app.store.recipient_statuses(batch_id).await.unwrap();
    let mut deliveries: Vec<String> = app
        .store
        .deliveries(batch_id)
        .await
        .unwrap()
        .values()
        .map(|d| format!("{d:?}"))
        .collect();
    deliveries.sort();
    let audit = app.store.audit_trail(batch_id).await.unwrap();
    let relay = app.store.smtp_settings().await.unwrap();
    format!("{batches:?}\n{tombstones:?}\n{statuses:?}\n{deliveries:?}\n{audit:?}\n{relay:?}")
}

/// POSTs `form` to `path` with `cookie`; returns the raw response.
async fn post(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The `Location` of a 303, which must be a console GET page.
fn see_other(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "a successful action answers 303");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin"), "{location}");
    location
}

/// GETs `location` with `cookie`: 200 and the page.
async fn get(app: &TestApp, cookie: &str, location: &str) -> String {
    let r = app
        .client
        .get(format!("{}{location}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET {location}");
    r.text().await.unwrap()
}

/// The reissued link a page shows, if any.
fn shown_link(page: &str) -> Option<String> {
    page.split("<code class=\"link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(str::to_owned)
}

/// GETs the 303's `Location` twice; the state is the same before the first GET, after
/// it and after the second; returns both pages.
async fn reload_changes_nothing(
    app: &TestApp,
    cookie: &str,
    batch_id: &str,
    location: &str,
) -> (String, String) {
    let before = state_of(app, batch_id).await;
    let first = get(app, cookie, location).await;
    assert_eq!(state_of(app, batch_id).await, before, "GET {location}");
    let second = get(app, cookie, location).await;
    assert_eq!(
        state_of(app, batch_id).await,
        before,
        "reload of {location}"
    );
    (first, second)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_after_a_reissue_does_not_reissue_and_the_link_is_shown_once() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let other = app.login().await;
    let (b, links) = app.create_batch("Reload 2026", ROSTER).await;
    let base = format!("/admin/batches/{}", b.id);
    let audit = app.store.audit_trail(&b.id).await.unwrap().len();

    let r = post(
        &app,
        &cookie,
        &format!("{base}/reissue"),
        &[("email", "ann@example.org"), ("passphrase", PASSPHRASE)],
    )
    .await;
    let location = see_other(&r);
    assert!(
        location.starts_with(&format!("{base}?flash=")),
        "{location}"
    );
    assert_eq!(app.store.audit_trail(&b.id).await.unwrap().len(), audit + 1);

    // Another session holding the URL reads nothing (and does not use the flash up).
    let page = get(&app, &other, &location).await;
    assert!(shown_link(&page).is_none(), "{page}");
    assert!(page.contains("shown once"), "{page}");

    let (first, second) = reload_changes_nothing(&app, &cookie, &b.id, &location).await;
    let new_link = shown_link(&first).expect("the new link, once");
    assert!(first.contains("shown this once"), "{first}");
    assert!(shown_link(&second).is_none(), "{second}");
    assert!(second.contains("shown once and is gone"), "{second}");
    assert!(second.contains("reissue"), "{second}");
    assert_eq!(app.store.audit_trail(&b.id).await.unwrap().len(), audit + 1);

    // The new link works; the old one says what happened, truthfully.
    assert_eq!(app.get(&new_link).await.status(), 200);
    let old = app.get(&link(&links[0])).await;
    assert_eq!(old.status(), 410);
    let text = old.text().await.unwrap();
    assert!(
        text.contains("This link was replaced by a newer one"),
        "{text}"
    );
    assert!(!text.contains("was sent"), "{text}");

    // Refused: the wrong passphrase (401), a stranger (422): nothing changes.
    let before = state_of(&app, &b.id).await;
    let r = post(
        &app,
        &cookie,
        &format!("{base}/reissue"),
        &[("email", "bob@example.org"), ("passphrase", "wrong")],
    )
    .await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("bob@example.org") && !page.contains("wrong"),
        "{page}"
    );
    let r = post(
        &app,
        &cookie,
        &format!("{base}/reissue"),
        &[("email", "nobody@example.org"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(state_of(&app, &b.id).await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flash_is_gone_after_its_time_and_after_a_restart() {
    let app = TestApp::spawn_with(|c| c.flash_ttl = Duration::from_millis(300)).await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("Expiry 2026", ROSTER).await;
    let base = format!("/admin/batches/{}", b.id);
    let form = [("email", "ann@example.org"), ("passphrase", PASSPHRASE)];
    let r = post(&app, &cookie, &format!("{base}/reissue"), &form).await;
    let location = see_other(&r);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let page = get(&app, &cookie, &location).await;
    assert!(shown_link(&page).is_none(), "expired: {page}");
    assert!(page.contains("shown once and is gone"), "{page}");

    let r = post(&app, &cookie, &format!("{base}/reissue"), &form).await;
    let location = see_other(&r);
    let app = app.restart().await;
    let before = state_of(&app, &b.id).await;
    let page = get(&app, &cookie, &location).await;
    assert!(shown_link(&page).is_none(), "after a restart: {page}");
    assert_eq!(state_of(&app, &b.id).await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_batch_action_answers_303_and_its_page_reloads_harmlessly() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;

    // Create: 303 to the batch page, which says how many links, once.
    let form = reqwest::multipart::Form::new()
        .text("name", "PRG 2026")
        .text("org", "Example Ltd")
        .text("expires_in", "7d")
        .text("retain_after_expiry", "30d")
        .text("retain_after_export", "7d")
        .text("roster_text", ROSTER);
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let location = see_other(&r);
    let id = location
        .trim_start_matches("/admin/batches/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let base = format!("/admin/batches/{id}");
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("Batch created with 2 links"), "{first}");
    assert!(!second.contains("Batch created"), "{second}");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);

    // A refused create: 422, what was typed kept, nothing created.
    let form = reqwest::multipart::Form::new()
        .text("name", "Typed name 2026")
        .text("expires_in", "7d")
        .text("roster_text", "EmailAddress\nnot-an-address\n");
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Typed name 2026"));
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);

    // Revoke: 303; revoking again (nothing to revoke) or a stranger: 422, no change.
    let r = post(
        &app,
        &cookie,
        &format!("{base}/revoke"),
        &[("email", "bob@example.org")],
    )
    .await;
    let location = see_other(&r);
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("is revoked"), "{first}");
    assert!(!second.contains("is revoked"), "{second}");
    let before = state_of(&app, &id).await;
    for email in ["bob@example.org", "nobody@example.org"] {
        let r = post(
            &app,
            &cookie,
            &format!("{base}/revoke"),
            &[("email", email)],
        )
        .await;
        assert_eq!(r.status(), 422, "{email}");
    }
    assert_eq!(state_of(&app, &id).await, before);

    // The email links: 303 to the links page, which shows them once; fetched once in
    // the audit trail however often the page is reloaded.
    let r = post(
        &app,
        &cookie,
        &format!("{base}/links"),
        &[("passphrase", PASSPHRASE), ("format", "mailto")],
    )
    .await;
    let location = see_other(&r);
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("mailto:ann@example.org"), "{first}");
    assert!(!second.contains("mailto:"), "{second}");
    // The CSV is a download, the POST's own answer (the browser stays on the form).
    let r = post(
        &app,
        &cookie,
        &format!("{base}/links"),
        &[("passphrase", PASSPHRASE), ("format", "csv")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );

    // The message: save and back to the default answer 303; a refusal keeps the text.
    let r = post(
        &app,
        &cookie,
        &format!("{base}/message"),
        &[
            ("subject", "Your new mailbox"),
            ("body", "Hello {name}, use {link} before {expires}."),
            ("passphrase", PASSPHRASE),
            ("action", "save"),
        ],
    )
    .await;
    let location = see_other(&r);
    assert!(
        location.starts_with(&format!("{base}/message?flash=")),
        "{location}"
    );
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("Saved"), "{first}");
    assert!(!second.contains("Saved:"), "{second}");
    let before = state_of(&app, &id).await;
    for (passphrase, status) in [("wrong", 401), (PASSPHRASE, 422)] {
        let r = post(
            &app,
            &cookie,
            &format!("{base}/message"),
            &[
                ("subject", "Typed subject"),
                ("body", "A body {without_a_link"),
                ("passphrase", passphrase),
                ("action", "save"),
            ],
        )
        .await;
        assert_eq!(r.status(), status);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Typed subject") && page.contains("{without_a_link"),
            "{page}"
        );
        assert!(!page.contains(PASSPHRASE));
    }
    assert_eq!(state_of(&app, &id).await, before);

    // The old mail server: the test (none set) and "stop checking" answer 303; the
    // wrong passphrase is refused with what was asked kept.
    let r = post(&app, &cookie, &format!("{base}/imap/test"), &[]).await;
    let location = see_other(&r);
    let (first, _) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("does not check passwords"), "{first}");
    let r = post(
        &app,
        &cookie,
        &format!("{base}/imap"),
        &[
            ("imap_url", "imaps://mail.example.org"),
            ("passphrase", "wrong"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("imaps://mail.example.org"));
    assert_eq!(state_of(&app, &id).await, before);
    let r = post(
        &app,
        &cookie,
        &format!("{base}/imap"),
        &[("off", "1"), ("passphrase", PASSPHRASE)],
    )
    .await;
    let location = see_other(&r);
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("Saved."), "{first}");
    assert!(!second.contains("Saved."), "{second}");

    // Sending without a relay: 422, nothing queued.
    let before = state_of(&app, &id).await;
    let r = post(
        &app,
        &cookie,
        &format!("{base}/send"),
        &[("who", "unsent"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Nothing was sent"));
    assert_eq!(state_of(&app, &id).await, before);

    // Purge: 303 to the batches, which say so once.
    let r = post(
        &app,
        &cookie,
        &format!("{base}/purge"),
        &[("confirm", "yes"), ("passphrase", PASSPHRASE)],
    )
    .await;
    let location = see_other(&r);
    assert!(location.starts_with("/admin/batches?flash="), "{location}");
    let (first, second) = reload_changes_nothing(&app, &cookie, &id, &location).await;
    assert!(first.contains("nothing readable remains"), "{first}");
    assert!(!second.contains("nothing readable remains"), "{second}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_actions_answer_303_or_refuse_with_the_typed_values() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("Settings 2026", ROSTER).await;
    let before = state_of(&app, &b.id).await;

    // The relay: a wrong passphrase (401) and an unusable relay (422) keep what was
    // typed, never the password, and save nothing.
    let relay = [
        ("host", "smtp.typed.example"),
        ("port", "2525"),
        ("security", "starttls"),
        ("user", "typed-login"),
        ("password", "smtp-secret-typed"),
        ("from", "IT <it@example.org>"),
        ("action", "save"),
    ];
    let mut wrong = relay.to_vec();
    wrong.push(("passphrase", "wrong"));
    let r = post(&app, &cookie, "/admin/smtp", &wrong).await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("smtp.typed.example") && page.contains("typed-login"),
        "{page}"
    );
    assert!(
        !page.contains("smtp-secret-typed") && !page.contains("wrong"),
        "{page}"
    );
    // A test message with no relay: 422, the address kept.
    let r = post(
        &app,
        &cookie,
        "/admin/smtp/test",
        &[("to", "typed@example.org"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("value=\"typed@example.org\"")
    );
    assert_eq!(state_of(&app, &b.id).await, before);

    // A passphrase change: 303 to a plain page; reloading it changes nothing.
    let new = "another long passphrase, quite unguessable 2026";
    let r = post(
        &app,
        &cookie,
        "/admin/passphrase",
        &[
            ("passphrase", PASSPHRASE),
            ("new_passphrase", new),
            ("new_passphrase_confirm", new),
        ],
    )
    .await;
    let location = see_other(&r);
    let key = app
        .store
        .admin_key()
        .await
        .unwrap()
        .map(|k| format!("{k:?}"));
    let (first, second) = reload_changes_nothing(&app, &cookie, &b.id, &location).await;
    assert_eq!(first, second);
    assert_eq!(
        app.store
            .admin_key()
            .await
            .unwrap()
            .map(|k| format!("{k:?}")),
        key
    );

    // Logout: 303 to the login page.
    let r = post(&app, &cookie, "/admin/logout", &[]).await;
    assert_eq!(see_other(&r), "/admin/login");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_answers_303_and_says_once_that_the_passphrase_is_set() {
    let app = TestApp::spawn_without_admin().await;
    let url = app.setup_url().await;
    let passphrase = "correct horse battery staple, reloaded";
    let r = app
        .client
        .post(&url)
        .form(&[
            ("passphrase", passphrase),
            ("passphrase_confirm", passphrase),
        ])
        .send()
        .await
        .unwrap();
    let location = see_other(&r);
    assert!(location.starts_with("/admin/batches?flash="), "{location}");
    let cookie = crate::helpers::cookie_of(&r);
    let first = get(&app, &cookie, &location).await;
    assert!(first.contains("Passphrase set"), "{first}");
    let second = get(&app, &cookie, &location).await;
    assert!(!second.contains("Passphrase set"), "{second}");
    // Reloading the setup POST's answer is a GET of the list: the link stays used.
    assert_eq!(app.get(&url).await.status(), 410);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn console_pages_may_run_their_own_script_public_pages_none() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = app.create_batch("CSP 2026", ROSTER).await;
    let r = app
        .client
        .get(format!("{}/admin/batches/{}", app.address, b.id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    // Nothing is being sent: no script on the page.
    assert!(!r.text().await.unwrap().contains("<script"));
    // Public pages never talk back to the server from a script; the collection form may
    // run its own show/hide toggle only (collection.rs checks its exact policy).
    let r = app.get(&link(&links[0])).await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("connect-src"), "{csp}");
    assert!(!r.text().await.unwrap().contains("progress.js"));
    let r = app.get(&format!("{}/healthz", app.address)).await;
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("script-src"), "healthz: {csp}");
    let js = app
        .get(&format!("{}/assets/progress.js", app.address))
        .await;
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = js.text().await.unwrap();
    assert!(!js.contains("innerHTML") && js.contains("MAX_POLLS"));

    // The progress the script polls: JSON, for a session only.
    let progress = format!("{}/admin/batches/{}/progress", app.address, b.id);
    let r = app
        .client
        .get(&progress)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(p["sending"], false);
    assert_eq!(p["total"], 0);
    assert_eq!(
        app.get(&progress).await.status(),
        303,
        "no session: to the login"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_batch_page_has_one_passphrase_field_for_sending() {
    // A relay, so that the send section shows (nothing listens there).
    let port = crate::helpers::free_port();
    let app = TestApp::spawn_with(move |c| {
        let relay = passdrop::mail::SmtpSettings::from_fields(passdrop::mail::RelayFields {
            host: "127.0.0.1",
            port: Some(port),
            security: "none",
            credentials: None,
            from: "it@example.org",
            reply_to: None,
            ca_pem: None,
        });
        c.smtp = Some(relay.unwrap());
    })
    .await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("One field 2026", ROSTER).await;
    let url = format!("{}/admin/batches/{}/reissue", app.address, b.id);
    let r = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .form(&[("email", "ann@example.org"), ("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    let (status, page) = follow(&app.client, &url, &cookie, r).await;
    assert_eq!(status, 303);
    assert_eq!(page.matches("id=\"send-passphrase\"").count(), 1, "{page}");
    assert!(!page.contains("one-passphrase"), "{page}");
    assert!(page.contains("id=\"send-form\""), "{page}");
    assert!(
        page.contains("form=\"send-form\""),
        "the new link's email button: {page}"
    );

    // A refused send keeps the address typed (never the passphrase), and sends nothing.
    let before = state_of(&app, &b.id).await;
    for passphrase in ["wrong", PASSPHRASE] {
        let r = post(
            &app,
            &cookie,
            &format!("/admin/batches/{}/send", b.id),
            &[
                ("who", "one"),
                ("email", "bob@example.org"),
                ("passphrase", passphrase),
            ],
        )
        .await;
        assert_eq!(r.status(), 422, "{passphrase}");
        let page = r.text().await.unwrap();
        assert!(page.contains("Nothing was sent"), "{page}");
        assert!(page.contains("value=\"bob@example.org\""), "{page}");
        assert!(!page.contains(PASSPHRASE));
    }
    assert_eq!(state_of(&app, &b.id).await, before);
    app.stop().await;
}
