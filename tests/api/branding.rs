//! Who is asking (issue 16): a batch's contact, logo, accent and link prefix are shown on
//! the form and on every page a link can end on, served first-party, signed (a changed
//! column is refused like any signed setting), and changed only with the passphrase.

use crate::helpers::*;
use passdrop::batch;
use passdrop::storage::{Branding, LogoChange};

const ROSTER: &str = "EmailAddress\nana@example.org\nbob@example.org\ncy@example.org\ndan@example.org\neve@example.org\nfay@example.org\n";

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

/// A small PNG, as an admin would upload it.
pub fn sample_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(120, 40, |x, _| image::Rgb([20, (x * 2) as u8, 120]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// The branding the tests set.
pub fn sample_branding() -> Branding {
    Branding {
        contact_name: Some("Ann Smith".into()),
        contact_role: Some("IT manager".into()),
        contact_phone: Some("+44 20 7946 0000".into()),
        contact_email: Some("it@example.org".into()),
        accent_colour: Some("#0b6e4f".into()),
        link_prefix: Some("https://pass.example.org/s/".into()),
        logo_sha256: None,
    }
}

/// Brands `b` (with a logo) with the passphrase, as the CLI and console do.
pub async fn brand(app: &TestApp, b: &passdrop::storage::Batch) -> passdrop::storage::Batch {
    let png = batch::prepare_logo(&sample_png(), Some("logo.png")).unwrap();
    let admin = app.admin().await;
    batch::set_branding(
        &app.store,
        b,
        sample_branding(),
        LogoChange::Set(png),
        &admin,
        passdrop::config::now(),
    )
    .await
    .unwrap();
    app.store.require_batch(&b.id).await.unwrap()
}

pub fn assert_branded(page: &str, what: &str) {
    for expected in [
        "Your contact for this move",
        "<strong>Ann Smith</strong>, IT manager",
        "href=\"tel:+442079460000\"",
        "href=\"mailto:it@example.org\"",
        "Our link always starts with https://pass.example.org/s/.",
        "<span class=\"org\">Example Ltd</span>",
        "alt=\"Example Ltd\"",
        "/logo.png?v=",
        "/accent.css?v=0b6e4f",
        " – Example Ltd</title>",
    ] {
        assert!(page.contains(expected), "{what}: no {expected:?} in {page}");
    }
}

#[tokio::test]
async fn the_form_and_every_refusal_page_show_who_is_asking() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("branded", ROSTER).await;
    let (_, plain_links) = app.create_batch("plain", ROSTER).await;
    let b = brand(&app, &b).await;
    let l = |i: usize| link(&links[i]);

    // The form: contact, link prefix, organisation in the header and title, logo, accent.
    let r = app.get(&l(0)).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    assert_branded(&page, "form");
    assert!(page.contains("Not expecting this? Do not type anything; ask Ann Smith."));
    assert!(!page.contains("style="), "no inline style");

    // A batch without branding keeps today's wording.
    let page = app.get(&link(&plain_links[0])).await.text().await.unwrap();
    assert!(!page.contains("Your contact for this move"), "{page}");
    assert!(page.contains("ask your IT contact"), "{page}");

    // The logo and accent, first-party, typed, not sniffable, cacheable.
    let tag = b.link_tag.as_str().to_owned();
    let r = app
        .get(&format!("{}/brand/{tag}/logo.png", app.address))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let png = r.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let r = app
        .get(&format!("{}/brand/{tag}/accent.css", app.address))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    let css = r.text().await.unwrap();
    assert!(
        css.contains("--accent: #0b6e4f") && css.contains("prefers-color-scheme: light"),
        "{css}"
    );
    assert_eq!(
        app.get(&format!("{}/brand/000000000000/logo.png", app.address))
            .await
            .status(),
        404
    );

    // 422: the form again, branded.
    let r = app.submit(&l(0), "one password", "another").await;
    assert_eq!(r.status(), 422);
    assert_branded(&r.text().await.unwrap(), "422");

    // Used.
    assert_eq!(app.submit(&l(1), "pw one", "pw one").await.status(), 200);
    let r = app.get(&l(1)).await;
    assert_eq!(r.status(), 410);
    assert_branded(&r.text().await.unwrap(), "used");

    // Revoked.
    batch::revoke(&app.store, &b, "cy@example.org")
        .await
        .unwrap();
    let r = app.get(&l(2)).await;
    assert_eq!(r.status(), 410);
    assert_branded(&r.text().await.unwrap(), "revoked");

    // Replaced.
    batch::reissue(
        &app.store,
        &app.public_url,
        &b,
        "dan@example.org",
        passdrop::config::now(),
    )
    .await
    .unwrap();
    let r = app.get(&l(3)).await;
    assert_eq!(r.status(), 410);
    assert_branded(&r.text().await.unwrap(), "replaced");

    // Locked (input nobody types by mistake counts toward the lock).
    let long = "x".repeat(1100);
    let mut last = 0;
    for _ in 0..batch::MAX_FAILED_ATTEMPTS + 1 {
        last = app.submit(&l(4), &long, &long).await.status().as_u16();
        if last == 410 {
            break;
        }
    }
    assert_eq!(last, 410);
    let r = app.get(&l(4)).await;
    assert_eq!(r.status(), 410);
    assert_branded(&r.text().await.unwrap(), "locked");

    // Expired.
    exec(
        &app,
        &format!(
            "UPDATE links SET expires_at = 1 WHERE recipient_id = (SELECT id FROM recipients \
             WHERE email = 'fay@example.org' AND batch_id = '{}')",
            b.id
        ),
        None,
    )
    .await;
    let r = app.get(&l(5)).await;
    assert_eq!(r.status(), 410);
    assert_branded(&r.text().await.unwrap(), "expired");

    // A link nobody issued whose tag names the batch.
    let stranger = passdrop::crypto::LinkToken::generate_tagged(&b.link_tag).unwrap();
    let r = app.get(&app.public_url.link_for(stranger.expose())).await;
    assert_eq!(r.status(), 404);
    assert_branded(&r.text().await.unwrap(), "unknown");

    // Closed (purged): the tombstone keeps the organisation only.
    batch::purge(&app.store, &b, passdrop::config::now())
        .await
        .unwrap();
    let r = app.get(&l(0)).await;
    assert_eq!(r.status(), 410);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<span class=\"org\">Example Ltd</span>"),
        "{page}"
    );
    assert!(!page.contains("Ann Smith"), "{page}");
    assert_eq!(
        app.get(&format!("{}/brand/{tag}/logo.png", app.address))
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn a_changed_branding_column_or_logo_is_refused_like_any_signed_setting() {
    let app = TestApp::spawn().await;
    let (b, links) = app.create_batch("tamper", ROSTER).await;
    let b = brand(&app, &b).await;
    let tag = b.link_tag.as_str().to_owned();
    let logo_url = format!("{}/brand/{tag}/logo.png", app.address);
    assert_eq!(app.get(&logo_url).await.status(), 200);

    // The logo's bytes swapped: the logo is not served; the page (whose signed digest
    // still matches) is.
    exec(
        &app,
        &format!("UPDATE batch_logos SET png = ? WHERE batch_id = '{}'", b.id),
        Some(sample_png()),
    )
    .await;
    assert_eq!(app.get(&logo_url).await.status(), 404);

    // A branding column changed: the form is refused (503, the link kept), the logo and
    // accent are not served, and no email goes out.
    for (column, value) in [
        ("contact_phone", "'+1 900 555 0100'"),
        ("link_prefix", "'https://evil.example/s/'"),
        ("accent_colour", "'#ff0000'"),
        ("contact_name", "NULL"),
    ] {
        let (b2, links2) = app.create_batch(&format!("tamper-{column}"), ROSTER).await;
        let b2 = brand(&app, &b2).await;
        exec(
            &app,
            &format!(
                "UPDATE batches SET {column} = {value} WHERE id = '{}'",
                b2.id
            ),
            None,
        )
        .await;
        let r = app.get(&link(&links2[0])).await;
        assert_eq!(r.status(), 503, "{column}");
        let page = r.text().await.unwrap();
        assert!(
            !page.contains("evil.example") && !page.contains("900 555"),
            "{page}"
        );
        let tag2 = b2.link_tag.as_str();
        for asset in ["logo.png", "accent.css"] {
            let url = format!("{}/brand/{tag2}/{asset}", app.address);
            assert_eq!(app.get(&url).await.status(), 404, "{column} {asset}");
        }
        let tampered = app.store.require_batch(&b2.id).await.unwrap();
        let admin = app.admin().await;
        assert!(
            passdrop::outbox::letters_from_live_links(
                &app.store,
                &app.public_url,
                &tampered,
                &admin,
                passdrop::config::now()
            )
            .await
            .is_err(),
            "{column}: email refused"
        );
        assert!(
            batch::require_signed_batch(&app.store, &app.key_file(), &tampered)
                .await
                .is_err()
        );
    }
    // The first batch's form still works (its branding columns were not touched).
    assert_eq!(app.get(&link(&links[0])).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn the_console_saves_branding_only_with_the_passphrase_and_names_a_bad_field() {
    let app = TestApp::spawn().await;
    let (b, _) = app.create_batch("console", ROSTER).await;
    let cookie = app.login().await;
    let url = format!("{}/admin/batches/{}/branding", app.address, b.id);
    let page = app
        .client
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("name=\"contact_phone\""), "{page}");
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");

    let post = |fields: Vec<(&'static str, String)>, logo: Option<(Vec<u8>, &'static str)>| {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name, value);
        }
        if let Some((bytes, name)) = logo {
            form = form.part(
                "logo",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        }
        app.client
            .post(&url)
            .header("cookie", &cookie)
            .multipart(form)
            .send()
    };
    let good = |passphrase: &str| {
        vec![
            ("contact_name", "Ann Smith".to_owned()),
            ("contact_role", "IT manager".to_owned()),
            ("contact_phone", "+44 20 7946 0000".to_owned()),
            ("contact_email", "it@example.org".to_owned()),
            ("accent_colour", "#0b6e4f".to_owned()),
            ("link_prefix", String::new()),
            ("passphrase", passphrase.to_owned()),
        ]
    };
    // A wrong passphrase changes nothing.
    let r = post(good("not the passphrase"), Some((sample_png(), "logo.png")))
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let after = app.store.require_batch(&b.id).await.unwrap();
    assert!(!after.branding.is_set());
    assert_eq!(after.settings_sig, b.settings_sig);

    // A bad field is named, next to the field, and changes nothing.
    let mut bad = good(PASSPHRASE);
    bad[2].1 = "call me maybe".to_owned();
    let r = post(bad, None).await.unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"contact_phone-error\""), "{page}");
    assert!(page.contains("contact phone: “c” is not allowed"), "{page}");
    let mut bad = good(PASSPHRASE);
    bad[4].1 = "#7fb3ff".to_owned();
    let page = post(bad, None).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("accent colour: #7fb3ff has a contrast of 2.14:1"),
        "{page}"
    );
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec();
    let page = post(good(PASSPHRASE), Some((svg, "logo.svg")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("logo: SVG is not accepted"), "{page}");
    assert!(
        !app.store
            .require_batch(&b.id)
            .await
            .unwrap()
            .branding
            .is_set()
    );

    // The passphrase saves it, signed and audited without the values.
    let r = post(good(PASSPHRASE), Some((sample_png(), "logo.png")))
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = app.store.require_batch(&b.id).await.unwrap();
    assert_eq!(after.branding.contact_name.as_deref(), Some("Ann Smith"));
    assert!(after.branding.logo_sha256.is_some());
    batch::require_signed_batch(&app.store, &app.key_file(), &after)
        .await
        .unwrap();
    let trail = app.store.audit_trail(&b.id).await.unwrap();
    assert!(trail.iter().any(|e| e.kind.as_str() == "branding_changed"));
    app.stop().await;
}

#[test]
fn the_cli_checks_each_branding_option_and_needs_the_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = tmp.path().join("p");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "a wrong passphrase for this test").unwrap();
    let roster = tmp.path().join("r.csv");
    std::fs::write(&roster, ROSTER).unwrap();
    let logo = tmp.path().join("logo.png");
    std::fs::write(&logo, sample_png()).unwrap();
    let svg = tmp.path().join("logo.svg");
    std::fs::write(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    assert!(
        run(passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&pass))
        .status
        .success()
    );
    let links = tmp.path().join("links.csv");
    let create = |extra: &[&str]| {
        run(passdrop(&data)
            .args(["batch", "create", "--name", "b", "--org", "Example Ltd"])
            .args(["--public-url", "https://pass.example.org"])
            .arg("--roster")
            .arg(&roster)
            .arg("--links-out")
            .arg(&links)
            .arg("--passphrase-file")
            .arg(&pass)
            .args(extra))
    };
    for (args, says) in [
        (
            vec!["--contact-phone", "call me"],
            "--contact-phone: “c” is not allowed",
        ),
        (vec!["--contact-email", "ann@"], "--contact-email:"),
        (
            vec!["--accent-colour", "#7fb3ff"],
            "--accent-colour: #7fb3ff has a contrast of 2.14:1",
        ),
        (
            vec!["--link-prefix", "https://evil.example/s/"],
            "--link-prefix: this server's links start with https://pass.example.org/s/",
        ),
        (vec!["--logo", svg.to_str().unwrap()], "SVG is not accepted"),
    ] {
        let o = create(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!links.exists());
    }
    let o = create(&[
        "--contact-name",
        "Ann Smith",
        "--contact-phone",
        "+44 20 7946 0000",
        "--accent-colour",
        "#0B6E4F",
        "--link-prefix",
        "https://pass.example.org/s/",
        "--logo",
        logo.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let show = || {
        let o = run(passdrop(&data).args(["batch", "branding", "b"]));
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let shown = show();
    assert!(shown.contains("Contact name:  Ann Smith"), "{shown}");
    assert!(shown.contains("Accent colour: #0b6e4f"), "{shown}");
    assert!(shown.contains("Logo:          PNG, SHA-256"), "{shown}");
    // A wrong passphrase changes nothing.
    let o = run(passdrop(&data)
        .args([
            "batch",
            "branding",
            "b",
            "--contact-name",
            "Mallory",
            "--passphrase-file",
        ])
        .arg(&wrong));
    assert!(!o.status.success());
    assert_eq!(show(), shown);
    // The passphrase changes it; an empty value removes an item.
    let o = run(passdrop(&data)
        .args([
            "batch",
            "branding",
            "b",
            "--contact-name",
            "Bo Lee",
            "--contact-phone",
            "",
            "--no-logo",
            "--passphrase-file",
        ])
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = show();
    assert!(shown.contains("Contact name:  Bo Lee"), "{shown}");
    assert!(shown.contains("Contact phone: (not set)"), "{shown}");
    assert!(shown.contains("Logo:          (none)"), "{shown}");
}

#[tokio::test]
async fn the_new_batch_form_takes_a_contact_only_with_the_passphrase() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let form = |phone: &str, passphrase: &str| {
        reqwest::multipart::Form::new()
            .text("name", "with-contact")
            .text("org", "Example Ltd")
            .text("expires_number", "7")
            .text("expires_unit", "days")
            .text("roster_text", ROSTER)
            .text("retain_after_expiry", "7d")
            .text("retain_after_export", "24h")
            .text("contact_name", "Ann Smith")
            .text("contact_phone", phone.to_owned())
            .text("passphrase", String::new())
            .text("passphrase", passphrase.to_owned())
    };
    let post = |form: reqwest::multipart::Form| {
        app.client
            .post(format!("{}/admin/batches", app.address))
            .header("cookie", &cookie)
            .multipart(form)
            .send()
    };
    // A bad phone: named beside its field, nothing created.
    let r = post(form("call me", PASSPHRASE)).await.unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"contact_phone-error\""), "{page}");
    // No (or a wrong) passphrase: nothing created.
    let r = post(form("+44 20 7946 0000", "")).await.unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = post(form("+44 20 7946 0000", "wrong passphrase"))
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(
        app.store
            .find_batch("with-contact")
            .await
            .unwrap()
            .is_none()
    );
    // With it: created, signed, with its contact.
    let r = post(form("+44 20 7946 0000", PASSPHRASE)).await.unwrap();
    assert_eq!(r.status(), 303);
    let b = app.store.require_batch("with-contact").await.unwrap();
    assert_eq!(
        b.branding.contact_phone.as_deref(),
        Some("+44 20 7946 0000")
    );
    batch::require_signed_batch(&app.store, &app.key_file(), &b)
        .await
        .unwrap();
    app.stop().await;
}
