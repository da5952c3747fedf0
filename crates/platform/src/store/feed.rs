//! The change feed: every write appends what changed, in order, with the entity's version.
//! Clients sync with `GET /changes?since=CURSOR`.

use rusqlite::params;

use super::SqliteStore;
use crate::error::ApiResult;
use steward_wire::*;

pub trait FeedStore: Send + Sync {
    /// Changes of the org after `since`, oldest first.
    fn changes_since(&self, org: i64, since: i64, limit: u32) -> ApiResult<Vec<ChangeRow>>;
    /// The org's newest change's cursor (0 when it has none).
    fn changes_head(&self, org: i64) -> ApiResult<i64>;
}

impl FeedStore for SqliteStore {
    fn changes_head(&self, org: i64) -> ApiResult<i64> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE org_id = ?1",
                [org],
                |row| row.get(0),
            )?)
        })
    }

    fn changes_since(&self, org: i64, since: i64, limit: u32) -> ApiResult<Vec<ChangeRow>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, entity, entity_id, op, version, body, at FROM changes
                 WHERE org_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![org, since, limit.clamp(1, 5000)], |r| {
                let body: Option<String> = r.get(5)?;
                Ok(ChangeRow {
                    seq: r.get(0)?,
                    entity: r.get(1)?,
                    entity_id: r.get(2)?,
                    op: r.get(3)?,
                    version: r.get(4)?,
                    body: body.and_then(|b| serde_json::from_str(&b).ok()),
                    at: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
