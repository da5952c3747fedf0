//! Sign-in (password + TOTP), the caller's own session, and the catalog.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, extract::ConnectInfo};

use super::ApiJson;
use crate::auth::{Caller, secrets, totp};
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{Actor, UserRow, WriteCtx};
use steward_wire::*;

pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub async fn catalog() -> Json<steward_wire::CatalogBody> {
    Json(steward_model::docs::catalog_document())
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "wrong email or password")
}

/// `POST /session`: the token comes back in the body, never in a URL. Failed attempts are
/// counted; too many lock the account for a while.
pub async fn sign_in(
    State(state): State<SharedState>,
    connect: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let now = state.clock.now_ms();
    let source = connect.map_or_else(|| "unknown".to_owned(), |c| c.0.0.ip().to_string());
    let Some(mut creds) = state.store.credentials_by_email(body.email.trim())? else {
        // Spend the same time as a real check so timing does not reveal who exists.
        let _ = tokio::task::spawn_blocking(|| secrets::hash_password("timing equaliser")).await;
        return Err(invalid());
    };
    let user = creds.user.clone();
    // Every sign-in attempt on a known account is in the audit trail, with its outcome.
    let audit = |outcome: &str, why: &str| -> ApiResult<()> {
        let ctx = WriteCtx {
            org: user.org_id,
            actor: Actor::User(user.id),
            source: source.clone(),
            now,
            idempotency: None,
            status: 0,
        };
        let detail = serde_json::json!({ "email": user.email, "result": why });
        state.store.audit_event(
            &ctx,
            "session.sign_in",
            &format!("user:{}", user.id),
            outcome,
            detail,
        )
    };
    if creds.locked_until > now {
        audit("denied", "locked")?;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed attempts; try again later",
        ));
    }
    // A lockout that has run out starts a fresh count: one typo afterwards is not another lock.
    if creds.locked_until != 0 {
        state.store.login_succeeded(user.id)?;
        creds.failed_attempts = 0;
        creds.locked_until = 0;
    }
    let stored = creds.password_hash.clone().unwrap_or_default();
    let password = body.password.clone();
    let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &stored))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let fail = |state: &SharedState| -> ApiResult<()> {
        let lock = (creds.failed_attempts + 1 >= state.limits.max_failed_attempts)
            .then(|| now + state.limits.lockout_ms);
        state.store.login_failed(user.id, now, lock)
    };
    if !ok {
        fail(&state)?;
        audit("denied", "wrong_password")?;
        return Err(invalid());
    }
    if !user.active {
        audit("denied", "user_deactivated")?;
        return Err(ApiError::unauthorized(
            "user_deactivated",
            "this account is deactivated",
        ));
    }
    let settings = state.store.org_settings(user.org_id)?;
    let mut enrol_only = false;
    match (&creds.totp_secret, creds.user.totp_enabled) {
        (Some(secret), true) => {
            let code = body.totp.as_deref().ok_or_else(|| {
                ApiError::unauthorized("totp_required", "enter the code from your authenticator")
            })?;
            let step = totp::matching_step(secret, code, now)?;
            let fresh = match step {
                Some(step) => state.store.use_totp_step(user.id, step)?,
                None => false,
            };
            if !fresh {
                fail(&state)?;
                audit(
                    "denied",
                    if step.is_some() {
                        "totp_reused"
                    } else {
                        "invalid_totp"
                    },
                )?;
                let code = if step.is_some() {
                    "totp_reused"
                } else {
                    "invalid_totp"
                };
                return Err(ApiError::unauthorized(
                    code,
                    "that code is wrong or was used already",
                ));
            }
        }
        // The org requires a second factor this user lacks: a session that can only enrol one.
        _ if settings.require_totp => enrol_only = true,
        _ => {}
    }
    state.store.login_succeeded(user.id)?;
    audit(
        "ok",
        if enrol_only {
            "signed_in_to_enrol_totp"
        } else {
            "signed_in"
        },
    )?;
    let token = secrets::new_session_token()?;
    let expires_at = now + state.limits.session_absolute_ms;
    state
        .store
        .create_session(user.id, &state.tokens.hash(&token), now, expires_at, enrol_only)?;
    tracing::info!(user = user.id, %source, "signed in");
    Ok((
        StatusCode::CREATED,
        Json(SignedIn {
            token,
            expires_at,
            user,
            must_enrol_totp: enrol_only,
        }),
    ))
}

pub async fn whoami(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<WhoAmI>> {
    let user = match caller.user_id() {
        Some(id) => state.store.user(id)?,
        None => None,
    };
    Ok(Json(WhoAmI {
        principal: caller.principal,
        org: caller.org,
        org_name: state.store.org_name(caller.org)?.unwrap_or_default(),
        user,
        permissions: caller.plant.org_permissions(caller.principal),
        idle_timeout_minutes: state.store.org_settings(caller.org)?.idle_timeout_minutes,
    }))
}

pub async fn sign_out(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<StatusCode> {
    if let Some(session) = caller.session {
        state.store.end_session(session, state.clock.now_ms())?;
        // The session has ended either way; a broker that is down loses the credential at its
        // next sweep or restart.
        if let Err(e) = crate::broker::sessions::withdraw(&state, session).await {
            tracing::warn!(error = %e, "could not withdraw the session's broker credential yet");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A broker credential for this session, with its user's listen rights.
pub async fn broker_credential(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<steward_wire::BrokerCredential>> {
    Ok(Json(crate::broker::sessions::issue(&state, &caller).await?))
}

/// Starts TOTP enrolment: a new secret, effective once a code from it is confirmed.
pub async fn totp_enrol(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<TotpEnrolment>> {
    let id = caller
        .user_id()
        .ok_or_else(|| ApiError::forbidden("sign in as a person"))?;
    let user = state.store.user(id)?.ok_or_else(|| ApiError::not_found("user"))?;
    if user.totp_enabled {
        return Err(ApiError::conflict(
            "totp_enrolled",
            "two-step verification is already on",
        ));
    }
    let secret = totp::new_secret()?;
    state.store.set_totp_secret(id, Some(&secret), false)?;
    Ok(Json(TotpEnrolment {
        otpauth_uri: totp::otpauth_uri(&secret, &user.email)?,
    }))
}

pub async fn totp_confirm(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<TotpConfirm>,
) -> ApiResult<Json<UserRow>> {
    let id = caller
        .user_id()
        .ok_or_else(|| ApiError::forbidden("sign in as a person"))?;
    let creds = state
        .store
        .credentials(id)?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let secret = creds
        .totp_secret
        .filter(|_| !creds.user.totp_enabled)
        .ok_or_else(|| ApiError::conflict("no_enrolment", "start enrolment first"))?;
    let now = state.clock.now_ms();
    let step = totp::matching_step(&secret, &body.code, now)?
        .ok_or_else(|| ApiError::bad_request("invalid_totp", "that code is wrong"))?;
    if !state.store.use_totp_step(id, step)? {
        return Err(ApiError::bad_request("totp_reused", "that code was used already"));
    }
    state.store.set_totp_secret(id, Some(&secret), true)?;
    if let Some(session) = caller.session {
        state.store.complete_enrolment(session)?;
    }
    let ctx = WriteCtx {
        org: caller.org,
        actor: Actor::User(id),
        source: caller.source.clone(),
        now,
        idempotency: None,
        status: 200,
    };
    state.store.audit_event(
        &ctx,
        "user.totp_enrol",
        &format!("user:{id}"),
        "ok",
        serde_json::json!({"enabled": true}),
    )?;
    state
        .store
        .user(id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("user"))
}
