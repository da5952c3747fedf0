//! Commands to devices: RPC with a reply or a timeout, and commands queued until the device is
//! next online.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use steward_wire::{NewQueuedCommand, QueuedCommand, RpcCall, RpcReply};

use super::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const MAX_TIMEOUT_MS: u64 = 30_000;
/// The longest RPC method or queued command name.
const MAX_NAME: usize = 64;

/// An RPC method or command name: trimmed, 1 to `MAX_NAME` characters, no control characters.
fn command_name<'a>(value: &'a str, what: &str, code: &'static str) -> ApiResult<&'a str> {
    let name = value.trim();
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            code,
            format!("the {what} must be 1 to {MAX_NAME} characters without control characters"),
        ));
    }
    Ok(name)
}

/// 404 unless the device exists in the caller's org.
fn known_device(state: &SharedState, caller: &Caller, id: i64) -> ApiResult<()> {
    state
        .store
        .device(caller.org, id)?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("device"))
}

/// Whether stewardd sees the device online (never, without a broker).
fn online(state: &SharedState, id: i64) -> ApiResult<bool> {
    match state.presence() {
        Some(tracker) => tracker.is_online(id),
        None => Ok(false),
    }
}

/// `POST /devices/{id}/rpc`: the device's reply, 409 `device_offline` when stewardd sees it
/// offline (no point waiting), or 504 `rpc_timeout`.
pub async fn rpc(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RpcCall>,
) -> ApiResult<Json<RpcReply>> {
    let method = command_name(&body.method, "method", "invalid_method")?;
    let timeout_ms = body.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(ApiError::unprocessable(
            "invalid_timeout",
            format!("timeout_ms must be between 1 and {MAX_TIMEOUT_MS}"),
        ));
    }
    known_device(&state, &caller, id)?;
    let device = u32::try_from(id).map_err(|_| ApiError::not_found("device"))?;
    let Some(rpc) = state.rpc() else {
        return Err(ApiError::conflict(
            "no_broker",
            "this platform runs without a broker",
        ));
    };
    if !online(&state, id)? {
        return Err(ApiError::conflict(
            "device_offline",
            format!("device {id} is offline"),
        ));
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
    // The call reached the device: who called what, and whether it answered, is on record (the
    // params are not: they are the device's business and may hold settings).
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let ctx = caller.write_ctx(&state, 200, None);
    let result = if reply.is_some() { "replied" } else { "timeout" };
    state.store.audit_event(
        &ctx,
        "commands.rpc.call",
        &format!("device:{id}"),
        "ok",
        serde_json::json!({ "method": method, "result": result, "elapsed_ms": elapsed_ms }),
    )?;
    match reply {
        Some(reply) => Ok(Json(RpcReply {
            device: id,
            reply,
            elapsed_ms,
        })),
        None => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "rpc_timeout",
            format!("device {id} did not answer within {timeout_ms} ms"),
        )),
    }
}

/// How many of a device's commands `GET /devices/{id}/queue` lists, newest first.
const QUEUE_LISTED: u32 = 200;

/// `POST /devices/{id}/queue`: stored, and delivered at once if the device is online, else when
/// it next comes online.
pub async fn enqueue(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<super::Idempotency>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewQueuedCommand>,
) -> ApiResult<(StatusCode, Json<QueuedCommand>)> {
    let command = command_name(&body.command, "command", "invalid_command")?;
    known_device(&state, &caller, id)?;
    let ctx = caller.write_ctx(&state, 201, idem.0);
    let queued = state.store.queue_command(&ctx, id, command, &body.params)?;
    if !online(&state, id)? {
        return Ok((StatusCode::CREATED, Json(queued)));
    }
    let publish = |topic: String, payload: Vec<u8>| state.publish(topic, payload, false);
    let delivered = crate::broker::plane::queue::deliver(
        state.store.as_ref(),
        publish,
        state.clock.now_ms(),
        caller.org,
        id,
    )?;
    // As stored now: delivered with any others that were waiting.
    let current = delivered
        .into_iter()
        .find(|c| c.id == queued.id)
        .unwrap_or(queued);
    Ok((StatusCode::CREATED, Json(current)))
}

/// `GET /devices/{id}/queue`: the device's commands with their status, newest first.
pub async fn list_queue(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<QueuedCommand>>> {
    known_device(&state, &caller, id)?;
    Ok(Json(state.store.queued_commands(caller.org, id, QUEUE_LISTED)?))
}
