//! Live presence over MQTT with the session's own broker credential (`POST /session/broker`).
//!
//! One task per open profile: it asks the platform for a credential, takes a snapshot of
//! `GET /presence` (server-owned times and flap counts), connects to the broker, subscribes to
//! the org's presence topics and merges what arrives into the `LiveHub`, which the Devices view
//! reads and which broadcasts each change. It asks for a new credential before the old one
//! expires and whenever the connection is lost (the old password may be gone). Without a broker
//! (409 `no_broker`), offline, or refused, the hub says presence is not live and why; the view
//! then shows the last known state.
//!
//! When the session's user holds alerts.listen (decided on the cached plant by the console, which
//! tells the hub), the same connection also subscribes to the org's alert topics: each alert
//! stewardd fires arrives as `LiveEvent::Alert`, named from the cache (or, for a rule or device
//! the cache does not know yet, from the platform). Alerts have a state of their own: a refused
//! alerts subscription leaves presence live and says why alerts are not.
//!
//! The credential's password lives only in this task's memory: it is never written to the
//! cache, logged (`Credential`'s `Debug` hides it) or handed to the UI.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::Method;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter, SubscribeReasonCode};
use serde::Serialize;
use steward_model::topics::{self, Id, Parsed, Topic};
use steward_wire::{AlertRow, AlertRuleRow, BrokerCredential, PresenceRow};
use tokio::sync::broadcast;
use ts_rs::TS;
use url::Url;

use crate::alerts::{AlertHistoryRow, AlertLabels};
use crate::api::ApiClient;
use crate::console::now_ms;
use crate::error::{CoreError, CoreResult};

/// Renew the credential this long before it expires.
const RENEW_BEFORE_MS: i64 = 5 * 60 * 1000;
/// Longest wait between attempts when the platform or broker does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Wait before asking again a platform that has no broker (it would need a restart).
const NO_BROKER_RETRY: Duration = Duration::from_secs(60);
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Whether presence is live right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LiveState {
    /// Nobody asked for live presence yet (or the profile was just opened).
    Idle,
    Connecting,
    Live,
    /// Not live: `code` says why (`offline`, `no_broker`, `broker_unreachable`, …).
    NotLive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LiveStatus {
    pub state: LiveState,
    /// Why it is not live: an error code the UI branches on.
    pub code: Option<String>,
    pub message: Option<String>,
    /// When this state began (ms since the epoch).
    #[ts(type = "number")]
    pub since: i64,
}

impl LiveStatus {
    fn idle() -> LiveStatus {
        LiveStatus {
            state: LiveState::Idle,
            code: None,
            message: None,
            since: now_ms(),
        }
    }

    fn not_live(e: &CoreError) -> LiveStatus {
        LiveStatus {
            state: LiveState::NotLive,
            code: Some(e.code()),
            message: Some(e.to_string()),
            since: now_ms(),
        }
    }

    fn live() -> LiveStatus {
        LiveStatus {
            state: LiveState::Live,
            code: None,
            message: None,
            since: now_ms(),
        }
    }

    fn connecting() -> LiveStatus {
        LiveStatus {
            state: LiveState::Connecting,
            code: None,
            message: None,
            since: now_ms(),
        }
    }

    fn refused(code: &str, message: &str) -> LiveStatus {
        LiveStatus {
            state: LiveState::NotLive,
            code: Some(code.to_owned()),
            message: Some(message.to_owned()),
            since: now_ms(),
        }
    }

    /// Alerts are not asked for: the cached plant says the user lacks alerts.listen.
    fn alerts_not_allowed() -> LiveStatus {
        LiveStatus::refused(
            "alerts_not_allowed",
            "your role does not receive alerts live (alerts.listen)",
        )
    }
}

/// One device's presence as the live connection saw it change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PresenceChange {
    #[ts(type = "number")]
    pub device: i64,
    pub online: bool,
    #[ts(type = "number | null")]
    pub since: Option<i64>,
    #[ts(type = "number | null")]
    pub last_seen: Option<i64>,
    pub flaps_last_hour: u32,
}

impl From<&PresenceRow> for PresenceChange {
    fn from(r: &PresenceRow) -> PresenceChange {
        PresenceChange {
            device: r.device,
            online: r.online,
            since: r.since,
            last_seen: r.last_seen,
            flaps_last_hour: r.flaps_last_hour,
        }
    }
}

/// What the live connection reports: a device's presence changed, or the connection's state did;
/// an alert fired, or whether alerts are live changed.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum LiveEvent {
    Presence(PresenceChange),
    Status(LiveStatus),
    /// An alert stewardd fired, as the history shows it.
    Alert(AlertHistoryRow),
    /// Whether alerts are live (`code` says why not: `alerts_not_allowed`, `alerts_refused`,
    /// or the connection's own reason such as `offline` or `no_broker`).
    AlertStatus(LiveStatus),
}

impl LiveEvent {
    /// Whether the event is about alerts (the desktop app forwards those on their own channel).
    pub fn is_alert(&self) -> bool {
        matches!(self, LiveEvent::Alert(_) | LiveEvent::AlertStatus(_))
    }
}

/// A subscription to the live events.
pub struct LiveEvents(broadcast::Receiver<LiveEvent>);

impl LiveEvents {
    /// The next event; None once the console is gone. Events a slow reader missed are
    /// skipped (the view's next read catches up with them).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            match self.0.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

struct HubState {
    presence: HashMap<i64, PresenceRow>,
    status: LiveStatus,
    /// Whether the user holds alerts.listen on the cached plant (read at each connection).
    alerts_allowed: bool,
    alerts: LiveStatus,
    /// Rule and device names for the alerts that arrive.
    labels: AlertLabels,
}

/// Presence learnt live since the profile was opened, and the connection's state. Shared by
/// the console (which reads it into the Devices view) and the live task (which writes it).
pub struct LiveHub {
    state: Mutex<HubState>,
    events: broadcast::Sender<LiveEvent>,
}

impl Default for LiveHub {
    fn default() -> LiveHub {
        LiveHub {
            state: Mutex::new(HubState {
                presence: HashMap::new(),
                status: LiveStatus::idle(),
                alerts_allowed: false,
                alerts: LiveStatus::idle(),
                labels: AlertLabels::default(),
            }),
            events: broadcast::channel(1024).0,
        }
    }
}

impl LiveHub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A poisoned hub only holds presence hints: keep going with what it has.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn subscribe(&self) -> LiveEvents {
        LiveEvents(self.events.subscribe())
    }

    pub fn status(&self) -> LiveStatus {
        self.lock().status.clone()
    }

    /// Live presence rows by device.
    pub fn presence(&self) -> HashMap<i64, PresenceRow> {
        self.lock().presence.clone()
    }

    pub(crate) fn set_status(&self, status: LiveStatus) {
        let changed = {
            let mut s = self.lock();
            let changed = s.status.state != status.state || s.status.code != status.code;
            if changed {
                s.status = status.clone();
            }
            changed
        };
        if changed {
            let _ = self.events.send(LiveEvent::Status(status));
        }
    }

    /// Whether alerts are live right now.
    pub fn alert_status(&self) -> LiveStatus {
        self.lock().alerts.clone()
    }

    pub(crate) fn set_alert_status(&self, status: LiveStatus) {
        let changed = {
            let mut s = self.lock();
            let changed = s.alerts.state != status.state || s.alerts.code != status.code;
            if changed {
                s.alerts = status.clone();
            }
            changed
        };
        if changed {
            let _ = self.events.send(LiveEvent::AlertStatus(status));
        }
    }

    /// Whether the next connection subscribes to alerts (the console decides it on the cached
    /// plant: alerts.listen).
    pub(crate) fn set_alerts_allowed(&self, allowed: bool) {
        self.lock().alerts_allowed = allowed;
    }

    pub(crate) fn alerts_allowed(&self) -> bool {
        self.lock().alerts_allowed
    }

    /// Alerts are not live because of `e` (the connection's reason), or because the user may
    /// not receive them.
    fn alerts_down(&self, e: &CoreError) {
        let status = if self.alerts_allowed() {
            LiveStatus::not_live(e)
        } else {
            LiveStatus::alerts_not_allowed()
        };
        self.set_alert_status(status);
    }

    /// Adds what the console or the platform now knows of rule and device names.
    pub(crate) fn learn_labels(&self, f: impl FnOnce(&mut AlertLabels)) {
        f(&mut self.lock().labels);
    }

    /// Whether the names of the alert's rule and device are known.
    fn knows(&self, a: &AlertRow) -> (bool, bool) {
        self.lock().labels.knows(a)
    }

    /// An alert from the broker: named, then broadcast.
    pub(crate) fn alert(&self, a: AlertRow) -> AlertHistoryRow {
        let row = self.lock().labels.live_row(a);
        let _ = self.events.send(LiveEvent::Alert(row.clone()));
        row
    }

    /// Forgets everything (the profile closed).
    pub(crate) fn reset(&self) {
        let mut s = self.lock();
        s.presence.clear();
        s.status = LiveStatus::idle();
        s.alerts_allowed = false;
        s.alerts = LiveStatus::idle();
        s.labels = AlertLabels::default();
    }

    /// The platform's snapshot: server-owned times replace what was learnt live.
    pub(crate) fn snapshot(&self, rows: Vec<PresenceRow>) {
        let changes: Vec<PresenceChange> = {
            let mut s = self.lock();
            rows.into_iter()
                .filter_map(|row| {
                    let changed = s.presence.get(&row.device) != Some(&row);
                    let change = changed.then(|| PresenceChange::from(&row));
                    s.presence.insert(row.device, row);
                    change
                })
                .collect()
        };
        for c in changes {
            let _ = self.events.send(LiveEvent::Presence(c));
        }
    }

    /// A presence message from the broker, received at `now`. Repeated `online` heartbeats only
    /// move `last_seen` and are not broadcast; a change of state is. A retained message (what
    /// the broker replays on subscribing) is the device's last state, not a sign of life: it
    /// leaves `last_seen` alone.
    pub(crate) fn observe(
        &self,
        device: i64,
        online: bool,
        retained: bool,
        now: i64,
    ) -> Option<PresenceChange> {
        let change = {
            let mut s = self.lock();
            let known = s.presence.contains_key(&device);
            let row = s.presence.entry(device).or_insert(PresenceRow {
                device,
                online,
                since: Some(now),
                last_seen: None,
                flaps_last_hour: 0,
            });
            if online && !retained {
                row.last_seen = Some(now);
            }
            if !known {
                Some(PresenceChange::from(&*row))
            } else if row.online == online {
                None
            } else {
                if row.online && !online {
                    row.flaps_last_hour = row.flaps_last_hour.saturating_add(1);
                }
                row.online = online;
                row.since = Some(now);
                Some(PresenceChange::from(&*row))
            }
        };
        if let Some(c) = &change {
            let _ = self.events.send(LiveEvent::Presence(c.clone()));
        }
        change
    }
}

/// The running live task of an open profile; dropping it stops the task and clears the hub.
pub(crate) struct LiveTask {
    task: tokio::task::JoinHandle<()>,
    hub: Arc<LiveHub>,
}

impl Drop for LiveTask {
    fn drop(&mut self) {
        self.task.abort();
        self.hub.reset();
    }
}

impl LiveTask {
    pub(crate) fn start(api: ApiClient, org: i64, hub: Arc<LiveHub>) -> CoreResult<LiveTask> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| CoreError::Invalid("live presence needs a Tokio runtime".into()))?;
        hub.set_status(LiveStatus::connecting());
        hub.set_alert_status(if hub.alerts_allowed() {
            LiveStatus::connecting()
        } else {
            LiveStatus::alerts_not_allowed()
        });
        let task = runtime.spawn(run(api, org, hub.clone()));
        Ok(LiveTask { task, hub })
    }

    pub(crate) fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

/// A broker credential whose password is never printed.
struct Credential {
    host: String,
    port: u16,
    username: String,
    password: String,
    expires_at: i64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The broker's address from the credential's URL. Plain `mqtt://` is allowed only to this
/// machine (loopback), as plain `http://` is for the platform; this build speaks no TLS to
/// the broker, so `mqtts://` is refused with `broker_tls_unsupported`.
pub fn check_broker_url(url: &str) -> CoreResult<(String, u16)> {
    let parsed = Url::parse(url).map_err(|e| CoreError::Invalid(format!("`{url}` is not a URL: {e}")))?;
    // `mqtt:` is not a special scheme to the URL parser: its host is opaque text.
    let host = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| CoreError::Invalid(format!("`{url}` names no host")))?;
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let refuse = |code: &str, message: &str| CoreError::Api {
        status: 0,
        code: code.to_owned(),
        message: message.to_owned(),
        details: None,
    };
    match parsed.scheme() {
        "mqtt" | "tcp" if loopback => Ok((host, parsed.port().unwrap_or(1883))),
        "mqtt" | "tcp" => Err(refuse(
            "insecure_broker_url",
            "the platform named a broker on another machine over plain mqtt://; live presence only uses plain MQTT to this machine (loopback)",
        )),
        "mqtts" | "ssl" => Err(refuse(
            "broker_tls_unsupported",
            "the broker asks for TLS (mqtts://), which this console build does not speak",
        )),
        other => Err(CoreError::Invalid(format!("unsupported broker scheme `{other}`"))),
    }
}

fn credential(c: BrokerCredential) -> CoreResult<Credential> {
    let (host, port) = check_broker_url(&c.url)?;
    Ok(Credential {
        host,
        port,
        username: c.username,
        password: c.password,
        expires_at: c.expires_at,
    })
}

/// How a broker connection ended.
enum Ended {
    /// The credential is about to expire: ask for a new one and connect again at once.
    Renew,
    /// The connection failed or was dropped.
    Lost(CoreError),
}

async fn run(api: ApiClient, org: i64, hub: Arc<LiveHub>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let attempt = match api.broker_credential().await.and_then(credential) {
            Ok(cred) => {
                // Server-owned times first; the stream then reports what changes.
                match api.presence(None, None).await {
                    Ok(body) => hub.snapshot(body.devices),
                    Err(e) => tracing::debug!(code = %e.code(), "live: no presence snapshot"),
                }
                connect(&api, &cred, org, &hub).await
            }
            Err(e) => {
                hub.alerts_down(&e);
                Ended::Lost(e)
            }
        };
        match attempt {
            Ended::Renew => backoff = Duration::from_secs(1),
            Ended::Lost(e) => {
                let code = e.code();
                tracing::info!(code = %code, "live presence is not live");
                hub.set_status(LiveStatus::not_live(&e));
                let wait = if matches!(
                    code.as_str(),
                    "no_broker" | "broker_tls_unsupported" | "insecure_broker_url"
                ) {
                    NO_BROKER_RETRY
                } else {
                    backoff
                };
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// When to ask for a new credential: `RENEW_BEFORE_MS` before expiry, or half-way there for a
/// credential shorter than that.
fn renew_in(expires_at: i64, now: i64) -> Duration {
    let left = expires_at.saturating_sub(now).max(0);
    let wait = if left > 2 * RENEW_BEFORE_MS {
        left - RENEW_BEFORE_MS
    } else {
        left / 2
    };
    Duration::from_millis(u64::try_from(wait).unwrap_or(0).max(1_000))
}

fn lost(message: impl Into<String>) -> CoreError {
    CoreError::Api {
        status: 0,
        code: "broker_unreachable".into(),
        message: message.into(),
        details: None,
    }
}

/// What the broker granted of the one subscription: (presence, alerts — None when not asked).
/// The return codes come in the order of the filters: presence, then alerts.
fn granted(codes: &[SubscribeReasonCode], alerts_asked: bool) -> (bool, Option<bool>) {
    let ok = |i: usize| {
        codes
            .get(i)
            .is_some_and(|c| !matches!(c, SubscribeReasonCode::Failure))
    };
    (ok(0), alerts_asked.then(|| ok(1)))
}

/// An alert's JSON as stewardd publishes it (`AlertRow`); None for anything else.
fn parse_alert(payload: &[u8]) -> Option<AlertRow> {
    serde_json::from_slice::<AlertRow>(payload).ok()
}

/// Asks the platform for the names the hub lacks for this alert (a rule or device created since
/// the last sync). Failing only leaves the alert named by ids.
async fn learn_names(api: &ApiClient, hub: &LiveHub, a: &AlertRow) {
    let (rule, device) = hub.knows(a);
    if !rule {
        match api
            .call::<Vec<AlertRuleRow>>(Method::GET, "/alert-rules", None)
            .await
        {
            Ok(rules) => hub.learn_labels(|l| l.learn_rules(rules)),
            Err(e) => tracing::debug!(code = %e.code(), "live: alert rule names not read"),
        }
    }
    if !device {
        match api.devices().await {
            Ok(devices) => hub.learn_labels(|l| l.learn_devices(devices.into_iter().map(|d| (d.id, d.name)))),
            Err(e) => tracing::debug!(code = %e.code(), "live: device names not read"),
        }
    }
}

async fn connect(api: &ApiClient, cred: &Credential, org: i64, hub: &LiveHub) -> Ended {
    // Every way the connection ends takes alerts down with it (unless the broker refused them).
    let down = |e: CoreError| {
        hub.alerts_down(&e);
        Ended::Lost(e)
    };
    let mut options = MqttOptions::new(cred.username.clone(), cred.host.clone(), cred.port);
    options.set_credentials(cred.username.clone(), cred.password.clone());
    options.set_keep_alive(KEEP_ALIVE);
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let alerts = hub.alerts_allowed();
    if !alerts {
        hub.set_alert_status(LiveStatus::alerts_not_allowed());
    }
    let mut filters = vec![SubscribeFilter::new(
        topics::topic(org, Topic::Presence(Id::Any)),
        QoS::AtLeastOnce,
    )];
    if alerts {
        filters.push(SubscribeFilter::new(
            topics::topic(org, Topic::Alerts(Id::Any)),
            QoS::AtLeastOnce,
        ));
    }
    if let Err(e) = client.try_subscribe_many(filters) {
        return down(lost(format!("cannot subscribe: {e}")));
    }
    let renew = tokio::time::sleep(renew_in(cred.expires_at, now_ms()));
    tokio::pin!(renew);
    loop {
        tokio::select! {
            () = &mut renew => {
                let _ = client.try_disconnect();
                return Ended::Renew;
            }
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let (presence, alerts) = granted(&ack.return_codes, alerts);
                    match alerts {
                        Some(true) => hub.set_alert_status(LiveStatus::live()),
                        Some(false) => hub.set_alert_status(LiveStatus::refused(
                            "alerts_refused",
                            "the broker refused this session alerts (alerts.listen)",
                        )),
                        None => {}
                    }
                    let refused = CoreError::Api {
                        status: 0,
                        code: "presence_not_allowed".into(),
                        message: "the broker refused this session presence (presence.listen)".into(),
                        details: None,
                    };
                    if presence {
                        hub.set_status(LiveStatus::live());
                    } else if alerts == Some(true) {
                        // Alerts alone keep the connection; presence says why it is not live.
                        hub.set_status(LiveStatus::not_live(&refused));
                    } else {
                        let _ = client.try_disconnect();
                        if alerts.is_none() {
                            hub.alerts_down(&refused);
                        }
                        return Ended::Lost(refused);
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => match topics::parse(org, &p.topic) {
                    Some(Parsed::Presence(device)) => {
                        let online = match p.payload.as_ref() {
                            b"online" => true,
                            b"offline" => false,
                            _ => continue,
                        };
                        hub.observe(i64::from(device), online, p.retain, now_ms());
                    }
                    Some(Parsed::Alerts(rule)) => {
                        let Some(alert) = parse_alert(&p.payload).filter(|a| a.rule == i64::from(rule)) else {
                            tracing::debug!(rule, "live: an alert message that is no alert");
                            continue;
                        };
                        learn_names(api, hub, &alert).await;
                        hub.alert(alert);
                    }
                    _ => {}
                },
                Ok(_) => {}
                Err(e) => return down(lost(format!("the broker connection ended: {e}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn plain_mqtt_only_to_loopback() {
        assert_eq!(
            check_broker_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".to_owned(), 1884)
        );
        assert_eq!(check_broker_url("mqtt://localhost").unwrap().1, 1883);
        assert!(check_broker_url("mqtt://[::1]:1883").is_ok());
        assert_eq!(
            check_broker_url("mqtt://10.0.0.5:1883").unwrap_err().code(),
            "insecure_broker_url"
        );
        assert_eq!(
            check_broker_url("mqtt://broker.plant.example")
                .unwrap_err()
                .code(),
            "insecure_broker_url"
        );
        assert_eq!(
            check_broker_url("mqtts://broker.plant.example:8883")
                .unwrap_err()
                .code(),
            "broker_tls_unsupported"
        );
        assert_eq!(
            check_broker_url("http://127.0.0.1").unwrap_err().code(),
            "invalid_input"
        );
    }

    #[test]
    fn the_credential_is_renewed_before_it_expires() {
        let hour = 60 * 60 * 1000;
        assert_eq!(renew_in(hour, 0), Duration::from_millis(55 * 60 * 1000));
        assert_eq!(renew_in(4 * 60 * 1000, 0), Duration::from_millis(2 * 60 * 1000));
        assert_eq!(renew_in(0, 10), Duration::from_secs(1));
    }

    #[test]
    fn heartbeats_are_not_changes_and_a_drop_is_a_flap() {
        let hub = LiveHub::default();
        let mut rx = hub.events.subscribe();
        hub.snapshot(vec![PresenceRow {
            device: 7,
            online: true,
            since: Some(100),
            last_seen: Some(150),
            flaps_last_hour: 2,
        }]);
        assert!(matches!(rx.try_recv(), Ok(LiveEvent::Presence(_))));
        // The retained state replayed on subscribing is no heartbeat.
        assert_eq!(hub.observe(7, true, true, 180), None);
        assert_eq!(hub.presence()[&7].last_seen, Some(150));
        assert_eq!(hub.observe(7, true, false, 200), None);
        assert_eq!(hub.presence()[&7].last_seen, Some(200));
        assert_eq!(hub.presence()[&7].since, Some(100));
        let c = hub.observe(7, false, false, 300).unwrap();
        assert_eq!((c.online, c.since, c.flaps_last_hour), (false, Some(300), 3));
        assert!(matches!(rx.try_recv(), Ok(LiveEvent::Presence(p)) if p.device == 7 && !p.online));
        // A device first heard of live.
        let c = hub.observe(9, true, false, 400).unwrap();
        assert_eq!((c.online, c.since, c.flaps_last_hour), (true, Some(400), 0));
        let c = hub.observe(10, false, false, 500).unwrap();
        assert_eq!((c.online, c.since, c.flaps_last_hour), (false, Some(500), 0));
        hub.reset();
        assert!(hub.presence().is_empty());
        assert_eq!(hub.status().state, LiveState::Idle);
    }

    fn alert_json(id: i64, rule: i64, device: i64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": id, "rule": rule, "device": device, "fired_at": 1_000,
            "message": "Boiler room too hot: Boiler pump B-1 reports boiler.temp = 97.5, above 95",
            "value": {"value": 97.5},
            "cleared_at": null,
        }))
        .unwrap()
    }

    fn boiler_rule(id: i64) -> AlertRuleRow {
        AlertRuleRow {
            id,
            name: "Boiler room too hot".into(),
            condition: steward_wire::AlertCondition::Threshold {
                field: "boiler.temp".into(),
                op: steward_wire::ThresholdOp::Above,
                value: 95.0,
            },
            target: steward_wire::AlertTarget::default(),
            enabled: true,
            version: 1,
        }
    }

    #[test]
    fn alerts_are_parsed_and_named_as_the_history_shows_them() {
        assert!(parse_alert(b"online").is_none());
        assert!(parse_alert(br#"{"id": 1}"#).is_none());
        let hub = LiveHub::default();
        let mut rx = hub.events.subscribe();
        // Nothing known yet: named by ids, and the hub says what it lacks.
        let a = parse_alert(&alert_json(11, 3, 7)).unwrap();
        assert_eq!(hub.knows(&a), (false, false));
        let row = hub.alert(a.clone());
        assert_eq!(
            (row.rule_name.as_str(), row.device_name.as_str()),
            ("rule #3", "device #7")
        );
        assert_eq!(row.reason, a.message, "no rule, no field: the platform's words");
        assert!(matches!(rx.try_recv(), Ok(LiveEvent::Alert(r)) if r.id == 11));
        // Learnt names (the console's reads, or the platform's lists) name the next one.
        hub.learn_labels(|l| {
            l.learn_rules([boiler_rule(3)]);
            l.learn_devices([(7, "Boiler pump B-1".to_owned())]);
        });
        assert_eq!(hub.knows(&a), (true, true));
        let row = hub.alert(parse_alert(&alert_json(12, 3, 7)).unwrap());
        assert_eq!(row.rule_name, "Boiler room too hot");
        assert_eq!(row.device_name, "Boiler pump B-1");
        assert_eq!(row.reason, "boiler.temp = 97.5");
        assert_eq!((row.fired_at, row.cleared_at), (1_000, None));
        let json = serde_json::to_value(LiveEvent::Alert(row)).unwrap();
        assert_eq!(json["kind"], "alert");
        assert_eq!(json["device_name"], "Boiler pump B-1");
        assert!(LiveEvent::Alert(hub.alert(a)).is_alert());
        assert!(!LiveEvent::Status(LiveStatus::idle()).is_alert());
        hub.reset();
        let a = parse_alert(&alert_json(13, 3, 7)).unwrap();
        assert_eq!(
            hub.knows(&a),
            (false, false),
            "closing the profile forgets the names"
        );
    }

    #[test]
    fn a_refused_alerts_subscription_leaves_presence_live() {
        use SubscribeReasonCode::{Failure, Success};
        assert_eq!(granted(&[Success(QoS::AtLeastOnce)], false), (true, None));
        assert_eq!(
            granted(&[Success(QoS::AtLeastOnce), Success(QoS::AtMostOnce)], true),
            (true, Some(true))
        );
        assert_eq!(
            granted(&[Success(QoS::AtLeastOnce), Failure], true),
            (true, Some(false))
        );
        assert_eq!(
            granted(&[Failure, Success(QoS::AtLeastOnce)], true),
            (false, Some(true))
        );
        // A short answer grants nothing it does not name.
        assert_eq!(granted(&[Success(QoS::AtLeastOnce)], true), (true, Some(false)));
        assert_eq!(granted(&[], false), (false, None));
    }

    #[test]
    fn alerts_say_why_they_are_not_live() {
        let hub = LiveHub::default();
        let mut rx = hub.events.subscribe();
        let offline = CoreError::Offline("no route".into());
        // Without alerts.listen the reason is the role, whatever the connection does.
        hub.alerts_down(&offline);
        assert_eq!(hub.alert_status().code.as_deref(), Some("alerts_not_allowed"));
        assert!(matches!(rx.try_recv(), Ok(LiveEvent::AlertStatus(s)) if s.state == LiveState::NotLive));
        // With it, the connection's reason; a repeated state is not broadcast again.
        hub.set_alerts_allowed(true);
        hub.alerts_down(&offline);
        assert_eq!(hub.alert_status().code.as_deref(), Some("offline"));
        assert!(rx.try_recv().is_ok());
        hub.alerts_down(&offline);
        assert!(rx.try_recv().is_err());
        hub.set_alert_status(LiveStatus::live());
        assert_eq!(hub.alert_status().state, LiveState::Live);
        // Presence has its own state.
        assert_eq!(hub.status().state, LiveState::Idle);
        hub.reset();
        assert!(!hub.alerts_allowed());
        assert_eq!(hub.alert_status().state, LiveState::Idle);
    }

    #[test]
    fn the_password_is_not_printed() {
        let c = Credential {
            host: "127.0.0.1".into(),
            port: 1883,
            username: "ses_1".into(),
            password: "hunter2-secret".into(),
            expires_at: 1,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
