//! The Alerts view against a real stewardd: rules listed from the platform (the demo's two and
//! new ones), created, changed on a version (a stale one comes back as a conflict carrying the
//! server's rule), deleted; the history paged back newest first; the rules listed offline from
//! the cache after the platform has gone; and a viewer's refusal.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use reqwest::Method;
use serde_json::json;
use steward_console_core::alerts::{HistoryFilter, RuleCondition, RuleDraft, RuleEdit, RuleTarget};
use steward_console_core::{CoreError, RuleWrite};
use steward_platform::store::NewAlert;

mod common;
use common::platform;

const OWNER: &str = "Olivia Owner";
const VIEWER: &str = "Bernd Schulz";

fn draft(name: &str, condition: RuleCondition, target: RuleTarget) -> RuleDraft {
    RuleDraft {
        name: name.to_owned(),
        condition,
        target,
        enabled: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_are_listed_written_on_versions_and_open_offline() {
    let p = platform().await;
    let token = p.token(OWNER).await;
    let group = p
        .rest(
            Method::POST,
            "/logical-groups",
            &token,
            Some(json!({ "name": "Cooling pumps" })),
            201,
        )
        .await;
    let group = group["id"].as_i64().unwrap();
    let device = p
        .rest(
            Method::POST,
            "/devices",
            &token,
            Some(json!({ "name": "Pump P-101", "kind": "pump", "groups": [group] })),
            201,
        )
        .await;
    let device = device["device"]["id"].as_i64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), OWNER).await;

    // Online: the demo's two rules from the platform, in words the view can use.
    let view = c.alerts().await.unwrap();
    assert!(view.from_platform);
    assert!(view.age.online);
    let rights = view.rights;
    assert!(rights.list && rights.create && rights.update && rights.delete && rights.history);
    let names: Vec<&str> = view.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Offline for two minutes", "Overheating"]);
    let hot = view.rules.iter().find(|r| r.name == "Overheating").unwrap();
    assert_eq!(
        hot.condition,
        RuleCondition::Above {
            field: "temp".into(),
            value: 79.9
        }
    );
    assert_eq!(hot.target, RuleTarget::default());
    assert_eq!(hot.open_alerts, Some(0));
    assert!(
        view.targets
            .iter()
            .any(|t| t.id == group && t.name == "Cooling pumps")
    );
    assert!(
        view.devices
            .iter()
            .any(|d| d.id == device && d.name == "Pump P-101")
    );

    // Created with a logical-group target: named from the cache.
    let created = c
        .create_alert_rule(&draft(
            "Hot pumps",
            RuleCondition::Above {
                field: "motor.temp".into(),
                value: 85.0,
            },
            RuleTarget {
                logical_group: Some(group),
                node: None,
                name: None,
            },
        ))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.target.name.as_deref(), Some("Cooling pumps"));
    let view = c.alerts().await.unwrap();
    assert_eq!(view.rules.len(), 3);
    // The platform's refusals keep their codes.
    let taken = c
        .create_alert_rule(&draft(
            "HOT PUMPS",
            RuleCondition::Offline { seconds: 60 },
            RuleTarget::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), "name_taken");
    let bad = c
        .create_alert_rule(&draft(
            "Bad field",
            RuleCondition::Below {
                field: "motor temp".into(),
                value: 1.0,
            },
            RuleTarget::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_condition");
    let unknown = c
        .create_alert_rule(&draft(
            "Nowhere",
            RuleCondition::Offline { seconds: 60 },
            RuleTarget {
                logical_group: Some(9999),
                node: None,
                name: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "unknown_group");

    // An edit on the current version lands; the same edit on the old one is a conflict that
    // carries the platform's rule, and a retry on it lands.
    let off = RuleEdit {
        enabled: Some(false),
        ..RuleEdit::default()
    };
    let saved = c.update_alert_rule(created.id, 1, &off).await.unwrap();
    let RuleWrite::Saved { rule } = saved else {
        panic!("not saved: {saved:?}")
    };
    assert_eq!((rule.version, rule.enabled), (2, false));
    let rename = RuleEdit {
        name: Some("Hot cooling pumps".into()),
        ..RuleEdit::default()
    };
    let stale = c.update_alert_rule(created.id, 1, &rename).await.unwrap();
    let RuleWrite::Conflict {
        current: Some(current),
    } = stale
    else {
        panic!("no conflict: {stale:?}")
    };
    assert_eq!((current.version, current.enabled), (2, false));
    assert_eq!(current.name, "Hot pumps");
    let retried = c
        .update_alert_rule(created.id, current.version, &rename)
        .await
        .unwrap();
    assert!(
        matches!(&retried, RuleWrite::Saved { rule } if rule.name == "Hot cooling pumps" && rule.version == 3),
        "{retried:?}"
    );
    let empty = c
        .update_alert_rule(created.id, 3, &RuleEdit::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), "empty_patch");

    // History: alerts recorded by the device plane, paged back newest first.
    let org = p.state.store.orgs().unwrap()[0];
    let overheating = hot.id;
    for i in 0..5 {
        p.state
            .store
            .record_alert(&NewAlert {
                org,
                rule: if i == 4 { created.id } else { overheating },
                device,
                fired_at: 1_000 + i,
                message: format!("reading {i}"),
                value: json!({ "value": 80.0 + f64::from(u32::try_from(i).unwrap()) }),
            })
            .unwrap();
    }
    p.state.store.clear_alerts(overheating, None, 2_000).unwrap();
    // One more open episode of the overheating rule.
    p.state
        .store
        .record_alert(&NewAlert {
            org,
            rule: overheating,
            device,
            fired_at: 3_000,
            message: "again".into(),
            value: json!({ "value": 90.5 }),
        })
        .unwrap();
    let page = |before: Option<i64>| HistoryFilter {
        rule: None,
        device: None,
        before,
        limit: Some(4),
    };
    let first = c.alert_history(&page(None)).await.unwrap();
    assert_eq!(first.rows.len(), 4);
    let ids: Vec<i64> = first.rows.iter().map(|r| r.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let newest = &first.rows[0];
    assert_eq!(newest.rule_name, "Overheating");
    assert_eq!(newest.device_name, "Pump P-101");
    assert_eq!(newest.reason, "temp = 90.5");
    assert_eq!(newest.cleared_at, None);
    assert_eq!(first.rows[1].rule_name, "Hot cooling pumps");
    assert_eq!(first.next_before, ids.last().copied());
    let second = c.alert_history(&page(first.next_before)).await.unwrap();
    assert_eq!(second.rows.len(), 2);
    assert_eq!(second.next_before, None, "the last page");
    assert!(second.rows.iter().all(|r| r.id < ids[3]));
    assert!(second.rows.iter().all(|r| r.cleared_at == Some(2_000)));
    let only = c
        .alert_history(&HistoryFilter {
            rule: Some(created.id),
            ..HistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(only.rows.len(), 1);
    assert_eq!(only.rows[0].reason, "motor.temp = 84");
    let by_device = c
        .alert_history(&HistoryFilter {
            device: Some(device + 1000),
            ..HistoryFilter::default()
        })
        .await
        .unwrap();
    assert!(by_device.rows.is_empty());
    let view = c.alerts().await.unwrap();
    let open = |name: &str| view.rules.iter().find(|r| r.name == name).unwrap().open_alerts;
    assert_eq!(open("Overheating"), Some(1));
    assert_eq!(open("Hot cooling pumps"), Some(1));
    assert!(!view.open_counts_partial);

    // Deleted on its version (a stale one is a conflict); its alerts stay in the history.
    let stale = c.delete_alert_rule(created.id, 1).await.unwrap();
    assert!(
        matches!(&stale, RuleWrite::Conflict { current: Some(r) } if r.version == 3),
        "{stale:?}"
    );
    assert_eq!(
        c.delete_alert_rule(created.id, 3).await.unwrap(),
        RuleWrite::Deleted
    );
    let view = c.alerts().await.unwrap();
    assert!(view.rules.iter().all(|r| r.id != created.id));
    let only = c
        .alert_history(&HistoryFilter {
            rule: Some(created.id),
            ..HistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(only.rows[0].rule_name, format!("deleted rule #{}", created.id));

    // Offline: the rules from the encrypted cache, as of the last sync; writes and the history
    // say they need the platform.
    let online_rules = view.rules.clone();
    let profile = c.session().unwrap().profile.id;
    c.lock_now().unwrap();
    p.stop();
    let (_, password) = p.login(OWNER);
    c.open_offline(&profile, &password).unwrap();
    let offline = c.alerts().await.unwrap();
    assert!(!offline.from_platform);
    assert!(!offline.age.online);
    assert_eq!(offline.age.synced_at, view.age.synced_at);
    let strip = |rules: &[steward_console_core::alerts::AlertRuleView]| {
        rules
            .iter()
            .map(|r| (r.id, r.name.clone(), r.condition.clone(), r.enabled, r.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&offline.rules), strip(&online_rules));
    assert!(offline.rules.iter().all(|r| r.open_alerts.is_none()));
    let history = c.alert_history(&HistoryFilter::default()).await.unwrap_err();
    assert!(matches!(history, CoreError::Offline(_)), "{history:?}");
    let create = c
        .create_alert_rule(&draft(
            "Later",
            RuleCondition::Offline { seconds: 60 },
            RuleTarget::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(create.code(), "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_lists_rules_but_may_not_create_them() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), VIEWER).await;
    let view = c.alerts().await.unwrap();
    assert!(view.rights.list && view.rights.history);
    assert!(!view.rights.create && !view.rights.update && !view.rights.delete);
    assert_eq!(view.rules.len(), 2);
    let refused = c
        .create_alert_rule(&draft(
            "Mine",
            RuleCondition::Offline { seconds: 60 },
            RuleTarget::default(),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CoreError::Api { status: 403, code, .. } if code == "forbidden"),
        "{refused:?}"
    );
    // Nothing was written.
    assert_eq!(c.alerts().await.unwrap().rules.len(), 2);
}
