//! Opt-in timing for `tests/e2e/bench-console.sh` (off unless `STEWARD_BENCH` is set): the
//! process start as early as `main` can take it, and one command the UI calls once it has
//! measured, which prints one JSON line on stdout and exits.

use std::sync::OnceLock;
use std::time::Instant;

use steward_console_core::{CoreError, IpcError};
use tauri::AppHandle;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Called first thing in `main`.
pub fn mark_start() {
    let _ = STARTED.get_or_init(Instant::now);
}

/// `startup` (report when the role matrix is painted) or `scroll` (scroll the effective matrix
/// and report frame times), from `STEWARD_BENCH`.
pub fn mode() -> Option<String> {
    std::env::var("STEWARD_BENCH")
        .ok()
        .filter(|m| matches!(m.as_str(), "startup" | "scroll"))
}

/// Prints `{"bench": MODE, "ms_since_start": …, "report": …}` and exits the app.
#[tauri::command]
pub fn bench_report(app: AppHandle, report: serde_json::Value) -> Result<(), IpcError> {
    let Some(mode) = mode() else {
        return Err(CoreError::Invalid("STEWARD_BENCH is not set".into()).into());
    };
    let ms = STARTED
        .get()
        .map(|t| t.elapsed().as_secs_f64() * 1000.0)
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({ "bench": mode, "ms_since_start": ms, "report": report })
    );
    app.exit(0);
    Ok(())
}
