//! Steward Console, the desktop app. It only adapts `steward-console-core` to Tauri: commands
//! that call the `Console` and return `Result<T, IpcError>`, the sync-progress event and the
//! live-presence events.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bench;
mod commands;
mod webview;

use tauri::Manager;

fn main() {
    bench::mark_start();
    if let Err(e) = run() {
        eprintln!("steward-console: {e}");
        std::process::exit(1);
    }
}

fn run() -> tauri::Result<()> {
    bench::mark("builder");
    tauri::Builder::default()
        // First, so a second launch only focuses the running window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::new().build())
        // The save dialog of the CSV exports; only Rust opens it (see commands::directory).
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            bench::mark("setup");
            if let Some(window) = app.get_webview_window("main") {
                webview::configure(&window);
            }
            let state = commands::AppState::new(app.handle())?;
            app.manage(state);
            bench::mark("setup_done");
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::welcome,
            commands::sign_in,
            commands::begin_totp_enrolment,
            commands::confirm_totp_enrolment,
            commands::open_offline,
            commands::session,
            commands::sync,
            commands::lock,
            commands::forget,
            commands::role_matrix,
            commands::effective_matrix,
            commands::people,
            commands::assets,
            commands::projects,
            commands::actions,
            commands::explain,
            commands::who_can,
            commands::preview_role,
            commands::submit_role,
            commands::outbox,
            commands::replay,
            commands::resolve,
            commands::admin::permission_tree,
            commands::admin::keys,
            commands::admin::key_scopes,
            commands::admin::import_key_json,
            commands::admin::export_key_json,
            commands::admin::create_key,
            commands::admin::disable_key,
            commands::admin::enable_key,
            commands::admin::revoke_key,
            commands::admin::set_key_permissions,
            commands::admin::audit,
            commands::admin::legacy_review,
            commands::admin::preview_legacy_choice,
            commands::admin::apply_legacy_choice,
            commands::directory::groups,
            commands::directory::project_members,
            commands::directory::asset_grants,
            commands::directory::workforces,
            commands::directory::preview_change,
            commands::directory::submit_change,
            commands::directory::invite,
            commands::directory::export_csv,
            commands::devices::devices,
            commands::devices::start_live,
            commands::alerts::alerts,
            commands::alerts::create_alert_rule,
            commands::alerts::update_alert_rule,
            commands::alerts::delete_alert_rule,
            commands::alerts::alert_history,
            bench::bench_report,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
}
