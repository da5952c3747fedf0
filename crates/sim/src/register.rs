//! Registering the simulated devices through stewardd's REST API: reuse the ones already there
//! (by name, with a fresh credential each), bulk-create the rest, inside a small hierarchy and a
//! few logical groups created when missing.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::{Client, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use steward_wire::{
    CreatedDevice, DeviceCredentials, DeviceRow, LogicalGroupRow, NewDevice, NewDevices, NodeBody,
};

use crate::Args;

/// The most devices one bulk call may create.
const BULK: usize = 1000;
/// The fewest a bulk call is cut down to when the broker is slow.
const MIN_BULK: usize = 50;
/// Credential rotations in flight at once (each is a broker round trip on stewardd's side).
const ROTATIONS: usize = 16;

pub struct Device {
    pub id: i64,
    pub username: String,
    pub password: String,
}

pub struct Registered {
    pub org: i64,
    pub devices: Vec<Device>,
    pub created: usize,
}

#[derive(Clone)]
struct Api {
    http: Client,
    base: String,
    token: String,
}

impl Api {
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, String> {
        let url = format!("{}/api/v1{path}", self.base.trim_end_matches('/'));
        let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status}: {text}"));
        }
        let text = if status == StatusCode::NO_CONTENT || text.is_empty() {
            "null".to_owned()
        } else {
            text
        };
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: unexpected answer ({e}): {text}"))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        self.call(Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, String> {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// A list answer: a bare array, or an object holding one (`items`, `devices`).
fn list<T: DeserializeOwned>(v: Value, what: &str) -> Result<Vec<T>, String> {
    let items = match v {
        Value::Array(_) => v,
        Value::Object(mut o) => o
            .remove("items")
            .or_else(|| o.remove("devices"))
            .or_else(|| o.remove("groups"))
            .unwrap_or(Value::Array(Vec::new())),
        _ => Value::Array(Vec::new()),
    };
    serde_json::from_value(items).map_err(|e| format!("listing {what}: {e}"))
}

/// The simulation's hierarchy: one site, two areas, two lines each, four cells per line.
/// Returns the cells' ids.
async fn hierarchy(api: &Api, prefix: &str) -> Result<Vec<i64>, String> {
    let nodes: Vec<NodeBody> = list(api.get("/hierarchy").await?, "hierarchy")?;
    let mut known: HashMap<(Option<i64>, String), i64> = nodes
        .iter()
        .map(|n| ((n.parent.map(i64::from), n.name.clone()), i64::from(n.id)))
        .collect();
    let mut node = async |name: String, parent: Option<i64>| -> Result<i64, String> {
        if let Some(id) = known.get(&(parent, name.clone())) {
            return Ok(*id);
        }
        let created: Value = api
            .post("/hierarchy", &json!({ "name": name, "parent": parent }))
            .await?;
        let id = created
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("creating node {name}: no id in {created}"))?;
        known.insert((parent, name), id);
        Ok(id)
    };
    let site = node(format!("{prefix} plant"), None).await?;
    let mut cells = Vec::new();
    for a in 1..=2 {
        let area = node(format!("Area {a}"), Some(site)).await?;
        for l in 1..=2 {
            let line = node(format!("Line {a}.{l}"), Some(area)).await?;
            for c in 1..=4 {
                cells.push(node(format!("Cell {a}.{l}.{c}"), Some(line)).await?);
            }
        }
    }
    Ok(cells)
}

/// The simulation's logical groups, by role.
async fn groups(api: &Api, prefix: &str) -> Result<[i64; 3], String> {
    let existing: Vec<LogicalGroupRow> = list(api.get("/logical-groups").await?, "logical groups")?;
    let mut ids = [0i64; 3];
    for (slot, suffix) in ids.iter_mut().zip(["temperature", "pressure", "critical"]) {
        let name = format!("{prefix}-{suffix}");
        *slot = match existing.iter().find(|g| g.name == name) {
            Some(g) => g.id,
            None => {
                let g: LogicalGroupRow = api.post("/logical-groups", &json!({ "name": name })).await?;
                g.id
            }
        };
    }
    Ok(ids)
}

pub async fn register(args: &Args) -> Result<Registered, String> {
    let api = Api {
        http: Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?,
        base: args.api.clone(),
        token: args.token.clone(),
    };
    let me: Value = api.get("/session").await?;
    let org = me
        .get("org")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("GET /session named no org: {me}"))?;
    let cells = hierarchy(&api, &args.prefix).await?;
    let [temperature, pressure, critical] = groups(&api, &args.prefix).await?;
    let existing: Vec<DeviceRow> = list(api.get("/devices").await?, "devices")?;
    let by_name: HashMap<&str, &DeviceRow> = existing.iter().map(|d| (d.name.as_str(), d)).collect();

    let names: Vec<String> = (1..=args.devices)
        .map(|i| format!("{}-{i:04}", args.prefix))
        .collect();
    let mut devices = Vec::with_capacity(args.devices);
    let mut reuse = Vec::new();
    let mut create = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match by_name.get(name.as_str()) {
            Some(d) => reuse.push(d.id),
            None => {
                let mut groups = vec![if i % 2 == 0 { temperature } else { pressure }];
                if i % 10 == 0 {
                    groups.push(critical);
                }
                groups.sort_unstable();
                create.push(NewDevice {
                    name: name.clone(),
                    kind: if i % 2 == 0 {
                        "temperature-sensor"
                    } else {
                        "pressure-sensor"
                    }
                    .to_owned(),
                    metadata: Some(json!({ "simulated": true, "index": i + 1 })),
                    node: cells.get(i % cells.len().max(1)).copied(),
                    groups,
                });
            }
        }
    }
    let created = create.len();
    // Each device is a broker client, and every dynsec change rewrites the broker's whole file,
    // so a big call can outlast stewardd's broker timeout (503) once thousands exist: halve the
    // call and go on (nothing of a refused call is kept).
    let mut size = BULK;
    let mut rest = create.as_slice();
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(size.min(rest.len()));
        let body = NewDevices {
            devices: chunk.to_vec(),
        };
        match api.post::<Vec<CreatedDevice>>("/devices/bulk", &body).await {
            Ok(made) => {
                devices.extend(made.into_iter().map(|c| Device {
                    id: c.device.id,
                    username: c.credentials.mqtt_username,
                    password: c.credentials.mqtt_password,
                }));
                rest = after;
            }
            Err(e) if e.contains("broker_unavailable") && size > MIN_BULK => {
                size = (size / 2).max(MIN_BULK);
                eprintln!("steward-sim: the broker was slow; creating {size} devices per call");
            }
            Err(e) => return Err(e),
        }
    }
    // Reused devices get a fresh password (the old one was shown once and is gone).
    let limit = Arc::new(tokio::sync::Semaphore::new(ROTATIONS));
    let mut rotations = tokio::task::JoinSet::new();
    for id in reuse {
        let api = api.clone();
        let limit = limit.clone();
        rotations.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| e.to_string())?;
            let c: DeviceCredentials = api
                .post(&format!("/devices/{id}/credentials"), &json!({}))
                .await?;
            Ok::<_, String>(Device {
                id,
                username: c.mqtt_username,
                password: c.mqtt_password,
            })
        });
    }
    while let Some(done) = rotations.join_next().await {
        devices.push(done.map_err(|e| e.to_string())??);
    }
    devices.sort_by_key(|d| d.id);
    Ok(Registered {
        org,
        devices,
        created,
    })
}
