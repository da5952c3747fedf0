//! The maintenance modules' records (tasks, events, equipment), so their permissions guard
//! something real. A task created on an asset is a run of that asset.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::{SqliteStore, WriteCtx, check_version};
use crate::error::{ApiError, ApiResult};
use steward_wire::*;

/// A validated create or update.
#[derive(Clone, Debug, Default)]
pub struct RecordInput {
    pub title: Option<String>,
    pub status: Option<String>,
    pub body: Option<Value>,
    pub asset_id: Option<i64>,
}

pub trait RecordStore: Send + Sync {
    fn records(&self, org: i64, module: RecordModule, after_id: i64, limit: u32)
    -> ApiResult<Vec<RecordRow>>;
    fn record(&self, org: i64, module: RecordModule, id: i64) -> ApiResult<Option<RecordRow>>;
    fn create_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        input: &RecordInput,
    ) -> ApiResult<RecordRow>;
    fn update_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        id: i64,
        input: &RecordInput,
        if_match: Option<i64>,
    ) -> ApiResult<RecordRow>;
    fn delete_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        id: i64,
        if_match: Option<i64>,
    ) -> ApiResult<()>;
}

const COLUMNS: &str =
    "id, module, asset_id, title, status, body, created_by, created_at, updated_at, version";

fn from_row(r: &Row) -> rusqlite::Result<RecordRow> {
    let module: String = r.get(1)?;
    let body: String = r.get(5)?;
    Ok(RecordRow {
        id: r.get(0)?,
        module: match module.as_str() {
            "events" => RecordModule::Events,
            "equipment" => RecordModule::Equipment,
            _ => RecordModule::Tasks,
        },
        asset_id: r.get(2)?,
        title: r.get(3)?,
        status: r.get(4)?,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        created_by: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        version: r.get(9)?,
    })
}

fn load(c: &Connection, org: i64, module: RecordModule, id: i64) -> ApiResult<Option<RecordRow>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM records WHERE id = ?1 AND org_id = ?2 AND module = ?3"),
        params![id, org, module.name()],
        from_row,
    )
    .optional()?)
}

fn json(r: &RecordRow) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

impl RecordStore for SqliteStore {
    fn records(
        &self,
        org: i64,
        module: RecordModule,
        after_id: i64,
        limit: u32,
    ) -> ApiResult<Vec<RecordRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM records WHERE org_id = ?1 AND module = ?2 AND id > ?3 ORDER BY id LIMIT ?4"
            ))?;
            let rows = stmt.query_map(params![org, module.name(), after_id, limit.clamp(1, 1000)], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn record(&self, org: i64, module: RecordModule, id: i64) -> ApiResult<Option<RecordRow>> {
        self.read(|c| load(c, org, module, id))
    }

    fn create_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        input: &RecordInput,
    ) -> ApiResult<RecordRow> {
        self.write(ctx, |tx, journal| {
            let title = input.title.clone().unwrap_or_default();
            let status = input
                .status
                .clone()
                .or_else(|| module.statuses().first().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let body = input.body.clone().unwrap_or_else(|| Value::Object(Default::default()));
            tx.execute(
                "INSERT INTO records (org_id, module, asset_id, title, status, body, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![ctx.org, module.name(), input.asset_id, title, status, body.to_string(), ctx.actor.label(), ctx.now],
            )?;
            let id = tx.last_insert_rowid();
            let row = load(tx, ctx.org, module, id)?.ok_or_else(|| ApiError::Internal("record vanished".into()))?;
            journal.audit(&format!("{}.create", module.name()), format!("{}:{id}", module.name()), None, Some(json(&row)));
            journal.change(module.name(), id, "put", row.version, Some(json(&row)));
            Ok(row)
        })
    }

    fn update_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        id: i64,
        input: &RecordInput,
        if_match: Option<i64>,
    ) -> ApiResult<RecordRow> {
        self.write(ctx, |tx, journal| {
            let before = load(tx, ctx.org, module, id)?.ok_or_else(|| ApiError::not_found(module.name()))?;
            check_version(before.version, if_match, || json(&before))?;
            let title = input.title.clone().unwrap_or_else(|| before.title.clone());
            let status = input.status.clone().unwrap_or_else(|| before.status.clone());
            let body = input.body.clone().unwrap_or_else(|| before.body.clone());
            tx.execute(
                "UPDATE records SET title = ?1, status = ?2, body = ?3, updated_at = ?4, version = version + 1 WHERE id = ?5",
                params![title, status, body.to_string(), ctx.now, id],
            )?;
            let after = load(tx, ctx.org, module, id)?.ok_or_else(|| ApiError::Internal("record vanished".into()))?;
            journal.audit(
                &format!("{}.update", module.name()),
                format!("{}:{id}", module.name()),
                Some(json(&before)),
                Some(json(&after)),
            );
            journal.change(module.name(), id, "put", after.version, Some(json(&after)));
            Ok(after)
        })
    }

    fn delete_record(
        &self,
        ctx: &WriteCtx,
        module: RecordModule,
        id: i64,
        if_match: Option<i64>,
    ) -> ApiResult<()> {
        self.write(ctx, |tx, journal| {
            let before = load(tx, ctx.org, module, id)?.ok_or_else(|| ApiError::not_found(module.name()))?;
            check_version(before.version, if_match, || json(&before))?;
            tx.execute("DELETE FROM records WHERE id = ?1", [id])?;
            journal.audit(
                &format!("{}.delete", module.name()),
                format!("{}:{id}", module.name()),
                Some(json(&before)),
                None,
            );
            journal.change(module.name(), id, "delete", before.version + 1, None);
            Ok(())
        })
    }
}
