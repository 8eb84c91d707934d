//! Telling a slowing or blocking server from a healthy one: the recent outcomes of the
//! checks against each server (in memory, per process), and the plain words for the
//! admin when they look like a brute-force penalty or a ban on passdrop's address.

use std::collections::VecDeque;

use super::*;

/// An answer slower than this looks like a deliberate delay (Dovecot waits up to 15 s
/// after failed logins from an address; a healthy server answers in well under 1 s).
pub const SLOW_ANSWER: Duration = Duration::from_secs(8);

/// Only outcomes this recent count.
const WINDOW: Duration = Duration::from_secs(10 * 60);

/// Outcomes kept per server.
const KEPT: usize = 12;

/// Troubled outcomes among those kept that make a server look throttled.
const TROUBLED: usize = 3;

/// How one check against a server went, as far as its health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A prompt, clear answer.
    Fine,
    /// A clear answer, but only after `SLOW_ANSWER`.
    Slow,
    /// No answer in time.
    TimedOut,
    /// Refused or cut off right after connecting (a closed door, a BYE, a reset).
    Refused,
    /// "Not now" (`[UNAVAILABLE]` and the like).
    TryLater,
    /// A problem of the setup (a name, a certificate), not of the server's mood.
    Neutral,
}

impl Outcome {
    pub(super) fn of(verdict: &Verdict, took: Duration) -> Self {
        let answered = |took: Duration| {
            if took >= SLOW_ANSWER {
                Self::Slow
            } else {
                Self::Fine
            }
        };
        match verdict {
            Verdict::Accepted
            | Verdict::Rejected
            | Verdict::RefusedOther(_)
            | Verdict::AppPasswordRequired(_) => answered(took),
            Verdict::CouldNotCheck(p) | Verdict::NoAnswer(p) => match p {
                ImapProblem::Timeout(_) => Self::TimedOut,
                ImapProblem::Connect { .. }
                | ImapProblem::Greeting(_)
                | ImapProblem::Protocol(_) => Self::Refused,
                ImapProblem::Temporary(_) => Self::TryLater,
                ImapProblem::Resolve { .. }
                | ImapProblem::Certificate(_)
                | ImapProblem::Tls(_)
                | ImapProblem::NoStartTls
                | ImapProblem::NotImap
                | ImapProblem::NoLogin => Self::Neutral,
            },
        }
    }

    fn troubled(self) -> bool {
        !matches!(self, Self::Fine | Self::Neutral)
    }
}

/// The recent outcomes of one server's checks.
#[derive(Debug, Default)]
pub(super) struct Health {
    recent: VecDeque<(Instant, Outcome)>,
    /// Whether the admin has been told (the warning starts once, until it clears).
    warned: bool,
}

impl Health {
    /// Adds an outcome; answers the warning when this one starts it.
    pub(super) fn record(
        &mut self,
        now: Instant,
        outcome: Outcome,
        server: &str,
    ) -> Option<String> {
        self.recent.push_back((now, outcome));
        while self.recent.len() > KEPT {
            self.recent.pop_front();
        }
        let warning = self.warning(now, server);
        let starts = warning.is_some() && !self.warned;
        self.warned = warning.is_some();
        warning.filter(|_| starts)
    }

    /// The plain-words warning, while the recent outcomes look like a penalty or a ban.
    pub(super) fn warning(&self, now: Instant, server: &str) -> Option<String> {
        let recent: Vec<Outcome> = self
            .recent
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= WINDOW)
            .map(|(_, o)| *o)
            .collect();
        let count = |o: Outcome| recent.iter().filter(|r| **r == o).count();
        let troubled = recent.iter().filter(|o| o.troubled()).count();
        // The last answer being prompt and clear means it has recovered.
        if troubled < TROUBLED || recent.last() == Some(&Outcome::Fine) {
            return None;
        }
        let mut what = Vec::new();
        for (outcome, words) in [
            (
                Outcome::Slow,
                format!("answered only after {} s or more", SLOW_ANSWER.as_secs()),
            ),
            (Outcome::TimedOut, "got no answer in time".to_owned()),
            (
                Outcome::Refused,
                "were refused or cut off right after connecting".to_owned(),
            ),
            (
                Outcome::TryLater,
                "were told to try later ([UNAVAILABLE] or similar)".to_owned(),
            ),
        ] {
            let n = count(outcome);
            if n > 0 {
                what.push(format!("{n} {words}"));
            }
        }
        Some(format!(
            "{server} seems to be slowing down or blocking passdrop's password checks: of the \
             last {} checks in ten minutes, {}. Mail servers do this to an address after \
             failed logins (Dovecot's auth penalty, fail2ban, cPanel's cPHulk), and every \
             check comes from this machine's one address. Users are asked to try again later \
             and nothing is counted against them; if it goes on, ask the host to allowlist \
             this machine's public IP address for IMAP logins.",
            recent.len(),
            what.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_slow_or_missing_answers_start_one_warning_and_a_prompt_one_ends_it() {
        let mut h = Health::default();
        let t = Instant::now();
        let s = "imaps://mail.example.org:993";
        assert_eq!(h.record(t, Outcome::Fine, s), None);
        assert_eq!(h.record(t, Outcome::Neutral, s), None);
        assert_eq!(h.record(t, Outcome::Slow, s), None);
        assert_eq!(h.record(t, Outcome::TimedOut, s), None);
        let w = h.record(t, Outcome::Refused, s).unwrap();
        assert!(w.contains("1 answered only after 8 s"), "{w}");
        assert!(w.contains("1 got no answer in time"), "{w}");
        assert!(w.contains("allowlist"), "{w}");
        assert!(w.starts_with(s), "{w}");
        // Said once while it lasts.
        assert_eq!(h.record(t, Outcome::TryLater, s), None);
        assert!(h.warning(t, s).is_some());
        assert_eq!(h.record(t, Outcome::Fine, s), None);
        assert!(h.warning(t, s).is_none());
        // Old outcomes fall out of the window.
        let later = t + WINDOW + Duration::from_secs(1);
        assert_eq!(h.record(later, Outcome::Slow, s), None);
    }

    #[test]
    fn outcomes_follow_the_verdict_and_the_time_it_took() {
        let quick = Duration::from_millis(30);
        assert_eq!(Outcome::of(&Verdict::Rejected, quick), Outcome::Fine);
        assert_eq!(Outcome::of(&Verdict::Rejected, SLOW_ANSWER), Outcome::Slow);
        assert_eq!(
            Outcome::of(&Verdict::NoAnswer(ImapProblem::Timeout("x")), quick),
            Outcome::TimedOut
        );
        assert_eq!(
            Outcome::of(
                &Verdict::CouldNotCheck(ImapProblem::Resolve { host: "x".into() }),
                quick
            ),
            Outcome::Neutral
        );
    }
}
