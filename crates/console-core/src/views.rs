//! What the console's views show, computed from the cache (so they work offline) through the
//! shared model. Every view carries how old its data is.

use serde::Serialize;
use steward_model::{
    AssetAction, Change, Grantee, OrgRole, Permission, Plant, Principal, ProjectAction, Resource, UserId,
};
use steward_wire::DecisionBody;
use ts_rs::TS;

use crate::console::SessionInfo;
use crate::error::IpcError;
use crate::outbox::OutboxItem;
use crate::profiles::Profile;

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct DataAge {
    /// When the cache last heard from the platform (ms since the epoch), if ever.
    #[ts(type = "number | null")]
    pub synced_at: Option<i64>,
    /// Whether the last attempt to reach the platform succeeded.
    pub online: bool,
    /// Changes waiting in the outbox.
    pub pending: u32,
    pub conflicts: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct PermissionColumn {
    pub name: String,
    pub module: String,
    pub label: String,
    pub description: String,
}

/// Roles × catalog, straight from the catalog.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct RoleMatrix {
    pub roles: Vec<String>,
    pub permissions: Vec<PermissionColumn>,
    /// `cells[role][permission]`.
    pub cells: Vec<Vec<bool>>,
}

pub fn columns() -> Vec<PermissionColumn> {
    Permission::catalog()
        .map(|p| PermissionColumn {
            name: p.name.to_owned(),
            module: p.module.name().to_owned(),
            label: p.label.to_owned(),
            description: p.description.to_owned(),
        })
        .collect()
}

pub fn role_matrix() -> RoleMatrix {
    RoleMatrix {
        roles: OrgRole::ALL.iter().map(|r| r.name().to_owned()).collect(),
        permissions: columns(),
        cells: OrgRole::ALL
            .iter()
            .map(|r| {
                Permission::ALL
                    .iter()
                    .map(|p| r.permissions().contains(*p))
                    .collect()
            })
            .collect(),
    }
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct MatrixRow {
    pub user: u32,
    pub name: String,
    pub role: String,
    pub active: bool,
    /// A queued change touches this user.
    pub pending: bool,
    /// One flag per catalog permission, in catalog order.
    pub cells: Vec<bool>,
}

/// Users × catalog: what each user holds at org level, as the resolver decides it.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct EffectiveMatrix {
    pub permissions: Vec<PermissionColumn>,
    pub rows: Vec<MatrixRow>,
}

pub fn effective_matrix(plant: &Plant, filter: &str, pending_users: &[UserId]) -> EffectiveMatrix {
    let filter = filter.trim().to_lowercase();
    let ids: Vec<UserId> = plant
        .users()
        .filter(|(_, u)| {
            filter.is_empty() || u.name.to_lowercase().contains(&filter) || u.org_role.name() == filter
        })
        .map(|(id, _)| id)
        .collect();
    let sets = plant.effective_matrix(&ids);
    let rows = ids
        .iter()
        .zip(sets)
        .filter_map(|(id, set)| {
            let u = plant.user(*id)?;
            Some(MatrixRow {
                user: id.0,
                name: u.name.clone(),
                role: u.org_role.name().to_owned(),
                active: u.active,
                pending: pending_users.contains(id),
                cells: Permission::ALL.iter().map(|p| set.contains(*p)).collect(),
            })
        })
        .collect();
    EffectiveMatrix {
        permissions: columns(),
        rows,
    }
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct PersonRow {
    pub id: u32,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub groups: Vec<String>,
}

pub fn people(plant: &Plant) -> Vec<PersonRow> {
    plant
        .users()
        .map(|(id, u)| PersonRow {
            id: id.0,
            name: u.name.clone(),
            role: u.org_role.name().to_owned(),
            active: u.active,
            groups: u
                .groups()
                .iter()
                .filter_map(|g| plant.group(*g).map(|g| g.name.clone()))
                .collect(),
        })
        .collect()
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct AssetView {
    pub id: u32,
    pub name: String,
    pub kind: String,
    pub project: u32,
    pub project_name: String,
    pub agents: Vec<u32>,
}

pub fn assets(plant: &Plant) -> Vec<AssetView> {
    plant
        .assets()
        .map(|(id, a)| AssetView {
            id: id.0,
            name: a.name.clone(),
            kind: a.kind.name().to_owned(),
            project: a.project.0,
            project_name: plant
                .project(a.project)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            agents: a.agents().iter().map(|x| x.0).collect(),
        })
        .collect()
}

/// The principal's display name.
pub fn principal_name(plant: &Plant, p: Principal) -> String {
    match p {
        Principal::User(u) => plant
            .user(u)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| u.to_string()),
        Principal::Key(k) => plant
            .key(k)
            .map(|k| k.name.clone())
            .unwrap_or_else(|| k.to_string()),
    }
}

// ----- views the desktop app needs beyond the matrices ----------------------------------------

/// Something the explainer can ask about: a catalog permission (org level), a project action or
/// an asset action.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ActionOption {
    /// `events.manage`, `project.delete`, `asset.run`.
    pub name: String,
    pub label: String,
    /// `org`, `project` or `asset`: which kind of resource the action is about.
    pub scope: String,
}

pub fn actions() -> Vec<ActionOption> {
    let org = Permission::catalog().map(|p| ActionOption {
        name: p.name.to_owned(),
        label: p.label.to_owned(),
        scope: "org".to_owned(),
    });
    let project = ProjectAction::ALL.iter().map(|a| ActionOption {
        name: a.name().to_owned(),
        label: a.label().to_owned(),
        scope: "project".to_owned(),
    });
    let asset = AssetAction::ALL.iter().map(|a| ActionOption {
        name: a.name().to_owned(),
        label: a.label().to_owned(),
        scope: "asset".to_owned(),
    });
    org.chain(project).chain(asset).collect()
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ProjectView {
    pub id: u32,
    pub name: String,
}

pub fn projects(plant: &Plant) -> Vec<ProjectView> {
    plant
        .projects()
        .map(|(id, p)| ProjectView {
            id: id.0,
            name: p.name.clone(),
        })
        .collect()
}

/// One reason of a decision, for people.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ExplainReason {
    /// The resolver's reason (`org_role`, `project_cascade`, `cannot_run_agent`, ...).
    pub kind: String,
    pub message: String,
}

/// "Why / why not": a decision with names instead of ids.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct Explanation {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
    pub reasons: Vec<ExplainReason>,
}

/// How a resource is named in sentences: "the organization", "project Line 3", "workforce
/// Shift Handover".
pub fn resource_name(plant: &Plant, resource: Resource) -> String {
    match resource {
        Resource::Org => "the organization".to_owned(),
        Resource::Node(n) => plant
            .node(n)
            .map_or_else(|| n.to_string(), |node| format!("node {}", node.name)),
        Resource::Project(p) => plant
            .project(p)
            .map_or_else(|| p.to_string(), |project| format!("project {}", project.name)),
        Resource::Asset(a) => plant.asset(a).map_or_else(
            || a.to_string(),
            |asset| format!("{} {}", asset.kind.name(), asset.name),
        ),
    }
}

pub fn explanation(plant: &Plant, decision: &DecisionBody) -> Explanation {
    Explanation {
        principal: principal_name(plant, decision.principal),
        action: decision.action.name().to_owned(),
        resource: resource_name(plant, decision.resource),
        allowed: decision.allowed,
        reasons: decision
            .reasons
            .iter()
            .map(|r| ExplainReason {
                kind: serde_json::to_value(r.reason)
                    .ok()
                    .and_then(|v| v.get("reason").and_then(|k| k.as_str()).map(str::to_owned))
                    .unwrap_or_default(),
                message: r.message.clone(),
            })
            .collect(),
    }
}

/// A field of the server's current record, shown beside a conflicting change.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct RecordField {
    pub name: String,
    pub value: String,
}

/// An outbox item as the outbox panel shows it: what the change does, in words, and on a
/// conflict the server's side.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct OutboxEntry {
    pub item: OutboxItem,
    /// "Tomás Ortega: org role → member".
    pub summary: String,
    /// On a conflict: the server's current record, field by field (scalars, no ids or times).
    pub theirs: Vec<RecordField>,
}

fn grantee_name(plant: &Plant, grantee: Grantee) -> String {
    match grantee {
        Grantee::User(u) => principal_name(plant, Principal::User(u)),
        Grantee::Group(g) => plant
            .group(g)
            .map_or_else(|| g.to_string(), |group| format!("group {}", group.name)),
    }
}

/// A queued change in words.
pub fn describe_change(plant: &Plant, change: &Change) -> String {
    let user = |u: UserId| principal_name(plant, Principal::User(u));
    match change {
        Change::SetOrgRole { user: u, role } => format!("{}: org role → {}", user(*u), role.name()),
        Change::SetUserActive { user: u, active } => {
            format!(
                "{}: {}",
                user(*u),
                if *active { "reactivate" } else { "deactivate" }
            )
        }
        Change::SetGroupMember {
            group,
            user: u,
            member,
        } => {
            let group = plant
                .group(*group)
                .map_or_else(|| group.to_string(), |g| g.name.clone());
            let verb = if *member { "joins" } else { "leaves" };
            format!("{} {verb} group {group}", user(*u))
        }
        Change::SetProjectRole {
            grantee,
            project,
            role,
        } => format!(
            "{}: {} role → {}",
            grantee_name(plant, *grantee),
            resource_name(plant, Resource::Project(*project)),
            role.map_or("none", |r| r.name())
        ),
        Change::SetAssetRole { grantee, asset, role } => format!(
            "{}: {} role → {}",
            grantee_name(plant, *grantee),
            resource_name(plant, Resource::Asset(*asset)),
            role.map_or("none", |r| r.name())
        ),
        Change::SetKeyPermissions { key, permissions } => format!(
            "{}: permissions → {} of the catalog",
            principal_name(plant, Principal::Key(*key)),
            permissions.len()
        ),
    }
}

fn record_fields(server: Option<&serde_json::Value>) -> Vec<RecordField> {
    let Some(serde_json::Value::Object(fields)) = server else {
        return vec![];
    };
    fields
        .iter()
        // Row ids and timestamps say nothing to the person choosing a side.
        .filter(|(name, _)| name.as_str() != "id" && !name.ends_with("_id") && !name.ends_with("_at"))
        .filter_map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some(RecordField {
                name: name.clone(),
                value,
            })
        })
        .collect()
}

pub fn outbox_entries(plant: &Plant, items: Vec<OutboxItem>) -> Vec<OutboxEntry> {
    items
        .into_iter()
        .map(|item| OutboxEntry {
            summary: describe_change(plant, &item.change),
            theirs: record_fields(item.server.as_ref()),
            item,
        })
        .collect()
}

/// What the sign-in screen starts from: the cached profiles (for opening offline), a platform
/// and login to prefill (the demo sets them), whether the keyring answers, and the idle lock.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct Welcome {
    pub profiles: Vec<Profile>,
    pub platform_url: Option<String>,
    pub email: Option<String>,
    /// Only for the local demo, whose logins are printed anyway.
    pub password: Option<String>,
    /// Set when the system keyring does not answer: signing in online needs it.
    pub keyring: Option<IpcError>,
    /// Sign in at once with the prefilled login (the local demo).
    pub auto_sign_in: bool,
    /// Open the only cached profile offline at once with the prefilled password (benchmarks).
    pub auto_open_offline: bool,
    /// `startup` or `scroll`: measure, report with `bench_report`, and exit (benchmarks).
    pub bench: Option<String>,
    /// Set when the environment overrides the org's idle timeout (tests).
    pub idle_lock_seconds: Option<u32>,
    /// The profile already open in this process (the window was reloaded), if any.
    pub session: Option<SessionInfo>,
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use steward_model::demo::{self, ids};

    #[test]
    fn actions_cover_the_catalog_and_project_and_asset_actions() {
        let actions = actions();
        let scope = |name: &str| actions.iter().find(|a| a.name == name).map(|a| a.scope.as_str());
        assert_eq!(scope("events.manage"), Some("org"));
        assert_eq!(scope("project.delete"), Some("project"));
        assert_eq!(scope("asset.run"), Some("asset"));
        assert_eq!(
            actions.iter().filter(|a| a.scope == "org").count(),
            Permission::catalog().count()
        );
    }

    #[test]
    fn the_explanation_names_the_missing_agent_of_a_workforce() {
        let plant = demo::plant().unwrap();
        let principal = Principal::User(ids::COORDINATORS[1]);
        let action = steward_model::Action::Asset(AssetAction::Run);
        let resource = Resource::Asset(ids::HANDOVER_WORKFORCE);
        let decision = plant.decide(principal, action, resource);
        let x = explanation(
            &plant,
            &DecisionBody::new(&plant, principal, action, resource, &decision),
        );
        assert!(!x.allowed);
        assert_eq!(x.action, "asset.run");
        assert!(x.resource.starts_with("workforce "), "{}", x.resource);
        let missing = x.reasons.iter().find(|r| r.kind == "cannot_run_agent").unwrap();
        assert!(
            missing.message.contains("Thermal Inspector"),
            "{}",
            missing.message
        );
    }

    #[test]
    fn changes_read_as_sentences_and_conflicts_show_the_servers_fields() {
        let plant = demo::plant().unwrap();
        let tech = ids::TECHNICIANS[0];
        let name = principal_name(&plant, Principal::User(tech));
        let text = describe_change(
            &plant,
            &Change::SetOrgRole {
                user: tech,
                role: OrgRole::Member,
            },
        );
        assert_eq!(text, format!("{name}: org role → member"));

        let server = serde_json::json!({
            "id": 7, "org_id": 1, "name": "Aisha Bello", "role": "viewer", "active": true,
            "created_at": 1_795_433_746_895_i64, "version": 2, "groups": [1]
        });
        let fields = record_fields(Some(&server));
        let shown: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("name", "Aisha Bello"),
                ("role", "viewer"),
                ("active", "yes"),
                ("version", "2")
            ]
        );
        assert!(record_fields(None).is_empty());
    }
}
