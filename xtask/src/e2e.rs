//! `cargo xtask e2e`: the console's end-to-end test in the real app.
//!
//! Builds `stewardd`, `steward-console` (debug, with the UI built into `ui/dist` first) and the
//! test program `steward-e2e`; starts, in a scratch directory under the target directory:
//! stewardd with the demo plant on 127.0.0.1:0, Xvfb on a display it picks itself, and a D-Bus
//! session (`dbus-run-session`) holding an unlocked gnome-keyring and `tauri-driver` on free
//! ports. Then it runs `steward-e2e` (tests/e2e), which drives the console through WebDriver and
//! saves screenshots under `tests/e2e/screenshots/`. Everything started here is stopped when the
//! run ends, also when it fails; on failure the logs are printed and the scratch directory kept.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{install_deps, root, run as sh};

/// How long stewardd may take to seed the demo and print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the X server and tauri-driver may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The whole WebDriver scenario; it normally takes well under a minute.
const TEST_TIMEOUT: Duration = Duration::from_secs(600);

/// `cargo xtask e2e`: install what is missing, build the UI, then [`run`].
pub fn task() -> Result<(), String> {
    install_deps()?;
    sh("npm", &["--prefix", "ui", "run", "build"])?;
    run()
}

/// The end-to-end test, with `ui/dist` already built.
pub fn run() -> Result<(), String> {
    let bins = build()?;
    let tauri_driver = tauri_driver()?;
    let work = Work::create()?;
    let result = {
        let mut procs = Procs::default();
        let result = scenario(&bins, &tauri_driver, &work, &mut procs);
        procs.stop(&work.dir);
        result
    };
    match result {
        Ok(()) => {
            // Keep nothing of a passing run but its screenshots (the scratch directory holds the
            // demo's passwords in stewardd's log and a keyring).
            let _ = std::fs::remove_dir_all(&work.dir);
            Ok(())
        }
        Err(e) => {
            print_logs(&work.dir);
            Err(format!(
                "{e}\n(the run's files are kept in {})",
                work.dir.display()
            ))
        }
    }
}

struct Bins {
    stewardd: PathBuf,
    console: PathBuf,
    test: PathBuf,
}

/// Builds the three binaries (debug) and returns where cargo put them.
fn build() -> Result<Bins, String> {
    let built = crate::cargo_build(&[
        "-p",
        "steward-platform",
        "-p",
        "steward-console",
        "-p",
        "steward-e2e",
    ])?;
    Ok(Bins {
        stewardd: built.executable("stewardd")?,
        console: built.executable("steward-console")?,
        test: built.executable("steward-e2e")?,
    })
}

/// tauri-driver from PATH, else where `cargo install` puts it (scripts/install-deps.sh).
fn tauri_driver() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    on_path
        .into_iter()
        .chain(cargo_home.map(|c| c.join("bin/tauri-driver")))
        .find(|p| p.is_file())
        .ok_or_else(|| "tauri-driver is not installed: run `bash scripts/install-deps.sh`".to_owned())
}

/// The run's scratch directory.
struct Work {
    dir: PathBuf,
    /// HOME and XDG_* of the console, the keyring and WebKit: nothing of the developer's own
    /// keyring, window state or caches is touched.
    home: PathBuf,
    runtime: PathBuf,
}

impl Work {
    fn create() -> Result<Work, String> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map_or_else(|| root().join("target"), |t| root().join(t));
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let dir = target.join(format!("e2e-{secs}-{}", std::process::id()));
        let home = dir.join("home");
        let runtime = dir.join("runtime");
        for d in [&dir, &dir.join("platform"), &home, &runtime] {
            std::fs::create_dir_all(d).map_err(|e| format!("could not create {}: {e}", d.display()))?;
        }
        // The keyring's control socket lives here; it must be private.
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("could not make {} private: {e}", runtime.display()))?;
        Ok(Work { dir, home, runtime })
    }

    fn file(&self, name: &str) -> Result<std::fs::File, String> {
        let path = self.dir.join(name);
        std::fs::File::create(&path).map_err(|e| format!("could not create {}: {e}", path.display()))
    }
}

/// The processes started here, stopped in reverse order.
#[derive(Default)]
struct Procs {
    stewardd: Option<Child>,
    xvfb: Option<Child>,
    /// `dbus-run-session` leading its own process group: the bus, the keyring daemon,
    /// tauri-driver, WebKitWebDriver and the console.
    session: Option<Child>,
}

impl Procs {
    fn stop(&mut self, work: &Path) {
        if let Some(mut session) = self.session.take() {
            let group = format!("-{}", session.id());
            signal("TERM", &group);
            if !exits_within(&mut session, Duration::from_secs(5)) {
                signal("KILL", &group);
                let _ = session.wait();
            }
        }
        // The test program may have started stewardd again; it records the pid it runs under.
        if let Ok(pid) = std::fs::read_to_string(work.join("stewardd.pid")) {
            let pid = pid.trim();
            if self.stewardd.as_ref().map(|c| c.id().to_string()).as_deref() != Some(pid) {
                signal("TERM", pid);
            }
        }
        for mut child in [self.stewardd.take(), self.xvfb.take()].into_iter().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal to a pid or (`-pgid`) a process group; a target already gone is fine.
fn signal(name: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .stderr(Stdio::null())
        .status();
}

fn exits_within(child: &mut Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Polls `probe` every 100 ms until it yields, `child` exits, or `limit` passes.
fn wait_until<T>(
    what: &str,
    limit: Duration,
    child: &mut Child,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what}: the process exited ({status})"));
        }
        if start.elapsed() > limit {
            return Err(format!("{what}: nothing after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first line of `path` that is a JSON object with `key`.
fn json_line(path: &Path, key: &str) -> Option<Value> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get(key).cloned())
}

/// Two ports free now (a tiny race with other programs is accepted).
fn free_ports() -> Result<(u16, u16), String> {
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"));
    let (a, b) = (bind()?, bind()?);
    let port = |l: &TcpListener| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string());
    Ok((port(&a)?, port(&b)?))
}

fn scenario(bins: &Bins, tauri_driver: &Path, work: &Work, procs: &mut Procs) -> Result<(), String> {
    // stewardd with the demo plant: its ready line on stdout, the demo logins on stderr.
    let stewardd = procs.stewardd.insert(
        Command::new(&bins.stewardd)
            .arg("serve")
            .arg("--data-dir")
            .arg(work.dir.join("platform"))
            .args(["--listen", "127.0.0.1:0", "--demo"])
            .stdin(Stdio::null())
            .stdout(work.file("stewardd.out")?)
            .stderr(work.file("stewardd.log")?)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bins.stewardd.display()))?,
    );
    std::fs::write(work.dir.join("stewardd.pid"), stewardd.id().to_string()).map_err(|e| e.to_string())?;
    let api = wait_until("stewardd's ready line", READY_TIMEOUT, stewardd, || {
        json_line(&work.dir.join("stewardd.out"), "api").and_then(|v| v.as_str().map(str::to_owned))
    })?;
    let demo = wait_until("stewardd's demo logins", START_TIMEOUT, stewardd, || {
        json_line(&work.dir.join("stewardd.log"), "demo")
    })?;
    let owner = demo
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|u| u.get("role").and_then(Value::as_str) == Some("owner"))
        .ok_or("the demo logins name no owner")?;
    let field = |f: &str| {
        owner
            .get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    eprintln!(
        "e2e: stewardd at {api}; the console signs in as {}",
        field("email")
    );

    // Xvfb picks a free display and writes its number to the given descriptor when ready.
    let xvfb = procs.xvfb.insert(
        Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1920x1080x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(work.file("xvfb.log")?)
            .spawn()
            .map_err(|e| format!("could not start Xvfb: {e}"))?,
    );
    let (tx, rx) = mpsc::channel();
    if let Some(out) = xvfb.stdout.take() {
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
    }
    let display = rx
        .recv_timeout(START_TIMEOUT)
        .ok()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .ok_or("Xvfb did not say which display it took")?;
    let display = format!(":{display}");

    // The D-Bus session: a fresh keyring unlocked with a throwaway password on stdin (with an
    // empty one gnome-keyring creates no login keyring, so there is no default collection and
    // the console finds no keyring), then tauri-driver. The session has its own process group
    // (see below), which Ctrl-C on this task does not reach: a watchdog ends the group when this
    // process is gone.
    let (port, native_port) = free_ports()?;
    let script = "(while kill -0 \"$3\" 2>/dev/null; do sleep 1; done; kill -TERM 0) &\n\
                  printf 'steward-e2e' | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1\n\
                  exec \"$0\" --port \"$1\" --native-port \"$2\"";
    let home = &work.home;
    let session = procs.session.insert(
        Command::new("dbus-run-session")
            .args(["--", "sh", "-c", script])
            .arg(tauri_driver)
            .args([
                port.to_string(),
                native_port.to_string(),
                std::process::id().to_string(),
            ])
            .env("DISPLAY", &display)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &work.runtime)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("WAYLAND_DISPLAY")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("STEWARD_PLATFORM_URL", &api)
            .env("STEWARD_DEMO_EMAIL", field("email"))
            .env("STEWARD_DEMO_PASSWORD", field("password"))
            .env("STEWARD_CONSOLE_DATA_DIR", work.dir.join("console"))
            .stdin(Stdio::null())
            .stdout(work.file("tauri-driver.log")?)
            .stderr(work.file("tauri-driver.err.log")?)
            // Its own process group, so the teardown reaches every process under it.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("could not start dbus-run-session: {e}"))?,
    );
    wait_until("tauri-driver listening", START_TIMEOUT, session, || {
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()
    })?;
    eprintln!("e2e: Xvfb on {display}, tauri-driver on port {port}");

    let screenshots = root().join("tests/e2e/screenshots");
    std::fs::create_dir_all(&screenshots).map_err(|e| e.to_string())?;
    for old in std::fs::read_dir(&screenshots).into_iter().flatten().flatten() {
        if old.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(old.path());
        }
    }
    eprintln!("$ {}", bins.test.display());
    let mut test = Command::new(&bins.test)
        .env("STEWARD_E2E_WEBDRIVER", format!("http://127.0.0.1:{port}"))
        .env("STEWARD_E2E_APP", &bins.console)
        .env("STEWARD_E2E_STEWARDD", &bins.stewardd)
        .env("STEWARD_E2E_API", &api)
        .env("STEWARD_E2E_WORK", &work.dir)
        .env("STEWARD_E2E_SCREENSHOTS", &screenshots)
        .current_dir(root())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bins.test.display()))?;
    if !exits_within(&mut test, TEST_TIMEOUT) {
        let _ = test.kill();
        let _ = test.wait();
        return Err(format!("the e2e test did not finish within {TEST_TIMEOUT:?}"));
    }
    match test.wait() {
        Ok(status) if status.success() => {
            eprintln!("e2e: passed; screenshots in {}", screenshots.display());
            Ok(())
        }
        Ok(status) => Err(format!("the e2e test failed ({status})")),
        Err(e) => Err(format!("waiting for the e2e test: {e}")),
    }
}

/// The tail of every log of the run (stewardd's demo logins line left out: it holds passwords).
fn print_logs(work: &Path) {
    let mut logs: Vec<PathBuf> = [
        "stewardd.log",
        "stewardd2.log",
        "xvfb.log",
        "tauri-driver.log",
        "tauri-driver.err.log",
    ]
    .iter()
    .map(|n| work.join(n))
    .collect();
    // tauri-plugin-log writes the console's own log under its data directory.
    logs.extend(find_logs(&work.join("home")));
    for path in logs {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("{\"demo\"")).collect();
        eprintln!("----- {} (last 60 lines) -----", path.display());
        for line in lines.iter().skip(lines.len().saturating_sub(60)) {
            eprintln!("{line}");
        }
    }
}

fn find_logs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find_logs(&path));
        } else if path.extension().is_some_and(|x| x == "log") {
            found.push(path);
        }
    }
    found
}
