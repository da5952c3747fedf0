//! The API: every route with the permission it needs, in one table next to the router. The
//! router is built from the table, so no route can exist without a declared permission, and the
//! guard enforces it through the shared resolver before any handler runs.

// Early answers here are whole HTTP responses (a denial with its reasons, a replay); boxing
// them would only add an allocation to every refused request.
#![allow(clippy::result_large_err)]

mod alerts;
mod batch;
mod commands;
mod devices;
mod directory;
mod explain;
mod keys;
mod presence;
mod records;
mod session;

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use steward_model::{AssetAction, AssetId, Permission, ProjectAction, ProjectId, Resource};
use steward_wire::DecisionBody;

use crate::auth::{self, Caller};
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// What a route needs before its handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// No authentication (sign-in, invite acceptance, health, the OpenAPI document).
    Public,
    /// Any signed-in user or valid key; the handler shows only what the caller may see.
    Caller,
    /// Signed-in users only (not API keys): their own session and second factor.
    User,
    /// An org-level catalog permission.
    Org(Permission),
    /// A project action on the project in the `{project}` path segment.
    Project(ProjectAction),
    /// An asset action on the asset in the `{asset}` path segment.
    Asset(AssetAction),
}

/// One row of the route table.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
    pub handler: MethodRouter<SharedState>,
}

fn route(method: Method, path: &'static str, need: Need, handler: MethodRouter<SharedState>) -> Route {
    Route {
        method,
        path,
        need,
        handler,
    }
}

/// Every route of the API.
pub fn table() -> Vec<Route> {
    use Method as M;
    use Need::*;
    use Permission as P;
    use axum::routing::{delete, get, patch, post, put};
    vec![
        route(M::GET, "/api/v1/health", Public, get(session::health)),
        route(
            M::GET,
            "/api/v1/openapi.json",
            Public,
            get(crate::openapi::document),
        ),
        route(M::GET, "/api/v1/catalog", Caller, get(session::catalog)),
        // Session and second factor.
        route(M::POST, "/api/v1/session", Public, post(session::sign_in)),
        route(M::GET, "/api/v1/session", Caller, get(session::whoami)),
        route(M::DELETE, "/api/v1/session", User, delete(session::sign_out)),
        route(M::POST, "/api/v1/session/totp", User, post(session::totp_enrol)),
        route(
            M::POST,
            "/api/v1/session/broker",
            User,
            post(session::broker_credential),
        ),
        route(
            M::POST,
            "/api/v1/session/totp/confirm",
            User,
            post(session::totp_confirm),
        ),
        // People.
        route(
            M::GET,
            "/api/v1/users",
            Org(P::UsersView),
            get(directory::list_users),
        ),
        route(
            M::GET,
            "/api/v1/users/{user}",
            Org(P::UsersView),
            get(directory::get_user),
        ),
        route(
            M::PATCH,
            "/api/v1/users/{user}",
            Org(P::UsersManage),
            patch(directory::update_user),
        ),
        route(
            M::POST,
            "/api/v1/invites",
            Org(P::UsersManage),
            post(directory::invite),
        ),
        route(
            M::POST,
            "/api/v1/invites/accept",
            Public,
            post(directory::accept_invite),
        ),
        route(
            M::GET,
            "/api/v1/settings",
            Org(P::SettingsView),
            get(directory::get_settings),
        ),
        route(
            M::PUT,
            "/api/v1/settings",
            Org(P::SettingsManage),
            put(directory::put_settings),
        ),
        route(
            M::GET,
            "/api/v1/groups",
            Org(P::UsersView),
            get(directory::list_groups),
        ),
        route(
            M::POST,
            "/api/v1/groups",
            Org(P::UsersManage),
            post(directory::create_group),
        ),
        route(
            M::PATCH,
            "/api/v1/groups/{group}",
            Org(P::UsersManage),
            patch(directory::rename_group),
        ),
        route(
            M::DELETE,
            "/api/v1/groups/{group}",
            Org(P::UsersManage),
            delete(directory::delete_group),
        ),
        route(
            M::PUT,
            "/api/v1/groups/{group}/members/{user}",
            Org(P::UsersManage),
            put(directory::add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/groups/{group}/members/{user}",
            Org(P::UsersManage),
            delete(directory::remove_member),
        ),
        // Projects and assets.
        route(M::GET, "/api/v1/projects", Caller, get(directory::list_projects)),
        route(
            M::POST,
            "/api/v1/projects",
            Org(P::ProjectsCreate),
            post(directory::create_project),
        ),
        route(
            M::GET,
            "/api/v1/projects/{project}",
            Project(ProjectAction::View),
            get(directory::get_project),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{project}",
            Project(ProjectAction::Delete),
            delete(directory::delete_project),
        ),
        route(
            M::PUT,
            "/api/v1/projects/{project}/roles",
            Project(ProjectAction::AssignRoles),
            put(directory::set_project_role),
        ),
        route(
            M::GET,
            "/api/v1/projects/{project}/assets",
            Project(ProjectAction::View),
            get(directory::list_assets),
        ),
        route(
            M::POST,
            "/api/v1/projects/{project}/assets",
            Project(ProjectAction::CreateAssets),
            post(directory::create_asset),
        ),
        route(
            M::GET,
            "/api/v1/assets/{asset}",
            Asset(AssetAction::ViewConfig),
            get(directory::get_asset),
        ),
        route(
            M::PATCH,
            "/api/v1/assets/{asset}",
            Asset(AssetAction::Edit),
            patch(directory::update_asset),
        ),
        route(
            M::DELETE,
            "/api/v1/assets/{asset}",
            Asset(AssetAction::Delete),
            delete(directory::delete_asset),
        ),
        route(
            M::PUT,
            "/api/v1/assets/{asset}/roles",
            Asset(AssetAction::AssignRoles),
            put(directory::set_asset_role),
        ),
        route(
            M::POST,
            "/api/v1/assets/{asset}/run",
            Asset(AssetAction::Run),
            post(records::run_asset),
        ),
        route(
            M::GET,
            "/api/v1/agents",
            Org(P::AgentsView),
            get(directory::list_agents),
        ),
        route(
            M::GET,
            "/api/v1/tools",
            Org(P::ToolsView),
            get(directory::list_tools),
        ),
        route(
            M::GET,
            "/api/v1/data",
            Org(P::DataView),
            get(directory::list_data),
        ),
        route(
            M::POST,
            "/api/v1/legacy-import",
            Org(P::UsersManage),
            post(directory::legacy_import),
        ),
        route(
            M::GET,
            "/api/v1/legacy-review",
            Org(P::UsersView),
            get(directory::legacy_review),
        ),
        route(
            M::GET,
            "/api/v1/hierarchy",
            Org(P::HierarchyGroupList),
            get(directory::list_nodes),
        ),
        route(
            M::POST,
            "/api/v1/hierarchy",
            Org(P::HierarchyGroupCreate),
            post(devices::create_node),
        ),
        // Devices and groups.
        route(M::GET, "/api/v1/devices", Org(P::DevicesList), get(devices::list)),
        route(
            M::POST,
            "/api/v1/devices",
            Org(P::DevicesCreate),
            post(devices::create),
        ),
        route(
            M::POST,
            "/api/v1/devices/bulk",
            Org(P::DevicesCreate),
            post(devices::create_bulk),
        ),
        route(
            M::GET,
            "/api/v1/devices/{id}",
            Org(P::DevicesList),
            get(devices::get),
        ),
        route(
            M::PATCH,
            "/api/v1/devices/{id}",
            Org(P::DevicesUpdate),
            patch(devices::update),
        ),
        route(
            M::DELETE,
            "/api/v1/devices/{id}",
            Org(P::DevicesDelete),
            delete(devices::delete),
        ),
        // Commands to devices.
        route(
            M::POST,
            "/api/v1/devices/{id}/rpc",
            Org(P::CommandsRpcCall),
            post(commands::rpc),
        ),
        route(
            M::POST,
            "/api/v1/devices/{id}/queue",
            Org(P::CommandsQueueCall),
            post(commands::enqueue),
        ),
        // Who may queue commands may see the queue (the catalog has no commands.queue.list).
        route(
            M::GET,
            "/api/v1/devices/{id}/queue",
            Org(P::CommandsQueueCall),
            get(commands::list_queue),
        ),
        route(
            M::POST,
            "/api/v1/devices/{id}/credentials",
            Org(P::DevicesUpdate),
            post(devices::rotate),
        ),
        route(
            M::GET,
            "/api/v1/logical-groups",
            Org(P::LogicalGroupList),
            get(devices::list_groups),
        ),
        route(
            M::POST,
            "/api/v1/logical-groups",
            Org(P::LogicalGroupCreate),
            post(devices::create_group),
        ),
        route(
            M::PATCH,
            "/api/v1/logical-groups/{id}",
            Org(P::LogicalGroupUpdate),
            patch(devices::update_group),
        ),
        route(
            M::DELETE,
            "/api/v1/logical-groups/{id}",
            Org(P::LogicalGroupDelete),
            delete(devices::delete_group),
        ),
        route(
            M::PUT,
            "/api/v1/logical-groups/{id}/devices/{device}",
            Org(P::LogicalGroupUpdate),
            put(devices::add_member),
        ),
        route(
            M::DELETE,
            "/api/v1/logical-groups/{id}/devices/{device}",
            Org(P::LogicalGroupUpdate),
            delete(devices::remove_member),
        ),
        route(
            M::PATCH,
            "/api/v1/hierarchy/{id}",
            Org(P::HierarchyGroupUpdate),
            patch(devices::update_node),
        ),
        route(
            M::DELETE,
            "/api/v1/hierarchy/{id}",
            Org(P::HierarchyGroupDelete),
            delete(devices::delete_node),
        ),
        // Maintenance records.
        route(
            M::GET,
            "/api/v1/tasks",
            Org(P::TasksView),
            get(records::list_tasks),
        ),
        route(
            M::POST,
            "/api/v1/tasks",
            Org(P::TasksManage),
            post(records::create_task),
        ),
        route(
            M::GET,
            "/api/v1/tasks/{id}",
            Org(P::TasksView),
            get(records::get_task),
        ),
        route(
            M::PATCH,
            "/api/v1/tasks/{id}",
            Org(P::TasksManage),
            patch(records::update_task),
        ),
        route(
            M::DELETE,
            "/api/v1/tasks/{id}",
            Org(P::TasksManage),
            delete(records::delete_task),
        ),
        route(
            M::GET,
            "/api/v1/events",
            Org(P::EventsView),
            get(records::list_events),
        ),
        route(
            M::POST,
            "/api/v1/events",
            Org(P::EventsManage),
            post(records::create_event),
        ),
        route(
            M::GET,
            "/api/v1/events/{id}",
            Org(P::EventsView),
            get(records::get_event),
        ),
        route(
            M::PATCH,
            "/api/v1/events/{id}",
            Org(P::EventsManage),
            patch(records::update_event),
        ),
        route(
            M::DELETE,
            "/api/v1/events/{id}",
            Org(P::EventsManage),
            delete(records::delete_event),
        ),
        route(
            M::GET,
            "/api/v1/equipment",
            Org(P::EquipmentView),
            get(records::list_equipment),
        ),
        route(
            M::POST,
            "/api/v1/equipment",
            Org(P::EquipmentManage),
            post(records::create_equipment),
        ),
        route(
            M::GET,
            "/api/v1/equipment/{id}",
            Org(P::EquipmentView),
            get(records::get_equipment),
        ),
        route(
            M::PATCH,
            "/api/v1/equipment/{id}",
            Org(P::EquipmentManage),
            patch(records::update_equipment),
        ),
        route(
            M::DELETE,
            "/api/v1/equipment/{id}",
            Org(P::EquipmentManage),
            delete(records::delete_equipment),
        ),
        // Who can do what.
        route(
            M::GET,
            "/api/v1/explain",
            Org(P::UsersView),
            get(explain::explain),
        ),
        route(
            M::GET,
            "/api/v1/who-can",
            Org(P::UsersView),
            get(explain::who_can),
        ),
        route(
            M::POST,
            "/api/v1/preview",
            Org(P::UsersView),
            post(explain::preview),
        ),
        // Alerts.
        route(
            M::GET,
            "/api/v1/alert-rules",
            Org(P::AlertsList),
            get(alerts::list_rules),
        ),
        route(
            M::POST,
            "/api/v1/alert-rules",
            Org(P::AlertsCreate),
            post(alerts::create_rule),
        ),
        route(
            M::GET,
            "/api/v1/alert-rules/{id}",
            Org(P::AlertsList),
            get(alerts::get_rule),
        ),
        route(
            M::PATCH,
            "/api/v1/alert-rules/{id}",
            Org(P::AlertsUpdate),
            patch(alerts::update_rule),
        ),
        route(
            M::DELETE,
            "/api/v1/alert-rules/{id}",
            Org(P::AlertsDelete),
            delete(alerts::delete_rule),
        ),
        route(
            M::GET,
            "/api/v1/alerts",
            Org(P::AlertsHistory),
            get(alerts::history),
        ),
        // API keys.
        route(M::GET, "/api/v1/api-keys", Org(P::ApiKeysView), get(keys::list)),
        route(
            M::POST,
            "/api/v1/api-keys",
            Org(P::ApiKeysManage),
            post(keys::create),
        ),
        route(
            M::GET,
            "/api/v1/api-keys/{key}",
            Org(P::ApiKeysView),
            get(keys::get),
        ),
        route(
            M::PUT,
            "/api/v1/api-keys/{key}/permissions",
            Org(P::ApiKeysManage),
            put(keys::set_permissions),
        ),
        route(
            M::POST,
            "/api/v1/api-keys/{key}/enable",
            Org(P::ApiKeysManage),
            post(keys::enable),
        ),
        route(
            M::POST,
            "/api/v1/api-keys/{key}/disable",
            Org(P::ApiKeysManage),
            post(keys::disable),
        ),
        route(
            M::DELETE,
            "/api/v1/api-keys/{key}",
            Org(P::ApiKeysManage),
            delete(keys::revoke),
        ),
        // Presence and telemetry. Listen rights guard them: the catalog has no presence.list
        // or telemetry.list, and this is the data the broker streams to those holders.
        route(
            M::GET,
            "/api/v1/presence",
            Org(P::PresenceListen),
            get(presence::presence),
        ),
        route(
            M::GET,
            "/api/v1/devices/{id}/telemetry",
            Org(P::TelemetryListen),
            get(presence::telemetry),
        ),
        // Batch replay.
        route(M::POST, "/api/v1/batch", Caller, post(batch::batch)),
        // Audit trail and change feed.
        route(M::GET, "/api/v1/audit", Org(P::AuditView), get(explain::audit)),
        route(M::GET, "/api/v1/changes", Caller, get(explain::changes)),
    ]
}

/// The router: every route of the table behind its guard, plus body limits and timeouts.
pub fn router(state: SharedState) -> Router {
    let mut router = Router::new();
    for r in table() {
        let guarded = r
            .handler
            .layer(middleware::from_fn_with_state((state.clone(), r.need), guard));
        router = router.route(r.path, guarded);
    }
    router
        .fallback(|| async { ApiError::not_found("route") })
        // Unguarded: a method the path lacks is 405 whoever asks, never a sibling route's
        // 401/403 (nor an audited "denied" for a request that could not do anything).
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method",
            )
        })
        .with_state(state)
}

/// The request's source address, for the audit trail.
fn source(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The resource a guarded route is about, from its path.
fn path_resource(params: &RawPathParams, name: &str) -> ApiResult<u32> {
    let raw = params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::Internal(format!("route lacks a {{{name}}} segment")))?;
    raw.parse::<u32>()
        .map_err(|_| ApiError::bad_request("invalid_id", format!("`{raw}` is not a valid {name} id")))
}

/// The idempotency key of a write, with a hash of what the request asked.
#[derive(Clone)]
pub struct Idempotency(pub Option<(String, String)>);

async fn guard(State((state, need)): State<(SharedState, Need)>, req: Request, next: Next) -> Response {
    match check(&state, need, req).await {
        Ok(req) => next.run(req).await,
        Err(response) => response,
    }
}

async fn check(state: &SharedState, need: Need, req: Request) -> Result<Request, Response> {
    if need == Need::Public {
        return Ok(req);
    }
    let source = source(&req);
    let (mut parts, body) = req.into_parts();
    let caller = auth::authenticate(state, &parts.headers, source).map_err(IntoResponse::into_response)?;
    // A session opened only to enrol TOTP reaches nothing but its own session and enrolment.
    const ENROLMENT: [&str; 3] = [
        "/api/v1/session",
        "/api/v1/session/totp",
        "/api/v1/session/totp/confirm",
    ];
    if caller.enrol_only && !ENROLMENT.contains(&parts.uri.path()) {
        return Err(
            ApiError::forbidden("this organization requires two-step verification: enrol it first")
                .with_code("totp_enrolment_required")
                .into_response(),
        );
    }
    let resource = match need {
        Need::Project(_) => RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)
            .and_then(|p| path_resource(&p, "project").map_err(IntoResponse::into_response))
            .map(|id| Resource::Project(ProjectId(id)))?,
        Need::Asset(_) => RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)
            .and_then(|p| path_resource(&p, "asset").map_err(IntoResponse::into_response))
            .map(|id| Resource::Asset(AssetId(id)))?,
        _ => Resource::Org,
    };
    let action = match need {
        Need::Org(p) => Some(steward_model::Action::Org(p)),
        Need::Project(a) => Some(steward_model::Action::Project(a)),
        Need::Asset(a) => Some(steward_model::Action::Asset(a)),
        Need::User => {
            if caller.user_id().is_none() {
                return Err(
                    ApiError::forbidden("API keys cannot do this; sign in as a person").into_response(),
                );
            }
            None
        }
        Need::Public | Need::Caller => None,
    };
    if let Some(action) = action {
        let decision = caller.plant.decide(caller.principal, action, resource);
        if !decision.allowed {
            return Err(deny(
                state,
                &caller,
                &parts.method,
                parts.uri.path(),
                action,
                resource,
                &decision,
            ));
        }
    }
    // Buffer the body (bounded by the body limit) to hash it for idempotent replays.
    let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            )
            .into_response()
        })?;
    let idempotency = idempotency(
        state,
        &caller,
        &parts.method,
        parts.uri.path(),
        &parts.headers,
        &bytes,
    )?;
    parts.extensions.insert(idempotency);
    parts.extensions.insert(caller);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A denial: 403 with the resolver's reasons, and for attempts to change something, an audit
/// record. A resource that does not exist is 404, never a hint about other orgs' data.
pub(crate) fn deny(
    state: &SharedState,
    caller: &Caller,
    method: &Method,
    path: &str,
    action: steward_model::Action,
    resource: Resource,
    decision: &steward_model::Decision,
) -> Response {
    let (error, audit) = refusal(&caller.plant, caller, method, path, action, resource, decision);
    if let Some(why) = audit {
        let ctx = caller.write_ctx(state, 403, None);
        if let Err(e) = state
            .store
            .audit_event(&ctx, "access.denied", path, "denied", why)
        {
            return e.into_response();
        }
    }
    error.into_response()
}

/// `deny`'s answer as decided on `plant`, and the `access.denied` audit detail when the request
/// tried to change something (the caller records it: a batch does so in its transaction).
pub(crate) fn refusal(
    plant: &steward_model::Plant,
    caller: &Caller,
    method: &Method,
    path: &str,
    action: steward_model::Action,
    resource: Resource,
    decision: &steward_model::Decision,
) -> (ApiError, Option<serde_json::Value>) {
    use steward_model::Reason;
    if decision
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::UnknownResource))
    {
        return (ApiError::not_found("resource"), None);
    }
    let body = DecisionBody::new(plant, caller.principal, action, resource, decision);
    let audit = (method != Method::GET).then(|| {
        serde_json::json!({ "method": method.as_str(), "path": path, "action": action, "reasons": body.reasons })
    });
    let message = body
        .reasons
        .iter()
        .map(|r| r.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let error = ApiError::forbidden(format!("not allowed: {message}"))
        .with_details(serde_json::json!({ "decision": body }));
    (error, audit)
}

/// What an idempotency key is bound to: the method, path and body of the request.
pub(crate) fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

fn idempotency(
    state: &SharedState,
    caller: &Caller,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Idempotency, Response> {
    let Some(key) = headers.get("idempotency-key") else {
        return Ok(Idempotency(None));
    };
    if *method == Method::GET {
        return Ok(Idempotency(None));
    }
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 200 visible characters",
            )
            .into_response()
        })?
        .to_owned();
    let request_hash = request_hash(method, path, body);
    match state.store.replay(&caller.actor().label(), &key) {
        Err(e) => Err(e.into_response()),
        Ok(Some(replay)) if replay.request_hash == request_hash => {
            let status = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK);
            let mut response = (status, axum::Json(replay.body)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replay", axum::http::HeaderValue::from_static("true"));
            Err(response)
        }
        Ok(Some(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )
        .into_response()),
        Ok(None) => Ok(Idempotency(Some((key, request_hash)))),
    }
}

/// JSON bodies whose errors are `{code, message}` like every other error.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection as J;
                let (status, code) = match &rejection {
                    J::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
                    J::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
                    J::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected_json"),
                    // A body without a length that outgrows the limit while being read.
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
                    }
                    _ => (StatusCode::BAD_REQUEST, "bad_body"),
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

/// Query strings with `{code, message}` errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// Path ids with `{code, message}` errors.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request("invalid_id", e.body_text()))
    }
}

/// The `If-Match` version of a write, if given: `3` or `"3"`.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must be a record version such as \"3\"",
            )
        })
}

/// Checks a second permission inside a handler (e.g. an asset kind's module), with the same
/// 403 body as the guard.
pub fn require(
    state: &SharedState,
    caller: &Caller,
    action: impl Into<steward_model::Action>,
    resource: Resource,
    method: &Method,
    path: &str,
) -> Result<(), Response> {
    let action = action.into();
    let decision = caller.plant.decide(caller.principal, action, resource);
    if decision.allowed {
        Ok(())
    } else {
        Err(deny(state, caller, method, path, action, resource, &decision))
    }
}
