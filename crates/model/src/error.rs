//! The one error type of the model.

use crate::catalog::Permission;
use crate::ids::{Principal, UserId};

/// What kind of thing an id named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Group,
    Project,
    Asset,
    ApiKey,
    HierarchyNode,
}

impl EntityKind {
    pub const fn name(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Project => "project",
            EntityKind::Asset => "asset",
            EntityKind::ApiKey => "api_key",
            EntityKind::HierarchyNode => "hierarchy_node",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("unknown permission `{name}`")]
    UnknownPermission { name: String },

    #[error("no {} with id {id}", kind.name())]
    UnknownEntity { kind: EntityKind, id: u32 },

    #[error("{} id {id} is above the largest supported id {max}", kind.name())]
    IdOutOfRange { kind: EntityKind, id: u32, max: u32 },

    #[error("user {user} is the last active owner; make someone else owner first")]
    LastOwner { user: UserId },

    #[error("{creator} cannot grant permissions it does not hold: {}", names(missing))]
    Escalation {
        creator: Principal,
        missing: Vec<Permission>,
    },

    #[error("{creator} cannot grant a scope wider than its own")]
    ScopeEscalation { creator: Principal },

    #[error("invalid permission JSON at `{path}`: {problem}")]
    PermissionJson { path: String, problem: String },

    #[error("hierarchy node {node} cannot be placed under {parent}: that would make a cycle")]
    HierarchyCycle { node: u32, parent: u32 },

    #[error("workforce {workforce} lists asset {agent}, which is not an agent of the same project")]
    InvalidWorkforceAgent { workforce: u32, agent: u32 },

    #[error("asset {asset} is a {kind}; only workforces list agents")]
    AgentsOnNonWorkforce { asset: u32, kind: &'static str },

    #[error("asset {asset} cannot change its project or kind; create a new asset instead")]
    AssetChange { asset: u32 },
}

impl ModelError {
    /// A stable machine-readable code for APIs and the UI to branch on.
    pub const fn code(&self) -> &'static str {
        match self {
            ModelError::UnknownPermission { .. } => "unknown_permission",
            ModelError::UnknownEntity { .. } => "not_found",
            ModelError::IdOutOfRange { .. } => "id_out_of_range",
            ModelError::LastOwner { .. } => "last_owner",
            ModelError::Escalation { .. } => "escalation",
            ModelError::ScopeEscalation { .. } => "scope_escalation",
            ModelError::PermissionJson { .. } => "invalid_permission_json",
            ModelError::HierarchyCycle { .. } => "hierarchy_cycle",
            ModelError::InvalidWorkforceAgent { .. } => "invalid_workforce_agent",
            ModelError::AgentsOnNonWorkforce { .. } => "agents_on_non_workforce",
            ModelError::AssetChange { .. } => "asset_change",
        }
    }
}

fn names(perms: &[Permission]) -> String {
    perms.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
}
