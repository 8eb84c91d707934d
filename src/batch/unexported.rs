//! Passwords no export read (migration 0023): before a purge destroys them, their users
//! are named, and the console and the API ask for exactly that list to be discarded.
//! An export records what it read (`ending::record_export_of`, `M365Export::seen`); this
//! is the other half.

use super::BatchResult;
use crate::storage::{Batch, LossAllowed, Store, Tombstone};

/// The users whose submitted password no recorded export read: nobody downloaded a
/// file since they submitted (or submitted again). A purge destroys their password
/// with nothing left to migrate from, so it names them first and asks for this exact
/// list to be discarded (`fingerprint`), or for a new download.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unexported {
    /// Their EmailAddress, in roster order.
    pub emails: Vec<String>,
    /// A short digest of exactly these submissions (empty when there are none): the
    /// purge form sends it back, so a user who submits between the page and the
    /// purge is not discarded unseen.
    pub fingerprint: String,
    /// (recipient id, `storage::submission_tag`) of each: what a purge that discards
    /// them may destroy (`purge_discarding`), and nothing else.
    pub pairs: Vec<(i64, i64)>,
}

impl Unexported {
    /// Nobody's password would be lost.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty()
    }

    /// Whether `given` (the fingerprint a purge request carries, if any) discards
    /// exactly these submissions. Nothing to discard always passes.
    pub fn discarded_by(&self, given: Option<&str>) -> bool {
        self.is_empty() || given == Some(self.fingerprint.as_str())
    }
}

/// Who has submitted a password that no recorded export read (`Unexported`).
pub async fn unexported(store: &Store, batch: &Batch) -> BatchResult<Unexported> {
    use sha2::Digest as _;
    let rows = store.unexported_submissions(&batch.id).await?;
    if rows.is_empty() {
        return Ok(Unexported::default());
    }
    let mut digest = sha2::Sha256::new();
    digest.update(batch.id.as_bytes());
    for (id, _, tag) in &rows {
        digest.update(format!("\n{id}:{tag}").as_bytes());
    }
    let fingerprint = hex::encode(&digest.finalize()[..8]);
    Ok(Unexported {
        pairs: rows.iter().map(|(id, _, tag)| (*id, *tag)).collect(),
        emails: rows.into_iter().map(|(_, email, _)| email).collect(),
        fingerprint,
    })
}

/// The EmailAddress of whoever submitted (or submitted again) after `exported` read the
/// batch, in roster order: in no file recorded so far. Once `record_export_of` has
/// recorded what it read, this is `unexported`, found by looking only where such a
/// submission can be (`storage::LateWatch`) instead of at every submission.
pub async fn submitted_since(
    store: &Store,
    batch: &Batch,
    exported: &super::M365Export,
) -> BatchResult<Vec<String>> {
    let rows = store
        .late_submissions(&batch.id, &exported.late_watch)
        .await?;
    Ok(rows.into_iter().map(|(_, email, _)| email).collect())
}

/// Purges a batch, destroying of the passwords no recorded export read only those in
/// `shown` (what the admin was shown and chose to discard; `Unexported::default()`:
/// none). A submission made since is `StoreError::MoreUnexported`, and nothing is purged.
pub async fn purge_discarding(
    store: &Store,
    batch: &Batch,
    now: i64,
    shown: &Unexported,
) -> BatchResult<Tombstone> {
    Ok(store
        .purge_batch(&batch.id, now, LossAllowed::Only(&shown.pairs))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_tag_is_the_last_eight_bytes_of_the_encapsulated_key() {
        let mut enc = vec![2u8];
        enc.extend(1..=32u8);
        assert_eq!(
            crate::storage::submission_tag(&enc),
            i64::from_be_bytes([25, 26, 27, 28, 29, 30, 31, 32])
        );
        // A new seal of the same password has a new key, so a new tag.
        let mut other = enc.clone();
        other[32] ^= 1;
        assert_ne!(
            crate::storage::submission_tag(&enc),
            crate::storage::submission_tag(&other)
        );
        assert_eq!(crate::storage::submission_tag(&[1, 2]), 0x0102);
        assert_eq!(crate::storage::submission_tag(&[]), 0);
    }

    #[test]
    fn only_the_exact_fingerprint_discards_unexported_passwords() {
        let none = Unexported::default();
        assert!(none.discarded_by(None));
        assert!(none.discarded_by(Some("anything")));
        let some = Unexported {
            emails: vec!["a@example.org".to_owned()],
            fingerprint: "0123456789abcdef".to_owned(),
            pairs: vec![(1, 2)],
        };
        assert!(!some.discarded_by(None));
        assert!(!some.discarded_by(Some("")));
        assert!(!some.discarded_by(Some("0123456789ABCDEF")));
        assert!(some.discarded_by(Some("0123456789abcdef")));
    }
}
