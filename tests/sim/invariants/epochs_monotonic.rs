//! Epochs never decrease (docs/behaviour.md §1.3): the current epoch and config epochs only
//! grow while a process lives, and an epoch a sentinel announces (hello, vote request)
//! is already durable, so a restart never goes back below it (§15.4).

use crate::sim::world::World;
use sentinel::core::{Output, Request};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Epochs {
    /// (sentinel, generation, monitoring life) → (current epoch, config epoch per master)
    /// last seen. `SENTINEL REMOVE` + `MONITOR` starts the config epoch over (as in Redis).
    seen: BTreeMap<(usize, u32, u32), (u64, Vec<u64>)>,
}

impl Epochs {
    pub fn check(&mut self, w: &World) -> Result<(), String> {
        for (i, s) in w.sentinels.iter().enumerate() {
            let Some(v) = &w.views[i] else { continue };
            let now = (v.current_epoch, v.masters.iter().map(|m| m.config_epoch).collect::<Vec<u64>>());
            let prev = self.seen.insert((i, s.gen, w.monitors[i]), now.clone()).unwrap_or((0, Vec::new()));
            if now.0 < prev.0 || now.1.iter().zip(&prev.1).any(|(a, b)| a < b) {
                return Err(format!("sentinel {i}: epochs went back from {prev:?} to {now:?}"));
            }
            if v.current_epoch < s.persisted.current_epoch.0 {
                return Err(format!("sentinel {i}: current epoch below its persisted one"));
            }
        }
        Ok(())
    }
}

/// An epoch leaving the process must not exceed the persisted current epoch.
pub fn announced_is_durable(s: usize, out: &Output, w: &World) -> Result<(), String> {
    let durable = w.sentinels[s].persisted.current_epoch.0;
    let announced = match out {
        Output::Send { request: Request::IsMasterDownByAddr { epoch, .. }, .. } => epoch.0,
        Output::Send { request: Request::Publish { payload, .. }, .. } => {
            payload.split(',').nth(3).and_then(|e| e.parse().ok()).unwrap_or(0)
        }
        _ => return Ok(()),
    };
    if announced > durable {
        return Err(format!("sentinel {s} announced epoch {announced} before persisting it (durable {durable})"));
    }
    Ok(())
}
