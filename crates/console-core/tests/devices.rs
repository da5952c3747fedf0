//! The Devices view against a real stewardd with its supervised Mosquitto: devices, groups and
//! hierarchy come through the change feed into the encrypted cache, the view opens offline
//! from it, and a device's presence change reaches the console live over MQTT with the
//! session's own broker credential.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use rumqttc::QoS;
use serde_json::{Value, json};
use steward_console_core::api::ApiClient;
use steward_console_core::devices::RollupKind;
use steward_console_core::secrets::MemoryStore;
use steward_console_core::{Console, LiveEvent, LiveEvents, LiveState};

mod common;
use common::{Platform, device_connection, plane, platform};

const OWNER: &str = "Olivia Owner";

/// A logical group and two devices in the demo's first hierarchy node; (group id, node id,
/// node name, created devices).
async fn seed(p: &Platform, token: &str) -> (i64, i64, String, Vec<Value>) {
    let group = p
        .rest(
            Method::POST,
            "/logical-groups",
            token,
            Some(json!({ "name": "Cooling pumps" })),
            201,
        )
        .await;
    let group = group["id"].as_i64().unwrap();
    let nodes = p.rest(Method::GET, "/hierarchy", token, None, 200).await;
    let node = &nodes.as_array().unwrap()[0];
    let (node_id, node_name) = (
        node["id"].as_i64().unwrap(),
        node["name"].as_str().unwrap().to_owned(),
    );
    let mut created = Vec::new();
    for name in ["Pump P-101", "Pump P-102"] {
        let body = json!({ "name": name, "kind": "pump", "node": node_id, "groups": [group] });
        created.push(p.rest(Method::POST, "/devices", token, Some(body), 201).await);
    }
    (group, node_id, node_name, created)
}

async fn live_state(c: &Console, want: LiveState, within: Duration) -> steward_console_core::LiveStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let status = c.live_status();
        if status.state == want {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "live presence never became {want:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_come_through_the_feed_into_the_cache_and_open_offline() {
    let p = platform().await;
    let token = p.token(OWNER).await;
    let (group, node, node_name, created) = seed(&p, &token).await;

    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let c = Console::new(dir.path(), secrets);
    let (email, password) = p.login(OWNER);
    let session = c.sign_in(&p.url(), &email, &password, None).await.unwrap();

    // The platform's list and the console's cached view agree.
    let api = ApiClient::new(url::Url::parse(&p.url()).unwrap())
        .unwrap()
        .with_token(token.clone());
    let listed = api.devices().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(api.logical_groups().await.unwrap().iter().any(|g| g.id == group));
    assert!(
        api.hierarchy()
            .await
            .unwrap()
            .iter()
            .any(|n| i64::from(n.id) == node)
    );

    let view = c.devices().unwrap();
    assert_eq!(view.total, 2);
    assert_eq!(view.online, 0);
    let names: Vec<&str> = view.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Pump P-101", "Pump P-102"]);
    let first = &view.devices[0];
    assert_eq!(first.id, created[0]["device"]["id"].as_i64().unwrap());
    assert_eq!(first.kind, "pump");
    assert!(first.path.ends_with(&node_name), "{}", first.path);
    assert_eq!(first.nodes[0], node);
    assert_eq!(first.group_names, ["Cooling pumps"]);
    assert_eq!(first.online, None, "never seen");
    let rollup = view
        .rollups
        .iter()
        .find(|r| r.kind == RollupKind::Logical && r.id == group)
        .unwrap();
    assert_eq!((rollup.online, rollup.total), (0, 2));
    let rollup = view
        .rollups
        .iter()
        .find(|r| r.kind == RollupKind::Hierarchy && r.id == node)
        .unwrap();
    assert_eq!((rollup.online, rollup.total), (0, 2));
    assert!(view.age.online);
    assert!(view.age.synced_at.is_some());

    // This platform runs without a broker: the view says presence is not live, and why.
    c.start_live().await.unwrap();
    let status = live_state(&c, LiveState::NotLive, Duration::from_secs(10)).await;
    assert_eq!(status.code.as_deref(), Some("no_broker"));
    assert_eq!(c.devices().unwrap().live.code.as_deref(), Some("no_broker"));

    // Offline: the same view from the encrypted cache, saying how old it is.
    c.lock_now().unwrap();
    p.stop();
    c.open_offline(&session.profile.id, &password).unwrap();
    let offline = c.devices().unwrap();
    assert!(!offline.age.online);
    assert_eq!(offline.age.synced_at, view.age.synced_at);
    assert_eq!(offline.devices, view.devices);
    assert_eq!(
        offline.live.state,
        LiveState::Idle,
        "locking stopped live presence"
    );
    c.start_live().await.unwrap();
    let status = live_state(&c, LiveState::NotLive, Duration::from_secs(10)).await;
    assert_eq!(status.code.as_deref(), Some("offline"));
}

async fn presence_event(
    events: &mut LiveEvents,
    device: i64,
    online: bool,
) -> steward_console_core::PresenceChange {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, events.next()).await {
            Ok(Some(LiveEvent::Presence(p))) if p.device == device && p.online == online => return p,
            Ok(Some(_)) => {}
            other => panic!("no live presence {online} for device {device}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_presence_arrives_live_over_mqtt() {
    let plane = plane().await;
    let p = &plane.p;
    let token = p.token(OWNER).await;
    let (group, _, _, created) = seed(p, &token).await;
    let device = created[0]["device"]["id"].as_i64().unwrap();
    let username = created[0]["credentials"]["mqtt_username"].as_str().unwrap();
    let password = created[0]["credentials"]["mqtt_password"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), OWNER).await;
    let mut events = c.live_events();
    c.start_live().await.unwrap();
    live_state(&c, LiveState::Live, Duration::from_secs(15)).await;
    // Asking again while it runs is harmless.
    assert_eq!(c.start_live().await.unwrap().state, LiveState::Live);

    let dev = device_connection(plane.mqtt_port(), username, password).await;
    let topic = format!("steward/{}/devices/{device}/presence", plane.org());
    dev.publish(&topic, QoS::AtLeastOnce, true, "online")
        .await
        .unwrap();
    let change = presence_event(&mut events, device, true).await;
    assert!(change.since.is_some());

    let view = c.devices().unwrap();
    assert_eq!(view.live.state, LiveState::Live);
    let row = view.devices.iter().find(|d| d.id == device).unwrap();
    assert_eq!(row.online, Some(true));
    assert!(row.last_seen.is_some());
    assert_eq!(view.online, 1);
    // The other has never connected: never seen, not offline (the snapshot lists it with no times).
    let other = view.devices.iter().find(|d| d.id != device).unwrap();
    assert_eq!(other.online, None, "{other:?}");
    let rollup = view
        .rollups
        .iter()
        .find(|r| r.kind == RollupKind::Logical && r.id == group)
        .unwrap();
    assert_eq!((rollup.online, rollup.total), (1, 2));

    dev.publish(&topic, QoS::AtLeastOnce, true, "offline")
        .await
        .unwrap();
    let change = presence_event(&mut events, device, false).await;
    assert!(change.flaps_last_hour >= 1, "{change:?}");
    let view = c.devices().unwrap();
    assert_eq!(
        view.devices.iter().find(|d| d.id == device).unwrap().online,
        Some(false)
    );
    assert_eq!(view.online, 0);

    // The session's broker credential is not in anything the view hands out.
    let shown = serde_json::to_string(&view).unwrap();
    assert!(!shown.contains("ses_"), "{shown}");

    // What was seen live is the last known state offline, after the platform has gone.
    dev.publish(&topic, QoS::AtLeastOnce, true, "online")
        .await
        .unwrap();
    presence_event(&mut events, device, true).await;
    c.devices().unwrap();
    let profile = c.session().unwrap().profile.id;
    c.lock_now().unwrap();
    drop(dev);
    p.stop();
    let (_, password) = p.login(OWNER);
    c.open_offline(&profile, &password).unwrap();
    let offline = c.devices().unwrap();
    assert!(!offline.age.online);
    assert_eq!(offline.live.state, LiveState::Idle);
    let row = offline.devices.iter().find(|d| d.id == device).unwrap();
    assert_eq!(row.online, Some(true), "{row:?}");
    assert_eq!(offline.online, 1);
}
