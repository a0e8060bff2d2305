//! Mixed deployments (issue 3, docs/behaviour.md §19): our sentinels and Debian's
//! `redis-sentinel` watching the same master discover each other through hellos, exchange
//! `IS-MASTER-DOWN-BY-ADDR` votes and complete failovers led by either side.
//!
//! Two clusters, 2 Redis + 1 ours and 1 Redis + 2 ours, each over 1 master + 2 replicas.
//! The master is SIGKILLed several times (the old one restarted each time and waited for
//! as a replica). To get leaders from both sides, each round favours one side with a
//! shorter `down-after-milliseconds` (set at runtime with `SENTINEL SET` on every
//! sentinel) and `quorum 1`, so the favoured side reaches ODOWN first and asks for votes
//! first; the leader is read from `+elected-leader`, and both sides must have led once.
//! After every round: every sentinel reports the same master address and config epoch,
//! the epoch grew, and at most one replica was promoted per epoch (`+promoted-slave`).
//! Redis 7.0.15 itself sometimes fails a freshly promoted master over a second time
//! (see [`wait_settled`]); ours votes in that election like any Redis peer would.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Short enough for several rounds; Redis forbids a new failover of the same master
/// within 2 × failover-timeout of the last attempt (§7.4), so rounds are spaced by that.
const FAILOVER_TIMEOUT_MS: u64 = 5000;
const FAST_DOWN_AFTER: u64 = 1000;
const SLOW_DOWN_AFTER: u64 = 4000;

struct Mixed {
    topo: Topology,
    kinds: Vec<SentinelKind>,
    logs: Vec<EventLog>,
}

fn start_mixed(kinds: &[SentinelKind]) -> Mixed {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 0);
    topo.master_conf.quorum = 1;
    topo.master_conf.failover_timeout_ms = FAILOVER_TIMEOUT_MS;
    for (i, &k) in kinds.iter().enumerate() {
        let name = format!("sentinel-{i}-{}", if k == SentinelKind::Ours { "ours" } else { "redis" });
        let p = start_sentinel(topo.root.path(), &name, k, ConfFormat::RedisConf, &topo.master_conf);
        topo.sentinels.push(p);
    }
    topo.wait_discovery(2, kinds.len() - 1);
    let logs = topo.sentinels.iter().map(|s| EventLog::start(s.port)).collect();
    Mixed { topo, kinds: kinds.to_vec(), logs }
}

impl Mixed {
    fn set_down_after(&self, favoured: SentinelKind) {
        for (s, &k) in self.topo.sentinels.iter().zip(&self.kinds) {
            let ms = if k == favoured { FAST_DOWN_AFTER } else { SLOW_DOWN_AFTER };
            let r = query(s.port, &["SENTINEL", "SET", MASTER_NAME, "down-after-milliseconds", &ms.to_string()]);
            assert_eq!(r.as_ref().ok().and_then(value_str).as_deref(), Some("OK"), "{}: SENTINEL SET: {r:?}", s.name);
        }
    }

    /// (address port, config-epoch) as every sentinel reports them, once they all agree on
    /// a master other than `old`.
    fn wait_agreement(&self, old: u16) -> (u16, u64) {
        wait_until(T_FAILOVER, "every sentinel to agree on a new master and config epoch", || {
            let mut seen = Vec::new();
            for s in &self.topo.sentinels {
                let addr = master_addr(s.port, MASTER_NAME)?.ok_or("null address")?;
                let m = sentinel_master(s.port, MASTER_NAME)?;
                let epoch: u64 = m.get("config-epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
                seen.push((addr.1, epoch));
            }
            let first = seen[0];
            if first.0 != old && seen.iter().all(|&x| x == first) {
                Ok(first)
            } else {
                Err(format!("(port, config-epoch) per sentinel: {seen:?}"))
            }
        })
    }

    fn count(&self, channel: &str) -> usize {
        self.logs.iter().map(|l| l.events().iter().filter(|e| e.channel == channel).count()).sum()
    }

    /// Index of the sentinel that logged `+elected-leader` since `before` events.
    fn leaders_since(&self, before: &[usize]) -> Vec<usize> {
        (0..self.logs.len())
            .filter(|&i| self.logs[i].events()[before[i]..].iter().any(|e| e.channel == "+elected-leader"))
            .collect()
    }

    fn all_summaries(&self) -> String {
        self.logs
            .iter()
            .zip(&self.topo.sentinels)
            .map(|(l, s)| format!("{}: {}", s.name, l.summary()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Waits until the agreement of [`Mixed::wait_agreement`] stays the same for 4 s: Redis
/// 7.0.15 observers sometimes fail the freshly promoted master over once more (they reset
/// it on `+switch-master` and see it SDOWN a moment later), so a round may take two epochs.
fn wait_settled(mx: &Mixed, old: u16) -> (u16, u64) {
    let start = Instant::now();
    let mut last = mx.wait_agreement(old);
    loop {
        std::thread::sleep(Duration::from_secs(4));
        let now = mx.wait_agreement(old);
        if now == last {
            return now;
        }
        assert!(start.elapsed() < T_FAILOVER, "no stable agreement: {last:?} then {now:?}\n{}", mx.all_summaries());
        last = now;
    }
}

/// One round: kill the master, check agreement and at most one promotion per epoch,
/// restart the old master and wait until it replicates from the new one. Returns the
/// config epoch and the kinds of the sentinels that logged `+elected-leader`.
fn round(mx: &mut Mixed, favoured: SentinelKind, prev_epoch: u64) -> (u64, Vec<SentinelKind>) {
    mx.set_down_after(favoured);
    let old = mx.topo.master.port;
    let before: Vec<usize> = mx.logs.iter().map(|l| l.events().len()).collect();
    let promoted_before = mx.count("+promoted-slave");
    kill9(&mut mx.topo.master);
    step(&format!("favouring {favoured:?}: SIGKILLed master :{old}"));
    let (new, epoch) = wait_settled(mx, old);
    assert!(epoch > prev_epoch, "config epoch {epoch} did not grow past {prev_epoch}\n{}", mx.all_summaries());
    let leaders = mx.leaders_since(&before);
    let promotions = mx.count("+promoted-slave") - promoted_before;
    assert!(
        !leaders.is_empty() && promotions >= 1 && promotions as u64 <= epoch - prev_epoch,
        "epochs {prev_epoch}->{epoch}: leaders {leaders:?}, {promotions} promotions (at most one per epoch)\n{}",
        mx.all_summaries()
    );
    let names: Vec<String> =
        leaders.iter().map(|&i| format!("{} ({:?})", mx.topo.sentinels[i].name, mx.kinds[i])).collect();
    step(&format!("epoch {epoch}: {names:?} led, {promotions} promotion(s), master now :{new}"));

    // The old master comes back empty and must be turned into a replica of the new one.
    let new_idx = mx.topo.replicas.iter().position(|r| r.port == new).expect("new master was a replica");
    std::mem::swap(&mut mx.topo.master, &mut mx.topo.replicas[new_idx]);
    let dead = mx.topo.replicas.iter_mut().find(|r| r.port == old).expect("old master proc");
    dead.start();
    wait_until(T_REJOIN, &format!("old master :{old} to replicate from :{new}"), || {
        let i = info(old, "replication")?;
        let (r, mp, link) =
            (info_field(&i, "role"), info_field(&i, "master_port"), info_field(&i, "master_link_status"));
        if r.as_deref() == Some("slave") && mp == Some(new.to_string()) && link.as_deref() == Some("up") {
            Ok(())
        } else {
            Err(format!("role={r:?} master_port={mp:?} link={link:?}"))
        }
    });
    (epoch, leaders.iter().map(|&i| mx.kinds[i]).collect())
}

fn mixed(kinds: &[SentinelKind], rounds: usize) {
    let mut mx = start_mixed(kinds);
    step(&format!("mixed cluster {kinds:?} discovered each other"));
    let mut epoch = 0;
    let mut led = Vec::new();
    let mut last_switch = Instant::now();
    for r in 0..rounds {
        // Respect the 2 × failover-timeout back-off of every sentinel (plus desync).
        let quiet = Duration::from_millis(2 * FAILOVER_TIMEOUT_MS + 1500);
        if r > 0 && last_switch.elapsed() < quiet {
            std::thread::sleep(quiet - last_switch.elapsed());
        }
        let favoured = if r % 2 == 0 { SentinelKind::Ours } else { SentinelKind::Redis };
        let (e, leaders) = round(&mut mx, favoured, epoch);
        last_switch = Instant::now();
        epoch = e;
        led.extend(leaders);
    }
    step(&format!("leaders, in order: {led:?}"));
    assert!(
        led.contains(&SentinelKind::Ours) && led.contains(&SentinelKind::Redis),
        "leaders from both sides expected, got {led:?}\n{}",
        mx.all_summaries()
    );
    // Peer tables stayed consistent: everyone still sees every other sentinel once.
    mx.topo.wait_discovery(2, kinds.len() - 1);
}

#[test]
fn mixed_two_redis_one_ours() {
    mixed(&[SentinelKind::Redis, SentinelKind::Redis, SentinelKind::Ours], 3);
}

#[test]
fn mixed_one_redis_two_ours() {
    mixed(&[SentinelKind::Redis, SentinelKind::Ours, SentinelKind::Ours], 3);
}
