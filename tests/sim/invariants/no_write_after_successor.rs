//! With the write lease on, no write is acknowledged by an old master after its successor
//! was promoted (issue 8.3): the dual-master window is closed. An old master is a node
//! that became master before some other node's `REPLICAOF NO ONE`, and has not been
//! promoted again since. Without the lease (Redis Sentinel's behaviour) such writes are
//! only counted (`writes_acked_by_old_master`).

use crate::sim::world::World;

/// Redis `r` just acknowledged a client write at `w.now`.
pub fn check(r: usize, w: &World) -> Result<Option<u64>, String> {
    let since = w.redis[r].master_since;
    let Some(p) = w.promotions.iter().find(|p| p.r != r && p.at > since && p.at <= w.now) else { return Ok(None) };
    if w.p.write_lease > 0 {
        return Err(format!(
            "{} acknowledged a write at {} ms, after its successor {} was promoted at {} ms (write lease {} s)",
            w.redis[r].addr.key(),
            w.now,
            w.redis[p.r].addr.key(),
            p.at,
            w.p.write_lease
        ));
    }
    Ok(Some(p.at))
}
