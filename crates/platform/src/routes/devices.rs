//! Devices, their broker credentials, logical groups and the hierarchy's renames, moves and
//! deletions (the contract is `steward_wire::devices`).
//!
//! - Broker first, store after (as for API keys): a device's client `dev_<id>` is made before its
//!   row and removed before its row is; a store failure undoes the broker change, a broker
//!   failure is 503 `broker_unavailable` with the store untouched. Without a broker devices are
//!   REST records only and their credentials have an empty password.
//! - After each committed change the groups and nodes it touched are published retained on their
//!   topics (a listener joining later gets the latest state; a deletion clears the topic), and
//!   API keys scoped to subtrees are recompiled when a device or node moved.
//! - Bad input is 422 with a code before anything is written; a bulk creation is all or none.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use steward_model::NodeId;
use steward_model::topics::{Id, Topic, topic};

use super::{ApiJson, ApiPath, Idempotency, if_match};
use crate::auth::{Caller, id32};
use crate::broker::devices as broker_devices;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::NodeEdit;
use steward_wire::*;

/// The most devices one `POST /devices/bulk` may create.
pub const MAX_BULK: usize = 1000;
const MAX_NAME: usize = 100;
const MAX_KIND: usize = 100;
/// A device's metadata, as JSON text.
const MAX_METADATA: usize = 8 * 1024;

/// A patch that changes nothing (`{}`, or a JSON array serde reads as one) is a mistake.
pub(super) fn empty_patch() -> ApiError {
    ApiError::unprocessable("empty_patch", "the patch names no field to change")
}

/// A name: trimmed, 1 to 100 characters, no control characters.
pub(super) fn name(value: &str, what: &str) -> ApiResult<String> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_name",
            format!("{what} must be 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn kind(value: &str) -> ApiResult<String> {
    let kind = value.trim();
    if kind.chars().count() > MAX_KIND || kind.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_kind",
            format!("a device kind is at most {MAX_KIND} characters, without control characters"),
        ));
    }
    Ok(kind.to_owned())
}

/// Metadata is a JSON object (null means none).
fn metadata(value: Option<Value>) -> ApiResult<Option<Value>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) if v.to_string().len() <= MAX_METADATA => Ok(Some(v)),
        Some(Value::Object(_)) => Err(ApiError::unprocessable(
            "invalid_metadata",
            format!("metadata is at most {MAX_METADATA} bytes of JSON"),
        )),
        Some(_) => Err(ApiError::unprocessable(
            "invalid_metadata",
            "metadata is a JSON object",
        )),
    }
}

fn known_node(caller: &Caller, node: Option<i64>) -> ApiResult<()> {
    match node {
        Some(n)
            if u32::try_from(n)
                .ok()
                .and_then(|n| caller.plant.node(NodeId(n)))
                .is_none() =>
        {
            Err(ApiError::unprocessable(
                "unknown_node",
                format!("there is no hierarchy node {n}"),
            ))
        }
        _ => Ok(()),
    }
}

/// Sorted, without duplicates, each an existing group of the org.
fn known_groups(known: &BTreeSet<i64>, groups: Vec<i64>) -> ApiResult<Vec<i64>> {
    let groups: BTreeSet<i64> = groups.into_iter().collect();
    match groups.iter().find(|g| !known.contains(g)) {
        Some(g) => Err(ApiError::unprocessable(
            "unknown_group",
            format!("there is no logical group {g}"),
        )),
        None => Ok(groups.into_iter().collect()),
    }
}

fn group_ids(state: &SharedState, org: i64) -> ApiResult<BTreeSet<i64>> {
    Ok(state
        .store
        .list_logical_groups(org)?
        .into_iter()
        .map(|g| g.id)
        .collect())
}

fn checked(caller: &Caller, groups: &BTreeSet<i64>, d: NewDevice) -> ApiResult<NewDevice> {
    known_node(caller, d.node)?;
    Ok(NewDevice {
        name: name(&d.name, "a device name")?,
        kind: kind(&d.kind)?,
        metadata: metadata(d.metadata)?,
        node: d.node,
        groups: known_groups(groups, d.groups)?,
    })
}

// ----- publication --------------------------------------------------------------------------

fn publish_json<T: serde::Serialize>(state: &SharedState, topic: String, body: &T) {
    match serde_json::to_vec(body) {
        Ok(payload) => state.publish(topic, payload, true),
        Err(e) => tracing::error!(error = %e, "cannot serialize a device-plane message"),
    }
}

fn publish_group(state: &SharedState, org: i64, group: &LogicalGroupRow) {
    let t = topic(org, Topic::LogicalGroup(Id::One(id32(group.id))));
    publish_json(state, t, group);
}

/// Publishes a node's current state, or clears its topic when it is gone.
fn publish_node(state: &SharedState, org: i64, node: i64) {
    let t = topic(org, Topic::HierarchyGroup(Id::One(id32(node))));
    match state.store.hierarchy_node(org, node) {
        Ok(Some(row)) => publish_json(state, t, &row),
        Ok(None) => state.publish(t, Vec::new(), true),
        Err(e) => tracing::error!(node, error = %e, "cannot read a node to publish it"),
    }
}

/// Publishes each node once.
fn publish_nodes(state: &SharedState, org: i64, nodes: impl IntoIterator<Item = Option<i64>>) {
    let nodes: BTreeSet<i64> = nodes.into_iter().flatten().collect();
    for n in nodes {
        publish_node(state, org, n);
    }
}

// ----- devices ------------------------------------------------------------------------------

/// `GET /devices`.
pub async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<DeviceRow>>> {
    Ok(Json(state.store.list_devices(caller.org)?))
}

/// `GET /devices/{id}`.
pub async fn get(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DeviceRow>> {
    state
        .store
        .device(caller.org, id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("device"))
}

/// Creates checked devices: ids reserved, broker clients made, rows written (or the clients
/// removed again), then the touched groups and nodes published.
async fn create_all(
    state: &SharedState,
    caller: &Caller,
    idem: Idempotency,
    devices: Vec<NewDevice>,
    bulk: bool,
) -> ApiResult<Vec<CreatedDevice>> {
    let org = caller.org;
    let ids = state.store.reserve_device_ids(devices.len())?;
    let broker = state.broker();
    let passwords = match &broker {
        Some(b) => broker_devices::provision(b.as_ref(), org, &ids).await?,
        None => vec![String::new(); ids.len()],
    };
    let nodes: Vec<Option<i64>> = devices.iter().map(|d| d.node).collect();
    let pairs: Vec<(i64, NewDevice)> = ids.iter().copied().zip(devices).collect();
    let ctx = caller.write_ctx(state, 201, idem.0);
    let (rows, groups) = match state.store.create_devices(&ctx, &pairs, bulk) {
        Ok(done) => done,
        Err(e) => {
            if let Some(b) = &broker {
                broker_devices::unprovision(b.as_ref(), &ids).await;
            }
            return Err(e);
        }
    };
    for g in &groups {
        publish_group(state, org, g);
    }
    publish_nodes(state, org, nodes.iter().copied());
    if nodes.iter().any(Option::is_some) {
        broker_devices::after_placement(state, org).await;
    }
    tracing::info!(devices = rows.len(), by = %caller.actor().label(), "devices created");
    Ok(rows
        .into_iter()
        .zip(passwords)
        .map(|(device, mqtt_password)| CreatedDevice {
            credentials: DeviceCredentials {
                mqtt_username: device.mqtt_username.clone(),
                mqtt_password,
            },
            device,
        })
        .collect())
}

/// `POST /devices`: 201 with the broker password, shown this once.
pub async fn create(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NewDevice>,
) -> ApiResult<(StatusCode, Json<CreatedDevice>)> {
    let groups = group_ids(&state, caller.org)?;
    let device = checked(&caller, &groups, body)?;
    let created = create_all(&state, &caller, idem, vec![device], false)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("a creation created nothing".to_owned()))?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `POST /devices/bulk`: 1 to 1,000 devices, all created or none.
pub async fn create_bulk(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NewDevices>,
) -> ApiResult<(StatusCode, Json<Vec<CreatedDevice>>)> {
    if body.devices.is_empty() || body.devices.len() > MAX_BULK {
        return Err(ApiError::unprocessable(
            "invalid_bulk",
            format!("a bulk creation holds 1 to {MAX_BULK} devices"),
        ));
    }
    let groups = group_ids(&state, caller.org)?;
    let devices = body
        .devices
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            checked(&caller, &groups, d).map_err(|e| match e {
                // Which device of the list was refused.
                ApiError::Client {
                    status,
                    code,
                    message,
                    details,
                } => ApiError::Client {
                    status,
                    code,
                    message: format!("devices[{i}]: {message}"),
                    details,
                },
                other => other,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let created = create_all(&state, &caller, idem, devices, true).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PATCH /devices/{id}`: name, kind, metadata, node and groups (If-Match).
pub async fn update(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<DevicePatch>,
) -> ApiResult<Json<DeviceRow>> {
    let version = if_match(&headers)?;
    let org = caller.org;
    if patch == DevicePatch::default() {
        return Err(empty_patch());
    }
    if let Some(Some(node)) = patch.node {
        known_node(&caller, Some(node))?;
    }
    let patch = DevicePatch {
        name: patch.name.map(|n| name(&n, "a device name")).transpose()?,
        kind: patch.kind.map(|k| kind(&k)).transpose()?,
        metadata: match patch.metadata {
            None => None,
            Some(m) => Some(metadata(Some(m))?.unwrap_or_else(|| Value::Object(Default::default()))),
        },
        node: patch.node,
        groups: match patch.groups {
            None => None,
            Some(g) => Some(known_groups(&group_ids(&state, org)?, g)?),
        },
    };
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let change = state.store.update_device(&ctx, id, &patch, version)?;
    for g in &change.groups {
        publish_group(&state, org, g);
    }
    if change.before.node != change.after.node {
        publish_nodes(&state, org, [change.before.node, change.after.node]);
        broker_devices::after_placement(&state, org).await;
    }
    Ok(Json(change.after))
}

/// `DELETE /devices/{id}`: its broker client goes first (its connection drops), then its row.
pub async fn delete(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let version = if_match(&headers)?;
    let org = caller.org;
    let current = state
        .store
        .device(org, id)?
        .ok_or_else(|| ApiError::not_found("device"))?;
    // A stale If-Match is refused before the broker is touched.
    crate::store::check_version(current.version, version, || {
        serde_json::to_value(&current).unwrap_or(Value::Null)
    })?;
    let broker = state.broker();
    if let Some(b) = &broker {
        broker_devices::remove(b.as_ref(), &[id]).await?;
    }
    let ctx = caller.write_ctx(&state, 204, idem.0);
    let deleted = match state.store.delete_device(&ctx, id, version) {
        Ok(d) => d,
        Err(e) => {
            if let Some(b) = &broker {
                // Its old password is gone with the client: it connects again after a rotation.
                if let Err(undo) = broker_devices::provision(b.as_ref(), org, &[id]).await {
                    tracing::error!(device = id, error = %undo, "cannot restore a device's broker client");
                } else {
                    tracing::warn!(
                        device = id,
                        "device kept after a failed deletion: rotate its credentials"
                    );
                }
            }
            return Err(e);
        }
    };
    for g in &deleted.groups {
        publish_group(&state, org, g);
    }
    // Its retained presence and telemetry would outlive it.
    for t in [
        Topic::Presence(Id::One(id32(id))),
        Topic::Telemetry(Id::One(id32(id))),
    ] {
        state.publish(topic(org, t), Vec::new(), true);
    }
    if deleted.device.node.is_some() {
        publish_nodes(&state, org, [deleted.device.node]);
        broker_devices::after_placement(&state, org).await;
    }
    tracing::info!(device = id, by = %caller.actor().label(), "device deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /devices/{id}/credentials`: a new password, shown this once; the old one stops
/// working and a connection made with it drops. Needs a broker (503 without one).
pub async fn rotate(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DeviceCredentials>> {
    let org = caller.org;
    let device = state
        .store
        .device(org, id)?
        .ok_or_else(|| ApiError::not_found("device"))?;
    let broker = state.broker().ok_or_else(|| {
        crate::broker::unavailable("stewardd runs without a broker: devices have no credentials")
    })?;
    let password = crate::auth::secrets::new_broker_password()?;
    let password = match broker.set_client_password(&device.mqtt_username, &password).await {
        Ok(()) => password,
        // No client (the broker lost it): a new one, with a new password.
        Err(_) => broker_devices::provision(broker.as_ref(), org, &[id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal("no password".to_owned()))?,
    };
    let ctx = caller.write_ctx(&state, 200, idem.0);
    state.store.record_rotation(&ctx, id)?;
    tracing::info!(device = id, by = %caller.actor().label(), "device credentials rotated");
    Ok(Json(DeviceCredentials {
        mqtt_username: device.mqtt_username,
        mqtt_password: password,
    }))
}

// ----- logical groups -----------------------------------------------------------------------

/// `GET /logical-groups`.
pub async fn list_groups(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<LogicalGroupRow>>> {
    Ok(Json(state.store.list_logical_groups(caller.org)?))
}

/// `POST /logical-groups`: 409 `name_taken` for a name in use (ignoring case).
pub async fn create_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NewLogicalGroup>,
) -> ApiResult<(StatusCode, Json<LogicalGroupRow>)> {
    let name = name(&body.name, "a group name")?;
    let ctx = caller.write_ctx(&state, 201, idem.0);
    let row = state.store.create_logical_group(&ctx, &name)?;
    publish_group(&state, caller.org, &row);
    Ok((StatusCode::CREATED, Json(row)))
}

/// `PATCH /logical-groups/{id}`: rename (If-Match).
pub async fn update_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewLogicalGroup>,
) -> ApiResult<Json<LogicalGroupRow>> {
    let version = if_match(&headers)?;
    let name = name(&body.name, "a group name")?;
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let row = state.store.rename_logical_group(&ctx, id, &name, version)?;
    publish_group(&state, caller.org, &row);
    Ok(Json(row))
}

/// `DELETE /logical-groups/{id}`: the devices stay.
pub async fn delete_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let version = if_match(&headers)?;
    let ctx = caller.write_ctx(&state, 204, idem.0);
    state.store.delete_logical_group(&ctx, id, version)?;
    let t = topic(caller.org, Topic::LogicalGroup(Id::One(id32(id))));
    state.publish(t, Vec::new(), true);
    Ok(StatusCode::NO_CONTENT)
}

async fn membership(
    state: &SharedState,
    caller: &Caller,
    idem: Idempotency,
    group: i64,
    device: i64,
    member: bool,
) -> ApiResult<Json<LogicalGroupRow>> {
    let ctx = caller.write_ctx(state, 200, idem.0);
    let row = state.store.set_group_member(&ctx, group, device, member)?;
    publish_group(state, caller.org, &row);
    Ok(Json(row))
}

/// `PUT /logical-groups/{id}/devices/{device}`: idempotent.
pub async fn add_member(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath((group, device)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<LogicalGroupRow>> {
    membership(&state, &caller, idem, group, device, true).await
}

/// `DELETE /logical-groups/{id}/devices/{device}`: idempotent.
pub async fn remove_member(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath((group, device)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<LogicalGroupRow>> {
    membership(&state, &caller, idem, group, device, false).await
}

// ----- hierarchy ----------------------------------------------------------------------------

/// `POST /hierarchy`: the directory's creation, then the new node published.
pub async fn create_node(
    state: State<SharedState>,
    caller: Extension<Caller>,
    idem: Extension<Idempotency>,
    body: ApiJson<NewNode>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (org, shared) = (caller.org, state.0.clone());
    let (status, Json(created)) = super::directory::create_node(state, caller, idem, body).await?;
    if let Some(id) = created.get("id").and_then(Value::as_i64) {
        publish_node(&shared, org, id);
    }
    Ok((status, Json(created)))
}

/// `PATCH /hierarchy/{id}`: rename and/or move (If-Match); its devices and children go with
/// it. Moving a node under itself or a descendant is 409 `node_cycle`.
pub async fn update_node(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<NodePatch>,
) -> ApiResult<Json<HierarchyNodeRow>> {
    let version = if_match(&headers)?;
    if patch == NodePatch::default() {
        return Err(empty_patch());
    }
    let edit = NodeEdit {
        name: patch.name.map(|n| name(&n, "a node name")).transpose()?,
        parent: patch.parent,
    };
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let change = state.store.update_node(&ctx, id, &edit, version)?;
    state.reload(caller.org)?;
    publish_node(&state, caller.org, id);
    if change.before.parent != change.after.parent {
        broker_devices::after_placement(&state, caller.org).await;
    }
    Ok(Json(change.after))
}

/// `DELETE /hierarchy/{id}`: only an empty node (409 `node_not_empty` with children or
/// devices, 409 `node_in_use` while a live API key is scoped to it).
pub async fn delete_node(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let version = if_match(&headers)?;
    let ctx = caller.write_ctx(&state, 204, idem.0);
    state.store.delete_node(&ctx, id, version)?;
    state.reload(caller.org)?;
    publish_node(&state, caller.org, id);
    Ok(StatusCode::NO_CONTENT)
}
