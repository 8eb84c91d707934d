//! The user's ways out (issue 16): "I don't know my password", "I need help" and "This
//! wasn't me"; the per-user states on the console; the admin's emails; and a mail
//! scanner that opens every link and submits every form with its default values,
//! changing nothing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use passdrop::batch;
use passdrop::mail::{RelayFields, SmtpSettings};
use passdrop::storage::{AuditKind, Batch};

use crate::helpers::{
    Relay, TestApp, aiosmtpd_available, console_get, console_post, link, token_of,
};

/// Posts a way-out form: ticked (`confirm=yes`) or with its default values.
async fn post_way(app: &TestApp, url: &str, ticked: bool) -> (u16, String) {
    let form: &[(&str, &str)] = if ticked { &[("confirm", "yes")] } else { &[] };
    let r = app.client.post(url).form(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_page(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.get(url).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Everything a scanner must not change, as one comparable text: each user's link
/// state, tries, submission and states; the audit trail; the admin's notices and the
/// link emails.
async fn snapshot(app: &TestApp, b: &Batch, links: &[String]) -> String {
    let mut out = Vec::new();
    for l in links {
        let token = passdrop::crypto::LinkToken::parse(&token_of(l)).unwrap();
        let v = app
            .store
            .link_by_token_hash(&token.hash())
            .await
            .unwrap()
            .unwrap();
        out.push(format!(
            "{:?} tries={} used={:?}",
            v.state, v.failed_attempts, v.used_at
        ));
    }
    for s in app.store.recipient_statuses(&b.id).await.unwrap() {
        out.push(format!(
            "{} {:?} sub={:?} help={:?} rep={:?}",
            s.recipient.email, s.link_state, s.submitted_at, s.needs_help_at, s.reported_at
        ));
    }
    for e in app.store.audit_trail(&b.id).await.unwrap() {
        out.push(format!("audit {} {}", e.kind.as_str(), e.count));
    }
    out.push(format!(
        "notices {}",
        app.store.admin_notices(&b.id).await.unwrap().len()
    ));
    out.push(format!(
        "deliveries {}",
        app.store.deliveries(&b.id).await.unwrap().len()
    ));
    out.join("\n")
}

fn audit_kinds(trail: &[passdrop::storage::AuditEvent]) -> Vec<String> {
    trail.iter().map(|e| e.kind.as_str().to_owned()).collect()
}

#[tokio::test]
async fn a_report_revokes_the_link_audits_no_identity_and_the_console_shows_it() {
    let app = TestApp::spawn().await;
    let roster = "EmailAddress,Language\nann@example.org,\nbob@example.org,de\ncy@example.org,\n";
    let (b, links) = app.create_batch("ways", roster).await;
    let (ann, bob, cy) = (link(&links[0]), link(&links[1]), link(&links[2]));

    // The form offers the ways out; "I don't know" leads to "Tell IT I need help".
    let (status, form) = get_page(&app, &ann).await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("href=\"{ann}/password\"")), "{form}");
    assert!(form.contains(&format!("href=\"{ann}/not-me\"")), "{form}");
    let (status, page) = get_page(&app, &format!("{ann}/password")).await;
    assert_eq!(status, 200);
    assert!(page.contains("saved on your phone"), "{page}");
    assert!(page.contains("<strong>Example Ltd</strong>"), "{page}");
    assert!(page.contains(&format!("href=\"{ann}/help\"")), "{page}");

    // "This wasn't me": the page alone changes nothing, nor does an unticked form.
    let before = snapshot(&app, &b, std::slice::from_ref(&ann)).await;
    let (status, page) = get_page(&app, &format!("{ann}/not-me")).await;
    assert_eq!(status, 200);
    assert!(page.contains("type=\"checkbox\" name=\"confirm\" value=\"yes\""));
    assert!(!page.contains("checked"), "{page}");
    let (status, page) = post_way(&app, &format!("{ann}/not-me"), false).await;
    assert_eq!(status, 422);
    assert!(page.contains("Nothing was changed"), "{page}");
    assert_eq!(snapshot(&app, &b, std::slice::from_ref(&ann)).await, before);

    // Ticked: the link is revoked, the user told what happens next (no relay: the
    // console), the audit trail says "a link was reported" and nothing of who.
    let (status, page) = post_way(&app, &format!("{ann}/not-me"), true).await;
    assert_eq!(status, 200);
    assert!(page.contains("This link is now switched off"), "{page}");
    assert!(
        page.contains("IT will see your report in passdrop's console"),
        "{page}"
    );
    assert_eq!(app.get(&ann).await.status(), 410);
    // A reload says the same again; nothing more is recorded.
    let (status, again) = post_way(&app, &format!("{ann}/not-me"), true).await;
    assert_eq!((status, again.contains("switched off")), (200, true));
    let trail = app.store.audit_trail(&b.id).await.unwrap();
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.kind == AuditKind::LinkReported)
            .count(),
        1
    );
    assert!(app.store.admin_notices(&b.id).await.unwrap().is_empty());

    // "I need help" (in the roster's language): the link stays live.
    let (status, page) = get_page(&app, &format!("{bob}/help")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    let (status, page) = post_way(&app, &format!("{bob}/help"), true).await;
    assert_eq!(status, 200);
    assert!(page.contains("passdrop-Konsole"), "{page}");
    assert_eq!(app.get(&bob).await.status(), 200);

    // A used link: a user who did not send the password can still report it.
    assert_eq!(app.submit(&cy, "Pw-cy-1!", "Pw-cy-1!").await.status(), 200);
    let (status, used) = get_page(&app, &cy).await;
    assert_eq!(status, 410);
    assert!(used.contains(&format!("href=\"{cy}/not-me\"")), "{used}");
    assert!(!used.contains(&format!("{cy}/help")), "{used}");
    let (status, page) = post_way(&app, &format!("{cy}/not-me"), true).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("A password had already been received"),
        "{page}"
    );

    let trail = app.store.audit_trail(&b.id).await.unwrap();
    let kinds = audit_kinds(&trail);
    for kind in ["link_reported", "help_asked", "reported_after_use"] {
        assert!(kinds.iter().any(|k| k == kind), "{kinds:?}");
    }
    assert!(
        trail
            .iter()
            .all(|e| e.count == 1 || e.kind == AuditKind::Created)
    );

    // The console: states with times, the banner, each user's language; then cleared.
    let cookie = app.login().await;
    let url = format!("{}/admin/batches/{}", app.address, b.id);
    let page = console_get(&app.client, &url, &cookie).await;
    assert!(page.contains("id=\"reported-banner\""), "{page}");
    assert!(page.contains("id=\"help-banner\""), "{page}");
    assert!(
        page.contains(">reported<") && page.contains(">needs help<"),
        "{page}"
    );
    assert!(page.contains("may be someone else's"), "{page}");
    assert!(page.contains("No relay is set up"), "{page}");
    assert!(page.contains("Deutsch (de)"), "{page}");
    assert!(page.contains("a user reported their link"), "{page}");
    assert!(page.contains("a user asked for help"), "{page}");
    let (status, page) = console_post(
        &app.client,
        &format!("{url}/clear-state"),
        &cookie,
        &[("email", "bob@example.org")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(!page.contains("id=\"help-banner\""), "{page}");
    let (status, _) = console_post(
        &app.client,
        &format!("{url}/clear-state"),
        &cookie,
        &[("email", "bob@example.org")],
    )
    .await;
    assert_eq!(status, 422);

    // The command line shows the states too.
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert!(statuses[0].reported_at.is_some() && statuses[1].needs_help_at.is_none());
    let dir = app.stop().await;
    let o =
        crate::helpers::run(crate::helpers::passdrop(dir.path()).args(["batch", "status", "ways"]));
    assert!(o.status.success(), "{}", crate::helpers::stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("REPORTED by the user"), "{out}");
    assert!(
        out.contains("2 users reported their link or asked for help"),
        "{out}"
    );
}

/// The relay of `relay`, as the options would give it, replies going to IT.
fn relay_settings(relay: &Relay) -> SmtpSettings {
    SmtpSettings::from_fields(RelayFields {
        host: "127.0.0.1",
        port: Some(relay.port),
        security: "starttls",
        credentials: None,
        from: "passdrop@example.org",
        reply_to: Some("it-desk@example.org"),
        ca_pem: Some(std::fs::read_to_string(&relay.ca).unwrap()),
    })
    .unwrap()
}

/// Waits (10 s at most) until the relay holds `n` messages.
async fn messages(relay: &Relay, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = relay.messages();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_a_relay_the_admin_is_emailed_of_reports_help_and_completion_once() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let settings = relay_settings(&relay);
    let app = TestApp::spawn_with(|c| {
        c.smtp = Some(settings);
        c.send_rate = 50.0;
    })
    .await;
    let (report_batch, report_links) = app
        .create_batch("reports", "EmailAddress\nmallory@example.org\n")
        .await;
    let (done_batch, done_links) = app
        .create_batch("done", "EmailAddress\nann@example.org\nbob@example.org\n")
        .await;
    let mallory = link(&report_links[0]);
    let (ann, bob) = (link(&done_links[0]), link(&done_links[1]));

    let (status, page) = post_way(&app, &format!("{mallory}/not-me"), true).await;
    assert_eq!(status, 200);
    assert!(page.contains("We have told IT by email"), "{page}");
    let (status, page) = post_way(&app, &format!("{ann}/help"), true).await;
    assert_eq!(status, 200);
    assert!(page.contains("We have told IT by email"), "{page}");
    // Everyone in "done" submits: one email, however often it is looked at.
    assert_eq!(
        app.submit(&ann, "Pw-ann-1!", "Pw-ann-1!").await.status(),
        200
    );
    assert_eq!(
        app.submit(&bob, "Pw-bob-1!", "Pw-bob-1!").await.status(),
        200
    );

    let got = messages(&relay, 3).await;
    assert_eq!(got.len(), 3, "{got:?}");
    let all: String = got.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        got.iter().all(|(to, _)| to == "it-desk@example.org"),
        "{got:?}"
    );
    assert!(
        all.contains("passdrop: reports: a user reported their link"),
        "{all}"
    );
    assert!(
        all.contains("mallory@example.org said they did not expect"),
        "{all}"
    );
    assert!(
        all.contains("passdrop: done: a user asked for help"),
        "{all}"
    );
    assert!(all.contains("ann@example.org asked for help"), "{all}");
    assert!(
        all.contains("passdrop: done: everyone has submitted"),
        "{all}"
    );
    assert!(
        all.contains(&format!("{}/admin/batches/{}", app.address, done_batch.id)),
        "{all}"
    );
    // Never a link, a token's secret or a password.
    for l in [&mallory, &ann, &bob] {
        let token = token_of(l);
        assert!(
            !all.contains(&token[token.len() - 43..]),
            "a token in {all}"
        );
    }
    assert!(!all.contains("Pw-ann-1!") && !all.contains("Pw-bob-1!"));
    for b in [&report_batch, &done_batch] {
        let notices = app.store.admin_notices(&b.id).await.unwrap();
        assert!(notices.iter().all(|n| n.state == "sent"), "{notices:?}");
    }

    // The console says the admin was emailed.
    let cookie = app.login().await;
    let page = console_get(
        &app.client,
        &format!("{}/admin/batches/{}", app.address, report_batch.id),
        &cookie,
    )
    .await;
    assert!(
        page.contains("Emails to you: 1 sent, 0 waiting, 0 failed."),
        "{page}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.messages().len(), 3);
}

/// A server stopped hard between the last user's submission and its "everyone has
/// submitted" question (or a relay set up only after the last user submitted) does not
/// lose the notice: the next start queues it, once, for a complete batch never exported.
/// A batch with a user still to submit, or one already exported, gets none.
#[tokio::test]
async fn the_next_start_queues_a_completion_notice_that_was_never_queued() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    // No relay yet: the batches complete and nothing is queued.
    let app = TestApp::spawn().await;
    let (done, done_links) = app
        .create_batch("done", "EmailAddress\nann@example.org\n")
        .await;
    let (half, half_links) = app
        .create_batch("half", "EmailAddress\nbob@example.org\ncat@example.org\n")
        .await;
    let (exported, exported_links) = app
        .create_batch("exported", "EmailAddress\ndan@example.org\n")
        .await;
    for (l, p) in [
        (&done_links[0], "Pw-ann-1!"),
        (&half_links[0], "Pw-bob-1!"),
        (&exported_links[0], "Pw-dan-1!"),
    ] {
        assert_eq!(app.submit(&link(l), p, p).await.status(), 200);
    }
    let (_, missing) = app.export(&exported).await;
    assert!(missing.is_empty(), "{missing:?}");
    for b in [&done, &half, &exported] {
        assert!(app.store.admin_notices(&b.id).await.unwrap().is_empty());
    }

    let with_relay = |c: &mut passdrop::web::ServerConfig| {
        c.smtp = Some(relay_settings(&relay));
        c.send_rate = 50.0;
    };
    let app = app.restart_with(with_relay).await;
    let got = messages(&relay, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].1.contains("passdrop: done: everyone has submitted"),
        "{got:?}"
    );
    let notices = app.store.admin_notices(&done.id).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].kind.as_str(), "completed");
    for b in [&half, &exported] {
        assert!(app.store.admin_notices(&b.id).await.unwrap().is_empty());
    }

    // Once: a later start queues nothing more.
    let app = app.restart_with(with_relay).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(relay.messages().len(), 1);
    assert_eq!(app.store.admin_notices(&done.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_saved_relay_is_used_only_while_it_matches_its_signature() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let app = TestApp::spawn_with(|c| c.send_retry_wait = Duration::from_secs(1)).await;
    let admin = app.admin().await;
    let mut stored = relay_settings(&relay)
        .to_stored(
            &app.store.admin_key().await.unwrap().unwrap().public_key,
            passdrop::config::now(),
        )
        .unwrap();
    stored.sig = Some(batch::sign_relay(
        &batch::settings_signer(&admin).unwrap(),
        &stored,
    ));
    // Changed after signing (outside passdrop): the notice waits, nothing is sent.
    let mut tampered = stored.clone();
    tampered.reply_to = Some("attacker@example.net".to_owned());
    app.store.save_smtp_settings(&tampered).await.unwrap();
    let (b, links) = app
        .create_batch("signed", "EmailAddress\nann@example.org\n")
        .await;
    let ann = link(&links[0]);
    assert_eq!(post_way(&app, &format!("{ann}/help"), true).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let notices = app.store.admin_notices(&b.id).await.unwrap();
        if notices.iter().any(|n| n.last_error.is_some()) || Instant::now() > deadline {
            break notices;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].state, "queued");
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("signature"),
        "{waiting:?}"
    );
    assert!(relay.messages().is_empty());
    // The signed relay goes out once the notice is due again.
    app.store.save_smtp_settings(&stored).await.unwrap();
    let notifier = passdrop::outbox::notify::Notifier::new(
        app.store.clone(),
        passdrop::outbox::notify::NotifierSettings {
            configured: None,
            key_file: app.key_file(),
            public_url: app.public_url.clone(),
            time_zone: passdrop::config::TimeZoneSetting::Utc,
            per_second: 100.0,
            policy: passdrop::outbox::RetryPolicy::new(Duration::from_secs(1)),
        },
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while relay.messages().is_empty() && Instant::now() < deadline {
        notifier.send_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let got = relay.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "it-desk@example.org");
}

/// `name="value"` attributes of the first tag at the start of `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&"))
}

/// Every `<tag ...>` opening in `html`, as its text up to `>`.
fn openings<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let needle = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let after = &rest[i..];
        let end = after.find('>').unwrap_or(after.len());
        let opening = &after[..end];
        if opening[needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c == ' ' || c == '>' || c == '/')
            || end == needle.len()
        {
            out.push(opening);
        }
        rest = &after[end..];
    }
    out
}

/// What a mail scanner posts for each form of a page: the form's address and its
/// fields' default values (text and hidden fields as filled in, only ticked boxes and
/// chosen radios, no password typed).
fn default_submissions(page_url: &str, html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<form") {
        let after = &rest[i..];
        let end = after.find("</form>").unwrap_or(after.len());
        let form = &after[..end];
        let opening = openings(form, "form")[0];
        let action = attr(opening, "action")
            .filter(|a| !a.is_empty())
            .map_or_else(|| page_url.to_owned(), |a| absolute(page_url, &a));
        let method = attr(opening, "method").unwrap_or_else(|| "get".to_owned());
        let mut fields = Vec::new();
        for input in openings(form, "input") {
            let (Some(name), kind) = (attr(input, "name"), attr(input, "type")) else {
                continue;
            };
            let value = attr(input, "value").unwrap_or_default();
            let ticked = input.contains(" checked");
            match kind.as_deref() {
                Some("checkbox" | "radio") if !ticked => {}
                Some("checkbox" | "radio") => {
                    fields.push((name, if value.is_empty() { "on".into() } else { value }))
                }
                _ => fields.push((name, value)),
            }
        }
        if method.eq_ignore_ascii_case("post") {
            out.push((action, fields));
        }
        rest = &after[end..];
    }
    out
}

fn absolute(page_url: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        return href.to_owned();
    }
    let origin = page_url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    format!("{origin}{href}")
}

/// A relay that is "set up" but where nothing listens: any event queues a notice.
fn nowhere_relay() -> SmtpSettings {
    SmtpSettings::from_fields(RelayFields {
        host: "127.0.0.1",
        port: Some(9),
        security: "none",
        credentials: None,
        from: "passdrop@example.org",
        reply_to: None,
        ca_pem: None,
    })
    .unwrap()
}

#[tokio::test]
async fn a_scanner_that_opens_every_link_and_submits_every_form_with_defaults_changes_nothing() {
    let app = TestApp::spawn_with(|c| c.smtp = Some(nowhere_relay())).await;
    let roster = "EmailAddress\nlive@example.org\nused@example.org\nlocked@example.org\n";
    let (b, links) = app.create_batch("scanned", roster).await;
    let all: Vec<String> = links.iter().map(link).collect();
    assert_eq!(
        app.submit(&all[1], "Pw-used-1!", "Pw-used-1!")
            .await
            .status(),
        200
    );
    // Lock the third link: a forbidden character counts toward the lock every time.
    for _ in 0..batch::MAX_FAILED_ATTEMPTS {
        let _ = app.submit(&all[2], "a\u{0}b", "a\u{0}b").await;
    }
    assert_eq!(app.get(&all[2]).await.status(), 410);
    // A first look marks the link opened (not a change a scanner could make twice).
    assert_eq!(app.get(&all[0]).await.status(), 200);
    let before = snapshot(&app, &b, &all).await;

    let origin = app.public_url.link_for("");
    let origin = origin.strip_suffix("/s/").unwrap().to_owned();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = all.clone();
    let (mut pages, mut posts) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(url) = queue.pop() {
        assert!(
            Instant::now() < deadline && pages < 200,
            "the crawl ran away"
        );
        if !seen.insert(url.clone()) {
            continue;
        }
        let (_, html) = get_page(&app, &url).await;
        pages += 1;
        for a in openings(&html, "a") {
            if let Some(href) = attr(a, "href") {
                let href = absolute(&url, &href);
                if href.starts_with(&format!("{origin}/s/")) {
                    queue.push(href);
                }
            }
        }
        for (action, fields) in default_submissions(&url, &html) {
            let r = app.client.post(&action).form(&fields).send().await.unwrap();
            posts += 1;
            assert_eq!(r.status(), 422, "{action}");
        }
    }
    // Every user page was reached: the form, "I don't know", both confirmations (live
    // link), the used page's and the locked page's ways out.
    for l in &all[..1] {
        for way in ["", "/password", "/help", "/not-me"] {
            assert!(seen.contains(&format!("{l}{way}")), "{l}{way} not reached");
        }
    }
    assert!(seen.contains(&format!("{}/not-me", all[1])));
    assert!(seen.contains(&format!("{}/help", all[2])));
    assert!(seen.contains(&format!("{}/not-me", all[2])));
    assert!(pages >= 9 && posts >= 4, "{pages} pages, {posts} posts");
    assert_eq!(snapshot(&app, &b, &all).await, before);
    // Nothing was queued for the admin either.
    assert!(app.store.admin_notices(&b.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_refusals_a_link_user_meets_speak_their_language() {
    let app = TestApp::spawn_with(|c| c.rate_limit = 3).await;
    let (b, links) = app
        .create_batch("refusals", "EmailAddress,Language\nann@example.org,fr\n")
        .await;
    let ann = link(&links[0]);
    // A POST from another site (403): in the roster's language, though the browser
    // asks for German.
    let r = app
        .client
        .post(format!("{ann}/help"))
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Accept-Language", "de")
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("<html lang=\"fr\">"), "{page}");
    assert!(page.contains("Demande refusée"), "{page}");
    // Too many requests (429): in the browser's language (nothing is looked up).
    let mut last = None;
    for _ in 0..10 {
        let r = app
            .client
            .get(format!("{ann}/password"))
            .header("Accept-Language", "nl")
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("no 429 after 10 requests at 3 a minute");
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(page.contains("<html lang=\"nl\">"), "{page}");
    assert!(page.contains("Te veel verzoeken"), "{page}");
    let statuses = app.store.recipient_statuses(&b.id).await.unwrap();
    assert!(
        statuses[0].needs_help_at.is_none(),
        "a refused POST changed nothing"
    );
}

#[tokio::test]
async fn a_purge_leaves_no_user_state_and_no_notice_behind() {
    let app = TestApp::spawn_with(|c| c.smtp = Some(nowhere_relay())).await;
    let roster = "EmailAddress,DisplayName\n\
                  canary.ann@canary-ways.example,Canaryname Annabel\n\
                  canary.bob@canary-ways.example,Canaryname Bobbington\n";
    let (b, links) = app.create_batch("ways-purge", roster).await;
    let (ann, bob) = (link(&links[0]), link(&links[1]));
    assert_eq!(post_way(&app, &format!("{ann}/not-me"), true).await.0, 200);
    assert_eq!(post_way(&app, &format!("{bob}/help"), true).await.0, 200);
    assert_eq!(app.store.admin_notices(&b.id).await.unwrap().len(), 2);

    let cookie = app.login().await;
    let (status, _) = console_post(
        &app.client,
        &format!("{}/admin/batches/{}/purge", app.address, b.id),
        &cookie,
        &[
            ("confirm", "yes"),
            ("passphrase", crate::helpers::PASSPHRASE),
        ],
    )
    .await;
    assert_eq!(status, 303);
    // The audit trail keeps that it happened, never who.
    let kinds = audit_kinds(&app.store.audit_trail(&b.id).await.unwrap());
    assert!(kinds.iter().any(|k| k == "link_reported"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "help_asked"), "{kinds:?}");
    let tokens: Vec<String> = [&ann, &bob].iter().map(|l| token_of(l)).collect();
    let mut canaries = vec!["canary-ways", "canary.ann", "canary.bob", "Canaryname"];
    canaries.extend(tokens.iter().map(|t| &t[t.len() - 43..]));
    let dir = app.stop().await;
    let found = crate::helpers::canaries_found(dir.path(), &canaries);
    assert!(found.is_empty(), "after purge: {found:?}");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join(passdrop::storage::DATABASE_FILE))
        .read_only(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    for table in ["user_states", "admin_notices", "recipients", "links"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table} after purge");
    }
    pool.close().await;
}
