//! Pacing the messages (at most so many a second, across every batch) and retrying
//! temporary failures.

use std::time::Duration;

/// Spaces messages out: at most one per `gap`, across every batch being sent.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// At most `per_second` messages a second.
    pub fn new(per_second: f64) -> Self {
        Self {
            gap: Duration::from_secs_f64(1.0 / per_second.clamp(0.01, 1000.0)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    pub(super) async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// How temporary failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub tries: u32,
    /// The wait after the first temporary failure; it doubles after each.
    pub wait: Duration,
}

impl RetryPolicy {
    /// Four tries: waits of `wait`, twice and four times that.
    pub fn new(wait: Duration) -> Self {
        Self { tries: 4, wait }
    }
}
