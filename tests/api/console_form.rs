//! The new-batch form reads like a form: expiry as a number and a unit, an uploaded
//! roster kept (in the paste box) after another field's error, errors tied to their
//! fields; and console times in the batch's zone, relative with the exact time as title.

use passdrop::config::TimeZoneSetting;

use crate::helpers::TestApp;

const ROSTER: &str = "EmailAddress,DisplayName\nann@example.com,Ann Lee\nbob@example.com,Bob\n";

fn form(name: &str, number: &str, unit: &str, zone: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .text("org", "Example Ltd")
        .text("expires_number", number.to_owned())
        .text("expires_unit", unit.to_owned())
        .text("time_zone", zone.to_owned())
        .text("next_steps", "We move on Friday.")
        .text("ask_mail_client", "on")
        .text("roster_text", "")
        .part(
            "roster_file",
            reqwest::multipart::Part::bytes(ROSTER.as_bytes().to_vec()).file_name("roster.csv"),
        )
}

async fn post(app: &TestApp, cookie: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    app.client
        .post(format!("{}/admin/batches", app.address))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_form_keeps_the_uploaded_roster_and_ties_each_error_to_its_field() {
    let app = TestApp::spawn().await;
    let cookie = app.login().await;
    let r = post(
        &app,
        &cookie,
        form("Move", "3", "fortnights", "Europe/Lodnon"),
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    // The uploaded file comes back in the paste box (escaped), nothing stored.
    assert!(
        page.contains("EmailAddress,DisplayName\nann@example.com,Ann Lee"),
        "{page}"
    );
    assert!(app.store.list_batches().await.unwrap().is_empty());
    // Each field says what is wrong, and the summary links to it.
    assert!(page.contains("href=\"#expires_number\""), "{page}");
    assert!(page.contains("href=\"#time_zone\""), "{page}");
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    assert!(
        page.contains("aria-describedby=\"expires-hint expires_number-error\""),
        "{page}"
    );
    assert!(page.contains("id=\"expires_number-error\""), "{page}");
    assert!(
        page.contains("aria-describedby=\"time-zone-hint time_zone-error\""),
        "{page}"
    );
    assert!(
        page.contains(
            "unknown time zone &quot;Europe/Lodnon&quot;; use an IANA name such as Europe/London"
        ),
        "{page}"
    );
    assert!(page.contains("unknown unit"), "{page}");
    // The name field has no error, so it is not marked.
    assert!(!page.contains("id=\"name-error\""), "{page}");

    // Sent again as re-rendered (the roster pasted, no file), with the errors fixed.
    let again = reqwest::multipart::Form::new()
        .text("name", "Move")
        .text("expires_number", "1")
        .text("expires_unit", "weeks")
        .text("time_zone", "Europe/Paris")
        .text("roster_text", ROSTER);
    let r = post(&app, &cookie, again).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let batches = app.store.list_batches().await.unwrap();
    let b = &batches[0].batch;
    assert_eq!(b.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(b.link_lifetime_secs, 7 * 86_400);
    app.stop().await;
}

#[tokio::test]
async fn the_form_reads_like_a_form_and_shows_the_resulting_date() {
    let app = TestApp::spawn_with(|c| {
        c.time_zone = TimeZoneSetting::parse("Europe/London").unwrap();
    })
    .await;
    let cookie = app.login().await;
    let page = app
        .client
        .get(format!("{}/admin/batches/new", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let order = [
        "id=\"name\"",
        "id=\"org\"",
        "id=\"roster_file\"",
        "id=\"expires_number\"",
        "id=\"time_zone\"",
        "id=\"next_steps\"",
        "Check passwords with the old mail server (advanced)",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|s| page.find(s).unwrap_or_else(|| panic!("{s}: {page}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(
        page.contains("<details class=\"advanced\">"),
        "collapsed: {page}"
    );
    assert!(page.contains("Links made now would expire on"), "{page}");
    assert!(
        page.contains("Empty: Europe/London, the server&#39;s setting")
            || page.contains("Empty: Europe/London, the server's setting"),
        "{page}"
    );
    // The legacy one-text expiry of scripts still works ("7 days" as well as "7d").
    let legacy = reqwest::multipart::Form::new()
        .text("name", "Scripted")
        .text("expires_in", "7 days")
        .text("roster_text", ROSTER);
    let r = post(&app, &cookie, legacy).await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn console_times_are_relative_with_the_exact_time_in_the_batch_zone() {
    let app = TestApp::spawn_with(|c| {
        c.time_zone = TimeZoneSetting::parse("Europe/London").unwrap();
    })
    .await;
    let cookie = app.login().await;
    let r = post(
        &app,
        &cookie,
        form("Paris move", "7", "days", "Europe/Paris"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let b = app.store.list_batches().await.unwrap().remove(0).batch;
    let page = app
        .client
        .get(format!("{}/admin/batches/{}", app.address, b.id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let paris = TimeZoneSetting::parse("Europe/Paris").unwrap();
    let exact = passdrop::config::format_time_in(b.expires_at, &paris);
    assert!(exact.ends_with("CET") || exact.ends_with("CEST"), "{exact}");
    assert!(page.contains(&exact), "{page}");
    // The audit trail: "just now", the exact time in the title, RFC 3339 for machines.
    let created = passdrop::config::format_time_in(b.created_at, &paris);
    let stamp = passdrop::config::rfc3339(b.created_at);
    assert!(
        page.contains(&format!(
            "<time datetime=\"{stamp}\" title=\"{created}\">just now</time>"
        )),
        "{page}"
    );
    // The batch list: a batch without its own zone is in the server's (London).
    let list = app
        .client
        .get(format!("{}/admin/batches", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&exact), "{list}");
    app.stop().await;
}
