//! The broker plane's end-to-end latencies (issue 6), against a real `stewardd` in its own
//! process with the Mosquitto it supervises.
//!
//! `cargo bench -p steward-platform --bench broker_plane` starts `stewardd serve --demo` on a
//! temporary data directory, reads its ready line and the demo's logins, and measures:
//!
//! 1. **revoke → connection dropped**: K API keys holding `telemetry.listen`, each connected over
//!    MQTT (username `stw_<prefix>`, password the secret) with one live subscription; each is
//!    revoked in turn with `DELETE /api-keys/{id}`, timed from just before the REST call to the
//!    moment that client's event loop sees its connection closed. Done twice: with no devices,
//!    and again with the N devices connected (a bigger dynsec file).
//! 2. **presence change → visible**: N devices registered with `POST /devices/bulk` (the demo's
//!    provisioning key) and connected as MQTT 5 clients the way steward-sim's are (retained
//!    `online` with the `keepalive` user property, Last Will `offline`, telemetry every
//!    keepalive/2). P probe devices, all in one logical group, are flipped one at a time, with
//!    a random 20–520 ms pause between flips: socket closed without DISCONNECT (the broker's
//!    Will), reconnect, `offline` published, `online` published. Each flip is timed from the action to the first response showing it, from two
//!    pollers running back to back all along: `GET /presence?logical_group=<probes>` (the
//!    narrowest filter the API has) and `GET /changes?since=<cursor>`.
//! 3. **memory**: `stewardd`'s and Mosquitto's RSS and PSS (`/proc/<pid>/smaps_rollup`), idle and
//!    with the N devices connected.
//!
//! The devices and the API-key clients live in this process (so `stewardd`'s memory is its own),
//! on a two-worker runtime. Markdown goes to stdout, progress to stderr.
//!
//! Settings (environment): `BENCH_DEVICES` (N, default 1000), `BENCH_KEYS` (K, default 100),
//! `BENCH_PROBES` (P, default 20), `BENCH_ROUNDS` (flip cycles per probe, default 5: 4 flips
//! each), `BENCH_KEEPALIVE` (s, default 30), `BENCH_BULK` (the most devices per bulk call,
//! default 500; calls are sized to take ~4 s each as the broker slows down), `BENCH_REANNOUNCE=1`
//! (devices also re-publish `online` with every reading, as steward-sim's heartbeat does, so an
//! announcement lost in a connection burst is made good within keepalive/2). Without `--bench` (as `cargo test --benches` runs
//! it) it does a short smoke run with a handful of devices and keys.

// A benchmark binary: a failed setup is a failed run, so unwrapping, indexing JSON and panicking
// are its error handling.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{Value, json};
use steward_model::topics::{Id, Topic, topic};
use steward_platform::auth::secrets;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

const REVOKE_TARGET_P99_MS: f64 = 100.0;
const PRESENCE_TARGET_P99_MS: f64 = 50.0;
/// How long one flip may take to show before the run gives up.
const FLIP_TIMEOUT: Duration = Duration::from_secs(30);

struct Settings {
    devices: usize,
    keys: usize,
    probes: usize,
    rounds: usize,
    keepalive: u64,
    bulk: usize,
    /// Devices also re-publish `online` every keepalive/2, as steward-sim's do.
    reannounce: bool,
    smoke: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Settings {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let s = if smoke {
        Settings {
            devices: 20,
            keys: 3,
            probes: 2,
            rounds: 1,
            keepalive: 30,
            bulk: 500,
            reannounce: false,
            smoke,
        }
    } else {
        Settings {
            devices: env_usize("BENCH_DEVICES", 1000),
            keys: env_usize("BENCH_KEYS", 100),
            probes: env_usize("BENCH_PROBES", 20),
            rounds: env_usize("BENCH_ROUNDS", 5),
            keepalive: env_usize("BENCH_KEEPALIVE", 30) as u64,
            bulk: env_usize("BENCH_BULK", 500),
            reannounce: env_usize("BENCH_REANNOUNCE", 0) != 0,
            smoke,
        }
    };
    assert!(
        s.keepalive >= 5,
        "rumqttc's MQTT 5 client refuses keepalives under 5 s"
    );
    Settings {
        probes: s.probes.clamp(1, s.devices.max(1)),
        bulk: s.bulk.clamp(5, 1000),
        ..s
    }
}

// ---- figures ----

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// A table row: what, n, p50, p99, max, and whether p99 meets the target.
fn row(what: &str, samples: &[Duration], target_ms: Option<f64>) -> String {
    let mut s = samples.to_vec();
    s.sort();
    let p99 = percentile(&s, 99.0);
    let verdict = match target_ms {
        Some(t) if s.is_empty() => format!("≤ {t} ms: no samples"),
        Some(t) if p99.as_secs_f64() * 1e3 <= t => format!("≤ {t} ms: met"),
        Some(t) => format!("≤ {t} ms: **missed**"),
        None => String::new(),
    };
    format!(
        "| {what} | {} | {} | {} | {} | {verdict} |",
        s.len(),
        ms(percentile(&s, 50.0)),
        ms(p99),
        ms(s.last().copied().unwrap_or_default()),
    )
}

// ---- the stewardd process ----

/// `stewardd serve --demo` in its own process; stopped with SIGTERM (so it stops its Mosquitto)
/// when dropped, then anything left is killed.
struct Stewardd {
    child: Child,
    dir: tempfile::TempDir,
    api: String,
    mqtt: (String, u16),
    demo: Value,
}

impl Stewardd {
    fn start() -> Stewardd {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_stewardd"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("STEWARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // stderr: the demo's credentials once, then logs (kept flowing so the pipe never fills).
        let (demo_tx, demo_rx) = std::sync::mpsc::channel::<Value>();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v.get("demo").is_some() => {
                        let _ = demo_tx.send(v["demo"].clone());
                    }
                    _ => eprintln!("stewardd: {line}"),
                }
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        stdout.read_line(&mut ready).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let ready: Value =
            serde_json::from_str(&ready).unwrap_or_else(|e| panic!("stewardd's ready line: {e}: {ready:?}"));
        let demo = demo_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        let api = ready["api"].as_str().unwrap().to_owned();
        let url = ready["mqtt"].as_str().expect("stewardd started without a broker");
        let (host, port) = url.strip_prefix("mqtt://").unwrap().rsplit_once(':').unwrap();
        Stewardd {
            child,
            dir,
            api,
            mqtt: (host.to_owned(), port.parse().unwrap()),
            demo,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stewardd's Mosquitto: its child named `mosquitto`.
    fn mosquitto_pid(&self) -> Option<u32> {
        let me = self.pid().to_string();
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...
            let (comm, rest) = stat.split_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?;
            (comm.ends_with("(mosquitto") && ppid == me).then_some(pid)
        })
    }

    fn dynsec_bytes(&self) -> u64 {
        let dir: PathBuf = self.dir.path().join("broker");
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0)
    }

    fn login(&self, role: &str) -> (String, String) {
        let u = self.demo["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["role"] == role)
            .unwrap();
        (
            u["email"].as_str().unwrap().to_owned(),
            u["password"].as_str().unwrap().to_owned(),
        )
    }
}

impl Drop for Stewardd {
    fn drop(&mut self) {
        let mosquitto = self.mosquitto_pid();
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(pid) = mosquitto {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
}

/// (RSS, PSS) in MB of one process.
fn memory_mb(pid: u32) -> (f64, f64) {
    let field = |file: &str, name: &str| -> f64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"))
}

// ---- REST ----

#[derive(Clone)]
struct Api {
    http: Client,
    base: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, token, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status}: {v}");
        v
    }

    async fn sign_in(&self, (email, password): (String, String)) -> String {
        let v = self
            .ok(
                Method::POST,
                "/session",
                "",
                Some(json!({ "email": email, "password": password })),
            )
            .await;
        v["token"].as_str().unwrap().to_owned()
    }
}

/// TCP_NODELAY on every client whose latency is measured (BASELINES.md), and rumqttc's 5 s
/// connection timeout.
fn nodelay() -> rumqttc::NetworkOptions {
    let mut n = rumqttc::NetworkOptions::new();
    n.set_tcp_nodelay(true);
    n
}

// ---- revoke → dropped ----

struct RevokeFigures {
    dropped: Vec<Duration>,
    rest: Vec<Duration>,
}

/// Creates `k` keys, connects each with a live subscription, then revokes them one by one.
async fn revoke_phase(
    api: &Api,
    owner: &str,
    org: i64,
    mqtt: &(String, u16),
    k: usize,
    label: &str,
) -> RevokeFigures {
    let mut live = Vec::new();
    for i in 0..k {
        let body = json!({ "name": format!("bench {label} {i}"), "permissions": ["telemetry.listen"] });
        let created = api.ok(Method::POST, "/api-keys", owner, Some(body)).await;
        let id = created["id"].as_i64().unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        let username = format!("stw_{}", secrets::api_key_prefix(&secret).unwrap());
        live.push((id, connect_key(mqtt, &username, &secret, org).await));
    }
    eprintln!("broker_plane: {k} keys connected ({label}); revoking one at a time");
    let mut figures = RevokeFigures {
        dropped: Vec::new(),
        rest: Vec::new(),
    };
    for (id, dropped) in live {
        let t0 = Instant::now();
        let (status, body) = api
            .call(Method::DELETE, &format!("/api-keys/{id}"), owner, None)
            .await;
        let rest = t0.elapsed();
        assert_eq!(status, 200, "revoke: {body}");
        let at = tokio::time::timeout(Duration::from_secs(5), dropped)
            .await
            .expect("a revoked key's connection still up after 5 s")
            .unwrap();
        figures.dropped.push(at.saturating_duration_since(t0));
        figures.rest.push(rest);
    }
    figures
}

/// Connects as an API key (MQTT 5, clean start), subscribes to one device's telemetry (a filter
/// its `telemetry.listen` ACL allows) and waits for the grant. The receiver fires when the
/// connection ends.
async fn connect_key(
    mqtt: &(String, u16),
    username: &str,
    secret: &str,
    org: i64,
) -> oneshot::Receiver<Instant> {
    let mut o = MqttOptions::new(username, mqtt.0.clone(), mqtt.1);
    o.set_credentials(username, secret);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_start(true);
    o.set_outgoing_inflight_upper_limit(16);
    o.set_network_options(nodelay());
    let (client, mut eventloop) = AsyncClient::new(o, 16);
    let (granted_tx, granted) = oneshot::channel::<Result<(), String>>();
    let (dropped_tx, dropped) = oneshot::channel::<Instant>();
    let filter = topic(org, Topic::Telemetry(Id::One(1)));
    tokio::spawn(async move {
        let _client = client.clone();
        let mut granted_tx = Some(granted_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let ok = ack
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, rumqttc::v5::mqttbytes::v5::SubscribeReasonCode::Success(_)));
                    if let Some(tx) = granted_tx.take() {
                        let _ = tx.send(if ok { Ok(()) } else { Err(format!("{ack:?}")) });
                    }
                }
                // MQTT 5: the broker may say why before it closes the socket.
                Ok(Event::Incoming(Packet::Disconnect(_))) if granted_tx.is_none() => {
                    let _ = dropped_tx.send(Instant::now());
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    let at = Instant::now();
                    match granted_tx.take() {
                        Some(tx) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                        None => {
                            let _ = dropped_tx.send(at);
                        }
                    }
                    return;
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), granted)
        .await
        .expect("no SUBACK in 10 s")
        .unwrap()
        .unwrap_or_else(|e| panic!("key client {username}: {e}"));
    dropped
}

// ---- devices ----

#[derive(Clone, Copy, Debug)]
enum Cmd {
    /// Close the socket without DISCONNECT (the broker publishes the Will), and stay down.
    Kill,
    /// Connect again (after a kill).
    Reconnect,
    SayOffline,
    SayOnline,
}

struct Device {
    org: i64,
    id: i64,
    username: String,
    password: String,
}

fn device_options(d: &Device, host: &str, port: u16, keepalive: Duration) -> MqttOptions {
    let mut o = MqttOptions::new(d.username.clone(), host, port);
    o.set_credentials(d.username.clone(), d.password.clone());
    o.set_keep_alive(keepalive);
    o.set_clean_start(true);
    // rumqttc sizes a table by this bound (65,535 by default: ~13 MB per connection).
    o.set_outgoing_inflight_upper_limit(16);
    o.set_network_options(nodelay());
    o.set_last_will(LastWill::new(
        topic(d.org, Topic::Presence(Id::One(d.id as u32))),
        "offline",
        QoS::AtLeastOnce,
        true,
        None,
    ));
    o
}

fn announce(client: &AsyncClient, presence: &str, keepalive: Duration) {
    let props = PublishProperties {
        user_properties: vec![("keepalive".to_owned(), keepalive.as_secs().to_string())],
        ..Default::default()
    };
    let _ = client.try_publish_with_properties(presence, QoS::AtLeastOnce, true, "online", props);
}

/// One device: connected until told otherwise, telemetry every keepalive/2 (stewardd's liveness
/// contract is something at least once per keepalive), reconnecting after a lost connection.
async fn run_device(
    d: Device,
    (host, port): (String, u16),
    (keepalive, reannounce): (Duration, bool),
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    connected: Arc<AtomicUsize>,
    connecting: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let presence = topic(d.org, Topic::Presence(Id::One(d.id as u32)));
    let telemetry_topic = topic(d.org, Topic::Telemetry(Id::One(d.id as u32)));
    let every = keepalive / 2;
    // Spread the first readings over the period.
    let phase = Duration::from_millis((d.id as u64).wrapping_mul(7919) % every.as_millis().max(1) as u64);
    let mut readings = 0u64;
    'connection: loop {
        let permit = connecting.clone().acquire_owned().await.ok();
        let (client, mut eventloop) = AsyncClient::new(device_options(&d, &host, port, keepalive), 16);
        let mut permit = permit;
        let mut up = false;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
        loop {
            tokio::select! {
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        permit = None;
                        announce(&client, &presence, keepalive);
                        up = true;
                        connected.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        drop(permit);
                        if up {
                            connected.fetch_sub(1, Ordering::SeqCst);
                            eprintln!("broker_plane: device {} lost its connection: {e}", d.id);
                        }
                        if *stop.borrow() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue 'connection;
                    }
                },
                _ = tick.tick(), if up => {
                    readings += 1;
                    let reading = json!({ "temp": 20.0 + (readings % 50) as f64 / 10.0 });
                    let _ = client.try_publish(telemetry_topic.clone(), QoS::AtMostOnce, false, reading.to_string());
                    if reannounce {
                        announce(&client, &presence, keepalive);
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Kill) => {
                        drop(eventloop);
                        drop(client);
                        if up {
                            connected.fetch_sub(1, Ordering::SeqCst);
                        }
                        // Down until told to come back.
                        loop {
                            tokio::select! {
                                cmd = cmds.recv() => match cmd {
                                    Some(Cmd::Reconnect) => continue 'connection,
                                    Some(_) => {}
                                    None => return,
                                },
                                _ = stop.changed() => return,
                            }
                        }
                    }
                    Some(Cmd::SayOffline) => {
                        let _ = client.try_publish(presence.clone(), QoS::AtLeastOnce, true, "offline");
                    }
                    Some(Cmd::SayOnline) => announce(&client, &presence, keepalive),
                    Some(Cmd::Reconnect) => {}
                    None => {}
                },
                _ = stop.changed() => {
                    if *stop.borrow() {
                        // A clean DISCONNECT fires no Will.
                        let _ = client.try_disconnect();
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            while eventloop.poll().await.is_ok() {}
                        })
                        .await;
                        return;
                    }
                }
            }
        }
    }
}

/// Registers `n` devices in bulk calls (the first `probes` in the probes' logical group). Every
/// device is a dynsec client and role, and Mosquitto 2.0.11 rewrites its whole JSON file per
/// change, so each device costs more than the last; stewardd gives a bulk call's broker commands
/// 5 s plus 40 ms each. So each call is sized from the last one's time per device to take about
/// 4 s (at most `bulk`), and a refused call is retried at half the size.
async fn register(
    api: &Api,
    token: &str,
    org: i64,
    n: usize,
    probes: usize,
    group: i64,
    bulk: usize,
) -> Vec<Device> {
    const MIN_BATCH: usize = 5;
    let mut out = Vec::with_capacity(n);
    let mut batch = bulk.min(100);
    let started = Instant::now();
    while out.len() < n {
        let take = batch.min(n - out.len());
        let devices: Vec<Value> = (out.len()..out.len() + take)
            .map(|i| {
                let groups: Vec<i64> = if i < probes { vec![group] } else { Vec::new() };
                json!({ "name": format!("bench-{i:05}"), "kind": "sensor", "groups": groups })
            })
            .collect();
        let t = Instant::now();
        let (status, body) = api
            .call(
                Method::POST,
                "/devices/bulk",
                token,
                Some(json!({ "devices": devices })),
            )
            .await;
        if status != 201 {
            assert!(
                batch > MIN_BATCH,
                "bulk registration failed at batch {batch}: {status}: {body}"
            );
            batch = (batch / 2).max(MIN_BATCH);
            eprintln!("broker_plane: bulk call refused ({status}); batch now {batch}");
            continue;
        }
        for c in body.as_array().unwrap() {
            out.push(Device {
                org,
                id: c["device"]["id"].as_i64().unwrap(),
                username: c["credentials"]["mqtt_username"].as_str().unwrap().to_owned(),
                password: c["credentials"]["mqtt_password"].as_str().unwrap().to_owned(),
            });
        }
        let per_device = t.elapsed().as_secs_f64() / take as f64;
        batch = ((4.0 / per_device.max(1e-4)) as usize).clamp(MIN_BATCH, bulk);
        if out.len() % 500 < take || out.len() == n {
            eprintln!(
                "broker_plane: registered {}/{n} ({:.0} ms per device now; {:.0} s so far)",
                out.len(),
                per_device * 1e3,
                started.elapsed().as_secs_f64()
            );
        }
    }
    out
}

// ---- pollers ----

/// What a poller last saw: device → (online, when the response showing it arrived).
type Seen = Arc<Mutex<HashMap<i64, (bool, Instant)>>>;

#[derive(Default)]
struct Poller {
    seen: Seen,
    polls: Arc<AtomicUsize>,
    /// Time spent in polls (µs), to report the mean poll time.
    busy_us: Arc<AtomicUsize>,
}

/// `GET /presence?logical_group=` back to back; records each probe's state when it changes.
fn poll_presence(api: Api, token: String, group: i64, stop: watch::Receiver<bool>) -> Poller {
    let p = Poller::default();
    let (seen, polls, busy) = (p.seen.clone(), p.polls.clone(), p.busy_us.clone());
    tokio::spawn(async move {
        let path = format!("/presence?logical_group={group}");
        while !*stop.borrow() {
            let t = Instant::now();
            let (status, body) = api.call(Method::GET, &path, &token, None).await;
            let at = Instant::now();
            assert_eq!(status, 200, "presence: {body}");
            polls.fetch_add(1, Ordering::Relaxed);
            busy.fetch_add((at - t).as_micros() as usize, Ordering::Relaxed);
            let mut seen = seen.lock().unwrap();
            for r in body["devices"].as_array().unwrap() {
                let (d, online) = (r["device"].as_i64().unwrap(), r["online"].as_bool().unwrap());
                if seen.get(&d).is_none_or(|(o, _)| *o != online) {
                    seen.insert(d, (online, at));
                }
            }
        }
    });
    p
}

/// `GET /changes?since=` back to back from `head`; records each presence change.
fn poll_changes(api: Api, token: String, head: i64, stop: watch::Receiver<bool>) -> Poller {
    let p = Poller::default();
    let (seen, polls, busy) = (p.seen.clone(), p.polls.clone(), p.busy_us.clone());
    tokio::spawn(async move {
        let mut cursor = head;
        while !*stop.borrow() {
            let t = Instant::now();
            let (status, body) = api
                .call(Method::GET, &format!("/changes?since={cursor}"), &token, None)
                .await;
            let at = Instant::now();
            assert_eq!(status, 200, "changes: {body}");
            polls.fetch_add(1, Ordering::Relaxed);
            busy.fetch_add((at - t).as_micros() as usize, Ordering::Relaxed);
            cursor = body["next"].as_i64().unwrap();
            let mut seen = seen.lock().unwrap();
            for c in body["changes"].as_array().unwrap() {
                if c["entity"] == "presence" {
                    let online = c["body"]["online"].as_bool().unwrap();
                    seen.insert(c["entity_id"].as_i64().unwrap(), (online, at));
                }
            }
        }
    });
    p
}

/// Waits until the poller has seen `device` `online`, at or after `t0`; the delay from `t0`.
async fn visible(p: &Poller, device: i64, online: bool, t0: Instant) -> Duration {
    let until = t0 + FLIP_TIMEOUT;
    loop {
        if let Some((o, at)) = p.seen.lock().unwrap().get(&device).copied() {
            if o == online && at >= t0 {
                return at - t0;
            }
        }
        assert!(
            Instant::now() < until,
            "device {device} not shown {} within {FLIP_TIMEOUT:?}",
            if online { "online" } else { "offline" }
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn mean_poll(p: &Poller) -> Duration {
    let n = p.polls.load(Ordering::Relaxed).max(1);
    Duration::from_micros((p.busy_us.load(Ordering::Relaxed) / n) as u64)
}

/// xorshift: the pauses between flips need variety, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

// ---- the run ----

#[derive(Default)]
struct FlipFigures {
    presence: HashMap<&'static str, Vec<Duration>>,
    changes: HashMap<&'static str, Vec<Duration>>,
}

const FLIPS: [(&str, Cmd, bool); 4] = [
    ("socket closed (Will) → offline", Cmd::Kill, false),
    ("reconnect → online", Cmd::Reconnect, true),
    ("`offline` published → offline", Cmd::SayOffline, false),
    ("`online` published → online", Cmd::SayOnline, true),
];

fn main() {
    let s = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(s));
}

async fn run(s: Settings) {
    let started = Instant::now();
    let d = Stewardd::start();
    let api = Api {
        http: Client::builder().tcp_nodelay(true).build().unwrap(),
        base: d.api.clone(),
    };
    eprintln!(
        "broker_plane: stewardd pid {} ({}), Mosquitto {:?} on {}:{}",
        d.pid(),
        d.api,
        d.mosquitto_pid(),
        d.mqtt.0,
        d.mqtt.1
    );
    let owner = api.sign_in(d.login("owner")).await;
    let provisioning = d.demo["keys"]["provisioning"].as_str().unwrap().to_owned();
    let org = api.ok(Method::GET, "/session", &owner, None).await["org"]
        .as_i64()
        .unwrap();
    let mosquitto = d.mosquitto_pid().expect("stewardd's Mosquitto not found");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut memory = vec![(
        "idle, demo plant, no devices".to_owned(),
        memory_mb(d.pid()),
        memory_mb(mosquitto),
    )];

    // 1. revoke → dropped, before any device.
    let revoke_empty = revoke_phase(&api, &owner, org, &d.mqtt, s.keys, "no devices").await;

    // 2. register and connect N devices.
    let group = api
        .ok(
            Method::POST,
            "/logical-groups",
            &provisioning,
            Some(json!({ "name": "bench probes" })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let t = Instant::now();
    let devices = register(&api, &provisioning, org, s.devices, s.probes, group, s.bulk).await;
    let registration = t.elapsed();
    let keepalive = Duration::from_secs(s.keepalive);
    let connected = Arc::new(AtomicUsize::new(0));
    let connecting = Arc::new(Semaphore::new(64));
    let (stop_tx, stop) = watch::channel(false);
    let mut controls = Vec::new();
    let mut tasks = Vec::new();
    let t = Instant::now();
    for (i, dev) in devices.into_iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        controls.push((dev.id, tx));
        // Probes never re-announce: their `online` is what is being timed.
        let reannounce = s.reannounce && i >= s.probes;
        tasks.push(tokio::spawn(run_device(
            dev,
            d.mqtt.clone(),
            (keepalive, reannounce),
            rx,
            connected.clone(),
            connecting.clone(),
            stop.clone(),
        )));
    }
    // Every CONNACK in, then every device online in `/presence`; how many `/presence` still
    // missed 5 s after the last CONNACK.
    let mut all_connected: Option<Instant> = None;
    let mut missing_after_5s: Option<u64> = None;
    let all_online = loop {
        if all_connected.is_none() && connected.load(Ordering::SeqCst) == s.devices {
            all_connected = Some(Instant::now());
        }
        if let Some(at) = all_connected {
            let body = api.ok(Method::GET, "/presence", &owner, None).await;
            let online = body["online"].as_u64().unwrap();
            if online == s.devices as u64 {
                break t.elapsed();
            }
            if missing_after_5s.is_none() && at.elapsed() >= Duration::from_secs(5) {
                let missing = s.devices as u64 - online;
                missing_after_5s = Some(missing);
                eprintln!(
                    "broker_plane: all {} connected, but /presence shows {online} online 5 s later",
                    s.devices
                );
            }
            assert!(
                at.elapsed() < Duration::from_secs(120),
                "all {} devices connected 120 s ago, /presence shows {online} online",
                s.devices
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "devices not all connected after 10 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let all_connected = all_connected.unwrap() - t;
    eprintln!(
        "broker_plane: {} devices registered in {:.1} s, connected in {:.2} s, all online in /presence {:.2} s after connecting began",
        s.devices,
        registration.as_secs_f64(),
        all_connected.as_secs_f64(),
        all_online.as_secs_f64()
    );
    // Let the first telemetry round pass.
    tokio::time::sleep(keepalive / 2 + Duration::from_secs(1)).await;
    memory.push((
        format!(
            "{} devices connected (telemetry every {} s each)",
            s.devices,
            s.keepalive / 2
        ),
        memory_mb(d.pid()),
        memory_mb(mosquitto),
    ));

    // Read costs at N: the whole presence list, and the probes' group.
    let mut whole = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let body = api.ok(Method::GET, "/presence", &owner, None).await;
        whole.push(t.elapsed());
        assert_eq!(body["online"].as_u64(), Some(s.devices as u64));
    }

    // 3. presence flips.
    let head = api
        .ok(Method::GET, "/changes?since=0&limit=1", &owner, None)
        .await["head"]
        .as_i64()
        .unwrap();
    let (poll_stop_tx, poll_stop) = watch::channel(false);
    let presence_poller = poll_presence(api.clone(), owner.clone(), group, poll_stop.clone());
    let changes_poller = poll_changes(api.clone(), owner.clone(), head, poll_stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut flips = FlipFigures::default();
    let mut rng = Rng(u64::from(std::process::id()) | 1);
    let probes: Vec<(i64, mpsc::UnboundedSender<Cmd>)> = controls.iter().take(s.probes).cloned().collect();
    for round in 0..s.rounds {
        for (id, tx) in &probes {
            for (name, cmd, online) in FLIPS {
                let t0 = Instant::now();
                tx.send(cmd).unwrap();
                let (a, b) = tokio::join!(
                    visible(&presence_poller, *id, online, t0),
                    visible(&changes_poller, *id, online, t0)
                );
                flips.presence.entry(name).or_default().push(a);
                flips.changes.entry(name).or_default().push(b);
                // A random pause, so flips do not fall in step with stewardd's batching.
                tokio::time::sleep(Duration::from_millis(20 + rng.next() % 500)).await;
            }
        }
        eprintln!("broker_plane: flip round {}/{} done", round + 1, s.rounds);
    }
    let _ = poll_stop_tx.send(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let presence_poll = mean_poll(&presence_poller);
    let changes_poll = mean_poll(&changes_poller);

    // 4. revoke → dropped with the N devices connected.
    let revoke_loaded = revoke_phase(&api, &owner, org, &d.mqtt, s.keys, "N devices").await;
    memory.push((
        format!("{} devices connected, after the runs", s.devices),
        memory_mb(d.pid()),
        memory_mb(mosquitto),
    ));
    let dynsec = d.dynsec_bytes();
    let bench_rss = memory_mb(std::process::id()).0;

    // Stop the devices, then stewardd (and its Mosquitto).
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
    }
    let elapsed = started.elapsed();

    // ---- report ----
    println!(
        "### broker_plane: N = {} devices, K = {} keys, {} probes × {} rounds{}",
        s.devices,
        s.keys,
        s.probes,
        s.rounds,
        if s.smoke { " (smoke run)" } else { "" }
    );
    println!();
    println!(
        "Registration {:.1} s (bulk calls of at most {}, sized to ~4 s each); all {} connected (CONNACK) {:.2} s and online in `/presence` {:.2} s after connecting began{}; `online` re-published every keepalive/2: {}; keepalive {} s; whole run {:.0} s; dynsec file {:.1} MB at the end.",
        registration.as_secs_f64(),
        s.bulk,
        s.devices,
        all_connected.as_secs_f64(),
        all_online.as_secs_f64(),
        missing_after_5s.map_or(String::new(), |m| format!(
            " ({m} still missing 5 s after the last CONNACK)"
        )),
        if s.reannounce { "yes" } else { "no" },
        s.keepalive,
        elapsed.as_secs_f64(),
        dynsec as f64 / 1e6
    );
    println!();
    println!("| latency (ms) | n | p50 | p99 | max | target p99 |");
    println!("|---|---|---|---|---|---|");
    println!(
        "{}",
        row(
            "revoke → connection dropped, no devices",
            &revoke_empty.dropped,
            Some(REVOKE_TARGET_P99_MS)
        )
    );
    println!(
        "{}",
        row(
            &format!("revoke → connection dropped, {} devices connected", s.devices),
            &revoke_loaded.dropped,
            Some(REVOKE_TARGET_P99_MS)
        )
    );
    println!(
        "{}",
        row(
            "`DELETE /api-keys/{id}` answered, no devices",
            &revoke_empty.rest,
            None
        )
    );
    println!(
        "{}",
        row(
            &format!("`DELETE /api-keys/{{id}}` answered, {} devices", s.devices),
            &revoke_loaded.rest,
            None
        )
    );
    for (source, figures) in [
        ("`/presence?logical_group=`", &flips.presence),
        ("`/changes?since=`", &flips.changes),
    ] {
        let all: Vec<Duration> = figures.values().flatten().copied().collect();
        println!(
            "{}",
            row(
                &format!("presence change → visible in {source}, all flips"),
                &all,
                Some(PRESENCE_TARGET_P99_MS)
            )
        );
        for (name, _, _) in FLIPS {
            println!(
                "{}",
                row(
                    &format!("… {name}"),
                    figures.get(name).map_or(&[][..], |v| &v[..]),
                    None
                )
            );
        }
    }
    println!(
        "{}",
        row(
            &format!("`GET /presence` (all {} devices), one call", s.devices),
            &whole,
            None
        )
    );
    println!();
    println!(
        "Mean poll: `/presence?logical_group=` {} ms, `/changes?since=` {} ms (each poller back to back, one request in flight).",
        ms(presence_poll),
        ms(changes_poll)
    );
    println!();
    println!("| memory (MB) | stewardd RSS | stewardd PSS | Mosquitto RSS | Mosquitto PSS |");
    println!("|---|---|---|---|---|");
    for (what, (srss, spss), (mrss, mpss)) in &memory {
        println!("| {what} | {srss:.1} | {spss:.1} | {mrss:.1} | {mpss:.1} |");
    }
    println!();
    println!(
        "This bench process (the {} device clients and pollers): RSS {bench_rss:.0} MB.",
        s.devices
    );
    drop(d);
}
