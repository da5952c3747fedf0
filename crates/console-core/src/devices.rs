//! The Devices view: every device with its hierarchy path, logical groups and presence, and the
//! "n online / total" roll-up of each group.
//!
//! It is built from the cache, which the change feed already fills (`device`, `logical_group`,
//! `hierarchy_node` and `presence` entities, each only for someone allowed to list them), so
//! it opens offline and says how old it is; presence the live connection reported since is
//! merged over the cached rows (the newer state wins).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use steward_wire::{DeviceRow, LogicalGroupRow, PresenceRow};
use ts_rs::TS;

use crate::cache::Cache;
use crate::error::CoreResult;
use crate::live::LiveStatus;
use crate::views::DataAge;

/// One device as the Devices view lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DeviceView {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// "North site › Line 2", empty when the device is not placed in the hierarchy.
    pub path: String,
    /// Its hierarchy node and every ancestor (a node's filter matches its whole subtree).
    #[ts(type = "Array<number>")]
    pub nodes: Vec<i64>,
    #[ts(type = "Array<number>")]
    pub groups: Vec<i64>,
    pub group_names: Vec<String>,
    /// None when the platform has never seen the device connect.
    pub online: Option<bool>,
    /// When the current state began (connected since / offline since).
    #[ts(type = "number | null")]
    pub since: Option<i64>,
    #[ts(type = "number | null")]
    pub last_seen: Option<i64>,
    pub flaps_last_hour: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RollupKind {
    Logical,
    Hierarchy,
}

/// "n online / total" for one group; a hierarchy node counts every device below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct GroupRollup {
    pub kind: RollupKind,
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    /// The node's place in the tree ("North site › Line 2"); the name for a logical group.
    pub path: String,
    /// Tree depth (0 for roots and logical groups), for indenting.
    pub depth: u32,
    pub online: u32,
    pub total: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct DevicesView {
    /// In name order.
    pub devices: Vec<DeviceView>,
    /// Logical groups by name, then hierarchy nodes in tree order.
    pub rollups: Vec<GroupRollup>,
    pub online: u32,
    pub total: u32,
    /// How old the cached devices, groups and presence are.
    pub age: DataAge,
    /// Whether presence is live; when not, the view shows the last known state.
    pub live: LiveStatus,
}

/// A cached hierarchy node (only what the view needs; older feed bodies carry no `devices`).
#[derive(Debug, Deserialize)]
struct NodeRow {
    id: i64,
    name: String,
    parent: Option<i64>,
}

struct Tree {
    nodes: BTreeMap<i64, NodeRow>,
}

impl Tree {
    /// `node` and its ancestors, nearest first (a cycle or a missing parent ends the walk).
    fn chain(&self, node: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut at = Some(node);
        while let Some(id) = at {
            if out.contains(&id) || out.len() > 64 {
                break;
            }
            let Some(n) = self.nodes.get(&id) else { break };
            out.push(id);
            at = n.parent;
        }
        out
    }

    fn path(&self, node: i64) -> String {
        let mut names: Vec<&str> = self
            .chain(node)
            .iter()
            .filter_map(|id| self.nodes.get(id).map(|n| n.name.as_str()))
            .collect();
        names.reverse();
        names.join(" › ")
    }

    /// Depth-first, children by name.
    fn ordered(&self) -> Vec<(i64, u32)> {
        let mut children: BTreeMap<Option<i64>, Vec<&NodeRow>> = BTreeMap::new();
        for n in self.nodes.values() {
            // A parent the cache does not hold makes the node a root.
            let parent = n.parent.filter(|p| self.nodes.contains_key(p));
            children.entry(parent).or_default().push(n);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        }
        let mut out = Vec::new();
        let mut stack: Vec<(i64, u32)> = children
            .get(&None)
            .map(|roots| roots.iter().rev().map(|n| (n.id, 0)).collect())
            .unwrap_or_default();
        while let Some((id, depth)) = stack.pop() {
            if out.iter().any(|(seen, _)| *seen == id) {
                continue;
            }
            out.push((id, depth));
            if let Some(kids) = children.get(&Some(id)) {
                stack.extend(kids.iter().rev().map(|n| (n.id, depth + 1)));
            }
        }
        out
    }
}

/// The newer of the cached and the live presence of a device.
fn merged(cached: Option<PresenceRow>, live: Option<&PresenceRow>) -> Option<PresenceRow> {
    match (cached, live) {
        (None, None) => None,
        (Some(c), None) => Some(c),
        (None, Some(l)) => Some(l.clone()),
        (Some(c), Some(l)) => {
            let last_seen = c.last_seen.max(l.last_seen);
            let mut newer = if l.since >= c.since { l.clone() } else { c };
            newer.last_seen = last_seen;
            Some(newer)
        }
    }
}

/// The live rows newer than what the cache holds: what `devices_view` would show that a view
/// opened later (offline) would not, unless they are stored.
pub fn unsaved_presence(cache: &Cache, live: &HashMap<i64, PresenceRow>) -> CoreResult<Vec<PresenceRow>> {
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let cached: HashMap<i64, PresenceRow> = cache
        .all::<PresenceRow>("presence")?
        .into_iter()
        .map(|p| (p.device, p))
        .collect();
    Ok(live
        .values()
        .filter_map(|l| {
            let c = cached.get(&l.device);
            // What the view shows, which may keep the cached state with a later last_seen.
            merged(c.cloned(), Some(l)).filter(|m| Some(m) != c)
        })
        .collect())
}

/// The view from the cache, with `live` presence merged over it.
pub fn devices_view(
    cache: &Cache,
    live: &HashMap<i64, PresenceRow>,
    age: DataAge,
    status: LiveStatus,
) -> CoreResult<DevicesView> {
    let tree = Tree {
        nodes: cache
            .all::<NodeRow>("hierarchy_node")?
            .into_iter()
            .map(|n| (n.id, n))
            .collect(),
    };
    let mut groups = cache.all::<LogicalGroupRow>("logical_group")?;
    groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let group_names: HashMap<i64, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    let cached_presence: HashMap<i64, PresenceRow> = cache
        .all::<PresenceRow>("presence")?
        .into_iter()
        .map(|p| (p.device, p))
        .collect();
    let mut cached_presence = cached_presence;

    let mut devices: Vec<DeviceView> = cache
        .all::<DeviceRow>("device")?
        .into_iter()
        .map(|d| {
            // The platform lists a device it has never heard from as offline with no times.
            let presence = merged(cached_presence.remove(&d.id), live.get(&d.id))
                .filter(|p| p.since.is_some() || p.last_seen.is_some());
            let nodes = d.node.map(|n| tree.chain(n)).unwrap_or_default();
            DeviceView {
                id: d.id,
                path: d.node.map(|n| tree.path(n)).unwrap_or_default(),
                nodes,
                group_names: d
                    .groups
                    .iter()
                    .filter_map(|g| group_names.get(g).map(|n| (*n).to_owned()))
                    .collect(),
                groups: d.groups,
                name: d.name,
                kind: d.kind,
                online: presence.as_ref().map(|p| p.online),
                since: presence.as_ref().and_then(|p| p.since),
                last_seen: presence.as_ref().and_then(|p| p.last_seen),
                flaps_last_hour: presence.as_ref().map_or(0, |p| p.flaps_last_hour),
            }
        })
        .collect();
    devices.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));

    let count = |matches: &dyn Fn(&DeviceView) -> bool| {
        let mut online = 0u32;
        let mut total = 0u32;
        for d in devices.iter().filter(|d| matches(d)) {
            total += 1;
            if d.online == Some(true) {
                online += 1;
            }
        }
        (online, total)
    };
    let mut rollups = Vec::new();
    for g in &groups {
        let (online, total) = count(&|d| d.groups.contains(&g.id));
        rollups.push(GroupRollup {
            kind: RollupKind::Logical,
            id: g.id,
            name: g.name.clone(),
            path: g.name.clone(),
            depth: 0,
            online,
            total,
        });
    }
    for (id, depth) in tree.ordered() {
        let (online, total) = count(&|d| d.nodes.contains(&id));
        rollups.push(GroupRollup {
            kind: RollupKind::Hierarchy,
            id,
            name: tree.nodes.get(&id).map(|n| n.name.clone()).unwrap_or_default(),
            path: tree.path(id),
            depth,
            online,
            total,
        });
    }
    let (online, total) = count(&|_| true);
    Ok(DevicesView {
        devices,
        rollups,
        online,
        total,
        age,
        live: status,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(device: i64, online: bool, since: i64, last_seen: i64) -> PresenceRow {
        PresenceRow {
            device,
            online,
            since: Some(since),
            last_seen: Some(last_seen),
            flaps_last_hour: 0,
        }
    }

    #[test]
    fn the_newer_presence_wins_and_last_seen_is_the_latest() {
        let cached = row(1, true, 100, 500);
        let live = row(1, false, 400, 400);
        let m = merged(Some(cached.clone()), Some(&live)).unwrap();
        assert!(!m.online);
        assert_eq!(m.since, Some(400));
        assert_eq!(m.last_seen, Some(500));
        let older_live = row(1, false, 50, 50);
        assert!(merged(Some(cached), Some(&older_live)).unwrap().online);
        assert_eq!(merged(None, None), None);
    }

    #[test]
    fn what_is_kept_is_what_the_view_shows() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::vault::CacheKey::random().unwrap();
        let mut cache = Cache::open(&dir.path().join("c.db"), &key).unwrap();
        cache.put_presence(&[row(1, true, 500, 900)]).unwrap();
        // Live saw an older transition, but heard from the device later.
        let live: HashMap<i64, PresenceRow> =
            [(1, row(1, false, 100, 1000)), (2, row(2, true, 50, 60))].into();
        let mut kept = unsaved_presence(&cache, &live).unwrap();
        kept.sort_by_key(|r| r.device);
        assert_eq!(kept, vec![row(1, true, 500, 1000), row(2, true, 50, 60)]);
        cache.put_presence(&kept).unwrap();
        assert!(unsaved_presence(&cache, &live).unwrap().is_empty());
    }

    #[test]
    fn paths_and_tree_order() {
        let mut nodes = BTreeMap::new();
        for (id, name, parent) in [
            (1, "North site", None),
            (2, "Line 2", Some(1)),
            (3, "Line 1", Some(1)),
            (4, "Cell A", Some(2)),
            (5, "Orphan", Some(99)),
        ] {
            nodes.insert(
                id,
                NodeRow {
                    id,
                    name: name.into(),
                    parent,
                },
            );
        }
        let tree = Tree { nodes };
        assert_eq!(tree.path(4), "North site › Line 2 › Cell A");
        assert_eq!(tree.chain(4), vec![4, 2, 1]);
        assert_eq!(tree.path(5), "Orphan");
        assert_eq!(tree.ordered(), vec![(1, 0), (3, 1), (2, 1), (4, 2), (5, 0)]);
    }
}
