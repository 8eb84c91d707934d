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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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
