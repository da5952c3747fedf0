//! API keys: stored by visible prefix and keyed hash of the secret, never the secret itself.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use steward_model::{NodeId, PermSet};

use super::{SqliteStore, WriteCtx, check_version};
use crate::error::{ApiError, ApiResult};
use steward_wire::*;

pub struct NewKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub permissions: PermSet,
    pub scopes: &'a [NodeId],
}

pub trait KeyStore: Send + Sync {
    fn create_key(&self, ctx: &WriteCtx, key: &NewKey<'_>) -> ApiResult<KeyRow>;
    fn keys(&self, org: i64) -> ApiResult<Vec<KeyRow>>;
    fn key(&self, org: i64, id: i64) -> ApiResult<Option<KeyRow>>;
    /// The key with this prefix and its secret hash, for authentication.
    fn key_for_auth(&self, prefix: &str) -> ApiResult<Option<(KeyRow, String)>>;
    fn set_key_enabled(
        &self,
        ctx: &WriteCtx,
        id: i64,
        enabled: bool,
        if_match: Option<i64>,
    ) -> ApiResult<KeyRow>;
    /// Only while the key is disabled (the IoT document's rule): otherwise 409 `key_enabled`.
    fn set_key_permissions(
        &self,
        ctx: &WriteCtx,
        id: i64,
        permissions: PermSet,
        scopes: &[NodeId],
        if_match: Option<i64>,
    ) -> ApiResult<KeyRow>;
    fn revoke_key(&self, ctx: &WriteCtx, id: i64) -> ApiResult<KeyRow>;
    fn key_used(&self, id: i64, now: i64) -> ApiResult<()>;
}

const COLUMNS: &str = "id, org_id, name, prefix, permissions, scopes, enabled, revoked_at, created_by, created_at, last_used_at, version";

fn from_row(r: &Row) -> rusqlite::Result<KeyRow> {
    let permissions: String = r.get(4)?;
    let scopes: String = r.get(5)?;
    Ok(KeyRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        prefix: r.get(3)?,
        permissions: serde_json::from_str(&permissions).unwrap_or_default(),
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        enabled: r.get(6)?,
        revoked_at: r.get(7)?,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        last_used_at: r.get(10)?,
        version: r.get(11)?,
    })
}

fn load(conn: &Connection, org: i64, id: i64) -> ApiResult<Option<KeyRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1 AND org_id = ?2"),
            params![id, org],
            from_row,
        )
        .optional()?)
}

fn json(k: &KeyRow) -> serde_json::Value {
    serde_json::to_value(k).unwrap_or_default()
}

fn encode<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Loads a live (not revoked) key of the org, or 404.
fn live(conn: &Connection, org: i64, id: i64) -> ApiResult<KeyRow> {
    let key = load(conn, org, id)?.ok_or_else(|| ApiError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::GONE,
            "key_revoked",
            "this API key was revoked",
        ));
    }
    Ok(key)
}

impl KeyStore for SqliteStore {
    fn create_key(&self, ctx: &WriteCtx, key: &NewKey<'_>) -> ApiResult<KeyRow> {
        self.write(ctx, |tx, journal| {
            tx.execute(
                "INSERT INTO api_keys (org_id, name, prefix, secret_hash, permissions, scopes, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    ctx.org,
                    key.name,
                    key.prefix,
                    key.secret_hash,
                    encode(&key.permissions)?,
                    encode(&key.scopes)?,
                    ctx.actor.label(),
                    ctx.now
                ],
            )?;
            let id = tx.last_insert_rowid();
            let row = load(tx, ctx.org, id)?.ok_or_else(|| ApiError::Internal("key vanished".into()))?;
            journal.audit("api_key.create", format!("key:{id}"), None, Some(json(&row)));
            journal.change("api_key", id, "put", row.version, Some(json(&row)));
            Ok(row)
        })
    }

    fn keys(&self, org: i64) -> ApiResult<Vec<KeyRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn key(&self, org: i64, id: i64) -> ApiResult<Option<KeyRow>> {
        self.read(|c| load(c, org, id))
    }

    fn key_for_auth(&self, prefix: &str) -> ApiResult<Option<(KeyRow, String)>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLUMNS}, secret_hash FROM api_keys WHERE prefix = ?1"
            ))?
            .query_row([prefix], |r| Ok((from_row(r)?, r.get::<_, String>(12)?)))
            .optional()?)
        })
    }

    fn set_key_enabled(
        &self,
        ctx: &WriteCtx,
        id: i64,
        enabled: bool,
        if_match: Option<i64>,
    ) -> ApiResult<KeyRow> {
        self.write(ctx, |tx, journal| {
            let before = live(tx, ctx.org, id)?;
            check_version(before.version, if_match, || json(&before))?;
            tx.execute(
                "UPDATE api_keys SET enabled = ?1, version = version + 1 WHERE id = ?2",
                params![enabled, id],
            )?;
            let after = live(tx, ctx.org, id)?;
            let action = if enabled {
                "api_key.enable"
            } else {
                "api_key.disable"
            };
            journal.audit(
                action,
                format!("key:{id}"),
                Some(json(&before)),
                Some(json(&after)),
            );
            journal.change("api_key", id, "put", after.version, Some(json(&after)));
            Ok(after)
        })
    }

    fn set_key_permissions(
        &self,
        ctx: &WriteCtx,
        id: i64,
        permissions: PermSet,
        scopes: &[NodeId],
        if_match: Option<i64>,
    ) -> ApiResult<KeyRow> {
        self.write(ctx, |tx, journal| {
            let before = live(tx, ctx.org, id)?;
            check_version(before.version, if_match, || json(&before))?;
            if before.enabled {
                return Err(ApiError::conflict(
                    "key_enabled",
                    "disable the key before editing its permissions, then enable it again",
                ));
            }
            tx.execute(
                "UPDATE api_keys SET permissions = ?1, scopes = ?2, version = version + 1 WHERE id = ?3",
                params![encode(&permissions)?, encode(&scopes)?, id],
            )?;
            let after = live(tx, ctx.org, id)?;
            journal.audit(
                "api_key.set_permissions",
                format!("key:{id}"),
                Some(json(&before)),
                Some(json(&after)),
            );
            journal.change("api_key", id, "put", after.version, Some(json(&after)));
            Ok(after)
        })
    }

    fn revoke_key(&self, ctx: &WriteCtx, id: i64) -> ApiResult<KeyRow> {
        self.write(ctx, |tx, journal| {
            let before = live(tx, ctx.org, id)?;
            tx.execute(
                "UPDATE api_keys SET revoked_at = ?1, enabled = 0, version = version + 1 WHERE id = ?2",
                params![ctx.now, id],
            )?;
            let after = load(tx, ctx.org, id)?.ok_or_else(|| ApiError::Internal("key vanished".into()))?;
            journal.audit(
                "api_key.revoke",
                format!("key:{id}"),
                Some(json(&before)),
                Some(json(&after)),
            );
            journal.change("api_key", id, "put", after.version, Some(json(&after)));
            Ok(after)
        })
    }

    fn key_used(&self, id: i64, now: i64) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }
}
