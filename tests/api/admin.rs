//! The admin console over real HTTP: setup, login, sessions, CSRF, and the journey.

use passdrop::config;

use crate::helpers::{PASSPHRASE, TestApp, canaries_found, cookie_of, link, parse_csv};

const ROSTER: &str = "EmailAddress,DisplayName\nann@example.com,Ann Lee\nbob@example.com,Bob Ray\n";

#[tokio::test]
async fn the_setup_link_works_once_and_logs_the_admin_in() {
    let app = TestApp::spawn_without_admin().await;
    let url = app.setup_url().await;
    assert_eq!(app.get(&url).await.status(), 200);

    let post = |pass: &'static str, confirm: &'static str| {
        app.client
            .post(&url)
            .form(&[("passphrase", pass), ("passphrase_confirm", confirm)])
            .send()
    };
    let r = post("short", "short").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least 12"));
    assert_eq!(
        post("long enough passphrase", "different passphrase")
            .await
            .unwrap()
            .status(),
        422
    );
    assert!(!app.store.admin_exists().await.unwrap());

    let r = post("long enough passphrase", "long enough passphrase")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/batches?flash="), "{location}");
    let cookie = cookie_of(&r);
    assert!(app.store.admin_exists().await.unwrap());
    let page = app
        .client
        .get(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // Used up: the token itself is gone, and the link answers 410.
    let token = passdrop::crypto::LinkToken::parse(url.rsplit('/').next().unwrap()).unwrap();
    assert!(
        !app.store
            .setup_token_valid(&token.hash(), config::now())
            .await
            .unwrap()
    );
    assert_eq!(app.get(&url).await.status(), 410);
    assert_eq!(
        post("another long passphrase", "another long passphrase")
            .await
            .unwrap()
            .status(),
        410
    );
    app.stop().await;
}

#[tokio::test]
async fn an_expired_or_unknown_setup_link_is_refused() {
    let app = TestApp::spawn_without_admin().await;
    let url = app.setup_url().await;
    let token = passdrop::crypto::LinkToken::parse(url.rsplit('/').next().unwrap()).unwrap();
    app.store
        .replace_setup_token(&token.hash(), config::now() - 1)
        .await
        .unwrap();
    assert_eq!(app.get(&url).await.status(), 410);
    let unknown = format!("{}/admin/setup/{}", app.address, "A".repeat(43));
    assert_eq!(app.get(&unknown).await.status(), 410);
    assert_eq!(
        app.get(&format!("{}/admin/setup/short", app.address))
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn login_sets_a_strict_cookie_and_wrong_passphrases_lock_out() {
    let app = TestApp::spawn().await;
    let login = |pass: &'static str| {
        app.client
            .post(format!("{}/admin/login", app.address))
            .form(&[("passphrase", pass)])
            .send()
    };
    let ok = login(PASSPHRASE).await.unwrap();
    assert_eq!(ok.status(), 303);
    // Logging in again with the first session ends it (no session fixation).
    let again = app
        .client
        .post(format!("{}/admin/login", app.address))
        .header("cookie", cookie_of(&ok))
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_ne!(cookie_of(&again), cookie_of(&ok));
    let old = app
        .client
        .get(format!("{}/admin/batches", app.address))
        .header("cookie", cookie_of(&ok))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 303);
    let set_cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("passdrop_session="), "{set_cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} missing: {set_cookie}");
    }
    // The cookie is stored only as a hash.
    let token = cookie_of(&ok).split('=').nth(1).unwrap().to_owned();
    assert!(canaries_found(app.data_dir.path(), &[&token]).is_empty());

    for _ in 0..5 {
        assert_eq!(login("wrong passphrase!").await.unwrap().status(), 401);
    }
    let blocked = login(PASSPHRASE).await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn a_login_flood_holds_up_new_browsers_but_not_the_admins() {
    // Behind a proxy, so that each request can come from its own address and the
    // per-address throttle never starts: only the server-wide budget stops them.
    let app = TestApp::spawn_with(|c| c.trust_proxy = true).await;
    let login_url = format!("{}/admin/login", app.address);
    let login = |from: String, cookie: String, pass: &'static str| {
        app.client
            .post(&login_url)
            .header("x-forwarded-for", from)
            .header("cookie", cookie)
            .form(&[("passphrase", pass)])
            .send()
    };
    // The admin logged in from this browser before.
    let ok = login("192.0.2.1".into(), String::new(), PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let known: Vec<String> = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let browser = known
        .iter()
        .find(|c| c.starts_with("passdrop_browser="))
        .expect("no known-browser cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"] {
        assert!(browser.contains(attr), "{attr} missing: {browser}");
    }
    let browser = browser.split(';').next().unwrap().to_owned();
    // Stored nowhere on disk.
    let token = browser.split('=').nth(1).unwrap();
    assert!(canaries_found(app.data_dir.path(), &[token]).is_empty());

    // A flood of wrong passphrases, each from its own address, spends the budget.
    let mut flood = Vec::new();
    for i in 0..40 {
        flood.push(tokio::spawn(login(
            format!("198.51.100.{i}"),
            String::new(),
            "wrong passphrase!",
        )));
    }
    let mut statuses = Vec::new();
    for task in flood {
        statuses.push(task.await.unwrap().unwrap().status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    // The budget refills one check every 2 s: spend what came back just before each
    // check below, so a slow machine cannot make them flaky.
    let mut next = 100;
    let mut spend = async || {
        for _ in 0..40 {
            next += 1;
            let r = login(format!("198.51.100.{next}"), String::new(), "wrong again!")
                .await
                .unwrap();
            if r.status() == 429 {
                return;
            }
        }
        panic!("the budget never ran out");
    };
    spend().await;
    // A new browser is told to wait, even with the right passphrase...
    let held_up = login("203.0.113.1".into(), String::new(), PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(held_up.status(), 429);
    assert!(held_up.headers().contains_key("retry-after"));
    assert!(
        held_up
            .text()
            .await
            .unwrap()
            .contains("A browser you logged in with before is not held up")
    );
    // ...and the admin's known browser gets in.
    let admin = login("203.0.113.2".into(), browser.clone(), PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(admin.status(), 303);
    let session = cookie_of(&admin);
    let renewed = admin
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("passdrop_browser="))
        .unwrap();
    // The old known-browser token was replaced by a new one.
    assert_ne!(renewed, browser);
    spend().await;
    let stale = login("203.0.113.3".into(), browser, PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(stale.status(), 429);
    // Logging out forgets the browser.
    let out = app
        .client
        .post(format!("{}/admin/logout", app.address))
        .header("cookie", format!("{session}; {renewed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("passdrop_browser=;"))
    );
    spend().await;
    let forgotten = login("203.0.113.4".into(), renewed, PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(forgotten.status(), 429);
    app.stop().await;
}

#[tokio::test]
async fn on_https_the_cookie_is_host_prefixed_and_secure() {
    let app = TestApp::spawn_with(|c| {
        c.public_url = config::PublicUrl::parse("https://pw.example.org").unwrap();
    })
    .await;
    let r = app
        .client
        .post(format!("{}/admin/login", app.address))
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-passdrop_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("; Secure"));
    app.stop().await;
}

#[tokio::test]
async fn sessions_expire_and_logout_ends_them() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let batches = format!("{}/admin/batches", app.address);
    let get = |c: String| app.client.get(&batches).header("cookie", c).send();
    assert_eq!(get(cookie.clone()).await.unwrap().status(), 200);

    // Idle for 31 minutes: the server refuses the session.
    backdate_sessions(&app, "last_seen_at", 31 * 60).await;
    assert_eq!(get(cookie).await.unwrap().status(), 303);

    // Active all along but logged in 12 hours ago: refused too.
    let cookie = app.login().await;
    assert_eq!(get(cookie.clone()).await.unwrap().status(), 200);
    backdate_sessions(&app, "created_at", 12 * 3600 + 1).await;
    assert_eq!(get(cookie).await.unwrap().status(), 303);

    // A made-up cookie of the right shape gets nowhere.
    let forged = format!("passdrop_session={}", "A".repeat(43));
    assert_eq!(get(forged).await.unwrap().status(), 303);

    let cookie = app.login().await;
    let r = app
        .client
        .post(format!("{}/admin/logout", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The browser is told to forget everything of this origin.
    assert_eq!(
        r.headers()["clear-site-data"],
        "\"cache\", \"cookies\", \"storage\""
    );
    assert_eq!(get(cookie).await.unwrap().status(), 303);
    app.stop().await;
}

/// Moves every session's `column` back by `seconds`, as if that much time had passed.
async fn backdate_sessions(app: &TestApp, column: &str, seconds: i64) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store.database_path())
        .connect()
        .await
        .unwrap();
    let sql = format!("UPDATE admin_sessions SET {column} = {column} - {seconds}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_admin_route_refuses_an_anonymous_request() {
    let app = TestApp::spawn().await;
    let (b, _) = app.create_batch("b", ROSTER).await;
    let id = &b.id;
    let gets = [
        "/admin".to_owned(),
        "/admin/batches".to_owned(),
        "/admin/batches/new".to_owned(),
        format!("/admin/batches/{id}"),
        format!("/admin/batches/{id}/links"),
        format!("/admin/batches/{id}/export"),
        format!("/admin/batches/{id}/reissue?email=ann@example.com"),
        format!("/admin/batches/{id}/progress"),
        format!("/admin/batches/{id}/message"),
        "/admin/smtp".to_owned(),
        "/admin/passphrase".to_owned(),
        "/admin/passphrase/changed".to_owned(),
    ];
    for path in &gets {
        let r = app.get(&format!("{}{path}", app.address)).await;
        assert_eq!(r.status(), 303, "GET {path}");
        assert_eq!(r.headers()["location"], "/admin/login", "GET {path}");
    }
    let posts = [
        "/admin/logout".to_owned(),
        "/admin/batches".to_owned(),
        format!("/admin/batches/{id}/reissue"),
        format!("/admin/batches/{id}/revoke"),
        format!("/admin/batches/{id}/links"),
        format!("/admin/batches/{id}/export"),
        format!("/admin/batches/{id}/purge"),
        format!("/admin/batches/{id}/imap"),
        format!("/admin/batches/{id}/imap/test"),
        format!("/admin/batches/{id}/send"),
        format!("/admin/batches/{id}/message"),
        "/admin/smtp".to_owned(),
        "/admin/smtp/test".to_owned(),
        "/admin/passphrase".to_owned(),
    ];
    for path in &posts {
        let r = app
            .client
            .post(format!("{}{path}", app.address))
            .form(&[
                ("email", "ann@example.com"),
                ("passphrase", PASSPHRASE),
                ("confirm", "yes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "POST {path}");
        assert_eq!(r.headers()["location"], "/admin/login", "POST {path}");
    }
    // Nothing changed: the batch is still there with its links live.
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses
            .iter()
            .all(|s| s.link_state == passdrop::storage::LinkState::Live)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_cross_site_post_to_the_console_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("b", ROSTER).await;
    let r = app
        .client
        .post(format!("{}/admin/batches/{}/purge", app.address, b.id))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app.store.find_batch(&b.id).await.unwrap().is_some());
    let r = app
        .client
        .post(format!("{}/admin/login", app.address))
        .header("origin", "https://evil.example")
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

fn new_batch_form(name: &str, roster: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .text("org", "Example Ltd")
        .text("expires_in", "7d")
        .text("next_steps", "We move on Friday.")
        .text("ask_mail_client", "on")
        .text("roster_text", "")
        .part(
            "roster_file",
            reqwest::multipart::Part::bytes(roster.as_bytes().to_vec()).file_name("roster.csv"),
        )
}

#[tokio::test]
async fn the_console_sets_a_batchs_language_and_refuses_one_passdrop_does_not_speak() {
    let app = TestApp::spawn_with(|c| c.language = passdrop::i18n::Language::Es).await;
    let cookie = app.login().await;
    let page = app
        .client
        .get(format!("{}/admin/batches/new", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The server's default is preset.
    assert!(
        page.contains("<option value=\"es\" selected>Español (es)</option>"),
        "{page}"
    );
    let post = |language: &'static str| {
        app.client
            .post(format!("{}/admin/batches", app.address))
            .header("cookie", &cookie)
            .multipart(
                new_batch_form("langs", "EmailAddress\nann@example.com\n")
                    .text("language", language),
            )
            .send()
    };
    let r = post("tlh").await.unwrap();
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("language: &quot;tlh&quot; is not a language passdrop speaks"),
        "{text}"
    );
    assert!(app.store.list_batches().await.unwrap().is_empty());
    assert_eq!(post("fr").await.unwrap().status(), 303);
    let list = app.store.list_batches().await.unwrap();
    assert_eq!(list[0].batch.language.as_deref(), Some("fr"));
    app.stop().await;
}

#[tokio::test]
async fn a_bad_roster_in_the_console_lists_every_line_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(new_batch_form(
            "bad",
            "EmailAddress\nno-at\nann@example.com\nann@example.com\n",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("line 2:") && body.contains("line 4:"),
        "{body}"
    );
    assert!(body.contains("Nothing was created"));
    assert!(app.store.list_batches().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_whole_journey_works_in_the_console() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let admin_get = |path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("cookie", &cookie)
            .send()
    };
    let admin_post = |path: String, form: Vec<(&'static str, String)>| {
        app.client
            .post(format!("{}{path}", app.address))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };

    // Create a batch from an uploaded roster.
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(new_batch_form("Console move", ROSTER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let page = admin_get(location.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Batch created with 2 links"), "{page}");
    let batch_path = location.split('?').next().unwrap().to_owned();
    assert!(page.contains("0 of 2"), "{page}");
    assert!(page.contains("ann@example.com") && page.contains("pending"));

    // The links again, with the passphrase: wrong one refused, right one a CSV.
    let wrong = admin_post(
        format!("{batch_path}/links"),
        vec![
            ("passphrase", "nope nope nope".into()),
            ("format", "csv".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let csv = admin_post(
        format!("{batch_path}/links"),
        vec![("passphrase", PASSPHRASE.into()), ("format", "csv".into())],
    )
    .await
    .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let rows = parse_csv(&csv.bytes().await.unwrap());
    assert_eq!(rows[0], ["EmailAddress", "DisplayName", "Link"]);
    let ann_link = rows[1][2].clone();
    let r = admin_post(
        format!("{batch_path}/links"),
        vec![
            ("passphrase", PASSPHRASE.into()),
            ("format", "mailto".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let mailto = admin_get(location).await.unwrap().text().await.unwrap();
    assert!(
        mailto.contains("mailto:ann@example.com?subject="),
        "{mailto}"
    );

    // Ann opens her link (the console shows "opened"), then submits.
    assert_eq!(app.get(&ann_link).await.status(), 200);
    let page = admin_get(batch_path.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("opened"));
    let r = app
        .client
        .post(&ann_link)
        .form(&[
            ("password", "Ann's pw, \"quoted\""),
            ("password_confirm", "Ann's pw, \"quoted\""),
            ("mail_client", "one-computer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = admin_get(batch_path.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("1 of 2"));
    assert!(page.contains("PST"), "the POP note is shown");
    let waiting = admin_get(format!("{batch_path}?show=waiting"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(waiting.contains("bob@example.com") && !waiting.contains(">ann@example.com"));

    // Reissue Bob's link: the new one is shown once. Then revoke it.
    let r = admin_post(
        format!("{batch_path}/reissue"),
        vec![
            ("email", "bob@example.com".into()),
            ("passphrase", PASSPHRASE.into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let page = admin_get(location).await.unwrap().text().await.unwrap();
    assert!(page.contains("New link for"));
    let bob_link = page
        .split("<code class=\"link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(app.get(&bob_link).await.status(), 200);
    let r = admin_post(
        format!("{batch_path}/revoke"),
        vec![("email", "bob@example.com".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let page = admin_get(location).await.unwrap().text().await.unwrap();
    assert!(page.contains("is revoked"));
    assert_eq!(app.get(&bob_link).await.status(), 410);
    let r = admin_post(
        format!("{batch_path}/revoke"),
        vec![("email", "nobody@example.com".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);

    // Export with the passphrase: the download is the Microsoft file.
    let export = admin_post(
        format!("{batch_path}/export"),
        vec![("passphrase", PASSPHRASE.into())],
    )
    .await
    .unwrap();
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["cache-control"], "no-store");
    let rows = parse_csv(&export.bytes().await.unwrap());
    assert_eq!(rows[0], ["EmailAddress", "UserName", "Password"]);
    assert_eq!(
        rows[1],
        ["ann@example.com", "ann@example.com", "Ann's pw, \"quoted\""]
    );

    // Purge needs the confirmation box, then leaves a tombstone and an audit trail.
    let r = admin_post(format!("{batch_path}/purge"), vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = admin_post(
        format!("{batch_path}/purge"),
        vec![("confirm", "yes".into()), ("passphrase", PASSPHRASE.into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let list = admin_get("/admin/batches".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Purged") && list.contains("Console move"));
    assert_eq!(admin_get(batch_path.clone()).await.unwrap().status(), 410);
    let id = batch_path.rsplit('/').next().unwrap();
    let audit: Vec<String> = app
        .store
        .audit_trail(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect();
    for kind in [
        "created",
        "links_viewed",
        "submitted",
        "reissued",
        "revoked",
        "exported",
        "purged",
    ] {
        assert!(
            audit.iter().any(|k| k == kind),
            "{kind} missing from {audit:?}"
        );
    }
    let dir = app.stop().await;
    let tokens: Vec<String> = [&ann_link, &bob_link]
        .iter()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect();
    let found = canaries_found(
        dir.path(),
        &[
            "ann@example.com",
            "Ann's pw",
            "Ann Lee",
            "bob@example.com",
            "Bob Ray",
            &tokens[0],
            &tokens[1],
        ],
    );
    assert!(found.is_empty(), "{found:?}");
    let _ = link;
}

#[tokio::test]
async fn two_setups_racing_make_exactly_one_admin() {
    let app = TestApp::spawn_without_admin().await;
    let url = app.setup_url().await;
    let post = |pass: &'static str| {
        app.client
            .post(&url)
            .form(&[("passphrase", pass), ("passphrase_confirm", pass)])
            .send()
    };
    let (a, b) = tokio::join!(
        post("first long passphrase"),
        post("second long passphrase")
    );
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 410]);
    app.stop().await;
}

#[tokio::test]
async fn a_fifty_thousand_row_roster_can_be_uploaded() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let mut roster = String::from("EmailAddress,DisplayName\n");
    for i in 0..50_000 {
        roster.push_str(&format!(
            "user{i}@example.com,User number {i} of the big office\n"
        ));
    }
    assert!(
        roster.len() > 2 * 1024 * 1024,
        "bigger than axum's default body limit"
    );
    let r = app
        .client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .multipart(new_batch_form("big", &roster))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let list = app.store.list_batches().await.unwrap();
    assert_eq!(list[0].recipients, 50_000);
    app.stop().await;
}
