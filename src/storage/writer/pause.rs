//! The writer's pause for "opened" notes: a group that holds only notes, shortly after a
//! commit, waits until `OPENED_PAUSE` has passed since that commit, gathering the notes
//! that arrive, and commits them as one group (at most `GROUP_COMMIT_MAX`). Under a
//! flood of first visits the writer then commits (and fsyncs) 40 to 100 times a second
//! instead of 300 to 1,200 (the load bench's GET phase), and every reader connection
//! drops its page cache (at its next read after a commit) that much less often.
//!
//! A write that someone awaits (a submission, `flush_writes`, `close`) never waits behind
//! the pause: the paused writer looks at its queue every millisecond (`STEP`) and
//! commits the notes gathered so far with it. (It is not woken by each arrival: under
//! the load bench, a wake-up per note cost the writer about what the fewer commits
//! saved.) So a submission, flush or close that arrives during a pause waits at most
//! about 1 ms more (plus the scheduler's delay in waking the sleeping writer), or one
//! step of a warm of the link views when one is under way (`warm.rs`: it runs steps
//! instead of sleeping): polling was chosen because it costs the notes nothing and
//! cannot miss an arrival.

use std::time::{Duration, Instant};

use super::WriteJob;

/// How long after a commit a group of only "opened" notes waits before it commits. A
/// crash may lose the notes of this long plus up to two commits' time (the one the
/// pause follows and the one under way; more with over `GROUP_COMMIT_MAX` writes
/// queued); a note only informs the admin, it never decides single use.
pub(in crate::storage) const OPENED_PAUSE: Duration = Duration::from_millis(25);

/// How often the paused writer looks for a write someone awaits.
const STEP: Duration = Duration::from_millis(1);

/// When the writer last committed (or tried to), and how long a group of notes waits
/// after that.
pub(super) struct Pause {
    interval: Duration,
    last_commit: Option<Instant>,
}

impl Pause {
    /// A pause of `interval` after each commit.
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_commit: None,
        }
    }

    /// Notes that a group has just been committed, or has just failed (the writer calls
    /// it whatever `commit_group`'s outcome): the pause then runs from the end of that
    /// attempt either way. That is fine: a failed group's writes were answered, and a
    /// failing disk sees note-only retries at most once per pause.
    pub(super) fn committed(&mut self) {
        self.last_commit = Some(Instant::now());
    }

    /// When `group` holds only "opened" notes and the last commit was less than the
    /// interval ago, waits until the interval has passed, adding what arrives to
    /// `group`; returns within a `STEP` when a job that is not a note arrives (with it
    /// and every job queued behind it, up to `max`), at once when `group` reaches
    /// `max`, or when every sender is gone. While it waits it runs `idle` instead of
    /// sleeping, as long as `idle` answers that it did something (a step of the link
    /// views' warm, `warm.rs`: a job that is not a note then waits for the step).
    pub(super) fn gather(
        &self,
        jobs: &mut tokio::sync::mpsc::Receiver<WriteJob>,
        group: &mut Vec<WriteJob>,
        max: usize,
        mut idle: impl FnMut() -> bool,
    ) {
        let Some(last_commit) = self.last_commit else {
            return;
        };
        let deadline = last_commit + self.interval;
        if !group.iter().all(WriteJob::is_note) {
            return;
        }
        let mut awaited = false;
        while group.len() < max {
            match jobs.try_recv() {
                Ok(job) => {
                    awaited |= !job.is_note();
                    group.push(job);
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                    let now = Instant::now();
                    if awaited || now >= deadline {
                        return;
                    }
                    if !idle() {
                        std::thread::sleep(STEP.min(deadline - now));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use rusqlite::{Connection, params};

    use super::super::tests::{SCHEMA, submit, token_of};
    use super::super::{GROUP_COMMIT_MAX, StoreResult, submission_writer};
    use super::*;

    type Answer = tokio::sync::oneshot::Receiver<StoreResult<()>>;

    /// A database with live links for recipients 1 to 4 and, on its own thread, a writer
    /// pausing `pause` after each commit.
    struct Writer {
        _dir: tempfile::TempDir,
        path: PathBuf,
        jobs: tokio::sync::mpsc::Sender<WriteJob>,
        thread: std::thread::JoinHandle<u64>,
    }

    impl Writer {
        fn start(pause: Duration) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("w.db");
            let setup = Connection::open(&path).unwrap();
            setup.execute_batch(SCHEMA).unwrap();
            setup.pragma_update(None, "journal_mode", "wal").unwrap();
            for recipient_id in 1..=4 {
                setup
                    .execute(
                        "INSERT INTO links VALUES (?1, ?2, 'live', 100, NULL, NULL)",
                        params![token_of(recipient_id).as_slice(), recipient_id],
                    )
                    .unwrap();
            }
            let (jobs, receiver) = tokio::sync::mpsc::channel(64);
            let writer_path = path.clone();
            let thread = std::thread::spawn(move || {
                let views = crate::storage::writer::LinkViews::new(&writer_path);
                submission_writer(&writer_path, receiver, pause, &views)
            });
            Self {
                _dir: dir,
                path,
                jobs,
                thread,
            }
        }

        fn send(&self, job: (WriteJob, Answer)) -> Answer {
            self.jobs.blocking_send(job.0).unwrap();
            job.1
        }

        /// Which links have their "opened" noted.
        fn opened(&self) -> Vec<i64> {
            opened_in(&self.path)
        }

        /// Stops the writer; answers how many groups it committed.
        fn stop(self) -> u64 {
            drop(self.jobs);
            self.thread.join().unwrap()
        }
    }

    /// Which links of the database at `path` have their "opened" noted.
    fn opened_in(path: &std::path::Path) -> Vec<i64> {
        Connection::open(path)
            .unwrap()
            .prepare("SELECT recipient_id FROM links WHERE opened_at IS NOT NULL ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn note(recipient_id: i64) -> (WriteJob, Answer) {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = WriteJob::Opened {
            token_hash: token_of(recipient_id),
            now: 7,
            done,
        };
        (job, answer)
    }

    fn flush() -> (WriteJob, Answer) {
        let (done, answer) = tokio::sync::oneshot::channel();
        (WriteJob::Flush { done }, answer)
    }

    fn close() -> (WriteJob, Answer) {
        let (done, answer) = tokio::sync::oneshot::channel();
        (WriteJob::Close { done }, answer)
    }

    /// Sends `job` and waits for its answer: how long that took.
    fn answered_in(writer: &Writer, job: (WriteJob, Answer)) -> Duration {
        let sent = Instant::now();
        writer.send(job).blocking_recv().unwrap().unwrap();
        sent.elapsed()
    }

    #[test]
    fn a_lone_note_commits_at_once_when_the_writer_was_idle() {
        let pause = Duration::from_secs(1);
        let writer = Writer::start(pause);
        // Idle since it started: no commit yet.
        let waited = answered_in(&writer, note(1));
        assert!(waited < pause / 2, "{waited:?}");
        assert_eq!(writer.opened(), [1]);
        // Idle for longer than the pause since the last commit.
        std::thread::sleep(pause + pause / 5);
        let waited = answered_in(&writer, note(2));
        assert!(waited < pause / 2, "{waited:?}");
        assert_eq!(writer.opened(), [1, 2]);
        assert_eq!(writer.stop(), 2);
    }

    #[test]
    fn notes_arriving_within_the_pause_share_one_commit() {
        let pause = Duration::from_secs(1);
        let writer = Writer::start(pause);
        answered_in(&writer, note(1));
        let sent = Instant::now();
        let answers: Vec<_> = (2..=4)
            .map(|recipient_id| {
                let answer = writer.send(note(recipient_id));
                std::thread::sleep(Duration::from_millis(10));
                answer
            })
            .collect();
        for answer in answers {
            answer.blocking_recv().unwrap().unwrap();
        }
        // They waited for the pause after the first note's commit...
        assert!(sent.elapsed() >= pause / 2, "{:?}", sent.elapsed());
        assert_eq!(writer.opened(), [1, 2, 3, 4]);
        // ...and were committed together.
        assert_eq!(writer.stop(), 2);
    }

    /// Sends `note`, which starts a pause, then `awaited` during it: `awaited` is answered
    /// in under a quarter of the pause, and the note was committed with it.
    fn during_a_pause(
        writer: &Writer,
        note: (WriteJob, Answer),
        awaited: (WriteJob, Answer),
        pause: Duration,
    ) {
        let mut noted = writer.send(note);
        std::thread::sleep(Duration::from_millis(50));
        let waited = answered_in(writer, awaited);
        assert!(waited < pause / 4, "{waited:?}");
        assert!(noted.try_recv().unwrap().is_ok());
    }

    #[test]
    fn a_write_someone_awaits_never_waits_for_the_pause_and_takes_the_notes_along() {
        let pause = Duration::from_secs(2);
        let writer = Writer::start(pause);
        answered_in(&writer, note(1));
        // A note starts a pause; a submission arriving during it is committed at once,
        // with the note.
        during_a_pause(&writer, note(2), submit(3), pause);
        assert_eq!(writer.opened(), [1, 2]);
        // The same for a flush...
        during_a_pause(&writer, note(4), flush(), pause);
        assert_eq!(writer.opened(), [1, 2, 4]);
        // ...and for the store's close.
        let reset = Connection::open(&writer.path).unwrap();
        reset
            .execute(
                "UPDATE links SET opened_at = NULL WHERE recipient_id = 1",
                [],
            )
            .unwrap();
        during_a_pause(&writer, note(1), close(), pause);
        assert_eq!(writer.opened(), [1, 2, 4]);
        let submitted: i64 = reset
            .query_row(
                "SELECT count(*) FROM submissions WHERE recipient_id = 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(submitted, 1);
        assert_eq!(writer.stop(), 4);
    }

    #[test]
    fn a_full_group_of_notes_does_not_wait_out_the_pause() {
        let pause = Duration::from_secs(2);
        let writer = Writer::start(pause);
        answered_in(&writer, note(1));
        // More notes than a group holds, all within the pause after that commit.
        let sent = Instant::now();
        let mut answers: Vec<_> = (0..GROUP_COMMIT_MAX + 44)
            .map(|i| writer.send(note(1 + i64::try_from(i % 4).unwrap())))
            .collect();
        let rest = answers.split_off(GROUP_COMMIT_MAX);
        // The first full group is committed as soon as it is full...
        for answer in answers {
            answer.blocking_recv().unwrap().unwrap();
        }
        let waited = sent.elapsed();
        assert!(waited < pause / 2, "{waited:?}");
        // ...and the rest in a group of their own (at the writer's stop, here).
        assert_eq!(writer.stop(), 3);
        for answer in rest {
            answer.blocking_recv().unwrap().unwrap();
        }
    }

    #[test]
    fn a_steady_stream_of_notes_is_committed_about_once_per_pause() {
        let pause = Duration::from_millis(100);
        let writer = Writer::start(pause);
        // Each note's answer is awaited, in order, on another thread: the longest wait.
        let (timed, to_await) = std::sync::mpsc::channel::<(Instant, Answer)>();
        let waiter = std::thread::spawn(move || {
            let mut longest = Duration::ZERO;
            for (sent, answer) in to_await {
                answer.blocking_recv().unwrap().unwrap();
                longest = longest.max(sent.elapsed());
            }
            longest
        });
        // A note every 5 ms for 800 ms: never a quiet pause, and fewer than a group holds.
        let start = Instant::now();
        let mut recipient_id = 0;
        while start.elapsed() < Duration::from_millis(800) {
            recipient_id = recipient_id % 4 + 1;
            timed
                .send((Instant::now(), writer.send(note(recipient_id))))
                .unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(timed);
        let longest = waiter.join().unwrap();
        // About one commit per pause (8 here), not one when the notes stop.
        let commits = writer.stop();
        assert!(commits >= 3, "{commits} commits");
        assert!(longest < Duration::from_millis(500), "{longest:?}");
    }

    #[test]
    fn a_note_gathered_when_the_sender_goes_is_committed_and_the_writer_ends() {
        let pause = Duration::from_secs(2);
        let writer = Writer::start(pause);
        answered_in(&writer, note(1));
        // A note starts a pause; the only sender goes during it.
        let noted = writer.send(note(2));
        std::thread::sleep(Duration::from_millis(50));
        let Writer {
            _dir,
            path,
            jobs,
            thread,
        } = writer;
        let dropped = Instant::now();
        drop(jobs);
        assert_eq!(thread.join().unwrap(), 2);
        let ended = dropped.elapsed();
        assert!(ended < pause / 4, "{ended:?}");
        assert!(noted.blocking_recv().unwrap().is_ok());
        assert_eq!(opened_in(&path), [1, 2]);
    }
}
