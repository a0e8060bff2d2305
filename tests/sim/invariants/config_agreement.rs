//! Sentinels that hold the same config epoch for a master agree on its address
//! (docs/behaviour.md §5.4 step 6, §8.4, §8.6: a config epoch is the version of the address).

use crate::sim::world::{master_name, MasterView, View, World};
use sentinel::core::Addr;
use std::collections::BTreeMap;

pub fn check(w: &World) -> Result<(), String> {
    for g in 0..w.p.masters {
        let mut by_epoch: BTreeMap<u64, (usize, Addr)> = BTreeMap::new();
        for (i, v) in w.views.iter().enumerate() {
            let Some(View { masters, .. }) = v else { continue };
            let Some(MasterView { config_epoch, current: Some(current) }) = masters.get(g) else { continue };
            if *config_epoch == 0 {
                continue;
            }
            let (j, addr) = by_epoch.entry(*config_epoch).or_insert((i, current.clone()));
            if !addr.same(current) {
                let of = if g == 0 { String::new() } else { format!(" of {}", master_name(g)) };
                return Err(format!(
                    "config epoch {config_epoch}: sentinel {j} says {}, sentinel {i} says {}{of}",
                    addr.key(),
                    current.key()
                ));
            }
        }
    }
    Ok(())
}
