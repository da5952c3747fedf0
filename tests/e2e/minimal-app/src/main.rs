//! A minimal Tauri 2 app for the start-up baseline: the page reports two animation frames after
//! its first render (as the console's bench does for its role matrix), and the app prints
//! `{"bench":"startup","ms_since_start":…}` and exits.

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Prints the time and exits, when measuring start-up (`STEWARD_BENCH=startup`); otherwise the
/// app stays open, for the idle-memory measurement.
#[tauri::command]
fn report(app: tauri::AppHandle) {
    if std::env::var("STEWARD_BENCH").as_deref() != Ok("startup") {
        return;
    }
    let ms = STARTED
        .get()
        .map(|t| t.elapsed().as_secs_f64() * 1000.0)
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({ "bench": "startup", "ms_since_start": ms })
    );
    app.exit(0);
}

fn main() {
    let _ = STARTED.get_or_init(Instant::now);
    let run = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![report])
        .run(tauri::generate_context!());
    if let Err(e) = run {
        eprintln!("minimal-tauri-app: {e}");
        std::process::exit(1);
    }
}
