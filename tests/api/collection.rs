//! The collection page over real HTTP: every state and status code.

use crate::helpers::{TestApp, link, token_of};
use passdrop::batch;
use passdrop::config::{self, PublicUrl};

const ROSTER: &str = "EmailAddress,DisplayName\nann@example.com,Ann\nbob@example.com,Bob\n";

#[tokio::test]
async fn healthz_answers_ok_with_security_headers() {
    let app = TestApp::spawn().await;
    let r = app.get(&format!("{}/healthz", app.address)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(r.text().await.unwrap(), "ok");
    for name in [
        "content-security-policy",
        "referrer-policy",
        "cache-control",
        "x-content-type-options",
        "x-frame-options",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "cross-origin-embedder-policy",
        "x-permitted-cross-domain-policies",
        "permissions-policy",
        "x-robots-tag",
    ] {
        assert!(h.contains_key(name), "missing {name}");
    }
    assert_eq!(h["cross-origin-embedder-policy"], "require-corp");
    assert_eq!(h["x-permitted-cross-domain-policies"], "none");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cross-origin-opener-policy"], "same-origin");
    assert_eq!(h["cross-origin-resource-policy"], "same-origin");
    assert_eq!(h["x-robots-tag"], "noindex");
    assert!(!h.contains_key("server"));
    // The public URL is http here, so no HSTS.
    assert!(!h.contains_key("strict-transport-security"));
    app.stop().await;
}

#[tokio::test]
async fn opening_a_link_shows_the_form_and_never_burns_it() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    for _ in 0..3 {
        let r = app.get(&url).await;
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(body.contains("ann@example.com"));
        assert!(body.contains("Example Ltd"));
        assert!(body.contains("name=\"password_confirm\""));
    }
    assert_eq!(app.submit(&url, "pw", "pw").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_link_accepts_one_submission_then_answers_410() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let r = app.submit(&url, "first", "first").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("used up"));
    let again = app.submit(&url, "second", "second").await;
    assert_eq!(again.status(), 410);
    let text = again.text().await.unwrap();
    assert!(
        text.contains("A password was received for this link on "),
        "{text}"
    );
    assert!(text.contains("There is nothing more to do."));
    assert_eq!(app.get(&url).await.status(), 410);
    let (csv, _) = app.export(&b).await;
    assert!(String::from_utf8(csv).unwrap().contains(",first\r\n"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_tokens_answer_404() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let real = token_of(&link(&links[0]));
    let mut flipped: Vec<char> = real.chars().collect();
    flipped[0] = if flipped[0] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    for path in [
        format!("/s/{flipped}"),
        "/s/short".to_owned(),
        format!("/s/{real}x"),
        "/s/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/s/%FF%FE".to_owned(),
        "/nothing-here".to_owned(),
    ] {
        let r = app.get(&format!("{}{path}", app.address)).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.headers().contains_key("content-security-policy"));
    }
    assert_eq!(
        app.submit(&format!("{}/s/{flipped}", app.address), "p", "p")
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_forms_answer_422_and_leave_the_link_usable() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let mismatch = app.submit(&url, "one", "two").await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("do not match"));
    assert_eq!(app.submit(&url, "", "").await.status(), 422);
    assert_eq!(app.submit(&url, "a\nb", "a\nb").await.status(), 422);
    let long = "x".repeat(1025);
    assert_eq!(app.submit(&url, &long, &long).await.status(), 422);
    let non_utf8 = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=%FF&password_confirm=%FF")
        .send()
        .await
        .unwrap();
    assert_eq!(non_utf8.status(), 422);
    let repeated = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=a&password=b&password_confirm=a")
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.status(), 422);
    let not_a_form = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"password\":\"a\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), 422);
    // Nothing was stored and the link still works.
    let (_, missing) = app.export(&b).await;
    assert_eq!(missing.len(), 2);
    assert_eq!(app.get(&url).await.status(), 200);
    assert_eq!(app.submit(&url, "right", "right").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_burning_the_link() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let big = "x".repeat(9 * 1024);
    let r = app.submit(&url, &big, &big).await;
    assert_eq!(r.status(), 413);
    assert_eq!(app.get(&url).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn revoked_replaced_and_expired_links_answer_410() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let ann = link(&links[0]);
    let bob = link(&links[1]);

    batch::revoke(&app.store, &b, "ann@example.com")
        .await
        .unwrap();
    let r = app.get(&ann).await;
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("withdrawn"));
    assert_eq!(app.submit(&ann, "p", "p").await.status(), 410);

    let fresh = batch::reissue(
        &app.store,
        &app.public_url,
        &b,
        "BOB@example.com",
        config::now(),
    )
    .await
    .unwrap();
    let r = app.get(&bob).await;
    assert_eq!(r.status(), 410);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This link was replaced by a newer one")
    );
    let fresh = link(&fresh);
    assert_eq!(app.get(&fresh).await.status(), 200);

    // A link issued "now" for a batch whose lifetime is zero is already expired.
    let (short, short_links) = app
        .create_batch("short", "EmailAddress\ncy@example.com\n")
        .await;
    let expired = batch::reissue(
        &app.store,
        &app.public_url,
        &short,
        "cy@example.com",
        config::now() - short.link_lifetime_secs - 1,
    )
    .await
    .unwrap();
    let r = app.get(&link(&expired)).await;
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(app.submit(&link(&expired), "p", "p").await.status(), 410);
    assert_eq!(app.get(&link(&short_links[0])).await.status(), 410);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_submissions_on_one_link_accept_exactly_one() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = app.client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let pw = format!("attempt-{i}");
            client
                .post(&url)
                .form(&[("password", pw.as_str()), ("password_confirm", pw.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 410),
        "{statuses:?}"
    );
    let (csv, _) = app.export(&b).await;
    assert_eq!(
        String::from_utf8(csv).unwrap().matches("attempt-").count(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_stylesheet_is_served_with_its_content_type() {
    let app = TestApp::spawn().await;
    let r = app.get(&format!("{}/assets/style.css", app.address)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    app.stop().await;
}

const SECURITY_HEADERS: [&str; 11] = [
    "content-security-policy",
    "referrer-policy",
    "cache-control",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "cross-origin-embedder-policy",
    "x-permitted-cross-domain-policies",
    "permissions-policy",
    "x-robots-tag",
];

/// A filled-in form POSTed to `url` as a browser sends it from another site.
async fn cross_site_post(app: &TestApp, url: &str) -> reqwest::Response {
    app.client
        .post(url)
        .header("sec-fetch-site", "cross-site")
        .form(&[("password", "p"), ("password_confirm", "p")])
        .send()
        .await
        .unwrap()
}

fn assert_security_headers(r: &reqwest::Response, what: &str) {
    for name in SECURITY_HEADERS {
        assert!(r.headers().contains_key(name), "{what}: missing {name}");
    }
    assert_eq!(
        r.headers()["cross-origin-embedder-policy"],
        "require-corp",
        "{what}"
    );
    assert_eq!(
        r.headers()["x-permitted-cross-domain-policies"],
        "none",
        "{what}"
    );
    assert!(!r.headers().contains_key("server"), "{what}: Server header");
    assert_eq!(r.headers()["x-frame-options"], "DENY", "{what}");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{what}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn_with(|c| c.rate_limit = 30).await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let ann = link(&links[0]);
    let bob = link(&links[1]);

    let form = app.get(&ann).await;
    assert_eq!(form.status(), 200);
    assert_security_headers(&form, "form");
    assert_eq!(form.headers()["cache-control"], "no-store");
    assert!(
        form.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let invalid = app.submit(&ann, "a", "b").await;
    assert_eq!(invalid.status(), 422);
    assert_security_headers(&invalid, "422");

    let big = "x".repeat(9000);
    let too_big = app.submit(&ann, &big, &big).await;
    assert_eq!(too_big.status(), 413);
    assert_security_headers(&too_big, "413");
    assert!(too_big.text().await.unwrap().contains("Too much data"));
    // In the reader's language too.
    let too_big = app
        .client
        .post(&ann)
        .header("accept-language", "nl-BE, nl")
        .form(&[("password", &big)])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    let text = too_big.text().await.unwrap();
    assert!(text.contains("<html lang=\"nl\">"), "{text}");
    assert!(text.contains("Te veel gegevens"), "{text}");

    let wrong_method = app.client.put(&ann).body("x").send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_security_headers(&wrong_method, "405");
    assert!(wrong_method.text().await.unwrap().contains("<h1>"));

    let head = app.client.head(&ann).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_security_headers(&head, "HEAD");

    let cross = cross_site_post(&app, &ann).await;
    assert_eq!(cross.status(), 403);
    assert_security_headers(&cross, "403");

    let accepted = app.submit(&ann, "p", "p").await;
    assert_eq!(accepted.status(), 200);
    assert_security_headers(&accepted, "accepted");
    let gone = app.get(&ann).await;
    assert_eq!(gone.status(), 410);
    assert_security_headers(&gone, "410");

    let unknown = app.get(&format!("{}/s/nope", app.address)).await;
    assert_eq!(unknown.status(), 404);
    assert_security_headers(&unknown, "404");

    let health = app.get(&format!("{}/healthz", app.address)).await;
    assert_security_headers(&health, "healthz");

    // The page links its stylesheet by a versioned URL, which may be cached for a year;
    // any other spelling is revalidated.
    let page = app.get(&bob).await.text().await.unwrap();
    let href = page
        .split("href=\"")
        .find(|h| h.starts_with("/assets/style.css?v="))
        .and_then(|h| h.split('"').next())
        .expect("the page links the stylesheet")
        .to_owned();
    let css = app.get(&format!("{}{href}", app.address)).await;
    assert_eq!(css.status(), 200);
    assert_security_headers(&css, "asset");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let stale = app
        .get(&format!("{}/assets/style.css?v=0", app.address))
        .await;
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let icon = app.get(&format!("{}/assets/icon.svg", app.address)).await;
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");

    let mut limited = None;
    for _ in 0..40 {
        let r = app.get(&bob).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the rate limit never answered 429");
    assert_security_headers(&limited, "429");
    assert!(limited.headers().contains_key("retry-after"));
    let _ = b;
    app.stop().await;
}

#[tokio::test]
async fn each_refusal_carries_the_policy_of_the_layer_that_answers_it() {
    // The policies as the server sends them on ordinary pages (the constants are private
    // to the server): the collection form's, and the default one (`/healthz`).
    let app = TestApp::spawn_with(|c| c.rate_limit = 10).await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let form = app.get(&url).await;
    assert_eq!(form.status(), 200);
    let collection = form.headers()["content-security-policy"].clone();
    let health = app.get(&format!("{}/healthz", app.address)).await;
    assert_eq!(health.status(), 200);
    let default = health.headers()["content-security-policy"].clone();
    assert_ne!(collection, default);

    // CSRF is outside the collection's policy: its 403 has the default one.
    let cross = cross_site_post(&app, &url).await;
    assert_eq!(cross.status(), 403);
    assert_eq!(cross.headers()["content-security-policy"], default, "403");

    // CSRF is outside the body limit too: a cross-site POST that is also too big is
    // refused as cross-site.
    let big = "x".repeat(9000);
    let cross_big = app
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&[("password", &big), ("password_confirm", &big)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_big.status(), 403);
    assert_eq!(cross_big.headers()["content-security-policy"], default);

    // The body limit is inside the collection's policy: its 413 has the collection's.
    let too_big = app.submit(&url, &big, &big).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(
        too_big.headers()["content-security-policy"],
        collection,
        "413"
    );

    // A method the route does not have is answered by the route, inside its layers.
    let wrong_method = app.client.put(&url).body("x").send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.headers()["content-security-policy"],
        collection,
        "405"
    );

    // The rate limit is outermost on the collection routes: its 429 has the default one.
    let mut limited = None;
    for _ in 0..20 {
        let r = app.get(&url).await;
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("the rate limit never answered 429");
    assert_eq!(limited.headers()["content-security-policy"], default, "429");
    app.stop().await;
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(|c| {
        c.public_url = PublicUrl::parse("https://passdrop.example.org").unwrap();
    })
    .await;
    for path in ["/healthz", "/s/unknown", "/assets/icon.svg", "/nothing"] {
        let r = app.get(&format!("{}{path}", app.address)).await;
        assert!(
            r.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age="),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_page_says_who_asks_why_and_until_when() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let body = app.get(&link(&links[0])).await.text().await.unwrap();
    for needle in [
        "Example Ltd",
        "ann@example.com",
        "encrypted",
        "deleted after the move",
        &passdrop::i18n::format_date(passdrop::i18n::Language::En, b.expires_at),
        "<label for=\"password\"",
        "<label for=\"password_confirm\"",
        "How do you read your email today?",
    ] {
        assert!(body.contains(needle), "missing {needle:?}");
    }
    // One script, from our own assets, and no inline one.
    assert_eq!(body.matches("<script").count(), 1);
    assert!(body.contains("<script src=\"/assets/reveal.js?v="));
    // Both password inputs let a password manager fill in the mailbox's password.
    for input in body
        .split("<input")
        .skip(1)
        .filter(|i| i.contains("type=\"password\""))
    {
        assert!(
            input.contains("autocomplete=\"current-password\""),
            "{input}"
        );
        assert!(input.contains("spellcheck=\"false\""), "{input}");
        assert!(input.contains("autocapitalize=\"none\""), "{input}");
    }
    assert_eq!(body.matches("type=\"password\"").count(), 2);
    assert!(!body.contains("style="));
    app.stop().await;
}

#[tokio::test]
async fn the_confirmation_shows_the_next_steps_and_the_answer_is_stored() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let r = app
        .client
        .post(link(&links[0]))
        .form(&[
            ("password", "pw"),
            ("password_confirm", "pw"),
            ("mail_client", "one-computer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Your mailbox moves on Friday."), "{body}");
    assert!(body.contains("used up"));
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert_eq!(
        statuses[0].mail_client.map(|c| c.as_str()),
        Some("one-computer")
    );
    assert!(batch::MailClient::parse("one-computer").unwrap().pop_risk());
    assert_eq!(statuses[1].mail_client, None);

    // An answer that is not one of the choices is refused and the link stays usable.
    let r = app
        .client
        .post(link(&links[1]))
        .form(&[
            ("password", "pw"),
            ("password_confirm", "pw"),
            ("mail_client", "carrier-pigeon"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(app.get(&link(&links[1])).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_422_keeps_the_chosen_answer_and_points_at_the_error() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let r = app
        .client
        .post(link(&links[0]))
        .form(&[
            ("password", "one"),
            ("password_confirm", "two"),
            ("mail_client", "webmail"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    // A mismatch marks both fields, and each points at a message that exists.
    assert_eq!(body.matches("aria-invalid=\"true\"").count(), 2, "{body}");
    assert_eq!(
        body.matches("aria-describedby=\"password-error\"").count(),
        2
    );
    assert!(body.contains("id=\"password-error\" role=\"alert\""));
    assert!(body.contains("do not match"));
    assert!(body.contains("value=\"webmail\" checked"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ] {
        let r = app
            .client
            .post(&url)
            .header(name, value)
            .form(&[("password", "p"), ("password_confirm", "p")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
    }
    let same_origin = app
        .client
        .post(&url)
        .header("sec-fetch-site", "same-origin")
        .header("origin", &app.address)
        .form(&[("password", "p"), ("password_confirm", "p")])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 200);
    let (_, missing) = app.export(&b).await;
    assert_eq!(missing, vec!["bob@example.com"]);
    app.stop().await;
}

#[tokio::test]
async fn too_many_refused_submissions_lock_the_link_until_reissued() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    // A password with a line break is refused, and counts (nobody types one by mistake).
    for i in 1..batch::MAX_FAILED_ATTEMPTS {
        let r = app.submit(&url, "a\nb", "a\nb").await;
        assert_eq!(r.status(), 422, "attempt {i}");
        let body = r.text().await.unwrap();
        let left = batch::MAX_FAILED_ATTEMPTS - i;
        match left {
            1 => assert!(body.contains("You have one more try before this link locks.")),
            2 => assert!(body.contains("You have 2 more tries before this link locks.")),
            _ => assert!(!body.contains("before this link locks"), "{left}"),
        }
    }
    let last = app.submit(&url, "a\nb", "a\nb").await;
    assert_eq!(last.status(), 410);
    assert!(last.text().await.unwrap().contains("locked"));
    assert_eq!(app.submit(&url, "right", "right").await.status(), 410);
    assert_eq!(app.get(&url).await.status(), 410);
    let fresh = batch::reissue(
        &app.store,
        &app.public_url,
        &b,
        "ann@example.com",
        config::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        app.submit(&link(&fresh), "right", "right").await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn forwarded_headers_count_only_with_trust_proxy_and_only_the_proxys_entry() {
    /// (trust_proxy, X-Forwarded-For for request i, expect distinct clients)
    type Case = (bool, fn(usize) -> String, bool);
    let cases: [Case; 3] = [
        (false, |i| format!("198.51.100.{i}"), false),
        (true, |i| format!("198.51.100.{i}"), true),
        // A client cannot escape the limit by writing its own leftmost entries.
        (true, |i| format!("198.51.100.{i}, 203.0.113.7"), false),
    ];
    for (trust_proxy, forwarded, distinct) in cases {
        let app = TestApp::spawn_with(|c| {
            c.rate_limit = 3;
            c.trust_proxy = trust_proxy;
        })
        .await;
        let (_, links) = app.create_batch("b", ROSTER).await;
        let url = link(&links[0]);
        let mut statuses = Vec::new();
        for i in 0..6 {
            let r = app
                .client
                .get(&url)
                .header("x-forwarded-for", forwarded(i))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        if distinct {
            assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
        } else {
            assert_eq!(statuses, [200, 200, 200, 429, 429, 429], "{trust_proxy}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn only_the_public_and_listen_host_names_are_answered() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(|c| {
        c.public_url = PublicUrl::parse("https://pass.example.org").unwrap();
    })
    .await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let token = token_of(&link(&links[0]));
    let server = app.address.trim_start_matches("http://").to_owned();
    let port = server.rsplit(':').next().unwrap().to_owned();
    let ask = |host: String, path: String| {
        let server = server.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(&server).await.unwrap();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let form = format!("/s/{token}");
    for host in [
        "pass.example.org".to_owned(),
        "PASS.example.org:443".to_owned(),
        server.clone(),
        format!("localhost:{port}"),
    ] {
        let answer = ask(host.clone(), form.clone()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    for host in [
        "evil.example".to_owned(),
        format!("rebind.evil.example:{port}"),
        "pass.example.org.evil.example".to_owned(),
    ] {
        for path in [form.as_str(), "/healthz", "/admin/login"] {
            let answer = ask(host.clone(), path.to_owned()).await;
            assert!(answer.starts_with("HTTP/1.1 421"), "{host}{path}: {answer}");
            assert!(answer.contains("Wrong address"), "{answer}");
            assert!(answer.contains("x-frame-options: DENY"), "{answer}");
            assert!(!answer.contains("ann@example.com"), "{answer}");
        }
    }
    // A request without a Host is refused too.
    let answer = ask(String::new(), "/healthz".to_owned()).await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The link was never used up or noted as opened by a refused request.
    assert_eq!(app.get(&link(&links[0])).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn requests_for_another_host_name_cost_no_rate_limit_allowance() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(|c| c.rate_limit = 3).await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let path = url.trim_start_matches(&app.address).to_owned();
    let server = app.address.trim_start_matches("http://").to_owned();
    // Twice the allowance, from the same address as the right-host request below.
    for i in 0..6 {
        let mut stream = tokio::net::TcpStream::connect(&server).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 421"), "request {i}: {answer}");
    }
    assert_eq!(app.get(&url).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn health_checks_and_assets_are_rate_limited_generously() {
    let app = TestApp::spawn_with(|c| c.rate_limit = 3).await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    // Four times the pages' limit, counted apart from them.
    for path in ["/healthz", "/assets/icon.svg"] {
        for _ in 0..6 {
            let r = app.get(&format!("{}{path}", app.address)).await;
            assert_eq!(r.status(), 200, "{path}");
        }
    }
    let limited = app.get(&format!("{}/healthz", app.address)).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        app.get(&format!("{}/assets/style.css", app.address))
            .await
            .status(),
        429
    );
    // The pages keep their own allowance.
    assert_eq!(app.get(&link(&links[0])).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_unreadable_forwarded_for_counts_as_the_proxy_not_as_x_real_ip() {
    // Behind a trusted proxy, a client sends a non-ASCII X-Forwarded-For (which a proxy
    // that appends passes on as the only entry, or left of its own) and a fresh X-Real-IP
    // each time: it must still be one client, the proxy's peer address.
    let app = TestApp::spawn_with(|c| {
        c.rate_limit = 3;
        c.trust_proxy = true;
    })
    .await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let forwarded =
            reqwest::header::HeaderValue::from_bytes(format!("caf\u{e9}-{i}").as_bytes()).unwrap();
        let r = app
            .client
            .get(&url)
            .header("x-forwarded-for", forwarded)
            .header("x-real-ip", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    // The proxy's own rightmost entry still counts when a client wrote bytes before it.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let forwarded =
            reqwest::header::HeaderValue::from_bytes(format!("\u{e9}, 203.0.113.{i}").as_bytes())
                .unwrap();
        let r = app
            .client
            .get(&url)
            .header("x-forwarded-for", forwarded)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200]);
    app.stop().await;
}

#[tokio::test]
async fn a_chunked_oversized_body_is_refused_too() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    let path = url.trim_start_matches(&app.address);
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let chunk = format!("password={}", "x".repeat(9000));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 413"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_eq!(app.get(&url).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app =
        TestApp::spawn_with(|c| c.header_read_timeout = std::time::Duration::from_secs(1)).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buf),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server kept a half-sent request open for 10 s"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The server still serves everyone else.
    assert_eq!(
        app.get(&format!("{}/healthz", app.address)).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn mismatches_empty_forms_and_empty_passwords_never_count_toward_the_lock() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let url = link(&links[0]);
    for _ in 0..batch::MAX_FAILED_ATTEMPTS + 2 {
        let r = app.submit(&url, "a", "b").await;
        assert_eq!(r.status(), 422);
        assert!(!r.text().await.unwrap().contains("before this link locks"));
        // What link scanners send: an empty body, or the fields left empty.
        let empty = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .unwrap();
        assert_eq!(empty.status(), 422);
        assert_eq!(app.submit(&url, "", "").await.status(), 422);
    }
    assert_eq!(app.get(&url).await.status(), 200);
    // One field alone (the form with JavaScript) is accepted.
    let r = app
        .client
        .post(&url)
        .form(&[("password", "right")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn pages_speak_the_roster_language_then_the_browsers_then_the_default() {
    let app = TestApp::spawn_with(|c| c.language = passdrop::i18n::Language::It).await;
    let (_, links) = app
        .create_batch(
            "b",
            "EmailAddress,Language\nann@example.com,fr-ca\nbob@example.com,\ncy@example.com,\n",
        )
        .await;
    let get = |url: String, accept: Option<&'static str>| {
        let mut request = app.client.get(url);
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    // The roster's language wins over the browser's.
    let ann = get(link(&links[0]), Some("de-DE,de;q=0.9")).await;
    assert!(ann.contains("<html lang=\"fr\">"), "{ann}");
    assert!(ann.contains("Votre messagerie déménage"));
    // No roster language: the browser's, by quality.
    let bob = get(link(&links[1]), Some("ja, nl;q=0.8, de;q=0.5")).await;
    assert!(bob.contains("<html lang=\"nl\">"));
    assert!(bob.contains("Uw e-mail verhuist"));
    // Neither: the server's default.
    let cy = get(link(&links[2]), None).await;
    assert!(cy.contains("<html lang=\"it\">"));
    // An unknown link: the browser's language, else the default; still 404.
    let unknown = app
        .client
        .get(format!("{}/s/{}", app.address, "A".repeat(43)))
        .header("accept-language", "es")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Enlace no reconocido")
    );
    // A used link, in the roster's language: when, and nothing more to do; still 410.
    assert_eq!(app.submit(&link(&links[0]), "pw", "pw").await.status(), 200);
    let used = app.get(&link(&links[0])).await;
    assert_eq!(used.status(), 410);
    let text = used.text().await.unwrap();
    assert!(
        text.contains("Un mot de passe a été reçu pour ce lien le "),
        "{text}"
    );
    assert!(
        text.contains("UTC. Vous n’avez rien d’autre à faire."),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn only_the_collection_pages_may_run_their_own_script() {
    let app = TestApp::spawn().await;
    let (_, links) = app.create_batch("b", ROSTER).await;
    let collection = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let elsewhere = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                     frame-ancestors 'none'; base-uri 'none'";
    let console = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";
    let unknown = format!("{}/s/{}", app.address, "A".repeat(43));
    for (url, policy) in [
        (link(&links[0]), collection),
        (unknown, collection),
        (format!("{}/admin/login", app.address), console),
        (format!("{}/healthz", app.address), elsewhere),
        (format!("{}/assets/reveal.js", app.address), elsewhere),
        (format!("{}/nothing-here", app.address), elsewhere),
    ] {
        let r = app.get(&url).await;
        assert_eq!(r.headers()["content-security-policy"], policy, "{url}");
    }
    let script = app.get(&format!("{}/assets/reveal.js", app.address)).await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("password-toggle"));
    app.stop().await;
}

#[tokio::test]
async fn the_form_and_the_used_page_write_dates_in_the_batchs_time_zone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, links) = passdrop::batch::create_signed(
        &app.store,
        &app.public_url,
        passdrop::batch::NewBatch {
            name: "paris".into(),
            org_name: Some("Exemple SARL".into()),
            link_lifetime: std::time::Duration::from_secs(86_400),
            next_steps: None,
            ask_mail_client: false,
            retention: passdrop::batch::Retention::default(),
            roster: passdrop::roster::parse_roster(b"EmailAddress,Language\nana@example.org,fr\n")
                .unwrap(),
            imap: None,
            language: None,
            time_zone: Some("Europe/Paris".into()),
        },
        passdrop::config::now(),
        &admin,
    )
    .await
    .unwrap();
    let page = app.get(&link(&links[0])).await.text().await.unwrap();
    assert!(
        page.contains(" CET</strong>") || page.contains(" CEST</strong>"),
        "{page}"
    );
    assert!(!page.contains(" UTC<"), "{page}");
    let pw = "un mot de passe";
    assert_eq!(app.submit(&link(&links[0]), pw, pw).await.status(), 200);
    let used = app.get(&link(&links[0])).await;
    assert_eq!(used.status(), 410);
    let used = used.text().await.unwrap();
    assert!(used.contains(" CET") || used.contains(" CEST"), "{used}");
    app.stop().await;
}
