//! `steward-sim`: N simulated devices against a stewardd and its broker.
//!
//! It registers (or reuses) `--devices` devices named `sim-0001`… through the REST API, in a small
//! hierarchy (site > area > line > cell) and a few logical groups, then connects each one over
//! MQTT 5 with its own credential: a retained `online` on connect (announcing its keepalive), a
//! Last Will `offline`, telemetry readings, answers to RPC requests, and queued commands logged.
//! `--flap-rate` makes some drop and come back; `--kill` cuts K of them off once all are online.
//!
//! stdout carries JSON lines only (with `--json`; otherwise the same facts as text): a ready line
//! once every device is online, then one line naming the devices killed. Logs go to stderr.

mod device;
mod register;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::json;
use tokio::sync::{mpsc, watch};

/// How a killed device goes away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KillMode {
    /// A power cut: the socket stays open but nothing more is sent, so only the keepalive (and
    /// stewardd's own liveness check) can tell.
    Silent,
    /// A crash: the socket closes without a DISCONNECT, so the broker publishes the Will at once.
    Close,
}

#[derive(Parser, Debug, Clone)]
#[command(name = "steward-sim", version, about = "Simulated devices for Steward")]
pub struct Args {
    /// stewardd's base URL, e.g. http://127.0.0.1:8443.
    #[arg(long)]
    pub api: String,
    /// A bearer token (session token or API key) holding devices.create/update/list,
    /// logical_group.create/update/list and hierarchy_group.create/list.
    #[arg(long, env = "STEWARD_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The broker, e.g. mqtt://127.0.0.1:1883 (stewardd's ready line names it).
    #[arg(long)]
    pub mqtt: String,
    /// How many devices.
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// MQTT keepalive, seconds (at least 5). Each device publishes something at least every
    /// keepalive/2.
    #[arg(long, default_value_t = 30)]
    pub keepalive: u64,
    /// Fraction of the devices, per minute, that drop and reconnect.
    #[arg(long, default_value_t = 0.0)]
    pub flap_rate: f64,
    /// Once every device is online, cut this many off.
    #[arg(long, default_value_t = 0)]
    pub kill: usize,
    #[arg(long, value_enum, default_value_t = KillMode::Silent)]
    pub kill_mode: KillMode,
    /// Telemetry period, milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub telemetry_ms: u64,
    /// Device names are `<prefix>-0001`….
    #[arg(long, default_value = "sim")]
    pub prefix: String,
    /// Stop after this many seconds (each device says `offline` and disconnects); default: run
    /// until Ctrl-C.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Machine-readable lines on stdout.
    #[arg(long)]
    pub json: bool,
}

fn say(args: &Args, line: serde_json::Value, text: String) {
    if args.json {
        println!("{line}");
    } else {
        println!("{text}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("steward-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    if args.devices == 0 || args.devices > 100_000 {
        return Err("--devices is 1 to 100000".into());
    }
    if args.keepalive < 5 || args.keepalive > 65_535 {
        // rumqttc's MQTT 5 client refuses keepalives under 5 s.
        return Err("--keepalive is 5 to 65535 seconds".into());
    }
    if !(0.0..=60.0).contains(&args.flap_rate) {
        return Err("--flap-rate is a fraction per minute, 0 to 60".into());
    }
    if args.kill > args.devices {
        return Err("--kill cannot exceed --devices".into());
    }
    let (host, port) = device::broker_address(&args.mqtt)?;
    let start = Instant::now();
    let registered = register::register(&args).await?;
    let registered_ms = start.elapsed().as_millis();
    eprintln!(
        "steward-sim: {} devices registered ({} new) in {registered_ms} ms; connecting",
        registered.devices.len(),
        registered.created
    );

    let online = Arc::new(AtomicUsize::new(0));
    let (changed_tx, mut changed) = watch::channel(());
    let (stop_tx, stop) = watch::channel(false);
    let mut controls = Vec::with_capacity(registered.devices.len());
    let mut tasks = Vec::with_capacity(registered.devices.len());
    // Bounds simultaneous handshakes so a thousand connects do not all time out together.
    let connecting = Arc::new(tokio::sync::Semaphore::new(128));
    for (i, d) in registered.devices.iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        controls.push((d.id, tx));
        let sim = device::Sim {
            org: registered.org,
            id: d.id,
            username: d.username.clone(),
            password: d.password.clone(),
            host: host.clone(),
            port,
            keepalive: Duration::from_secs(args.keepalive),
            telemetry: Duration::from_millis(args.telemetry_ms.max(100)),
            seed: 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1),
        };
        tasks.push(tokio::spawn(device::run(
            sim,
            rx,
            online.clone(),
            changed_tx.clone(),
            stop.clone(),
            connecting.clone(),
        )));
    }
    drop(changed_tx);

    let n = registered.devices.len();
    let deadline = args.duration.map(|s| start + Duration::from_secs(s));
    let mut rng = device::Rng::new(start.elapsed().as_nanos() as u64 | 1);
    let mut ready = false;
    let mut killed: Vec<i64> = Vec::new();
    let mut flap_tick = tokio::time::interval(Duration::from_secs(1));
    let connect_started = Instant::now();
    loop {
        let sleep_until = deadline.map_or_else(
            || tokio::time::Instant::now() + Duration::from_secs(3600),
            tokio::time::Instant::from_std,
        );
        tokio::select! {
            r = changed.changed() => {
                if r.is_err() { break; }
            }
            _ = flap_tick.tick() => {
                if ready && args.flap_rate > 0.0 {
                    // Each second, each live device flaps with probability rate/60.
                    let p = args.flap_rate / 60.0;
                    for (id, tx) in &controls {
                        if !killed.contains(id) && rng.unit() < p {
                            let _ = tx.send(device::Control::Flap);
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(sleep_until) => break,
            _ = tokio::signal::ctrl_c() => break,
        }
        let up = online.load(Ordering::SeqCst);
        if !ready && up >= n {
            ready = true;
            let ms = connect_started.elapsed().as_millis();
            say(
                &args,
                json!({ "devices": n, "online": up, "org": registered.org, "registered_ms": registered_ms, "connected_ms": ms, "keepalive": args.keepalive }),
                format!(
                    "steward-sim: all {n} devices online (registered in {registered_ms} ms, connected in {ms} ms)"
                ),
            );
            if args.kill > 0 {
                killed = pick(&mut rng, &controls, args.kill);
                for (id, tx) in &controls {
                    if killed.contains(id) {
                        let _ = tx.send(device::Control::Kill(args.kill_mode));
                    }
                }
                killed.sort_unstable();
                say(
                    &args,
                    json!({ "killed": killed, "mode": format!("{:?}", args.kill_mode).to_lowercase(), "at_ms": start.elapsed().as_millis() }),
                    format!("steward-sim: killed {} devices: {killed:?}", killed.len()),
                );
            }
        }
    }
    // Orderly end: every live device says `offline` and disconnects.
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    Ok(())
}

/// K distinct device ids, chosen at random.
fn pick(
    rng: &mut device::Rng,
    controls: &[(i64, mpsc::UnboundedSender<device::Control>)],
    k: usize,
) -> Vec<i64> {
    let mut ids: Vec<i64> = controls.iter().map(|(id, _)| *id).collect();
    // Partial Fisher–Yates.
    for i in 0..k.min(ids.len()) {
        let j = i + (rng.next() as usize) % (ids.len() - i);
        ids.swap(i, j);
    }
    ids.truncate(k);
    ids
}
