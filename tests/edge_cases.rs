//! Failover edge cases and reboot detection against real `redis-server` processes
//! (docs/behaviour.md §6.2 rule 3, §7.4, §8.4–§8.6, §12.3, §3.4):
//!
//! * a master that restarts and stays in LOADING longer than
//!   `master-reboot-down-after-period` is failed over; with the period 0 it is not;
//! * `parallel-syncs 2` reconfigures two replicas at once, `parallel-syncs 1` one by one;
//! * `failover-timeout` aborts: a selected replica that never becomes master
//!   (`-failover-abort-slave-timeout`), a candidate that cannot get a majority
//!   (`-failover-abort-not-elected`), and the 2 × failover-timeout retry delay;
//! * `resolve-hostnames` / `announce-hostnames` with `localhost` as the master's host.
//!
//! `ours_*` runs our daemon, `reference_*` the same scenario against Debian's
//! `redis-sentinel`, which validates the test itself.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn sentinel_cmd(port: u16, args: &[&str]) -> Result<redis::Value, String> {
    query(port, &[&["SENTINEL"], args].concat())
}

/// One sentinel, quorum 1, with the given per-master options.
fn single(kind: SentinelKind, replicas: usize, opts: &[&str]) -> (Topology, u16, EventLog) {
    let topo = Topology::start(kind, replicas, 1);
    topo.wait_discovery(replicas, 0);
    let port = topo.sentinels[0].port;
    let mut args = vec!["SET", MASTER_NAME, "quorum", "1"];
    args.extend_from_slice(opts);
    sentinel_cmd(port, &args).unwrap();
    let events = EventLog::start(port);
    (topo, port, events)
}

/// Index of the `n`-th (0-based) event on `channel` in the log, if any.
fn nth(log: &[Event], channel: &str, n: usize) -> Option<usize> {
    log.iter().enumerate().filter(|(_, e)| e.channel == channel).nth(n).map(|(i, _)| i)
}

fn is_master_event(e: &Event) -> bool {
    e.payload.starts_with("master ")
}

// ---------------------------------------------------------------------------------------
// 1. master-reboot-down-after-period with a master that stays in LOADING (§12.3)
// ---------------------------------------------------------------------------------------

/// Writes `n` keys with pipelined MSETs (a dataset that takes a while to load).
fn fill_keys(port: u16, n: usize) {
    let mut con = connect(port).unwrap();
    let val = "v".repeat(16);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut c = redis::cmd("MSET");
        for i in chunk {
            c.arg(format!("key:{i}")).arg(&val);
        }
        c.query::<()>(&mut con).unwrap();
    }
}

/// Restarts the master so that it answers `-LOADING` for several seconds: a saved
/// dataset of 20k keys and `key-load-delay 200` (µs per key; a Redis debug config), with
/// events processed every KB of RDB so it answers at all while loading.
/// INFO is polled every `info-period`, so a reboot is only noticed at the next poll; the
/// sentinel is told to poll every second (`SENTINEL DEBUG`) to see it within the load.
fn restart_master_loading(topo: &mut Topology) {
    let sport = topo.sentinels[0].port;
    assert_eq!(value_str(&sentinel_cmd(sport, &["DEBUG", "info-period", "1000"]).unwrap()).as_deref(), Some("OK"));
    let port = topo.master.port;
    fill_keys(port, 20_000);
    assert_eq!(value_str(&query(port, &["SAVE"]).unwrap()).as_deref(), Some("OK"));
    let conf = topo.master.dir.join("redis.conf");
    let mut text = read_to_string(&conf);
    text.push_str("key-load-delay 200\nloading-process-events-interval-bytes 1024\n");
    std::fs::write(&conf, text).unwrap();
    std::thread::sleep(Duration::from_millis(1500)); // the run id is known by now (INFO)
    topo.master.restart();
    let err = query(port, &["PING"]).unwrap_err();
    assert!(err.to_lowercase().contains("loading"), "the restarted master is not loading: {err}");
    step("master restarted, answering -LOADING");
}

/// The master still answers -LOADING (the load was long enough for what was observed).
fn assert_loading(port: u16, after: &str) {
    match query(port, &["PING"]) {
        Err(e) if e.to_lowercase().contains("loading") => step(&format!("{after} while the master is loading")),
        other => panic!("{after} came after the load finished: {other:?}"),
    }
}

fn reboot_loading_failed_over(kind: SentinelKind) {
    let opts =
        ["down-after-milliseconds", "3000", "failover-timeout", "4000", "master-reboot-down-after-period", "1000"];
    let (mut topo, _port, events) = single(kind, 1, &opts);
    let (old, b) = (topo.master.port, topo.replicas[0].port);
    restart_master_loading(&mut topo);
    events.wait_event(T_FAILOVER, "+reboot", |p| p.starts_with("master"));
    assert_loading(old, "+reboot");
    events.wait_event(T_FAILOVER, "+sdown", |p| p.starts_with("master"));
    // SDOWN by §6.2 rule 3 while the master still answers -LOADING (a valid reply).
    assert_loading(old, "+sdown");
    let ev = events.wait_event(T_FAILOVER, "+switch-master", |_| true);
    assert!(ev.payload.ends_with(&format!(" {b}")), "{}", ev.payload);
    assert_in_order(&events, &["+reboot", "+sdown", "+odown", "+try-failover", "+promoted-slave", "+switch-master"]);
}

#[test]
fn ours_reboot_loading_failed_over() {
    reboot_loading_failed_over(SentinelKind::Ours);
}

#[test]
fn reference_reboot_loading_failed_over() {
    reboot_loading_failed_over(SentinelKind::Redis);
}

fn reboot_loading_period_zero(kind: SentinelKind) {
    let opts = ["down-after-milliseconds", "3000", "failover-timeout", "4000"];
    let (mut topo, _port, events) = single(kind, 1, &opts);
    let old = topo.master.port;
    restart_master_loading(&mut topo);
    events.wait_event(T_FAILOVER, "+reboot", |p| p.starts_with("master"));
    assert_loading(old, "+reboot");
    wait_until(T_FAILOVER, "the master finished loading", || match query(old, &["PING"]) {
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    });
    step("master loaded");
    std::thread::sleep(Duration::from_millis(2000));
    let log = events.events();
    assert!(
        !log.iter().any(|e| (e.channel == "+sdown" && is_master_event(e)) || e.channel == "+try-failover"),
        "a loading master was considered down with master-reboot-down-after-period 0\n{}",
        events.summary()
    );
    assert_eq!(role(old).unwrap(), "master");
}

#[test]
fn ours_reboot_loading_period_zero() {
    reboot_loading_period_zero(SentinelKind::Ours);
}

#[test]
fn reference_reboot_loading_period_zero() {
    reboot_loading_period_zero(SentinelKind::Redis);
}

// ---------------------------------------------------------------------------------------
// 2. parallel-syncs (§8.6)
// ---------------------------------------------------------------------------------------

fn parallel_syncs(kind: SentinelKind, n: u32) {
    let ps = n.to_string();
    let opts = ["down-after-milliseconds", "2000", "failover-timeout", "20000", "parallel-syncs", &ps];
    let (mut topo, _port, events) = single(kind, 3, &opts);
    topo.master.kill9();
    events.wait_event(T_FAILOVER, "+failover-end", |_| true);
    let log = events.events();
    let sent: Vec<usize> = (0..2).filter_map(|i| nth(&log, "+slave-reconf-sent", i)).collect();
    let done: Vec<usize> = (0..2).filter_map(|i| nth(&log, "+slave-reconf-done", i)).collect();
    assert_eq!((sent.len(), done.len()), (2, 2), "{}", events.summary());
    assert!(nth(&log, "+slave-reconf-sent", 2).is_none(), "{}", events.summary());
    if n >= 2 {
        assert!(sent[1] < done[0], "parallel-syncs {n}: the second replica waited for the first\n{}", events.summary());
    } else {
        assert!(sent[1] > done[0], "parallel-syncs 1: two replicas reconfigured at once\n{}", events.summary());
    }
    events.wait_event(T_FAILOVER, "+switch-master", |_| true);
}

#[test]
fn ours_parallel_syncs_two() {
    parallel_syncs(SentinelKind::Ours, 2);
}

#[test]
fn ours_parallel_syncs_one() {
    parallel_syncs(SentinelKind::Ours, 1);
}

#[test]
fn reference_parallel_syncs_two() {
    parallel_syncs(SentinelKind::Redis, 2);
}

#[test]
fn reference_parallel_syncs_one() {
    parallel_syncs(SentinelKind::Redis, 1);
}

// ---------------------------------------------------------------------------------------
// 3. failover-timeout aborts and the retry delay (§7.4, §8.4, §8.5)
// ---------------------------------------------------------------------------------------

/// Time from the first to the second event on `channel` (as received).
fn gap(log: &[Event], channel: &str) -> Option<Duration> {
    let a = log[nth(log, channel, 0)?].at;
    let b = log[nth(log, channel, 1)?].at;
    Some(b.duration_since(a))
}

/// Slack for delivery jitter on a shared machine: lower bounds only, never speed.
const SLACK: Duration = Duration::from_millis(600);

/// The only replica is selected but refuses `SLAVEOF` (its ACL denies it, so Redis aborts
/// the whole MULTI/EXEC, §8.2): it never reports `role:master`, the leader gives up after
/// `failover-timeout` in `wait_promotion` and retries 2 × failover-timeout after the
/// previous start.
fn abort_slave_timeout(kind: SentinelKind) {
    let opts = ["down-after-milliseconds", "1000", "failover-timeout", "3000"];
    let (mut topo, _port, events) = single(kind, 1, &opts);
    let b = topo.replicas[0].port;
    let acl = ["ACL", "SETUSER", "default", "-slaveof", "-replicaof"];
    assert_eq!(value_str(&query(b, &acl).unwrap()).as_deref(), Some("OK"));
    topo.master.kill9();
    let waiting = events.wait_event(T_FAILOVER, "+failover-state-wait-promotion", |_| true);
    let abort = events.wait_event(T_FAILOVER, "-failover-abort-slave-timeout", |_| true);
    assert!(abort.at.duration_since(waiting.at) + SLACK >= Duration::from_millis(3000), "{}", events.summary());
    wait_until(T_FAILOVER, "a second +try-failover", || {
        gap(&events.events(), "+try-failover").ok_or_else(|| events.summary())
    });
    let log = events.events();
    let retry = gap(&log, "+try-failover").unwrap();
    assert!(retry + SLACK >= Duration::from_millis(6000), "retried after {retry:?}\n{}", events.summary());
    assert!(nth(&log, "-failover-abort-slave-timeout", 0) < nth(&log, "+try-failover", 1));
    assert_eq!(role(b).unwrap(), "slave");
    assert!(events.find("+promoted-slave", |_| true).is_none(), "{}", events.summary());
}

#[test]
fn ours_abort_slave_timeout() {
    abort_slave_timeout(SentinelKind::Ours);
}

#[test]
fn reference_abort_slave_timeout() {
    abort_slave_timeout(SentinelKind::Redis);
}

/// Three sentinels know each other; two are frozen (SIGSTOP). The third sees the master
/// ODOWN on its own (quorum 1) but cannot get a majority of 3: it gives up after
/// min(election-timeout, failover-timeout) and retries 2 × failover-timeout after the
/// previous start.
fn abort_not_elected(kind: SentinelKind) {
    let topo = Topology::start(kind, 1, 3);
    topo.wait_discovery(1, 2);
    let port = topo.sentinels[0].port;
    sentinel_cmd(port, &["SET", MASTER_NAME, "quorum", "1", "failover-timeout", "3000"]).unwrap();
    let events = EventLog::start(port);
    topo.sentinels[1].stop();
    topo.sentinels[2].stop();
    let mut topo = topo;
    topo.master.kill9();
    let first = events.wait_event(T_FAILOVER, "+try-failover", |_| true);
    let abort = events.wait_event(T_FAILOVER, "-failover-abort-not-elected", |_| true);
    assert!(abort.at.duration_since(first.at) + SLACK >= Duration::from_millis(3000), "{}", events.summary());
    let t0 = Instant::now();
    wait_until(T_FAILOVER, "a second +try-failover", || {
        gap(&events.events(), "+try-failover").ok_or_else(|| events.summary())
    });
    step(&format!("second attempt {:?} after the abort", t0.elapsed()));
    let log = events.events();
    let retry = gap(&log, "+try-failover").unwrap();
    assert!(retry + SLACK >= Duration::from_millis(6000), "retried after {retry:?}\n{}", events.summary());
    assert!(events.find("+elected-leader", |_| true).is_none(), "{}", events.summary());
    for s in &topo.sentinels[1..] {
        s.cont();
    }
}

#[test]
fn ours_abort_not_elected() {
    abort_not_elected(SentinelKind::Ours);
}

#[test]
fn reference_abort_not_elected() {
    abort_not_elected(SentinelKind::Redis);
}

// ---------------------------------------------------------------------------------------
// 4. resolve-hostnames / announce-hostnames (§3.4)
// ---------------------------------------------------------------------------------------

/// Two sentinels with `resolve-hostnames yes`, `announce-hostnames yes` and
/// `announce-ip localhost` monitor a master configured as `localhost`; its replica
/// announces itself as `localhost` (`replica-announce-ip`) but follows `127.0.0.1`
/// (the same address by §3.4). Every table, event and reply uses the hostname; the
/// replica is not "fixed" for following the IP; a failover needs ODOWN agreement through
/// `is-master-down-by-addr localhost …` and switches to the replica's hostname.
fn hostnames(kind: SentinelKind) {
    let root = tempfile::Builder::new().prefix("sentinel-it-").tempdir().unwrap();
    let mut master = start_redis(root.path(), "redis-a", None);
    let replica = start_redis_with(root.path(), "redis-b", Some(master.port), "replica-announce-ip localhost\n");
    let (mp, rp) = (master.port, replica.port);
    let mut m = MasterConf::new(mp);
    m.failover_timeout_ms = 3000;
    let conf = |c: String| {
        let globals =
            "sentinel resolve-hostnames yes\nsentinel announce-hostnames yes\nsentinel announce-ip localhost\n";
        let c = c.replace(
            &format!("sentinel monitor {MASTER_NAME} {HOST} "),
            &format!("sentinel monitor {MASTER_NAME} localhost "),
        );
        c.replacen("sentinel monitor", &format!("{globals}sentinel monitor"), 1)
    };
    let sentinels: Vec<Proc> = (0..2)
        .map(|i| start_sentinel_with(root.path(), &format!("sentinel-{i}"), kind, ConfFormat::RedisConf, &m, conf))
        .collect();
    let ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
    let events: Vec<EventLog> = ports.iter().map(|p| EventLog::start(*p)).collect();
    for &p in &ports {
        wait_until(T_DISCOVERY, "a replica and a peer, by hostname", || {
            let r = sentinel_list(p, "REPLICAS", MASTER_NAME)?;
            let s = sentinel_list(p, "SENTINELS", MASTER_NAME)?;
            let names: Vec<String> = r.iter().chain(&s).map(|x| format!("{} {}", x["name"], x["ip"])).collect();
            if r.len() == 1 && s.len() == 1 && r[0]["ip"] == "localhost" && s[0]["ip"] == "localhost" {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        });
        let r = &sentinel_list(p, "REPLICAS", MASTER_NAME).unwrap()[0];
        assert_eq!(
            (r["name"].as_str(), r["port"].as_str()),
            (format!("localhost:{rp}").as_str(), rp.to_string().as_str())
        );
        assert_eq!(sentinel_master(p, MASTER_NAME).unwrap()["ip"], "localhost");
        assert_eq!(master_addr(p, MASTER_NAME).unwrap(), Some(("localhost".to_string(), mp)));
    }
    // `+slave` came before we could subscribe: the log has it (both log every event).
    let line = format!("+slave slave localhost:{rp} localhost {rp} @ {MASTER_NAME} localhost {mp}");
    for s in &sentinels {
        let log = read_to_string(&s.dir.join(format!("{}.log", s.name)));
        assert!(log.contains(&line), "{} has no `{line}`:\n{log}", s.name);
    }
    step("tables and events use the hostname");

    // MONITOR with a hostname is refused unless resolve-hostnames (§3.4).
    let s0 = ports[0];
    query(s0, &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"]).unwrap();
    let err = query(s0, &["SENTINEL", "MONITOR", "other", "localhost", &mp.to_string(), "1"]).unwrap_err();
    assert!(err.contains("Invalid IP address or hostname specified"), "{err}");
    query(s0, &["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"]).unwrap();
    let ok = query(s0, &["SENTINEL", "MONITOR", "other", "localhost", &mp.to_string(), "1"]).unwrap();
    assert_eq!(value_str(&ok).as_deref(), Some("OK"));
    query(s0, &["SENTINEL", "REMOVE", "other"]).unwrap();
    step("MONITOR localhost: refused with resolve-hostnames no, accepted with yes");

    // The replica follows 127.0.0.1, which is `localhost`: nothing to fix. (Replicas are
    // checked on each INFO reply; poll every second so failover-timeout is what we wait.)
    for &p in &ports {
        sentinel_cmd(p, &["DEBUG", "info-period", "1000"]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(m.failover_timeout_ms + 3000));
    for e in &events {
        assert!(e.find("+fix-slave-config", |_| true).is_none(), "{}", e.summary());
    }
    step("no +fix-slave-config for a replica following the IP of `localhost`");

    master.kill9();
    for e in &events {
        let ev = e.wait_event(T_FAILOVER, "+switch-master", |_| true);
        assert_eq!(ev.payload, format!("{MASTER_NAME} localhost {mp} localhost {rp}"));
    }
    // The leader got the peer's agreement through `is-master-down-by-addr localhost …`.
    let leader = events.iter().find(|e| e.find("+elected-leader", |_| true).is_some()).expect("a leader");
    leader.find("+odown", |p| p.contains("#quorum 2/2")).unwrap_or_else(|| panic!("{}", leader.summary()));
    for &p in &ports {
        wait_until(T_FAILOVER, "the new master by hostname", || match master_addr(p, MASTER_NAME)? {
            Some((h, port)) if h == "localhost" && port == rp => Ok(()),
            other => Err(format!("{other:?}")),
        });
    }
    assert_eq!(role(rp).unwrap(), "master");
    drop(events);
    drop(sentinels);
}

#[test]
fn ours_hostnames() {
    hostnames(SentinelKind::Ours);
}

#[test]
fn reference_hostnames() {
    hostnames(SentinelKind::Redis);
}
