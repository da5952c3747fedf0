//! Shared server state: the store, each org's plant (the resolver's index), the clock, and the
//! key that hashes tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use steward_model::Plant;

use crate::auth::secrets::TokenKey;
use crate::broker::BrokerControl;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// Limits and lifetimes; tests shorten them.
#[derive(Clone, Debug)]
pub struct Limits {
    pub session_absolute_ms: i64,
    pub invite_ttl_ms: i64,
    /// Failed sign-ins (password or TOTP) before the account is locked for `lockout_ms`.
    pub max_failed_attempts: i64,
    pub lockout_ms: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            session_absolute_ms: 12 * 3600 * 1000,
            invite_ttl_ms: 72 * 3600 * 1000,
            max_failed_attempts: 5,
            lockout_ms: 15 * 60 * 1000,
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tokens: TokenKey,
    pub limits: Limits,
    plants: RwLock<HashMap<i64, Arc<Plant>>>,
    /// Reloads run one at a time, so a slow reload can never replace a newer plant.
    reload_lock: Mutex<()>,
    /// The broker's control, once it is up; None without a broker (`--no-broker`, most tests).
    broker: RwLock<Option<Arc<dyn BrokerControl>>>,
    /// stewardd's own MQTT connection for the device plane, once it is up.
    publisher: RwLock<Option<Arc<dyn Publisher>>>,
    /// Device presence and latest telemetry, once the device plane is up.
    presence: RwLock<Option<Arc<crate::broker::plane::presence::Tracker>>>,
    /// Broker credentials handed to console sessions.
    pub session_clients: crate::broker::sessions::SessionClients,
    rpc: RwLock<Option<Arc<crate::broker::plane::rpc::Rpc>>>,
    /// Alert evaluation, once the device plane is up.
    alerts: RwLock<Option<Arc<crate::broker::plane::alerts::Alerts>>>,
}

/// Publishes on the device plane (group changes, alerts, RPC requests, queued commands) with
/// stewardd's own broker client. Fire and forget: a message that cannot be sent is logged, the
/// write that caused it stands (the change feed has it).
pub trait Publisher: Send + Sync {
    fn publish(&self, topic: String, payload: Vec<u8>, retain: bool);
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, tokens: TokenKey, limits: Limits) -> AppState {
        AppState {
            store,
            clock,
            tokens,
            limits,
            plants: RwLock::new(HashMap::new()),
            reload_lock: Mutex::new(()),
            broker: RwLock::new(None),
            publisher: RwLock::new(None),
            presence: RwLock::new(None),
            session_clients: Default::default(),
            rpc: RwLock::new(None),
            alerts: RwLock::new(None),
        }
    }

    pub fn set_broker(&self, broker: Arc<dyn BrokerControl>) {
        if let Ok(mut slot) = self.broker.write() {
            *slot = Some(broker);
        }
    }

    /// The broker to keep in step with API keys, if there is one.
    pub fn broker(&self) -> Option<Arc<dyn BrokerControl>> {
        self.broker.read().ok().and_then(|b| b.clone())
    }

    pub fn set_publisher(&self, publisher: Arc<dyn Publisher>) {
        if let Ok(mut slot) = self.publisher.write() {
            *slot = Some(publisher);
        }
    }

    pub fn set_rpc(&self, rpc: Arc<crate::broker::plane::rpc::Rpc>) {
        if let Ok(mut slot) = self.rpc.write() {
            *slot = Some(rpc);
        }
    }

    /// RPC to devices; None without a broker.
    pub fn rpc(&self) -> Option<Arc<crate::broker::plane::rpc::Rpc>> {
        self.rpc.read().ok().and_then(|r| r.clone())
    }

    pub fn set_alerts(&self, alerts: Arc<crate::broker::plane::alerts::Alerts>) {
        if let Ok(mut slot) = self.alerts.write() {
            *slot = Some(alerts);
        }
    }

    /// Alert evaluation; None without a broker (no readings or presence to evaluate).
    pub fn alerts(&self) -> Option<Arc<crate::broker::plane::alerts::Alerts>> {
        self.alerts.read().ok().and_then(|a| a.clone())
    }

    pub fn set_presence(&self, tracker: Arc<crate::broker::plane::presence::Tracker>) {
        if let Ok(mut slot) = self.presence.write() {
            *slot = Some(tracker);
        }
    }

    /// The live presence tracker; None without a broker (then presence is read from the store).
    pub fn presence(&self) -> Option<Arc<crate::broker::plane::presence::Tracker>> {
        self.presence.read().ok().and_then(|p| p.clone())
    }

    /// Publishes on the device plane when there is a broker; without one (`--no-broker`) the
    /// change feed is the only record.
    pub fn publish(&self, topic: String, payload: Vec<u8>, retain: bool) {
        if let Some(p) = self.publisher.read().ok().and_then(|p| p.clone()) {
            p.publish(topic, payload, retain);
        }
    }

    /// The org's plant as of now (loaded on first use, replaced after each change).
    pub fn plant(&self, org: i64) -> ApiResult<Arc<Plant>> {
        if let Some(p) = self.plants.read().map_err(|_| poisoned())?.get(&org) {
            return Ok(Arc::clone(p));
        }
        self.reload(org)
    }

    /// Rebuilds the org's plant from the store; call after every write to authorization data.
    pub fn reload(&self, org: i64) -> ApiResult<Arc<Plant>> {
        let _one_at_a_time = self.reload_lock.lock().map_err(|_| poisoned())?;
        let plant = Arc::new(self.store.load_plant(org)?);
        plant.prepare();
        self.plants
            .write()
            .map_err(|_| poisoned())?
            .insert(org, Arc::clone(&plant));
        Ok(plant)
    }
}

fn poisoned() -> ApiError {
    ApiError::Internal("plant cache lock poisoned".to_owned())
}
