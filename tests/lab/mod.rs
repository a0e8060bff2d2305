//! The fault lab (tier 5 of docs/testing.md): real `redis-server` and `sentinel`
//! processes, each in its own network namespace, where partitions really cut the network.
//! `net` builds and tears down the namespaces (and holds the safety rules), `node` runs the
//! processes and the clients that observe them, `events` records what sentinels publish,
//! `roles` watches each Redis node's `ROLE`, `writer` is a Sentinel-aware writing client,
//! `cluster` assembles the standard deployment. The scenarios live in `tests/faultlab.rs`.
#![allow(dead_code)]

pub mod cluster;
pub mod events;
pub mod net;
pub mod node;
pub mod roles;
pub mod writer;

/// Returns false (after a `SKIPPED:` line in the run's report) when the lab cannot run
/// here; panics instead when every test must run (`SENTINEL_REQUIRE_ALL`, `CI`).
pub fn available() -> bool {
    match net::lab_available() {
        Ok(()) => true,
        Err(why) => {
            crate::common::skip("", &format!("fault lab: {why}"));
            false
        }
    }
}

/// Prints a measurement line (`LAB: ...`) and appends it to
/// `target/tmp/faultlab-report.txt`, so the figures survive cargo's output capture.
pub fn report(line: &str) {
    use std::io::Write;
    println!("{line}");
    eprintln!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faultlab-report.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = writeln!(f, "{line}");
    }
}
