//! `POST /batch`: the console's queued changes replayed in one request and one transaction.
//!
//! Each item is what the console would send alone (method, path, If-Match, Idempotency-Key,
//! body) and gets what that request would have answered: the guard's decision for the route's
//! `Need`, its idempotent replay, the handler's checks and the store's write with its own audit,
//! change-feed and idempotency records, in a savepoint so a refusal undoes only that item.
//!
//! Authorization: every item is decided on the plant as it stands after the items before it,
//! so a batch can never do what its items sent one by one could not (an item that demotes the
//! caller stops the caller's later items). The plant is re-read inside the transaction only
//! after an item that changed something the caller's own decisions depend on (their role,
//! active flag, groups, or a grant to them or one of their groups: all the resolver reads for a
//! user); otherwise the decisions cannot change and the plant is reused. Keys' decisions depend
//! only on the key, which no batch item changes. The org's plant is reloaded once, at the end.
//!
//! Only the outbox's routes are accepted: user role/status, group membership, project and asset
//! grants. A key's permissions also touch the broker outside the transaction, so they are sent
//! alone. An envelope that is not a batch, too many items or an unsupported item refuses the
//! whole batch before anything is written.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use steward_model::{
    Action, AssetAction, AssetId, AssetRole, Grantee, OrgRole, Permission, Plant, Principal, ProjectAction,
    ProjectId, ProjectRole, Resource,
};
use steward_wire::{BatchItem, BatchRequest, BatchResponse, BatchResult, ErrorBody, GrantBody, UserPatch};

use super::{refusal, request_hash};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::authz::AuthzWrite;
use crate::store::{BatchTx, BatchWrite};

pub use steward_wire::MAX_BATCH_ITEMS;

/// The route an item addresses, from its method and path.
#[derive(Clone, Copy)]
enum Target {
    /// `PATCH /users/{user}`.
    User(i64),
    /// `PUT` (join) or `DELETE` (leave) `/groups/{group}/members/{user}`.
    Member { group: i64, user: i64, member: bool },
    /// `PUT /projects/{project}/roles`.
    ProjectRoles(u32),
    /// `PUT /assets/{asset}/roles`.
    AssetRoles(u32),
}

impl Target {
    fn parse(method: &str, path: &str) -> Option<Target> {
        let id = |s: &str| s.parse::<u32>().ok();
        let segments: Vec<&str> = path.strip_prefix("/api/v1/")?.split('/').collect();
        match (method, segments.as_slice()) {
            ("PATCH", ["users", user]) => Some(Target::User(i64::from(id(user)?))),
            ("PUT" | "DELETE", ["groups", group, "members", user]) => Some(Target::Member {
                group: i64::from(id(group)?),
                user: i64::from(id(user)?),
                member: method == "PUT",
            }),
            ("PUT", ["projects", project, "roles"]) => Some(Target::ProjectRoles(id(project)?)),
            ("PUT", ["assets", asset, "roles"]) => Some(Target::AssetRoles(id(asset)?)),
            _ => None,
        }
    }

    /// The route table's `Need` for this route, as the guard evaluates it.
    fn need(self) -> (Action, Resource) {
        match self {
            Target::User(_) | Target::Member { .. } => (Action::Org(Permission::UsersManage), Resource::Org),
            Target::ProjectRoles(p) => (
                Action::Project(ProjectAction::AssignRoles),
                Resource::Project(ProjectId(p)),
            ),
            Target::AssetRoles(a) => (
                Action::Asset(AssetAction::AssignRoles),
                Resource::Asset(AssetId(a)),
            ),
        }
    }
}

/// An item checked for shape, ready to run.
struct Planned<'a> {
    item: &'a BatchItem,
    method: Method,
    target: Target,
}

fn plan(index: usize, item: &BatchItem) -> ApiResult<Planned<'_>> {
    let unsupported = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_item_unsupported",
            format!(
                "item {index}: `{} {}` cannot be batched; batches take PATCH /api/v1/users/{{id}}, PUT or DELETE /api/v1/groups/{{id}}/members/{{id}}, PUT /api/v1/projects/{{id}}/roles and PUT /api/v1/assets/{{id}}/roles",
                item.method, item.path
            ),
        )
        .with_details(serde_json::json!({ "index": index }))
    };
    let target = Target::parse(&item.method, &item.path).ok_or_else(unsupported)?;
    let method = Method::from_bytes(item.method.as_bytes()).map_err(|_| unsupported())?;
    if let Some(key) = &item.idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                format!("item {index}: an idempotency key is 1 to 200 characters"),
            )
            .with_details(serde_json::json!({ "index": index })));
        }
    }
    Ok(Planned { item, method, target })
}

pub async fn batch(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Json<BatchResponse>> {
    // Parsed here rather than by `ApiJson`: a body that is not a batch is the client's malformed
    // request (400), whatever went wrong inside it.
    let request: BatchRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_batch", format!("the body is not a batch: {e}")))?;
    if request.items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "a batch holds at most {MAX_BATCH_ITEMS} items, this one {}",
                request.items.len()
            ),
        ));
    }
    let planned = request
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| plan(i, item))
        .collect::<ApiResult<Vec<_>>>()?;
    if planned.is_empty() {
        return Ok(Json(BatchResponse { results: vec![] }));
    }
    let mut results = Vec::with_capacity(planned.len());
    let mut accepted = false;
    state.store.batch(&mut |tx| {
        results.clear();
        let mut plant = Arc::clone(&caller.plant);
        for p in &planned {
            let outcome = run(&state, &caller, &plant, tx, p)?;
            accepted |= outcome.accepted;
            if outcome.changes_caller {
                let fresh = tx.load_plant(caller.org)?;
                fresh.prepare();
                plant = Arc::new(fresh);
            }
            results.push(outcome.result);
        }
        Ok(())
    })?;
    if accepted {
        state.reload(caller.org)?;
    }
    Ok(Json(BatchResponse { results }))
}

struct Outcome {
    result: BatchResult,
    accepted: bool,
    /// The write changed something the caller's own decisions depend on.
    changes_caller: bool,
}

impl Outcome {
    fn refused(e: ApiError) -> ApiResult<Outcome> {
        let ApiError::Client {
            status,
            code,
            message,
            details,
        } = e
        else {
            // Not the item's fault: the whole batch rolls back and answers 500.
            return Err(e);
        };
        let body = serde_json::to_value(ErrorBody {
            code: code.to_owned(),
            message,
            details,
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Outcome {
            result: BatchResult {
                status: status.as_u16(),
                body,
                replayed: false,
            },
            accepted: false,
            changes_caller: false,
        })
    }
}

fn body<T: DeserializeOwned>(item: &BatchItem) -> ApiResult<T> {
    serde_json::from_value(item.body.clone().unwrap_or(Value::Null)).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("the body does not fit the route: {e}"),
        )
    })
}

/// A refusal by the resolver, recorded in the batch's transaction as the guard records it.
fn denied(
    caller: &Caller,
    plant: &Plant,
    tx: &BatchTx<'_>,
    state: &SharedState,
    p: &Planned<'_>,
    action: Action,
    resource: Resource,
) -> ApiResult<Option<ApiError>> {
    let decision = plant.decide(caller.principal, action, resource);
    if decision.allowed {
        return Ok(None);
    }
    let (error, audit) = refusal(
        plant,
        caller,
        &p.method,
        &p.item.path,
        action,
        resource,
        &decision,
    );
    if let Some(why) = audit {
        let ctx = caller.write_ctx(state, 403, None);
        tx.audit_event(&ctx, "access.denied", &p.item.path, "denied", why)?;
    }
    Ok(Some(error))
}

/// One item, as the guard and the route's handler would run it.
fn run(
    state: &SharedState,
    caller: &Caller,
    plant: &Plant,
    tx: &mut BatchTx<'_>,
    p: &Planned<'_>,
) -> ApiResult<Outcome> {
    let me = match caller.principal {
        Principal::User(u) => Some(u),
        Principal::Key(_) => None,
    };
    // An earlier item deactivated the caller: their session has ended.
    if me.is_some_and(|u| plant.user(u).is_none_or(|u| !u.active)) {
        return Outcome::refused(ApiError::unauthorized(
            "session_ended",
            "this session has ended; sign in again",
        ));
    }
    let (action, resource) = p.target.need();
    if let Some(error) = denied(caller, plant, tx, state, p, action, resource)? {
        return Outcome::refused(error);
    }
    let idempotency = match &p.item.idempotency_key {
        None => None,
        Some(key) => {
            let bytes = match &p.item.body {
                Some(b) => serde_json::to_vec(b).map_err(|e| ApiError::Internal(e.to_string()))?,
                None => Vec::new(),
            };
            let hash = request_hash(&p.method, &p.item.path, &bytes);
            match tx.replay(&caller.actor().label(), key)? {
                Some(replay) if replay.request_hash == hash => {
                    return Ok(Outcome {
                        result: BatchResult {
                            status: replay.status,
                            body: replay.body,
                            replayed: true,
                        },
                        accepted: false,
                        changes_caller: false,
                    });
                }
                Some(_) => {
                    return Outcome::refused(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different request",
                    ));
                }
                None => Some((key.clone(), hash)),
            }
        }
    };
    let in_my_group = |g: Grantee| match (g, me) {
        (Grantee::User(u), Some(me)) => u == me,
        (Grantee::Group(g), Some(me)) => plant.user(me).is_some_and(|u| u.groups().contains(&g)),
        _ => false,
    };
    let (write, changes_caller) = match p.target {
        Target::User(id) => {
            let patch: UserPatch = match body(p.item) {
                Ok(patch) => patch,
                Err(e) => return Outcome::refused(e),
            };
            let Some(target) = tx.user(id)?.filter(|u| u.org_id == caller.org) else {
                return Outcome::refused(ApiError::not_found("user"));
            };
            // As the route: making or unmaking an owner needs `organization.manage`.
            if patch.role == Some(OrgRole::Owner) || target.role == OrgRole::Owner {
                let manage = Action::Org(Permission::OrganizationManage);
                if let Some(error) = denied(caller, plant, tx, state, p, manage, Resource::Org)? {
                    return Outcome::refused(error);
                }
            }
            let write = BatchWrite::UpdateUser {
                id,
                role: patch.role,
                active: patch.active,
                if_match: p.item.if_match,
            };
            (write, me.is_some_and(|me| i64::from(me.0) == id))
        }
        Target::Member { group, user, member } => (
            BatchWrite::Authz(AuthzWrite::SetGroupMember { group, user, member }),
            me.is_some_and(|me| i64::from(me.0) == user),
        ),
        Target::ProjectRoles(project) => {
            let grant: GrantBody<ProjectRole> = match body(p.item) {
                Ok(grant) => grant,
                Err(e) => return Outcome::refused(e),
            };
            let write = AuthzWrite::SetProjectRole {
                project: i64::from(project),
                grantee: grant.grantee,
                role: grant.role,
            };
            (BatchWrite::Authz(write), in_my_group(grant.grantee))
        }
        Target::AssetRoles(asset) => {
            let grant: GrantBody<AssetRole> = match body(p.item) {
                Ok(grant) => grant,
                Err(e) => return Outcome::refused(e),
            };
            let write = AuthzWrite::SetAssetRole {
                asset: i64::from(asset),
                grantee: grant.grantee,
                role: grant.role,
            };
            (BatchWrite::Authz(write), in_my_group(grant.grantee))
        }
    };
    let ctx = caller.write_ctx(state, 200, idempotency);
    match tx.write(&ctx, &write) {
        Ok(body) => Ok(Outcome {
            result: BatchResult {
                status: 200,
                body,
                replayed: false,
            },
            accepted: true,
            changes_caller,
        }),
        Err(e) => Outcome::refused(e),
    }
}
