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
    let Some(mine) = w.sentinels[s].core.as_ref().and_then(|c| c.masters().into_iter().next()) else { return Ok(()) };
    // The newest configuration held by any live sentinel: (config epoch, current address).
    let newest = w
        .sentinels
        .iter()
        .filter_map(|x| x.core.as_ref()?.masters().into_iter().next())
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
