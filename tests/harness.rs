//! Tests of the integration-test harness itself (`tests/common`), against plain
//! `redis-server` processes: if these fail, the failover tests' verdicts mean nothing.

mod common;

use common::*;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn free_ports_are_unique_across_threads() {
    let handles: Vec<_> =
        (0..4).map(|_| std::thread::spawn(|| (0..25).map(|_| free_port()).collect::<Vec<u16>>())).collect();
    let all: Vec<u16> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let set: HashSet<u16> = all.iter().copied().collect();
    assert_eq!(set.len(), all.len(), "duplicate ports handed out");
    assert!(all.iter().all(|p| (20_000..32_000).contains(p)));
}

#[test]
fn wait_until_reports_what_it_last_saw() {
    let err = std::panic::catch_unwind(|| {
        let mut n = 0;
        wait_until(Duration::from_millis(300), "n to reach 1000", || {
            n += 1;
            if n >= 1000 {
                Ok(())
            } else {
                Err(format!("n={n}"))
            }
        })
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("waiting for: n to reach 1000"), "{msg}");
    assert!(msg.contains("last seen: n="), "{msg}");
}

#[test]
fn redis_processes_replicate_restart_and_die() {
    let root = tempfile::tempdir().unwrap();
    let mut master = start_redis(root.path(), "m", None);
    let replica = start_redis(root.path(), "r", Some(master.port));
    assert_eq!(role(master.port).unwrap(), "master");
    wait_until(T_START, "replica linked", || {
        let i = info(replica.port, "replication")?;
        match info_field(&i, "master_link_status").as_deref() {
            Some("up") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(role(replica.port).unwrap(), "slave");
    assert_eq!(replica_master_port(replica.port).unwrap(), Some(master.port));

    let pid = master.pid().unwrap();
    kill9(&mut master);
    assert!(!master.is_running());
    assert!(query(master.port, &["PING"]).is_err(), "killed server still answers");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} not reaped");
    restart(&mut master);
    assert_eq!(value_str(&query(master.port, &["PING"]).unwrap()).as_deref(), Some("PONG"));
    assert_eq!(master.starts, 2);
}

#[test]
fn event_log_records_published_messages_in_order() {
    let root = tempfile::tempdir().unwrap();
    let server = start_redis(root.path(), "pubsub", None);
    let log = EventLog::start(server.port);
    for (c, p) in [("+sdown", "master m 127.0.0.1 1"), ("+odown", "x"), ("+switch-master", "m a 1 b 2")] {
        query(server.port, &["PUBLISH", c, p]).unwrap();
    }
    let e = log.wait_event(T_START, "+switch-master", |p| p.starts_with("m a"));
    assert_eq!(e.payload, "m a 1 b 2");
    assert_in_order(&log, &["+sdown", "+switch-master"]);
    assert_eq!(log.channels(), vec!["+sdown", "+odown", "+switch-master"]);
    let r =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_in_order(&log, &["+switch-master", "+sdown"])));
    assert!(r.is_err(), "out-of-order sequence accepted");
}

#[test]
#[should_panic(expected = "exited during startup")]
fn a_process_that_exits_at_startup_fails_fast_with_its_log() {
    let root = tempfile::tempdir().unwrap();
    let conf = root.path().join("bad.conf");
    // redis-server refuses an unknown directive and exits with status 1.
    std::fs::write(&conf, "no-such-directive yes\n").unwrap();
    let prog = require_program("redis-server");
    let _p = Proc::launch("bad", free_port(), root.path(), prog, vec![conf.display().to_string()]);
}
