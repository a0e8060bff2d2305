//! Instances coming and going, and failover edge cases, against real `redis-server`
//! processes (docs/behaviour.md §6.1, §8.3, §8.8, §12): a replica pointed at the wrong
//! master is re-pointed (`+fix-slave-config`), a restarted replica is detected
//! (`+reboot`), `replica-priority 0` is never promoted (`-NOGOODSLAVE`,
//! `-failover-abort-no-good-slave`), manual `SENTINEL FAILOVER` (`-INPROG`), and a master
//! whose commands are renamed (`rename-command`, set at runtime).
//!
//! One sentinel with quorum 1 per test keeps them short; `ours_*` runs our daemon,
//! `reference_*` the same scenario against Debian's `redis-sentinel`.

mod common;

use common::*;
use std::time::Duration;

fn sentinel_cmd(port: u16, args: &[&str]) -> Result<redis::Value, String> {
    query(port, &[&["SENTINEL"], args].concat())
}

/// One sentinel, quorum 1, short failover-timeout.
fn single(kind: SentinelKind, replicas: usize) -> (Topology, u16, EventLog) {
    let topo = Topology::start(kind, replicas, 1);
    topo.wait_discovery(replicas, 0);
    let port = topo.sentinels[0].port;
    sentinel_cmd(
        port,
        &["SET", MASTER_NAME, "quorum", "1", "failover-timeout", "4000", "down-after-milliseconds", "3000"],
    )
    .unwrap();
    let events = EventLog::start(port);
    (topo, port, events)
}

fn fix_slave_config(kind: SentinelKind) {
    let (topo, _port, events) = single(kind, 2);
    let (b, c) = (topo.replicas[0].port, topo.replicas[1].port);
    // Chain c behind b by hand: c now follows the wrong master.
    query(c, &["REPLICAOF", HOST, &b.to_string()]).unwrap();
    let ev = events.wait_event(T_FAILOVER, "+fix-slave-config", |p| p.contains(&format!(" {c} ")));
    step(&format!("+fix-slave-config {}", ev.payload));
    wait_until(T_FAILOVER, "replica c follows the master again", || match replica_master_port(c)? {
        Some(p) if p == topo.master.port => Ok(()),
        other => Err(format!("master_port {other:?}")),
    });
}

#[test]
fn ours_fix_slave_config() {
    fix_slave_config(SentinelKind::Ours);
}

#[test]
fn reference_fix_slave_config() {
    fix_slave_config(SentinelKind::Redis);
}

fn reboot_detected(kind: SentinelKind) {
    let (mut topo, _port, events) = single(kind, 1);
    let b = topo.replicas[0].port;
    std::thread::sleep(Duration::from_millis(1500)); // the run id is known by now (INFO)
    topo.replicas[0].restart();
    let ev = events.wait_event(T_FAILOVER, "+reboot", |p| p.starts_with("slave"));
    assert!(ev.payload.contains(&format!("{HOST}:{b}")), "{}", ev.payload);
}

#[test]
fn ours_reboot_detected() {
    reboot_detected(SentinelKind::Ours);
}

#[test]
fn reference_reboot_detected() {
    reboot_detected(SentinelKind::Redis);
}

fn priority_zero_never_promoted(kind: SentinelKind) {
    let (mut topo, port, events) = single(kind, 1);
    let b = topo.replicas[0].port;
    query(b, &["CONFIG", "SET", "replica-priority", "0"]).unwrap();
    wait_until(T_FAILOVER, "sentinel sees slave-priority 0", || {
        let r = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
        match r.first().map(|r| r["slave-priority"].clone()) {
            Some(p) if p == "0" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let err = sentinel_cmd(port, &["FAILOVER", MASTER_NAME]).unwrap_err();
    assert!(err.contains("NOGOODSLAVE"), "{err}");
    topo.master.kill9();
    events.wait_event(T_FAILOVER, "-failover-abort-no-good-slave", |_| true);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(role(b).unwrap(), "slave", "the priority-0 replica was not promoted");
    assert!(events.find("+promoted-slave", |_| true).is_none(), "{}", events.summary());
}

#[test]
fn ours_priority_zero_never_promoted() {
    priority_zero_never_promoted(SentinelKind::Ours);
}

#[test]
fn reference_priority_zero_never_promoted() {
    priority_zero_never_promoted(SentinelKind::Redis);
}

fn manual_failover(kind: SentinelKind) {
    let (topo, port, events) = single(kind, 2);
    let old = topo.master.port;
    wait_replicas_ready(port);
    assert_eq!(value_str(&sentinel_cmd(port, &["FAILOVER", MASTER_NAME]).unwrap()).as_deref(), Some("OK"));
    let err = sentinel_cmd(port, &["FAILOVER", MASTER_NAME]).unwrap_err();
    assert!(err.contains("INPROG"), "{err}");
    let ev = events.wait_event(T_FAILOVER, "+switch-master", |_| true);
    let new: u16 = ev.payload.rsplit(' ').next().unwrap().parse().unwrap();
    assert_ne!(new, old);
    assert_eq!(role(new).unwrap(), "master");
    // The old, healthy master is demoted after the switch (§8.8, §12.1).
    events.wait_event(T_REJOIN, "+convert-to-slave", |p| p.contains(&format!(" {old} ")));
    wait_until(T_REJOIN, "old master replicates from the new one", || match replica_master_port(old)? {
        Some(p) if p == new => Ok(()),
        other => Err(format!("{other:?}")),
    });
}

#[test]
fn ours_manual_failover() {
    manual_failover(SentinelKind::Ours);
}

#[test]
fn reference_manual_failover() {
    manual_failover(SentinelKind::Redis);
}

/// A master started with PING and CONFIG renamed is SDOWN (PING unknown) until the
/// sentinel is told the new names; then it is reachable again.
fn renamed_commands(kind: SentinelKind) {
    let (topo, port, events) = single(kind, 0);
    let dir = topo.root.path().join("renamed");
    std::fs::create_dir_all(&dir).unwrap();
    let rport = free_port();
    let args: Vec<String> = [
        "--port",
        &rport.to_string(),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
        "--rename-command",
        "PING",
        "PONGX",
        "--rename-command",
        "CONFIG",
        "CONFIGX",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _renamed = Proc::launch("redis-renamed", rport, &dir, require_program("redis-server"), args);
    sentinel_cmd(port, &["MONITOR", "renamed", HOST, &rport.to_string(), "1"]).unwrap();
    sentinel_cmd(port, &["SET", "renamed", "down-after-milliseconds", "1000"]).unwrap();
    events.wait_event(T_FAILOVER, "+sdown", |p| p.contains("renamed"));
    sentinel_cmd(port, &["SET", "renamed", "rename-command", "PING", "PONGX", "rename-command", "CONFIG", "CONFIGX"])
        .unwrap();
    events.wait_event(T_FAILOVER, "-sdown", |p| p.contains("renamed"));
}

#[test]
fn ours_renamed_commands() {
    renamed_commands(SentinelKind::Ours);
}

#[test]
fn reference_renamed_commands() {
    renamed_commands(SentinelKind::Redis);
}
