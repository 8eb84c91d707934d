//! The collection-form decoder never panics and never accepts a field that is not UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = passdrop::web::form::parse_collection_form(data) {
        // Decoded values are valid strings; checking them never panics either.
        let _ = form.password.expose_secret().len();
        let confirm = form.password_confirm.as_ref().unwrap_or(&form.password);
        let _ = passdrop::batch::check_password(&form.password, confirm);
    }
});
