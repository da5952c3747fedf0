//! Presence transitions and the latest telemetry reading per device (migration 4).
//!
//! stewardd's plane client writes these in batches: many transitions (100 devices dropping at
//! once) and readings go in one transaction, so one fsync covers them all. Each transition also
//! appends a change-feed row (entity `presence`, the device's id, `version` the transition's id)
//! so the console's sync sees it. Presence is not an access decision or a change someone made,
//! so it is not in the audit trail.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::SqliteStore;
use crate::error::ApiResult;

/// One online/offline change of one device, as stewardd saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct PresenceTransition {
    pub org: i64,
    pub device: i64,
    pub online: bool,
    /// When it happened (server clock, ms).
    pub at: i64,
    /// The last message from the device at that moment.
    pub last_seen: Option<i64>,
    /// Online→offline transitions in the hour up to `at`, this one included.
    pub flaps_last_hour: u32,
    /// Why: `online`, `offline` (the device's or its Will), `silent` (stewardd's liveness check),
    /// `not_seen` (stewardd started and the broker did not confirm it), `kicked` (stewardd had
    /// the broker drop it: rotation, deletion).
    pub reason: &'static str,
}

/// A device's newest reading.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryReading {
    pub org: i64,
    pub device: i64,
    pub received_at: i64,
    pub reading: Value,
}

/// What the store remembers of a device's presence, to start from.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPresence {
    pub org: i64,
    pub device: i64,
    pub online: bool,
    pub since: i64,
    pub last_seen: Option<i64>,
    /// Offline transitions at or after the `flaps_since` asked for, oldest first.
    pub flaps: Vec<i64>,
}

pub trait PresenceStore: Send + Sync {
    /// Appends transitions (with their change-feed rows) and replaces latest readings, in one
    /// transaction.
    fn record_presence(
        &self,
        transitions: &[PresenceTransition],
        telemetry: &[TelemetryReading],
    ) -> ApiResult<()>;
    /// Every device's last transition, with its offline transitions since `flaps_since`.
    fn presence_state(&self, flaps_since: i64) -> ApiResult<Vec<StoredPresence>>;
    /// Every device's latest reading.
    fn telemetry_all(&self) -> ApiResult<Vec<TelemetryReading>>;
    /// One device's latest reading.
    fn telemetry_of(&self, org: i64, device: i64) -> ApiResult<Option<TelemetryReading>>;
    /// Forgets transitions older than `before`, except each device's newest (history is bounded).
    fn prune_presence(&self, before: i64) -> ApiResult<usize>;
}

impl PresenceStore for SqliteStore {
    fn record_presence(
        &self,
        transitions: &[PresenceTransition],
        telemetry: &[TelemetryReading],
    ) -> ApiResult<()> {
        if transitions.is_empty() && telemetry.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO presence_transitions (org_id, device_id, online, at, last_seen, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut change = tx.prepare_cached(
                "INSERT INTO changes (org_id, entity, entity_id, op, version, body, at)
                 VALUES (?1, 'presence', ?2, 'update', ?3, ?4, ?5)",
            )?;
            for t in transitions {
                insert.execute(params![t.org, t.device, t.online, t.at, t.last_seen, t.reason])?;
                let id = tx.last_insert_rowid();
                // The body is the wire PresenceRow, plus why.
                let body = serde_json::json!({
                    "device": t.device,
                    "online": t.online,
                    "since": t.at,
                    "last_seen": t.last_seen,
                    "flaps_last_hour": t.flaps_last_hour,
                    "reason": t.reason,
                });
                change.execute(params![t.org, t.device, id, body.to_string(), t.at])?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO telemetry_latest (device_id, org_id, received_at, reading) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device_id) DO UPDATE SET org_id = excluded.org_id,
                   received_at = excluded.received_at, reading = excluded.reading",
            )?;
            for r in telemetry {
                upsert.execute(params![r.device, r.org, r.received_at, r.reading.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn presence_state(&self, flaps_since: i64) -> ApiResult<Vec<StoredPresence>> {
        self.read(|conn| {
            let mut last = conn.prepare(
                "SELECT org_id, device_id, online, at, last_seen FROM presence_transitions
                 WHERE id IN (SELECT MAX(id) FROM presence_transitions GROUP BY device_id)
                 ORDER BY device_id",
            )?;
            let mut out: Vec<StoredPresence> = last
                .query_map([], |r| {
                    Ok(StoredPresence {
                        org: r.get(0)?,
                        device: r.get(1)?,
                        online: r.get(2)?,
                        since: r.get(3)?,
                        last_seen: r.get(4)?,
                        flaps: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut flaps = conn.prepare(
                "SELECT device_id, at FROM presence_transitions WHERE online = 0 AND at >= ?1 ORDER BY id",
            )?;
            let rows = flaps.query_map([flaps_since], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (device, at) = row?;
                if let Ok(i) = out.binary_search_by_key(&device, |p| p.device) {
                    if let Some(p) = out.get_mut(i) {
                        p.flaps.push(at);
                    }
                }
            }
            Ok(out)
        })
    }

    fn telemetry_all(&self) -> ApiResult<Vec<TelemetryReading>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT org_id, device_id, received_at, reading FROM telemetry_latest")?;
            let rows = stmt.query_map([], reading_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn telemetry_of(&self, org: i64, device: i64) -> ApiResult<Option<TelemetryReading>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT org_id, device_id, received_at, reading FROM telemetry_latest
                     WHERE device_id = ?1 AND org_id = ?2",
                    [device, org],
                    reading_row,
                )
                .optional()?)
        })
    }

    fn prune_presence(&self, before: i64) -> ApiResult<usize> {
        let conn = self.writer()?;
        Ok(conn.execute(
            // Each device's newest transition stays: it is where its current state began.
            "DELETE FROM presence_transitions WHERE at < ?1
             AND id NOT IN (SELECT MAX(id) FROM presence_transitions GROUP BY device_id)",
            [before],
        )?)
    }
}

fn reading_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TelemetryReading> {
    let text: String = r.get(3)?;
    Ok(TelemetryReading {
        org: r.get(0)?,
        device: r.get(1)?,
        received_at: r.get(2)?,
        reading: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}
