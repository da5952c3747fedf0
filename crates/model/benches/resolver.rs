//! Resolver throughput with criterion: `cargo bench -p steward-model --bench resolver`.
//!
//! - `decide/{1e3,1e4,1e5,1e6}`: one `decide` per iteration, cycling through the scale's
//!   100k-check workload (about half allowed); the figure is the mean over that mix.
//! - `who_can/*`: reverse lookups on the 10⁵-binding plant (10,000 users).
//! - `effective_matrix/*`: the org-level matrix of 1,000 users × the whole catalog.
//!
//! Criterion reports means; `--bench decide_latency` reports the percentiles. See BENCHMARKS.md.

// benches: a failed setup should abort the run, so unwrap/expect/indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use steward_model::{AssetAction, AssetKind, Permission, Plant, Resource};

use common::{SCALES, SEED, Workload};

/// Each plant is built once, before the benchmarks that use it.
static PLANTS: [OnceLock<(Plant, Workload)>; 4] = [const { OnceLock::new() }; 4];

fn scale(index: usize) -> &'static (Plant, Workload) {
    PLANTS[index].get_or_init(|| common::plant(SCALES[index].1, SEED))
}

/// The plant with 10,000 users.
const WHO_CAN_SCALE: usize = 2;

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    for (index, (name, _)) in SCALES.iter().enumerate() {
        let (plant, workload) = scale(index);
        group.bench_function(*name, |b| {
            let mut checks = workload.checks.iter().cycle();
            b.iter(|| {
                let check = checks.next().unwrap();
                black_box(plant.decide(black_box(check.principal), check.action, check.resource))
            });
        });
    }
    group.finish();
}

fn who_can(c: &mut Criterion) {
    let mut group = c.benchmark_group("who_can");
    let name = SCALES[WHO_CAN_SCALE].0;
    let (plant, _) = scale(WHO_CAN_SCALE);
    group.bench_function(BenchmarkId::new("asset_run", name), |b| {
        // Every asset in turn, workforces included.
        let assets: Vec<_> = plant.assets().map(|(id, _)| id).collect();
        let mut assets = assets.iter().cycle();
        b.iter(|| {
            let asset = *assets.next().unwrap();
            black_box(plant.who_can(AssetAction::Run, Resource::Asset(black_box(asset))))
        });
    });
    group.bench_function(BenchmarkId::new("workforce_run", name), |b| {
        let workforces: Vec<_> = plant
            .assets()
            .filter(|(_, a)| a.kind == AssetKind::Workforce)
            .map(|(id, _)| id)
            .collect();
        let mut workforces = workforces.iter().cycle();
        b.iter(|| {
            let asset = *workforces.next().unwrap();
            black_box(plant.who_can(AssetAction::Run, Resource::Asset(black_box(asset))))
        });
    });
    // Operators and above: ~75 % of the users.
    group.bench_function(BenchmarkId::new("org_tasks_manage", name), |b| {
        b.iter(|| black_box(plant.who_can(black_box(Permission::TasksManage), Resource::Org)));
    });
    // Admins and owners only: a scan that finds few.
    group.bench_function(BenchmarkId::new("org_users_manage", name), |b| {
        b.iter(|| black_box(plant.who_can(black_box(Permission::UsersManage), Resource::Org)));
    });
    group.finish();
}

fn effective_matrix(c: &mut Criterion) {
    let mut group = c.benchmark_group("effective_matrix");
    for index in [WHO_CAN_SCALE, 3] {
        let name = SCALES[index].0;
        let (plant, _) = scale(index);
        let users = common::sample_users(plant, 1000, SEED);
        group.bench_function(BenchmarkId::new("1000_users", name), |b| {
            b.iter(|| black_box(plant.effective_matrix(black_box(&users))));
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    decide(&mut c);
    who_can(&mut c);
    effective_matrix(&mut c);
    c.final_summary();
}
