//! The admin passphrase (issue 19, finding 3): a weak one is refused with a reason on the
//! setup page and by `admin init`; a generated one is offered and accepted; and
//! `admin change-passphrase` and the console's page wrap the same key again, so every
//! batch still exports, the old passphrase opens nothing, and a failure changes nothing.

use std::path::Path;

use passdrop::batch::{self, BatchError};
use passdrop::config;
use passdrop::crypto::KdfParams;
use passdrop::mail::{RelayFields, SmtpSettings};
use passdrop::storage::{Batch, Store};
use secrecy::ExposeSecret as _;

use crate::helpers::{
    CHEAP_KDF, PASSPHRASE, TestApp, canaries_found, console_get, console_post, cookie_of, link,
    parse_csv, passdrop, run, secret, stderr,
};

const NEW_PASSPHRASE: &str = "otter lantern gravel: a new admin passphrase";
const ROSTER: &str = "EmailAddress,UserName\nann@example.com,ann\nbob@example.com,bob\n";
const TWELVE_SPACES: &str = "            ";

fn write(path: &Path, text: &str) -> std::path::PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

/// The generated passphrase a page suggests.
fn suggestion_in(html: &str) -> String {
    let start = html.find("<code class=\"passphrase\">").unwrap() + 25;
    let len = html[start..].find("</code>").unwrap();
    html[start..start + len].to_owned()
}

/// Two batches, each with one password in (one of them the longest allowed).
async fn two_batches_with_passwords(app: &TestApp) -> Vec<(Batch, String)> {
    let mut made = Vec::new();
    for (name, password) in [
        ("first", "ann's password, \"quoted\"".to_owned()),
        ("second", "é".repeat(512)),
    ] {
        let (b, links) = app.create_batch(name, ROSTER).await;
        let r = app.submit(&link(&links[0]), &password, &password).await;
        assert_eq!(r.status(), 200);
        made.push((b, password));
    }
    made
}

/// Exports every batch with `passphrase` and checks each password comes back byte-exact.
async fn every_batch_exports_with(store: &Store, passphrase: &str, made: &[(Batch, String)]) {
    let admin = batch::unlock_admin(store, secret(passphrase))
        .await
        .unwrap();
    for (b, password) in made {
        let (e, _) = batch::export_m365(
            store,
            b,
            &admin,
            batch::PurgeChoice::AfterLinksExpire,
            config::now(),
        )
        .await
        .unwrap();
        let rows = parse_csv(&e.csv);
        assert_eq!(rows[1][0], "ann@example.com");
        assert_eq!(rows[1][2], *password, "{}", b.name);
    }
}

/// Whether the session `cookie` is sent to the login page.
async fn logged_out(app: &TestApp, cookie: &str) -> bool {
    let r = app
        .client
        .get(format!("{}/admin/batches", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    r.status() == 303 && r.headers()["location"] == "/admin/login"
}

async fn wrong(store: &Store, passphrase: &str) -> bool {
    matches!(
        batch::unlock_admin(store, secret(passphrase)).await,
        Err(BatchError::WrongPassphrase)
    )
}

#[tokio::test]
async fn the_setup_page_refuses_weak_passphrases_with_a_reason_and_offers_a_strong_one() {
    let app = TestApp::spawn_without_admin().await;
    let url = app.setup_url().await;
    let page = app.get(&url).await.text().await.unwrap();
    let suggestion = suggestion_in(&page);
    assert_eq!(suggestion.split(' ').count(), 6, "{suggestion}");
    let again = suggestion_in(&app.get(&url).await.text().await.unwrap());
    assert_ne!(suggestion, again, "a fresh suggestion each time");

    let post = |pass: String| {
        app.client
            .post(&url)
            .form(&[("passphrase", pass.clone()), ("passphrase_confirm", pass)])
            .send()
    };
    for (weak, why) in [
        ("password1234", "very common password"),
        (TWELVE_SPACES, "epeats like"),
    ] {
        let r = post(weak.to_owned()).await.unwrap();
        assert_eq!(r.status(), 422, "{weak:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains("too easy to guess"), "{page}");
        assert!(page.contains(why), "{weak:?}: {page}");
        // The refusal offers a strong one again.
        assert_eq!(suggestion_in(&page).split(' ').count(), 6);
    }
    assert!(!app.store.admin_exists().await.unwrap());

    // The suggested passphrase is accepted, and unlocks the key.
    let r = post(suggestion.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        batch::unlock_admin(&app.store, secret(&suggestion))
            .await
            .is_ok()
    );
    let dir = app.stop().await;
    // Offered, never stored.
    assert!(canaries_found(dir.path(), &[&suggestion, &again]).is_empty());
}

#[tokio::test]
async fn admin_init_refuses_weak_passphrases_and_generates_a_strong_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (weak, why) in [
        ("password1234", "very common password"),
        (TWELVE_SPACES, "epeats like"),
    ] {
        let file = write(&tmp.path().join("weak"), weak);
        let o = run(passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&file));
        assert_eq!(o.status.code(), Some(2), "{weak:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("too easy to guess"), "{}", stderr(&o));
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
        assert!(stderr(&o).contains("--generate"), "{}", stderr(&o));
    }
    let o = run(passdrop(&data)
        .env("PASSDROP_LOG", "trace")
        .args(["admin", "init", "--generate"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let generated = String::from_utf8(o.stdout.clone()).unwrap();
    let generated = generated.trim_end_matches('\n');
    assert_eq!(generated.split(' ').count(), 6, "{generated:?}");
    assert!(!stderr(&o).contains(generated), "printed to stdout only");
    assert!(canaries_found(&data, &[generated]).is_empty());

    // The generated passphrase is the one set: it unlocks the key.
    let store = Store::open(&data).await.unwrap();
    assert!(batch::unlock_admin(&store, secret(generated)).await.is_ok());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn change_passphrase_on_the_command_line_keeps_every_batch() {
    let app = TestApp::spawn().await;
    let made = two_batches_with_passwords(&app).await;
    let relay = SmtpSettings::from_fields(RelayFields {
        host: "smtp.example.org",
        port: Some(587),
        security: "starttls",
        credentials: Some(("it".to_owned(), secret("relay password"))),
        from: "it@example.org",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap();
    let public_key = app.store.admin_key().await.unwrap().unwrap().public_key;
    app.store
        .save_smtp_settings(&relay.to_stored(&public_key, config::now()).unwrap())
        .await
        .unwrap();
    let cookie = app.login().await;

    let tmp = tempfile::tempdir().unwrap();
    let old = write(&tmp.path().join("old"), &format!("{PASSPHRASE}\n"));
    let new = write(&tmp.path().join("new"), &format!("{NEW_PASSPHRASE}\n"));
    let weak = write(&tmp.path().join("weak"), "password1234");
    let data = app.data_dir.path();
    let change = |old: &Path, new: &Path, extra: &[&str]| {
        run(passdrop(data)
            .args(["admin", "change-passphrase", "--passphrase-file"])
            .arg(old)
            .arg("--new-passphrase-file")
            .arg(new)
            .args(extra))
    };
    let before = app.store.admin_key().await.unwrap().unwrap();

    // Refused, and nothing changes: a weak new passphrase, a wrong current one, an
    // Argon2 memory out of bounds.
    let o = change(&old, &weak, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("very common password"),
        "{}",
        stderr(&o)
    );
    let o = change(&new, &new, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("current passphrase is wrong"),
        "{}",
        stderr(&o)
    );
    let o = change(&old, &new, &["--kdf-memory-mib", "4096"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(app.store.admin_key().await.unwrap().unwrap(), before);

    let o = change(&old, &new, &["--kdf-memory-mib", "65"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("was changed"), "{}", stderr(&o));
    let after = app.store.admin_key().await.unwrap().unwrap();
    assert_eq!(after.public_key, before.public_key, "the same key");
    assert_eq!(
        after.kdf,
        KdfParams {
            m_cost: 65 * 1024,
            ..CHEAP_KDF
        },
        "stored with the key"
    );

    assert!(wrong(&app.store, PASSPHRASE).await);
    every_batch_exports_with(&app.store, NEW_PASSPHRASE, &made).await;
    // The saved relay's password, sealed to the same public key, still opens.
    let admin = batch::unlock_admin(&app.store, secret(NEW_PASSPHRASE))
        .await
        .unwrap();
    let saved = app.store.smtp_settings().await.unwrap().unwrap();
    let opened = SmtpSettings::from_stored(&saved, Some(&admin)).unwrap();
    let (_, password) = opened.credentials.unwrap();
    assert_eq!(password.expose_secret(), "relay password");
    // Every console session was logged out.
    assert!(logged_out(&app, &cookie).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn change_passphrase_in_the_console_keeps_every_batch() {
    let app = TestApp::spawn().await;
    let made = two_batches_with_passwords(&app).await;
    let cookie = app.login().await;
    let other = app.login().await;
    let url = format!("{}/admin/passphrase", app.address);
    let page = console_get(&app.client, &url, &cookie).await;
    assert!(page.contains("Current passphrase"), "{page}");
    assert_eq!(suggestion_in(&page).split(' ').count(), 6);
    // Without a session: to the login page, nothing changed.
    let r = app
        .client
        .post(&url)
        .form(&[
            ("passphrase", PASSPHRASE),
            ("new_passphrase", NEW_PASSPHRASE),
            ("new_passphrase_confirm", NEW_PASSPHRASE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/admin/login");

    let form = |current: &str, new: &str, confirm: &str| {
        [
            ("passphrase", current.to_owned()),
            ("new_passphrase", new.to_owned()),
            ("new_passphrase_confirm", confirm.to_owned()),
        ]
    };
    let before = app.store.admin_key().await.unwrap().unwrap();
    for (f, status, says) in [
        (
            form(PASSPHRASE, "password1234", "password1234"),
            422,
            "very common password",
        ),
        (
            form(PASSPHRASE, TWELVE_SPACES, TWELVE_SPACES),
            422,
            "epeats like",
        ),
        (
            form(PASSPHRASE, NEW_PASSPHRASE, "something else"),
            422,
            "differ",
        ),
        (
            form("not the passphrase", NEW_PASSPHRASE, NEW_PASSPHRASE),
            401,
            "not right",
        ),
    ] {
        let (code, page) = console_post(&app.client, &url, &cookie, &f).await;
        assert_eq!(code, status, "{page}");
        assert!(page.contains(says), "{says}: {page}");
        assert!(page.contains("Nothing was changed"), "{page}");
    }
    assert_eq!(app.store.admin_key().await.unwrap().unwrap(), before);

    // Post/Redirect/Get: 303 to a page that says it changed.
    let r = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .form(&form(PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/admin/passphrase/changed");
    let done = console_get(&app.client, &format!("{}{location}", app.address), &cookie).await;
    assert!(done.contains("passphrase was changed"), "{done}");

    // This session goes on; the other one ended.
    assert!(logged_out(&app, &other).await);
    assert!(!logged_out(&app, &cookie).await);

    // The old passphrase opens nothing; the new one logs in and exports every batch.
    let login = |pass: &'static str| {
        app.client
            .post(format!("{}/admin/login", app.address))
            .form(&[("passphrase", pass)])
            .send()
    };
    assert_eq!(login(PASSPHRASE).await.unwrap().status(), 401);
    let r = login(NEW_PASSPHRASE).await.unwrap();
    assert_eq!(r.status(), 303);
    let _ = cookie_of(&r);
    assert!(wrong(&app.store, PASSPHRASE).await);
    every_batch_exports_with(&app.store, NEW_PASSPHRASE, &made).await;
    let after = app.store.admin_key().await.unwrap().unwrap();
    assert_eq!(after.public_key, before.public_key);
    assert_eq!(after.kdf, before.kdf, "the console keeps the parameters");
    app.stop().await;
}

/// A failure after the new wrap is written but before the transaction commits (here the
/// sessions cannot be ended) leaves the old wrap in place: the old passphrase still
/// opens everything and the new one nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_fails_midway_changes_nothing() {
    let app = TestApp::spawn().await;
    let made = two_batches_with_passwords(&app).await;
    let cookie = app.login().await;
    let before = app.store.admin_key().await.unwrap().unwrap();

    let db = app.store.database_path().to_owned();
    let inject = |sql: &'static str| {
        let db = db.clone();
        async move {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    };
    inject(
        "CREATE TRIGGER fail_midway BEFORE DELETE ON admin_sessions \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .await;
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    let result =
        batch::change_admin_passphrase(&app.store, admin, secret(NEW_PASSPHRASE), None, None).await;
    assert!(result.is_err(), "the injected failure");
    assert_eq!(app.store.admin_key().await.unwrap().unwrap(), before);
    assert!(wrong(&app.store, NEW_PASSPHRASE).await);
    every_batch_exports_with(&app.store, PASSPHRASE, &made).await;
    assert!(
        !logged_out(&app, &cookie).await,
        "the session was not ended either"
    );

    // Without the fault, the same change goes through.
    inject("DROP TRIGGER fail_midway").await;
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    batch::change_admin_passphrase(&app.store, admin, secret(NEW_PASSPHRASE), None, None)
        .await
        .unwrap();
    every_batch_exports_with(&app.store, NEW_PASSPHRASE, &made).await;
    app.stop().await;
}

/// Only *setting* a passphrase is checked: a key set before the check (or with a weak
/// passphrase by an earlier release) still unlocks, and can be changed to a strong one.
#[tokio::test]
async fn a_weak_passphrase_set_earlier_still_unlocks_and_can_be_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let wrapped = passdrop::crypto::create_admin_key(&secret("password1234"), CHEAP_KDF).unwrap();
    store
        .insert_admin_key(&wrapped, config::now())
        .await
        .unwrap();
    let admin = batch::unlock_admin(&store, secret("password1234"))
        .await
        .unwrap();
    // Not to another weak one.
    assert!(matches!(
        batch::change_admin_passphrase(&store, admin, secret("password12345"), None, None).await,
        Err(BatchError::WeakPassphrase(_))
    ));
    let admin = batch::unlock_admin(&store, secret("password1234"))
        .await
        .unwrap();
    batch::change_admin_passphrase(&store, admin, secret(NEW_PASSPHRASE), None, None)
        .await
        .unwrap();
    assert!(wrong(&store, "password1234").await);
    assert!(
        batch::unlock_admin(&store, secret(NEW_PASSPHRASE))
            .await
            .is_ok()
    );
    store.close().await;
}
