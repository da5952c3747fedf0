//! `GET /presence` and `GET /devices/{id}/telemetry`: what the device plane's tracker knows.
//!
//! Both are guarded by the listen permission of the same data (the catalog has no
//! `presence.list` or `telemetry.list`, and this is what the broker would stream to the holder).
//! A key scoped to hierarchy subtrees sees only the devices placed within them.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::{Extension, State};
use serde::Deserialize;
use steward_model::{NodeId, Principal};
use steward_wire::{DeviceRow, GroupKind, PresenceBody, PresenceRollup, TelemetryBody};

use super::{ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::broker::plane::presence::Tracker;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceQuery {
    #[serde(default)]
    logical_group: Option<i64>,
    #[serde(default)]
    node: Option<i64>,
}

/// The live tracker, or (without a broker) one loaded from the store for this answer.
fn tracker(state: &SharedState) -> ApiResult<std::sync::Arc<Tracker>> {
    match state.presence() {
        Some(t) => Ok(t),
        None => Ok(std::sync::Arc::new(
            Tracker::load(state.store.clone(), state.clock.clone())?.0,
        )),
    }
}

/// The key's hierarchy scopes, if it is a scoped key.
fn scopes(caller: &Caller) -> Option<Vec<NodeId>> {
    match caller.principal {
        Principal::Key(k) => caller
            .plant
            .key(k)
            .map(|key| key.scopes.clone())
            .filter(|s| !s.is_empty()),
        Principal::User(_) => None,
    }
}

fn node_id(id: i64) -> Option<NodeId> {
    u32::try_from(id).ok().map(NodeId)
}

/// Whether `device` sits in a node within `root`'s subtree.
fn within(caller: &Caller, device: &DeviceRow, root: NodeId) -> bool {
    device
        .node
        .and_then(node_id)
        .is_some_and(|n| caller.plant.node_within(n, root))
}

/// The org's devices this caller may see.
fn visible_devices(state: &SharedState, caller: &Caller) -> ApiResult<Vec<DeviceRow>> {
    let devices = state.store.list_devices(caller.org)?;
    Ok(match scopes(caller) {
        None => devices,
        Some(scopes) => devices
            .into_iter()
            .filter(|d| scopes.iter().any(|root| within(caller, d, *root)))
            .collect(),
    })
}

/// For a key scoped to hierarchy subtrees, the ids of the devices within them; None for a
/// caller who sees the whole org.
pub(super) fn scoped_devices(state: &SharedState, caller: &Caller) -> ApiResult<Option<Vec<i64>>> {
    if scopes(caller).is_none() {
        return Ok(None);
    }
    Ok(Some(
        visible_devices(state, caller)?
            .into_iter()
            .map(|d| d.id)
            .collect(),
    ))
}

/// `GET /presence?logical_group=&node=`.
pub async fn presence(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<PresenceQuery>,
) -> ApiResult<Json<PresenceBody>> {
    let mut devices = visible_devices(&state, &caller)?;
    let groups = state.store.list_logical_groups(caller.org)?;
    let filtered = q.logical_group.is_some() || q.node.is_some() || scopes(&caller).is_some();
    if let Some(g) = q.logical_group {
        let group = groups
            .iter()
            .find(|lg| lg.id == g)
            .ok_or_else(|| ApiError::not_found("logical group"))?;
        let members: HashSet<i64> = group.devices.iter().copied().collect();
        devices.retain(|d| members.contains(&d.id));
    }
    if let Some(n) = q.node {
        let root = node_id(n)
            .filter(|n| caller.plant.node(*n).is_some())
            .ok_or_else(|| ApiError::not_found("hierarchy node"))?;
        devices.retain(|d| within(&caller, d, root));
    }
    let ids: Vec<i64> = devices.iter().map(|d| d.id).collect();
    let rows = tracker(&state)?.rows(&ids)?;
    let online_of: HashMap<i64, bool> = rows.iter().map(|r| (r.device, r.online)).collect();
    let rollups = rollups(&caller, &devices, &groups, &online_of, filtered);
    Ok(Json(PresenceBody {
        as_of: state.clock.now_ms(),
        online: count(rows.iter().filter(|r| r.online)),
        total: count(rows.iter()),
        devices: rows,
        rollups,
    }))
}

fn count<T>(it: impl Iterator<Item = T>) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}

/// "n online / total" per logical group and per hierarchy node (a node counts every device
/// below it). Unfiltered, every group and node is listed (empty ones too); filtered (by a query
/// or a key's scope), only those holding some of the devices shown.
fn rollups(
    caller: &Caller,
    devices: &[DeviceRow],
    groups: &[steward_wire::LogicalGroupRow],
    online_of: &HashMap<i64, bool>,
    filtered: bool,
) -> Vec<PresenceRollup> {
    let shown: HashSet<i64> = devices.iter().map(|d| d.id).collect();
    let mut out = Vec::new();
    for g in groups {
        let members = g.devices.iter().filter(|d| shown.contains(d));
        let (mut online, mut total) = (0u32, 0u32);
        for d in members {
            total += 1;
            if online_of.get(d).copied().unwrap_or(false) {
                online += 1;
            }
        }
        if total > 0 || !filtered {
            out.push(PresenceRollup {
                kind: GroupKind::Logical,
                id: g.id,
                name: g.name.clone(),
                online,
                total,
            });
        }
    }
    let plant = &caller.plant;
    let mut per_node: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
    if !filtered {
        for (n, _) in plant.nodes() {
            per_node.insert(n.0, (0, 0));
        }
    }
    let bound = plant.nodes().count() + 1;
    for d in devices {
        let up = online_of.get(&d.id).copied().unwrap_or(false);
        let mut current = d.node.and_then(node_id);
        // The tree is acyclic; the bound only guards a corrupt one.
        for _ in 0..bound {
            let Some(n) = current.filter(|n| plant.node(*n).is_some()) else {
                break;
            };
            let slot = per_node.entry(n.0).or_insert((0, 0));
            slot.1 += 1;
            if up {
                slot.0 += 1;
            }
            current = plant.node(n).and_then(|node| node.parent);
        }
    }
    for (id, (online, total)) in per_node {
        if let Some(node) = plant.node(NodeId(id)) {
            out.push(PresenceRollup {
                kind: GroupKind::Hierarchy,
                id: i64::from(id),
                name: node.name.clone(),
                online,
                total,
            });
        }
    }
    out
}

/// `GET /devices/{id}/telemetry`: the latest reading (null when none has arrived).
pub async fn telemetry(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TelemetryBody>> {
    let device = state
        .store
        .device(caller.org, id)?
        .filter(|d| scopes(&caller).is_none_or(|s| s.iter().any(|root| within(&caller, d, *root))))
        .ok_or_else(|| ApiError::not_found("device"))?;
    let latest = match state.presence() {
        Some(t) => t.telemetry(caller.org, device.id)?,
        None => state
            .store
            .telemetry_of(caller.org, device.id)?
            .map(|r| (r.received_at, r.reading)),
    };
    let (received_at, reading) = latest.map_or((None, None), |(at, r)| (Some(at), Some(r)));
    Ok(Json(TelemetryBody {
        device: device.id,
        received_at,
        reading,
    }))
}
