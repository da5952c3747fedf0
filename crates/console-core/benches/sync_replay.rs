//! The console's two bulk paths against a real stewardd (the platform's router and SQLite store,
//! served in-process on 127.0.0.1:0, as in tests/console.rs):
//!
//! - **sync**: the change feed holds ~1M rows after the demo's; a console whose cache is at the
//!   demo's cursor pulls them all (`Console::sync`, 5,000 rows a page). The 1M rows are
//!   `user` puts written straight into the platform's `changes` table with SQL (set-up only;
//!   the platform's `users` table does not get them, and the feed does not read it).
//! - **replay**: 10,000 extra users (`BENCH_QUEUED`) are seeded with SQL (users table and feed) before the
//!   platform starts; the console syncs them, queues one org-role change for each while the
//!   platform is down, and `Console::replay` sends them once it is back (each run starts from
//!   copies of the same platform and console folders).
//!
//!   cargo bench -p steward-console-core --bench sync_replay [-- sync|replay] [RUNS]
//!
//! Replay goes through `POST /batch` (up to 1,000 changes a request); sync writes up to 8 pages
//! of 5,000 rows per cache transaction.
//!
//! Prints one JSON line per run and a median per figure. Release (bench profile) only; without
//! `--bench` (`cargo test --benches`) it syncs 2,000 rows and replays 20 changes as a smoke run.

// A bench: a failed step is a failed run, and printing is its output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use steward_console_core::Console;
use steward_console_core::secrets::MemoryStore;
use steward_model::{Change, OrgRole, UserId};
use steward_platform::clock::SystemClock;
use steward_platform::{Limits, SharedState};
use tokio::task::JoinHandle;

/// Without `--bench` (as `cargo test --benches` runs it) the binary only does a small smoke run.
fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn feed_rows() -> i64 {
    if smoke() { 2_000 } else { 1_000_000 }
}
/// Changes to replay; `BENCH_QUEUED` changes it (10,000 queue offline in well under a minute now
/// that `submit` keeps the plant with pending changes between calls).
fn queued() -> i64 {
    std::env::var("BENCH_QUEUED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke() { 20 } else { 10_000 })
}
/// Seeded ids start here, far above the demo's.
const FIRST_ID: i64 = 100_000;

fn open(dir: &Path) -> SharedState {
    steward_platform::serve::open(dir, Arc::new(SystemClock), Limits::default()).unwrap()
}

/// Serves on `addr` (port 0 picks one); a stopped server's port is taken again, retrying briefly,
/// because the console profile remembers the URL it signed in to.
async fn serve(state: SharedState, addr: SocketAddr) -> (SocketAddr, JoinHandle<()>) {
    let mut listener = None;
    for _ in 0..100 {
        if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
            listener = Some(l);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let listener = listener.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = steward_platform::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

async fn stop(task: JoinHandle<()>) {
    task.abort();
    let _ = task.await;
}

/// The demo's owner login.
fn owner(demo: &Value) -> (String, String) {
    let u = demo["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "owner")
        .unwrap();
    (
        u["email"].as_str().unwrap().to_owned(),
        u["password"].as_str().unwrap().to_owned(),
    )
}

/// Appends `n` user puts to the feed (and, with `users`, the users table), ids from `FIRST_ID`.
fn seed(platform_dir: &Path, n: i64, users: bool) {
    let conn = rusqlite::Connection::open(platform_dir.join("steward.db")).unwrap();
    let org: i64 = conn
        .query_row("SELECT id FROM orgs ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let now = 1_790_000_000_000_i64;
    let numbers = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)";
    if users {
        conn.execute(
            &format!(
                "{numbers} INSERT INTO users (id, org_id, email, name, role, active, created_at, version)
                 SELECT ?3 + i, ?1, 'bench' || i || '@plant.example', 'Bench User ' || i, 'viewer', 1, ?4, 1 FROM n"
            ),
            rusqlite::params![org, n, FIRST_ID, now],
        )
        .unwrap();
    }
    conn.execute(
        &format!(
            "{numbers} INSERT INTO changes (org_id, entity, entity_id, op, version, body, at)
             SELECT ?1, 'user', ?3 + i, 'put', 1, json_object('id', ?3 + i, 'org_id', ?1,
               'email', 'bench' || i || '@plant.example', 'name', 'Bench User ' || i, 'role', 'viewer',
               'active', json('true'), 'totp_enabled', json('false'), 'created_at', ?4, 'version', 1), ?4 FROM n"
        ),
        rusqlite::params![org, n, FIRST_ID, now],
    )
    .unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A platform folder with the demo (plus `extra_users` seeded users), and a console folder
/// signed in to it and synced; the console is left locked so its folder can be copied.
async fn templates(root: &Path, extra_users: i64) -> (String, String, Arc<MemoryStore>, SocketAddr) {
    let platform = root.join("platform");
    let state = open(&platform);
    let demo = steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    drop(state);
    if extra_users > 0 {
        seed(&platform, extra_users, true);
    }
    let state = open(&platform);
    let (addr, task) = serve(state.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let (email, password) = owner(&demo);
    let secrets = Arc::new(MemoryStore::default());
    let console = Console::new(root.join("console"), secrets.clone());
    let session = console
        .sign_in(&format!("http://{addr}"), &email, &password, None)
        .await
        .unwrap();
    console.lock_now().unwrap();
    stop(task).await;
    drop(state);
    (session.profile.id, password, secrets, addr)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn bench_sync(runs: usize) {
    let root = tempfile::tempdir().unwrap();
    let (profile, password, secrets, addr) = templates(root.path(), 0).await;
    let platform = root.path().join("platform");
    let t = Instant::now();
    seed(&platform, feed_rows(), false);
    println!(
        "seeded {} feed rows in {:.1} s",
        feed_rows(),
        t.elapsed().as_secs_f64()
    );
    let state = open(&platform);
    let (_, task) = serve(state, addr).await;
    let mut times = Vec::new();
    for run in 0..runs {
        let dir = root.path().join(format!("console-{run}"));
        copy_dir(&root.path().join("console"), &dir);
        let console = Console::new(&dir, secrets.clone());
        console.open_offline(&profile, &password).unwrap();
        let t = Instant::now();
        let mut pages = 0u32;
        let report = console.sync(|_| pages += 1).await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({"bench": "sync", "run": run, "rows": report.applied, "pages": pages,
                "seconds": secs, "rows_per_second": f64::from(report.applied) / secs})
        );
        times.push(secs);
        drop(console);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    stop(task).await;
    println!(
        "sync of {} rows: median {:.2} s over {runs} runs (target ≤ 10 s for 1M)",
        feed_rows(),
        median(times)
    );
}

async fn bench_replay(runs: usize) {
    let root = tempfile::tempdir().unwrap();
    let (profile, password, secrets, addr) = templates(root.path(), queued()).await;
    // Queue one change per seeded user while the platform is down (the server is stopped).
    let console = Console::new(root.path().join("console"), secrets.clone());
    console.open_offline(&profile, &password).unwrap();
    let t = Instant::now();
    for i in 0..queued() {
        let user = UserId(u32::try_from(FIRST_ID + i).unwrap());
        console
            .submit(Change::SetOrgRole {
                user,
                role: OrgRole::Member,
            })
            .await
            .unwrap();
        if i % 1000 == 999 {
            println!("queued {} in {:.1} s", i + 1, t.elapsed().as_secs_f64());
        }
    }
    console.lock_now().unwrap();
    drop(console);
    let mut times = Vec::new();
    for run in 0..runs {
        let run_root = root.path().join(format!("run-{run}"));
        copy_dir(&root.path().join("platform"), &run_root.join("platform"));
        copy_dir(&root.path().join("console"), &run_root.join("console"));
        let state = open(&run_root.join("platform"));
        let (_, task) = serve(state, addr).await;
        let console = Console::new(run_root.join("console"), secrets.clone());
        console.open_offline(&profile, &password).unwrap();
        let t = Instant::now();
        let report = console.replay().await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({"bench": "replay", "run": run, "accepted": report.accepted,
                "conflicts": report.conflicts, "failed": report.failed, "seconds": secs,
                "changes_per_second": f64::from(report.accepted) / secs})
        );
        times.push(secs);
        drop(console);
        stop(task).await;
        std::fs::remove_dir_all(&run_root).unwrap();
    }
    println!(
        "replay of {} changes: median {:.2} s over {runs} runs (target ≤ 2 s for 10,000)",
        queued(),
        median(times)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; the first other word picks the bench, a number the runs.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let which = args.iter().find(|a| a.parse::<usize>().is_err()).cloned();
    let runs = args.iter().find_map(|a| a.parse::<usize>().ok()).unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if which.as_deref().is_none_or(|w| w == "sync") {
            bench_sync(runs).await;
        }
        if which.as_deref().is_none_or(|w| w == "replay") {
            bench_replay(runs).await;
        }
    });
}
