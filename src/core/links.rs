//! Stage 1 of the pipeline, monitor: per-instance housekeeping on every tick (§2.1, §3,
//! §4.1, §5.3, §6.1): open missing links, recycle dead ones, send PING / INFO / hello on
//! schedule. And what the shell reports about links (up, down, Pub/Sub frames, the
//! replies to PUBLISH and to the lease's `CONFIG SET`), applied to the right entry; the
//! other replies are recorded by `observe` and `quorum` (`Sentinel::reply` routes them).

use super::io::{owner_mut, send, target_mut, Io, LinkOwner, ReqKind, Target};
use super::monitor::hello::{Hello, CHANNEL};
use super::monitor::{Instance, Kind, LinkState};
use super::{details_of, Addr, Level, MasterView, FAST_INFO_PERIOD};
use super::{fencing, lease, Auth, Global, LinkId, LinkKind, Millis, Request, Sentinel};
use crate::resp::Value;

/// How a link's `LinkDown` reason starts when the instance refused our credentials
/// (`-NOAUTH` or `-WRONGPASS` to any command): the shell drops such a link, as Redis's
/// links end up dropped, so the instance shows `disconnected`.
pub const AUTH_FAILED: &str = "authentication failed";

/// Outstanding commands beyond which periodic commands are skipped (§2.2).
const MAX_PENDING: u32 = 100;

/// Stage 1 of the tick for one entry (§2.1 step 2, `core::tick_master`): its links and
/// its PING / INFO / hello schedules.
pub(crate) fn maintain(g: &mut Global, io: &mut Io, v: &MasterView, inst: &mut Instance, t: &Target, now: Millis) {
    reconnect(g, io, v, inst, t, now);
    recycle(g, io, v, inst, now);
    periodic(g, io, v, inst, now);
}

/// Opens missing links, at most one attempt per quarter `ping-period` (Redis: one per
/// `ping-period`, §2.3; ours is faster so that a healed partition is noticed at once).
fn reconnect(g: &mut Global, io: &mut Io, v: &MasterView, inst: &mut Instance, t: &Target, now: Millis) {
    if inst.addr.port == 0 || (inst.cc.is_some() && (inst.pc.is_some() || inst.kind == Kind::Sentinel)) {
        return;
    }
    if inst.last_reconnect.is_some_and(|at| now.saturating_sub(at) < g.timing.ping_period / 4) {
        return;
    }
    inst.last_reconnect = Some(now);
    let id8: String = g.myid.chars().take(8).collect();
    let auth = if inst.kind == Kind::Sentinel { sentinel_auth(g) } else { v.auth.clone() };
    if inst.cc.is_none() {
        let owner = LinkOwner { master: v.name.clone(), target: t.clone(), kind: LinkKind::Command };
        let name = format!("sentinel-{id8}-cmd");
        let id = io.connect(owner, inst.addr.clone(), auth.clone(), name, v.renames.clone());
        inst.cc = Some(LinkState::new(id, now));
    }
    if inst.pc.is_none() && inst.kind != Kind::Sentinel {
        let owner = LinkOwner { master: v.name.clone(), target: t.clone(), kind: LinkKind::PubSub };
        let name = format!("sentinel-{id8}-pubsub");
        let id = io.connect(owner, inst.addr.clone(), auth, name, v.renames.clone());
        inst.pc = Some(LinkState::new(id, now));
    }
}

/// Credentials towards peer sentinels (§3.2): `sentinel-user`/`sentinel-pass`, else our
/// own `requirepass` with the one-argument AUTH.
fn sentinel_auth(g: &Global) -> Option<Auth> {
    match &g.sentinel_pass {
        Some(pass) => Some(Auth { user: g.sentinel_user.clone(), pass: pass.clone() }),
        None => g.requirepass.clone().map(|pass| Auth { user: None, pass }),
    }
}

/// Closes links that look dead (§2.3): a command link with a long-pending PING and no
/// reply for down-after/2, a Pub/Sub link silent for 3 × publish-period.
fn recycle(g: &mut Global, io: &mut Io, v: &MasterView, inst: &mut Instance, now: Millis) {
    // Ours: a link still connecting after a ping period is given up (the shell times a
    // connect out much sooner; this keeps us from waiting forever on one whose outcome
    // was never reported, which left an instance unpinged, simulation seed 774).
    // Planted bug "link-connecting-forever" (issue 10.6): never given up.
    #[cfg(not(feature = "planted-link-connecting-forever"))]
    for slot in [&mut inst.cc, &mut inst.pc] {
        if let Some(l) = slot.as_ref().filter(|l| !l.up && now.saturating_sub(l.created) > g.timing.ping_period) {
            io.close(l.id);
            *slot = None;
        }
    }
    let half = v.down_after / 2;
    let min_age = g.timing.min_link_reconnect_period;
    if let Some(cc) = &inst.cc {
        let old = cc.up && now.saturating_sub(cc.created) > min_age;
        let ping_stuck = inst.act_ping.is_some_and(|at| now.saturating_sub(at) > half);
        if old && ping_stuck && now.saturating_sub(inst.last_pong) > half {
            io.close(cc.id);
            inst.cc = None;
            inst.info_sent = None;
            inst.ask_sent = None;
        }
    }
    if let Some(pc) = &inst.pc {
        let old = pc.up && now.saturating_sub(pc.created) > min_age;
        if old && now.saturating_sub(pc.last_activity) > 3 * g.timing.publish_period {
            io.close(pc.id);
            inst.pc = None;
        }
    }
}

/// PING, INFO and hello on their schedules (§2.3, §4.1, §5.3).
fn periodic(g: &mut Global, io: &mut Io, v: &MasterView, inst: &mut Instance, now: Millis) {
    if !inst.connected() || inst.pending() >= MAX_PENDING {
        return;
    }
    let Some(link) = inst.cc.as_ref().map(|l| l.id) else { return };
    if inst.kind != Kind::Sentinel {
        let period = info_period(g, v, inst, now);
        let stale = |at: Option<Millis>| at.is_none_or(|at| now.saturating_sub(at) > period);
        if stale(inst.info_refresh) && stale(inst.info_sent) {
            send(io, inst, link, ReqKind::Info, Request::Info);
            inst.info_sent = Some(now);
        }
    }
    // Ours: Redis pings every min(down-after, ping-period). We ping four times per
    // down-after (capped by ping-period), so the last valid reply is never more than a
    // quarter of down-after old. A link dropped under us (CLIENT KILL during any
    // reconfiguration) then no longer turns into an instant SDOWN because the last PONG
    // happened to be a second old, and a real death is still detected within down-after.
    let mut ping_every = (v.down_after / 4).max(1).min(g.timing.ping_period);
    if v.lease_on {
        ping_every = ping_every.min(lease::isolation_ping_every(v.down_after));
    }
    let since_pong = now.saturating_sub(inst.last_pong);
    let since_ping = inst.last_ping_sent.map_or(u64::MAX, |at| now.saturating_sub(at));
    if since_pong > ping_every && since_ping > ping_every / 2 {
        send_ping(io, inst, link, now);
    }
    // No hellos to a replica that says it is a master (it may be an old master about to
    // be demoted, or a newer master whose config we have not heard of yet: in both cases
    // our hello says something its other sentinels may not want to hear), nor to one
    // whose first INFO has not told us yet.
    let rogue = inst.kind == Kind::Replica
        && (inst.info_refresh.is_none() || inst.role_reported == Some(super::monitor::info::Role::Master));
    if !rogue && inst.last_pub.is_none_or(|at| now.saturating_sub(at) > g.timing.publish_period) {
        let local = inst.cc.as_ref().and_then(|l| l.local_ip.clone()).unwrap_or_default();
        let hello = Hello {
            sentinel: Addr::new(g.announce_ip.clone().unwrap_or(local), g.announce_port.unwrap_or(g.port)),
            runid: g.myid.clone(),
            current_epoch: g.current_epoch,
            master_name: v.name.clone(),
            master: v.current.clone(),
            config_epoch: v.config_epoch,
        };
        let request = Request::Publish { channel: CHANNEL.into(), payload: hello.encode() };
        send(io, inst, link, ReqKind::Publish, request);
        // Not acknowledged yet; the reply sets the time. Avoid re-sending every tick.
        inst.last_pub = Some(now);
    }
}

/// §4.1 / §2.3: 10 s normally; 1 s for replicas while the master is down or failing
/// over, or while they report a broken link; [`FAST_INFO_PERIOD`] for replicas while
/// our own failover is promoting or reconfiguring them, and
/// [`super::reconfigure::RECONF_INFO_PERIOD`] in a reconfiguration's first seconds (ours).
fn info_period(g: &Global, v: &MasterView, inst: &Instance, now: Millis) -> Millis {
    if inst.kind != Kind::Replica {
        return g.timing.info_period;
    }
    // Ours: a replica we just sent SLAVEOF is polled every RECONF_INFO_PERIOD at first,
    // so its `master_link_status:up` (and the next replica's turn) is seen within ms.
    if v.failover_running && super::reconfigure::reconf_polled_fast(inst, now) {
        return super::reconfigure::RECONF_INFO_PERIOD;
    }
    if v.failover_running && (inst.flags.promoted || inst.flags.reconf_sent || inst.flags.reconf_inprog) {
        return FAST_INFO_PERIOD;
    }
    // Ours: the replicas' word is what confirms a crash (`detector::crashed`).
    if v.crash_suspected {
        return FAST_INFO_PERIOD;
    }
    // Ours: a replica that reports `role:master` (typically a returning old master) is
    // polled every second too, so it is demoted ~8 s after it returns (§12.1's wait)
    // rather than at the first 10 s poll after that.
    let says_master = inst.role_reported == Some(super::monitor::info::Role::Master);
    // Ours: while the master does not answer, with `holistic-detection on`, so the
    // replicas' view of it is at most a second old when down-after elapses.
    if v.fast_info || v.holistic_suspect || inst.master_link_down_ms != 0 || says_master {
        return 1000;
    }
    g.timing.info_period
}

pub(crate) fn send_ping(io: &mut Io, inst: &mut Instance, link: LinkId, now: Millis) {
    send(io, inst, link, ReqKind::Ping, Request::Ping);
    inst.last_ping_sent = Some(now);
    if inst.act_ping.is_none() {
        inst.act_ping = Some(now);
    }
}

impl Sentinel {
    pub(crate) fn link_up(&mut self, now: Millis, link: LinkId, local_ip: String, peer_ip: String) {
        let Some((m, t, kind)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let Some(inst) = target_mut(m, &t) else { return };
        let Some(ls) = link_of(inst, kind).filter(|l| l.id == link) else { return };
        ls.up = true;
        ls.local_ip = Some(local_ip);
        ls.last_activity = now;
        if kind == LinkKind::Command {
            inst.refused = None;
            // §3.4: the IP the host name resolved to, for address comparisons.
            inst.resolved = Some((inst.addr.clone(), peer_ip.clone()));
            inst.ip = Some(peer_ip);
            // §3.2: PING right away on a new command link.
            send_ping(&mut self.io, inst, link, now);
            // Ours: catch up at once after a partition or a restart instead of at the
            // next 2 s hello cycle: our hello goes out on the next tick, and a peer is
            // asked for its configuration of the master now (`core::fencing`).
            inst.last_pub = None;
            if inst.kind == Kind::Sentinel {
                let name = m.name().to_string();
                if let Some(s) = target_mut(m, &t) {
                    fencing::ask(&mut self.io, &name, s, now);
                }
            } else if inst.info_sent.is_none() {
                // And INFO, without waiting for the next tick (Redis sends it in the same
                // timer call that opened the link): a replica is eligible for promotion
                // only once it has answered one, and a `SENTINEL FAILOVER` may come right
                // after start-up (a Kubernetes pre-stop hook).
                send(&mut self.io, inst, link, ReqKind::Info, Request::Info);
                inst.info_sent = Some(now);
            }
        }
    }

    pub(crate) fn link_down(&mut self, now: Millis, link: LinkId, reason: &str, refused: bool) {
        if let Some((m, t, kind)) = owner_mut(&self.io.links, &mut self.masters, link) {
            let (master_name, master_addr) = (m.name().to_string(), m.inst.addr.clone());
            if let Some(inst) = target_mut(m, &t) {
                if refused && kind == LinkKind::Command {
                    inst.refused = Some(inst.refused.map_or((now, now), |(first, _)| (first, now)));
                }
                let auth_failed = reason.starts_with(AUTH_FAILED);
                // Ours: a link that was up and dropped (e.g. by CLIENT KILL during a
                // reconfiguration) reconnects on the next tick instead of waiting out the
                // ping-period throttle, which only paces repeated failed attempts (as are
                // refused credentials: the link was up, but retrying at once is futile).
                let was_up = link_of(inst, kind).is_some_and(|l| l.id == link && l.up);
                if was_up && !auth_failed {
                    inst.last_reconnect = None;
                }
                // Redis has no event for this; it only shows `disconnected` in the flags
                // (its links are dropped the same way). Ours: `+auth-failed` once when the
                // instance starts refusing our credentials, `-auth-failed` when a PONG
                // comes back (named like +sdown/-sdown).
                if auth_failed && !inst.auth_failed {
                    inst.auth_failed = true;
                    let details = format!("{} {}", details_of(&master_name, &master_addr, inst), reason);
                    self.io.event(Level::Warning, "+auth-failed", Some(&master_name), details);
                }
                match kind {
                    LinkKind::Command if inst.cc.as_ref().is_some_and(|l| l.id == link) => {
                        inst.cc = None;
                        inst.info_sent = None;
                        inst.ask_sent = None;
                    }
                    LinkKind::PubSub if inst.pc.as_ref().is_some_and(|l| l.id == link) => inst.pc = None,
                    _ => {}
                }
            }
        }
        self.io.forget(link);
    }

    /// Ours: a failed `CONFIG SET` of the write lease (renamed or forbidden `CONFIG`, an
    /// old Redis) leaves the master unfenced: say so.
    pub(crate) fn lease_reply(&mut self, link: LinkId, reply: Value) {
        let Value::Error(e) = reply else { return };
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let Some(inst) = target_mut(m, &t).map(|i| i.clone()) else { return };
        let msg = format!("{} {}", super::details(m, &inst), e);
        // `CONFIG REWRITE` refused by a server started without a config file: the lease
        // is set, but a restart would come back without it (docs/fencing.md).
        let name = if e.contains("without a config file") { "-lease-not-persisted" } else { "-lease-failed" };
        self.io.event(Level::Warning, name, Some(m.name()), msg);
    }

    /// A PONG on `link`: credentials accepted again after `+auth-failed`.
    pub(crate) fn auth_ok(&mut self, link: LinkId) {
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let (master_name, master_addr) = (m.name().to_string(), m.inst.addr.clone());
        let Some(inst) = target_mut(m, &t).filter(|i| i.auth_failed) else { return };
        inst.auth_failed = false;
        let details = details_of(&master_name, &master_addr, inst);
        self.io.event(Level::Warning, "-auth-failed", Some(&master_name), details);
    }

    pub(crate) fn publish_reply(&mut self, now: Millis, link: LinkId, reply: Value) {
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        if let Some(inst) = target_mut(m, &t) {
            // §5.3: only an acknowledged publish counts; on error retry next tick.
            inst.last_pub = if matches!(reply, Value::Error(_)) { None } else { Some(now) };
        }
    }

    pub(crate) fn pubsub(&mut self, now: Millis, link: LinkId, frame: Value) {
        let Some((m, t, _)) = owner_mut(&self.io.links, &mut self.masters, link) else { return };
        let Some(inst) = target_mut(m, &t) else { return };
        if let Some(pc) = inst.pc.as_mut().filter(|l| l.id == link) {
            pc.last_activity = now;
        }
        let items = match frame {
            Value::Array(items) | Value::Push(items) => items,
            _ => return,
        };
        if items.len() != 3 || !items.iter().all(|v| matches!(v, Value::Bulk(_))) {
            return;
        }
        if items[0].as_text() != Some(b"message") {
            return;
        }
        let payload = items[2].as_string().unwrap_or_default();
        if payload.contains(self.g.myid.as_str()) {
            return;
        }
        self.hello(now, &payload);
    }
}

fn link_of(inst: &mut Instance, kind: LinkKind) -> Option<&mut LinkState> {
    match kind {
        LinkKind::Command => inst.cc.as_mut(),
        LinkKind::PubSub => inst.pc.as_mut(),
    }
}
