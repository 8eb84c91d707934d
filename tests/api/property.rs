//! Property: any password a user can type (any Unicode, quotes, commas, spaces, a leading
//! `=`, up to 1024 bytes, no CR/LF/NUL) comes back byte-exact from the Microsoft CSV
//! when read by a standard CSV reader.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use passdrop::batch::{self, SubmitOutcome};
use passdrop::config;
use passdrop::crypto::LinkToken;

use crate::helpers::{TestApp, link, parse_csv, secret, token_of};

fn password_strategy() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\\".to_owned()),
        Just("\u{FEFF}".to_owned()),
        Just("é".to_owned()),
        Just("😀".to_owned()),
        "[^\r\n\u{0}]{1,8}",
    ];
    proptest::collection::vec(tricky, 1..40)
        .prop_map(|parts| parts.concat())
        .prop_filter("fits 1024 bytes", |p| !p.is_empty() && p.len() <= 1024)
}

#[tokio::test(flavor = "multi_thread")]
async fn any_password_survives_submit_and_export_byte_exact() {
    let app = TestApp::spawn().await;
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(password_strategy(), 1..8);
    let round = std::sync::atomic::AtomicU32::new(0);
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&strategy, |passwords| {
        let round = round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome =
            tokio::task::block_in_place(|| handle.block_on(check_round(&app, round, &passwords)));
        prop_assert_eq!(outcome, Ok(()));
        Ok(())
    });
    result.unwrap();
    app.stop().await;
}

async fn check_round(app: &TestApp, round: u32, passwords: &[String]) -> Result<(), String> {
    let roster: String = std::iter::once("EmailAddress,UserName".to_owned())
        .chain((0..passwords.len()).map(|i| format!("u{i}@example.com,user{i}")))
        .collect::<Vec<_>>()
        .join("\n");
    let (b, links) = app.create_batch(&format!("prop-{round}"), &roster).await;
    for (l, pw) in links.iter().zip(passwords) {
        let token = LinkToken::parse(&token_of(&link(l))).ok_or("token")?;
        let view = app
            .store
            .link_by_token_hash(&token.hash())
            .await
            .map_err(|e| e.to_string())?
            .ok_or("link")?;
        let password = secret(pw);
        batch::check_password(&password, &password).map_err(|e| e.to_string())?;
        let outcome = batch::submit(
            &app.store,
            &app.key_file(),
            &token,
            &view,
            &password,
            None,
            None,
            config::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if outcome != SubmitOutcome::Accepted {
            return Err(format!("{outcome:?}"));
        }
    }
    let (csv, missing) = app.export(&b).await;
    if !missing.is_empty() || csv.starts_with(b"\xEF\xBB\xBF") {
        return Err("missing rows or BOM".to_owned());
    }
    let rows = parse_csv(&csv);
    for (i, pw) in passwords.iter().enumerate() {
        let row = &rows[i + 1];
        if row[2] != *pw || row[0] != format!("u{i}@example.com") {
            return Err(format!("row {i}: {:?} != {pw:?}", row[2]));
        }
    }
    Ok(())
}

/// A copied disk does not tell a 1-byte password from a 1,000-byte one: every stored
/// record has one length (finding 8), and both still export byte-exact.
#[tokio::test(flavor = "multi_thread")]
async fn stored_passwords_all_have_one_length() {
    let app = TestApp::spawn().await;
    let passwords = ["x".to_owned(), "é".repeat(500), "=1+2".to_owned()];
    let roster = "EmailAddress,UserName\na@example.com,a\nb@example.com,b\nc@example.com,c";
    let (b, links) = app.create_batch("lengths", roster).await;
    for (l, pw) in links.iter().zip(&passwords) {
        let token = LinkToken::parse(&token_of(&link(l))).unwrap();
        let view = app
            .store
            .link_by_token_hash(&token.hash())
            .await
            .unwrap()
            .unwrap();
        let outcome = batch::submit(
            &app.store,
            &app.key_file(),
            &token,
            &view,
            &secret(pw),
            None,
            None,
            config::now(),
        )
        .await
        .unwrap();
        assert_eq!(outcome, SubmitOutcome::Accepted);
    }
    let (stored, _) = app.store.submissions_and_missing(&b.id).await.unwrap();
    let lengths: Vec<(usize, usize)> = stored
        .iter()
        .map(|s| (s.sealed.enc.len(), s.sealed.ciphertext.len()))
        .collect();
    assert_eq!(lengths.len(), 3);
    assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
    let (csv, _) = app.export(&b).await;
    let rows = parse_csv(&csv);
    for (i, pw) in passwords.iter().enumerate() {
        assert_eq!(rows[i + 1][2], *pw);
    }
    app.stop().await;
}
