//! No sentinel demotes the current master on a stale configuration (issue 8; the fencing
//! rule of docs/fencing.md). When a sentinel sends `REPLICAOF <host> <port>` to the
//! instance that the newest configuration any live sentinel holds names as the master,
//! its own configuration must not be older than that one: a sentinel back from a
//! partition that acts on what it last knew turns the real master into a replica and
//! throws away the writes it acknowledged (the planted bug `act-without-proof`).

use crate::sim::world::{Node, World};
use sentinel::core::{Output, Request};

pub fn check(s: usize, out: &Output, w: &World) -> Result<(), String> {
    let Output::Send { link, request: Request::ReplicaOf(Some(_)), .. } = out else { return Ok(()) };
    let Some(Node::Redis(r)) = w.link_target(s, *link) else { return Ok(()) };
    let g = w.group(r);
    let Some(mine) = w.status(s, g) else { return Ok(()) };
    // The newest configuration held by any live sentinel: (config epoch, current address).
    let newest = (0..w.sentinels.len())
        .filter_map(|x| w.status(x, g))
        .map(|m| (m.config_epoch, m.current))
        .max_by_key(|(epoch, _)| *epoch);
    let Some((epoch, addr)) = newest else { return Ok(()) };
    if addr.same(&w.redis[r].addr) && mine.config_epoch < epoch {
        return Err(format!(
            "sentinel {s} (config epoch {}) sent REPLICAOF to {}, the master of config epoch {}",
            mine.config_epoch.0,
            addr.key(),
            epoch.0
        ));
    }
    Ok(())
}
