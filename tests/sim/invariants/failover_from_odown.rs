//! A failover starts only from ODOWN (SENTINEL-SPEC §7.1; manual failovers are not
//! simulated).

use crate::sim::world::World;

pub fn check(s: usize, w: &World) -> Result<(), String> {
    let Some(core) = &w.sentinels[s].core else { return Ok(()) };
    if !core.masters()[0].odown {
        return Err(format!("sentinel {s} started a failover without ODOWN"));
    }
    Ok(())
}
