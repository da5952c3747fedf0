//! The audit trail: append-only, hash-chained. Each record carries the hash of the one before
//! it, so editing or deleting any row breaks the chain at that point, which `verify` reports.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Replay, SqliteStore, WriteCtx};
use crate::error::ApiResult;
use steward_wire::*;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    /// Return records with id below this (paging backwards from the newest).
    pub before_id: Option<i64>,
    pub limit: u32,
}

pub trait AuditStore: Send + Sync {
    fn audit_page(&self, org: i64, query: &AuditQuery) -> ApiResult<Vec<AuditEntry>>;
    fn audit_verify(&self) -> ApiResult<ChainCheck>;
    /// Records something that is not a journalled write (a refused attempt, an enrolment), in
    /// its own transaction. `outcome` is `ok` or `denied`.
    fn audit_event(
        &self,
        ctx: &WriteCtx,
        action: &str,
        target: &str,
        outcome: &str,
        detail: Value,
    ) -> ApiResult<()>;
    /// The stored response of an earlier request with this idempotency key, if any.
    fn replay(&self, principal: &str, key: &str) -> ApiResult<Option<Replay>>;
}

#[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
fn digest(
    prev: &str,
    id: i64,
    org: Option<i64>,
    at: i64,
    actor: &str,
    source: &str,
    action: &str,
    target: &str,
    outcome: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &id.to_string(),
        &org.map(|o| o.to_string()).unwrap_or_default(),
        &at.to_string(),
        actor,
        source,
        action,
        target,
        outcome,
        before.unwrap_or(""),
        after.unwrap_or(""),
    ] {
        // Length-prefix each field so no two different rows hash alike.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(super) fn append(
    tx: &Connection,
    ctx: &WriteCtx,
    action: &str,
    target: &str,
    outcome: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> ApiResult<()> {
    let last: Option<(i64, String)> = tx
        .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (id, prev) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let before = before.map(|v| v.to_string());
    let after = after.map(|v| v.to_string());
    let actor = ctx.actor.label();
    let hash = digest(
        &prev,
        id,
        Some(ctx.org),
        ctx.now,
        &actor,
        &ctx.source,
        action,
        target,
        outcome,
        before.as_deref(),
        after.as_deref(),
    );
    tx.execute(
        "INSERT INTO audit (id, org_id, at, actor, source, action, target, outcome, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![id, ctx.org, ctx.now, actor, ctx.source, action, target, outcome, before, after, prev, hash],
    )?;
    Ok(())
}

fn parse(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Walks the whole chain; used by `stewardd audit verify` and the API.
pub fn verify(conn: &Connection) -> ApiResult<ChainCheck> {
    let mut stmt = conn.prepare(
        "SELECT id, org_id, at, actor, source, action, target, outcome, before, after, prev_hash, hash FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_owned();
    let mut expected_id = 1;
    let mut records = 0;
    while let Some(r) = rows.next()? {
        records += 1;
        let id: i64 = r.get(0)?;
        let before: Option<String> = r.get(8)?;
        let after: Option<String> = r.get(9)?;
        let prev_hash: String = r.get(10)?;
        let hash: String = r.get(11)?;
        let broken = |problem: &str| ChainCheck {
            records,
            ok: false,
            broken_at: Some(id),
            problem: Some(problem.to_owned()),
        };
        if id != expected_id {
            return Ok(broken(&format!("record {expected_id} is missing")));
        }
        if prev_hash != prev {
            return Ok(broken("the link to the previous record does not match"));
        }
        let computed = digest(
            &prev,
            id,
            r.get(1)?,
            r.get(2)?,
            &r.get::<_, String>(3)?,
            &r.get::<_, String>(4)?,
            &r.get::<_, String>(5)?,
            &r.get::<_, String>(6)?,
            &r.get::<_, String>(7)?,
            before.as_deref(),
            after.as_deref(),
        );
        if computed != hash {
            return Ok(broken("the record was changed after it was written"));
        }
        prev = hash;
        expected_id += 1;
    }
    Ok(ChainCheck {
        records,
        ok: true,
        broken_at: None,
        problem: None,
    })
}

impl AuditStore for SqliteStore {
    fn audit_page(&self, org: i64, q: &AuditQuery) -> ApiResult<Vec<AuditEntry>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, org_id, at, actor, source, action, target, outcome, before, after, hash FROM audit
                 WHERE org_id = ?1
                   AND (?2 IS NULL OR actor = ?2)
                   AND (?3 IS NULL OR action = ?3)
                   AND (?4 IS NULL OR target = ?4)
                   AND (?5 IS NULL OR outcome = ?5)
                   AND (?6 IS NULL OR id < ?6)
                 ORDER BY id DESC LIMIT ?7",
            )?;
            let rows = stmt.query_map(
                params![
                    org,
                    q.actor,
                    q.action,
                    q.target,
                    q.outcome,
                    q.before_id,
                    q.limit.clamp(1, 500)
                ],
                |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        org_id: r.get(1)?,
                        at: r.get(2)?,
                        actor: r.get(3)?,
                        source: r.get(4)?,
                        action: r.get(5)?,
                        target: r.get(6)?,
                        outcome: r.get(7)?,
                        before: parse(r.get(8)?),
                        after: parse(r.get(9)?),
                        hash: r.get(10)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn audit_verify(&self) -> ApiResult<ChainCheck> {
        self.read(verify)
    }

    fn audit_event(
        &self,
        ctx: &WriteCtx,
        action: &str,
        target: &str,
        outcome: &str,
        detail: Value,
    ) -> ApiResult<()> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        append(&tx, ctx, action, target, outcome, None, Some(detail))?;
        tx.commit()?;
        Ok(())
    }

    fn replay(&self, principal: &str, key: &str) -> ApiResult<Option<Replay>> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    "SELECT request_hash, status, body FROM idempotency WHERE principal = ?1 AND key = ?2",
                    params![principal, key],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, u16>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    },
                )
                .optional()?;
            Ok(row.map(|(request_hash, status, body)| Replay {
                request_hash,
                status,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
            }))
        })
    }
}
