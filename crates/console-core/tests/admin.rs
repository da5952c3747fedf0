//! The administration views against a real stewardd on 127.0.0.1: API keys (secret shown once
//! and never cached, the IoT JSON through the editor model, no escalation, disable → edit →
//! enable, revoke, offline refusal), the audit log with filters, and the legacy review.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use serde_json::{Value, json};
use steward_console_core::OutboxState;
use steward_console_core::admin::{
    AuditFilter, KeyDraft, KeyStatus, export_permissions, import_permissions, permission_tree,
};

mod common;
use common::platform;

const MANAGER: &str = "Marco Manager";

/// Every file under `dir`, concatenated (the cache, its WAL and journal, the profile list).
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn draft(name: &str, permissions: &[&str]) -> KeyDraft {
    KeyDraft {
        name: name.to_owned(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        scopes: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_keys_secret_is_returned_once_and_never_cached() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), MANAGER).await;

    let created = c
        .create_key(&draft("SCADA North Plant", &["events.manage", "equipment.view"]))
        .await
        .unwrap();
    assert!(created.secret.starts_with("stw_"), "{}", created.secret);
    assert_eq!(created.key.status, KeyStatus::Enabled);
    assert_eq!(
        created.key.permissions,
        vec!["equipment.view", "events.view", "events.manage"]
    );
    assert!(created.secret.contains(&created.key.prefix));

    // The list (from the synced cache) has the key by prefix, never the secret.
    let keys = c.keys().unwrap();
    let listed = keys.iter().find(|k| k.id == created.key.id).unwrap();
    assert_eq!(listed.name, "SCADA North Plant");
    assert_eq!(
        listed.summary,
        "3 permissions in 2 modules: Equipment (assets), Events"
    );
    let listed_json = serde_json::to_string(&keys).unwrap();
    assert!(!listed_json.contains(&created.secret));

    // Nothing the console wrote holds it: not the cache, its WAL, nor the profile files.
    c.sync(|_| {}).await.unwrap();
    let secret = created.secret.clone();
    let random_part = secret.rsplit('_').next().unwrap().to_owned();
    drop(created);
    let bytes = all_bytes(dir.path());
    assert!(!contains(&bytes, secret.as_bytes()));
    assert!(!contains(&bytes, random_part.as_bytes()));

    // The secret works on the platform, so it was the real one.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/equipment", p.url()))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iot_json_round_trips_through_the_editor_model() {
    // The IoT document's full permission object, with its own spelling.
    let doc = json!({
        "telemetry": { "listen": true },
        "commands": { "rpc": { "listen": true, "call": true }, "queue": { "call": true } },
        "alerts": { "listen": true, "create": true, "update": true, "delete": true, "list": true, "history": true },
        "presence": { "listen": true },
        "logical_group": { "listen": true, "create": true, "update": true, "delete": true, "list": true },
        "heirarchy_group": { "listen": true, "create": true, "update": true, "delete": true, "list": true },
        "devices": { "create": true, "update": true, "delete": true, "list": true }
    });
    let checked = import_permissions(&doc.to_string()).unwrap();
    // Every action of every IoT module of the tree is checked, nothing else.
    let tree = permission_tree();
    let iot: Vec<String> = tree
        .sections
        .iter()
        .filter(|s| s.source == "iot")
        .flat_map(|s| &s.modules)
        .flat_map(|m| &m.actions)
        .map(|a| a.permission.clone())
        .collect();
    assert_eq!(checked, iot);

    let exported = export_permissions(&checked).unwrap();
    let exported_value: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(exported_value, doc);
    assert!(exported.contains("heirarchy_group"));
    assert_eq!(import_permissions(&exported).unwrap(), checked);

    // A partial object exports every IoT action, false where unchecked, plus other modules.
    let partial =
        import_permissions(r#"{"hierarchy_group": {"list": true}, "events": {"manage": true}}"#).unwrap();
    assert_eq!(
        partial,
        vec!["events.view", "events.manage", "hierarchy_group.list"]
    );
    let out: Value = serde_json::from_str(&export_permissions(&partial).unwrap()).unwrap();
    assert_eq!(out["heirarchy_group"]["list"], true);
    assert_eq!(out["heirarchy_group"]["listen"], false);
    assert_eq!(out["events"]["manage"], true);
    assert_eq!(import_permissions(&out.to_string()).unwrap(), partial);

    // Errors name the path.
    let e = import_permissions(r#"{"devices": {"fly": true}}"#).unwrap_err();
    assert_eq!(e.code(), "invalid_permission_json");
    assert!(e.to_string().contains("devices.fly"), "{e}");
    let e = import_permissions(r#"{"alerts": {"list": "yes"}}"#).unwrap_err();
    assert!(e.to_string().contains("alerts.list"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_is_refused_with_its_code_and_audited() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), MANAGER).await;
    // An admin does not hold billing.manage (owner only).
    let e = c
        .create_key(&draft("Billing robot", &["billing.manage", "events.view"]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "escalation");
    assert!(e.to_string().contains("Manage billing"), "{e}");
    assert!(c.keys().unwrap().iter().all(|k| k.name != "Billing robot"));

    // The refusal is in the audit trail, found with filters.
    let page = c
        .audit(&AuditFilter {
            action: Some("api_key.create".into()),
            outcome: Some("denied".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 1, "{:?}", page.entries);
    assert_eq!(page.entries[0].actor, "user:2");
    assert_eq!(page.entries[0].actor_name, MANAGER);
    assert_eq!(
        page.entries[0].after.as_ref().unwrap()["missing"],
        json!(["billing.manage"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_change_only_through_disable_edit_enable() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), MANAGER).await;
    let key = c
        .create_key(&draft("Line 2 sensors", &["telemetry.listen"]))
        .await
        .unwrap()
        .key;

    // Enabled: the edit is refused before anything is queued.
    let e = c
        .set_key_permissions(key.id, &["telemetry.listen".into(), "devices.list".into()])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "key_enabled");
    assert!(c.outbox().unwrap().is_empty());

    let disabled = c.disable_key(key.id).await.unwrap();
    assert_eq!(disabled.status, KeyStatus::Disabled);
    let item = c
        .set_key_permissions(key.id, &["telemetry.listen".into(), "devices.list".into()])
        .await
        .unwrap();
    assert_ne!(item.state, OutboxState::Failed);
    assert!(c.outbox().unwrap().is_empty(), "the edit was accepted");

    // An edit the admin may not give is refused with the escalation code.
    let e = c
        .set_key_permissions(key.id, &["billing.manage".into()])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "escalation", "{e}");

    let enabled = c.enable_key(key.id).await.unwrap();
    assert_eq!(enabled.status, KeyStatus::Enabled);
    assert_eq!(enabled.permissions, vec!["telemetry.listen", "devices.list"]);
    let listed = c.keys().unwrap().into_iter().find(|k| k.id == key.id).unwrap();
    assert_eq!(listed.status, KeyStatus::Enabled);
    assert_eq!(listed.permissions, vec!["telemetry.listen", "devices.list"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_is_final_and_creating_offline_says_offline() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), MANAGER).await;
    let created = c
        .create_key(&draft("Compromised", &["events.view"]))
        .await
        .unwrap();
    let revoked = c.revoke_key(created.key.id).await.unwrap();
    assert_eq!(revoked.status, KeyStatus::Revoked);
    assert!(revoked.revoked_at.is_some());
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/events", p.url()))
        .bearer_auth(&created.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        c.revoke_key(created.key.id).await.unwrap_err().code(),
        "key_revoked"
    );
    let listed = c
        .keys()
        .unwrap()
        .into_iter()
        .find(|k| k.id == created.key.id)
        .unwrap();
    assert_eq!(listed.status, KeyStatus::Revoked);

    // The audit trail has the creation and the revocation, by this admin, newest first.
    let page = c
        .audit(&AuditFilter {
            actor: Some("user:2".into()),
            target: Some(format!("key:{}", created.key.id)),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.len() >= 2, "{actions:?}");
    assert!(page.entries.windows(2).all(|w| w[0].id > w[1].id));
    // A time range after now finds nothing; one around now finds the same records.
    let now = page.entries[0].at;
    let later = c
        .audit(&AuditFilter {
            actor: Some("user:2".into()),
            from: Some(now + 3_600_000),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(later.entries.is_empty());
    assert_eq!(later.next_before_id, None);
    let around = c
        .audit(&AuditFilter {
            actor: Some("user:2".into()),
            target: Some(format!("key:{}", created.key.id)),
            from: Some(now - 60_000),
            to: Some(now + 60_000),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(around.entries.len(), page.entries.len());
    // Paging: one record at a time walks back with `next_before_id`.
    let first = c
        .audit(&AuditFilter {
            limit: Some(1),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(first.entries.len(), 1);
    let second = c
        .audit(&AuditFilter {
            limit: Some(1),
            before_id: first.next_before_id,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(second.entries[0].id < first.entries[0].id);

    // With the platform gone, creating says `offline`, and the cached list still shows.
    p.stop();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let e = c
        .create_key(&draft("While offline", &["events.view"]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "offline");
    assert_eq!(c.revoke_key(created.key.id).await.unwrap_err().code(), "offline");
    assert!(!c.session().unwrap().online);
    assert!(c.keys().unwrap().iter().any(|k| k.id == created.key.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_review_lists_migrated_viewers_and_acts_through_the_outbox() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let c = p.console_as(dir.path(), MANAGER).await;
    assert!(c.legacy_review().await.unwrap().items.is_empty());

    // An import (as an integration would run it).
    let (email, password) = p.login(MANAGER);
    let http = reqwest::Client::new();
    let signed: Value = http
        .post(format!("{}/api/v1/session", p.url()))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(format!("{}/api/v1/legacy-import", p.url()))
        .bearer_auth(signed["token"].as_str().unwrap())
        .json(&json!({"assignments": [{"user": 6, "project": 1, "role": "viewer"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.sync(|_| {}).await.unwrap();

    let review = c.legacy_review().await.unwrap();
    assert!(!review.cached);
    assert_eq!(review.items.len(), 1);
    let item = &review.items[0];
    assert_eq!(item.user_id, 6);
    assert_eq!(item.migrated_to, "viewer");
    assert_eq!(item.current.as_deref(), Some("viewer"));
    assert_eq!(item.options, vec!["chat", "viewer", "member"]);
    assert!(!item.why.is_empty());

    // Choosing member: previewed (the technician gains running assets), then saved.
    let preview = c.preview_legacy_choice(6, 1, "member").unwrap();
    assert!(preview.iter().any(|l| l.gained), "{preview:?}");
    let saved = c.apply_legacy_choice(6, 1, "member").await.unwrap();
    assert_ne!(saved.state, OutboxState::Failed);
    let review = c.legacy_review().await.unwrap();
    assert_eq!(review.items[0].current.as_deref(), Some("member"));
    assert_eq!(review.items[0].resolved_to.as_deref(), Some("member"));
    assert_eq!(
        c.apply_legacy_choice(6, 1, "emperor").await.unwrap_err().code(),
        "invalid_input"
    );

    // Offline, the list as last read is shown and says so.
    p.stop();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let cached = c.legacy_review().await.unwrap();
    assert!(cached.cached);
    assert_eq!(cached.items.len(), 1);
    assert!(cached.fetched_at.is_some());
}
