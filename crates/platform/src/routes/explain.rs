//! Who can do what, and what happened: the resolver's decision with reasons (`/explain`), the
//! reverse lookup (`/who-can`), the preview of a role or grant change (`/preview`), the audit
//! trail (`/audit`) and the change feed clients sync from (`/changes`). Each answer shows only
//! what the caller may view.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use steward_model::{
    AccessDelta, Action, AssetAction, AssetId, Change, KeyId, NodeId, Permission, Plant, Principal,
    ProjectAction, ProjectId, Resource, Target, UserId,
};
use steward_wire::DecisionBody;

use super::{ApiJson, ApiQuery};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{AuditEntry, AuditQuery, ChangeRow, RecordModule};
use steward_wire::*;

// ----- parsing ----------------------------------------------------------------------------

/// `kind:id` (or `kind#id`, as ids are displayed) with a u32 id.
fn split_ref(text: &str) -> Option<(&str, u32)> {
    let (kind, id) = text.trim().split_once([':', '#'])?;
    let id = id.trim().parse::<u32>().ok()?;
    Some((kind.trim(), id))
}

/// `user:3` or `key:2`.
fn parse_principal(text: &str) -> ApiResult<Principal> {
    match split_ref(text) {
        Some(("user", id)) => Ok(Principal::User(UserId(id))),
        Some(("key", id)) => Ok(Principal::Key(KeyId(id))),
        _ => Err(ApiError::bad_request(
            "invalid_principal",
            format!("`{text}` is not a principal; use user:<id> or key:<id>"),
        )),
    }
}

/// `org`, `node:4`, `project:1` or `asset:5`.
fn parse_resource(text: &str) -> ApiResult<Resource> {
    if text.trim() == "org" {
        return Ok(Resource::Org);
    }
    match split_ref(text) {
        Some(("node", id)) => Ok(Resource::Node(NodeId(id))),
        Some(("project", id)) => Ok(Resource::Project(ProjectId(id))),
        Some(("asset", id)) => Ok(Resource::Asset(AssetId(id))),
        _ => Err(ApiError::bad_request(
            "invalid_resource",
            format!("`{text}` is not a resource; use org, node:<id>, project:<id> or asset:<id>"),
        )),
    }
}

/// `events.manage`, `project.view`, `asset.run`.
fn parse_action(text: &str) -> ApiResult<Action> {
    Action::parse(text.trim()).map_err(|e| {
        ApiError::bad_request(
            "invalid_action",
            format!("{e}; use a catalog permission (events.manage), project.<action> or asset.<action>"),
        )
    })
}

// ----- what the caller may see ------------------------------------------------------------

fn can(caller: &Caller, action: impl Into<Action>, resource: Resource) -> bool {
    caller.plant.allows(caller.principal, action, resource)
}

fn can_org(caller: &Caller, permission: Permission) -> bool {
    can(caller, permission, Resource::Org)
}

/// May the caller see this resource (and so ask about it)?
fn can_view_resource(caller: &Caller, resource: Resource) -> bool {
    match resource {
        Resource::Org => true,
        Resource::Node(_) => can_org(caller, Permission::HierarchyGroupList),
        Resource::Project(_) => can(caller, ProjectAction::View, resource),
        Resource::Asset(_) => can(caller, AssetAction::ViewConfig, resource),
    }
}

/// May the caller see this principal? People: the route's `users.view`; keys: `api_keys.view`.
fn can_view_principal(caller: &Caller, principal: Principal) -> bool {
    match principal {
        Principal::User(_) => can_org(caller, Permission::UsersView),
        Principal::Key(_) => can_org(caller, Permission::ApiKeysView),
    }
}

fn resource_exists(plant: &Plant, resource: Resource) -> bool {
    match resource {
        Resource::Org => true,
        Resource::Node(n) => plant.node(n).is_some(),
        Resource::Project(p) => plant.project(p).is_some(),
        Resource::Asset(a) => plant.asset(a).is_some(),
    }
}

fn principal_exists(plant: &Plant, principal: Principal) -> bool {
    match principal {
        Principal::User(u) => plant.user(u).is_some(),
        Principal::Key(k) => plant.key(k).is_some(),
    }
}

/// The resource, if it exists in the caller's org and the caller may see it; 404 otherwise
/// (never a hint about what the caller cannot see).
fn visible_resource(caller: &Caller, text: &str) -> ApiResult<Resource> {
    let resource = parse_resource(text)?;
    if !resource_exists(&caller.plant, resource) || !can_view_resource(caller, resource) {
        return Err(ApiError::not_found("resource"));
    }
    Ok(resource)
}

fn principal_name(plant: &Plant, principal: Principal) -> String {
    match principal {
        Principal::User(u) => plant.user(u).map_or_else(|| u.to_string(), |u| u.name.clone()),
        Principal::Key(k) => plant
            .key(k)
            .map_or_else(|| k.to_string(), |k| format!("API key \"{}\"", k.name)),
    }
}

fn target_name(plant: &Plant, target: Target) -> String {
    match target {
        Target::Project(p) => plant
            .project(p)
            .map_or_else(|| p.to_string(), |p| format!("project {}", p.name)),
        Target::Asset(a) => plant
            .asset(a)
            .map_or_else(|| a.to_string(), |a| format!("{} {}", a.kind.name(), a.name)),
    }
}

// ----- /explain ---------------------------------------------------------------------------

/// `GET /explain?principal=user:3&action=asset.run&resource=asset:5`: the decision with a
/// sentence per reason. For a workforce run, each agent the principal cannot run is named.
pub async fn explain(
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<ExplainQuery>,
) -> ApiResult<Json<DecisionBody>> {
    let principal = parse_principal(&q.principal)?;
    let action = parse_action(&q.action)?;
    let resource = visible_resource(&caller, q.resource.as_deref().unwrap_or("org"))?;
    let plant = &caller.plant;
    if !principal_exists(plant, principal) || !can_view_principal(&caller, principal) {
        return Err(ApiError::not_found(match principal {
            Principal::User(_) => "user",
            Principal::Key(_) => "API key",
        }));
    }
    let decision = plant.decide(principal, action, resource);
    Ok(Json(DecisionBody::new(
        plant, principal, action, resource, &decision,
    )))
}

// ----- /who-can ---------------------------------------------------------------------------

/// `GET /who-can?action=asset.run&resource=asset:5`: every principal allowed, with why. API
/// keys are listed only to callers who may view keys.
pub async fn who_can(
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<WhoCanQuery>,
) -> ApiResult<Json<Vec<WhoCanEntry>>> {
    let action = parse_action(&q.action)?;
    let resource = visible_resource(&caller, q.resource.as_deref().unwrap_or("org"))?;
    let plant = &caller.plant;
    let entries = plant
        .who_can(action, resource)
        .into_iter()
        .filter(|(p, _)| can_view_principal(&caller, *p))
        .map(|(principal, decision)| WhoCanEntry {
            principal,
            name: principal_name(plant, principal),
            decision: DecisionBody::new(plant, principal, action, resource, &decision),
        })
        .collect();
    Ok(Json(entries))
}

// ----- /preview ---------------------------------------------------------------------------

fn delta_text(plant: &Plant, d: &AccessDelta) -> String {
    let verb = if d.gained { "gains" } else { "loses" };
    let who = principal_name(plant, d.principal);
    match d.on {
        None => format!("{who} {verb} {}", d.action),
        Some(target) => format!("{who} {verb} {} on {}", d.action, target_name(plant, target)),
    }
}

fn can_view_target(caller: &Caller, target: Option<Target>) -> bool {
    match target {
        None => true,
        Some(Target::Project(p)) => can_view_resource(caller, Resource::Project(p)),
        Some(Target::Asset(a)) => can_view_resource(caller, Resource::Asset(a)),
    }
}

/// `POST /preview` with a change (`{"change": "set_org_role", "user": 3, "role": "admin"}`):
/// who would gain and who would lose what, without changing anything. Deltas on projects or
/// assets the caller cannot see are left out.
pub async fn preview(
    Extension(caller): Extension<Caller>,
    ApiJson(change): ApiJson<Change>,
) -> ApiResult<Json<PreviewBody>> {
    if matches!(change, Change::SetKeyPermissions { .. }) && !can_org(&caller, Permission::ApiKeysView) {
        return Err(ApiError::not_found("API key"));
    }
    let plant = &caller.plant;
    let deltas = plant
        .preview(&change)?
        .iter()
        .filter(|d| can_view_principal(&caller, d.principal) && can_view_target(&caller, d.on))
        .map(|d| DeltaBody {
            principal: d.principal,
            action: d.action,
            on: d.on,
            gained: d.gained,
            text: delta_text(plant, d),
        })
        .collect();
    Ok(Json(PreviewBody { deltas }))
}

// ----- /audit -----------------------------------------------------------------------------

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `GET /audit?actor=user:2&action=api_key.create&target=key:3&outcome=ok&before_id=&limit=`:
/// newest first; page back with `before_id` = the last id seen.
pub async fn audit(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let outcome = non_empty(q.outcome);
    if let Some(o) = &outcome {
        if o != "ok" && o != "denied" {
            return Err(ApiError::bad_request(
                "invalid_outcome",
                "outcome is `ok` or `denied`",
            ));
        }
    }
    if q.limit == 0 || q.limit > 500 {
        return Err(ApiError::bad_request("invalid_limit", "limit is 1 to 500"));
    }
    let query = AuditQuery {
        actor: non_empty(q.actor),
        action: non_empty(q.action),
        target: non_empty(q.target),
        outcome,
        before_id: q.before_id,
        limit: q.limit,
    };
    Ok(Json(state.store.audit_page(caller.org, &query)?))
}

// ----- /changes ---------------------------------------------------------------------------

const MAX_CHANGES: u32 = 5000;

/// May the caller see this change? Unknown kinds of entity are hidden (missing means deny).
fn change_visible(caller: &Caller, change: &ChangeRow) -> bool {
    let plant = &caller.plant;
    let id = u32::try_from(change.entity_id).ok();
    match change.entity.as_str() {
        "user" | "group" | "project_grant" | "asset_grant" => can_org(caller, Permission::UsersView),
        "settings" => can_org(caller, Permission::SettingsView),
        "api_key" => can_org(caller, Permission::ApiKeysView),
        "hierarchy_node" => can_org(caller, Permission::HierarchyGroupList),
        "device" => can_org(caller, Permission::DevicesList),
        "logical_group" => can_org(caller, Permission::LogicalGroupList),
        "presence" => can_org(caller, Permission::PresenceListen),
        "alert_rule" => can_org(caller, Permission::AlertsList),
        "project" => match id.map(ProjectId).filter(|p| plant.project(*p).is_some()) {
            Some(p) => can(caller, ProjectAction::View, Resource::Project(p)),
            // Deleted (or not yet loaded): only people who see the org's directory.
            None => can_org(caller, Permission::UsersView),
        },
        "asset" => match id.map(AssetId).filter(|a| plant.asset(*a).is_some()) {
            Some(a) => can(caller, AssetAction::ViewConfig, Resource::Asset(a)),
            None => can_org(caller, Permission::UsersView),
        },
        other => RecordModule::ALL
            .iter()
            .find(|m| m.name() == other)
            .is_some_and(|m| can_org(caller, m.view())),
    }
}

/// `GET /changes?since=CURSOR&limit=`: the org's changes after the cursor, oldest first,
/// filtered to what the caller may see.
pub async fn changes(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<ChangesParams>,
) -> ApiResult<Json<ChangesBody>> {
    if q.since < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "since is a cursor from a previous page, or 0",
        ));
    }
    if q.limit == 0 || q.limit > MAX_CHANGES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_limit",
            format!("limit is 1 to {MAX_CHANGES}"),
        ));
    }
    // Read the head first: a change landing in between is then at most one page late.
    let head = state.store.changes_head(caller.org)?;
    let rows = state.store.changes_since(caller.org, q.since, q.limit)?;
    let more = u32::try_from(rows.len()).is_ok_and(|n| n >= q.limit);
    let next = rows.last().map_or(q.since, |r| r.seq);
    let changes = rows.into_iter().filter(|c| change_visible(&caller, c)).collect();
    Ok(Json(ChangesBody {
        changes,
        next,
        more,
        head: head.max(next),
    }))
}
