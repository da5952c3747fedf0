//! Commands of the directory views: groups, projects, assets and their grants, workforce
//! readiness, invites, every change through one previewed path, and the CSV exports.

use steward_console_core::directory::{AssetRow, GroupRow, Invitation, ProjectRow, WorkforceRow};
use steward_console_core::{ChangeRequest, OutboxItem, PreviewLine};
use tauri::State;

use super::{AppState, Reply, err};

#[tauri::command]
pub async fn groups(state: State<'_, AppState>) -> Reply<Vec<GroupRow>> {
    state.console.groups().map_err(err)
}

#[tauri::command]
pub async fn project_members(state: State<'_, AppState>) -> Reply<Vec<ProjectRow>> {
    state.console.project_rows().map_err(err)
}

#[tauri::command]
pub async fn asset_grants(state: State<'_, AppState>) -> Reply<Vec<AssetRow>> {
    state.console.asset_rows().map_err(err)
}

#[tauri::command]
pub async fn workforces(state: State<'_, AppState>) -> Reply<Vec<WorkforceRow>> {
    state.console.workforces().map_err(err)
}

/// Who gains and who loses what if the change is saved.
#[tauri::command]
pub async fn preview_change(state: State<'_, AppState>, change: ChangeRequest) -> Reply<Vec<PreviewLine>> {
    state.console.preview_change(&change).map_err(err)
}

/// Queues the change and sends it when the platform answers.
#[tauri::command]
pub async fn submit_change(state: State<'_, AppState>, change: ChangeRequest) -> Reply<OutboxItem> {
    state.console.submit_change(&change).await.map_err(err)
}

/// Invites someone; the token is returned to the window once and kept nowhere else.
#[tauri::command]
pub async fn invite(state: State<'_, AppState>, email: String, role: String) -> Reply<Invitation> {
    state.console.invite(&email, &role).await.map_err(err)
}
