//! The Alerts view: the org's alert rules (condition, target, enabled) and the history of fired
//! alerts, with creating, editing, enabling/disabling and deleting rules.
//!
//! Rules are listed from the platform when the session is online, and otherwise from the cache,
//! which the change feed fills with `alert_rule` entities for holders of alerts.list (so the list
//! opens offline and says how old it is). Writes and the history need the platform: there is no
//! outbox for alert rules (a rule edited offline would be replayed against a device plane that
//! may have fired or cleared alerts meanwhile; the console says the platform is needed instead).
//! An edit or delete carries the rule's version (If-Match); a 412 answers with the server's
//! current rule, which the view shows so the user can retry on it.

use std::collections::HashMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::{Action, Permission, Principal, Resource, UserId};
use steward_wire::{AlertCondition, AlertRow, AlertRulePatch, AlertRuleRow, AlertTarget, ThresholdOp};
use ts_rs::TS;

use crate::api::{ApiClient, into_result, to_value};
use crate::cache::Cache;
use crate::console::{Console, Open, plant_with_pending};
use crate::devices::{self, GroupRollup};
use crate::error::{CoreError, CoreResult};
use crate::live::LiveStatus;
use crate::views::DataAge;

/// Alerts fetched to count each rule's open ones (the platform's largest history page).
const OPEN_SCAN: u32 = 1000;
/// History rows per page unless the caller asks otherwise.
const HISTORY_PAGE: u32 = 50;
const MAX_HISTORY_PAGE: u32 = 1000;

/// What a rule watches, as the view shows and edits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum RuleCondition {
    /// A numeric telemetry field (a dotted path such as `motor.temp`) above a threshold.
    Above {
        field: String,
        value: f64,
    },
    Below {
        field: String,
        value: f64,
    },
    /// The device has been offline for more than this many seconds.
    Offline {
        #[ts(type = "number")]
        seconds: u64,
    },
}

impl From<AlertCondition> for RuleCondition {
    fn from(c: AlertCondition) -> RuleCondition {
        match c {
            AlertCondition::Threshold {
                field,
                op: ThresholdOp::Above,
                value,
            } => RuleCondition::Above { field, value },
            AlertCondition::Threshold {
                field,
                op: ThresholdOp::Below,
                value,
            } => RuleCondition::Below { field, value },
            AlertCondition::Offline { seconds } => RuleCondition::Offline { seconds },
        }
    }
}

impl From<RuleCondition> for AlertCondition {
    fn from(c: RuleCondition) -> AlertCondition {
        match c {
            RuleCondition::Above { field, value } => AlertCondition::Threshold {
                field,
                op: ThresholdOp::Above,
                value,
            },
            RuleCondition::Below { field, value } => AlertCondition::Threshold {
                field,
                op: ThresholdOp::Below,
                value,
            },
            RuleCondition::Offline { seconds } => AlertCondition::Offline { seconds },
        }
    }
}

/// Which devices a rule applies to: all (both None), one logical group, or a hierarchy subtree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RuleTarget {
    #[ts(type = "number | null")]
    pub logical_group: Option<i64>,
    #[ts(type = "number | null")]
    pub node: Option<i64>,
    /// The group's name or the node's path ("North site › Line 2"), when the cache knows it.
    #[serde(default)]
    pub name: Option<String>,
}

/// One rule as the view lists it.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AlertRuleView {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub condition: RuleCondition,
    pub target: RuleTarget,
    pub enabled: bool,
    /// The version an edit or delete is based on (If-Match).
    #[ts(type = "number")]
    pub version: i64,
    /// Open alerts of the rule among the newest alerts; None when not known (offline, or the
    /// session may not read the history).
    pub open_alerts: Option<u32>,
}

/// What the session may do here, as the resolver decides it on the cached plant (the platform
/// enforces the same; the view hides what would be refused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AlertRights {
    pub list: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub history: bool,
    /// alerts.listen: alerts arrive live (over the session's broker credential).
    pub listen: bool,
}

/// A device a history filter can pick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct DeviceRef {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct AlertsView {
    /// In name order.
    pub rules: Vec<AlertRuleView>,
    /// Whether the rules came from the platform just now (otherwise from the cache).
    pub from_platform: bool,
    /// When `open_alerts` may miss older open alerts (the newest page was full).
    pub open_counts_partial: bool,
    pub rights: AlertRights,
    /// The targets a rule can pick: logical groups by name, then hierarchy nodes in tree order.
    pub targets: Vec<GroupRollup>,
    /// Known devices by name, for the history's device filter.
    pub devices: Vec<DeviceRef>,
    pub age: DataAge,
    /// Whether alerts arrive live, and if not why (`code`); they start with live presence.
    pub live: LiveStatus,
}

/// A new rule from the dialog.
#[derive(Clone, Debug, Deserialize, TS)]
#[ts(export)]
pub struct RuleDraft {
    pub name: String,
    pub condition: RuleCondition,
    pub target: RuleTarget,
    pub enabled: bool,
}

/// A change to a rule: each field present is replaced.
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[ts(export)]
pub struct RuleEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub condition: Option<RuleCondition>,
    #[serde(default)]
    pub target: Option<RuleTarget>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// The outcome of an edit or delete: done, or refused because the rule changed meanwhile (the
/// server's current rule comes back for the user to retry on).
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[ts(export)]
pub enum RuleWrite {
    Saved { rule: AlertRuleView },
    Deleted,
    Conflict { current: Option<AlertRuleView> },
}

/// A history query: newest first; page back with `before` = the previous page's `next_before`.
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[ts(export)]
pub struct HistoryFilter {
    #[serde(default)]
    #[ts(type = "number | null")]
    pub rule: Option<i64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub device: Option<i64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AlertHistoryRow {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub rule: i64,
    /// The rule's name, or "deleted rule #7".
    pub rule_name: String,
    #[ts(type = "number")]
    pub device: i64,
    pub device_name: String,
    #[ts(type = "number")]
    pub fired_at: i64,
    /// None while the alert is open.
    #[ts(type = "number | null")]
    pub cleared_at: Option<i64>,
    /// "temp = 80.1" for a reading, otherwise the platform's message.
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AlertHistoryPage {
    pub rows: Vec<AlertHistoryRow>,
    /// The `before` of the next (older) page; None when this page was the last.
    #[ts(type = "number | null")]
    pub next_before: Option<i64>,
}

/// Names from the cache: logical groups, hierarchy nodes (their paths) and devices by id.
struct Names {
    groups: HashMap<i64, String>,
    nodes: HashMap<i64, String>,
    devices: HashMap<i64, String>,
}

fn names(targets: &[GroupRollup], devices: &[DeviceRef]) -> Names {
    let mut groups = HashMap::new();
    let mut nodes = HashMap::new();
    for t in targets {
        match t.kind {
            devices::RollupKind::Logical => groups.insert(t.id, t.name.clone()),
            devices::RollupKind::Hierarchy => nodes.insert(t.id, t.path.clone()),
        };
    }
    Names {
        groups,
        nodes,
        devices: devices.iter().map(|d| (d.id, d.name.clone())).collect(),
    }
}

fn target_view(t: &AlertTarget, names: &Names) -> RuleTarget {
    let name = match (t.logical_group, t.node) {
        (Some(g), _) => names.groups.get(&g).cloned(),
        (None, Some(n)) => names.nodes.get(&n).cloned(),
        (None, None) => None,
    };
    RuleTarget {
        logical_group: t.logical_group,
        node: t.node,
        name,
    }
}

fn rule_view(r: AlertRuleRow, names: &Names, open: Option<&HashMap<i64, u32>>) -> AlertRuleView {
    AlertRuleView {
        target: target_view(&r.target, names),
        open_alerts: open.map(|o| o.get(&r.id).copied().unwrap_or(0)),
        id: r.id,
        name: r.name,
        condition: r.condition.into(),
        enabled: r.enabled,
        version: r.version,
    }
}

fn wire_target(t: &RuleTarget) -> AlertTarget {
    AlertTarget {
        logical_group: t.logical_group,
        node: t.node,
    }
}

/// What the session's user may do with alerts, on the cached plant.
fn rights(open: &Open) -> CoreResult<AlertRights> {
    let Some(user) = open.user_id.and_then(|u| u32::try_from(u).ok()) else {
        return Ok(AlertRights::default());
    };
    let plant = plant_with_pending(open)?;
    let may = |p: Permission| {
        plant
            .decide(Principal::User(UserId(user)), Action::from(p), Resource::Org)
            .allowed
    };
    Ok(AlertRights {
        list: may(Permission::AlertsList),
        create: may(Permission::AlertsCreate),
        update: may(Permission::AlertsUpdate),
        delete: may(Permission::AlertsDelete),
        history: may(Permission::AlertsHistory),
        listen: may(Permission::AlertsListen),
    })
}

/// Whether the session's user receives alerts live (alerts.listen on the cached plant).
pub(crate) fn may_listen(open: &Open) -> CoreResult<bool> {
    Ok(rights(open)?.listen)
}

/// Rule and device names for naming alerts as the history shows them: what the live connection
/// uses for the alerts that arrive, kept up to date by the console's reads and by the platform.
#[derive(Clone, Debug, Default)]
pub struct AlertLabels {
    rules: HashMap<i64, AlertRuleRow>,
    devices: HashMap<i64, String>,
}

impl AlertLabels {
    pub(crate) fn learn_rules(&mut self, rules: impl IntoIterator<Item = AlertRuleRow>) {
        self.rules.extend(rules.into_iter().map(|r| (r.id, r)));
    }

    pub(crate) fn learn_devices(&mut self, devices: impl IntoIterator<Item = (i64, String)>) {
        self.devices.extend(devices);
    }

    /// Adds (or renames from) what `other` knows.
    pub(crate) fn learn(&mut self, other: AlertLabels) {
        self.rules.extend(other.rules);
        self.devices.extend(other.devices);
    }

    /// Whether the alert's rule and device are known by name.
    pub(crate) fn knows(&self, a: &AlertRow) -> (bool, bool) {
        (
            self.rules.contains_key(&a.rule),
            self.devices.contains_key(&a.device),
        )
    }

    /// A live alert as a history row; a rule still unknown is named by its id.
    pub(crate) fn live_row(&self, a: AlertRow) -> AlertHistoryRow {
        history_row(a, &self.rules, &self.devices, |id| format!("rule #{id}"))
    }
}

/// One alert as the history shows it, `unknown_rule` naming a rule the names lack.
fn history_row(
    a: AlertRow,
    rules: &HashMap<i64, AlertRuleRow>,
    devices: &HashMap<i64, String>,
    unknown_rule: impl Fn(i64) -> String,
) -> AlertHistoryRow {
    let rule = rules.get(&a.rule);
    AlertHistoryRow {
        reason: reason(&a, rule),
        rule_name: rule.map_or_else(|| unknown_rule(a.rule), |r| r.name.clone()),
        device_name: devices
            .get(&a.device)
            .cloned()
            .unwrap_or_else(|| format!("device #{}", a.device)),
        id: a.id,
        rule: a.rule,
        device: a.device,
        fired_at: a.fired_at,
        cleared_at: a.cleared_at,
        message: a.message,
    }
}

/// The names the cache knows: its rules and devices.
pub(crate) fn cached_labels(open: &Open, status: LiveStatus) -> CoreResult<AlertLabels> {
    let age = crate::console::age(open)?;
    let (_, devices) = known(&open.cache, age, status)?;
    let mut labels = AlertLabels::default();
    labels.learn_rules(open.cache.all::<AlertRuleRow>("alert_rule")?);
    labels.learn_devices(devices.into_iter().map(|d| (d.id, d.name)));
    Ok(labels)
}

/// Targets and devices from the cache.
fn known(cache: &Cache, age: DataAge, status: LiveStatus) -> CoreResult<(Vec<GroupRollup>, Vec<DeviceRef>)> {
    let view = devices::devices_view(cache, &HashMap::new(), age, status)?;
    let devices = view
        .devices
        .into_iter()
        .map(|d| DeviceRef {
            id: d.id,
            name: d.name,
        })
        .collect();
    Ok((view.rollups, devices))
}

/// "temp = 80.1" when the alert's value carries a reading of a threshold rule; otherwise the
/// platform's own message.
fn reason(a: &AlertRow, rule: Option<&AlertRuleRow>) -> String {
    let reading = a
        .value
        .get("value")
        .and_then(Value::as_f64)
        .or_else(|| a.value.as_f64());
    match (reading, rule.map(|r| &r.condition)) {
        (Some(v), Some(AlertCondition::Threshold { field, .. })) => format!("{field} = {v}"),
        _ => a.message.clone(),
    }
}

/// The page's `before` for the next (older) page: the smallest id, when the page was full.
pub fn next_before(rows: &[AlertRow], limit: u32) -> Option<i64> {
    if u32::try_from(rows.len()).unwrap_or(u32::MAX) < limit {
        return None;
    }
    rows.iter().map(|r| r.id).min()
}

fn conflict_current(e: &CoreError) -> Option<Option<AlertRuleRow>> {
    match e {
        CoreError::Api {
            status: 412, details, ..
        } => Some(
            details
                .as_ref()
                .and_then(|d| d.get("current"))
                .and_then(|c| serde_json::from_value::<AlertRuleRow>(c.clone()).ok()),
        ),
        _ => None,
    }
}

impl Console {
    fn alerts_api(&self) -> CoreResult<(ApiClient, bool)> {
        self.with_open(|open| Ok((open.api.clone(), open.online)))
    }

    /// The rules with their targets named: from the platform when online (with each rule's open
    /// alerts when the session may read the history), from the cache otherwise.
    pub async fn alerts(&self) -> CoreResult<AlertsView> {
        let (api, online) = self.alerts_api()?;
        let rights = self.with_open(|open| rights(open))?;
        let mut listed = None;
        let mut open_counts = None;
        let mut partial = false;
        // A role without alerts.list would be refused; its cache holds no rules either.
        if online && rights.list {
            match self.note(
                api.call::<Vec<AlertRuleRow>>(Method::GET, "/alert-rules", None)
                    .await,
            ) {
                Ok(rules) => listed = Some(rules),
                Err(CoreError::Offline(_)) => {}
                Err(e) => return Err(e),
            }
            if listed.is_some() && rights.history {
                let path = format!("/alerts?limit={OPEN_SCAN}");
                match api.call::<Vec<AlertRow>>(Method::GET, &path, None).await {
                    Ok(rows) => {
                        partial = u32::try_from(rows.len()).unwrap_or(u32::MAX) >= OPEN_SCAN;
                        let mut counts: HashMap<i64, u32> = HashMap::new();
                        for a in rows.iter().filter(|a| a.cleared_at.is_none()) {
                            *counts.entry(a.rule).or_default() += 1;
                        }
                        open_counts = Some(counts);
                    }
                    // The counts are a convenience: the rules show without them.
                    Err(e) => tracing::warn!(code = %e.code(), "open alert counts not read"),
                }
            }
        }
        self.live.set_alerts_allowed(rights.listen);
        let status = self.live_status();
        let live = self.live_alert_status();
        let (view, labels) = self.with_open(|open| {
            let age = crate::console::age(open)?;
            let (targets, devices) = known(&open.cache, age.clone(), status)?;
            let names = names(&targets, &devices);
            let from_platform = listed.is_some();
            let rows = match listed {
                Some(rows) => rows,
                None => open.cache.all::<AlertRuleRow>("alert_rule")?,
            };
            // The live connection names the alerts that arrive with what this read knows.
            let mut labels = AlertLabels::default();
            labels.learn_rules(rows.iter().cloned());
            labels.learn_devices(devices.iter().map(|d| (d.id, d.name.clone())));
            let mut rules: Vec<AlertRuleView> = rows
                .into_iter()
                .map(|r| rule_view(r, &names, open_counts.as_ref()))
                .collect();
            rules.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.id.cmp(&b.id))
            });
            let view = AlertsView {
                rules,
                from_platform,
                open_counts_partial: partial && open_counts.is_some(),
                rights,
                targets,
                devices,
                age,
                live,
            };
            Ok((view, labels))
        })?;
        self.learn_alert_labels(labels);
        Ok(view)
    }

    fn alert_names(&self) -> CoreResult<Names> {
        let status = self.live_status();
        self.with_open(|open| {
            let age = crate::console::age(open)?;
            let (targets, devices) = known(&open.cache, age, status)?;
            Ok(names(&targets, &devices))
        })
    }

    /// Pulls the feed so the cache holds the rule as the platform now does; offline is not an
    /// error here (the write already landed).
    async fn alerts_refresh(&self) {
        if let Err(e) = self.sync(|_| {}).await {
            tracing::warn!(code = %e.code(), "sync after an alert-rule change failed");
        }
    }

    /// Creates a rule on the platform (online only).
    pub async fn create_alert_rule(&self, draft: &RuleDraft) -> CoreResult<AlertRuleView> {
        let body = to_value(&steward_wire::NewAlertRule {
            name: draft.name.trim().to_owned(),
            condition: draft.condition.clone().into(),
            target: wire_target(&draft.target),
            enabled: draft.enabled,
        })?;
        let (api, _) = self.alerts_api()?;
        let row: AlertRuleRow = self.note(api.call(Method::POST, "/alert-rules", Some(&body)).await)?;
        self.alerts_refresh().await;
        let names = self.alert_names()?;
        Ok(rule_view(row, &names, None))
    }

    /// Changes a rule (online only), based on `version`: a stale version is a `Conflict` with
    /// the platform's current rule.
    pub async fn update_alert_rule(&self, id: i64, version: i64, edit: &RuleEdit) -> CoreResult<RuleWrite> {
        let patch = AlertRulePatch {
            name: edit.name.as_ref().map(|n| n.trim().to_owned()),
            condition: edit.condition.clone().map(Into::into),
            target: edit.target.as_ref().map(wire_target),
            enabled: edit.enabled,
        };
        let body = to_value(&patch)?;
        let (api, _) = self.alerts_api()?;
        let headers = [("if-match", format!("\"{version}\""))];
        let reply = self.note(
            api.send(
                Method::PATCH,
                &format!("/alert-rules/{id}"),
                Some(&body),
                &headers,
            )
            .await,
        )?;
        let written = into_result::<AlertRuleRow>(reply);
        self.write_outcome(written.map(Some)).await
    }

    /// Deletes a rule (online only), based on `version`; its alerts stay in the history.
    pub async fn delete_alert_rule(&self, id: i64, version: i64) -> CoreResult<RuleWrite> {
        let (api, _) = self.alerts_api()?;
        let headers = [("if-match", format!("\"{version}\""))];
        let reply = self.note(
            api.send(Method::DELETE, &format!("/alert-rules/{id}"), None, &headers)
                .await,
        )?;
        let written = into_result::<Value>(reply).map(|_| None);
        self.write_outcome(written).await
    }

    async fn write_outcome(&self, written: CoreResult<Option<AlertRuleRow>>) -> CoreResult<RuleWrite> {
        match written {
            Ok(row) => {
                self.alerts_refresh().await;
                let names = self.alert_names()?;
                Ok(match row {
                    Some(row) => RuleWrite::Saved {
                        rule: rule_view(row, &names, None),
                    },
                    None => RuleWrite::Deleted,
                })
            }
            Err(e) => match conflict_current(&e) {
                Some(current) => {
                    // The cache catches up with the rule the user is now shown.
                    self.alerts_refresh().await;
                    let names = self.alert_names()?;
                    Ok(RuleWrite::Conflict {
                        current: current.map(|r| rule_view(r, &names, None)),
                    })
                }
                None => Err(e),
            },
        }
    }

    /// One page of fired alerts, newest first (online only), with rule and device names.
    pub async fn alert_history(&self, filter: &HistoryFilter) -> CoreResult<AlertHistoryPage> {
        let limit = filter.limit.unwrap_or(HISTORY_PAGE).clamp(1, MAX_HISTORY_PAGE);
        let mut query = vec![format!("limit={limit}")];
        for (name, value) in [
            ("rule", filter.rule),
            ("device", filter.device),
            ("before", filter.before),
        ] {
            if let Some(v) = value {
                query.push(format!("{name}={v}"));
            }
        }
        let (api, _) = self.alerts_api()?;
        let path = format!("/alerts?{}", query.join("&"));
        let rows: Vec<AlertRow> = self.note(api.call(Method::GET, &path, None).await)?;
        // Rule names from the platform (deleted rules are gone from the cache and the list).
        let rules: HashMap<i64, AlertRuleRow> = match api
            .call::<Vec<AlertRuleRow>>(Method::GET, "/alert-rules", None)
            .await
        {
            Ok(rules) => rules.into_iter().map(|r| (r.id, r)).collect(),
            Err(_) => self
                .with_open(|open| open.cache.all::<AlertRuleRow>("alert_rule"))?
                .into_iter()
                .map(|r| (r.id, r))
                .collect(),
        };
        let names = self.alert_names()?;
        self.learn_alert_labels({
            let mut labels = AlertLabels::default();
            labels.learn_rules(rules.values().cloned());
            labels.learn_devices(names.devices.iter().map(|(id, name)| (*id, name.clone())));
            labels
        });
        let next = next_before(&rows, limit);
        Ok(AlertHistoryPage {
            rows: rows
                .into_iter()
                .map(|a| history_row(a, &rules, &names.devices, |id| format!("deleted rule #{id}")))
                .collect(),
            next_before: next,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn alert(id: i64) -> AlertRow {
        AlertRow {
            id,
            rule: 1,
            device: 2,
            fired_at: 0,
            message: "Hot: Pump reports temp = 81, above 79.9".into(),
            value: serde_json::json!({"value": 81.0}),
            cleared_at: None,
        }
    }

    #[test]
    fn conditions_round_trip_through_the_wire() {
        for c in [
            RuleCondition::Above {
                field: "motor.temp".into(),
                value: 79.9,
            },
            RuleCondition::Below {
                field: "pressure".into(),
                value: -1.5,
            },
            RuleCondition::Offline { seconds: 120 },
        ] {
            let wire: AlertCondition = c.clone().into();
            assert_eq!(RuleCondition::from(wire), c);
        }
        let json = serde_json::to_value(RuleCondition::Offline { seconds: 60 }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "offline", "seconds": 60}));
    }

    #[test]
    fn a_full_page_pages_back_from_its_smallest_id() {
        let rows = vec![alert(9), alert(7), alert(5)];
        assert_eq!(next_before(&rows, 3), Some(5));
        assert_eq!(next_before(&rows, 4), None);
        assert_eq!(next_before(&[], 1), None);
    }

    #[test]
    fn a_reading_is_named_by_its_field() {
        let rule = AlertRuleRow {
            id: 1,
            name: "Hot".into(),
            condition: AlertCondition::Threshold {
                field: "temp".into(),
                op: ThresholdOp::Above,
                value: 79.9,
            },
            target: AlertTarget::default(),
            enabled: true,
            version: 1,
        };
        assert_eq!(reason(&alert(1), Some(&rule)), "temp = 81");
        assert_eq!(reason(&alert(1), None), "Hot: Pump reports temp = 81, above 79.9");
    }
}
