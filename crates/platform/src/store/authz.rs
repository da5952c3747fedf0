//! Groups, projects, assets, grants and the hierarchy: the data the resolver decides on. The
//! whole org loads into a `steward_model::Plant` after every change to it.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use steward_model::{
    ApiKey, AssetId, AssetKind, AssetRole, AssetSpec, Grantee, GroupId, KeyId, NodeId, OrgRole, PermSet,
    Plant, ProjectId, ProjectRole, UserId,
};

use super::{SqliteStore, WriteCtx, check_version};
use crate::error::{ApiError, ApiResult};
use steward_wire::*;

/// One write to the authorization data; the model validates it before the store applies it.
#[derive(Clone, Debug)]
pub enum AuthzWrite {
    CreateGroup {
        name: String,
    },
    RenameGroup {
        group: i64,
        name: String,
        if_match: Option<i64>,
    },
    DeleteGroup {
        group: i64,
    },
    SetGroupMember {
        group: i64,
        user: i64,
        member: bool,
    },
    CreateProject {
        name: String,
    },
    DeleteProject {
        project: i64,
    },
    SetProjectRole {
        project: i64,
        grantee: Grantee,
        role: Option<ProjectRole>,
    },
    CreateAsset {
        project: i64,
        kind: AssetKind,
        name: String,
        agents: Vec<i64>,
        config: Value,
    },
    UpdateAsset {
        asset: i64,
        name: Option<String>,
        agents: Option<Vec<i64>>,
        config: Option<Value>,
        if_match: Option<i64>,
    },
    DeleteAsset {
        asset: i64,
    },
    SetAssetRole {
        asset: i64,
        grantee: Grantee,
        role: Option<AssetRole>,
    },
    CreateNode {
        name: String,
        parent: Option<i64>,
    },
    /// Lists a migrated legacy viewer for review (replacing an earlier listing of the same pair).
    ListForReview {
        user: i64,
        project: i64,
        migrated_to: ProjectRole,
    },
    /// Several writes in one transaction: all land or none (legacy imports).
    Batch(Vec<AuthzWrite>),
}

pub trait AuthzStore: Send + Sync {
    /// Builds the org's plant from the database.
    fn load_plant(&self, org: i64) -> ApiResult<Plant>;
    fn groups(&self, org: i64) -> ApiResult<Vec<GroupRow>>;
    fn projects(&self, org: i64) -> ApiResult<Vec<ProjectRow>>;
    fn project(&self, org: i64, id: i64) -> ApiResult<Option<ProjectRow>>;
    fn assets(&self, org: i64, project: Option<i64>) -> ApiResult<Vec<AssetRow>>;
    fn asset(&self, org: i64, id: i64) -> ApiResult<Option<AssetRow>>;
    /// Applies one write; returns the id of the entity written.
    fn authz_write(&self, ctx: &WriteCtx, write: &AuthzWrite) -> ApiResult<Value>;
    /// The migrated legacy viewers to review, with what each was set to since.
    fn legacy_review(&self, org: i64) -> ApiResult<Vec<LegacyReviewEntry>>;
}

fn grantee_parts(g: Grantee) -> (&'static str, i64) {
    match g {
        Grantee::User(u) => ("user", i64::from(u.0)),
        Grantee::Group(g) => ("group", i64::from(g.0)),
    }
}

fn id32(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

pub(super) fn exists(conn: &Connection, table: &str, org: i64, id: i64) -> ApiResult<bool> {
    Ok(conn.query_row(
        &format!("SELECT EXISTS(SELECT 1 FROM {table} WHERE id = ?1 AND org_id = ?2)"),
        params![id, org],
        |r| r.get(0),
    )?)
}

fn load_asset(conn: &Connection, org: i64, id: i64) -> ApiResult<Option<AssetRow>> {
    let row = conn
        .query_row(
            "SELECT id, project_id, kind, name, creator_id, config, version FROM assets WHERE id = ?1 AND org_id = ?2",
            params![id, org],
            |r| {
                let kind: String = r.get(2)?;
                let config: String = r.get(5)?;
                Ok(AssetRow {
                    id: r.get(0)?,
                    project_id: r.get(1)?,
                    kind: AssetKind::parse(&kind).unwrap_or(AssetKind::Agent),
                    name: r.get(3)?,
                    creator_id: r.get(4)?,
                    agents: vec![],
                    config: serde_json::from_str(&config).unwrap_or(Value::Null),
                    version: r.get(6)?,
                })
            },
        )
        .optional()?;
    let Some(mut row) = row else { return Ok(None) };
    let mut stmt =
        conn.prepare("SELECT agent_id FROM workforce_agents WHERE workforce_id = ?1 ORDER BY position")?;
    row.agents = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(row))
}

fn load_group(conn: &Connection, org: i64, id: i64) -> ApiResult<Option<GroupRow>> {
    let row = conn
        .query_row(
            "SELECT id, name, version FROM groups WHERE id = ?1 AND org_id = ?2",
            params![id, org],
            |r| {
                Ok(GroupRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    members: vec![],
                    version: r.get(2)?,
                })
            },
        )
        .optional()?;
    let Some(mut row) = row else { return Ok(None) };
    let mut stmt = conn.prepare("SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id")?;
    row.members = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(row))
}

pub(super) fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(super) fn bump(conn: &Connection, table: &str, id: i64) -> ApiResult<i64> {
    conn.execute(
        &format!("UPDATE {table} SET version = version + 1 WHERE id = ?1"),
        [id],
    )?;
    Ok(
        conn.query_row(&format!("SELECT version FROM {table} WHERE id = ?1"), [id], |r| {
            r.get(0)
        })?,
    )
}

/// The org's plant as `conn` sees it (a reader, or a batch's open transaction).
pub(super) fn load_plant(c: &Connection, org: i64) -> ApiResult<Plant> {
    let mut plant = Plant::new();
    let mut stmt = c.prepare("SELECT id, name, role, active FROM users WHERE org_id = ?1")?;
    let users = stmt.query_map([org], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    for u in users {
        let (id, name, role, active) = u?;
        let role = OrgRole::parse(&role).unwrap_or(OrgRole::Viewer);
        plant.put_user(UserId(id32(id)), name, role, active)?;
    }
    let mut stmt = c.prepare("SELECT id, name FROM groups WHERE org_id = ?1")?;
    for g in stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = g?;
        plant.put_group(GroupId(id32(id)), name)?;
    }
    let mut stmt = c.prepare(
            "SELECT gm.group_id, gm.user_id FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE g.org_id = ?1",
        )?;
    for m in stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (g, u) = m?;
        plant.set_group_member(GroupId(id32(g)), UserId(id32(u)), true)?;
    }
    let mut stmt = c.prepare("SELECT id, name FROM projects WHERE org_id = ?1")?;
    for p in stmt.query_map([org], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = p?;
        plant.put_project(ProjectId(id32(id)), name)?;
    }
    let grantee = |kind: &str, id: i64| match kind {
        "group" => Grantee::Group(GroupId(id32(id))),
        _ => Grantee::User(UserId(id32(id))),
    };
    let mut stmt = c.prepare(
        "SELECT pg.project_id, pg.grantee_kind, pg.grantee_id, pg.role FROM project_grants pg
             JOIN projects p ON p.id = pg.project_id WHERE p.org_id = ?1",
    )?;
    for g in stmt.query_map([org], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })? {
        let (project, kind, id, role) = g?;
        if let Some(role) = ProjectRole::parse(&role) {
            plant.set_project_role(grantee(&kind, id), ProjectId(id32(project)), Some(role))?;
        }
    }
    // Agents before workforces, so a workforce's agents exist when it is added.
    let mut stmt = c.prepare(
        "SELECT id FROM assets WHERE org_id = ?1 ORDER BY CASE kind WHEN 'workforce' THEN 1 ELSE 0 END, id",
    )?;
    let ids: Vec<i64> = stmt.query_map([org], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for id in ids {
        if let Some(a) = load_asset(c, org, id)? {
            plant.put_asset(
                AssetId(id32(id)),
                AssetSpec {
                    name: a.name,
                    project: ProjectId(id32(a.project_id)),
                    kind: a.kind,
                    // Creator grants are stored as ordinary grants below.
                    creator: None,
                    agents: a.agents.iter().map(|x| AssetId(id32(*x))).collect(),
                },
            )?;
        }
    }
    let mut stmt = c.prepare(
        "SELECT ag.asset_id, ag.grantee_kind, ag.grantee_id, ag.role FROM asset_grants ag
             JOIN assets a ON a.id = ag.asset_id WHERE a.org_id = ?1",
    )?;
    for g in stmt.query_map([org], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })? {
        let (asset, kind, id, role) = g?;
        if let Some(role) = AssetRole::parse(&role) {
            plant.set_asset_role(grantee(&kind, id), AssetId(id32(asset)), Some(role))?;
        }
    }
    let mut stmt =
        c.prepare("SELECT id, name, parent_id FROM hierarchy_nodes WHERE org_id = ?1 ORDER BY id")?;
    let nodes = stmt
        .query_map([org], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // A node moved under a newer one has a parent with a larger id: place every node, then link.
    for (id, name, _) in &nodes {
        plant.put_node(NodeId(id32(*id)), name.clone(), None)?;
    }
    for (id, name, parent) in nodes {
        if let Some(p) = parent {
            plant.put_node(NodeId(id32(id)), name, Some(NodeId(id32(p))))?;
        }
    }
    let mut stmt = c.prepare(
            "SELECT id, name, permissions, scopes, enabled FROM api_keys WHERE org_id = ?1 AND revoked_at IS NULL",
        )?;
    for k in stmt.query_map([org], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })? {
        let (id, name, perms, scopes, enabled) = k?;
        let permissions: PermSet = serde_json::from_str(&perms).unwrap_or_default();
        let scopes: Vec<NodeId> = serde_json::from_str(&scopes).unwrap_or_default();
        plant.put_key(
            KeyId(id32(id)),
            ApiKey {
                name,
                permissions,
                scopes,
                enabled,
            },
        )?;
    }
    Ok(plant)
}

impl AuthzStore for SqliteStore {
    fn load_plant(&self, org: i64) -> ApiResult<Plant> {
        self.read(|c| load_plant(c, org))
    }

    fn groups(&self, org: i64) -> ApiResult<Vec<GroupRow>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM groups WHERE org_id = ?1 ORDER BY id")?;
            let ids: Vec<i64> = stmt.query_map([org], |r| r.get(0))?.collect::<Result<_, _>>()?;
            ids.into_iter()
                .filter_map(|id| load_group(c, org, id).transpose())
                .collect()
        })
    }

    fn projects(&self, org: i64) -> ApiResult<Vec<ProjectRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, name, version FROM projects WHERE org_id = ?1 ORDER BY id")?;
            let rows = stmt.query_map([org], |r| {
                Ok(ProjectRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    version: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn project(&self, org: i64, id: i64) -> ApiResult<Option<ProjectRow>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT id, name, version FROM projects WHERE id = ?1 AND org_id = ?2",
                params![id, org],
                |r| {
                    Ok(ProjectRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        version: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn assets(&self, org: i64, project: Option<i64>) -> ApiResult<Vec<AssetRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM assets WHERE org_id = ?1 AND (?2 IS NULL OR project_id = ?2) ORDER BY id",
            )?;
            let ids: Vec<i64> = stmt
                .query_map(params![org, project], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .filter_map(|id| load_asset(c, org, id).transpose())
                .collect()
        })
    }

    fn asset(&self, org: i64, id: i64) -> ApiResult<Option<AssetRow>> {
        self.read(|c| load_asset(c, org, id))
    }

    fn authz_write(&self, ctx: &WriteCtx, write: &AuthzWrite) -> ApiResult<Value> {
        self.write(ctx, |tx, journal| apply(tx, journal, ctx, write))
    }

    fn legacy_review(&self, org: i64) -> ApiResult<Vec<LegacyReviewEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT user_id, project_id, migrated_to, resolved_to FROM legacy_review
                 WHERE org_id = ?1 ORDER BY project_id, user_id",
            )?;
            let rows = stmt.query_map([org], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (user, project, migrated_to, resolved_to) = row?;
                out.push(LegacyReviewEntry {
                    user,
                    project,
                    migrated_to: ProjectRole::parse(&migrated_to).unwrap_or(ProjectRole::Viewer),
                    resolved_to,
                });
            }
            Ok(out)
        })
    }
}

/// What a grant is on.
#[derive(Clone, Copy)]
enum GrantOn {
    Project(i64),
    Asset(i64),
}

impl GrantOn {
    /// (grant table, key column, entity, entity table, change-feed entity, id)
    fn parts(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        i64,
    ) {
        match self {
            GrantOn::Project(id) => (
                "project_grants",
                "project_id",
                "project",
                "projects",
                "project_grant",
                id,
            ),
            GrantOn::Asset(id) => ("asset_grants", "asset_id", "asset", "assets", "asset_grant", id),
        }
    }
}

/// Sets or removes (`None`) one grantee's role on a project or asset, with its audit record
/// and change-feed entry.
fn set_grant(
    tx: &Connection,
    journal: &mut super::Journal,
    org: i64,
    on: GrantOn,
    grantee: Grantee,
    role: Option<&'static str>,
) -> ApiResult<Value> {
    let (grants, key, entity, table, feed_entity, id) = on.parts();
    if !exists(tx, table, org, id)? {
        return Err(ApiError::not_found(entity));
    }
    let (kind, gid) = grantee_parts(grantee);
    let grantee_table = if kind == "user" { "users" } else { "groups" };
    if !exists(tx, grantee_table, org, gid)? {
        return Err(ApiError::not_found(kind));
    }
    let before: Option<String> = tx
        .query_row(
            &format!("SELECT role FROM {grants} WHERE {key} = ?1 AND grantee_kind = ?2 AND grantee_id = ?3"),
            params![id, kind, gid],
            |r| r.get(0),
        )
        .optional()?;
    match role {
        Some(role) => tx.execute(
            &format!(
                "INSERT INTO {grants} ({key}, grantee_kind, grantee_id, role) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT ({key}, grantee_kind, grantee_id) DO UPDATE SET role = excluded.role"
            ),
            params![id, kind, gid, role],
        )?,
        None => tx.execute(
            &format!("DELETE FROM {grants} WHERE {key} = ?1 AND grantee_kind = ?2 AND grantee_id = ?3"),
            params![id, kind, gid],
        )?,
    };
    let version = bump(tx, table, id)?;
    let after = serde_json::json!({ entity: id, "grantee": grantee, "role": role });
    journal.audit(
        &format!("{entity}.set_role"),
        format!("{entity}:{id}"),
        Some(serde_json::json!({ "grantee": grantee, "role": before })),
        Some(after.clone()),
    );
    journal.change(feed_entity, id, "put", version, Some(after.clone()));
    Ok(after)
}

pub(super) fn apply(
    tx: &Connection,
    journal: &mut super::Journal,
    ctx: &WriteCtx,
    write: &AuthzWrite,
) -> ApiResult<Value> {
    let org = ctx.org;
    match write {
        AuthzWrite::Batch(writes) => {
            let mut results = Vec::with_capacity(writes.len());
            for w in writes {
                results.push(apply(tx, journal, ctx, w)?);
            }
            Ok(Value::Array(results))
        }
        AuthzWrite::CreateGroup { name } => {
            tx.execute(
                "INSERT INTO groups (org_id, name) VALUES (?1, ?2)",
                params![org, name],
            )?;
            let id = tx.last_insert_rowid();
            let row = load_group(tx, org, id)?.ok_or_else(|| ApiError::Internal("group vanished".into()))?;
            journal.audit("group.create", format!("group:{id}"), None, Some(to_json(&row)));
            journal.change("group", id, "put", row.version, Some(to_json(&row)));
            Ok(to_json(&row))
        }
        AuthzWrite::RenameGroup {
            group,
            name,
            if_match,
        } => {
            let before = load_group(tx, org, *group)?.ok_or_else(|| ApiError::not_found("group"))?;
            check_version(before.version, *if_match, || to_json(&before))?;
            tx.execute("UPDATE groups SET name = ?1 WHERE id = ?2", params![name, group])?;
            bump(tx, "groups", *group)?;
            let after =
                load_group(tx, org, *group)?.ok_or_else(|| ApiError::Internal("group vanished".into()))?;
            journal.audit(
                "group.update",
                format!("group:{group}"),
                Some(to_json(&before)),
                Some(to_json(&after)),
            );
            journal.change("group", *group, "put", after.version, Some(to_json(&after)));
            Ok(to_json(&after))
        }
        AuthzWrite::DeleteGroup { group } => {
            let before = load_group(tx, org, *group)?.ok_or_else(|| ApiError::not_found("group"))?;
            tx.execute("DELETE FROM group_members WHERE group_id = ?1", [group])?;
            tx.execute(
                "DELETE FROM project_grants WHERE grantee_kind = 'group' AND grantee_id = ?1",
                [group],
            )?;
            tx.execute(
                "DELETE FROM asset_grants WHERE grantee_kind = 'group' AND grantee_id = ?1",
                [group],
            )?;
            tx.execute("DELETE FROM groups WHERE id = ?1", [group])?;
            journal.audit(
                "group.delete",
                format!("group:{group}"),
                Some(to_json(&before)),
                None,
            );
            journal.change("group", *group, "delete", before.version + 1, None);
            Ok(Value::Null)
        }
        AuthzWrite::SetGroupMember { group, user, member } => {
            let before = load_group(tx, org, *group)?.ok_or_else(|| ApiError::not_found("group"))?;
            if !exists(tx, "users", org, *user)? {
                return Err(ApiError::not_found("user"));
            }
            if *member {
                tx.execute(
                    "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
                    params![group, user],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
                    params![group, user],
                )?;
            }
            bump(tx, "groups", *group)?;
            let after =
                load_group(tx, org, *group)?.ok_or_else(|| ApiError::Internal("group vanished".into()))?;
            let action = if *member {
                "group.add_member"
            } else {
                "group.remove_member"
            };
            journal.audit(
                action,
                format!("group:{group}"),
                Some(to_json(&before)),
                Some(to_json(&after)),
            );
            journal.change("group", *group, "put", after.version, Some(to_json(&after)));
            Ok(to_json(&after))
        }
        AuthzWrite::CreateProject { name } => {
            tx.execute(
                "INSERT INTO projects (org_id, name) VALUES (?1, ?2)",
                params![org, name],
            )?;
            let id = tx.last_insert_rowid();
            let row = ProjectRow {
                id,
                name: name.clone(),
                version: 1,
            };
            journal.audit(
                "project.create",
                format!("project:{id}"),
                None,
                Some(to_json(&row)),
            );
            journal.change("project", id, "put", 1, Some(to_json(&row)));
            Ok(to_json(&row))
        }
        AuthzWrite::DeleteProject { project } => {
            if !exists(tx, "projects", org, *project)? {
                return Err(ApiError::not_found("project"));
            }
            let assets: Vec<i64> = {
                let mut stmt = tx.prepare("SELECT id FROM assets WHERE project_id = ?1")?;
                stmt.query_map([project], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for a in &assets {
                tx.execute("DELETE FROM asset_grants WHERE asset_id = ?1", [a])?;
                tx.execute(
                    "DELETE FROM workforce_agents WHERE workforce_id = ?1 OR agent_id = ?1",
                    [a],
                )?;
                tx.execute("UPDATE records SET asset_id = NULL WHERE asset_id = ?1", [a])?;
                tx.execute("DELETE FROM assets WHERE id = ?1", [a])?;
                journal.change("asset", *a, "delete", 0, None);
            }
            tx.execute("DELETE FROM project_grants WHERE project_id = ?1", [project])?;
            tx.execute("DELETE FROM legacy_review WHERE project_id = ?1", [project])?;
            tx.execute("DELETE FROM projects WHERE id = ?1", [project])?;
            journal.audit(
                "project.delete",
                format!("project:{project}"),
                Some(serde_json::json!({"assets": assets})),
                None,
            );
            journal.change("project", *project, "delete", 0, None);
            Ok(Value::Null)
        }
        AuthzWrite::SetProjectRole {
            project,
            grantee,
            role,
        } => {
            let after = set_grant(
                tx,
                journal,
                org,
                GrantOn::Project(*project),
                *grantee,
                role.map(ProjectRole::name),
            )?;
            // A reviewed legacy viewer: remember what the administrator chose.
            if let Grantee::User(user) = grantee {
                tx.execute(
                    "UPDATE legacy_review SET resolved_to = ?1 WHERE org_id = ?2 AND project_id = ?3 AND user_id = ?4",
                    params![role.map_or("none", ProjectRole::name), org, project, user.0],
                )?;
            }
            Ok(after)
        }
        AuthzWrite::ListForReview {
            user,
            project,
            migrated_to,
        } => {
            tx.execute(
                "DELETE FROM legacy_review WHERE org_id = ?1 AND project_id = ?2 AND user_id = ?3",
                params![org, project, user],
            )?;
            tx.execute(
                "INSERT INTO legacy_review (org_id, user_id, project_id, migrated_to) VALUES (?1, ?2, ?3, ?4)",
                params![org, user, project, migrated_to.name()],
            )?;
            Ok(Value::Null)
        }
        AuthzWrite::CreateAsset {
            project,
            kind,
            name,
            agents,
            config,
        } => {
            if !exists(tx, "projects", org, *project)? {
                return Err(ApiError::not_found("project"));
            }
            let creator = match ctx.actor {
                super::Actor::User(id) => Some(id),
                _ => None,
            };
            tx.execute(
                        "INSERT INTO assets (org_id, project_id, kind, name, creator_id, config) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![org, project, kind.name(), name, creator, config.to_string()],
                    )?;
            let id = tx.last_insert_rowid();
            for (position, agent) in agents.iter().enumerate() {
                tx.execute(
                    "INSERT INTO workforce_agents (workforce_id, agent_id, position) VALUES (?1, ?2, ?3)",
                    params![id, agent, position as i64],
                )?;
            }
            if let Some(creator) = creator {
                // The creator becomes asset admin.
                tx.execute(
                            "INSERT INTO asset_grants (asset_id, grantee_kind, grantee_id, role) VALUES (?1, 'user', ?2, 'admin')",
                            params![id, creator],
                        )?;
            }
            let row = load_asset(tx, org, id)?.ok_or_else(|| ApiError::Internal("asset vanished".into()))?;
            journal.audit("asset.create", format!("asset:{id}"), None, Some(to_json(&row)));
            journal.change("asset", id, "put", row.version, Some(to_json(&row)));
            if let Some(creator) = creator {
                let grant = serde_json::json!({
                    "asset": id,
                    "grantee": Grantee::User(steward_model::UserId(id32(creator))),
                    "role": "admin",
                });
                journal.change("asset_grant", id, "put", row.version, Some(grant));
            }
            Ok(to_json(&row))
        }
        AuthzWrite::UpdateAsset {
            asset,
            name,
            agents,
            config,
            if_match,
        } => {
            let before = load_asset(tx, org, *asset)?.ok_or_else(|| ApiError::not_found("asset"))?;
            check_version(before.version, *if_match, || to_json(&before))?;
            if let Some(name) = name {
                tx.execute("UPDATE assets SET name = ?1 WHERE id = ?2", params![name, asset])?;
            }
            if let Some(config) = config {
                tx.execute(
                    "UPDATE assets SET config = ?1 WHERE id = ?2",
                    params![config.to_string(), asset],
                )?;
            }
            if let Some(agents) = agents {
                tx.execute("DELETE FROM workforce_agents WHERE workforce_id = ?1", [asset])?;
                for (position, agent) in agents.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO workforce_agents (workforce_id, agent_id, position) VALUES (?1, ?2, ?3)",
                        params![asset, agent, position as i64],
                    )?;
                }
            }
            bump(tx, "assets", *asset)?;
            let after =
                load_asset(tx, org, *asset)?.ok_or_else(|| ApiError::Internal("asset vanished".into()))?;
            journal.audit(
                "asset.update",
                format!("asset:{asset}"),
                Some(to_json(&before)),
                Some(to_json(&after)),
            );
            journal.change("asset", *asset, "put", after.version, Some(to_json(&after)));
            Ok(to_json(&after))
        }
        AuthzWrite::DeleteAsset { asset } => {
            let before = load_asset(tx, org, *asset)?.ok_or_else(|| ApiError::not_found("asset"))?;
            tx.execute("DELETE FROM asset_grants WHERE asset_id = ?1", [asset])?;
            tx.execute(
                "DELETE FROM workforce_agents WHERE workforce_id = ?1 OR agent_id = ?1",
                [asset],
            )?;
            tx.execute("UPDATE records SET asset_id = NULL WHERE asset_id = ?1", [asset])?;
            tx.execute("DELETE FROM assets WHERE id = ?1", [asset])?;
            journal.audit(
                "asset.delete",
                format!("asset:{asset}"),
                Some(to_json(&before)),
                None,
            );
            journal.change("asset", *asset, "delete", before.version + 1, None);
            Ok(Value::Null)
        }
        AuthzWrite::SetAssetRole { asset, grantee, role } => set_grant(
            tx,
            journal,
            org,
            GrantOn::Asset(*asset),
            *grantee,
            role.map(AssetRole::name),
        ),
        AuthzWrite::CreateNode { name, parent } => {
            if let Some(parent) = parent {
                if !exists(tx, "hierarchy_nodes", org, *parent)? {
                    return Err(ApiError::not_found("hierarchy node"));
                }
            }
            tx.execute(
                "INSERT INTO hierarchy_nodes (org_id, name, parent_id) VALUES (?1, ?2, ?3)",
                params![org, name, parent],
            )?;
            let id = tx.last_insert_rowid();
            let after = serde_json::json!({"id": id, "name": name, "parent": parent});
            journal.audit(
                "hierarchy.create",
                format!("node:{id}"),
                None,
                Some(after.clone()),
            );
            journal.change("hierarchy_node", id, "put", 1, Some(after.clone()));
            Ok(after)
        }
    }
}
