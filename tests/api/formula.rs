//! A "password" that is a spreadsheet formula: exported byte-exact (Microsoft needs the
//! exact password), and the admin is warned, by user, never to open the file in a
//! spreadsheet.

use std::process::Command;

use crate::helpers::{PASSPHRASE, TestApp, link, parse_csv};

const ROSTER: &str = "EmailAddress,UserName\n\
                      ann@example.org,ann\n\
                      bob@example.org,bob\n\
                      cy@example.org,cy\n";
const FORMULA: &str = "=WEBSERVICE(\"http://127.0.0.1/x\")";
const AT_FORMULA: &str = "@SUM(1+1)*cmd";
const PLAIN: &str = "an ordinary pass=word";

/// A batch where Ann and Cy submitted formulas and Bob an ordinary password.
async fn batch_with_formulas(app: &TestApp) -> passdrop::storage::Batch {
    let (b, links) = app.create_batch("Formulas", ROSTER).await;
    for (l, pw) in links.iter().zip([FORMULA, PLAIN, AT_FORMULA]) {
        assert_eq!(app.submit(&link(l), pw, pw).await.status(), 200, "{pw}");
    }
    b
}

fn expected_rows() -> Vec<Vec<String>> {
    [
        ["EmailAddress", "UserName", "Password"],
        ["ann@example.org", "ann", FORMULA],
        ["bob@example.org", "bob", PLAIN],
        ["cy@example.org", "cy", AT_FORMULA],
    ]
    .iter()
    .map(|r| r.iter().map(|f| (*f).to_owned()).collect())
    .collect()
}

#[tokio::test]
async fn the_command_line_exports_formulas_exactly_and_names_their_users() {
    let app = TestApp::spawn().await;
    batch_with_formulas(&app).await;
    let out = app.data_dir.path().join("m365.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", app.data_dir.path())
        .env("PASSDROP_PASSPHRASE", PASSPHRASE)
        .args(["export", "Formulas", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(parse_csv(&bytes), expected_rows());
    // Byte-exact: the formula is quoted only because it holds quotes, never prefixed.
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("ann@example.org,ann,\"=WEBSERVICE(\"\"http://127.0.0.1/x\"\")\"\r\n"),
        "{text}"
    );
    assert!(
        text.contains("cy@example.org,cy,@SUM(1+1)*cmd\r\n"),
        "{text}"
    );
    println!("{stderr}");
    assert!(
        stderr.contains("WARNING: 2 passwords start with"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ann@example.org (line 2), cy@example.org (line 4)"),
        "{stderr}"
    );
    assert!(stderr.contains("Never open this file in Excel"), "{stderr}");
    assert!(!stderr.contains("bob@example.org,"), "{stderr}");
    for password in [FORMULA, AT_FORMULA, PLAIN] {
        assert!(!stderr.contains(password), "{stderr}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_console_names_the_users_before_the_download() {
    let app = TestApp::spawn().await;
    let b = batch_with_formulas(&app).await;
    let cookie = app.login().await;
    let url = format!("{}/admin/batches/{}/export", app.address, b.id);
    let page = app
        .client
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Never open the file in a spreadsheet program"),
        "{page}"
    );

    // The passphrase opens the passwords; two look like formulas, so a page naming their
    // users comes before the file, and nothing is recorded as exported yet.
    let r = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("2 passwords start"), "{page}");
    assert!(
        page.contains("<li>ann@example.org (line 2)</li>")
            && page.contains("<li>cy@example.org (line 4)</li>"),
        "{page}"
    );
    assert!(!page.contains("<li>bob@example.org"), "{page}");
    assert!(
        !page.contains("WEBSERVICE") && !page.contains("SUM(1"),
        "{page}"
    );
    assert!(page.contains("name=\"formula_ok\""), "{page}");
    let exported = |app: &TestApp| {
        let store = app.store.clone();
        let id = b.id.clone();
        async move {
            store
                .audit_trail(&id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.kind.as_str() == "exported")
        }
    };
    assert!(!exported(&app).await, "recorded as exported without a file");

    let r = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .form(&[("passphrase", PASSPHRASE), ("formula_ok", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(parse_csv(&r.bytes().await.unwrap()), expected_rows());
    assert!(exported(&app).await);
    app.stop().await;
}
