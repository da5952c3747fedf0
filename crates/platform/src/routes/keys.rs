//! API keys: create (the secret is shown once, in the creation response, and stored only as a
//! keyed hash), list, read, edit permissions (only while disabled: disable, edit, enable),
//! enable, disable and revoke. Nobody can give a key a permission they do not hold themselves.
//! Every write reloads the org's plant, so the next request (the key's own included) is
//! decided on the new state.
//!
//! With a broker, each key is also a broker client (`broker::keys`): the broker is changed
//! first and the store after; a store failure undoes the broker change, and a broker failure is
//! 503 `broker_unavailable` with the store untouched.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use steward_model::{ModelError, NodeId, PermSet, Permission};

use super::{ApiJson, ApiPath, Idempotency, if_match};
use crate::auth::{Caller, secrets};
use crate::broker::keys as broker_keys;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{KeyRow, NewKey};
use steward_wire::*;

const MAX_NAME: usize = 100;
const MAX_SCOPES: usize = 100;

fn validate_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_name",
            format!("a key name is 1 to {MAX_NAME} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// The permission set from exactly one of its two forms. Unknown names are the model's 422.
fn permission_set(names: Option<Vec<String>>, json: Option<Value>) -> ApiResult<PermSet> {
    match (names, json) {
        (Some(names), None) => Ok(names
            .iter()
            .map(|n| Permission::parse(n.trim()))
            .collect::<Result<PermSet, ModelError>>()?),
        (None, Some(json)) => Ok(steward_model::iot_json::import_value(&json)?),
        (Some(_), Some(_)) => Err(ApiError::unprocessable(
            "invalid_permissions",
            "give either `permissions` (a list of names) or `permissions_json` (the nested object), not both",
        )),
        (None, None) => Err(ApiError::unprocessable(
            "invalid_permissions",
            "give `permissions` (a list of names) or `permissions_json` (the nested object)",
        )),
    }
}

fn validate_scopes(mut scopes: Vec<NodeId>) -> ApiResult<Vec<NodeId>> {
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.len() > MAX_SCOPES {
        return Err(ApiError::unprocessable(
            "invalid_scopes",
            format!("a key has at most {MAX_SCOPES} hierarchy scopes"),
        ));
    }
    Ok(scopes)
}

/// No escalation: the caller must hold every permission granted, and a scoped caller cannot
/// grant a wider scope. A refusal is an access decision about a change, so it is audited.
fn check_grant(
    state: &SharedState,
    caller: &Caller,
    action: &str,
    target: &str,
    permissions: PermSet,
    scopes: &[NodeId],
) -> ApiResult<()> {
    let Err(e) = caller
        .plant
        .check_key_grant(caller.principal, permissions, scopes)
    else {
        return Ok(());
    };
    let detail = match &e {
        ModelError::Escalation { missing, .. } => {
            serde_json::json!({ "reason": "escalation", "missing": missing })
        }
        ModelError::ScopeEscalation { .. } => {
            serde_json::json!({ "reason": "scope_escalation", "scopes": scopes })
        }
        _ => return Err(e.into()),
    };
    let ctx = caller.write_ctx(state, 403, None);
    state.store.audit_event(&ctx, action, target, "denied", detail)?;
    Err(e.into())
}

/// A key of the caller's org that is not revoked, or 404 / 410.
fn live_key(state: &SharedState, caller: &Caller, id: i64) -> ApiResult<KeyRow> {
    let key = state
        .store
        .key(caller.org, id)?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::GONE,
            "key_revoked",
            "this API key was revoked",
        ));
    }
    Ok(key)
}

/// `GET /api-keys`: every key of the org, revoked ones included (with `revoked_at`).
pub async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<KeyBody>>> {
    Ok(Json(
        state
            .store
            .keys(caller.org)?
            .into_iter()
            .map(KeyBody::from)
            .collect(),
    ))
}

/// `GET /api-keys/{key}`.
pub async fn get(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<KeyBody>> {
    state
        .store
        .key(caller.org, id)?
        .map(|k| Json(KeyBody::from(k)))
        .ok_or_else(|| ApiError::not_found("API key"))
}

/// `POST /api-keys`: 201 with the secret, shown this once. A replay of the same
/// `Idempotency-Key` returns the key without its secret (the secret is never stored).
pub async fn create(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<CreateKey>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let name = validate_name(&body.name)?;
    let permissions = permission_set(body.permissions, body.permissions_json)?;
    let scopes = validate_scopes(body.scopes)?;
    check_grant(
        &state,
        &caller,
        "api_key.create",
        "api_keys",
        permissions,
        &scopes,
    )?;
    let (prefix, secret) = secrets::new_api_key()?;
    let secret_hash = state.tokens.hash(&secret);
    let broker = state.broker();
    if let Some(broker) = &broker {
        let acls = broker_keys::acls(&state, caller.org, permissions, &scopes, &prefix)?;
        broker_keys::provision(broker.as_ref(), &acls, &prefix, &secret).await?;
    }
    let ctx = caller.write_ctx(&state, 201, idem.0);
    let created = state.store.create_key(
        &ctx,
        &NewKey {
            name: &name,
            prefix: &prefix,
            secret_hash: &secret_hash,
            permissions,
            scopes: &scopes,
        },
    );
    let row = match (created, &broker) {
        (Ok(row), Some(broker)) if row.prefix != prefix => {
            // An idempotent replay answered with the first key: this secret was never stored.
            broker_keys::unprovision(broker.as_ref(), &prefix).await;
            row
        }
        (Ok(row), _) => row,
        (Err(e), Some(broker)) => {
            broker_keys::unprovision(broker.as_ref(), &prefix).await;
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    state.reload(caller.org)?;
    tracing::info!(key = row.id, prefix = %row.prefix, by = %caller.actor().label(), "API key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: KeyBody::from(row),
            secret,
        }),
    ))
}

/// `PUT /api-keys/{key}/permissions`: only while the key is disabled (409 `key_enabled`
/// otherwise), with the same no-escalation rule as creation.
pub async fn set_permissions(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SetPermissions>,
) -> ApiResult<Json<KeyBody>> {
    let version = if_match(&headers)?;
    let permissions = permission_set(body.permissions, body.permissions_json)?;
    let current = live_key(&state, &caller, id)?;
    let scopes = validate_scopes(body.scopes.unwrap_or_else(|| current.scopes.clone()))?;
    check_grant(
        &state,
        &caller,
        "api_key.set_permissions",
        &format!("key:{id}"),
        permissions,
        &scopes,
    )?;
    // The store refuses edits of an enabled key; so does the broker side, before touching it.
    if current.enabled {
        return Err(ApiError::conflict(
            "key_enabled",
            "disable the key before editing its permissions, then enable it again",
        ));
    }
    let broker = state.broker();
    let role = broker_keys::username(&current.prefix);
    if let Some(broker) = &broker {
        let acls = broker_keys::acls(&state, caller.org, permissions, &scopes, &current.prefix)?;
        broker.put_role(&role, &acls).await?;
    }
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let written = state
        .store
        .set_key_permissions(&ctx, id, permissions, &scopes, version);
    let row = match (written, &broker) {
        (Ok(row), _) => row,
        (Err(e), Some(broker)) => {
            let old = broker_keys::acls(
                &state,
                caller.org,
                current.permissions,
                &current.scopes,
                &current.prefix,
            )?;
            if let Err(undo) = broker.put_role(&role, &old).await {
                tracing::error!(key = id, error = %undo, "cannot restore a key's broker role");
            }
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    state.reload(caller.org)?;
    Ok(Json(KeyBody::from(row)))
}

/// `POST /api-keys/{key}/enable`. Enabling puts the key's permissions back to work, so the
/// caller must hold them all, as when creating it.
pub async fn enable(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<KeyBody>> {
    let version = if_match(&headers)?;
    let current = live_key(&state, &caller, id)?;
    check_grant(
        &state,
        &caller,
        "api_key.enable",
        &format!("key:{id}"),
        current.permissions,
        &current.scopes,
    )?;
    let row = set_enabled(&state, &caller, idem, id, Some(&current), true, version).await?;
    state.reload(caller.org)?;
    Ok(Json(KeyBody::from(row)))
}

/// `POST /api-keys/{key}/disable`: the key's next request fails with 401 `key_disabled`.
pub async fn disable(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<KeyBody>> {
    let version = if_match(&headers)?;
    // Looked up without judging it: the store answers 404/410 (or an idempotent replay).
    let current = state.store.key(caller.org, id)?;
    let row = set_enabled(&state, &caller, idem, id, current.as_ref(), false, version).await?;
    state.reload(caller.org)?;
    Ok(Json(KeyBody::from(row)))
}

/// Enables or disables the key's broker client (disabling drops its live connection), then the
/// stored key; a refused store write puts the client back as it was.
async fn set_enabled(
    state: &SharedState,
    caller: &Caller,
    idem: Idempotency,
    id: i64,
    current: Option<&KeyRow>,
    enabled: bool,
    version: Option<i64>,
) -> ApiResult<KeyRow> {
    let broker = state.broker().zip(current.filter(|k| k.revoked_at.is_none()));
    if let Some((broker, key)) = &broker {
        broker
            .set_client_enabled(&broker_keys::username(&key.prefix), enabled)
            .await?;
    }
    let ctx = caller.write_ctx(state, 200, idem.0);
    match (state.store.set_key_enabled(&ctx, id, enabled, version), &broker) {
        (Ok(row), _) => Ok(row),
        (Err(e), Some((broker, key))) => {
            let name = broker_keys::username(&key.prefix);
            if let Err(undo) = broker.set_client_enabled(&name, key.enabled).await {
                tracing::error!(key = id, error = %undo, "cannot restore a key's broker client");
            }
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// `DELETE /api-keys/{key}`: revokes for good; 200 with the revoked key. The key's very next
/// request fails with 401 `key_revoked`; revoking it again is 410 `key_revoked`.
pub async fn revoke(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<KeyBody>> {
    // Looked up without judging it: the store answers 404/410 (or an idempotent replay).
    let current = state.store.key(caller.org, id)?;
    let broker = state.broker().zip(current.filter(|k| k.revoked_at.is_none()));
    // Disable first: it drops the connection at once, while a delete rewrites the whole dynsec
    // file (BASELINES.md) and cannot be undone (the secret is not kept).
    if let Some((broker, key)) = &broker {
        broker
            .set_client_enabled(&broker_keys::username(&key.prefix), false)
            .await?;
    }
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let row = match (state.store.revoke_key(&ctx, id), &broker) {
        (Ok(row), _) => row,
        (Err(e), Some((broker, key))) => {
            let name = broker_keys::username(&key.prefix);
            if let Err(undo) = broker.set_client_enabled(&name, key.enabled).await {
                tracing::error!(key = id, error = %undo, "cannot restore a key's broker client");
            }
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    if let Some((broker, key)) = &broker {
        let name = broker_keys::username(&key.prefix);
        // The key is revoked in the store and disabled in the broker; a failed delete leaves a
        // disabled client that the next start's reconciliation deletes.
        if let Err(e) = broker.delete_client(&name).await {
            tracing::warn!(key = id, error = %e, "revoked key's broker client not deleted yet");
        }
    }
    state.reload(caller.org)?;
    tracing::info!(key = row.id, prefix = %row.prefix, by = %caller.actor().label(), "API key revoked");
    Ok(Json(KeyBody::from(row)))
}
