//! Devices as broker clients: username (and client id) `dev_<id>`, a random password given to
//! the device once (at creation or rotation, never stored), and one role of the same name with
//! `acl::compile_device`: it publishes only its own telemetry, presence and RPC replies, and
//! receives only its own RPC requests and queued commands.
//!
//! As for keys, the REST handlers change the broker first and the store after, undoing the
//! broker change if the store refuses. Where devices sit also shapes the ACLs of API keys scoped
//! to hierarchy subtrees, so every placement change ends with `rescope_keys`.

use std::collections::HashSet;

use steward_model::acl::compile_device;

use super::{BrokerControl, OwnClient};
use crate::auth::id32;
use crate::auth::secrets::new_broker_password;
use crate::error::ApiResult;
use crate::state::SharedState;

/// The device's MQTT username, client id and role name.
pub fn username(device: i64) -> String {
    format!("dev_{device}")
}

/// Broker clients for these devices of `org`; returns each device's password, in order.
pub async fn provision(broker: &dyn BrokerControl, org: i64, devices: &[i64]) -> ApiResult<Vec<String>> {
    let clients = devices
        .iter()
        .map(|d| {
            Ok(OwnClient {
                username: username(*d),
                password: new_broker_password()?,
                acls: compile_device(org, id32(*d)),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    broker.put_own_clients(&clients).await?;
    Ok(clients.into_iter().map(|c| c.password).collect())
}

/// Removes devices' clients and roles; their live connections drop.
pub async fn remove(broker: &dyn BrokerControl, devices: &[i64]) -> ApiResult<()> {
    let names: Vec<String> = devices.iter().map(|d| username(*d)).collect();
    broker.delete_own_clients(&names).await
}

/// Undoes `provision` after the store refused the devices (best effort: logged, not returned).
pub async fn unprovision(broker: &dyn BrokerControl, devices: &[i64]) {
    if let Err(e) = remove(broker, devices).await {
        tracing::error!(devices = devices.len(), error = %e, "cannot remove the broker clients of devices the store refused");
    }
}

/// Recompiles the role of every live API key of `org` scoped to hierarchy subtrees: which
/// devices such a key reaches follows where devices sit. Unscoped keys reach every device
/// through wildcards and need nothing.
pub async fn rescope_keys(state: &SharedState, broker: &dyn BrokerControl, org: i64) -> ApiResult<()> {
    for key in state.store.keys(org)? {
        if key.revoked_at.is_some() || key.scopes.is_empty() {
            continue;
        }
        let acls = super::keys::acls(state, org, key.permissions, &key.scopes, &key.prefix)?;
        broker
            .put_role(&super::keys::username(&key.prefix), &acls)
            .await?;
    }
    Ok(())
}

/// After a committed placement change: rescope keys when there is a broker. A failure is
/// logged, not returned: the change stands, and the next broker start reconciles the keys.
pub async fn after_placement(state: &SharedState, org: i64) {
    if let Some(broker) = state.broker() {
        if let Err(e) = rescope_keys(state, broker.as_ref(), org).await {
            tracing::error!(org, error = %e, "cannot update scoped API keys after a device or node moved");
        }
    }
}

/// Makes the broker follow the store for devices: a device without a client gets one with a
/// fresh random password (it must be rotated before it can connect: the old password was never
/// kept), and a `dev_` client without a device (deleted while the broker was away) goes.
pub async fn reconcile(state: &SharedState, broker: &dyn BrokerControl) -> ApiResult<()> {
    let present: HashSet<String> = broker
        .client_names()
        .await?
        .into_iter()
        .filter(|n| n.starts_with("dev_"))
        .collect();
    let mut known = HashSet::new();
    let mut created = 0usize;
    for org in state.store.orgs()? {
        let devices = state.store.list_devices(org)?;
        let missing: Vec<i64> = devices
            .iter()
            .filter(|d| !present.contains(&d.mqtt_username))
            .map(|d| d.id)
            .collect();
        known.extend(devices.into_iter().map(|d| d.mqtt_username));
        if !missing.is_empty() {
            provision(broker, org, &missing).await?;
            created += missing.len();
            tracing::warn!(
                org,
                devices = missing.len(),
                first = missing.first().copied().unwrap_or_default(),
                "devices had no broker client; created with new passwords: rotate their credentials to connect them"
            );
        }
    }
    let stale: Vec<String> = present.difference(&known).cloned().collect();
    if !stale.is_empty() {
        broker.delete_own_clients(&stale).await?;
    }
    tracing::info!(
        devices = known.len(),
        created,
        removed = stale.len(),
        "devices reconciled into the broker"
    );
    Ok(())
}
