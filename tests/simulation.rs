//! Seeded sweep of the deterministic cluster simulation (tier 3 of docs/testing.md).
//!
//! `cargo test --test simulation` runs the CI sweep (1,700 seeds, ~90 s in a debug build) and then the regression
//! corpus (tests/sim/corpus.txt: every seed that ever found a bug);
//! `cargo test --release --test simulation -- --seeds 100000 [--from N]` a longer one;
//! `cargo test --release --test simulation -- --seed N --trace` replays one seed.
//! `--brief` prints one line per failing seed (scripts/planted-bugs.sh uses it);
//! `--max-failures N` stops after N failing seeds; `--strict-lease` fails on an old master
//! kept writing by a replica the failover could not move (the lease's known gap);
//! `--masters N` makes every seed's world watch N masters (the sweep draws 3 for a fifth
//! of its seeds, 1 otherwise), each with its own Redis nodes and failures (N/3 times as
//! many failures as the seed draws);
//! `--scenario elections|stale-votes|newer-config|vote-crash|stale-majority|says-master|
//! reboot-fenced|lost-connect|demoted-promoted` runs
//! a targeted parameter set or fault plan instead of the sweep's (no corpus);
//! `--scenario many-down [--masters N]`: every master (50 by default) killed at once, each
//! failed over in one election round (issue 13).

mod sim;

use sim::{Coverage, Params, Scenario};
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

/// The seeds of tests/sim/corpus.txt.
fn corpus() -> Vec<u64> {
    let text = include_str!("sim/corpus.txt");
    let mut seeds = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match line.parse() {
            Ok(s) => seeds.push(s),
            Err(_) => panic!("tests/sim/corpus.txt line {}: not a seed: '{line}'", n + 1),
        }
    }
    seeds
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trace = args.iter().any(|a| a == "--trace");
    let brief = args.iter().any(|a| a == "--brief");
    let scenario = match args.iter().position(|a| a == "--scenario").and_then(|i| args.get(i + 1)) {
        Some(name) => Scenario::parse(name).unwrap_or_else(|| {
            panic!(
                "unknown scenario '{name}' (sweep, elections, stale-votes, newer-config, vote-crash, stale-majority, says-master, reboot-fenced, lost-connect, demoted-promoted, many-down)"
            )
        }),
        None => Scenario::Sweep,
    };
    let (seeds, corpus_seeds): (Vec<u64>, Vec<u64>) = match arg(&args, "--seed") {
        Some(s) => (vec![s], vec![]),
        None => {
            let from = arg(&args, "--from").unwrap_or(1);
            let n = arg(&args, "--seeds").unwrap_or(1700);
            let range: Vec<u64> = (from..from + n).collect();
            let extra = match scenario {
                Scenario::Sweep => corpus().into_iter().filter(|s| !range.contains(s)).collect(),
                _ => Vec::new(),
            };
            (range, extra)
        }
    };
    let strict_lease = args.iter().any(|a| a == "--strict-lease");
    let masters = arg(&args, "--masters").filter(|&n| n >= 1);
    let max_failures = arg(&args, "--max-failures").unwrap_or(u64::MAX) as usize;
    let started = Instant::now();
    let mut ran = 0;
    let mut cov = Coverage::default();
    let mut failed = Vec::new();
    for (&seed, in_corpus) in seeds.iter().map(|s| (s, false)).chain(corpus_seeds.iter().map(|s| (s, true))) {
        if failed.len() >= max_failures {
            break;
        }
        ran += 1;
        let mut p = Params::scenario(seed, scenario);
        p.strict_lease = strict_lease;
        if let Some(n) = masters {
            // Failures scale with the masters (each strikes one of them), so that a
            // 100-master world sees dozens of failovers rather than a handful.
            p.faults *= (n as usize).div_ceil(3);
            p.masters = n as usize;
        }
        match sim::run(p, trace) {
            Ok(c) => cov.add(&c),
            Err(f) => {
                if !brief {
                    for line in f.trace.iter().rev().take(400).rev() {
                        println!("{line}");
                    }
                }
                let from = if in_corpus { " (regression corpus)" } else { "" };
                println!("seed {} FAILED at t={} ms{from}: {}", f.seed, f.at, f.what);
                if !brief {
                    println!("  reproduce: cargo test --release --test simulation -- --seed {} --trace", f.seed);
                }
                failed.push(seed);
            }
        }
    }
    let total = ran;
    println!(
        "simulation: {} seeds run (sweep of {}, {} more from the regression corpus) in {:.1} s",
        total,
        seeds.len(),
        corpus_seeds.len(),
        started.elapsed().as_secs_f64()
    );
    println!("coverage: {cov:?}");
    let vacuous = seeds.len() >= 100
        && scenario == Scenario::Sweep
        && (cov.failovers_completed == 0 || cov.switch_observed == 0 || cov.tilts == 0);
    if vacuous {
        println!("coverage too thin: the sweep did not exercise failovers, observers and TILT");
    }
    println!("{} passed, {} failed", total - failed.len(), failed.len());
    if !failed.is_empty() || vacuous {
        std::process::exit(1);
    }
}
