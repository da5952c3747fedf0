//! Devices and groups against a real stewardd: REST (CRUD, bulk, If-Match, bad input, permissions,
//! change feed) without a broker, and the device credentials against the real Mosquitto
//! (own topics only, deletion and rotation drop the connection, scoped keys follow moves, bulk).

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
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

async fn owner(s: &Server) -> String {
    s.sign_in(OWNER).await
}

async fn new_node(s: &Server, token: &str, name: &str, parent: Option<i64>) -> i64 {
    let (status, body) = s
        .json(
            Method::POST,
            "/hierarchy",
            token,
            Some(json!({ "name": name, "parent": parent })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn new_group(s: &Server, token: &str, name: &str) -> i64 {
    let (status, body) = s
        .json(
            Method::POST,
            "/logical-groups",
            token,
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn new_device(s: &Server, token: &str, body: Value) -> Value {
    let (status, created) = s.json(Method::POST, "/devices", token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn device_count(s: &Server, token: &str) -> usize {
    let (status, list) = s.json(Method::GET, "/devices", token, None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().len()
}

async fn changes(s: &Server, token: &str) -> Vec<Value> {
    let (status, body) = s
        .json(Method::GET, "/changes?since=0&limit=5000", token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["changes"].as_array().unwrap().clone()
}

async fn patch(s: &Server, token: &str, path: &str, version: Option<i64>, body: Value) -> (u16, Value) {
    let mut req = s.http.patch(s.url(path)).bearer_auth(token).json(&body);
    if let Some(v) = version {
        req = req.header("If-Match", v.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn devices_crud_bulk_if_match_and_the_change_feed() {
    let s = start().await;
    let t = owner(&s).await;
    let site = new_node(&s, &t, "North site", None).await;
    let line = new_node(&s, &t, "Line 1", Some(site)).await;
    let pumps = new_group(&s, &t, "Pumps").await;

    let created = new_device(
        &s,
        &t,
        json!({ "name": " Pump 1 ", "kind": "pump", "metadata": { "serial": "P-001" }, "node": line, "groups": [pumps] }),
    )
    .await;
    let d = &created["device"];
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["name"], "Pump 1");
    assert_eq!(d["node"], line);
    assert_eq!(d["groups"], json!([pumps]));
    assert_eq!(d["mqtt_username"], format!("dev_{id}"));
    assert_eq!(created["credentials"]["mqtt_username"], format!("dev_{id}"));
    // No broker in this test: no password to give.
    assert_eq!(created["credentials"]["mqtt_password"], "");

    let (status, got) = s.json(Method::GET, &format!("/devices/{id}"), &t, None).await;
    assert_eq!(status, 200);
    assert_eq!(&got, d);
    let (_, group) = s.json(Method::GET, "/logical-groups", &t, None).await;
    assert_eq!(group[0]["devices"], json!([id]));

    // If-Match: a stale version is 412 and changes nothing.
    let version = d["version"].as_i64().unwrap();
    let (status, body) = patch(
        &s,
        &t,
        &format!("/devices/{id}"),
        Some(version + 5),
        json!({ "name": "X" }),
    )
    .await;
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["code"], "version_conflict");
    let (status, moved) = patch(
        &s,
        &t,
        &format!("/devices/{id}"),
        Some(version),
        json!({ "name": "Pump 1b", "node": site, "groups": [] }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["name"], "Pump 1b");
    assert_eq!(moved["node"], site);
    assert_eq!(moved["groups"], json!([]));
    assert_eq!(moved["version"], version + 1);
    let (_, cleared) = patch(&s, &t, &format!("/devices/{id}"), None, json!({ "node": null })).await;
    assert_eq!(cleared["node"], Value::Null);

    // Bulk: all created in one call.
    let bulk: Vec<Value> = (0..25)
        .map(|i| json!({ "name": format!("Sensor {i}"), "kind": "sensor", "node": line, "groups": [pumps] }))
        .collect();
    let (status, made) = s
        .json(
            Method::POST,
            "/devices/bulk",
            &t,
            Some(json!({ "devices": bulk })),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made.as_array().unwrap().len(), 25);
    assert_eq!(device_count(&s, &t).await, 26);
    let (_, groups) = s.json(Method::GET, "/logical-groups", &t, None).await;
    assert_eq!(groups[0]["devices"].as_array().unwrap().len(), 25);

    // The feed has the devices and the group, and never a password.
    let feed = changes(&s, &t).await;
    assert!(
        feed.iter()
            .any(|c| c["entity"] == "device" && c["entity_id"] == id)
    );
    assert!(
        feed.iter()
            .any(|c| c["entity"] == "logical_group" && c["entity_id"] == pumps)
    );
    assert!(
        !serde_json::to_string(&feed)
            .unwrap()
            .contains("mqtt_password\":\"x")
    );

    let (status, _) = s.json(Method::DELETE, &format!("/devices/{id}"), &t, None).await;
    assert_eq!(status, 204);
    let (status, body) = s.json(Method::GET, &format!("/devices/{id}"), &t, None).await;
    assert_eq!(status, 404, "{body}");
    let feed = changes(&s, &t).await;
    assert!(
        feed.iter()
            .any(|c| c["entity"] == "device" && c["entity_id"] == id && c["op"] == "delete")
    );
    // A new device never gets a deleted one's id.
    let again = new_device(&s, &t, json!({ "name": "Pump 2" })).await;
    assert!(again["device"]["id"].as_i64().unwrap() > id + 25);
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_code_and_writes_nothing() {
    let s = start().await;
    let t = owner(&s).await;
    let group = new_group(&s, &t, "Valves").await;
    let before_feed = changes(&s, &t).await.len();
    let cases = [
        (
            "/devices",
            json!({ "name": "A", "colour": "red" }),
            422,
            "invalid_body",
        ),
        ("/devices", json!({ "name": 7 }), 422, "invalid_body"),
        (
            "/devices",
            json!({ "name": "A", "node": "one" }),
            422,
            "invalid_body",
        ),
        ("/devices", json!({ "name": "   " }), 422, "invalid_name"),
        (
            "/devices",
            json!({ "name": "A", "node": 999_999 }),
            422,
            "unknown_node",
        ),
        (
            "/devices",
            json!({ "name": "A", "groups": [group, 999_999] }),
            422,
            "unknown_group",
        ),
        (
            "/devices",
            json!({ "name": "A", "metadata": [1, 2] }),
            422,
            "invalid_metadata",
        ),
        (
            "/devices",
            json!({ "name": "A", "kind": "x".repeat(101) }),
            422,
            "invalid_kind",
        ),
        ("/devices/bulk", json!({ "devices": [] }), 422, "invalid_bulk"),
        (
            "/devices/bulk",
            json!({ "devices": [{ "name": "ok" }, { "name": "" }] }),
            422,
            "invalid_name",
        ),
        ("/logical-groups", json!({ "name": "" }), 422, "invalid_name"),
        ("/logical-groups", json!({ "name": "valves" }), 409, "name_taken"),
    ];
    for (path, body, status, code) in cases {
        let (got, answer) = s.json(Method::POST, path, &t, Some(body.clone())).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{path} {body}: {answer}"
        );
    }
    let too_many: Vec<Value> = (0..1001).map(|i| json!({ "name": format!("d{i}") })).collect();
    let (status, answer) = s
        .json(
            Method::POST,
            "/devices/bulk",
            &t,
            Some(json!({ "devices": too_many })),
        )
        .await;
    assert_eq!((status, answer["code"].as_str()), (422, Some("invalid_bulk")));
    let (status, answer) = s.json(Method::GET, "/devices/abc", &t, None).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_id")));
    let (status, _) = s
        .json(Method::PUT, "/logical-groups/999999/devices/1", &t, None)
        .await;
    assert_eq!(status, 404);

    assert_eq!(device_count(&s, &t).await, 0);
    assert_eq!(changes(&s, &t).await.len(), before_feed, "nothing was written");
}

#[tokio::test]
async fn viewers_list_but_do_not_create_and_the_scada_key_does_not_list() {
    let s = start().await;
    let t = owner(&s).await;
    new_device(&s, &t, json!({ "name": "Pump" })).await;
    let viewer = s.sign_in(MANAGEMENT).await;
    assert_eq!(device_count(&s, &viewer).await, 1);
    let (status, body) = s
        .json(Method::POST, "/devices", &viewer, Some(json!({ "name": "Mine" })))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = s
        .json(
            Method::POST,
            "/logical-groups",
            &viewer,
            Some(json!({ "name": "G" })),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = s.json(Method::GET, "/devices", &s.scada_key(), None).await;
    assert_eq!(status, 403);
    let (status, _) = s.json(Method::GET, "/logical-groups", &s.scada_key(), None).await;
    assert_eq!(status, 403);
    // The viewer's feed shows devices (devices.list); the SCADA key's does not.
    assert!(changes(&s, &viewer).await.iter().any(|c| c["entity"] == "device"));
    assert!(
        !changes(&s, &s.scada_key())
            .await
            .iter()
            .any(|c| c["entity"] == "device")
    );
}

#[tokio::test]
async fn groups_membership_and_hierarchy_moves_keep_membership() {
    let s = start().await;
    let t = owner(&s).await;
    let site = new_node(&s, &t, "Site", None).await;
    let area = new_node(&s, &t, "Area", Some(site)).await;
    let line = new_node(&s, &t, "Line", Some(area)).await;
    let other = new_node(&s, &t, "Other site", None).await;
    let d = new_device(&s, &t, json!({ "name": "Drive", "node": line })).await["device"]["id"]
        .as_i64()
        .unwrap();
    let g = new_group(&s, &t, "Drives").await;

    let (status, row) = s
        .json(Method::PUT, &format!("/logical-groups/{g}/devices/{d}"), &t, None)
        .await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["devices"], json!([d]));
    // Again: nothing changes.
    let (_, same) = s
        .json(Method::PUT, &format!("/logical-groups/{g}/devices/{d}"), &t, None)
        .await;
    assert_eq!(same["version"], row["version"]);
    let (status, renamed) = patch(
        &s,
        &t,
        &format!("/logical-groups/{g}"),
        None,
        json!({ "name": "Big drives" }),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["devices"], json!([d]));

    // Move the area under the other site, rename the line: the device stays in the line.
    let (status, moved) = patch(
        &s,
        &t,
        &format!("/hierarchy/{area}"),
        None,
        json!({ "parent": other }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["parent"], other);
    let (status, renamed) = patch(
        &s,
        &t,
        &format!("/hierarchy/{line}"),
        None,
        json!({ "name": "Line A" }),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["devices"], json!([d]));
    let (_, nodes) = s.json(Method::GET, "/hierarchy", &t, None).await;
    let area_row = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == area)
        .unwrap();
    assert_eq!(area_row["parent"], other);

    // Cycles and unknown parents.
    let (status, body) = patch(
        &s,
        &t,
        &format!("/hierarchy/{other}"),
        None,
        json!({ "parent": line }),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("node_cycle")));
    let (status, body) = patch(
        &s,
        &t,
        &format!("/hierarchy/{area}"),
        None,
        json!({ "parent": area }),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("node_cycle")));
    let (status, body) = patch(
        &s,
        &t,
        &format!("/hierarchy/{area}"),
        None,
        json!({ "parent": 999_999 }),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_node")));

    // Deleting: not while it holds nodes or devices.
    let (status, body) = s
        .json(Method::DELETE, &format!("/hierarchy/{area}"), &t, None)
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("node_not_empty")));
    let (status, body) = s
        .json(Method::DELETE, &format!("/hierarchy/{line}"), &t, None)
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("node_not_empty")));
    patch(&s, &t, &format!("/devices/{d}"), None, json!({ "node": null })).await;
    let (status, _) = s
        .json(Method::DELETE, &format!("/hierarchy/{line}"), &t, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .json(Method::DELETE, &format!("/hierarchy/{line}"), &t, None)
        .await;
    assert_eq!(status, 404);

    // Deleting the group keeps the device, without the group.
    let (status, _) = s
        .json(Method::DELETE, &format!("/logical-groups/{g}"), &t, None)
        .await;
    assert_eq!(status, 204);
    let (_, device) = s.json(Method::GET, &format!("/devices/{d}"), &t, None).await;
    assert_eq!(device["groups"], json!([]));
    let feed = changes(&s, &t).await;
    assert!(
        feed.iter()
            .any(|c| c["entity"] == "logical_group" && c["entity_id"] == g && c["op"] == "delete")
    );
    assert!(
        feed.iter()
            .any(|c| c["entity"] == "hierarchy_node" && c["entity_id"] == line && c["op"] == "delete")
    );
}

// ----- against the real broker --------------------------------------------------------------

async fn plane() -> Plane {
    common::start_plane().await
}

struct Conn {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Event, String>>,
}

impl Plane {
    fn topic(&self, rest: &str) -> String {
        format!("steward/{}/{rest}", self.org)
    }

    async fn connect(&self, username: &str, password: &str) -> Result<Conn, String> {
        let port = self.broker.supervisor.as_ref().unwrap().port();
        // Devices connect with their username as client id.
        let mut options = MqttOptions::new(username, "127.0.0.1", port);
        options.set_credentials(username, password);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (tx, mut events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let e = eventloop.poll().await.map_err(|e| e.to_string());
                let end = e.is_err();
                if tx.send(e).is_err() || end {
                    return;
                }
            }
        });
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::ConnAck(_))))) => return Ok(Conn { client, events }),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(e),
                _ => return Err("no CONNACK".into()),
            }
        }
    }

    async fn admin(&self) -> Conn {
        self.connect(&self.broker.admin_username, &self.broker.admin_password)
            .await
            .unwrap()
    }

    async fn device(&self, body: Value) -> (i64, String, String) {
        let c = new_device(&self.s, &self.owner, body).await;
        (
            c["device"]["id"].as_i64().unwrap(),
            c["credentials"]["mqtt_username"].as_str().unwrap().to_owned(),
            c["credentials"]["mqtt_password"].as_str().unwrap().to_owned(),
        )
    }
}

impl Conn {
    async fn subscribe(&mut self, filter: &str) -> bool {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::SubAck(ack))))) => {
                    return ack
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("no SUBACK: {other:?}"),
            }
        }
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_owned())
            .await
            .unwrap();
    }

    /// The next message on `topic` within `within` (others, such as retained group states, are
    /// skipped).
    async fn message_on(&mut self, topic: &str, within: Duration) -> Option<Publish> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Ok(Event::Incoming(Packet::Publish(p))))) if p.topic == topic => return Some(p),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("connection ended while waiting for a message: {e}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    async fn dropped_within(&mut self, within: Duration) -> bool {
        let start = Instant::now();
        loop {
            let left = within.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_publishes_only_its_own_topics_and_deletion_drops_it() {
    let p = plane().await;
    let (id, user, password) = p.device(json!({ "name": "Pump" })).await;
    let (other, _, _) = p.device(json!({ "name": "Other pump" })).await;
    assert!(!password.is_empty());
    assert_eq!(user, format!("dev_{id}"));

    let mut admin = p.admin().await;
    assert!(admin.subscribe(&p.topic("devices/+/#")).await);
    let mut dev = p.connect(&user, &password).await.unwrap();
    let own = p.topic(&format!("devices/{id}/telemetry"));
    dev.publish(&own, "{\"t\":1}").await;
    assert!(admin.message_on(&own, Duration::from_secs(2)).await.is_some());
    let presence = p.topic(&format!("devices/{id}/presence"));
    dev.publish(&presence, "online").await;
    assert!(
        admin
            .message_on(&presence, Duration::from_secs(2))
            .await
            .is_some()
    );
    // Another device's telemetry: dropped by the broker.
    let forged = p.topic(&format!("devices/{other}/telemetry"));
    dev.publish(&forged, "{\"forged\":1}").await;
    assert!(
        admin
            .message_on(&forged, Duration::from_millis(500))
            .await
            .is_none()
    );
    // It subscribes to its own RPC requests and queue, nothing else.
    assert!(
        dev.subscribe(&p.topic(&format!("devices/{id}/rpc/request")))
            .await
    );
    assert!(dev.subscribe(&p.topic(&format!("devices/{id}/queue"))).await);
    for filter in [
        p.topic("devices/+/telemetry"),
        p.topic(&format!("devices/{other}/rpc/request")),
        p.topic(&format!("devices/{id}/telemetry")),
        p.topic("#"),
        "#".to_owned(),
    ] {
        assert!(!dev.subscribe(&filter).await, "{filter}");
    }
    // Its RPC requests reach it.
    let request = p.topic(&format!("devices/{id}/rpc/request"));
    admin.publish(&request, "{\"method\":\"ping\"}").await;
    assert!(dev.message_on(&request, Duration::from_secs(2)).await.is_some());

    let (status, _) =
        p.s.json(Method::DELETE, &format!("/devices/{id}"), &p.owner, None)
            .await;
    assert_eq!(status, 204);
    assert!(
        dev.dropped_within(Duration::from_secs(1)).await,
        "still connected after 1 s"
    );
    assert!(p.connect(&user, &password).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_kicks_the_old_connection_and_refuses_the_old_password() {
    let p = plane().await;
    let (id, user, old) = p.device(json!({ "name": "Compressor" })).await;
    let mut conn = p.connect(&user, &old).await.unwrap();
    let (status, creds) =
        p.s.json(
            Method::POST,
            &format!("/devices/{id}/credentials"),
            &p.owner,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{creds}");
    let new = creds["mqtt_password"].as_str().unwrap();
    assert_ne!(new, old);
    assert!(conn.dropped_within(Duration::from_secs(1)).await);
    assert!(p.connect(&user, &old).await.is_err());
    let mut again = p.connect(&user, new).await.unwrap();
    assert!(again.subscribe(&p.topic(&format!("devices/{id}/queue"))).await);
    // Never in the audit trail.
    let (_, audit) = p.s.json(Method::GET, "/audit?limit=500", &p.owner, None).await;
    let text = audit.to_string();
    assert!(!text.contains(new) && !text.contains(&old));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_key_follows_devices_moving_in_and_out_of_its_subtree() {
    let p = plane().await;
    let t = &p.owner;
    let a = new_node(&p.s, t, "Area A", None).await;
    let b = new_node(&p.s, t, "Area B", None).await;
    let (id, user, password) = p.device(json!({ "name": "Mixer", "node": b })).await;
    let (status, key) =
        p.s.json(
            Method::POST,
            "/api-keys",
            t,
            Some(json!({ "name": "Area A telemetry", "permissions": ["telemetry.listen"], "scopes": [a] })),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let secret = key["secret"].as_str().unwrap();
    let prefix = steward_platform::auth::secrets::api_key_prefix(secret).unwrap();
    let mut listener = p.connect(&format!("stw_{prefix}"), secret).await.unwrap();
    let telemetry = p.topic(&format!("devices/{id}/telemetry"));
    let dev = p.connect(&user, &password).await.unwrap();

    // In B: out of the key's reach.
    assert!(!listener.subscribe(&telemetry).await);
    // Moved under A: the key may subscribe and receives it.
    let (status, _) = patch(&p.s, t, &format!("/devices/{id}"), None, json!({ "node": a })).await;
    assert_eq!(status, 200);
    assert!(listener.subscribe(&telemetry).await);
    dev.publish(&telemetry, "{\"rpm\":900}").await;
    assert!(
        listener
            .message_on(&telemetry, Duration::from_secs(2))
            .await
            .is_some()
    );
    // Moved out again: nothing more arrives on the live subscription.
    let (status, _) = patch(&p.s, t, &format!("/devices/{id}"), None, json!({ "node": b })).await;
    assert_eq!(status, 200);
    dev.publish(&telemetry, "{\"rpm\":901}").await;
    assert!(
        listener
            .message_on(&telemetry, Duration::from_millis(700))
            .await
            .is_none()
    );
    // Moving node B under A brings it back in reach.
    let (status, _) = patch(&p.s, t, &format!("/hierarchy/{b}"), None, json!({ "parent": a })).await;
    assert_eq!(status, 200);
    dev.publish(&telemetry, "{\"rpm\":902}").await;
    assert!(
        listener
            .message_on(&telemetry, Duration::from_secs(2))
            .await
            .is_some()
    );
    // The node in the key's scope cannot be deleted while the key lives.
    let (status, body) =
        p.s.json(Method::DELETE, &format!("/hierarchy/{a}"), t, None)
            .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_changes_are_published_retained() {
    let p = plane().await;
    let g = new_group(&p.s, &p.owner, "Boilers").await;
    let (id, _, _) = p.device(json!({ "name": "Boiler", "groups": [g] })).await;
    // A listener joining later gets the latest state, retained.
    let mut admin = p.admin().await;
    let topic = p.topic(&format!("groups/logical/{g}"));
    assert!(admin.subscribe(&topic).await);
    let m = admin
        .message_on(&topic, Duration::from_secs(2))
        .await
        .expect("retained group state");
    let body: Value = serde_json::from_slice(&m.payload).unwrap();
    assert_eq!(body["devices"], json!([id]));
    let (status, _) =
        p.s.json(Method::DELETE, &format!("/logical-groups/{g}"), &p.owner, None)
            .await;
    assert_eq!(status, 204);
    let m = admin
        .message_on(&topic, Duration::from_secs(2))
        .await
        .expect("deletion published");
    assert!(m.payload.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_of_1000_devices_with_a_broker() {
    let p = plane().await;
    let devices: Vec<Value> = (0..1000)
        .map(|i| json!({ "name": format!("bulk-{i:04}") }))
        .collect();
    let started = Instant::now();
    let (status, made) =
        p.s.json(
            Method::POST,
            "/devices/bulk",
            &p.owner,
            Some(json!({ "devices": devices })),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 201, "{made}");
    println!("bulk creation of 1,000 devices with the broker: {took:?}");
    let made = made.as_array().unwrap();
    assert_eq!(made.len(), 1000);
    // The last one connects with its credential.
    let last = &made[999]["credentials"];
    p.connect(
        last["mqtt_username"].as_str().unwrap(),
        last["mqtt_password"].as_str().unwrap(),
    )
    .await
    .unwrap();
}
