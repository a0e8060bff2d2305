//! The write lease's numbers (ours; docs/fencing.md): pure functions of a master's
//! configuration, used by `fencing` (which applies the lease and the isolation fence), by
//! the monitoring stage (`links`, which pings faster under the lease) and by a master's
//! entry when it is created (`monitor`). Below all of them.

use super::Millis;

/// `min-replicas-to-write` while a promoted replica waits for the old master's lease to
/// run out, and on a master we fenced because we are cut off with it (Redis accepts
/// 0..=INT_MAX).
pub const LEASE_HOLD: &str = "2147483647";

/// With the lease on: how long a sentinel may go without a PONG from a majority of the
/// sentinels and from every replica, while its master still answers, before it fences the
/// master (`fencing::fence_isolated`). A sixth of down-after: the fence comes well before the
/// majority can see the master down, and every write the master takes in between is lost.
pub fn isolation_after(down_after: Millis) -> Millis {
    (down_after / 6).max(100)
}

/// With the lease on, replicas and peers are pinged this often, so that a reachable one's
/// last PONG is never more than a third of [`isolation_after`] old.
pub fn isolation_ping_every(down_after: Millis) -> Millis {
    isolation_after(down_after) / 3
}

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
