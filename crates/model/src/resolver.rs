//! The resolver: `decide(principal, action, resource)` returns a decision with its reasons, as
//! a value. The console runs it offline on cached data; the platform runs the same code to
//! enforce. Everything else here (effective access, who-can, previews) is built on `decide`,
//! so the answers can never disagree with enforcement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::catalog::{PermSet, Permission};
use crate::error::ModelError;
use crate::ids::{AssetId, GroupId, KeyId, NodeId, Principal, ProjectId, Resource, UserId};
use crate::index::{Index, UserHot};
use crate::plant::{ApiKey, Change, Plant};
use crate::roles::{ActionSet, AssetAction, AssetKind, AssetRole, OrgRole, ProjectAction, ProjectRole};

/// What is being asked: a catalog permission (org level, or on a hierarchy node), or a project
/// or asset action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Org(Permission),
    Project(ProjectAction),
    Asset(AssetAction),
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Org(p) => p.name(),
            Action::Project(a) => a.name(),
            Action::Asset(a) => a.name(),
        }
    }

    /// Parses `events.manage`, `project.delete` or `asset.run` style names.
    pub fn parse(name: &str) -> Result<Action, ModelError> {
        if let Some(a) = ProjectAction::parse(name) {
            return Ok(Action::Project(a));
        }
        if let Some(a) = AssetAction::parse(name) {
            return Ok(Action::Asset(a));
        }
        Permission::parse(name).map(Action::Org)
    }
}

impl From<Permission> for Action {
    fn from(p: Permission) -> Action {
        Action::Org(p)
    }
}

impl From<ProjectAction> for Action {
    fn from(a: ProjectAction) -> Action {
        Action::Project(a)
    }
}

impl From<AssetAction> for Action {
    fn from(a: AssetAction) -> Action {
        Action::Asset(a)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Action::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// How a grant reached the principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "group", rename_all = "snake_case")]
pub enum Via {
    Direct,
    Group(GroupId),
}

/// One reason of a decision. Allow reasons name a grant; deny reasons name what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    // ----- why it is allowed
    /// The user's org role includes the permission.
    OrgRole {
        role: OrgRole,
    },
    /// Org owners and admins are project admin everywhere (and so asset admin on every asset).
    OrgCascade {
        role: OrgRole,
    },
    ProjectRole {
        project: ProjectId,
        role: ProjectRole,
        via: Via,
    },
    /// Project admins and editors are asset admin on every asset of their project.
    ProjectCascade {
        project: ProjectId,
        role: ProjectRole,
        via: Via,
    },
    AssetRole {
        asset: AssetId,
        role: AssetRole,
        via: Via,
    },
    /// The API key's permission set includes the permission.
    KeyPermission {
        key: KeyId,
    },
    /// The resource lies within one of the key's hierarchy scopes.
    KeyScope {
        key: KeyId,
        scope: NodeId,
    },

    // ----- why it is denied
    UnknownPrincipal,
    UnknownResource,
    UserDeactivated {
        user: UserId,
    },
    KeyDisabled {
        key: KeyId,
    },
    /// The action does not apply to that kind of resource.
    NotApplicable,
    /// API keys hold catalog permissions only, never project or asset roles.
    KeyHoldsCatalogOnly {
        key: KeyId,
    },
    /// The org role lacks the permission; `lowest` is the lowest role that has it.
    OrgRoleLacks {
        role: OrgRole,
        permission: Permission,
        lowest: OrgRole,
    },
    KeyLacks {
        key: KeyId,
        permission: Permission,
    },
    OutOfScope {
        key: KeyId,
        node: NodeId,
    },
    /// A key scoped to hierarchy subtrees holds device-plane permissions per node only, never
    /// org-wide.
    ScopedKeyNeedsNode {
        key: KeyId,
        permission: Permission,
    },
    /// No project role at all, directly or through a group.
    NotInProject {
        project: ProjectId,
    },
    /// The best project role held does not allow the action.
    ProjectRoleLacks {
        project: ProjectId,
        role: ProjectRole,
        action: ProjectAction,
    },
    /// No grant on the asset at `needed` or above.
    NoAssetGrant {
        asset: AssetId,
        needed: AssetRole,
    },
    /// An asset grant would allow it, but the project role limits what asset grants give.
    CappedByProjectRole {
        asset: AssetId,
        project_role: ProjectRole,
        ceiling: AssetRole,
    },
    /// Running a workforce needs run access to each of its agents.
    CannotRunAgent {
        workforce: AssetId,
        agent: AssetId,
    },
}

impl Reason {
    /// Does this reason explain an allow (a grant) rather than a deny?
    pub const fn is_grant(&self) -> bool {
        matches!(
            self,
            Reason::OrgRole { .. }
                | Reason::OrgCascade { .. }
                | Reason::ProjectRole { .. }
                | Reason::ProjectCascade { .. }
                | Reason::AssetRole { .. }
                | Reason::KeyPermission { .. }
                | Reason::KeyScope { .. }
        )
    }
}

pub type Reasons = SmallVec<[Reason; 2]>;

/// A decision: allowed or not, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    pub reasons: Reasons,
}

impl Decision {
    fn allow(reasons: Reasons) -> Decision {
        Decision {
            allowed: true,
            reasons,
        }
    }

    fn deny(reason: Reason) -> Decision {
        let mut reasons = Reasons::new();
        reasons.push(reason);
        Decision {
            allowed: false,
            reasons,
        }
    }
}

/// The result of a workforce run check: the decision and every agent the principal cannot run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkforceCheck {
    pub decision: Decision,
    pub missing_agents: Vec<AssetId>,
}

/// Everything one principal may do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EffectiveAccess {
    pub org: PermSet,
    pub projects: BTreeMap<ProjectId, ActionSet>,
    pub assets: BTreeMap<AssetId, ActionSet>,
}

/// One permission gained or lost by one principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessDelta {
    pub principal: Principal,
    pub action: Action,
    /// Where: `None` for org level.
    pub on: Option<Target>,
    pub gained: bool,
}

/// The project or asset a project/asset action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    Project(ProjectId),
    Asset(AssetId),
}

impl Plant {
    /// Decides whether `principal` may do `action` on `resource`. Missing means deny.
    pub fn decide(&self, principal: Principal, action: impl Into<Action>, resource: Resource) -> Decision {
        let action = action.into();
        match principal {
            Principal::User(id) => {
                let index = self.index.get(self);
                match index.user(id.0) {
                    None => Decision::deny(Reason::UnknownPrincipal),
                    Some(user) if !user.active => Decision::deny(Reason::UserDeactivated { user: id }),
                    Some(user) => self.decide_user(index, user, action, resource),
                }
            }
            Principal::Key(id) => match self.key(id) {
                None => Decision::deny(Reason::UnknownPrincipal),
                Some(key) if !key.enabled => Decision::deny(Reason::KeyDisabled { key: id }),
                Some(key) => self.decide_key(id, key, action, resource),
            },
        }
    }

    /// Builds the resolver's read index now instead of on the first decision after a change,
    /// so a server can pay for it while loading rather than inside a request.
    pub fn prepare(&self) {
        let _ = self.index.get(self);
    }

    /// `decide(..).allowed`.
    #[inline]
    pub fn allows(&self, principal: Principal, action: impl Into<Action>, resource: Resource) -> bool {
        self.decide(principal, action, resource).allowed
    }

    fn decide_user(&self, index: &Index, user: &UserHot, action: Action, resource: Resource) -> Decision {
        match (action, resource) {
            (Action::Org(permission), Resource::Org) => org_decision(user.role, permission),
            (Action::Org(permission), Resource::Node(node)) => match self.node(node) {
                Some(_) => org_decision(user.role, permission),
                None => Decision::deny(Reason::UnknownResource),
            },
            (Action::Project(action), Resource::Project(project)) => {
                decide_project(index, user, action, project)
            }
            (Action::Asset(action), Resource::Asset(asset)) => self.decide_asset(index, user, action, asset),
            _ => Decision::deny(Reason::NotApplicable),
        }
    }

    fn decide_asset(
        &self,
        index: &Index,
        user: &UserHot,
        action: AssetAction,
        asset_id: AssetId,
    ) -> Decision {
        let Some(asset) = index.asset(asset_id) else {
            return Decision::deny(Reason::UnknownResource);
        };
        let project = asset.project;
        let needed = action.min_role();
        if action.changes_asset() {
            let permission = asset.kind.manage_permission();
            if !user.role.permissions().contains(permission) {
                return Decision::deny(Reason::OrgRoleLacks {
                    role: user.role,
                    permission,
                    lowest: permission.info().min_org_role,
                });
            }
        }
        let mut reasons = Reasons::new();
        // The most an explicit asset grant may give: set by the project roles held.
        let mut ceiling: Option<AssetRole> = None;
        let mut best_project_role: Option<ProjectRole> = None;
        if user.role.is_project_admin_everywhere() {
            reasons.push(Reason::OrgCascade { role: user.role });
            ceiling = Some(AssetRole::Admin);
        }
        for (role, group) in index.project_roles(user, project) {
            if role.is_asset_admin_everywhere() {
                reasons.push(Reason::ProjectCascade {
                    project,
                    role,
                    via: via(group),
                });
            }
            ceiling = ceiling.max(Some(role.asset_ceiling()));
            best_project_role = best_project_role.max(Some(role));
        }
        let mut capped = false;
        for (role, group) in index.asset_roles(user, asset_id) {
            if role >= needed {
                match ceiling {
                    Some(c) if c >= needed => reasons.push(Reason::AssetRole {
                        asset: asset_id,
                        role,
                        via: via(group),
                    }),
                    Some(_) => capped = true,
                    None => {}
                }
            }
        }
        if reasons.is_empty() {
            let reason = match (ceiling, best_project_role) {
                (None, _) => Reason::NotInProject { project },
                (Some(ceiling), Some(project_role)) if capped => Reason::CappedByProjectRole {
                    asset: asset_id,
                    project_role,
                    ceiling,
                },
                _ => Reason::NoAssetGrant {
                    asset: asset_id,
                    needed,
                },
            };
            return Decision::deny(reason);
        }
        if action == AssetAction::Run && asset.kind == AssetKind::Workforce {
            let agents = self.asset(asset_id).map(|a| a.agents()).unwrap_or_default();
            let missing: Reasons = agents
                .iter()
                .filter(|agent| !self.decide_asset(index, user, AssetAction::Run, **agent).allowed)
                .map(|agent| Reason::CannotRunAgent {
                    workforce: asset_id,
                    agent: *agent,
                })
                .collect();
            if !missing.is_empty() {
                return Decision {
                    allowed: false,
                    reasons: missing,
                };
            }
        }
        Decision::allow(reasons)
    }

    fn decide_key(&self, id: KeyId, key: &ApiKey, action: Action, resource: Resource) -> Decision {
        let Action::Org(permission) = action else {
            return Decision::deny(Reason::KeyHoldsCatalogOnly { key: id });
        };
        let node = match resource {
            Resource::Org => None,
            Resource::Node(node) if self.node(node).is_some() => Some(node),
            Resource::Node(_) => return Decision::deny(Reason::UnknownResource),
            Resource::Project(_) | Resource::Asset(_) => {
                return Decision::deny(Reason::KeyHoldsCatalogOnly { key: id });
            }
        };
        if !key.permissions.contains(permission) {
            return Decision::deny(Reason::KeyLacks { key: id, permission });
        }
        let scoped = !key.scopes.is_empty();
        if scoped && node.is_none() && permission.module().info().iot_path.is_some() {
            return Decision::deny(Reason::ScopedKeyNeedsNode { key: id, permission });
        }
        let mut reasons = Reasons::new();
        reasons.push(Reason::KeyPermission { key: id });
        if let (Some(node), true) = (node, scoped) {
            match key.scopes.iter().find(|scope| self.node_within(node, **scope)) {
                Some(scope) => reasons.push(Reason::KeyScope {
                    key: id,
                    scope: *scope,
                }),
                None => return Decision::deny(Reason::OutOfScope { key: id, node }),
            }
        }
        Decision::allow(reasons)
    }

    /// May `principal` create an asset of `kind` in `project`? Needs the project action
    /// `create_assets` and the org role's module `manage` for that kind.
    pub fn decide_create_asset(&self, principal: Principal, project: ProjectId, kind: AssetKind) -> Decision {
        let module = self.decide(principal, kind.manage_permission(), Resource::Org);
        if !module.allowed {
            return module;
        }
        self.decide(principal, ProjectAction::CreateAssets, Resource::Project(project))
    }

    /// Checks a workforce run, naming every agent the principal cannot run.
    pub fn check_workforce_run(&self, principal: Principal, workforce: AssetId) -> WorkforceCheck {
        let decision = self.decide(principal, AssetAction::Run, Resource::Asset(workforce));
        let missing_agents = decision
            .reasons
            .iter()
            .filter_map(|r| match r {
                Reason::CannotRunAgent { agent, .. } => Some(*agent),
                _ => None,
            })
            .collect();
        WorkforceCheck {
            decision,
            missing_agents,
        }
    }

    // ----- effective access ---------------------------------------------------------------

    /// The catalog permissions a principal holds at org level.
    pub fn org_permissions(&self, principal: Principal) -> PermSet {
        match principal {
            Principal::User(id) => match self.user(id) {
                Some(u) if u.active => u.org_role.permissions(),
                _ => PermSet::EMPTY,
            },
            Principal::Key(id) => match self.key(id) {
                // A scoped key holds its device-plane permissions per node, not org-wide.
                Some(k) if k.enabled && !k.scopes.is_empty() => PermSet::of(
                    k.permissions
                        .iter()
                        .filter(|p| p.module().info().iot_path.is_none()),
                ),
                Some(k) if k.enabled => k.permissions,
                _ => PermSet::EMPTY,
            },
        }
    }

    pub fn project_actions(&self, principal: Principal, project: ProjectId) -> ActionSet {
        ProjectAction::ALL
            .iter()
            .filter(|a| self.allows(principal, **a, Resource::Project(project)))
            .fold(ActionSet::EMPTY, |set, a| {
                set.union(ActionSet::of_project_action(*a))
            })
    }

    pub fn asset_actions(&self, principal: Principal, asset: AssetId) -> ActionSet {
        AssetAction::ALL
            .iter()
            .filter(|a| self.allows(principal, **a, Resource::Asset(asset)))
            .fold(ActionSet::EMPTY, |set, a| {
                set.union(ActionSet::of_asset_action(*a))
            })
    }

    /// Everything a principal may do, at every level.
    pub fn effective_access(&self, principal: Principal) -> EffectiveAccess {
        let mut access = EffectiveAccess {
            org: self.org_permissions(principal),
            ..EffectiveAccess::default()
        };
        let Principal::User(id) = principal else {
            return access;
        };
        let Some(user) = self.user(id).filter(|u| u.active) else {
            return access;
        };
        let mut projects: Vec<ProjectId> = if user.org_role.is_project_admin_everywhere() {
            self.projects().map(|(id, _)| id).collect()
        } else {
            let mut held: Vec<ProjectId> = user.grants.projects.iter().map(|(p, _)| *p).collect();
            for g in user.groups.iter().filter_map(|g| self.group(*g)) {
                held.extend(g.grants.projects.iter().map(|(p, _)| *p));
            }
            held
        };
        projects.sort_unstable();
        projects.dedup();
        let mut assets: Vec<AssetId> = user.grants.assets.iter().map(|(a, _)| *a).collect();
        for g in user.groups.iter().filter_map(|g| self.group(*g)) {
            assets.extend(g.grants.assets.iter().map(|(a, _)| *a));
        }
        for project in &projects {
            let actions = self.project_actions(principal, *project);
            if actions.is_empty() {
                continue;
            }
            access.projects.insert(*project, actions);
            if actions.contains_project(ProjectAction::ViewAllAssets) {
                if let Some(p) = self.project(*project) {
                    assets.extend(p.assets.iter().copied());
                }
            }
        }
        assets.sort_unstable();
        assets.dedup();
        for asset in assets {
            let actions = self.asset_actions(principal, asset);
            if !actions.is_empty() {
                access.assets.insert(asset, actions);
            }
        }
        access
    }

    /// The org-level effective matrix: one permission set per user, in the order given.
    pub fn effective_matrix(&self, users: &[UserId]) -> Vec<PermSet> {
        users
            .iter()
            .map(|u| self.org_permissions(Principal::User(*u)))
            .collect()
    }

    /// Who can do `action` on `resource`, each with the reasons. Only principals whose grants
    /// could reach the resource are checked, so this does not scan every binding.
    pub fn who_can(&self, action: impl Into<Action>, resource: Resource) -> Vec<(Principal, Decision)> {
        let action = action.into();
        let mut candidates: Vec<Principal> = Vec::new();
        match action {
            Action::Org(permission) => {
                let lowest = permission.info().min_org_role;
                candidates.extend(
                    self.users()
                        .filter(|(_, u)| u.active && u.org_role >= lowest)
                        .map(|(id, _)| Principal::User(id)),
                );
                candidates.extend(
                    self.keys()
                        .filter(|(_, k)| k.enabled && k.permissions.contains(permission))
                        .map(|(id, _)| Principal::Key(id)),
                );
            }
            Action::Project(_) | Action::Asset(_) => {
                let (project, asset) = match resource {
                    Resource::Project(p) => (Some(p), None),
                    Resource::Asset(a) => (self.asset(a).map(|a| a.project), self.asset(a)),
                    _ => (None, None),
                };
                // Org owners and admins reach every project; the index keeps them listed.
                candidates.extend(
                    self.index
                        .get(self)
                        .org_admins()
                        .iter()
                        .map(|u| Principal::User(*u)),
                );
                let project_grants = project.and_then(|p| self.project(p)).map(|p| p.grants.as_slice());
                let asset_grants = asset.map(|a| a.grants.as_slice());
                let grantees = project_grants
                    .unwrap_or_default()
                    .iter()
                    .map(|(g, _)| *g)
                    .chain(asset_grants.unwrap_or_default().iter().map(|(g, _)| *g));
                for grantee in grantees {
                    match grantee {
                        crate::ids::Grantee::User(u) => candidates.push(Principal::User(u)),
                        crate::ids::Grantee::Group(g) => {
                            if let Some(group) = self.group(g) {
                                candidates.extend(group.members.iter().map(|u| Principal::User(*u)));
                            }
                        }
                    }
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|p| (p, self.decide(p, action, resource)))
            .filter(|(_, d)| d.allowed)
            .collect()
    }

    /// Who gains and who loses what if `change` were applied: the preview shown before a role
    /// or grant change is saved. The plant itself is not changed.
    pub fn preview(&self, change: &Change) -> Result<Vec<AccessDelta>, ModelError> {
        let affected = self.affected_by(change);
        let mut after = self.clone();
        after.apply(change)?;
        let mut deltas = Vec::new();
        for principal in affected {
            let before = self.effective_access(principal);
            let now = after.effective_access(principal);
            diff_access(principal, &before, &now, &mut deltas);
        }
        deltas.sort_unstable();
        Ok(deltas)
    }

    fn affected_by(&self, change: &Change) -> Vec<Principal> {
        let group_members = |g: GroupId| -> Vec<Principal> {
            self.group(g)
                .map(|g| g.members.iter().map(|u| Principal::User(*u)).collect())
                .unwrap_or_default()
        };
        let grantee = |g: crate::ids::Grantee| match g {
            crate::ids::Grantee::User(u) => vec![Principal::User(u)],
            crate::ids::Grantee::Group(g) => group_members(g),
        };
        match change {
            Change::SetOrgRole { user, .. }
            | Change::SetUserActive { user, .. }
            | Change::SetGroupMember { user, .. } => {
                vec![Principal::User(*user)]
            }
            Change::SetProjectRole { grantee: g, .. } | Change::SetAssetRole { grantee: g, .. } => {
                grantee(*g)
            }
            Change::SetKeyPermissions { key, .. } => vec![Principal::Key(*key)],
        }
    }
}

fn via(group: Option<GroupId>) -> Via {
    group.map_or(Via::Direct, Via::Group)
}

fn decide_project(index: &Index, user: &UserHot, action: ProjectAction, project: ProjectId) -> Decision {
    if !index.project_exists(project) {
        return Decision::deny(Reason::UnknownResource);
    }
    let mut reasons = Reasons::new();
    if user.role.is_project_admin_everywhere() {
        reasons.push(Reason::OrgCascade { role: user.role });
    }
    let mut best: Option<ProjectRole> = None;
    for (role, group) in index.project_roles(user, project) {
        best = best.max(Some(role));
        if action.allowed_by(role) {
            reasons.push(Reason::ProjectRole {
                project,
                role,
                via: via(group),
            });
        }
    }
    if !reasons.is_empty() {
        return Decision::allow(reasons);
    }
    match best {
        None => Decision::deny(Reason::NotInProject { project }),
        Some(role) => Decision::deny(Reason::ProjectRoleLacks {
            project,
            role,
            action,
        }),
    }
}

fn org_decision(role: OrgRole, permission: Permission) -> Decision {
    if role.permissions().contains(permission) {
        let mut reasons = Reasons::new();
        reasons.push(Reason::OrgRole { role });
        Decision::allow(reasons)
    } else {
        Decision::deny(Reason::OrgRoleLacks {
            role,
            permission,
            lowest: permission.info().min_org_role,
        })
    }
}

fn diff_access(
    principal: Principal,
    before: &EffectiveAccess,
    after: &EffectiveAccess,
    out: &mut Vec<AccessDelta>,
) {
    for p in after.org.difference(before.org).iter() {
        out.push(AccessDelta {
            principal,
            action: Action::Org(p),
            on: None,
            gained: true,
        });
    }
    for p in before.org.difference(after.org).iter() {
        out.push(AccessDelta {
            principal,
            action: Action::Org(p),
            on: None,
            gained: false,
        });
    }
    let empty = ActionSet::EMPTY;
    let projects: BTreeSet<&ProjectId> = before.projects.keys().chain(after.projects.keys()).collect();
    for project in projects {
        let was = before.projects.get(project).copied().unwrap_or(empty);
        let now = after.projects.get(project).copied().unwrap_or(empty);
        for a in ProjectAction::ALL {
            let (had, has) = (was.contains_project(*a), now.contains_project(*a));
            if had != has {
                out.push(AccessDelta {
                    principal,
                    action: Action::Project(*a),
                    on: Some(Target::Project(*project)),
                    gained: has,
                });
            }
        }
    }
    let assets: BTreeSet<&AssetId> = before.assets.keys().chain(after.assets.keys()).collect();
    for asset in assets {
        let was = before.assets.get(asset).copied().unwrap_or(empty);
        let now = after.assets.get(asset).copied().unwrap_or(empty);
        for a in AssetAction::ALL {
            let (had, has) = (was.contains_asset(*a), now.contains_asset(*a));
            if had != has {
                out.push(AccessDelta {
                    principal,
                    action: Action::Asset(*a),
                    on: Some(Target::Asset(*asset)),
                    gained: has,
                });
            }
        }
    }
}
