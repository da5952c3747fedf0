//! Changes made in the console wait here, with the version they were based on and an
//! idempotency key, until the platform accepts them. Replays are idempotent; a change the
//! server moved past (412) becomes a conflict showing both sides, never a silent overwrite.

use reqwest::{Method, StatusCode};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use steward_model::{Change, Grantee};
use steward_wire::{BatchItem, BatchRequest, BatchResponse};
use ts_rs::TS;

use crate::api::{ApiClient, Reply, api_error, to_value};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum OutboxState {
    /// Waiting to be sent.
    Pending,
    /// The server's record moved on since this change was made; see `server`.
    Conflict,
    /// The server refused it for another reason; see `error`.
    Failed,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct OutboxItem {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "unknown")]
    pub change: Change,
    #[ts(type = "number | null")]
    pub base_version: Option<i64>,
    pub state: OutboxState,
    pub error: Option<String>,
    /// On a conflict, the server's current record.
    #[ts(type = "unknown")]
    pub server: Option<Value>,
    #[ts(type = "number")]
    pub created_at: i64,
}

/// What the user chooses for a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Resolution {
    /// Apply my change on top of the server's current version.
    KeepMine,
    /// Drop my change; the server's version stands.
    TakeTheirs,
}

fn new_key() -> CoreResult<String> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).map_err(|e| CoreError::Cache(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

/// The cached entity whose version a change is based on.
pub(crate) fn versioned_entity(change: &Change) -> Option<(&'static str, i64)> {
    match change {
        Change::SetOrgRole { user, .. } | Change::SetUserActive { user, .. } => {
            Some(("user", i64::from(user.0)))
        }
        Change::SetGroupMember { group, .. } => Some(("group", i64::from(group.0))),
        Change::SetProjectRole { project, .. } => Some(("project", i64::from(project.0))),
        Change::SetAssetRole { asset, .. } => Some(("asset", i64::from(asset.0))),
        Change::SetKeyPermissions { key, .. } => Some(("api_key", i64::from(key.0))),
    }
}

pub(crate) fn queue(cache: &Cache, change: &Change, now_ms: i64) -> CoreResult<OutboxItem> {
    let base_version = match versioned_entity(change) {
        Some((entity, id)) => cache.version(entity, id)?,
        None => None,
    };
    cache.conn().execute(
        "INSERT INTO outbox (idempotency_key, change, base_version, state, created_at) VALUES (?1, ?2, ?3, 'pending', ?4)",
        params![new_key()?, serde_json::to_string(change)?, base_version, now_ms],
    )?;
    let id = cache.conn().last_insert_rowid();
    item(cache, id)?.ok_or(CoreError::UnknownChange(id))
}

fn state_of(s: &str) -> OutboxState {
    match s {
        "conflict" => OutboxState::Conflict,
        "failed" => OutboxState::Failed,
        _ => OutboxState::Pending,
    }
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<(OutboxItem, String)> {
    let change: String = r.get(1)?;
    let server: Option<String> = r.get(6)?;
    let state: String = r.get(4)?;
    let change = serde_json::from_str(&change).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok((
        OutboxItem {
            id: r.get(0)?,
            change,
            base_version: r.get(3)?,
            state: state_of(&state),
            error: r.get(5)?,
            server: server.and_then(|s| serde_json::from_str(&s).ok()),
            created_at: r.get(7)?,
        },
        r.get(2)?,
    ))
}

const COLUMNS: &str = "id, change, idempotency_key, base_version, state, error, server, created_at";

pub(crate) fn item(cache: &Cache, id: i64) -> CoreResult<Option<OutboxItem>> {
    Ok(cache
        .conn()
        .query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"), [id], row)
        .optional()?
        .map(|(i, _)| i))
}

pub(crate) fn items(cache: &Cache) -> CoreResult<Vec<OutboxItem>> {
    let mut stmt = cache
        .conn()
        .prepare(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.map(|r| r.map(|(i, _)| i)).collect::<Result<Vec<_>, _>>()?)
}

/// The first `limit` pending changes, in order, with their idempotency keys.
pub(crate) fn pending(cache: &Cache, limit: usize) -> CoreResult<Vec<(OutboxItem, String)>> {
    let mut stmt = cache.conn().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How many items are in `state`.
pub(crate) fn count(cache: &Cache, state: OutboxState) -> CoreResult<u32> {
    let n: i64 = cache.conn().query_row(
        "SELECT count(*) FROM outbox WHERE state = ?1",
        [state_name(state)],
        |r| r.get(0),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub(crate) fn remove(cache: &Cache, id: i64) -> CoreResult<()> {
    cache
        .conn()
        .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub(crate) fn mark(
    cache: &Cache,
    id: i64,
    state: OutboxState,
    error: Option<String>,
    server: Option<&Value>,
) -> CoreResult<()> {
    cache
        .conn()
        .prepare_cached("UPDATE outbox SET state = ?1, error = ?2, server = ?3 WHERE id = ?4")?
        .execute(params![
            state_name(state),
            error,
            server.map(Value::to_string),
            id
        ])?;
    Ok(())
}

fn state_name(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "pending",
        OutboxState::Conflict => "conflict",
        OutboxState::Failed => "failed",
    }
}

/// How many outcomes of each kind `settle` recorded.
#[derive(Default)]
pub(crate) struct Settled {
    pub(crate) accepted: u32,
    pub(crate) conflicts: u32,
    pub(crate) failed: u32,
}

/// Records what the platform answered for each item, in one cache transaction (one sync to
/// disk for a whole batch): accepted leaves the outbox, a 412 becomes a conflict with the
/// server's record, any other refusal fails with its code.
pub(crate) fn settle(cache: &Cache, outcomes: Vec<(i64, Sent)>) -> CoreResult<Settled> {
    let mut settled = Settled::default();
    let tx = cache.conn().unchecked_transaction()?;
    for (id, sent) in outcomes {
        match sent {
            Sent::Accepted => {
                remove(cache, id)?;
                settled.accepted += 1;
            }
            Sent::Conflict(server) => {
                mark(cache, id, OutboxState::Conflict, None, Some(&server))?;
                settled.conflicts += 1;
            }
            Sent::Refused(e) => {
                let message = format!("{}: {}", e.code(), e);
                mark(cache, id, OutboxState::Failed, Some(message), None)?;
                settled.failed += 1;
            }
        }
    }
    tx.commit()?;
    Ok(settled)
}

pub(crate) fn resolve(cache: &Cache, id: i64, resolution: Resolution) -> CoreResult<()> {
    let item = item(cache, id)?.ok_or(CoreError::UnknownChange(id))?;
    match resolution {
        Resolution::TakeTheirs => remove(cache, id),
        Resolution::KeepMine => {
            let version = item
                .server
                .as_ref()
                .and_then(|s| s.get("version"))
                .and_then(Value::as_i64);
            cache.conn().execute(
                "UPDATE outbox SET state = 'pending', error = NULL, server = NULL, base_version = COALESCE(?1, base_version) WHERE id = ?2",
                params![version, id],
            )?;
            Ok(())
        }
    }
}

/// How one change is sent to the platform.
fn request(change: &Change) -> (Method, String, Option<Value>) {
    let grantee_body = |grantee: &Grantee, role: Value| json!({ "grantee": grantee, "role": role });
    match change {
        Change::SetOrgRole { user, role } => (
            Method::PATCH,
            format!("/users/{}", user.0),
            Some(json!({ "role": role })),
        ),
        Change::SetUserActive { user, active } => (
            Method::PATCH,
            format!("/users/{}", user.0),
            Some(json!({ "active": active })),
        ),
        Change::SetGroupMember { group, user, member } => {
            let method = if *member { Method::PUT } else { Method::DELETE };
            (method, format!("/groups/{}/members/{}", group.0, user.0), None)
        }
        Change::SetProjectRole {
            grantee,
            project,
            role,
        } => (
            Method::PUT,
            format!("/projects/{}/roles", project.0),
            Some(grantee_body(grantee, json!(role))),
        ),
        Change::SetAssetRole { grantee, asset, role } => (
            Method::PUT,
            format!("/assets/{}/roles", asset.0),
            Some(grantee_body(grantee, json!(role))),
        ),
        Change::SetKeyPermissions { key, permissions } => (
            Method::PUT,
            format!("/api-keys/{}/permissions", key.0),
            Some(json!({ "permissions": permissions })),
        ),
    }
}

/// The outcome of sending one change.
pub(crate) enum Sent {
    Accepted,
    Conflict(Value),
    Refused(CoreError),
}

pub(crate) async fn send(api: &ApiClient, item: &OutboxItem, idempotency_key: &str) -> CoreResult<Sent> {
    let (method, path, body) = request(&item.change);
    let mut headers = vec![("idempotency-key", idempotency_key.to_owned())];
    if let Some(v) = item.base_version {
        headers.push(("if-match", format!("\"{v}\"")));
    }
    let reply: Reply = api.send(method, &path, body.as_ref(), &headers).await?;
    Ok(outcome(reply))
}

fn outcome(reply: Reply) -> Sent {
    if reply.status.is_success() {
        return Sent::Accepted;
    }
    if reply.status == StatusCode::PRECONDITION_FAILED {
        let current = reply
            .body
            .pointer("/details/current")
            .cloned()
            .unwrap_or(Value::Null);
        return Sent::Conflict(current);
    }
    Sent::Refused(api_error(reply))
}

/// Whether the platform takes a change in `POST /batch`: a key's permissions also change the
/// broker's roles, outside the batch's transaction, so they go alone.
pub(crate) fn batchable(change: &Change) -> bool {
    !matches!(change, Change::SetKeyPermissions { .. })
}

/// Sends changes in order in one `POST /batch`: one outcome per item, as `send` would have
/// had them. `None` when the platform cannot take this batch (an older server without the
/// route, or one that refuses the batch as a whole): send them one by one instead.
pub(crate) async fn send_batch(
    api: &ApiClient,
    items: &[(OutboxItem, String)],
) -> CoreResult<Option<Vec<Sent>>> {
    let request = BatchRequest {
        items: items
            .iter()
            .map(|(item, key)| {
                let (method, path, body) = request(&item.change);
                BatchItem {
                    method: method.as_str().to_owned(),
                    path: format!("/api/v1{path}"),
                    if_match: item.base_version,
                    idempotency_key: Some(key.clone()),
                    body,
                }
            })
            .collect(),
    };
    let reply = api
        .send(Method::POST, "/batch", Some(&to_value(&request)?), &[])
        .await?;
    match reply.status {
        StatusCode::NOT_FOUND
        | StatusCode::METHOD_NOT_ALLOWED
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNPROCESSABLE_ENTITY => return Ok(None),
        s if !s.is_success() => return Err(api_error(reply)),
        _ => {}
    }
    let response: BatchResponse = serde_json::from_value(reply.body)
        .map_err(|e| CoreError::Invalid(format!("unexpected batch answer: {e}")))?;
    if response.results.len() != items.len() {
        return Err(CoreError::Invalid(format!(
            "the platform answered {} results for {} changes",
            response.results.len(),
            items.len()
        )));
    }
    Ok(Some(
        response
            .results
            .into_iter()
            .map(|r| {
                outcome(Reply {
                    status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    body: r.body,
                })
            })
            .collect(),
    ))
}
