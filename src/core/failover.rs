//! Stages 4 to 6 of the pipeline, the leader's failover up to the promotion (§7.1, §7.4,
//! §8): an attempt starts (`maybe_start`, `start`), waits to be elected (`wait_start`),
//! selects a replica (`select_slave`), promotes it (`send_slaveof_noone`) and waits for it
//! to say `role:master` (`wait_promotion`); its timeouts and aborts, and the reset of a
//! master's entry (§8.6 step 3, `SENTINEL RESET`). From the promotion on, the failover is
//! in `reconfigure` (reconf_slaves → update_config, the switch). `core::decide` runs the
//! step of each state.
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
use super::{FAST_INFO_PERIOD, SIMFAIL_CRASH_AFTER_ELECTION};

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

pub(crate) fn set_state(m: &mut Master, s: FailoverState, now: Millis) {
    m.failover = s;
    m.failover_state_change = now;
}

/// §8.4: past failover-timeout without the promoted replica saying `role:master`, the
/// attempt is aborted.
pub(crate) fn wait_promotion(io: &mut Io, m: &mut Master, now: Millis) {
    if now.saturating_sub(m.failover_state_change) > m.failover_timeout {
        abort(io, m, "-failover-abort-slave-timeout");
    }
}

pub(crate) fn wait_start(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
    let leader = election::leader(g, io, m, m.failover_epoch, now);
    let elected = leader.is_some_and(|l| l.eq_ignore_ascii_case(&g.myid));
    if !elected && !m.force_failover {
        let limit = g.timing.election_timeout.min(m.failover_timeout);
        if now.saturating_sub(m.failover_start.unwrap_or(now)) > limit {
            abort(io, m, "-failover-abort-not-elected");
        }
        return;
    }
    // Deliberate difference: a forced (`SENTINEL FAILOVER`) attempt waits for its votes
    // up to one ask period, so that the peers know its epoch before anything is promoted
    // under it (`quorum::ask_peers`); Redis promotes at once. With the peers reachable the
    // wait is one round trip; without them, the failover goes ahead as Redis's does.
    if !elected && now.saturating_sub(m.failover_state_change) < g.timing.ask_period {
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

pub(crate) fn select_slave(g: &mut Global, io: &mut Io, m: &mut Master, now: Millis) {
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
        let why = selection::explain_now(m, &g.timing, now);
        io.event(Level::Warning, "+replica-selection", Some(m.name()), format!("{} {why}", details(m, &m.inst)));
        abort(io, m, "-failover-abort-no-good-slave");
        return;
    };
    // Ours (issue 12.7): the choice with its reasons, before Redis's `+selected-slave`.
    let why = selection::explain_now(m, &g.timing, now);
    io.event(Level::Notice, "+replica-selection", Some(m.name()), format!("{} {why}", details(m, &m.inst)));
    let Some(r) = m.replicas.get_mut(&key) else { return };
    r.flags.promoted = true;
    let d = details_replica(m, &key);
    io.event(Level::Warning, "+selected-slave", Some(m.name()), d.clone());
    m.promoted = Some(key);
    set_state(m, FailoverState::SendSlaveofNoone, now);
    io.event(Level::Notice, "+failover-state-send-slaveof-noone", Some(m.name()), d);
    send_slaveof_noone(io, m, now);
}

pub(crate) fn send_slaveof_noone(io: &mut Io, m: &mut Master, now: Millis) {
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

/// An INFO pipelined behind a promotion or a reconfiguration, whatever else is in flight.
pub(crate) fn send_info(io: &mut Io, r: &mut Instance, link: super::LinkId, now: Millis) {
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

pub(crate) fn details_replica(m: &Master, key: &str) -> String {
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
