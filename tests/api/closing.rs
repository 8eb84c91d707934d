//! The end of a batch without surprises (issue 15, defects 2 and 3): an export never
//! brings the automatic purge before the links of users still pending expire unless the
//! admin chooses it (console and command line); the purge names those users; afterwards
//! their links answer 410 "This collection has closed" from a tombstone that holds no
//! user data; links of format 1 still work; the links CSV offers a BOM for Excel, the
//! Microsoft 365 file never has one.

use crate::helpers::{
    PASSPHRASE, TestApp, canaries_found, console_get, console_post, link, passdrop, roster_of, run,
    stderr, token_of,
};
use passdrop::batch::{self, IssuedLink};
use passdrop::config;
use passdrop::crypto::LinkToken;
use passdrop::storage::{Batch, Store};
use sqlx::ConnectOptions as _;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A batch of four users (`{name}0..3@example.org`), the first two of whom submitted.
async fn half_submitted(app: &TestApp, name: &str) -> (Batch, Vec<IssuedLink>) {
    let (b, links) = app.create_batch(name, &roster_of(name, 4)).await;
    for l in &links[..2] {
        let r = app.submit(&link(l), "Passw0rd!", "Passw0rd!").await;
        assert_eq!(r.status(), 200);
    }
    (b, links)
}

async fn reload(store: &Store, b: &Batch) -> Batch {
    store.require_batch(&b.id).await.unwrap()
}

/// Posts the console's export form; returns the status and the body's bytes.
async fn console_export(
    app: &TestApp,
    b: &Batch,
    cookie: &str,
    purge: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut form = vec![("passphrase", PASSPHRASE)];
    if let Some(choice) = purge {
        form.push(("purge", choice));
    }
    let r = app
        .client
        .post(format!("{}/admin/batches/{}/export", app.address, b.id))
        .header("Cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_console_export_never_purges_before_the_links_expire_unless_chosen() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, _) = half_submitted(&app, "console").await;
    let page_url = format!("{}/admin/batches/{}/export", app.address, b.id);

    // Before any download: who is missing, the choices with their dates, the red notice.
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(page.contains("Who has not submitted (2)"), "{page}");
    assert!(page.contains("console2@example.org") && page.contains("console3@example.org"));
    // (Not among those who have not submitted; named only as in no downloaded file.)
    assert!(!page.contains("&lt;console0@example.org&gt;"), "{page}");
    assert!(page.contains("Partial export, keep collecting"), "{page}");
    assert!(
        page.contains(r#"value="after-links-expire" checked"#),
        "{page}"
    );
    assert!(page.contains("Purging early cuts links short"), "{page}");
    assert!(page.contains(&config::format_time(b.expires_at)), "{page}");
    assert!(!page.contains("Last export"), "{page}");

    // The default partial export: the purge stays after the links expire.
    let (status, csv) = console_export(&app, &b, &cookie, None).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with(b"EmailAddress,UserName,Password\r\n"));
    let after = reload(&app.store, &b).await;
    assert_eq!(batch::automatic_purge_at(&after), b.expires_at);
    // The next visit says how many rows were written.
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(page.contains("Last export: 2 rows"), "{page}");

    // "Keep collecting" leaves the date alone.
    let (kept, _) = half_submitted(&app, "kept").await;
    let before = batch::automatic_purge_at(&kept);
    let (status, _) = console_export(&app, &kept, &cookie, Some("keep-collecting")).await;
    assert_eq!(status, 200);
    assert_eq!(
        batch::automatic_purge_at(&reload(&app.store, &kept).await),
        before
    );

    // Something else is refused, and changes nothing.
    let (status, body) = console_export(&app, &kept, &cookie, Some("tomorrow")).await;
    assert_eq!(status, 422);
    assert!(String::from_utf8_lossy(&body).contains("Choose what the download does"));
    assert_eq!(
        batch::automatic_purge_at(&reload(&app.store, &kept).await),
        before
    );

    // The deliberate choice moves the purge to a day after the export.
    let (early, _) = half_submitted(&app, "early").await;
    let now = config::now();
    let (status, _) = console_export(&app, &early, &cookie, Some("early")).await;
    assert_eq!(status, 200);
    let purge_at = batch::automatic_purge_at(&reload(&app.store, &early).await);
    assert!(purge_at < early.expires_at);
    assert!(
        (purge_at - (now + early.retain_after_export_secs)).abs() < 60,
        "{purge_at}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_export_never_purges_before_the_links_expire_unless_told() {
    let app = TestApp::spawn().await;
    let (keep, _) = half_submitted(&app, "keep").await;
    let (default, _) = half_submitted(&app, "default").await;
    let (early, _) = half_submitted(&app, "early").await;
    let dir = app.stop().await;
    let export = |name: &str, flags: &[&str]| {
        let o = run(passdrop(dir.path())
            .args(["export", name])
            .args(flags)
            .env("PASSDROP_PASSPHRASE", PASSPHRASE));
        assert!(o.status.success(), "{}", stderr(&o));
        // Standard output is the file, exactly as before.
        assert!(o.stdout.starts_with(b"EmailAddress,UserName,Password\r\n"));
        stderr(&o)
    };
    let now = config::now();
    let said = export("keep", &["--keep-collecting"]);
    assert!(
        said.contains("Partial export, collecting goes on"),
        "{said}"
    );
    let said = export("default", &[]);
    assert!(
        said.contains("once the links of users who have not submitted expire"),
        "{said}"
    );
    let said = export("early", &["--allow-early-purge"]);
    assert!(said.contains("WARNING"), "{said}");

    let o = run(passdrop(dir.path())
        .args(["export", "keep", "--keep-collecting", "--allow-early-purge"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(
        batch::automatic_purge_at(&reload(&store, &keep).await),
        batch::automatic_purge_at(&keep)
    );
    assert_eq!(
        batch::automatic_purge_at(&reload(&store, &default).await),
        default.expires_at
    );
    let purge_at = batch::automatic_purge_at(&reload(&store, &early).await);
    assert!(purge_at < early.expires_at);
    assert!((purge_at - (now + early.retain_after_export_secs)).abs() < 120);
    store.close().await;
}

/// Replaces the live link of `email` with a format 1 token (as emailed before link
/// format 2) written straight into the database; returns the token.
async fn make_format_1_link(app: &TestApp, email: &str) -> String {
    let token = LinkToken::generate().unwrap();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.data_dir.path().join("passdrop.sqlite3"))
        .connect()
        .await
        .unwrap();
    let done = sqlx::query(
        "UPDATE links SET token_hash = ? WHERE state = 'live' \
         AND recipient_id = (SELECT id FROM recipients WHERE email = ?)",
    )
    .bind(token.hash().as_slice())
    .bind(email)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
    token.expose().to_owned()
}

#[tokio::test]
async fn after_a_purge_pending_links_say_the_collection_has_closed_and_nothing_of_the_users_remains()
 {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let roster = "EmailAddress,DisplayName\n\
                  canary.ann@canary-closing.example,Canaryname Annabel\n\
                  canary.bob@canary-closing.example,Canaryname Bobbington\n\
                  canary.cy@canary-closing.example,Canaryname Cyrilla\n";
    let (b, links) = app.create_batch("closing", roster).await;
    // Branded too: its contact and logo go with it.
    let b = crate::branding::brand(&app, &b).await;
    assert_eq!(
        app.submit(&link(&links[0]), "CanaryPw-1!", "CanaryPw-1!")
            .await
            .status(),
        200
    );
    // Cy's link is of format 1, as emailed by an older release: it still works.
    let old = make_format_1_link(&app, "canary.cy@canary-closing.example").await;
    let old_link = app.public_url.link_for(&old);
    let r = app.get(&old_link).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("canary.cy@canary-closing.example")
    );

    // Bob asks for help (a per-user state, kept with his rows until the purge).
    let help = app
        .client
        .post(format!("{}/help", link(&links[1])))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(help.status(), 200);

    // The purge confirmation names the users whose links stop working now.
    let page_url = format!("{}/admin/batches/{}/export", app.address, b.id);
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(page.contains("Purging now stops them at once"), "{page}");
    assert!(page.contains("Canaryname Bobbington"), "{page}");
    assert!(page.contains("canary.cy@canary-closing.example"), "{page}");

    // Ann's password is in no downloaded file yet: the admin downloads, then purges.
    assert!(page.contains("no file has been downloaded yet"), "{page}");
    let (status, csv) = console_export(&app, &b, &cookie, None).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&csv).contains("CanaryPw-1!"));
    let (status, _) = console_post(
        &app.client,
        &format!("{}/admin/batches/{}/purge", app.address, b.id),
        &cookie,
        &[("confirm", "yes"), ("passphrase", PASSPHRASE)],
    )
    .await;
    assert_eq!(status, 303);

    // Bob's pending link (format 2): 410, the collection has closed, contact Example Ltd.
    let bob = link(&links[1]);
    for r in [app.get(&bob).await, app.submit(&bob, "late", "late").await] {
        assert_eq!(r.status(), 410);
        let text = r.text().await.unwrap();
        assert!(
            text.contains("This collection has closed; contact Example Ltd"),
            "{text}"
        );
        assert!(!text.contains("Link not recognised"), "{text}");
    }
    // A format 1 link carries no tag: once its batch is gone it is unknown, as before.
    assert_eq!(app.get(&old_link).await.status(), 404);
    // A tag alone, with a secret nobody issued, is still only a closed collection, and
    // an unknown tag is an unknown link.
    let tag = LinkToken::parse(&token_of(&bob)).unwrap().tag().unwrap();
    let forged = format!("2.{}.{}", tag.as_str(), "A".repeat(42) + "A");
    assert_eq!(
        app.get(&app.public_url.link_for(&forged)).await.status(),
        410
    );
    let unknown = format!("2.000000000000.{}", "A".repeat(43));
    assert_eq!(
        app.get(&app.public_url.link_for(&unknown)).await.status(),
        404
    );

    // The tombstone keeps the tag and the organisation's name, nothing of the users.
    let t = app.store.find_tombstone("closing").await.unwrap().unwrap();
    assert_eq!(t.link_tag.as_deref(), Some(tag.as_str()));
    assert_eq!(t.org_name.as_deref(), Some("Example Ltd"));
    let tokens: Vec<String> = links.iter().map(|l| token_of(&link(l))).collect();
    let mut canaries = vec![
        "canary-closing",
        "canary.ann",
        "canary.bob",
        "Canaryname",
        "Bobbington",
        "CanaryPw-1!",
        old.as_str(),
        "Ann Smith",
        "7946 0000",
        "pass.example.org",
    ];
    canaries.extend(tokens.iter().map(String::as_str));
    // The secret part of each link too, on its own.
    let secrets: Vec<&str> = tokens.iter().map(|t| &t[t.len() - 43..]).collect();
    canaries.extend(secrets.iter().copied());
    let found = canaries_found(app.data_dir.path(), &canaries);
    assert!(found.is_empty(), "after purge, server running: {found:?}");
    let dir = app.stop().await;
    let found = canaries_found(dir.path(), &canaries);
    assert!(found.is_empty(), "after purge and stop: {found:?}");
}

/// The `discard` value on the export page's purge form (the fingerprint of the
/// passwords no download holds), if the page has that box.
fn discard_value(page: &str) -> Option<String> {
    let at = page.find(r#"name="discard" value=""#)? + r#"name="discard" value=""#.len();
    Some(page[at..].split('"').next()?.to_owned())
}

/// How many submissions the test's database records as read by an export.
async fn export_marks(app: &TestApp) -> i64 {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.data_dir.path().join("passdrop.sqlite3"))
        .connect()
        .await
        .unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM exported_submissions")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// The console's purge never destroys a password silently: while some are in no file
/// the admin downloaded (nothing downloaded yet, or submitted after the last download),
/// the page names their users and the purge is refused (409, nothing purged) unless the
/// admin downloads again or ticks "Purge anyway" for exactly that list; a user who
/// submits after the page was shown changes the list, and the old tick no longer
/// passes.
#[tokio::test]
async fn the_console_purge_names_passwords_no_download_holds_and_keeps_them_unless_discarded() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, links) = half_submitted(&app, "unsaved").await;
    let page_url = format!("{}/admin/batches/{}/export", app.address, b.id);
    let purge_url = format!("{}/admin/batches/{}/purge", app.address, b.id);
    let purge = |discard: Option<String>| {
        let (client, purge_url, cookie) = (app.client.clone(), purge_url.clone(), cookie.clone());
        async move {
            let mut form = vec![
                ("confirm", "yes".to_owned()),
                ("passphrase", PASSPHRASE.to_owned()),
            ];
            if let Some(d) = discard {
                form.push(("discard", d));
            }
            console_post(&client, &purge_url, &cookie, &form).await
        }
    };

    // Nothing downloaded: both passwords are named, and the purge is refused.
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(
        page.contains("2 users' passwords are in no file you downloaded"),
        "{page}"
    );
    assert!(page.contains("no file has been downloaded yet"), "{page}");
    assert!(page.contains("unsaved0@example.org") && page.contains("unsaved1@example.org"));
    let first = discard_value(&page).expect("a Purge anyway box");
    let (status, said) = purge(None).await;
    assert_eq!(status, 409, "{said}");
    assert!(said.contains("Nothing was purged"), "{said}");
    assert!(said.contains("unsaved1@example.org"), "{said}");
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);

    // A download holds them: the note and the box are gone.
    let (status, _) = console_export(&app, &b, &cookie, None).await;
    assert_eq!(status, 200);
    assert_eq!(export_marks(&app).await, 2);
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(!page.contains("in no file you downloaded"), "{page}");
    assert_eq!(discard_value(&page), None);

    // A third user submits after the download: named, refused, and the tick given for
    // the first list no longer passes.
    let r = app.submit(&link(&links[2]), "Passw0rd!", "Passw0rd!").await;
    assert_eq!(r.status(), 200);
    let page = console_get(&app.client, &page_url, &cookie).await;
    assert!(
        page.contains("1 user's password is in no file you downloaded"),
        "{page}"
    );
    assert!(
        page.contains("no download was recorded since they submitted"),
        "{page}"
    );
    assert!(page.contains("unsaved2@example.org"), "{page}");
    let now = discard_value(&page).expect("a Purge anyway box");
    assert_ne!(now, first);
    let (status, said) = purge(Some(first)).await;
    assert_eq!(status, 409, "{said}");
    assert!(
        said.contains("The list changed while the page was open"),
        "{said}"
    );
    assert_eq!(app.store.list_batches().await.unwrap().len(), 1);

    // Ticked for the list as it stands: purged, and nothing of the marks is left.
    let (status, said) = purge(Some(now)).await;
    assert_eq!(status, 303, "{said}");
    assert!(said.contains("Purged unsaved"), "{said}");
    assert!(app.store.list_batches().await.unwrap().is_empty());
    assert_eq!(export_marks(&app).await, 0);
}

#[tokio::test]
async fn the_command_line_purge_names_the_links_it_stops() {
    let app = TestApp::spawn().await;
    half_submitted(&app, "named").await;
    let dir = app.stop().await;
    let o = run(passdrop(dir.path()).args(["purge", "named", "--yes"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains(
            "2 users have not submitted and have working links that stop working now: \
                       named2@example.org, named3@example.org"
        ),
        "{said}"
    );
    // Never exported: the two submitted passwords are named before they are destroyed.
    assert!(
        said.contains(
            "Warning: 2 users' passwords are in no exported file (the batch was never \
             exported), and the purge destroys them: named0@example.org, named1@example.org."
        ),
        "{said}"
    );
}

#[tokio::test]
async fn only_the_links_csv_offers_a_bom_for_excel() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let roster = "EmailAddress,DisplayName\nzoe@example.org,Zoë Ångström\n";
    let (b, links) = app.create_batch("accents", roster).await;
    let links_url = format!("{}/admin/batches/{}/links", app.address, b.id);
    let get_links = |bom: bool| {
        let mut form = vec![("passphrase", PASSPHRASE), ("format", "csv")];
        if bom {
            form.push(("excel_bom", "yes"));
        }
        let (client, url, cookie) = (app.client.clone(), links_url.clone(), cookie.clone());
        async move {
            let r = client
                .post(url)
                .header("Cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    let plain = get_links(false).await;
    assert!(plain.starts_with(b"EmailAddress,DisplayName,Link\r\n"));
    let excel = get_links(true).await;
    assert!(excel.starts_with(BOM), "{excel:?}");
    assert_eq!(&excel[3..], plain.as_slice());
    assert!(String::from_utf8(excel).unwrap().contains("Zoë Ångström"));

    // The Microsoft 365 export never starts with one, whatever the form carries.
    let p = "Pässwörd";
    assert_eq!(app.submit(&link(&links[0]), p, p).await.status(), 200);
    let r = app
        .client
        .post(format!("{}/admin/batches/{}/export", app.address, b.id))
        .header("Cookie", &cookie)
        .form(&[("passphrase", PASSPHRASE), ("excel_bom", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.bytes().await.unwrap();
    assert!(
        csv.starts_with(b"EmailAddress,UserName,Password\r\n"),
        "{csv:?}"
    );
    let dir = app.stop().await;

    // The command line: `--excel-bom` for the links file only.
    let roster_file = dir.path().join("roster.csv");
    std::fs::write(&roster_file, roster).unwrap();
    let out = dir.path().join("links.csv");
    let o = run(passdrop(dir.path())
        .args(["batch", "create", "--name", "cli accents", "--roster"])
        .arg(&roster_file)
        .arg("--links-out")
        .arg(&out)
        .arg("--excel-bom")
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(BOM));
    assert!(bytes[3..].starts_with(b"EmailAddress,DisplayName,Link\r\n"));
    let o = run(passdrop(dir.path())
        .args(["link", "reissue", "cli accents", "zoe@example.org"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.starts_with(b"EmailAddress,"),
        "no BOM unless asked"
    );
    let o = run(passdrop(dir.path()).args([
        "link",
        "reissue",
        "cli accents",
        "zoe@example.org",
        "--excel-bom",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(BOM));
    let o = run(passdrop(dir.path())
        .args(["export", "accents", "--excel-bom"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(
        o.status.code(),
        Some(2),
        "export has no --excel-bom: {}",
        stderr(&o)
    );
    let o = run(passdrop(dir.path())
        .args(["export", "accents"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"EmailAddress,UserName,Password\r\n"));
}

#[tokio::test]
async fn a_big_batch_names_the_first_pending_users_and_links_to_all() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let (b, _) = app.create_batch("big", &roster_of("many", 25)).await;
    let url = format!("{}/admin/batches/{}/export", app.address, b.id);
    let page = console_get(&app.client, &url, &cookie).await;
    assert!(page.contains("Who has not submitted (25)"), "{page}");
    assert!(page.contains("many19@example.org"));
    assert!(!page.contains("many20@example.org"), "only the first 20");
    assert!(page.contains("and 5 more"), "{page}");
    assert!(page.contains("export?missing=all"), "{page}");
    let all = console_get(&app.client, &format!("{url}?missing=all"), &cookie).await;
    assert!(all.contains("many24@example.org"), "{all}");
    assert!(!all.contains("and 5 more"), "{all}");
    app.stop().await;
}
