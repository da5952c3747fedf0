//! The IPC surface: one command per thing the UI asks, each a thin call into the `Console`.
//! Errors cross as `IpcError {code, message}`; the UI branches on `code`. Commands are `async`
//! so they run on Tauri's worker threads, never on the window's (unlocking derives a key with
//! argon2id, and the keyring answers over D-Bus).

pub mod admin;
pub mod alerts;
pub mod devices;
pub mod directory;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use steward_console_core::secrets::KeyringStore;
use steward_console_core::views::{
    self, ActionOption, AssetView, EffectiveMatrix, Explanation, OutboxEntry, PersonRow, ProjectView,
    RoleMatrix, Welcome,
};
use steward_console_core::{
    Console, CoreError, IpcError, OutboxItem, PreviewLine, Profile, ReplayReport, Resolution, SessionInfo,
    SyncProgress, SyncReport, TotpSetup,
};
use steward_model::{Action, AssetId, Change, OrgRole, Principal, ProjectId, Resource, UserId};
use tauri::{AppHandle, Emitter, Manager, State};

/// The event carrying the change-feed cursor while a sync runs.
pub const SYNC_PROGRESS: &str = "sync-progress";

type Reply<T> = Result<T, IpcError>;

pub struct AppState {
    console: Console,
    /// The last keyring probe's failure, if it failed.
    keyring: Mutex<Option<IpcError>>,
    platform_url: Option<String>,
    email: Option<String>,
    password: Option<String>,
    /// The demo signs in at once with the prefilled login.
    auto_sign_in: bool,
    /// Benchmarks open the only cached profile offline at once with the prefilled password.
    auto_open_offline: bool,
    /// Tests shorten the idle lock; otherwise the org's setting applies.
    idle_lock_override: Option<u32>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn probe_keyring() -> Option<IpcError> {
    match KeyringStore::probe() {
        Ok(()) => None,
        Err(e) => {
            log::warn!("the system keyring does not answer: {e}");
            Some(e.into())
        }
    }
}

impl AppState {
    pub fn new(app: &AppHandle) -> Result<AppState, Box<dyn std::error::Error>> {
        // Tests and the demo keep their profiles apart from the user's.
        let data_dir = match env("STEWARD_CONSOLE_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => app.path().app_data_dir()?,
        };
        let idle_lock_override = env("STEWARD_IDLE_LOCK_SECONDS")
            .and_then(|v| v.parse().ok())
            .filter(|s| *s > 0);
        let console = Console::new(data_dir, Arc::new(KeyringStore));
        devices::forward_live(app, &console);
        Ok(AppState {
            console,
            keyring: Mutex::new(probe_keyring()),
            platform_url: env("STEWARD_PLATFORM_URL"),
            email: env("STEWARD_DEMO_EMAIL"),
            password: env("STEWARD_DEMO_PASSWORD"),
            auto_sign_in: env("STEWARD_AUTO_SIGN_IN").is_some_and(|v| v == "1"),
            auto_open_offline: env("STEWARD_AUTO_OPEN_OFFLINE").is_some_and(|v| v == "1"),
            idle_lock_override,
        })
    }

    fn set_keyring(&self, status: Option<IpcError>) -> Option<IpcError> {
        if let Ok(mut slot) = self.keyring.lock() {
            slot.clone_from(&status);
        }
        status
    }
}

fn err(e: CoreError) -> IpcError {
    IpcError::from(e)
}

fn invalid(message: String) -> IpcError {
    err(CoreError::Invalid(message))
}

fn role(name: &str) -> Reply<OrgRole> {
    OrgRole::parse(name).ok_or_else(|| invalid(format!("`{name}` is not an org role")))
}

fn resource(kind: &str, id: Option<u32>) -> Reply<Resource> {
    match (kind, id) {
        ("org", _) => Ok(Resource::Org),
        ("project", Some(id)) => Ok(Resource::Project(ProjectId(id))),
        ("asset", Some(id)) => Ok(Resource::Asset(AssetId(id))),
        _ => Err(invalid(format!(
            "`{kind}` needs an id, or is not a resource kind"
        ))),
    }
}

fn action(name: &str) -> Reply<Action> {
    Action::parse(name).map_err(|e| err(e.into()))
}

// ----- session ------------------------------------------------------------------------------

#[tauri::command]
pub async fn welcome(state: State<'_, AppState>) -> Reply<Welcome> {
    crate::bench::mark("welcome");
    let keyring = match state.keyring.lock() {
        Ok(slot) => slot.clone(),
        Err(_) => None,
    };
    // Probe again when it failed: the keyring may have been unlocked since.
    let keyring = match keyring {
        Some(_) => state.set_keyring(probe_keyring()),
        None => None,
    };
    Ok(Welcome {
        profiles: state.console.profiles().map_err(err)?,
        platform_url: state.platform_url.clone(),
        email: state.email.clone(),
        password: state.password.clone(),
        keyring,
        auto_sign_in: state.auto_sign_in,
        auto_open_offline: state.auto_open_offline,
        bench: crate::bench::mode(),
        idle_lock_seconds: state.idle_lock_override,
        session: state.console.session().ok(),
    })
}

fn progress(app: &AppHandle) -> impl FnMut(SyncProgress) + '_ {
    move |p| {
        let _ = app.emit(SYNC_PROGRESS, p);
    }
}

#[tauri::command]
pub async fn sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    url: String,
    email: String,
    password: String,
    totp: Option<String>,
) -> Reply<SessionInfo> {
    // Signing in online stores the session token in the keyring: without one, say so first.
    if let Some(e) = state.set_keyring(probe_keyring()) {
        return Err(e);
    }
    let totp = totp.filter(|t| !t.trim().is_empty());
    state
        .console
        .sign_in_with_progress(&url, &email, &password, totp, progress(&app))
        .await
        .map_err(err)
}

/// The authenticator set-up when sign-in answered `totp_enrolment_required`.
#[tauri::command]
pub async fn begin_totp_enrolment(state: State<'_, AppState>) -> Reply<TotpSetup> {
    state.console.begin_totp_enrolment().await.map_err(err)
}

#[tauri::command]
pub async fn confirm_totp_enrolment(
    app: AppHandle,
    state: State<'_, AppState>,
    code: String,
    password: String,
) -> Reply<SessionInfo> {
    state
        .console
        .confirm_totp_enrolment(&code, &password, progress(&app))
        .await
        .map_err(err)
}

#[tauri::command]
pub async fn open_offline(
    state: State<'_, AppState>,
    profile_id: String,
    password: String,
) -> Reply<SessionInfo> {
    crate::bench::mark("open_offline");
    let opened = state.console.open_offline(&profile_id, &password).map_err(err);
    crate::bench::mark("open_offline_done");
    opened
}

#[tauri::command]
pub async fn session(state: State<'_, AppState>) -> Reply<SessionInfo> {
    state.console.session().map_err(err)
}

#[tauri::command]
pub async fn sync(app: AppHandle, state: State<'_, AppState>) -> Reply<SyncReport> {
    state.console.sync(progress(&app)).await.map_err(err)
}

/// Locks the window's data away; returns the profile to unlock with the password.
#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> Reply<Option<String>> {
    state.console.lock_now().map_err(err)
}

#[tauri::command]
pub async fn forget(state: State<'_, AppState>, profile_id: String) -> Reply<Vec<Profile>> {
    state.console.forget(&profile_id).await.map_err(err)?;
    state.console.profiles().map_err(err)
}

// ----- views --------------------------------------------------------------------------------

#[tauri::command]
pub async fn role_matrix(state: State<'_, AppState>) -> Reply<RoleMatrix> {
    crate::bench::mark("role_matrix");
    // The matrix comes from the catalog, but like every view it needs an open profile.
    state.console.session().map_err(err)?;
    crate::bench::mark("role_matrix_session");
    Ok(state.console.role_matrix())
}

#[tauri::command]
pub async fn effective_matrix(state: State<'_, AppState>, filter: String) -> Reply<EffectiveMatrix> {
    state.console.effective_matrix(&filter).map_err(err)
}

#[tauri::command]
pub async fn people(state: State<'_, AppState>) -> Reply<Vec<PersonRow>> {
    state.console.people().map_err(err)
}

#[tauri::command]
pub async fn assets(state: State<'_, AppState>) -> Reply<Vec<AssetView>> {
    state.console.assets().map_err(err)
}

#[tauri::command]
pub async fn projects(state: State<'_, AppState>) -> Reply<Vec<ProjectView>> {
    Ok(views::projects(&state.console.plant().map_err(err)?))
}

#[tauri::command]
pub fn actions() -> Vec<ActionOption> {
    views::actions()
}

#[tauri::command]
pub async fn explain(
    state: State<'_, AppState>,
    user: u32,
    action_name: String,
    resource_kind: String,
    resource_id: Option<u32>,
) -> Reply<Explanation> {
    let decision = state
        .console
        .explain(
            Principal::User(UserId(user)),
            action(&action_name)?,
            resource(&resource_kind, resource_id)?,
        )
        .map_err(err)?;
    let plant = state.console.plant().map_err(err)?;
    Ok(views::explanation(&plant, &decision))
}

#[tauri::command]
pub async fn who_can(
    state: State<'_, AppState>,
    action_name: String,
    resource_kind: String,
    resource_id: Option<u32>,
) -> Reply<Vec<Explanation>> {
    let decisions = state
        .console
        .who_can(action(&action_name)?, resource(&resource_kind, resource_id)?)
        .map_err(err)?;
    let plant = state.console.plant().map_err(err)?;
    Ok(decisions.iter().map(|d| views::explanation(&plant, d)).collect())
}

// ----- changes ------------------------------------------------------------------------------

fn role_change(user: u32, role_name: &str) -> Reply<Change> {
    Ok(Change::SetOrgRole {
        user: UserId(user),
        role: role(role_name)?,
    })
}

/// Who gains and who loses what if the user's org role changes.
#[tauri::command]
pub async fn preview_role(state: State<'_, AppState>, user: u32, role: String) -> Reply<Vec<PreviewLine>> {
    state.console.preview(&role_change(user, &role)?).map_err(err)
}

/// Queues the role change and sends it when the platform answers.
#[tauri::command]
pub async fn submit_role(state: State<'_, AppState>, user: u32, role: String) -> Reply<OutboxItem> {
    let change = role_change(user, &role)?;
    state.console.submit(change).await.map_err(err)
}

#[tauri::command]
pub async fn outbox(state: State<'_, AppState>) -> Reply<Vec<OutboxEntry>> {
    let items = state.console.outbox().map_err(err)?;
    let plant = state.console.plant().map_err(err)?;
    Ok(views::outbox_entries(&plant, items))
}

#[tauri::command]
pub async fn replay(state: State<'_, AppState>) -> Reply<ReplayReport> {
    state.console.replay().await.map_err(err)
}

#[tauri::command]
pub async fn resolve(state: State<'_, AppState>, id: i64, resolution: Resolution) -> Reply<ReplayReport> {
    state.console.resolve(id, resolution).await.map_err(err)
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn resources_and_roles_come_from_the_uis_plain_arguments() {
        assert_eq!(resource("org", None).unwrap(), Resource::Org);
        assert_eq!(resource("org", Some(3)).unwrap(), Resource::Org);
        assert_eq!(resource("asset", Some(5)).unwrap(), Resource::Asset(AssetId(5)));
        assert_eq!(
            resource("project", Some(1)).unwrap(),
            Resource::Project(ProjectId(1))
        );
        assert_eq!(resource("asset", None).unwrap_err().code, "invalid_input");
        assert_eq!(resource("node", Some(1)).unwrap_err().code, "invalid_input");
        assert_eq!(role("member").unwrap(), OrgRole::Member);
        assert_eq!(role("emperor").unwrap_err().code, "invalid_input");
        assert!(matches!(
            role_change(6, "admin").unwrap(),
            Change::SetOrgRole {
                user: UserId(6),
                role: OrgRole::Admin
            }
        ));
        assert_eq!(action("asset.run").unwrap().name(), "asset.run");
        assert_eq!(action("events.fly").unwrap_err().code, "unknown_permission");
    }
}
