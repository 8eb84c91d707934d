//! The user's ways out (`/s/{t}/password`, `/help`, `/not-me`, and what each answers)
//! show who is asking like the form: organisation, logo, accent, the contact and the
//! link-prefix line, from the batch's checked signature; a batch without branding keeps
//! them plain, and a changed branding column shows no branding at all (503, as the form).

use crate::branding::{assert_branded, brand};
use crate::helpers::{TestApp, link};

const ROSTER: &str = "EmailAddress,DisplayName\nann@example.com,Ann\nbob@example.com,Bob\n";

async fn post(app: &TestApp, url: &str, body: &str) -> (u16, String) {
    let r = app
        .client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.get(url).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_ways_out_show_who_is_asking_from_the_checked_signature() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("ways-branded", ROSTER).await;
    brand(&app, &b).await;
    let (ann, bob) = (link(&links[0]), link(&links[1]));

    for way in ["password", "help", "not-me"] {
        let (status, page) = get(&app, &format!("{ann}/{way}")).await;
        assert_eq!(status, 200, "{way}: {page}");
        assert_branded(&page, way);
    }
    // Each answer too: the box not ticked, "I need help" done, "This wasn't me" done and
    // its reload.
    let (status, page) = post(&app, &format!("{ann}/help"), "").await;
    assert_eq!(status, 422, "{page}");
    assert_branded(&page, "help, not ticked");
    let (status, page) = post(&app, &format!("{ann}/help"), "confirm=yes").await;
    assert_eq!(status, 200, "{page}");
    assert_branded(&page, "help done");
    let (status, page) = post(&app, &format!("{bob}/not-me"), "confirm=yes").await;
    assert_eq!(status, 200, "{page}");
    assert_branded(&page, "not me done");
    let (status, page) = get(&app, &format!("{bob}/not-me")).await;
    assert_eq!(status, 200, "{page}");
    assert_branded(&page, "not me, reloaded");

    // A batch without branding: plain pages, as before.
    let (_, plain) = app.create_batch("ways-plain", ROSTER).await;
    for way in ["password", "help", "not-me"] {
        let (status, page) = get(&app, &format!("{}/{way}", link(&plain[0]))).await;
        assert_eq!(status, 200, "{way}");
        assert!(
            !page.contains("Your contact for this move"),
            "{way}: {page}"
        );
        assert!(!page.contains("Our link always starts"), "{way}: {page}");
    }

    // A branding column changed behind passdrop's back: no branding, no page (503).
    let (t, tampered) = app.create_batch("ways-tampered", ROSTER).await;
    brand(&app, &t).await;
    {
        use sqlx::ConnectOptions as _;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(app.store.database_path())
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE batches SET link_prefix = 'https://evil.example/s/' WHERE id = ?")
            .bind(&t.id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for way in ["password", "help", "not-me"] {
        let (status, page) = get(&app, &format!("{}/{way}", link(&tampered[0]))).await;
        assert_eq!(status, 503, "{way}: {page}");
        for shown in ["evil.example", "Your contact for this move", "Ann Smith"] {
            assert!(!page.contains(shown), "{way}: {shown} in {page}");
        }
    }
    app.stop().await;
}
