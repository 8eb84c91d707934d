//! The token parser accepts exactly the canonical 43-character base64url spellings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = passdrop::crypto::LinkToken::parse(text) {
            assert_eq!(token.expose(), text);
            assert_eq!(text.len(), passdrop::crypto::TOKEN_CHARS);
        }
        let _ = passdrop::config::PublicUrl::parse(text);
        let _ = passdrop::config::parse_duration(text);
    }
});
