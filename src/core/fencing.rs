//! Stage 8 of the pipeline, fence: acting against an old master, with proof; and the
//! write lease (ours; the design and its timing argument are in `docs/fencing.md`, its
//! numbers in `lease`). The tick runs [`fence_isolated`] and [`keep_lease`]; an INFO
//! showing a wrong role runs [`correct_returning_master`] or [`correct_wrong_master`].
//!
//! **Proof before acting.** A sentinel that was cut off may hold a stale configuration:
//! the replica it sees reporting `role:master` may be the master a majority promoted
//! while it was away. Redis Sentinel waits 8 s (§12.1) and hopes a hello arrives first.
//! Here an instance's role is corrected (`+convert-to-slave`, `+fix-slave-config`) only
//! when [`proved`]: a majority of the sentinels (us included) confirmed our config epoch
//! and master address *after* the instance began reporting what we would correct, by a
//! hello or by their reply to `SENTINEL MASTER <name>`, which we ask for at once when a
//! proof is missing and on every (re)connected peer link (a newer config in the reply is
//! adopted like a hello's). And an instance that reports `role:master` on a replication
//! history that continues our master's (`master_replid2` = our master's `master_replid`:
//! it was promoted out of it) is presumed to be a newer master we have not heard of and
//! is left alone for failover-timeout.
//!
//! Nothing here blocks an instance: the old `CLIENT PAUSE WRITE` fence blocked `PUBLISH`
//! (and `EVAL`, `WAIT`, `PFCOUNT`, ...) and every command queued behind it on the same
//! connection, so a wrongly fenced real master stopped answering the other sentinels'
//! PINGs and was failed over a second time. `REPLICAOF` refuses writes (`-READONLY`)
//! without blocking anything; `min-replicas-to-write` refuses them with `-NOREPLICAS`,
//! also without blocking, and leaves `PING`, `INFO`, `PUBLISH` and `SUBSCRIBE` alone.
//!
//! **Write lease.** With `write-lease <seconds>` = L > 0 every sentinel keeps
//! `min-replicas-to-write 1`, `min-replicas-max-lag L` on the master it follows, so a master
//! cut off from its replicas stops acknowledging writes by itself within [`lease_wait`] of
//! its last replica acknowledgement, whether or not a sentinel is on its side. The
//! failover leader holds the promoted replica's writes (`min-replicas-to-write` =
//! [`LEASE_HOLD`], sent before `REPLICAOF NO ONE` on the same connection) and releases
//! them [`lease_wait`] after the switch, when every replica it reconfigured has been away
//! from the old master long enough for the old master's lease to have run out.

use super::io::{send, Io, ReqKind};
use super::lease::{isolation_after, lease_wait, observer_lease_wait, LEASE_HOLD};
use super::monitor::info::Role;
use super::monitor::{Instance, Master};
use super::{details, Addr, Epoch, Level, Millis, Request};

/// A peer is asked `SENTINEL MASTER` at most this often.
pub const ASK_INTERVAL: Millis = 250;

/// Our configuration of `m` changed (config epoch or address): older confirmations prove
/// nothing. With `switched`, the master address changed, and the lease may be applied to
/// the new master only after the leader's hold (`as_leader`: our own hold).
pub(crate) fn config_changed(m: &mut Master, now: Millis, switched: bool, as_leader: bool) {
    m.config_changed_at = now;
    if switched {
        m.lease_sent_at = None;
        let wait = if as_leader {
            lease_wait(m.write_lease_s)
        } else {
            observer_lease_wait(m.write_lease_s, m.failover_timeout)
        };
        m.lease_release_at = now + wait;
    }
}

/// A majority of the sentinels (us included) confirmed our configuration at or after
/// `since` (and after it last changed).
pub(crate) fn proved(m: &Master, since: Millis, now: Millis) -> bool {
    // Planted bug "act-without-proof" (issue 8, issue 10.6): the old fencing bug, a stale
    // sentinel acting at once against an instance's role on its own, unconfirmed config.
    #[cfg(feature = "planted-act-without-proof")]
    return true;
    let since = since.max(m.config_changed_at);
    let ok = |s: &Instance| s.cfg_confirmed_at.is_some_and(|at| at >= since);
    let confirmed = m.sentinels.values().filter(|s| ok(s)).count();
    let voters = m.sentinels.len() + 1;
    if 2 * (1 + confirmed) <= voters {
        return false;
    }
    // Planted bug "stale-majority" (issue 10.6): a stale majority's confirmations taken
    // at face value (simulation seeds 526, 4023: voters of a newer epoch that had not
    // heard its configuration confirmed the old one).
    #[cfg(feature = "planted-stale-majority")]
    return true;
    // A peer announced an epoch newer than our configuration less than failover-timeout
    // ago: its election may be producing a configuration right now, which the majority
    // confirming ours may not have heard of yet either (its leader's hellos bring it).
    if m.newer_epoch.is_some_and(|(e, at)| e > m.config_epoch && now.saturating_sub(at) < m.failover_timeout) {
        return false;
    }
    // We voted in an epoch newer than our configuration: that election may have produced
    // a configuration that has not reached us, nor the majority that confirms ours (its
    // other voters may be as stale as we are). Only its leader knows: it must confirm our
    // configuration too (an aborted failover leaves the leader's configuration as ours;
    // a completed one never confirms the old one). When we do not know whom we voted for
    // (the vote is persisted, the leader is not) or no longer know that sentinel, every
    // known sentinel must confirm. The leader's word counts only from a `SENTINEL MASTER` reply after our vote that
    // shows no failover of its own in progress (until it promotes, a leader's hellos still
    // confirm the old configuration).
    if m.leader_epoch > m.config_epoch {
        let after_vote = |s: &Instance| s.cfg_idle_confirmed_at.is_some_and(|at| at >= since.max(m.voted_at));
        return match m.leader.as_ref().and_then(|id| m.sentinels.get(id)) {
            Some(leader) => after_vote(leader),
            None => m.sentinels.values().all(after_vote),
        };
    }
    true
}

/// A peer's hello announced its current epoch: remember it when it is newer than our
/// configuration of `m` (an election may be under way whose outcome we have not heard).
pub(crate) fn epoch_announced(m: &mut Master, epoch: Epoch, now: Millis) {
    if epoch > m.config_epoch && m.newer_epoch.is_none_or(|(e, _)| epoch > e) {
        m.newer_epoch = Some((epoch, now));
    }
}

/// [`proved`], and if not, ask the peers for their configuration (rate-limited).
pub(crate) fn proved_or_ask(io: &mut Io, m: &mut Master, since: Millis, now: Millis) -> bool {
    if proved(m, since, now) {
        return true;
    }
    m.proof_wanted = true;
    ask_all(io, m, now);
    false
}

/// `SENTINEL MASTER <name>` to every connected peer not asked within [`ASK_INTERVAL`].
pub(crate) fn ask_all(io: &mut Io, m: &mut Master, now: Millis) {
    let name = m.name().to_string();
    for s in m.sentinels.values_mut() {
        ask(io, &name, s, now);
    }
}

/// `SENTINEL MASTER <name>` to one peer, unless asked within [`ASK_INTERVAL`].
pub(crate) fn ask(io: &mut Io, name: &str, s: &mut Instance, now: Millis) {
    if s.cfg_asked_at.is_some_and(|at| now.saturating_sub(at) < ASK_INTERVAL) {
        return;
    }
    let Some(link) = s.cc.as_ref().filter(|l| l.up).map(|l| l.id) else { return };
    send(io, s, link, ReqKind::AskConfig, Request::SentinelMaster { name: name.to_string() });
    s.cfg_asked_at = Some(now);
}

/// A peer announced (hello) or answered (`SENTINEL MASTER`) a config of `m` equal to ours:
/// record it, and if a correction was waiting for proof, re-read the instances that said
/// the wrong role so the decision is taken on fresh INFO now rather than at the next poll.
pub(crate) fn confirmed(io: &mut Io, m: &mut Master, runid: &str, now: Millis) {
    let Some(s) = m.sentinels.get_mut(runid) else { return };
    s.cfg_confirmed_at = Some(now);
    if !m.proof_wanted {
        return;
    }
    let waiting: Vec<String> = m
        .replicas
        .iter()
        .filter(|(_, r)| r.role_reported == Some(Role::Master) && !r.flags.promoted)
        .filter(|(_, r)| proved(m, r.role_reported_time, now))
        .map(|(k, _)| k.clone())
        .collect();
    if waiting.is_empty() {
        return;
    }
    m.proof_wanted = false;
    for key in waiting {
        let Some(r) = m.replicas.get_mut(&key) else { continue };
        if let Some(link) = r.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
            send(io, r, link, ReqKind::Info, Request::Info);
            r.info_sent = Some(now);
        }
    }
}

/// The replica `r` that says master looks like a newer master we have not heard of yet:
/// we saw it turn from replica into master (someone promoted it), or its replication
/// history continues our master's (it was promoted out of it).
pub(crate) fn looks_newer(m: &Master, r: &Instance) -> bool {
    #[cfg(feature = "planted-act-without-proof")] // Planted bug: lineage ignored too (see `proved`).
    return false;
    let zero = |id: &str| id.bytes().all(|b| b == b'0');
    let successor = matches!((&r.replid2, &m.inst.replid), (Some(theirs), Some(ours)) if theirs == ours && !zero(ours));
    successor || r.promoted_live
}

/// §12.1: the replica entry `key`, not the one our failover promotes, says `role:master`
/// (typically an old master back). Deliberate difference: Redis waits 8 s and hopes a
/// newer config arrives by hello first; we act at once (`+convert-to-slave`), but only
/// on proof that ours is current ([`proved`]), and never soon on what looks like a newer
/// master ([`looks_newer`]; simulation seed 384).
pub(crate) fn correct_returning_master(io: &mut Io, m: &mut Master, key: &str, info_period: Millis, now: Millis) {
    let Some(r) = m.replicas.get(key) else { return };
    if !looks_sane(m, info_period, now) {
        return;
    }
    let since = r.role_reported_time;
    if looks_newer(m, r) && now.saturating_sub(since) <= m.failover_timeout {
        ask_all(io, m, now);
    } else if proved_or_ask(io, m, since, now) {
        let to = m.inst.addr.clone();
        replicate_from(io, m, key, to, "+convert-to-slave");
    }
}

/// §12.2: the replica entry `key` replicates from another address than our master's for
/// longer than failover-timeout (and has not been down that long): `+fix-slave-config`,
/// on proof that ours is current.
pub(crate) fn correct_wrong_master(io: &mut Io, m: &mut Master, key: &str, info_period: Millis, now: Millis) {
    let Some(r) = m.replicas.get(key) else { return };
    // §3.4: `master_host` may be the IP of a master configured by host name.
    let points_to_master = r.slave_master_host.as_ref().is_some_and(|h| m.inst.is_at(h, r.slave_master_port));
    let (wait, since) = (m.failover_timeout, r.replica_conf_change_time);
    if !points_to_master
        && looks_sane(m, info_period, now)
        && no_down_for(r, wait, now)
        && now.saturating_sub(since) > wait
        && proved_or_ask(io, m, since, now)
    {
        let to = m.inst.addr.clone();
        replicate_from(io, m, key, to, "+fix-slave-config");
    }
}

/// §2.3: the master is configured, says master, is up, and its INFO is fresh.
fn looks_sane(m: &Master, info_period: Millis, now: Millis) -> bool {
    m.inst.role_reported == Some(Role::Master)
        && !m.inst.sdown
        && !m.odown
        && m.inst.info_refresh.is_some_and(|at| now.saturating_sub(at) < 2 * info_period)
}

/// The instance's last SDOWN started more than `ms` ago (or never).
fn no_down_for(r: &Instance, ms: Millis, now: Millis) -> bool {
    r.sdown_since.is_none_or(|at| now.saturating_sub(at) > ms)
}

/// `SLAVEOF <our master>` to the replica entry `key`, announced as `event`.
fn replicate_from(io: &mut Io, m: &mut Master, key: &str, to: Addr, event: &'static str) {
    let name = m.name().to_string();
    let d = m.replicas.get(key).map(|r| details(m, r)).unwrap_or_default();
    let Some(r) = m.replicas.get_mut(key) else { return };
    let Some(link) = r.cc.as_ref().filter(|_| r.connected()).map(|l| l.id) else { return };
    send(io, r, link, ReqKind::ReplicaOf, Request::ReplicaOf(Some(to)));
    r.converted = event == "+convert-to-slave";
    io.event(Level::Notice, event, Some(&name), d);
}

/// The isolation fence (ours, with the lease on; docs/fencing.md "The isolation fence").
/// We still reach our master, but for [`isolation_after`] we have had no PONG from a
/// majority of the sentinels (us included) nor from any replica: the master is most
/// likely cut off with us, and the majority may be about to promote its successor. We
/// hold its writes at once (`min-replicas-to-write` = [`LEASE_HOLD`], which blocks
/// nothing but writes), instead of waiting for the lease to run out on the master itself
/// (up to [`lease_wait`]). A master with no reachable replica refuses writes under the
/// lease anyway, so the fence costs availability only when the master reaches a replica
/// that we do not. Lifted when a majority is back and has confirmed our configuration
/// after the fence (then [`keep_lease`] applies the normal lease again).
pub(crate) fn fence_isolated(io: &mut Io, m: &mut Master, now: Millis) {
    if m.write_lease_s == 0 {
        // Turned off: `keep_lease` gives the master its writes back.
        m.isolation_fence = None;
        return;
    }
    let iso = isolation_after(m.down_after);
    // An entry's last PONG starts at its creation, so a sentinel just started (links not
    // up yet, replicas not yet read from the master's INFO) does not count as cut off.
    let fresh = |i: &Instance| now.saturating_sub(i.last_pong) <= iso;
    let peers = m.sentinels.values().filter(|s| fresh(s)).count();
    let no_majority = 2 * (1 + peers) <= m.sentinels.len() + 1;
    let cut_off = no_majority && !m.replicas.values().any(&fresh);
    match m.isolation_fence {
        None => {
            let inst = &m.inst;
            let master_up = !inst.sdown
                && inst.role_reported == Some(Role::Master)
                && inst.info_refresh.is_some()
                && inst.cc.as_ref().is_some_and(|l| l.up)
                && fresh(inst);
            if !cut_off || !master_up || m.in_failover() {
                return;
            }
            let Some(link) = inst.cc.as_ref().map(|l| l.id) else { return };
            let hold = vec![("min-replicas-to-write".to_string(), LEASE_HOLD.to_string())];
            // Rewritten: a fenced master that restarts stays fenced.
            send(io, &mut m.inst, link, ReqKind::Lease, Request::ConfigSet { pairs: hold, rewrite: true });
            m.isolation_fence = Some(now);
            // Lease config was sent: turning the lease off must undo it.
            m.lease_sent_at = Some(now);
            let msg = format!(
                "{} peers {}/{} replicas 0/{}",
                details(m, &m.inst),
                peers,
                m.sentinels.len(),
                m.replicas.len()
            );
            io.event(Level::Warning, "+isolation-fence", Some(m.name()), msg);
        }
        Some(at) => {
            if no_majority || !proved_or_ask(io, m, at, now) {
                return;
            }
            m.isolation_fence = None;
            m.lease_sent_at = None;
            io.event(Level::Notice, "-isolation-fence", Some(m.name()), details(m, &m.inst));
        }
    }
}

/// Keeps the write lease on our master: `min-replicas-to-write 1`,
/// `min-replicas-max-lag L`, once the hold of a new master may be lifted, then again at
/// every INFO period (an instance restarted from its own config file lost it).
pub(crate) fn keep_lease(io: &mut Io, m: &mut Master, info_period: Millis, now: Millis) {
    if m.write_lease_s == 0 && m.lease_sent_at.is_some() {
        // Turned off at runtime (`SENTINEL SET <master> write-lease 0`): give the master
        // back writes without replicas, and clear the replicas too (one may be an old
        // master demoted under our isolation fence, still holding it, and be promoted
        // later by a failover that, without the lease, no longer sets it).
        let off = || Request::ConfigSet {
            pairs: vec![("min-replicas-to-write".to_string(), "0".to_string())],
            rewrite: true,
        };
        if let Some(link) = m.inst.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
            send(io, &mut m.inst, link, ReqKind::Lease, off());
            for r in m.replicas.values_mut() {
                if let Some(link) = r.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
                    send(io, r, link, ReqKind::Lease, off());
                }
            }
            m.lease_sent_at = None;
            io.event(Level::Notice, "-lease-set", Some(m.name()), details(m, &m.inst));
        }
        return;
    }
    if m.write_lease_s == 0 || now < m.lease_release_at || m.in_failover() || m.isolation_fence.is_some() {
        return;
    }
    if m.lease_sent_at.is_some_and(|at| now.saturating_sub(at) < info_period) {
        return;
    }
    let inst = &m.inst;
    if inst.sdown || inst.role_reported != Some(Role::Master) || inst.info_refresh.is_none() || !inst.connected() {
        return;
    }
    let first = m.lease_sent_at.is_none();
    let lag = m.write_lease_s.to_string();
    let pairs = vec![("min-replicas-to-write".to_string(), "1".to_string()), ("min-replicas-max-lag".to_string(), lag)];
    let Some(link) = m.inst.cc.as_ref().map(|l| l.id) else { return };
    // The first time it is also written to the master's config file, so that a master
    // restarted (while cut off, say) comes back under the lease, not free to take writes
    // until a sentinel reaches it again. The periodic re-sends only cover a master
    // restarted without a config file (docs/fencing.md).
    send(io, &mut m.inst, link, ReqKind::Lease, Request::ConfigSet { pairs, rewrite: first });
    m.lease_sent_at = Some(now);
    if first {
        let msg = format!("{} lease {}", details(m, &m.inst), m.write_lease_s);
        io.event(Level::Notice, "+lease-set", Some(m.name()), msg);
    }
}

/// Holds the writes of the replica about to be promoted (before its `REPLICAOF NO ONE`,
/// on the same connection, so it is never a master without the hold).
pub(crate) fn hold_promoted(io: &mut Io, m: &mut Master, key: &str, link: super::LinkId) {
    if m.write_lease_s == 0 {
        return;
    }
    let name = m.name().to_string();
    let d = m.replicas.get(key).map(|r| details(m, r)).unwrap_or_default();
    let Some(r) = m.replicas.get_mut(key) else { return };
    let hold = vec![("min-replicas-to-write".to_string(), LEASE_HOLD.to_string())];
    // Not rewritten here: the REPLICAOF NO ONE transaction that follows rewrites the file.
    send(io, r, link, ReqKind::Lease, Request::ConfigSet { pairs: hold, rewrite: false });
    io.event(Level::Notice, "+lease-hold", Some(&name), d);
}
