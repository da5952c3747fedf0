//! Device presence and latest telemetry, in memory, with every transition written durably.
//!
//! A device publishes a retained `online` on its presence topic when it connects (with an MQTT 5
//! user property `keepalive` = seconds) and sets a Last Will `offline` on the same topic. The
//! broker publishes the Will when the socket closes without a DISCONNECT (at once) or when the
//! keepalive lapses (1.5 × keepalive plus up to ~7 s: Mosquitto sweeps every few seconds, see
//! BASELINES.md). That is too late for SPEC's "offline within 1.5 × keepalive", so stewardd also
//! checks liveness itself: a device that announced its keepalive must publish something
//! (telemetry, or `online` again) at least once per keepalive; silent for 1.5 × keepalive, it is
//! shown offline and stewardd publishes the retained `offline` for it (MQTT listeners see the
//! same verdict). A device that announced no keepalive is left to the broker's Will.
//!
//! Timestamps are the server clock (ms since the epoch); liveness deadlines are monotonic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use steward_wire::PresenceRow;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::store::{PresenceTransition, Store, TelemetryReading};

const HOUR_MS: i64 = 3_600_000;
/// Transitions are kept this long (each device's newest is always kept).
const HISTORY_MS: i64 = 30 * 24 * HOUR_MS;
/// A message for a device the tracker does not know makes it re-read the org's devices, at most
/// this often per org (a burst of newly created devices connecting costs one read).
const REFRESH_EVERY: Duration = Duration::from_millis(250);
/// The largest telemetry reading kept (bigger ones are ignored).
pub const MAX_READING: usize = 64 * 1024;
/// Telemetry-only batches wait this long to gather more readings (latest per device wins).
const TELEMETRY_COALESCE: Duration = Duration::from_millis(500);

/// What one message said.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// `online`, with the device's announced keepalive.
    Online {
        keepalive: Option<Duration>,
    },
    /// `offline`: the device said so, or the broker published its Will.
    Offline,
    Telemetry(Value),
}

#[derive(Debug)]
struct Entry {
    org: i64,
    online: bool,
    /// False for a device loaded as online from the store until the broker confirms it (its
    /// retained `online` arrives again on subscribe).
    confirmed: bool,
    since: Option<i64>,
    last_seen: Option<i64>,
    /// When the last message from it arrived (monotonic), for the liveness check.
    heard: Option<Instant>,
    keepalive: Option<Duration>,
    /// Online→offline transition times, oldest first, within the last hour.
    flaps: VecDeque<i64>,
    telemetry: Option<(i64, Value)>,
}

impl Entry {
    fn new(org: i64) -> Entry {
        Entry {
            org,
            online: false,
            confirmed: true,
            since: None,
            last_seen: None,
            heard: None,
            keepalive: None,
            flaps: VecDeque::new(),
            telemetry: None,
        }
    }

    fn prune(&mut self, now: i64) {
        while self.flaps.front().is_some_and(|t| *t < now - HOUR_MS) {
            self.flaps.pop_front();
        }
    }

    fn flaps(&mut self, now: i64) -> u32 {
        self.prune(now);
        u32::try_from(self.flaps.len()).unwrap_or(u32::MAX)
    }
}

/// One device's presence as the tracker sees it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Presence {
    pub org: i64,
    pub device: i64,
    pub online: bool,
    /// When it last went online or offline (None: never seen).
    pub since: Option<i64>,
}

/// A durable write for the writer task.
pub enum Write {
    Transition(PresenceTransition),
    Telemetry(TelemetryReading),
}

struct Inner {
    devices: HashMap<i64, Entry>,
    refreshed: HashMap<i64, Instant>,
}

pub struct Tracker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    writes: mpsc::UnboundedSender<Write>,
}

/// The ids of the org's devices, from the store.
fn device_ids(store: &dyn Store, org: i64) -> ApiResult<Vec<i64>> {
    Ok(store.list_devices(org)?.into_iter().map(|d| d.id).collect())
}

impl Tracker {
    /// Loads every device and its last known presence and reading. Devices the store last saw
    /// online stay online, unconfirmed, until `settle` (the broker re-sends their retained
    /// `online` on subscribe, which confirms them). Writes go to the returned receiver; give it
    /// to `run_writer`.
    pub fn load(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> ApiResult<(Tracker, mpsc::UnboundedReceiver<Write>)> {
        let now = clock.now_ms();
        let mut devices = HashMap::new();
        for org in store.orgs()? {
            for id in device_ids(store.as_ref(), org)? {
                devices.insert(id, Entry::new(org));
            }
        }
        for p in store.presence_state(now - HOUR_MS)? {
            if let Some(e) = devices.get_mut(&p.device).filter(|e| e.org == p.org) {
                e.online = p.online;
                e.confirmed = !p.online;
                e.since = Some(p.since);
                e.last_seen = p.last_seen;
                e.flaps = p.flaps.into();
            }
        }
        for r in store.telemetry_all()? {
            if let Some(e) = devices.get_mut(&r.device).filter(|e| e.org == r.org) {
                e.last_seen = e.last_seen.max(Some(r.received_at));
                e.telemetry = Some((r.received_at, r.reading));
            }
        }
        let (writes, rx) = mpsc::unbounded_channel();
        let tracker = Tracker {
            store,
            clock,
            inner: Mutex::new(Inner {
                devices,
                refreshed: HashMap::new(),
            }),
            writes,
        };
        Ok((tracker, rx))
    }

    fn lock(&self) -> ApiResult<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| ApiError::Internal("presence tracker poisoned".to_owned()))
    }

    fn write(&self, w: Write) {
        // The writer task ends only with the process; a send error then loses nothing of value.
        let _ = self.writes.send(w);
    }

    /// One message from (or on behalf of) a device. Messages for devices the store does not
    /// have in this org are ignored.
    pub fn on_message(&self, org: i64, device: i64, message: Message) -> ApiResult<()> {
        let now = self.clock.now_ms();
        let mut inner = self.lock()?;
        if !inner.devices.contains_key(&device) {
            let due = inner
                .refreshed
                .get(&org)
                .is_none_or(|t| t.elapsed() >= REFRESH_EVERY);
            if !due {
                return Ok(());
            }
            inner.refreshed.insert(org, Instant::now());
            for id in device_ids(self.store.as_ref(), org)? {
                inner.devices.entry(id).or_insert_with(|| Entry::new(org));
            }
        }
        let Some(e) = inner.devices.get_mut(&device).filter(|e| e.org == org) else {
            tracing::debug!(org, device, "presence: message for an unknown device ignored");
            return Ok(());
        };
        match message {
            Message::Online { keepalive } => {
                e.last_seen = Some(now);
                e.heard = Some(Instant::now());
                e.keepalive = keepalive;
                e.confirmed = true;
                if !e.online {
                    e.online = true;
                    e.since = Some(now);
                    let t = transition(org, device, e, now, "online");
                    self.write(Write::Transition(t));
                }
            }
            Message::Offline => {
                // Not a sign of life: a Will is the broker speaking for a device that is gone.
                e.confirmed = true;
                if e.online {
                    go_offline(e, now);
                    let t = transition(org, device, e, now, "offline");
                    self.write(Write::Transition(t));
                }
            }
            Message::Telemetry(reading) => {
                e.last_seen = Some(now);
                e.heard = Some(Instant::now());
                e.telemetry = Some((now, reading.clone()));
                self.write(Write::Telemetry(TelemetryReading {
                    org,
                    device,
                    received_at: now,
                    reading,
                }));
            }
        }
        Ok(())
    }

    /// The liveness check: online devices silent for 1.5 × their keepalive go offline. Returns
    /// them as (org, device), for stewardd to publish their `offline`.
    pub fn sweep(&self) -> Vec<(i64, i64)> {
        let now = self.clock.now_ms();
        let Ok(mut inner) = self.lock() else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for (&device, e) in inner.devices.iter_mut() {
            let (Some(heard), Some(keepalive)) = (e.heard, e.keepalive) else {
                continue;
            };
            if e.online && heard.elapsed() > keepalive.mul_f32(1.5) {
                go_offline(e, now);
                let t = transition(e.org, device, e, now, "silent");
                let _ = self.writes.send(Write::Transition(t));
                gone.push((e.org, device));
            }
        }
        gone
    }

    /// The broker dropped the device's connection on stewardd's order (credential rotated,
    /// device deleted): no Will follows such a kick, so it is offline now. Returns whether it
    /// was online.
    pub fn kicked(&self, org: i64, device: i64) -> bool {
        let now = self.clock.now_ms();
        let Ok(mut inner) = self.lock() else {
            return false;
        };
        let Some(e) = inner
            .devices
            .get_mut(&device)
            .filter(|e| e.org == org && e.online)
        else {
            return false;
        };
        go_offline(e, now);
        let t = transition(org, device, e, now, "kicked");
        let _ = self.writes.send(Write::Transition(t));
        true
    }

    /// After the broker has re-sent retained presence: devices the store had online but the
    /// broker did not confirm are offline.
    pub fn settle(&self) {
        let now = self.clock.now_ms();
        let Ok(mut inner) = self.lock() else {
            return;
        };
        for (&device, e) in inner.devices.iter_mut() {
            if e.online && !e.confirmed {
                e.confirmed = true;
                go_offline(e, now);
                let t = transition(e.org, device, e, now, "not_seen");
                let _ = self.writes.send(Write::Transition(t));
            }
        }
    }

    /// Every device's presence, for the offline alert rules.
    pub fn snapshot(&self) -> ApiResult<Vec<Presence>> {
        Ok(self
            .lock()?
            .devices
            .iter()
            .map(|(&device, e)| Presence {
                org: e.org,
                device,
                online: e.online,
                since: e.since,
            })
            .collect())
    }

    /// Whether stewardd sees the device online now (unknown: no).
    pub fn is_online(&self, device: i64) -> ApiResult<bool> {
        Ok(self.lock()?.devices.get(&device).is_some_and(|e| e.online))
    }

    /// The presence of these devices (unknown ones: offline, never seen).
    pub fn rows(&self, devices: &[i64]) -> ApiResult<Vec<PresenceRow>> {
        let now = self.clock.now_ms();
        let mut inner = self.lock()?;
        Ok(devices
            .iter()
            .map(|&device| match inner.devices.get_mut(&device) {
                Some(e) => PresenceRow {
                    device,
                    online: e.online,
                    since: e.since,
                    last_seen: e.last_seen,
                    flaps_last_hour: e.flaps(now),
                },
                None => PresenceRow {
                    device,
                    online: false,
                    since: None,
                    last_seen: None,
                    flaps_last_hour: 0,
                },
            })
            .collect())
    }

    /// The device's latest reading, if any arrived since it was created.
    pub fn telemetry(&self, org: i64, device: i64) -> ApiResult<Option<(i64, Value)>> {
        let inner = self.lock()?;
        Ok(inner
            .devices
            .get(&device)
            .filter(|e| e.org == org)
            .and_then(|e| e.telemetry.clone()))
    }
}

fn go_offline(e: &mut Entry, now: i64) {
    e.online = false;
    e.since = Some(now);
    e.prune(now);
    e.flaps.push_back(now);
}

fn transition(org: i64, device: i64, e: &mut Entry, now: i64, reason: &'static str) -> PresenceTransition {
    PresenceTransition {
        org,
        device,
        online: e.online,
        at: now,
        last_seen: e.last_seen,
        flaps_last_hour: e.flaps(now),
        reason,
    }
}

/// Writes transitions and readings in batches: whatever arrived while the previous batch was
/// being written goes in the next single transaction, so a hundred devices dropping at once cost
/// one commit, not a hundred in a row. Readings alone wait a little to coalesce (only the newest
/// per device is kept). Old history is pruned hourly.
pub async fn run_writer(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    let mut pruned: Option<Instant> = None;
    while let Some(first) = rx.recv().await {
        let mut transitions = Vec::new();
        let mut readings: HashMap<i64, TelemetryReading> = HashMap::new();
        let mut take = |w: Write, transitions: &mut Vec<PresenceTransition>| match w {
            Write::Transition(t) => transitions.push(t),
            Write::Telemetry(r) => {
                readings.insert(r.device, r);
            }
        };
        take(first, &mut transitions);
        // Readings alone wait to coalesce; a transition ends the wait at once, so presence
        // reaches the change feed without waiting on telemetry.
        if transitions.is_empty() {
            let deadline = tokio::time::Instant::now() + TELEMETRY_COALESCE;
            while transitions.is_empty() {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(w)) => take(w, &mut transitions),
                    // The deadline passed, or the channel closed: write what there is.
                    Ok(None) | Err(_) => break,
                }
            }
        }
        while let Ok(w) = rx.try_recv() {
            take(w, &mut transitions);
            if transitions.len() >= 10_000 {
                break;
            }
        }
        let readings: Vec<TelemetryReading> = readings.into_values().collect();
        let s = store.clone();
        let prune_before = if pruned.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            pruned = Some(Instant::now());
            Some(clock.now_ms() - HISTORY_MS)
        } else {
            None
        };
        let done = tokio::task::spawn_blocking(move || {
            s.record_presence(&transitions, &readings)?;
            if let Some(before) = prune_before {
                s.prune_presence(before)?;
            }
            Ok::<_, ApiError>(transitions.len())
        })
        .await;
        match done {
            Ok(Ok(n)) if n > 0 => tracing::debug!(transitions = n, "presence recorded"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot record presence"),
            Err(e) => tracing::error!(error = %e, "presence writer failed"),
        }
    }
}
