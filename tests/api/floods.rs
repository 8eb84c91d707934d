//! Floods from the internet: idle and slow connections, and logins that hang up. Each
//! runs a bounded number of clients on loopback for a bounded time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{Server, TestApp, link};

/// Opens a TCP connection to `to` from the loopback address `from` (127.0.0.x).
pub async fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(to).await
}

/// Sends one HTTP/1.1 request from `from` and returns the whole answer (the server is
/// asked to close), or `None` if none came within `within`.
pub async fn request_from(
    from: [u8; 4],
    to: SocketAddr,
    request: &str,
    within: Duration,
) -> Option<String> {
    tokio::time::timeout(within, async {
        let mut stream = connect_from(from, to).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        Some(String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .ok()
    .flatten()
}

fn healthz_request(host: &str) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// An HTTP/2 (prior knowledge, plain TCP) client connection that sends nothing after its
/// handshake but answers the server's pings, as a well-behaved idle client does. The
/// task ends when the server closes the connection.
async fn idle_h2c(to: SocketAddr) -> Option<tokio::task::JoinHandle<()>> {
    let stream = TcpStream::connect(to).await.ok()?;
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake::<_, http_body_util::Empty<Bytes>>(TokioIo::new(stream))
        .await
        .ok()?;
    Some(tokio::spawn(async move {
        // Dropping the sender would close the connection from this side.
        let _sender = sender;
        let _ = connection.await;
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_h2c_connections_from_one_address_do_not_block_a_new_client() {
    const IDLE: Duration = Duration::from_secs(3);
    const FLOOD: usize = 1_100;
    let app = TestApp::spawn_with(|c| c.idle_timeout = IDLE).await;
    let server: SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let started = Instant::now();
    // More idle HTTP/2 connections from 127.0.0.1 than the server has slots in all.
    let mut idle = Vec::new();
    for _ in 0..FLOOD {
        if let Some(task) = idle_h2c(server).await {
            idle.push(task);
        }
    }
    assert!(
        started.elapsed() < IDLE,
        "opening the flood took {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = idle.iter().filter(|t| !t.is_finished()).count();
    assert!(
        (1..=passdrop::web::MAX_CONNECTIONS_PER_ADDRESS).contains(&open),
        "{open} of {FLOOD} idle connections from one address are still open"
    );

    // Another address is served at once.
    let host = server.to_string();
    let answer = request_from(
        [127, 0, 0, 2],
        server,
        &healthz_request(&host),
        Duration::from_secs(5),
    )
    .await
    .expect("a client from 127.0.0.2 got no answer within 5 s");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The idle ones are closed once idle for the timeout, not before.
    let deadline = started + IDLE + Duration::from_secs(10);
    while idle.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still_open = idle.iter().filter(|t| !t.is_finished()).count();
    assert_eq!(still_open, 0, "idle connections outlived the idle timeout");
    assert!(started.elapsed() >= IDLE);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_off_after_ten_seconds_in_all() {
    let app = TestApp::spawn().await;
    let (_, links) = app
        .create_batch("b", "EmailAddress\nann@example.com\n")
        .await;
    let url = link(&links[0]);
    let path = url.trim_start_matches(&app.address).to_owned();
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 200\r\n\r\npassword="
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    // One byte a second, each well within any per-piece timeout; 40 at most.
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if write.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let read_all = tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut answer));
    let _ = read_all.await;
    let took = started.elapsed();
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {took:?}: {answer}"
    );
    assert!(answer.contains("That took too long"), "{answer}");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(13),
        "the body was cut off after {took:?}, not about 10 s"
    );
    // Nothing was used up.
    assert_eq!(app.get(&url).await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_caps_connections_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &[("PASSDROP_METRICS_LISTEN", metrics.to_string().as_str())],
    );
    let _ = &server;
    // Twenty idle connections from 127.0.0.1: a few are kept, the rest closed at once.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(metrics).await.unwrap());
    }
    let mut closed = 0;
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 16, "only {closed} of 20 were closed");
    // A scraper on another address still gets its metrics.
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {metrics}\r\nConnection: close\r\n\r\n");
    let answer = request_from([127, 0, 0, 2], metrics, &request, Duration::from_secs(5))
        .await
        .expect("no metrics within 5 s");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("passdrop_uptime_seconds"));
}
