//! Per-call latency percentiles of the resolver:
//! `cargo bench -p steward-model --bench decide_latency`.
//!
//! Criterion gives means; the targets are percentiles, so this binary times every single call.
//! Method: each `decide` is bracketed by two `Instant::now()` reads (the TSC through the vDSO,
//! nanosecond resolution here); the median cost of an empty bracket, sampled between the passes
//! (25k empty pairs per scale and pass), is subtracted from every sample (floored at 0). Inputs
//! and output pass through `black_box`, and the returned `Decision` is dropped inside the
//! bracket. Each scale's 100k-check workload (shuffled, about half allowed) is run once to warm
//! up and then `PASSES` times, the scales taking turns pass by pass so that noise from other
//! work on the machine spreads over all of them. A back-to-back pass without per-call timers
//! gives the mean as a cross-check of criterion's.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it only does a quick smoke run of the
//! 10³ plant.

// benches: a failed setup should abort the run, so unwrap/expect/indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use steward_model::plant::{Asset, Group, Project, User};
use steward_model::{
    AssetAction, AssetKind, AssetRole, Change, Decision, Grantee, Permission, Plant, Resource, UserId,
};

use common::{Check, Kind, SCALES, SEED, Workload};

/// Measured passes over each workload (after one warm-up pass).
const PASSES: usize = 10;

struct Stats {
    n: usize,
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

fn stats(samples: &mut [u64]) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        n: samples.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
    }
}

fn nanos(start: Instant, end: Instant) -> u64 {
    u64::try_from(end.duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}

/// Appends `n` samples of an empty `Instant::now()` bracket.
fn empty_brackets(n: usize, out: &mut Vec<u64>) {
    out.extend((0..n).map(|_| {
        let t0 = Instant::now();
        let t1 = Instant::now();
        nanos(t0, t1)
    }));
}

/// Times each check of the workload once; appends one raw sample (timer included) per check.
fn timed_pass(plant: &Plant, checks: &[Check], out: &mut Vec<u64>) -> usize {
    let mut mismatches = 0;
    for check in checks {
        let t0 = Instant::now();
        let decision = plant.decide(
            black_box(check.principal),
            black_box(check.action),
            black_box(check.resource),
        );
        let allowed = black_box(&decision).allowed;
        drop(decision);
        let t1 = Instant::now();
        out.push(nanos(t0, t1));
        mismatches += usize::from(allowed != check.allowed);
    }
    mismatches
}

/// Like `timed_pass`, but each check is first run once untimed: the timed call finds its data
/// in the caches. Diagnostic only: it separates compute from memory latency.
fn warm_pass(plant: &Plant, checks: &[Check], out: &mut Vec<u64>) {
    for check in checks {
        black_box(plant.decide(check.principal, check.action, check.resource));
        let t0 = Instant::now();
        let decision = plant.decide(
            black_box(check.principal),
            black_box(check.action),
            black_box(check.resource),
        );
        black_box(&decision);
        drop(decision);
        let t1 = Instant::now();
        out.push(nanos(t0, t1));
    }
}

/// The mean of back-to-back calls, in ns.
fn untimed_pass(plant: &Plant, checks: &[Check]) -> f64 {
    let start = Instant::now();
    for check in checks {
        black_box(plant.decide(
            black_box(check.principal),
            black_box(check.action),
            black_box(check.resource),
        ));
    }
    start.elapsed().as_nanos() as f64 / checks.len() as f64
}

/// Times `f` once per item; returns the samples in ns.
fn time_each<T: Copy, R>(items: &[T], mut f: impl FnMut(T) -> R) -> Vec<u64> {
    items
        .iter()
        .map(|item| {
            let t0 = Instant::now();
            black_box(f(black_box(*item)));
            nanos(t0, Instant::now())
        })
        .collect()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn micros(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn millis(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

/// A row of the by-kind table.
#[derive(Clone, Copy)]
enum Row {
    Kind(Kind),
    Allowed(bool),
}

impl Row {
    fn label(self) -> &'static str {
        match self {
            Row::Kind(kind) => kind.name(),
            Row::Allowed(true) => "all allowed",
            Row::Allowed(false) => "all denied",
        }
    }

    fn keeps(self, check: &Check) -> bool {
        match self {
            Row::Kind(kind) => check.kind == kind,
            Row::Allowed(allowed) => check.allowed == allowed,
        }
    }
}

struct Scale {
    name: &'static str,
    plant: Plant,
    workload: Workload,
    samples: Vec<u64>,
    means: Vec<f64>,
    mismatches: usize,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (scale_count, passes) = if full { (SCALES.len(), PASSES) } else { (1, 1) };
    let mut scales: Vec<Scale> = Vec::new();
    let mut loads = Vec::new();
    for (name, bindings) in SCALES.iter().take(scale_count) {
        let rss_before = rss_kib();
        let started = Instant::now();
        let (plant, workload) = common::plant(*bindings, SEED);
        let built = started.elapsed();
        loads.push((
            plant.binding_count(),
            plant.users().count(),
            built,
            rss_kib().saturating_sub(rss_before),
            workload.allowed_fraction(),
        ));
        scales.push(Scale {
            name,
            plant,
            workload,
            samples: Vec::new(),
            means: Vec::new(),
            mismatches: 0,
        });
    }

    // Empty brackets are sampled between the passes, so the overhead subtracted is the one of
    // the same conditions (frequency, other load on the machine).
    let mut empty = Vec::new();
    for pass in 0..=passes {
        for scale in &mut scales {
            let checks = &scale.workload.checks;
            if pass == 0 {
                // Warm-up.
                let mut discard = Vec::with_capacity(checks.len());
                timed_pass(&scale.plant, checks, &mut discard);
                continue;
            }
            empty_brackets(checks.len() / 4, &mut empty);
            scale.mismatches += timed_pass(&scale.plant, checks, &mut scale.samples);
            scale.means.push(untimed_pass(&scale.plant, checks));
        }
    }
    let timer = stats(&mut empty);
    let overhead = timer.p50;
    eprintln!(
        "empty Instant::now() bracket over {} samples: p50 {} ns, p99 {} ns, min {} ns",
        timer.n, timer.p50, timer.p99, empty[0]
    );
    for scale in &mut scales {
        for sample in &mut scale.samples {
            *sample = sample.saturating_sub(overhead);
        }
    }

    println!("## decide, per call (ns; the median empty-timer bracket, {overhead} ns, subtracted)\n");
    println!(
        "| bindings | users | build (gen + load) | RSS added | allowed | calls timed | p50 | p90 | p99 | p99.9 | max | mean back-to-back |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut p50s = Vec::new();
    for (scale, load) in scales.iter().zip(&loads) {
        let (bindings, users, built, rss, allowed) = *load;
        let mut samples = scale.samples.clone();
        let s = stats(&mut samples);
        let mut means = scale.means.clone();
        means.sort_by(f64::total_cmp);
        let mean = means[means.len() / 2];
        println!(
            "| {bindings} | {users} | {:.2} s | {} MiB | {:.1} % | {} | {} | {} | {} | {} | {} | {mean:.0} |",
            built.as_secs_f64(),
            rss / 1024,
            100.0 * allowed,
            s.n,
            s.p50,
            s.p90,
            s.p99,
            s.p999,
            s.max,
        );
        p50s.push((scale.name, s.p50, s.p99));
        if scale.mismatches != 0 {
            eprintln!(
                "WARNING: {}: {} decisions differ from the workload's",
                scale.name, scale.mismatches
            );
        }
    }
    if let (Some(first), Some(last)) = (p50s.first(), p50s.last()) {
        println!(
            "\ngrowth {} → {}: p50 × {:.2}, p99 × {:.2}",
            first.0,
            last.0,
            last.1 as f64 / first.1.max(1) as f64,
            last.2 as f64 / first.2.max(1) as f64
        );
    }

    // Diagnostic: the same check run twice, the second timed, so its data is in the caches.
    println!("\n## decide with warm caches (each check run just before; diagnostic)\n");
    println!("| bindings | p50 | p90 | p99 |");
    println!("|---|---|---|---|");
    for scale in &scales {
        let mut samples = Vec::with_capacity(scale.workload.checks.len());
        warm_pass(&scale.plant, &scale.workload.checks, &mut samples);
        for sample in &mut samples {
            *sample = sample.saturating_sub(overhead);
        }
        let s = stats(&mut samples);
        println!("| {} | {} | {} | {} |", scale.name, s.p50, s.p90, s.p99);
    }
    println!(
        "\nsizes: Option<User> {} B, Option<Group> {} B, Option<Project> {} B, Option<Asset> {} B, Decision {} B",
        size_of::<Option<User>>(),
        size_of::<Option<Group>>(),
        size_of::<Option<Project>>(),
        size_of::<Option<Asset>>(),
        size_of::<Decision>(),
    );

    println!("\n## decide by kind of check: p50 / p99 (ns)\n");
    print!("| kind |");
    for scale in &scales {
        print!(" {} |", scale.name);
    }
    println!();
    println!("|---|{}", "---|".repeat(scales.len()));
    let rows = Kind::ALL
        .map(Row::Kind)
        .into_iter()
        .chain([Row::Allowed(true), Row::Allowed(false)]);
    for row in rows {
        print!("| {} |", row.label());
        for scale in &scales {
            let len = scale.workload.checks.len();
            let mut picked: Vec<u64> = scale
                .samples
                .iter()
                .enumerate()
                .filter(|(i, _)| row.keeps(&scale.workload.checks[i % len]))
                .map(|(_, s)| *s)
                .collect();
            if picked.is_empty() {
                print!(" – |");
            } else {
                let s = stats(&mut picked);
                print!(" {} / {} |", s.p50, s.p99);
            }
        }
        println!();
    }

    // Reverse lookups and matrices on the 10⁴-user plant, and on the largest for scale.
    let who_can_scales: Vec<usize> = if full { vec![2, 3] } else { vec![0] };
    println!("\n## who_can and effective matrix, per call\n");
    println!("| plant | query | calls | p50 | p99 | max | answers (mean) |");
    println!("|---|---|---|---|---|---|---|");
    for index in who_can_scales {
        let scale = &scales[index];
        let plant = &scale.plant;
        let users = plant.users().count();
        let label = format!("{} ({users} users)", scale.name);
        let big = index == 3;
        let mut assets: Vec<_> = plant.assets().map(|(id, _)| id).collect();
        let mut rng = fastrand::Rng::with_seed(SEED);
        rng.shuffle(&mut assets);
        assets.truncate(if big { 500 } else { 2000 });
        let workforces: Vec<_> = plant
            .assets()
            .filter(|(_, a)| a.kind == AssetKind::Workforce)
            .map(|(id, _)| id)
            .take(if big { 300 } else { 1000 })
            .collect();
        let org_calls = if big { 20 } else { 200 };
        let mut queries: Vec<(String, Vec<u64>, f64)> = Vec::new();
        for (what, items) in [
            ("who_can asset.run", &assets),
            ("who_can asset.run, workforces", &workforces),
        ] {
            let mut answers = 0usize;
            let samples = time_each(items, |a| {
                let who = plant.who_can(AssetAction::Run, Resource::Asset(a));
                answers += who.len();
                who
            });
            queries.push((what.into(), samples, answers as f64 / items.len().max(1) as f64));
        }
        for permission in [Permission::TasksManage, Permission::UsersManage] {
            let items = vec![permission; org_calls];
            let mut answers = 0usize;
            let samples = time_each(&items, |p| {
                let who = plant.who_can(p, Resource::Org);
                answers += who.len();
                who
            });
            queries.push((
                format!("who_can {}", permission.name()),
                samples,
                answers as f64 / org_calls as f64,
            ));
        }
        let sample = common::sample_users(plant, 1000, SEED);
        let matrix_calls: Vec<&[UserId]> = vec![&sample; if full { 500 } else { 20 }];
        let samples = time_each(&matrix_calls, |users| plant.effective_matrix(users));
        queries.push((
            format!("effective_matrix, {} users × catalog", sample.len()),
            samples,
            sample.len() as f64,
        ));
        // Not a target: the preview of one grant change (what the console shows before saving),
        // and the plant clone it starts with.
        let changes: Vec<Change> = sample
            .iter()
            .take(if big { 20 } else { 50 })
            .filter_map(|u| {
                let project = plant.user(*u)?.project_roles().first()?.0;
                let asset = *plant.project(project)?.assets().first()?;
                Some(Change::SetAssetRole {
                    grantee: Grantee::User(*u),
                    asset,
                    role: Some(AssetRole::Admin),
                })
            })
            .collect();
        let changes: Vec<&Change> = changes.iter().collect();
        let mut deltas = 0usize;
        let samples = time_each(&changes, |change| {
            let preview = plant.preview(change).unwrap();
            deltas += preview.len();
            preview
        });
        let mean_deltas = deltas as f64 / changes.len().max(1) as f64;
        queries.push(("preview, one user's asset grant".into(), samples, mean_deltas));
        let samples = time_each(&[(); 10], |()| plant.clone());
        queries.push(("Plant::clone + drop".into(), samples, 1.0));
        for (what, mut samples, answers) in queries {
            if samples.is_empty() {
                continue;
            }
            let s = stats(&mut samples);
            let show = |ns| {
                if s.max >= 1_000_000 {
                    millis(ns)
                } else {
                    micros(ns)
                }
            };
            println!(
                "| {label} | {what} | {} | {} | {} | {} | {answers:.0} |",
                s.n,
                show(s.p50),
                show(s.p99),
                show(s.max),
            );
        }
    }

    // The three-level effective access (org + every project and asset) of the same 1000 users:
    // not a target, but what a full console matrix would cost through `decide`.
    if full {
        println!("\n## effective_access (org + projects + assets) per user, 1000 users\n");
        println!("| plant | p50 | p99 | max | total for 1000 users |");
        println!("|---|---|---|---|---|");
        for scale in scales.iter().skip(2) {
            let plant = &scale.plant;
            let users = common::sample_users(plant, 1000, SEED);
            let started = Instant::now();
            let mut samples = time_each(&users, |u| {
                plant.effective_access(steward_model::Principal::User(u))
            });
            let total = started.elapsed();
            let s = stats(&mut samples);
            println!(
                "| {} | {} | {} | {} | {:.1} ms |",
                scale.name,
                micros(s.p50),
                if s.p99 >= 1_000_000 {
                    millis(s.p99)
                } else {
                    micros(s.p99)
                },
                millis(s.max),
                total.as_secs_f64() * 1000.0
            );
        }
    }
}
