//! A failover starts only from ODOWN (docs/behaviour.md §7.1), or from an operator's
//! `SENTINEL FAILOVER` (§8.8).

use crate::sim::world::World;

pub fn check(s: usize, master: &str, w: &World) -> Result<(), String> {
    let Some(g) = w.group_named(master) else { return Ok(()) };
    let Some(m) = w.status(s, g) else { return Ok(()) };
    let operator = g == 0 && w.operator_failover == Some(s);
    if !m.odown && !operator {
        return Err(format!("sentinel {s} started a failover without ODOWN"));
    }
    Ok(())
}
