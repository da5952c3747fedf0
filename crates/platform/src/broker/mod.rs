//! The broker plane: stewardd controls an MQTT broker's clients and ACLs so the broker itself
//! enforces what each API key may publish and receive.
//!
//! - `BrokerControl` (here): what the platform needs from a broker. Mosquitto's dynamic-security
//!   plugin implements it (`dynsec`); a clustered broker (EMQX) can implement it later.
//! - `supervisor`: starts, watches and restarts stewardd's own private Mosquitto.
//! - `keys`: API keys as broker clients, and the reconciliation of the store into the broker.
//! - `devices`: devices as broker clients (`dev_<id>`, each with a role of its own).

pub mod devices;
pub mod dynsec;
pub mod keys;
pub mod plane;
pub mod sessions;
pub mod supervisor;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use steward_model::acl::AclEntry;

use crate::error::{ApiError, ApiResult};

pub type BrokerFuture<'a, T> = Pin<Box<dyn Future<Output = ApiResult<T>> + Send + 'a>>;

/// What the platform asks of a broker. Every call is idempotent where that makes sense, so
/// reconciling twice changes nothing.
pub trait BrokerControl: Send + Sync {
    /// Creates the client with these roles; `Ok(false)` when it already existed (left as is).
    fn create_client<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
        roles: &'a [String],
    ) -> BrokerFuture<'a, bool>;
    /// Replaces the client's roles.
    fn set_client_roles<'a>(&'a self, username: &'a str, roles: &'a [String]) -> BrokerFuture<'a, ()>;
    /// Deletes the client (its connection is dropped); absent is fine.
    fn delete_client<'a>(&'a self, username: &'a str) -> BrokerFuture<'a, ()>;
    /// Enables or disables the client; disabling drops its connection at once.
    fn set_client_enabled<'a>(&'a self, username: &'a str, enabled: bool) -> BrokerFuture<'a, ()>;
    /// Creates the role or replaces its ACLs; live connections see the new ACLs without reconnecting.
    fn put_role<'a>(&'a self, rolename: &'a str, acls: &'a [AclEntry]) -> BrokerFuture<'a, ()>;
    /// Default ACL access: deny for every type (publish send/receive, subscribe, unsubscribe).
    fn deny_by_default(&self) -> BrokerFuture<'_, ()>;
    /// Creates clients that each hold one role of their own name (devices), in as few control
    /// messages as the broker allows: thousands at once must not cost a message each. One that
    /// already exists is replaced (its password and ACLs).
    fn put_own_clients<'a>(&'a self, clients: &'a [OwnClient]) -> BrokerFuture<'a, ()>;
    /// Deletes clients and their own roles (their connections drop); absent ones are fine.
    fn delete_own_clients<'a>(&'a self, usernames: &'a [String]) -> BrokerFuture<'a, ()>;
    /// Sets a new password and drops the connection made with the old one.
    fn set_client_password<'a>(&'a self, username: &'a str, password: &'a str) -> BrokerFuture<'a, ()>;
    /// Every client's username.
    fn client_names(&self) -> BrokerFuture<'_, Vec<String>>;
}

/// A client with a role of its own name holding `acls` (a device).
pub struct OwnClient {
    pub username: String,
    pub password: String,
    pub acls: Vec<AclEntry>,
}

/// The error every failed broker call becomes: the store was left unchanged, try again later.
/// stewardd's broker connections (dynsec control, device plane) carry small request/answer
/// messages: without TCP_NODELAY, Nagle and delayed ACKs added ~45 ms to each round trip.
pub(crate) fn low_latency() -> rumqttc::NetworkOptions {
    let mut options = rumqttc::NetworkOptions::new();
    options.set_tcp_nodelay(true);
    options
}

pub fn unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "broker_unavailable", message)
}

/// Which broker stewardd uses.
#[derive(Clone, Debug)]
pub enum BrokerMode {
    /// None: API keys exist for REST only (tests that do not need a broker).
    Off,
    /// stewardd's own Mosquitto, in `<data-dir>/broker/`.
    Supervised,
    /// An external broker with the dynamic-security plugin, and its admin credential.
    External {
        host: String,
        port: u16,
        username: String,
        password: String,
    },
}

/// A running broker plane: the control client and, when stewardd runs the broker, its supervisor
/// (dropping the handle stops that broker).
pub struct BrokerHandle {
    pub control: Arc<dynsec::DynsecClient>,
    pub supervisor: Option<supervisor::Supervisor>,
    /// `mqtt://host:port`, for the ready line.
    pub url: String,
    /// The admin credential (tests publish with it; never logged).
    pub admin_username: String,
    pub admin_password: String,
    /// stewardd's own device-plane connection (presence, telemetry, publishing).
    pub plane: Arc<plane::Plane>,
}

/// How long to wait for a broker to come up and answer.
const STARTUP: Duration = Duration::from_secs(10);

/// Starts (or connects to) the broker, makes default access deny, installs the control client
/// in `state` and reconciles every API key into the broker. `secrets` are the whole secrets
/// known at this moment (the demo's fresh keys), by prefix.
pub async fn start(
    mode: &BrokerMode,
    data_dir: &Path,
    state: &crate::SharedState,
    secrets: &std::collections::HashMap<String, String>,
) -> ApiResult<Option<BrokerHandle>> {
    let (supervisor, host, port, username, password) = match mode {
        BrokerMode::Off => return Ok(None),
        BrokerMode::Supervised => {
            let sup = supervisor::Supervisor::start(&data_dir.join("broker"), &state.tokens, STARTUP).await?;
            let (u, p) = sup.admin();
            let (u, p, port) = (u.to_owned(), p.to_owned(), sup.port());
            (Some(sup), "127.0.0.1".to_owned(), port, u, p)
        }
        BrokerMode::External {
            host,
            port,
            username,
            password,
        } => (None, host.clone(), *port, username.clone(), password.clone()),
    };
    let control = Arc::new(dynsec::DynsecClient::connect(&host, port, &username, &password));
    control.wait_ready(STARTUP).await?;
    control.deny_by_default().await?;
    state.set_broker(control.clone());
    keys::reconcile(state, control.as_ref(), secrets).await?;
    devices::reconcile(state, control.as_ref()).await?;
    let plane = plane::start(control.as_ref(), &host, port, state).await?;
    sessions::forget_earlier(control.as_ref()).await?;
    let url = format!("mqtt://{host}:{port}");
    state.session_clients.set_url(url.clone());
    sessions::spawn_sweeper(state);
    Ok(Some(BrokerHandle {
        control,
        supervisor,
        url,
        admin_username: username,
        admin_password: password,
        plane,
    }))
}
