//! The HTTP server. Two sides behind one listener, and they never import each other:
//!
//! - `public`: what a person with a link sees (`/s/{token}`): no session, and every
//!   input is hostile.
//! - `console`: the admin console (`/admin/**`): a session for every page, and the
//!   passphrase again for anything that opens secrets.
//! - `api`: the HTTP API (`/api/v1/**`): an API token for every call, the passphrase in
//!   the JSON body for what decides, replaces or destroys; it imports neither side.
//!
//! Around them: the shared state (`AppState`, `ServerConfig`), the route table
//! (`router`), the listener (`serve_on`), the security middleware, the frame every
//! page shares, the error page, the rate limit and `/metrics`.

mod api;
pub mod assets;
pub mod brand;
mod console;
mod designed;
mod error;
mod layout;
/// `/metrics`: counts and latencies in Prometheus' format, on their own listener.
pub mod metrics;
mod middleware;
mod public;
mod rate_limit;
mod router;
mod server;
mod state;

pub(crate) use designed::{DesignedPage, RetryAfter};
pub use error::AppError;
pub use middleware::redact_path;
pub use public::form;
pub(crate) use public::{COMPLETION_FLUSH_WITHIN, flush_completion_checks};
pub use router::{FORM_BODY_LIMIT, router};
pub use server::{
    IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, serve_metrics, serve_on,
    shutdown_signal,
};
pub use state::{
    AppState, DEFAULT_RATE_LIMIT, DEFAULT_SEND_RATE, DEFAULT_SEND_RETRY_WAIT, ServerConfig,
};
