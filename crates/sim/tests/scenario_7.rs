//! Scenario 7, live presence: 1,000 simulated devices against a real stewardd (in this process,
//! with its supervised Mosquitto); 100 of them lose power (silent, socket left open); all 100
//! are offline in `/presence` within 1.5 × keepalive and the other 900 stay online.

// Tests: a failed step is a failed test, so unwrapping, indexing JSON and panicking are the
// assertions themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use steward_platform::broker::{self, BrokerMode};
use steward_platform::clock::SystemClock;
use steward_platform::{Limits, serve};

const DEVICES: usize = 1000;
const KILL: usize = 100;
/// rumqttc's MQTT 5 client refuses keepalives under 5 s.
const KEEPALIVE: u64 = 5;

/// Kills the simulator when the test ends, however it ends.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_7_a_hundred_of_a_thousand_devices_lose_power_and_are_offline_within_one_and_a_half_keepalives()
 {
    let dir = tempfile::tempdir().unwrap();
    let state = serve::open(dir.path(), Arc::new(SystemClock), Limits::default()).unwrap();
    let demo = steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    let secrets = serve::demo_key_secrets(&demo);
    let broker = broker::start(&BrokerMode::Supervised, dir.path(), &state, &secrets)
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let app = steward_platform::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = demo["keys"]["provisioning"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward-sim"))
        .args(["--api", &api, "--mqtt", &broker.url, "--json"])
        .args([
            "--devices",
            &DEVICES.to_string(),
            "--keepalive",
            &KEEPALIVE.to_string(),
        ])
        .args(["--kill", &KILL.to_string(), "--kill-mode", "silent"])
        .env("STEWARD_TOKEN", &token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let sim_pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let _sim = Sim(child);
    let (tx, lines) = mpsc::channel::<(Instant, Value)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send((Instant::now(), v)).is_err() {
                    return;
                }
            }
        }
    });
    let next = |what: &str| {
        lines
            .recv_timeout(Duration::from_secs(45))
            .unwrap_or_else(|_| panic!("steward-sim printed no {what} line in time"))
    };
    let (ready_at, ready) = next("ready");
    assert_eq!(ready["online"], DEVICES, "{ready}");
    let (killed_at, killed) = next("killed");
    let killed: HashSet<i64> = killed["killed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(killed.len(), KILL);
    eprintln!(
        "scenario 7: {DEVICES} devices online {:?} after start ({ready}); RSS steward-sim {} MB, this process (stewardd) {} MB",
        ready_at - started,
        rss_kb(sim_pid) / 1024,
        rss_kb(std::process::id()) / 1024,
    );

    let http = reqwest::Client::new();
    // The provisioning key holds no presence.listen: sign in as the owner to watch.
    let owner = demo["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "owner")
        .unwrap();
    let session: Value = http
        .post(format!("{api}/api/v1/session"))
        .json(&serde_json::json!({ "email": owner["email"], "password": owner["password"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let owner_token = session["token"].as_str().unwrap().to_owned();
    let presence = async || -> Value {
        http.get(format!("{api}/api/v1/presence"))
            .bearer_auth(&owner_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };

    let limit = Duration::from_millis(KEEPALIVE * 1500);
    let offline_at = loop {
        let body = presence().await;
        let rows = body["devices"].as_array().unwrap();
        let offline: HashSet<i64> = rows
            .iter()
            .filter(|r| r["online"] == false)
            .map(|r| r["device"].as_i64().unwrap())
            .collect();
        if killed.is_subset(&offline) {
            assert_eq!(offline, killed, "a device that was not killed is offline");
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < limit + Duration::from_secs(5),
            "{} of {KILL} killed devices still online after {:?}",
            killed.difference(&offline).count(),
            killed_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "scenario 7: all {KILL} killed devices offline {offline_at:?} after the kill (limit {limit:?})"
    );
    assert!(
        offline_at <= limit + Duration::from_millis(200),
        "took {offline_at:?}, more than 1.5 × keepalive ({limit:?})"
    );
    // The other 900 stay online through another keepalive and a half.
    let until = Instant::now() + limit;
    while Instant::now() < until {
        let body = presence().await;
        assert_eq!(
            body["online"],
            DEVICES - KILL,
            "online count changed: {}",
            body["online"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
