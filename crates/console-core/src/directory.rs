//! The directory views: groups and their members, projects and assets with their grants, and
//! workforce readiness. Computed from the cached plant with pending changes applied, so they
//! work offline; whatever a queued change touches is marked `pending`.

use std::collections::HashSet;

use reqwest::Method;
use serde::Serialize;
use steward_model::{
    AssetId, AssetKind, Change, Grantee, GroupId, OrgRole, Plant, Principal, ProjectId, Reason, UserId,
};
use steward_wire::{InviteBody, Invited};
use ts_rs::TS;

use crate::api::to_value;
use crate::changes::GranteeRef;
use crate::console::{Console, plant_with_pending};
use crate::error::{CoreError, CoreResult};
use crate::outbox::{self, OutboxItem, OutboxState};
use crate::views::principal_name;

/// What queued (or contested) changes touch, so every view can mark it.
#[derive(Debug, Default)]
pub struct Pending {
    users: HashSet<UserId>,
    memberships: HashSet<(GroupId, UserId)>,
    project_grants: HashSet<(ProjectId, Grantee)>,
    asset_grants: HashSet<(AssetId, Grantee)>,
}

impl Pending {
    /// Failed changes are not marked: they will not be sent again.
    pub fn of(items: &[OutboxItem]) -> Pending {
        let mut p = Pending::default();
        for item in items.iter().filter(|i| i.state != OutboxState::Failed) {
            match item.change {
                Change::SetOrgRole { user, .. } | Change::SetUserActive { user, .. } => {
                    p.users.insert(user);
                }
                Change::SetGroupMember { group, user, .. } => {
                    p.users.insert(user);
                    p.memberships.insert((group, user));
                }
                Change::SetProjectRole { grantee, project, .. } => {
                    p.project_grants.insert((project, grantee));
                }
                Change::SetAssetRole { grantee, asset, .. } => {
                    p.asset_grants.insert((asset, grantee));
                }
                Change::SetKeyPermissions { .. } => {}
            }
        }
        p
    }

    pub fn user(&self, user: UserId) -> bool {
        self.users.contains(&user)
    }

    fn group(&self, group: GroupId) -> bool {
        self.memberships.iter().any(|(g, _)| *g == group)
    }

    fn project(&self, project: ProjectId) -> bool {
        self.project_grants.iter().any(|(p, _)| *p == project)
    }

    fn asset(&self, asset: AssetId) -> bool {
        self.asset_grants.iter().any(|(a, _)| *a == asset)
    }
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct MemberRow {
    pub id: u32,
    pub name: String,
    pub role: String,
    pub active: bool,
    /// A queued change adds or removes this membership.
    pub pending: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct GroupRow {
    pub id: u32,
    pub name: String,
    pub members: Vec<MemberRow>,
    /// What the group is granted: "project Line 3 Reliability: chat".
    pub grants: Vec<String>,
    /// A queued change adds or removes one of its members.
    pub pending: bool,
}

/// A project or asset role held by a person or a group.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct GrantRow {
    pub grantee: GranteeRef,
    pub name: String,
    pub role: String,
    /// For a group, how many people it holds; for a person, 1.
    pub people: u32,
    /// A queued change sets this grant.
    pub pending: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ProjectRow {
    pub id: u32,
    pub name: String,
    pub grants: Vec<GrantRow>,
    pub assets: u32,
    /// A queued change sets or removes a role on this project.
    pub pending: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct AssetRow {
    pub id: u32,
    pub name: String,
    pub kind: String,
    pub project: u32,
    pub project_name: String,
    pub creator: Option<String>,
    /// A workforce's agents, by name.
    pub agents: Vec<String>,
    pub grants: Vec<GrantRow>,
    /// A queued change sets or removes a grant on this asset.
    pub pending: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct PersonRef {
    pub id: u32,
    pub name: String,
}

/// A person who may not run a workforce, and why.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct Blocked {
    pub id: u32,
    pub name: String,
    /// The agents of the workforce this person cannot run (empty when the workforce itself is
    /// out of reach).
    pub missing_agents: Vec<String>,
    /// The resolver's reasons, in words.
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct WorkforceRow {
    pub id: u32,
    pub name: String,
    pub project_name: String,
    pub agents: Vec<String>,
    /// Active people who may run it.
    pub ready: Vec<PersonRef>,
    /// Active people who may run the workforce itself but not every agent in it.
    pub blocked: Vec<Blocked>,
    /// Active people with no run access to the workforce at all.
    pub no_access: u32,
    /// A queued change touches a grant on the workforce or one of its agents.
    pub pending: bool,
}

fn grantee_name(plant: &Plant, g: Grantee) -> String {
    match g {
        Grantee::User(u) => principal_name(plant, Principal::User(u)),
        Grantee::Group(id) => plant.group(id).map_or_else(|| id.to_string(), |g| g.name.clone()),
    }
}

fn people(plant: &Plant, g: Grantee) -> u32 {
    match g {
        Grantee::User(_) => 1,
        Grantee::Group(id) => plant
            .group(id)
            .map_or(0, |g| u32::try_from(g.members().len()).unwrap_or(u32::MAX)),
    }
}

fn grant_row(plant: &Plant, g: Grantee, role: &str, pending: bool) -> GrantRow {
    GrantRow {
        grantee: g.into(),
        name: grantee_name(plant, g),
        role: role.to_owned(),
        people: people(plant, g),
        pending,
    }
}

fn by_name<T>(rows: &mut [T], name: impl Fn(&T) -> &str) {
    rows.sort_by_key(|r| name(r).to_lowercase());
}

pub fn groups(plant: &Plant, pending: &Pending) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = plant
        .groups()
        .map(|(id, g)| {
            let mut members: Vec<MemberRow> = g
                .members()
                .iter()
                .filter_map(|u| {
                    plant.user(*u).map(|user| MemberRow {
                        id: u.0,
                        name: user.name.clone(),
                        role: user.org_role.name().to_owned(),
                        active: user.active,
                        pending: pending.memberships.contains(&(id, *u)),
                    })
                })
                .collect();
            by_name(&mut members, |m| &m.name);
            let projects = g.project_roles().iter().map(|(p, role)| {
                let name = plant
                    .project(*p)
                    .map_or_else(|| p.to_string(), |p| p.name.clone());
                format!("project {name}: {role}")
            });
            let assets = g.asset_roles().iter().map(|(a, role)| {
                let name = plant
                    .asset(*a)
                    .map_or_else(|| a.to_string(), |a| format!("{} {}", a.kind.name(), a.name));
                format!("{name}: {role}")
            });
            GroupRow {
                id: id.0,
                name: g.name.clone(),
                members,
                grants: projects.chain(assets).collect(),
                pending: pending.group(id),
            }
        })
        .collect();
    by_name(&mut rows, |g| &g.name);
    rows
}

pub fn projects(plant: &Plant, pending: &Pending) -> Vec<ProjectRow> {
    let mut rows: Vec<ProjectRow> = plant
        .projects()
        .map(|(id, p)| {
            let mut grants: Vec<GrantRow> = p
                .grants()
                .iter()
                .map(|(g, role)| {
                    grant_row(plant, *g, role.name(), pending.project_grants.contains(&(id, *g)))
                })
                .collect();
            by_name(&mut grants, |g| &g.name);
            ProjectRow {
                id: id.0,
                name: p.name.clone(),
                grants,
                assets: u32::try_from(p.assets().len()).unwrap_or(u32::MAX),
                pending: pending.project(id),
            }
        })
        .collect();
    by_name(&mut rows, |p| &p.name);
    rows
}

fn asset_name(plant: &Plant, id: AssetId) -> String {
    plant.asset(id).map_or_else(|| id.to_string(), |a| a.name.clone())
}

pub fn assets(plant: &Plant, pending: &Pending) -> Vec<AssetRow> {
    let mut rows: Vec<AssetRow> = plant
        .assets()
        .map(|(id, a)| {
            let mut grants: Vec<GrantRow> = a
                .grants()
                .iter()
                .map(|(g, role)| grant_row(plant, *g, role.name(), pending.asset_grants.contains(&(id, *g))))
                .collect();
            by_name(&mut grants, |g| &g.name);
            AssetRow {
                id: id.0,
                name: a.name.clone(),
                kind: a.kind.name().to_owned(),
                project: a.project.0,
                project_name: plant
                    .project(a.project)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                creator: a.creator.and_then(|u| plant.user(u)).map(|u| u.name.clone()),
                agents: a.agents().iter().map(|x| asset_name(plant, *x)).collect(),
                grants,
                pending: pending.asset(id),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.project_name.to_lowercase(), a.name.to_lowercase())
            .cmp(&(b.project_name.to_lowercase(), b.name.to_lowercase()))
    });
    rows
}

pub fn workforces(plant: &Plant, pending: &Pending) -> Vec<WorkforceRow> {
    let mut rows: Vec<WorkforceRow> = plant
        .assets()
        .filter(|(_, a)| a.kind == AssetKind::Workforce)
        .map(|(id, a)| {
            let mut ready = Vec::new();
            let mut blocked = Vec::new();
            let mut no_access = 0u32;
            for (user_id, user) in plant.users().filter(|(_, u)| u.active) {
                let check = plant.check_workforce_run(Principal::User(user_id), id);
                if check.decision.allowed {
                    ready.push(PersonRef {
                        id: user_id.0,
                        name: user.name.clone(),
                    });
                } else if check.missing_agents.is_empty() {
                    no_access = no_access.saturating_add(1);
                } else {
                    blocked.push(Blocked {
                        id: user_id.0,
                        name: user.name.clone(),
                        missing_agents: check
                            .missing_agents
                            .iter()
                            .map(|x| asset_name(plant, *x))
                            .collect(),
                        reasons: check
                            .decision
                            .reasons
                            .iter()
                            .filter(|r| matches!(r, Reason::CannotRunAgent { .. }))
                            .map(|r| plant.describe(r))
                            .collect(),
                    });
                }
            }
            by_name(&mut ready, |p| &p.name);
            by_name(&mut blocked, |p| &p.name);
            let touched = pending.asset(id) || a.agents().iter().any(|x| pending.asset(*x));
            WorkforceRow {
                id: id.0,
                name: a.name.clone(),
                project_name: plant
                    .project(a.project)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                agents: a.agents().iter().map(|x| asset_name(plant, *x)).collect(),
                ready,
                blocked,
                no_access,
                pending: touched,
            }
        })
        .collect();
    by_name(&mut rows, |w| &w.name);
    rows
}

/// A new invite as the console shows it once. The token is the secret of the invite link: it is
/// returned to the window and never cached, logged or kept by the console.
#[derive(Clone, Serialize, TS)]
#[ts(export)]
pub struct Invitation {
    pub email: String,
    pub role: String,
    /// When the link stops working (ms since the epoch).
    #[ts(type = "number")]
    pub expires_at: i64,
    pub token: String,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("token", &"<secret>")
            .finish()
    }
}

impl Console {
    /// The plant the views show and what queued changes touch.
    fn directory(&self) -> CoreResult<(Plant, Pending)> {
        self.with_open(|open| {
            let plant = plant_with_pending(open)?;
            let pending = Pending::of(&outbox::items(&open.cache)?);
            Ok((plant, pending))
        })
    }

    pub fn groups(&self) -> CoreResult<Vec<GroupRow>> {
        let (plant, pending) = self.directory()?;
        Ok(groups(&plant, &pending))
    }

    pub fn project_rows(&self) -> CoreResult<Vec<ProjectRow>> {
        let (plant, pending) = self.directory()?;
        Ok(projects(&plant, &pending))
    }

    pub fn asset_rows(&self) -> CoreResult<Vec<AssetRow>> {
        let (plant, pending) = self.directory()?;
        Ok(assets(&plant, &pending))
    }

    pub fn workforces(&self) -> CoreResult<Vec<WorkforceRow>> {
        let (plant, pending) = self.directory()?;
        Ok(workforces(&plant, &pending))
    }

    /// Invites someone by email with an org role. Online only: an invite is a new secret the
    /// platform mints, so offline it is `offline`, never queued.
    pub async fn invite(&self, email: &str, role: &str) -> CoreResult<Invitation> {
        let role =
            OrgRole::parse(role).ok_or_else(|| CoreError::Invalid(format!("`{role}` is not an org role")))?;
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(CoreError::Invalid(format!("`{email}` is not an email address")));
        }
        let (api, online) = self.with_open(|open| Ok((open.api.clone(), open.online)))?;
        if !online {
            // Try once anyway: the platform may be back since the last sync.
            if let Err(e) = self.sync(|_| {}).await {
                return Err(match e {
                    CoreError::Offline(_) => CoreError::Offline("an invite needs the platform".into()),
                    other => other,
                });
            }
        }
        let body = to_value(&InviteBody {
            email: email.to_owned(),
            role: Some(role),
        })?;
        let invited: Invited = api.call(Method::POST, "/invites", Some(&body)).await?;
        Ok(Invitation {
            email: invited.invite.email,
            role: invited.invite.role.name().to_owned(),
            expires_at: invited.invite.expires_at,
            token: invited.token,
        })
    }
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use steward_model::demo::{self, ids};

    #[test]
    fn workforce_readiness_names_the_missing_agent() {
        let plant = demo::plant().unwrap();
        let rows = workforces(&plant, &Pending::default());
        assert_eq!(rows.len(), 1);
        let handover = &rows[0];
        assert_eq!(handover.name, "Shift Handover");
        let henrik = handover
            .blocked
            .iter()
            .find(|b| b.name == "Henrik Larsen")
            .unwrap();
        assert_eq!(henrik.missing_agents, ["Thermal Inspector"]);
        assert!(handover.ready.iter().any(|p| p.name == "Marco Manager"));
        assert!(!handover.ready.iter().any(|p| p.name == "Henrik Larsen"));
    }

    #[test]
    fn grants_are_listed_with_names_and_group_sizes() {
        let plant = demo::plant().unwrap();
        let assets = assets(&plant, &Pending::default());
        let vibration = assets.iter().find(|a| a.id == ids::VIBRATION_AGENT.0).unwrap();
        let group = vibration
            .grants
            .iter()
            .find(|g| g.grantee == GranteeRef::Group(ids::SHIFT_A.0))
            .unwrap();
        assert_eq!((group.role.as_str(), group.people), ("member", 4));
        let groups = groups(&plant, &Pending::default());
        assert_eq!(groups[0].members.len(), 4);
        assert!(
            groups[0]
                .grants
                .iter()
                .any(|g| g == "project Line 3 Reliability: chat")
        );
    }
}
