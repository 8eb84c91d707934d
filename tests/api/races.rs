//! Races between users and the admin: a link is burned exactly once, an acknowledged
//! password is never lost, and nothing survives a purge that races submissions.

use std::collections::HashMap;

use passdrop::batch;
use passdrop::config;

use crate::helpers::{TestApp, canaries_found, link, parse_csv};

fn roster(n: usize, tag: &str) -> String {
    let mut s = String::from("EmailAddress\n");
    for i in 0..n {
        s.push_str(&format!("{tag}{i}@example.com\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reissue_racing_a_submission_never_loses_an_acknowledged_password() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("race", &roster(20, "r")).await;
    let mut tasks = Vec::new();
    for (i, l) in links.iter().enumerate() {
        let client = app.client.clone();
        let url = link(l);
        let store = app.store.clone();
        let public_url = app.public_url.clone();
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let pw = format!("RacePassword{i}");
            let submit = client
                .post(&url)
                .form(&[("password", pw.as_str()), ("password_confirm", pw.as_str())])
                .send();
            let email = format!("r{i}@example.com");
            let reissue = batch::reissue(&store, &public_url, &b, &email, config::now());
            let (submitted, reissued) = tokio::join!(submit, reissue);
            assert!(reissued.is_ok());
            (email, pw, submitted.unwrap().status().as_u16())
        }));
    }
    let mut acked = HashMap::new();
    for t in tasks {
        let (email, pw, status) = t.await.unwrap();
        assert!(status == 200 || status == 410, "{status}");
        if status == 200 {
            acked.insert(email, pw);
        }
    }
    let (csv, _) = app.export(&b).await;
    let rows = parse_csv(&csv);
    // Exactly the acknowledged passwords are in the export, byte-exact.
    assert_eq!(rows.len() - 1, acked.len(), "{rows:?}");
    for row in &rows[1..] {
        assert_eq!(acked.get(&row[0]), Some(&row[2]));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_racing_submissions_sees_only_whole_acknowledged_rows() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("race", &roster(30, "e")).await;
    let submitters: Vec<_> = links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let client = app.client.clone();
            let url = link(l);
            tokio::spawn(async move {
                let pw = format!("ExportRace{i}");
                let r = client
                    .post(&url)
                    .form(&[("password", pw.as_str()), ("password_confirm", pw.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            })
        })
        .collect();
    // Exports while the submissions land: every row is complete and correct.
    for _ in 0..3 {
        let (csv, missing) = app.export(&b).await;
        let rows = parse_csv(&csv);
        assert_eq!(rows.len() - 1 + missing.len(), 30);
        for row in &rows[1..] {
            let n = row[0]
                .trim_start_matches('e')
                .trim_end_matches("@example.com");
            assert_eq!(row[2], format!("ExportRace{n}"));
        }
    }
    for s in submitters {
        s.await.unwrap();
    }
    let (_, missing) = app.export(&b).await;
    assert!(missing.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_racing_submissions_leaves_nothing_and_later_submissions_fail_cleanly() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("race", &roster(30, "purgecanary")).await;
    let urls: Vec<String> = links.iter().map(link).collect();
    let submitters: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let client = app.client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let pw = format!("PurgeRacePassword{i}");
                client
                    .post(&url)
                    .form(&[("password", pw.as_str()), ("password_confirm", pw.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    batch::purge(&app.store, &b, config::now()).await.unwrap();
    for s in submitters {
        let status = s.await.unwrap();
        // Before the purge: accepted; during: the link is no longer usable; after:
        // the collection has closed. Never a server error.
        assert!([200, 404, 410].contains(&status), "{status}");
    }
    for url in &urls {
        assert_eq!(app.get(url).await.status(), 410);
        assert_eq!(app.submit(url, "late", "late").await.status(), 410);
    }
    assert!(app.store.list_batches().await.unwrap().is_empty());
    let dir = app.stop().await;
    let found = canaries_found(dir.path(), &["purgecanary", "PurgeRacePassword"]);
    assert!(found.is_empty(), "{found:?}");
}
