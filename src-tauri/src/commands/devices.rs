//! Commands of the Devices view: the view itself (from the cache, with live presence merged)
//! and starting live presence. Live changes reach the window as `live-presence` events,
//! forwarded from console-core by `forward_live`.

use steward_console_core::{Console, DevicesView, LiveEvent, LiveStatus};
use tauri::{AppHandle, Emitter, State};

use super::{AppState, Reply, err};

/// The event carrying each `LiveEvent` (a device's presence changed, or the connection's state).
pub const LIVE_PRESENCE: &str = "live-presence";

#[tauri::command]
pub async fn devices(state: State<'_, AppState>) -> Reply<DevicesView> {
    state.console.devices().map_err(err)
}

/// Starts live presence for the open profile (idempotent); its state now.
#[tauri::command]
pub async fn start_live(state: State<'_, AppState>) -> Reply<LiveStatus> {
    state.console.start_live().await.map_err(err)
}

/// Forwards the console's live events to the window for as long as the app runs.
pub fn forward_live(app: &AppHandle, console: &Console) {
    let mut events = console.live_events();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.next().await {
            let _ = app.emit::<LiveEvent>(LIVE_PRESENCE, event);
        }
    });
}
