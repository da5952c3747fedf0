//! Migrations are forward-only: a database left at any earlier version (including an empty
//! file) opens with `SqliteStore::open`, which brings it to the latest version, keeping its data.
//! The loops run over `STEPS`, so a new migration is covered without touching this file; give it
//! a sample in `SAMPLES` when the older sample no longer fits its schema.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rusqlite::Connection;
use rusqlite_migration::SchemaVersion;
use serde_json::json;
use steward_platform::store::migrations::{STEPS, migrations};
use steward_platform::store::{
    Actor, AuditStore, IdentityStore, RecordInput, RecordModule, RecordStore, SqliteStore, WriteCtx,
};

/// Data valid at a schema version: `(version, SQL)`. A database at version k gets the newest
/// sample whose version is ≤ k (none at version 0, where there are no tables).
const SAMPLES: &[(usize, &str)] = &[(
    1,
    r#"
    INSERT INTO orgs (id, name) VALUES (1, 'Old Plant');
    INSERT INTO users (id, org_id, email, name, role, created_at)
        VALUES (1, 1, 'old.owner@oldplant.example', 'Old Owner', 'owner', 1700000000000);
    INSERT INTO records (id, org_id, module, title, status, body, created_by, created_at, updated_at)
        VALUES (1, 1, 'events', 'Logged before the upgrade', 'open', '{"source":"SCADA"}', 'user:1',
                1700000000000, 1700000000000);
    "#,
)];

fn sample_for(version: usize) -> Option<&'static str> {
    SAMPLES
        .iter()
        .filter(|(v, _)| *v <= version)
        .max_by_key(|(v, _)| *v)
        .map(|(_, sql)| *sql)
}

#[test]
fn the_migrations_are_valid() {
    migrations().validate().unwrap();
    assert!(!STEPS.is_empty());
    assert!(
        SAMPLES.windows(2).all(|w| w[0].0 < w[1].0) && SAMPLES.iter().all(|(v, _)| *v <= STEPS.len()),
        "SAMPLES are in version order and name existing versions"
    );
}

#[test]
fn every_earlier_version_opens_and_migrates_to_the_latest() {
    for k in 0..=STEPS.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.db");
        let sample = {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, k).unwrap();
            let sample = sample_for(k);
            if let Some(sql) = sample {
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("sample data at version {k}: {e}"));
            }
            sample.is_some()
        };
        if k == 0 {
            // Nothing applied: an empty (zero-byte) file.
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        }

        let store = SqliteStore::open(&path).unwrap_or_else(|e| panic!("open at version {k}: {e}"));
        let conn = Connection::open(&path).unwrap();
        assert_eq!(
            migrations().current_version(&conn).unwrap(),
            SchemaVersion::Inside(std::num::NonZeroUsize::new(STEPS.len()).unwrap()),
            "from version {k}"
        );

        // The old data is still there and readable through the store.
        let orgs = store.orgs().unwrap();
        if sample {
            assert_eq!(orgs, vec![1], "from version {k}");
            assert_eq!(store.org_name(1).unwrap().as_deref(), Some("Old Plant"));
            let creds = store
                .credentials_by_email("old.owner@oldplant.example")
                .unwrap()
                .unwrap_or_else(|| panic!("the old user, from version {k}"));
            assert_eq!(creds.user.name, "Old Owner");
            let events = store.records(1, RecordModule::Events, 0, 10).unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].title, "Logged before the upgrade");
        } else {
            assert!(orgs.is_empty());
        }

        // And the migrated database takes writes, journalled as usual.
        let ctx = WriteCtx {
            org: 0,
            actor: Actor::System,
            source: "migration-test".into(),
            now: 1_800_000_000_000,
            idempotency: None,
            status: 201,
        };
        let org = store.create_org(&ctx, "New Plant").unwrap();
        let ctx = WriteCtx { org, ..ctx };
        let row = store
            .create_record(
                &ctx,
                RecordModule::Tasks,
                &RecordInput {
                    title: Some("After the upgrade".to_owned()),
                    status: None,
                    body: Some(json!({})),
                    asset_id: None,
                },
            )
            .unwrap();
        assert_eq!(
            store
                .record(org, RecordModule::Tasks, row.id)
                .unwrap()
                .unwrap()
                .title,
            "After the upgrade"
        );
        let check = store.audit_verify().unwrap();
        assert!(
            check.ok,
            "audit chain after migrating from version {k}: {check:?}"
        );

        // Opening again is a no-op.
        drop(store);
        SqliteStore::open(&path).unwrap();
    }
}

#[test]
fn a_database_from_a_newer_stewardd_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steward.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        migrations().to_latest(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", i64::try_from(STEPS.len()).unwrap() + 1)
            .unwrap();
    }
    assert!(
        SqliteStore::open(&path).is_err(),
        "a schema this binary does not know must not be opened"
    );
}
