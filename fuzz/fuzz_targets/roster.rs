//! The roster parser never panics, and what it accepts obeys its own rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(roster) = passdrop::roster::parse_roster(data) {
        assert!(!roster.entries.is_empty());
        assert!(roster.entries.len() <= passdrop::roster::MAX_ROWS);
        for e in &roster.entries {
            assert!(passdrop::roster::email_problem(&e.email).is_none());
            assert!(!e.user_name.is_empty());
        }
    }
});
