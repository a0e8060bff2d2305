//! The leader's failover state machine (§7.1, §7.4, §8): wait_start → select_slave →
//! send_slaveof_noone → wait_promotion → reconf_slaves → update_config, its timeouts and
//! aborts, and the address switch shared with observers (§8.6).
//!
//! `SENTINEL FAILOVER <name> COORDINATED` (Valkey 9) takes the same path, except the
//! send_slaveof_noone step: instead of `SLAVEOF NO ONE` to the replica, the leader sends
//! `FAILOVER TO <replica> TIMEOUT <ms>` to the old master, which pauses writes, waits
//! until that replica has the whole replication stream, demotes itself and hands over
//! (`PSYNC FAILOVER`). No write the old master acknowledged is lost. Without a reachable
//! old master, or when it refuses (`FAILOVER` unknown, renamed or denied, the replica not
//! connected to it), the failover is aborted with `-failover-abort-coordinated` and the
//! reason: never a silent fall-back to the plain promotion, which could lose writes.

use super::io::{send, Io, ReqKind};
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
    // Ours: anti-flapping. A master failed over moments ago that is down again is more
    // likely a crash loop than a second independent failure: wait for an operator.
    if m.failover_block_ms > 0 && m.last_switch_at.is_some_and(|at| now.saturating_sub(at) < m.failover_block_ms) {
        if m.blocked_reported != m.odown_since {
            m.blocked_reported = m.odown_since;
            let left = m.last_switch_at.map_or(0, |at| (at + m.failover_block_ms).saturating_sub(now));
            let msg = format!(
                "{} last failover {} ms ago, failover-block-period {} ms ({} ms left); acknowledge with SENTINEL SET",
                details(m, &m.inst),
                m.last_switch_at.map_or(0, |at| now.saturating_sub(at)),
                m.failover_block_ms,
                left
            );
            io.event(Level::Warning, "-failover-blocked", Some(m.name()), msg);
        }
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
        // Ours: say which replicas only the lag bound excluded, and by how much.
        let lagging = selection::lagging(m, &g.timing, now);
        if !lagging.is_empty() {
            let list: Vec<String> = lagging.iter().map(|(k, lag)| format!("{k} lag {lag}")).collect();
            let msg = format!(
                "{} max-lag-on-failover {} excludes {}",
                details(m, &m.inst),
                m.max_lag_on_failover,
                list.join(", ")
            );
            io.event(Level::Warning, "-failover-lagging-replicas", Some(m.name()), msg);
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
    if m.coordinated {
        send_coordinated(io, m, &key, now);
        return;
    }
    fencing::hold_promoted(io, m, &key, link);
    let Some(r) = m.replicas.get_mut(&key) else { return };
    send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(None));
    // Ours: ask INFO right behind the transaction so the promotion is seen at once.
    send_info(io, r, link, now);
    let d = details_replica(m, &key);
    set_state(m, FailoverState::WaitPromotion, now);
    io.event(Level::Notice, "+failover-state-wait-promotion", Some(m.name()), d);
}

/// Longest write pause a coordinated failover asks of the old master (its `FAILOVER
/// TIMEOUT`): half the failover-timeout, at most this. Past it the old master resumes
/// writes as master by itself and the failover ends in `-failover-abort-slave-timeout`.
pub const COORDINATED_MAX_PAUSE: Millis = 10_000;

/// `FAILOVER TO <host> <port> TIMEOUT <ms>` as the old master knows the replica (the
/// address its INFO lists, which is our key). The promotion is then observed as in the
/// plain path (the replica's INFO says `role:master`).
fn send_coordinated(io: &mut Io, m: &mut Master, key: &str, now: Millis) {
    let link = m.inst.cc.as_ref().filter(|_| m.inst.connected() && !m.inst.sdown).map(|l| l.id);
    let Some(link) = link else {
        abort_with(io, m, "-failover-abort-coordinated", "the old master is unreachable");
        return;
    };
    let Some(to) = m.replicas.get(key).map(|r| r.addr.clone()) else { return };
    let timeout_ms = (m.failover_timeout / 2).clamp(1, COORDINATED_MAX_PAUSE);
    send(io, &mut m.inst, link, ReqKind::Failover, Request::Failover { to, timeout_ms });
    let d = details_replica(m, key);
    set_state(m, FailoverState::WaitPromotion, now);
    io.event(Level::Notice, "+failover-state-send-failover", Some(m.name()), format!("{d} timeout {timeout_ms}"));
}

/// The old master's answer to `FAILOVER TO`: `+OK` (the handover runs) or an error
/// (it refuses: abort, saying why).
fn on_coordinated_reply(io: &mut Io, m: &mut Master, reply: &crate::resp::Value) {
    if m.failover != FailoverState::WaitPromotion || !m.coordinated {
        return;
    }
    if let crate::resp::Value::Error(e) = reply {
        abort_with(io, m, "-failover-abort-coordinated", &format!("the old master refused FAILOVER: {e}"));
    }
}

/// An INFO pipelined behind a reconfiguration, whatever else is in flight.
fn send_info(io: &mut Io, r: &mut Instance, link: super::LinkId, now: Millis) {
    send(io, r, link, ReqKind::Info, Request::Info);
    r.info_sent = Some(now);
}

/// §8.5: back to no failover; the start time stays (retry delay), the epoch too.
pub(crate) fn abort(io: &mut Io, m: &mut Master, event: &'static str) {
    io.event(Level::Warning, event, Some(m.name()), details(m, &m.inst));
    clear(m);
}

/// [`abort`] with the reason appended to the event's message.
fn abort_with(io: &mut Io, m: &mut Master, event: &'static str, reason: &str) {
    io.event(Level::Warning, event, Some(m.name()), format!("{} {reason}", details(m, &m.inst)));
    clear(m);
}

fn clear(m: &mut Master) {
    m.failover = FailoverState::None;
    m.force_failover = false;
    m.ignore_lag = false;
    m.coordinated = false;
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
        if m.coordinated {
            persist_handover(io, m, &key, to);
        }
    }
    // §5.3: force hellos to everyone on the next tick.
    m.inst.last_pub = None;
    m.replicas.values_mut().for_each(|r| r.last_pub = None);
    m.sentinels.values_mut().for_each(|s| s.last_pub = None);
    reconf_slaves(g, io, m, now);
}

/// After a coordinated handover the roles are already swapped, but `FAILOVER` neither
/// rewrites the config files nor disconnects clients. The usual transactions do both and
/// change no role now: `SLAVEOF NO ONE` to the new master, `SLAVEOF <new>` to the old one
/// (already replicating it: no resync). Clients of the old master are disconnected and
/// ask the sentinels again, as after a plain failover.
fn persist_handover(io: &mut Io, m: &mut Master, key: &str, to: Addr) {
    if let Some(r) = m.replicas.get_mut(key) {
        if let Some(link) = r.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
            send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(None));
        }
    }
    if let Some(link) = m.inst.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
        send(io, &mut m.inst, link, ReqKind::ReplicaOf, Request::ReplicaOf(Some(to)));
    }
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

/// INFO period of a replica just sent SLAVEOF during our failover (ours), for its first
/// [`RECONF_FAST_WINDOW`] ms in `reconf_sent`/`reconf_inprog`: a partial resync on a LAN
/// takes milliseconds, and only once its `master_link_status:up` is seen may the next
/// replica be reconfigured (`parallel-syncs`). The tick runs at this period meanwhile.
pub const RECONF_INFO_PERIOD: Millis = 10;
/// How long a replica being reconfigured is polled every [`RECONF_INFO_PERIOD`]; a
/// longer (full) resync is then polled every [`FAST_INFO_PERIOD`].
pub const RECONF_FAST_WINDOW: Millis = 2000;

/// The replica is in the first [`RECONF_FAST_WINDOW`] ms of its reconfiguration.
pub(crate) fn reconf_polled_fast(r: &Instance, now: Millis) -> bool {
    (r.flags.reconf_sent || r.flags.reconf_inprog) && now.saturating_sub(r.reconf_sent_time) < RECONF_FAST_WINDOW
}

/// Our failover of `m` wants the next tick after [`RECONF_INFO_PERIOD`] rather than
/// the usual period: a replica is in its fast-polled reconfiguration, or the failover
/// has ended and waits for the switch.
pub(crate) fn wants_fast_tick(m: &Master, now: Millis) -> bool {
    match m.failover {
        FailoverState::ReconfSlaves => m.replicas.values().any(|r| reconf_polled_fast(r, now)),
        FailoverState::UpdateConfig => true,
        _ => false,
    }
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
    /// The reply to `FAILOVER TO` on a master's command link.
    pub(crate) fn coordinated_reply(&mut self, _now: Millis, link: super::LinkId, reply: crate::resp::Value) {
        let Some(name) = self.masters.values().find(|m| m.inst.cc.as_ref().is_some_and(|l| l.id == link)) else {
            return;
        };
        let name = name.name().to_string();
        if let Some(m) = self.masters.get_mut(&name) {
            on_coordinated_reply(&mut self.io, m, &reply);
        }
    }

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
        m.last_switch_at = Some(now);
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
    m.ignore_lag = false;
    m.coordinated = false;
    m.promoted = None;
}

fn close_links(io: &mut Io, inst: &Instance) {
    for l in [&inst.cc, &inst.pc].into_iter().flatten() {
        io.close(l.id);
    }
}

#[cfg(test)]
mod tests {
    //! `SENTINEL FAILOVER <m> COORDINATED` driven through the core's public contract: the
    //! test plays the shell (every link connects, the master and its replica answer PING
    //! and INFO as the test's world says) and asserts the decisions the core orders.
    use crate::core::{Addr, ClientId, Input, LinkId, MasterSnapshot, Options, Output, Request, Sentinel, Snapshot};
    use crate::resp::Value;
    use std::collections::BTreeMap;

    const MASTER: (&str, u16) = ("10.0.0.1", 6379);
    const REPLICA: (&str, u16) = ("10.0.0.2", 6380);

    /// What the instances answer.
    struct World {
        replica_is_master: bool,
        master_up: bool,
        failover_reply: Value,
    }

    struct Shell {
        s: Sentinel,
        links: BTreeMap<u64, Addr>,
        now: u64,
        /// Every decision (not PING/INFO/PUBLISH), rendered.
        log: Vec<String>,
    }

    fn info(w: &World, addr: &Addr) -> String {
        if addr.port == MASTER.1 && !w.master_up {
            return String::new();
        }
        if addr.port == MASTER.1 {
            format!(
                "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
                 slave0:ip={},port={},state=online,offset=100,lag=0\r\nmaster_repl_offset:100\r\n",
                "a".repeat(40),
                REPLICA.0,
                REPLICA.1
            )
        } else if w.replica_is_master {
            format!("# Server\r\nrun_id:{}\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n", "b".repeat(40))
        } else {
            format!(
                "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\n\
                 master_link_status:up\r\nslave_repl_offset:100\r\nslave_priority:100\r\n",
                "b".repeat(40),
                MASTER.0,
                MASTER.1
            )
        }
    }

    impl Shell {
        fn new() -> Shell {
            let mut snap = Snapshot::new("1".repeat(40));
            let mut m = MasterSnapshot::new("m", Addr::new(MASTER.0, MASTER.1), 1);
            m.failover_timeout_ms = 6000;
            snap.masters.push(m);
            let opts = Options { port: 26379, seed: 7, timing: Default::default(), requirepass: None };
            Shell { s: Sentinel::new(snap, opts, 0), links: BTreeMap::new(), now: 0, log: Vec::new() }
        }

        /// Executes every queued output as the world says, until none is left.
        fn pump(&mut self, w: &World) {
            while let Some(o) = self.s.poll_output() {
                match o {
                    Output::Connect { link, addr, .. } => {
                        let up = addr.port != MASTER.1 || w.master_up;
                        self.links.insert(link.0, addr.clone());
                        let input = if up {
                            Input::LinkUp { link, local_ip: "10.0.0.5".into(), peer_ip: addr.host.clone() }
                        } else {
                            Input::LinkDown { link, reason: "Connection refused".into(), refused: true }
                        };
                        self.s.handle(self.now, input);
                    }
                    Output::Send { link, tag, request } => {
                        let addr = self.links[&link.0].clone();
                        let reply = match &request {
                            Request::Ping => Value::simple("PONG"),
                            Request::Info => Value::bulk(info(w, &addr)),
                            Request::Publish { .. } => Value::Int(1),
                            Request::Failover { .. } => w.failover_reply.clone(),
                            _ => Value::ok(),
                        };
                        if !matches!(request, Request::Ping | Request::Info | Request::Publish { .. }) {
                            self.log.push(format!("send {}:{} {request:?}", addr.host, addr.port));
                        }
                        self.s.handle(self.now, Input::Reply { link, tag, reply });
                    }
                    Output::Event(e) => self.log.push(format!("{} {}", e.name, e.message)),
                    _ => {}
                }
            }
        }

        fn run(&mut self, w: &World, ms: u64) {
            let end = self.now + ms;
            while self.now < end {
                self.now += 100;
                self.s.handle_timeout(self.now);
                self.pump(w);
            }
        }

        fn command(&mut self, w: &World, args: &[&str]) -> Value {
            let args = args.iter().map(|a| a.as_bytes().to_vec()).collect();
            self.s.handle(self.now, Input::Command { client: ClientId(9), args });
            let mut reply = None;
            let mut rest = Vec::new();
            while let Some(o) = self.s.poll_output() {
                match o {
                    Output::Reply { client: ClientId(9), value } => reply = Some(value),
                    other => rest.push(other),
                }
            }
            // Put back what was not the reply: replay it through the shell.
            for o in rest {
                if let Output::Event(e) = o {
                    self.log.push(format!("{} {}", e.name, e.message));
                }
            }
            self.pump(w);
            reply.expect("a reply")
        }

        fn position(&self, prefix: &str) -> Option<usize> {
            self.log.iter().position(|l| l.starts_with(prefix))
        }
    }

    fn ready(w: &World) -> Shell {
        let mut sh = Shell::new();
        sh.pump(w);
        sh.run(w, 12_000);
        sh.log.clear();
        sh
    }

    #[test]
    fn coordinated_failover_promotes_through_failover_on_the_old_master() {
        let mut w = World { replica_is_master: false, master_up: true, failover_reply: Value::ok() };
        let mut sh = ready(&w);
        assert_eq!(sh.command(&w, &["SENTINEL", "FAILOVER", "m", "COORDINATED"]), Value::ok());
        sh.run(&w, 2000);
        // The FAILOVER command goes to the old master, naming the selected replica, with
        // half the failover-timeout as its pause; the replica gets no SLAVEOF NO ONE.
        let sent = format!(
            "send {}:{} Failover {{ to: Addr {{ host: \"{}\", port: {} }}, timeout_ms: 3000 }}",
            MASTER.0, MASTER.1, REPLICA.0, REPLICA.1
        );
        assert!(sh.log.contains(&sent), "{:#?}", sh.log);
        assert!(sh.position("+failover-state-send-failover").is_some(), "{:#?}", sh.log);
        assert!(!sh.log.iter().any(|l| l.contains("ReplicaOf(None)")), "{:#?}", sh.log);
        assert!(sh.position("+promoted-slave").is_none());
        // The old master hands over: the replica reports role:master.
        w.replica_is_master = true;
        sh.run(&w, 3000);
        let promoted = sh.position("+promoted-slave").expect("promotion observed");
        let switch = sh.position("+switch-master").expect("switch");
        assert!(promoted < switch, "{:#?}", sh.log);
        // Then the roles are persisted on both (config rewrite, clients disconnected).
        let new_master = format!("send {}:{} ReplicaOf(None)", REPLICA.0, REPLICA.1);
        let old_master = format!(
            "send {}:{} ReplicaOf(Some(Addr {{ host: \"{}\", port: {} }}))",
            MASTER.0, MASTER.1, REPLICA.0, REPLICA.1
        );
        let at = |l: &String| sh.log.iter().position(|x| x == l);
        assert!(at(&new_master).is_some_and(|i| i > promoted), "{:#?}", sh.log);
        assert!(at(&old_master).is_some_and(|i| i > promoted), "{:#?}", sh.log);
        assert!(sh.position("-failover-abort").is_none(), "{:#?}", sh.log);
    }

    #[test]
    fn a_refused_failover_command_aborts_with_the_reason() {
        let w = World {
            replica_is_master: false,
            master_up: true,
            failover_reply: Value::error("ERR unknown command 'FAILOVER'"),
        };
        let mut sh = ready(&w);
        assert_eq!(sh.command(&w, &["SENTINEL", "FAILOVER", "m", "COORDINATED"]), Value::ok());
        sh.run(&w, 2000);
        let abort = sh.log.iter().find(|l| l.starts_with("-failover-abort-coordinated")).expect("abort");
        assert!(abort.ends_with("the old master refused FAILOVER: ERR unknown command 'FAILOVER'"), "{abort}");
        // Never a fall-back to the plain promotion.
        assert!(!sh.log.iter().any(|l| l.contains("ReplicaOf(None)")), "{:#?}", sh.log);
        assert!(sh.position("+promoted-slave").is_none());
    }

    #[test]
    fn coordinated_needs_a_reachable_master_and_options_parse() {
        let mut w = World { replica_is_master: false, master_up: true, failover_reply: Value::ok() };
        let mut sh = ready(&w);
        let wrong = Value::error("ERR wrong number of arguments for 'sentinel|failover' command");
        assert_eq!(sh.command(&w, &["SENTINEL", "FAILOVER", "m", "COORDINATED", "COORDINATED"]), wrong);
        assert_eq!(sh.command(&w, &["SENTINEL", "FAILOVER", "m", "COORDINATE"]), wrong);
        // The master goes away: its links drop and reconnecting is refused.
        w.master_up = false;
        let master_links: Vec<u64> = sh.links.iter().filter(|(_, a)| a.port == MASTER.1).map(|(l, _)| *l).collect();
        for l in master_links {
            let down = Input::LinkDown { link: LinkId(l), reason: "Connection reset".into(), refused: false };
            sh.s.handle(sh.now, down);
        }
        sh.run(&w, 500);
        let Value::Error(e) = sh.command(&w, &["SENTINEL", "FAILOVER", "m", "FORCE", "COORDINATED"]) else {
            panic!("an unreachable master must refuse COORDINATED")
        };
        assert!(e.starts_with("NOTREACHABLE The master is unreachable"), "{e}");
        // The plain manual failover is still accepted.
        assert_eq!(sh.command(&w, &["SENTINEL", "FAILOVER", "m"]), Value::ok());
    }
}
