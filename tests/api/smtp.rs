//! Sending links through a real SMTP server: Debian's aiosmtpd, started by the test on
//! 127.0.0.1 with STARTTLS required and a test certificate.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::{
    RELAY_PASSWORD, RELAY_USER, Relay, Server, aiosmtpd_available, console_get, console_login,
    console_post,
};

fn links_in(text: &str, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(base) {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || ":/._-".contains(c)))
            .unwrap_or(tail.len());
        // "The address of the link starts with {base}." names the prefix, not a link.
        let found = tail[..end].trim_end_matches('.');
        if found.len() > base.len() {
            out.push(found.to_owned());
        }
        rest = &tail[end..];
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn links_are_emailed_once_reminders_reach_only_the_pending() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let data = dir.path().join("data");
    let passphrase = "smtp test passphrase";
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .env("PASSDROP_PASSPHRASE", passphrase)
            .env("PASSDROP_SMTP_HOST", "127.0.0.1")
            .env("PASSDROP_SMTP_PORT", relay.port.to_string())
            .env("PASSDROP_SMTP_FROM", "IT team <it@example.org>")
            .env("PASSDROP_SMTP_CA_FILE", &relay.ca)
            .env("PASSDROP_SEND_RATE", "50")
            .env("PASSDROP_SEND_RETRY_WAIT", "1s")
            .args(args)
            .output()
            .unwrap()
    };
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(cli(&["admin", "init"]).status.success());
    let server = Server::start(&data, &[]);
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,DisplayName,AlternateEmail,Language\n\
         ann@example.org,Ann Lee,ann.home@example.net,\n\
         bob@example.org,Bob Stone,,DE-at\n\
         temp@example.org,Tim Temp,,\n\
         bounce@example.org,Bea Bounce,,\n",
    )
    .unwrap();
    let o = cli(&[
        "batch",
        "create",
        "--name",
        "mailing",
        "--org",
        "Example Ltd",
        "--roster",
        roster.to_str().unwrap(),
        "--links-out",
        dir.path().join("links.csv").to_str().unwrap(),
        "--public-url",
        &server.address,
    ]);
    assert!(o.status.success(), "{}", err(&o));

    // The relay answers a test message.
    let o = cli(&["smtp", "test", "--to", "admin@example.org"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("250 2.0.0 Queued as test-0"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A relay whose certificate is not trusted is refused before anything is sent.
    let o = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", &data)
        .env("PASSDROP_SMTP_HOST", "127.0.0.1")
        .env("PASSDROP_SMTP_PORT", relay.port.to_string())
        .env("PASSDROP_SMTP_FROM", "it@example.org")
        .args(["smtp", "test", "--to", "admin@example.org"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).to_lowercase().contains("certificate"),
        "{}",
        err(&o)
    );
    assert_eq!(relay.messages().len(), 1);

    // Emailed links are built from the public URL: without it, nothing is sent.
    let o = cli(&["send", "mailing"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--public-url"), "{}", err(&o));
    assert_eq!(relay.messages().len(), 1);

    // Everyone pending gets one message; the temporary failure is retried; the
    // permanent one is reported with the relay's reason.
    let args = ["send", "mailing", "--public-url", &server.address];
    let o = cli(&args);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = err(&o);
    assert!(text.contains("3 sent, 1 failed, of 4"), "{text}");
    assert!(text.contains("before the MX change"), "{text}");
    assert!(
        text.contains("bounce@example.org: FAILED after 1 tries"),
        "{text}"
    );
    assert!(text.contains("No such user here"), "{text}");
    let got = relay.messages();
    let rcpts: Vec<&str> = got.iter().skip(1).map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        rcpts,
        [
            "ann.home@example.net",
            "bob@example.org",
            "temp@example.org"
        ],
        "AlternateEmail is used; one message each"
    );
    // The default message in each user's language: Bob's roster row says German.
    let subject = |rcpt: &str| {
        let (_, message) = got.iter().find(|(r, _)| r == rcpt).unwrap();
        let line = message
            .lines()
            .find(|l| l.starts_with("Subject: "))
            .unwrap();
        line.trim_end().to_owned()
    };
    assert_eq!(
        subject("bob@example.org"),
        "Subject: Example Ltd: Ihr Postfach zieht zu Microsoft 365 um"
    );
    assert_eq!(
        subject("ann.home@example.net"),
        "Subject: Example Ltd: your mailbox moves to Microsoft 365"
    );
    let client = reqwest::Client::new();
    let mut ann_link = String::new();
    for (rcpt, message) in got.iter().skip(1) {
        assert!(
            message.contains("Content-Type: multipart/alternative"),
            "{message}"
        );
        assert!(
            message.lines().any(|l| {
                let l = l.trim_end();
                l.starts_with("Message-ID: <") && l.ends_with("@example.org>")
            }),
            "a Message-ID in the sender's domain: {message}"
        );
        assert!(
            message.contains("will never ask for your password")
                || message.contains("nach Ihrem Passwort fragen"),
            "{message}"
        );
        let links = links_in(message, &format!("{}/s/", server.address));
        assert_eq!(links.len(), 1, "{rcpt}: {links:?}");
        assert_eq!(
            client.get(&links[0]).send().await.unwrap().status(),
            200,
            "{rcpt}"
        );
        if rcpt.starts_with("ann") {
            ann_link = links[0].clone();
        }
    }

    // Running it again sends nothing new (only the failed one is tried again).
    let o = cli(&args);
    assert!(err(&o).contains("0 sent, 1 failed, of 1"), "{}", err(&o));
    assert_eq!(relay.messages().len(), 4);

    // Ann submits; a reminder reaches only those still pending.
    let r = client
        .post(&ann_link)
        .form(&[("password", "pw"), ("password_confirm", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let o = cli(&[
        "send",
        "mailing",
        "--pending",
        "--public-url",
        &server.address,
    ]);
    assert!(err(&o).contains("2 sent, 1 failed, of 3"), "{}", err(&o));
    let reminded: Vec<String> = relay
        .messages()
        .iter()
        .skip(4)
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(reminded, ["bob@example.org", "temp@example.org"]);

    // A message whose outcome was never recorded (the run stopped mid-send) is not sent
    // again by a plain re-run.
    {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        let b = store.require_batch("mailing").await.unwrap();
        let bounce = store.recipient(&b, "bounce@example.org").await.unwrap();
        let links =
            crate::helpers::parse_csv(&std::fs::read(dir.path().join("links.csv")).unwrap());
        let bounce_link = &links.iter().find(|r| r[0] == "bounce@example.org").unwrap()[2];
        let token =
            passdrop::crypto::LinkToken::parse(bounce_link.rsplit('/').next().unwrap()).unwrap();
        let now = passdrop::config::now();
        store
            .enqueue_deliveries(&[bounce.id], passdrop::storage::Requeue::Any, now)
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_delivery(bounce.id, &token.hash(), now)
                .await
                .unwrap(),
            Some(1)
        );
        // A second run cannot claim the same message while it is being sent.
        assert_eq!(
            store
                .claim_delivery(bounce.id, &token.hash(), now)
                .await
                .unwrap(),
            None
        );
        // Not even on request while it may still be in the relay's hands.
        assert_eq!(
            store
                .enqueue_deliveries(&[bounce.id], passdrop::storage::Requeue::Any, now)
                .await
                .unwrap(),
            0
        );
        store.close().await;
    }
    let before = relay.messages().len();
    let o = cli(&args);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("Not sent again"), "{}", err(&o));
    assert_eq!(relay.messages().len(), before);
    let o = cli(&[
        "send",
        "mailing",
        "--to",
        "bounce@example.org",
        "--public-url",
        &server.address,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("being sent right now"), "{}", err(&o));

    // The doctor reaches the relay with the same settings.
    let o = cli(&["doctor", "--public-url", "https://pass.example.org"]);
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        report.contains("ok       the SMTP relay 127.0.0.1 answers"),
        "{report}"
    );

    // `batch status` shows where each message stands.
    let o = cli(&["batch", "status", "mailing"]);
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(status.contains("emailed"), "{status}");
    assert!(status.contains("reminded 1x"), "{status}");

    // The batch's own message: checked, saved, printed, and used by a reissue sent at
    // once.
    let body = dir.path().join("body.txt");
    std::fs::write(&body, "Hello {name}, no link here.\n").unwrap();
    let b = body.to_str().unwrap();
    let o = cli(&[
        "batch",
        "message",
        "mailing",
        "--subject",
        "Hi {name}",
        "--body-file",
        b,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("must contain {link}"), "{}", err(&o));
    std::fs::write(&body, "Hello {name},\n\nyour link: {link}\n").unwrap();
    let o = cli(&[
        "batch",
        "message",
        "mailing",
        "--subject",
        "Hi {name}",
        "--body-file",
        b,
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let o = cli(&["batch", "message", "mailing"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("Subject: Hi {name}\n\nHello {name},"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let before = relay.messages().len();
    let o = cli(&[
        "link",
        "reissue",
        "mailing",
        "bob@example.org",
        "--send",
        "--public-url",
        &server.address,
    ]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(o.stdout.is_empty(), "a link sent by email is not printed");
    let got = relay.messages();
    assert_eq!(got.len(), before + 1);
    let (rcpt, message) = got.last().unwrap();
    assert_eq!(rcpt, "bob@example.org");
    assert!(message.contains("Subject: Hi Bob Stone"), "{message}");
    let links = links_in(message, &format!("{}/s/", server.address));
    assert_eq!(client.get(&links[0]).send().await.unwrap().status(), 200);

    // A relay saved once is used when no --smtp-host is given; forgotten, none is.
    assert!(cli(&["smtp", "save"]).status.success());
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .args(args)
            .output()
            .unwrap()
    };
    let o = bare(&["smtp", "test", "--to", "admin@example.org"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(bare(&["smtp", "forget"]).status.success());
    let o = bare(&["smtp", "test", "--to", "admin@example.org"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no SMTP relay is set"), "{}", err(&o));
    let log = server.stop();
    for (_, message) in relay.messages() {
        for link in links_in(&message, "/s/") {
            let token = link.rsplit('/').next().unwrap();
            assert!(!log.contains(token), "a token reached the log");
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_sends_in_the_background_and_a_crash_sends_nothing_twice() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let data = dir.path().join("data");
    let passphrase = "console smtp passphrase";
    let init = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", &data)
        .env("PASSDROP_PASSPHRASE", passphrase)
        .args(["admin", "init"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let env = [
        ("PASSDROP_SEND_RATE", "4"),
        ("PASSDROP_SEND_RETRY_WAIT", "1s"),
    ];
    let server = Server::start(&data, &env);
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "EmailAddress,DisplayName\n\
         a1@example.org,Ann One\n\
         a2@example.org,Al Two\n\
         slow@example.org,Sam Slow\n\
         temp@example.org,Tim Temp\n\
         bounce@example.org,Bea Bounce\n\
         b1@example.org,Bo One\n\
         b2@example.org,Bea Two\n\
         slow2@example.org,Sue Slow\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_passdrop"))
        .env_clear()
        .env("PASSDROP_DATA_DIR", &data)
        .env("PASSDROP_PASSPHRASE", passphrase)
        .args([
            "batch",
            "create",
            "--name",
            "console-mail",
            "--org",
            "Example Ltd",
        ])
        .arg("--roster")
        .arg(&roster)
        .arg("--links-out")
        .arg(dir.path().join("links.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let batch_id = {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        let id = store.require_batch("console-mail").await.unwrap().id;
        store.close().await;
        id
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = console_login(&client, &server.address, passphrase).await;
    let base = format!("{}/admin/batches/{batch_id}", server.address);

    // The relay is saved in the console: tested (with its login) before it is kept; a
    // wrong passphrase or a wrong relay password saves nothing.
    let port = relay.port.to_string();
    let ca = std::fs::read_to_string(&relay.ca).unwrap();
    let smtp_form = |password: &'static str, pass: &'static str| {
        vec![
            ("host", "127.0.0.1".to_owned()),
            ("port", port.clone()),
            ("security", "starttls".to_owned()),
            ("user", RELAY_USER.to_owned()),
            ("password", password.to_owned()),
            ("from", "IT team <it@example.org>".to_owned()),
            ("reply_to", "help@example.org".to_owned()),
            ("ca_pem", ca.clone()),
            ("passphrase", pass.to_owned()),
            ("action", "save".to_owned()),
        ]
    };
    let smtp_url = format!("{}/admin/smtp", server.address);
    let post_smtp = |form: Vec<(&'static str, String)>| {
        let (client, cookie, url) = (client.clone(), cookie.clone(), smtp_url.clone());
        async move { console_post(&client, &url, &cookie, &form).await }
    };
    let (status, page) = post_smtp(smtp_form(RELAY_PASSWORD, "wrong passphrase!!")).await;
    assert_eq!(status, 401, "{page}");
    let (status, page) = post_smtp(smtp_form("not-the-password", passphrase)).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Nothing was saved"), "{page}");
    let (status, page) = post_smtp(smtp_form(RELAY_PASSWORD, passphrase)).await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("Saved."), "{page}");
    assert!(!page.contains(RELAY_PASSWORD));
    assert!(page.contains("a password is saved"), "{page}");

    // A test message goes through the saved relay, logged in.
    let (status, page) = console_post(
        &client,
        &format!("{}/admin/smtp/test", server.address),
        &cookie,
        &[("to", "admin@example.org"), ("passphrase", passphrase)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("accepted the test message"), "{page}");
    assert_eq!(relay.authenticated(), 1);

    // The batch's own message, checked before it is saved.
    let (status, page) = console_post(
        &client,
        &format!("{base}/message"),
        &cookie,
        &[
            ("subject", "Your mailbox {email} moves"),
            ("body", "Dear {name}, please use {linc}."),
            ("passphrase", passphrase),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("{linc} is not a placeholder"), "{page}");
    let (status, page) = console_post(
        &client,
        &format!("{base}/message"),
        &cookie,
        &[
            ("subject", "Reply with your password"),
            (
                "body",
                "Reply to this message with your password, or use {link}.",
            ),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(
        status, 401,
        "a session alone cannot change the message: {page}"
    );
    let (status, page) = console_post(
        &client,
        &format!("{base}/message"),
        &cookie,
        &[
            ("subject", "Your mailbox {email} moves"),
            (
                "body",
                "Dear {name},\n\nopen {link} before {expires}.\n\nIT never asks for passwords any other way.",
            ),
            ("passphrase", passphrase),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("Dear Ann One,"), "the preview: {page}");

    // Send to everyone; the server is killed while a message is mid-conversation.
    let (status, page) = console_post(
        &client,
        &format!("{base}/send"),
        &cookie,
        &[("who", "unsent"), ("passphrase", passphrase)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("8 messages queued"), "{page}");
    // While they are sent, the page's script polls the progress (no reload needed).
    assert!(page.contains("/assets/progress.js"), "{page}");
    let progress = console_get(&client, &format!("{base}/progress"), &cookie).await;
    assert!(progress.contains("\"total\":8"), "{progress}");
    wait_for("the slow message", Duration::from_secs(20), || {
        dir.path().join("slow-started").exists()
    });
    let log1 = server.kill();
    let before: Vec<String> = relay.messages().into_iter().map(|(r, _)| r).collect();
    assert!(before.len() <= 4, "{before:?}");

    // After the restart the queue is still there, waiting for the passphrase; the
    // message whose outcome is unknown is not sent again.
    let server = Server::start(&data, &env);
    let cookie = console_login(&client, &server.address, passphrase).await;
    let base = format!("{}/admin/batches/{batch_id}", server.address);
    let page = console_get(&client, &base, &cookie).await;
    assert!(page.contains("outcome unknown"), "{page}");
    assert!(page.contains("messages wait in the queue"), "{page}");
    let (status, page) = console_post(
        &client,
        &format!("{base}/send"),
        &cookie,
        &[("who", "queued"), ("passphrase", passphrase)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let rcpts = || -> Vec<String> { relay.messages().into_iter().map(|(r, _)| r).collect() };
    wait_for("the queue to drain", Duration::from_secs(30), || {
        let got = rcpts();
        ["temp@", "b1@", "b2@", "slow2@"]
            .iter()
            .all(|p| got.iter().any(|r| r.starts_with(p)))
    });
    std::thread::sleep(Duration::from_millis(1500));
    let got = rcpts();
    let count = |p: &str| got.iter().filter(|r| r.starts_with(p)).count();
    for who in ["a1@", "a2@", "temp@", "b1@", "b2@", "slow2@"] {
        assert_eq!(count(who), 1, "{who}: {got:?}");
    }
    assert!(count("slow@") <= 1, "{got:?}");
    assert_eq!(count("bounce@"), 0);
    assert_eq!(relay.authenticated(), got.len(), "every message logged in");

    // The console shows each user's state, with the refusal's reason.
    let page = console_get(&client, &base, &cookie).await;
    assert!(page.contains("No such user here"), "{page}");
    assert!(page.contains("emailed "), "{page}");
    assert!(page.contains("outcome unknown"), "{page}");

    // "Email one user" sends again on request, to that user only.
    let (status, page) = console_post(
        &client,
        &format!("{base}/send"),
        &cookie,
        &[
            ("who", "one"),
            ("email", "a2@example.org"),
            ("passphrase", passphrase),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(page.contains("One message queued"), "{page}");
    wait_for("the one message", Duration::from_secs(20), || {
        rcpts().iter().filter(|r| r.starts_with("a2@")).count() == 2
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rcpts().len(), got.len() + 1, "only a2 got another message");

    // The messages carry the batch's own text and a working link on the new server.
    let client2 = reqwest::Client::new();
    for (rcpt, message) in relay.messages().iter().skip(1) {
        assert!(message.contains("Your mailbox"), "{rcpt}: {message}");
        assert!(message.contains("Dear "), "{rcpt}: {message}");
        let links = links_in(message, "/s/");
        assert!(!links.is_empty(), "{rcpt}");
        let token = links[0].rsplit('/').next().unwrap();
        let r = client2
            .get(format!("{}/s/{token}", server.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{rcpt}");
    }
    // A graceful stop (SIGTERM) lets the message being handed over finish: it is
    // recorded as sent, not left with an unknown outcome.
    std::fs::remove_file(dir.path().join("slow-started")).unwrap();
    let (status, page) = console_post(
        &client,
        &format!("{base}/send"),
        &cookie,
        // The button a reissue shows names the user in `one`.
        &[("one", "slow2@example.org"), ("passphrase", passphrase)],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    wait_for("the slow message again", Duration::from_secs(20), || {
        dir.path().join("slow-started").exists()
    });
    let log2 = server.stop();
    {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        let b = store.require_batch("console-mail").await.unwrap();
        let slow = store.recipient(&b, "slow2@example.org").await.unwrap();
        let deliveries = store.deliveries(&b.id).await.unwrap();
        assert_eq!(deliveries[&slow.id].state.as_str(), "sent", "{log2}");
        store.close().await;
    }

    // The relay's password is sealed: not in the database files, not in the logs.
    for file in crate::helpers::files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes
                .windows(RELAY_PASSWORD.len())
                .any(|w| w == RELAY_PASSWORD.as_bytes()),
            "the SMTP password is readable in {}",
            file.display()
        );
    }
    for log in [&log1, &log2] {
        assert!(!log.contains(RELAY_PASSWORD));
        for (_, message) in relay.messages() {
            for link in links_in(&message, "/s/") {
                assert!(!log.contains(link.rsplit('/').next().unwrap()));
            }
        }
    }
}

#[tokio::test]
async fn a_stale_link_never_drops_a_message_queued_for_the_new_one() {
    use passdrop::storage::Requeue;
    let app = crate::helpers::TestApp::spawn().await;
    let (b, links) = app
        .create_batch("queue", "EmailAddress\nann@example.org\n")
        .await;
    let old = passdrop::crypto::LinkToken::parse(&crate::helpers::token_of(&crate::helpers::link(
        &links[0],
    )))
    .unwrap();
    let ann = app.store.recipient(&b, "ann@example.org").await.unwrap();
    let now = passdrop::config::now();
    let new_link =
        passdrop::batch::reissue(&app.store, &app.public_url, &b, "ann@example.org", now)
            .await
            .unwrap();
    let new = passdrop::crypto::LinkToken::parse(&crate::helpers::token_of(&crate::helpers::link(
        &new_link,
    )))
    .unwrap();
    assert_eq!(
        app.store
            .enqueue_deliveries(&[ann.id], Requeue::Failed, now)
            .await
            .unwrap(),
        1
    );
    // A sender still holding the replaced link cannot claim it, and leaves it queued.
    assert_eq!(
        app.store
            .claim_delivery(ann.id, &old.hash(), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(app.store.queued_deliveries(&b.id).await.unwrap().len(), 1);
    // Once no live link is left (revoked), the queued message is dropped.
    passdrop::batch::revoke(&app.store, &b, "ann@example.org")
        .await
        .unwrap();
    assert_eq!(
        app.store
            .claim_delivery(ann.id, &new.hash(), now)
            .await
            .unwrap(),
        None
    );
    assert!(app.store.queued_deliveries(&b.id).await.unwrap().is_empty());
    app.stop().await;
}
