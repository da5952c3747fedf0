//! Commands of the administration views: API keys and their permission tree, the audit log, and
//! the legacy-migration review. Each is a thin call into the `Console`; a created key's secret
//! passes through here to the window once and is not kept or logged.

use steward_console_core::admin::{
    self, AuditFilter, AuditPage, CreatedKeyView, KeyDraft, KeyView, LegacyReview, PermissionTree,
    ScopeOption,
};
use steward_console_core::{OutboxItem, PreviewLine};
use tauri::State;

use super::{AppState, Reply, err};

// ----- API keys -----------------------------------------------------------------------------

#[tauri::command]
pub fn permission_tree() -> PermissionTree {
    admin::permission_tree()
}

#[tauri::command]
pub async fn keys(state: State<'_, AppState>) -> Reply<Vec<KeyView>> {
    state.console.keys().map_err(err)
}

#[tauri::command]
pub async fn key_scopes(state: State<'_, AppState>) -> Reply<Vec<ScopeOption>> {
    state.console.scope_options().map_err(err)
}

/// The IoT document's JSON to the editor's checked permissions; errors name the JSON path.
#[tauri::command]
pub fn import_key_json(text: String) -> Reply<Vec<String>> {
    admin::import_permissions(&text).map_err(err)
}

#[tauri::command]
pub fn export_key_json(permissions: Vec<String>) -> Reply<String> {
    admin::export_permissions(&permissions).map_err(err)
}

#[tauri::command]
pub async fn create_key(state: State<'_, AppState>, draft: KeyDraft) -> Reply<CreatedKeyView> {
    state.console.create_key(&draft).await.map_err(err)
}

#[tauri::command]
pub async fn disable_key(state: State<'_, AppState>, id: i64) -> Reply<KeyView> {
    state.console.disable_key(id).await.map_err(err)
}

#[tauri::command]
pub async fn enable_key(state: State<'_, AppState>, id: i64) -> Reply<KeyView> {
    state.console.enable_key(id).await.map_err(err)
}

#[tauri::command]
pub async fn revoke_key(state: State<'_, AppState>, id: i64) -> Reply<KeyView> {
    state.console.revoke_key(id).await.map_err(err)
}

/// Edits a disabled key's permissions through the outbox (queued when offline).
#[tauri::command]
pub async fn set_key_permissions(
    state: State<'_, AppState>,
    id: i64,
    permissions: Vec<String>,
) -> Reply<OutboxItem> {
    state
        .console
        .set_key_permissions(id, &permissions)
        .await
        .map_err(err)
}

// ----- audit --------------------------------------------------------------------------------

#[tauri::command]
pub async fn audit(state: State<'_, AppState>, filter: AuditFilter) -> Reply<AuditPage> {
    state.console.audit(&filter).await.map_err(err)
}

// ----- legacy migration review --------------------------------------------------------------

#[tauri::command]
pub async fn legacy_review(state: State<'_, AppState>) -> Reply<LegacyReview> {
    state.console.legacy_review().await.map_err(err)
}

#[tauri::command]
pub async fn preview_legacy_choice(
    state: State<'_, AppState>,
    user: u32,
    project: u32,
    role: String,
) -> Reply<Vec<PreviewLine>> {
    state
        .console
        .preview_legacy_choice(user, project, &role)
        .map_err(err)
}

#[tauri::command]
pub async fn apply_legacy_choice(
    state: State<'_, AppState>,
    user: u32,
    project: u32,
    role: String,
) -> Reply<OutboxItem> {
    state
        .console
        .apply_legacy_choice(user, project, &role)
        .await
        .map_err(err)
}
