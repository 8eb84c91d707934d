//! The admin console, `/admin/**`: a session for every page, and the passphrase again
//! for anything that opens secrets or changes where they go.

pub(super) mod batch_page;
pub(super) mod batches;
pub(super) mod message;
pub(super) mod session;
pub(super) mod smtp;
