//! Alerts arrive live: against a real stewardd with its supervised Mosquitto, a device publishes
//! telemetry over a rule's threshold and the console receives the fired alert over the session's
//! own broker credential, named as the history names it, with presence live on the same
//! connection.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use reqwest::Method;
use rumqttc::QoS;
use serde_json::json;
use steward_console_core::alerts::{AlertHistoryRow, HistoryFilter};
use steward_console_core::{Console, LiveEvent, LiveEvents, LiveState, LiveStatus};

mod common;
use common::{device_connection, plane};

const OWNER: &str = "Olivia Owner";

async fn state_of(what: &str, read: impl Fn() -> LiveStatus, want: LiveState) -> LiveStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = read();
        if status.state == want {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never became {want:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn alert_event(events: &mut LiveEvents) -> AlertHistoryRow {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, events.next()).await {
            Ok(Some(LiveEvent::Alert(a))) => return a,
            Ok(Some(_)) => {}
            other => panic!("no live alert: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fired_alert_arrives_live_named_as_the_history_names_it() {
    let plane = plane().await;
    let p = &plane.p;
    let token = p.token(OWNER).await;
    let group = p
        .rest(
            Method::POST,
            "/logical-groups",
            &token,
            Some(json!({ "name": "Boiler room" })),
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let created = p
        .rest(
            Method::POST,
            "/devices",
            &token,
            Some(json!({ "name": "Boiler pump B-1", "kind": "pump", "groups": [group] })),
            201,
        )
        .await;
    let device = created["device"]["id"].as_i64().unwrap();
    let username = created["credentials"]["mqtt_username"].as_str().unwrap();
    let password = created["credentials"]["mqtt_password"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let c: Console = p.console_as(dir.path(), OWNER).await;
    assert!(c.alerts().await.unwrap().rights.listen);
    let mut events = c.live_events();
    c.start_live().await.unwrap();
    state_of("presence", || c.live_status(), LiveState::Live).await;
    state_of("alerts", || c.live_alert_status(), LiveState::Live).await;

    // A rule made elsewhere after the console last synced: the live task asks the platform
    // for its name.
    let rule = p
        .rest(
            Method::POST,
            "/alert-rules",
            &token,
            Some(json!({
                "name": "Boiler room too hot",
                "condition": { "kind": "threshold", "field": "boiler.temp", "op": "above", "value": 95.0 },
                "target": { "logical_group": group },
                "enabled": true,
            })),
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();

    let dev = device_connection(plane.mqtt_port(), username, password).await;
    let telemetry = format!("steward/{}/devices/{device}/telemetry", plane.org());
    dev.publish(&telemetry, QoS::AtLeastOnce, false, r#"{"boiler":{"temp":97.5}}"#)
        .await
        .unwrap();
    let live = alert_event(&mut events).await;
    assert_eq!(live.rule, rule);
    assert_eq!(live.rule_name, "Boiler room too hot");
    assert_eq!(live.device, device);
    assert_eq!(live.device_name, "Boiler pump B-1");
    assert_eq!(live.reason, "boiler.temp = 97.5");
    assert_eq!(live.cleared_at, None);
    assert!(live.message.contains("Boiler pump B-1"), "{}", live.message);

    // The same row the history then lists, and the view says alerts are live.
    let page = c
        .alert_history(&HistoryFilter {
            limit: Some(5),
            ..HistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.rows.first(), Some(&live));
    let view = c.alerts().await.unwrap();
    assert_eq!(view.live.state, LiveState::Live);
    let r = view.rules.iter().find(|r| r.id == rule).unwrap();
    assert_eq!(r.open_alerts, Some(1));
    assert_eq!(c.live_status().state, LiveState::Live, "presence stayed live");

    // Nothing the console hands out carries the broker credential.
    let shown = serde_json::to_string(&view).unwrap() + &serde_json::to_string(&live).unwrap();
    assert!(!shown.contains("ses_"), "{shown}");

    // Locking stops it: alerts are no longer live, and say so.
    c.lock_now().unwrap();
    assert_eq!(c.live_alert_status().state, LiveState::Idle);
    drop(dev);
}
