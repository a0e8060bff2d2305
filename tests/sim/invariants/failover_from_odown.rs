//! A failover starts only from ODOWN (docs/behaviour.md §7.1), or from an operator's
//! `SENTINEL FAILOVER` (§8.8).

use crate::sim::world::World;

pub fn check(s: usize, w: &World) -> Result<(), String> {
    let Some(core) = &w.sentinels[s].core else { return Ok(()) };
    let Some(m) = core.masters().into_iter().next() else { return Ok(()) };
    if !m.odown && w.operator_failover != Some(s) {
        return Err(format!("sentinel {s} started a failover without ODOWN"));
    }
    Ok(())
}
