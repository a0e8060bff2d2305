//! Seeded sweep of the deterministic cluster simulation (tier 3 of ARCHITECTURE.md).
//!
//! `cargo test --release --test simulation` runs the CI sweep (2,000 seeds);
//! `cargo test --release --test simulation -- --seeds 100000 [--from N]` a longer one;
//! `cargo test --release --test simulation -- --seed N --trace` replays one seed.

mod sim;

use sim::{Coverage, Params};
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trace = args.iter().any(|a| a == "--trace");
    let seeds: Vec<u64> = match arg(&args, "--seed") {
        Some(s) => vec![s],
        None => {
            let from = arg(&args, "--from").unwrap_or(1);
            let n = arg(&args, "--seeds").unwrap_or(2000);
            (from..from + n).collect()
        }
    };
    let started = Instant::now();
    let mut cov = Coverage::default();
    let mut failed = Vec::new();
    for &seed in &seeds {
        match sim::run(Params::from_seed(seed), trace) {
            Ok(c) => cov.add(&c),
            Err(f) => {
                for line in f.trace.iter().rev().take(400).rev() {
                    println!("{line}");
                }
                println!("seed {} FAILED at t={} ms: {}", f.seed, f.at, f.what);
                println!("  reproduce: cargo test --release --test simulation -- --seed {} --trace", f.seed);
                failed.push(seed);
            }
        }
    }
    println!("simulation: {} seeds in {:.1} s", seeds.len(), started.elapsed().as_secs_f64());
    println!("coverage: {cov:?}");
    let vacuous = seeds.len() >= 100 && (cov.failovers_completed == 0 || cov.switch_observed == 0 || cov.tilts == 0);
    if vacuous {
        println!("coverage too thin: the sweep did not exercise failovers, observers and TILT");
    }
    println!("{} passed, {} failed", seeds.len() - failed.len(), failed.len());
    if !failed.is_empty() || vacuous {
        std::process::exit(1);
    }
}
