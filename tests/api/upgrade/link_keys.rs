//! An old batch after migration 0017 (issue 21): it has no link key, so its links stay
//! sealed tokens; the admin still gets them exactly, a reissue in it keeps the sealed
//! scheme and gives a new token, and its old links are still accepted.

use super::*;
use passdrop::batch;
use passdrop::config::PublicUrl;
use secrecy::{ExposeSecret as _, SecretString};

#[tokio::test]
async fn an_old_batch_still_gives_out_and_accepts_its_links() {
    let e = expected();
    let (_dir, data) = copy_fixture();
    move_times_forward(&data.join(DATABASE), now() - e.made_at).await;
    // The settings 8d15076 stored are signed first, as the admin must.
    ok(&passdrop(&data, &["admin", "sign-settings", "--yes"]));

    let live: Vec<&ExpectedLink> = e
        .links
        .iter()
        .filter(|l| l.batch == "Move 2026" && l.what == "live")
        .collect();
    assert_eq!(live.len(), 4, "eve, fay, hal and jon's reissued links");
    let passphrase = std::fs::read_to_string(format!("{FIXTURE}/passphrase.txt")).unwrap();
    let passphrase = SecretString::from(passphrase.trim_end_matches(['\n', '\r']).to_owned());
    let url = PublicUrl::parse("https://passdrop.example.org").unwrap();
    let (fay_old, fay_new) = {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        let b = store.require_batch("Move 2026").await.unwrap();
        let admin = batch::unlock_admin(&store, passphrase).await.unwrap();
        let tokens = |links: Vec<(passdrop::storage::Recipient, batch::IssuedLink)>| {
            links
                .into_iter()
                .map(|(r, l)| (r.email, crate::helpers::token_of(l.link.expose_secret())))
                .collect::<Vec<_>>()
        };
        let opened = tokens(
            batch::open_live_links(&store, &url, &b, &admin, now())
                .await
                .unwrap(),
        );
        for l in &live {
            assert!(
                opened.contains(&(l.email.clone(), l.token.clone())),
                "{}'s live link is not given out: {opened:?}",
                l.email
            );
        }
        assert!(
            store.sealed_link_key(&b.id).await.unwrap().is_none(),
            "an old batch has no link key"
        );
        let fay_old = live.iter().find(|l| l.email == "fay@example.org").unwrap();
        let fay_new = batch::reissue(&store, &url, &b, "fay@example.org", now())
            .await
            .unwrap();
        let fay_new = crate::helpers::token_of(fay_new.link.expose_secret());
        assert_ne!(fay_new, fay_old.token);
        assert!(fay_new.starts_with(&format!("2.{}.", b.link_tag.as_str())));
        let again = tokens(
            batch::open_live_links(&store, &url, &b, &admin, now())
                .await
                .unwrap(),
        );
        assert!(again.contains(&("fay@example.org".to_owned(), fay_new.clone())));
        assert!(!again.iter().any(|(_, t)| t == &fay_old.token));
        assert_eq!(again.len(), opened.len());
        (fay_old.token.clone(), fay_new)
    };

    let mut db = connect(&data.join(DATABASE)).await;
    let derived: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM links WHERE link_counter IS NOT NULL")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(derived, 0, "nothing in an old batch is derived");

    let server = Server::start(&data);
    let client = reqwest::Client::new();
    let get = |token: String| {
        let (client, base) = (&client, &server.address);
        async move {
            client
                .get(format!("{base}/s/{token}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for l in live.iter().filter(|l| l.email != "fay@example.org") {
        assert_eq!(get(l.token.clone()).await, 200, "{}'s old link", l.email);
    }
    assert_eq!(get(fay_old).await, 410, "fay's replaced link");
    assert_eq!(get(fay_new.clone()).await, 200, "fay's reissued link");
    let r = client
        .post(format!("{}/s/{}", server.address, fay_new))
        .form(&[
            ("password", "fay after 0017"),
            ("password_confirm", "fay after 0017"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop();
}
