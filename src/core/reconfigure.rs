//! Stage 7 of the pipeline, the end of a failover (§8.4, §8.6): once the promoted replica
//! says `role:master`, our failover reconfigures the other replicas to it,
//! `parallel-syncs` at a time, follows their progress from their INFO (`reconf_sent` →
//! `reconf_inprog` → `reconf_done`), ends, and switches the master's address; an
//! observer switches when a peer's hello brings a newer configuration. The leader's
//! steps before promotion are in `failover`.

use super::failover::{details_replica, reset_master, send_info, set_state};
use super::io::{send, Io, ReqKind};
use super::monitor::{FailoverState, Instance, Kind, Master};
use super::{details, fencing, Addr, Global, Level, Millis, Output, Request, Sentinel};

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
/// longer (full) resync is then polled every [`FAST_INFO_PERIOD`](super::FAST_INFO_PERIOD).
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
pub(crate) fn reconf_slaves(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
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

/// §4.3 step 6, on a replica's INFO: `reconf_sent` → `reconf_inprog` (it follows the
/// promoted replica) → `reconf_done` (its link is up); true when it became done.
pub(crate) fn progress(io: &mut Io, m: &mut Master, key: &str) -> bool {
    let Some(promoted) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).cloned() else {
        return false;
    };
    let name = m.name().to_string();
    let Some(r) = m.replicas.get_mut(key) else { return false };
    let follows = r.slave_master_host.as_ref().is_some_and(|h| promoted.is_at(h, r.slave_master_port));
    let mut events = Vec::new();
    if r.flags.reconf_sent && follows {
        r.flags.reconf_sent = false;
        r.flags.reconf_inprog = true;
        events.push("+slave-reconf-inprog");
    }
    if r.flags.reconf_inprog && r.master_link_up {
        r.flags.reconf_inprog = false;
        r.flags.reconf_done = true;
        events.push("+slave-reconf-done");
    }
    let done = events.last() == Some(&"+slave-reconf-done");
    for e in events {
        let d = details(m, &m.replicas[key]);
        io.event(Level::Notice, e, Some(&name), d);
    }
    done
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
