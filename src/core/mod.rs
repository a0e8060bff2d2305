//! The sentinel's brain: a pure, deterministic state machine (sans-IO, after quinn-proto).
//!
//! It owns every decision — when to ping, when an instance is down, when to vote, which
//! replica to promote — and never performs I/O: no sockets, no tokio, no clock reads, no
//! global RNG (desync jitter comes from an RNG seeded in [`Options`]).
//!
//! # Call contract
//! * [`Sentinel::handle`] feeds one fact ([`Input`]) observed at `now`.
//! * [`Sentinel::handle_timeout`] runs the periodic tick (§2.1); call it once `now` has
//!   reached [`Sentinel::poll_timeout`].
//! * After each call, drain [`Sentinel::poll_output`] and execute the outputs strictly in
//!   order. An [`Output::Persist`] must be durable (fsync, rename, fsync dir) before the
//!   next output runs: that is what makes "grant a vote" = `Persist` then `Reply` safe
//!   against a crash between the two.
//! * `now` is a monotonic millisecond clock and must never go backwards between calls;
//!   a long gap between ticks (a stalled process) enters TILT (§13).
//!
//! # One tick, stage by stage
//! `Sentinel::tick` (§2.1) checks TILT, runs `tick_master` for every master, switches a
//! master whose failover has ended and runs scripts. For one master, in this order, each
//! stage in one module:
//!
//! 1. **monitor** (`links`): open and recycle links, PING / INFO / hello on schedule;
//!    what comes back is recorded on the entries by `observe`.
//! 2. **detect** (`detector`): SDOWN, this sentinel's own verdict on each entry.
//! 3. **agree** (`quorum`): the peers' opinions against the quorum, ODOWN.
//! 4. **elect** (`failover::maybe_start`, `failover::wait_start`, counting with
//!    `election`): a new attempt and epoch, our vote, the tally.
//! 5. **select** (`failover::select_slave`, ranking with `selection`).
//! 6. **fail over** (`failover::send_slaveof_noone`, `failover::wait_promotion`): the
//!    promotion.
//! 7. **reconfigure** (`reconfigure`): the other replicas to the promoted one, the end of
//!    the failover, the switch of address.
//! 8. **fence** (`fencing`, numbers in `lease`): the isolation fence, the write lease, and
//!    correcting a returning old master only on proof.
//!
//! Stages 1 and 2 run per entry, 3 to 8 per master in `decide`. A fact that calls for a
//! decision at once (a peer's answer, an INFO showing the promotion or a replica's
//! progress, a newer configuration in a hello) runs the same stage's function from the
//! input's handler; `Sentinel::handle_input` routes inputs. Below the stages: `io` (the
//! outbox, the link table, `send`), `monitor` (the entries and the parsers), `lease` and
//! `types`. No module imports another in a circle (`tests/core_layering.rs`).
//!
//! # Where we deliberately differ from Redis Sentinel
//! Each difference is explained where it is made; in short:
//! * Safety (found by the simulation, `tests/sim`): a candidate counts only votes of
//!   its attempt's own epoch (`election::leader`); a newer config epoch from a hello
//!   ends any failover of ours and is adopted as is (`observe`); the epoch increment at
//!   failover start is persisted before it is announced (`failover::start`); epochs a
//!   RESP integer cannot carry are refused (`monitor::hello::parse_epoch`).
//! * Fewer false alarms: peers' "master is down" opinions are cleared when the master's
//!   address switches (docs/behaviour.md §20.21); PINGs go out four times per down-after,
//!   so a link dropped by CLIENT KILL is not an instant SDOWN; a dropped link reconnects
//!   on the next tick.
//! * Speed: during our own failover the promoted replica is polled with INFO every
//!   [`FAST_INFO_PERIOD`] ms and the replicas being reconfigured every
//!   `reconfigure::RECONF_INFO_PERIOD` ms (their next one is sent SLAVEOF as soon as one
//!   is done, `parallel-syncs` kept), an INFO is
//!   pipelined right behind every SLAVEOF transaction, and a peer's answer is acted on
//!   when it arrives, so a failover completes within a few hundred ms of the SDOWN; a
//!   replica reporting `role:master` is polled every second, so a returning old master
//!   is demoted ~8 s after it returns.
//! * Inspection: every event concerning a master is kept in its timeline
//!   (`SENTINEL TIMELINE`, `sentinel-cli history`).

mod commands;
mod detector;
mod election;
mod failover;
mod fencing;
mod io;
mod lease;
mod links;
pub mod monitor;
mod observe;
mod quorum;
mod reconfigure;
mod scripts;
pub mod selection;
mod status;
mod tilt;
mod types;

pub use commands::{arity_ok, sentinel_alias_of};
pub use links::AUTH_FAILED;
pub use status::{InstanceReport, MasterReport, Status};
pub use types::*;

use crate::resp::Value;
use io::{owner_mut, target_mut, Io, Queued, ReqKind, Target};
use monitor::{FailoverState, Instance, Kind, Master};
use std::collections::BTreeMap;

/// INFO period for replicas involved in our own running failover (ours, not Redis's).
pub const FAST_INFO_PERIOD: Millis = 100;

/// Base period of the tick; each tick adds 0–49 ms of seeded jitter (Redis runs its
/// timer at a random 10–19 Hz for the same de-synchronising effect, §2.1).
pub const TICK_PERIOD: Millis = 50;

/// `SENTINEL SIMULATE-FAILURE` flags (§11.4).
pub const SIMFAIL_CRASH_AFTER_ELECTION: u8 = 1;
pub const SIMFAIL_CRASH_AFTER_PROMOTION: u8 = 2;

/// Process-wide state that is not per master.
pub(crate) struct Global {
    pub myid: RunId,
    pub current_epoch: Epoch,
    pub timing: Timing,
    pub port: u16,
    pub announce_ip: Option<String>,
    pub announce_port: Option<u16>,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub deny_scripts_reconfig: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    pub tilt: bool,
    pub tilt_since: Millis,
    /// TILT entries since start-up (`sentinel_total_tilt`, Redis 7.2).
    pub total_tilt: u64,
    pub last_tick: Option<Millis>,
    pub simfail: u8,
    /// Pending and running scripts (§14).
    pub scripts: scripts::Scripts,
    /// Our `requirepass`, the fallback credential towards peers (§3.2).
    pub requirepass: Option<String>,
}

/// One sentinel process's decision state.
pub struct Sentinel {
    g: Global,
    io: Io,
    masters: BTreeMap<String, Master>,
    next_tick: Millis,
}

impl Sentinel {
    /// Builds a core from its persisted state. Emits `+monitor` for every master.
    pub fn new(snap: Snapshot, opts: Options, now: Millis) -> Sentinel {
        let g = Global {
            myid: snap.myid.clone(),
            current_epoch: snap.current_epoch,
            timing: opts.timing,
            port: opts.port,
            announce_ip: snap.announce_ip.clone(),
            announce_port: snap.announce_port,
            resolve_hostnames: snap.resolve_hostnames,
            announce_hostnames: snap.announce_hostnames,
            deny_scripts_reconfig: snap.deny_scripts_reconfig,
            sentinel_user: snap.sentinel_user.clone(),
            sentinel_pass: snap.sentinel_pass.clone(),
            tilt: false,
            tilt_since: 0,
            total_tilt: 0,
            last_tick: None,
            simfail: 0,
            scripts: scripts::Scripts::default(),
            requirepass: opts.requirepass.clone(),
        };
        let mut s = Sentinel { g, io: Io::new(opts.seed), masters: BTreeMap::new(), next_tick: now };
        // Start-up events (`+monitor`, ...) go into the timeline stamped with `now`.
        s.io.now = now;
        for ms in &snap.masters {
            s.add_master(ms, now);
        }
        // Like Redis, `+monitor` at startup already runs the notification script.
        s.notify_scripts(0, now);
        s
    }

    /// Creates a master entry with its remembered replicas and peers, and emits `+monitor`.
    fn add_master(&mut self, ms: &MasterSnapshot, now: Millis) {
        let mut m = Master::from_snapshot(ms, now);
        if m.config_epoch > self.g.current_epoch {
            self.g.current_epoch = m.config_epoch;
        }
        for addr in &ms.known_replicas {
            let key = addr.key();
            m.replicas.insert(key.clone(), Instance::new(Kind::Replica, key, addr.clone(), now));
        }
        for ks in &ms.known_sentinels {
            if ks.runid != self.g.myid {
                let mut inst = Instance::new(Kind::Sentinel, ks.runid.clone(), ks.addr.clone(), now);
                inst.runid = Some(ks.runid.clone());
                m.sentinels.insert(ks.runid.clone(), inst);
            }
        }
        let msg = format!("{} quorum {}", details(&m, &m.inst), m.quorum);
        self.io.event(Level::Warning, "+monitor", Some(m.name()), msg);
        self.masters.insert(m.name().to_string(), m);
    }

    /// Feeds one input observed at `now`.
    pub fn handle(&mut self, now: Millis, input: Input) {
        let first = self.io.queue.len();
        self.handle_input(now, input);
        self.notify_scripts(first, now);
    }

    fn handle_input(&mut self, now: Millis, input: Input) {
        self.io.now = now;
        match input {
            Input::LinkUp { link, local_ip, peer_ip } => self.link_up(now, link, local_ip, peer_ip),
            Input::LinkDown { link, reason, refused } => self.link_down(now, link, &reason, refused),
            Input::Reply { link, tag, reply } => self.reply(now, link, tag, reply),
            Input::PubSub { link, frame } => self.pubsub(now, link, frame),
            Input::ScriptExited { id, code, signal } => {
                self.g.scripts.exited(&mut self.io, &self.g.timing, id, code, signal, now)
            }
            Input::ScriptStarted { id, pid } => self.g.scripts.started(&mut self.io, id, pid),
            Input::Command { client, args } => {
                let value = self.command(now, &args);
                // Planted bug "reply-before-persist" (issue 10.6): the reply (carrying a
                // vote) leaves ahead of the Persist that makes the vote durable.
                #[cfg(feature = "planted-reply-before-persist")]
                if let (Some(v), Some(i)) = (&value, self.io.queue.iter().position(|q| matches!(q, Queued::Persist))) {
                    self.io.queue.insert(i, Queued::Out(Output::Reply { client, value: v.clone() }));
                    return;
                }
                if let Some(value) = value {
                    self.io.push(Output::Reply { client, value });
                }
            }
        }
    }

    /// A reply to one of our commands, handed to the stage that asked.
    fn reply(&mut self, now: Millis, link: LinkId, tag: u64, reply: Value) {
        let Some((l, kind)) = self.io.pending.remove(&tag) else { return };
        if l != link {
            return;
        }
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        if let Some(cc) = target_mut(m, &t).and_then(|i| i.cc.as_mut()).filter(|c| c.id == link) {
            cc.pending = cc.pending.saturating_sub(1);
        }
        if kind == ReqKind::Ping && !matches!(reply, Value::Error(_)) {
            self.auth_ok(link);
        }
        match kind {
            ReqKind::Ping => self.ping_reply(now, link, reply),
            ReqKind::Info => self.info_reply(now, link, reply),
            ReqKind::Publish => self.publish_reply(now, link, reply),
            ReqKind::Ask => {
                let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
                let Some(peer) = target_mut(m, &t) else { return };
                // Ours: decide on the answer now (ODOWN, election tally) rather than at
                // the next tick, which saves up to a tick per round of agreement.
                if quorum::record_answer(peer, reply, now) {
                    decide(&mut self.g, &mut self.io, m, now);
                }
            }
            ReqKind::AskConfig => self.config_reply(now, link, reply),
            ReqKind::Lease => self.lease_reply(link, reply),
            ReqKind::Failover => self.coordinated_reply(now, link, reply),
            ReqKind::ReplicaOf | ReqKind::ScriptKill => {}
        }
    }

    /// Runs the periodic tick (§2.1).
    pub fn handle_timeout(&mut self, now: Millis) {
        if now < self.next_tick {
            return;
        }
        self.io.now = now;
        self.tick(now);
        let jitter = self.io.jitter(TICK_PERIOD);
        // Ours: while our failover reconfigures replicas, tick twice per fast INFO period.
        self.next_tick = if self.masters.values().any(|m| reconfigure::wants_fast_tick(m, now)) {
            now + reconfigure::RECONF_INFO_PERIOD / 2
        } else {
            now + TICK_PERIOD + jitter
        };
    }

    /// When [`Sentinel::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Millis {
        self.next_tick
    }

    /// The next order for the shell, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        match self.io.queue.pop_front()? {
            Queued::Out(out) => Some(out),
            Queued::Persist => Some(Output::Persist(Box::new(self.snapshot()))),
        }
    }

    /// This sentinel's id.
    pub fn myid(&self) -> &str {
        &self.g.myid
    }

    /// The current epoch.
    pub fn current_epoch(&self) -> Epoch {
        self.g.current_epoch
    }

    /// Whether the sentinel is in TILT (§13).
    pub fn in_tilt(&self) -> bool {
        self.g.tilt
    }

    /// A summary of every master, in name order.
    pub fn masters(&self) -> Vec<MasterStatus> {
        self.masters
            .values()
            .map(|m| MasterStatus {
                name: m.name().to_string(),
                addr: m.inst.addr.clone(),
                current: m.current_addr().clone(),
                config_epoch: m.config_epoch,
                leader_epoch: m.leader_epoch,
                failover_state: m.failover.wire(),
                failover_epoch: m.failover_epoch,
                sdown: m.inst.sdown,
                odown: m.odown,
                replicas: m.replicas.len(),
                sentinels: m.sentinels.len(),
            })
            .collect()
    }

    /// The persisted state as it is now (§15.3).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            myid: self.g.myid.clone(),
            current_epoch: self.g.current_epoch,
            announce_ip: self.g.announce_ip.clone(),
            announce_port: self.g.announce_port,
            resolve_hostnames: self.g.resolve_hostnames,
            announce_hostnames: self.g.announce_hostnames,
            deny_scripts_reconfig: self.g.deny_scripts_reconfig,
            sentinel_user: self.g.sentinel_user.clone(),
            sentinel_pass: self.g.sentinel_pass.clone(),
            masters: self.masters.values().map(master_snapshot).collect(),
        }
    }

    /// One pass over every master, its replicas and its peers (§2.1 order).
    fn tick(&mut self, now: Millis) {
        let first = self.io.queue.len();
        tilt::check(&mut self.g, &mut self.io, now);
        let names: Vec<String> = self.masters.keys().cloned().collect();
        for name in &names {
            if let Some(m) = self.masters.get_mut(name) {
                tick_master(&mut self.g, &mut self.io, m, now);
            }
        }
        // §2.1 step 3: at most one master in update_config is switched per pass.
        let done = self.masters.values().find(|m| m.failover == FailoverState::UpdateConfig);
        if let Some(name) = done.map(|m| m.name().to_string()) {
            self.switch_to_promoted(&name, now);
        }
        // §2.1 step 4: scripts (queued by this pass's events too).
        self.notify_scripts(first, now);
        self.g.scripts.tick(&mut self.io, &self.g.timing, now);
    }

    /// §10.1/§14: every warning-level event about a master queued since `first` runs that
    /// master's `notification-script` with `<event-name> <event-message>`.
    fn notify_scripts(&mut self, first: usize, now: Millis) {
        let mut jobs = Vec::new();
        for q in self.io.queue.iter().skip(first) {
            let Queued::Out(Output::Event(ev)) = q else { continue };
            let Some(m) = ev.master.as_ref().and_then(|name| self.masters.get(name)) else { continue };
            if let (Level::Warning, Some(path)) = (ev.level, &m.notification_script) {
                jobs.push((path.clone(), vec![ev.name.to_string(), ev.message.clone()]));
            }
        }
        for (path, args) in jobs {
            self.g.scripts.enqueue(&path, args, now);
        }
    }
}

/// §2.1 step 2 for one master: the pipeline of one tick, in the order its decisions are
/// taken. Stages 1 and 2 run per entry (the master, then its replicas, then its peers);
/// the rest concern the master as a whole ([`decide`]).
fn tick_master(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    let view = MasterView::of(m, now);
    let master = std::iter::once((Target::Master, &mut m.inst));
    let replicas = m.replicas.iter_mut().map(|(key, r)| (Target::Replica(key.clone()), r));
    let peers = m.sentinels.iter_mut().map(|(id, s)| (Target::Sentinel(id.clone()), s));
    for (t, inst) in master.chain(replicas).chain(peers) {
        // 1. Monitor: links, PING / INFO / hello on schedule (§2.3, §3, §4.1, §5.3).
        links::maintain(g, io, &view, inst, &t, now);
        // 2. Detect: this sentinel's own verdict, SDOWN (§6.2).
        if !g.tilt {
            detector::check_sdown(g, io, &view, inst, now);
        }
    }
    decide(g, io, m, now);
}

/// Stages 3 to 8 of the pipeline, the decisions about a master: run by every tick and as
/// soon as a peer's answer arrives. Nothing while in TILT (§13).
pub(crate) fn decide(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    if g.tilt {
        return;
    }
    // 3. Agree: the peers' opinions and ours against the quorum, ODOWN (§6.3).
    quorum::check_odown(io, m, now);
    // 4. Elect: an ODOWN master outside the retry delay gets a new attempt, a new epoch
    //    (§7.1); the peers are asked for their votes at once.
    failover::maybe_start(g, io, m, now);
    // 4–7. The attempt's next step, by its state (§8.1).
    match m.failover {
        // 4. Elect: the votes counted (§7.3); once elected, 5 and 6 follow at once.
        FailoverState::WaitStart => failover::wait_start(g, io, m, now),
        // 5. Select the replica to promote (§8.3, §9).
        FailoverState::SelectSlave => failover::select_slave(g, io, m, now),
        // 6. Fail over: `SLAVEOF NO ONE` to it (or `FAILOVER TO` the old master), then
        //    wait for it to say `role:master` (§8.2, §8.4), which `observe` sees.
        FailoverState::SendSlaveofNoone => failover::send_slaveof_noone(io, m, now),
        FailoverState::WaitPromotion => failover::wait_promotion(io, m, now),
        // 7. Reconfigure the other replicas to it (§8.6); the switch of address follows
        //    in `Sentinel::tick` (§2.1 step 3).
        FailoverState::ReconfSlaves => reconfigure::reconf_slaves(g, io, m, now),
        FailoverState::None | FailoverState::UpdateConfig => {}
    }
    // 3–4. The peers' opinions and votes for the next round (§6.3).
    quorum::ask_peers(g, io, m, now, false);
    // 8. Fence: the isolation fence and the write lease (ours, docs/fencing.md).
    fencing::fence_isolated(io, m, now);
    fencing::keep_lease(io, m, g.timing.info_period, now);
}

/// What stages 1 and 2 need to know about the master while one of its entries is borrowed.
pub(crate) struct MasterView {
    pub name: String,
    pub addr: Addr,
    pub current: Addr,
    pub config_epoch: Epoch,
    pub down_after: Millis,
    pub auth: Option<Auth>,
    pub fast_info: bool,
    /// Ours: the master's process is gone (`detector::crashed`).
    pub crashed: bool,
    /// Ours: its connections are refused and the replicas are being asked to confirm.
    pub crash_suspected: bool,
    /// Ours (`holistic-detection on`): a replica's word vetoing the master's SDOWN
    /// (`detector::veto`), and whether the master has stopped answering long enough
    /// for its replicas to be polled every second.
    pub veto: Option<String>,
    pub holistic_suspect: bool,
    pub failover_running: bool,
    pub reboot_down_after: Millis,
    pub renames: Vec<(String, String)>,
    /// Ours: the write lease is on (every instance is pinged faster for
    /// `fencing::fence_isolated`).
    pub lease_on: bool,
}

impl MasterView {
    pub fn of(m: &Master, now: Millis) -> MasterView {
        MasterView {
            name: m.name().to_string(),
            addr: m.inst.addr.clone(),
            current: m.current_addr().clone(),
            config_epoch: m.config_epoch,
            down_after: m.down_after,
            auth: m.auth_pass.clone().map(|pass| Auth { user: m.auth_user.clone(), pass }),
            // Ours: from SDOWN on (Redis: from ODOWN), so replica data is fresh when a
            // replica must be chosen moments later.
            fast_info: m.inst.sdown || m.odown || m.in_failover(),
            crashed: detector::crashed(m),
            crash_suspected: m.crash_detection && m.inst.refused.is_some() && !m.inst.sdown,
            veto: detector::veto(m, now),
            holistic_suspect: detector::holistic_suspect(m, now),
            failover_running: matches!(
                m.failover,
                FailoverState::WaitPromotion | FailoverState::ReconfSlaves | FailoverState::SendSlaveofNoone
            ),
            reboot_down_after: m.reboot_down_after,
            renames: m.rename_commands.clone(),
            lease_on: m.write_lease_s > 0,
        }
    }
}

/// `<type> <name> <ip> <port>[ @ <master> <ip> <port>]` (§10.2).
pub(crate) fn details(m: &Master, inst: &Instance) -> String {
    details_of(m.name(), &m.inst.addr, inst)
}

/// [`details`] when the master is borrowed elsewhere.
pub(crate) fn details_of(master: &str, maddr: &Addr, inst: &Instance) -> String {
    let own = format!("{} {} {} {}", inst.kind.wire(), inst.name, inst.addr.host, inst.addr.port);
    if inst.kind == Kind::Master {
        own
    } else {
        format!("{} @ {} {} {}", own, master, maddr.host, maddr.port)
    }
}

/// What a master persists (§15.3). During our own failover past promotion the promoted
/// address is written, and the replica entry equal to it is written as the old master.
fn master_snapshot(m: &Master) -> MasterSnapshot {
    let current = m.current_addr().clone();
    let known_replicas =
        m.replicas.values().map(|r| if r.addr.same(&current) { m.inst.addr.clone() } else { r.addr.clone() }).collect();
    let known_sentinels = m
        .sentinels
        .values()
        .filter_map(|s| s.runid.as_ref().map(|id| KnownSentinel { addr: s.addr.clone(), runid: id.clone() }))
        .collect();
    MasterSnapshot {
        name: m.name().to_string(),
        addr: current,
        quorum: m.quorum,
        down_after_ms: m.down_after,
        failover_timeout_ms: m.failover_timeout,
        parallel_syncs: m.parallel_syncs,
        auth_user: m.auth_user.clone(),
        auth_pass: m.auth_pass.clone(),
        master_reboot_down_after_ms: m.reboot_down_after,
        notification_script: m.notification_script.clone(),
        client_reconfig_script: m.client_reconfig_script.clone(),
        rename_commands: m.rename_commands.clone(),
        config_epoch: m.config_epoch,
        leader_epoch: m.leader_epoch,
        write_lease_s: m.write_lease_s,
        crash_detection: m.crash_detection,
        holistic_detection: m.holistic_detection,
        max_lag_on_failover: m.max_lag_on_failover,
        failover_block_ms: m.failover_block_ms,
        known_replicas,
        known_sentinels,
    }
}
