//! The real `stewardd` binary as an operator runs it: the ready line and the demo logins, a
//! `kill -9` in the middle of a stream of writes, `audit verify` on an intact and a tampered
//! database, the refusals of unsafe listen addresses, `catalog`, and TLS.

// Tests: a failed step is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_stewardd");

/// How long a start may take (a debug build hashing the demo's passwords on a busy machine).
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A `stewardd` command with no `STEWARD_*` setting inherited from the environment.
fn stewardd(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "STEWARD_CONFIG",
        "STEWARD_DATA_DIR",
        "STEWARD_LISTEN",
        "STEWARD_TLS_CERT",
        "STEWARD_TLS_KEY",
        "STEWARD_LOG_FORMAT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// A running `stewardd serve`; killed (SIGKILL) when dropped.
struct Daemon {
    child: Child,
    /// The base URL from the ready line, e.g. `http://127.0.0.1:40123`.
    api: String,
    /// Lines on stdout after the ready line.
    stdout_rest: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// What a stopped daemon printed besides its ready line.
struct Printed {
    stdout_after_ready: Vec<String>,
    stderr: Vec<String>,
}

impl Daemon {
    /// Starts `stewardd` with these arguments and waits for its ready line on stdout.
    fn start(args: &[&str]) -> Daemon {
        let mut child = stewardd(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start stewardd");
        let stdout = child.stdout.take().unwrap();
        let stderr_pipe = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let mut daemon = Daemon {
            child,
            api: String::new(),
            stdout_rest: rx,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        };
        let line = match daemon.stdout_rest.recv_timeout(READY_TIMEOUT) {
            Ok(line) => line,
            Err(e) => {
                let _ = daemon.child.kill();
                let _ = daemon.child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "no ready line from `stewardd {}` ({e}); stderr:\n{}",
                    args.join(" "),
                    daemon.stderr.lock().unwrap().join("\n")
                );
            }
        };
        let ready: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?} is not JSON: {e}"));
        let object = ready.as_object().expect("the ready line is a JSON object");
        assert!(
            object.keys().all(|k| k == "api" || k == "mqtt"),
            "the ready line has only `api` and `mqtt`: {line}"
        );
        if let Some(mqtt) = object.get("mqtt") {
            assert!(mqtt.as_str().unwrap().starts_with("mqtt://127.0.0.1:"), "{line}");
        }
        daemon.api = ready["api"].as_str().expect("`api` is a string").to_owned();
        daemon
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.api)
    }

    /// The port from the ready line.
    fn port(&self) -> u16 {
        self.api.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Waits (briefly) for a stderr line that is a JSON object with this key.
    fn stderr_json(&self, key: &str, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.stderr.lock().unwrap().iter().find_map(|line| {
                serde_json::from_str::<Value>(line)
                    .ok()
                    .filter(|v| v.get(key).is_some())
            });
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`, then everything it printed after the ready line.
    fn kill(mut self) -> Printed {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        Printed {
            stdout_after_ready: self.stdout_rest.try_iter().collect(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `stewardd` command that must finish by itself (a `serve` that should refuse to start
/// must not hang the suite).
fn run_to_end(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = stewardd(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stewardd");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`stewardd {}` did not finish within 60 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The demo login with this org role.
fn login_with_role(demo: &Value, role: &str) -> (String, String) {
    let user = demo["demo"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == role)
        .unwrap_or_else(|| panic!("no demo user with role {role}: {demo}"));
    (
        user["email"].as_str().unwrap().to_owned(),
        user["password"].as_str().unwrap().to_owned(),
    )
}

async fn sign_in(client: &Client, daemon: &Daemon, (email, password): &(String, String)) -> String {
    let r = client
        .post(daemon.url("/session"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "sign in as {email}");
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn serve_demo_prints_the_ready_line_and_the_logins_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = path_str(dir.path());
    let daemon = Daemon::start(&["serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--demo"]);
    assert!(daemon.api.starts_with("http://127.0.0.1:"), "{}", daemon.api);
    assert_ne!(daemon.port(), 0);

    // The logins: one JSON line on stderr.
    let demo = daemon
        .stderr_json("demo", Duration::from_secs(10))
        .expect("the demo logins on stderr");
    let users = demo["demo"]["users"].as_array().unwrap();
    assert!(users.len() >= 5, "{demo}");
    for user in users {
        for field in ["email", "password", "role"] {
            assert!(user[field].is_string(), "{field} in {user}");
        }
    }
    assert!(
        demo["demo"]["keys"]["scada"]
            .as_str()
            .unwrap()
            .starts_with("stw_"),
        "{demo}"
    );

    let client = http();
    let r = client.get(daemon.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    // The printed password and key work.
    let owner = login_with_role(&demo, "owner");
    let token = sign_in(&client, &daemon, &owner).await;
    let r = client
        .get(daemon.url("/equipment"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(daemon.url("/equipment"))
        .bearer_auth(demo["demo"]["keys"]["scada"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let printed = daemon.kill();
    assert!(
        printed.stdout_after_ready.is_empty(),
        "stdout holds only the ready line: {:?}",
        printed.stdout_after_ready
    );
    let demo_lines = printed.stderr.iter().filter(|l| l.contains("\"demo\"")).count();
    assert_eq!(demo_lines, 1, "{:?}", printed.stderr);

    // A second start on the same data seeds nothing and prints no logins.
    let again = Daemon::start(&["serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--demo"]);
    let r = client.get(again.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The first start's password still works: nothing was re-seeded.
    let token = sign_in(&client, &again, &owner).await;
    let r = client
        .get(again.url("/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let users_after: Value = r.json().await.unwrap();
    assert_eq!(users_after.as_array().unwrap().len(), users.len());
    let printed = again.kill();
    assert!(printed.stdout_after_ready.is_empty());
    assert!(
        !printed
            .stderr
            .iter()
            .any(|l| l.contains("\"demo\"") || l.contains("stw_")),
        "no logins on a second start: {:?}",
        printed.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = path_str(dir.path());
    let daemon = Daemon::start(&["serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--demo"]);
    let demo = daemon.stderr_json("demo", Duration::from_secs(10)).unwrap();
    let owner = login_with_role(&demo, "owner");
    let client = http();
    let token = sign_in(&client, &daemon, &owner).await;

    // One sequential writer and three concurrent ones, each recording what was acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, url, token) = (client.clone(), daemon.url("/events"), token.clone());
        let (acknowledged, stop, failures) = (acknowledged.clone(), stop.clone(), failures.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let title = format!("crash-test w{writer} #{n}");
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "title": title, "body": { "writer": writer } }))
                    .send()
                    .await;
                let Ok(response) = sent else {
                    // Killed mid-request: not acknowledged.
                    failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if response.status() != 201 {
                    failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                assert_eq!(body["title"], title.as_str());
                acknowledged
                    .lock()
                    .unwrap()
                    .push((body["id"].as_i64().unwrap(), title));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL while the writers are still sending.
    let printed = tokio::task::spawn_blocking(move || daemon.kill()).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "only {} writes were acknowledged in 1.5 s; stderr: {:?}",
        acknowledged.len(),
        printed.stderr
    );

    // Restart on the same data (no --demo) and find every acknowledged event.
    let daemon = Daemon::start(&["serve", "--data-dir", data, "--listen", "127.0.0.1:0"]);
    let token = sign_in(&client, &daemon, &owner).await;
    let mut stored = BTreeMap::new();
    let mut after = 0;
    loop {
        let r = client
            .get(daemon.url(&format!("/events?after={after}&limit=1000")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Vec<Value> = r.json().await.unwrap();
        let Some(last) = page.last() else { break };
        after = last["id"].as_i64().unwrap();
        for event in page {
            stored.insert(
                event["id"].as_i64().unwrap(),
                event["title"].as_str().unwrap().to_owned(),
            );
        }
    }
    for (id, title) in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(title),
            "acknowledged event {id} ({title}) is missing after kill -9"
        );
    }
    eprintln!(
        "kill -9: {} acknowledged writes all present ({} failed or cut off, {} events stored)",
        acknowledged.len(),
        failures.load(Ordering::Relaxed),
        stored.len()
    );
}

/// A data directory with the demo seeded (and so an audit chain), written in-process.
fn seeded_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let state = steward_platform::serve::open(
        dir.path(),
        Arc::new(steward_platform::clock::SystemClock),
        steward_platform::Limits::default(),
    )
    .unwrap();
    steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    drop(state);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn audit_rows(data: &Path) -> i64 {
    rusqlite::Connection::open(data.join("steward.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn audit_verify_passes_intact_and_catches_an_edit_and_a_deletion() {
    let intact = seeded_data_dir();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(intact.path(), copy.path());
    let rows = audit_rows(intact.path());
    assert!(rows >= 10, "the demo wrote {rows} audit records");

    let (status, out, err) = run_to_end(&["audit", "verify", "--data-dir", path_str(intact.path())]);
    assert_eq!(status.code(), Some(0), "{out}{err}");
    let check: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(check["ok"], true);
    assert_eq!(check["records"], rows);

    // (i) Edit one record's `after`.
    let edited = 3;
    let changed = rusqlite::Connection::open(intact.path().join("steward.db"))
        .unwrap()
        .execute(
            "UPDATE audit SET after = '{\"name\":\"Someone Else\"}' WHERE id = ?1",
            [edited],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let (status, out, err) = run_to_end(&["audit", "verify", "--data-dir", path_str(intact.path())]);
    assert_eq!(status.code(), Some(1), "{out}{err}");
    let check: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(check["ok"], false);
    assert_eq!(check["broken_at"], edited, "{check}");

    // (ii) On an untouched copy, delete a record in the middle.
    let (status, _, _) = run_to_end(&["audit", "verify", "--data-dir", path_str(copy.path())]);
    assert_eq!(status.code(), Some(0));
    let middle = rows / 2;
    rusqlite::Connection::open(copy.path().join("steward.db"))
        .unwrap()
        .execute("DELETE FROM audit WHERE id = ?1", [middle])
        .unwrap();
    let (status, out, err) = run_to_end(&["audit", "verify", "--data-dir", path_str(copy.path())]);
    assert_eq!(status.code(), Some(1), "{out}{err}");
    let check: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(check["ok"], false);
    // The chain breaks at the record after the missing one.
    assert_eq!(check["broken_at"], middle + 1, "{check}");
    assert!(check["problem"].as_str().unwrap().contains("missing"), "{check}");
}

#[test]
fn serve_refuses_plain_http_and_the_demo_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = path_str(&data);

    let (status, out, err) = run_to_end(&["serve", "--data-dir", data, "--listen", "0.0.0.0:0"]);
    assert_eq!(status.code(), Some(2), "{out}{err}");
    assert!(err.contains("--insecure-http"), "{err}");
    assert!(out.is_empty(), "no ready line: {out}");

    let (status, out, err) = run_to_end(&["serve", "--data-dir", data, "--listen", "0.0.0.0:0", "--demo"]);
    assert_eq!(status.code(), Some(2), "{out}{err}");
    assert!(out.is_empty(), "no ready line: {out}");
    let (status, out, err) = run_to_end(&[
        "serve",
        "--data-dir",
        data,
        "--listen",
        "0.0.0.0:0",
        "--demo",
        "--insecure-http",
    ]);
    assert_eq!(status.code(), Some(2), "{out}{err}");
    assert!(err.contains("--demo") && err.contains("loopback"), "{err}");
    assert!(out.is_empty(), "no ready line: {out}");
    // Refused before touching the data directory.
    assert!(!Path::new(data).exists());
}

#[test]
fn catalog_prints_json_and_the_committed_markdown() {
    let (status, out, err) = run_to_end(&["catalog", "--format", "json"]);
    assert!(status.success(), "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        printed,
        serde_json::to_value(steward_model::docs::catalog_document()).unwrap()
    );
    assert!(printed["roles"]["owner"].is_array(), "{printed}");

    let (status, out, err) = run_to_end(&["catalog", "--format", "markdown"]);
    assert!(status.success(), "{err}");
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md"))
            .unwrap();
    assert!(
        out == committed,
        "`stewardd catalog --format markdown` differs from docs/permissions.md (run `cargo xtask docs`)"
    );
}

#[tokio::test]
async fn serve_with_tls_answers_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");

    let daemon = Daemon::start(&[
        "serve",
        "--data-dir",
        path_str(&data),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        path_str(&cert_path),
        "--tls-key",
        path_str(&key_path),
    ]);
    assert!(daemon.api.starts_with("https://127.0.0.1:"), "{}", daemon.api);

    let trusting = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = trusting.get(daemon.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");

    // A client that does not trust the certificate is refused the handshake.
    let r = http().get(daemon.url("/health")).send().await;
    assert!(r.is_err(), "an untrusted certificate must fail: {r:?}");
    // And plain HTTP on the TLS port gets no API answer.
    let plain = daemon.url("/health").replacen("https://", "http://", 1);
    let impatient = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    if let Ok(r) = impatient.get(plain).send().await {
        assert_ne!(r.status(), 200);
    }
}
