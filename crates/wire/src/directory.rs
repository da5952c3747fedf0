//! Groups, projects, assets, grants, the hierarchy and legacy imports.

#![allow(unused_imports)] // each module uses a different part of the model

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::*;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AssetRow {
    pub id: i64,
    pub project_id: i64,
    pub kind: AssetKind,
    pub name: String,
    pub creator_id: Option<i64>,
    pub agents: Vec<i64>,
    pub config: Value,
    pub version: i64,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: String,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: ProjectRow,
    pub roles: Vec<GrantBody<ProjectRole>>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct GrantBody<R> {
    pub grantee: Grantee,
    /// `null` removes the grant.
    pub role: Option<R>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    pub kind: AssetKind,
    pub name: String,
    #[serde(default)]
    pub agents: Vec<i64>,
    #[serde(default)]
    pub config: Option<Value>,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct AssetDetail {
    #[serde(flatten)]
    pub asset: AssetRow,
    pub roles: Vec<GrantBody<AssetRole>>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    pub name: Option<String>,
    pub agents: Option<Vec<i64>>,
    pub config: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyImport {
    pub assignments: Vec<LegacyRow>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyRow {
    pub user: i64,
    pub project: i64,
    pub role: String,
}

/// A migrated legacy viewer as stored: who, on which project, and what they were set to since
/// (`none` when the grant was removed), if anything.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LegacyReviewEntry {
    pub user: i64,
    pub project: i64,
    pub migrated_to: ProjectRole,
    pub resolved_to: Option<String>,
}

/// `GET /legacy-review`: one migrated viewer to review, with the choices and the reason.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LegacyReviewRow {
    #[serde(flatten)]
    pub entry: LegacyReviewEntry,
    /// The project role the user holds now (directly), if any.
    pub current: Option<ProjectRole>,
    pub options: Vec<ProjectRole>,
    pub why: String,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct NodeBody {
    pub id: u32,
    pub name: String,
    pub parent: Option<u32>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub name: String,
    pub parent: Option<i64>,
}
