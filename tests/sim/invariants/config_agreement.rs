//! Sentinels that hold the same config epoch for a master agree on its address
//! (docs/behaviour.md §5.4 step 6, §8.4, §8.6: a config epoch is the version of the address).

use crate::sim::world::{View, World};
use sentinel::core::Addr;
use std::collections::BTreeMap;

pub fn check(w: &World) -> Result<(), String> {
    let mut by_epoch: BTreeMap<u64, (usize, Addr)> = BTreeMap::new();
    for (i, v) in w.views.iter().enumerate() {
        let Some(View { config_epoch, current: Some(current), .. }) = v else { continue };
        if *config_epoch == 0 {
            continue;
        }
        let (j, addr) = by_epoch.entry(*config_epoch).or_insert((i, current.clone()));
        if !addr.same(current) {
            return Err(format!(
                "config epoch {config_epoch}: sentinel {j} says {}, sentinel {i} says {}",
                addr.key(),
                current.key()
            ));
        }
    }
    Ok(())
}
