//! Commands queued for devices (commands.queue.call): kept until the device is next online,
//! then claimed and delivered once.

use rusqlite::{Connection, Row, params};
use serde_json::Value;
use steward_wire::{QueueStatus, QueuedCommand};

use super::{OrgId, SqliteStore, WriteCtx};
use crate::error::{ApiError, ApiResult};

pub trait CommandStore: Send + Sync {
    fn queue_command(
        &self,
        ctx: &WriteCtx,
        device: i64,
        command: &str,
        params: &Value,
    ) -> ApiResult<QueuedCommand>;
    /// The device's commands, newest first (at most `limit`).
    fn queued_commands(&self, org: OrgId, device: i64, limit: u32) -> ApiResult<Vec<QueuedCommand>>;
    /// Marks the device's waiting commands delivered and returns them, oldest first. Claiming
    /// before sending means two deliveries racing (a reconnect and a new command) send each
    /// command once.
    fn claim_queued(&self, org: OrgId, device: i64, now: i64) -> ApiResult<Vec<QueuedCommand>>;
}

const COLUMNS: &str = "id, device_id, command, params, status, created_at, delivered_at";

fn status_name(s: QueueStatus) -> &'static str {
    match s {
        QueueStatus::Queued => "queued",
        QueueStatus::Delivered => "delivered",
        QueueStatus::Expired => "expired",
    }
}

fn from_row(r: &Row) -> rusqlite::Result<QueuedCommand> {
    let params: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(QueuedCommand {
        id: r.get(0)?,
        device: r.get(1)?,
        command: r.get(2)?,
        params: serde_json::from_str(&params).unwrap_or(Value::Null),
        status: match status.as_str() {
            "delivered" => QueueStatus::Delivered,
            "expired" => QueueStatus::Expired,
            _ => QueueStatus::Queued,
        },
        created_at: r.get(5)?,
        delivered_at: r.get(6)?,
    })
}

fn load(c: &Connection, id: i64) -> ApiResult<QueuedCommand> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM queued_commands WHERE id = ?1"),
        [id],
        from_row,
    )
    .map_err(|e| ApiError::Internal(format!("queued command {id}: {e}")))
}

impl CommandStore for SqliteStore {
    fn queue_command(
        &self,
        ctx: &WriteCtx,
        device: i64,
        command: &str,
        params: &Value,
    ) -> ApiResult<QueuedCommand> {
        self.write(ctx, |tx, journal| {
            tx.execute(
                "INSERT INTO queued_commands (org_id, device_id, command, params, status, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    ctx.org,
                    device,
                    command,
                    params.to_string(),
                    status_name(QueueStatus::Queued),
                    ctx.now,
                    ctx.actor.label()
                ],
            )?;
            let row = load(tx, tx.last_insert_rowid())?;
            journal.audit(
                "commands.queue.call",
                format!("device:{device}"),
                None,
                serde_json::to_value(&row).ok(),
            );
            Ok(row)
        })
    }

    fn queued_commands(&self, org: OrgId, device: i64, limit: u32) -> ApiResult<Vec<QueuedCommand>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM queued_commands WHERE org_id = ?1 AND device_id = ?2
                 ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![org, device, limit], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn claim_queued(&self, org: OrgId, device: i64, now: i64) -> ApiResult<Vec<QueuedCommand>> {
        let conn = self.writer()?;
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE queued_commands SET status = 'delivered', delivered_at = ?3
             WHERE org_id = ?1 AND device_id = ?2 AND status = 'queued'
             RETURNING {COLUMNS}"
        ))?;
        let mut claimed = stmt
            .query_map(params![org, device, now], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }
}
