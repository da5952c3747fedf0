//! Who is calling: a signed-in user (session token) or an API key, both as
//! `Authorization: Bearer …`, never in a URL.

pub mod secrets;
pub mod totp;

use std::sync::Arc;

use axum::http::HeaderMap;
use steward_model::{KeyId, Plant, Principal, UserId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Actor, WriteCtx};

/// The authenticated caller of one request, with the org's plant as of the request.
#[derive(Clone)]
pub struct Caller {
    pub org: i64,
    pub principal: Principal,
    pub session: Option<i64>,
    pub plant: Arc<Plant>,
    pub source: String,
    /// A session opened only to enrol TOTP.
    pub enrol_only: bool,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self.principal {
            Principal::User(u) => Actor::User(i64::from(u.0)),
            Principal::Key(k) => Actor::Key(i64::from(k.0)),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.principal {
            Principal::User(u) => Some(i64::from(u.0)),
            Principal::Key(_) => None,
        }
    }

    pub fn write_ctx(
        &self,
        state: &AppState,
        status: u16,
        idempotency: Option<(String, String)>,
    ) -> WriteCtx {
        WriteCtx {
            org: self.org,
            actor: self.actor(),
            source: self.source.clone(),
            now: state.clock.now_ms(),
            idempotency,
            status,
        }
    }
}

pub fn id32(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

fn bearer(headers: &HeaderMap) -> ApiResult<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("unauthenticated", "sign in or send an API key"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("bad_credentials", "the Authorization header is not text"))?;
    text.strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("bad_credentials", "use `Authorization: Bearer <token>`"))
}

/// Authenticates a request. Sessions end on idle or absolute timeout and when their user is
/// deactivated; keys fail at once when disabled or revoked.
pub fn authenticate(state: &AppState, headers: &HeaderMap, source: String) -> ApiResult<Caller> {
    let token = bearer(headers)?;
    let now = state.clock.now_ms();
    if token.starts_with("stw_") {
        let prefix = secrets::api_key_prefix(token)
            .ok_or_else(|| ApiError::unauthorized("bad_credentials", "malformed API key"))?;
        let (key, hash) = state
            .store
            .key_for_auth(prefix)?
            .ok_or_else(|| ApiError::unauthorized("bad_credentials", "unknown API key"))?;
        if !state.tokens.matches(token, &hash) {
            return Err(ApiError::unauthorized("bad_credentials", "unknown API key"));
        }
        if key.revoked_at.is_some() {
            return Err(ApiError::unauthorized("key_revoked", "this API key was revoked"));
        }
        if !key.enabled {
            return Err(ApiError::unauthorized("key_disabled", "this API key is disabled"));
        }
        // Recording use at most once a minute keeps reads from becoming writes.
        if key.last_used_at.is_none_or(|t| now - t > 60_000) {
            state.store.key_used(key.id, now)?;
        }
        return Ok(Caller {
            org: key.org_id,
            principal: Principal::Key(KeyId(id32(key.id))),
            session: None,
            plant: state.plant(key.org_id)?,
            source,
            enrol_only: false,
        });
    }
    if !token.starts_with("sts_") {
        return Err(ApiError::unauthorized("bad_credentials", "unknown token"));
    }
    let session = state
        .store
        .session_by_token(&state.tokens.hash(token))?
        .ok_or_else(|| ApiError::unauthorized("bad_credentials", "unknown session"))?;
    match session_standing(state, &session, now)? {
        SessionStanding::Live => {}
        SessionStanding::Ended => {
            return Err(ApiError::unauthorized(
                "session_ended",
                "this session has ended; sign in again",
            ));
        }
        SessionStanding::Expired => {
            state.store.end_session(session.id, now)?;
            return Err(ApiError::unauthorized(
                "session_expired",
                "this session expired; sign in again",
            ));
        }
    }
    if now - session.last_seen_at > 5_000 {
        state.store.touch_session(session.id, now)?;
    }
    Ok(Caller {
        org: session.org_id,
        principal: Principal::User(UserId(id32(session.user_id))),
        session: Some(session.id),
        plant: state.plant(session.org_id)?,
        source,
        enrol_only: session.enrol_only,
    })
}

/// Whether a session may still act: the request guard and the broker credentials of console
/// sessions (which end with their session) both ask this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStanding {
    Live,
    /// Signed out, or its user was deactivated.
    Ended,
    /// Idle or absolute timeout passed (not yet recorded as ended).
    Expired,
}

pub fn session_standing(
    state: &AppState,
    session: &crate::store::SessionRow,
    now: i64,
) -> ApiResult<SessionStanding> {
    if session.ended_at.is_some() || !session.user_active {
        return Ok(SessionStanding::Ended);
    }
    let idle_ms = state.store.org_settings(session.org_id)?.idle_timeout_minutes * 60_000;
    if now >= session.expires_at || now - session.last_seen_at > idle_ms {
        return Ok(SessionStanding::Expired);
    }
    Ok(SessionStanding::Live)
}
