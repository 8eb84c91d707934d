//! Webhook signing and delivery (Standard Webhooks), against a local receiver that
//! checks every signature itself: the HMAC is recomputed here, a tampered body fails,
//! loopback targets are refused unless allowed, a 500 is a failure to retry, a redirect
//! is never followed, and a silent receiver times out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use passdrop::outbox::webhook::{self, DeliveryError, Signed, Target};
use secrecy::ExposeSecret as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One request as the receiver read it.
#[derive(Clone, Debug)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    }
}

/// A receiver on 127.0.0.1 answering each request with the next of `answers` (the last
/// one again when they run out); `None` never answers.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(answers: Vec<Option<&'static str>>) -> Self {
        Self::start_on(0, answers).await
    }

    async fn start_on(port: u16, answers: Vec<Option<&'static str>>) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let url = format!("http://{}/hooks/passdrop", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&got);
        tokio::spawn(async move {
            for n in 0..20usize {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let received = loop {
                    let read = stream.read(&mut buf).await.unwrap_or(0);
                    if read == 0 {
                        break None;
                    }
                    data.extend_from_slice(&buf[..read]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).into_owned();
                        let r = Received {
                            head,
                            body: Vec::new(),
                        };
                        let length: usize = r.header("content-length").parse().unwrap_or(0);
                        if data.len() >= end + 4 + length {
                            break Some(Received {
                                body: data[end + 4..end + 4 + length].to_vec(),
                                ..r
                            });
                        }
                    }
                };
                if let Some(r) = received {
                    seen.lock().unwrap().push(r);
                }
                match answers.get(n).or(answers.last()).copied().flatten() {
                    Some(answer) => {
                        let _ = stream.write_all(answer.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            }
        });
        Self { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

const OK: &str = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
const ERROR: &str = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";

/// What a receiver does by the specification: HMAC-SHA256 of "{id}.{timestamp}.{body}"
/// under the secret's bytes, compared with each `v1,` signature of the header.
fn verifies(secret: &str, r: &Received, body: &[u8]) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut signed = format!(
        "{}.{}.",
        r.header("webhook-id"),
        r.header("webhook-timestamp")
    )
    .into_bytes();
    signed.extend_from_slice(body);
    r.header("webhook-signature").split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b| STANDARD.decode(b).ok())
            .is_some_and(|tag| ring::hmac::verify(&key, &signed, &tag).is_ok())
    })
}

async fn send(
    url: &str,
    secret: &secrecy::SecretString,
    body: &[u8],
    allow_private: bool,
    timeout: Duration,
) -> Result<u16, DeliveryError> {
    let id = webhook::message_id().unwrap();
    let timestamp = passdrop::config::now();
    let signature = webhook::sign(secret, &id, timestamp, body).unwrap();
    let message = Signed {
        id: &id,
        timestamp,
        signature: &signature,
        body,
    };
    webhook::deliver(
        &Target::parse(url).unwrap(),
        &message,
        allow_private,
        timeout,
    )
    .await
}

const BODY: &[u8] = br#"{"type":"user.submitted","timestamp":"2026-11-30T08:00:00Z","data":{"batch_id":"b1","email":"ann@example.org","state":"submitted"}}"#;

#[tokio::test]
async fn a_delivery_carries_a_signature_the_receiver_verifies_and_a_tampered_body_fails() {
    let receiver = Receiver::start(vec![Some(OK)]).await;
    let secret = webhook::generate_secret().unwrap();
    let status = send(&receiver.url, &secret, BODY, true, Duration::from_secs(5)).await;
    assert_eq!(status, Ok(204));
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(
        r.head.starts_with("POST /hooks/passdrop HTTP/1.1\r\n"),
        "{}",
        r.head
    );
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("webhook-id").starts_with("msg_"));
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((ts - passdrop::config::now()).abs() < 60);
    assert_eq!(r.body, BODY);
    assert!(verifies(secret.expose_secret(), r, &r.body));
    let mut tampered = r.body.clone();
    tampered[10] ^= 1;
    assert!(!verifies(secret.expose_secret(), r, &tampered));
    let other = webhook::generate_secret().unwrap();
    assert!(!verifies(other.expose_secret(), r, &r.body));
    // The secret itself never travels.
    let raw = String::from_utf8_lossy(&r.body).into_owned() + &r.head;
    assert!(!raw.contains(&secret.expose_secret()[6..]));
}

#[tokio::test]
async fn loopback_targets_are_refused_unless_private_targets_are_allowed() {
    let receiver = Receiver::start(vec![Some(OK)]).await;
    let secret = webhook::generate_secret().unwrap();
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
    ] {
        let refused = send(&url, &secret, BODY, false, Duration::from_secs(5)).await;
        assert!(
            matches!(refused, Err(DeliveryError::Refused(_))),
            "{url}: {refused:?}"
        );
    }
    assert!(
        receiver.received().is_empty(),
        "a refused target was contacted"
    );
    assert_eq!(
        send(&receiver.url, &secret, BODY, true, Duration::from_secs(5)).await,
        Ok(204)
    );
}

#[tokio::test]
async fn a_500_is_a_failure_and_the_retry_succeeds() {
    let receiver = Receiver::start(vec![Some(ERROR), Some(OK)]).await;
    let secret = webhook::generate_secret().unwrap();
    let first = send(&receiver.url, &secret, BODY, true, Duration::from_secs(5)).await;
    assert_eq!(first, Err(DeliveryError::Failed("answered 500".into())));
    let second = send(&receiver.url, &secret, BODY, true, Duration::from_secs(5)).await;
    assert_eq!(second, Ok(204));
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|r| verifies(secret.expose_secret(), r, &r.body))
    );
}

#[tokio::test]
async fn a_redirect_is_never_followed() {
    let elsewhere = Receiver::start(vec![Some(OK)]).await;
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
            elsewhere.url
        )
        .into_boxed_str(),
    );
    let receiver = Receiver::start(vec![Some(redirect)]).await;
    let secret = webhook::generate_secret().unwrap();
    let result = send(&receiver.url, &secret, BODY, true, Duration::from_secs(5)).await;
    assert!(
        matches!(&result, Err(DeliveryError::Failed(why)) if why.contains("redirect")),
        "{result:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn a_silent_receiver_times_out() {
    let receiver = Receiver::start(vec![None]).await;
    let secret = webhook::generate_secret().unwrap();
    let started = Instant::now();
    let result = send(
        &receiver.url,
        &secret,
        BODY,
        true,
        Duration::from_millis(500),
    )
    .await;
    assert!(
        matches!(result, Err(DeliveryError::Failed(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// Receiver settings for a server whose webhook loop may reach 127.0.0.1 and retries
/// quickly.
fn quick(config: &mut passdrop::web::ServerConfig) {
    config.webhooks = passdrop::outbox::webhook_queue::WebhookSettings {
        allow_private: true,
        retry_base: Duration::from_secs(1),
        poll: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
    };
}

/// Waits (10 s at most) until the receiver has `n` requests.
async fn wait_for(receiver: &Receiver, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = receiver.received();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    receiver.received()
}

fn events(got: &[Received]) -> Vec<serde_json::Value> {
    got.iter()
        .filter(|r| r.header("content-length") != "0")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn the_server_delivers_every_event_signed_retries_after_a_500_and_carries_no_secret() {
    use crate::helpers::{PASSPHRASE, TestApp};
    let app = TestApp::spawn_with(quick).await;
    // The first attempt gets a 500; the retry (a second later) and the rest succeed.
    let receiver = Receiver::start(vec![Some(ERROR), Some(OK)]).await;
    let admin = app.admin().await;
    let (hook, secret) = passdrop::outbox::webhook_queue::add_webhook(
        &app.store,
        &admin,
        &receiver.url,
        None,
        "*".to_owned(),
        passdrop::config::now(),
    )
    .await
    .unwrap();
    let roster = "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n";
    let (b, links) = app.create_batch("Hooked", roster).await;
    let ann = links[0].link.expose_secret().to_owned();
    let bob = links[1].link.expose_secret().to_owned();
    assert_eq!(app.client.get(&ann).send().await.unwrap().status(), 200);
    let pw_ann = "CANARY-hook-pw-ann";
    let pw_bob = "CANARY-hook-pw-bob";
    assert_eq!(app.submit(&ann, pw_ann, pw_ann).await.status(), 200);
    assert_eq!(app.submit(&bob, pw_bob, pw_bob).await.status(), 200);
    // created (500, then again), opened, submitted x2, completed.
    let got = wait_for(&receiver, 6).await;
    let seen = events(&got);
    let types: Vec<&str> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 6, "{types:?}");
    assert_eq!(types[0], "batch.created", "{types:?}");
    let created: Vec<&Received> = got
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == "batch.created")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(created.len(), 2, "the 500 was not retried: {types:?}");
    // A retry is the same message: the same id, signed again.
    assert_eq!(
        created[0].header("webhook-id"),
        created[1].header("webhook-id")
    );
    for wanted in ["user.opened", "user.submitted", "batch.completed"] {
        assert!(types.contains(&wanted), "{wanted} missing: {types:?}");
    }
    assert_eq!(types.iter().filter(|t| **t == "batch.completed").count(), 1);
    assert!(
        !types.contains(&"user.verified"),
        "no old server, nothing verified"
    );
    assert_eq!(types.iter().filter(|t| **t == "user.submitted").count(), 2);
    let opened = seen.iter().find(|e| e["type"] == "user.opened").unwrap();
    assert_eq!(opened["data"]["email"], "ann@example.org");
    assert_eq!(opened["data"]["batch_id"], b.id.as_str());
    assert!(
        got.iter()
            .all(|r| verifies(secret.expose_secret(), r, &r.body))
    );

    // The purge: its payload carries no email, and the batch's queue is gone.
    passdrop::batch::purge(&app.store, &b, passdrop::config::now())
        .await
        .unwrap();
    let got = wait_for(&receiver, 7).await;
    let last = events(&got).pop().unwrap();
    assert_eq!(last["type"], "batch.purged");
    assert!(!String::from_utf8_lossy(&got.last().unwrap().body).contains('@'));
    for r in &got {
        let text = String::from_utf8_lossy(&r.body).into_owned() + &r.head;
        for secret_text in [
            pw_ann,
            pw_bob,
            PASSPHRASE,
            &secret.expose_secret()[6..],
            "/s/",
        ] {
            assert!(!text.contains(secret_text), "{secret_text} in a delivery");
        }
        for link in [&ann, &bob] {
            assert!(!text.contains(link.rsplit('/').next().unwrap()));
        }
    }
    let left = app.store.webhook_deliveries().await.unwrap();
    assert!(left.iter().all(|d| d.event == "batch.purged"), "{left:?}");
    let hooks = app.store.webhooks().await.unwrap();
    assert_eq!(hooks[0].id, hook.id);
    assert!(
        hooks[0]
            .last_status
            .as_deref()
            .unwrap()
            .starts_with("delivered")
    );
}

#[tokio::test]
async fn queued_deliveries_survive_a_restart_and_events_follow_the_filters() {
    use passdrop::outbox::webhook_queue::{WebhookSettings, add_webhook, run_once};
    let dir = tempfile::tempdir().unwrap();
    let store = passdrop::storage::Store::open(dir.path()).await.unwrap();
    let admin = passdrop::batch::init_admin(
        &store,
        crate::helpers::secret(crate::helpers::PASSPHRASE),
        crate::helpers::CHEAP_KDF,
    )
    .await
    .unwrap();
    // Nobody listens at this address yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/in");
    let now = passdrop::config::now();
    add_webhook(&store, &admin, &url, None, "batch.created".to_owned(), now)
        .await
        .unwrap();
    let settings = WebhookSettings {
        allow_private: true,
        retry_base: Duration::from_secs(30),
        ..WebhookSettings::default()
    };
    let roster = passdrop::roster::parse_roster(b"EmailAddress\nann@example.org\n").unwrap();
    passdrop::batch::create(
        &store,
        &passdrop::config::PublicUrl::parse("https://passdrop.example.org").unwrap(),
        passdrop::batch::NewBatch {
            name: "Restart".to_owned(),
            org_name: None,
            link_lifetime: Duration::from_secs(86_400),
            next_steps: None,
            ask_mail_client: true,
            retention: passdrop::batch::Retention::default(),
            roster,
            imap: None,
            language: None,
            time_zone: None,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(run_once(&store, &settings, now).await.unwrap(), 1);
    let queued = store.webhook_deliveries().await.unwrap();
    assert_eq!(queued.len(), 1, "only batch.created was asked for");
    assert_eq!(
        (queued[0].state.as_str(), queued[0].attempts),
        ("queued", 1)
    );
    store.close().await;
    drop(store);

    // Restarted: a receiver now listens, and once the wait is over it gets the message.
    let receiver = Receiver::start_on(port, vec![Some(OK)]).await;
    let store = passdrop::storage::Store::open(dir.path()).await.unwrap();
    assert_eq!(
        run_once(&store, &settings, now + 5).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(run_once(&store, &settings, now + 31).await.unwrap(), 1);
    let got = wait_for(&receiver, 1).await;
    assert_eq!(events(&got)[0]["type"], "batch.created");
    let done = store.webhook_deliveries().await.unwrap();
    assert_eq!((done[0].state.as_str(), done[0].attempts), ("delivered", 2));
}

#[test]
fn webhooks_are_added_with_the_passphrase_listed_without_secrets_rotated_and_removed() {
    use crate::helpers::{PASSPHRASE, canaries_found, passdrop, run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = run(passdrop(&data)
        .args(["admin", "init"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let add = [
        "webhook",
        "add",
        "--url",
        "https://hooks.example.org/passdrop",
    ];

    let o = run(passdrop(&data)
        .args(add)
        .env("PASSDROP_PASSPHRASE", "not the passphrase"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = run(passdrop(&data)
        .args(["webhook", "add", "--url", "ftp://x.example/"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(passdrop(&data)
        .args(add)
        .args(["--events", "user.password"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let o = run(passdrop(&data)
        .args(add)
        .args(["--events", "user.submitted,batch.completed"])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let secret = String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = stderr(&o)
        .split_whitespace()
        .find(|w| w.starts_with("wh_"))
        .unwrap()
        .to_owned();

    let o = run(passdrop(&data).args(["webhook", "list"]));
    let listed = String::from_utf8(o.stdout).unwrap();
    assert!(
        listed.contains(&id) && listed.contains("user.submitted,batch.completed"),
        "{listed}"
    );
    assert!(!listed.contains(&secret[6..]), "{listed}");

    let o = run(passdrop(&data)
        .args(["webhook", "rotate-secret", &id])
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    let rotated = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    assert!(
        canaries_found(&data, &[&secret[6..]]).is_empty(),
        "the old secret stayed"
    );

    let o = run(passdrop(&data).args(["webhook", "remove", &id]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&data).args(["webhook", "remove", &id]));
    assert_eq!(o.status.code(), Some(1));
    let o = run(passdrop(&data).args(["webhook", "list"]));
    assert!(String::from_utf8(o.stdout).unwrap().contains("No webhooks"));
}

/// "I need help" and "This wasn't me" reach a webhook as `user.needs_help` and
/// `user.reported`, with the user's email and state and nothing of the link.
#[tokio::test]
async fn help_and_reports_are_delivered_as_user_events() {
    use crate::helpers::TestApp;
    let app = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start(vec![Some(OK)]).await;
    let admin = app.admin().await;
    let (_hook, secret) = passdrop::outbox::webhook_queue::add_webhook(
        &app.store,
        &admin,
        &receiver.url,
        None,
        "user.needs_help user.reported".to_owned(),
        passdrop::config::now(),
    )
    .await
    .unwrap();
    let roster = "EmailAddress,UserName\nann@example.org,ann\nbob@example.org,bob\n";
    let (b, links) = app.create_batch("Ways", roster).await;
    let ann = links[0].link.expose_secret().to_owned();
    let bob = links[1].link.expose_secret().to_owned();
    for (url, want) in [(format!("{ann}/help"), 200), (format!("{bob}/not-me"), 200)] {
        let r = app
            .client
            .post(&url)
            .form(&[("confirm", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{url}");
    }
    let got = wait_for(&receiver, 2).await;
    let seen = events(&got);
    let mut pairs: Vec<(String, String, String)> = seen
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["email"].as_str().unwrap().to_owned(),
                e["data"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            (
                "user.needs_help".to_owned(),
                "ann@example.org".to_owned(),
                "needs_help".to_owned()
            ),
            (
                "user.reported".to_owned(),
                "bob@example.org".to_owned(),
                "reported".to_owned()
            ),
        ]
    );
    for r in &got {
        assert!(verifies(secret.expose_secret(), r, &r.body));
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert!(!text.contains("/s/"), "{text}");
    }
    assert!(seen.iter().all(|e| e["data"]["batch_id"] == b.id.as_str()));
}
