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
//! The credential's password lives only in this task's memory: it is never written to the
//! cache, logged (`Credential`'s `Debug` hides it) or handed to the UI.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode};
use serde::Serialize;
use steward_model::topics::{self, Id, Parsed, Topic};
use steward_wire::{BrokerCredential, PresenceRow};
use tokio::sync::broadcast;
use ts_rs::TS;
use url::Url;

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

/// What the live connection reports: a device's presence changed, or the connection's state did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum LiveEvent {
    Presence(PresenceChange),
    Status(LiveStatus),
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

    /// Forgets everything (the profile closed).
    pub(crate) fn reset(&self) {
        let mut s = self.lock();
        s.presence.clear();
        s.status = LiveStatus::idle();
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
        hub.set_status(LiveStatus {
            state: LiveState::Connecting,
            code: None,
            message: None,
            since: now_ms(),
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
                connect(&cred, org, &hub).await
            }
            Err(e) => Ended::Lost(e),
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

fn lost(message: impl Into<String>) -> Ended {
    Ended::Lost(CoreError::Api {
        status: 0,
        code: "broker_unreachable".into(),
        message: message.into(),
        details: None,
    })
}

async fn connect(cred: &Credential, org: i64, hub: &LiveHub) -> Ended {
    let mut options = MqttOptions::new(cred.username.clone(), cred.host.clone(), cred.port);
    options.set_credentials(cred.username.clone(), cred.password.clone());
    options.set_keep_alive(KEEP_ALIVE);
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let filter = topics::topic(org, Topic::Presence(Id::Any));
    if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
        return lost(format!("cannot subscribe: {e}"));
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
                    if ack.return_codes.iter().any(|c| matches!(c, SubscribeReasonCode::Failure)) {
                        let _ = client.try_disconnect();
                        return Ended::Lost(CoreError::Api {
                            status: 0,
                            code: "presence_not_allowed".into(),
                            message: "the broker refused this session presence (presence.listen)".into(),
                            details: None,
                        });
                    }
                    hub.set_status(LiveStatus {
                        state: LiveState::Live,
                        code: None,
                        message: None,
                        since: now_ms(),
                    });
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let Some(Parsed::Presence(device)) = topics::parse(org, &p.topic) else {
                        continue;
                    };
                    let online = match p.payload.as_ref() {
                        b"online" => true,
                        b"offline" => false,
                        _ => continue,
                    };
                    hub.observe(i64::from(device), online, p.retain, now_ms());
                }
                Ok(_) => {}
                Err(e) => return lost(format!("the broker connection ended: {e}")),
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
