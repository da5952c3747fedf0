//! Open-loop HTTP read load against an in-process stewardd with the demo plant.
//!
//! `cargo bench -p steward-platform --bench http_reads` starts the app on 127.0.0.1:0 (SQLite in
//! a temporary directory, the demo seeded, the system clock), signs in as the demo owner and
//! sends authenticated reads at a fixed rate, one phase per workload:
//!
//! - `GET /api/v1/equipment` (a store read through a reader connection),
//! - `GET /api/v1/explain?principal=user:6&action=tasks.manage&resource=org` (the resolver with
//!   reasons),
//! - both, alternating.
//!
//! - `GET /api/v1/equipment` with the demo's SCADA API key instead of a session.
//!
//! The server runs on its own multi-threaded runtime (one worker per core, as `stewardd` does).
//! The load generator is a minimal HTTP/1.1 client on a single-threaded runtime of its own, with
//! a fixed pool of keep-alive connections (so it stays cheap and cannot open a connection per
//! request under backlog). A dispatcher thread releases requests on a fixed schedule (one every
//! 1/rate s) whatever the earlier ones are doing; each latency is measured from the request's
//! *scheduled* send time, so a stall counts against every request it delays (no coordinated
//! omission), including time spent waiting for a free connection. Markdown goes to stdout,
//! progress to stderr. `STEWARD_BENCH_ONLY=<text>` runs only the phases whose name contains it.
//!
//! Settings (environment): `STEWARD_BENCH_RATE` (requests/s, default 5000),
//! `STEWARD_BENCH_SECS` (measured seconds per phase, default 10), `STEWARD_BENCH_WARMUP_SECS`
//! (default 2), `STEWARD_BENCH_SERVER_THREADS` (the server runtime's workers; default one per
//! core). Without `--bench` (as `cargo test --benches` runs it) it only does a short
//! smoke run at a low rate.

// A benchmark binary: a failed setup is a failed run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};
use steward_platform::clock::SystemClock;
use steward_platform::{Limits, SharedState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Keep-alive connections of the load generator.
const CONNECTIONS: usize = 32;
const TARGET_P99_MS: f64 = 2.0;

struct Settings {
    rate: f64,
    secs: f64,
    warmup_secs: f64,
    smoke: bool,
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Settings {
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        Settings {
            rate: 200.0,
            secs: 0.5,
            warmup_secs: 0.2,
            smoke,
        }
    } else {
        Settings {
            rate: env_f64("STEWARD_BENCH_RATE", 5000.0),
            secs: env_f64("STEWARD_BENCH_SECS", 10.0),
            warmup_secs: env_f64("STEWARD_BENCH_WARMUP_SECS", 2.0),
            smoke,
        }
    }
}

/// One completed (or failed) request.
#[derive(Clone, Copy)]
struct Sample {
    /// When it was due, from the start of the phase.
    at: Duration,
    /// From the scheduled send time to the last byte of the body.
    latency: Duration,
    /// How late the dispatcher released it (the generator's own scheduling delay).
    released_late: Duration,
    /// From picking it up on a connection to the last byte of the response: the server's
    /// time plus the loopback network and the client's parsing.
    service: Duration,
    ok: bool,
}

struct Phase {
    name: &'static str,
    /// The requests, sent in turn.
    requests: Vec<Vec<u8>>,
}

struct Report {
    name: &'static str,
    scheduled: usize,
    errors: usize,
    achieved_rate: f64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
    late_p99: Duration,
    service_p50: Duration,
    service_p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

async fn start_server() -> (String, SharedState, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = steward_platform::serve::open(dir.path(), Arc::new(SystemClock), Limits::default()).unwrap();
    let demo = steward_platform::demo::seed_if_empty(&state).unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = steward_platform::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), state, demo, dir)
}

async fn sign_in(base: &str, demo: &Value) -> String {
    let owner = demo["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "owner")
        .unwrap();
    let r = Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": owner["email"], "password": owner["password"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The request bytes for a GET of `path` with the bearer token (HTTP/1.1, keep-alive).
fn request_bytes(addr: &str, path: &str, token: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    )
    .into_bytes()
}

/// Sends one request on a keep-alive connection and reads the whole response; `Ok(true)` for
/// a 200 with its full body.
async fn exchange(stream: &mut TcpStream, buf: &mut Vec<u8>, request: &[u8]) -> std::io::Result<bool> {
    stream.write_all(request).await?;
    buf.clear();
    loop {
        buf.reserve(16 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..end]).map_err(std::io::Error::other)?;
        let ok = head.starts_with("HTTP/1.1 200 ");
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())
                    .flatten()
            })
            .ok_or_else(|| std::io::Error::other("no content-length"))?;
        let total = end + 4 + length;
        while buf.len() < total {
            buf.reserve(total - buf.len());
            if stream.read_buf(buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        return Ok(ok);
    }
}

/// One scheduled request: when it was due, and which of the phase's requests it is.
struct Job {
    scheduled: Instant,
    released: Instant,
    which: usize,
}

/// Sends `rate` requests/s for `secs` seconds on a fixed schedule, cycling through `requests`,
/// over `CONNECTIONS` keep-alive connections driven by a single-threaded runtime of its own;
/// returns one sample per request. A request that finds every connection busy waits for one,
/// and that wait counts in its latency.
fn drive(addr: &str, requests: &[Vec<u8>], rate: f64, secs: f64) -> Vec<Sample> {
    let total = (rate * secs).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let kinds = requests.len();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(requests.to_vec());
    let addr = addr.to_owned();
    // The connections open before the clock starts.
    let start = Instant::now() + Duration::from_millis(100);
    let generator = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for _ in 0..CONNECTIONS {
                let (rx, requests, addr) = (rx.clone(), requests.clone(), addr.clone());
                let stream = TcpStream::connect(&addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                tasks.push(tokio::spawn(async move {
                    let mut stream = Some(stream);
                    let mut buf = Vec::with_capacity(16 * 1024);
                    let mut samples = Vec::new();
                    loop {
                        let Some(job) = rx.lock().await.recv().await else {
                            break;
                        };
                        let picked = Instant::now();
                        if stream.is_none() {
                            stream = TcpStream::connect(&addr).await.ok();
                            if let Some(s) = &stream {
                                let _ = s.set_nodelay(true);
                            }
                        }
                        let ok = match stream.as_mut() {
                            Some(s) => {
                                let request = &requests[job.which];
                                match tokio::time::timeout(
                                    Duration::from_secs(5),
                                    exchange(s, &mut buf, request),
                                )
                                .await
                                {
                                    Ok(Ok(ok)) => ok,
                                    _ => {
                                        stream = None;
                                        false
                                    }
                                }
                            }
                            None => false,
                        };
                        samples.push(Sample {
                            at: job.scheduled.saturating_duration_since(start),
                            latency: Instant::now().saturating_duration_since(job.scheduled),
                            released_late: job.released.saturating_duration_since(job.scheduled),
                            service: picked.elapsed(),
                            ok,
                        });
                    }
                    samples
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            all
        })
    });
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        let now = Instant::now();
        if scheduled > now {
            std::thread::sleep(scheduled - now);
        }
        let _ = tx.send(Job {
            scheduled,
            released: Instant::now(),
            which: i % kinds,
        });
    }
    drop(tx);
    generator.join().unwrap()
}

/// Where the slow requests were: the 50 ms windows (by scheduled time) holding requests over
/// the target, worst first, as `(window start, slow requests, worst latency)`.
fn stalls(samples: &[Sample]) -> (usize, Vec<(Duration, usize, Duration)>) {
    let target = Duration::from_secs_f64(TARGET_P99_MS / 1e3);
    let mut windows: std::collections::BTreeMap<u128, (usize, Duration)> = Default::default();
    for s in samples.iter().filter(|s| !s.ok || s.latency > target) {
        let w = windows.entry(s.at.as_millis() / 50).or_default();
        w.0 += 1;
        w.1 = w.1.max(s.latency);
    }
    let mut list: Vec<_> = windows
        .into_iter()
        .map(|(w, (n, worst))| (Duration::from_millis(w as u64 * 50), n, worst))
        .collect();
    let count = list.len();
    list.sort_by_key(|w| std::cmp::Reverse(w.1));
    list.truncate(8);
    (count, list)
}

fn report(name: &'static str, scheduled: usize, secs: f64, samples: &[Sample]) -> Report {
    let mut ok: Vec<Duration> = samples.iter().filter(|s| s.ok).map(|s| s.latency).collect();
    ok.sort_unstable();
    let mut late: Vec<Duration> = samples.iter().map(|s| s.released_late).collect();
    late.sort_unstable();
    let mut service: Vec<Duration> = samples.iter().filter(|s| s.ok).map(|s| s.service).collect();
    service.sort_unstable();
    Report {
        name,
        scheduled,
        errors: samples.len() - ok.len() + (scheduled - samples.len()),
        achieved_rate: ok.len() as f64 / secs,
        p50: percentile(&ok, 50.0),
        p90: percentile(&ok, 90.0),
        p99: percentile(&ok, 99.0),
        p999: percentile(&ok, 99.9),
        max: ok.last().copied().unwrap_or_default(),
        late_p99: percentile(&late, 99.0),
        service_p50: percentile(&service, 50.0),
        service_p99: percentile(&service, 99.0),
    }
}

fn cpu_seconds() -> Option<f64> {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    let s = settings();
    let mut server = tokio::runtime::Builder::new_multi_thread();
    if let Ok(Ok(n)) = std::env::var("STEWARD_BENCH_SERVER_THREADS").map(|v| v.parse::<usize>()) {
        server.worker_threads(n);
    }
    let rt = server.enable_all().build().unwrap();
    let (base, _state, demo, _dir) = rt.block_on(start_server());
    let token = rt.block_on(sign_in(&base, &demo));
    let addr = base.trim_start_matches("http://").to_owned();
    let scada = demo["keys"]["scada"].as_str().unwrap().to_owned();
    let equipment = "/api/v1/equipment";
    let explain = "/api/v1/explain?principal=user:6&action=tasks.manage&resource=org";
    // Check both answer before loading them.
    let mut explain_ok = true;
    for path in [equipment, explain] {
        let status = rt.block_on(async {
            let r = Client::new()
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            eprintln!(
                "GET {path} -> {status}: {}",
                body.chars().take(160).collect::<String>()
            );
            status
        });
        if status != 200 {
            assert!(path == explain, "GET {path} answered {status}");
            explain_ok = false;
        }
    }
    let get = |path: &str, bearer: &str| request_bytes(&addr, path, bearer);
    let mut phases = vec![Phase {
        name: "GET /api/v1/equipment",
        requests: vec![get(equipment, &token)],
    }];
    if explain_ok {
        phases.push(Phase {
            name: "GET /api/v1/explain?principal=user:6&action=tasks.manage&resource=org",
            requests: vec![get(explain, &token)],
        });
        phases.push(Phase {
            name: "both, alternating",
            requests: vec![get(equipment, &token), get(explain, &token)],
        });
    } else {
        eprintln!("/api/v1/explain does not answer 200: benchmarking /api/v1/session instead");
        phases.push(Phase {
            name: "GET /api/v1/session",
            requests: vec![get("/api/v1/session", &token)],
        });
    }
    phases.push(Phase {
        name: "GET /api/v1/equipment with the SCADA API key",
        requests: vec![get(equipment, &scada)],
    });
    if let Ok(only) = std::env::var("STEWARD_BENCH_ONLY") {
        phases.retain(|p| p.name.contains(only.as_str()));
    }

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!(
        "http_reads: {} req/s for {} s per phase after {} s warm-up, {CONNECTIONS} connections, {cores} cores{}",
        s.rate,
        s.secs,
        s.warmup_secs,
        if s.smoke {
            " (smoke run; pass --bench for the real one)"
        } else {
            ""
        }
    );
    let mut reports = Vec::new();
    let mut cpu = Vec::new();
    for phase in &phases {
        let _ = drive(&addr, &phase.requests, s.rate, s.warmup_secs);
        let cpu_before = cpu_seconds();
        let scheduled = (s.rate * s.secs).round() as usize;
        let samples = drive(&addr, &phase.requests, s.rate, s.secs);
        let cpu_used = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
        let r = report(phase.name, scheduled, s.secs, &samples);
        eprintln!(
            "{}: {:.0} req/s, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms, {} errors; released late p99 {} ms; service p99 {} ms",
            r.name,
            r.achieved_rate,
            ms(r.p50),
            ms(r.p90),
            ms(r.p99),
            ms(r.max),
            r.errors,
            ms(r.late_p99),
            ms(r.service_p99)
        );
        let (windows, worst) = stalls(&samples);
        let slow = samples
            .iter()
            .filter(|x| x.latency.as_secs_f64() * 1e3 > TARGET_P99_MS)
            .count();
        eprintln!(
            "  {slow} requests over {TARGET_P99_MS} ms, in {windows} of {} 50-ms windows; worst windows (at s: slow, worst ms): {}",
            (s.secs * 20.0).ceil(),
            worst
                .iter()
                .map(|(at, n, w)| format!("{:.2}: {n}, {}", at.as_secs_f64(), ms(*w)))
                .collect::<Vec<_>>()
                .join("; ")
        );
        cpu.push(cpu_used);
        reports.push(r);
    }

    println!(
        "| workload | offered | achieved | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | released late p99 ms | service p50 / p99 ms | process CPU | p99 ≤ {TARGET_P99_MS} ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (r, cpu) in reports.iter().zip(&cpu) {
        let verdict = if r.errors == 0 && r.p99.as_secs_f64() * 1e3 <= TARGET_P99_MS {
            "met"
        } else {
            "missed"
        };
        let cpu = cpu.map_or_else(
            || "?".to_owned(),
            |c| {
                format!(
                    "{:.0} % of {cores} cores",
                    100.0 * c / s.secs / cores.max(1) as f64
                )
            },
        );
        println!(
            "| `{}` | {:.0}/s × {} s ({} requests) | {:.0}/s | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {verdict} |",
            r.name,
            s.rate,
            s.secs,
            r.scheduled,
            r.achieved_rate,
            ms(r.p50),
            ms(r.p90),
            ms(r.p99),
            ms(r.p999),
            ms(r.max),
            r.errors,
            ms(r.late_p99),
            ms(r.service_p50),
            ms(r.service_p99),
            cpu
        );
    }
    if s.smoke {
        for r in &reports {
            assert_eq!(r.errors, 0, "{}: {} errors in the smoke run", r.name, r.errors);
        }
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
