//! stewardd: Steward's platform server. It holds the truth (identity, roles, grants, API keys,
//! records, the audit trail, the change feed) and decides every request with the shared resolver.

pub mod auth;
pub mod broker;
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
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
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
        axum::middleware::map_response(json_errors),
        RequestBodyLimitLayer::new(MAX_BODY_BYTES),
        TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)),
    ))
}

/// Errors answered outside the handlers (the body limit's 413, the timeout's 408, an unknown
/// method's 405) as `{code, message}` like every other error, instead of plain text or nothing.
async fn json_errors<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response.map(axum::body::Body::new);
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this path does not take that method"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        s if s.is_server_error() => ("internal", "internal error; see the server log"),
        _ => ("bad_request", "the request was refused"),
    };
    let mut json = error::ApiError::new(status, code, message).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        json.headers_mut().insert(header::ALLOW, allow.clone());
    }
    json
}
