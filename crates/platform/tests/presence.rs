//! Device presence and telemetry against the real Mosquitto: devices connect with their own
//! credentials (retained `online` announcing the keepalive, Will `offline`), stewardd's plane
//! client records every transition, serves `/presence` with roll-ups and the latest reading, and
//! shows a silent device offline within 1.5 × keepalive; RPC and queued commands reach devices;
//! alert rules fire on readings and absences, once per episode.

// Tests: a failed step is a failed test, so unwrapping, indexing JSON and panicking are the
// assertions themselves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

async fn start() -> Plane {
    common::start_plane().await
}

/// A device's MQTT 5 connection. `freeze` stops it reading and writing while its socket stays
/// open (a power cut); dropping it closes the socket without a DISCONNECT (a crash).
#[allow(dead_code)]
struct Device {
    id: i64,
    client: AsyncClient,
    freeze: watch::Sender<bool>,
    messages: mpsc::UnboundedReceiver<rumqttc::v5::mqttbytes::v5::Publish>,
    task: tokio::task::JoinHandle<()>,
}

impl Plane {
    fn port(&self) -> u16 {
        self.broker.supervisor.as_ref().unwrap().port()
    }

    fn topic(&self, rest: &str) -> String {
        format!("steward/{}/{rest}", self.org)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.s.json(method.clone(), path, &self.owner, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {body}");
        body
    }

    /// Creates an API key with one permission; returns its MQTT username and secret.
    async fn new_key(&self, name: &str, permission: &str) -> (String, String) {
        let body = self
            .call(
                Method::POST,
                "/api-keys",
                Some(json!({ "name": name, "permissions": [permission] })),
            )
            .await;
        let secret = body["secret"].as_str().unwrap().to_owned();
        let prefix = steward_platform::auth::secrets::api_key_prefix(&secret).unwrap();
        (format!("stw_{prefix}"), secret)
    }

    /// Creates a device; returns (id, username, password).
    async fn new_device(&self, name: &str, node: Option<i64>, groups: &[i64]) -> (i64, String, String) {
        let created = self
            .call(
                Method::POST,
                "/devices",
                Some(json!({ "name": name, "kind": "sensor", "node": node, "groups": groups })),
            )
            .await;
        (
            created["device"]["id"].as_i64().unwrap(),
            created["credentials"]["mqtt_username"]
                .as_str()
                .unwrap()
                .to_owned(),
            created["credentials"]["mqtt_password"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Connects as the device and announces it online (retained, with its keepalive).
    async fn connect(&self, id: i64, username: &str, password: &str, keepalive: u64) -> Device {
        let presence = self.topic(&format!("devices/{id}/presence"));
        let mut o = MqttOptions::new(username, "127.0.0.1", self.port());
        o.set_credentials(username, password);
        o.set_keep_alive(Duration::from_secs(keepalive));
        o.set_outgoing_inflight_upper_limit(16);
        o.set_last_will(LastWill::new(
            presence.clone(),
            "offline",
            QoS::AtLeastOnce,
            true,
            None,
        ));
        let (client, mut eventloop) = AsyncClient::new(o, 16);
        let (freeze, mut frozen) = watch::channel(false);
        let (tx, messages) = mpsc::unbounded_channel();
        let (up_tx, up) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut up_tx = Some(up_tx);
            loop {
                tokio::select! {
                    e = eventloop.poll() => match e {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            if let Some(t) = up_tx.take() { let _ = t.send(()); }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => { let _ = tx.send(p); }
                        Ok(_) => {}
                        // Closed or refused: the test sees it through /presence.
                        Err(_) => return,
                    },
                    () = async { let _ = frozen.wait_for(|f| *f).await; } => break,
                }
            }
            // Frozen: the socket stays open, silent, until the task is dropped.
            let _held = eventloop;
            std::future::pending::<()>().await;
        });
        tokio::time::timeout(Duration::from_secs(5), up)
            .await
            .expect("no CONNACK in time")
            .unwrap();
        let props = PublishProperties {
            user_properties: vec![("keepalive".into(), keepalive.to_string())],
            ..Default::default()
        };
        client
            .publish_with_properties(presence, QoS::AtLeastOnce, true, "online", props)
            .await
            .unwrap();
        Device {
            id,
            client,
            freeze,
            messages,
            task,
        }
    }

    async fn presence(&self, query: &str) -> Value {
        self.call(Method::GET, &format!("/presence{query}"), None).await
    }

    /// Waits until the device's presence is `online`; returns its row.
    async fn wait_presence(&self, id: i64, online: bool, within: Duration) -> (Value, Duration) {
        let start = Instant::now();
        loop {
            let body = self.presence("").await;
            let row = body["devices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["device"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("device {id} not in /presence: {body}"));
            if row["online"] == online {
                return (row, start.elapsed());
            }
            assert!(
                start.elapsed() < within,
                "device {id} still not online={online} after {within:?}: {row}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The org's presence changes in the feed, oldest first.
    async fn presence_changes(&self) -> Vec<Value> {
        let feed = self.call(Method::GET, "/changes?since=0&limit=5000", None).await;
        feed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["entity"] == "presence")
            .cloned()
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_online_then_offline_is_recorded_with_since_last_seen_flaps_and_feed() {
    let p = start().await;
    let (id, user, pass) = p.new_device("pump-1", None, &[]).await;
    let (row, _) = p.wait_presence(id, false, Duration::from_secs(1)).await;
    assert_eq!(row["since"], Value::Null, "never seen yet: {row}");

    let d = p.connect(id, &user, &pass, 30).await;
    let (row, _) = p.wait_presence(id, true, Duration::from_secs(3)).await;
    assert_eq!(row["since"], T0, "{row}");
    assert_eq!(row["last_seen"], T0, "{row}");
    assert_eq!(row["flaps_last_hour"], 0);

    // A clean end: the device says `offline` itself (a DISCONNECT fires no Will).
    p.s.clock.advance_ms(60_000);
    d.client
        .publish(
            p.topic(&format!("devices/{id}/presence")),
            QoS::AtLeastOnce,
            true,
            "offline",
        )
        .await
        .unwrap();
    d.client.disconnect().await.unwrap();
    let (row, _) = p.wait_presence(id, false, Duration::from_secs(3)).await;
    assert_eq!(row["since"], T0 + 60_000, "{row}");
    assert_eq!(row["last_seen"], T0, "an offline is not a sign of life: {row}");
    assert_eq!(row["flaps_last_hour"], 1);

    // Both transitions are in the change feed (written in the background, shortly after).
    let deadline = Instant::now() + Duration::from_secs(3);
    let changes = loop {
        let changes = p.presence_changes().await;
        if changes.len() >= 2 || Instant::now() > deadline {
            break changes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["entity_id"], id);
    assert_eq!(changes[0]["body"]["online"], true);
    assert_eq!(changes[1]["body"]["online"], false);
    assert_eq!(changes[1]["body"]["reason"], "offline");

    // A device unknown to the store is ignored, whatever is published for it.
    let admin = p.connect_admin().await;
    admin
        .publish(
            p.topic("devices/999999/presence"),
            QoS::AtLeastOnce,
            false,
            "online",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(p.presence_changes().await.len(), 2);
    let body = p.presence("").await;
    assert!(
        body["devices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["device"] != 999_999)
    );
}

impl Plane {
    async fn connect_admin(&self) -> AsyncClient {
        let mut o = MqttOptions::new("test-admin", "127.0.0.1", self.port());
        o.set_credentials(
            self.broker.admin_username.clone(),
            self.broker.admin_password.clone(),
        );
        let (client, mut eventloop) = AsyncClient::new(o, 16);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        client
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_is_offline_within_one_and_a_half_keepalives_and_a_crashed_one_at_once() {
    let p = start().await;
    let (a, user_a, pass_a) = p.new_device("silent", None, &[]).await;
    let (b, user_b, pass_b) = p.new_device("crashed", None, &[]).await;
    let (listener_user, listener_secret) = p.new_key("presence watcher", "presence.listen").await;
    // A presence.listen key hears stewardd's verdict on the presence topic too.
    let mut o = MqttOptions::new("watcher", "127.0.0.1", p.port());
    o.set_credentials(listener_user, listener_secret);
    let (watcher, mut watch_loop) = AsyncClient::new(o, 16);
    let (heard_tx, mut heard) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(e) = watch_loop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = e {
                let _ = heard_tx.send((
                    String::from_utf8_lossy(&p.topic).into_owned(),
                    String::from_utf8_lossy(&p.payload).into_owned(),
                    p.retain,
                ));
            }
        }
    });
    watcher
        .subscribe(p.topic(&format!("devices/{a}/presence")), QoS::AtLeastOnce)
        .await
        .unwrap();

    // rumqttc's MQTT 5 client refuses keepalives under 5 s.
    let keepalive = 5;
    let da = p.connect(a, &user_a, &pass_a, keepalive).await;
    let db = p.connect(b, &user_b, &pass_b, keepalive).await;
    p.wait_presence(a, true, Duration::from_secs(3)).await;
    p.wait_presence(b, true, Duration::from_secs(3)).await;

    // The power cut: no packet at all from now on, the socket left open.
    let cut = Instant::now();
    da.freeze.send(true).unwrap();
    // The crash: the socket closes without a DISCONNECT; the broker sends the Will at once.
    db.task.abort();
    drop(db);
    let (_, crashed_after) = p.wait_presence(b, false, Duration::from_secs(2)).await;
    assert!(crashed_after < Duration::from_secs(1), "{crashed_after:?}");

    p.wait_presence(a, false, Duration::from_secs(10)).await;
    let silent_after = cut.elapsed();
    let limit = Duration::from_millis(keepalive * 1500 + 300);
    assert!(
        silent_after <= limit,
        "a silent device took {silent_after:?} to go offline (keepalive {keepalive} s)"
    );
    // It was heard online for a while before: at least one keepalive of silence was tolerated.
    assert!(
        silent_after >= Duration::from_millis(keepalive * 1000),
        "{silent_after:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut saw_offline = false;
    while let Ok(Some((topic, payload, _))) =
        tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), heard.recv()).await
    {
        if topic.ends_with(&format!("devices/{a}/presence")) && payload == "offline" {
            saw_offline = true;
            break;
        }
    }
    assert!(
        saw_offline,
        "stewardd did not publish the silent device's offline"
    );
    let reasons: Vec<Value> = p
        .presence_changes()
        .await
        .iter()
        .filter(|c| c["entity_id"] == a)
        .map(|c| c["body"]["reason"].clone())
        .collect();
    assert_eq!(reasons, vec![json!("online"), json!("silent")]);
    drop(da);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_count_online_devices_per_logical_group_and_per_hierarchy_subtree() {
    let p = start().await;
    let site = p
        .call(
            Method::POST,
            "/hierarchy",
            Some(json!({ "name": "Test site", "parent": null })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let line = p
        .call(
            Method::POST,
            "/hierarchy",
            Some(json!({ "name": "Test line", "parent": site })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let group = p
        .call(Method::POST, "/logical-groups", Some(json!({ "name": "Pumps" })))
        .await["id"]
        .as_i64()
        .unwrap();
    let (d1, u1, p1) = p.new_device("p-1", Some(line), &[group]).await;
    let (d2, _, _) = p.new_device("p-2", Some(line), &[group]).await;
    let (d3, u3, p3) = p.new_device("p-3", Some(site), &[]).await;
    let _c1 = p.connect(d1, &u1, &p1, 30).await;
    let _c3 = p.connect(d3, &u3, &p3, 30).await;
    p.wait_presence(d1, true, Duration::from_secs(3)).await;
    p.wait_presence(d3, true, Duration::from_secs(3)).await;

    let rollup = |body: &Value, kind: &str, id: i64| -> (u64, u64) {
        let r = body["rollups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind && r["id"] == id)
            .unwrap_or_else(|| panic!("no {kind} rollup {id}: {body}"));
        (r["online"].as_u64().unwrap(), r["total"].as_u64().unwrap())
    };
    let all = p.presence("").await;
    assert_eq!(rollup(&all, "logical", group), (1, 2));
    assert_eq!(rollup(&all, "hierarchy", line), (1, 2));
    assert_eq!(
        rollup(&all, "hierarchy", site),
        (2, 3),
        "a node counts every device below it"
    );

    let pumps = p.presence(&format!("?logical_group={group}")).await;
    let ids: Vec<i64> = pumps["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![d1, d2]);
    assert_eq!(
        (pumps["online"].as_u64(), pumps["total"].as_u64()),
        (Some(1), Some(2))
    );

    let under_line = p.presence(&format!("?node={line}")).await;
    assert_eq!(under_line["total"], 2);
    assert_eq!(rollup(&under_line, "hierarchy", site), (1, 2));

    // Bad filters are 4xx with a code, never 500.
    for (query, want) in [
        ("?node=987654", 404),
        ("?logical_group=987654", 404),
        ("?node=abc", 400),
        ("?colour=red", 400),
    ] {
        let (status, body) =
            p.s.json(Method::GET, &format!("/presence{query}"), &p.owner, None)
                .await;
        assert_eq!(status, want, "{query}: {body}");
        assert!(body["code"].is_string(), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_reading_is_served_and_a_telemetry_listen_key_receives_it() {
    let p = start().await;
    let (id, user, pass) = p.new_device("meter", None, &[]).await;
    let (username, secret) = p.new_key("historian", "telemetry.listen").await;
    // The key cannot read /presence (presence.listen) but can read telemetry.
    assert_eq!(p.s.json(Method::GET, "/presence", &secret, None).await.0, 403);
    let (status, empty) =
        p.s.json(Method::GET, &format!("/devices/{id}/telemetry"), &secret, None)
            .await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["reading"], Value::Null);

    let mut o = MqttOptions::new("historian", "127.0.0.1", p.port());
    o.set_credentials(username, secret.clone());
    let (listener, mut lloop) = AsyncClient::new(o, 16);
    let (tx, mut got) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(e) = lloop.poll().await {
            match e {
                Event::Incoming(Packet::SubAck(_)) => {
                    let _ = tx.send(None);
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send(Some(String::from_utf8_lossy(&p.payload).into_owned()));
                }
                _ => {}
            }
        }
    });
    listener
        .subscribe(p.topic("devices/+/telemetry"), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(3), got.recv())
            .await
            .unwrap(),
        Some(None)
    );

    let d = p.connect(id, &user, &pass, 30).await;
    for t in [20.5, 21.5] {
        d.client
            .publish(
                p.topic(&format!("devices/{id}/telemetry")),
                QoS::AtLeastOnce,
                false,
                json!({ "temp": t }).to_string(),
            )
            .await
            .unwrap();
    }
    let first = tokio::time::timeout(Duration::from_secs(3), got.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.as_deref(), Some(r#"{"temp":20.5}"#));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, body) =
            p.s.json(Method::GET, &format!("/devices/{id}/telemetry"), &secret, None)
                .await;
        assert_eq!(status, 200, "{body}");
        if body["reading"] == json!({ "temp": 21.5 }) {
            assert_eq!(body["received_at"], T0);
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Not JSON: not a reading; the latest stays.
    d.client
        .publish(
            p.topic(&format!("devices/{id}/telemetry")),
            QoS::AtLeastOnce,
            false,
            "garbage",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) =
        p.s.json(Method::GET, &format!("/devices/{id}/telemetry"), &secret, None)
            .await;
    assert_eq!(body["reading"], json!({ "temp": 21.5 }));
    // An unknown device is 404 with a code.
    let (status, body) =
        p.s.json(Method::GET, "/devices/999999/telemetry", &secret, None)
            .await;
    assert_eq!(status, 404, "{body}");
    drop(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_kicked_by_stewardd_is_offline_at_once_though_the_broker_sends_no_will() {
    let p = start().await;
    let (id, user, pass) = p.new_device("kicked", None, &[]).await;
    let _d = p.connect(id, &user, &pass, 30).await;
    p.wait_presence(id, true, Duration::from_secs(3)).await;
    steward_platform::broker::plane::device_kicked(&p.s.state, p.org, id);
    let (row, after) = p.wait_presence(id, false, Duration::from_secs(1)).await;
    assert!(after < Duration::from_millis(100), "{after:?}");
    assert_eq!(row["flaps_last_hour"], 1);
    // Kicking an offline device changes nothing.
    steward_platform::broker::plane::device_kicked(&p.s.state, p.org, id);
    let deadline = Instant::now() + Duration::from_secs(3);
    let reasons = loop {
        let reasons: Vec<Value> = p
            .presence_changes()
            .await
            .iter()
            .map(|c| c["body"]["reason"].clone())
            .collect();
        if reasons.len() >= 2 || Instant::now() > deadline {
            break reasons;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reasons, vec![json!("online"), json!("kicked")]);
}

/// RPC: stewardd publishes the request with an MQTT 5 response topic and correlation data, and
/// returns the device's reply; a device that does not answer is a 504, an offline one a 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_call_returns_the_devices_reply_or_times_out() {
    let p = start().await;
    let (id, user, pass) = p.new_device("Valve 7", None, &[]).await;
    let Device {
        client,
        mut messages,
        freeze: _connected,
        ..
    } = p.connect(id, &user, &pass, 10).await;
    p.wait_presence(id, true, Duration::from_secs(3)).await;
    client
        .subscribe(p.topic(&format!("devices/{id}/rpc/request")), QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The device: echoes `params` on the response topic, except for "sulk", which it ignores.
    let answering = tokio::spawn(async move {
        while let Some(m) = messages.recv().await {
            let request: Value = serde_json::from_slice(&m.payload).unwrap();
            if request["method"] == "sulk" {
                continue;
            }
            let props = m.properties.clone().unwrap();
            let out = PublishProperties {
                correlation_data: props.correlation_data.clone(),
                ..Default::default()
            };
            client
                .publish_with_properties(
                    props.response_topic.clone().unwrap(),
                    QoS::AtLeastOnce,
                    false,
                    request["params"].to_string(),
                    out,
                )
                .await
                .unwrap();
        }
    });

    let tech = p.s.sign_in(TECH).await;
    let path = format!("/devices/{id}/rpc");
    let (status, body) =
        p.s.json(
            Method::POST,
            &path,
            &tech,
            Some(json!({"method": "echo", "params": {"setpoint": 42}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["device"], id);
    assert_eq!(body["reply"], json!({"setpoint": 42}));

    let (status, body) =
        p.s.json(
            Method::POST,
            &path,
            &tech,
            Some(json!({"method": "sulk", "timeout_ms": 300})),
        )
        .await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["code"], "rpc_timeout");
    // Both calls are on record, newest first, without their params.
    let (_, audit) =
        p.s.json(
            Method::GET,
            &format!("/audit?target=device:{id}&action=commands.rpc.call"),
            &p.owner,
            None,
        )
        .await;
    let results: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["after"]["method"].as_str().unwrap(),
                e["after"]["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(results, vec![("sulk", "timeout"), ("echo", "replied")], "{audit}");
    assert!(!audit.to_string().contains("setpoint"), "{audit}");

    // Calling needs commands.rpc.call (operator and up): management viewers may not.
    let viewer = p.s.sign_in(MANAGEMENT).await;
    let (status, body) =
        p.s.json(Method::POST, &path, &viewer, Some(json!({"method": "echo"})))
            .await;
    assert_eq!(status, 403, "{body}");

    // Offline: refused at once rather than waiting out the timeout.
    let (other, _, _) = p.new_device("Valve 8", None, &[]).await;
    let (status, body) =
        p.s.json(
            Method::POST,
            &format!("/devices/{other}/rpc"),
            &tech,
            Some(json!({"method": "echo"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "device_offline");

    answering.abort();
}

/// Queued commands wait for an offline device and reach it when it next comes online; one queued
/// while it is online goes out at once. Each is delivered once, with its status kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_commands_reach_the_device_when_it_next_comes_online() {
    let p = start().await;
    let (id, user, pass) = p.new_device("Dosing pump", None, &[]).await;
    let tech = p.s.sign_in(TECH).await;
    let path = format!("/devices/{id}/queue");
    let (status, first) =
        p.s.json(
            Method::POST,
            &path,
            &tech,
            Some(json!({"command": "calibrate", "params": {"span": 2}})),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "queued");
    let (_, listed) = p.s.json(Method::GET, &path, &tech, None).await;
    assert_eq!(listed[0]["status"], "queued", "{listed}");

    // The device subscribes to its queue, then announces itself.
    let mut o = MqttOptions::new(user.clone(), "127.0.0.1", p.port());
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(10));
    let (client, mut eventloop) = AsyncClient::new(o, 16);
    let (tx, mut received) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok(e) = eventloop.poll().await {
            let _ = tx.send(e);
        }
    });
    let queue_topic = p.topic(&format!("devices/{id}/queue"));
    client
        .subscribe(queue_topic.clone(), QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), received.recv()).await {
            Ok(Some(Event::Incoming(Packet::SubAck(_)))) => break,
            Ok(Some(_)) => {}
            other => panic!("no SUBACK: {other:?}"),
        }
    }
    client
        .publish(
            p.topic(&format!("devices/{id}/presence")),
            QoS::AtLeastOnce,
            true,
            "online",
        )
        .await
        .unwrap();
    let mut next_command = async || loop {
        match tokio::time::timeout(Duration::from_secs(5), received.recv()).await {
            Ok(Some(Event::Incoming(Packet::Publish(m)))) if m.topic == queue_topic.as_bytes() => {
                return serde_json::from_slice::<Value>(&m.payload).unwrap();
            }
            Ok(Some(_)) => {}
            other => panic!("no queued command delivered: {other:?}"),
        }
    };
    let delivered = next_command().await;
    assert_eq!(delivered["command"], "calibrate");
    assert_eq!(delivered["params"], json!({"span": 2}));
    assert_eq!(delivered["id"], first["id"]);

    p.wait_presence(id, true, Duration::from_secs(3)).await;
    let (status, second) =
        p.s.json(Method::POST, &path, &tech, Some(json!({"command": "flush"})))
            .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["status"], "delivered", "online: sent at once");
    assert_eq!(next_command().await["command"], "flush");

    let (_, listed) = p.s.json(Method::GET, &path, &tech, None).await;
    let statuses: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("delivered"), json!("delivered")], "{listed}");
    assert!(listed[1]["delivered_at"].as_i64().is_some());

    // Queuing needs commands.queue.call: management viewers may not, nor see the queue.
    let viewer = p.s.sign_in(MANAGEMENT).await;
    let (status, _) = p.s.json(Method::GET, &path, &viewer, None).await;
    assert_eq!(status, 403);
    task.abort();
}

/// A device's JSON reading on its telemetry topic.
async fn send_reading(p: &Plane, d: &Device, reading: Value) {
    d.client
        .publish(
            p.topic(&format!("devices/{}/telemetry", d.id)),
            QoS::AtLeastOnce,
            false,
            reading.to_string(),
        )
        .await
        .unwrap();
}

impl Plane {
    /// Polls `GET /alerts?rule=` until `done` holds for the rule's alerts (newest first).
    async fn wait_alerts(&self, rule: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let body = self
                .call(Method::GET, &format!("/alerts?rule={rule}"), None)
                .await;
            let alerts = body.as_array().unwrap().clone();
            if done(&alerts) {
                return alerts;
            }
            assert!(Instant::now() < deadline, "alerts of rule {rule}: {body}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_rule_fires_once_per_episode_for_its_group_only_and_is_published() {
    let p = start().await;
    let group = p
        .call(Method::POST, "/logical-groups", Some(json!({"name": "Boilers"})))
        .await["id"]
        .as_i64()
        .unwrap();
    let (a, ua, pa) = p.new_device("boiler-a", None, &[group]).await;
    let (b, ub, pb) = p.new_device("boiler-b", None, &[]).await;
    let rule = p
        .call(
            Method::POST,
            "/alert-rules",
            Some(json!({
                "name": "Boiler hot",
                "condition": {"kind": "threshold", "field": "temp", "op": "above", "value": 90},
                "target": {"logical_group": group},
            })),
        )
        .await["id"]
        .as_i64()
        .unwrap();

    // An alarm panel holding alerts.listen subscribes to the rule's topic.
    let (username, secret) = p.new_key("alarm panel", "alerts.listen").await;
    let mut o = MqttOptions::new("alarm-panel", "127.0.0.1", p.port());
    o.set_credentials(username, secret);
    let (panel, mut ploop) = AsyncClient::new(o, 16);
    let (tx, mut heard) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(e) = ploop.poll().await {
            match e {
                Event::Incoming(Packet::SubAck(ack)) => {
                    let _ = tx.send(json!({ "suback": format!("{:?}", ack.return_codes) }));
                }
                Event::Incoming(Packet::Publish(m)) => {
                    let _ = tx.send(serde_json::from_slice(&m.payload).unwrap_or(Value::Null));
                }
                _ => {}
            }
        }
    });
    panel
        .subscribe(p.topic(&format!("alerts/{rule}")), QoS::AtLeastOnce)
        .await
        .unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(3), heard.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(ack["suback"].as_str().unwrap().contains("Success"), "{ack}");

    let da = p.connect(a, &ua, &pa, 30).await;
    let db = p.connect(b, &ub, &pb, 30).await;
    send_reading(&p, &da, json!({"temp": 95.5})).await;
    let fired = tokio::time::timeout(Duration::from_secs(3), heard.recv())
        .await
        .expect("the alert was not published")
        .unwrap();
    assert_eq!(fired["rule"], rule);
    assert_eq!(fired["device"], a);
    assert_eq!(fired["value"], json!({"field": "temp", "value": 95.5}));
    assert_eq!(fired["cleared_at"], Value::Null);
    let message = fired["message"].as_str().unwrap();
    assert!(
        message.contains("Boiler hot") && message.contains("boiler-a") && message.contains("95.5"),
        "{message}"
    );

    // Still hot: the same episode. boiler-b is not in the group.
    send_reading(&p, &da, json!({"temp": 97})).await;
    send_reading(&p, &db, json!({"temp": 99})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(heard.try_recv().is_err(), "a second alert in one episode");
    let alerts = p.wait_alerts(rule, |a| a.len() == 1).await;
    assert_eq!(alerts[0], fired);

    // Back under the threshold: the alert is cleared; over it again: a new alert.
    send_reading(&p, &da, json!({"temp": 80})).await;
    p.wait_alerts(rule, |a| a[0]["cleared_at"] == T0).await;
    send_reading(&p, &da, json!({"temp": 91})).await;
    let again = tokio::time::timeout(Duration::from_secs(3), heard.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(again["id"].as_i64() > fired["id"].as_i64());
    let alerts = p.wait_alerts(rule, |a| a.len() == 2).await;
    assert_eq!(alerts[0]["id"], again["id"], "newest first");
    assert_eq!(alerts[0]["cleared_at"], Value::Null);

    // Changing the rule's condition ends the open episode.
    let (status, body) =
        p.s.json(
            Method::PATCH,
            &format!("/alert-rules/{rule}"),
            &p.owner,
            Some(json!({"condition": {"kind": "threshold", "field": "temp", "op": "above", "value": 99}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    p.wait_alerts(rule, |a| a.iter().all(|x| x["cleared_at"] == T0))
        .await;
    // The history pages back and filters by device.
    let (_, page) =
        p.s.json(
            Method::GET,
            &format!("/alerts?rule={rule}&limit=1&before={}", again["id"]),
            &p.owner,
            None,
        )
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], fired["id"]);
    let (_, of_b) =
        p.s.json(
            Method::GET,
            &format!("/alerts?device={b}&rule={rule}"),
            &p.owner,
            None,
        )
        .await;
    assert_eq!(of_b, json!([]));
    da.task.abort();
    db.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_rule_fires_once_the_device_is_away_longer_than_its_limit_and_clears_on_return() {
    let p = start().await;
    let (id, user, pass) = p.new_device("press", None, &[]).await;
    let rule = p
        .call(
            Method::POST,
            "/alert-rules",
            Some(json!({"name": "Press away", "condition": {"kind": "offline", "seconds": 60}})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let d = p.connect(id, &user, &pass, 30).await;
    p.wait_presence(id, true, Duration::from_secs(3)).await;
    // A crash: the broker publishes the Will at once.
    d.task.abort();
    p.wait_presence(id, false, Duration::from_secs(3)).await;

    // 30 s away: under the limit, nothing fires (the check runs every second).
    p.s.clock.advance_ms(30_000);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(p.wait_alerts(rule, |_| true).await, Vec::<Value>::new());
    // 61 s away: one alert.
    p.s.clock.advance_ms(31_000);
    let alerts = p.wait_alerts(rule, |a| !a.is_empty()).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["device"], id);
    assert_eq!(alerts[0]["fired_at"], T0 + 61_000);
    assert!(
        alerts[0]["message"]
            .as_str()
            .unwrap()
            .contains("offline for more than 60 s"),
        "{}",
        alerts[0]
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(p.wait_alerts(rule, |_| true).await.len(), 1, "fired twice");

    // Back online: cleared.
    let d = p.connect(id, &user, &pass, 30).await;
    p.wait_alerts(rule, |a| a[0]["cleared_at"] == T0 + 61_000).await;
    d.task.abort();
}
