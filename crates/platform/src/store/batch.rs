//! Many writes in one transaction (`POST /batch`, the console's offline replay). Each item runs
//! in its own savepoint with its own journal and idempotent replay, exactly as it would alone,
//! so one item's refusal undoes only that item; the transaction commits once for all of them.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::Value;
use steward_model::{OrgRole, Plant};

use super::authz::{self, AuthzWrite};
use super::{Replay, SqliteStore, WriteCtx, audit, identity, journaled};
use crate::error::{ApiError, ApiResult};
use steward_wire::UserRow;

/// One write a batch item may make: the store calls of the routes the console's outbox uses.
pub enum BatchWrite {
    /// `PATCH /users/{id}`.
    UpdateUser {
        id: i64,
        role: Option<OrgRole>,
        active: Option<bool>,
        if_match: Option<i64>,
    },
    /// Group membership and project or asset grants.
    Authz(AuthzWrite),
}

pub trait BatchStore: Send + Sync {
    /// Runs `f` inside one write transaction, committed when `f` returns `Ok`; an `Err` rolls
    /// the whole batch back.
    fn batch(&self, f: &mut dyn FnMut(&mut BatchTx<'_>) -> ApiResult<()>) -> ApiResult<()>;
}

/// The open transaction of a batch.
pub struct BatchTx<'c> {
    tx: Transaction<'c>,
}

impl BatchTx<'_> {
    /// One item's write in a savepoint: on `Err` nothing of it remains, the batch goes on.
    pub fn write(&mut self, ctx: &WriteCtx, write: &BatchWrite) -> ApiResult<Value> {
        let savepoint = self.tx.savepoint()?;
        let value = journaled(&savepoint, ctx, |conn, journal| match write {
            BatchWrite::UpdateUser {
                id,
                role,
                active,
                if_match,
            } => identity::update_user(conn, journal, ctx, *id, *role, *active, *if_match)
                .and_then(|u| serde_json::to_value(u).map_err(|e| ApiError::Internal(e.to_string()))),
            BatchWrite::Authz(w) => authz::apply(conn, journal, ctx, w),
        })?;
        savepoint.commit()?;
        Ok(value)
    }

    /// The stored response for an idempotency key, including items earlier in this batch.
    pub fn replay(&self, principal: &str, key: &str) -> ApiResult<Option<Replay>> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT request_hash, status, body FROM idempotency WHERE principal = ?1 AND key = ?2",
            )?
            .query_row(params![principal, key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u16>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(request_hash, status, body)| Replay {
            request_hash,
            status,
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
        }))
    }

    /// An audit record outside any item's write (a refused item), kept when the batch commits.
    pub fn audit_event(
        &self,
        ctx: &WriteCtx,
        action: &str,
        target: &str,
        outcome: &str,
        detail: Value,
    ) -> ApiResult<()> {
        audit::append(&self.tx, ctx, action, target, outcome, None, Some(detail))
    }

    /// A user as this transaction sees it.
    pub fn user(&self, id: i64) -> ApiResult<Option<UserRow>> {
        identity::get_user(&self.tx, id)
    }

    /// The org's plant as this transaction sees it (earlier items included).
    pub fn load_plant(&self, org: i64) -> ApiResult<Plant> {
        authz::load_plant(&self.tx, org)
    }
}

impl BatchStore for SqliteStore {
    fn batch(&self, f: &mut dyn FnMut(&mut BatchTx<'_>) -> ApiResult<()>) -> ApiResult<()> {
        let mut conn = self.writer()?;
        let mut batch = BatchTx {
            tx: conn.transaction()?,
        };
        f(&mut batch)?;
        batch.tx.commit()?;
        Ok(())
    }
}
