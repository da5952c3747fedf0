//! Commands of the Devices view: the view itself (from the cache, with live presence merged)
//! and starting live presence (alerts ride on the same connection). Live changes reach the
//! window as `live-presence` events, and alerts as `live-alert` events, forwarded from
//! console-core by `forward_live`.

use steward_console_core::{Console, DevicesView, LiveEvent, LiveStatus};
use tauri::{AppHandle, Emitter, State};

use super::{AppState, Reply, err};

/// The event carrying each `LiveEvent` (a device's presence changed, or the connection's state).
pub const LIVE_PRESENCE: &str = "live-presence";
/// The event carrying each alert `LiveEvent` (an alert fired, or whether alerts are live), so the
/// Devices view does not re-read itself for them.
pub const LIVE_ALERT: &str = "live-alert";

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
            let channel = if event.is_alert() {
                LIVE_ALERT
            } else {
                LIVE_PRESENCE
            };
            let _ = app.emit::<LiveEvent>(channel, event);
        }
    });
}
