//! `--demo`: seeds the model's demo plant (the seed scenarios) into an empty database through
//! the store, with real password hashes and a real SCADA key, plus equipment and events.

use serde_json::{Value, json};
use steward_model::PermSet;

use crate::auth::secrets;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::authz::AuthzWrite;
use crate::store::{Actor, NewKey, RecordInput, RecordModule, WriteCtx};
use steward_wire::{AlertCondition, AlertTarget, NewAlertRule, ThresholdOp};

fn email(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' => 'e',
            'í' => 'i',
            'ó' | 'ö' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            other => other,
        })
        .collect();
    format!("{}@northplant.example", ascii.to_lowercase().replace(' ', "."))
}

/// A readable random password for a demo login.
fn demo_password() -> ApiResult<String> {
    let bytes = secrets::random_bytes::<12>()?;
    Ok(format!("demo-{}", hex::encode(bytes)))
}

fn expect_id(got: i64, want: u32, what: &str) -> ApiResult<()> {
    if got == i64::from(want) {
        Ok(())
    } else {
        Err(ApiError::Internal(format!(
            "demo {what} got id {got}, expected {want}: seed an empty database"
        )))
    }
}

fn id_of(v: &Value) -> i64 {
    v.get("id").and_then(Value::as_i64).unwrap_or(-1)
}

/// Seeds the demo when the database holds no organization; returns the logins and key secret
/// (to print once), or `None` when the database was not empty.
pub fn seed_if_empty(state: &SharedState) -> ApiResult<Option<Value>> {
    if !state.store.orgs()?.is_empty() {
        return Ok(None);
    }
    let plant = steward_model::demo::plant()?;
    let now = state.clock.now_ms();
    let mut ctx = WriteCtx {
        org: 0,
        actor: Actor::System,
        source: "demo".into(),
        now,
        idempotency: None,
        status: 201,
    };
    ctx.org = state.store.create_org(&ctx, "North Plant")?;
    let mut users = Vec::new();
    for (id, user) in plant.users() {
        let password = demo_password()?;
        let row = state.store.create_user(
            &ctx,
            &email(&user.name),
            &user.name,
            user.org_role,
            &secrets::hash_password(&password)?,
        )?;
        expect_id(row.id, id.0, "user")?;
        users.push(
            json!({ "email": row.email, "password": password, "role": user.org_role, "name": user.name }),
        );
    }
    let mut writes = Vec::new();
    for (id, group) in plant.groups() {
        let v = state.store.authz_write(
            &ctx,
            &AuthzWrite::CreateGroup {
                name: group.name.clone(),
            },
        )?;
        expect_id(id_of(&v), id.0, "group")?;
        for member in group.members() {
            writes.push(AuthzWrite::SetGroupMember {
                group: i64::from(id.0),
                user: i64::from(member.0),
                member: true,
            });
        }
    }
    for (id, project) in plant.projects() {
        let v = state.store.authz_write(
            &ctx,
            &AuthzWrite::CreateProject {
                name: project.name.clone(),
            },
        )?;
        expect_id(id_of(&v), id.0, "project")?;
        for (grantee, role) in project.grants() {
            writes.push(AuthzWrite::SetProjectRole {
                project: i64::from(id.0),
                grantee: *grantee,
                role: Some(*role),
            });
        }
    }
    for (id, asset) in plant.assets() {
        let write = AuthzWrite::CreateAsset {
            project: i64::from(asset.project.0),
            kind: asset.kind,
            name: asset.name.clone(),
            agents: asset.agents().iter().map(|a| i64::from(a.0)).collect(),
            config: json!({}),
        };
        let v = state.store.authz_write(&ctx, &write)?;
        expect_id(id_of(&v), id.0, "asset")?;
        for (grantee, role) in asset.grants() {
            writes.push(AuthzWrite::SetAssetRole {
                asset: i64::from(id.0),
                grantee: *grantee,
                role: Some(*role),
            });
        }
    }
    for (id, node) in plant.nodes() {
        let write = AuthzWrite::CreateNode {
            name: node.name.clone(),
            parent: node.parent.map(|p| i64::from(p.0)),
        };
        let v = state.store.authz_write(&ctx, &write)?;
        expect_id(id_of(&v), id.0, "hierarchy node")?;
    }
    state.store.authz_write(&ctx, &AuthzWrite::Batch(writes))?;

    let mut keys = serde_json::Map::new();
    for (id, key) in plant.keys() {
        let (prefix, secret) = secrets::new_api_key()?;
        let perms: PermSet = key.permissions;
        let row = state.store.create_key(
            &WriteCtx {
                actor: Actor::User(i64::from(steward_model::demo::ids::MANAGER.0)),
                ..ctx.clone()
            },
            &NewKey {
                name: &key.name,
                prefix: &prefix,
                secret_hash: &state.tokens.hash(&secret),
                permissions: perms,
                scopes: &key.scopes,
            },
        )?;
        expect_id(row.id, id.0, "API key")?;
        let label = if id == steward_model::demo::ids::SCADA_KEY {
            "scada".to_owned()
        } else {
            format!("key{}", id.0)
        };
        keys.insert(label, Value::String(secret));
    }
    // steward-sim registers its devices with this key (`cargo xtask demo` starts it): devices
    // and both kinds of groups, nothing else.
    {
        use steward_model::Permission as P;
        let (prefix, secret) = secrets::new_api_key()?;
        let permissions = PermSet::of([
            P::DevicesCreate,
            P::DevicesUpdate,
            P::DevicesList,
            P::LogicalGroupCreate,
            P::LogicalGroupUpdate,
            P::LogicalGroupList,
            P::HierarchyGroupCreate,
            P::HierarchyGroupUpdate,
            P::HierarchyGroupList,
        ]);
        state.store.create_key(
            &WriteCtx {
                actor: Actor::User(i64::from(steward_model::demo::ids::MANAGER.0)),
                ..ctx.clone()
            },
            &NewKey {
                name: "Device provisioning (steward-sim)",
                prefix: &prefix,
                secret_hash: &state.tokens.hash(&secret),
                permissions,
                scopes: &[],
            },
        )?;
        keys.insert("provisioning".to_owned(), Value::String(secret));
    }

    // Rules the simulated devices can trip: steward-sim reads 20.0–80.0 °C, so about one reading
    // in 600 is over 79.9; a device that stays away two minutes is worth a look.
    let rules = [
        (
            "Overheating",
            AlertCondition::Threshold {
                field: "temp".to_owned(),
                op: ThresholdOp::Above,
                value: 79.9,
            },
        ),
        (
            "Offline for two minutes",
            AlertCondition::Offline { seconds: 120 },
        ),
    ];
    for (name, condition) in rules {
        state.store.create_alert_rule(
            &ctx,
            &NewAlertRule {
                name: name.to_owned(),
                condition,
                target: AlertTarget::default(),
                enabled: true,
            },
        )?;
    }

    let equipment = [
        ("Filler FL-301", "in_service"),
        ("Capper CP-302", "in_service"),
        ("Labeller LB-303", "maintenance"),
        ("Conveyor CV-310", "in_service"),
    ];
    for (title, status) in equipment {
        let input = RecordInput {
            title: Some(title.to_owned()),
            status: Some(status.to_owned()),
            body: Some(json!({ "line": "Line 3" })),
            asset_id: None,
        };
        state.store.create_record(&ctx, RecordModule::Equipment, &input)?;
    }
    let events = [
        ("High vibration on Filler FL-301", "open"),
        ("Capper torque drift", "acknowledged"),
    ];
    for (title, status) in events {
        let input = RecordInput {
            title: Some(title.to_owned()),
            status: Some(status.to_owned()),
            body: Some(json!({ "source": "SCADA" })),
            asset_id: None,
        };
        state.store.create_record(&ctx, RecordModule::Events, &input)?;
    }
    let task = RecordInput {
        title: Some("Inspect FL-301 bearings".to_owned()),
        status: None,
        body: Some(json!({})),
        asset_id: None,
    };
    state.store.create_record(&ctx, RecordModule::Tasks, &task)?;
    state.reload(ctx.org)?;
    Ok(Some(
        json!({ "org": "North Plant", "users": users, "keys": Value::Object(keys) }),
    ))
}
