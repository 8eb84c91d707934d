//! The HTTP server: the route table, shared state, security middleware and launch.

pub mod assets;
mod console;
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

pub use error::AppError;
pub use middleware::redact_path;
pub use public::form;
pub use router::{FORM_BODY_LIMIT, router};
pub use server::{serve_on, shutdown_signal};
pub use state::{
    AppState, DEFAULT_RATE_LIMIT, DEFAULT_SEND_RATE, DEFAULT_SEND_RETRY_WAIT, ServerConfig,
};
