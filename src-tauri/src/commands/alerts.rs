//! Commands of the Alerts view: the rules (from the platform, or the cache offline), creating,
//! editing and deleting them on the platform (edits on a version: a stale one answers with the
//! server's rule), and the history of fired alerts. Each is a thin call into the `Console`.

use steward_console_core::alerts::{AlertRuleView, HistoryFilter, RuleDraft, RuleEdit};
use steward_console_core::{AlertHistoryPage, AlertsView, RuleWrite};
use tauri::State;

use super::{AppState, Reply, err};

#[tauri::command]
pub async fn alerts(state: State<'_, AppState>) -> Reply<AlertsView> {
    state.console.alerts().await.map_err(err)
}

#[tauri::command]
pub async fn create_alert_rule(state: State<'_, AppState>, draft: RuleDraft) -> Reply<AlertRuleView> {
    state.console.create_alert_rule(&draft).await.map_err(err)
}

#[tauri::command]
pub async fn update_alert_rule(
    state: State<'_, AppState>,
    id: i64,
    version: i64,
    edit: RuleEdit,
) -> Reply<RuleWrite> {
    state
        .console
        .update_alert_rule(id, version, &edit)
        .await
        .map_err(err)
}

#[tauri::command]
pub async fn delete_alert_rule(state: State<'_, AppState>, id: i64, version: i64) -> Reply<RuleWrite> {
    state.console.delete_alert_rule(id, version).await.map_err(err)
}

#[tauri::command]
pub async fn alert_history(state: State<'_, AppState>, filter: HistoryFilter) -> Reply<AlertHistoryPage> {
    state.console.alert_history(&filter).await.map_err(err)
}
