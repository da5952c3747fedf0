//! The platform schema. Forward-only: a released migration is never edited; a change is a new
//! migration at the end. Tests migrate from an empty file and from every earlier version.

use rusqlite_migration::{M, Migrations};

/// Every migration, oldest first.
pub const STEPS: &[&str] = &[
    // 1: identity, authorization, records, audit, change feed, idempotency.
    r#"
    CREATE TABLE orgs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        password_hash TEXT,
        totp_secret TEXT,
        totp_enabled INTEGER NOT NULL DEFAULT 0,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE invites (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        email TEXT NOT NULL COLLATE NOCASE,
        role TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_by INTEGER,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE group_members (
        group_id INTEGER NOT NULL REFERENCES groups(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        PRIMARY KEY (group_id, user_id)
    );
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE project_grants (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        grantee_kind TEXT NOT NULL,
        grantee_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (project_id, grantee_kind, grantee_id)
    );
    CREATE TABLE assets (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        creator_id INTEGER,
        config TEXT NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE workforce_agents (
        workforce_id INTEGER NOT NULL REFERENCES assets(id),
        agent_id INTEGER NOT NULL REFERENCES assets(id),
        position INTEGER NOT NULL,
        PRIMARY KEY (workforce_id, agent_id)
    );
    CREATE TABLE asset_grants (
        asset_id INTEGER NOT NULL REFERENCES assets(id),
        grantee_kind TEXT NOT NULL,
        grantee_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (asset_id, grantee_kind, grantee_id)
    );
    CREATE TABLE hierarchy_nodes (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        parent_id INTEGER REFERENCES hierarchy_nodes(id),
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        prefix TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        permissions TEXT NOT NULL,
        scopes TEXT NOT NULL DEFAULT '[]',
        enabled INTEGER NOT NULL DEFAULT 1,
        revoked_at INTEGER,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        module TEXT NOT NULL,
        asset_id INTEGER REFERENCES assets(id),
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '{}',
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX records_module ON records(org_id, module, id);
    CREATE TABLE legacy_review (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        migrated_to TEXT NOT NULL,
        resolved_to TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        org_id INTEGER,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL,
        entity TEXT NOT NULL,
        entity_id INTEGER NOT NULL,
        op TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT,
        at INTEGER NOT NULL
    );
    CREATE INDEX changes_org ON changes(org_id, seq);
    CREATE TABLE idempotency (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (principal, key)
    );
    "#,
    // 2: a session opened only to enrol a second factor (the org requires one).
    r#"
    ALTER TABLE sessions ADD COLUMN enrol_only INTEGER NOT NULL DEFAULT 0;
    "#,
    // 3: devices and logical groups. Device, group and node ids appear in MQTT topics, key scopes
    // and retained messages, so a deleted one must never come back as a different thing:
    // AUTOINCREMENT, and hierarchy_nodes is rebuilt with it (nodes become deletable here).
    r#"
    CREATE TABLE hierarchy_nodes_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        parent_id INTEGER REFERENCES hierarchy_nodes_new(id),
        version INTEGER NOT NULL DEFAULT 1
    );
    INSERT INTO hierarchy_nodes_new (id, org_id, name, parent_id, version)
        SELECT id, org_id, name, parent_id, version FROM hierarchy_nodes ORDER BY id;
    DROP TABLE hierarchy_nodes;
    ALTER TABLE hierarchy_nodes_new RENAME TO hierarchy_nodes;
    CREATE INDEX hierarchy_nodes_parent ON hierarchy_nodes(parent_id);
    CREATE TABLE devices (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT '',
        metadata TEXT NOT NULL DEFAULT '{}',
        node_id INTEGER REFERENCES hierarchy_nodes(id),
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX devices_org ON devices(org_id, id);
    CREATE INDEX devices_node ON devices(node_id);
    CREATE TABLE logical_groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL COLLATE NOCASE,
        version INTEGER NOT NULL DEFAULT 1,
        UNIQUE (org_id, name)
    );
    CREATE TABLE logical_group_members (
        group_id INTEGER NOT NULL REFERENCES logical_groups(id) ON DELETE CASCADE,
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, device_id)
    );
    CREATE INDEX logical_group_members_device ON logical_group_members(device_id);
    "#,
    // 4: device presence transitions (history, flaps, the change feed's source) and each
    // device's latest telemetry reading. No foreign keys to devices: they are written in
    // batches, and one device deleted meanwhile must not fail everyone else's rows.
    r#"
    CREATE TABLE presence_transitions (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL,
        device_id INTEGER NOT NULL,
        online INTEGER NOT NULL,
        at INTEGER NOT NULL,
        last_seen INTEGER,
        reason TEXT NOT NULL
    );
    CREATE INDEX presence_transitions_device ON presence_transitions(device_id, id);
    CREATE INDEX presence_transitions_at ON presence_transitions(at);
    CREATE TABLE telemetry_latest (
        device_id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        reading TEXT NOT NULL
    );
    "#,
    // 5: commands queued for a device, delivered when it is next online.
    r#"
    CREATE TABLE queued_commands (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        device_id INTEGER NOT NULL,
        command TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        delivered_at INTEGER
    );
    CREATE INDEX queued_commands_device ON queued_commands(org_id, device_id, status, id);
    "#,
    // 6: alert rules and the alerts they fired. A rule targets all devices, one logical group or
    // a hierarchy subtree (a group or node in use by a rule cannot be deleted). Alerts keep the
    // rule and device ids without foreign keys: history outlives both.
    r#"
    CREATE TABLE alert_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        org_id INTEGER NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL COLLATE NOCASE,
        condition TEXT NOT NULL,
        target_group INTEGER,
        target_node INTEGER,
        enabled INTEGER NOT NULL DEFAULT 1,
        version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        UNIQUE (org_id, name)
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        org_id INTEGER NOT NULL,
        rule_id INTEGER NOT NULL,
        device_id INTEGER NOT NULL,
        fired_at INTEGER NOT NULL,
        message TEXT NOT NULL,
        value TEXT NOT NULL,
        cleared_at INTEGER
    );
    CREATE INDEX alerts_org ON alerts(org_id, id);
    CREATE INDEX alerts_open ON alerts(rule_id, device_id) WHERE cleared_at IS NULL;
    "#,
];

pub fn migrations() -> Migrations<'static> {
    Migrations::new(STEPS.iter().map(|sql| M::up(sql)).collect())
}
