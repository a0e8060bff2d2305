//! `holistic-detection on` against real `redis-server` processes (ours only; design in
//! docs/detection.md). A sentinel-only partition is made with a small TCP relay that is
//! part of the harness: the sentinels reach the master only through it, the replicas
//! replicate from the master directly, and freezing the relay (it stops forwarding; held
//! bytes are delivered after, as TCP retransmission would) cuts the sentinels off while
//! the master keeps feeding its replicas.
//!
//! 1. Holistic on, the relay frozen 5 s (down-after 1000): no `+sdown` of the master, no
//!    `+odown`, no failover; `+sdown-vetoed` names the replica that still hears it.
//! 2. Control, holistic off, the same cut: the master is failed over.
//! 3. Holistic on, SIGKILL of the master: still failed over (time printed, not asserted).
//! 4. Holistic on, the master cut off from its replicas too (they replicate through the
//!    relay): still failed over once their last I/O ages past the bound (time printed).

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A TCP relay from a loopback port to `upstream` that can be frozen.
struct Relay {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: u16) -> Relay {
        let listener = TcpListener::bind((HOST, 0)).expect("relay bind");
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let f = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let f = f.clone();
                std::thread::spawn(move || {
                    hold(&f);
                    let Ok(server) = TcpStream::connect((HOST, upstream)) else {
                        let _ = client.shutdown(Shutdown::Both);
                        return;
                    };
                    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let f2 = f.clone();
                    std::thread::spawn(move || pump(c2, s2, &f2));
                    pump(server, client, &f);
                });
            }
        });
        Relay { port, frozen }
    }

    fn freeze(&self, on: bool) {
        self.frozen.store(on, Ordering::SeqCst);
    }
}

/// While frozen, nothing passes (the harness's own state, polled every 5 ms).
fn hold(frozen: &AtomicBool) {
    while frozen.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, frozen: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                hold(frozen);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// A master, two replicas of it (direct), three of our sentinels that monitor the master
/// through a relay. `repl-ping-replica-period 1` on the master: an idle link still shows a
/// last I/O of 0–2 s (docs/detection.md says why this matters at down-after 1000).
/// With `isolated`, the replicas replicate through the relay too: freezing it cuts the
/// master off from everyone.
fn deploy(holistic: bool, isolated: bool) -> (Topology, Relay) {
    deploy_with(holistic, isolated, 1000)
}

fn deploy_with(holistic: bool, isolated: bool, down_after_ms: u64) -> (Topology, Relay) {
    let root = tempfile::Builder::new().prefix("sentinel-holistic-").tempdir().expect("temp dir");
    let master = start_redis_with(root.path(), "redis-a", None, "repl-ping-replica-period 1\n");
    let relay = Relay::start(master.port);
    let upstream = if isolated { relay.port } else { master.port };
    let replicas: Vec<Proc> =
        ["redis-b", "redis-c"].iter().map(|n| start_redis(root.path(), n, Some(upstream))).collect();
    for r in &replicas {
        let p = r.port;
        wait_until(T_START, &format!("replica {p} master_link_status:up"), || {
            let i = info(p, "replication")?;
            match info_field(&i, "master_link_status").as_deref() {
                Some("up") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        });
    }
    let mut master_conf = MasterConf::new(relay.port);
    // The replicas replicate from the master's own port, not the relay's: a long
    // failover-timeout keeps the sentinels from "fixing" them (+fix-slave-config) in
    // the minute a test lasts.
    master_conf.failover_timeout_ms = 120_000;
    master_conf.down_after_ms = down_after_ms;
    let mut topo = Topology { kind: SentinelKind::Ours, sentinels: Vec::new(), master, replicas, master_conf, root };
    for i in 0..3 {
        let name = format!("sentinel-{i}");
        // One TOML config, two sentinel.conf: both spellings of the option.
        let (format, line) = if i == 0 {
            (ConfFormat::Toml, format!("holistic-detection = {holistic}\n"))
        } else {
            (
                ConfFormat::RedisConf,
                format!("sentinel holistic-detection {MASTER_NAME} {}\n", if holistic { "on" } else { "off" }),
            )
        };
        let p =
            start_sentinel_with(topo.root.path(), &name, SentinelKind::Ours, format, &topo.master_conf, |c| c + &line);
        topo.sentinels.push(p);
    }
    topo.wait_discovery(2, 2);
    for p in topo.sentinel_ports() {
        let m = sentinel_master(p, MASTER_NAME).unwrap();
        let shown = m.get("holistic-detection").cloned();
        assert_eq!(shown.as_deref(), holistic.then_some("on"), "SENTINEL MASTER on :{p}: {m:?}");
    }
    // The config rewrite (after discovery) keeps the option, written only when on.
    for i in 1..3 {
        let path = topo.root.path().join(format!("sentinel-{i}")).join("sentinel.conf");
        wait_until(T_DISCOVERY, &format!("{} rewritten with its peers", path.display()), || {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let kept = text.lines().filter(|l| l.contains("holistic-detection")).collect::<Vec<_>>();
            let want = if holistic { vec![format!("sentinel holistic-detection {MASTER_NAME} on")] } else { vec![] };
            if !text.contains("known-sentinel") {
                return Err("no known-sentinel yet".into());
            }
            if kept == want {
                Ok(())
            } else {
                Err(format!("holistic lines {kept:?}, want {want:?}"))
            }
        });
    }
    (topo, relay)
}

fn master_sdown(payload: &str) -> bool {
    payload.starts_with("master ")
}

#[test]
fn ours_holistic_detection() {
    step("holistic on: sentinels cut off from a master that still feeds its replicas, 5 s");
    {
        let (topo, relay) = deploy(true, false);
        // SENTINEL SET round trip (then back on).
        let p0 = topo.sentinel_ports()[0];
        query(p0, &["SENTINEL", "SET", MASTER_NAME, "holistic-detection", "off"]).unwrap();
        assert_eq!(sentinel_master(p0, MASTER_NAME).unwrap().get("holistic-detection"), None);
        query(p0, &["SENTINEL", "SET", MASTER_NAME, "holistic-detection", "on"]).unwrap();
        assert!(query(p0, &["SENTINEL", "SET", MASTER_NAME, "holistic-detection", "maybe"]).is_err());
        let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
        relay.freeze(true);
        let cut = Instant::now();
        while cut.elapsed() < Duration::from_secs(5) {
            for l in &logs {
                let bad = l
                    .find("+sdown", master_sdown)
                    .or_else(|| l.find("+odown", |_| true))
                    .or_else(|| l.find("+try-failover", |_| true))
                    .or_else(|| l.find("+switch-master", |_| true));
                assert!(bad.is_none(), "the cut-off master was taken for down: {bad:?}\n{}", l.summary());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let vetoed: Vec<String> =
            logs.iter().filter_map(|l| l.find("+sdown-vetoed", |_| true)).map(|e| e.payload).collect();
        assert_eq!(vetoed.len(), 3, "every sentinel vetoed the SDOWN once: {vetoed:?}");
        for v in &vetoed {
            assert!(v.contains("master_link_status:up") && v.contains("by slave 127.0.0.1:"), "{v}");
            step(&format!("+sdown-vetoed {v}"));
        }
        for l in &logs {
            let n = l.events().iter().filter(|e| e.channel == "+sdown-vetoed").count();
            assert_eq!(n, 1, "+sdown-vetoed once per episode\n{}", l.summary());
        }
        relay.freeze(false);
        for l in &logs {
            l.wait_event(T_FAILOVER, "-sdown-vetoed", |_| true);
        }
        for p in topo.sentinel_ports() {
            let m = sentinel_master(p, MASTER_NAME).unwrap();
            assert_eq!(m.get("config-epoch").map(String::as_str), Some("0"), "no failover on :{p}");
        }
    }

    step("control, holistic off: the same cut fails the master over");
    {
        let (topo, relay) = deploy(false, false);
        let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
        relay.freeze(true);
        let cut = Instant::now();
        let ev = logs[0].wait_event(T_FAILOVER, "+switch-master", |_| true);
        step(&format!("+switch-master {:.2} s after the cut: {}", ev.at.duration_since(cut).as_secs_f64(), ev.payload));
        assert!(logs.iter().all(|l| l.find("+sdown-vetoed", |_| true).is_none()));
        relay.freeze(false);
    }

    step("holistic on: SIGKILL of the master still fails over");
    {
        let (mut topo, _relay) = deploy(true, false);
        let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
        let killed = Instant::now();
        kill9(&mut topo.master);
        let ev = logs[0].wait_event(T_FAILOVER, "+switch-master", |_| true);
        let sdown = logs[0].find("+sdown", master_sdown).map(|e| e.at.duration_since(killed).as_secs_f64());
        step(&format!(
            "+sdown {sdown:.2?} s, +switch-master {:.2} s after SIGKILL: {}",
            ev.at.duration_since(killed).as_secs_f64(),
            ev.payload
        ));
        assert!(logs.iter().all(|l| l.find("+sdown-vetoed", |_| true).is_none()), "a dead master was vetoed");
    }

    step("holistic on: a master cut off from its replicas as well still fails over");
    cut_from_everyone_fails_over(1000);
}

/// Holistic detection on, the master cut off from the sentinels *and* its replicas: it
/// must still be failed over (the times are printed, not asserted).
fn cut_from_everyone_fails_over(down_after: u64) {
    let (topo, relay) = deploy_with(true, true, down_after);
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
    relay.freeze(true);
    let cut = Instant::now();
    let ev = logs[0].wait_event(T_FAILOVER, "+switch-master", |_| true);
    let sdown = logs[0].find("+sdown", master_sdown).map(|e| e.at.duration_since(cut).as_secs_f64());
    let vetoed = logs[0].find("+sdown-vetoed", |_| true).map(|e| e.payload);
    step(&format!(
        "down-after {down_after}: +sdown {sdown:.2?} s, +switch-master {:.2} s after the cut (veto: {vetoed:?})",
        ev.at.duration_since(cut).as_secs_f64(),
    ));
    relay.freeze(false);
}

/// At down-after 6000 the bound is 3 s: the veto provably lapses before down-after for a
/// master cut off from everyone, and a sentinel-only cut of 10 s is still vetoed.
#[test]
fn ours_holistic_detection_down_after_6000() {
    step("down-after 6000, holistic on: sentinel-only cut of 10 s");
    {
        let (topo, relay) = deploy_with(true, false, 6000);
        let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();
        relay.freeze(true);
        let cut = Instant::now();
        while cut.elapsed() < Duration::from_secs(10) {
            for l in &logs {
                let bad = l.find("+sdown", master_sdown).or_else(|| l.find("+odown", |_| true));
                assert!(bad.is_none(), "the cut-off master was taken for down: {bad:?}\n{}", l.summary());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let vetoed = logs.iter().filter(|l| l.find("+sdown-vetoed", |_| true).is_some()).count();
        assert_eq!(vetoed, 3, "every sentinel vetoed");
        relay.freeze(false);
    }
    step("down-after 6000, holistic on: the master cut off from its replicas too");
    cut_from_everyone_fails_over(6000);
}
