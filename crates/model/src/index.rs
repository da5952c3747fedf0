//! The resolver's read index: what `decide` touches, packed small and contiguous so a check
//! costs a few cache lines even in a plant of a million bindings. It is derived from the plant
//! (built on first use after a change) and never edited in place.

use std::fmt;
use std::sync::OnceLock;

use crate::ids::{AssetId, GroupId, ProjectId, UserId};
use crate::plant::{Grants, Plant};
use crate::roles::{AssetKind, AssetRole, OrgRole, ProjectRole};

/// Group ids kept inline in a user's hot record; more spill into an arena.
const INLINE_GROUPS: usize = 3;

/// A slice of one of the arenas.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    at: u32,
    len: u32,
}

impl Span {
    fn of<T>(arena: &[T], slice: &[T]) -> Span {
        Span {
            at: u32::try_from(arena.len()).unwrap_or(u32::MAX),
            len: u32::try_from(slice.len()).unwrap_or(u32::MAX),
        }
    }

    #[inline]
    fn get<T>(self, arena: &[T]) -> &[T] {
        let start = self.at as usize;
        arena.get(start..start + self.len as usize).unwrap_or(&[])
    }
}

/// What `decide` needs of a user: 36 bytes, no pointers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserHot {
    pub(crate) role: OrgRole,
    pub(crate) active: bool,
    n_groups: u8,
    inline_groups: [GroupId; INLINE_GROUPS],
    more_groups: Span,
    projects: Span,
    assets: Span,
}

#[derive(Clone, Copy, Debug, Default)]
struct GroupHot {
    projects: Span,
    assets: Span,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AssetHot {
    pub(crate) project: ProjectId,
    pub(crate) kind: AssetKind,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    users: Vec<Option<UserHot>>,
    groups: Vec<Option<GroupHot>>,
    assets: Vec<Option<AssetHot>>,
    projects: Vec<bool>,
    project_grants: Vec<(ProjectId, ProjectRole)>,
    asset_grants: Vec<(AssetId, AssetRole)>,
    spilled_groups: Vec<GroupId>,
    /// Active org owners and admins: project admin everywhere, so candidates of every
    /// project or asset reverse lookup.
    org_admins: Vec<UserId>,
}

#[inline]
fn find<K: Ord + Copy, V: Copy>(sorted: &[(K, V)], key: K) -> Option<V> {
    // Grant lists are short: a linear scan beats binary search below a cache line or two.
    if sorted.len() <= 8 {
        return sorted.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    }
    sorted
        .binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .and_then(|i| sorted.get(i))
        .map(|(_, v)| *v)
}

impl Index {
    fn build(plant: &Plant) -> Index {
        let mut index = Index {
            users: Vec::with_capacity(plant.users.len()),
            groups: Vec::with_capacity(plant.groups.len()),
            assets: Vec::with_capacity(plant.assets.len()),
            projects: plant.projects.iter().map(Option::is_some).collect(),
            ..Index::default()
        };
        for (id, user) in (0u32..).zip(&plant.users) {
            if user
                .as_ref()
                .is_some_and(|u| u.active && u.org_role.is_project_admin_everywhere())
            {
                index.org_admins.push(UserId(id));
            }
            let hot = user.as_ref().map(|u| {
                let (projects, assets) = index.copy_grants(&u.grants);
                let mut inline_groups = [GroupId(u32::MAX); INLINE_GROUPS];
                for (slot, g) in inline_groups.iter_mut().zip(u.groups.iter()) {
                    *slot = *g;
                }
                let spill = u.groups.get(INLINE_GROUPS..).unwrap_or(&[]);
                let more_groups = Span::of(&index.spilled_groups, spill);
                index.spilled_groups.extend_from_slice(spill);
                UserHot {
                    role: u.org_role,
                    active: u.active,
                    n_groups: u8::try_from(u.groups.len().min(INLINE_GROUPS)).unwrap_or(0),
                    inline_groups,
                    more_groups,
                    projects,
                    assets,
                }
            });
            index.users.push(hot);
        }
        for group in &plant.groups {
            let hot = group.as_ref().map(|g| {
                let (projects, assets) = index.copy_grants(&g.grants);
                GroupHot { projects, assets }
            });
            index.groups.push(hot);
        }
        for asset in &plant.assets {
            index.assets.push(asset.as_ref().map(|a| AssetHot {
                project: a.project,
                kind: a.kind,
            }));
        }
        index
    }

    fn copy_grants(&mut self, grants: &Grants) -> (Span, Span) {
        let projects = Span::of(&self.project_grants, &grants.projects);
        self.project_grants.extend_from_slice(&grants.projects);
        let assets = Span::of(&self.asset_grants, &grants.assets);
        self.asset_grants.extend_from_slice(&grants.assets);
        (projects, assets)
    }

    #[inline]
    pub(crate) fn user(&self, id: u32) -> Option<&UserHot> {
        self.users.get(id as usize).and_then(Option::as_ref)
    }

    pub(crate) fn org_admins(&self) -> &[UserId] {
        &self.org_admins
    }

    #[inline]
    pub(crate) fn asset(&self, id: AssetId) -> Option<&AssetHot> {
        self.assets.get(id.index()).and_then(Option::as_ref)
    }

    #[inline]
    pub(crate) fn project_exists(&self, id: ProjectId) -> bool {
        self.projects.get(id.index()).copied().unwrap_or(false)
    }

    /// The user's groups, in the order they joined.
    #[inline]
    pub(crate) fn groups_of<'a>(&'a self, user: &'a UserHot) -> impl Iterator<Item = GroupId> + 'a {
        let inline = user.inline_groups.get(..user.n_groups as usize).unwrap_or(&[]);
        inline
            .iter()
            .chain(user.more_groups.get(&self.spilled_groups))
            .copied()
    }

    /// Project roles on `project`: directly, then through each group (with the group).
    #[inline]
    pub(crate) fn project_roles<'a>(
        &'a self,
        user: &'a UserHot,
        project: ProjectId,
    ) -> impl Iterator<Item = (ProjectRole, Option<GroupId>)> + 'a {
        let direct = find(user.projects.get(&self.project_grants), project).map(|r| (r, None));
        let via_groups = self.groups_of(user).filter_map(move |g| {
            let group = self.groups.get(g.index()).and_then(Option::as_ref)?;
            find(group.projects.get(&self.project_grants), project).map(|r| (r, Some(g)))
        });
        direct.into_iter().chain(via_groups)
    }

    /// Asset roles on `asset`: directly, then through each group (with the group).
    #[inline]
    pub(crate) fn asset_roles<'a>(
        &'a self,
        user: &'a UserHot,
        asset: AssetId,
    ) -> impl Iterator<Item = (AssetRole, Option<GroupId>)> + 'a {
        let direct = find(user.assets.get(&self.asset_grants), asset).map(|r| (r, None));
        let via_groups = self.groups_of(user).filter_map(move |g| {
            let group = self.groups.get(g.index()).and_then(Option::as_ref)?;
            find(group.assets.get(&self.asset_grants), asset).map(|r| (r, Some(g)))
        });
        direct.into_iter().chain(via_groups)
    }
}

/// The index slot of a plant: built on first use, dropped by every change.
#[derive(Clone, Default)]
pub(crate) struct IndexCell(OnceLock<Index>);

impl IndexCell {
    #[inline]
    pub(crate) fn get(&self, plant: &Plant) -> &Index {
        self.0.get_or_init(|| Index::build(plant))
    }

    pub(crate) fn invalidate(&mut self) {
        self.0 = OnceLock::new();
    }
}

// The index is derived data: plants compare and print by what they hold, not by whether it
// has been built yet.
impl fmt::Debug for IndexCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexCell")
    }
}
