//! The roster's duplicate checks: values compared without case, each remembered with
//! the line it was first seen on.

use std::hash::BuildHasher as _;

/// Values seen so far, compared without case, with the line each was first seen on.
/// Every value is lowercased into one buffer and the table keeps only its place there:
/// a map of 50,000 lowercased `String`s cost a 50,000-row creation about 50 ms in
/// malloc once dropped (each string freed, then glibc merging the freed chunks at the
/// next large allocation), where this frees two allocations.
pub(super) struct SeenFolded {
    text: String,
    /// (start, end, line) of each value in `text`.
    table: hashbrown::HashTable<(usize, usize, u64)>,
    hasher: std::hash::RandomState,
}

impl SeenFolded {
    pub(super) fn with_capacity(values: usize) -> Self {
        Self {
            text: String::with_capacity(values * 24),
            table: hashbrown::HashTable::with_capacity(values),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Records `value`, first seen on `line`; if it (lowercased) was seen already,
    /// returns the line it was first seen on instead.
    pub(super) fn insert(&mut self, value: &str, line: u64) -> Option<u64> {
        let Self {
            text,
            table,
            hasher,
        } = self;
        let start = text.len();
        if value
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            text.push_str(&value.to_lowercase());
        } else {
            text.push_str(value);
        }
        let end = text.len();
        let key = &text[start..end];
        let hash = hasher.hash_one(key);
        if let Some(&(_, _, first)) = table.find(hash, |&(s, e, _)| &text[s..e] == key) {
            text.truncate(start);
            return Some(first);
        }
        table.insert_unique(hash, (start, end, line), |&(s, e, _)| {
            hasher.hash_one(&text[s..e])
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_seen_match_without_case_and_name_the_first_line() {
        let mut seen = SeenFolded::with_capacity(2);
        assert_eq!(seen.insert("Ann@Example.com", 2), None);
        assert_eq!(seen.insert("bob@example.com", 3), None);
        assert_eq!(seen.insert("ann@example.COM", 4), Some(2));
        assert_eq!(seen.insert("BOB@example.com", 5), Some(3));
        // Beyond ASCII, as `str::to_lowercase` folds it.
        assert_eq!(seen.insert("ÄNNE@example.com", 6), None);
        assert_eq!(seen.insert("änne@example.com", 7), Some(6));
        assert_eq!(seen.insert("anne@example.com", 8), None);
        // Past its first capacity, every value is still found.
        for i in 0..1000 {
            assert_eq!(seen.insert(&format!("User{i}@example.com"), 10 + i), None);
        }
        for i in 0..1000 {
            assert_eq!(
                seen.insert(&format!("user{i}@EXAMPLE.com"), 2000 + i),
                Some(10 + i)
            );
        }
    }
}
