//! Failover quality beyond Redis Sentinel, against real `redis-server` processes (ours
//! only; docs/failover-quality.md):
//!
//! * `max-lag-on-failover`: a replica that fell behind (its link to the master broken
//!   while the master kept taking writes) is not promoted even though its priority makes
//!   it the first choice; the sentinel says why (`-failover-lagging-replicas`), and
//!   `SENTINEL FAILOVER <master> FORCE` promotes it anyway.

mod common;

use common::*;
use std::time::Duration;

fn sentinel_cmd(port: u16, args: &[&str]) -> Result<redis::Value, String> {
    query(port, &[&["SENTINEL"], args].concat())
}

/// Every string inside a reply, depth first (for `SENTINEL INFO-CACHE`).
fn texts(v: &redis::Value, out: &mut Vec<String>) {
    match v {
        redis::Value::Array(items) | redis::Value::Set(items) => items.iter().for_each(|i| texts(i, out)),
        redis::Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            texts(k, out);
            texts(v, out)
        }),
        other => out.extend(value_str(other)),
    }
}

/// One of our sentinels (quorum 1, down-after 1 s, failover-timeout 4 s) over a master and
/// two replicas, with `option value` pairs set on the master, and its event log.
fn single(options: &[&str]) -> (Topology, u16, EventLog) {
    let topo = Topology::start(SentinelKind::Ours, 2, 1);
    topo.wait_discovery(2, 0);
    let port = topo.sentinels[0].port;
    let set = ["SET", MASTER_NAME, "quorum", "1", "down-after-milliseconds", "1000", "failover-timeout", "4000"];
    sentinel_cmd(port, &[&set[..], options].concat()).unwrap();
    let events = EventLog::start(port);
    (topo, port, events)
}

#[test]
fn ours_lagging_replica_is_not_promoted() {
    // down-after 3 s: Redis's own rule (§9) excludes a replica whose link has been down
    // for more than 10 × down-after, and b's link stays down for the ~10 s this test waits
    // for the master's INFO; with 1 s that rule, not the lag bound, would exclude it.
    let (mut topo, port, events) = single(&["down-after-milliseconds", "3000", "max-lag-on-failover", "1000"]);
    let (m, b) = (topo.master.port, topo.replicas[0].port);

    step("replica b: best priority, but its link to the master is broken and it falls behind");
    query(b, &["CONFIG", "SET", "replica-priority", "1"]).unwrap();
    query(b, &["CONFIG", "SET", "masterauth", "not-the-password"]).unwrap();
    query(b, &["CLIENT", "KILL", "TYPE", "master"]).unwrap();
    wait_until(T_START, "b's master link down", || {
        let i = info(b, "replication")?;
        match info_field(&i, "master_link_status").as_deref() {
            Some("down") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let value = "x".repeat(100);
    for i in 0..200 {
        query(m, &["SET", &format!("k{i}"), &value]).unwrap();
    }
    step("the other replica is gone: b is the only candidate");
    kill9(&mut topo.replicas[1]);
    // The sentinel must have read the master's offset after the writes (INFO every 10 s).
    let offset: u64 = info_field(&info(m, "replication").unwrap(), "master_repl_offset").unwrap().parse().unwrap();
    wait_until(T_FAILOVER, "the sentinel to see b's priority and the master's new offset", || {
        let r = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
        let rb = r.iter().find(|x| x.get("port").map(String::as_str) == Some(&b.to_string()));
        let prio = rb.and_then(|x| x.get("slave-priority")).cloned().unwrap_or_default();
        let mut cached = Vec::new();
        texts(&sentinel_cmd(port, &["INFO-CACHE", MASTER_NAME])?, &mut cached);
        let seen =
            cached.iter().filter_map(|t| info_field(t, "master_repl_offset")?.parse::<u64>().ok()).max().unwrap_or(0);
        if prio == "1" && seen >= offset {
            Ok(())
        } else {
            Err(format!("b priority {prio}, best offset seen {seen} < {offset}"))
        }
    });

    step("SIGKILL of the master: no promotion of the lagging replica");
    kill9(&mut topo.master);
    let lag = events.wait_event(T_FAILOVER, "-failover-lagging-replicas", |_| true);
    step(&format!("-failover-lagging-replicas {}", lag.payload));
    assert!(lag.payload.contains(&format!(":{b} lag ")), "{}", lag.payload);
    events.wait_event(T_FAILOVER, "-failover-abort-no-good-slave", |_| true);
    assert!(events.find("+selected-slave", |_| true).is_none(), "a lagging replica was selected\n{}", events.summary());
    // The decision explained (issue 12.7): nothing eligible, b excluded for its lag.
    let why = events.wait_event(T_FAILOVER, "+replica-selection", |_| true);
    assert!(
        why.payload.contains("none eligible") && why.payload.contains(&format!(":{b} excluded: lag ")),
        "{}",
        why.payload
    );
    assert_eq!(role(b).unwrap(), "slave");

    step("SENTINEL FAILOVER ... FORCE promotes it anyway");
    wait_until(Duration::from_secs(20), "SENTINEL FAILOVER FORCE accepted", || {
        sentinel_cmd(port, &["FAILOVER", MASTER_NAME, "FORCE"]).map(|_| ())
    });
    let ev = events.wait_event(T_FAILOVER, "+switch-master", |_| true);
    assert!(ev.payload.ends_with(&format!(" {b}")), "{}", ev.payload);
    let err = sentinel_cmd(port, &["FAILOVER", MASTER_NAME, "NOW"]).unwrap_err();
    assert!(err.contains("wrong number of arguments"), "{err}");
}

/// `failover-block-period`: a master failed over moments ago that dies again is not
/// failed over automatically (`-failover-blocked`) until an operator acknowledges with a
/// `SENTINEL SET` of the master.
#[test]
fn ours_flapping_master_is_blocked() {
    let (mut topo, port, events) = single(&["failover-block-period", "600000"]);

    step("first failure: failed over");
    kill9(&mut topo.master);
    let first = events.wait_event(T_FAILOVER, "+switch-master", |_| true);
    let new_port: u16 = first.payload.rsplit(' ').next().unwrap().parse().unwrap();
    let i = topo.replicas.iter().position(|r| r.port == new_port).expect("a replica was promoted");
    wait_until(T_FAILOVER, "the other replica to follow the new master", || {
        let other = topo.replicas[1 - i].port;
        match replica_master_port(other)? {
            Some(p) if p == new_port => Ok(()),
            x => Err(format!("{x:?}")),
        }
    });

    step("the new master dies too: blocked");
    kill9(&mut topo.replicas[i]);
    let blocked = events.wait_event(T_FAILOVER, "-failover-blocked", |_| true);
    step(&format!("-failover-blocked {}", blocked.payload));
    let tried_again = events.events().iter().any(|e| e.channel == "+try-failover" && e.at > first.at);
    assert!(!tried_again, "a second automatic failover was tried\n{}", events.summary());

    step("an operator acknowledges (SENTINEL SET): the failover proceeds");
    sentinel_cmd(port, &["SET", MASTER_NAME, "failover-block-period", "600000"]).unwrap();
    let second = events.wait_event(T_FAILOVER, "+switch-master", |p| !p.ends_with(&format!(" {new_port}")));
    assert!(second.at > blocked.at);
}
