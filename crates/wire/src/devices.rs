//! The device plane over REST: devices and their broker credentials, logical and hierarchy
//! groups, presence, telemetry, commands and alerts. stewardd, the console and steward-sim share
//! these bodies.
//!
//! Routes (all under `/api/v1`, each guarded by the catalog permission named):
//! - `GET /devices` (devices.list), `POST /devices` (devices.create) → `CreatedDevice`,
//!   `POST /devices/bulk` (devices.create, ≤ 1,000 per call) → `Vec<CreatedDevice>`,
//!   `GET /devices/{id}` (devices.list), `PATCH /devices/{id}` (devices.update, If-Match),
//!   `DELETE /devices/{id}` (devices.delete), `POST /devices/{id}/credentials` (devices.update)
//!   → `DeviceCredentials` (a new password; the old one stops working and its connection drops).
//! - `GET|POST /logical-groups`, `PATCH|DELETE /logical-groups/{id}`,
//!   `PUT|DELETE /logical-groups/{id}/devices/{device}` (logical_group.list/create/update/delete).
//! - `GET|POST /hierarchy`, `PATCH|DELETE /hierarchy/{id}` (hierarchy_group.*); a device's node
//!   is set through `PATCH /devices/{id}` with `node`.
//! - `GET /presence?logical_group=&node=` (presence.listen: the catalog has no presence.list,
//!   and this is the same data the broker streams) → `PresenceBody`.
//! - `GET /devices/{id}/telemetry` (telemetry.listen, likewise) → `TelemetryBody`.
//! - `POST /devices/{id}/rpc` (commands.rpc.call) → `RpcReply` or 504 `rpc_timeout`.
//! - `POST /devices/{id}/queue` (commands.queue.call) → `QueuedCommand`;
//!   `GET /devices/{id}/queue` (commands.queue.call: who may queue may see the queue).
//! - `GET /alert-rules`, `GET /alert-rules/{id}` (alerts.list), `POST /alert-rules`
//!   (alerts.create), `PATCH /alert-rules/{id}` (alerts.update, If-Match), `DELETE
//!   /alert-rules/{id}` (alerts.delete, If-Match); `GET /alerts?rule=&device=&before=&limit=`
//!   (alerts.history) → `Vec<AlertRow>`, newest first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A device as the platform keeps it (never its broker password).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    /// What kind of device it is ("pump", "plc", "sensor"): free text, for people and filters.
    pub kind: String,
    /// Free-form JSON object (serial number, firmware, location notes).
    pub metadata: Value,
    /// The hierarchy node it sits in, at most one.
    pub node: Option<i64>,
    /// Its logical groups, ascending ids.
    pub groups: Vec<i64>,
    /// The MQTT username (and client id) it connects with: `dev_<id>`.
    pub mqtt_username: String,
    pub created_at: i64,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub node: Option<i64>,
    #[serde(default)]
    pub groups: Vec<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewDevices {
    pub devices: Vec<NewDevice>,
}

/// `PATCH /devices/{id}`: only the fields present change; `node: null` takes it out of the tree.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// `Some(None)` clears the node.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub node: Option<Option<i64>>,
    /// Replaces the device's logical groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<i64>>,
}

/// A device's broker credential: shown once, at creation or rotation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceCredentials {
    pub mqtt_username: String,
    pub mqtt_password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CreatedDevice {
    pub device: DeviceRow,
    pub credentials: DeviceCredentials,
}

/// A flat, named set of devices.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogicalGroupRow {
    pub id: i64,
    pub name: String,
    pub devices: Vec<i64>,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewLogicalGroup {
    pub name: String,
}

/// A hierarchy node with the devices placed directly in it: the answer of
/// `PATCH /hierarchy/{id}` and the retained message on its `groups/hierarchy/{node}` topic.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HierarchyNodeRow {
    pub id: i64,
    pub name: String,
    pub parent: Option<i64>,
    /// The devices whose node is this one (not those of its children), ascending ids.
    pub devices: Vec<i64>,
    pub version: i64,
}

/// `PATCH /hierarchy/{id}`: rename and/or move (`parent: null` makes it a root).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub parent: Option<Option<i64>>,
}

/// One device's presence, as stewardd saw it (server clock, ms since the epoch).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceRow {
    pub device: i64,
    pub online: bool,
    /// When the current state began (connected since / offline since); None if never seen.
    pub since: Option<i64>,
    /// The last message of any kind from the device.
    pub last_seen: Option<i64>,
    /// Online→offline transitions in the last hour.
    pub flaps_last_hour: u32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Logical,
    Hierarchy,
}

/// "n online / total" for one group (a hierarchy node counts every device below it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceRollup {
    pub kind: GroupKind,
    pub id: i64,
    pub name: String,
    pub online: u32,
    pub total: u32,
}

/// `GET /presence`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceBody {
    pub as_of: i64,
    pub online: u32,
    pub total: u32,
    pub devices: Vec<PresenceRow>,
    pub rollups: Vec<PresenceRollup>,
}

/// `GET /devices/{id}/telemetry`: the latest reading.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TelemetryBody {
    pub device: i64,
    pub received_at: Option<i64>,
    pub reading: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RpcCall {
    pub method: String,
    #[serde(default)]
    pub params: Value,
    /// How long to wait for the reply; default 5,000, at most 30,000.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RpcReply {
    pub device: i64,
    pub reply: Value,
    pub elapsed_ms: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    Queued,
    Delivered,
    Expired,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewQueuedCommand {
    pub command: String,
    #[serde(default)]
    pub params: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QueuedCommand {
    pub id: i64,
    pub device: i64,
    pub command: String,
    pub params: Value,
    pub status: QueueStatus,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// What an alert rule watches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertCondition {
    /// A numeric telemetry field crosses a threshold.
    Threshold {
        field: String,
        op: ThresholdOp,
        value: f64,
    },
    /// The device has been offline for more than `seconds`.
    Offline { seconds: u64 },
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdOp {
    Above,
    Below,
}

/// Which devices a rule applies to: all, one logical group, or a hierarchy subtree.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlertTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_group: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlertRuleRow {
    pub id: i64,
    pub name: String,
    pub condition: AlertCondition,
    pub target: AlertTarget,
    pub enabled: bool,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewAlertRule {
    pub name: String,
    pub condition: AlertCondition,
    #[serde(default)]
    pub target: AlertTarget,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A change to an alert rule: each field present is replaced. Changing the condition or the
/// target, or disabling the rule, clears the alerts it has open.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRulePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<AlertCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<AlertTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One fired alert (also published on `steward/{org}/alerts/{rule}`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub rule: i64,
    pub device: i64,
    pub fired_at: i64,
    pub message: String,
    /// The reading or presence state that fired it.
    pub value: Value,
    /// When the condition stopped holding (the reading came back, the device came online, the
    /// rule was changed or deleted); None while the alert is open. A rule fires once per
    /// episode: again only after this is set.
    #[serde(default)]
    pub cleared_at: Option<i64>,
}

/// Serde for `Option<Option<T>>`: absent → None, `null` → Some(None), a value → Some(Some(v)).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_absent_from_null() {
        let p: DevicePatch = serde_json::from_str(r#"{"node":null}"#).unwrap();
        assert_eq!(p.node, Some(None));
        let p: DevicePatch = serde_json::from_str(r#"{"name":"Pump 2"}"#).unwrap();
        assert_eq!(p.node, None);
        let p: DevicePatch = serde_json::from_str(r#"{"node":7}"#).unwrap();
        assert_eq!(p.node, Some(Some(7)));
        assert!(serde_json::from_str::<DevicePatch>(r#"{"colour":"red"}"#).is_err());
    }

    #[test]
    fn alert_conditions_are_tagged() {
        let c: AlertCondition =
            serde_json::from_str(r#"{"kind":"threshold","field":"temp","op":"above","value":80}"#).unwrap();
        assert_eq!(
            c,
            AlertCondition::Threshold {
                field: "temp".into(),
                op: ThresholdOp::Above,
                value: 80.0
            }
        );
        assert!(serde_json::from_str::<AlertCondition>(r#"{"kind":"offline"}"#).is_err());
    }
}
