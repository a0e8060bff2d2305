//! What instances tell us, recorded on their entries: PING replies (§6.1), INFO replies
//! (§4.3, §12.3) and hello messages (§5.4). Parsing lives in `monitor`. A fact that calls
//! for a decision at once hands it to the stage that takes it: a promotion seen, or a
//! replica's reconfiguration progress, to `reconfigure`; a returning old master or a
//! replica following the wrong master to `fencing` (§12.1, §12.2); a newer epoch to
//! `election`; a newer configuration from a peer to the switch in `reconfigure` (§5.4).

use super::io::{owner_mut, send, target_mut, Io, ReqKind, Target};
use super::monitor::hello::Hello;
use super::monitor::info::{self, Info, Role};
use super::monitor::{FailoverState, Instance, Kind, Master};
use super::{details, election, fencing, reconfigure, Global, Level, LinkId, Millis, Request, Sentinel};
use super::{Addr, Epoch};
use crate::resp::Value;

impl Sentinel {
    /// §6.1: which PING replies count as "available".
    pub(crate) fn ping_reply(&mut self, now: Millis, link: LinkId, reply: Value) {
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let Some(inst) = target_mut(m, &t) else { return };
        inst.last_pong = now;
        let text = match &reply {
            Value::Simple(s) | Value::Error(s) => s.as_str(),
            _ => "",
        };
        if ["PONG", "LOADING", "MASTERDOWN"].iter().any(|p| text.starts_with(p)) {
            inst.last_avail = now;
            inst.act_ping = None;
            if text.starts_with("PONG") {
                inst.master_reboot = false;
            }
        } else if text.starts_with("BUSY") && inst.sdown && !inst.script_kill_sent {
            inst.script_kill_sent = true;
            send(&mut self.io, inst, link, ReqKind::ScriptKill, Request::ScriptKill);
        }
    }

    /// §4.2/§4.3: an INFO reply from a master or replica.
    pub(crate) fn info_reply(&mut self, now: Millis, link: LinkId, reply: Value) {
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        if let Some(inst) = target_mut(m, &t) {
            inst.info_sent = None;
        }
        let text = match &reply {
            Value::Bulk(b) | Value::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
            _ => return,
        };
        let parsed = info::parse(&text);
        let g = &mut self.g;
        let io = &mut self.io;
        let Some(owner) = io.links.get(&link).cloned() else { return };
        let Some(m) = self.masters.get_mut(&owner.master) else { return };
        apply_info(g, io, m, &t, &parsed, text, now);
    }

    /// §5.4: a hello from a Pub/Sub link or from `PUBLISH` on our port.
    pub(crate) fn hello(&mut self, now: Millis, payload: &str) {
        let Some(h) = Hello::decode(payload) else { return };
        self.apply_hello(now, h);
    }

    /// Ours (`core::fencing`): a peer's reply to `SENTINEL MASTER <name>` is what its hello
    /// would say; it is applied as one.
    pub(crate) fn config_reply(&mut self, now: Millis, link: LinkId, reply: Value) {
        let Some((m, Target::Sentinel(runid), _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let Some(peer) = m.sentinels.get(&runid) else { return };
        let fields: Vec<(String, String)> = match &reply {
            Value::Array(items) => {
                items.chunks(2).filter_map(|kv| Some((kv.first()?.as_string()?, kv.get(1)?.as_string()?))).collect()
            }
            Value::Map(pairs) => pairs.iter().filter_map(|(k, v)| Some((k.as_string()?, v.as_string()?))).collect(),
            _ => return,
        };
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        // A leader past promotion reports the new config epoch with the old address
        // until its switch (its hellos carry the promoted one): only a reply outside a
        // failover pairs them as a hello would.
        if get("flags").is_none_or(|f| f.split(',').any(|f| f == "failover_in_progress")) {
            return;
        }
        let (Some(ip), Some(port), Some(epoch)) = (get("ip"), get("port"), get("config-epoch")) else { return };
        let (Ok(port), Ok(epoch)) = (port.parse::<u16>(), epoch.parse::<u64>()) else { return };
        let name = m.name().to_string();
        let h = Hello {
            sentinel: peer.addr.clone(),
            runid,
            current_epoch: Epoch(epoch),
            master_name: m.name().to_string(),
            master: Addr::new(ip, port),
            config_epoch: Epoch(epoch),
        };
        let ours = (m.config_epoch, m.current_addr().clone());
        let runid = h.runid.clone();
        self.apply_hello(now, h);
        // Only such a reply tells that the peer is not in the middle of a failover of
        // its own (a leader's hellos confirm the old configuration until it promotes):
        // `fencing::proved` needs it from the leader we voted for.
        if ours == (Epoch(epoch), Addr::new(ip, port)) {
            if let Some(s) = self.masters.get_mut(&name).and_then(|m| m.sentinels.get_mut(&runid)) {
                s.cfg_idle_confirmed_at = Some(now);
            }
        }
    }

    fn apply_hello(&mut self, now: Millis, h: Hello) {
        if h.runid == self.g.myid || !self.masters.contains_key(&h.master_name) {
            return;
        }
        let name = h.master_name.clone();
        let known = self.masters[&name].sentinels.get(&h.runid).is_some_and(|s| s.addr.same(&h.sentinel));
        if !known {
            self.learn_sentinel(&h, now);
        }
        if h.current_epoch > self.g.current_epoch {
            election::adopt_epoch(&mut self.g, &mut self.io, &name, h.current_epoch);
        }
        self.adopt_config(&h, now);
        let Some(m) = self.masters.get_mut(&name) else { return };
        if let Some(s) = m.sentinels.get_mut(&h.runid) {
            s.last_hello = now;
        }
        fencing::epoch_announced(m, h.current_epoch, now);
        if h.config_epoch == m.config_epoch && h.master.same(m.current_addr()) {
            fencing::confirmed(&mut self.io, m, &h.runid, now);
        }
    }

    /// §5.4 step 4: a peer we do not know at this address.
    fn learn_sentinel(&mut self, h: &Hello, now: Millis) {
        let name = h.master_name.as_str();
        let m = self.masters.get_mut(name).expect("checked by caller");
        let switched = m.sentinels.remove(&h.runid);
        if let Some(old) = &switched {
            for l in [&old.cc, &old.pc].into_iter().flatten() {
                self.io.close(l.id);
            }
            let msg =
                format!("{} ip {} port {} for {}", details(m, &m.inst), h.sentinel.host, h.sentinel.port, h.runid);
            self.io.event(Level::Notice, "+sentinel-address-switch", Some(name), msg);
        } else if let Some(stale) = m.sentinels.values().find(|s| s.addr.same(&h.sentinel)).map(|s| s.name.clone()) {
            let d = details(m, &m.sentinels[&stale]);
            self.io.event(Level::Notice, "+sentinel-invalid-addr", Some(name), d);
            self.forget_sentinel_everywhere(&stale);
        }
        let m = self.masters.get_mut(name).expect("checked by caller");
        let mut inst = Instance::new(Kind::Sentinel, h.runid.clone(), h.sentinel.clone(), now);
        inst.runid = Some(h.runid.clone());
        if switched.is_none() {
            self.io.event(Level::Notice, "+sentinel", Some(name), details(m, &inst));
        }
        m.sentinels.insert(h.runid.clone(), inst);
        self.io.persist();
    }

    fn forget_sentinel_everywhere(&mut self, runid: &str) {
        for m in self.masters.values_mut() {
            if let Some(s) = m.sentinels.remove(runid) {
                for l in [&s.cc, &s.pc].into_iter().flatten() {
                    self.io.close(l.id);
                }
            }
        }
    }

    /// §5.4 step 6: a strictly newer config epoch from a known peer.
    fn adopt_config(&mut self, h: &Hello, now: Millis) {
        let name = h.master_name.as_str();
        let Some(m) = self.masters.get_mut(name) else { return };
        if !m.sentinels.contains_key(&h.runid) || h.config_epoch <= m.config_epoch {
            return;
        }
        m.config_epoch = h.config_epoch;
        fencing::config_changed(m, now, false, false);
        // Deliberate difference: Redis compares with the configured address only, so a
        // leader in `reconf_slaves` that hears a newer config naming its *old* master
        // keeps going and later switches to its own promoted replica under the newer
        // epoch: two addresses for one config epoch (simulation seed 7930). A newer
        // config ends any failover of ours and is adopted as is.
        let current = m.current_addr().clone();
        if current.same(&h.master) && !m.in_failover() {
            return;
        }
        // Planted bug "leader-ignores-newer-config" (issue 10.6, seed 7930): Redis's rule,
        // comparing with the configured address only, so a leader keeps going.
        #[cfg(feature = "planted-leader-ignores-newer-config")]
        if m.inst.addr.same(&h.master) {
            return;
        }
        // Announce the switch if either address we show changes (SENTINEL MASTER's, or
        // GET-MASTER-ADDR-BY-NAME's during our own failover).
        if !current.same(&h.master) || !m.inst.addr.same(&h.master) {
            let d = details(m, &m.sentinels[&h.runid]);
            self.io.event(Level::Warning, "+config-update-from", Some(name), d);
            // The old address as Redis spells it: the configured one (unless that is the
            // new one, when the address clients were given is what changes).
            let old = if m.inst.addr.same(&h.master) { &current } else { &m.inst.addr };
            let msg = format!("{} {} {} {} {}", name, old.host, old.port, h.master.host, h.master.port);
            self.io.event(Level::Warning, "+switch-master", Some(name), msg);
            // §5.4 step 6: observers run the client-reconfig script (from = the old address).
            reconfigure::reconfig_script(&mut self.g, m, "observer", &h.master, now);
        }
        self.reset_and_change_address(name, h.master.clone(), now, false);
    }
}

/// Applies a parsed INFO to the entry `t` of master `m` (§4.3, in order).
fn apply_info(g: &mut Global, io: &mut Io, m: &mut Master, t: &Target, i: &Info, text: String, now: Millis) {
    let reboot_period = m.reboot_down_after;
    let Some(inst) = target_mut(m, t) else { return };
    inst.info_text = Some(text);
    // Whether an INFO (not just the entry's default) said the current role before this one.
    let role_seen = inst.info_refresh.is_some();
    inst.info_refresh = Some(now);
    let rebooted = match (&inst.runid, &i.run_id) {
        (Some(old), Some(new)) => old != new,
        _ => false,
    };
    if i.run_id.is_some() {
        inst.runid = i.run_id.clone();
    }
    inst.replid = i.replid.clone();
    inst.replid2 = i.replid2.clone();
    if let Some(off) = i.master_repl_offset {
        inst.master_repl_offset = off;
    }
    if rebooted && inst.kind == Kind::Master && reboot_period > 0 {
        inst.master_reboot = true;
        inst.master_reboot_since = now;
    }
    record_replica_fields(inst, i, now);
    let role_changed = i.role.is_some() && i.role != inst.role_reported;
    if role_changed {
        // Ours (`core::fencing`): a replica seen turning into a master is being promoted
        // by someone, not an old master coming back.
        inst.promoted_live = role_seen && i.role == Some(Role::Master) && inst.role_reported == Some(Role::Replica);
        inst.role_reported = i.role;
        inst.role_reported_time = now;
        if i.role == Some(Role::Replica) {
            inst.replica_conf_change_time = now;
        }
    }
    // Ours: an instance we demoted that says master again (no INFO showed it a replica
    // in between) was promoted by someone after us, or ignored us: from now on it is
    // treated like a replica seen turning into a master (`fencing::looks_newer`;
    // simulation seed 302, a manual failover promoted it 170 ms after our demotion).
    // Planted bug "demoted-master-trusted" (issue 10.6): taken for the old master again.
    #[cfg(not(feature = "planted-demoted-master-trusted"))]
    if inst.converted && i.role.is_some() {
        if i.role == Some(Role::Master) && !role_changed {
            inst.promoted_live = true;
            inst.role_reported_time = now;
        }
        inst.converted = false;
    }
    let kind = inst.kind;
    if rebooted {
        let d = details(m, target_ref(m, t));
        io.event(Level::Notice, "+reboot", Some(m.name()), d);
        // Planted bug "reboot-keeps-lease" (issue 10.6): the lease not re-applied.
        #[cfg(not(feature = "planted-reboot-keeps-lease"))]
        if kind == Kind::Master {
            // A restarted master lost what `CONFIG SET` gave it: the write lease (or
            // our isolation fence) goes back at once, not at the next INFO period
            // (simulation seed 8938).
            m.lease_sent_at = None;
            m.isolation_fence = None;
        }
    }
    if role_changed {
        report_role_change(io, m, t, i.role);
    }
    if kind == Kind::Master && i.role == Some(Role::Master) {
        discover_replicas(io, m, &i.replicas, now);
    }
    if g.tilt || kind != Kind::Replica {
        return;
    }
    if let Target::Replica(key) = t {
        react_replica(g, io, m, key, i, now);
    }
}

fn record_replica_fields(inst: &mut Instance, i: &Info, now: Millis) {
    inst.master_link_down_ms = i.master_link_down_ms;
    if i.role != Some(Role::Replica) {
        return;
    }
    if let Some(host) = &i.master_host {
        if !inst.slave_master_host.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(host)) {
            inst.slave_master_host = Some(host.clone());
            inst.replica_conf_change_time = now;
        }
    }
    if let Some(port) = i.master_port {
        if inst.slave_master_port != port {
            inst.slave_master_port = port;
            inst.replica_conf_change_time = now;
        }
    }
    inst.master_link_up = i.master_link_up;
    if let Some(p) = i.slave_priority {
        inst.slave_priority = p;
    }
    if let Some(o) = i.slave_repl_offset {
        inst.repl_offset = o;
    }
    if let Some(a) = i.replica_announced {
        inst.replica_announced = a;
    }
}

fn target_ref<'a>(m: &'a Master, t: &Target) -> &'a Instance {
    match t {
        Target::Replica(k) => m.replicas.get(k).unwrap_or(&m.inst),
        Target::Sentinel(id) => m.sentinels.get(id).unwrap_or(&m.inst),
        Target::Master => &m.inst,
    }
}

fn report_role_change(io: &mut Io, m: &Master, t: &Target, role: Option<Role>) {
    let inst = target_ref(m, t);
    let matches =
        matches!((inst.kind, role), (Kind::Master, Some(Role::Master)) | (Kind::Replica, Some(Role::Replica)));
    let name = if matches { "+role-change" } else { "-role-change" };
    let word = if role == Some(Role::Master) { "master" } else { "slave" };
    let msg = format!("{} new reported role is {}", details(m, inst), word);
    io.event(Level::Verbose, name, Some(m.name()), msg);
}

/// §4.2: `slaveN:` lines of the master add unknown replicas.
fn discover_replicas(io: &mut Io, m: &mut Master, addrs: &[Addr], now: Millis) {
    for addr in addrs {
        let key = addr.key();
        if m.replicas.contains_key(&key) || m.replicas.values().any(|r| r.is_at(&addr.host, addr.port)) {
            continue;
        }
        let inst = Instance::new(Kind::Replica, key.clone(), addr.clone(), now);
        io.event(Level::Notice, "+slave", Some(m.name()), details(m, &inst));
        m.replicas.insert(key, inst);
        io.persist();
    }
}

/// §4.3 steps 4–6 for a replica entry.
fn react_replica(g: &mut Global, io: &mut Io, m: &mut Master, key: &str, i: &Info, now: Millis) {
    let Some(r) = m.replicas.get(key) else { return };
    match i.role {
        Some(Role::Master) => {
            // The replica our failover promotes says master: the reconfiguration begins;
            // any other is corrected, on proof.
            if r.flags.promoted && m.failover == FailoverState::WaitPromotion {
                reconfigure::promotion_observed(g, io, m, now);
            } else if !r.flags.promoted {
                fencing::correct_returning_master(io, m, key, g.timing.info_period, now);
            }
        }
        Some(Role::Replica) => {
            fencing::correct_wrong_master(io, m, key, g.timing.info_period, now);
            // Ours: a replica done frees its parallel-syncs slot now, not at the next tick:
            // the next replica is sent SLAVEOF (or the failover ends) at once.
            if reconfigure::progress(io, m, key) && m.failover == FailoverState::ReconfSlaves {
                reconfigure::reconf_slaves(g, io, m, now);
            }
        }
        None => {}
    }
}
