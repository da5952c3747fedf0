//! `cargo xtask demo`: stewardd with the demo plant on a fresh data directory, and Steward
//! Console opened against it, signed in as the demo's owner.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::{install_deps, root};

/// The port the demo prefers; when it is taken, the OS picks one.
const DEMO_PORT: u16 = 8443;

/// How long stewardd may take to seed the demo and print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds stewardd and returns the path of the binary cargo produced.
pub(crate) fn build_stewardd() -> Result<PathBuf, String> {
    build_bin("steward-platform", "stewardd")
}

/// Builds Steward Console with its UI embedded (so the UI is built first).
pub(crate) fn build_console() -> Result<PathBuf, String> {
    crate::run("npm", &["--prefix", "ui", "run", "build"])?;
    build_bin("steward-console", "steward-console")
}

/// Builds steward-sim, which the demo runs against stewardd.
pub(crate) fn build_sim() -> Result<PathBuf, String> {
    build_bin("steward-sim", "steward-sim")
}

/// How many simulated devices the demo connects.
const DEMO_DEVICES: usize = 300;

/// Starts steward-sim with the demo's provisioning key: `DEMO_DEVICES` devices that come online,
/// send telemetry and flap now and then, so the console's presence view has something to show.
fn start_sim(sim: &Path, api: &str, mqtt: &str, demo: &Value) -> Result<Option<Child>, String> {
    let Some(token) = demo
        .get("keys")
        .and_then(|k| k.get("provisioning"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    eprintln!("$ {} --devices {DEMO_DEVICES} (simulated devices)", sim.display());
    let devices = DEMO_DEVICES.to_string();
    let child = Command::new(sim)
        .args(["--api", api, "--mqtt", mqtt, "--devices", &devices])
        .args([
            "--keepalive",
            "10",
            "--flap-rate",
            "0.02",
            "--telemetry-ms",
            "5000",
        ])
        .env("STEWARD_TOKEN", token)
        .current_dir(root())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", sim.display()))?;
    Ok(Some(child))
}

/// Builds one binary of the workspace and returns the path cargo says it wrote.
fn build_bin(package: &str, bin: &str) -> Result<PathBuf, String> {
    crate::cargo_build(&["-p", package, "--bin", bin])?.executable(bin)
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
pub(crate) struct Started {
    pub(crate) child: Child,
    pub(crate) api: String,
    /// The broker's `mqtt://` address, when stewardd runs one.
    pub(crate) mqtt: Option<String>,
    pub(crate) stderr: mpsc::Receiver<String>,
}

/// Starts `stewardd serve --demo` and waits for its ready line.
pub(crate) fn start_stewardd(bin: &Path, data: &Path, port: u16) -> Result<Started, String> {
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
    let ready = stdout_rx
        .recv_timeout(READY_TIMEOUT)
        .ok()
        .as_deref()
        .and_then(parse_json);
    let field = |name: &str| {
        ready
            .as_ref()
            .and_then(|v| v.get(name).and_then(Value::as_str).map(str::to_owned))
    };
    match field("api") {
        Some(api) => Ok(Started {
            child,
            api,
            mqtt: field("mqtt"),
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

pub(crate) fn demo() -> Result<(), String> {
    install_deps()?;
    let bin = build_stewardd()?;
    let console = build_console()?;
    let sim = build_sim()?;
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
            return serve_demo(start_stewardd(&bin, &data, 0)?, &data, &console, &sim);
        }
        Err(e) => return Err(e),
    };
    serve_demo(started, &data, &console, &sim)
}

/// Whether a graphical session is there to open the console's window on.
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// The demo's owner: the login the console signs in with.
fn demo_owner(demo: &Value) -> Option<(String, String)> {
    demo.get("users")?
        .as_array()?
        .iter()
        .find(|u| u.get("role").and_then(Value::as_str) == Some("owner"))
        .and_then(|u| {
            let field = |f: &str| u.get(f).and_then(Value::as_str).map(str::to_owned);
            Some((field("email")?, field("password")?))
        })
}

/// Opens Steward Console against the demo's stewardd, signed in as its owner, with a console
/// profile of its own under the demo's data directory.
fn open_console(console: &Path, api: &str, data: &Path, demo: &Value) -> Result<Option<Child>, String> {
    if !has_display() {
        println!(
            "\nNo display (DISPLAY and WAYLAND_DISPLAY are unset), so the console cannot open its window here.\n\
             stewardd keeps serving. To see the console on a machine without a screen, stop this (Ctrl-C)\n\
             and run the demo on a virtual X server, with a D-Bus session whose keyring is unlocked\n\
             (the console keeps its session token in the Secret Service keyring):\n  \
             Xvfb :99 -screen 0 1400x900x24 &\n  \
             DISPLAY=:99 dbus-run-session -- sh -c \\\n    \
             'echo -n demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo xtask demo'\n\
             then, from another terminal, photograph the window:\n  \
             DISPLAY=:99 import -window root console.png"
        );
        return Ok(None);
    }
    let Some((email, password)) = demo_owner(demo) else {
        return Err("stewardd's demo line names no owner to sign the console in with".to_owned());
    };
    let profiles = data.join("console");
    std::fs::create_dir_all(&profiles)
        .map_err(|e| format!("could not create {}: {e}", profiles.display()))?;
    eprintln!("$ {} (signed in as {email})", console.display());
    let child = Command::new(console)
        .env("STEWARD_PLATFORM_URL", api)
        .env("STEWARD_DEMO_EMAIL", &email)
        .env("STEWARD_DEMO_PASSWORD", &password)
        .env("STEWARD_AUTO_SIGN_IN", "1")
        .env("STEWARD_CONSOLE_DATA_DIR", &profiles)
        .current_dir(root())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", console.display()))?;
    Ok(Some(child))
}

/// Prints the API address and the logins, forwards stewardd's log, and waits for it to end.
fn serve_demo(mut started: Started, data: &Path, console: &Path, sim: &Path) -> Result<(), String> {
    let mut described = false;
    let mut window: Option<Child> = None;
    let mut devices: Option<Child> = None;
    let mut stdout = std::io::stdout();
    loop {
        match started.stderr.recv_timeout(Duration::from_secs(2)) {
            Ok(line) => match parse_json(&line).and_then(|v| v.get("demo").cloned()) {
                Some(demo) => {
                    let _ = write!(stdout, "{}", describe_demo(&started.api, data, &demo));
                    let _ = stdout.flush();
                    described = true;
                    window = open_console(console, &started.api, data, &demo)?;
                    if let Some(mqtt) = &started.mqtt {
                        devices = start_sim(sim, &started.api, mqtt, &demo)?;
                    }
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
                    stop_sim(devices.take());
                    return exited(status);
                }
                if let Some(Ok(Some(status))) = window.as_mut().map(Child::try_wait) {
                    println!(
                        "\nThe console closed ({status}); stewardd keeps serving. Press Ctrl-C to stop."
                    );
                    window = None;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = started
        .child
        .wait()
        .map_err(|e| format!("waiting for stewardd: {e}"))?;
    stop_sim(devices.take());
    exited(status)
}

/// Stops the simulated devices when stewardd has gone.
fn stop_sim(sim: Option<Child>) {
    if let Some(mut sim) = sim {
        let _ = sim.kill();
        let _ = sim.wait();
    }
}

fn exited(status: std::process::ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("stewardd stopped ({status})"))
    }
}

/// One JSON document per line (stewardd's ready and demo lines); `None` for anything else.
pub(crate) fn parse_json(line: &str) -> Option<Value> {
    serde_json::from_str(line).ok()
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

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
        assert_eq!(
            demo_owner(&demo["demo"]),
            Some(("a@b".to_owned(), "p\"q".to_owned()))
        );
        let no_owner = parse_json(r#"{"users":[{"email":"m@b","password":"x","role":"admin"}]}"#).unwrap();
        assert_eq!(demo_owner(&no_owner), None);
    }

    #[test]
    fn timestamps_are_seconds_since_the_epoch() {
        let t: u64 = timestamp().parse().unwrap();
        assert!(t > 1_700_000_000, "{t}");
    }
}
