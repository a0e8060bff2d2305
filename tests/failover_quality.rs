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

#[test]
fn ours_lagging_replica_is_not_promoted() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 1);
    topo.wait_discovery(2, 0);
    let port = topo.sentinels[0].port;
    let set = ["SET", MASTER_NAME, "quorum", "1", "down-after-milliseconds", "1000", "failover-timeout", "4000"];
    sentinel_cmd(port, &set).unwrap();
    sentinel_cmd(port, &["SET", MASTER_NAME, "max-lag-on-failover", "1000"]).unwrap();
    let (m, b) = (topo.master.port, topo.replicas[0].port);
    let events = EventLog::start(port);

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
    wait_until(T_FAILOVER, "the sentinel to see b's priority and the master's new offset", || {
        let r = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
        let rb = r.iter().find(|x| x.get("port").map(String::as_str) == Some(&b.to_string()));
        let prio = rb.and_then(|x| x.get("slave-priority")).cloned().unwrap_or_default();
        let cached = sentinel_cmd(port, &["INFO-CACHE", MASTER_NAME]).map(|v| format!("{v:?}"))?;
        let offset_seen = cached.contains("master_repl_offset:") && !cached.contains("master_repl_offset:0\\r");
        if prio == "1" && offset_seen {
            Ok(())
        } else {
            Err(format!("b priority {prio}"))
        }
    });

    step("SIGKILL of the master: no promotion of the lagging replica");
    kill9(&mut topo.master);
    let lag = events.wait_event(T_FAILOVER, "-failover-lagging-replicas", |_| true);
    step(&format!("-failover-lagging-replicas {}", lag.payload));
    assert!(lag.payload.contains(&format!(":{b} lag ")), "{}", lag.payload);
    events.wait_event(T_FAILOVER, "-failover-abort-no-good-slave", |_| true);
    assert!(events.find("+selected-slave", |_| true).is_none(), "a lagging replica was selected\n{}", events.summary());
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
