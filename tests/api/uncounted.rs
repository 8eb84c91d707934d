//! A link's checks that the old server gives no clear answer to count nothing toward its
//! lock, so they have a cap of their own (`serve --imap-uncounted-checks-per-link`, per
//! hour): past it, no check is made, the user is told to try again in an hour in their
//! language, nothing is counted or kept and the link still works; an hour later the
//! checks go on. The count goes with the link's row at purge.

use passdrop::batch;
use passdrop::crypto::LinkToken;
use passdrop::imap::{CertTrust, WhenUnreachable};
use secrecy::ExposeSecret as _;

use crate::helpers::{FakeImap, Script, TestApp, token_of};
use crate::imap::settings;

async fn post(app: &TestApp, link: &str, language: &str) -> (u16, String) {
    let r = app
        .client
        .post(link)
        .header("accept-language", language)
        .form(&[("password", "A guess CANARY-77aa")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn sql(app: &TestApp, statement: &str, hash: &[u8; 32]) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store.database_path())
        .connect()
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .bind(hash.as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn uncounted_checks_are_capped_per_link_and_hour_and_burn_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.imap_uncounted_per_link = 3;
        c.rate_limit = 0;
    })
    .await;
    for script in [Script::Unavailable, Script::Bye, Script::AppPassword] {
        let fake = FakeImap::start(script).await;
        let (b, links) = app
            .create_batch_checked_with(
                &format!("capped-{script:?}"),
                "EmailAddress,UserName\nann@example.org,ann\n",
                Some(settings(
                    &fake.url(),
                    CertTrust::Pin(fake.fingerprint),
                    WhenUnreachable::AskToRetry,
                )),
            )
            .await
            .unwrap();
        let link = links[0].link.expose_secret();
        let hash = LinkToken::parse(&token_of(link)).unwrap().hash();
        for _ in 0..3 {
            let (status, page) = post(&app, link, "en").await;
            assert!([422, 503].contains(&status), "{script:?}: {status} {page}");
        }
        assert_eq!(fake.logins(), 3, "{script:?}");
        // The fourth: no check, "try again in an hour", in the reader's language.
        let (status, page) = post(&app, link, "en").await;
        assert_eq!(status, 503, "{script:?}: {page}");
        assert!(page.contains("Please try again in an hour"), "{page}");
        let (status, page) = post(&app, link, "de").await;
        assert_eq!(status, 503, "{script:?}: {page}");
        assert!(
            page.contains("versuchen Sie es in einer Stunde erneut"),
            "{page}"
        );
        // It says when the hour is over (Retry-After, seconds).
        let r = app.client.post(link).form(&[("password", "x")]);
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 503, "{script:?}");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (3500..=3600).contains(&wait),
            "{script:?}: Retry-After {wait}"
        );
        assert_eq!(fake.logins(), 3, "{script:?}: no check past the cap");
        // Nothing counted, nothing kept, the link still works.
        let view = app.store.link_by_token_hash(&hash).await.unwrap().unwrap();
        assert_eq!(view.failed_attempts, 0, "{script:?}");
        assert!(!page.contains("CANARY-77aa"));
        assert_eq!(app.get(link).await.status(), 200, "{script:?}");
        assert_eq!(
            app.store.recipient_statuses(&b.id).await.unwrap()[0].submitted_at,
            None
        );
        // An hour later the checks go on.
        sql(
            &app,
            "UPDATE links SET uncounted_since = uncounted_since - 3601 WHERE token_hash = ?",
            &hash,
        )
        .await;
        let (_, page) = post(&app, link, "en").await;
        assert!(!page.contains("in an hour"), "{script:?}: {page}");
        assert_eq!(fake.logins(), 4, "{script:?}");
        // The count goes with the link at purge.
        batch::purge(&app.store, &b, passdrop::config::now())
            .await
            .unwrap();
        assert!(app.store.link_by_token_hash(&hash).await.unwrap().is_none());
        assert_eq!(
            app.store
                .uncounted_checks(&hash, passdrop::config::now(), 3600)
                .await
                .unwrap(),
            0
        );
    }
}

/// A second submission while the first is still being checked (a double click) gets
/// the form with "already being checked", in the reader's language, with its 429: not
/// the rate limiter's "too many requests ... nothing you sent was used" page, which may
/// be false (the first may yet accept the password).
#[tokio::test(flavor = "multi_thread")]
async fn a_double_submission_says_the_first_is_still_being_checked() {
    let app = TestApp::spawn_with(|c| c.rate_limit = 0).await;
    let fake = FakeImap::start(Script::SlowUnavailable).await;
    let (_, links) = app
        .create_batch_checked_with(
            "double",
            "EmailAddress,UserName\nann@example.org,ann\n",
            Some(settings(
                &fake.url(),
                CertTrust::Pin(fake.fingerprint),
                WhenUnreachable::AskToRetry,
            )),
        )
        .await
        .unwrap();
    let link = links[0].link.expose_secret().to_owned();
    let first = {
        let (client, link) = (app.client.clone(), link.clone());
        tokio::spawn(async move {
            let r = client
                .post(&link)
                .form(&[("password", "first CANARY-77aa")]);
            r.send().await.unwrap().status().as_u16()
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake.logins() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first check never began"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for (language, words) in [
        (
            "de",
            "Ein Passwort für diesen Link wird gerade bei Ihrem Mailserver geprüft",
        ),
        (
            "en",
            "A password for this link is already being checked with your mail server",
        ),
    ] {
        let (status, page) = post(&app, &link, language).await;
        assert_eq!(status, 429, "{language}: {page}");
        assert!(page.contains(words), "{language}: {page}");
        assert!(!page.contains("Too many requests"), "{language}: {page}");
        assert!(!page.contains("CANARY-77aa"));
    }
    let first = first.await.unwrap();
    assert!(
        [422, 503].contains(&first),
        "the first ends with its own answer: {first}"
    );
    assert_eq!(fake.logins(), 1, "only the first was checked");
}
