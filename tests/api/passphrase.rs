//! The admin passphrase (issue 19, finding 3): a weak one is refused with a reason on the
//! setup page and by `admin init`, and a generated one is offered and accepted.

use std::path::Path;

use passdrop::batch;
use passdrop::storage::Store;

use crate::helpers::{TestApp, canaries_found, passdrop, run, secret, stderr};

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
