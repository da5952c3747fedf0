//! API keys as broker clients. Username `stw_<prefix>` (the key's visible part), password the
//! whole secret (given to the broker once, at creation), one role of the same name holding
//! `acl::compile` of the key's permissions and scopes.
//!
//! The store is the source of truth. The REST handlers call the broker first and write the store
//! after; if the store write fails they undo the broker change, so neither is left half-done
//! (a failed broker call is 503 `broker_unavailable` and the store is untouched). On start,
//! `reconcile` makes the broker follow the store for every key.
//!
//! Scoped keys: a scope expands to the hierarchy nodes of its subtrees and the devices placed in
//! them; `devices::rescope_keys` recompiles these roles whenever a device or node moves.

use std::collections::HashMap;

use steward_model::acl::{AclEntry, AclScope, compile};
use steward_model::{NodeId, PermSet};

use super::BrokerControl;
use crate::error::ApiResult;
use crate::state::SharedState;
use crate::store::KeyRow;

/// The key's MQTT username (and its role's name).
pub fn username(prefix: &str) -> String {
    format!("stw_{prefix}")
}

/// The ACLs of a key with these permissions and scopes in `org`.
pub fn acls(
    state: &SharedState,
    org: i64,
    permissions: PermSet,
    scopes: &[NodeId],
    prefix: &str,
) -> ApiResult<Vec<AclEntry>> {
    let scope = if scopes.is_empty() {
        AclScope::Org
    } else {
        let plant = state.plant(org)?;
        let nodes: Vec<u32> = plant
            .nodes()
            .filter(|(n, _)| scopes.iter().any(|root| plant.node_within(*n, *root)))
            .map(|(n, _)| n.0)
            .collect();
        let devices = state
            .store
            .device_nodes(org)?
            .into_iter()
            .filter(|(_, node)| nodes.contains(&crate::auth::id32(*node)))
            .map(|(device, _)| crate::auth::id32(device))
            .collect();
        AclScope::Within { devices, nodes }
    };
    Ok(compile(org, permissions, &scope, &username(prefix)))
}

/// A new key: its role, then its client (disabled when the key is).
pub async fn provision(
    broker: &dyn BrokerControl,
    acls: &[AclEntry],
    prefix: &str,
    secret: &str,
) -> ApiResult<()> {
    let name = username(prefix);
    broker.put_role(&name, acls).await?;
    let roles = [name.clone()];
    if !broker.create_client(&name, secret, &roles).await? {
        // A leftover client of the same name (prefixes are random; this is a retry) gets the
        // new password by being recreated.
        broker.delete_client(&name).await?;
        broker.create_client(&name, secret, &roles).await?;
    }
    Ok(())
}

/// Undoes `provision` after the store refused the key (best effort: logged, not returned).
pub async fn unprovision(broker: &dyn BrokerControl, prefix: &str) {
    if let Err(e) = broker.delete_client(&username(prefix)).await {
        tracing::error!(prefix, error = %e, "cannot remove the broker client of a key the store refused");
    }
}

/// Makes the broker follow the store for every key of every org. `secrets` holds the whole
/// secrets known now (by prefix); a live key whose client is missing and whose secret is
/// unknown gets a client with a random password, so it cannot connect until it is recreated.
pub async fn reconcile(
    state: &SharedState,
    broker: &dyn BrokerControl,
    secrets: &HashMap<String, String>,
) -> ApiResult<()> {
    let mut count = 0usize;
    for org in state.store.orgs()? {
        for key in state.store.keys(org)? {
            reconcile_key(state, broker, &key, secrets.get(&key.prefix).map(String::as_str)).await?;
            count += 1;
        }
    }
    tracing::info!(keys = count, "API keys reconciled into the broker");
    Ok(())
}

async fn reconcile_key(
    state: &SharedState,
    broker: &dyn BrokerControl,
    key: &KeyRow,
    secret: Option<&str>,
) -> ApiResult<()> {
    let name = username(&key.prefix);
    if key.revoked_at.is_some() {
        return broker.delete_client(&name).await;
    }
    let acls = acls(state, key.org_id, key.permissions, &key.scopes, &key.prefix)?;
    broker.put_role(&name, &acls).await?;
    let roles = [name.clone()];
    let password = match secret {
        Some(s) => s.to_owned(),
        None => crate::auth::secrets::new_session_token()?,
    };
    let created = broker.create_client(&name, &password, &roles).await?;
    if !created {
        if secret.is_some() {
            // A known secret (the demo's fresh keys over an old dynsec file) wins.
            broker.delete_client(&name).await?;
            broker.create_client(&name, &password, &roles).await?;
        } else {
            broker.set_client_roles(&name, &roles).await?;
        }
    } else if secret.is_none() {
        tracing::warn!(
            prefix = %key.prefix,
            "API key has no broker credential (its secret is not kept); recreate it to use MQTT"
        );
    }
    broker.set_client_enabled(&name, key.enabled).await
}
