//! The HTTP API (`/api/v1/`): bearer tokens and their refusals, every route, problems
//! (RFC 9457), the passphrase in the JSON body only, the trail of calls, and the
//! `api-token` commands.

use std::time::Duration;

use passdrop::batch;
use passdrop::config;
use passdrop::storage::ApiScope;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::{PASSPHRASE, TestApp, canaries_found, console_login, passdrop, run, stderr};

const ROSTER: &str = "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n";

/// Makes a token on the app's store; `age` moves its creation into the past.
async fn token(app: &TestApp, name: &str, scope: ApiScope, age: Duration) -> String {
    let admin = app.admin().await;
    let now = config::now() - i64::try_from(age.as_secs()).unwrap();
    let made = batch::create_api_token(
        &app.store,
        &admin,
        name,
        scope,
        Duration::from_secs(30 * 86_400),
        now,
    )
    .await
    .unwrap();
    made.text.expose_secret().to_owned()
}

struct Answer {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    body: Value,
    text: String,
}

impl Answer {
    fn problem_type(&self) -> &str {
        assert_eq!(
            self.content_type, "application/problem+json",
            "not a problem: {} {}",
            self.status, self.text
        );
        self.body["type"].as_str().unwrap()
    }

    fn is(&self, status: u16, slug: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.problem_type(),
            format!("https://passdrop.invalid/problems/{slug}"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(!self.body["detail"].as_str().unwrap().is_empty());
    }
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let url = format!("{}{path}", app.address);
    let mut request = match method {
        "GET" => app.client.get(url),
        _ => app.client.post(url),
    };
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap());
    }
    answer(request.send().await.unwrap()).await
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let www_authenticate = header("www-authenticate");
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        www_authenticate,
        body,
        text,
    }
}

#[tokio::test]
async fn tokens_that_are_missing_malformed_unknown_revoked_or_expired_are_refused() {
    let app = TestApp::spawn().await;
    let good = token(&app, "good", ApiScope::Read, Duration::ZERO).await;
    let old = token(
        &app,
        "old",
        ApiScope::Read,
        Duration::from_secs(31 * 86_400),
    )
    .await;
    let revoked = token(&app, "gone", ApiScope::Write, Duration::ZERO).await;
    batch::revoke_api_token(&app.store, "gone").await.unwrap();

    let a = call(&app, "GET", "/api/v1/batches", None, None).await;
    a.is(401, "missing-token");
    assert_eq!(
        a.www_authenticate.as_deref(),
        Some("Bearer realm=\"passdrop\"")
    );
    for (bad, slug) in [
        ("pdk_short", "invalid-token"),
        (&good[..good.len() - 1], "invalid-token"),
        (revoked.as_str(), "invalid-token"),
        (old.as_str(), "expired-token"),
    ] {
        let a = call(&app, "GET", "/api/v1/batches", Some(bad), None).await;
        a.is(401, slug);
        assert!(a.www_authenticate.unwrap().contains("invalid_token"));
    }
    // Not the Bearer scheme.
    let r = app
        .client
        .get(format!("{}/api/v1/batches", app.address))
        .header("Authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    answer(r).await.is(401, "invalid-token");

    let a = call(&app, "GET", "/api/v1/batches", Some(&good), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    // Only authenticated calls are in the trail, and no token text is.
    let calls = app.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].token_name, "good");
    assert_eq!(calls[0].route, "/api/v1/batches");
    let tokens = app.store.api_tokens().await.unwrap();
    assert!(
        tokens
            .iter()
            .any(|t| t.name == "good" && t.last_used_at.is_some())
    );
    let found = canaries_found(app.data_dir.path(), &[&good, &old, &revoked]);
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn the_console_session_cookie_is_not_accepted_on_the_api() {
    let app = TestApp::spawn().await;
    let cookie = console_login(&app.client, &app.address, PASSPHRASE).await;
    let r = app
        .client
        .get(format!("{}/api/v1/batches", app.address))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    answer(r).await.is(401, "missing-token");
}

#[tokio::test]
async fn a_read_token_sees_progress_and_states_but_no_secret_or_link() {
    let app = TestApp::spawn().await;
    let read = token(&app, "reader", ApiScope::Read, Duration::ZERO).await;
    let (b, links) = app.create_batch("Spring move", ROSTER).await;
    // Ann opens her link.
    let ann = links[0].link.expose_secret().to_owned();
    assert_eq!(app.client.get(&ann).send().await.unwrap().status(), 200);

    let a = call(&app, "GET", "/api/v1/batches", Some(&read), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.content_type, "application/json");
    let list = a.body["batches"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], b.id.as_str());
    assert_eq!(list[0]["users"], 2);
    assert_eq!(list[0]["submitted"], 0);

    let mut ann_state = Value::Null;
    for _ in 0..50 {
        let a = call(
            &app,
            "GET",
            &format!("/api/v1/batches/{}", b.id),
            Some(&read),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        ann_state = a.body["user_states"][0].clone();
        if ann_state["state"] == "opened" {
            assert!(!a.text.contains("/s/"), "a link in {}", a.text);
            for link in &links {
                let token = link
                    .link
                    .expose_secret()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned();
                assert!(!a.text.contains(&token));
            }
            assert_eq!(a.body["user_states"][1]["state"], "pending");
            assert_eq!(a.body["old_server_check"], false);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ann_state["email"], "ann@example.org");
    assert_eq!(ann_state["state"], "opened", "{ann_state}");

    call(&app, "GET", "/api/v1/batches/nope", Some(&read), None)
        .await
        .is(404, "no-such-batch");
    call(&app, "GET", "/api/v1/nothing-here", Some(&read), None)
        .await
        .is(404, "not-found");
}

#[tokio::test]
async fn a_read_token_cannot_write_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let read = token(&app, "reader", ApiScope::Read, Duration::ZERO).await;
    let (b, _) = app.create_batch("Spring move", ROSTER).await;
    let rows = json!({"name": "x", "rows": [{"email_address": "a@example.org"}]});
    call(&app, "POST", "/api/v1/batches", Some(&read), Some(rows))
        .await
        .is(403, "insufficient-scope");
    let base = format!("/api/v1/batches/{}", b.id);
    for path in [
        format!("{base}/users/ann@example.org/revoke"),
        format!("{base}/users/ann@example.org/reissue"),
        format!("{base}/send"),
        format!("{base}/purge"),
    ] {
        let body = json!({"passphrase": PASSPHRASE, "who": "unsent"});
        call(&app, "POST", &path, Some(&read), Some(body))
            .await
            .is(403, "insufficient-scope");
    }
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s.link_state == passdrop::storage::LinkState::Live)
    );
    // The refused calls are in the trail too, each with its status.
    let calls = app.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 5);
    assert!(
        calls
            .iter()
            .all(|c| c.status == 403 && c.token_name == "reader")
    );
    assert!(calls.iter().all(|c| !c.route.contains('@')), "{calls:?}");
}

#[tokio::test]
async fn a_write_token_creates_batches_from_json_rows_and_from_csv() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let body = json!({
        "name": "From rows",
        "expires_in": "3d",
        "rows": [
            {"email_address": "ann@example.org", "user_name": "ann", "display_name": "Ann"},
            {"email_address": "bob@example.org"},
        ],
    });
    let a = call(&app, "POST", "/api/v1/batches", Some(&write), Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["users"], 2);
    assert_eq!(a.body["signed"], false);
    assert!(!a.text.contains("/s/"), "{}", a.text);

    let r = app
        .client
        .post(format!("{}/api/v1/batches?name=From%20csv", app.address))
        .header("Authorization", format!("Bearer {write}"))
        .header("Content-Type", "text/csv")
        .body(ROSTER)
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["name"], "From csv");

    // With the passphrase the settings are signed at once.
    let body = json!({"name": "Signed", "roster_csv": ROSTER, "passphrase": PASSPHRASE});
    let a = call(&app, "POST", "/api/v1/batches", Some(&write), Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["signed"], true);

    let body = json!({"name": "Signed", "roster_csv": ROSTER});
    call(&app, "POST", "/api/v1/batches", Some(&write), Some(body))
        .await
        .is(409, "duplicate-name");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 3);
    let calls = app.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 4);
    assert!(
        calls
            .iter()
            .all(|c| c.token_name == "halo" && c.method == "POST")
    );
}

#[tokio::test]
async fn a_bad_roster_or_body_creates_nothing_and_says_where() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let body = json!({
        "name": "Bad",
        "expires_in": "200d",
        "rows": [
            {"email_address": "ann@example.org"},
            {"email_address": "no-at-sign"},
            {"email_address": "ann@example.org"},
        ],
    });
    let a = call(&app, "POST", "/api/v1/batches", Some(&write), Some(body)).await;
    a.is(422, "invalid-request");
    let errors: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("expires_in:")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("line 3")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("line 4")), "{errors:?}");

    // Not JSON, a wrong type, the wrong content type, an unknown field, too large.
    let r = app
        .client
        .post(format!("{}/api/v1/batches", app.address))
        .header("Authorization", format!("Bearer {write}"))
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    answer(r).await.is(400, "invalid-body");
    call(
        &app,
        "POST",
        "/api/v1/batches",
        Some(&write),
        Some(json!({"name": 5})),
    )
    .await
    .is(400, "invalid-body");
    call(
        &app,
        "POST",
        "/api/v1/batches",
        Some(&write),
        Some(json!({"name": "x", "rows": [], "colour": 1})),
    )
    .await
    .is(400, "invalid-body");
    let r = app
        .client
        .post(format!("{}/api/v1/batches", app.address))
        .header("Authorization", format!("Bearer {write}"))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    answer(r).await.is(400, "invalid-body");
    let huge = json!({"passphrase": "x".repeat(20_000)});
    call(
        &app,
        "POST",
        "/api/v1/batches/any/purge",
        Some(&write),
        Some(huge),
    )
    .await
    .is(413, "body-too-large");
    assert!(app.store.list_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_old_server_check_takes_the_passphrase_in_the_json_body_only() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let body = json!({
        "name": "Checked",
        "roster_csv": ROSTER,
        "old_server": {"url": "imaps://127.0.0.1:1"},
    });
    // A passphrase in the query string or a header is never read.
    let r = app
        .client
        .post(format!(
            "{}/api/v1/batches?passphrase={}",
            app.address,
            PASSPHRASE.replace(' ', "%20")
        ))
        .header("Authorization", format!("Bearer {write}"))
        .header("X-Passphrase", PASSPHRASE)
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    answer(r).await.is(422, "passphrase-required");

    let mut wrong = body.clone();
    wrong["passphrase"] = json!("not the passphrase");
    call(&app, "POST", "/api/v1/batches", Some(&write), Some(wrong))
        .await
        .is(403, "wrong-passphrase");

    // The right passphrase: the server is tested, cannot be used, nothing is created.
    let mut right = body.clone();
    right["passphrase"] = json!(PASSPHRASE);
    call(&app, "POST", "/api/v1/batches", Some(&write), Some(right))
        .await
        .is(422, "old-server-unusable");
    assert!(app.store.list_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn revoke_reissue_send_and_purge_work_and_refuse_as_documented() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let (b, links) = app.create_batch("Spring move", ROSTER).await;
    let base = format!("/api/v1/batches/{}", b.id);

    // Revoke: no passphrase needed; twice is a conflict; an unknown user is 404.
    let a = call(
        &app,
        "POST",
        &format!("{base}/users/bob@example.org/revoke"),
        Some(&write),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["state"], "revoked");
    assert_eq!(
        app.client
            .get(links[1].link.expose_secret())
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    call(
        &app,
        "POST",
        &format!("{base}/users/bob@example.org/revoke"),
        Some(&write),
        None,
    )
    .await
    .is(409, "nothing-to-revoke");
    call(
        &app,
        "POST",
        &format!("{base}/users/zed@example.org/revoke"),
        Some(&write),
        None,
    )
    .await
    .is(404, "no-such-user");

    // Reissue: the passphrase, in the body; the new link is not shown.
    let reissue = format!("{base}/users/ann@example.org/reissue");
    call(&app, "POST", &reissue, Some(&write), Some(json!({})))
        .await
        .is(422, "passphrase-required");
    call(
        &app,
        "POST",
        &reissue,
        Some(&write),
        Some(json!({"passphrase": "wrong one"})),
    )
    .await
    .is(403, "wrong-passphrase");
    assert_eq!(
        app.client
            .get(links[0].link.expose_secret())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let a = call(
        &app,
        "POST",
        &reissue,
        Some(&write),
        Some(json!({"passphrase": PASSPHRASE})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["state"], "pending");
    assert!(!a.text.contains("/s/"), "{}", a.text);
    assert_eq!(
        app.client
            .get(links[0].link.expose_secret())
            .send()
            .await
            .unwrap()
            .status(),
        410
    );

    // Send: the passphrase; no relay is set up, so nothing is sent.
    let send = format!("{base}/send");
    call(
        &app,
        "POST",
        &send,
        Some(&write),
        Some(json!({"who": "unsent"})),
    )
    .await
    .is(422, "passphrase-required");
    call(
        &app,
        "POST",
        &send,
        Some(&write),
        Some(json!({"who": "everyone", "passphrase": PASSPHRASE})),
    )
    .await
    .is(422, "invalid-request");
    call(
        &app,
        "POST",
        &send,
        Some(&write),
        Some(json!({"who": "unsent", "passphrase": PASSPHRASE})),
    )
    .await
    .is(409, "cannot-send");

    // Purge: the passphrase; a wrong one changes nothing.
    let purge = format!("{base}/purge");
    call(
        &app,
        "POST",
        &purge,
        Some(&write),
        Some(json!({"passphrase": "wrong one"})),
    )
    .await
    .is(403, "wrong-passphrase");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);
    let a = call(
        &app,
        "POST",
        &purge,
        Some(&write),
        Some(json!({"passphrase": PASSPHRASE})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["id"], b.id.as_str());
    assert!(app.store.list_batches().await.unwrap().is_empty());
    call(&app, "GET", &base, Some(&write), None)
        .await
        .is(404, "no-such-batch");

    // The trail: every call with the token's name, the route's pattern (no address),
    // the batch and the status; no passphrase anywhere on disk.
    let calls = app.store.api_calls().await.unwrap();
    assert_eq!(calls.len(), 12, "{calls:?}");
    assert!(calls.iter().all(|c| c.token_name == "halo"));
    assert!(
        calls
            .iter()
            .all(|c| c.batch_id.as_deref() == Some(b.id.as_str()))
    );
    assert!(calls.iter().all(|c| !c.route.contains('@')));
    assert!(
        calls
            .iter()
            .any(|c| c.route == "/api/v1/batches/{id}/users/{email}/reissue" && c.status == 200)
    );
    assert!(
        calls
            .iter()
            .any(|c| c.route == "/api/v1/batches/{id}/purge" && c.status == 200)
    );
    let found = canaries_found(app.data_dir.path(), &[PASSPHRASE, "ann@example.org"]);
    assert!(found.is_empty(), "{found:?}");
}

/// A purge through the API never destroys a password no export read: it answers 409
/// `unexported-submissions` naming the users and giving the fingerprint of exactly that
/// list; sent back as `discard_unexported`, the purge goes ahead. A wrong fingerprint
/// is the same refusal, and nothing is purged.
#[tokio::test]
async fn an_api_purge_keeps_passwords_no_export_read_unless_discarded_by_fingerprint() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let (b, links) = app.create_batch("Spring move", ROSTER).await;
    let r = app
        .submit(links[0].link.expose_secret(), "Passw0rd!", "Passw0rd!")
        .await;
    assert_eq!(r.status(), 200);
    let purge = format!("/api/v1/batches/{}/purge", b.id);
    let purge_with = |body: Value| call(&app, "POST", &purge, Some(&write), Some(body));
    let a = purge_with(json!({"passphrase": PASSPHRASE})).await;
    a.is(409, "unexported-submissions");
    assert_eq!(a.body["errors"], json!([links[0].email]), "{}", a.text);
    let fingerprint = a.body["discard_unexported"].as_str().unwrap().to_owned();
    assert!(a.text.contains("Nothing was purged"), "{}", a.text);
    purge_with(json!({"passphrase": PASSPHRASE, "discard_unexported": "0123456789abcdef"}))
        .await
        .is(409, "unexported-submissions");
    // An unknown field is a bad body, not ignored.
    purge_with(json!({"passphrase": PASSPHRASE, "discard": fingerprint}))
        .await
        .is(400, "invalid-body");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);
    let a = purge_with(json!({"passphrase": PASSPHRASE, "discard_unexported": fingerprint})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(app.store.list_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_passphrases_on_the_api_are_throttled_like_the_console() {
    let app = TestApp::spawn().await;
    let write = token(&app, "halo", ApiScope::Write, Duration::ZERO).await;
    let (b, _) = app.create_batch("Spring move", ROSTER).await;
    let purge = format!("/api/v1/batches/{}/purge", b.id);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let a = call(
            &app,
            "POST",
            &purge,
            Some(&write),
            Some(json!({"passphrase": "wrong one"})),
        )
        .await;
        statuses.push(a.status);
        if a.status == 429 {
            a.is(429, "too-many-attempts");
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Blocked: even the right passphrase is not checked now.
    call(
        &app,
        "POST",
        &purge,
        Some(&write),
        Some(json!({"passphrase": PASSPHRASE})),
    )
    .await
    .is(429, "too-many-attempts");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_without_a_token() {
    let app = TestApp::spawn().await;
    let a = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = a.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/batches", "get"),
        ("/api/v1/batches", "post"),
        ("/api/v1/batches/{id}", "get"),
        ("/api/v1/batches/{id}/users/{email}/revoke", "post"),
        ("/api/v1/batches/{id}/users/{email}/reissue", "post"),
        ("/api/v1/batches/{id}/send", "post"),
        ("/api/v1/batches/{id}/purge", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{path} {method} missing");
    }
    assert!(a.body["components"]["securitySchemes"]["bearer"].is_object());
    // Not in the trail: no token was used.
    assert!(app.store.api_calls().await.unwrap().is_empty());
}

#[test]
fn api_tokens_are_made_with_the_passphrase_printed_once_listed_and_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass_file = tmp.path().join("passphrase.txt");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));

    let o = run(passdrop(&data)
        .args(["api-token", "create", "--name", "halo", "--scope", "write"])
        .env("PASSDROP_PASSPHRASE", "not the passphrase"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));

    let o = run(passdrop(&data)
        .args([
            "api-token",
            "create",
            "--name",
            "halo",
            "--scope",
            "write",
            "--expires-in",
            "30d",
        ])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let token = String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.starts_with("pdk_") && token.len() == 47, "{token}");
    assert!(stderr(&o).contains("shown this once"), "{}", stderr(&o));

    let o = run(passdrop(&data)
        .args(["api-token", "create", "--name", "halo"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = run(passdrop(&data).args(["api-token", "create", "--name", "x", "--expires-in", "2y"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let o = run(passdrop(&data).args(["api-token", "list"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = String::from_utf8(o.stdout).unwrap();
    assert!(
        listed.contains("halo") && listed.contains("write") && listed.contains("never"),
        "{listed}"
    );
    assert!(!listed.contains(&token[4..]), "{listed}");
    assert!(canaries_found(&data, &[&token]).is_empty());

    let o = run(passdrop(&data).args(["api-token", "revoke", "halo"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&data).args(["api-token", "revoke", "halo"]));
    assert_eq!(o.status.code(), Some(1));
    let o = run(passdrop(&data).args(["api-token", "list"]));
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("No API tokens")
    );
}

/// The real server, logging at debug: no token, passphrase (right or wrong) or
/// body of an API call reaches its log.
#[tokio::test]
async fn no_token_or_passphrase_reaches_the_log() {
    use crate::helpers::Server;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = run(passdrop(&data)
        .args(["admin", "init"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&data)
        .args([
            "api-token",
            "create",
            "--name",
            "logged",
            "--scope",
            "write",
        ])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let token = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let server = Server::start(&data, &[("PASSDROP_LOG", "debug")]);
    let client = reqwest::Client::new();
    let wrong = "CANARY-wrong-passphrase-5e1";
    let bad_token = format!("pdk_{}", "C".repeat(43));
    let post = |path: &str, token: &str, body: Value| {
        client
            .post(format!("{}{path}", server.address))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .send()
    };
    let r = post(
        "/api/v1/batches",
        &token,
        json!({"name": "Logged", "rows": [{"email_address": "ann@example.org"}], "passphrase": PASSPHRASE}),
    )
    .await
    .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let reissue = format!("/api/v1/batches/{id}/users/ann@example.org/reissue");
    let r = post(&reissue, &token, json!({"passphrase": wrong}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(&reissue, &token, json!({"passphrase": PASSPHRASE}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(&reissue, &bad_token, json!({"passphrase": PASSPHRASE}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let log = server.stop();
    assert!(log.contains("wrong admin passphrase"), "{log}");
    for canary in [
        token.as_str(),
        &token[4..],
        bad_token.as_str(),
        PASSPHRASE,
        wrong,
    ] {
        assert!(!log.contains(canary), "{canary} in the log:\n{log}");
    }
}

#[tokio::test]
async fn the_console_makes_a_token_with_the_passphrase_shows_it_once_and_revokes_it() {
    use crate::helpers::{console_get, console_post};
    let app = TestApp::spawn().await;
    let cookie = console_login(&app.client, &app.address, PASSPHRASE).await;
    let page = console_get(&app.client, &format!("{}/admin/api", app.address), &cookie).await;
    assert!(
        page.contains("No tokens yet") && page.contains("No webhooks"),
        "{page}"
    );

    let url = format!("{}/admin/api/tokens", app.address);
    let form = |name: &str, pass: &str| {
        [
            ("name", name.to_owned()),
            ("scope", "write".to_owned()),
            ("expires_in", "30d".to_owned()),
            ("passphrase", pass.to_owned()),
        ]
    };
    let (status, page) = console_post(
        &app.client,
        &url,
        &cookie,
        &form("psa", "not the passphrase"),
    )
    .await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("No token was made"), "{page}");
    let (status, page) =
        console_post(&app.client, &url, &cookie, &form("bad name", PASSPHRASE)).await;
    assert_eq!(status, 422, "{page}");
    assert!(app.store.api_tokens().await.unwrap().is_empty());

    let (status, page) = console_post(&app.client, &url, &cookie, &form("psa", PASSPHRASE)).await;
    assert_eq!(status, 303);
    let start = page.find("pdk_").expect("the token is shown");
    let token = page[start..start + 47].to_owned();
    let a = call(&app, "GET", "/api/v1/batches", Some(&token), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    // Shown once: the page again does not hold it.
    let again = console_get(&app.client, &format!("{}/admin/api", app.address), &cookie).await;
    assert!(!again.contains(&token) && again.contains("psa"), "{again}");

    let revoke = format!("{}/admin/api/revoke", app.address);
    let (status, _) = console_post(&app.client, &revoke, &cookie, &[("name", "psa")]).await;
    assert_eq!(status, 303);
    call(&app, "GET", "/api/v1/batches", Some(&token), None)
        .await
        .is(401, "invalid-token");
    // Without a session, nothing.
    let r = app
        .client
        .post(&url)
        .form(&form("other", PASSPHRASE))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "{}", r.status());
    assert!(app.store.api_tokens().await.unwrap().is_empty());
}
