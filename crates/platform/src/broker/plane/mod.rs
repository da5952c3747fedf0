//! stewardd's own connection to the device plane: the dynsec client `steward-platform` (its role
//! may subscribe to, receive and publish on `steward/#`; the dynsec admin may publish only on
//! `$CONTROL`), one MQTT 5 connection (RPC needs response topics and correlation data) that
//! subscribes to every org's presence and telemetry, feeds the presence tracker, and publishes
//! what stewardd sends (`state::Publisher`). It reconnects on its own.
//!
//! The password is random and set again at every start (`setClientPassword`): nothing else
//! uses it, so it never needs to be kept anywhere.

pub mod alerts;
pub mod presence;
pub mod queue;
pub mod rpc;

use std::sync::Arc;
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use serde_json::{Value, json};
use steward_model::topics::{Parsed, parse};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::dynsec::DynsecClient;
use super::unavailable;
use crate::error::ApiResult;
use crate::state::{Publisher, SharedState};
use alerts::Alerts;
use presence::{Message, Tracker};
use rpc::Rpc;

/// stewardd's MQTT username and the name of its role.
pub const USERNAME: &str = "steward-platform";
/// Every org's device presence and telemetry.
const PRESENCE: &str = "steward/+/devices/+/presence";
const TELEMETRY: &str = "steward/+/devices/+/telemetry";
/// How often the liveness check runs (a silent device is shown offline at most this late).
const SWEEP_EVERY: Duration = Duration::from_millis(50);
/// After subscribing, how long the broker's retained presence has to arrive before devices the
/// store had online, and the broker did not confirm, are marked offline.
const SETTLE_AFTER: Duration = Duration::from_secs(2);

/// The running plane client. Dropping it stops its tasks.
pub struct Plane {
    client: AsyncClient,
    pub tracker: Arc<Tracker>,
    pub rpc: Arc<Rpc>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Plane {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Publisher for Plane {
    fn publish(&self, topic: String, payload: Vec<u8>, retain: bool) {
        if let Err(e) = self
            .client
            .try_publish(topic.clone(), QoS::AtLeastOnce, retain, payload)
        {
            tracing::warn!(topic, error = %e, "device plane: cannot publish");
        }
    }
}

/// Creates (or updates) stewardd's dynsec client and role with a fresh password.
async fn provision(control: &DynsecClient, password: &str) -> ApiResult<()> {
    let acls: Vec<Value> = ["subscribePattern", "publishClientReceive", "publishClientSend"]
        .iter()
        .map(|t| json!({ "acltype": t, "topic": "steward/#", "allow": true }))
        .collect();
    let roles = json!([{ "rolename": USERNAME }]);
    let answers = control
        .execute(vec![
            json!({ "command": "createRole", "rolename": USERNAME }),
            json!({ "command": "modifyRole", "rolename": USERNAME, "acls": acls }),
            json!({ "command": "createClient", "username": USERNAME, "password": password, "roles": roles }),
            json!({ "command": "setClientPassword", "username": USERNAME, "password": password }),
            json!({ "command": "modifyClient", "username": USERNAME, "roles": roles }),
            json!({ "command": "enableClient", "username": USERNAME }),
        ])
        .await?;
    for answer in answers {
        match answer {
            Ok(_) => {}
            Err(e) if e == "Role already exists" || e == "Client already exists" => {}
            Err(e) => {
                return Err(unavailable(format!(
                    "the broker refused stewardd's own client: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// Starts the plane client against the broker at `host:port`, loads the presence tracker from
/// the store, and installs both in `state` (publisher and presence).
pub async fn start(
    control: &DynsecClient,
    host: &str,
    port: u16,
    state: &SharedState,
) -> ApiResult<Arc<Plane>> {
    let password = crate::auth::secrets::new_broker_password()?;
    provision(control, &password).await?;
    let (tracker, writes) = Tracker::load(state.store.clone(), state.clock.clone())?;
    let tracker = Arc::new(tracker);
    let id = format!("{USERNAME}-{}", std::process::id());
    let mut options = MqttOptions::new(id, host, port);
    options.set_credentials(USERNAME, password);
    options.set_keep_alive(Duration::from_secs(10));
    options.set_clean_start(true);
    options.set_max_packet_size(Some(1024 * 1024));
    // rumqttc sizes a table by this bound (65,535 by default: ~13 MB).
    options.set_outgoing_inflight_upper_limit(1024);
    options.set_network_options(super::low_latency());
    let (client, eventloop) = AsyncClient::new(options, 4096);
    let (ready_tx, mut ready) = watch::channel(false);
    let rpc = Arc::new(Rpc::new(client.clone()));
    let (alerts, alert_events) = Alerts::load(state.store.clone())?;
    let alerts = Arc::new(alerts);
    let tasks = vec![
        tokio::spawn(presence::run_writer(
            state.store.clone(),
            state.clock.clone(),
            writes,
        )),
        tokio::spawn(alerts::run_writer(state.clone(), alert_events)),
        tokio::spawn(alerts::run_offline_checks(
            alerts.clone(),
            tracker.clone(),
            state.clone(),
        )),
        tokio::spawn(run(
            eventloop,
            client.clone(),
            Receivers {
                tracker: tracker.clone(),
                rpc: rpc.clone(),
                alerts: alerts.clone(),
            },
            state.clone(),
            ready_tx,
        )),
        tokio::spawn(sweep(client.clone(), tracker.clone())),
    ];
    let plane = Arc::new(Plane {
        client,
        tracker: tracker.clone(),
        rpc: rpc.clone(),
        tasks,
    });
    state.set_publisher(plane.clone());
    state.set_presence(tracker);
    state.set_rpc(rpc);
    state.set_alerts(alerts);
    if tokio::time::timeout(Duration::from_secs(5), ready.wait_for(|r| *r))
        .await
        .is_err()
    {
        tracing::warn!("device plane: not subscribed yet; presence follows once it is");
    }
    Ok(plane)
}

/// Who takes the plane's incoming messages.
struct Receivers {
    tracker: Arc<Tracker>,
    rpc: Arc<Rpc>,
    alerts: Arc<Alerts>,
}

/// Drives the connection: subscribes on every connect, hands messages to the tracker, RPC
/// replies to their callers and readings to the alert rules.
async fn run(
    mut eventloop: EventLoop,
    client: AsyncClient,
    to: Receivers,
    state: SharedState,
    ready: watch::Sender<bool>,
) {
    let Receivers { tracker, rpc, alerts } = to;
    let mut settled = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                // No local: stewardd's own `offline` for a silent device need not come back.
                let filters = [PRESENCE, TELEMETRY, rpc::RESPONSES].map(|f| Filter {
                    nolocal: true,
                    ..Filter::new(f, QoS::AtLeastOnce)
                });
                if let Err(e) = client.try_subscribe_many(filters) {
                    tracing::warn!(error = %e, "device plane: cannot subscribe");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                let _ = ready.send(true);
                tracing::info!("device plane: subscribed to presence and telemetry");
                if !settled {
                    settled = true;
                    let tracker = tracker.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(SETTLE_AFTER).await;
                        tracker.settle();
                    });
                }
            }
            Ok(Event::Incoming(Packet::Publish(p)))
                if p.topic.ends_with(b"/rpc/response/steward-platform") =>
            {
                rpc.answered(&p);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // Devices repeat `online` as a heartbeat: only a device coming online gets
                // its queue (one queued while it is online is sent by the route at once).
                let came_online = match presence_device(&p) {
                    Some((_, device)) if p.payload.as_ref() == b"online" => {
                        !tracker.is_online(device).unwrap_or(false)
                    }
                    _ => false,
                };
                if let Err(e) = incoming(&tracker, &alerts, state.clock.now_ms(), &p) {
                    tracing::warn!(error = %e, "device plane: message not recorded");
                }
                if came_online {
                    deliver_queued(&state, &client, &p);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let _ = ready.send(false);
                tracing::debug!(error = %e, "device plane connection down; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The (org, device) of a message on a presence topic.
fn presence_device(p: &Publish) -> Option<(i64, i64)> {
    let t = std::str::from_utf8(&p.topic).ok()?;
    let org = org_of(t)?;
    match parse(org, t)? {
        Parsed::Presence(device) => Some((org, i64::from(device))),
        _ => None,
    }
}

/// A device came online: sends what was queued for it.
fn deliver_queued(state: &SharedState, client: &AsyncClient, p: &Publish) {
    let Some((org, device)) = presence_device(p) else {
        return;
    };
    let publish = |topic: String, payload: Vec<u8>| {
        if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
            tracing::warn!(error = %e, "device plane: cannot deliver a queued command");
        }
    };
    if let Err(e) = queue::deliver(state.store.as_ref(), publish, state.clock.now_ms(), org, device) {
        tracing::warn!(error = %e, "device plane: queued commands not delivered");
    }
}

/// The org of a `steward/{org}/…` topic.
fn org_of(topic: &str) -> Option<i64> {
    topic.strip_prefix("steward/")?.split('/').next()?.parse().ok()
}

fn incoming(tracker: &Tracker, alerts: &Alerts, now: i64, p: &Publish) -> ApiResult<()> {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        return Ok(());
    };
    let Some(org) = org_of(topic) else {
        return Ok(());
    };
    let (device, message) = match parse(org, topic) {
        Some(Parsed::Presence(device)) => match p.payload.as_ref() {
            b"online" => (
                device,
                Message::Online {
                    keepalive: keepalive_of(p),
                },
            ),
            b"offline" => (device, Message::Offline),
            _ => return Ok(()),
        },
        Some(Parsed::Telemetry(device)) if p.payload.len() <= presence::MAX_READING => {
            match serde_json::from_slice::<Value>(&p.payload) {
                Ok(v) => {
                    alerts.on_telemetry(org, i64::from(device), &v, now)?;
                    (device, Message::Telemetry(v))
                }
                // Not JSON: not a reading.
                Err(_) => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    tracker.on_message(org, i64::from(device), message)
}

/// The keepalive a device announced with its `online` (MQTT 5 user property, seconds).
fn keepalive_of(p: &Publish) -> Option<Duration> {
    let props = p.properties.as_ref()?;
    let (_, value) = props.user_properties.iter().find(|(k, _)| k == "keepalive")?;
    let secs: u64 = value.parse().ok()?;
    (1..=65_535).contains(&secs).then(|| Duration::from_secs(secs))
}

/// Call after the broker dropped a device's connection on stewardd's order (its credential
/// rotated, or it was deleted): Mosquitto publishes no Will for an admin kick, so stewardd
/// records it offline and publishes the retained `offline` itself.
pub fn device_kicked(state: &crate::AppState, org: i64, device: i64) {
    let Some(tracker) = state.presence() else {
        return;
    };
    if tracker.kicked(org, device) {
        if let Ok(d) = u32::try_from(device) {
            let topic = steward_model::topics::topic(
                org,
                steward_model::topics::Topic::Presence(steward_model::topics::Id::One(d)),
            );
            state.publish(topic, b"offline".to_vec(), true);
        }
    }
}

/// Runs the liveness check and publishes `offline` (retained) for each device found silent.
async fn sweep(client: AsyncClient, tracker: Arc<Tracker>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        for (org, device) in tracker.sweep() {
            let Ok(device) = u32::try_from(device) else {
                continue;
            };
            let topic = steward_model::topics::topic(
                org,
                steward_model::topics::Topic::Presence(steward_model::topics::Id::One(device)),
            );
            if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, true, "offline") {
                tracing::warn!(error = %e, "device plane: cannot publish a silent device's offline");
            }
        }
    }
}
