//! Alert evaluation: each org's enabled rules against telemetry readings (threshold rules) and
//! presence (offline-for-more-than rules).
//!
//! A rule fires once per episode: when its condition starts holding for a device, and again only
//! after it stopped holding (the reading came back within the threshold, the device came online)
//! — then the open alert is marked cleared. Episodes are kept in memory and rebuilt from the
//! store's open alerts at start, so a restart does not fire again what is already open.
//!
//! Evaluation is in memory on the plane's message loop; storing, target checks (the device's
//! logical groups and hierarchy node) and publishing happen on a writer task, so a slow disk
//! never holds up presence. A device outside a rule's target opens an episode that records
//! nothing; it is looked at again once the condition has stopped holding.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use steward_model::NodeId;
use steward_model::topics::{Id, Topic, topic};
use steward_wire::{AlertCondition, AlertRuleRow, ThresholdOp};
use tokio::sync::mpsc;

use super::presence::{Presence, Tracker};
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{NewAlert, Store};

/// How often offline rules are checked.
const OFFLINE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// What evaluation decided, for the writer task.
#[derive(Debug)]
pub enum AlertEvent {
    Fire {
        org: i64,
        rule: AlertRuleRow,
        device: i64,
        at: i64,
        value: Value,
    },
    Clear {
        rule: i64,
        device: i64,
        at: i64,
    },
}

struct Inner {
    /// Each org's enabled rules.
    rules: HashMap<i64, Vec<AlertRuleRow>>,
    /// (rule, device) whose condition holds: an episode under way.
    open: HashSet<(i64, i64)>,
}

pub struct Alerts {
    store: Arc<dyn Store>,
    inner: Mutex<Inner>,
    events: mpsc::UnboundedSender<AlertEvent>,
}

/// The reading's value at a dotted path (`motor.temp`), if it is a number.
fn field_value(reading: &Value, path: &str) -> Option<f64> {
    path.split('.')
        .try_fold(reading, |v, key| v.get(key))
        .and_then(Value::as_f64)
}

/// Whether the rule's threshold holds for this value.
fn crosses(op: ThresholdOp, value: f64, threshold: f64) -> bool {
    match op {
        ThresholdOp::Above => value > threshold,
        ThresholdOp::Below => value < threshold,
    }
}

fn enabled(rules: Vec<AlertRuleRow>) -> Vec<AlertRuleRow> {
    rules.into_iter().filter(|r| r.enabled).collect()
}

impl Alerts {
    /// Loads every org's rules and the open alerts. Events go to the returned receiver; give it
    /// to `run_writer`.
    pub fn load(store: Arc<dyn Store>) -> ApiResult<(Alerts, mpsc::UnboundedReceiver<AlertEvent>)> {
        let mut rules = HashMap::new();
        for org in store.orgs()? {
            rules.insert(org, enabled(store.list_alert_rules(org)?));
        }
        let open = store
            .open_alerts()?
            .into_iter()
            .map(|(_, rule, device)| (rule, device))
            .collect();
        let (events, rx) = mpsc::unbounded_channel();
        let alerts = Alerts {
            store,
            inner: Mutex::new(Inner { rules, open }),
            events,
        };
        Ok((alerts, rx))
    }

    fn lock(&self) -> ApiResult<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| ApiError::Internal("alert rules poisoned".to_owned()))
    }

    fn send(&self, event: AlertEvent) {
        // The writer ends only with the process.
        let _ = self.events.send(event);
    }

    /// After a rule of the org was created, changed or deleted: re-reads the org's rules. The
    /// episodes of a rule whose condition or target changed, or that was disabled or deleted,
    /// end (the store cleared their alerts in the same write).
    pub fn rules_changed(&self, org: i64) -> ApiResult<()> {
        let fresh = enabled(self.store.list_alert_rules(org)?);
        let mut inner = self.lock()?;
        let old = inner.rules.insert(org, fresh.clone()).unwrap_or_default();
        let ended: HashSet<i64> = old
            .iter()
            .filter(|o| {
                !fresh
                    .iter()
                    .any(|n| n.id == o.id && n.condition == o.condition && n.target == o.target)
            })
            .map(|o| o.id)
            .collect();
        inner.open.retain(|(rule, _)| !ended.contains(rule));
        Ok(())
    }

    /// Whether the org has enabled threshold rules (what `on_telemetry` evaluates).
    #[cfg(test)]
    pub fn watches_telemetry(&self, org: i64) -> bool {
        self.lock().is_ok_and(|inner| {
            inner.rules.get(&org).is_some_and(|rules| {
                rules
                    .iter()
                    .any(|r| matches!(r.condition, AlertCondition::Threshold { .. }))
            })
        })
    }

    /// A device's reading against the org's threshold rules. A reading without the rule's field
    /// (or with a non-number there) says nothing about it: the episode stays as it was.
    pub fn on_telemetry(&self, org: i64, device: i64, reading: &Value, now: i64) -> ApiResult<()> {
        let mut inner = self.lock()?;
        let Inner { rules, open } = &mut *inner;
        for rule in rules.get(&org).into_iter().flatten() {
            let AlertCondition::Threshold { field, op, value } = &rule.condition else {
                continue;
            };
            let Some(v) = field_value(reading, field) else {
                continue;
            };
            let key = (rule.id, device);
            if crosses(*op, v, *value) {
                if open.insert(key) {
                    self.send(AlertEvent::Fire {
                        org,
                        rule: rule.clone(),
                        device,
                        at: now,
                        value: json!({ "field": field, "value": v }),
                    });
                }
            } else if open.remove(&key) {
                self.send(AlertEvent::Clear {
                    rule: rule.id,
                    device,
                    at: now,
                });
            }
        }
        Ok(())
    }

    /// The offline rules against every device's presence.
    pub fn check_offline(&self, presence: &[Presence], now: i64) -> ApiResult<()> {
        let mut inner = self.lock()?;
        let Inner { rules, open } = &mut *inner;
        for &Presence {
            org,
            device,
            online,
            since,
        } in presence
        {
            for rule in rules.get(&org).into_iter().flatten() {
                let AlertCondition::Offline { seconds } = rule.condition else {
                    continue;
                };
                let key = (rule.id, device);
                let limit_ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
                // A device never seen has no offline episode to speak of.
                let overdue = !online && since.is_some_and(|s| now.saturating_sub(s) > limit_ms);
                if overdue {
                    if open.insert(key) {
                        self.send(AlertEvent::Fire {
                            org,
                            rule: rule.clone(),
                            device,
                            at: now,
                            value: json!({ "online": false, "since": since }),
                        });
                    }
                } else if online && open.remove(&key) {
                    self.send(AlertEvent::Clear {
                        rule: rule.id,
                        device,
                        at: now,
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether any org has offline rules.
    fn watches_presence(&self) -> bool {
        self.lock().is_ok_and(|inner| {
            inner
                .rules
                .values()
                .flatten()
                .any(|r| matches!(r.condition, AlertCondition::Offline { .. }))
        })
    }
}

/// Checks the offline rules every `OFFLINE_CHECK_EVERY`.
pub async fn run_offline_checks(alerts: Arc<Alerts>, tracker: Arc<Tracker>, state: SharedState) {
    let mut tick = tokio::time::interval(OFFLINE_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if !alerts.watches_presence() {
            continue;
        }
        let result = tracker
            .snapshot()
            .and_then(|presence| alerts.check_offline(&presence, state.clock.now_ms()));
        if let Err(e) = result {
            tracing::warn!(error = %e, "alerts: offline rules not checked");
        }
    }
}

/// Stores, targets and publishes what evaluation decided.
pub async fn run_writer(state: SharedState, mut events: mpsc::UnboundedReceiver<AlertEvent>) {
    while let Some(event) = events.recv().await {
        if let Err(e) = handle(&state, event) {
            tracing::warn!(error = %e, "alerts: event not recorded");
        }
    }
}

fn handle(state: &SharedState, event: AlertEvent) -> ApiResult<()> {
    match event {
        AlertEvent::Clear { rule, device, at } => {
            state.store.clear_alerts(rule, Some(device), at)?;
        }
        AlertEvent::Fire {
            org,
            rule,
            device,
            at,
            value,
        } => {
            let Some(row) = state.store.device(org, device)? else {
                return Ok(());
            };
            if !targeted(state, org, &rule, &row)? {
                return Ok(());
            }
            let message = match &rule.condition {
                AlertCondition::Threshold {
                    field,
                    op,
                    value: limit,
                } => {
                    let v = value.get("value").and_then(Value::as_f64).unwrap_or(f64::NAN);
                    let op = match op {
                        ThresholdOp::Above => "above",
                        ThresholdOp::Below => "below",
                    };
                    format!("{}: {} reports {field} = {v}, {op} {limit}", rule.name, row.name)
                }
                AlertCondition::Offline { seconds } => {
                    format!("{}: {} offline for more than {seconds} s", rule.name, row.name)
                }
            };
            let alert = state.store.record_alert(&NewAlert {
                org,
                rule: rule.id,
                device,
                fired_at: at,
                message,
                value,
            })?;
            if let Ok(id) = u32::try_from(rule.id) {
                let payload = serde_json::to_vec(&alert).map_err(|e| ApiError::Internal(e.to_string()))?;
                state.publish(topic(org, Topic::Alerts(Id::One(id))), payload, false);
            }
        }
    }
    Ok(())
}

/// Whether the device is within the rule's target: any device, a logical group's member, or
/// placed in the target node's subtree.
fn targeted(
    state: &SharedState,
    org: i64,
    rule: &AlertRuleRow,
    device: &steward_wire::DeviceRow,
) -> ApiResult<bool> {
    if let Some(g) = rule.target.logical_group {
        if !device.groups.contains(&g) {
            return Ok(false);
        }
    }
    if let Some(root) = rule.target.node {
        let node_id = |id: i64| u32::try_from(id).ok().map(NodeId);
        let (Some(node), Some(root)) = (device.node.and_then(node_id), node_id(root)) else {
            return Ok(false);
        };
        if !state.plant(org)?.node_within(node, root) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// The demo's store (its rule 1 is "Overheating": temp above 79.9, all devices).
    fn demo() -> (tempfile::TempDir, SharedState, i64) {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::serve::open(
            dir.path(),
            Arc::new(ManualClock::starting_at(1_000)),
            crate::Limits::default(),
        )
        .unwrap();
        crate::demo::seed_if_empty(&state).unwrap().unwrap();
        let org = state.store.orgs().unwrap()[0];
        (dir, state, org)
    }

    #[test]
    fn an_alert_open_before_a_restart_is_not_fired_again_and_clears_when_the_reading_recovers() {
        let (_dir, state, org) = demo();
        state
            .store
            .record_alert(&NewAlert {
                org,
                rule: 1,
                device: 5,
                fired_at: 500,
                message: "before the restart".to_owned(),
                value: json!({}),
            })
            .unwrap();
        let (alerts, mut events) = Alerts::load(state.store.clone()).unwrap();
        assert!(alerts.watches_telemetry(org));
        alerts
            .on_telemetry(org, 5, &json!({"temp": 85.0}), 2_000)
            .unwrap();
        assert!(events.try_recv().is_err(), "fired again after a restart");
        alerts
            .on_telemetry(org, 5, &json!({"temp": 20.0}), 3_000)
            .unwrap();
        assert!(matches!(
            events.try_recv(),
            Ok(AlertEvent::Clear {
                rule: 1,
                device: 5,
                at: 3_000
            })
        ));
        alerts
            .on_telemetry(org, 6, &json!({"temp": 85.0}), 4_000)
            .unwrap();
        assert!(matches!(
            events.try_recv(),
            Ok(AlertEvent::Fire {
                rule: AlertRuleRow { id: 1, .. },
                device: 6,
                ..
            })
        ));
        // A reading without the field says nothing.
        alerts
            .on_telemetry(org, 6, &json!({"pressure": 1.0}), 5_000)
            .unwrap();
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn disabling_a_rule_ends_its_episodes_and_stops_its_evaluation() {
        let (_dir, state, org) = demo();
        let (alerts, mut events) = Alerts::load(state.store.clone()).unwrap();
        alerts
            .on_telemetry(org, 6, &json!({"temp": 85.0}), 2_000)
            .unwrap();
        assert!(matches!(events.try_recv(), Ok(AlertEvent::Fire { .. })));
        let ctx = crate::store::WriteCtx {
            org,
            actor: crate::store::Actor::System,
            source: "test".to_owned(),
            now: 3_000,
            idempotency: None,
            status: 200,
        };
        let off = steward_wire::AlertRulePatch {
            enabled: Some(false),
            ..Default::default()
        };
        state.store.update_alert_rule(&ctx, 1, &off, None).unwrap();
        alerts.rules_changed(org).unwrap();
        assert!(!alerts.watches_telemetry(org));
        alerts
            .on_telemetry(org, 6, &json!({"temp": 90.0}), 4_000)
            .unwrap();
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn a_dotted_field_reads_a_nested_number_and_ignores_anything_else() {
        let reading = json!({ "temp": 81.5, "motor": { "rpm": 1200 }, "label": "x" });
        assert_eq!(field_value(&reading, "temp"), Some(81.5));
        assert_eq!(field_value(&reading, "motor.rpm"), Some(1200.0));
        assert_eq!(field_value(&reading, "label"), None);
        assert_eq!(field_value(&reading, "motor.speed"), None);
        assert!(crosses(ThresholdOp::Above, 80.1, 80.0));
        assert!(!crosses(ThresholdOp::Above, 80.0, 80.0));
        assert!(crosses(ThresholdOp::Below, 9.9, 10.0));
    }
}
