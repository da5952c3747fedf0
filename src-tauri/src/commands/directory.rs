//! Commands of the directory views: groups, projects, assets and their grants, workforce
//! readiness, invites, every change through one previewed path, and the CSV exports.

use steward_console_core::directory::{AssetRow, GroupRow, Invitation, ProjectRow, WorkforceRow};
use steward_console_core::{ChangeRequest, IpcError, OutboxItem, PreviewLine};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

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

/// Which CSV the user exports.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Export {
    RoleAssignments,
    EffectiveMatrix,
}

fn export_failed(message: String) -> IpcError {
    IpcError {
        code: "export_failed".into(),
        message,
    }
}

/// Builds the CSV, asks where to save it with the system's save dialog, and writes it there.
/// The dialog runs here, not in the page, so the page can neither open it nor name a path to
/// write to: it only says which export. Returns the path written, or `None` when cancelled.
#[tauri::command]
pub async fn export_csv(app: AppHandle, state: State<'_, AppState>, kind: Export) -> Reply<Option<String>> {
    let (csv, name) = match kind {
        Export::RoleAssignments => (
            state.console.export_role_assignments().map_err(err)?,
            "steward-role-assignments.csv",
        ),
        Export::EffectiveMatrix => (
            state.console.export_effective_matrix().map_err(err)?,
            "steward-effective-access.csv",
        ),
    };
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Export CSV")
        .set_file_name(name)
        .add_filter("CSV", &["csv"]);
    // Start in Downloads (or home), not in whatever folder the app was started from.
    if let Ok(dir) = app.path().download_dir().or_else(|_| app.path().home_dir()) {
        dialog = dialog.set_directory(dir);
    }
    let picked = tauri::async_runtime::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| export_failed(format!("the save dialog failed: {e}")))?;
    let Some(path) = picked else { return Ok(None) };
    let path = path
        .into_path()
        .map_err(|e| export_failed(format!("not a file path: {e}")))?;
    std::fs::write(&path, csv).map_err(|e| export_failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(path.display().to_string()))
}
