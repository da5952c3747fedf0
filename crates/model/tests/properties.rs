//! Property tests of the permission model: the role ladder, implication, the resolver on random
//! small plants (deny by default, reasons, agreement with effective access, who-can and
//! previews), no-escalation for API keys, the IoT JSON format and the owner invariant.
//!
//! Plants are built through the public API from random operations; operations the plant
//! refuses are skipped, as a client's would be.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};
use steward_model::iot_json;
use steward_model::plant::User;
use steward_model::{
    AccessDelta, Action, ActionSet, ApiKey, AssetAction, AssetId, AssetKind, AssetRole, AssetSpec, Change,
    Decision, EffectiveAccess, Grantee, GroupId, KeyId, ModelError, Module, NodeId, OrgRole, PermSet,
    Permission, Plant, Principal, ProjectAction, ProjectId, ProjectRole, Resource, Target, UserId, Verb,
};

// ----- sizes of the random plants ---------------------------------------------------------

const USERS: u32 = 6;
const GROUPS: u32 = 3;
const PROJECTS: u32 = 2;
const ASSETS: u32 = 6;
const KEYS: u32 = 3;
const NODES: u32 = 5;

/// Case count for the properties over random plants; keeps the file well under 20 s in debug.
fn plant_config() -> Config {
    Config {
        cases: 256,
        // Do not write regression files next to the tests.
        failure_persistence: None,
        ..Config::default()
    }
}

fn cheap_config() -> Config {
    Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    }
}

// ----- random plants ----------------------------------------------------------------------

/// One call of the plant's public API.
#[derive(Clone, Debug)]
enum Op {
    PutUser {
        user: u32,
        role: OrgRole,
        active: bool,
    },
    PutGroup(u32),
    RemoveGroup(u32),
    SetMember {
        group: u32,
        user: u32,
        member: bool,
    },
    PutProject(u32),
    RemoveProject(u32),
    PutAsset {
        asset: u32,
        project: u32,
        kind: AssetKind,
        creator: Option<u32>,
        agents: Vec<u32>,
    },
    /// A workforce running some of the agents its project has.
    PutWorkforce {
        asset: u32,
        project: u32,
        creator: Option<u32>,
        agents: Vec<Index>,
    },
    RemoveAsset(u32),
    ProjectRole {
        grantee: Grantee,
        project: u32,
        role: Option<ProjectRole>,
    },
    AssetRole {
        grantee: Grantee,
        asset: u32,
        role: Option<AssetRole>,
    },
    /// An asset role on one of the plant's workforces (they are rare among random ids).
    WorkforceRole {
        grantee: Grantee,
        workforce: Index,
        role: AssetRole,
    },
    PutKey {
        key: u32,
        permissions: PermSet,
        scopes: Vec<u32>,
        enabled: bool,
    },
    RemoveKey(u32),
    PutNode {
        node: u32,
        parent: Option<u32>,
    },
}

fn org_role() -> impl Strategy<Value = OrgRole> {
    select(OrgRole::ALL.to_vec())
}

fn project_role() -> impl Strategy<Value = ProjectRole> {
    select(ProjectRole::ALL.to_vec())
}

fn asset_role() -> impl Strategy<Value = AssetRole> {
    select(AssetRole::ALL.to_vec())
}

fn permission() -> impl Strategy<Value = Permission> {
    select(Permission::ALL)
}

/// A permission set: a few permissions, a random half of the catalog, a role's set, all or
/// nothing.
fn perm_set() -> impl Strategy<Value = PermSet> {
    prop_oneof![
        3 => prop::collection::vec(permission(), 0..5).prop_map(PermSet::of),
        3 => prop::collection::vec(any::<bool>(), Permission::ALL.len()).prop_map(|bits| {
            PermSet::of(
                Permission::ALL
                    .iter()
                    .zip(bits)
                    .filter(|(_, on)| *on)
                    .map(|(p, _)| *p),
            )
        }),
        2 => org_role().prop_map(OrgRole::permissions),
        1 => Just(PermSet::all()),
        1 => Just(PermSet::EMPTY),
    ]
}

fn grantee() -> impl Strategy<Value = Grantee> {
    prop_oneof![
        3 => (0..USERS).prop_map(|u| Grantee::User(UserId(u))),
        2 => (0..GROUPS).prop_map(|g| Grantee::Group(GroupId(g))),
    ]
}

/// Operations that lay the ground: people, groups, projects and the hierarchy.
fn base_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..USERS, org_role(), prop::bool::weighted(0.85))
            .prop_map(|(user, role, active)| Op::PutUser { user, role, active }),
        1 => (0..GROUPS).prop_map(Op::PutGroup),
        2 => (0..PROJECTS).prop_map(Op::PutProject),
        2 => (0..NODES, prop::option::weighted(0.5, 0..NODES))
            .prop_map(|(node, parent)| Op::PutNode { node, parent }),
    ]
}

fn asset_op() -> impl Strategy<Value = Op> {
    (
        0..ASSETS,
        0..PROJECTS,
        prop_oneof![
            3 => Just(AssetKind::Agent),
            1 => Just(AssetKind::Tool),
            1 => Just(AssetKind::Knowledge),
        ],
        prop::option::weighted(0.6, 0..USERS),
        // Agents on a non-workforce are refused; sometimes try.
        prop_oneof![9 => Just(Vec::new()), 1 => prop::collection::vec(0..ASSETS, 1..2)],
    )
        .prop_map(|(asset, project, kind, creator, agents)| Op::PutAsset {
            asset,
            project,
            kind,
            creator,
            agents,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => base_op(),
        4 => (0..GROUPS, 0..USERS, prop::bool::weighted(0.8))
            .prop_map(|(group, user, member)| Op::SetMember { group, user, member }),
        6 => asset_op(),
        4 => (
            0..ASSETS,
            0..PROJECTS,
            prop::option::weighted(0.6, 0..USERS),
            prop::collection::vec(any::<Index>(), 1..4),
        )
            .prop_map(|(asset, project, creator, agents)| Op::PutWorkforce {
                asset,
                project,
                creator,
                agents,
            }),
        6 => (grantee(), 0..PROJECTS, prop::option::weighted(0.85, project_role()))
            .prop_map(|(grantee, project, role)| Op::ProjectRole { grantee, project, role }),
        6 => (grantee(), 0..ASSETS, prop::option::weighted(0.85, asset_role()))
            .prop_map(|(grantee, asset, role)| Op::AssetRole { grantee, asset, role }),
        4 => (
            0..KEYS,
            perm_set(),
            prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(0..NODES, 1..3)],
            prop::bool::weighted(0.8),
        )
            .prop_map(|(key, permissions, scopes, enabled)| Op::PutKey {
                key,
                permissions,
                scopes,
                enabled,
            }),
        4 => (grantee(), any::<Index>(), asset_role())
            .prop_map(|(grantee, workforce, role)| Op::WorkforceRole { grantee, workforce, role }),
        1 => (0..GROUPS).prop_map(Op::RemoveGroup),
        1 => (0..PROJECTS).prop_map(Op::RemoveProject),
        1 => (0..ASSETS).prop_map(Op::RemoveAsset),
        1 => (0..KEYS).prop_map(Op::RemoveKey),
    ]
}

/// The ground of a random plant: most users, groups and projects exist, and the nodes form a
/// forest (each node's parent, if any, has a lower id).
fn ground_ops() -> impl Strategy<Value = Vec<Op>> {
    (
        prop::collection::vec(
            prop::option::weighted(0.85, (org_role(), prop::bool::weighted(0.85))),
            USERS as usize,
        ),
        prop::collection::vec(prop::bool::weighted(0.8), GROUPS as usize),
        prop::collection::vec(prop::bool::weighted(0.9), PROJECTS as usize),
        prop::collection::vec(
            prop::option::weighted(0.85, any::<Option<Index>>()),
            NODES as usize,
        ),
        prop::collection::vec(prop::option::weighted(0.7, asset_op()), ASSETS as usize),
        prop::collection::vec(
            prop::option::weighted(0.6, (0..PROJECTS, project_role())),
            USERS as usize,
        ),
    )
        .prop_map(|(users, groups, projects, nodes, assets, memberships)| {
            let mut ops = Vec::new();
            for (user, spec) in (0..).zip(users) {
                if let Some((role, active)) = spec {
                    ops.push(Op::PutUser { user, role, active });
                }
            }
            for (group, present) in (0..).zip(groups) {
                if present {
                    ops.push(Op::PutGroup(group));
                }
            }
            for (project, present) in (0..).zip(projects) {
                if present {
                    ops.push(Op::PutProject(project));
                }
            }
            for (node, spec) in (0u32..).zip(nodes) {
                if let Some(parent) = spec {
                    let parent = parent
                        .filter(|_| node > 0)
                        .and_then(|i| u32::try_from(i.index(node as usize)).ok());
                    ops.push(Op::PutNode { node, parent });
                }
            }
            ops.extend(assets.into_iter().flatten());
            for (user, membership) in (0..).zip(memberships) {
                if let Some((project, role)) = membership {
                    ops.push(Op::ProjectRole {
                        grantee: Grantee::User(UserId(user)),
                        project,
                        role: Some(role),
                    });
                }
            }
            ops
        })
}

/// The operations of a random plant: the ground, then anything.
fn plant_ops() -> impl Strategy<Value = Vec<Op>> {
    (ground_ops(), prop::collection::vec(op(), 0..48)).prop_map(|(mut ops, more)| {
        ops.extend(more);
        ops
    })
}

/// Applies the operations, skipping the ones the plant refuses.
fn build(ops: &[Op]) -> Plant {
    let mut plant = Plant::new();
    for op in ops {
        // A refused operation leaves the plant as it was; the next one goes on.
        let _ = apply_op(&mut plant, op);
    }
    plant
}

fn apply_op(plant: &mut Plant, op: &Op) -> Result<(), ModelError> {
    match op.clone() {
        Op::PutUser { user, role, active } => {
            plant.put_user(UserId(user), format!("user {user}"), role, active)
        }
        Op::PutGroup(g) => plant.put_group(GroupId(g), format!("group {g}")),
        Op::RemoveGroup(g) => plant.remove_group(GroupId(g)),
        Op::SetMember { group, user, member } => plant.set_group_member(GroupId(group), UserId(user), member),
        Op::PutProject(p) => plant.put_project(ProjectId(p), format!("project {p}")),
        Op::RemoveProject(p) => plant.remove_project(ProjectId(p)),
        Op::PutAsset {
            asset,
            project,
            kind,
            creator,
            agents,
        } => plant.put_asset(
            AssetId(asset),
            AssetSpec {
                name: format!("asset {asset}"),
                project: ProjectId(project),
                kind,
                creator: creator.map(UserId),
                agents: agents.into_iter().map(AssetId).collect(),
            },
        ),
        Op::PutWorkforce {
            asset,
            project,
            creator,
            agents,
        } => {
            let project = ProjectId(project);
            let candidates: Vec<AssetId> = plant
                .assets()
                .filter(|(id, a)| a.kind == AssetKind::Agent && a.project == project && id.0 != asset)
                .map(|(id, _)| id)
                .collect();
            let mut agents: Vec<AssetId> = if candidates.is_empty() {
                Vec::new()
            } else {
                agents.iter().map(|i| *i.get(&candidates)).collect()
            };
            agents.sort_unstable();
            agents.dedup();
            plant.put_asset(
                AssetId(asset),
                AssetSpec {
                    name: format!("workforce {asset}"),
                    project,
                    kind: AssetKind::Workforce,
                    creator: creator.map(UserId),
                    agents,
                },
            )
        }
        Op::WorkforceRole {
            grantee,
            workforce,
            role,
        } => {
            let workforces: Vec<AssetId> = plant
                .assets()
                .filter(|(_, a)| a.kind == AssetKind::Workforce)
                .map(|(id, _)| id)
                .collect();
            if workforces.is_empty() {
                return Ok(());
            }
            plant
                .set_asset_role(grantee, *workforce.get(&workforces), Some(role))
                .map(drop)
        }
        Op::RemoveAsset(a) => plant.remove_asset(AssetId(a)),
        Op::ProjectRole {
            grantee,
            project,
            role,
        } => plant
            .set_project_role(grantee, ProjectId(project), role)
            .map(drop),
        Op::AssetRole { grantee, asset, role } => {
            plant.set_asset_role(grantee, AssetId(asset), role).map(drop)
        }
        Op::PutKey {
            key,
            permissions,
            scopes,
            enabled,
        } => plant.put_key(
            KeyId(key),
            ApiKey {
                name: format!("key {key}"),
                permissions,
                scopes: scopes.into_iter().map(NodeId).collect(),
                enabled,
            },
        ),
        Op::RemoveKey(k) => plant.remove_key(KeyId(k)).map(drop),
        Op::PutNode { node, parent } => {
            plant.put_node(NodeId(node), format!("node {node}"), parent.map(NodeId))
        }
    }
}

// ----- random questions -------------------------------------------------------------------

/// An id below `known` (mostly existing ones), one just above, or one far out of range.
fn id(known: u32) -> impl Strategy<Value = u32> {
    prop_oneof![
        12 => 0..known,
        1 => known..known + 2,
        1 => Just(u32::MAX),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        3 => id(USERS).prop_map(|u| Principal::User(UserId(u))),
        2 => id(KEYS).prop_map(|k| Principal::Key(KeyId(k))),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => permission().prop_map(Action::Org),
        1 => select(ProjectAction::ALL).prop_map(Action::Project),
        1 => select(AssetAction::ALL).prop_map(Action::Asset),
    ]
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        2 => Just(Resource::Org),
        2 => id(NODES).prop_map(|n| Resource::Node(NodeId(n))),
        2 => id(PROJECTS).prop_map(|p| Resource::Project(ProjectId(p))),
        3 => id(ASSETS).prop_map(|a| Resource::Asset(AssetId(a))),
    ]
}

/// A question whose action mostly fits its resource.
fn question() -> impl Strategy<Value = (Principal, Action, Resource)> {
    prop_oneof![
        1 => (principal(), action(), resource()),
        2 => (principal(), permission(), prop_oneof![
            Just(Resource::Org),
            id(NODES).prop_map(|n| Resource::Node(NodeId(n))),
        ])
            .prop_map(|(who, p, on)| (who, Action::Org(p), on)),
        1 => (principal(), select(ProjectAction::ALL), id(PROJECTS))
            .prop_map(|(who, a, p)| (who, Action::Project(a), Resource::Project(ProjectId(p)))),
        2 => (principal(), select(AssetAction::ALL), id(ASSETS))
            .prop_map(|(who, a, x)| (who, Action::Asset(a), Resource::Asset(AssetId(x)))),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => (id(USERS), org_role())
            .prop_map(|(u, role)| Change::SetOrgRole { user: UserId(u), role }),
        2 => (id(USERS), any::<bool>())
            .prop_map(|(u, active)| Change::SetUserActive { user: UserId(u), active }),
        2 => (id(GROUPS), id(USERS), any::<bool>()).prop_map(|(g, u, member)| {
            Change::SetGroupMember {
                group: GroupId(g),
                user: UserId(u),
                member,
            }
        }),
        3 => (grantee(), id(PROJECTS), prop::option::of(project_role())).prop_map(
            |(grantee, p, role)| Change::SetProjectRole {
                grantee,
                project: ProjectId(p),
                role,
            }
        ),
        3 => (grantee(), id(ASSETS), prop::option::of(asset_role())).prop_map(
            |(grantee, a, role)| Change::SetAssetRole {
                grantee,
                asset: AssetId(a),
                role,
            }
        ),
        2 => (id(KEYS), perm_set()).prop_map(|(k, permissions)| Change::SetKeyPermissions {
            key: KeyId(k),
            permissions,
        }),
    ]
}

// ----- helpers ------------------------------------------------------------------------------

/// The principals of the plant: every user and every key.
fn plant_principals(plant: &Plant) -> Vec<Principal> {
    plant
        .users()
        .map(|(id, _)| Principal::User(id))
        .chain(plant.keys().map(|(id, _)| Principal::Key(id)))
        .collect()
}

/// The plant's principals and some that do not exist.
fn all_principals(plant: &Plant) -> Vec<Principal> {
    let mut principals: Vec<Principal> = (0..USERS + 2)
        .chain([u32::MAX])
        .map(|u| Principal::User(UserId(u)))
        .chain((0..KEYS + 2).chain([u32::MAX]).map(|k| Principal::Key(KeyId(k))))
        .collect();
    principals.extend(plant_principals(plant));
    principals.sort_unstable();
    principals.dedup();
    principals
}

fn project_ids() -> impl Iterator<Item = ProjectId> {
    (0..PROJECTS + 2).chain([u32::MAX]).map(ProjectId)
}

fn asset_ids() -> impl Iterator<Item = AssetId> {
    (0..ASSETS + 2).chain([u32::MAX]).map(AssetId)
}

fn node_ids() -> impl Iterator<Item = NodeId> {
    (0..NODES + 2).chain([u32::MAX]).map(NodeId)
}

/// Every project and asset action on every project and asset id, and every catalog permission
/// at org level and on every node id.
fn all_questions() -> Vec<(Action, Resource)> {
    let mut questions = Vec::new();
    for p in Permission::ALL {
        questions.push((Action::Org(*p), Resource::Org));
        for n in node_ids() {
            questions.push((Action::Org(*p), Resource::Node(n)));
        }
    }
    for project in project_ids() {
        for a in ProjectAction::ALL {
            questions.push((Action::Project(*a), Resource::Project(project)));
        }
    }
    for asset in asset_ids() {
        for a in AssetAction::ALL {
            questions.push((Action::Asset(*a), Resource::Asset(asset)));
        }
    }
    questions
}

/// Is `node` in the subtree of `root`? Walks the parents, independently of the plant's own
/// `node_within`.
fn within(plant: &Plant, node: NodeId, root: NodeId) -> bool {
    let mut current = Some(node);
    for _ in 0..=NODES + 2 {
        match current {
            Some(n) if n == root => return true,
            Some(n) => current = plant.node(n).and_then(|n| n.parent),
            None => return false,
        }
    }
    false
}

/// The project roles a user holds on a project, directly or through a group.
fn project_roles_of(plant: &Plant, user: &User, project: ProjectId) -> Vec<ProjectRole> {
    let direct = user
        .project_roles()
        .iter()
        .filter(|(p, _)| *p == project)
        .map(|(_, r)| *r);
    let groups = user.groups().iter().filter_map(|g| plant.group(*g));
    let via_groups = groups.flat_map(|g| {
        g.project_roles()
            .iter()
            .filter(|(p, _)| *p == project)
            .map(|(_, r)| *r)
            .collect::<Vec<_>>()
    });
    direct.chain(via_groups).collect()
}

/// Does the user hold any role on any asset of the project, directly or through a group?
fn has_asset_grant_in(plant: &Plant, user: &User, project: ProjectId) -> bool {
    let in_project = |asset: &AssetId| plant.asset(*asset).is_some_and(|a| a.project == project);
    user.asset_roles().iter().any(|(a, _)| in_project(a))
        || user
            .groups()
            .iter()
            .filter_map(|g| plant.group(*g))
            .any(|g| g.asset_roles().iter().any(|(a, _)| in_project(a)))
}

fn access_of_all(plant: &Plant) -> Vec<(Principal, EffectiveAccess)> {
    all_principals(plant)
        .into_iter()
        .map(|p| (p, plant.effective_access(p)))
        .collect()
}

/// The differences between two effective accesses, as the preview should list them.
fn diff(principal: Principal, before: &EffectiveAccess, after: &EffectiveAccess, out: &mut Vec<AccessDelta>) {
    for p in Permission::ALL {
        let (had, has) = (before.org.contains(*p), after.org.contains(*p));
        if had != has {
            out.push(AccessDelta {
                principal,
                action: Action::Org(*p),
                on: None,
                gained: has,
            });
        }
    }
    let projects: BTreeSet<ProjectId> = before
        .projects
        .keys()
        .chain(after.projects.keys())
        .copied()
        .collect();
    for project in projects {
        let was = before.projects.get(&project).copied().unwrap_or_default();
        let now = after.projects.get(&project).copied().unwrap_or_default();
        for a in ProjectAction::ALL {
            let (had, has) = (was.contains_project(*a), now.contains_project(*a));
            if had != has {
                out.push(AccessDelta {
                    principal,
                    action: Action::Project(*a),
                    on: Some(Target::Project(project)),
                    gained: has,
                });
            }
        }
    }
    let assets: BTreeSet<AssetId> = before.assets.keys().chain(after.assets.keys()).copied().collect();
    for asset in assets {
        let was = before.assets.get(&asset).copied().unwrap_or_default();
        let now = after.assets.get(&asset).copied().unwrap_or_default();
        for a in AssetAction::ALL {
            let (had, has) = (was.contains_asset(*a), now.contains_asset(*a));
            if had != has {
                out.push(AccessDelta {
                    principal,
                    action: Action::Asset(*a),
                    on: Some(Target::Asset(asset)),
                    gained: has,
                });
            }
        }
    }
}

fn active_owner_count(plant: &Plant) -> usize {
    plant
        .users()
        .filter(|(_, u)| u.active && u.org_role == OrgRole::Owner)
        .count()
}

/// Checks what must hold of one decision, whatever the plant.
fn check_decision(
    plant: &Plant,
    copy: &Plant,
    principal: Principal,
    action: Action,
    resource: Resource,
) -> Result<Decision, TestCaseError> {
    let decision = plant.decide(principal, action, resource);
    let context = format!("{principal:?} {action:?} {resource:?} -> {decision:?}");

    // Deterministic, on the plant and on a copy of it.
    prop_assert_eq!(&plant.decide(principal, action, resource), &decision);
    prop_assert_eq!(&copy.decide(principal, action, resource), &decision);
    prop_assert_eq!(plant.allows(principal, action, resource), decision.allowed);

    // Reasons: an allow names grants only, a deny names what is missing only.
    prop_assert!(!decision.reasons.is_empty(), "no reason: {}", context);
    if decision.allowed {
        prop_assert!(
            decision.reasons.iter().all(|r| r.is_grant()),
            "allow with a deny reason: {}",
            context
        );
    } else {
        prop_assert!(
            decision.reasons.iter().all(|r| !r.is_grant()),
            "deny with a grant reason: {}",
            context
        );
    }

    match principal {
        Principal::User(id) => {
            let user = plant.user(id);
            if user.is_none_or(|u| !u.active) {
                prop_assert!(!decision.allowed, "unknown or deactivated user: {}", context);
            }
            if let (Some(user), Action::Org(p)) = (user, action) {
                let node_known = match resource {
                    Resource::Org => Some(true),
                    Resource::Node(n) => Some(plant.node(n).is_some()),
                    Resource::Project(_) | Resource::Asset(_) => None,
                };
                let expected = match node_known {
                    Some(known) => known && user.active && user.org_role.permissions().contains(p),
                    None => false,
                };
                prop_assert_eq!(decision.allowed, expected, "org check: {}", context);
            }
            if let (Some(user), Action::Asset(_), Resource::Asset(asset)) = (user, action, resource) {
                match plant.asset(asset) {
                    None => prop_assert!(!decision.allowed, "unknown asset: {}", context),
                    Some(a) => {
                        let outsider = !user.org_role.is_project_admin_everywhere()
                            && project_roles_of(plant, user, a.project).is_empty()
                            && !has_asset_grant_in(plant, user, a.project);
                        if outsider {
                            prop_assert!(!decision.allowed, "outsider allowed: {}", context);
                        }
                    }
                }
            }
        }
        Principal::Key(id) => {
            let key = plant.key(id);
            if decision.allowed {
                let Action::Org(p) = action else {
                    return Err(TestCaseError::fail(format!(
                        "a key was allowed a project or asset action: {context}"
                    )));
                };
                prop_assert!(
                    key.is_some_and(|k| k.enabled && k.permissions.contains(p)),
                    "key allowed without holding it: {}",
                    context
                );
            }
            // The exact rule: enabled, held, and for a node within a scope if the key has any;
            // a scoped key holds device-plane (IoT) permissions per node only, never org-wide.
            let expected = match (key, action, resource) {
                (Some(k), Action::Org(p), Resource::Org) => {
                    k.enabled
                        && k.permissions.contains(p)
                        && (k.scopes.is_empty() || p.module().info().iot_path.is_none())
                }
                (Some(k), Action::Org(p), Resource::Node(n)) => {
                    k.enabled
                        && k.permissions.contains(p)
                        && plant.node(n).is_some()
                        && (k.scopes.is_empty() || k.scopes.iter().any(|s| within(plant, n, *s)))
                }
                _ => false,
            };
            prop_assert_eq!(decision.allowed, expected, "key check: {}", context);
        }
    }
    Ok(decision)
}

// ----- catalog and roles ----------------------------------------------------------------------

#[test]
fn higher_org_roles_hold_supersets() {
    for (i, lower) in OrgRole::ALL.iter().enumerate() {
        for higher in OrgRole::ALL.iter().skip(i) {
            assert!(
                lower.permissions().is_subset(higher.permissions()),
                "{lower} ⊄ {higher}"
            );
        }
    }
    // Every step up the ladder adds something, and the owner holds the whole catalog.
    for pair in OrgRole::ALL.windows(2) {
        assert_ne!(pair[0].permissions(), pair[1].permissions(), "{pair:?}");
    }
    assert_eq!(OrgRole::Owner.permissions(), PermSet::all());
    // The matrix agrees with each row's lowest role.
    for role in OrgRole::ALL {
        for p in Permission::ALL {
            assert_eq!(
                role.permissions().contains(*p),
                role >= p.info().min_org_role,
                "{role} {p}"
            );
        }
    }
}

#[test]
fn role_sets_are_closed_under_implication() {
    for role in OrgRole::ALL {
        let set = role.permissions();
        assert_eq!(PermSet::of(set.iter()), set, "{role}");
        for p in set.iter() {
            if let Some(implied) = p.implied() {
                assert!(set.contains(implied), "{role} holds {p} but not {implied}");
            }
        }
    }
}

#[test]
fn manage_implies_view_and_nothing_else_implies_anything() {
    for p in Permission::ALL {
        let set = PermSet::of([*p]);
        let view = (p.verb() == Verb::Manage)
            .then(|| Permission::find(p.module(), Verb::View))
            .flatten();
        for q in Permission::ALL {
            let expected = q == p || Some(*q) == view;
            assert_eq!(set.contains(*q), expected, "{{{p}}} and {q}");
        }
        assert_eq!(set.len(), 1 + u32::from(view.is_some()), "{p}");
        assert_eq!(p.implied(), view, "{p}");
    }
}

#[test]
fn list_never_implies_listen() {
    for module in Module::ALL {
        let list = Permission::find(*module, Verb::List);
        let listen = Permission::find(*module, Verb::Listen);
        if let (Some(list), Some(listen)) = (list, listen) {
            assert!(!PermSet::of([list]).contains(listen), "{list}");
            assert!(!PermSet::of([listen]).contains(list), "{listen}");
        }
    }
}

proptest! {
    #![proptest_config(cheap_config())]

    /// A set built from any permissions holds exactly them and the views their manages imply.
    #[test]
    fn perm_sets_are_closed(perms in prop::collection::vec(permission(), 0..12)) {
        let set = PermSet::of(perms.iter().copied());
        for q in Permission::ALL {
            let expected = perms.iter().any(|p| p == q || p.implied() == Some(*q));
            prop_assert_eq!(set.contains(*q), expected, "{}", q);
        }
    }

    // ----- JSON -----------------------------------------------------------------------

    #[test]
    fn json_round_trips(set in perm_set()) {
        prop_assert_eq!(iot_json::import(&iot_json::export(set)), Ok(set));
        let compact = iot_json::export_value(set).to_string();
        prop_assert_eq!(iot_json::import(&compact), Ok(set));
    }

    /// A well-formed object grants exactly its `true` leaves (and what they imply), whichever
    /// spelling of the hierarchy module it uses.
    #[test]
    fn json_grants_exactly_the_true_leaves(
        leaves in prop::collection::btree_map(permission(), any::<bool>(), 0..20),
        document_spelling in any::<bool>(),
    ) {
        let mut root = Map::new();
        for (p, on) in &leaves {
            let default_path = [p.module().name()];
            let mut path: Vec<&str> =
                p.module().info().iot_path.unwrap_or(&default_path).to_vec();
            if p.module() == Module::HierarchyGroup {
                path = vec![if document_spelling { "heirarchy_group" } else { "hierarchy_group" }];
            }
            path.push(p.verb().name());
            insert_leaf(&mut root, &path, Value::Bool(*on));
        }
        let expected = PermSet::of(leaves.iter().filter(|(_, on)| **on).map(|(p, _)| *p));
        let text = Value::Object(root).to_string();
        prop_assert_eq!(iot_json::import(&text), Ok(expected), "{}", text);
    }

    #[test]
    fn json_import_never_panics_on_strings(text in prop_oneof![
        any::<String>(),
        "[{}\\[\\]\":, a-z_.0-9]{0,60}",
        prop::collection::vec(any::<u8>(), 0..60)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]) {
        check_import_result(iot_json::import(&text))?;
    }

    #[test]
    fn json_import_never_panics_on_values(value in json_value()) {
        let result = iot_json::import_value(&value);
        check_import_result(result.clone())?;
        // The text form decides the same.
        prop_assert_eq!(iot_json::import(&value.to_string()), result);
    }
}

fn insert_leaf(map: &mut Map<String, Value>, path: &[&str], leaf: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert((*last).to_owned(), leaf);
        }
        [first, rest @ ..] => {
            let child = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_leaf(child, rest, leaf);
            }
        }
    }
}

fn check_import_result(result: Result<PermSet, ModelError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(ModelError::PermissionJson { path, problem }) => {
            prop_assert!(!path.is_empty(), "empty path ({})", problem);
            prop_assert!(!problem.is_empty(), "empty problem at {}", path);
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "import failed with a non-JSON error: {other:?}"
        ))),
    }
}

/// Object keys: real module and action names, the IoT spelling, and junk.
fn json_key() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = Module::ALL
        .iter()
        .flat_map(|m| {
            let mut names = vec![m.name().to_owned()];
            if let Some(path) = m.info().iot_path {
                names.extend(path.iter().map(|s| (*s).to_owned()));
            }
            names
        })
        .chain(Permission::ALL.iter().map(|p| p.verb().name().to_owned()))
        .collect();
    names.extend(
        [
            "",
            ".",
            "$",
            "assets",
            "commands.",
            "fly",
            "teleport",
            "rpc.call",
            "heirarchy",
        ]
        .map(str::to_owned),
    );
    names.sort();
    names.dedup();
    prop_oneof![
        6 => select(names),
        1 => "[a-z_.]{0,10}",
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<f64>().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        1 => ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            6 => prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

// ----- the resolver on random plants --------------------------------------------------------

proptest! {
    #![proptest_config(plant_config())]

    /// Deterministic; denies what is not granted; reasons fit the outcome; org checks follow
    /// the role matrix; keys only hold what they were given.
    #[test]
    fn decide_denies_what_is_not_granted(
        ops in plant_ops(),
        questions in prop::collection::vec(question(), 1..24),
    ) {
        let plant = build(&ops);
        let copy = plant.clone();
        for (principal, action, resource) in questions {
            check_decision(&plant, &copy, principal, action, resource)?;
        }
        // Every question for every principal of the plant, for the per-decision rules above.
        for principal in plant_principals(&plant) {
            for (action, resource) in all_questions() {
                check_decision(&plant, &copy, principal, action, resource)?;
            }
        }
    }

    /// Effective access, org permissions and the per-project and per-asset action sets say
    /// what `decide` says.
    #[test]
    fn decide_agrees_with_effective_access(ops in plant_ops()) {
        let plant = build(&ops);
        for principal in all_principals(&plant) {
            let access = plant.effective_access(principal);
            let org = plant.org_permissions(principal);
            prop_assert_eq!(access.org, org);
            for p in Permission::ALL {
                prop_assert_eq!(
                    plant.allows(principal, *p, Resource::Org),
                    org.contains(*p),
                    "{:?} {}", principal, p
                );
            }
            for project in project_ids() {
                let actions = plant.project_actions(principal, project);
                prop_assert_eq!(
                    access.projects.get(&project).copied().unwrap_or_default(),
                    actions,
                    "{:?} {:?}", principal, project
                );
                for a in ProjectAction::ALL {
                    prop_assert_eq!(
                        actions.contains_project(*a),
                        plant.allows(principal, *a, Resource::Project(project))
                    );
                }
            }
            for asset in asset_ids() {
                let actions = plant.asset_actions(principal, asset);
                prop_assert_eq!(
                    access.assets.get(&asset).copied().unwrap_or_default(),
                    actions,
                    "{:?} {:?}", principal, asset
                );
                for a in AssetAction::ALL {
                    prop_assert_eq!(
                        actions.contains_asset(*a),
                        plant.allows(principal, *a, Resource::Asset(asset))
                    );
                }
            }
            // Effective access lists nothing empty and nothing that does not exist.
            let projects_ok = access
                .projects
                .iter()
                .all(|(p, a)| plant.project(*p).is_some() && *a != ActionSet::EMPTY);
            let assets_ok = access
                .assets
                .iter()
                .all(|(x, a)| plant.asset(*x).is_some() && *a != ActionSet::EMPTY);
            prop_assert!(projects_ok, "{:?}: {:?}", principal, access);
            prop_assert!(assets_ok, "{:?}: {:?}", principal, access);
        }
        let users: Vec<UserId> = (0..USERS + 2).map(UserId).collect();
        let matrix = plant.effective_matrix(&users);
        for (user, row) in users.iter().zip(matrix) {
            prop_assert_eq!(row, plant.org_permissions(Principal::User(*user)));
        }
    }

    /// `who_can` returns exactly the users and keys `decide` allows, with `decide`'s decision.
    #[test]
    fn who_can_is_complete_and_sound(
        ops in plant_ops(),
        questions in prop::collection::vec((action(), resource()), 1..12),
    ) {
        let plant = build(&ops);
        let mut questions = questions;
        // Also every project and asset action on every project and asset.
        questions.extend(
            all_questions()
                .into_iter()
                .filter(|(a, _)| !matches!(a, Action::Org(_))),
        );
        for (action, resource) in questions {
            let found = plant.who_can(action, resource);
            let expected: Vec<(Principal, Decision)> = plant_principals(&plant)
                .into_iter()
                .map(|p| (p, plant.decide(p, action, resource)))
                .filter(|(_, d)| d.allowed)
                .collect();
            let mut found_sorted = found.clone();
            found_sorted.sort_by_key(|(p, _)| *p);
            let mut expected_sorted = expected;
            expected_sorted.sort_by_key(|(p, _)| *p);
            prop_assert_eq!(found_sorted, expected_sorted, "{:?} on {:?}", action, resource);
            // No principal is listed twice.
            let distinct: BTreeSet<Principal> = found.iter().map(|(p, _)| *p).collect();
            prop_assert_eq!(distinct.len(), found.len());
        }
    }

    /// `preview` lists exactly what changes in anyone's effective access, fails exactly when
    /// applying fails, and never changes the plant.
    #[test]
    fn preview_lists_exactly_the_differences(
        ops in plant_ops(),
        changes in prop::collection::vec(change(), 1..6),
    ) {
        let plant = build(&ops);
        let before_debug = format!("{plant:?}");
        let before = access_of_all(&plant);
        for change in changes {
            let preview = plant.preview(&change);
            let mut after = plant.clone();
            let applied = after.apply(&change);
            match (&preview, &applied) {
                (Ok(deltas), Ok(())) => {
                    let mut expected = Vec::new();
                    for (principal, was) in &before {
                        diff(*principal, was, &after.effective_access(*principal), &mut expected);
                    }
                    expected.sort_unstable();
                    let mut listed = deltas.clone();
                    listed.sort_unstable();
                    prop_assert_eq!(listed, expected, "{:?}", change);
                }
                (Err(p), Err(a)) => prop_assert_eq!(p, a),
                _ => prop_assert!(
                    false,
                    "preview {:?} but apply {:?} for {:?}",
                    preview,
                    applied,
                    change
                ),
            }
            prop_assert_eq!(&format!("{plant:?}"), &before_debug, "preview changed the plant");
        }
        prop_assert_eq!(access_of_all(&plant), before);
    }

    /// No escalation: a key may be given only what its creator holds, within the creator's
    /// scopes if the creator is a scoped key.
    #[test]
    fn key_grants_never_escalate(
        ops in plant_ops(),
        creator in principal(),
        requested in perm_set(),
        from_held in prop::collection::vec(any::<bool>(), Permission::ALL.len()),
        use_held in any::<bool>(),
        scopes in prop_oneof![
            1 => Just(Vec::new()),
            2 => prop::collection::vec(id(NODES), 1..4),
        ],
    ) {
        let plant = build(&ops);
        let held = match creator {
            Principal::User(u) => plant
                .user(u)
                .filter(|u| u.active)
                .map_or(PermSet::EMPTY, |u| u.org_role.permissions()),
            Principal::Key(k) => plant
                .key(k)
                .filter(|k| k.enabled)
                .map_or(PermSet::EMPTY, |k| k.permissions),
        };
        // A scoped key holds its device-plane (IoT) permissions per node, not org-wide; it
        // may still pass them on within its scope.
        let org_level = match creator {
            Principal::Key(k) if plant.key(k).is_some_and(|k| !k.scopes.is_empty()) => {
                PermSet::of(held.iter().filter(|p| p.module().info().iot_path.is_none()))
            }
            _ => held,
        };
        prop_assert_eq!(plant.org_permissions(creator), org_level);
        // Half the time ask for part of what the creator holds, so Ok is common too.
        let requested = if use_held {
            PermSet::of(
                held.iter()
                    .filter(|p| from_held.get(*p as usize).copied().unwrap_or(false)),
            )
        } else {
            requested
        };
        let scopes: Vec<NodeId> = scopes.into_iter().map(NodeId).collect();
        let creator_scopes = match creator {
            Principal::Key(k) => plant.key(k).map(|k| k.scopes.clone()).unwrap_or_default(),
            Principal::User(_) => Vec::new(),
        };
        let within_scope = creator_scopes.is_empty()
            || (!scopes.is_empty()
                && scopes
                    .iter()
                    .all(|s| creator_scopes.iter().any(|c| within(&plant, *s, *c))));
        let scopes_exist = scopes.iter().all(|s| plant.node(*s).is_some());
        let expected_ok = requested.is_subset(held) && scopes_exist && within_scope;
        let result = plant.check_key_grant(creator, requested, &scopes);
        prop_assert_eq!(result.is_ok(), expected_ok, "{:?}", result);
        if let Err(ModelError::Escalation { missing, creator: named }) = &result {
            prop_assert_eq!(*named, creator);
            let expected_missing: Vec<Permission> = requested.difference(held).iter().collect();
            prop_assert_eq!(missing, &expected_missing);
        }
        if !requested.is_subset(held) {
            let is_escalation = matches!(result, Err(ModelError::Escalation { .. }));
            prop_assert!(is_escalation, "{:?}", result);
        }
    }

    /// There is always an active owner, and a refused change changes nothing.
    #[test]
    fn there_is_always_an_active_owner(
        ops in plant_ops(),
        changes in prop::collection::vec(
            prop_oneof![
                (id(USERS), org_role())
                    .prop_map(|(u, role)| Change::SetOrgRole { user: UserId(u), role }),
                (id(USERS), prop::bool::weighted(0.4))
                    .prop_map(|(u, active)| Change::SetUserActive { user: UserId(u), active }),
            ],
            1..24,
        ),
    ) {
        let mut plant = build(&ops);
        plant.put_user(UserId(0), "first owner", OrgRole::Owner, true).unwrap();
        prop_assert!(active_owner_count(&plant) >= 1);
        for change in changes {
            let before_debug = format!("{plant:?}");
            let before = access_of_all(&plant);
            let (user, role, active) = match change {
                Change::SetOrgRole { user, role } => {
                    (user, Some(role), plant.user(user).map(|u| u.active))
                }
                Change::SetUserActive { user, active } => {
                    (user, plant.user(user).map(|u| u.org_role), Some(active))
                }
                _ => unreachable!(),
            };
            let was_active_owner = plant
                .user(user)
                .is_some_and(|u| u.active && u.org_role == OrgRole::Owner);
            let stays_active_owner = role == Some(OrgRole::Owner) && active == Some(true);
            let last_owner_leaving =
                was_active_owner && !stays_active_owner && active_owner_count(&plant) == 1;
            match plant.apply(&change) {
                Ok(()) => {
                    prop_assert!(!last_owner_leaving, "{:?} was allowed", change);
                    let u = plant.user(user).unwrap();
                    prop_assert_eq!(Some(u.org_role), role);
                    prop_assert_eq!(Some(u.active), active);
                }
                Err(error) => {
                    match error {
                        ModelError::LastOwner { user: named } => {
                            prop_assert!(last_owner_leaving, "{:?} refused", change);
                            prop_assert_eq!(named, user);
                        }
                        ModelError::UnknownEntity { .. } => {
                            prop_assert!(plant.user(user).is_none());
                        }
                        other => prop_assert!(false, "unexpected {:?}", other),
                    }
                    prop_assert_eq!(&format!("{plant:?}"), &before_debug);
                    prop_assert_eq!(access_of_all(&plant), before);
                }
            }
            prop_assert!(active_owner_count(&plant) >= 1, "after {:?}", change);
        }
    }
}
