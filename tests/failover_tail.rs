//! A failover's tail with real processes (issue 12, item 5): 1 master + 5 replicas + 3 of
//! our sentinels, `parallel-syncs 1`. The master is SIGKILLed; every replica must end up
//! following the new master with its link up, and at no time may more than
//! `parallel-syncs` replicas be resyncing with the new master because of us.
//!
//! Two independent checks of the second property:
//! * the replicas themselves: their `INFO replication` is sampled all along; a replica
//!   pointing at the new master with `master_link_status:down` or
//!   `master_sync_in_progress:1` is resyncing. A pass over the replicas is not one
//!   instant, so only the replicas flagged in two passes in a row count as resyncing
//!   together (each was resyncing from its first sample to its second, so all of them
//!   at the boundary between the passes);
//! * the leader's own account: between `+slave-reconf-sent` and `+slave-reconf-done` a
//!   replica is being reconfigured; never more than `parallel-syncs` at once, and never
//!   the give-up paths (`-slave-reconf-sent-timeout`, `+slave-reconf-sent-be`,
//!   `+failover-end-for-timeout`) that end the rule. failover-timeout is 60 s so that a
//!   slow shared machine does not reach them.
//!
//! Speed is not asserted (bench/tail.py measures it).

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const REPLICAS: usize = 5;
const PARALLEL_SYNCS: usize = 1;

/// The replicas (ports) resyncing with `new`: pointing at it, link not up or a sync in
/// progress. `None` for a replica that did not answer.
fn resyncing(port: u16, new: u16) -> Option<bool> {
    let i = info(port, "replication").ok()?;
    let follows = info_field(&i, "role").as_deref() == Some("slave")
        && info_field(&i, "master_port").and_then(|p| p.parse::<u16>().ok()) == Some(new);
    let down = info_field(&i, "master_link_status").as_deref() != Some("up");
    let syncing = info_field(&i, "master_sync_in_progress").as_deref() == Some("1");
    Some(follows && (down || syncing))
}

/// The replica is a replica of `new` with its link up.
fn following(port: u16, new: u16) -> bool {
    info(port, "replication").is_ok_and(|i| {
        info_field(&i, "role").as_deref() == Some("slave")
            && info_field(&i, "master_port").and_then(|p| p.parse::<u16>().ok()) == Some(new)
            && info_field(&i, "master_link_status").as_deref() == Some("up")
    })
}

/// The replica named by a `slave <name> <ip> <port> @ ...` event payload.
fn replica_of_payload(payload: &str) -> String {
    payload.split_whitespace().nth(1).unwrap_or_default().to_string()
}

#[test]
fn ours_five_replicas_repointed_within_parallel_syncs() {
    let root = tempfile::Builder::new().prefix("sentinel-tail-").tempdir().expect("temp dir");
    let master = start_redis(root.path(), "redis-a", None);
    let replicas: Vec<Proc> = (0..REPLICAS)
        .map(|i| start_redis(root.path(), &format!("redis-{}", (b'b' + i as u8) as char), Some(master.port)))
        .collect();
    for r in &replicas {
        let p = r.port;
        wait_for(T_START, &format!("replica {p} master_link_status:up"), || {
            (following(p, master.port), format!("{:?}", info(p, "replication").ok()))
        });
    }
    let mut conf = MasterConf::new(master.port);
    conf.failover_timeout_ms = 60_000;
    conf.parallel_syncs = PARALLEL_SYNCS as u32;
    let sentinels: Vec<Proc> = (0..3)
        .map(|i| {
            start_sentinel(root.path(), &format!("sentinel-{i}"), SentinelKind::Ours, ConfFormat::RedisConf, &conf)
        })
        .collect();
    let mut topo = Topology { kind: SentinelKind::Ours, sentinels, master, replicas, master_conf: conf, root };
    topo.wait_discovery(REPLICAS, 2);
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();

    step("SIGKILL the master");
    let old = topo.master.port;
    kill9(&mut topo.master);
    let ports: Vec<u16> = topo.replicas.iter().map(|r| r.port).collect();
    let start = Instant::now();
    let (mut promoted, mut most_together, mut most_in_one_pass, mut passes) = (None, 0usize, 0usize, 0u64);
    loop {
        assert!(
            start.elapsed() < T_FAILOVER,
            "the failover's tail did not complete within {T_FAILOVER:?}: promoted {promoted:?}\n{}",
            logs.iter().map(EventLog::summary).collect::<Vec<_>>().join("\n")
        );
        let new = match promoted {
            Some(p) => p,
            None => {
                promoted = ports.iter().copied().find(|&p| role(p).is_ok_and(|r| r == "master"));
                continue;
            }
        };
        passes += 1;
        let first: Vec<u16> = ports.iter().copied().filter(|&p| p != new && resyncing(p, new) == Some(true)).collect();
        most_in_one_pass = most_in_one_pass.max(first.len());
        let together = first.iter().filter(|&&p| resyncing(p, new) == Some(true)).count();
        most_together = most_together.max(together);
        assert!(
            together <= PARALLEL_SYNCS,
            "{together} replicas resyncing with the new master :{new} at once (parallel-syncs {PARALLEL_SYNCS})"
        );
        let all_follow = ports.iter().filter(|&&p| p != new).all(|&p| following(p, new));
        let all_switched = topo
            .sentinel_ports()
            .iter()
            .all(|&s| master_addr(s, MASTER_NAME).is_ok_and(|a| a.is_some_and(|(_, p)| p == new)));
        if all_follow && all_switched {
            break;
        }
    }
    let new = promoted.expect("a replica was promoted");
    assert_ne!(new, old);
    step(&format!(
        "every replica follows :{new}; {passes} sampling passes, at most {most_in_one_pass} resyncing in one pass, \
         {most_together} proved resyncing together"
    ));

    // The leader's account. Its `+failover-end` may follow the replicas by a poll.
    let leader = logs
        .iter()
        .find(|l| l.find("+failover-state-reconf-slaves", |_| true).is_some())
        .expect("one sentinel led the reconfiguration");
    leader.wait_event(T_FAILOVER, "+failover-end", |_| true);
    let mut in_flight: BTreeSet<String> = BTreeSet::new();
    let (mut sent, mut done, mut most) = (BTreeMap::new(), BTreeSet::new(), 0usize);
    for e in leader.events() {
        let who = replica_of_payload(&e.payload);
        match e.channel.as_str() {
            "+slave-reconf-sent" => {
                in_flight.insert(who.clone());
                *sent.entry(who).or_insert(0u32) += 1;
                most = most.max(in_flight.len());
            }
            "+slave-reconf-done" => {
                in_flight.remove(&who);
                done.insert(who);
            }
            "-slave-reconf-sent-timeout" | "+slave-reconf-sent-be" | "+failover-end-for-timeout" => {
                panic!("the leader gave up on parallel-syncs: {} {}\n{}", e.channel, e.payload, leader.summary())
            }
            _ => {}
        }
    }
    assert!(most <= PARALLEL_SYNCS, "{most} reconfigurations in flight at once\n{}", leader.summary());
    assert_eq!(sent.len(), REPLICAS - 1, "one +slave-reconf-sent per other replica\n{}", leader.summary());
    assert!(sent.values().all(|&n| n == 1), "a replica reconfigured twice: {sent:?}\n{}", leader.summary());
    assert_eq!(done.len(), REPLICAS - 1, "one +slave-reconf-done per other replica\n{}", leader.summary());
}
