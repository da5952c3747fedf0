//! People, groups, settings, projects, assets and the hierarchy. Every change goes through the
//! store (one transaction with its audit records), then the org's plant is reloaded so the
//! resolver sees it at once.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steward_model::legacy::{self, LegacyAssignment, LegacyRole};
use steward_model::{
    AssetAction, AssetId, AssetKind, AssetRole, Change, Grantee, OrgRole, Permission, ProjectAction,
    ProjectId, ProjectRole, Resource, UserId,
};

use super::{ApiJson, ApiPath, Idempotency, if_match, require};
use crate::auth::{Caller, id32, secrets};
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::authz::AuthzWrite;
use crate::store::{AssetRow, GroupRow, OrgSettings, ProjectRow, UserRow};
use steward_wire::*;

fn name(value: &str, what: &str) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "invalid_name",
            format!("{what} must be 1 to 100 characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

// ----- users --------------------------------------------------------------------------------

pub async fn list_users(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<UserRow>>> {
    Ok(Json(state.store.users(caller.org)?))
}

pub async fn get_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<UserRow>> {
    state
        .store
        .user(id)?
        .filter(|u| u.org_id == caller.org)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Change a role, deactivate (every session ends at once; every record stays) or reactivate.
/// Making or unmaking an owner needs `organization.manage` (ownership transfer).
pub async fn update_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserRow>, Response> {
    let target = state
        .store
        .user(id)
        .map_err(IntoResponse::into_response)?
        .filter(|u| u.org_id == caller.org)
        .ok_or_else(|| ApiError::not_found("user").into_response())?;
    let touches_owner = patch.role == Some(OrgRole::Owner) || target.role == OrgRole::Owner;
    if touches_owner {
        let path = format!("/api/v1/users/{id}");
        require(
            &state,
            &caller,
            Permission::OrganizationManage,
            Resource::Org,
            &Method::PATCH,
            &path,
        )?;
    }
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let user = state
        .store
        .update_user(
            &ctx,
            id,
            patch.role,
            patch.active,
            if_match(&headers).map_err(IntoResponse::into_response)?,
        )
        .map_err(IntoResponse::into_response)?;
    state.reload(caller.org).map_err(IntoResponse::into_response)?;
    Ok(Json(user))
}

fn valid_email(email: &str) -> ApiResult<String> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(email.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "invalid_email",
            format!("`{email}` is not an email address"),
        ))
    }
}

pub async fn invite(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<Invited>), Response> {
    let email = valid_email(&body.email).map_err(IntoResponse::into_response)?;
    let role = body.role.unwrap_or(OrgRole::DEFAULT);
    if role == OrgRole::Owner {
        require(
            &state,
            &caller,
            Permission::OrganizationManage,
            Resource::Org,
            &Method::POST,
            "/api/v1/invites",
        )?;
    }
    let run = || -> ApiResult<Invited> {
        let token = secrets::new_invite_token()?;
        let ctx = caller.write_ctx(&state, 201, idem.0.clone());
        let expires_at = ctx.now + state.limits.invite_ttl_ms;
        let invite = state
            .store
            .create_invite(&ctx, &email, role, &state.tokens.hash(&token), expires_at)?;
        Ok(Invited { invite, token })
    };
    run()
        .map(|i| (StatusCode::CREATED, Json(i)))
        .map_err(IntoResponse::into_response)
}

pub async fn accept_invite(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<AcceptInvite>,
) -> ApiResult<(StatusCode, Json<UserRow>)> {
    let display_name = name(&body.name, "name")?;
    secrets::check_password_policy(&body.password)?;
    let token_hash = state.tokens.hash(body.token.trim());
    let invite = state
        .store
        .invite_by_token(&token_hash)?
        .ok_or_else(|| ApiError::not_found("invite"))?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let ctx = crate::store::WriteCtx {
        org: invite.org_id,
        actor: crate::store::Actor::System,
        source: "invite".to_owned(),
        now: state.clock.now_ms(),
        idempotency: None,
        status: 201,
    };
    let user = state
        .store
        .accept_invite(&ctx, &token_hash, &display_name, &hash)?;
    state.reload(invite.org_id)?;
    Ok((StatusCode::CREATED, Json(user)))
}

// ----- settings -----------------------------------------------------------------------------

pub async fn get_settings(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<OrgSettings>> {
    Ok(Json(state.store.org_settings(caller.org)?))
}

/// `OrgSettings` from a request body: a JSON object with no fields the type lacks. The type
/// fills missing fields with defaults, so a misspelt setting (or `[]`) would otherwise reset
/// the real settings silently.
fn settings_body(body: Value) -> ApiResult<OrgSettings> {
    let known =
        serde_json::to_value(OrgSettings::default()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (Some(fields), Some(known)) = (body.as_object(), known.as_object()) else {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "the settings are a JSON object",
        ));
    };
    if let Some(unknown) = fields.keys().find(|k| !known.contains_key(k.as_str())) {
        let expected: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(ApiError::unprocessable(
            "invalid_body",
            format!(
                "unknown field `{unknown}`, expected one of: {}",
                expected.join(", ")
            ),
        ));
    }
    serde_json::from_value(body).map_err(|e| ApiError::unprocessable("invalid_body", e.to_string()))
}

pub async fn put_settings(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<OrgSettings>> {
    let settings = settings_body(body)?;
    if !(1..=24 * 60).contains(&settings.idle_timeout_minutes) {
        return Err(ApiError::unprocessable(
            "invalid_setting",
            "idle_timeout_minutes must be 1 to 1440",
        ));
    }
    let ctx = caller.write_ctx(&state, 200, idem.0);
    Ok(Json(state.store.set_org_settings(&ctx, &settings)?))
}

// ----- groups -------------------------------------------------------------------------------

pub async fn list_groups(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<GroupRow>>> {
    Ok(Json(state.store.groups(caller.org)?))
}

async fn authz(
    state: &SharedState,
    caller: &Caller,
    idem: Idempotency,
    status: u16,
    write: AuthzWrite,
) -> ApiResult<Value> {
    let ctx = caller.write_ctx(state, status, idem.0);
    let value = state.store.authz_write(&ctx, &write)?;
    state.reload(caller.org)?;
    Ok(value)
}

pub async fn create_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let write = AuthzWrite::CreateGroup {
        name: name(&body.name, "group name")?,
    };
    Ok((
        StatusCode::CREATED,
        Json(authz(&state, &caller, idem, 201, write).await?),
    ))
}

pub async fn rename_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(group): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<Json<Value>> {
    let write = AuthzWrite::RenameGroup {
        group,
        name: name(&body.name, "group name")?,
        if_match: if_match(&headers)?,
    };
    Ok(Json(authz(&state, &caller, idem, 200, write).await?))
}

pub async fn delete_group(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(group): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    authz(&state, &caller, idem, 204, AuthzWrite::DeleteGroup { group }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_member(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath((group, user)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Value>> {
    set_membership(&state, &caller, idem, group, user, true).await
}

pub async fn remove_member(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath((group, user)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Value>> {
    set_membership(&state, &caller, idem, group, user, false).await
}

async fn set_membership(
    state: &SharedState,
    caller: &Caller,
    idem: Idempotency,
    group: i64,
    user: i64,
    member: bool,
) -> ApiResult<Json<Value>> {
    let write = AuthzWrite::SetGroupMember { group, user, member };
    Ok(Json(authz(state, caller, idem, 200, write).await?))
}

// ----- projects -----------------------------------------------------------------------------

/// The projects the caller may view.
pub async fn list_projects(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<ProjectRow>>> {
    let projects = state.store.projects(caller.org)?;
    Ok(Json(
        projects
            .into_iter()
            .filter(|p| {
                caller.plant.allows(
                    caller.principal,
                    ProjectAction::View,
                    Resource::Project(ProjectId(id32(p.id))),
                )
            })
            .collect(),
    ))
}

pub async fn create_project(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let write = AuthzWrite::CreateProject {
        name: name(&body.name, "project name")?,
    };
    Ok((
        StatusCode::CREATED,
        Json(authz(&state, &caller, idem, 201, write).await?),
    ))
}

/// A project's or asset's grants as the API shows them.
fn grant_bodies<R: Copy>(grants: &[(Grantee, R)]) -> Vec<GrantBody<R>> {
    grants
        .iter()
        .map(|(grantee, role)| GrantBody {
            grantee: *grantee,
            role: Some(*role),
        })
        .collect()
}

pub async fn get_project(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectDetail>> {
    let project = state
        .store
        .project(caller.org, id)?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let roles = caller
        .plant
        .project(ProjectId(id32(id)))
        .map(|p| grant_bodies(p.grants()))
        .unwrap_or_default();
    Ok(Json(ProjectDetail { project, roles }))
}

pub async fn delete_project(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(project): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    authz(&state, &caller, idem, 204, AuthzWrite::DeleteProject { project }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_project_role(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(project): ApiPath<i64>,
    ApiJson(body): ApiJson<GrantBody<ProjectRole>>,
) -> ApiResult<Json<Value>> {
    let write = AuthzWrite::SetProjectRole {
        project,
        grantee: body.grantee,
        role: body.role,
    };
    Ok(Json(authz(&state, &caller, idem, 200, write).await?))
}

// ----- assets -------------------------------------------------------------------------------

/// The project's assets the caller may view.
pub async fn list_assets(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(project): ApiPath<i64>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    let assets = state.store.assets(caller.org, Some(project))?;
    Ok(Json(
        assets
            .into_iter()
            .filter(|a| {
                caller.plant.allows(
                    caller.principal,
                    AssetAction::ViewConfig,
                    Resource::Asset(AssetId(id32(a.id))),
                )
            })
            .collect(),
    ))
}

fn check_agents(caller: &Caller, project: i64, kind: AssetKind, agents: &[i64]) -> ApiResult<()> {
    if kind != AssetKind::Workforce && !agents.is_empty() {
        return Err(ApiError::unprocessable(
            "agents_on_non_workforce",
            "only workforces list agents",
        ));
    }
    for (i, agent) in agents.iter().enumerate() {
        let ok = caller
            .plant
            .asset(AssetId(id32(*agent)))
            .is_some_and(|a| a.kind == AssetKind::Agent && i64::from(a.project.0) == project);
        if !ok {
            return Err(ApiError::unprocessable(
                "invalid_workforce_agent",
                format!("asset {agent} is not an agent of this project"),
            ));
        }
        if agents.get(..i).is_some_and(|before| before.contains(agent)) {
            return Err(ApiError::unprocessable(
                "invalid_workforce_agent",
                format!("agent {agent} is listed twice"),
            ));
        }
    }
    Ok(())
}

fn check_config(config: &Option<Value>) -> ApiResult<()> {
    match config {
        Some(c) if !c.is_object() || c.to_string().len() > 64 * 1024 => Err(ApiError::unprocessable(
            "invalid_config",
            "config must be a JSON object of at most 64 KiB",
        )),
        _ => Ok(()),
    }
}

pub async fn create_asset(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(project): ApiPath<i64>,
    ApiJson(body): ApiJson<NewAsset>,
) -> Result<(StatusCode, Json<Value>), Response> {
    // The guard checked `project.create_assets`; the kind's module needs `manage` at org level.
    let module = caller
        .plant
        .decide_create_asset(caller.principal, ProjectId(id32(project)), body.kind);
    if !module.allowed {
        let path = format!("/api/v1/projects/{project}/assets");
        return Err(super::deny(
            &state,
            &caller,
            &Method::POST,
            &path,
            steward_model::Action::Org(body.kind.manage_permission()),
            Resource::Org,
            &module,
        ));
    }
    check_agents(&caller, project, body.kind, &body.agents).map_err(IntoResponse::into_response)?;
    check_config(&body.config).map_err(IntoResponse::into_response)?;
    let write = AuthzWrite::CreateAsset {
        project,
        kind: body.kind,
        name: name(&body.name, "asset name").map_err(IntoResponse::into_response)?,
        agents: body.agents,
        config: body.config.unwrap_or_else(|| json!({})),
    };
    let created = authz(&state, &caller, idem, 201, write)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn get_asset(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AssetDetail>> {
    let asset = state
        .store
        .asset(caller.org, id)?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let roles = caller
        .plant
        .asset(AssetId(id32(id)))
        .map(|a| grant_bodies(a.grants()))
        .unwrap_or_default();
    Ok(Json(AssetDetail { asset, roles }))
}

pub async fn update_asset(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(asset): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AssetPatch>,
) -> ApiResult<Json<Value>> {
    let current = caller
        .plant
        .asset(AssetId(id32(asset)))
        .ok_or_else(|| ApiError::not_found("asset"))?;
    if let Some(agents) = &body.agents {
        check_agents(&caller, i64::from(current.project.0), current.kind, agents)?;
    }
    check_config(&body.config)?;
    let write = AuthzWrite::UpdateAsset {
        asset,
        name: body.name.as_deref().map(|n| name(n, "asset name")).transpose()?,
        agents: body.agents,
        config: body.config,
        if_match: if_match(&headers)?,
    };
    Ok(Json(authz(&state, &caller, idem, 200, write).await?))
}

pub async fn delete_asset(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(asset): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    authz(&state, &caller, idem, 204, AuthzWrite::DeleteAsset { asset }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_asset_role(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(asset): ApiPath<i64>,
    ApiJson(body): ApiJson<GrantBody<AssetRole>>,
) -> ApiResult<Json<Value>> {
    let write = AuthzWrite::SetAssetRole {
        asset,
        grantee: body.grantee,
        role: body.role,
    };
    Ok(Json(authz(&state, &caller, idem, 200, write).await?))
}

/// The caller's visible assets of some kinds, across projects: `GET /agents`, `/tools`, `/data`.
fn visible_assets(
    state: &SharedState,
    caller: &Caller,
    kinds: &[AssetKind],
) -> ApiResult<Json<Vec<AssetRow>>> {
    let assets = state.store.assets(caller.org, None)?;
    Ok(Json(
        assets
            .into_iter()
            .filter(|a| kinds.contains(&a.kind))
            .filter(|a| {
                caller.plant.allows(
                    caller.principal,
                    AssetAction::ViewConfig,
                    Resource::Asset(AssetId(id32(a.id))),
                )
            })
            .collect(),
    ))
}

pub async fn list_agents(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    visible_assets(&state, &caller, &[AssetKind::Agent, AssetKind::Workforce])
}

pub async fn list_tools(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    visible_assets(&state, &caller, &[AssetKind::Tool])
}

pub async fn list_data(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<AssetRow>>> {
    visible_assets(&state, &caller, &[AssetKind::Knowledge])
}

// ----- legacy migration ---------------------------------------------------------------------

/// Imports legacy admin/editor/viewer project roles and returns every migrated viewer for
/// review (legacy viewers could run agents; RBAC viewers cannot).
pub async fn legacy_import(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<LegacyImport>,
) -> ApiResult<Json<legacy::LegacyMigration>> {
    let mut assignments = Vec::with_capacity(body.assignments.len());
    for (i, row) in body.assignments.iter().enumerate() {
        let role = LegacyRole::parse(&row.role).ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_legacy_role",
                format!("assignments[{i}].role must be admin, editor or viewer"),
            )
        })?;
        let user = UserId(id32(row.user));
        let project = ProjectId(id32(row.project));
        if caller.plant.user(user).is_none() {
            return Err(ApiError::not_found("user").with_details(json!({ "index": i })));
        }
        if caller.plant.project(project).is_none() {
            return Err(ApiError::not_found("project").with_details(json!({ "index": i })));
        }
        assignments.push(LegacyAssignment { user, project, role });
    }
    let migration = legacy::migrate(&assignments);
    // Validate the whole import on a copy first, so it lands whole or not at all.
    let mut check = (*caller.plant).clone();
    for change in &migration.changes {
        check.apply(change)?;
    }
    let mut writes: Vec<AuthzWrite> = migration
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::SetProjectRole {
                grantee,
                project,
                role,
            } => Some(AuthzWrite::SetProjectRole {
                project: i64::from(project.0),
                grantee: *grantee,
                role: *role,
            }),
            _ => None,
        })
        .collect();
    // Kept, so the review list outlives this response (`GET /legacy-review`).
    writes.extend(migration.review.iter().map(|item| AuthzWrite::ListForReview {
        user: i64::from(item.user.0),
        project: i64::from(item.project.0),
        migrated_to: item.migrated_to,
    }));
    let ctx = caller.write_ctx(&state, 200, idem.0);
    state.store.authz_write(&ctx, &AuthzWrite::Batch(writes))?;
    state.reload(caller.org)?;
    Ok(Json(migration))
}

/// `GET /legacy-review`: every migrated legacy viewer still listed, with the role they hold now,
/// the roles to choose from and why they are listed.
pub async fn legacy_review(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<LegacyReviewRow>>> {
    let rows = state
        .store
        .legacy_review(caller.org)?
        .into_iter()
        .map(|entry| {
            let user = UserId(id32(entry.user));
            let project = ProjectId(id32(entry.project));
            // The model says why a legacy viewer is listed and what to choose from.
            let item = legacy::migrate(&[LegacyAssignment {
                user,
                project,
                role: LegacyRole::Viewer,
            }])
            .review
            .into_iter()
            .next();
            let current = caller.plant.project(project).and_then(|p| {
                p.grants()
                    .iter()
                    .find(|(g, _)| *g == Grantee::User(user))
                    .map(|(_, r)| *r)
            });
            LegacyReviewRow {
                entry,
                current,
                options: item.as_ref().map(|i| i.options.to_vec()).unwrap_or_default(),
                why: item.map(|i| i.why).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Json(rows))
}

// ----- hierarchy ----------------------------------------------------------------------------

pub async fn list_nodes(Extension(caller): Extension<Caller>) -> Json<Vec<NodeBody>> {
    Json(
        caller
            .plant
            .nodes()
            .map(|(id, n)| NodeBody {
                id: id.0,
                name: n.name.clone(),
                parent: n.parent.map(|p| p.0),
            })
            .collect(),
    )
}

pub async fn create_node(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NewNode>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let write = AuthzWrite::CreateNode {
        name: name(&body.name, "node name")?,
        parent: body.parent,
    };
    Ok((
        StatusCode::CREATED,
        Json(authz(&state, &caller, idem, 201, write).await?),
    ))
}
