//! Project tasks, after the cargo-xtask convention:
//!
//! - `cargo xtask demo`: the main job (grows with the project; see README). Today it builds
//!   `stewardd`, starts it with the demo plant on a fresh data directory and prints where the API
//!   is and the demo logins; it runs until Ctrl-C.
//! - `cargo xtask test`: the whole test suite.
//! - `cargo xtask docs`: regenerate the committed documents derived from the catalog.
//!
//! Each first runs `scripts/install-deps.sh`, which installs what a fresh Debian machine lacks
//! and does nothing when everything is there.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

// ----- demo ------------------------------------------------------------------------------

/// The port the demo prefers; when it is taken, the OS picks one.
const DEMO_PORT: u16 = 8443;

/// How long stewardd may take to seed the demo and print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds stewardd and returns the path of the binary cargo produced.
fn build_stewardd() -> Result<PathBuf, String> {
    let args = [
        "build",
        "-p",
        "steward-platform",
        "--bin",
        "stewardd",
        "--message-format=json-render-diagnostics",
    ];
    eprintln!("$ cargo {}", args.join(" "));
    let output = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building stewardd failed ({})", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| {
            m.get("reason").and_then(Value::as_str) == Some("compiler-artifact")
                && m.get("target")
                    .and_then(|t| t.get("name"))
                    .and_then(Value::as_str)
                    == Some("stewardd")
        })
        .find_map(|m| m.get("executable").and_then(Value::as_str).map(PathBuf::from))
        .ok_or_else(|| "cargo built stewardd but did not say where".to_owned())
}

/// Seconds since the Unix epoch (UTC), to name a fresh data directory.
fn timestamp() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}

/// A fresh directory for the demo's database, under the target directory.
fn demo_data_dir() -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root().join("target"), |t| root().join(t));
    let base = target.join(format!("demo-data-{}", timestamp()));
    let mut dir = base.clone();
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = PathBuf::from(format!("{}-{n}", base.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A started stewardd: the process, its ready line's API address, and its stderr lines.
struct Started {
    child: Child,
    api: String,
    stderr: mpsc::Receiver<String>,
}

/// Starts `stewardd serve --demo` and waits for its ready line.
fn start_stewardd(bin: &Path, data: &Path, port: u16) -> Result<Started, String> {
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", &listen, "--demo"])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let (stdout_tx, stdout_rx) = mpsc::channel();
    let (stderr_tx, stderr_rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if stdout_tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if stderr_tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let ready = stdout_rx.recv_timeout(READY_TIMEOUT);
    let api = ready
        .ok()
        .as_deref()
        .and_then(parse_json)
        .and_then(|v| v.get("api").and_then(Value::as_str).map(str::to_owned));
    match api {
        Some(api) => Ok(Started {
            child,
            api,
            stderr: stderr_rx,
        }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let said: Vec<String> = stderr_rx.try_iter().collect();
            Err(format!(
                "stewardd did not become ready on {listen}:\n{}",
                said.join("\n")
            ))
        }
    }
}

fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.chars().count())))
}

/// The demo's logins (stewardd's `{"demo": …}` stderr line), as a readable block.
fn describe_demo(api: &str, data: &Path, demo: &Value) -> String {
    let mut out = String::new();
    let org = demo
        .get("org")
        .and_then(Value::as_str)
        .unwrap_or("the demo plant");
    out.push_str(&format!("\nstewardd is serving {org} (the demo plant)\n"));
    out.push_str(&format!(
        "  API:   {api}/api/v1  (OpenAPI: {api}/api/v1/openapi.json)\n"
    ));
    out.push_str(&format!("  data:  {}\n", data.display()));
    let users: Vec<[String; 4]> = demo
        .get("users")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|u| {
            ["role", "email", "password", "name"]
                .map(|f| u.get(f).and_then(Value::as_str).unwrap_or("").to_owned())
        })
        .collect();
    let mut widths = [4, 5, 8, 4];
    for row in &users {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    out.push_str("\nDemo logins (shown only now; the database keeps only password hashes):\n");
    let header = ["role", "email", "password", "name"].map(str::to_owned);
    for row in std::iter::once(&header).chain(&users) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| pad(c, w)).collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    let empty = serde_json::Map::new();
    let keys = demo.get("keys").and_then(Value::as_object).unwrap_or(&empty);
    if !keys.is_empty() {
        out.push_str("\nAPI keys:\n");
        for (name, secret) in keys {
            out.push_str(&format!(
                "  {}  {}\n",
                pad(name, 6),
                secret.as_str().unwrap_or("")
            ));
        }
    }
    if let Some(first) = users.first() {
        let [_, email, password, _] = first;
        out.push_str(&format!(
            "\nTry:\n  curl -s -X POST {api}/api/v1/session -H 'content-type: application/json' \\\n    -d '{{\"email\":\"{email}\",\"password\":\"{password}\"}}'\n  curl -s {api}/api/v1/equipment -H 'authorization: Bearer <token from above>'\n"
        ));
    }
    if let Some(scada) = keys
        .iter()
        .find(|(name, _)| *name == "scada")
        .and_then(|(_, v)| v.as_str())
    {
        out.push_str(&format!(
            "  curl -s -X POST {api}/api/v1/events -H 'authorization: Bearer {scada}' \\\n    -H 'content-type: application/json' -d '{{\"title\":\"Alarm from SCADA\"}}'\n"
        ));
    }
    out.push_str("\nstewardd's log follows. Press Ctrl-C to stop.\n");
    out
}

fn demo() -> Result<(), String> {
    install_deps()?;
    let bin = build_stewardd()?;
    let data = demo_data_dir()?;
    let free = std::net::TcpListener::bind(("127.0.0.1", DEMO_PORT)).is_ok();
    if !free {
        eprintln!("port {DEMO_PORT} is taken; letting the system pick one");
    }
    let started = match start_stewardd(&bin, &data, if free { DEMO_PORT } else { 0 }) {
        Ok(started) => started,
        // Taken between the check and the bind: start again on a fresh directory, any port.
        Err(e) if free => {
            eprintln!("{e}\nretrying on a port the system picks");
            let data = demo_data_dir()?;
            return serve_demo(start_stewardd(&bin, &data, 0)?, &data);
        }
        Err(e) => return Err(e),
    };
    serve_demo(started, &data)
}

/// Prints the API address and the logins, forwards stewardd's log, and waits for it to end.
fn serve_demo(mut started: Started, data: &Path) -> Result<(), String> {
    let mut described = false;
    let mut stdout = std::io::stdout();
    loop {
        match started.stderr.recv_timeout(Duration::from_secs(2)) {
            Ok(line) => match parse_json(&line).and_then(|v| v.get("demo").cloned()) {
                Some(demo) => {
                    let _ = write!(stdout, "{}", describe_demo(&started.api, data, &demo));
                    let _ = stdout.flush();
                    described = true;
                }
                None => eprintln!("{line}"),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !described {
                    // Seeded before the ready line, so its logins were already printed.
                    let _ = writeln!(
                        stdout,
                        "\nstewardd is serving at {}/api/v1 (data: {}); no new demo logins were printed. Press Ctrl-C to stop.",
                        started.api,
                        data.display()
                    );
                    described = true;
                }
                if let Ok(Some(status)) = started.child.try_wait() {
                    return exited(status);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = started
        .child
        .wait()
        .map_err(|e| format!("waiting for stewardd: {e}"))?;
    exited(status)
}

fn exited(status: std::process::ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("stewardd stopped ({status})"))
    }
}

/// One JSON document per line (stewardd's ready and demo lines); `None` for anything else.
fn parse_json(line: &str) -> Option<Value> {
    serde_json::from_str(line).ok()
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
    run("npm", &["--prefix", "ui", "test"])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stewardds_lines() {
        let ready = parse_json(r#"{"api":"http://127.0.0.1:8443"}"#).unwrap();
        assert_eq!(
            ready.get("api").and_then(Value::as_str),
            Some("http://127.0.0.1:8443")
        );
        let demo = parse_json(
            r#"{"demo":{"org":"North Plant","users":[{"email":"a@b","password":"p\"q","role":"owner","name":"Tom\u00e1s"}],"keys":{"scada":"stw_x"}}}"#,
        )
        .unwrap();
        let user = &demo["demo"]["users"][0];
        assert_eq!(user.get("password").and_then(Value::as_str), Some("p\"q"));
        assert_eq!(user.get("name").and_then(Value::as_str), Some("Tomás"));
        // Log lines are not JSON and are skipped.
        assert!(parse_json("2026-11-23T10:00:00Z INFO stewardd ready").is_none());
        assert!(parse_json(r#"{"a":1"#).is_none());
        let text = describe_demo("http://127.0.0.1:8443", Path::new("/tmp/d"), &demo["demo"]);
        assert!(text.contains("owner  a@b"), "{text}");
        assert!(text.contains("stw_x"), "{text}");
    }

    #[test]
    fn timestamps_are_seconds_since_the_epoch() {
        let t: u64 = timestamp().parse().unwrap();
        assert!(t > 1_700_000_000, "{t}");
    }
}
