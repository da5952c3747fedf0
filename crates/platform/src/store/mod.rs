//! The platform's store. Handlers see only the `Store` trait (one sub-trait per concern), so a
//! PostgreSQL store can replace SQLite behind it. The SQLite store runs in WAL mode, every write
//! is one transaction that also appends its audit records, its change-feed records and, when the
//! request carried an `Idempotency-Key`, the response to replay.

mod alerts;
mod audit;
pub mod authz;
mod batch;
mod commands;
mod devices;
mod feed;
mod identity;
mod keys;
pub mod migrations;
mod presence;
mod records;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OpenFlags, Transaction, params};
use serde::Serialize;
use serde_json::Value;

pub use alerts::{AlertQuery, AlertStore, NewAlert};
pub use audit::{AuditQuery, AuditStore};
pub use authz::AuthzStore;
pub use batch::{BatchStore, BatchTx, BatchWrite};
pub use commands::CommandStore;
pub use devices::{DeletedDevice, DeviceChange, DeviceStore, NodeChange, NodeEdit};
pub use feed::FeedStore;
pub use identity::{Credentials, IdentityStore, SessionRow};
pub use keys::{KeyStore, NewKey};
pub use presence::{PresenceStore, PresenceTransition, StoredPresence, TelemetryReading};
pub use records::{RecordInput, RecordStore};
// The rows clients see are wire types, shared with the console.
pub use steward_wire::{
    AssetRow, AuditEntry, ChainCheck, ChangeRow, GroupRow, InviteRow, KeyRow, OrgSettings, ProjectRow,
    RecordModule, RecordRow, UserRow,
};

use crate::error::{ApiError, ApiResult};

/// Everything the platform keeps.
pub trait Store:
    IdentityStore
    + AuthzStore
    + DeviceStore
    + KeyStore
    + RecordStore
    + AuditStore
    + FeedStore
    + BatchStore
    + PresenceStore
    + CommandStore
    + AlertStore
{
}
impl<
    T: IdentityStore
        + AuthzStore
        + DeviceStore
        + KeyStore
        + RecordStore
        + AuditStore
        + FeedStore
        + BatchStore
        + PresenceStore
        + CommandStore
        + AlertStore,
> Store for T
{
}

pub type OrgId = i64;

/// Who did something, as recorded in the audit trail and `created_by` columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    User(i64),
    Key(i64),
    /// The server itself (bootstrap, demo seeding).
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Key(id) => format!("key:{id}"),
            Actor::System => "system".to_owned(),
        }
    }
}

/// The context of one write: who, from where, when, and the request's idempotency key.
#[derive(Clone, Debug)]
pub struct WriteCtx {
    pub org: OrgId,
    pub actor: Actor,
    pub source: String,
    pub now: i64,
    /// `(key, hash of method + path + body)`.
    pub idempotency: Option<(String, String)>,
    /// The status the response will have, stored with the idempotent replay.
    pub status: u16,
}

/// What one write adds to the audit trail and the change feed.
#[derive(Default)]
pub struct Journal {
    audit: Vec<AuditDraft>,
    changes: Vec<ChangeDraft>,
}

struct AuditDraft {
    action: String,
    target: String,
    before: Option<Value>,
    after: Option<Value>,
}

struct ChangeDraft {
    entity: &'static str,
    entity_id: i64,
    op: &'static str,
    version: i64,
    body: Option<Value>,
}

impl Journal {
    /// Records a change for the audit trail (before/after as JSON; secrets never included).
    pub fn audit(&mut self, action: &str, target: String, before: Option<Value>, after: Option<Value>) {
        self.audit.push(AuditDraft {
            action: action.to_owned(),
            target,
            before,
            after,
        });
    }

    /// Records a change for the feed the console syncs from.
    pub fn change(
        &mut self,
        entity: &'static str,
        entity_id: i64,
        op: &'static str,
        version: i64,
        body: Option<Value>,
    ) {
        self.changes.push(ChangeDraft {
            entity,
            entity_id,
            op,
            version,
            body,
        });
    }
}

/// A stored response to replay for a repeated `Idempotency-Key`.
pub struct Replay {
    pub request_hash: String,
    pub status: u16,
    pub body: Value,
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

const READERS: usize = 4;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged write survives a power cut, not only a process kill.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database file.
    pub fn open(path: &Path) -> ApiResult<SqliteStore> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrations::migrations()
            .to_latest(&mut writer)
            .map_err(|e| ApiError::Internal(format!("migration failed: {e}")))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            readers.push(Mutex::new(conn));
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The writer connection, for single-statement writes outside `write` (session and login
    /// bookkeeping that the audit trail does not need).
    pub(crate) fn writer(&self) -> ApiResult<std::sync::MutexGuard<'_, Connection>> {
        self.writer
            .lock()
            .map_err(|_| ApiError::Internal("writer connection poisoned".to_owned()))
    }

    /// Runs a read on one of the reader connections.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> ApiResult<T>) -> ApiResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Some(slot) = self.readers.get((start + i) % self.readers.len()) {
                if let Ok(conn) = slot.try_lock() {
                    return f(&conn);
                }
            }
        }
        let slot = self
            .readers
            .get(start % self.readers.len().max(1))
            .ok_or_else(|| ApiError::Internal("no reader connections".to_owned()))?;
        let conn = slot
            .lock()
            .map_err(|_| ApiError::Internal("reader connection poisoned".to_owned()))?;
        f(&conn)
    }

    /// Runs a write in one transaction, appending the journal (audit, changes) and the
    /// idempotent replay in the same transaction: all of it lands, or none.
    pub(crate) fn write<T: Serialize>(
        &self,
        ctx: &WriteCtx,
        f: impl FnOnce(&Transaction, &mut Journal) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let value = journaled(&tx, ctx, |_, journal| f(&tx, journal))?;
        tx.commit()?;
        Ok(value)
    }
}

/// Runs `f` on `conn` (a transaction, or a batch item's savepoint), then appends its journal
/// and, with an idempotency key, the response to replay. The caller commits or rolls back.
fn journaled<T: Serialize>(
    conn: &Connection,
    ctx: &WriteCtx,
    f: impl FnOnce(&Connection, &mut Journal) -> ApiResult<T>,
) -> ApiResult<T> {
    let mut journal = Journal::default();
    let value = f(conn, &mut journal)?;
    for draft in journal.audit {
        audit::append(
            conn,
            ctx,
            &draft.action,
            &draft.target,
            "ok",
            draft.before,
            draft.after,
        )?;
    }
    for c in journal.changes {
        conn.prepare_cached(
            "INSERT INTO changes (org_id, entity, entity_id, op, version, body, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            ctx.org,
            c.entity,
            c.entity_id,
            c.op,
            c.version,
            c.body.map(|b| b.to_string()),
            ctx.now
        ])?;
    }
    if let Some((key, request_hash)) = &ctx.idempotency {
        let body = serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
        let stored = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO idempotency (principal, key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![ctx.actor.label(), key, request_hash, ctx.status, body, ctx.now])?;
        if stored == 0 {
            // A concurrent request with the same key committed first; this write rolls back.
            return Err(ApiError::conflict(
                "idempotency_conflict",
                "a request with this Idempotency-Key was in progress; retry to get its response",
            ));
        }
    }
    Ok(value)
}

/// 409 `name_taken` when another row of the org in `table` (a table with `org_id` and a
/// `NOCASE` `name`) has this name; `what` names it for the message ("a logical group").
pub(crate) fn check_name_free(
    conn: &Connection,
    table: &str,
    what: &str,
    org: OrgId,
    name: &str,
    except: Option<i64>,
) -> ApiResult<()> {
    let taken: bool = conn.query_row(
        &format!("SELECT EXISTS(SELECT 1 FROM {table} WHERE org_id = ?1 AND name = ?2 AND id IS NOT ?3)"),
        params![org, name, except],
        |r| r.get(0),
    )?;
    if taken {
        return Err(ApiError::conflict(
            "name_taken",
            format!("{what} named `{name}` already exists"),
        ));
    }
    Ok(())
}

/// Bumps an entity's version after checking `If-Match`; 412 with the current record on conflict.
pub(crate) fn check_version(
    current: i64,
    if_match: Option<i64>,
    current_body: impl FnOnce() -> Value,
) -> ApiResult<()> {
    match if_match {
        Some(expected) if expected != current => Err(ApiError::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "version_conflict",
            format!(
                "the record changed: you based your change on version {expected}, it is now at {current}"
            ),
        )
        .with_details(serde_json::json!({ "current": current_body() }))),
        _ => Ok(()),
    }
}
