//! What the console's views show, computed from the cache (so they work offline) through the
//! shared model. Every view carries how old its data is.

use serde::Serialize;
use steward_model::{OrgRole, Permission, Plant, Principal, UserId};
use ts_rs::TS;

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct DataAge {
    /// When the cache last heard from the platform (ms since the epoch), if ever.
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
