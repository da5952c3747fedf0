//! Broker credentials of console sessions. A signed-in user's console asks for one
//! (`POST /session/broker`) to receive presence, alerts and group changes live. The credential is
//! a dynsec client `ses_<session id>` with a role holding the user's *listen* rights only (never
//! a publish right, even for a user who may call RPC over REST), compiled like a key's.
//!
//! It lives no longer than its session: a sweeper checks every credential every
//! `SWEEP` and deletes the client (dropping its connection) once the session has ended, expired
//! or its user was deactivated, or at the credential's own expiry; it also follows role changes
//! without a reconnect. Signing out deletes it at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use steward_model::acl::{AclEntry, AclScope, compile};
use steward_model::{PermSet, Principal, Verb};
use steward_wire::BrokerCredential;

use super::{BrokerControl, OwnClient};
use crate::auth::{Caller, SessionStanding, session_standing};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A credential lasts at most this long; the console asks for a fresh one before it ends.
pub const LIFETIME_MS: i64 = 60 * 60 * 1000;
/// How often credentials are checked against their sessions.
const SWEEP: Duration = Duration::from_secs(2);

/// The MQTT username (and role name) of a session's credential.
pub fn username(session: i64) -> String {
    format!("ses_{session}")
}

struct Issued {
    org: i64,
    principal: Principal,
    expires_at: i64,
    acls: Vec<AclEntry>,
}

/// The credentials issued by this process, by session id.
#[derive(Default)]
pub struct SessionClients {
    issued: Mutex<HashMap<i64, Issued>>,
    url: Mutex<Option<String>>,
}

impl SessionClients {
    /// The broker's URL as clients reach it; set when the broker is up.
    pub fn set_url(&self, url: String) {
        if let Ok(mut slot) = self.url.lock() {
            *slot = Some(url);
        }
    }

    fn url(&self) -> Option<String> {
        self.url.lock().ok().and_then(|u| u.clone())
    }

    fn issued(&self) -> ApiResult<std::sync::MutexGuard<'_, HashMap<i64, Issued>>> {
        self.issued
            .lock()
            .map_err(|_| ApiError::Internal("session credentials poisoned".to_owned()))
    }
}

/// The listen rights among `permissions`: the only ones a session credential carries.
fn listen_only(permissions: PermSet) -> PermSet {
    PermSet::of(permissions.iter().filter(|p| p.verb() == Verb::Listen))
}

fn acls_for(state: &AppState, org: i64, principal: Principal, session: i64) -> ApiResult<Vec<AclEntry>> {
    let permissions = listen_only(state.plant(org)?.org_permissions(principal));
    Ok(compile(org, permissions, &AclScope::Org, &username(session)))
}

/// Issues (or re-issues, with a new password) the credential of the caller's session.
pub async fn issue(state: &SharedState, caller: &Caller) -> ApiResult<BrokerCredential> {
    let session = caller
        .session
        .ok_or_else(|| ApiError::forbidden("only a signed-in session gets a broker credential"))?;
    let (Some(broker), Some(url)) = (state.broker(), state.session_clients.url()) else {
        // Not a passing outage (that is 503 from the broker calls below): this platform was
        // started without a broker, so asking again will not help.
        return Err(ApiError::conflict(
            "no_broker",
            "this platform runs without a broker",
        ));
    };
    let name = username(session);
    let acls = acls_for(state, caller.org, caller.principal, session)?;
    let password = crate::auth::secrets::new_broker_password()?;
    // A re-issue replaces the old client, so only the newest password works.
    broker
        .put_own_clients(&[OwnClient {
            username: name.clone(),
            password: password.clone(),
            acls: acls.clone(),
        }])
        .await?;
    let expires_at = state.clock.now_ms() + LIFETIME_MS;
    state.session_clients.issued()?.insert(
        session,
        Issued {
            org: caller.org,
            principal: caller.principal,
            expires_at,
            acls,
        },
    );
    Ok(BrokerCredential {
        url,
        username: name,
        password,
        expires_at,
    })
}

/// Deletes the session's credential now (sign-out).
pub async fn withdraw(state: &AppState, session: i64) -> ApiResult<()> {
    let was_issued = state.session_clients.issued()?.remove(&session).is_some();
    if let (true, Some(broker)) = (was_issued, state.broker()) {
        broker.delete_own_clients(&[username(session)]).await?;
    }
    Ok(())
}

/// Checks every credential once: withdraws those whose session may no longer act, and brings
/// the others' ACLs in line with their user's current role.
pub async fn sweep(state: &AppState) -> ApiResult<()> {
    let now = state.clock.now_ms();
    let sessions: Vec<(i64, i64, Principal, i64, Vec<AclEntry>)> = state
        .session_clients
        .issued()?
        .iter()
        .map(|(s, i)| (*s, i.org, i.principal, i.expires_at, i.acls.clone()))
        .collect();
    for (session, org, principal, expires_at, acls) in sessions {
        let live = match state.store.session(session)? {
            Some(row) => session_standing(state, &row, now)? == SessionStanding::Live,
            None => false,
        };
        if !live || now >= expires_at {
            withdraw(state, session).await?;
            continue;
        }
        let current = acls_for(state, org, principal, session)?;
        if current != acls {
            if let Some(broker) = state.broker() {
                broker.put_role(&username(session), &current).await?;
            }
            if let Some(issued) = state.session_clients.issued()?.get_mut(&session) {
                issued.acls = current;
            }
        }
    }
    Ok(())
}

/// Deletes the session credentials an earlier run of stewardd issued: their sessions' consoles
/// ask again, and none is left working unwatched.
pub async fn forget_earlier(broker: &dyn BrokerControl) -> ApiResult<()> {
    let names: Vec<String> = broker
        .client_names()
        .await?
        .into_iter()
        .filter(|name| name.starts_with("ses_"))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    broker.delete_own_clients(&names).await
}

/// Runs `sweep` every `SWEEP` for as long as the state lives.
pub fn spawn_sweeper(state: &SharedState) {
    let weak: Weak<AppState> = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP).await;
            let Some(state) = weak.upgrade() else { break };
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "checking console broker credentials failed; retrying");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_model::Permission;

    #[test]
    fn a_session_credential_carries_listen_rights_only() {
        let all = PermSet::all();
        let listen = listen_only(all);
        assert!(listen.contains(Permission::PresenceListen));
        assert!(!listen.contains(Permission::CommandsRpcCall));
        assert!(!listen.contains(Permission::DevicesList));
        let acls = compile(1, listen, &AclScope::Org, "ses_1");
        assert!(!acls.is_empty());
        assert!(
            acls.iter()
                .all(|a| a.acl_type != steward_model::acl::AclType::PublishClientSend),
            "{acls:?}"
        );
    }
}
