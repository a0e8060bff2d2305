//! Acting against an old master, with proof; and the write lease (ours; the design and
//! its timing argument are in `docs/fencing.md`).
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

use super::io::{Io, ReqKind};
use super::links::send;
use super::monitor::info::Role;
use super::monitor::{Instance, Master};
use super::{details, Level, Millis, Request};

/// `min-replicas-to-write` while a promoted replica waits for the old master's lease to
/// run out (Redis accepts 0..=INT_MAX).
pub const LEASE_HOLD: &str = "2147483647";

/// A peer is asked `SENTINEL MASTER` at most this often.
pub const ASK_INTERVAL: Millis = 250;

/// How long after its last replica acknowledgement a master with `min-replicas-to-write
/// 1`, `min-replicas-max-lag L` may still accept a write: Redis counts a replica as good
/// while `unixtime - last_ack <= L` in whole seconds (up to L + 1 s), refreshes the count
/// once a second in `replicationCron` (+1 s) and updates `unixtime` at `hz` 10 (+0.1 s);
/// 200 ms of margin for clock drift between the two hosts' second boundaries.
pub fn lease_wait(lease_s: u32) -> Millis {
    Millis::from(lease_s) * 1000 + 2300
}

/// How long a sentinel that did not lead the last change (an observer, or a sentinel
/// just started) waits before it applies the normal lease to a new master: the leader's
/// hold must not be lifted early, so the leader's whole failover may still be running.
pub fn observer_lease_wait(lease_s: u32, failover_timeout: Millis) -> Millis {
    if lease_s == 0 {
        0
    } else {
        lease_wait(lease_s) + failover_timeout
    }
}

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
pub(crate) fn proved(m: &Master, since: Millis) -> bool {
    // Planted bug "act-without-proof" (issue 8, issue 10.6): the old fencing bug, a stale
    // sentinel acting at once against an instance's role on its own, unconfirmed config.
    #[cfg(planted = "act-without-proof")]
    return true;
    let since = since.max(m.config_changed_at);
    let confirmed = m.sentinels.values().filter(|s| s.cfg_confirmed_at.is_some_and(|at| at >= since)).count();
    let voters = m.sentinels.len() + 1;
    2 * (1 + confirmed) > voters
}

/// [`proved`], and if not, ask the peers for their configuration (rate-limited).
pub(crate) fn proved_or_ask(io: &mut Io, m: &mut Master, since: Millis, now: Millis) -> bool {
    if proved(m, since) {
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
        .filter(|(_, r)| proved(m, r.role_reported_time))
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
    #[cfg(planted = "act-without-proof")] // Planted bug: lineage ignored too (see `proved`).
    return false;
    let zero = |id: &str| id.bytes().all(|b| b == b'0');
    let successor = matches!((&r.replid2, &m.inst.replid), (Some(theirs), Some(ours)) if theirs == ours && !zero(ours));
    successor || r.promoted_live
}

/// Keeps the write lease on our master: `min-replicas-to-write 1`,
/// `min-replicas-max-lag L`, once the hold of a new master may be lifted, then again at
/// every INFO period (an instance restarted from its own config file lost it).
pub(crate) fn keep_lease(io: &mut Io, m: &mut Master, info_period: Millis, now: Millis) {
    if m.write_lease_s == 0 && m.lease_sent_at.is_some() {
        // Turned off at runtime (`SENTINEL SET <master> write-lease 0`): give the master
        // back writes without replicas.
        let off = vec![("min-replicas-to-write".to_string(), "0".to_string())];
        if let Some(link) = m.inst.cc.as_ref().filter(|l| l.up).map(|l| l.id) {
            send(io, &mut m.inst, link, ReqKind::Lease, Request::ConfigSet(off));
            m.lease_sent_at = None;
            io.event(Level::Notice, "-lease-set", Some(m.name()), details(m, &m.inst));
        }
        return;
    }
    if m.write_lease_s == 0 || now < m.lease_release_at || m.in_failover() {
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
    send(io, &mut m.inst, link, ReqKind::Lease, Request::ConfigSet(pairs));
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
    send(io, r, link, ReqKind::Lease, Request::ConfigSet(hold));
    io.event(Level::Notice, "+lease-hold", Some(&name), d);
}
