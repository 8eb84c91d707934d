//! The token parser accepts exactly the canonical spellings of link formats 1 (43
//! base64url characters) and 2 (`2.{12 lowercase hex}.{43 base64url characters}`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = passdrop::crypto::LinkToken::parse(text) {
            assert_eq!(token.expose(), text);
            let tag_chars = passdrop::crypto::LINK_TAG_CHARS;
            match token.tag() {
                None => assert_eq!(text.len(), passdrop::crypto::TOKEN_CHARS),
                Some(tag) => {
                    assert_eq!(text.len(), 2 + tag_chars + 1 + passdrop::crypto::TOKEN_CHARS);
                    assert_eq!(&text[2..2 + tag_chars], tag.as_str());
                    assert!(text.starts_with("2."));
                }
            }
        }
        let _ = passdrop::config::PublicUrl::parse(text);
        let _ = passdrop::config::parse_duration(text);
    }
});
