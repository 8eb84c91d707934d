//! The listeners: a hyper accept loop with caps on connections (in all and per client
//! address), timeouts for slow headers, idle connections and dead HTTP/2 peers, and a
//! graceful shutdown; and the signals that start one.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::rate_limit::rate_limit_key;
use super::{AppState, metrics, router};

/// Most connections served at once; further ones wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 1024;
/// Most connections served at once to one client address (an IPv6 /64 counts as one);
/// a further one is closed at once. Not applied with `--trust-proxy`, where every peer
/// is the proxy and its clients are told apart by the rate limits instead, nor with
/// `--rate-limit 0` (benchmarks), which turns every per-client limit off.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// A connection with no request in flight this long is closed (see `ServerConfig`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The idle timeout behind a trusted proxy: longer than the proxy keeps an idle upstream
/// connection (Caddy: 2 minutes), so the proxy closes first and never reuses a
/// connection passdrop is closing.
const PROXIED_IDLE_TIMEOUT: Duration = Duration::from_secs(150);
/// An HTTP/2 peer is pinged after this long without traffic...
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// ...and the connection closed if the ping is not answered within this.
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most requests at once on one HTTP/2 connection.
const H2_MAX_STREAMS: u32 = 64;
/// Longest a shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// Once a connection is being closed (idle, or a shutdown), the longest it may take to
/// finish what it is sending.
const CLOSING_GRACE: Duration = Duration::from_secs(30);
/// The metrics listener: a scraper or two, never the public.
const METRICS_MAX_CONNECTIONS: usize = 16;
const METRICS_MAX_CONNECTIONS_PER_ADDRESS: usize = 4;

/// The limits of one listener.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Connections at once.
    total: usize,
    /// Connections at once per client address; `None`: no cap.
    per_address: Option<usize>,
    /// A connection with no request in flight this long is closed.
    idle: Duration,
    /// Longest a client may take to send a request's headers (HTTP/1).
    header_read: Duration,
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (up to 20 s).
///
/// This is `axum::serve` spelled out with hyper-util, because `axum::serve` gives hyper
/// no timer (so no header-read timeout), has no idle timeout (an idle HTTP/2 connection
/// would be kept forever) and no cap per client.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let config = &state.config;
    let limits = Limits {
        total: MAX_CONNECTIONS,
        per_address: (!config.trust_proxy && config.rate_limit > 0)
            .then_some(MAX_CONNECTIONS_PER_ADDRESS),
        idle: if config.trust_proxy {
            config.idle_timeout.max(PROXIED_IDLE_TIMEOUT)
        } else {
            config.idle_timeout
        },
        header_read: config.header_read_timeout,
    };
    super::public::ask_for_missed_completions(&state);
    serve_router(listener, router(state, local), limits, shutdown).await
}

/// Serves `/metrics` on its own listener, with the same timeouts and a small cap (16
/// connections, 4 per address), until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Limits {
        total: METRICS_MAX_CONNECTIONS,
        per_address: Some(METRICS_MAX_CONNECTIONS_PER_ADDRESS),
        idle: state.config.idle_timeout,
        header_read: state.config.header_read_timeout,
    };
    serve_router(listener, metrics::router(state), limits, shutdown).await
}

async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use tower::Service as _;

    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let slots = Arc::new(Semaphore::new(limits.total));
    let per_address = Arc::new(PerAddress::default());
    let (stop, stopping) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
        .max_concurrent_streams(H2_MAX_STREAMS);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = per_address.admit(remote.ip(), limits.per_address) else {
            // Closed at once; no log line per connection, which a flood would fill.
            tracing::debug!("too many connections from one address: one closed");
            continue;
        };
        let Ok(service) = make_service.call(remote).await;
        let activity = Arc::new(Activity::new());
        let service = hyper_util::service::TowerToHyperService::new(Tracked {
            inner: service,
            activity: Arc::clone(&activity),
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            drive(connection, &activity, limits.idle, stopping).await;
            drop(address_slot);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(limits.total).unwrap_or(u32::MAX);
    tokio::select! {
        _ = slots.acquire_many(all) => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("some requests were still running when the shutdown grace ran out");
        }
    }
    Ok(())
}

/// Runs one connection until it ends, closing it gracefully once it has had no request
/// in flight for `idle` or the server stops.
async fn drive<C: GracefulConnection>(
    connection: C,
    activity: &Activity,
    idle: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        // Errors here are clients going away mid-request; nothing to report.
        _ = connection.as_mut() => return,
        () = activity.idle_for(idle) => {}
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    // HTTP/1: closes once the response in progress (if any) is sent; HTTP/2: GOAWAY,
    // then closes once the open streams are done.
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSING_GRACE, connection).await;
}

/// Whether a connection has a request in flight, and since when it has had none.
#[derive(Debug)]
struct Activity {
    /// Requests in flight, and when the last one ended (or the connection began).
    state: Mutex<(usize, Instant)>,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new((0, Instant::now())),
        }
    }

    /// Marks a request in flight until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        if let Ok(mut s) = self.state.lock() {
            s.0 += 1;
        }
        InFlight(Arc::clone(self))
    }

    /// Since when nothing has been in flight; `None` while a request is.
    fn idle_since(&self) -> Option<Instant> {
        let s = self.state.lock().ok()?;
        (s.0 == 0).then_some(s.1)
    }

    /// Resolves once nothing has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let wake = match self.idle_since() {
                Some(since) if since.elapsed() >= idle => return,
                Some(since) => since + idle,
                None => Instant::now() + idle,
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// A request in flight on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.0 = s.0.saturating_sub(1);
            if s.0 == 0 {
                s.1 = Instant::now();
            }
        }
    }
}

/// The connection's service, noting each request in flight in its `Activity`.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R> tower::Service<R> for Tracked<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let in_flight = self.activity.begin();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            drop(in_flight);
            response
        })
    }
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

impl PerAddress {
    /// Counts a new connection from `ip`, unless it already has `cap` open.
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: Option<usize>) -> Option<AddressSlot> {
        let Some(cap) = cap else {
            return Some(AddressSlot(None));
        };
        let key = rate_limit_key(ip);
        let mut map = self.0.lock().ok()?;
        let count = map.entry(key).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot(Some((Arc::clone(self), key))))
    }
}

/// One open connection of an address; dropping it frees the place.
struct AddressSlot(Option<(Arc<PerAddress>, IpAddr)>);

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some((counts, key)) = self.0.take() else {
            return;
        };
        if let Ok(mut map) = counts.0.lock()
            && let Some(count) = map.get_mut(&key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&key);
            }
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_cap_and_a_closed_connection_frees_its_place() {
        let counts = Arc::new(PerAddress::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| counts.admit(a, Some(3)).unwrap()).collect();
        assert!(counts.admit(a, Some(3)).is_none());
        assert!(
            counts
                .admit("192.0.2.2".parse().unwrap(), Some(3))
                .is_some()
        );
        // One /64 is one client.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let _x = counts.admit(v6("2001:db8::1"), Some(1)).unwrap();
        assert!(counts.admit(v6("2001:db8::2"), Some(1)).is_none());
        drop(held);
        let again = counts.admit(a, Some(3));
        assert!(again.is_some());
        // Uncapped (behind a trusted proxy), nothing is counted.
        let _uncapped = counts.admit(a, None).unwrap();
        assert_eq!(counts.0.lock().unwrap().get(&a), Some(&1));
        drop(again);
        assert_eq!(counts.0.lock().unwrap().get(&a), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_only_with_nothing_in_flight() {
        let activity = Arc::new(Activity::new());
        let idle = Duration::from_secs(30);
        let started = Instant::now();
        let busy = activity.begin();
        let waiting = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.idle_for(idle).await }
        });
        tokio::time::sleep(Duration::from_secs(45)).await;
        assert!(!waiting.is_finished());
        drop(busy);
        waiting.await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(75));
    }
}
