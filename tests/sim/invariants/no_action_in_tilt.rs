//! No reconfiguration while in TILT (docs/behaviour.md §13: no failover progress, no
//! convert-to-slave / fix-slave-config while the timers cannot be trusted).

use crate::sim::world::World;
use sentinel::core::{Output, Request};

pub fn check(s: usize, out: &Output, w: &World) -> Result<(), String> {
    let in_tilt = w.sentinels[s].core.as_ref().is_some_and(|c| c.in_tilt());
    if in_tilt && matches!(out, Output::Send { request: Request::ReplicaOf(_), .. }) {
        return Err(format!("sentinel {s} sent SLAVEOF while in TILT"));
    }
    Ok(())
}
