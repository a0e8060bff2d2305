//! Fault lab: failover under real faults across real processes (ARCHITECTURE.md tier 5,
//! issue 5 part 2). Each Redis server, sentinel and the writing client has its own network
//! namespace; partitions move links between bridges (see `lab/net.rs` for the safety
//! rules). Deployment: r0 master, r1 r2 replicas, sentinels s0 s1 s2 (quorum 2,
//! down-after 1000 ms, failover-timeout 5000 ms).
//!
//! Needs root and iproute2 (otherwise a `SKIPPED:` line, or a failure under
//! `SENTINEL_REQUIRE_ALL`/`CI`, as in `.ci/run`). Lab tests
//! run one at a time (a machine-wide lock). Each prints a timeline; measurements are
//! printed on lines starting with `LAB:` and never asserted.
//!
//! ```sh
//! cargo test --test faultlab -- --nocapture          # all scenarios, with timelines
//! cargo test --test faultlab partition -- --nocapture
//! LAB_SEED=42 cargo test --test faultlab sentinel_kills -- --nocapture
//! ```

mod common;
mod lab;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lab::cluster::{Cluster, Settings, T_CONVERGE, T_FAILOVER};
use lab::events::Event;
use lab::writer::Writer;

/// Channels that only a sentinel acting as failover leader publishes.
const LEADER_ONLY: &[&str] = &[
    "+elected-leader",
    "+failover-state-select-slave",
    "+selected-slave",
    "+failover-state-send-slaveof-noone",
    "+failover-state-wait-promotion",
    "+promoted-slave",
    "+failover-state-reconf-slaves",
    "+slave-reconf-sent",
];

/// `+switch-master <name> <oldip> <oldport> <newip> <newport>` → new ip.
fn switch_target(e: &Event) -> String {
    switch_target_payload(&e.payload)
}

/// The new master's IP in a `+switch-master` payload.
fn switch_target_payload(payload: &str) -> String {
    payload.split(' ').nth(3).unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------
// 1. The master, one sentinel and the writer cut off from the rest
// ---------------------------------------------------------------------------------------

#[test]
fn partition_isolates_master_with_minority_sentinel() {
    if !lab::available() {
        return;
    }
    let c = Cluster::start("partition", Settings::default());
    let (r0, old_ip) = (&c.redis[0], c.redis[0].ip.clone());
    let sentinel_ips: Vec<String> = c.sentinels.iter().map(|s| s.ip.clone()).collect();
    let mut writer = Writer::start(&c.net.node("c").ns, sentinel_ips);
    c.wait(T_FAILOVER, "the writer to get 50 writes acknowledged by r0", || {
        let n = writer.acks().iter().filter(|a| a.server == old_ip).count();
        if n >= 50 {
            Ok(())
        } else {
            Err(format!("{n} acks on r0"))
        }
    });
    // Both replicas must really stream from r0 before the cut (after a diskless full sync
    // r0 buffers the stream until the replica's first REPLCONF ACK, up to 1 s): otherwise
    // writes acknowledged before the cut are lost for reasons unrelated to the failover.
    let n = writer.acks().last().unwrap().n.to_string();
    for r in &c.redis[1..] {
        c.wait(T_FAILOVER, &format!("{} to have w:{n}", r.name), || match r.call(&["EXISTS", &format!("w:{n}")])? {
            redis::Value::Int(1) => Ok(()),
            v => Err(format!("{v:?}")),
        });
    }
    c.say(&format!("writer is writing to r0; both replicas have w:{n}"));

    let t_cut = Instant::now();
    c.net.partition(&[&["r1", "r2", "s1", "s2"], &["r0", "s0", "c"]]);
    c.say("PARTITION {r0, s0, c} | {r1, r2, s1, s2}");

    // The majority fails over.
    let (s1, s2) = (c.events_of("s1"), c.events_of("s2"));
    let sw = c.wait(T_FAILOVER, "+switch-master on s1 and s2 (majority side)", || {
        match (s1.first("+switch-master"), s2.first("+switch-master")) {
            (Some(a), Some(b)) => Ok((a, b)),
            other => Err(format!("{other:?}")),
        }
    });
    let new_ip = switch_target(&sw.0);
    if switch_target(&sw.1) != new_ip || ![&c.redis[1].ip, &c.redis[2].ip].contains(&&new_ip) {
        c.fail(&format!("majority switched inconsistently: {:?} / {:?}", sw.0.payload, sw.1.payload));
    }
    let new = c.redis_by_ip(&new_ip);
    c.say(&format!("majority switched to {} ({new_ip})", new.name));
    let other = &c.redis[3 - c.redis_index(&new_ip)];
    c.wait_replica_of(&other.ip, &new_ip, T_FAILOVER);
    c.wait(T_FAILOVER, "new master reports role:master", || match new.role()? {
        r if r == "master" => Ok(()),
        r => Err(r),
    });
    let promoted: Vec<Event> = c.events.iter().flat_map(|e| e.on("+promoted-slave")).collect();
    let t_promoted = match promoted.as_slice() {
        [p] if p.from != "s0" => p.at,
        _ => c.fail(&format!("expected one +promoted-slave on the majority side, got {promoted:?}")),
    };

    // Both sides now accept writes; let the old master take writes for a while.
    std::thread::sleep(Duration::from_secs(3));
    let during = writer.acks().iter().filter(|a| a.server == old_ip && a.at > t_promoted).count();
    c.say(&format!("r0 acknowledged {during} writes since the promotion (still partitioned)"));
    if r0.role().as_deref() != Ok("master") {
        c.fail("r0 (minority side) stopped being a master while partitioned");
    }

    let t_heal = Instant::now();
    c.net.heal();
    c.say("HEAL");
    c.wait_replica_of(&old_ip, &new_ip, T_CONVERGE);
    c.say(&format!("r0 replicates from {}", new.name));
    let (addr, epoch) = c.wait(T_CONVERGE, "all sentinels to agree on the new master", || match c.agreement()? {
        (a, e) if a == new_ip && e >= 1 => Ok((a, e)),
        v => Err(format!("agreed on {v:?}, want {new_ip}")),
    });
    c.say(&format!("all sentinels agree: master {addr}, config-epoch {epoch}"));
    c.wait(T_CONVERGE, "the writer to get 20 writes acknowledged by the new master after the heal", || {
        let n = writer.acks().iter().filter(|a| a.server == new_ip && a.at > t_heal).count();
        if n >= 20 {
            Ok(())
        } else {
            Err(format!("{n} acks on the new master after heal"))
        }
    });
    let acks = writer.stop();
    c.say(&format!(
        "writer stopped: {} acks, {} failed writes",
        acks.len(),
        writer.failures.load(std::sync::atomic::Ordering::SeqCst)
    ));

    // Exactly one master, and the minority sentinel never acted as a leader.
    let masters = c.redis_masters();
    if masters != vec![new.name.clone()] {
        c.fail(&format!("expected exactly one master {}, got {masters:?}", new.name));
    }
    let s0 = c.events_of("s0");
    let s0_log = c.sentinel("s0").log_text();
    for ch in LEADER_ONLY.iter().chain(&["+try-failover", "+odown"]) {
        if s0.count(ch) > 0 || s0_log.contains(&format!("{ch} ")) {
            c.fail(&format!("minority sentinel s0 published/logged {ch}"));
        }
    }
    let switches: Vec<usize> = c.events.iter().map(|e| e.count("+switch-master")).collect();
    if switches != vec![1, 1, 1] {
        c.fail(&format!("expected one +switch-master per sentinel, got {switches:?}"));
    }

    // Measurements.
    let keys: HashSet<u64> = match new.call(&["KEYS", "w:*"]) {
        Ok(redis::Value::Array(ks)) => {
            ks.iter().filter_map(|k| common::value_str(k)?.strip_prefix("w:")?.parse().ok()).collect()
        }
        other => c.fail(&format!("KEYS on the new master: {other:?}")),
    };
    let lost: Vec<&lab::writer::Ack> = acks.iter().filter(|a| !keys.contains(&a.n)).collect();
    let lost_on_new = lost.iter().filter(|a| a.server == new_ip).count();
    let lost_after_promotion = lost.iter().filter(|a| a.at >= t_promoted).count();
    let old_after_cut = acks.iter().filter(|a| a.server == old_ip && a.at >= t_cut).count();
    let last_old = acks.iter().filter(|a| a.server == old_ip).map(|a| a.at).max().unwrap();
    let two_masters = last_old.saturating_duration_since(t_promoted).as_secs_f64();
    let demoted = c.events.iter().flat_map(|e| e.on("+convert-to-slave")).map(|e| e.at).min();
    c.print_timeline();
    lab::report(&format!(
        "LAB: partition: acked={} acked_by_old_master_after_cut={} lost={} (of which acked before the cut {}) lost_acked_after_promotion={} \
         two_masters_accepting_writes={two_masters:.2}s (promotion -> last write acked by old master) \
         promotion_to_demotion={} partition={:.2}s cut_to_promotion={:.2}s runtime={:.1}s",
        acks.len(),
        old_after_cut,
        lost.len(),
        lost.iter().filter(|a| a.at < t_cut).count(),
        lost_after_promotion,
        demoted
            .map(|d| format!("{:.2}s", d.saturating_duration_since(t_promoted).as_secs_f64()))
            .unwrap_or_else(|| "n/a".into()),
        t_heal.duration_since(t_cut).as_secs_f64(),
        t_promoted.duration_since(t_cut).as_secs_f64(),
        c.t0.elapsed().as_secs_f64(),
    ));
    if lost_on_new > 0 {
        c.fail(&format!("{lost_on_new} writes acknowledged by the new master are missing from it"));
    }
}

// ---------------------------------------------------------------------------------------
// 2. The first sentinel to start a failover is cut off in the middle of the election
// ---------------------------------------------------------------------------------------

#[test]
fn sentinel_cut_off_during_election() {
    if !lab::available() {
        return;
    }
    let mut c = Cluster::start("election-cut", Settings::default());
    let old_ip = c.redis[0].ip.clone();
    c.redis[0].kill9();
    c.say("SIGKILL r0 (master)");

    // Poll fast: cut the first sentinel that publishes +try-failover, right away.
    let t = Instant::now();
    let victim = loop {
        if let Some(s) = c.events.iter().find(|e| e.first("+try-failover").is_some()) {
            break s.name.clone();
        }
        if t.elapsed() > T_FAILOVER {
            c.fail("no sentinel published +try-failover");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let rest: Vec<&str> = ["r1", "r2", "s0", "s1", "s2"].into_iter().filter(|n| *n != victim).collect();
    c.net.partition(&[&rest, &[victim.as_str()]]);
    let ve = c.events_of(&victim);
    let seen: Vec<String> =
        ve.all().iter().skip_while(|e| e.channel != "+try-failover").map(|e| e.channel.clone()).collect();
    c.say(&format!("PARTITION: {victim} cut off right after its +try-failover (it had published {seen:?})"));

    let others: Vec<&str> = ["s0", "s1", "s2"].into_iter().filter(|n| *n != victim).collect();
    let sw: Vec<Event> = c.wait(T_FAILOVER, "+switch-master on both connected sentinels", || {
        let v: Vec<Option<Event>> = others.iter().map(|o| c.events_of(o).first("+switch-master")).collect();
        if v.iter().all(Option::is_some) {
            Ok(v.into_iter().flatten().collect())
        } else {
            Err(format!("{v:?}"))
        }
    });
    let new_ip = switch_target(&sw[0]);
    if sw.iter().any(|e| e.payload != sw[0].payload) || new_ip == old_ip {
        c.fail(&format!("connected sentinels disagree: {:?}", sw.iter().map(|e| &e.payload).collect::<Vec<_>>()));
    }
    c.say(&format!("connected side failed over to {new_ip}"));
    std::thread::sleep(Duration::from_secs(2));

    c.net.heal();
    c.say("HEAL");
    let (addr, epoch) = c.wait(T_CONVERGE, "all three sentinels to agree after the heal", || match c.agreement()? {
        (a, e) if a == new_ip && e >= 1 => Ok((a, e)),
        v => Err(format!("agreed on {v:?}, want {new_ip}")),
    });
    c.say(&format!("all sentinels agree: master {addr}, config-epoch {epoch}"));
    let other = c.redis.iter().find(|r| r.ip != old_ip && r.ip != new_ip).unwrap().ip.clone();
    c.wait_replica_of(&other, &new_ip, T_CONVERGE);
    std::thread::sleep(Duration::from_secs(2)); // anything late would show up now

    // Exactly one failover completed by the connected side. The victim may already have
    // been elected and have promoted a replica in the milliseconds before the cut; that
    // attempt cannot finish (it never sees the promotion), and the newer epoch of the
    // connected side overrules it.
    let promoted: Vec<Event> =
        c.events.iter().filter(|e| e.name != victim).flat_map(|e| e.on("+promoted-slave")).collect();
    if promoted.len() != 1 {
        c.fail(&format!("expected exactly one +promoted-slave by the connected sentinels, got {promoted:?}"));
    }
    for e in &c.events {
        let s: Vec<String> = e.on("+switch-master").into_iter().map(|e| e.payload).collect();
        // A victim that had promoted before the cut may end its own (older-epoch)
        // failover by timeout after the heal, then adopt the newer epoch: its last switch
        // must name the connected side's master.
        let ok = if e.name == victim {
            s.last().is_some_and(|last| switch_target_payload(last) == new_ip)
        } else {
            s == vec![sw[0].payload.clone()]
        };
        if !ok {
            c.fail(&format!("{}: expected +switch-master {:?}, got {s:?}", e.name, sw[0].payload));
        }
    }
    let masters = c.redis_masters();
    let new_name = c.redis_by_ip(&new_ip).name.clone();
    if masters != vec![new_name.clone()] {
        c.fail(&format!("expected exactly one master {new_name}, got {masters:?}"));
    }
    let leaders: Vec<String> = c.events.iter().flat_map(|e| e.on("+elected-leader")).map(|e| e.from).collect();
    let aborted: Vec<String> = c
        .events
        .iter()
        .flat_map(|e| e.all())
        .filter(|e| e.channel.starts_with("-failover-abort"))
        .map(|e| format!("{} {}", e.from, e.channel))
        .collect();
    c.print_timeline();
    lab::report(&format!(
        "LAB: election-cut: victim={victim} elected={leaders:?} aborts={aborted:?} final_epoch={epoch} \
         kill_to_switch={:.2}s runtime={:.1}s",
        sw[0].at.duration_since(t).as_secs_f64(),
        c.t0.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------
// 3. SIGSTOP of the master: shorter than down-after (nothing happens), longer (failover)
// ---------------------------------------------------------------------------------------

#[test]
fn master_sigstop_short_and_long() {
    if !lab::available() {
        return;
    }
    let c = Cluster::start("sigstop", Settings::default());
    let old_ip = c.redis[0].ip.clone();
    for i in 1..=3 {
        c.redis[0].sigstop();
        c.say(&format!("SIGSTOP r0 for 0.5 s ({i}/3)"));
        std::thread::sleep(Duration::from_millis(500));
        c.redis[0].sigcont();
        c.say("SIGCONT r0");
        std::thread::sleep(Duration::from_secs(2));
    }
    std::thread::sleep(Duration::from_secs(2));
    for e in &c.events {
        for ch in ["+odown", "+try-failover", "+switch-master"] {
            if e.count(ch) > 0 {
                c.fail(&format!("{}: {ch} after 0.5 s pauses (down-after is 1 s)", e.name));
            }
        }
    }
    let sdowns: usize = c.events.iter().map(|e| e.count("+sdown")).sum();
    c.say(&format!("no failover after three 0.5 s pauses (+sdown events: {sdowns})"));

    c.redis[0].sigstop();
    let t_stop = Instant::now();
    c.say("SIGSTOP r0 for 3 s");
    std::thread::sleep(Duration::from_secs(3));
    c.redis[0].sigcont();
    c.say("SIGCONT r0");
    let sw: Vec<Event> = c.wait(T_FAILOVER, "+switch-master on every sentinel", || {
        let v: Vec<Option<Event>> = c.events.iter().map(|e| e.first("+switch-master")).collect();
        if v.iter().all(Option::is_some) {
            Ok(v.into_iter().flatten().collect())
        } else {
            Err(format!("{v:?}"))
        }
    });
    let new_ip = switch_target(&sw[0]);
    if sw.iter().any(|e| e.payload != sw[0].payload) || new_ip == old_ip {
        c.fail(&format!("sentinels disagree: {:?}", sw.iter().map(|e| &e.payload).collect::<Vec<_>>()));
    }
    c.say(&format!("failed over to {new_ip}"));
    c.wait(T_CONVERGE, "all sentinels to agree on the new master", || match c.agreement()? {
        (a, e) if a == new_ip && e >= 1 => Ok(()),
        v => Err(format!("{v:?}")),
    });
    c.wait_replica_of(&old_ip, &new_ip, T_CONVERGE);
    c.say("r0 (resumed) is a replica of the new master");
    let new_name = c.redis_by_ip(&new_ip).name.clone();
    let masters = c.redis_masters();
    if masters != vec![new_name.clone()] {
        c.fail(&format!("expected exactly one master {new_name}, got {masters:?}"));
    }
    let promoted: usize = c.events.iter().map(|e| e.count("+promoted-slave")).sum();
    if promoted != 1 {
        c.fail(&format!("expected one +promoted-slave, got {promoted}"));
    }
    c.print_timeline();
    lab::report(&format!(
        "LAB: sigstop: 3x0.5s pauses -> no failover (+sdown events {sdowns}); 3s pause -> failover, \
         stop_to_switch={:.2}s runtime={:.1}s",
        sw.iter().map(|e| e.at).min().unwrap().duration_since(t_stop).as_secs_f64(),
        c.t0.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------
// 4. A sentinel SIGKILLed at a random moment of each of several failovers
// ---------------------------------------------------------------------------------------

#[test]
fn sentinel_killed_at_random_moments_during_failovers() {
    use rand::{Rng, SeedableRng};
    if !lab::available() {
        return;
    }
    const ROUNDS: usize = 5;
    let seed: u64 = std::env::var("LAB_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut c = Cluster::start("sentinel-kills", Settings::default());
    c.say(&format!("seed {seed} (reproduce the choices: LAB_SEED={seed} cargo test --test faultlab sentinel_killed)"));
    let (mut master_ip, mut epoch) = (c.redis[0].ip.clone(), 0u64);
    let mut summary = Vec::new();
    for round in 1..=ROUNDS {
        let m = c.redis_index(&master_ip);
        let victim = rng.random_range(0..3usize);
        let delay = Duration::from_millis(rng.random_range(0..=1500));
        let down = Duration::from_millis(rng.random_range(300..=2000));
        let t_round = Instant::now();
        c.redis[m].kill9();
        c.say(&format!("round {round}: SIGKILL master {}", c.redis[m].name));
        std::thread::sleep(delay);
        c.sentinels[victim].kill9();
        let phase: Vec<String> = c.events[victim]
            .all()
            .into_iter()
            .filter(|e| e.at >= t_round && lab::events::interesting(&e.channel))
            .map(|e| e.channel)
            .collect();
        c.say(&format!(
            "round {round}: SIGKILL {} after {} ms (its events this round so far: {phase:?})",
            c.sentinels[victim].name,
            delay.as_millis()
        ));
        std::thread::sleep(down);
        c.sentinels[victim].start();
        c.say(&format!("round {round}: restarted {} after {} ms", c.sentinels[victim].name, down.as_millis()));

        let old_ip = master_ip.clone();
        let (new_ip, new_epoch) =
            c.wait(T_CONVERGE, &format!("round {round}: all sentinels to agree on a new master"), || {
                match c.agreement()? {
                    (a, e) if a != old_ip && e > epoch => Ok((a, e)),
                    v => Err(format!("agreed on {v:?}; want a master other than {old_ip} with epoch > {epoch}")),
                }
            });
        let new = c.redis_by_ip(&new_ip).name.clone();
        c.say(&format!("round {round}: agreement on {new} ({new_ip}), config-epoch {new_epoch}"));
        c.wait(T_FAILOVER, &format!("round {round}: {new} reports role:master"), || {
            match c.redis_by_ip(&new_ip).role()? {
                r if r == "master" => Ok(()),
                r => Err(r),
            }
        });
        c.redis[m].start();
        c.say(&format!("round {round}: restarted old master {}", c.redis[m].name));
        for r in c.redis.iter().filter(|r| r.ip != new_ip).map(|r| r.ip.clone()).collect::<Vec<_>>() {
            c.wait_replica_of(&r, &new_ip, T_CONVERGE);
        }
        let masters = c.redis_masters();
        if masters != vec![new.clone()] {
            c.fail(&format!("round {round}: expected exactly one master {new}, got {masters:?}"));
        }
        c.wait(T_CONVERGE, &format!("round {round}: sentinels still agree after the rejoin"), || {
            match c.agreement()? {
                (a, e) if a == new_ip && e == new_epoch => Ok(()),
                v => Err(format!("{v:?}")),
            }
        });
        c.wait_discovery();
        let took = t_round.elapsed().as_secs_f64();
        c.say(&format!("round {round}: converged; {} is a replica again ({took:.1}s)", c.redis[m].name));
        summary.push(format!(
            "r{round}:kill {}@{}ms,down {}ms,{}->{} epoch {new_epoch},{took:.1}s",
            c.sentinels[victim].name,
            delay.as_millis(),
            down.as_millis(),
            c.redis[m].name,
            new
        ));
        master_ip = new_ip;
        epoch = new_epoch;
    }
    let promoted: usize = c.events.iter().map(|e| e.count("+promoted-slave")).sum();
    let aborts: usize =
        c.events.iter().flat_map(|e| e.all()).filter(|e| e.channel.starts_with("-failover-abort")).count();
    c.print_timeline();
    lab::report(&format!(
        "LAB: sentinel-kills: seed={seed} rounds={ROUNDS} final_epoch={epoch} promotions_seen={promoted} \
         aborts={aborts} runtime={:.1}s [{}]",
        c.t0.elapsed().as_secs_f64(),
        summary.join("; ")
    ));
}
