//! Benchmark: the whole catalogue on this kernel, as `nsconform run` does it.
//! `cargo bench -p nsconform --bench catalogue [-- ROUNDS]` prints the wall time of each
//! round (min, median, max) and the slowest properties of the median round. Measure
//! speed here, never with timed assertions in tests.

use nsconform_core::catalogue;
use nsconform_core::env::Env;
use nsconform_core::harness::{self, RunOptions};
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    // locate_probe finds `nsconform` one directory up from target/<profile>/deps; with
    // `cargo bench` that is target/release/nsconform.
    let probe = harness::locate_probe()
        .expect("nsconform not found: run `cargo build --release -p nsconform` first");
    let opts = RunOptions::new(probe);
    let env = Env::detect(None);
    let props: Vec<_> = catalogue::all().iter().collect();
    let mut times = Vec::new();
    let mut slowest = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let results = nsconform_core::run::run_all(&props, &env, &opts, &|_| {});
        times.push(t.elapsed());
        let mut per: Vec<(u64, String)> = results
            .iter()
            .map(|r| (r.duration_ms, r.id.clone()))
            .collect();
        per.sort_unstable_by(|a, b| b.cmp(a));
        slowest.push(per);
    }
    let mut sorted = times.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    println!(
        "{} properties, {rounds} rounds: min {:.3} s, median {:.3} s, max {:.3} s (jobs {})",
        props.len(),
        sorted[0].as_secs_f64(),
        median.as_secs_f64(),
        sorted[sorted.len() - 1].as_secs_f64(),
        opts.jobs
    );
    let idx = times.iter().position(|t| *t == median).unwrap_or(0);
    println!("slowest properties of the median round:");
    for (ms, id) in slowest[idx].iter().take(8) {
        println!("  {id:<9} {ms} ms");
    }
}
