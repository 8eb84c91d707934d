//! `GET /metrics` in Prometheus' text format, served on its own listen address
//! (`--metrics-listen`, off by default). Only counts and latencies: never an address, a
//! token, a batch name or anything about a user. Routes are grouped by kind, so a path
//! (which may hold a token) never becomes a label.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Kinds of route, the only request label.
const ROUTES: [&str; 5] = ["collection", "admin", "assets", "health", "other"];
/// Status classes.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Outcomes of a submission.
pub const SUBMISSION_OUTCOMES: [&str; 4] = ["accepted", "refused", "try_later", "gone"];
/// Outcomes of an IMAP password check.
pub const IMAP_VERDICTS: [&str; 6] = [
    "accepted",
    "rejected",
    "refused_other",
    "app_password_required",
    "could_not_check",
    "no_answer",
];

/// The counters, shared by every request.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    requests: [[AtomicU64; CLASSES.len()]; ROUTES.len()],
    latency_buckets: [[AtomicU64; BUCKETS.len()]; ROUTES.len()],
    latency_count: [AtomicU64; ROUTES.len()],
    latency_sum_micros: [AtomicU64; ROUTES.len()],
    submissions: [AtomicU64; SUBMISSION_OUTCOMES.len()],
    imap_checks: [AtomicU64; IMAP_VERDICTS.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            requests: Default::default(),
            latency_buckets: Default::default(),
            latency_count: Default::default(),
            latency_sum_micros: Default::default(),
            submissions: Default::default(),
            imap_checks: Default::default(),
        }
    }
}

/// The kind of route a path is (`ROUTES`' index); requests are counted by it
/// (`middleware::front`).
pub(super) fn route_kind(path: &str) -> usize {
    let kind = if path.starts_with("/s/") {
        "collection"
    } else if path == "/admin" || path.starts_with("/admin/") {
        "admin"
    } else if path.starts_with("/assets/") {
        "assets"
    } else if path == "/healthz" {
        "health"
    } else {
        "other"
    };
    ROUTES
        .iter()
        .position(|r| *r == kind)
        .unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    /// Counts one request of `route` (`route_kind`) answered `status` after `seconds`.
    pub(super) fn record(&self, route: usize, status: StatusCode, seconds: f64) {
        let class = usize::from(status.as_u16() / 100)
            .saturating_sub(1)
            .min(CLASSES.len() - 1);
        self.requests[route][class].fetch_add(1, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[route][i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count[route].fetch_add(1, Ordering::Relaxed);
        // Whole microseconds are plenty for a sum.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let micros = (seconds * 1e6) as u64;
        self.latency_sum_micros[route].fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts a submission's outcome (one of `SUBMISSION_OUTCOMES`).
    pub fn submission(&self, outcome: &str) {
        if let Some(i) = SUBMISSION_OUTCOMES.iter().position(|o| *o == outcome) {
            self.submissions[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts an IMAP check's verdict (one of `IMAP_VERDICTS`).
    pub fn imap_check(&self, verdict: &str) {
        if let Some(i) = IMAP_VERDICTS.iter().position(|v| *v == verdict) {
            self.imap_checks[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP passdrop_uptime_seconds Seconds since the server started.\n\
             # TYPE passdrop_uptime_seconds gauge\n\
             passdrop_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        out.push_str(
            "# HELP passdrop_http_requests_total HTTP requests answered, by kind of route and status class.\n\
             # TYPE passdrop_http_requests_total counter\n",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "passdrop_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {}",
                    get(&self.requests[r][c])
                );
            }
        }
        out.push_str(
            "# HELP passdrop_http_request_duration_seconds Time to answer, by kind of route.\n\
             # TYPE passdrop_http_request_duration_seconds histogram\n",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "passdrop_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    get(&self.latency_buckets[r][i])
                );
            }
            let count = get(&self.latency_count[r]);
            let _ = writeln!(
                out,
                "passdrop_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n\
                 passdrop_http_request_duration_seconds_sum{{route=\"{route}\"}} {:.6}\n\
                 passdrop_http_request_duration_seconds_count{{route=\"{route}\"}} {count}",
                get(&self.latency_sum_micros[r]) as f64 / 1e6
            );
        }
        out.push_str(
            "# HELP passdrop_submissions_total Password submissions, by outcome.\n\
             # TYPE passdrop_submissions_total counter\n",
        );
        for (i, outcome) in SUBMISSION_OUTCOMES.iter().enumerate() {
            let _ = writeln!(
                out,
                "passdrop_submissions_total{{outcome=\"{outcome}\"}} {}",
                get(&self.submissions[i])
            );
        }
        out.push_str(
            "# HELP passdrop_imap_checks_total Password checks with old IMAP servers, by verdict.\n\
             # TYPE passdrop_imap_checks_total counter\n",
        );
        for (i, verdict) in IMAP_VERDICTS.iter().enumerate() {
            let _ = writeln!(
                out,
                "passdrop_imap_checks_total{{verdict=\"{verdict}\"}} {}",
                get(&self.imap_checks[i])
            );
        }
        out
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<super::AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render() + &link_views(state.store.link_view_answers()),
    )
        .into_response()
}

/// How the collection pages' link lookups were answered (`storage/link_views.rs`).
fn link_views((memory, database): (u64, u64)) -> String {
    format!(
        "# HELP passdrop_link_views_total Link lookups of the collection pages, by where the answer came from.\n\
         # TYPE passdrop_link_views_total counter\n\
         passdrop_link_views_total{{from=\"memory\"}} {memory}\n\
         passdrop_link_views_total{{from=\"database\"}} {database}\n"
    )
}

/// The metrics listener's routes: `/metrics` and nothing else.
pub fn router(state: super::AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_grouped_never_labelled() {
        let m = Metrics::default();
        m.record(route_kind("/s/SECRETTOKEN"), StatusCode::OK, 0.003);
        m.record(route_kind("/admin/batches/abc"), StatusCode::FOUND, 0.2);
        m.record(route_kind("/nope"), StatusCode::NOT_FOUND, 20.0);
        m.submission("accepted");
        m.imap_check("rejected");
        let text = m.render();
        assert!(!text.contains("SECRETTOKEN"));
        assert!(
            text.contains("passdrop_http_requests_total{route=\"collection\",status=\"2xx\"} 1")
        );
        assert!(text.contains("passdrop_http_requests_total{route=\"admin\",status=\"3xx\"} 1"));
        assert!(text.contains(
            "passdrop_http_request_duration_seconds_bucket{route=\"collection\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "passdrop_http_request_duration_seconds_bucket{route=\"other\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains(
            "passdrop_http_request_duration_seconds_bucket{route=\"other\",le=\"10\"} 0"
        ));
        assert!(text.contains("passdrop_submissions_total{outcome=\"accepted\"} 1"));
        assert!(text.contains("passdrop_imap_checks_total{verdict=\"rejected\"} 1"));
    }
}
