//! Link tokens derived from the batch's link key (issue 21): a new batch stores no sealed
//! token per link, only the link key sealed once; getting the links recomputes them
//! exactly; a reissued link is new (drawn and sealed), the old one never comes back.

use crate::helpers::{TestApp, link, roster_of, token_of};
use passdrop::batch;
use passdrop::config;

/// Each user's live link as the admin gets it again, in roster order.
async fn links_again(app: &TestApp, b: &passdrop::storage::Batch) -> Vec<(String, String)> {
    let admin = app.admin().await;
    batch::open_live_links(&app.store, &app.public_url, b, &admin, config::now())
        .await
        .unwrap()
        .into_iter()
        .map(|(r, l)| (r.email, link(&l)))
        .collect()
}

#[tokio::test]
async fn derived_links_come_back_exactly_and_a_reissue_never_repeats_one() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("derived", &roster_of("user", 6)).await;
    let issued: Vec<(String, String)> = links.iter().map(|l| (l.email.clone(), link(l))).collect();
    assert_eq!(links_again(&app, &b).await, issued);
    for (_, l) in &issued {
        assert!(token_of(l).starts_with(&format!("2.{}.", b.link_tag.as_str())));
    }

    // Stored: a counter per link and no sealed token; the link key sealed once.
    let mut conn = app.db().await;
    let rows: Vec<(Option<i64>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT l.link_counter, l.sealed_token FROM links l \
         JOIN recipients r ON r.id = l.recipient_id WHERE r.batch_id = ?",
    )
    .bind(&b.id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().all(|(c, t)| *c == Some(0) && t.is_none()),
        "{rows:?}"
    );
    let (key_enc, key_sealed): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT link_key_enc, sealed_link_key FROM batch_keys WHERE batch_id = ?")
            .bind(&b.id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(key_enc.len(), 32);
    assert_eq!(key_sealed.len(), 32 + 16, "32 bytes and the AEAD tag");

    // Reissue twice: each link is new, the old ones stay dead, the others unchanged.
    let email = "user2@example.org";
    let old = issued[2].1.clone();
    let first = batch::reissue(&app.store, &app.public_url, &b, email, config::now())
        .await
        .unwrap();
    let second = batch::reissue(&app.store, &app.public_url, &b, email, config::now())
        .await
        .unwrap();
    let (first, second) = (link(&first), link(&second));
    assert!(first != old && second != old && second != first);
    let again = links_again(&app, &b).await;
    let mut expected = issued.clone();
    expected[2].1 = second.clone();
    assert_eq!(again, expected);
    for dead in [&old, &first] {
        assert_eq!(app.get(dead).await.status(), 410, "a replaced link");
    }
    assert_eq!(app.get(&second).await.status(), 200);
    assert_eq!(app.get(&issued[3].1).await.status(), 200);
    let r = app
        .submit(&second, "new password 1", "new password 1")
        .await;
    assert_eq!(r.status(), 200);
    let r = app.submit(&issued[3].1, "password 3", "password 3").await;
    assert_eq!(r.status(), 200);
    // A reissued link is drawn at random and sealed (no passphrase needed to reissue).
    let (counter, sealed): (Option<i64>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT l.link_counter, l.sealed_token FROM links l \
         JOIN recipients r ON r.id = l.recipient_id \
         WHERE r.email = ? AND l.id = (SELECT MAX(id) FROM links WHERE recipient_id = r.id)",
    )
    .bind(email)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(counter, None);
    assert!(sealed.is_some());
    // Used links are not given out again.
    let again = links_again(&app, &b).await;
    assert_eq!(again.len(), 4);
    assert!(!again.iter().any(|(_, l)| l == &second || l == &issued[3].1));

    // Purged: the link key goes with the batch key, and no link answers but 410.
    batch::purge(&app.store, &b, config::now()).await.unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_keys WHERE batch_id = ?")
        .bind(&b.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, 0);
    assert_eq!(app.get(&issued[0].1).await.status(), 410);
    // Nor is any byte of the sealed link key left in the files (database, WAL, SHM).
    drop(conn);
    let dir = app.stop().await;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        for secret in [&key_enc, &key_sealed] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
                "the sealed link key is still on disk after the purge"
            );
        }
    }
}
