//! stewardd: Steward's platform server. It holds the truth (identity, roles, grants, API keys,
//! records, the audit trail, the change feed) and decides every request with the shared resolver.

pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;

use std::time::Duration;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, Limits, SharedState};

/// The largest request body accepted (bigger ones get 413 `body_too_large`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole HTTP application.
pub fn app(state: SharedState) -> Router {
    routes::router(state).layer((
        TraceLayer::new_for_http(),
        RequestBodyLimitLayer::new(MAX_BODY_BYTES),
        TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)),
    ))
}
