//! Commands to devices: RPC with a reply or a timeout.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use steward_wire::{RpcCall, RpcReply};

use super::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const MAX_TIMEOUT_MS: u64 = 30_000;
const MAX_METHOD: usize = 64;

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// `POST /devices/{id}/rpc`: the device's reply, 409 `device_offline` when stewardd sees it
/// offline (no point waiting), or 504 `rpc_timeout`.
pub async fn rpc(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RpcCall>,
) -> ApiResult<Json<RpcReply>> {
    let method = body.method.trim();
    if method.is_empty() || method.len() > MAX_METHOD || method.chars().any(char::is_control) {
        return Err(unprocessable(
            "invalid_method",
            format!("the method must be 1 to {MAX_METHOD} characters without control characters"),
        ));
    }
    let timeout_ms = body.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(unprocessable(
            "invalid_timeout",
            format!("timeout_ms must be between 1 and {MAX_TIMEOUT_MS}"),
        ));
    }
    state
        .store
        .device(caller.org, id)?
        .ok_or_else(|| ApiError::not_found("device"))?;
    let device = u32::try_from(id).map_err(|_| ApiError::not_found("device"))?;
    let Some(rpc) = state.rpc() else {
        return Err(ApiError::conflict(
            "no_broker",
            "this platform runs without a broker",
        ));
    };
    if let Some(tracker) = state.presence() {
        let online = tracker.rows(&[id])?.first().is_some_and(|r| r.online);
        if !online {
            return Err(ApiError::conflict(
                "device_offline",
                format!("device {id} is offline"),
            ));
        }
    }
    let started = Instant::now();
    let reply = rpc
        .call(
            caller.org,
            device,
            method,
            body.params,
            Duration::from_millis(timeout_ms),
        )
        .await?;
    match reply {
        Some(reply) => Ok(Json(RpcReply {
            device: id,
            reply,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })),
        None => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "rpc_timeout",
            format!("device {id} did not answer within {timeout_ms} ms"),
        )),
    }
}
