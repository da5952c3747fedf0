//! Devices, logical groups and the hierarchy's renames, moves and deletions. Every write is one
//! transaction with its audit records and change-feed entries (entities `device`,
//! `logical_group`, `hierarchy_node`). A membership change is a change of both sides: the device
//! (its `groups`) and the group (its `devices`) each get a new version and a feed entry.
//!
//! Device ids are reserved before the device exists (`reserve_device_ids`), so the broker client
//! `dev_<id>` can be made first and the rows written after, as for API keys. Broker passwords are
//! never stored: a replayed creation answers with an empty password (it was shown once).

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Serialize, Serializer};
use serde_json::Value;
use steward_wire::{
    CreatedDevice, DeviceCredentials, DevicePatch, DeviceRow, HierarchyNodeRow, LogicalGroupRow, NewDevice,
};

use super::authz::{bump, exists, to_json};
use super::{Journal, OrgId, SqliteStore, WriteCtx, check_version};
use crate::broker::devices::username;
use crate::error::{ApiError, ApiResult};

/// A device before and after a change.
pub struct DeviceChange {
    pub before: DeviceRow,
    pub after: DeviceRow,
    /// The logical groups whose membership changed, as they are now.
    pub groups: Vec<LogicalGroupRow>,
}

/// A node before and after a rename or move.
pub struct NodeChange {
    pub before: HierarchyNodeRow,
    pub after: HierarchyNodeRow,
}

/// A deleted device and the groups it left.
pub struct DeletedDevice {
    pub device: DeviceRow,
    pub groups: Vec<LogicalGroupRow>,
}

/// A rename or move of a node; the name is already validated.
pub struct NodeEdit {
    pub name: Option<String>,
    pub parent: Option<Option<i64>>,
}

pub trait DeviceStore: Send + Sync {
    /// Every device of the org, ascending ids, with its groups.
    fn list_devices(&self, org: OrgId) -> ApiResult<Vec<DeviceRow>>;
    fn device(&self, org: OrgId, id: i64) -> ApiResult<Option<DeviceRow>>;
    /// `(device, node)` of every placed device of the org (for key scopes).
    fn device_nodes(&self, org: OrgId) -> ApiResult<Vec<(i64, i64)>>;
    /// `count` fresh device ids, never handed out again (unused ones stay gaps).
    fn reserve_device_ids(&self, count: usize) -> ApiResult<Vec<i64>>;
    /// Creates devices with reserved ids, all or none. `bulk` shapes the idempotent replay
    /// (an array or one object, as the routes answer).
    fn create_devices(
        &self,
        ctx: &WriteCtx,
        devices: &[(i64, NewDevice)],
        bulk: bool,
    ) -> ApiResult<(Vec<DeviceRow>, Vec<LogicalGroupRow>)>;
    fn update_device(
        &self,
        ctx: &WriteCtx,
        id: i64,
        patch: &DevicePatch,
        if_match: Option<i64>,
    ) -> ApiResult<DeviceChange>;
    fn delete_device(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<DeletedDevice>;
    /// Audits a credential rotation (the password itself is never recorded).
    fn record_rotation(&self, ctx: &WriteCtx, id: i64) -> ApiResult<DeviceRow>;

    /// Every logical group of the org, ascending ids, with its devices.
    fn list_logical_groups(&self, org: OrgId) -> ApiResult<Vec<LogicalGroupRow>>;
    fn logical_group(&self, org: OrgId, id: i64) -> ApiResult<Option<LogicalGroupRow>>;
    fn create_logical_group(&self, ctx: &WriteCtx, name: &str) -> ApiResult<LogicalGroupRow>;
    fn rename_logical_group(
        &self,
        ctx: &WriteCtx,
        id: i64,
        name: &str,
        if_match: Option<i64>,
    ) -> ApiResult<LogicalGroupRow>;
    /// Deletes the group; its devices stay (each loses the group).
    fn delete_logical_group(
        &self,
        ctx: &WriteCtx,
        id: i64,
        if_match: Option<i64>,
    ) -> ApiResult<LogicalGroupRow>;
    /// Adds (`member`) or removes a device; already so is not an error and changes nothing.
    fn set_group_member(
        &self,
        ctx: &WriteCtx,
        group: i64,
        device: i64,
        member: bool,
    ) -> ApiResult<LogicalGroupRow>;

    fn hierarchy_node(&self, org: OrgId, id: i64) -> ApiResult<Option<HierarchyNodeRow>>;
    /// Renames and/or moves a node; its devices and children go with it.
    fn update_node(
        &self,
        ctx: &WriteCtx,
        id: i64,
        edit: &NodeEdit,
        if_match: Option<i64>,
    ) -> ApiResult<NodeChange>;
    /// Deletes an empty node (no children, no devices, in no live key's scope).
    fn delete_node(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<HierarchyNodeRow>;
}

/// What a write answers (and stores for an idempotent replay), and what else its caller needs.
struct Answer<T, X> {
    body: T,
    extra: X,
}

impl<T: Serialize, X> Serialize for Answer<T, X> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body.serialize(s)
    }
}

fn answer<T, X>(body: T, extra: X) -> Answer<T, X> {
    Answer { body, extra }
}

/// A creation's answer as replayed: the device, and its username without the password.
fn replayable(row: &DeviceRow) -> CreatedDevice {
    CreatedDevice {
        device: row.clone(),
        credentials: DeviceCredentials {
            mqtt_username: row.mqtt_username.clone(),
            mqtt_password: String::new(),
        },
    }
}

type DeviceFields = (i64, String, String, String, Option<i64>, i64, i64);

const DEVICE_COLUMNS: &str = "id, name, kind, metadata, node_id, created_at, version";

fn device_fields(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceFields> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn device_row(f: DeviceFields, groups: Vec<i64>) -> DeviceRow {
    let (id, name, kind, metadata, node, created_at, version) = f;
    DeviceRow {
        id,
        name,
        kind,
        metadata: serde_json::from_str(&metadata).unwrap_or(Value::Null),
        node,
        groups,
        mqtt_username: username(id),
        created_at,
        version,
    }
}

/// The ids one query selects for one id (a membership's other side).
fn ids_for(conn: &Connection, sql: &str, id: i64) -> ApiResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let ids = stmt.query_map([id], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

fn device_groups(conn: &Connection, device: i64) -> ApiResult<Vec<i64>> {
    ids_for(
        conn,
        "SELECT group_id FROM logical_group_members WHERE device_id = ?1 ORDER BY group_id",
        device,
    )
}

fn load_device(conn: &Connection, org: OrgId, id: i64) -> ApiResult<Option<DeviceRow>> {
    let fields = conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1 AND org_id = ?2"
        ))?
        .query_row(params![id, org], device_fields)
        .optional()?;
    match fields {
        Some(f) => Ok(Some(device_row(f, device_groups(conn, id)?))),
        None => Ok(None),
    }
}

fn group_devices(conn: &Connection, group: i64) -> ApiResult<Vec<i64>> {
    ids_for(
        conn,
        "SELECT device_id FROM logical_group_members WHERE group_id = ?1 ORDER BY device_id",
        group,
    )
}

fn load_group(conn: &Connection, org: OrgId, id: i64) -> ApiResult<Option<LogicalGroupRow>> {
    let head = conn
        .query_row(
            "SELECT name, version FROM logical_groups WHERE id = ?1 AND org_id = ?2",
            params![id, org],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?;
    match head {
        Some((name, version)) => Ok(Some(LogicalGroupRow {
            id,
            name,
            devices: group_devices(conn, id)?,
            version,
        })),
        None => Ok(None),
    }
}

fn load_node(conn: &Connection, org: OrgId, id: i64) -> ApiResult<Option<HierarchyNodeRow>> {
    let head = conn
        .query_row(
            "SELECT name, parent_id, version FROM hierarchy_nodes WHERE id = ?1 AND org_id = ?2",
            params![id, org],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((name, parent, version)) = head else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached("SELECT id FROM devices WHERE node_id = ?1 ORDER BY id")?;
    let devices = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Some(HierarchyNodeRow {
        id,
        name,
        parent,
        devices,
        version,
    }))
}

/// 422 unless the node is the org's.
fn check_node(conn: &Connection, org: OrgId, node: Option<i64>) -> ApiResult<()> {
    match node {
        Some(n) if !exists(conn, "hierarchy_nodes", org, n)? => Err(ApiError::unprocessable(
            "unknown_node",
            format!("there is no hierarchy node {n}"),
        )),
        _ => Ok(()),
    }
}

/// 422 unless every group is the org's.
fn check_groups(conn: &Connection, org: OrgId, groups: &[i64]) -> ApiResult<()> {
    for g in groups {
        if !exists(conn, "logical_groups", org, *g)? {
            return Err(ApiError::unprocessable(
                "unknown_group",
                format!("there is no logical group {g}"),
            ));
        }
    }
    Ok(())
}

fn metadata_text(metadata: Option<&Value>) -> String {
    metadata
        .filter(|m| !m.is_null())
        .map_or_else(|| "{}".to_owned(), Value::to_string)
}

/// Journals a group whose membership or name changed (after its version was bumped).
fn journal_group(journal: &mut Journal, group: &LogicalGroupRow) {
    journal.change(
        "logical_group",
        group.id,
        "put",
        group.version,
        Some(to_json(group)),
    );
}

/// Bumps and reloads each touched group, journalling it.
fn touch_groups(
    conn: &Connection,
    org: OrgId,
    journal: &mut Journal,
    groups: &BTreeSet<i64>,
) -> ApiResult<Vec<LogicalGroupRow>> {
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        bump(conn, "logical_groups", *g)?;
        if let Some(row) = load_group(conn, org, *g)? {
            journal_group(journal, &row);
            out.push(row);
        }
    }
    Ok(out)
}

fn journal_device(journal: &mut Journal, op: &'static str, before: Option<&DeviceRow>, after: &DeviceRow) {
    let action = match op {
        "create" => "device.create",
        "delete" => "device.delete",
        _ => "device.update",
    };
    let after_json = to_json(after);
    journal.audit(
        action,
        format!("device:{}", after.id),
        before.map(to_json),
        (op != "delete").then(|| after_json.clone()),
    );
    if op == "delete" {
        journal.change("device", after.id, "delete", after.version + 1, None);
    } else {
        journal.change("device", after.id, "put", after.version, Some(after_json));
    }
}

impl DeviceStore for SqliteStore {
    fn list_devices(&self, org: OrgId) -> ApiResult<Vec<DeviceRow>> {
        self.read(|conn| {
            let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
            let mut stmt = conn.prepare(
                "SELECT m.device_id, m.group_id FROM logical_group_members m
                 JOIN logical_groups g ON g.id = m.group_id WHERE g.org_id = ?1 ORDER BY m.group_id",
            )?;
            for pair in stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                let (device, group) = pair?;
                groups.entry(device).or_default().push(group);
            }
            let mut stmt = conn.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org], device_fields)?;
            let mut out = Vec::new();
            for f in rows {
                let f = f?;
                let g = groups.remove(&f.0).unwrap_or_default();
                out.push(device_row(f, g));
            }
            Ok(out)
        })
    }

    fn device(&self, org: OrgId, id: i64) -> ApiResult<Option<DeviceRow>> {
        self.read(|conn| load_device(conn, org, id))
    }

    fn device_nodes(&self, org: OrgId) -> ApiResult<Vec<(i64, i64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, node_id FROM devices WHERE org_id = ?1 AND node_id IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn reserve_device_ids(&self, count: usize) -> ApiResult<Vec<i64>> {
        let n = i64::try_from(count).map_err(|_| ApiError::Internal("too many ids".to_owned()))?;
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        // AUTOINCREMENT's counter: inserts with explicit ids below it never lower it, so ids
        // reserved here are never given to anything else.
        tx.execute(
            "INSERT INTO sqlite_sequence (name, seq)
             SELECT 'devices', COALESCE((SELECT MAX(id) FROM devices), 0)
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'devices')",
            [],
        )?;
        tx.execute(
            "UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'devices'",
            [n],
        )?;
        let last: i64 = tx.query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'devices'",
            [],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok((last - n + 1..=last).collect())
    }

    fn create_devices(
        &self,
        ctx: &WriteCtx,
        devices: &[(i64, NewDevice)],
        bulk: bool,
    ) -> ApiResult<(Vec<DeviceRow>, Vec<LogicalGroupRow>)> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let mut touched = BTreeSet::new();
            let mut ids = Vec::with_capacity(devices.len());
            for (id, d) in devices {
                check_node(tx, org, d.node)?;
                check_groups(tx, org, &d.groups)?;
                tx.prepare_cached(
                    "INSERT INTO devices (id, org_id, name, kind, metadata, node_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    id,
                    org,
                    d.name,
                    d.kind,
                    metadata_text(d.metadata.as_ref()),
                    d.node,
                    ctx.now
                ])?;
                for g in &d.groups {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO logical_group_members (group_id, device_id) VALUES (?1, ?2)",
                    )?
                    .execute(params![g, id])?;
                    touched.insert(*g);
                }
                ids.push(*id);
            }
            let mut rows = Vec::with_capacity(ids.len());
            for id in ids {
                let row = load_device(tx, org, id)?.ok_or_else(|| ApiError::not_found("device"))?;
                journal_device(journal, "create", None, &row);
                rows.push(row);
            }
            let groups = touch_groups(tx, org, journal, &touched)?;
            let replay: Vec<CreatedDevice> = rows.iter().map(replayable).collect();
            let body = if bulk {
                serde_json::to_value(&replay)
            } else {
                serde_json::to_value(replay.first())
            }
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(answer(body, (rows, groups)))
        })?;
        Ok(done.extra)
    }

    fn update_device(
        &self,
        ctx: &WriteCtx,
        id: i64,
        patch: &DevicePatch,
        if_match: Option<i64>,
    ) -> ApiResult<DeviceChange> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let before = load_device(tx, org, id)?.ok_or_else(|| ApiError::not_found("device"))?;
            check_version(before.version, if_match, || to_json(&before))?;
            if let Some(node) = patch.node {
                check_node(tx, org, node)?;
            }
            if let Some(groups) = &patch.groups {
                check_groups(tx, org, groups)?;
            }
            tx.execute(
                "UPDATE devices SET name = COALESCE(?2, name), kind = COALESCE(?3, kind),
                 metadata = COALESCE(?4, metadata), version = version + 1 WHERE id = ?1",
                params![
                    id,
                    patch.name,
                    patch.kind,
                    patch.metadata.as_ref().map(|m| metadata_text(Some(m)))
                ],
            )?;
            if let Some(node) = patch.node {
                tx.execute("UPDATE devices SET node_id = ?2 WHERE id = ?1", params![id, node])?;
            }
            let mut touched = BTreeSet::new();
            if let Some(groups) = &patch.groups {
                let wanted: BTreeSet<i64> = groups.iter().copied().collect();
                let had: BTreeSet<i64> = before.groups.iter().copied().collect();
                for g in had.difference(&wanted) {
                    tx.execute(
                        "DELETE FROM logical_group_members WHERE group_id = ?1 AND device_id = ?2",
                        params![g, id],
                    )?;
                    touched.insert(*g);
                }
                for g in wanted.difference(&had) {
                    tx.execute(
                        "INSERT INTO logical_group_members (group_id, device_id) VALUES (?1, ?2)",
                        params![g, id],
                    )?;
                    touched.insert(*g);
                }
            }
            let after = load_device(tx, org, id)?.ok_or_else(|| ApiError::not_found("device"))?;
            journal_device(journal, "update", Some(&before), &after);
            let groups = touch_groups(tx, org, journal, &touched)?;
            Ok(answer(
                after.clone(),
                DeviceChange {
                    before,
                    after,
                    groups,
                },
            ))
        })?;
        Ok(done.extra)
    }

    fn delete_device(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<DeletedDevice> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let device = load_device(tx, org, id)?.ok_or_else(|| ApiError::not_found("device"))?;
            check_version(device.version, if_match, || to_json(&device))?;
            tx.execute("DELETE FROM logical_group_members WHERE device_id = ?1", [id])?;
            tx.execute("DELETE FROM devices WHERE id = ?1", [id])?;
            journal_device(journal, "delete", Some(&device), &device);
            let touched: BTreeSet<i64> = device.groups.iter().copied().collect();
            let groups = touch_groups(tx, org, journal, &touched)?;
            Ok(answer(Value::Null, DeletedDevice { device, groups }))
        })?;
        Ok(done.extra)
    }

    fn record_rotation(&self, ctx: &WriteCtx, id: i64) -> ApiResult<DeviceRow> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let device = load_device(tx, org, id)?.ok_or_else(|| ApiError::not_found("device"))?;
            journal.audit(
                "device.rotate_credentials",
                format!("device:{id}"),
                None,
                Some(serde_json::json!({ "mqtt_username": device.mqtt_username })),
            );
            // A replay gets the username only: the password was shown once.
            let body = DeviceCredentials {
                mqtt_username: device.mqtt_username.clone(),
                mqtt_password: String::new(),
            };
            Ok(answer(body, device))
        })?;
        Ok(done.extra)
    }

    fn list_logical_groups(&self, org: OrgId) -> ApiResult<Vec<LogicalGroupRow>> {
        self.read(|conn| {
            let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
            let mut stmt = conn.prepare(
                "SELECT m.group_id, m.device_id FROM logical_group_members m
                 JOIN logical_groups g ON g.id = m.group_id WHERE g.org_id = ?1 ORDER BY m.device_id",
            )?;
            for pair in stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                let (group, device) = pair?;
                members.entry(group).or_default().push(device);
            }
            let mut stmt =
                conn.prepare("SELECT id, name, version FROM logical_groups WHERE org_id = ?1 ORDER BY id")?;
            let rows = stmt.query_map([org], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, version) = row?;
                out.push(LogicalGroupRow {
                    id,
                    name,
                    devices: members.remove(&id).unwrap_or_default(),
                    version,
                });
            }
            Ok(out)
        })
    }

    fn logical_group(&self, org: OrgId, id: i64) -> ApiResult<Option<LogicalGroupRow>> {
        self.read(|conn| load_group(conn, org, id))
    }

    fn create_logical_group(&self, ctx: &WriteCtx, name: &str) -> ApiResult<LogicalGroupRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            super::check_name_free(tx, "logical_groups", "a logical group", org, name, None)?;
            tx.execute(
                "INSERT INTO logical_groups (org_id, name) VALUES (?1, ?2)",
                params![org, name],
            )?;
            let id = tx.last_insert_rowid();
            let row = load_group(tx, org, id)?.ok_or_else(|| ApiError::not_found("logical group"))?;
            journal.audit(
                "logical_group.create",
                format!("logical_group:{id}"),
                None,
                Some(to_json(&row)),
            );
            journal_group(journal, &row);
            Ok(row)
        })
    }

    fn rename_logical_group(
        &self,
        ctx: &WriteCtx,
        id: i64,
        name: &str,
        if_match: Option<i64>,
    ) -> ApiResult<LogicalGroupRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            let before = load_group(tx, org, id)?.ok_or_else(|| ApiError::not_found("logical group"))?;
            check_version(before.version, if_match, || to_json(&before))?;
            super::check_name_free(tx, "logical_groups", "a logical group", org, name, Some(id))?;
            tx.execute(
                "UPDATE logical_groups SET name = ?2, version = version + 1 WHERE id = ?1",
                params![id, name],
            )?;
            let after = load_group(tx, org, id)?.ok_or_else(|| ApiError::not_found("logical group"))?;
            journal.audit(
                "logical_group.update",
                format!("logical_group:{id}"),
                Some(to_json(&before)),
                Some(to_json(&after)),
            );
            journal_group(journal, &after);
            Ok(after)
        })
    }

    fn delete_logical_group(
        &self,
        ctx: &WriteCtx,
        id: i64,
        if_match: Option<i64>,
    ) -> ApiResult<LogicalGroupRow> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let group = load_group(tx, org, id)?.ok_or_else(|| ApiError::not_found("logical group"))?;
            check_version(group.version, if_match, || to_json(&group))?;
            let rules = super::alerts::rules_targeting(tx, "target_group", id)?;
            if !rules.is_empty() {
                return Err(ApiError::conflict(
                    "group_in_use",
                    format!("alert rules watch this group: {}", rules.join(", ")),
                ));
            }
            tx.execute("DELETE FROM logical_group_members WHERE group_id = ?1", [id])?;
            tx.execute("DELETE FROM logical_groups WHERE id = ?1", [id])?;
            // Each member's `groups` changed.
            for d in &group.devices {
                bump(tx, "devices", *d)?;
                if let Some(row) = load_device(tx, org, *d)? {
                    journal.change("device", row.id, "put", row.version, Some(to_json(&row)));
                }
            }
            journal.audit(
                "logical_group.delete",
                format!("logical_group:{id}"),
                Some(to_json(&group)),
                None,
            );
            journal.change("logical_group", id, "delete", group.version + 1, None);
            Ok(answer(Value::Null, group))
        })?;
        Ok(done.extra)
    }

    fn set_group_member(
        &self,
        ctx: &WriteCtx,
        group: i64,
        device: i64,
        member: bool,
    ) -> ApiResult<LogicalGroupRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            let before = load_group(tx, org, group)?.ok_or_else(|| ApiError::not_found("logical group"))?;
            let device_before = load_device(tx, org, device)?.ok_or_else(|| ApiError::not_found("device"))?;
            let changed = if member {
                tx.execute(
                    "INSERT OR IGNORE INTO logical_group_members (group_id, device_id) VALUES (?1, ?2)",
                    params![group, device],
                )?
            } else {
                tx.execute(
                    "DELETE FROM logical_group_members WHERE group_id = ?1 AND device_id = ?2",
                    params![group, device],
                )?
            };
            if changed == 0 {
                return Ok(before);
            }
            bump(tx, "devices", device)?;
            let device_after = load_device(tx, org, device)?.ok_or_else(|| ApiError::not_found("device"))?;
            journal_device(journal, "update", Some(&device_before), &device_after);
            let touched = BTreeSet::from([group]);
            let after = touch_groups(tx, org, journal, &touched)?
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found("logical group"))?;
            Ok(after)
        })
    }

    fn hierarchy_node(&self, org: OrgId, id: i64) -> ApiResult<Option<HierarchyNodeRow>> {
        self.read(|conn| load_node(conn, org, id))
    }

    fn update_node(
        &self,
        ctx: &WriteCtx,
        id: i64,
        edit: &NodeEdit,
        if_match: Option<i64>,
    ) -> ApiResult<NodeChange> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let before = load_node(tx, org, id)?.ok_or_else(|| ApiError::not_found("hierarchy node"))?;
            check_version(before.version, if_match, || to_json(&before))?;
            if let Some(Some(parent)) = edit.parent {
                if !exists(tx, "hierarchy_nodes", org, parent)? {
                    return Err(ApiError::unprocessable(
                        "unknown_node",
                        format!("there is no hierarchy node {parent}"),
                    ));
                }
                if is_within(tx, parent, id)? {
                    return Err(ApiError::conflict(
                        "node_cycle",
                        "a node cannot move under itself or one of its descendants",
                    ));
                }
            }
            tx.execute(
                "UPDATE hierarchy_nodes SET name = COALESCE(?2, name), version = version + 1 WHERE id = ?1",
                params![id, edit.name],
            )?;
            if let Some(parent) = edit.parent {
                tx.execute(
                    "UPDATE hierarchy_nodes SET parent_id = ?2 WHERE id = ?1",
                    params![id, parent],
                )?;
            }
            let after = load_node(tx, org, id)?.ok_or_else(|| ApiError::not_found("hierarchy node"))?;
            journal.audit(
                "hierarchy.update",
                format!("node:{id}"),
                Some(to_json(&before)),
                Some(to_json(&after)),
            );
            journal.change("hierarchy_node", id, "put", after.version, Some(to_json(&after)));
            Ok(answer(after.clone(), NodeChange { before, after }))
        })?;
        Ok(done.extra)
    }

    fn delete_node(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<HierarchyNodeRow> {
        let org = ctx.org;
        let done = self.write(ctx, |tx, journal| {
            let node = load_node(tx, org, id)?.ok_or_else(|| ApiError::not_found("hierarchy node"))?;
            check_version(node.version, if_match, || to_json(&node))?;
            let children: i64 = tx.query_row(
                "SELECT COUNT(*) FROM hierarchy_nodes WHERE parent_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            if children > 0 || !node.devices.is_empty() {
                return Err(ApiError::conflict(
                    "node_not_empty",
                    format!(
                        "the node holds {children} child node(s) and {} device(s): move or delete them first",
                        node.devices.len()
                    ),
                ));
            }
            let keys = scoped_keys(tx, org, id)?;
            if !keys.is_empty() {
                return Err(ApiError::conflict(
                    "node_in_use",
                    format!("API keys are scoped to this node: {}", keys.join(", ")),
                ));
            }
            let rules = super::alerts::rules_targeting(tx, "target_node", id)?;
            if !rules.is_empty() {
                return Err(ApiError::conflict(
                    "node_in_use",
                    format!("alert rules watch this node: {}", rules.join(", ")),
                ));
            }
            tx.execute("DELETE FROM hierarchy_nodes WHERE id = ?1", [id])?;
            journal.audit(
                "hierarchy.delete",
                format!("node:{id}"),
                Some(to_json(&node)),
                None,
            );
            journal.change("hierarchy_node", id, "delete", node.version + 1, None);
            Ok(answer(Value::Null, node))
        })?;
        Ok(done.extra)
    }
}

/// Whether `node` is `root` or below it (bounded: a corrupt cycle ends the walk).
fn is_within(conn: &Connection, node: i64, root: i64) -> ApiResult<bool> {
    let mut at = Some(node);
    for _ in 0..10_000 {
        match at {
            None => return Ok(false),
            Some(n) if n == root => return Ok(true),
            Some(n) => {
                at = conn
                    .query_row("SELECT parent_id FROM hierarchy_nodes WHERE id = ?1", [n], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                    .optional()?
                    .flatten();
            }
        }
    }
    Ok(true)
}

/// Names of the live keys whose scopes name `node`.
fn scoped_keys(conn: &Connection, org: OrgId, node: i64) -> ApiResult<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT name, scopes FROM api_keys WHERE org_id = ?1 AND revoked_at IS NULL")?;
    let rows = stmt.query_map([org], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, scopes) = row?;
        let scopes: Vec<i64> = serde_json::from_str(&scopes).unwrap_or_default();
        if scopes.contains(&node) {
            out.push(name);
        }
    }
    Ok(out)
}
