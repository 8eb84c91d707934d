//! The soak: `passdrop serve` under a steady mixed load for minutes (collection form
//! GETs, submissions, used and unknown links, `/healthz`, console pages, and a console
//! send run through a local SMTP relay every few minutes), with the server's RSS and open
//! file descriptors recorded each minute. On loopback only, bounded in count and time;
//! it stops by itself and stops its children. Run with `cargo bench --bench soak` (see
//! the README's Performance section, "Long runs"); not part of CI.
//!
//! Settings (environment): `PASSDROP_SOAK_MINUTES` (default 10), `PASSDROP_SOAK_CLIENTS`
//! (16 connections), `PASSDROP_SOAK_RATE` (500 operations/s in all; an operation is one
//! or two requests), `PASSDROP_SOAK_SEND_EVERY` (a send run every 2 minutes),
//! `PASSDROP_SOAK_MAIL_USERS` (300 messages per send run), `PASSDROP_SOAK_SEND_RATE`
//! (the server's `--send-rate`, 10 messages/s), `PASSDROP_SOAK_HOLD_SECS` (0: keep the idle
//! server this long after the load, for inspection). `MALLOC_*` and `GLIBC_TUNABLES` are
//! passed on to the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "shared/proc.rs"]
mod proc;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const PASSPHRASE: &str = "soak passphrase, not secret";
/// The longest soak any settings can ask for.
const MAX_MINUTES: usize = 120;
/// No single request may take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Links per load batch: the console's batch page lists every user, so keep it modest.
const BATCH_LINKS: usize = 2000;
/// The operations of one cycle, in order; the load repeats it.
const CYCLE: [Op; 20] = {
    use Op::*;
    [
        Visit, Visit, Healthz, Revisit, Visit, Visit, Unknown, Healthz, Visit, Console, //
        Visit, Visit, Healthz, Revisit, Visit, Revisit, Unknown, Healthz, Revisit, Batch,
    ]
};

/// One operation of the mixed load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// A user's visit: GET the form of a fresh link (200), then submit it (200).
    Visit,
    /// GET of a link already used (410).
    Revisit,
    /// GET of a link that does not exist (404).
    Unknown,
    /// GET /healthz (200).
    Healthz,
    /// GET /admin/batches, the console's home (where /admin leads), with the session
    /// cookie (200).
    Console,
    /// GET /admin/batches/{id} with the session cookie (200).
    Batch,
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // Only `cargo bench` passes `--bench`; `cargo test --benches` (or `--all-targets`)
    // runs this binary without it, and must not start a 10-minute soak.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("soak: skipped (run it with `cargo bench --bench soak`)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A child process, stopped with SIGTERM (then SIGKILL) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn passdrop(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passdrop"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PASSDROP_DATA_DIR", data)
        .env("PASSDROP_LOG", "warn")
        .stdin(Stdio::null());
    // For allocator experiments (e.g. MALLOC_ARENA_MAX=2).
    for (k, v) in std::env::vars() {
        if k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES" {
            cmd.env(k, v);
        }
    }
    cmd
}

fn check(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plaintext relay on 127.0.0.1 (passdrop allows plaintext only to loopback): accepts
/// every message, keeps none, and prints one line per message.
const RELAY: &str = r#"
import signal, sys
from aiosmtpd.controller import Controller
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        print('message', len(envelope.rcpt_tos), flush=True)
        return '250 2.0.0 Accepted'
c = Controller(Handler(), hostname='127.0.0.1', port=int(sys.argv[1]))
c.start()
print('ready', flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
"#;

/// Starts the relay; returns it, its port and the count of messages it received.
fn start_relay(dir: &Path) -> (Process, u16, Arc<AtomicUsize>) {
    let script = dir.join("relay.py");
    std::fs::write(&script, RELAY).unwrap();
    let port = free_port();
    // Debian's Python, where python3-aiosmtpd is installed (as in the tests).
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the relay (apt-get install python3-aiosmtpd)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let relay = Process(child);
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(
        first, "ready",
        "the relay did not start (apt-get install python3-aiosmtpd)"
    );
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.starts_with("message") {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    (relay, port, received)
}

/// The server's log: counts of warning and error lines, and the first few.
#[derive(Default)]
struct Log {
    warnings: usize,
    errors: usize,
    first: Vec<String>,
}

/// Starts `passdrop serve`; returns it, its base URL and its log.
fn start_server(
    data: &Path,
    relay_port: u16,
    send_rate: usize,
) -> (Process, String, Arc<Mutex<Log>>) {
    let mut child = passdrop(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .args(["--smtp-host", "127.0.0.1", "--smtp-port"])
        .arg(relay_port.to_string())
        .args(["--smtp-security", "none", "--smtp-from"])
        .arg("IT team <it@soak.example>")
        .args(["--send-rate", &send_rate.to_string()])
        .args(["--send-retry-wait", "1s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let server = Process(child);
    let address = loop {
        let line = lines.next().expect("passdrop did not start").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let log = Arc::new(Mutex::new(Log::default()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            let (warn, error) = (line.contains("WARN"), line.contains("ERROR"));
            log.warnings += usize::from(warn);
            log.errors += usize::from(error);
            if (warn || error) && log.first.len() < 5 {
                log.first.push(line);
            }
        }
    });
    (server, format!("http://{address}"), log)
}

/// Creates a batch of `users` users; returns its id and links.
fn create_batch(
    data: &Path,
    dir: &Path,
    base: &str,
    name: &str,
    users: usize,
) -> (String, Vec<String>) {
    let roster = dir.join(format!("{name}.csv"));
    let mut text = String::from("EmailAddress,DisplayName\n");
    for i in 0..users {
        text.push_str(&format!("{name}-{i}@soak.example,User {i}\n"));
    }
    std::fs::write(&roster, text).unwrap();
    let links_csv = dir.join(format!("{name}-links.csv"));
    let stderr = check(
        passdrop(data)
            .args(["batch", "create", "--name", name, "--public-url", base])
            .arg("--roster")
            .arg(&roster)
            .arg("--links-out")
            .arg(&links_csv)
            // The passphrase signs the batch's settings (see `main`).
            .arg("--passphrase-file")
            .arg(dir.join("passphrase")),
    );
    let id = stderr
        .split("(id ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("batch create names the batch id")
        .to_owned();
    let mut reader = csv::Reader::from_path(&links_csv).unwrap();
    let links = reader.records().map(|r| r.unwrap()[2].to_owned()).collect();
    std::fs::remove_file(&links_csv).unwrap();
    (id, links)
}

/// One request; its status, or 0 when it failed or took longer than REQUEST_TIMEOUT.
async fn request(
    client: &HttpClient,
    uri: &str,
    form: Option<String>,
    cookie: Option<&str>,
) -> (u16, Bytes, Option<String>) {
    let mut builder = hyper::Request::builder().uri(uri);
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    let request = match form {
        Some(body) => builder
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body))),
        None => builder.method("GET").body(Full::new(Bytes::new())),
    }
    .unwrap();
    let exchange = async {
        let response = client.request(request).await.ok()?;
        let status = response.status().as_u16();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, body, set_cookie))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or((0, Bytes::new(), None))
}

/// Form encoding of a value made of letters, digits, spaces and `,`.
fn form_value(v: &str) -> String {
    v.replace(' ', "+").replace(',', "%2C")
}

/// What the load has done so far, shared by its tasks.
#[derive(Default)]
struct Counters {
    requests: AtomicUsize,
    errors: AtomicUsize,
    submitted: AtomicUsize,
    /// Unexpected answers by operation and status (0: no answer), for the report.
    unexpected: Mutex<BTreeMap<(Op, u16), usize>>,
}

impl Counters {
    fn answered(&self, op: Op, status: u16, expected: u16) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status == expected {
            return true;
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .unexpected
            .lock()
            .unwrap()
            .entry((op, status))
            .or_default() += 1;
        false
    }
}

/// Everything the load needs, shared by its tasks.
struct Plan {
    client: HttpClient,
    base: String,
    cookie: String,
    /// The fresh links, each submitted once, in order.
    links: Vec<String>,
    /// Which load batch holds link `i`: `batches[i / BATCH_LINKS]`.
    batches: Vec<String>,
    mail_batches: Vec<String>,
    next_link: AtomicUsize,
    counters: Counters,
}

impl Plan {
    async fn run(&self, i: usize, clients: usize) {
        let mut op = CYCLE[i % CYCLE.len()];
        let mut fresh = None;
        if op == Op::Visit {
            let n = self.next_link.fetch_add(1, Ordering::Relaxed);
            match self.links.get(n) {
                Some(link) => fresh = Some((n, link)),
                // Out of fresh links (only with settings beyond the plan): a revisit.
                None => op = Op::Revisit,
            }
        }
        let c = &self.counters;
        match op {
            Op::Visit => {
                let (n, link) = fresh.expect("a fresh link");
                let (status, _, _) = request(&self.client, link, None, None).await;
                if !c.answered(op, status, 200) {
                    return;
                }
                let pw = format!("Soak+password+{n}");
                let form = format!("password={pw}&password_confirm={pw}");
                let (status, _, _) = request(&self.client, link, Some(form), None).await;
                if c.answered(op, status, 200) {
                    c.submitted.fetch_add(1, Ordering::Relaxed);
                }
            }
            Op::Revisit => {
                // Links well behind the newest one handed out are used (each task holds
                // at most one link at a time, for one request or two).
                let done = self
                    .next_link
                    .load(Ordering::Relaxed)
                    .min(self.links.len())
                    .saturating_sub(4 * clients);
                let uri = if done == 0 {
                    format!("{}/healthz", self.base)
                } else {
                    self.links[(i.wrapping_mul(7919)) % done].clone()
                };
                let (status, _, _) = request(&self.client, &uri, None, None).await;
                c.answered(op, status, if done == 0 { 200 } else { 410 });
            }
            Op::Unknown => {
                let uri = format!("{}/s/soakUnknownToken{i:016}", self.base);
                let (status, _, _) = request(&self.client, &uri, None, None).await;
                c.answered(op, status, 404);
            }
            Op::Healthz => {
                let uri = format!("{}/healthz", self.base);
                let (status, _, _) = request(&self.client, &uri, None, None).await;
                c.answered(op, status, 200);
            }
            Op::Console => {
                let uri = format!("{}/admin/batches", self.base);
                let (status, _, _) = request(&self.client, &uri, None, Some(&self.cookie)).await;
                c.answered(op, status, 200);
            }
            Op::Batch => {
                // Alternately the batch now being submitted to and a mailed batch.
                let id = if (i / CYCLE.len()).is_multiple_of(2) || self.mail_batches.is_empty() {
                    let n = self.next_link.load(Ordering::Relaxed);
                    &self.batches[(n / BATCH_LINKS).min(self.batches.len() - 1)]
                } else {
                    &self.mail_batches[(i / CYCLE.len() / 2) % self.mail_batches.len()]
                };
                let uri = format!("{}/admin/batches/{id}", self.base);
                let (status, _, _) = request(&self.client, &uri, None, Some(&self.cookie)).await;
                c.answered(op, status, 200);
            }
        }
    }
}

/// One reading of the server process.
#[derive(Clone, Copy, Default)]
struct Reading {
    rss_mb: f64,
    /// RSS in heap and other private memory, in files mapped (the binary, libraries),
    /// and in shared memory (SQLite's WAL index).
    anon_mb: f64,
    file_mb: f64,
    shmem_mb: f64,
    hwm_mb: f64,
    fds: usize,
    sockets: usize,
    threads: usize,
    /// CPU time used so far (user and system), in seconds.
    cpu_s: f64,
}

fn read_process(pid: u32, ticks: f64) -> Reading {
    let cpu_s = proc::cpu_seconds(pid, ticks);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let mut fds = 0;
    let mut sockets = 0;
    if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in entries.flatten() {
            fds += 1;
            if std::fs::read_link(entry.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
            {
                sockets += 1;
            }
        }
    }
    Reading {
        rss_mb: field("VmRSS:") / 1024.0,
        anon_mb: field("RssAnon:") / 1024.0,
        file_mb: field("RssFile:") / 1024.0,
        shmem_mb: field("RssShmem:") / 1024.0,
        hwm_mb: field("VmHWM:") / 1024.0,
        fds,
        sockets,
        threads: field("Threads:") as usize,
        cpu_s,
    }
}

/// The sizes of the database and of its WAL, in MB.
fn database_mb(data: &Path) -> (f64, f64) {
    let size =
        |name: &str| std::fs::metadata(data.join(name)).map_or(0.0, |m| m.len() as f64 / 1e6);
    (size("passdrop.sqlite3"), size("passdrop.sqlite3-wal"))
}

/// One row of the table: the state at the end of a minute.
struct Row {
    minute: usize,
    at_end: Reading,
    /// The largest RSS seen in 5-second readings during the minute.
    max_rss_mb: f64,
    requests: usize,
    errors: usize,
    submitted: usize,
    emailed: usize,
    /// The database and its WAL, in MB.
    database_mb: (f64, f64),
}

/// A console send run: when, which batch, and how it went.
struct SendRun {
    at_s: f64,
    queued: Option<usize>,
    status: u16,
    done_after_s: Option<f64>,
}

fn pct(from: f64, to: f64) -> f64 {
    (to - from) / from * 100.0
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown CPU".to_owned(), |m| m.trim().to_owned())
}

async fn run() {
    let minutes = setting("PASSDROP_SOAK_MINUTES", 10).clamp(1, MAX_MINUTES);
    let clients = setting("PASSDROP_SOAK_CLIENTS", 16).clamp(1, 256);
    let rate = setting("PASSDROP_SOAK_RATE", 500).clamp(1, 20_000);
    let send_every = setting("PASSDROP_SOAK_SEND_EVERY", 2).max(1);
    let mail_users = setting("PASSDROP_SOAK_MAIL_USERS", 300).clamp(1, 10_000);
    let send_rate = setting("PASSDROP_SOAK_SEND_RATE", 10).clamp(1, 100);
    let hold = setting("PASSDROP_SOAK_HOLD_SECS", 0).min(3600);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let duration = Duration::from_secs(60 * minutes as u64);
    let total_ops = rate * 60 * minutes;
    let visits = CYCLE.iter().filter(|o| **o == Op::Visit).count();
    let links_needed = total_ops.div_ceil(CYCLE.len()) * visits;
    let load_batches = links_needed.div_ceil(BATCH_LINKS);
    // A send run half a minute after each `send_every` minutes, clear of the readings.
    let send_times: Vec<Duration> = (0..minutes)
        .step_by(send_every)
        .map(|m| Duration::from_secs(60 * m as u64 + 30))
        .collect();
    println!(
        "passdrop soak: {minutes} min, {clients} clients, {rate} operations/s \
         ({links_needed} submissions in {load_batches} batches), a send run of \
         {mail_users} messages at {send_rate}/s every {send_every} min; \
         {cores} cores ({}), loopback only",
        cpu_model()
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let passphrase_file = dir.path().join("passphrase");
    std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
    check(
        passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&passphrase_file),
    );
    let (relay, relay_port, received) = start_relay(dir.path());
    let (server, base, log) = start_server(&data, relay_port, send_rate);
    let pid = server.0.id();
    let ticks = proc::clock_ticks();

    let setup = Instant::now();
    let mut links = Vec::with_capacity(load_batches * BATCH_LINKS);
    let mut batches = Vec::new();
    for b in 0..load_batches {
        let (id, mut l) = create_batch(
            &data,
            dir.path(),
            &base,
            &format!("load{b:03}"),
            BATCH_LINKS,
        );
        batches.push(id);
        links.append(&mut l);
    }
    let mut mail_batches = Vec::new();
    for k in 0..send_times.len() {
        let (id, _) = create_batch(&data, dir.path(), &base, &format!("mail{k:02}"), mail_users);
        mail_batches.push(id);
    }
    println!(
        "server pid {pid}; created {} links in {} batches in {:.1} s",
        links.len() + mail_users * mail_batches.len(),
        batches.len() + mail_batches.len(),
        setup.elapsed().as_secs_f64()
    );

    let client = {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(clients + 2)
            .build(connector)
    };
    let form = format!("passphrase={}", form_value(PASSPHRASE));
    let (status, _, cookie) =
        request(&client, &format!("{base}/admin/login"), Some(form), None).await;
    assert_eq!(status, 303, "console login");
    let plan = Arc::new(Plan {
        client,
        base: base.clone(),
        cookie: cookie.expect("the login sets a cookie"),
        links,
        batches,
        mail_batches,
        next_link: AtomicUsize::new(0),
        counters: Counters::default(),
    });

    let start = tokio::time::Instant::now();
    let deadline = start + duration;
    let mut rows = vec![Row {
        minute: 0,
        at_end: read_process(pid, ticks),
        max_rss_mb: read_process(pid, ticks).rss_mb,
        requests: 0,
        errors: 0,
        submitted: 0,
        emailed: 0,
        database_mb: database_mb(&data),
    }];

    // The load: operation i starts at start + i/rate, on whichever task is free.
    let next_op = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (plan, next_op) = (plan.clone(), next_op.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next_op.fetch_add(1, Ordering::Relaxed);
                let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
                if i >= total_ops || at >= deadline {
                    break;
                }
                tokio::time::sleep_until(at).await;
                plan.run(i, clients).await;
            }
        }));
    }

    // The send runs, each through the console with the passphrase.
    let sender = {
        let plan = plan.clone();
        let received = received.clone();
        tokio::spawn(async move {
            let mut runs = Vec::new();
            for (k, at) in send_times.into_iter().enumerate() {
                tokio::time::sleep_until(start + at).await;
                let before = received.load(Ordering::Relaxed);
                let uri = format!("{}/admin/batches/{}/send", plan.base, plan.mail_batches[k]);
                let form = format!("who=unsent&passphrase={}", form_value(PASSPHRASE));
                let (status, body, _) =
                    request(&plan.client, &uri, Some(form), Some(&plan.cookie)).await;
                let page = String::from_utf8_lossy(&body);
                let queued = page
                    .split(" messages queued")
                    .next()
                    .filter(|_| page.contains(" messages queued"))
                    .and_then(|head| head.rsplit('>').next())
                    .and_then(|n| n.trim().parse::<usize>().ok());
                let mut run = SendRun {
                    at_s: at.as_secs_f64(),
                    queued,
                    status,
                    done_after_s: None,
                };
                if let Some(q) = queued {
                    // Waits (boundedly: the pace and a minute) until the relay has them
                    // all, past the end of the load if need be.
                    let pace = Duration::from_secs((q / send_rate) as u64 + 60);
                    let limit = start + at + pace;
                    while tokio::time::Instant::now() < limit {
                        if received.load(Ordering::Relaxed) >= before + q {
                            run.done_after_s =
                                Some(start.elapsed().as_secs_f64() - at.as_secs_f64());
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                runs.push(run);
            }
            runs
        })
    };

    // The readings: every 5 s, and a row at the end of each minute.
    let mut max_rss: f64 = 0.0;
    let mut tick = 1;
    loop {
        let at = start + Duration::from_secs(5 * tick);
        if at > deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        let reading = read_process(pid, ticks);
        max_rss = max_rss.max(reading.rss_mb);
        if tick.is_multiple_of(12) {
            let c = &plan.counters;
            let row = Row {
                minute: (tick / 12) as usize,
                at_end: reading,
                max_rss_mb: max_rss,
                requests: c.requests.load(Ordering::Relaxed),
                errors: c.errors.load(Ordering::Relaxed),
                submitted: c.submitted.load(Ordering::Relaxed),
                emailed: received.load(Ordering::Relaxed),
                database_mb: database_mb(&data),
            };
            println!(
                "minute {:>3}: RSS {:.1} MB, {} fds, {} requests, {} errors",
                row.minute, row.at_end.rss_mb, row.at_end.fds, row.requests, row.errors
            );
            rows.push(row);
            max_rss = 0.0;
        }
        tick += 1;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let runs = sender.await.unwrap();
    let after_load = read_process(pid, ticks);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = read_process(pid, ticks);
    if hold > 0 {
        println!("holding the idle server (pid {pid}, {base}) for {hold} s, for inspection");
        tokio::time::sleep(Duration::from_secs(hold as u64)).await;
    }
    let log = std::mem::take(&mut *log.lock().unwrap());
    drop(server);
    drop(relay);

    println!();
    println!(
        "| minute | RSS (anon + file + shmem), MB | max RSS in the minute, MB | open fds (sockets) | threads | \
         requests in the minute | errors | server CPU, % of a core | submissions (total) | \
         emailed (total) | database + WAL, MB |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (i, r) in rows.iter().enumerate() {
        let previous = if i == 0 { &rows[0] } else { &rows[i - 1] };
        println!(
            "| {} | {:.1} ({:.1} + {:.1} + {:.1}) | {:.1} | {} ({}) | {} | {} | {} | {:.0} | {} | {} | {:.1} + {:.1} |",
            r.minute,
            r.at_end.rss_mb,
            r.at_end.anon_mb,
            r.at_end.file_mb,
            r.at_end.shmem_mb,
            r.max_rss_mb,
            r.at_end.fds,
            r.at_end.sockets,
            r.at_end.threads,
            r.requests - previous.requests,
            r.errors - previous.errors,
            (r.at_end.cpu_s - previous.at_end.cpu_s) / 60.0 * 100.0,
            r.submitted,
            r.emailed,
            r.database_mb.0,
            r.database_mb.1
        );
    }
    println!();
    let last = rows.last().unwrap();
    let requests = last.requests;
    println!(
        "{requests} requests in {:.0} s ({:.0}/s), {} submissions, {} unexpected answers",
        duration.as_secs_f64(),
        requests as f64 / duration.as_secs_f64(),
        last.submitted,
        last.errors
    );
    for ((op, status), n) in plan.counters.unexpected.lock().unwrap().iter() {
        println!("  {op:?}: {n} answered {status}");
    }
    for (k, r) in runs.iter().enumerate() {
        println!(
            "send run {} at {:.0} s: status {}, {} queued, {}",
            k + 1,
            r.at_s,
            r.status,
            r.queued
                .map_or_else(|| "none".to_owned(), |q| q.to_string()),
            r.done_after_s.map_or_else(
                || "NOT all received by the relay".to_owned(),
                |s| format!("all received by the relay in {s:.1} s")
            )
        );
    }
    println!(
        "server log: {} warnings, {} errors{}",
        log.warnings,
        log.errors,
        if log.first.is_empty() { "" } else { "; first:" }
    );
    for line in &log.first {
        println!("  {line}");
    }
    println!(
        "after the load: RSS {:.1} MB, {} fds; 5 s later, idle: RSS {:.1} MB, {} fds; peak RSS (VmHWM) {:.1} MB",
        after_load.rss_mb, after_load.fds, idle.rss_mb, idle.fds, idle.hwm_mb
    );

    // The verdict: minute 2 (after warm-up) against the last minute.
    let warm = rows
        .iter()
        .find(|r| r.minute == 2)
        .unwrap_or(&rows[rows.len().min(2) - 1]);
    let rss_growth = pct(warm.at_end.rss_mb, last.at_end.rss_mb);
    let max_rss_growth = pct(warm.max_rss_mb, last.max_rss_mb);
    let fd_growth = pct(warm.at_end.fds as f64, last.at_end.fds as f64);
    let after_warm: Vec<&Row> = rows.iter().filter(|r| r.minute >= warm.minute).collect();
    let highest = after_warm
        .iter()
        .map(|r| r.at_end.rss_mb)
        .fold(f64::MIN, f64::max);
    // Sockets come and go with the load's connections (the client pool drops idle ones
    // and opens new ones), and with the relay's; everything else must not grow.
    let files = |r: &Row| r.at_end.fds - r.at_end.sockets;
    let most_files = after_warm.iter().map(|r| files(r)).max().unwrap_or(0);
    let most_sockets = after_warm
        .iter()
        .map(|r| r.at_end.sockets)
        .max()
        .unwrap_or(0);
    // The trend of RSS after warm-up (least squares), MB per minute.
    let n = after_warm.len() as f64;
    let (mx, my) = after_warm.iter().fold((0.0, 0.0), |(x, y), r| {
        (x + r.minute as f64 / n, y + r.at_end.rss_mb / n)
    });
    let (sxy, sxx) = after_warm.iter().fold((0.0, 0.0), |(sxy, sxx), r| {
        let dx = r.minute as f64 - mx;
        (sxy + dx * (r.at_end.rss_mb - my), sxx + dx * dx)
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    println!();
    println!(
        "growth after warm-up (minute {} to minute {}): RSS {:.1} -> {:.1} MB ({:+.1}%, \
         trend {:+.2} MB a minute), the minute's max RSS {:.1} -> {:.1} MB ({:+.1}%), \
         open fds {} -> {} ({:+.1}%: sockets {} -> {}, other fds {} -> {}); \
         highest after warm-up: RSS {:.1} MB, {most_sockets} sockets, {most_files} other fds",
        warm.minute,
        last.minute,
        warm.at_end.rss_mb,
        last.at_end.rss_mb,
        rss_growth,
        slope,
        warm.max_rss_mb,
        last.max_rss_mb,
        max_rss_growth,
        warm.at_end.fds,
        last.at_end.fds,
        fd_growth,
        warm.at_end.sockets,
        last.at_end.sockets,
        files(warm),
        files(last),
        highest,
    );
    // No growth: RSS within 10% and trending under 1% of the warm-up RSS a minute (a
    // high minute 2 can hide a steady rise from the first test); no more fds other than
    // sockets; and at the end no more sockets than at warm-up or than the load's
    // connections (the client pool keeps up to clients + 2 and may open one while another
    // is being returned), the listener and a few to the relay.
    let rss_ok = rss_growth <= 10.0 && slope <= warm.at_end.rss_mb / 100.0;
    let fds_ok =
        files(last) <= files(warm) && last.at_end.sockets <= warm.at_end.sockets.max(clients + 8);
    let verdict = match (rss_ok, fds_ok) {
        (true, true) => {
            "NO GROWTH after warm-up: RSS within 10% and trending under 1% a minute, \
             open fds steady"
        }
        (false, true) => {
            "RSS GREW after warm-up (more than 10%, or trending over 1% a minute); \
             open fds did not"
        }
        (true, false) => "OPEN FDS GREW after warm-up; RSS did not",
        (false, false) => "RSS AND OPEN FDS GREW after warm-up",
    };
    println!("verdict: {verdict}");
    if last.errors > 0 || runs.iter().any(|r| r.done_after_s.is_none()) {
        println!("note: not every request or message went as expected (see above)");
    }
}
