//! Reasons in words, with the names of the people, groups and things they refer to.

use crate::ids::{AssetId, GroupId, KeyId, NodeId, ProjectId, UserId};
use crate::plant::Plant;
use crate::resolver::{Reason, Via};

impl Plant {
    fn user_name(&self, id: UserId) -> String {
        self.user(id).map_or_else(|| id.to_string(), |u| u.name.clone())
    }

    fn group_name(&self, id: GroupId) -> String {
        self.group(id)
            .map_or_else(|| id.to_string(), |g| format!("group {}", g.name))
    }

    fn project_name(&self, id: ProjectId) -> String {
        self.project(id)
            .map_or_else(|| id.to_string(), |p| format!("project {}", p.name))
    }

    fn asset_name(&self, id: AssetId) -> String {
        self.asset(id)
            .map_or_else(|| id.to_string(), |a| format!("{} {}", a.kind.name(), a.name))
    }

    fn key_name(&self, id: KeyId) -> String {
        self.key(id)
            .map_or_else(|| id.to_string(), |k| format!("API key \"{}\"", k.name))
    }

    fn node_name(&self, id: NodeId) -> String {
        self.node(id).map_or_else(|| id.to_string(), |n| n.name.clone())
    }

    fn via(&self, via: Via) -> String {
        match via {
            Via::Direct => "directly".to_owned(),
            Via::Group(g) => format!("through {}", self.group_name(g)),
        }
    }

    /// One reason as a sentence a plant administrator can read.
    pub fn describe(&self, reason: &Reason) -> String {
        match *reason {
            Reason::OrgRole { role } => format!("org role {role} includes it"),
            Reason::OrgCascade { role } => {
                format!("org {role}s are project admin of every project")
            }
            Reason::ProjectRole { project, role, via } => {
                format!("{role} of {}, {}", self.project_name(project), self.via(via))
            }
            Reason::ProjectCascade { project, role, via } => format!(
                "{role} of {} ({}), which makes them admin of every asset in it",
                self.project_name(project),
                self.via(via)
            ),
            Reason::AssetRole { asset, role, via } => {
                let creator = self
                    .asset(asset)
                    .and_then(|a| a.creator)
                    .filter(|c| via == Via::Direct && self.user(*c).is_some());
                let note = if creator.is_some() && role == crate::roles::AssetRole::Admin {
                    " (creators become admin)"
                } else {
                    ""
                };
                format!("{role} of {}, {}{note}", self.asset_name(asset), self.via(via))
            }
            Reason::KeyPermission { key } => format!("{} holds it", self.key_name(key)),
            Reason::KeyScope { key, scope } => {
                format!("within {}'s scope {}", self.key_name(key), self.node_name(scope))
            }
            Reason::UnknownPrincipal => "no such user or API key".to_owned(),
            Reason::UnknownResource => "no such resource".to_owned(),
            Reason::UserDeactivated { user } => format!("{} is deactivated", self.user_name(user)),
            Reason::KeyDisabled { key } => format!("{} is disabled", self.key_name(key)),
            Reason::NotApplicable => "that action does not apply to this kind of resource".to_owned(),
            Reason::KeyHoldsCatalogOnly { key } => {
                format!(
                    "{} holds catalog permissions only, not project or asset roles",
                    self.key_name(key)
                )
            }
            Reason::OrgRoleLacks {
                role,
                permission,
                lowest,
            } => {
                format!("org role {role} lacks {permission}; {lowest} and above have it")
            }
            Reason::KeyLacks { key, permission } => {
                format!("{} lacks {permission}", self.key_name(key))
            }
            Reason::OutOfScope { key, node } => {
                format!(
                    "{} is outside {}'s hierarchy scope",
                    self.node_name(node),
                    self.key_name(key)
                )
            }
            Reason::ScopedKeyNeedsNode { key, permission } => format!(
                "{} is limited to parts of the hierarchy; {permission} holds only within them",
                self.key_name(key)
            ),
            Reason::NotInProject { project } => {
                format!("no role in {}", self.project_name(project))
            }
            Reason::ProjectRoleLacks {
                project,
                role,
                action,
            } => {
                let allowed: Vec<&str> = crate::roles::ProjectRole::ALL
                    .iter()
                    .filter(|r| action.allowed_by(**r))
                    .map(|r| r.name())
                    .collect();
                format!(
                    "{role} of {} cannot {}; needs {}",
                    self.project_name(project),
                    action.label().to_lowercase(),
                    allowed.join(" or ")
                )
            }
            Reason::NoAssetGrant { asset, needed } => {
                format!("needs {needed} or above on {}", self.asset_name(asset))
            }
            Reason::CappedByProjectRole {
                asset,
                project_role,
                ceiling,
            } => format!(
                "project {project_role}s get at most {ceiling} on {}",
                self.asset_name(asset)
            ),
            Reason::CannotRunAgent { agent, .. } => {
                format!("cannot run {}", self.asset_name(agent))
            }
        }
    }
}
