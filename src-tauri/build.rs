//! Tauri's build step. The app's config is `tauri.conf.json` at the repository root (the design
//! card); tauri-build 2.6 reads the config only from this crate's folder (it has no
//! `Attributes::config_path` yet, tauri PR #15306 is not released in 2.x), so
//! `src-tauri/tauri.conf.json` is a symlink to the root file, and `icons/` likewise.

/// Every command the UI may call; each gets an `allow-<command>` permission, and
/// `capabilities/default.json` grants exactly these to the main window.
const COMMANDS: &[&str] = &[
    "welcome",
    "sign_in",
    "open_offline",
    "session",
    "sync",
    "lock",
    "forget",
    "role_matrix",
    "effective_matrix",
    "people",
    "assets",
    "projects",
    "actions",
    "explain",
    "who_can",
    "preview_role",
    "submit_role",
    "outbox",
    "replay",
    "resolve",
    "groups",
    "project_members",
    "asset_grants",
    "workforces",
    "preview_change",
    "submit_change",
    "invite",
    "export_csv",
    "devices",
    "start_live",
    "alerts",
    "create_alert_rule",
    "update_alert_rule",
    "delete_alert_rule",
    "alert_history",
    "permission_tree",
    "keys",
    "key_scopes",
    "import_key_json",
    "export_key_json",
    "create_key",
    "disable_key",
    "enable_key",
    "revoke_key",
    "set_key_permissions",
    "audit",
    "legacy_review",
    "preview_legacy_choice",
    "apply_legacy_choice",
    "bench_report",
];

/// The built UI that `generate_context!` embeds (`build.frontendDist`).
const UI_INDEX: &str = "../ui/dist/index.html";

fn main() {
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=../icons");
    println!("cargo:rerun-if-changed={UI_INDEX}");
    if !std::path::Path::new(UI_INDEX).exists() {
        eprintln!(
            "steward-console embeds the built UI, and ui/dist is missing. Build it first:\n    npm --prefix ui ci && npm --prefix ui run build"
        );
        std::process::exit(1);
    }
    let attributes =
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero with the reason on stdout/stderr.
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
