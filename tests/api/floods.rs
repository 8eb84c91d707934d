//! Floods from the internet: idle and slow connections, and logins that hang up. Each
//! runs a bounded number of clients on loopback for a bounded time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{Server, TestApp, link, passdrop, run, stderr};

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
    const IDLE: Duration = Duration::from_secs(5);
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
    let opened_in = started.elapsed();
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
    println!(
        "idle flood: {} connections opened in {opened_in:?}, {open} kept, all closed after \
         {:?} (idle timeout {IDLE:?})",
        idle.len(),
        started.elapsed()
    );
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
    // The metrics listener starts just after the main one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log.lock().unwrap().contains("metrics on http://") {
        assert!(Instant::now() < deadline, "no metrics listener");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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

/// A line of /proc/PID/status (`VmHWM`: peak resident memory; `VmRSS`: now), in bytes.
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

const MB: u64 = 1_000_000;

/// The names and values of a response's cookies, as a `Cookie` header.
fn cookies_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A wrong-passphrase login, as raw HTTP/1.1.
fn wrong_login(host: &str) -> String {
    let body = "passphrase=a+wrong+passphrase+from+the+flood";
    format!(
        "POST /admin/login HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_up_logins_keep_peak_memory_bounded_and_the_admin_gets_in() {
    const PASSPHRASE: &str = "flood test passphrase, long enough";
    const LIMIT: u64 = 200 * MB;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pass_file = dir.path().join("passphrase.txt");
    std::fs::write(&pass_file, PASSPHRASE).unwrap();
    // The real Argon2 parameters (64 MiB per hash), in a server process of its own.
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));
    let server = Server::start(&data, &[]);
    let pid = server.child.id();
    let addr: SocketAddr = server
        .address
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let login_url = format!("{}/admin/login", server.address);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The admin logged in from their browser before: it is a known browser now.
    let r = client
        .post(&login_url)
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let admin_cookies = cookies_of(&r);
    assert!(
        admin_cookies.contains("passdrop_browser="),
        "{admin_cookies}"
    );
    let idle_rss = proc_status_bytes(pid, "VmRSS");

    // The flood: 120 wrong logins from 24 addresses (5 each, within the per-address
    // allowance), four every 100 ms; each client hangs up 150 ms after sending, unless
    // it was answered by then.
    let request = wrong_login(&addr.to_string());
    let started = Instant::now();
    let mut flood = Vec::new();
    for i in 0..120u8 {
        let from = [127, 0, 0, 2 + i % 24];
        let request = request.clone();
        flood.push(tokio::spawn(async move {
            let mut stream = connect_from(from, addr).await.ok()?;
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut answer = [0u8; 16];
            let read = tokio::time::timeout(Duration::from_millis(150), stream.read(&mut answer));
            match read.await {
                Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&answer[..n]).into_owned()),
                // Hung up with no answer: the stream is dropped here.
                _ => None,
            }
        }));
        if i % 4 == 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let flood_took = started.elapsed();
    let mut hung_up = 0;
    let mut refused = 0;
    for task in flood {
        match task.await.unwrap() {
            None => hung_up += 1,
            Some(answer) if answer.starts_with("HTTP/1.1 429") => refused += 1,
            Some(answer) => panic!("unexpected answer to a flood login: {answer}"),
        }
    }
    assert!(
        hung_up > 0 && refused > 0,
        "{hung_up} hung up, {refused} refused"
    );

    // New browsers are told to wait while the flood has spent the server's budget...
    let mut waits = Vec::new();
    for i in 0..10u8 {
        let request = request.clone();
        waits.push(tokio::spawn(async move {
            request_from([127, 0, 0, 40 + i], addr, &request, Duration::from_secs(20)).await
        }));
    }
    let mut told_to_wait = None;
    for task in waits {
        let answer = task.await.unwrap().expect("a login got no answer in 20 s");
        if answer.starts_with("HTTP/1.1 429") {
            told_to_wait = Some(answer);
        }
    }
    let told_to_wait = told_to_wait.expect("no new browser was refused after the flood");
    assert!(
        told_to_wait.to_ascii_lowercase().contains("retry-after:"),
        "{told_to_wait}"
    );
    assert!(
        told_to_wait.contains("A browser you logged in with before is not held up"),
        "{told_to_wait}"
    );
    // ...while the admin's own browser gets in at once.
    let admin_login = Instant::now();
    let r = client
        .post(&login_url)
        .header("cookie", &admin_cookies)
        .form(&[("passphrase", PASSPHRASE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let admin_took = admin_login.elapsed();
    assert!(admin_took < Duration::from_secs(10), "{admin_took:?}");
    let session = crate::helpers::cookie_of(&r);
    let batches = client
        .get(format!("{}/admin/batches", server.address))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(batches.status(), 200);

    // Let every hash still running finish, then read the process's peak.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peak = proc_status_bytes(pid, "VmHWM");
    println!(
        "login flood: 120 in {flood_took:?}, {hung_up} hung up, {refused} refused at once; \
         idle RSS {} MB, peak RSS (VmHWM) {} MB; the admin's login took {admin_took:?}",
        idle_rss / MB,
        peak / MB
    );
    assert!(
        peak <= LIMIT,
        "peak RSS {} MB under a login flood (limit {} MB)",
        peak / MB,
        LIMIT / MB
    );
}
