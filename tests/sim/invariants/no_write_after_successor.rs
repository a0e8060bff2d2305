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
    let Some(p) = w.promotions.iter().find(|p| p.r != r && p.at > since && p.first_write.is_some_and(|t| t <= w.now))
    else {
        return Ok(None);
    };
    let first = p.first_write.unwrap_or(0);
    if w.p.write_lease > 0 {
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
