//! The bad-input corpus: hostile rosters (files under `tests/corpus/rosters/`), forms,
//! tokens, headers and methods. Each case gets a clear refusal, the server keeps
//! serving, and nothing changes.

use std::path::Path;

use passdrop::roster::parse_roster;

use crate::helpers::{TestApp, link};

/// Each corpus file with a phrase its refusal must contain (and the line it names).
const ROSTER_CASES: &[(&str, &str)] = &[
    ("bom_only.csv", "empty"),
    ("latin1_cell.csv", "line 2: DisplayName is not valid UTF-8"),
    ("utf16le.csv", "line 1:"),
    ("huge_field.csv", "line 2: DisplayName is longer than 256"),
    ("formula_cell.csv", "line 2: DisplayName starts with '='"),
    ("unbalanced_quote.csv", "line 2:"),
    ("duplicate_column.csv", "appears twice"),
    ("no_email_column.csv", "no EmailAddress column"),
    (
        "nul_in_address.csv",
        "line 2: EmailAddress contains a space or control character",
    ),
    (
        "newline_in_name.csv",
        "line 2: DisplayName contains a control character",
    ),
    ("header_only.csv", "no rows"),
    (
        "password_filled.csv",
        "line 2: the Password column must be empty",
    ),
    (
        "two_at_signs.csv",
        "line 2: EmailAddress must contain exactly one @",
    ),
    ("empty_username.csv", "line 2: UserName is empty"),
    ("ragged_row.csv", "line 2: this row has 3 fields"),
    (
        "space_in_address.csv",
        "line 2: EmailAddress contains a space",
    ),
];

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus/rosters")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_hostile_roster_is_refused_with_a_clear_message() {
    let listed: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/rosters"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    assert_eq!(
        listed.len(),
        ROSTER_CASES.len(),
        "every corpus file has a case"
    );
    for (file, expected) in ROSTER_CASES {
        let err = parse_roster(&corpus(file)).expect_err(file);
        let text = err.to_string();
        assert!(
            text.contains(expected),
            "{file}: {text:?} lacks {expected:?}"
        );
        assert!(text.contains("nothing was created"), "{file}");
        assert!(!text.contains("Secret123"), "{file}: a password was echoed");
    }
}

#[test]
fn a_roster_of_50001_rows_is_refused() {
    let mut s = String::from("EmailAddress\n");
    for i in 0..50_001 {
        s.push_str(&format!("u{i}@example.com\n"));
    }
    let err = parse_roster(s.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("more than 50000 rows"));
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (b, links) = app
        .create_batch("corpus", "EmailAddress\nann@example.com\n")
        .await;
    let url = link(&links[0]);
    let base = &app.address;
    let token = url.rsplit('/').next().unwrap().to_owned();

    // Tokens: wrong length, wrong alphabet, path tricks, encodings.
    for path in [
        "/s/".to_owned(),
        "/s/a".to_owned(),
        format!("/s/{}", &token[..42]),
        format!("/s/{token}A"),
        format!(
            "/s/{}",
            token.replace(|c: char| c.is_ascii_alphanumeric(), "+")
        ),
        "/s/..%2f..%2fetc%2fpasswd".to_owned(),
        "/s/%00".to_owned(),
        "/s/%ff%fe%fd".to_owned(),
        format!("/s/{token}/extra"),
        format!("/S/{token}"),
        format!("/s/{}", "A".repeat(5000)),
    ] {
        let status = app.get(&format!("{base}{path}")).await.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }

    // Forms: oversized, non-UTF-8, repeated, missing fields, wrong types.
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    for (body, content_type) in [
        (vec![b'a'; 9000], form),
        (b"password=%C3%28&password_confirm=%C3%28".to_vec(), form),
        (
            b"password=\xff\xfe&password_confirm=\xff\xfe".to_vec(),
            form,
        ),
        (b"password=a&password=b&password_confirm=a".to_vec(), form),
        // (`password` alone is the form with JavaScript: accepted, not hostile.)
        (b"password_confirm=a".to_vec(), form),
        (b"".to_vec(), form),
        (b"password=%zz&password_confirm=a".to_vec(), form),
        (b"{\"password\":\"a\"}".to_vec(), "application/json"),
        (b"password=a&password_confirm=a".to_vec(), "text/plain"),
        (b"password=a%00b&password_confirm=a%00b".to_vec(), form),
    ] {
        let status = post(body.clone(), content_type)
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(
            (400..500).contains(&status),
            "{:?}: {status}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
    }

    // Methods and headers.
    for method in ["PUT", "DELETE", "PATCH"] {
        let r = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
    }
    let r = app
        .client
        .post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=\u{0}",
        )
        .body("password=a&password_confirm=a")
        .send()
        .await;
    assert!(r.map(|r| r.status().is_client_error()).unwrap_or(true));
    let r = app
        .client
        .get(&url)
        .header("x-forwarded-for", "not an ip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Still serving, and nothing changed: the link works and nothing was stored.
    assert_eq!(app.get(&format!("{base}/healthz")).await.status(), 200);
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert!(statuses[0].submitted_at.is_none());
    assert_eq!(app.get(&url).await.status(), 200);
    assert_eq!(app.submit(&url, "finally", "finally").await.status(), 200);
    app.stop().await;
}
