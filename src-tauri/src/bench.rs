//! Opt-in timing for `tests/e2e/bench-console.sh` (off unless `STEWARD_BENCH` is set): the
//! process start as early as `main` can take it, and one command the UI calls once it has
//! measured, which prints one JSON line on stdout and exits.

use std::sync::OnceLock;
use std::time::Instant;

use steward_console_core::{CoreError, IpcError};
use tauri::AppHandle;

static STARTED: OnceLock<Instant> = OnceLock::new();
/// Named moments on the Rust side (ms since start), reported with the page's own marks.
static MARKS: std::sync::Mutex<Vec<(&'static str, f64)>> = std::sync::Mutex::new(Vec::new());

fn since_start() -> f64 {
    STARTED
        .get()
        .map(|t| t.elapsed().as_secs_f64() * 1000.0)
        .unwrap_or_default()
}

/// Records the first time a moment of the start-up happened (only when benchmarking).
pub fn mark(name: &'static str) {
    if mode().is_some() {
        if let Ok(mut marks) = MARKS.lock() {
            if !marks.iter().any(|(n, _)| *n == name) {
                marks.push((name, since_start()));
            }
        }
    }
}

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
    let ms = since_start();
    let marks: serde_json::Map<String, serde_json::Value> = MARKS
        .lock()
        .map(|m| {
            m.iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v.round())))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({ "bench": mode, "ms_since_start": ms, "report": report, "rust_ms": marks })
    );
    app.exit(0);
    Ok(())
}
