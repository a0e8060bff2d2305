//! At most one leader per master per epoch (docs/behaviour.md §7.3: a leader needs
//! max(quorum, majority) votes, and every sentinel votes once per epoch).

use crate::sim::world::World;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Leaders {
    by_epoch: BTreeMap<u64, String>,
}

impl Leaders {
    /// `+elected-leader` from sentinel `s`, for its current failover epoch.
    pub fn elected(&mut self, s: usize, myid: &str, w: &World) -> Result<(), String> {
        let Some(core) = &w.sentinels[s].core else { return Ok(()) };
        let Some(m) = core.masters().into_iter().next() else { return Ok(()) };
        let epoch = m.failover_epoch.0;
        if w.operator_failover == Some(s) || w.manual.contains(&(s, epoch)) {
            // A forced failover (SENTINEL FAILOVER) is not an election (§8.8).
            return Ok(());
        }
        let prev = self.by_epoch.entry(epoch).or_insert_with(|| myid.to_string());
        if prev != myid {
            return Err(format!("two leaders in epoch {epoch}: {prev} and {myid}"));
        }
        Ok(())
    }
}
