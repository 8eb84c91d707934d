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
    // Not burned: the form answers the same refusal (it shows nothing the admin did not
    // sign), not "already used".
    assert_eq!(app.get(link).await.status(), 503);
}

#[tokio::test]
async fn changing_or_signing_settings_never_signs_a_swapped_public_key() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("swap", ROSTER).await;
    let admin = app.admin().await;
    // Someone with write access swaps in their own public key; the admin, told the
    // batch's settings are refused, changes its old-server check with the passphrase.
    exec(
        &app,
        &format!("UPDATE batches SET public_key = ? WHERE id = '{}'", b.id),
        Some(vec![7u8; 32]),
    )
    .await;
    let tampered = app.store.require_batch(&b.id).await.unwrap();
    assert!(
        batch::set_imap(&app.store, &tampered, None, &admin)
            .await
            .is_err()
    );
    refused_and_link_kept(&app, &link(&links[0])).await;

    // A batch never signed (made without the passphrase) with a swapped key: neither
    // `admin sign-settings` nor its first links action signs it.
    let (fresh, _) = batch::create(
        &app.store,
        &app.public_url,
        passdrop::batch::NewBatch {
            name: "fresh".into(),
            org_name: None,
            link_lifetime: std::time::Duration::from_secs(86_400),
            next_steps: None,
            ask_mail_client: false,
            retention: batch::Retention::default(),
            roster: passdrop::roster::parse_roster(ROSTER.as_bytes()).unwrap(),
            imap: None,
            language: None,
            time_zone: None,
        },
        passdrop::config::now(),
    )
    .await
    .unwrap();
    exec(
        &app,
        &format!(
            "UPDATE batches SET public_key = ? WHERE id = '{}'",
            fresh.id
        ),
        Some(vec![7u8; 32]),
    )
    .await;
    let fresh = app.store.require_batch(&fresh.id).await.unwrap();
    assert!(
        batch::sign_unsigned(&app.store, &admin, &fresh)
            .await
            .is_err()
    );
    assert!(
        batch::sign_new_batch(&app.store, &admin, &fresh)
            .await
            .is_err()
    );
    let after = app.store.require_batch(&fresh.id).await.unwrap();
    assert!(after.settings_sig.is_none());
    app.stop().await;
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

/// A key file removed, replaced or garbled is noticed within a second (a check that
/// passes looks at the file at most once a second: `batch/key_cache.rs`), and from then
/// on every submission is refused and the link kept. Put back, the key works at once: a
/// check that fails looks at the file again before refusing.
#[tokio::test]
async fn a_missing_or_wrong_key_file_refuses_every_submission() {
    let app = TestApp::spawn().await;
    let (_, links) = app
        .create_batch("b", "EmailAddress\na@example.org\nb@example.org\n")
        .await;
    let key = app.key_file();
    let good = std::fs::read_to_string(key.path()).unwrap();
    // Past the last look (its creation signed the batch with the file's key).
    let noticed = || tokio::time::sleep(std::time::Duration::from_millis(1100));
    std::fs::remove_file(key.path()).unwrap();
    noticed().await;
    refused_and_link_kept(&app, &link(&links[0])).await;
    std::fs::write(
        key.path(),
        "passdrop-settings-key-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    refused_and_link_kept(&app, &link(&links[0])).await;
    std::fs::write(key.path(), "garbage\n").unwrap();
    refused_and_link_kept(&app, &link(&links[0])).await;
    // The good key back: read at once (a file that could not be read is never kept, so
    // the next check looks at it).
    std::fs::write(key.path(), &good).unwrap();
    assert_eq!(app.submit(&link(&links[0]), "pw", "pw").await.status(), 200);
    // Replaced by a wrong key right after a look that passed: within the second the
    // last look is trusted; after it, refused.
    std::fs::write(
        key.path(),
        "passdrop-settings-key-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    noticed().await;
    refused_and_link_kept(&app, &link(&links[1])).await;
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
            language: None,
            time_zone: None,
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

/// Every column of the `batch` group, changed alone, is refused, and nothing reaches the
/// (signed) old server's address; untampered, the check does reach it.
#[tokio::test]
async fn each_old_server_field_and_form_text_is_covered() {
    use passdrop::imap::{CertTrust, ImapServer, ImapSettings, WhenUnreachable};
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("imap", ROSTER).await;
    let (port, seen) = counting_listener().await;
    // A signed old server on a listener that counts connections (set through the store:
    // `batch::set_imap` would first test that it speaks IMAP).
    let mut changed = b.clone();
    changed.imap = Some(ImapSettings {
        server: ImapServer::parse(&format!("imaps://127.0.0.1:{port}")).unwrap(),
        trust: CertTrust::Pin([7; 32]),
        when_unreachable: WhenUnreachable::AskToRetry,
    });
    let signer = batch::settings_signer(&app.admin().await).unwrap();
    let sig = batch::sign_batch(&signer, &changed);
    app.store
        .set_batch_imap(&b.id, changed.imap.as_ref(), &sig)
        .await
        .unwrap();
    let id = &b.id;
    for change in [
        "imap_cert_sha256 = '0808080808080808080808080808080808080808080808080808080808080808'",
        "imap_cert_sha256 = NULL",
        "imap_when_unreachable = 'accept'",
        // (with a pin, a CA column is ignored: the signature covers what is used)
        "imap_ca_pem = 'x', imap_cert_sha256 = NULL",
        "org_name = 'Evil Ltd'",
        "next_steps = 'Also send your password to evil@example.org'",
        "next_steps = NULL",
    ] {
        let before = app.store.require_batch(id).await.unwrap();
        exec(
            &app,
            &format!("UPDATE batches SET {change} WHERE id = '{id}'"),
            None,
        )
        .await;
        // Refused: 503 "still works", or 500 where the row no longer even decodes.
        let r = app.submit(&link(&links[0]), "pw", "pw").await;
        assert!(
            [500, 503].contains(&r.status().as_u16()),
            "{change}: {}",
            r.status()
        );
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "{change}"
        );
        // Put it back as it was.
        app.store
            .set_batch_imap(
                id,
                before.imap.as_ref(),
                before.settings_sig.as_deref().unwrap(),
            )
            .await
            .unwrap();
        exec_two(&app, id, before.org_name.clone(), before.next_steps.clone()).await;
    }
    // As signed: the check goes to the server (which does not answer IMAP: try later).
    let r = app.submit(&link(&links[0]), "pw", "pw").await;
    assert_eq!(r.status(), 503);
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst) > 0);
    app.stop().await;
}

async fn exec_two(app: &TestApp, id: &str, org: Option<String>, next: Option<String>) {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store.database_path())
        .connect()
        .await
        .unwrap();
    sqlx::query("UPDATE batches SET org_name = ?, next_steps = ? WHERE id = ?")
        .bind(org)
        .bind(next)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Every column of the saved relay, changed alone, is refused when the passphrase opens
/// it; and the message's subject too.
#[tokio::test]
async fn each_relay_field_and_the_subject_are_covered() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let settings = passdrop::mail::SmtpSettings::from_fields(passdrop::mail::RelayFields {
        host: "smtp.example.org",
        port: Some(587),
        security: "starttls",
        credentials: Some(("it".to_owned(), secret("relay password"))),
        from: "it@example.org",
        reply_to: Some("help@example.org"),
        ca_pem: None,
    })
    .unwrap();
    let public = app.store.admin_key().await.unwrap().unwrap().public_key;
    let mut stored = settings.to_stored(&public, 0).unwrap();
    stored.sig = Some(batch::sign_relay(
        &batch::settings_signer(&admin).unwrap(),
        &stored,
    ));
    for change in [
        "host = 'evil.example'",
        "port = 25",
        "security = 'tls'",
        "username = 'other'",
        "from_addr = 'ceo@example.org'",
        "reply_to = 'evil@example.org'",
        "reply_to = NULL",
        "ca_pem = 'x'",
        "password_sealed = x'00'",
        "sig = NULL",
    ] {
        app.store.save_smtp_settings(&stored).await.unwrap();
        assert!(
            passdrop::mail::effective_relay(&app.store, None, Some(&admin))
                .await
                .is_ok()
        );
        exec(&app, &format!("UPDATE smtp_settings SET {change}"), None).await;
        let e = passdrop::mail::effective_relay(&app.store, None, Some(&admin))
            .await
            .unwrap_err();
        assert!(e.contains("SMTP relay"), "{change}: {e}");
    }

    let (b, _) = app.create_batch("m", ROSTER).await;
    batch::set_message(&app.store, &b, Some(("Hello", "Go to {link}")), &admin)
        .await
        .unwrap();
    exec(
        &app,
        "UPDATE batches SET mail_subject = 'Urgent: password expiry'",
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
        batch::require_signed_message_file(&app.store, &app.key_file(), &b)
            .await
            .is_err()
    );
    // The message of another batch (with its signature) is refused too.
    let (other, _) = app.create_batch("n", ROSTER).await;
    exec(
        &app,
        "UPDATE batches SET mail_subject = NULL, mail_body = NULL, message_sig = \
         (SELECT message_sig FROM batches WHERE name = 'n') WHERE name = 'm'",
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
        batch::require_signed_message(&app.store, &admin, &other)
            .await
            .is_ok()
    );
    app.stop().await;
}

/// `admin init` writes the key file (0644) beside the data directory; it is never
/// replaced by another admin's key without `--replace-settings-key`; where it cannot be
/// written, the line to install is printed; `admin sign-settings` lists, then signs.
#[test]
fn the_command_line_writes_the_key_file_and_signs_on_request() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = tmp.path().join("p");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    let key = tmp.path().join("data.settings-key.pub");
    assert!(
        stderr(&o).contains("Wrote the settings key file"),
        "{}",
        stderr(&o)
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let line = std::fs::read_to_string(&key).unwrap();
    assert!(line.starts_with("passdrop-settings-key-v1 "), "{line}");

    // Another data directory's admin does not overwrite it.
    let other = tmp.path().join("other");
    let o = run(passdrop(&other)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass)
        .arg("--settings-key-file")
        .arg(&key));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already holds another admin's key"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), line);
    let o = run(passdrop(&other).args(["admin", "setup-link"]));
    assert!(o.status.success(), "no admin was made: {}", stderr(&o));

    // Nowhere to write: the line is printed instead.
    let o = run(passdrop(&data)
        .args(["admin", "settings-key", "--passphrase-file"])
        .arg(&pass)
        .arg("--settings-key-file")
        .arg(tmp.path().join("missing-dir/settings-key.pub")));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(line.trim()), "{}", stderr(&o));

    // `batch create` signs with the passphrase, so nothing is left to sign.
    let roster = tmp.path().join("r.csv");
    std::fs::write(&roster, ROSTER).unwrap();
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "cli", "--roster"])
        .arg(&roster));
    assert!(
        !o.status.success(),
        "a passphrase is needed: {}",
        stderr(&o)
    );
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "cli", "--roster"])
        .arg(&roster)
        .arg("--passphrase-file")
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&data)
        .args(["admin", "sign-settings", "--passphrase-file"])
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\"cli\""));
    let o = run(passdrop(&data).args(["doctor", "--offline"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("every stored setting matches"), "{text}");
}

/// Deleting signatures never gets them silently made again by the next passphrase action:
/// only a batch that was never signed and took no password is signed when its links are
/// first opened, and only with the public key its sealed private key opens to.
#[tokio::test]
async fn deleted_signatures_are_not_signed_again_by_the_next_links_action() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let now = passdrop::config::now();
    let open = |b: passdrop::storage::Batch| {
        let (store, url, admin) = (&app.store, &app.public_url, &admin);
        async move { batch::open_live_links(store, url, &b, admin, now).await }
    };
    // Signed, then one signature deleted: refused, and still unsigned.
    let (_, links) = app.create_batch("a", ROSTER).await;
    exec(
        &app,
        "UPDATE batches SET settings_sig = NULL WHERE name = 'a'",
        None,
    )
    .await;
    assert!(
        open(app.store.require_batch("a").await.unwrap())
            .await
            .is_err()
    );
    assert!(
        app.store
            .require_batch("a")
            .await
            .unwrap()
            .settings_sig
            .is_none()
    );
    refused_and_link_kept(&app, &link(&links[0])).await;

    // Both deleted after a password was taken: refused.
    let (_, links) = app
        .create_batch("b", "EmailAddress\nx@example.org\ny@example.org\n")
        .await;
    assert_eq!(app.submit(&link(&links[0]), "pw", "pw").await.status(), 200);
    exec(
        &app,
        "UPDATE batches SET settings_sig = NULL, message_sig = NULL WHERE name = 'b'",
        None,
    )
    .await;
    assert!(
        open(app.store.require_batch("b").await.unwrap())
            .await
            .is_err()
    );
    refused_and_link_kept(&app, &link(&links[1])).await;

    // Never signed and fresh, but its public key swapped: refused.
    let other = app.store.require_batch("a").await.unwrap();
    exec(
        &app,
        "UPDATE batches SET settings_sig = NULL, message_sig = NULL, public_key = ? \
         WHERE name = 'b'",
        Some(other.public_key.clone()),
    )
    .await;
    exec(&app, "DELETE FROM submissions", None).await;
    assert!(
        open(app.store.require_batch("b").await.unwrap())
            .await
            .is_err()
    );
    assert!(
        app.store
            .require_batch("b")
            .await
            .unwrap()
            .settings_sig
            .is_none()
    );
    app.stop().await;
}

/// `serve` says at start when stored settings cannot be trusted.
#[test]
fn serve_says_at_start_when_the_key_file_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = tmp.path().join("p");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(tmp.path().join("data.settings-key.pub")).unwrap();
    let server = Server::start(&data, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline
        && !server.log.lock().unwrap().contains("cannot be trusted")
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = server.stop();
    assert!(log.contains("stored settings cannot be trusted"), "{log}");
    assert!(log.contains("does not exist"), "{log}");
}

#[tokio::test]
async fn a_batch_made_without_the_passphrase_is_signed_when_its_links_are_first_emailed() {
    let app = TestApp::spawn().await;
    let (fresh, _) = batch::create(
        &app.store,
        &app.public_url,
        passdrop::batch::NewBatch {
            name: "console made".into(),
            org_name: Some("Example Ltd".into()),
            link_lifetime: std::time::Duration::from_secs(86_400),
            next_steps: None,
            ask_mail_client: false,
            retention: batch::Retention::default(),
            roster: passdrop::roster::parse_roster(ROSTER.as_bytes()).unwrap(),
            imap: None,
            language: None,
            time_zone: None,
        },
        passdrop::config::now(),
    )
    .await
    .unwrap();
    assert!(fresh.settings_sig.is_none() && fresh.message_sig.is_none());
    let admin = app.admin().await;
    let letters = passdrop::outbox::letters_from_live_links(
        &app.store,
        &app.public_url,
        &fresh,
        &admin,
        passdrop::config::now(),
    )
    .await
    .unwrap();
    assert_eq!(letters.len(), 1);
    let signed = app.store.require_batch(&fresh.id).await.unwrap();
    assert!(signed.settings_sig.is_some() && signed.message_sig.is_some());
    app.stop().await;
}
