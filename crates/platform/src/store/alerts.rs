//! Alert rules (alerts.create/update/delete/list) and the alerts they fired (alerts.history).
//!
//! Rules are journaled writes (audit and change feed). Fired alerts are the device plane's own
//! bookkeeping, written by stewardd as it evaluates readings and presence; they are history, not
//! changes anyone made, so they are kept in `alerts` and published, not audited.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;
use steward_wire::{AlertCondition, AlertRow, AlertRulePatch, AlertRuleRow, AlertTarget, NewAlertRule};

use super::authz::to_json;
use super::{OrgId, SqliteStore, WriteCtx, check_version};
use crate::error::{ApiError, ApiResult};

/// Which alerts `alert_history` returns.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    pub rule: Option<i64>,
    pub device: Option<i64>,
    /// Only alerts with a smaller id (paging back from the newest).
    pub before: Option<i64>,
    pub limit: u32,
}

/// A fired alert before it is stored.
#[derive(Clone, Debug)]
pub struct NewAlert {
    pub org: OrgId,
    pub rule: i64,
    pub device: i64,
    pub fired_at: i64,
    pub message: String,
    pub value: Value,
}

pub trait AlertStore: Send + Sync {
    fn list_alert_rules(&self, org: OrgId) -> ApiResult<Vec<AlertRuleRow>>;
    fn alert_rule(&self, org: OrgId, id: i64) -> ApiResult<Option<AlertRuleRow>>;
    fn create_alert_rule(&self, ctx: &WriteCtx, rule: &NewAlertRule) -> ApiResult<AlertRuleRow>;
    fn update_alert_rule(
        &self,
        ctx: &WriteCtx,
        id: i64,
        patch: &AlertRulePatch,
        if_match: Option<i64>,
    ) -> ApiResult<AlertRuleRow>;
    /// Deletes the rule; its alerts stay in the history (open ones are cleared).
    fn delete_alert_rule(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<AlertRuleRow>;
    fn record_alert(&self, alert: &NewAlert) -> ApiResult<AlertRow>;
    /// Clears the rule's open alerts (for one device, or all); returns how many.
    fn clear_alerts(&self, rule: i64, device: Option<i64>, at: i64) -> ApiResult<usize>;
    /// Every open alert as (org, rule, device): the episodes under way when stewardd starts.
    fn open_alerts(&self) -> ApiResult<Vec<(OrgId, i64, i64)>>;
    fn alert_history(&self, org: OrgId, q: &AlertQuery) -> ApiResult<Vec<AlertRow>>;
}

const RULE_COLUMNS: &str = "id, name, condition, target_group, target_node, enabled, version";
const ALERT_COLUMNS: &str = "id, rule_id, device_id, fired_at, message, value, cleared_at";

fn rule_from_row(r: &Row) -> rusqlite::Result<AlertRuleRow> {
    let condition: String = r.get(2)?;
    let condition = serde_json::from_str::<AlertCondition>(&condition).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(AlertRuleRow {
        id: r.get(0)?,
        name: r.get(1)?,
        condition,
        target: AlertTarget {
            logical_group: r.get(3)?,
            node: r.get(4)?,
        },
        enabled: r.get(5)?,
        version: r.get(6)?,
    })
}

fn alert_from_row(r: &Row) -> rusqlite::Result<AlertRow> {
    let value: String = r.get(5)?;
    Ok(AlertRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        device: r.get(2)?,
        fired_at: r.get(3)?,
        message: r.get(4)?,
        value: serde_json::from_str(&value).unwrap_or(Value::Null),
        cleared_at: r.get(6)?,
    })
}

fn load_rule(c: &Connection, org: OrgId, id: i64) -> ApiResult<Option<AlertRuleRow>> {
    Ok(c.query_row(
        &format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = ?1 AND id = ?2"),
        params![org, id],
        rule_from_row,
    )
    .optional()?)
}

fn existing_rule(c: &Connection, org: OrgId, id: i64) -> ApiResult<AlertRuleRow> {
    load_rule(c, org, id)?.ok_or_else(|| ApiError::not_found("alert rule"))
}

fn condition_json(c: &AlertCondition) -> ApiResult<String> {
    serde_json::to_string(c).map_err(|e| ApiError::Internal(e.to_string()))
}

/// 422 `unknown_group` / `unknown_node` when the target names what the org does not have.
fn check_target(c: &Connection, org: OrgId, target: &AlertTarget) -> ApiResult<()> {
    let exists = |table: &str, id: i64| -> ApiResult<bool> {
        Ok(c.query_row(
            &format!("SELECT EXISTS(SELECT 1 FROM {table} WHERE org_id = ?1 AND id = ?2)"),
            params![org, id],
            |r| r.get(0),
        )?)
    };
    if let Some(g) = target.logical_group {
        if !exists("logical_groups", g)? {
            return Err(ApiError::unprocessable(
                "unknown_group",
                format!("logical group {g} does not exist"),
            ));
        }
    }
    if let Some(n) = target.node {
        if !exists("hierarchy_nodes", n)? {
            return Err(ApiError::unprocessable(
                "unknown_node",
                format!("hierarchy node {n} does not exist"),
            ));
        }
    }
    Ok(())
}

/// The names of the rules targeting this logical group (`column` = `target_group`) or node
/// (`target_node`): deleting what a rule watches would leave it watching nothing.
pub(super) fn rules_targeting(c: &Connection, column: &str, id: i64) -> ApiResult<Vec<String>> {
    let mut stmt = c.prepare(&format!(
        "SELECT name FROM alert_rules WHERE {column} = ?1 ORDER BY name"
    ))?;
    let names = stmt
        .query_map([id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

fn clear(c: &Connection, rule: i64, device: Option<i64>, at: i64) -> ApiResult<usize> {
    Ok(c.prepare_cached(
        "UPDATE alerts SET cleared_at = ?3
             WHERE rule_id = ?1 AND (?2 IS NULL OR device_id = ?2) AND cleared_at IS NULL",
    )?
    .execute(params![rule, device, at])?)
}

fn journal_rule(
    journal: &mut super::Journal,
    action: &str,
    before: Option<&AlertRuleRow>,
    after: Option<&AlertRuleRow>,
) {
    let id = after.or(before).map_or(0, |r| r.id);
    journal.audit(
        action,
        format!("alert_rule:{id}"),
        before.map(to_json),
        after.map(to_json),
    );
    match after {
        Some(r) => journal.change("alert_rule", id, "put", r.version, Some(to_json(r))),
        None => journal.change(
            "alert_rule",
            id,
            "delete",
            before.map_or(0, |r| r.version + 1),
            None,
        ),
    }
}

impl AlertStore for SqliteStore {
    fn list_alert_rules(&self, org: OrgId) -> ApiResult<Vec<AlertRuleRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org], rule_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn alert_rule(&self, org: OrgId, id: i64) -> ApiResult<Option<AlertRuleRow>> {
        self.read(|c| load_rule(c, org, id))
    }

    fn create_alert_rule(&self, ctx: &WriteCtx, rule: &NewAlertRule) -> ApiResult<AlertRuleRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            super::check_name_free(tx, "alert_rules", "an alert rule", org, &rule.name, None)?;
            check_target(tx, org, &rule.target)?;
            tx.execute(
                "INSERT INTO alert_rules (org_id, name, condition, target_group, target_node, enabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    org,
                    rule.name,
                    condition_json(&rule.condition)?,
                    rule.target.logical_group,
                    rule.target.node,
                    rule.enabled,
                    ctx.now
                ],
            )?;
            let row = existing_rule(tx, org, tx.last_insert_rowid())?;
            journal_rule(journal, "alerts.create", None, Some(&row));
            Ok(row)
        })
    }

    fn update_alert_rule(
        &self,
        ctx: &WriteCtx,
        id: i64,
        patch: &AlertRulePatch,
        if_match: Option<i64>,
    ) -> ApiResult<AlertRuleRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            let before = existing_rule(tx, org, id)?;
            check_version(before.version, if_match, || to_json(&before))?;
            let name = patch.name.as_deref().unwrap_or(&before.name);
            let condition = patch.condition.as_ref().unwrap_or(&before.condition);
            let target = patch.target.as_ref().unwrap_or(&before.target);
            let enabled = patch.enabled.unwrap_or(before.enabled);
            super::check_name_free(tx, "alert_rules", "an alert rule", org, name, Some(id))?;
            check_target(tx, org, target)?;
            tx.execute(
                "UPDATE alert_rules SET name = ?2, condition = ?3, target_group = ?4, target_node = ?5,
                 enabled = ?6, version = version + 1 WHERE id = ?1",
                params![
                    id,
                    name,
                    condition_json(condition)?,
                    target.logical_group,
                    target.node,
                    enabled
                ],
            )?;
            let after = existing_rule(tx, org, id)?;
            // What the open alerts were about no longer holds as they were fired.
            if after.condition != before.condition || after.target != before.target || !after.enabled {
                clear(tx, id, None, ctx.now)?;
            }
            journal_rule(journal, "alerts.update", Some(&before), Some(&after));
            Ok(after)
        })
    }

    fn delete_alert_rule(&self, ctx: &WriteCtx, id: i64, if_match: Option<i64>) -> ApiResult<AlertRuleRow> {
        let org = ctx.org;
        self.write(ctx, |tx, journal| {
            let rule = existing_rule(tx, org, id)?;
            check_version(rule.version, if_match, || to_json(&rule))?;
            tx.execute("DELETE FROM alert_rules WHERE id = ?1", [id])?;
            clear(tx, id, None, ctx.now)?;
            journal_rule(journal, "alerts.delete", Some(&rule), None);
            Ok(rule)
        })
    }

    fn record_alert(&self, a: &NewAlert) -> ApiResult<AlertRow> {
        let conn = self.writer()?;
        let id: i64 = conn
            .prepare_cached(
                "INSERT INTO alerts (org_id, rule_id, device_id, fired_at, message, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            )?
            .query_row(
                params![
                    a.org,
                    a.rule,
                    a.device,
                    a.fired_at,
                    a.message,
                    a.value.to_string()
                ],
                |r| r.get(0),
            )?;
        Ok(AlertRow {
            id,
            rule: a.rule,
            device: a.device,
            fired_at: a.fired_at,
            message: a.message.clone(),
            value: a.value.clone(),
            cleared_at: None,
        })
    }

    fn clear_alerts(&self, rule: i64, device: Option<i64>, at: i64) -> ApiResult<usize> {
        clear(&*self.writer()?, rule, device, at)
    }

    fn open_alerts(&self) -> ApiResult<Vec<(OrgId, i64, i64)>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT org_id, rule_id, device_id FROM alerts WHERE cleared_at IS NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn alert_history(&self, org: OrgId, q: &AlertQuery) -> ApiResult<Vec<AlertRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts
                 WHERE org_id = ?1 AND (?2 IS NULL OR rule_id = ?2) AND (?3 IS NULL OR device_id = ?3)
                   AND (?4 IS NULL OR id < ?4)
                 ORDER BY id DESC LIMIT ?5"
            ))?;
            let rows = stmt.query_map(params![org, q.rule, q.device, q.before, q.limit], alert_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
