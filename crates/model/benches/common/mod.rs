//! A deterministic generator of realistic plants and check workloads, shared by the benches.
//!
//! The plant is built through the public API only (`put_user`, `set_project_role`, ...), the
//! way the platform loads one. Everything is drawn from a seeded PRNG: the same scale and seed
//! always give the same plant and the same workload.
//!
//! Shape, with `U = bindings / 10` users: ≥1 owner (user 1), ~1 % admins, the rest members,
//! operators and viewers, 2 % deactivated; `U / 25` projects of 4–16 assets each (agents,
//! tools, knowledge, and workforces running 2–4 agents of their project), most with a creator
//! (who becomes asset admin); `U / 20` groups. Each user works around a "home" project: 1–3
//! project roles and 2–6 asset grants there and in its neighbours, and 0–3 groups of the same
//! neighbourhood; each group holds 1–2 project roles and 2–5 asset grants. A final pass tops
//! the count up with asset grants until `Plant::binding_count()` equals the target. A small
//! device hierarchy (site > areas > lines > cells) and `max(4, U / 500)` API keys (some scoped
//! to areas or lines, a few disabled) complete it.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

use std::time::Instant;

use fastrand::Rng;
use steward_model::{
    Action, ApiKey, AssetAction, AssetId, AssetKind, AssetRole, AssetSpec, Grantee, GroupId, KeyId, NodeId,
    OrgRole, PermSet, Permission, Plant, Principal, ProjectAction, ProjectId, ProjectRole, Resource, UserId,
};

/// The scales of the issue, by role bindings.
pub const SCALES: [(&str, usize); 4] = [
    ("1e3", 1_000),
    ("1e4", 10_000),
    ("1e5", 100_000),
    ("1e6", 1_000_000),
];

/// The seed every bench uses.
pub const SEED: u64 = 0x57E4_A4D5_EED0_0001;

/// Checks in a workload.
pub const WORKLOAD_LEN: usize = 100_000;

/// What a check is about; the workload mixes them in fixed shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A user and a catalog permission, at org level or on a hierarchy node.
    Org,
    /// A user and a project action.
    Project,
    /// A user and an asset action (any asset kind).
    Asset,
    /// A user running a workforce (needs run access to each of its agents).
    WorkforceRun,
    /// An API key and a catalog permission (or a project action it can never hold).
    Key,
    /// Unknown users, deactivated users, actions on the wrong kind of resource.
    Edge,
}

impl Kind {
    /// Asset goes last: it takes whatever the others leave.
    pub const ALL: [Kind; 6] = [
        Kind::Org,
        Kind::Project,
        Kind::WorkforceRun,
        Kind::Key,
        Kind::Edge,
        Kind::Asset,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Kind::Org => "org permission",
            Kind::Project => "project action",
            Kind::Asset => "asset action",
            Kind::WorkforceRun => "workforce run",
            Kind::Key => "API key",
            Kind::Edge => "edge (unknown/deactivated/n.a.)",
        }
    }

    /// Share of the workload, per mille (Asset gets the rest, ~300).
    const fn per_mille(self) -> usize {
        match self {
            Kind::Org | Kind::Project => 250,
            Kind::WorkforceRun => 80,
            Kind::Key => 100,
            Kind::Edge => 20,
            Kind::Asset => 300,
        }
    }
}

/// One pre-generated check, with the answer the resolver gave when the workload was made.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    pub kind: Kind,
    pub allowed: bool,
}

/// A shuffled list of checks, about half allowed.
#[derive(Clone, Debug)]
pub struct Workload {
    pub checks: Vec<Check>,
}

impl Workload {
    pub fn allowed_fraction(&self) -> f64 {
        let allowed = self.checks.iter().filter(|c| c.allowed).count();
        allowed as f64 / self.checks.len().max(1) as f64
    }

    /// One line per kind: how many checks, how many allowed.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} checks, {:.1} % allowed:",
            self.checks.len(),
            100.0 * self.allowed_fraction()
        );
        for kind in Kind::ALL {
            let of_kind = self.checks.iter().filter(|c| c.kind == kind);
            let (n, allowed) = of_kind.fold((0, 0), |(n, a), c| (n + 1, a + usize::from(c.allowed)));
            out.push_str(&format!(" {} {n} ({allowed} allowed);", kind.name()));
        }
        out
    }
}

/// Builds the plant for `bindings` role bindings and its workload of `WORKLOAD_LEN` checks,
/// and reports both on stderr.
pub fn plant(bindings: usize, seed: u64) -> (Plant, Workload) {
    let started = Instant::now();
    let plant = build_plant(bindings, seed);
    let built = started.elapsed();
    let workload = workload(&plant, WORKLOAD_LEN, seed ^ 0x0F0F_0F0F_0F0F_0F0F);
    let count = plant.binding_count();
    eprintln!(
        "plant {bindings}: {count} bindings ({:+.2} % off target), {} users, {} groups, \
         {} projects, {} assets, {} keys, {} nodes; built in {:.2} s",
        100.0 * (count as f64 - bindings as f64) / bindings as f64,
        plant.users().count(),
        plant.groups().count(),
        plant.projects().count(),
        plant.assets().count(),
        plant.keys().count(),
        plant.nodes().count(),
        built.as_secs_f64(),
    );
    eprintln!("  workload: {}", workload.describe());
    assert!(
        count.abs_diff(bindings) * 10 <= bindings,
        "binding count {count} is more than 10 % off {bindings}"
    );
    (plant, workload)
}

/// `n` distinct users drawn at random (seeded), in random order.
pub fn sample_users(plant: &Plant, n: usize, seed: u64) -> Vec<UserId> {
    let mut rng = Rng::with_seed(seed);
    let mut users: Vec<UserId> = plant.users().map(|(id, _)| id).collect();
    rng.shuffle(&mut users);
    users.truncate(n);
    users
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

fn project_id(index: usize) -> ProjectId {
    ProjectId(index as u32 + 1)
}

fn org_role(rng: &mut Rng) -> OrgRole {
    match rng.u32(0..1000) {
        0..2 => OrgRole::Owner,
        2..12 => OrgRole::Admin,
        12..262 => OrgRole::Member,
        262..562 => OrgRole::Operator,
        _ => OrgRole::Viewer,
    }
}

fn user_project_role(rng: &mut Rng) -> ProjectRole {
    match rng.u32(0..100) {
        0..25 => ProjectRole::Viewer,
        25..35 => ProjectRole::Chat,
        35..80 => ProjectRole::Member,
        80..95 => ProjectRole::Editor,
        _ => ProjectRole::Admin,
    }
}

fn group_project_role(rng: &mut Rng) -> ProjectRole {
    match rng.u32(0..100) {
        0..30 => ProjectRole::Viewer,
        30..45 => ProjectRole::Chat,
        45..90 => ProjectRole::Member,
        _ => ProjectRole::Editor,
    }
}

fn asset_role(rng: &mut Rng) -> AssetRole {
    match rng.u32(0..100) {
        0..35 => AssetRole::Viewer,
        35..85 => AssetRole::Member,
        _ => AssetRole::Admin,
    }
}

/// The device hierarchy: one site, `areas` areas of 5 lines of 8 cells. Returns every node and
/// the areas and lines (what keys get scoped to).
fn build_hierarchy(plant: &mut Plant, areas: usize) -> (Vec<NodeId>, Vec<NodeId>) {
    let mut next = 1u32;
    let mut node = |plant: &mut Plant, name: String, parent: Option<NodeId>| {
        let id = NodeId(next);
        next += 1;
        plant.put_node(id, name, parent).unwrap();
        id
    };
    let site = node(plant, "site".into(), None);
    let (mut all, mut scopes) = (vec![site], Vec::new());
    for a in 0..areas {
        let area = node(plant, format!("area-{a}"), Some(site));
        all.push(area);
        scopes.push(area);
        for l in 0..5 {
            let line = node(plant, format!("area-{a}/line-{l}"), Some(area));
            all.push(line);
            scopes.push(line);
            for c in 0..8 {
                all.push(node(plant, format!("area-{a}/line-{l}/cell-{c}"), Some(line)));
            }
        }
    }
    (all, scopes)
}

/// The plant alone (see the module doc for its shape).
pub fn build_plant(target: usize, seed: u64) -> Plant {
    let mut rng = Rng::with_seed(seed);
    let mut plant = Plant::new();
    let n_users = (target / 10).max(20);
    let n_groups = (n_users / 20).max(2);
    let n_projects = (n_users / 25).max(3);
    let window = n_projects.min(6);
    // A project in the neighbourhood of `home`.
    let near = |rng: &mut Rng, home: usize| (home + rng.usize(0..window)) % n_projects;
    let group_of = |project: usize| GroupId((project * n_groups / n_projects) as u32 + 1);

    let (_, scope_pool) = build_hierarchy(&mut plant, 2 + n_users / 20_000);

    // People, each with a home project.
    // Indexed by user id; slot 0 is unused.
    let mut home = vec![0usize];
    let mut users_by_home: Vec<Vec<UserId>> = vec![Vec::new(); n_projects];
    for i in 1..=n_users {
        let id = UserId(i as u32);
        let role = if i == 1 {
            OrgRole::Owner
        } else {
            org_role(&mut rng)
        };
        let active = i == 1 || rng.u32(0..100) >= 2;
        plant.put_user(id, format!("user-{i}"), role, active).unwrap();
        let h = rng.usize(0..n_projects);
        home.push(h);
        users_by_home[h].push(id);
    }
    for g in 1..=n_groups {
        plant.put_group(GroupId(g as u32), format!("team-{g}")).unwrap();
    }
    for p in 0..n_projects {
        plant
            .put_project(project_id(p), format!("project-{}", p + 1))
            .unwrap();
    }

    // Assets: half agents, then tools, knowledge and workforces (which need two agents).
    let mut next_asset = 1u32;
    let mut project_assets: Vec<Vec<AssetId>> = vec![Vec::new(); n_projects];
    for (p, assets) in project_assets.iter_mut().enumerate() {
        let mut agents: Vec<AssetId> = Vec::new();
        for _ in 0..rng.usize(4..=16) {
            let id = AssetId(next_asset);
            next_asset += 1;
            let kind = match rng.u32(0..100) {
                0..50 => AssetKind::Agent,
                50..70 => AssetKind::Tool,
                70..85 => AssetKind::Knowledge,
                _ if agents.len() >= 2 => AssetKind::Workforce,
                _ => AssetKind::Agent,
            };
            let creators = &users_by_home[p];
            let creator = (!creators.is_empty() && rng.u32(0..100) < 80).then(|| pick(&mut rng, creators));
            let workforce_agents = if kind == AssetKind::Workforce {
                let mut pool = agents.clone();
                rng.shuffle(&mut pool);
                pool.truncate(rng.usize(2..=4.min(agents.len())));
                pool
            } else {
                Vec::new()
            };
            let spec = AssetSpec {
                name: format!("{}-{}", kind.name(), id.0),
                project: project_id(p),
                kind,
                creator,
                agents: workforce_agents,
            };
            plant.put_asset(id, spec).unwrap();
            if kind == AssetKind::Agent {
                agents.push(id);
            }
            assets.push(id);
        }
    }

    // Each user: groups, project roles and asset grants around its home.
    for (i, &h) in home.iter().enumerate().skip(1) {
        let id = UserId(i as u32);
        for _ in 0..rng.usize(0..=3) {
            let q = near(&mut rng, h);
            plant.set_group_member(group_of(q), id, true).unwrap();
        }
        let mut mine = vec![h];
        for _ in 0..rng.usize(0..=2) {
            mine.push(near(&mut rng, h));
        }
        for q in &mine {
            let role = user_project_role(&mut rng);
            plant
                .set_project_role(Grantee::User(id), project_id(*q), Some(role))
                .unwrap();
        }
        for _ in 0..rng.usize(2..=6) {
            // Mostly in its own projects; sometimes a stale grant in a neighbouring one.
            let q = if rng.u32(0..100) < 80 {
                pick(&mut rng, &mine)
            } else {
                near(&mut rng, h)
            };
            let asset = pick(&mut rng, &project_assets[q]);
            let role = asset_role(&mut rng);
            plant
                .set_asset_role(Grantee::User(id), asset, Some(role))
                .unwrap();
        }
    }

    // Each group: one or two project roles and a few asset grants there.
    for g in 0..n_groups {
        let gid = Grantee::Group(GroupId(g as u32 + 1));
        let base = g * n_projects / n_groups;
        let mut theirs = vec![base];
        if rng.bool() {
            theirs.push(near(&mut rng, base));
        }
        for q in &theirs {
            let role = group_project_role(&mut rng);
            plant.set_project_role(gid, project_id(*q), Some(role)).unwrap();
        }
        for _ in 0..rng.usize(2..=5) {
            let q = pick(&mut rng, &theirs);
            let asset = pick(&mut rng, &project_assets[q]);
            let role = asset_role(&mut rng);
            plant.set_asset_role(gid, asset, Some(role)).unwrap();
        }
    }

    // Top up to the target with more asset grants in the users' own projects.
    let mut count = plant.binding_count();
    let mut attempts = 0usize;
    while count < target && attempts < target.saturating_mul(20) {
        attempts += 1;
        let i = rng.usize(1..=n_users);
        let id = UserId(i as u32);
        let held: Vec<ProjectId> = plant
            .user(id)
            .map(|u| u.project_roles().iter().map(|(p, _)| *p).collect())
            .unwrap_or_default();
        let q = if held.is_empty() {
            near(&mut rng, home[i])
        } else {
            pick(&mut rng, &held).index() - 1
        };
        let asset = pick(&mut rng, &project_assets[q]);
        let role = asset_role(&mut rng);
        let before = plant
            .set_asset_role(Grantee::User(id), asset, Some(role))
            .unwrap();
        if before.is_none() {
            count += 1;
        }
    }

    // API keys: role-like or hand-picked permission sets, half scoped to areas or lines.
    for k in 1..=(n_users / 500).max(4) {
        let permissions = match rng.u32(0..4) {
            0 => OrgRole::Viewer.permissions(),
            1 => OrgRole::Operator.permissions(),
            2 => PermSet::of(
                Permission::ALL
                    .iter()
                    .copied()
                    .filter(|_| rng.u32(0..100) < 30)
                    .collect::<Vec<_>>(),
            ),
            _ => PermSet::of([
                Permission::TelemetryListen,
                Permission::PresenceListen,
                Permission::AlertsListen,
                Permission::DevicesList,
            ]),
        };
        let scopes = if rng.bool() {
            Vec::new()
        } else {
            (0..rng.usize(1..=2))
                .map(|_| pick(&mut rng, &scope_pool))
                .collect()
        };
        let key = ApiKey {
            name: format!("key-{k}"),
            permissions,
            scopes,
            enabled: k == 1 || rng.u32(0..100) >= 5,
        };
        plant.put_key(KeyId(k as u32), key).unwrap();
    }
    plant
}

/// What the workload draws from.
struct Pools {
    users: Vec<UserId>,
    inactive: Vec<UserId>,
    projects: Vec<ProjectId>,
    assets: Vec<AssetId>,
    workforces: Vec<AssetId>,
    keys: Vec<KeyId>,
    nodes: Vec<NodeId>,
}

impl Pools {
    fn of(plant: &Plant) -> Pools {
        Pools {
            users: plant.users().map(|(id, _)| id).collect(),
            inactive: plant
                .users()
                .filter(|(_, u)| !u.active)
                .map(|(id, _)| id)
                .collect(),
            projects: plant.projects().map(|(id, _)| id).collect(),
            assets: plant.assets().map(|(id, _)| id).collect(),
            workforces: plant
                .assets()
                .filter(|(_, a)| a.kind == AssetKind::Workforce)
                .map(|(id, _)| id)
                .collect(),
            keys: plant.keys().map(|(id, _)| id).collect(),
            nodes: plant.nodes().map(|(id, _)| id).collect(),
        }
    }
}

/// The projects a user holds a role on, directly or through its groups.
fn projects_of(plant: &Plant, user: UserId) -> Vec<ProjectId> {
    let Some(u) = plant.user(user) else {
        return Vec::new();
    };
    let mut out: Vec<ProjectId> = u.project_roles().iter().map(|(p, _)| *p).collect();
    for g in u.groups().iter().filter_map(|g| plant.group(*g)) {
        out.extend(g.project_roles().iter().map(|(p, _)| *p));
    }
    out
}

/// The assets a user holds a grant on, directly or through its groups.
fn assets_of(plant: &Plant, user: UserId) -> Vec<AssetId> {
    let Some(u) = plant.user(user) else {
        return Vec::new();
    };
    let mut out: Vec<AssetId> = u.asset_roles().iter().map(|(a, _)| *a).collect();
    for g in u.groups().iter().filter_map(|g| plant.group(*g)) {
        out.extend(g.asset_roles().iter().map(|(a, _)| *a));
    }
    out
}

fn candidate(
    kind: Kind,
    plant: &Plant,
    pools: &Pools,
    rng: &mut Rng,
) -> Option<(Principal, Action, Resource)> {
    let org_resource = |rng: &mut Rng, at_org: u32| {
        if rng.u32(0..100) < at_org {
            Resource::Org
        } else {
            Resource::Node(pick(rng, &pools.nodes))
        }
    };
    Some(match kind {
        Kind::Org => {
            let user = pick(rng, &pools.users);
            let permission = pick(rng, Permission::ALL);
            (
                Principal::User(user),
                Action::Org(permission),
                org_resource(rng, 70),
            )
        }
        Kind::Project => {
            let user = pick(rng, &pools.users);
            let held = projects_of(plant, user);
            let project = if !held.is_empty() && rng.u32(0..100) < 70 {
                pick(rng, &held)
            } else {
                pick(rng, &pools.projects)
            };
            let action = pick(rng, ProjectAction::ALL);
            (
                Principal::User(user),
                Action::Project(action),
                Resource::Project(project),
            )
        }
        Kind::Asset => {
            let user = pick(rng, &pools.users);
            let granted = assets_of(plant, user);
            let held = projects_of(plant, user);
            let r = rng.u32(0..100);
            let asset = if r < 50 && !granted.is_empty() {
                pick(rng, &granted)
            } else if r < 75 && !held.is_empty() {
                let in_project = plant
                    .project(pick(rng, &held))
                    .map(|p| p.assets().to_vec())
                    .unwrap_or_default();
                if in_project.is_empty() {
                    pick(rng, &pools.assets)
                } else {
                    pick(rng, &in_project)
                }
            } else {
                pick(rng, &pools.assets)
            };
            let action = pick(rng, AssetAction::ALL);
            (
                Principal::User(user),
                Action::Asset(action),
                Resource::Asset(asset),
            )
        }
        Kind::WorkforceRun => {
            if pools.workforces.is_empty() {
                return None;
            }
            // Mostly people of the workforce's project try to run it.
            let workforce = pick(rng, &pools.workforces);
            let grants = plant
                .asset(workforce)
                .and_then(|a| plant.project(a.project))
                .map(|p| p.grants().to_vec())
                .unwrap_or_default();
            let user = if !grants.is_empty() && rng.u32(0..100) < 70 {
                match pick(rng, &grants).0 {
                    Grantee::User(u) => u,
                    Grantee::Group(g) => {
                        let members = plant.group(g).map(|g| g.members()).unwrap_or_default();
                        if members.is_empty() {
                            pick(rng, &pools.users)
                        } else {
                            pick(rng, members)
                        }
                    }
                }
            } else {
                pick(rng, &pools.users)
            };
            (
                Principal::User(user),
                Action::Asset(AssetAction::Run),
                Resource::Asset(workforce),
            )
        }
        Kind::Key => {
            let key = Principal::Key(pick(rng, &pools.keys));
            if rng.u32(0..100) < 85 {
                let permission = pick(rng, Permission::ALL);
                (key, Action::Org(permission), org_resource(rng, 60))
            } else {
                let action = pick(rng, ProjectAction::ALL);
                (
                    key,
                    Action::Project(action),
                    Resource::Project(pick(rng, &pools.projects)),
                )
            }
        }
        Kind::Edge => {
            let last = pools.users.last().map_or(0, |u| u.0);
            match rng.u32(0..3) {
                0 => (
                    Principal::User(UserId(last + 1 + rng.u32(0..1000))),
                    Action::Org(pick(rng, Permission::ALL)),
                    Resource::Org,
                ),
                1 if !pools.inactive.is_empty() => (
                    Principal::User(pick(rng, &pools.inactive)),
                    Action::Project(ProjectAction::View),
                    Resource::Project(pick(rng, &pools.projects)),
                ),
                _ => (
                    Principal::User(pick(rng, &pools.users)),
                    Action::Asset(pick(rng, AssetAction::ALL)),
                    Resource::Project(pick(rng, &pools.projects)),
                ),
            }
        }
    })
}

/// `len` checks in the kinds' shares, each kind half allowed and half denied (edge checks are
/// all denied), shuffled. The resolver itself says which candidates are allowed.
pub fn workload(plant: &Plant, len: usize, seed: u64) -> Workload {
    let mut rng = Rng::with_seed(seed);
    let pools = Pools::of(plant);
    let mut checks: Vec<Check> = Vec::with_capacity(len);
    for kind in Kind::ALL {
        let n = if kind == Kind::Asset {
            len.saturating_sub(checks.len())
        } else {
            len * kind.per_mille() / 1000
        };
        let want_allowed = if kind == Kind::Edge { 0 } else { n / 2 };
        let (mut allowed, mut denied, mut attempts) = (0usize, 0usize, 0usize);
        while allowed + denied < n {
            attempts += 1;
            // If one side cannot be filled, take what comes rather than loop forever.
            let give_up = attempts > n.saturating_mul(200);
            let Some((principal, action, resource)) = candidate(kind, plant, &pools, &mut rng) else {
                break;
            };
            let ok = plant.allows(principal, action, resource);
            let room = if ok {
                allowed < want_allowed
            } else {
                denied < n - want_allowed
            };
            if room || give_up {
                if ok {
                    allowed += 1;
                } else {
                    denied += 1;
                }
                checks.push(Check {
                    principal,
                    action,
                    resource,
                    kind,
                    allowed: ok,
                });
            }
        }
    }
    rng.shuffle(&mut checks);
    Workload { checks }
}
