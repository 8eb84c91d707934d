//! The collection-form decoder never panics and never accepts a field that is not UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = passdrop::web::form::parse_collection_form(data) {
        // Decoded values are valid strings; checking them never panics either.
        let _ = form.password.expose_secret().len();
        let _ = passdrop::batch::check_password(&form.password, &form.password_confirm);
    }
});
