//! Opening a batch's sealed passwords on every core: the export's and the re-check's
//! one X25519 exchange per password (issue 21).

use super::{BatchError, BatchResult, Tally};
use crate::crypto::{self, SubmissionBinding};

/// Opens every sealed password of a batch, in order, spread over the machine's cores.
pub(super) fn open_passwords(
    batch_key: &crypto::BatchKey,
    batch_id: &str,
    submissions: &[crate::storage::StoredSubmission],
    tally: Option<&Tally>,
) -> BatchResult<Vec<secrecy::SecretBox<[u8]>>> {
    let open_one = |s: &crate::storage::StoredSubmission| {
        if let Some(tally) = tally {
            tally.bump();
        }
        let binding = SubmissionBinding {
            batch_id,
            recipient_id: s.recipient.id,
            email: &s.recipient.email,
            user_name: &s.recipient.user_name,
        };
        crypto::open_password(batch_key, binding, &s.sealed).map_err(|e| {
            BatchError::Other(anyhow::anyhow!(
                "the stored password of recipient {} (roster line {}) does not open ({e}); \
                 the database may be damaged",
                s.recipient.id,
                s.recipient.roster_line
            ))
        })
    };
    // Small pieces handed out as threads ask for them, not one fixed share per thread:
    // on a machine with other work, a thread that gets less CPU time does less of the
    // work instead of holding every other thread up at the end.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let pieces: Vec<_> = submissions.chunks(OPEN_PIECE).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(pieces.len()))
            .map(|_| {
                let (pieces, next) = (&pieces, &next);
                scope.spawn(move || {
                    let mut opened = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(piece) = pieces.get(i) else {
                            return Ok::<_, BatchError>(opened);
                        };
                        match piece.iter().map(open_one).collect::<BatchResult<_>>() {
                            Ok(passwords) => opened.push((i, passwords)),
                            Err(e) => {
                                // The others stop at their next piece.
                                next.store(pieces.len(), std::sync::atomic::Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut opened: Vec<(usize, Vec<secrecy::SecretBox<[u8]>>)> =
            Vec::with_capacity(pieces.len());
        for worker in workers {
            opened.extend(worker.join().map_err(|_| {
                BatchError::Other(anyhow::anyhow!("a password-opening thread panicked"))
            })??);
        }
        // Back in file order.
        opened.sort_unstable_by_key(|(i, _)| *i);
        let mut all = Vec::with_capacity(submissions.len());
        all.extend(opened.into_iter().flat_map(|(_, p)| p));
        Ok(all)
    })
}

/// Passwords a password-opening thread takes at a time.
const OPEN_PIECE: usize = 64;
