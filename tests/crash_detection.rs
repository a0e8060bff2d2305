//! `crash-detection fast` against real `redis-server` processes (ours only; design in
//! docs/crash-detection.md): with `down-after-milliseconds 30000`, a master that is
//! SIGSTOPped for 5 s is *not* failed over (its port still accepts connections), and a
//! SIGKILLed master is failed over through the crash path (`+crash-detected`) long before
//! down-after would have expired.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn ours_crash_detection() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 3);
    topo.wait_discovery(2, 2);
    for p in topo.sentinel_ports() {
        let args = ["SET", MASTER_NAME, "down-after-milliseconds", "30000", "crash-detection", "fast"];
        query(p, &[&["SENTINEL"][..], &args].concat()).unwrap();
        let m = sentinel_master(p, MASTER_NAME).unwrap();
        assert_eq!(m.get("crash-detection").map(String::as_str), Some("fast"));
    }
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();

    step("SIGSTOP of the master for 5 s: a hang is not a crash");
    topo.master.stop();
    let stopped = Instant::now();
    while stopped.elapsed() < Duration::from_secs(5) {
        for l in &logs {
            let seen = l.find("+sdown", |p| p.starts_with("master ")).or_else(|| l.find("+crash-detected", |_| true));
            assert!(seen.is_none(), "a paused master was flagged down: {seen:?}\n{}", l.summary());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    topo.master.cont();

    step("SIGKILL of the master: failed over through the crash path");
    let killed = Instant::now();
    kill9(&mut topo.master);
    // Far below down-after (30 s): only the crash path can get there in time.
    let ev = logs[0].wait_event(Duration::from_secs(20), "+switch-master", |_| true);
    step(&format!("+switch-master {:.2} s after SIGKILL: {}", ev.at.duration_since(killed).as_secs_f64(), ev.payload));
    let crash_seen = logs.iter().filter(|l| l.find("+crash-detected", |_| true).is_some()).count();
    assert!(crash_seen >= 2, "a quorum of sentinels saw the crash (+crash-detected on {crash_seen})");
    for p in topo.sentinel_ports() {
        wait_until(T_FAILOVER, "every sentinel to agree on config epoch 1", || {
            let m = sentinel_master(p, MASTER_NAME)?;
            match m.get("config-epoch").map(String::as_str) {
                Some("1") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        });
    }
    step("5 s of watching: no second failover, the new master never taken for dead");
    assert_quiet_after(&logs, Duration::from_secs(5));
}
