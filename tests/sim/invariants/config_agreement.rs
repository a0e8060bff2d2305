//! Sentinels that hold the same config epoch for a master agree on its address
//! (SENTINEL-SPEC §5.4 step 6, §8.4, §8.6: a config epoch is the version of the address).

use crate::sim::world::World;
use sentinel::core::Addr;
use std::collections::BTreeMap;

pub fn check(w: &World) -> Result<(), String> {
    let mut by_epoch: BTreeMap<u64, (usize, Addr)> = BTreeMap::new();
    for (i, s) in w.sentinels.iter().enumerate() {
        let Some(core) = &s.core else { continue };
        let m = &core.masters()[0];
        if m.config_epoch.0 == 0 {
            continue;
        }
        let (j, addr) = by_epoch.entry(m.config_epoch.0).or_insert((i, m.current.clone()));
        if !addr.same(&m.current) {
            return Err(format!(
                "config epoch {}: sentinel {j} says {}, sentinel {i} says {}",
                m.config_epoch,
                addr.key(),
                m.current.key()
            ));
        }
    }
    Ok(())
}
