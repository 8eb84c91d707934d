//! Progress on long work, on stderr: on a terminal an `indicatif` bar with the rate and
//! the time left (lines printed above it); otherwise plain lines, so logs and pipes get
//! text, never control codes. Used by `send`, `batch create` and `export`; re-checks and
//! probes can use it the same way (`Progress::new`, or `watch` over a `batch::Tally`).

use std::future::Future;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::batch::Tally;

/// A batch at least this big shows progress while its links are issued or its
/// passwords opened; smaller ones are done before anyone would read it.
pub const LARGE: u64 = 1000;

/// How often `watch` looks at the tally.
const TICK: Duration = Duration::from_millis(200);

/// A progress display for `total` items.
pub struct Progress {
    bar: Option<ProgressBar>,
    what: String,
    total: u64,
    done: u64,
    /// Without a terminal: print a line at every tenth (else the caller prints its own).
    plain_steps: bool,
    next_step: u64,
}

impl Progress {
    /// A bar on a terminal; otherwise a plain line at every tenth of the way.
    pub fn new(what: &str, total: u64) -> Self {
        Self::build(what, total, true)
    }

    /// A bar on a terminal; otherwise nothing but the caller's own lines (`println`).
    pub fn lines_only(what: &str, total: u64) -> Self {
        Self::build(what, total, false)
    }

    fn build(what: &str, total: u64, plain_steps: bool) -> Self {
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}  {rate}  {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .with_key(
                        "rate",
                        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        },
                    )
                    .progress_chars("#>-");
            bar.set_style(style);
            bar.set_message(what.to_owned());
            bar
        });
        Self {
            bar,
            what: what.to_owned(),
            total,
            done: 0,
            plain_steps,
            next_step: 1,
        }
    }

    /// Whether a bar is drawn (stderr is a terminal).
    pub fn is_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// Sets how many items are done.
    pub fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        } else if self.plain_steps && self.total > 0 {
            // The tenths reached, each printed once.
            let step = self.done * 10 / self.total;
            if step >= self.next_step {
                self.next_step = step + 1;
                eprintln!("{}: {}/{}", self.what, self.done, self.total);
            }
        }
    }

    /// Counts `n` more items done.
    pub fn add(&mut self, n: u64) {
        self.set(self.done.saturating_add(n));
    }

    /// Sets the words beside the bar (on a terminal).
    pub fn message(&self, words: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(words);
        }
    }

    /// Prints a line: above the bar on a terminal, else on its own.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar (the caller says how it ended).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `work` while showing the progress it counts on `tally`, once the tally's total
/// is known to be at least `min_total` (`LARGE` for batch work); nothing otherwise.
pub async fn watch<T>(
    what: &str,
    tally: Arc<Tally>,
    min_total: u64,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    let mut progress: Option<Progress> = None;
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            out = &mut work => {
                match progress {
                    Some(mut p) => {
                        p.set(tally.done());
                        p.finish();
                    }
                    // Done before the first look: without a terminal, one line still
                    // says how much was done.
                    None if tally.total() >= min_total
                        && tally.total() > 0
                        && !std::io::stderr().is_terminal() =>
                    {
                        eprintln!("{what}: {}/{}", tally.done(), tally.total());
                    }
                    None => {}
                }
                return out;
            }
            _ = tick.tick() => {
                let total = tally.total();
                if progress.is_none() && total >= min_total && total > 0 {
                    progress = Some(Progress::new(what, total));
                }
                if let Some(p) = &mut progress {
                    p.set(tally.done());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watch_returns_the_work_and_follows_the_tally() {
        let tally = Tally::new();
        let counted = Arc::clone(&tally);
        let out = watch("Counting", Arc::clone(&tally), 1, async move {
            counted.set_total(3);
            for _ in 0..3 {
                counted.bump();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            42
        })
        .await;
        assert_eq!(out, 42);
        assert_eq!((tally.done(), tally.total()), (3, 3));
    }

    #[test]
    fn plain_progress_never_passes_the_total() {
        let mut p = Progress::new("x", 10);
        p.add(25);
        assert_eq!(p.done, 10);
        p.finish();
    }
}
