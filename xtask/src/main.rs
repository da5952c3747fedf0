//! Project tasks, after the cargo-xtask convention:
//!
//! - `cargo xtask demo`: the main job (see README): builds `stewardd` and Steward Console,
//!   starts stewardd with the demo plant on a fresh data directory, prints where the API is and
//!   the demo logins, and opens the console signed in as the demo's owner; it runs until Ctrl-C.
//! - `cargo xtask test`: the whole test suite.
//! - `cargo xtask docs`: regenerate the committed documents derived from the catalog.
//!
//! Each first runs `scripts/install-deps.sh`, which installs what a fresh Debian machine lacks
//! and does nothing when everything is there.

use std::path::{Path, PathBuf};

use std::process::{Command, ExitCode};

mod demo;
mod e2e;

pub(crate) fn root() -> PathBuf {
    // xtask/ sits at the workspace root. `cargo run` says where at run time: with a target
    // directory shared by several checkouts (as .ci/run keeps one), a binary built from another
    // checkout must still work on this one, so the compile-time path is only the fallback.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// What `cargo build` produced, read from its JSON messages.
pub(crate) struct Built(Vec<serde_json::Value>);

impl Built {
    /// Where cargo put the executable of the binary target `name`.
    pub(crate) fn executable(&self, name: &str) -> Result<PathBuf, String> {
        use serde_json::Value;
        self.0
            .iter()
            .filter(|m| m.get("reason").and_then(Value::as_str) == Some("compiler-artifact"))
            .filter(|m| {
                m.get("target")
                    .and_then(|t| t.get("name"))
                    .and_then(Value::as_str)
                    == Some(name)
            })
            .find_map(|m| m.get("executable").and_then(Value::as_str).map(PathBuf::from))
            .ok_or_else(|| format!("cargo built {name} but did not say where"))
    }
}

/// `cargo build` (debug) of what `selection` names (`-p …`, `--bin …`), diagnostics shown.
pub(crate) fn cargo_build(selection: &[&str]) -> Result<Built, String> {
    let mut args = vec!["build"];
    args.extend_from_slice(selection);
    args.push("--message-format=json-render-diagnostics");
    eprintln!("$ cargo {}", args.join(" "));
    let output = Command::new("cargo")
        .args(&args)
        .current_dir(root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo {}` failed ({})", args.join(" "), output.status));
    }
    Ok(Built(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect(),
    ))
}

pub(crate) fn install_deps() -> Result<(), String> {
    run("bash", &["scripts/install-deps.sh"])
}

// ----- test, docs --------------------------------------------------------------------------

fn test() -> Result<(), String> {
    install_deps()?;
    // The console embeds the built UI, so the workspace's tests need it (this also type-checks it).
    run("npm", &["--prefix", "ui", "run", "build"])?;
    run("cargo", &["test", "--workspace", "--locked"])?;
    // The Rust tests just regenerated the TypeScript types crossing IPC (ts-rs): the committed
    // ones must be the same.
    bindings_are_committed()?;
    run("npm", &["--prefix", "ui", "run", "typecheck"])?;
    run("npm", &["--prefix", "ui", "test"])?;
    e2e::run()
}

/// Fails when `ui/src/bindings` differs from what is committed (changed or new files).
fn bindings_are_committed() -> Result<(), String> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--", "ui/src/bindings"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not start git: {e}"))?;
    if !output.status.success() {
        eprintln!("not a git checkout: skipping the check that ui/src/bindings is committed");
        return Ok(());
    }
    let changed = String::from_utf8_lossy(&output.stdout);
    if changed.trim().is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ui/src/bindings is stale: `cargo test -p steward-console-core` regenerated these TypeScript types; commit them:\n{changed}"
        ))
    }
}

fn docs() -> Result<(), String> {
    let output = Command::new("cargo")
        .args([
            "run",
            "--quiet",
            "-p",
            "steward-model",
            "--example",
            "catalog",
            "--",
            "--markdown",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let path = root().join("docs/permissions.md");
    std::fs::write(&path, &output.stdout).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "demo" => demo::demo(),
        "test" => test(),
        "docs" => docs(),
        "e2e" => e2e::task(),
        _ => Err("usage: cargo xtask <demo|test|docs>".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
