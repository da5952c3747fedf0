//! console-core against a real stewardd on 127.0.0.1: sign in and sync, open offline from the
//! encrypted cache, queue while the platform is down, replay idempotently, surface conflicts,
//! forget the profile.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use steward_console_core::secrets::{MemoryStore, SecretStore};
use steward_console_core::{Console, CoreError, OutboxState, Resolution};
use steward_model::{Change, OrgRole, Permission, UserId};

mod common;
use common::{Platform, platform};

const TECH: u32 = 6;

fn console(dir: &Path, secrets: Arc<MemoryStore>) -> Console {
    Console::new(dir, secrets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_syncs_the_org_into_the_cache_and_the_matrix_matches_scenario_1() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let c = console(dir.path(), secrets.clone());
    let (email, password) = p.login("Marco Manager");
    let session = c.sign_in(&p.url(), &email, &password, None).await.unwrap();
    assert!(session.online);
    assert_eq!(session.profile.org_name, "North Plant");
    assert!(session.age.synced_at.is_some());
    // The token is in the secret store, not in the cache.
    let token = secrets
        .get(&session.profile.id, "session-token")
        .unwrap()
        .unwrap();
    assert!(token.starts_with("sts_"));

    let matrix = c.effective_matrix("").unwrap();
    assert_eq!(matrix.rows.len(), 15);
    let column = matrix
        .permissions
        .iter()
        .position(|p| p.name == "tasks.manage")
        .unwrap();
    for row in &matrix.rows {
        let role = OrgRole::parse(&row.role).unwrap();
        assert_eq!(
            row.cells[column],
            role.permissions().contains(Permission::TasksManage),
            "{}",
            row.name
        );
    }
    let techs = c.effective_matrix("operator").unwrap();
    assert_eq!(techs.rows.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_open_queue_and_replay_when_the_platform_returns() {
    let mut p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let (email, password) = p.login("Marco Manager");
    let profile = {
        let c = console(dir.path(), secrets.clone());
        c.sign_in(&p.url(), &email, &password, None)
            .await
            .unwrap()
            .profile
    };

    // The platform goes away; a new console process opens from the cache.
    p.stop();
    let c = console(dir.path(), secrets.clone());
    assert!(matches!(
        c.open_offline(&profile.id, "not the password"),
        Err(CoreError::WrongPassword)
    ));
    let session = c.open_offline(&profile.id, &password).unwrap();
    assert!(!session.online);
    assert!(session.age.synced_at.is_some());
    assert_eq!(c.effective_matrix("").unwrap().rows.len(), 15);

    // A role change made offline waits in the outbox, shown as pending.
    let change = Change::SetOrgRole {
        user: UserId(TECH),
        role: OrgRole::Member,
    };
    let preview = c.preview(&change).unwrap();
    assert!(
        preview
            .iter()
            .any(|l| l.gained && l.text.contains("agents.manage")),
        "{preview:?}"
    );
    let item = c.submit(change).await.unwrap();
    assert_eq!(item.state, OutboxState::Pending);
    assert_eq!(item.base_version, Some(1));
    let row = c
        .effective_matrix("")
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.user == TECH)
        .unwrap();
    assert!(row.pending);
    assert_eq!(row.role, "member");
    assert_eq!(c.age().unwrap().pending, 1);

    // The platform comes back: the change lands once.
    p.restart().await;
    let report = c.replay().await.unwrap();
    assert_eq!(report.accepted, 1, "{report:?}");
    assert!(c.outbox().unwrap().is_empty());
    assert_eq!(
        p.state.store.user(i64::from(TECH)).unwrap().unwrap().role,
        OrgRole::Member
    );
    let row = c
        .effective_matrix("")
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.user == TECH)
        .unwrap();
    assert!(!row.pending);
    assert_eq!(row.role, "member");
    assert!(c.session().unwrap().online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_server_moved_past_is_a_conflict_showing_both_sides() {
    let mut p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let (email, password) = p.login("Marco Manager");
    let c = console(dir.path(), secrets.clone());
    c.sign_in(&p.url(), &email, &password, None).await.unwrap();
    p.stop();
    c.submit(Change::SetOrgRole {
        user: UserId(TECH),
        role: OrgRole::Member,
    })
    .await
    .unwrap();

    // Meanwhile someone else deactivates the technician on the server.
    use steward_platform::store::{Actor, WriteCtx};
    let ctx = WriteCtx {
        org: 1,
        actor: Actor::User(1),
        source: "test".into(),
        now: 1,
        idempotency: None,
        status: 200,
    };
    p.state
        .store
        .update_user(&ctx, i64::from(TECH), None, Some(false), None)
        .unwrap();
    p.state.reload(1).unwrap();

    p.restart().await;
    let report = c.replay().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    let items = c.outbox().unwrap();
    assert_eq!(items[0].state, OutboxState::Conflict);
    let server = items[0].server.as_ref().unwrap();
    assert_eq!(server["active"], false, "the server's side is shown: {server}");
    // Nothing was overwritten.
    assert_eq!(
        p.state.store.user(i64::from(TECH)).unwrap().unwrap().role,
        OrgRole::Operator
    );

    // Keeping mine re-bases it on the server's version and lands it.
    let report = c.resolve(items[0].id, Resolution::KeepMine).await.unwrap();
    assert_eq!(report.accepted, 1, "{report:?}");
    let user = p.state.store.user(i64::from(TECH)).unwrap().unwrap();
    assert_eq!((user.role, user.active), (OrgRole::Member, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_same_change_twice_applies_it_once() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let (email, password) = p.login("Marco Manager");
    let c = console(dir.path(), secrets.clone());
    c.sign_in(&p.url(), &email, &password, None).await.unwrap();
    let all = steward_platform::store::AuditQuery {
        limit: 500,
        ..Default::default()
    };
    let before = p.state.store.audit_page(1, &all).unwrap().len();
    // Send the same outbox entry twice, as after a response lost on the way back.
    let token = secrets
        .get(&c.session().unwrap().profile.id, "session-token")
        .unwrap()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = http
            .patch(format!("{}/api/v1/users/{TECH}", p.url()))
            .bearer_auth(&token)
            .header("idempotency-key", "same-key-1")
            .header("if-match", "\"1\"")
            .json(&serde_json::json!({"role": "member"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let after = p.state.store.audit_page(1, &all).unwrap().len();
    assert_eq!(after, before + 1, "one change, one audit record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_unreadable_without_the_password_and_forget_removes_everything() {
    let p = platform().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let (email, password) = p.login("Marco Manager");
    let c = console(dir.path(), secrets.clone());
    let profile = c
        .sign_in(&p.url(), &email, &password, None)
        .await
        .unwrap()
        .profile;
    let cache = dir.path().join("profiles").join(&profile.id).join("cache.sqlite");
    // Encrypted at rest: no plain SQLite header, no names.
    c.lock_now().unwrap();
    let bytes = std::fs::read(&cache).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!bytes.windows(13).any(|w| w == b"Marco Manager"));
    let plain = rusqlite::Connection::open(&cache).unwrap();
    assert!(
        plain
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    // Locked: views refuse until the password is given again.
    assert!(matches!(c.effective_matrix(""), Err(CoreError::Locked)));
    c.open_offline(&profile.id, &password).unwrap();

    c.forget(&profile.id).await.unwrap();
    assert!(!dir.path().join("profiles").join(&profile.id).exists());
    assert!(secrets.get(&profile.id, "session-token").unwrap().is_none());
    assert!(c.profiles().unwrap().is_empty());
}

/// Signs the demo's owner in over REST and puts the org's settings.
async fn put_settings(p: &Platform, idle_minutes: i64, require_totp: bool) {
    let (email, password) = p.login("Olivia Owner");
    let http = reqwest::Client::new();
    let signed: Value = http
        .post(format!("{}/api/v1/session", p.url()))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .put(format!("{}/api/v1/settings", p.url()))
        .bearer_auth(signed["token"].as_str().unwrap())
        .json(&serde_json::json!({"idle_timeout_minutes": idle_minutes, "require_totp": require_totp}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_reports_sync_progress_to_the_head_and_takes_the_orgs_idle_timeout() {
    let p = platform().await;
    put_settings(&p, 7, false).await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path(), Arc::new(MemoryStore::default()));
    let (email, password) = p.login("Marco Manager");
    let mut seen = Vec::new();
    let session = c
        .sign_in_with_progress(&p.url(), &email, &password, None, |step| seen.push(step))
        .await
        .unwrap();
    assert_eq!(session.idle_lock_seconds, Some(7 * 60));
    let last = seen.last().unwrap();
    assert!(last.head > 0 && last.cursor == last.head, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].cursor <= w[1].cursor), "{seen:?}");
    // Offline, the last known timeout still applies.
    c.lock_now().unwrap();
    let reopened = c.open_offline(&session.profile.id, &password).unwrap();
    assert_eq!(reopened.idle_lock_seconds, Some(7 * 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_totp_is_enrolled_from_the_console_then_asked_at_every_sign_in() {
    let p = platform().await;
    put_settings(&p, 30, true).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let c = console(dir.path(), secrets.clone());
    let (email, password) = p.login("Aisha Bello");
    let refused = c.sign_in(&p.url(), &email, &password, None).await.unwrap_err();
    assert_eq!(refused.code(), "totp_enrolment_required");
    // Nothing was kept of the enrolment-only session.
    assert!(c.profiles().unwrap().is_empty());

    let setup = c.begin_totp_enrolment().await.unwrap();
    assert!(setup.qr_svg.contains("<svg"), "{}", &setup.qr_svg[..60]);
    assert!(!setup.secret.is_empty() && setup.otpauth_uri.contains(&setup.secret));
    let code = totp_rs::TOTP::from_url_unchecked(&setup.otpauth_uri)
        .unwrap()
        .generate_current()
        .unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = c
        .confirm_totp_enrolment(wrong, &password, |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_totp");
    // The wrong code can be corrected on the same enrolment.
    let session = c.confirm_totp_enrolment(&code, &password, |_| {}).await.unwrap();
    assert!(session.online);
    assert!(
        secrets
            .get(&session.profile.id, "session-token")
            .unwrap()
            .is_some()
    );
    assert!(!c.effective_matrix("").unwrap().rows.is_empty());

    // From now on, signing in asks for a code.
    let again = Console::new(
        tempfile::tempdir().unwrap().path(),
        Arc::new(MemoryStore::default()),
    );
    let e = again
        .sign_in(&p.url(), &email, &password, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "totp_required");
}
