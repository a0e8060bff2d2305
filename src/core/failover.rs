//! The leader's failover state machine (§7.1, §7.4, §8): wait_start → select_slave →
//! send_slaveof_noone → wait_promotion → reconf_slaves → update_config, its timeouts and
//! aborts, and the address switch shared with observers (§8.6).

use super::io::{Io, ReqKind};
use super::links::send;
use super::monitor::{FailoverState, Instance, Kind, Master};
use super::{details, election, fencing, quorum, selection, Global, Level, Millis, Output, Request, Sentinel};
use super::{Addr, FAST_INFO_PERIOD, SIMFAIL_CRASH_AFTER_ELECTION};

/// §7.1: starts an attempt for an ODOWN master outside the retry delay.
pub(crate) fn maybe_start(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    if !m.odown || m.in_failover() {
        return;
    }
    if m.failover_start.is_some_and(|at| now < at.saturating_add(2 * m.failover_timeout)) {
        return;
    }
    start(g, io, m, now);
    quorum::ask_peers(g, io, m, now, true);
}

/// §7.1 steps 1–4 (also used by `SENTINEL FAILOVER`).
pub(crate) fn start(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    set_state(m, FailoverState::WaitStart, now);
    g.current_epoch.0 += 1;
    m.failover_epoch = g.current_epoch;
    // Ours: Redis leaves this increment to the self-vote's flush; persisting it here
    // means a restarted sentinel never shows an epoch lower than one it announced.
    io.persist();
    io.event(Level::Warning, "+new-epoch", Some(m.name()), g.current_epoch.to_string());
    io.event(Level::Warning, "+try-failover", Some(m.name()), details(m, &m.inst));
    m.failover_start = Some(now + io.jitter(1000));
}

fn set_state(m: &mut Master, s: FailoverState, now: Millis) {
    m.failover = s;
    m.failover_state_change = now;
}

/// Advances the failover by one tick.
pub(crate) fn step(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    match m.failover {
        FailoverState::WaitStart => wait_start(g, io, m, now),
        FailoverState::SelectSlave => select_slave(g, io, m, now),
        FailoverState::SendSlaveofNoone => send_slaveof_noone(io, m, now),
        FailoverState::WaitPromotion => {
            if now.saturating_sub(m.failover_state_change) > m.failover_timeout {
                abort(io, m, "-failover-abort-slave-timeout");
            }
        }
        FailoverState::ReconfSlaves => reconf_slaves(g, io, m, now),
        FailoverState::None | FailoverState::UpdateConfig => {}
    }
}

fn wait_start(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    let leader = election::leader(g, io, m, m.failover_epoch, now);
    let elected = leader.is_some_and(|l| l.eq_ignore_ascii_case(&g.myid));
    if !elected && !m.force_failover {
        let limit = g.timing.election_timeout.min(m.failover_timeout);
        if now.saturating_sub(m.failover_start.unwrap_or(now)) > limit {
            abort(io, m, "-failover-abort-not-elected");
        }
        return;
    }
    io.event(Level::Warning, "+elected-leader", Some(m.name()), details(m, &m.inst));
    if g.simfail & SIMFAIL_CRASH_AFTER_ELECTION != 0 {
        io.push(Output::Exit(99));
    }
    set_state(m, FailoverState::SelectSlave, now);
    io.event(Level::Warning, "+failover-state-select-slave", Some(m.name()), details(m, &m.inst));
    select_slave(g, io, m, now);
}

/// How long `select_slave` waits for fresh INFO from replicas excluded only for the age
/// of their last INFO (ours).
pub const SELECT_INFO_GRACE: Millis = 1000;

fn select_slave(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    let Some(key) = selection::select(m, &g.timing, now) else {
        // Deliberate difference: Redis aborts at once. Its own slowness means it rarely
        // selects before a 1 s replica INFO poll has landed; we elect within ms of the
        // SDOWN, when the last INFO of a healthy replica may be 10 s old (§9 wants ≤ 5 s
        // while the master is down). Ask for fresh INFO and wait briefly instead.
        let stale = selection::stale_only(m, &g.timing, now);
        if !stale.is_empty() && now.saturating_sub(m.failover_state_change) < SELECT_INFO_GRACE {
            for key in stale {
                let Some(r) = m.replicas.get_mut(&key) else { continue };
                let fresh = r.info_sent.is_some_and(|at| now.saturating_sub(at) < FAST_INFO_PERIOD);
                if let (false, Some(link)) = (fresh, r.cc.as_ref().map(|l| l.id)) {
                    send_info(io, r, link, now);
                }
            }
            return;
        }
        abort(io, m, "-failover-abort-no-good-slave");
        return;
    };
    let Some(r) = m.replicas.get_mut(&key) else { return };
    r.flags.promoted = true;
    let d = details_replica(m, &key);
    io.event(Level::Warning, "+selected-slave", Some(m.name()), d.clone());
    m.promoted = Some(key);
    set_state(m, FailoverState::SendSlaveofNoone, now);
    io.event(Level::Notice, "+failover-state-send-slaveof-noone", Some(m.name()), d);
    send_slaveof_noone(io, m, now);
}

fn send_slaveof_noone(io: &mut Io, m: &mut Master, now: Millis) {
    let key = m.promoted.clone().unwrap_or_default();
    let timeout = m.failover_timeout;
    let Some(r) = m.replicas.get_mut(&key) else {
        abort(io, m, "-failover-abort-slave-timeout");
        return;
    };
    let link = r.cc.as_ref().filter(|_| r.connected()).map(|l| l.id);
    let Some(link) = link else {
        if now.saturating_sub(m.failover_state_change) > timeout {
            abort(io, m, "-failover-abort-slave-timeout");
        }
        return;
    };
    fencing::hold_promoted(io, m, &key, link);
    let Some(r) = m.replicas.get_mut(&key) else { return };
    send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(None));
    // Ours: ask INFO right behind the transaction so the promotion is seen at once.
    send_info(io, r, link, now);
    let d = details_replica(m, &key);
    set_state(m, FailoverState::WaitPromotion, now);
    io.event(Level::Notice, "+failover-state-wait-promotion", Some(m.name()), d);
}

/// An INFO pipelined behind a reconfiguration, whatever else is in flight.
fn send_info(io: &mut Io, r: &mut Instance, link: super::LinkId, now: Millis) {
    send(io, r, link, ReqKind::Info, Request::Info);
    r.info_sent = Some(now);
}

/// §8.5: back to no failover; the start time stays (retry delay), the epoch too.
pub(crate) fn abort(io: &mut Io, m: &mut Master, event: &'static str) {
    io.event(Level::Warning, event, Some(m.name()), details(m, &m.inst));
    m.failover = FailoverState::None;
    m.force_failover = false;
    if let Some(r) = m.promoted.take().and_then(|k| m.replicas.get_mut(&k)) {
        r.flags.promoted = false;
    }
}

/// §8.4: the promoted replica reported `role:master` while we wait for it.
pub(crate) fn promotion_observed(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    m.config_epoch = m.failover_epoch;
    set_state(m, FailoverState::ReconfSlaves, now);
    fencing::config_changed(m, now, false, true);
    io.persist();
    let key = m.promoted.clone().unwrap_or_default();
    io.event(Level::Warning, "+promoted-slave", Some(m.name()), details_replica(m, &key));
    if g.simfail & super::SIMFAIL_CRASH_AFTER_PROMOTION != 0 {
        io.push(Output::Exit(99));
    }
    io.event(Level::Warning, "+failover-state-reconf-slaves", Some(m.name()), details(m, &m.inst));
    if let Some(to) = m.replicas.get(&key).map(|r| r.addr.clone()) {
        reconfig_script(g, m, "leader", &to, now);
    }
    // §5.3: force hellos to everyone on the next tick.
    m.inst.last_pub = None;
    m.replicas.values_mut().for_each(|r| r.last_pub = None);
    m.sentinels.values_mut().for_each(|s| s.last_pub = None);
    reconf_slaves(g, io, m, now);
}

/// §14: queues the master's `client-reconfig-script` with
/// `<master> <leader|observer> start <from-ip> <from-port> <to-ip> <to-port>`, where
/// "from" is the configured (old) master address.
pub(crate) fn reconfig_script(g: &mut Global, m: &Master, role: &str, to: &Addr, now: Millis) {
    let Some(path) = m.client_reconfig_script.as_deref() else { return };
    let from = &m.inst.addr;
    let args = [m.name(), role, "start", &from.host, &from.port.to_string(), &to.host, &to.port.to_string()];
    g.scripts.enqueue(path, args.iter().map(|a| a.to_string()).collect(), now);
}

/// §8.6 steps 1–3: send SLAVEOF to the other replicas, `parallel-syncs` at a time, and
/// detect the end of the failover.
fn reconf_slaves(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    let Some(promoted) = m.promoted.clone().and_then(|k| m.replicas.get(&k)).map(|r| r.addr.clone()) else {
        return;
    };
    let mut in_progress = m.replicas.values().filter(|r| r.flags.reconf_sent || r.flags.reconf_inprog).count();
    let keys: Vec<String> = m.replicas.keys().cloned().collect();
    for key in &keys {
        if in_progress >= m.parallel_syncs as usize {
            break;
        }
        if reconf_one(g, io, m, key, &promoted, now) {
            in_progress += 1;
        }
    }
    check_end(io, m, &promoted, now);
}

/// Reconfigures one replica if it is due; true when a transaction was sent.
fn reconf_one(g: &Global, io: &mut Io, m: &mut Master, key: &str, to: &Addr, now: Millis) -> bool {
    let d = details_replica(m, key);
    let name = m.name().to_string();
    let Some(r) = m.replicas.get_mut(key) else { return false };
    if r.flags.promoted || r.flags.reconf_done {
        return false;
    }
    if r.flags.reconf_sent && now.saturating_sub(r.reconf_sent_time) > g.timing.slave_reconf_timeout {
        io.event(Level::Notice, "-slave-reconf-sent-timeout", Some(&name), d);
        r.flags.reconf_sent = false;
        r.flags.reconf_done = true;
        return false;
    }
    if r.flags.reconf_sent || r.flags.reconf_inprog || !r.connected() {
        return false;
    }
    let Some(link) = r.cc.as_ref().map(|l| l.id) else { return false };
    send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(Some(to.clone())));
    send_info(io, r, link, now);
    r.flags.reconf_sent = true;
    r.reconf_sent_time = now;
    io.event(Level::Notice, "+slave-reconf-sent", Some(&name), d);
    true
}

fn check_end(io: &mut Io, m: &mut Master, promoted: &Addr, now: Millis) {
    let key = m.promoted.clone().unwrap_or_default();
    if m.replicas.get(&key).is_none_or(|r| r.sdown) {
        return;
    }
    let mut remaining = m.replicas.values().filter(|r| !r.flags.promoted && !r.flags.reconf_done && !r.sdown).count();
    if remaining > 0 && now.saturating_sub(m.failover_state_change) > m.failover_timeout {
        io.event(Level::Warning, "+failover-end-for-timeout", Some(m.name()), details(m, &m.inst));
        remaining = 0;
        best_effort_reconf(io, m, promoted);
    }
    if remaining == 0 {
        io.event(Level::Warning, "+failover-end", Some(m.name()), details(m, &m.inst));
        set_state(m, FailoverState::UpdateConfig, now);
    }
}

fn best_effort_reconf(io: &mut Io, m: &mut Master, to: &Addr) {
    let keys: Vec<String> = m.replicas.keys().cloned().collect();
    for key in keys {
        let d = details_replica(m, &key);
        let name = m.name().to_string();
        let Some(r) = m.replicas.get_mut(&key) else { continue };
        if r.flags.promoted || r.flags.reconf_done || r.flags.reconf_sent || !r.connected() {
            continue;
        }
        let Some(link) = r.cc.as_ref().map(|l| l.id) else { continue };
        send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(Some(to.clone())));
        r.flags.reconf_sent = true;
        io.event(Level::Notice, "+slave-reconf-sent-be", Some(&name), d);
    }
}

fn details_replica(m: &Master, key: &str) -> String {
    m.replicas.get(key).map(|r| details(m, r)).unwrap_or_default()
}

impl Sentinel {
    /// §8.6 switch for the leader at the end of its failover.
    pub(crate) fn switch_to_promoted(&mut self, name: &str, now: Millis) {
        let Some(m) = self.masters.get(name) else { return };
        let old = m.inst.addr.clone();
        let Some(new) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).map(|r| r.addr.clone()) else {
            return;
        };
        let msg = format!("{} {} {} {} {}", name, old.host, old.port, new.host, new.port);
        self.io.event(Level::Warning, "+switch-master", Some(name), msg);
        self.reset_and_change_address(name, new, now, true);
    }

    /// §8.6 steps 2–6: drop replicas, keep peers, new address, re-add replicas
    /// (the old master among them), persist. `as_leader`: the switch ends our own failover.
    pub(crate) fn reset_and_change_address(&mut self, name: &str, new: Addr, now: Millis, as_leader: bool) {
        let Some(m) = self.masters.get_mut(name) else { return };
        let mut keep: Vec<Addr> = m.replicas.values().map(|r| r.addr.clone()).filter(|a| !a.same(&new)).collect();
        if !m.inst.addr.same(&new) {
            keep.push(m.inst.addr.clone());
        }
        reset_master(&mut self.io, m, now, false);
        m.inst.addr = new;
        fencing::config_changed(m, now, true, as_leader);
        for addr in keep {
            let key = addr.key();
            m.replicas.insert(key.clone(), Instance::new(Kind::Replica, key, addr, now));
        }
        let events: Vec<String> = m.replicas.values().map(|r| details(m, r)).collect();
        for d in events {
            self.io.event(Level::Notice, "+slave", Some(name), d);
        }
        self.io.persist();
    }
}

/// §8.6 step 3 (and `SENTINEL RESET` with `drop_sentinels`): forget links, replicas,
/// flags and failover state; keep the epochs. Ours: peers' down opinions are cleared
/// too (§20.21), so a fresh ODOWN needs fresh answers.
pub(crate) fn reset_master(io: &mut Io, m: &mut Master, now: Millis, drop_sentinels: bool) {
    for r in m.replicas.values() {
        close_links(io, r);
    }
    close_links(io, &m.inst);
    m.replicas.clear();
    if drop_sentinels {
        for s in m.sentinels.values() {
            close_links(io, s);
        }
        m.sentinels.clear();
    }
    for s in m.sentinels.values_mut() {
        s.master_down = false;
        s.leader = None;
        s.last_master_down_reply = None;
    }
    let addr = m.inst.addr.clone();
    m.inst = Instance::new(Kind::Master, m.name().to_string(), addr, now);
    m.leader = None;
    m.odown = false;
    m.odown_since = None;
    m.failover = FailoverState::None;
    m.failover_state_change = now;
    m.failover_start = None;
    m.force_failover = false;
    m.promoted = None;
}

fn close_links(io: &mut Io, inst: &Instance) {
    for l in [&inst.cc, &inst.pc].into_iter().flatten() {
        io.close(l.id);
    }
}
