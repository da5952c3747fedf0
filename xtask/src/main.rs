//! Project tasks, after the cargo-xtask convention:
//!
//! - `cargo xtask demo`: the main job (grows with the project; see README).
//! - `cargo xtask test`: the whole test suite.
//! - `cargo xtask docs`: regenerate the committed documents derived from the catalog.
//!
//! Each first runs `scripts/install-deps.sh`, which installs what a fresh Debian machine lacks
//! and does nothing when everything is there.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    // xtask/ sits at the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
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

fn install_deps() -> Result<(), String> {
    run("bash", &["scripts/install-deps.sh"])
}

fn demo() -> Result<(), String> {
    install_deps()?;
    run(
        "cargo",
        &["run", "--quiet", "-p", "steward-model", "--example", "demo"],
    )
}

fn test() -> Result<(), String> {
    install_deps()?;
    run("cargo", &["test", "--workspace", "--locked"])
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
        "demo" => demo(),
        "test" => test(),
        "docs" => docs(),
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
