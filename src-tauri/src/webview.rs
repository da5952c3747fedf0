//! WebKitGTK's rendering mode on Linux.
//!
//! By default WebKitGTK composites with OpenGL. On the workstations a plant console runs on (VMs,
//! remote desktops, no GPU) that GL is software, and it is the slower and larger path: under Xvfb
//! a scroll frame of the effective matrix took ~250 ms composited against ~27 ms not, and the
//! whole app held ~95 MB more (BENCHMARKS.md). So the console turns hardware acceleration off,
//! the in-process equivalent of `WEBKIT_DISABLE_COMPOSITING_MODE=1` (which needs `set_var`,
//! unsafe in this edition). `STEWARD_WEBVIEW_ACCELERATION=1` keeps WebKit's default for machines
//! where the GPU helps.

/// Applies the policy to the window's webview (Linux only; elsewhere nothing to do).
#[cfg(target_os = "linux")]
pub fn configure(window: &tauri::WebviewWindow) {
    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
    if std::env::var_os("STEWARD_WEBVIEW_ACCELERATION").is_some_and(|v| v == "1") {
        return;
    }
    let applied = window.with_webview(|webview| {
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(e) = applied {
        log::warn!("could not set the webview's rendering mode: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn configure(_window: &tauri::WebviewWindow) {}
