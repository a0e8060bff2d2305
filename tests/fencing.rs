//! The write lease and the demotion of a returning old master against real `redis-server`
//! processes (ours only: Redis Sentinel has neither; design in docs/fencing.md).
//!
//! * the lease is kept on the master (`min-replicas-to-write 1`, `min-replicas-max-lag L`),
//!   and it really fences: a master whose replicas stop acknowledging refuses writes with
//!   `-NOREPLICAS` on its own, and takes them again when they come back;
//! * after SIGKILL of the master the promoted replica is held (`min-replicas-to-write` =
//!   the hold value) before it is released to the normal lease and takes writes;
//! * the old master, restarted, is demoted by proof (`+convert-to-slave`) and the sentinels
//!   all agree on one master and one config epoch afterwards;
//! * `write-lease 0` at runtime gives the master back writes without replicas.

mod common;

use common::*;
use std::time::{Duration, Instant};

const HOLD: &str = "2147483647";

fn config_get(port: u16, name: &str) -> Result<String, String> {
    match query(port, &["CONFIG", "GET", name])? {
        redis::Value::Array(items) if items.len() == 2 => value_str(&items[1]).ok_or("not a string".into()),
        redis::Value::Map(pairs) if pairs.len() == 1 => value_str(&pairs[0].1).ok_or("not a string".into()),
        other => Err(format!("CONFIG GET {name}: {other:?}")),
    }
}

/// `min-replicas-to-write` as the instance's own config file has it: what it loads when it
/// restarts (the sentinel rewrites the file when it sets the lease or the fence).
fn conf_file_min_replicas(p: &Proc) -> String {
    let conf = std::fs::read_to_string(p.dir.join("redis.conf")).unwrap();
    let line = conf.lines().find(|l| l.starts_with("min-replicas-to-write "));
    line.map(|l| l["min-replicas-to-write ".len()..].trim().to_string()).unwrap_or_else(|| "0".into())
}

/// SET then read back a key; `Err` carries the server's error text (e.g. NOREPLICAS).
fn write(port: u16, key: &str) -> Result<(), String> {
    query(port, &["SET", key, "v"]).map(|_| ())
}

fn set_all(topo: &Topology, args: &[&str]) {
    for p in topo.sentinel_ports() {
        query(p, &[&["SENTINEL", "SET", MASTER_NAME], args].concat()).unwrap();
    }
}

#[test]
fn ours_write_lease() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 3);
    topo.wait_discovery(2, 2);
    set_all(&topo, &["down-after-milliseconds", "1000", "failover-timeout", "5000", "write-lease", "1"]);
    let m = topo.master.port;

    step("the lease is kept on the master");
    wait_until(T_FAILOVER, "min-replicas-to-write 1 / min-replicas-max-lag 1 on the master", || {
        let (n, lag) = (config_get(m, "min-replicas-to-write")?, config_get(m, "min-replicas-max-lag")?);
        if (n.as_str(), lag.as_str()) == ("1", "1") {
            Ok(())
        } else {
            Err(format!("min-replicas-to-write {n}, min-replicas-max-lag {lag}"))
        }
    });
    let master = sentinel_master(topo.sentinels[0].port, MASTER_NAME).unwrap();
    assert_eq!(master.get("write-lease").map(String::as_str), Some("1"), "SENTINEL MASTER shows the lease");
    let info = info(topo.sentinels[0].port, "sentinel").unwrap();
    assert!(info.contains(",write_lease=1\r\n"), "INFO sentinel shows the lease:\n{info}");
    write(m, "before").expect("the master takes writes while its replicas acknowledge");

    step("replicas frozen: the master fences itself");
    for r in &topo.replicas {
        r.stop();
    }
    let frozen = Instant::now();
    wait_until(Duration::from_secs(10), "the master to refuse writes (NOREPLICAS)", || match write(m, "isolated") {
        Err(e) if e.contains("NOREPLICAS") => Ok(()),
        other => Err(format!("{other:?}")),
    });
    step(&format!("master refused writes {:?} after its replicas stopped", frozen.elapsed()));
    for r in &topo.replicas {
        r.cont();
    }
    wait_until(Duration::from_secs(10), "the master to take writes again", || write(m, "back"));

    step("SIGKILL of the master: the promoted replica is held, then released");
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
    let replica_ports: Vec<u16> = topo.replicas.iter().map(|r| r.port).collect();
    kill9(&mut topo.master);
    // The hold is set before REPLICAOF NO ONE: once a replica says master, it is held
    // or (after the lease wait) released to the normal lease; never without either.
    let mut held = false;
    let promoted = wait_until(T_FAILOVER, "a replica promoted and released to the normal lease", || {
        for &p in &replica_ports {
            if role(p).ok().as_deref() != Some("master") {
                continue;
            }
            let n = config_get(p, "min-replicas-to-write")?;
            match n.as_str() {
                HOLD => {
                    held = true;
                    if let Ok(()) = write(p, "during-hold") {
                        return Err(format!(":{p} took a write while held"));
                    }
                }
                "1" => return Ok(p),
                other => return Err(format!(":{p} is master with min-replicas-to-write {other}")),
            }
        }
        Err("no replica says master yet".into())
    });
    assert!(held, "the promoted replica :{promoted} was never seen held (the hold lasts seconds; polled every 100 ms)");
    wait_until(T_FAILOVER, "the new master to take writes (its other replica follows)", || write(promoted, "after"));
    let holds = logs.iter().filter(|l| l.find("+lease-hold", |_| true).is_some()).count();
    assert_eq!(holds, 1, "exactly one sentinel (the leader) held the promoted replica");

    step("the old master comes back and is demoted by proof");
    restart(&mut topo.master);
    let old = topo.master.port;
    wait_until(T_REJOIN, "the old master to follow the new one", || match replica_master_port(old)? {
        Some(p) if p == promoted => Ok(()),
        other => Err(format!("master_port {other:?}")),
    });
    for p in topo.sentinel_ports() {
        wait_until(T_FAILOVER, "every sentinel to name the new master", || match master_addr(p, MASTER_NAME)? {
            Some((_, port)) if port == promoted => Ok(()),
            other => Err(format!("{other:?}")),
        });
    }
    let epochs: Vec<String> = topo
        .sentinel_ports()
        .iter()
        .map(|&p| sentinel_master(p, MASTER_NAME).unwrap().get("config-epoch").cloned().unwrap_or_default())
        .collect();
    assert!(epochs.iter().all(|e| *e == epochs[0]), "config epochs differ: {epochs:?}");
    assert_eq!(epochs[0], "1", "exactly one failover");
    step("5 s of watching: no second failover, the new master never taken for dead");
    assert_quiet_after(&logs, Duration::from_secs(5));

    step("write-lease 0 at runtime takes the lease off, on the master and its replicas");
    set_all(&topo, &["write-lease", "0"]);
    for p in topo.redis_ports() {
        wait_until(T_FAILOVER, &format!("min-replicas-to-write 0 on :{p}"), || {
            let n = config_get(p, "min-replicas-to-write")?;
            if n == "0" {
                Ok(())
            } else {
                Err(n)
            }
        });
    }
}

/// The isolation fence (docs/fencing.md): a sentinel that still reaches its master but
/// hears from neither a majority of the sentinels nor any replica holds the master's
/// writes at once, and lifts the hold when the majority is back and confirms its
/// configuration. The cut is simulated by freezing (SIGSTOP) both other sentinels and
/// both replicas: to the remaining sentinel that looks exactly like being cut off with
/// the master.
#[test]
fn ours_isolation_fence() {
    let topo = Topology::start(SentinelKind::Ours, 2, 3);
    topo.wait_discovery(2, 2);
    set_all(&topo, &["down-after-milliseconds", "1000", "failover-timeout", "5000", "write-lease", "1"]);
    let m = topo.master.port;
    wait_until(T_FAILOVER, "the normal lease on the master", || {
        match config_get(m, "min-replicas-to-write")?.as_str() {
            "1" => Ok(()),
            other => Err(other.to_string()),
        }
    });
    wait_until(T_FAILOVER, "the lease in the master's config file", || match conf_file_min_replicas(&topo.master) {
        v if v == "1" => Ok(()),
        other => Err(other),
    });
    // Every sentinel's events, to watch the whole deployment after the resume.
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
    let log = &logs[0];

    step("only the replicas frozen: the majority of sentinels is reachable, no isolation fence");
    for r in &topo.replicas {
        r.stop();
    }
    // The master's own lease refuses writes here (NOREPLICAS, after up to L + 2.1 s); the
    // fence must not be set: sentinels 2 and 3 still answer.
    wait_until(Duration::from_secs(10), "the master's lease to refuse writes", || match write(m, "lease") {
        Err(e) if e.contains("NOREPLICAS") => Ok(()),
        other => Err(format!("{other:?}")),
    });
    assert_eq!(config_get(m, "min-replicas-to-write").unwrap(), "1", "no fence while a majority answers");
    assert!(log.find("+isolation-fence", |_| true).is_none(), "no +isolation-fence while a majority answers");

    step("the other sentinels frozen too: sentinel 1 is cut off with the master and fences it");
    for s in &topo.sentinels[1..] {
        s.stop();
    }
    let cut = Instant::now();
    log.wait_event(Duration::from_secs(10), "+isolation-fence", |p| p.contains(&format!(" {m}")));
    assert_eq!(config_get(m, "min-replicas-to-write").unwrap(), HOLD, "the fence holds the master's writes");
    wait_until(Duration::from_secs(5), "the fence in the master's config file", || {
        match conf_file_min_replicas(&topo.master) {
            v if v == HOLD => Ok(()),
            other => Err(other),
        }
    });
    step(&format!("+isolation-fence {:?} after the cut", cut.elapsed()));

    step("everything resumes: the fence is lifted, the master takes writes, no failover");
    for p in topo.sentinels[1..].iter().chain(&topo.replicas) {
        p.cont();
    }
    log.wait_event(Duration::from_secs(10), "-isolation-fence", |_| true);
    wait_until(T_FAILOVER, "the master to take writes again", || write(m, "back"));
    assert_eq!(config_get(m, "min-replicas-to-write").unwrap(), "1", "the normal lease is back");
    // Watched as long as the other fencing tests: no sentinel sees an SDOWN, ODOWN or a
    // new epoch once the deployment is back.
    assert_quiet_after(&logs, Duration::from_secs(5));
    for p in topo.sentinel_ports() {
        let addr = master_addr(p, MASTER_NAME).unwrap();
        assert_eq!(addr.map(|(_, port)| port), Some(m), "sentinel :{p} still names the original master");
    }
}
