//! Alert rules and their history (the contract is `steward_wire::devices`). Rules are evaluated
//! by the device plane (`broker::plane::alerts`); every rule change is handed to it at once.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use steward_wire::{AlertCondition, AlertRow, AlertRulePatch, AlertRuleRow, AlertTarget, NewAlertRule};

use super::{ApiJson, ApiPath, ApiQuery, Idempotency, if_match};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::AlertQuery;

/// The longest telemetry field path a threshold rule may name.
const MAX_FIELD: usize = 64;
/// The longest "offline for more than" a rule may wait: a week.
const MAX_OFFLINE_SECONDS: u64 = 7 * 24 * 3600;
const DEFAULT_HISTORY: u32 = 100;
const MAX_HISTORY: u32 = 1000;

fn invalid_condition(message: String) -> ApiError {
    ApiError::unprocessable("invalid_condition", message)
}

/// A condition a rule can evaluate: a dotted field path of word characters and a finite
/// threshold, or an offline limit of 1 s to a week.
fn condition(c: AlertCondition) -> ApiResult<AlertCondition> {
    match c {
        AlertCondition::Threshold { field, op, value } => {
            let field = field.trim().to_owned();
            let valid_part =
                |p: &str| !p.is_empty() && p.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-');
            if field.len() > MAX_FIELD || !field.split('.').all(valid_part) {
                return Err(invalid_condition(format!(
                    "the field must be a path such as `temp` or `motor.rpm` (letters, digits, _ and -, \
                     parts joined by dots, at most {MAX_FIELD} characters)"
                )));
            }
            if !value.is_finite() {
                return Err(invalid_condition(
                    "the threshold must be a finite number".to_owned(),
                ));
            }
            Ok(AlertCondition::Threshold { field, op, value })
        }
        AlertCondition::Offline { seconds } => {
            if seconds == 0 || seconds > MAX_OFFLINE_SECONDS {
                return Err(invalid_condition(format!(
                    "seconds must be between 1 and {MAX_OFFLINE_SECONDS}"
                )));
            }
            Ok(AlertCondition::Offline { seconds })
        }
    }
}

/// A rule watches all devices, one logical group or one subtree: not both.
fn target(t: AlertTarget) -> ApiResult<AlertTarget> {
    if t.logical_group.is_some() && t.node.is_some() {
        return Err(ApiError::unprocessable(
            "invalid_target",
            "a rule targets a logical group or a hierarchy node, not both",
        ));
    }
    Ok(t)
}

/// Hands the org's rules to the evaluation (when there is a device plane).
fn rules_changed(state: &SharedState, org: i64) {
    if let Some(alerts) = state.alerts() {
        if let Err(e) = alerts.rules_changed(org) {
            tracing::warn!(error = %e, "alerts: rules not reloaded");
        }
    }
}

/// `GET /alert-rules`.
pub async fn list_rules(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<AlertRuleRow>>> {
    Ok(Json(state.store.list_alert_rules(caller.org)?))
}

/// `GET /alert-rules/{id}`.
pub async fn get_rule(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AlertRuleRow>> {
    state
        .store
        .alert_rule(caller.org, id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("alert rule"))
}

/// `POST /alert-rules`: 409 `name_taken`; 422 `invalid_name`, `invalid_condition`,
/// `invalid_target`, `unknown_group`, `unknown_node`.
pub async fn create_rule(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiJson(body): ApiJson<NewAlertRule>,
) -> ApiResult<(StatusCode, Json<AlertRuleRow>)> {
    let rule = NewAlertRule {
        name: super::devices::name(&body.name, "a rule name")?,
        condition: condition(body.condition)?,
        target: target(body.target)?,
        enabled: body.enabled,
    };
    let ctx = caller.write_ctx(&state, 201, idem.0);
    let row = state.store.create_alert_rule(&ctx, &rule)?;
    rules_changed(&state, caller.org);
    Ok((StatusCode::CREATED, Json(row)))
}

/// `PATCH /alert-rules/{id}` (If-Match): changing the condition or target, or disabling the
/// rule, clears its open alerts.
pub async fn update_rule(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AlertRulePatch>,
) -> ApiResult<Json<AlertRuleRow>> {
    let version = if_match(&headers)?;
    if body == AlertRulePatch::default() {
        return Err(super::devices::empty_patch());
    }
    let patch = AlertRulePatch {
        name: body
            .name
            .map(|n| super::devices::name(&n, "a rule name"))
            .transpose()?,
        condition: body.condition.map(condition).transpose()?,
        target: body.target.map(target).transpose()?,
        enabled: body.enabled,
    };
    let ctx = caller.write_ctx(&state, 200, idem.0);
    let row = state.store.update_alert_rule(&ctx, id, &patch, version)?;
    rules_changed(&state, caller.org);
    Ok(Json(row))
}

/// `DELETE /alert-rules/{id}` (If-Match): its alerts stay in the history.
pub async fn delete_rule(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let version = if_match(&headers)?;
    let ctx = caller.write_ctx(&state, 204, idem.0);
    state.store.delete_alert_rule(&ctx, id, version)?;
    rules_changed(&state, caller.org);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[serde(default)]
    rule: Option<i64>,
    #[serde(default)]
    device: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /alerts?rule=&device=&before=&limit=`: newest first; page back with `before` = the
/// smallest id seen. A key scoped to hierarchy subtrees sees only its devices' alerts.
pub async fn history(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<AlertRow>>> {
    let limit = q.limit.unwrap_or(DEFAULT_HISTORY);
    if limit == 0 || limit > MAX_HISTORY {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is 1 to {MAX_HISTORY}"),
        ));
    }
    let query = AlertQuery {
        rule: q.rule,
        device: q.device,
        before: q.before,
        limit,
    };
    let mut rows = state.store.alert_history(caller.org, &query)?;
    if let Some(visible) = super::presence::scoped_devices(&state, &caller)? {
        let visible: HashSet<i64> = visible.into_iter().collect();
        rows.retain(|a| visible.contains(&a.device));
    }
    Ok(Json(rows))
}
