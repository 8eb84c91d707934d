//! Export and creation at scale (issue 21): the export reads a batch in one pass, opens
//! the passwords in small pieces over the cores and still writes them in roster order,
//! names exactly the users who have not submitted, and records the same purge plan as
//! the rule `export_outlook` feeds.

use crate::helpers::{PASSPHRASE, TestApp, link, roster_of, secret};
use passdrop::batch::{self, PurgeChoice};
use passdrop::config;
use passdrop::storage::StoreError;

#[tokio::test]
async fn a_large_export_keeps_roster_order_names_the_missing_and_plans_the_purge_as_before() {
    let app = TestApp::spawn().await;
    // More users than one piece of the opening threads (64), so pieces are put back in
    // order.
    let n = 150;
    let (b, links) = app.create_batch("scale", &roster_of("scale", n)).await;
    let pending = |i: usize| i % 7 == 3;
    for (i, l) in links.iter().enumerate().filter(|(i, _)| !pending(*i)) {
        let password = format!("Password-{i}");
        let r = app.submit(&link(l), &password, &password).await;
        assert_eq!(r.status(), 200, "user {i}");
    }
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    let exported = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    let expected: String = std::iter::once("EmailAddress,UserName,Password\r\n".to_owned())
        .chain(
            (0..n)
                .filter(|i| !pending(*i))
                .map(|i| format!("scale{i}@example.org,scale{i}@example.org,Password-{i}\r\n")),
        )
        .collect();
    assert_eq!(std::str::from_utf8(&exported.csv).unwrap(), expected);
    assert_eq!(exported.rows, n - (0..n).filter(|i| pending(*i)).count());
    assert_eq!(
        exported.missing,
        (0..n)
            .filter(|i| pending(*i))
            .map(|i| format!("scale{i}@example.org"))
            .collect::<Vec<_>>()
    );
    assert_eq!(exported.submitted.len(), exported.rows);

    // The plan recorded from the export itself is the one the outlook gives.
    let now = config::now();
    for choice in [
        PurgeChoice::KeepCollecting,
        PurgeChoice::AfterLinksExpire,
        PurgeChoice::Early,
    ] {
        let b = app.store.require_batch(&b.id).await.unwrap();
        let outlook = batch::export_outlook(&app.store, &b, now).await.unwrap();
        assert!(outlook.live_links_until.is_some());
        let expected = batch::purge_plan(&b, outlook.live_links_until, choice, now);
        let plan = batch::record_export_of(&app.store, &b, &exported, choice, now)
            .await
            .unwrap();
        assert_eq!(plan, expected, "{choice:?}");
    }
    app.stop().await;
}

/// A user who submits after the export read the batch is not in the file: once the
/// export is recorded, `unexported` names them (what every purge checks, and `passdrop
/// export --purge` refuses on); so does a user who submits again after a reissue (a new
/// password under the same address), until an export reads it.
#[tokio::test]
async fn a_submission_after_the_export_read_is_named_as_missing_from_the_file() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("late", &roster_of("late", 3)).await;
    let unexported = || async { batch::unexported(&app.store, &b).await.unwrap().emails };
    let r = app
        .submit(&link(&links[0]), "Password-0", "Password-0")
        .await;
    assert_eq!(r.status(), 200);
    // Never exported: the submitted password is in no file.
    assert_eq!(unexported().await, vec!["late0@example.org".to_owned()]);
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    let exported = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    // Between the read and the record, another user submits.
    let r = app
        .submit(&link(&links[2]), "Password-2", "Password-2")
        .await;
    assert_eq!(r.status(), 200);
    let now = config::now();
    batch::record_export_of(&app.store, &b, &exported, PurgeChoice::KeepCollecting, now)
        .await
        .unwrap();
    assert_eq!(unexported().await, vec!["late2@example.org".to_owned()]);
    assert!(
        !std::str::from_utf8(&exported.csv)
            .unwrap()
            .contains("Password-2")
    );
    // A prepared export that is never recorded (the file was not handed over) counts
    // for nothing; a recorded one that read both does.
    batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    assert_eq!(unexported().await, vec!["late2@example.org".to_owned()]);
    batch::export_m365(&app.store, &b, &admin, PurgeChoice::KeepCollecting, now)
        .await
        .unwrap();
    assert!(unexported().await.is_empty());
    // Late0 is given a new link and submits a new password: the file has the old one.
    submit_again(&app, &b, "late0@example.org", "Password-0b").await;
    assert_eq!(unexported().await, vec!["late0@example.org".to_owned()]);

    // A purge may destroy only what was shown: late1 submits after the list was read,
    // and the purge's own transaction finds it; nothing is purged, the key is kept.
    let shown = batch::unexported(&app.store, &b).await.unwrap();
    let r = app
        .submit(&link(&links[1]), "Password-1", "Password-1")
        .await;
    assert_eq!(r.status(), 200);
    match batch::purge_discarding(&app.store, &b, now, &shown).await {
        Err(batch::BatchError::Store(StoreError::MoreUnexported)) => {}
        other => panic!("{other:?}"),
    }
    assert!(app.store.find_batch(&b.id).await.unwrap().is_some());
    // Nothing may be lost (`export --purge`): refused too.
    assert!(
        batch::purge_discarding(&app.store, &b, now, &Default::default())
            .await
            .is_err()
    );
    // The list as it now stands is purged.
    let shown = batch::unexported(&app.store, &b).await.unwrap();
    assert_eq!(shown.emails.len(), 2);
    batch::purge_discarding(&app.store, &b, now, &shown)
        .await
        .unwrap();
    assert!(app.store.find_batch(&b.id).await.unwrap().is_none());
}

/// `passdrop export` names who submitted after its read by looking only where such a
/// submission can be (`storage::LateWatch`: the batch's live links at the read, and links
/// made since), not at every submission; once the export is recorded that is exactly
/// `unexported`: users whose live link at the read took a password, a user given a new
/// link since who submitted again, and nobody else.
#[tokio::test]
async fn who_submitted_since_the_read_is_found_among_the_links_live_then_or_made_since() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("since", &roster_of("since", 5)).await;
    // Another batch, whose users are no concern of this one's export.
    let (_, others) = app.create_batch("other", &roster_of("other", 2)).await;
    let now = config::now();
    for i in [0, 1] {
        let password = format!("Password-{i}");
        let r = app.submit(&link(&links[i]), &password, &password).await;
        assert_eq!(r.status(), 200);
    }
    // Before the read: since3's link is replaced by a new one, live at the read.
    let third = batch::reissue(&app.store, &app.public_url, &b, "since3@example.org", now)
        .await
        .unwrap();
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    let exported = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    assert_eq!(
        exported.late_watch.live.len(),
        3,
        "{:?}",
        exported.late_watch
    );
    // After it: since2 and since3 submit on links live at the read; since0 is given a
    // new link and submits again.
    for (l, password) in [
        (link(&links[2]), "Password-2"),
        (link(&third), "Password-3"),
    ] {
        assert_eq!(app.submit(&l, password, password).await.status(), 200);
    }
    submit_again(&app, &b, "since0@example.org", "Password-0b").await;
    // The other batch's users submit too, one of them on a link made since.
    let r = app
        .submit(&link(&others[0]), "Password-o", "Password-o")
        .await;
    assert_eq!(r.status(), 200);
    let ob = passdrop::batch::find(&app.store, "other").await.unwrap();
    submit_again(&app, &ob, "other1@example.org", "Password-o").await;
    batch::record_export_of(&app.store, &b, &exported, PurgeChoice::KeepCollecting, now)
        .await
        .unwrap();
    let since = batch::submitted_since(&app.store, &b, &exported)
        .await
        .unwrap();
    let expected: Vec<String> = [0, 2, 3]
        .iter()
        .map(|i| format!("since{i}@example.org"))
        .collect();
    assert_eq!(since, expected);
    assert_eq!(
        batch::unexported(&app.store, &b).await.unwrap().emails,
        expected
    );
    // An export that read them all, recorded: nobody since.
    let again = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    batch::record_export_of(&app.store, &b, &again, PurgeChoice::KeepCollecting, now)
        .await
        .unwrap();
    assert!(
        batch::submitted_since(&app.store, &b, &again)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        batch::unexported(&app.store, &b)
            .await
            .unwrap()
            .emails
            .is_empty()
    );
}

/// Gives `email` a new link (`batch::reissue`) and submits `password` on it.
async fn submit_again(app: &TestApp, b: &passdrop::storage::Batch, email: &str, password: &str) {
    let fresh = batch::reissue(&app.store, &app.public_url, b, email, config::now())
        .await
        .unwrap();
    let r = app.submit(&link(&fresh), password, password).await;
    assert_eq!(r.status(), 200, "{email}");
}

/// An export whose batch is purged between its read and its record records nothing:
/// `mark_exported` refuses the gone batch in its transaction, so no row of
/// `exported_submissions` (which has no foreign key since migration 0024) names a
/// deleted recipient.
#[tokio::test]
async fn an_export_recorded_after_its_batch_was_purged_records_nothing() {
    use sqlx::ConnectOptions as _;
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("gone", &roster_of("gone", 3)).await;
    for l in &links {
        let r = app.submit(&link(l), "Passw0rd!", "Passw0rd!").await;
        assert_eq!(r.status(), 200);
    }
    let admin = batch::unlock_admin(&app.store, secret(PASSPHRASE))
        .await
        .unwrap();
    let exported = batch::prepare_m365(&app.store, &b, &admin).await.unwrap();
    assert_eq!(exported.rows, 3);
    let now = config::now();
    batch::purge_discarding(&app.store, &b, now, &Default::default())
        .await
        .unwrap_err();
    // Nothing was exported yet, so the purge needs the passwords discarded by name.
    let shown = batch::unexported(&app.store, &b).await.unwrap();
    batch::purge_discarding(&app.store, &b, now, &shown)
        .await
        .unwrap();
    let recorded =
        batch::record_export_of(&app.store, &b, &exported, PurgeChoice::KeepCollecting, now).await;
    assert!(
        matches!(
            recorded,
            Err(batch::BatchError::Store(StoreError::NoSuchBatch(_)))
        ),
        "{recorded:?}"
    );
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.data_dir.path().join("passdrop.sqlite3"))
        .connect()
        .await
        .unwrap();
    let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exported_submissions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(marks, 0);
}
