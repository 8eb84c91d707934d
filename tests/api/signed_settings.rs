//! Stored settings are signed (issue 19, finding 6): a row changed directly in SQLite is
//! refused before use, nothing reaches the tampered target, and the link still works.

use crate::helpers::*;
use passdrop::batch;

const ROSTER: &str = "EmailAddress\nana@example.org\n";

async fn exec(app: &TestApp, sql: &str, blob: Option<Vec<u8>>) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store.database_path())
        .connect()
        .await
        .unwrap();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(blob) = blob {
        q = q.bind(blob);
    }
    q.execute(&mut conn).await.unwrap();
}

/// A listener that counts the connections it receives.
async fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, seen)
}

async fn refused_and_link_kept(app: &TestApp, link: &str) {
    let r = app.submit(link, "a password", "a password").await;
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(page.contains("your link still works"), "{page}");
    // Not burned: the form still shows.
    assert_eq!(app.get(link).await.status(), 200);
}

#[tokio::test]
async fn signed_batches_take_passwords_and_tampered_ones_are_refused() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("signed", ROSTER).await;
    assert!(b.settings_sig.is_some() && b.message_sig.is_some());
    let (_, other_links) = app.create_batch("other", ROSTER).await;

    // A tampered IMAP host: nothing connects to it, nothing is accepted.
    let (port, seen) = counting_listener().await;
    exec(
        &app,
        &format!(
            "UPDATE batches SET imap_url = 'imaps://127.0.0.1:{port}' WHERE id = '{}'",
            b.id
        ),
        None,
    )
    .await;
    refused_and_link_kept(&app, &link(&links[0])).await;
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);

    // Back as signed: accepted end to end.
    exec(
        &app,
        &format!("UPDATE batches SET imap_url = NULL WHERE id = '{}'", b.id),
        None,
    )
    .await;
    let r = app.submit(&link(&links[0]), "pw one", "pw one").await;
    assert_eq!(r.status(), 200);

    // A swapped public key (the other batch's), a deleted signature, another batch's
    // signature: each refused.
    let other = app.store.require_batch("other").await.unwrap();
    let signed = app.store.require_batch("signed").await.unwrap();
    for (sql, blob) in [
        (
            "UPDATE batches SET public_key = ? WHERE name = 'other'",
            Some(signed.public_key.clone()),
        ),
        (
            "UPDATE batches SET public_key = ?, settings_sig = NULL WHERE name = 'other'",
            Some(other.public_key.clone()),
        ),
        (
            "UPDATE batches SET settings_sig = ? WHERE name = 'other'",
            signed.settings_sig.clone(),
        ),
        (
            "UPDATE batches SET settings_sig = ?, org_name = 'Evil Ltd' WHERE name = 'other'",
            other.settings_sig.clone(),
        ),
    ] {
        exec(&app, sql, blob).await;
        refused_and_link_kept(&app, &link(&other_links[0])).await;
    }
    let refused = app
        .store
        .audit_trail(&other.id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == passdrop::storage::AuditKind::SettingsRefused);
    assert!(refused);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_key_file_refuses_every_submission() {
    let app = TestApp::spawn().await;
    let (_, links) = app
        .create_batch("b", "EmailAddress\na@example.org\nb@example.org\n")
        .await;
    let key = app.key_file();
    let good = std::fs::read_to_string(key.path()).unwrap();
    std::fs::remove_file(key.path()).unwrap();
    refused_and_link_kept(&app, &link(&links[0])).await;
    std::fs::write(
        key.path(),
        "passdrop-settings-key-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    refused_and_link_kept(&app, &link(&links[0])).await;
    std::fs::write(key.path(), "garbage\n").unwrap();
    refused_and_link_kept(&app, &link(&links[0])).await;
    std::fs::write(key.path(), good).unwrap();
    assert_eq!(app.submit(&link(&links[0]), "pw", "pw").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn unsigned_batches_wait_for_the_passphrase_and_changes_keep_working() {
    let app = TestApp::spawn().await;
    let (b, links) = batch::create(
        &app.store,
        &app.public_url,
        passdrop::batch::NewBatch {
            name: "unsigned".into(),
            org_name: None,
            link_lifetime: std::time::Duration::from_secs(86_400),
            next_steps: None,
            ask_mail_client: false,
            retention: batch::Retention::default(),
            roster: passdrop::roster::parse_roster(ROSTER.as_bytes()).unwrap(),
            imap: None,
        },
        passdrop::config::now(),
    )
    .await
    .unwrap();
    assert!(b.settings_sig.is_none());
    refused_and_link_kept(&app, &link(&links[0])).await;
    // Opening its links takes the passphrase, and signs it as it stands.
    let admin = app.admin().await;
    batch::open_live_links(
        &app.store,
        &app.public_url,
        &b,
        &admin,
        passdrop::config::now(),
    )
    .await
    .unwrap();
    // A passphrase change keeps the same settings key.
    batch::change_admin_passphrase(
        &app.store,
        admin,
        secret("another passphrase, long and odd 7"),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(app.submit(&link(&links[0]), "pw", "pw").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_tampered_message_or_relay_is_refused_before_sending() {
    let app = TestApp::spawn().await;
    let (b, _) = app.create_batch("m", ROSTER).await;
    let admin = app.admin().await;
    batch::set_message(&app.store, &b, Some(("Hello", "Go to {link}")), &admin)
        .await
        .unwrap();
    let b = app.store.require_batch("m").await.unwrap();
    assert!(
        batch::require_signed_message(&app.store, &admin, &b)
            .await
            .is_ok()
    );
    exec(
        &app,
        "UPDATE batches SET mail_body = 'Go to https://evil.example {link}'",
        None,
    )
    .await;
    let b = app.store.require_batch("m").await.unwrap();
    assert!(
        batch::require_signed_message(&app.store, &admin, &b)
            .await
            .is_err()
    );
    assert!(
        passdrop::outbox::letters_from_live_links(
            &app.store,
            &app.public_url,
            &b,
            &admin,
            passdrop::config::now()
        )
        .await
        .is_err()
    );

    // The relay: saved signed, then its host changed in the database.
    let settings = passdrop::mail::SmtpSettings::from_fields(passdrop::mail::RelayFields {
        host: "127.0.0.1",
        port: Some(2525),
        security: "none",
        credentials: None,
        from: "it@example.org",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap();
    let public = app.store.admin_key().await.unwrap().unwrap().public_key;
    let mut stored = settings.to_stored(&public, 0).unwrap();
    stored.sig = Some(batch::sign_relay(
        &batch::settings_signer(&admin).unwrap(),
        &stored,
    ));
    app.store.save_smtp_settings(&stored).await.unwrap();
    assert!(
        passdrop::mail::effective_relay(&app.store, None, Some(&admin))
            .await
            .is_ok()
    );
    exec(&app, "UPDATE smtp_settings SET port = 2526", None).await;
    assert!(
        passdrop::mail::effective_relay(&app.store, None, Some(&admin))
            .await
            .is_err()
    );
    app.stop().await;
}
