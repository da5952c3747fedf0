//! The audit trail, the change feed, and who-can-do-what queries.

#![allow(unused_imports)] // each module uses a different part of the model

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::*;

use crate::DecisionBody;

fn default_audit_limit() -> u32 {
    100
}

fn default_changes_limit() -> u32 {
    500
}

#[derive(Clone, Debug, Serialize, PartialEq, Deserialize)]
pub struct ChangeRow {
    pub seq: i64,
    pub entity: String,
    pub entity_id: i64,
    pub op: String,
    pub version: i64,
    pub body: Option<Value>,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub org_id: Option<i64>,
    pub at: i64,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Deserialize)]
pub struct ChainCheck {
    pub records: u64,
    pub ok: bool,
    /// The first record whose hash or link does not match.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    pub principal: String,
    pub action: String,
    /// Defaults to `org`.
    #[serde(default)]
    pub resource: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WhoCanQuery {
    pub action: String,
    #[serde(default)]
    pub resource: Option<String>,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct WhoCanEntry {
    pub principal: Principal,
    pub name: String,
    pub decision: DecisionBody,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct DeltaBody {
    pub principal: Principal,
    pub action: Action,
    /// `null` for org level, else `{"kind": "project"|"asset", "id": n}`.
    pub on: Option<Target>,
    pub gained: bool,
    /// For people: "Henrik Larsen gains asset.run on workforce Shift Handover".
    pub text: String,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct PreviewBody {
    pub deltas: Vec<DeltaBody>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    pub before_id: Option<i64>,
    #[serde(default = "default_audit_limit")]
    pub limit: u32,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesParams {
    /// The `next` of the previous page; 0 (or absent) from the beginning.
    #[serde(default)]
    pub since: i64,
    #[serde(default = "default_changes_limit")]
    pub limit: u32,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct ChangesBody {
    pub changes: Vec<ChangeRow>,
    /// Pass as `since` for the next page. It moves past changes the caller may not see too.
    pub next: i64,
    /// True when the page was full: ask again with `next` for more.
    pub more: bool,
    /// The org's newest change when the page was read: how far a first sync has to go.
    #[serde(default)]
    pub head: i64,
}
