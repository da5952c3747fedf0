//! The plant: people, groups, projects, assets, API keys and the device hierarchy, indexed for
//! the resolver. Every mutation validates first and then writes, so an error leaves the plant
//! exactly as it was.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::catalog::PermSet;
use crate::error::{EntityKind, ModelError};
use crate::ids::{AssetId, Grantee, GroupId, KeyId, NodeId, ProjectId, UserId};
use crate::index::IndexCell;
use crate::roles::{AssetKind, AssetRole, OrgRole, ProjectRole};

/// Ids are row ids of the platform's tables; they index vectors here, so they are bounded.
pub const MAX_ID: u32 = 1 << 24;

/// Project and asset roles held by one grantee, sorted by id for binary search.
#[derive(Clone, Debug, Default)]
pub(crate) struct Grants {
    pub(crate) projects: Vec<(ProjectId, ProjectRole)>,
    pub(crate) assets: Vec<(AssetId, AssetRole)>,
}

/// Sets or removes `key`'s value, keeping the slice sorted; returns the previous value.
fn set_sorted<K: Ord + Copy, V: Copy>(sorted: &mut Vec<(K, V)>, key: K, value: Option<V>) -> Option<V> {
    match (sorted.binary_search_by_key(&key, |(k, _)| *k), value) {
        (Ok(i), Some(v)) => sorted.get_mut(i).map(|slot| std::mem::replace(&mut slot.1, v)),
        (Ok(i), None) => Some(sorted.remove(i).1),
        (Err(i), Some(v)) => {
            sorted.insert(i, (key, v));
            None
        }
        (Err(_), None) => None,
    }
}

fn set_member<T: Ord + Copy>(sorted: &mut Vec<T>, item: T, present: bool) {
    match (sorted.binary_search(&item), present) {
        (Err(i), true) => sorted.insert(i, item),
        (Ok(i), false) => {
            sorted.remove(i);
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub org_role: OrgRole,
    pub active: bool,
    pub(crate) groups: SmallVec<[GroupId; 4]>,
    pub(crate) grants: Grants,
}

impl User {
    pub fn groups(&self) -> &[GroupId] {
        &self.groups
    }

    pub fn project_roles(&self) -> &[(ProjectId, ProjectRole)] {
        &self.grants.projects
    }

    pub fn asset_roles(&self) -> &[(AssetId, AssetRole)] {
        &self.grants.assets
    }
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub(crate) members: Vec<UserId>,
    pub(crate) grants: Grants,
}

impl Group {
    pub fn members(&self) -> &[UserId] {
        &self.members
    }

    pub fn project_roles(&self) -> &[(ProjectId, ProjectRole)] {
        &self.grants.projects
    }

    pub fn asset_roles(&self) -> &[(AssetId, AssetRole)] {
        &self.grants.assets
    }
}

#[derive(Clone, Debug)]
pub struct Project {
    pub name: String,
    pub(crate) grants: Vec<(Grantee, ProjectRole)>,
    pub(crate) assets: Vec<AssetId>,
}

impl Project {
    pub fn grants(&self) -> &[(Grantee, ProjectRole)] {
        &self.grants
    }

    pub fn assets(&self) -> &[AssetId] {
        &self.assets
    }
}

#[derive(Clone, Debug)]
pub struct Asset {
    pub name: String,
    pub project: ProjectId,
    pub kind: AssetKind,
    pub creator: Option<UserId>,
    /// For a workforce: the agents it runs.
    pub(crate) agents: Vec<AssetId>,
    pub(crate) grants: Vec<(Grantee, AssetRole)>,
}

impl Asset {
    pub fn agents(&self) -> &[AssetId] {
        &self.agents
    }

    pub fn grants(&self) -> &[(Grantee, AssetRole)] {
        &self.grants
    }
}

/// An API key as the resolver sees it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub name: String,
    pub permissions: PermSet,
    /// Hierarchy subtrees the key is limited to; empty means the whole org.
    pub scopes: Vec<NodeId>,
    pub enabled: bool,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub parent: Option<NodeId>,
    pub(crate) children: Vec<NodeId>,
}

impl Node {
    pub fn children(&self) -> &[NodeId] {
        &self.children
    }
}

/// What a new or updated asset looks like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSpec {
    pub name: String,
    pub project: ProjectId,
    pub kind: AssetKind,
    /// Becomes asset admin when the asset is created.
    pub creator: Option<UserId>,
    /// A workforce's agents; must be agents of the same project.
    #[serde(default)]
    pub agents: Vec<AssetId>,
}

/// A change to who may do what: what previews diff, what the outbox queues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    SetOrgRole {
        user: UserId,
        role: OrgRole,
    },
    SetUserActive {
        user: UserId,
        active: bool,
    },
    SetGroupMember {
        group: GroupId,
        user: UserId,
        member: bool,
    },
    SetProjectRole {
        grantee: Grantee,
        project: ProjectId,
        role: Option<ProjectRole>,
    },
    SetAssetRole {
        grantee: Grantee,
        asset: AssetId,
        role: Option<AssetRole>,
    },
    SetKeyPermissions {
        key: KeyId,
        permissions: PermSet,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Plant {
    pub(crate) users: Vec<Option<User>>,
    pub(crate) groups: Vec<Option<Group>>,
    pub(crate) projects: Vec<Option<Project>>,
    pub(crate) assets: Vec<Option<Asset>>,
    pub(crate) keys: Vec<Option<ApiKey>>,
    pub(crate) nodes: Vec<Option<Node>>,
    /// The resolver's packed view of the above; every change drops it.
    pub(crate) index: IndexCell,
}

#[inline]
pub(crate) fn slot<T>(items: &[Option<T>], index: usize) -> Option<&T> {
    items.get(index).and_then(Option::as_ref)
}

fn slot_mut<T>(items: &mut [Option<T>], index: usize) -> Option<&mut T> {
    items.get_mut(index).and_then(Option::as_mut)
}

fn check_id(kind: EntityKind, id: u32) -> Result<(), ModelError> {
    if id >= MAX_ID {
        return Err(ModelError::IdOutOfRange {
            kind,
            id,
            max: MAX_ID - 1,
        });
    }
    Ok(())
}

fn place<T>(items: &mut Vec<Option<T>>, index: usize, value: T) {
    if items.len() <= index {
        items.resize_with(index + 1, || None);
    }
    if let Some(slot) = items.get_mut(index) {
        *slot = Some(value);
    }
}

fn missing(kind: EntityKind, id: u32) -> ModelError {
    ModelError::UnknownEntity { kind, id }
}

impl Plant {
    pub fn new() -> Plant {
        Plant::default()
    }

    // ----- reads -------------------------------------------------------------------------

    #[inline]
    pub fn user(&self, id: UserId) -> Option<&User> {
        slot(&self.users, id.index())
    }

    #[inline]
    pub fn group(&self, id: GroupId) -> Option<&Group> {
        slot(&self.groups, id.index())
    }

    #[inline]
    pub fn project(&self, id: ProjectId) -> Option<&Project> {
        slot(&self.projects, id.index())
    }

    #[inline]
    pub fn asset(&self, id: AssetId) -> Option<&Asset> {
        slot(&self.assets, id.index())
    }

    #[inline]
    pub fn key(&self, id: KeyId) -> Option<&ApiKey> {
        slot(&self.keys, id.index())
    }

    #[inline]
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        slot(&self.nodes, id.index())
    }

    pub fn users(&self) -> impl Iterator<Item = (UserId, &User)> {
        enumerate(&self.users).map(|(i, u)| (UserId(i), u))
    }

    pub fn groups(&self) -> impl Iterator<Item = (GroupId, &Group)> {
        enumerate(&self.groups).map(|(i, g)| (GroupId(i), g))
    }

    pub fn projects(&self) -> impl Iterator<Item = (ProjectId, &Project)> {
        enumerate(&self.projects).map(|(i, p)| (ProjectId(i), p))
    }

    pub fn assets(&self) -> impl Iterator<Item = (AssetId, &Asset)> {
        enumerate(&self.assets).map(|(i, a)| (AssetId(i), a))
    }

    pub fn keys(&self) -> impl Iterator<Item = (KeyId, &ApiKey)> {
        enumerate(&self.keys).map(|(i, k)| (KeyId(i), k))
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        enumerate(&self.nodes).map(|(i, n)| (NodeId(i), n))
    }

    /// How many role bindings the plant holds: org roles, group memberships, project and asset
    /// grants. The unit the benchmarks scale by.
    pub fn binding_count(&self) -> usize {
        let users: usize = self
            .users()
            .map(|(_, u)| 1 + u.groups.len() + u.grants.projects.len() + u.grants.assets.len())
            .sum();
        let groups: usize = self
            .groups()
            .map(|(_, g)| g.grants.projects.len() + g.grants.assets.len())
            .sum();
        users + groups
    }

    pub fn active_owners(&self) -> impl Iterator<Item = UserId> + '_ {
        self.users()
            .filter(|(_, u)| u.active && u.org_role == OrgRole::Owner)
            .map(|(id, _)| id)
    }

    /// Is `node` inside the subtree rooted at `root` (itself included)?
    pub fn node_within(&self, node: NodeId, root: NodeId) -> bool {
        let mut current = Some(node);
        // The hierarchy is acyclic (put_node refuses cycles); the bound guards a corrupt input.
        for _ in 0..self.nodes.len().saturating_add(1) {
            match current {
                Some(n) if n == root => return true,
                Some(n) => current = self.node(n).and_then(|n| n.parent),
                None => return false,
            }
        }
        false
    }

    // ----- writes ------------------------------------------------------------------------

    /// Adds a user or updates name, role and status of an existing one (keeping grants and
    /// groups). Refuses to demote or deactivate the last active owner.
    pub fn put_user(
        &mut self,
        id: UserId,
        name: impl Into<String>,
        org_role: OrgRole,
        active: bool,
    ) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::User, id.0)?;
        if let Some(user) = slot_mut(&mut self.users, id.index()) {
            let still_owner = active && org_role == OrgRole::Owner;
            if user.active && user.org_role == OrgRole::Owner && !still_owner {
                self.check_not_last_owner(id)?;
            }
            // Re-borrow after the check; the slot exists.
            if let Some(user) = slot_mut(&mut self.users, id.index()) {
                user.name = name.into();
                user.org_role = org_role;
                user.active = active;
            }
            return Ok(());
        }
        place(
            &mut self.users,
            id.index(),
            User {
                name: name.into(),
                org_role,
                active,
                groups: SmallVec::new(),
                grants: Grants::default(),
            },
        );
        Ok(())
    }

    fn check_not_last_owner(&self, leaving: UserId) -> Result<(), ModelError> {
        if self.active_owners().any(|o| o != leaving) {
            Ok(())
        } else {
            Err(ModelError::LastOwner { user: leaving })
        }
    }

    pub fn put_group(&mut self, id: GroupId, name: impl Into<String>) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::Group, id.0)?;
        if let Some(group) = slot_mut(&mut self.groups, id.index()) {
            group.name = name.into();
            return Ok(());
        }
        place(
            &mut self.groups,
            id.index(),
            Group {
                name: name.into(),
                members: Vec::new(),
                grants: Grants::default(),
            },
        );
        Ok(())
    }

    /// Removes a group with its memberships and grants.
    pub fn remove_group(&mut self, id: GroupId) -> Result<(), ModelError> {
        self.index.invalidate();
        let group = self
            .groups
            .get_mut(id.index())
            .and_then(Option::take)
            .ok_or_else(|| missing(EntityKind::Group, id.0))?;
        for user in &group.members {
            if let Some(u) = slot_mut(&mut self.users, user.index()) {
                u.groups.retain(|g| *g != id);
            }
        }
        self.forget_grantee(Grantee::Group(id), &group.grants);
        Ok(())
    }

    pub fn set_group_member(&mut self, group: GroupId, user: UserId, member: bool) -> Result<(), ModelError> {
        self.index.invalidate();
        self.user(user).ok_or_else(|| missing(EntityKind::User, user.0))?;
        let g =
            slot_mut(&mut self.groups, group.index()).ok_or_else(|| missing(EntityKind::Group, group.0))?;
        set_member(&mut g.members, user, member);
        if let Some(u) = slot_mut(&mut self.users, user.index()) {
            let at = u.groups.iter().position(|x| *x == group);
            match (at, member) {
                (None, true) => u.groups.push(group),
                (Some(i), false) => {
                    u.groups.remove(i);
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn put_project(&mut self, id: ProjectId, name: impl Into<String>) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::Project, id.0)?;
        if let Some(project) = slot_mut(&mut self.projects, id.index()) {
            project.name = name.into();
            return Ok(());
        }
        place(
            &mut self.projects,
            id.index(),
            Project {
                name: name.into(),
                grants: Vec::new(),
                assets: Vec::new(),
            },
        );
        Ok(())
    }

    /// Removes a project, its assets and every grant on them.
    pub fn remove_project(&mut self, id: ProjectId) -> Result<(), ModelError> {
        self.index.invalidate();
        let assets = self
            .project(id)
            .ok_or_else(|| missing(EntityKind::Project, id.0))?
            .assets
            .clone();
        for asset in assets {
            self.remove_asset(asset)?;
        }
        if let Some(project) = self.projects.get_mut(id.index()).and_then(Option::take) {
            for (grantee, _) in project.grants {
                if let Some(grants) = self.grants_mut(grantee) {
                    set_sorted(&mut grants.projects, id, None);
                }
            }
        }
        Ok(())
    }

    /// Grants `role` on `project` to a user or group, or removes their role (`None`).
    /// Returns the role held before.
    pub fn set_project_role(
        &mut self,
        grantee: Grantee,
        project: ProjectId,
        role: Option<ProjectRole>,
    ) -> Result<Option<ProjectRole>, ModelError> {
        self.index.invalidate();
        self.check_grantee(grantee)?;
        let p = slot_mut(&mut self.projects, project.index())
            .ok_or_else(|| missing(EntityKind::Project, project.0))?;
        set_sorted(&mut p.grants, grantee, role);
        Ok(self
            .grants_mut(grantee)
            .and_then(|g| set_sorted(&mut g.projects, project, role)))
    }

    /// Adds or updates an asset. A new asset's creator becomes its admin.
    pub fn put_asset(&mut self, id: AssetId, spec: AssetSpec) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::Asset, id.0)?;
        self.project(spec.project)
            .ok_or_else(|| missing(EntityKind::Project, spec.project.0))?;
        if let Some(creator) = spec.creator {
            self.user(creator)
                .ok_or_else(|| missing(EntityKind::User, creator.0))?;
        }
        if spec.kind != AssetKind::Workforce && !spec.agents.is_empty() {
            return Err(ModelError::AgentsOnNonWorkforce {
                asset: id.0,
                kind: spec.kind.name(),
            });
        }
        for agent in &spec.agents {
            let ok = self
                .asset(*agent)
                .is_some_and(|a| a.kind == AssetKind::Agent && a.project == spec.project);
            if !ok || *agent == id {
                return Err(ModelError::InvalidWorkforceAgent {
                    workforce: id.0,
                    agent: agent.0,
                });
            }
        }
        if let Some(existing) = slot_mut(&mut self.assets, id.index()) {
            if existing.project != spec.project || existing.kind != spec.kind {
                return Err(ModelError::AssetChange { asset: id.0 });
            }
            existing.name = spec.name;
            existing.agents = spec.agents;
            return Ok(());
        }
        place(
            &mut self.assets,
            id.index(),
            Asset {
                name: spec.name,
                project: spec.project,
                kind: spec.kind,
                creator: spec.creator,
                agents: spec.agents,
                grants: Vec::new(),
            },
        );
        if let Some(p) = slot_mut(&mut self.projects, spec.project.index()) {
            set_member(&mut p.assets, id, true);
        }
        if let Some(creator) = spec.creator {
            self.set_asset_role(Grantee::User(creator), id, Some(AssetRole::Admin))?;
        }
        Ok(())
    }

    /// Removes an asset and its grants, and takes it out of any workforce that lists it.
    pub fn remove_asset(&mut self, id: AssetId) -> Result<(), ModelError> {
        self.index.invalidate();
        let asset = self
            .assets
            .get_mut(id.index())
            .and_then(Option::take)
            .ok_or_else(|| missing(EntityKind::Asset, id.0))?;
        if let Some(p) = slot_mut(&mut self.projects, asset.project.index()) {
            set_member(&mut p.assets, id, false);
        }
        for (grantee, _) in &asset.grants {
            if let Some(grants) = self.grants_mut(*grantee) {
                set_sorted(&mut grants.assets, id, None);
            }
        }
        for other in self.assets.iter_mut().flatten() {
            other.agents.retain(|a| *a != id);
        }
        Ok(())
    }

    /// Grants `role` on `asset` to a user or group, or removes it (`None`). Returns the role
    /// held before.
    pub fn set_asset_role(
        &mut self,
        grantee: Grantee,
        asset: AssetId,
        role: Option<AssetRole>,
    ) -> Result<Option<AssetRole>, ModelError> {
        self.index.invalidate();
        self.check_grantee(grantee)?;
        let a =
            slot_mut(&mut self.assets, asset.index()).ok_or_else(|| missing(EntityKind::Asset, asset.0))?;
        set_sorted(&mut a.grants, grantee, role);
        Ok(self
            .grants_mut(grantee)
            .and_then(|g| set_sorted(&mut g.assets, asset, role)))
    }

    pub fn put_key(&mut self, id: KeyId, key: ApiKey) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::ApiKey, id.0)?;
        for scope in &key.scopes {
            self.node(*scope)
                .ok_or_else(|| missing(EntityKind::HierarchyNode, scope.0))?;
        }
        place(&mut self.keys, id.index(), key);
        Ok(())
    }

    pub fn remove_key(&mut self, id: KeyId) -> Result<ApiKey, ModelError> {
        self.index.invalidate();
        self.keys
            .get_mut(id.index())
            .and_then(Option::take)
            .ok_or_else(|| missing(EntityKind::ApiKey, id.0))
    }

    /// Adds a hierarchy node or renames/moves one; moves keep everything below it.
    pub fn put_node(
        &mut self,
        id: NodeId,
        name: impl Into<String>,
        parent: Option<NodeId>,
    ) -> Result<(), ModelError> {
        self.index.invalidate();
        check_id(EntityKind::HierarchyNode, id.0)?;
        if let Some(parent) = parent {
            self.node(parent)
                .ok_or_else(|| missing(EntityKind::HierarchyNode, parent.0))?;
            if self.node(id).is_some() && self.node_within(parent, id) {
                return Err(ModelError::HierarchyCycle {
                    node: id.0,
                    parent: parent.0,
                });
            }
            if parent == id {
                return Err(ModelError::HierarchyCycle {
                    node: id.0,
                    parent: parent.0,
                });
            }
        }
        let old_parent = match slot_mut(&mut self.nodes, id.index()) {
            Some(node) => {
                node.name = name.into();
                Some(std::mem::replace(&mut node.parent, parent))
            }
            None => {
                place(
                    &mut self.nodes,
                    id.index(),
                    Node {
                        name: name.into(),
                        parent,
                        children: Vec::new(),
                    },
                );
                None
            }
        };
        if let Some(Some(old)) = old_parent {
            if let Some(n) = slot_mut(&mut self.nodes, old.index()) {
                set_member(&mut n.children, id, false);
            }
        }
        if let Some(parent) = parent {
            if let Some(n) = slot_mut(&mut self.nodes, parent.index()) {
                set_member(&mut n.children, id, true);
            }
        }
        Ok(())
    }

    /// Applies a change to who may do what.
    pub fn apply(&mut self, change: &Change) -> Result<(), ModelError> {
        self.index.invalidate();
        match change {
            Change::SetOrgRole { user, role } => {
                let u = self
                    .user(*user)
                    .ok_or_else(|| missing(EntityKind::User, user.0))?;
                let (name, active) = (u.name.clone(), u.active);
                self.put_user(*user, name, *role, active)
            }
            Change::SetUserActive { user, active } => {
                let u = self
                    .user(*user)
                    .ok_or_else(|| missing(EntityKind::User, user.0))?;
                let (name, role) = (u.name.clone(), u.org_role);
                self.put_user(*user, name, role, *active)
            }
            Change::SetGroupMember { group, user, member } => self.set_group_member(*group, *user, *member),
            Change::SetProjectRole {
                grantee,
                project,
                role,
            } => self.set_project_role(*grantee, *project, *role).map(drop),
            Change::SetAssetRole { grantee, asset, role } => {
                self.set_asset_role(*grantee, *asset, *role).map(drop)
            }
            Change::SetKeyPermissions { key, permissions } => {
                let k = slot_mut(&mut self.keys, key.index())
                    .ok_or_else(|| missing(EntityKind::ApiKey, key.0))?;
                k.permissions = *permissions;
                Ok(())
            }
        }
    }

    fn check_grantee(&self, grantee: Grantee) -> Result<(), ModelError> {
        match grantee {
            Grantee::User(u) => self
                .user(u)
                .map(drop)
                .ok_or_else(|| missing(EntityKind::User, u.0)),
            Grantee::Group(g) => self
                .group(g)
                .map(drop)
                .ok_or_else(|| missing(EntityKind::Group, g.0)),
        }
    }

    fn grants_mut(&mut self, grantee: Grantee) -> Option<&mut Grants> {
        match grantee {
            Grantee::User(u) => slot_mut(&mut self.users, u.index()).map(|u| &mut u.grants),
            Grantee::Group(g) => slot_mut(&mut self.groups, g.index()).map(|g| &mut g.grants),
        }
    }

    fn forget_grantee(&mut self, grantee: Grantee, grants: &Grants) {
        for (project, _) in &grants.projects {
            if let Some(p) = slot_mut(&mut self.projects, project.index()) {
                set_sorted(&mut p.grants, grantee, None);
            }
        }
        for (asset, _) in &grants.assets {
            if let Some(a) = slot_mut(&mut self.assets, asset.index()) {
                set_sorted(&mut a.grants, grantee, None);
            }
        }
    }
}

fn enumerate<T>(items: &[Option<T>]) -> impl Iterator<Item = (u32, &T)> {
    // Ids are below MAX_ID (checked on insert), so they fit in u32.
    items
        .iter()
        .zip(0u32..)
        .filter_map(|(item, i)| item.as_ref().map(|item| (i, item)))
}
