//! The profile's local cache: an SQLCipher-encrypted SQLite file holding what the change feed
//! delivered (never a secret), the sync cursor, and the outbox of changes made offline. It is
//! disposable: delete it and the next sync rebuilds it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use steward_model::{
    ApiKey, AssetId, AssetKind, AssetRole, AssetSpec, Grantee, GroupId, KeyId, NodeId, Plant, ProjectId,
    ProjectRole, UserId,
};
use steward_wire::{AssetRow, GroupRow, KeyRow, ProjectRow, UserRow};

use crate::error::{CoreError, CoreResult};
use crate::vault::CacheKey;

const SCHEMA: &[&str] = &[r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE entities (
        entity TEXT NOT NULL,
        id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (entity, id)
    );
    CREATE TABLE grants (
        on_kind TEXT NOT NULL,
        on_id INTEGER NOT NULL,
        grantee_kind TEXT NOT NULL,
        grantee_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (on_kind, on_id, grantee_kind, grantee_id)
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        change TEXT NOT NULL,
        base_version INTEGER,
        state TEXT NOT NULL,
        error TEXT,
        server TEXT,
        created_at INTEGER NOT NULL
    );
"#];

pub struct Cache {
    conn: Connection,
}

fn id32(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

impl Cache {
    /// Opens (creating if needed) the encrypted cache; a wrong key is `WrongPassword`.
    pub fn open(path: &Path, key: &CacheKey) -> CoreResult<Cache> {
        let mut conn = Connection::open(path)?;
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))?;
        // The first read fails when the key is wrong.
        if conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .is_err()
        {
            return Err(CoreError::WrongPassword);
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // 32 MiB of page cache (default 2 MiB): a first sync's transactions of tens of
        // thousands of upserts keep the index pages they touch in memory.
        conn.pragma_update(None, "cache_size", -32_000)?;
        Migrations::new(SCHEMA.iter().map(|s| M::up(s)).collect())
            .to_latest(&mut conn)
            .map_err(|e| CoreError::Cache(format!("migration: {e}")))?;
        Ok(Cache { conn })
    }

    pub fn meta(&self, key: &str) -> CoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn cursor(&self) -> CoreResult<i64> {
        Ok(self.meta("cursor")?.and_then(|c| c.parse().ok()).unwrap_or(0))
    }

    /// Applies pages of the change feed in one transaction, with the cursor after the last:
    /// the commit point of a sync (one sync to disk for all of them).
    pub fn apply_pages(&mut self, pages: &[FeedPage], now_ms: i64) -> CoreResult<()> {
        let Some(cursor) = pages.last().map(|p| p.next) else {
            return Ok(());
        };
        let tx = self.conn.transaction()?;
        for c in pages.iter().flat_map(|p| &p.changes) {
            apply_one(&tx, c)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursor.to_string()],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('synced_at', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [now_ms.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every cached entity of a kind, in id order.
    pub fn all<T: DeserializeOwned>(&self, entity: &str) -> CoreResult<Vec<T>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM entities WHERE entity = ?1 ORDER BY id")?;
        let rows = stmt.query_map([entity], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    pub fn one<T: DeserializeOwned>(&self, entity: &str, id: i64) -> CoreResult<Option<T>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM entities WHERE entity = ?1 AND id = ?2",
                params![entity, id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match body {
            Some(b) => Some(serde_json::from_str(&b)?),
            None => None,
        })
    }

    pub fn version(&self, entity: &str, id: i64) -> CoreResult<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT version FROM entities WHERE entity = ?1 AND id = ?2",
                params![entity, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores presence rows the live connection reported, in one transaction, keeping each
    /// entity's version (a later sync overwrites them with the platform's own rows).
    pub fn put_presence(&mut self, rows: &[steward_wire::PresenceRow]) -> CoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for row in rows {
            tx.prepare_cached(
                "INSERT INTO entities (entity, id, version, body) VALUES ('presence', ?1, 0, ?2)
                 ON CONFLICT (entity, id) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![row.device, serde_json::to_string(row)?])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Grants as (on kind, on id, grantee, role name).
    fn grants(&self) -> CoreResult<Vec<(String, i64, Grantee, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT on_kind, on_id, grantee_kind, grantee_id, role FROM grants ORDER BY on_kind, on_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let kind: String = r.get(2)?;
            let id: i64 = r.get(3)?;
            let grantee = if kind == "group" {
                Grantee::Group(GroupId(id32(id)))
            } else {
                Grantee::User(UserId(id32(id)))
            };
            Ok((r.get(0)?, r.get(1)?, grantee, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The org as the resolver sees it, from the cache alone (works offline).
    pub fn plant(&self) -> CoreResult<Plant> {
        let mut plant = Plant::new();
        for u in self.all::<UserRow>("user")? {
            plant.put_user(UserId(id32(u.id)), u.name, u.role, u.active)?;
        }
        let groups = self.all::<GroupRow>("group")?;
        for g in &groups {
            plant.put_group(GroupId(id32(g.id)), g.name.clone())?;
        }
        for g in &groups {
            for m in &g.members {
                if plant.user(UserId(id32(*m))).is_some() {
                    plant.set_group_member(GroupId(id32(g.id)), UserId(id32(*m)), true)?;
                }
            }
        }
        for p in self.all::<ProjectRow>("project")? {
            plant.put_project(ProjectId(id32(p.id)), p.name)?;
        }
        let mut assets = self.all::<AssetRow>("asset")?;
        // Agents before workforces, so a workforce's agents exist when it is added.
        assets.sort_by_key(|a| (a.kind == AssetKind::Workforce, a.id));
        for a in assets {
            let spec = AssetSpec {
                name: a.name,
                project: ProjectId(id32(a.project_id)),
                kind: a.kind,
                creator: None,
                agents: a.agents.iter().map(|x| AssetId(id32(*x))).collect(),
            };
            // A row the cache got out of order is skipped rather than failing the whole view.
            if plant.put_asset(AssetId(id32(a.id)), spec).is_err() {
                tracing::warn!(
                    asset = a.id,
                    "cached asset skipped: inconsistent with the rest of the cache"
                );
            }
        }
        for (on_kind, on_id, grantee, role) in self.grants()? {
            let result = match on_kind.as_str() {
                "project" => match ProjectRole::parse(&role) {
                    Some(role) => plant
                        .set_project_role(grantee, ProjectId(id32(on_id)), Some(role))
                        .map(drop),
                    None => Ok(()),
                },
                _ => match AssetRole::parse(&role) {
                    Some(role) => plant
                        .set_asset_role(grantee, AssetId(id32(on_id)), Some(role))
                        .map(drop),
                    None => Ok(()),
                },
            };
            if result.is_err() {
                tracing::warn!(
                    on_kind,
                    on_id,
                    "cached grant skipped: its target is not in the cache"
                );
            }
        }
        #[derive(serde::Deserialize)]
        struct NodeRow {
            id: i64,
            name: String,
            parent: Option<i64>,
        }
        for n in self.all::<NodeRow>("hierarchy_node")? {
            plant.put_node(NodeId(id32(n.id)), n.name, n.parent.map(|p| NodeId(id32(p))))?;
        }
        for k in self.all::<KeyRow>("api_key")? {
            if k.revoked_at.is_none() {
                let key = ApiKey {
                    name: k.name,
                    permissions: k.permissions,
                    scopes: k.scopes,
                    enabled: k.enabled,
                };
                plant.put_key(KeyId(id32(k.id)), key)?;
            }
        }
        Ok(plant)
    }

    // ----- outbox ----------------------------------------------------------------------------

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// One page of `GET /changes` as the cache takes it.
#[derive(Debug, Deserialize)]
pub struct FeedPage {
    pub changes: Vec<FeedRow>,
    pub next: i64,
    pub more: bool,
    #[serde(default)]
    pub head: i64,
}

/// A feed row (`steward_wire::ChangeRow`) whose body stays the JSON text it arrived as.
#[derive(Debug, Deserialize)]
pub struct FeedRow {
    pub entity: String,
    pub entity_id: i64,
    pub op: String,
    pub version: i64,
    pub body: Option<Box<RawValue>>,
}

fn grant_target(c: &FeedRow) -> Option<(&'static str, i64, Grantee, Option<String>)> {
    if !matches!(c.entity.as_str(), "project_grant" | "asset_grant") {
        return None;
    }
    // Grants are few: only their bodies are decoded.
    let body: Value = serde_json::from_str(c.body.as_ref()?.get()).ok()?;
    let (kind, id) = match c.entity.as_str() {
        "project_grant" => ("project", body.get("project")?.as_i64()?),
        "asset_grant" => ("asset", body.get("asset")?.as_i64()?),
        _ => return None,
    };
    let grantee: Grantee = serde_json::from_value(body.get("grantee")?.clone()).ok()?;
    let role = body.get("role").and_then(Value::as_str).map(str::to_owned);
    Some((kind, id, grantee, role))
}

// Statements are cached: a first sync applies a million rows through these few.
fn apply_one(tx: &Connection, c: &FeedRow) -> CoreResult<()> {
    if let Some((kind, id, grantee, role)) = grant_target(c) {
        let (gk, gid) = match grantee {
            Grantee::User(u) => ("user", i64::from(u.0)),
            Grantee::Group(g) => ("group", i64::from(g.0)),
        };
        match role {
            Some(role) => tx.prepare_cached("INSERT INTO grants (on_kind, on_id, grantee_kind, grantee_id, role) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (on_kind, on_id, grantee_kind, grantee_id) DO UPDATE SET role = excluded.role")?.execute(params![kind, id, gk, gid, role],
            )?,
            None => tx.prepare_cached("DELETE FROM grants WHERE on_kind = ?1 AND on_id = ?2 AND grantee_kind = ?3 AND grantee_id = ?4")?.execute(params![kind, id, gk, gid],
            )?,
        };
        // The grant bumped its project's or asset's version; keep the cached version in step so
        // offline edits are based on the version the server will check.
        tx.prepare_cached("UPDATE entities SET version = ?1 WHERE entity = ?2 AND id = ?3")?
            .execute(params![c.version, kind, id])?;
        return Ok(());
    }
    match (c.op.as_str(), &c.body) {
        ("delete", _) | (_, None) => {
            tx.prepare_cached("DELETE FROM entities WHERE entity = ?1 AND id = ?2")?
                .execute(params![c.entity, c.entity_id])?;
            if matches!(c.entity.as_str(), "project" | "asset") {
                tx.prepare_cached("DELETE FROM grants WHERE on_kind = ?1 AND on_id = ?2")?
                    .execute(params![c.entity, c.entity_id])?;
            }
            if c.entity == "group" {
                tx.prepare_cached("DELETE FROM grants WHERE grantee_kind = 'group' AND grantee_id = ?1")?
                    .execute([c.entity_id])?;
            }
        }
        (_, Some(body)) => {
            tx.prepare_cached(
                "INSERT INTO entities (entity, id, version, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version, body = excluded.body",
            )?
            .execute(params![c.entity, c.entity_id, c.version, body.get()])?;
        }
    }
    Ok(())
}
