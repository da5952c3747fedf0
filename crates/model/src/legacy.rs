//! Migration from the legacy admin/editor/viewer project roles to RBAC project roles.

use serde::{Deserialize, Serialize};

use crate::ids::{Grantee, ProjectId, UserId};
use crate::plant::Change;
use crate::roles::ProjectRole;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegacyRole {
    Admin,
    Editor,
    Viewer,
}

impl LegacyRole {
    /// The default mapping of the RBAC document.
    pub const fn maps_to(self) -> ProjectRole {
        match self {
            LegacyRole::Admin => ProjectRole::Admin,
            LegacyRole::Editor => ProjectRole::Editor,
            LegacyRole::Viewer => ProjectRole::Viewer,
        }
    }

    pub fn parse(name: &str) -> Option<LegacyRole> {
        match name {
            "admin" => Some(LegacyRole::Admin),
            "editor" => Some(LegacyRole::Editor),
            "viewer" => Some(LegacyRole::Viewer),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyAssignment {
    pub user: UserId,
    pub project: ProjectId,
    pub role: LegacyRole,
}

/// A migrated viewer to review: legacy viewers could run agents, RBAC viewers cannot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub user: UserId,
    pub project: ProjectId,
    pub migrated_to: ProjectRole,
    /// What the administrator chooses from.
    pub options: [ProjectRole; 3],
    pub why: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyMigration {
    /// The project-role grants to apply.
    pub changes: Vec<Change>,
    /// Every migrated viewer, for review.
    pub review: Vec<ReviewItem>,
}

/// Maps legacy assignments to project roles and lists every migrated viewer for review.
pub fn migrate(assignments: &[LegacyAssignment]) -> LegacyMigration {
    let mut migration = LegacyMigration::default();
    for a in assignments {
        let role = a.role.maps_to();
        migration.changes.push(Change::SetProjectRole {
            grantee: Grantee::User(a.user),
            project: a.project,
            role: Some(role),
        });
        if a.role == LegacyRole::Viewer {
            migration.review.push(ReviewItem {
                user: a.user,
                project: a.project,
                migrated_to: role,
                options: [ProjectRole::Chat, ProjectRole::Viewer, ProjectRole::Member],
                why: "legacy viewers could run agents; RBAC viewers cannot run anything".to_owned(),
            });
        }
    }
    migration
}
