//! The load benchmark: passdrop side by side with the framework's ceiling (a no-op axum
//! server built with the same profile) and SnapPass (a peer), on loopback only, bounded
//! in count and time. Run with `cargo bench --bench load` (see the README's
//! Performance section; `scripts/bench-setup.sh` installs SnapPass and Redis).
//!
//! Settings (environment): `PASSDROP_BENCH_LINKS` (default 50000),
//! `PASSDROP_BENCH_CLIENTS` (64), `PASSDROP_BENCH_SECS` (10, each timed GET/POST phase),
//! `PASSDROP_BENCH_RUNS` (3, runs of passdrop at the full size: median and spread),
//! `PASSDROP_BENCH_ONLY=passdrop` (skip the ceiling and SnapPass: a quicker A/B run; their
//! cells show "-"; `limits`: only the crypto limit), `PASSDROP_BENCH_KEEP=DIR` (keep each run's data directory as
//! `DIR/passdrop-<links>-links`, a batch named `bench` with every link submitted, so
//! `passdrop export` or the server can be re-run and profiled by hand: README,
//! "Performance").
//! The crypto limit, the durable-write limit (passdrop's group-commit writer alone, in
//! this process: `load/writes.rs`) and the cost per link at 1,000 and 10,000 links (as
//! many runs as at the full size) are measured in the same run (`load/limits.rs`,
//! `load/report.rs`).
//! So is each server's CPU time per request (`/proc`, robust to other load on the
//! machine), and the ceiling a second time, replaying passdrop's own answers (status,
//! headers, body of a form page and of a submission's answer): the gap between the two
//! ceilings is what passdrop's bytes cost, the rest passdrop's own work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[path = "load/limits.rs"]
mod limits;
#[path = "shared/proc.rs"]
mod proc;
#[path = "load/report.rs"]
mod report;
#[path = "load/writes.rs"]
mod writes;

const PASSPHRASE: &str = "benchmark passphrase, not secret";
/// No phase may run longer than this, whatever the settings.
const HARD_LIMIT: Duration = Duration::from_secs(300);

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--ceiling-server") {
        let page = args
            .iter()
            .position(|a| a == "--page")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from);
        ceiling_server(page.as_deref());
        return;
    }
    // `cargo test --benches` runs benches in test mode: do nothing then.
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// The ceiling: the least an axum server can do per request on this machine. With
/// `page` (a directory written by `Captured::save`), it answers every GET and POST with
/// the bytes passdrop answered (status, headers, body) and does nothing else: what
/// passdrop's pages cost in HTTP and on the wire alone.
fn ceiling_server(page: Option<&Path>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = match page.map(Captured::load) {
            None => axum::Router::new().route(
                "/",
                axum::routing::get(|| async { "ok" })
                    .post(|_body: Bytes| async { axum::http::StatusCode::NO_CONTENT }),
            ),
            Some(page) => {
                let (get, post) = (Arc::new(page.get), Arc::new(page.post));
                axum::Router::new().route(
                    "/",
                    axum::routing::get(move || {
                        let get = get.clone();
                        async move { get.response() }
                    })
                    .post(move |_body: Bytes| {
                        let post = post.clone();
                        async move { post.response() }
                    }),
                )
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

/// One response as passdrop sent it: status, headers (`date` and `content-length` left
/// to the server that replays it), body.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Answer {
    async fn of(response: hyper::Response<hyper::body::Incoming>) -> Self {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(n, _)| *n != "date" && *n != "content-length")
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Self {
            status,
            headers,
            body,
        }
    }

    fn response(&self) -> axum::response::Response {
        let mut r = axum::response::Response::new(axum::body::Body::from(self.body.clone()));
        *r.status_mut() = axum::http::StatusCode::from_u16(self.status).unwrap();
        for (n, v) in &self.headers {
            r.headers_mut().append(
                axum::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(v).unwrap(),
            );
        }
        r
    }

    fn save(&self, dir: &Path, name: &str) {
        let mut head = format!("{}\n", self.status);
        for (n, v) in &self.headers {
            head.push_str(&format!("{n}: {v}\n"));
        }
        std::fs::write(dir.join(format!("{name}.head")), head).unwrap();
        std::fs::write(dir.join(format!("{name}.body")), &self.body).unwrap();
    }

    fn load(dir: &Path, name: &str) -> Self {
        let head = std::fs::read_to_string(dir.join(format!("{name}.head"))).unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let body = Bytes::from(std::fs::read(dir.join(format!("{name}.body"))).unwrap());
        Self {
            status,
            headers,
            body,
        }
    }
}

/// passdrop's answers to a repeat visit of a form (GET) and to a submission (POST).
#[derive(Clone)]
struct Captured {
    get: Answer,
    post: Answer,
}

impl Captured {
    fn save(&self, dir: &Path) {
        self.get.save(dir, "get");
        self.post.save(dir, "post");
    }

    fn load(dir: &Path) -> Self {
        Self {
            get: Answer::load(dir, "get"),
            post: Answer::load(dir, "post"),
        }
    }
}

/// Runs `phase` and answers its figures with the server's CPU per answered request.
async fn with_cpu(pid: u32, phase: impl std::future::Future<Output = Load>) -> (Load, f64) {
    let ticks = proc::clock_ticks();
    let before = proc::cpu_seconds(pid, ticks);
    let load = phase.await;
    let used = proc::cpu_seconds(pid, ticks) - before;
    let per = used / load.ok.max(1) as f64 * 1e6;
    (load, per)
}

/// A measured phase of load.
#[derive(Default, Clone)]
struct Load {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i].as_secs_f64() * 1000.0
    }
}

/// One request to make: method, URL, form body (POST) or none (GET).
#[derive(Clone)]
struct Req {
    uri: String,
    body: Option<Bytes>,
    accept_json: bool,
}

/// Sends `requests` with `clients` concurrent connections. With `cycle`, requests are
/// repeated until `limit` passes; otherwise each is sent once (stopping at `limit`).
async fn load(
    client: &HttpClient,
    requests: Arc<Vec<Req>>,
    clients: usize,
    cycle: bool,
    limit: Duration,
    ok_status: u16,
) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + limit.min(HARD_LIMIT);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Load::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if (!cycle && i >= requests.len()) || Instant::now() >= deadline {
                    break;
                }
                let r = &requests[i % requests.len()];
                let mut builder = hyper::Request::builder().uri(&r.uri);
                if r.accept_json {
                    builder = builder.header("accept", "application/json");
                }
                let request = match &r.body {
                    Some(body) => builder
                        .method("POST")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Full::new(body.clone())),
                    None => builder.method("GET").body(Full::new(Bytes::new())),
                }
                .unwrap();
                let t = Instant::now();
                let status = match client.request(request).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.into_body().collect().await;
                        status
                    }
                    Err(_) => 0,
                };
                if status == ok_status {
                    out.ok += 1;
                    out.latencies.push(t.elapsed());
                } else {
                    out.failed += 1;
                }
            }
            out
        }));
    }
    let mut total = Load::default();
    for t in tasks {
        let l = t.await.unwrap();
        total.ok += l.ok;
        total.failed += l.failed;
        total.latencies.extend(l.latencies);
    }
    total.elapsed = started.elapsed();
    total
}

fn http_client(clients: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build(connector)
}

/// `VmRSS` and `VmHWM` (peak) of a process, in MB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

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
    cmd.env("PASSDROP_DATA_DIR", data)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE)
        .env("PASSDROP_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn timed(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// Creates a batch named `bench` of `links` users in `data` (its roster and links file
/// in `dir`) with `passdrop batch create`: how long that took, and the links.
fn create_batch(
    dir: &Path,
    data: &Path,
    links: usize,
    public_url: &str,
) -> (Duration, Vec<String>) {
    let roster = dir.join("roster.csv");
    let mut text = String::from("EmailAddress,DisplayName\n");
    for i in 0..links {
        text.push_str(&format!("user{i}@bench.example,User {i}\n"));
    }
    std::fs::write(&roster, text).unwrap();
    let links_csv = dir.join("links.csv");
    let created = timed(
        passdrop(data)
            .args([
                "batch",
                "create",
                "--name",
                "bench",
                "--public-url",
                public_url,
            ])
            .arg("--roster")
            .arg(&roster)
            .arg("--links-out")
            .arg(&links_csv),
    );
    let mut reader = csv::Reader::from_path(&links_csv).unwrap();
    let urls: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_owned()).collect();
    assert_eq!(urls.len(), links);
    (created, urls)
}

/// Waits for the first `200` on `url`, polling every millisecond.
async fn wait_ready(client: &HttpClient, url: &str, started: Instant) -> Duration {
    loop {
        let request = hyper::Request::get(url)
            .body(Full::new(Bytes::new()))
            .unwrap();
        if let Ok(r) = client.request(request).await
            && r.status() == 200
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Figures for one server.
#[derive(Default)]
struct Figures {
    ready_ms: Option<f64>,
    idle_rss: Option<f64>,
    peak_rss: Option<f64>,
    create_s: Option<f64>,
    gets: Option<Load>,
    posts: Option<Load>,
    export_s: Option<f64>,
    /// What that export needs at the least, measured just before it
    /// (`limits::export_bound`).
    export_bound_s: Option<f64>,
    /// The server's CPU time (user + system) per answered GET, µs.
    get_cpu_us: Option<f64>,
    /// The server's CPU time per answered POST, µs.
    post_cpu_us: Option<f64>,
    /// passdrop's answers to one GET and one POST, for the ceiling that replays them.
    page: Option<Captured>,
}

/// One run of passdrop at `links` links; with `bound_export`, the export's bound is
/// measured just before it is timed.
async fn bench_passdrop(links: usize, clients: usize, secs: u64, bound_export: bool) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut f = Figures::default();
    timed(passdrop(&data).args(["admin", "init"]));

    let client = http_client(clients);
    let started = Instant::now();
    let mut child = passdrop(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let pid = child.id();
    let server = Process(child);
    let mut lines = stderr.lines();
    let address = loop {
        let line = lines.next().expect("passdrop did not start").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let base = format!("http://{address}");
    f.ready_ms = Some(
        wait_ready(&client, &format!("{base}/healthz"), started)
            .await
            .as_secs_f64()
            * 1000.0,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.idle_rss = Some(memory(pid).0);

    let (created, urls) = create_batch(dir.path(), &data, links, &base);
    f.create_s = Some(created.as_secs_f64());

    let gets: Vec<Req> = urls
        .iter()
        .map(|u| Req {
            uri: u.clone(),
            body: None,
            accept_json: false,
        })
        .collect();
    let (gets, cpu) = with_cpu(
        pid,
        load(
            &client,
            Arc::new(gets),
            clients,
            true,
            Duration::from_secs(secs),
            200,
        ),
    )
    .await;
    (f.gets, f.get_cpu_us) = (Some(gets), Some(cpu));

    // One repeat visit and the first submission, as they were answered: the ceiling
    // replays them (`bench_page_ceiling`). The timed submissions are the other links.
    let password = |i: usize| format!("Bench+password+{i}");
    let get = hyper::Request::get(&urls[0])
        .body(Full::new(Bytes::new()))
        .unwrap();
    let get = Answer::of(client.request(get).await.unwrap()).await;
    let post = hyper::Request::post(&urls[0])
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!(
            "password={pw}&password_confirm={pw}",
            pw = password(0)
        ))))
        .unwrap();
    let post = Answer::of(client.request(post).await.unwrap()).await;
    assert_eq!((get.status, post.status), (200, 200));
    f.page = Some(Captured { get, post });

    let posts: Vec<Req> = urls
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, u)| {
            let pw = password(i);
            Req {
                uri: u.clone(),
                body: Some(Bytes::from(format!("password={pw}&password_confirm={pw}"))),
                accept_json: false,
            }
        })
        .collect();
    let (posts, cpu) = with_cpu(
        pid,
        load(&client, Arc::new(posts), clients, false, HARD_LIMIT, 200),
    )
    .await;
    (f.posts, f.post_cpu_us) = (Some(posts), Some(cpu));
    f.peak_rss = Some(memory(pid).1);

    let out = dir.path().join("m365.csv");
    if bound_export {
        // One open per password the export opens: every acknowledged submission.
        let opened = f.posts.as_ref().map_or(links, |p| p.ok + 1);
        f.export_bound_s = Some(
            tokio::task::spawn_blocking(move || limits::export_bound(opened, 2.0))
                .await
                .unwrap(),
        );
    }
    f.export_s =
        Some(timed(passdrop(&data).args(["export", "bench", "--out"]).arg(&out)).as_secs_f64());
    let rows = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
    assert_eq!(
        rows,
        f.posts.as_ref().unwrap().ok + 1,
        "every acknowledged submission (the timed ones and the first) is exported"
    );
    drop(server);
    if let Ok(keep) = std::env::var("PASSDROP_BENCH_KEEP") {
        let kept = Path::new(&keep).join(format!("passdrop-{links}-links"));
        let _ = std::fs::remove_dir_all(&kept);
        std::fs::create_dir_all(&keep).unwrap();
        // A copy, not a rename: the temporary directory may be on another file system.
        let status = Command::new("cp")
            .arg("-a")
            .arg(&data)
            .arg(&kept)
            .status()
            .unwrap();
        assert!(status.success(), "could not keep {}", kept.display());
        println!("kept the data directory as {}", kept.display());
    }
    f
}

async fn bench_ceiling(links: usize, clients: usize, secs: u64) -> Figures {
    ceiling_run(links, clients, secs, None).await
}

/// The ceiling answering with passdrop's own bytes (`ceiling_server`): status, headers
/// and body of a repeat visit to a form and of a submission's answer.
async fn bench_page_ceiling(page: &Captured, links: usize, clients: usize, secs: u64) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    page.save(dir.path());
    ceiling_run(links, clients, secs, Some(dir.path())).await
}

async fn ceiling_run(links: usize, clients: usize, secs: u64, page: Option<&Path>) -> Figures {
    let mut f = Figures::default();
    let client = http_client(clients);
    let started = Instant::now();
    let mut server = Command::new(std::env::current_exe().unwrap());
    server.arg("--ceiling-server");
    if let Some(page) = page {
        server.arg("--page").arg(page);
    }
    let mut child = server.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid = child.id();
    let _server = Process(child);
    let base = format!("http://{}/", line.trim());
    f.ready_ms = Some(wait_ready(&client, &base, started).await.as_secs_f64() * 1000.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.idle_rss = Some(memory(pid).0);
    let get = vec![Req {
        uri: base.clone(),
        body: None,
        accept_json: false,
    }];
    let (gets, cpu) = with_cpu(
        pid,
        load(
            &client,
            Arc::new(get),
            clients,
            true,
            Duration::from_secs(secs),
            200,
        ),
    )
    .await;
    (f.gets, f.get_cpu_us) = (Some(gets), Some(cpu));
    let posts: Vec<Req> = (0..links)
        .map(|i| Req {
            uri: base.clone(),
            body: Some(Bytes::from(format!("password=Bench+password+{i}"))),
            accept_json: false,
        })
        .collect();
    let ok = if page.is_some() { 200 } else { 204 };
    let (posts, cpu) = with_cpu(
        pid,
        load(&client, Arc::new(posts), clients, false, HARD_LIMIT, ok),
    )
    .await;
    (f.posts, f.post_cpu_us) = (Some(posts), Some(cpu));
    f.peak_rss = Some(memory(pid).1);
    f
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.exists())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SnapPass as usually deployed: gunicorn with one worker per core, Redis on loopback.
async fn bench_snappass(links: usize, clients: usize, secs: u64) -> Option<Figures> {
    let redis = on_path("redis-server").or_else(|| {
        Path::new("/usr/bin/redis-server")
            .exists()
            .then(|| PathBuf::from("/usr/bin/redis-server"))
    });
    // scripts/bench-setup.sh installs SnapPass in a virtual environment.
    let venv = PathBuf::from("/opt/passdrop-bench/bin/gunicorn");
    let gunicorn = venv
        .exists()
        .then_some(venv)
        .or_else(|| on_path("gunicorn"));
    let (Some(redis), Some(gunicorn)) = (redis, gunicorn) else {
        println!(
            "SnapPass: not installed, column left empty (run scripts/bench-setup.sh: \
             apt-get install redis-server; pip install snappass gunicorn)"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let redis_port = free_port();
    let _redis = Process(
        Command::new(redis)
            .args(["--bind", "127.0.0.1", "--port", &redis_port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = free_port();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let client = http_client(clients);
    let started = Instant::now();
    let child = Command::new(gunicorn)
        .args([
            "-w",
            &workers.to_string(),
            "-b",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("snappass.main:app")
        .env("REDIS_PORT", redis_port.to_string())
        .env("NO_SSL", "True")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _server = Process(child);
    let base = format!("http://127.0.0.1:{port}/");
    let mut f = Figures {
        ready_ms: Some(wait_ready(&client, &base, started).await.as_secs_f64() * 1000.0),
        ..Figures::default()
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // gunicorn's master plus its workers.
    let tree_rss = |peak: bool| {
        let mut total = 0.0;
        for p in std::iter::once(pid).chain(children(pid)) {
            let (rss, hwm) = memory(p);
            total += if peak { hwm } else { rss };
        }
        total
    };
    f.idle_rss = Some(tree_rss(false));
    let get = vec![Req {
        uri: base.clone(),
        body: None,
        accept_json: false,
    }];
    f.gets = Some(
        load(
            &client,
            Arc::new(get),
            clients,
            true,
            Duration::from_secs(secs),
            200,
        )
        .await,
    );
    let posts: Vec<Req> = (0..links)
        .map(|i| Req {
            uri: base.clone(),
            body: Some(Bytes::from(format!("password=Bench+password+{i}&ttl=week"))),
            accept_json: true,
        })
        .collect();
    f.posts = Some(
        load(
            &client,
            Arc::new(posts),
            clients,
            false,
            Duration::from_secs(secs.max(30)),
            200,
        )
        .await,
    );
    f.peak_rss = Some(tree_rss(true));
    Some(f)
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
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
    report::run().await;
}
