//! Only a replica the selection rules allow is promoted (SENTINEL-SPEC §9): never one
//! with `replica-priority 0`, never one that is not running.

use crate::sim::world::World;

/// `+selected-slave slave <ip:port> <ip> <port> @ ...`.
pub fn check(details: &str, w: &World) -> Result<(), String> {
    let mut it = details.split(' ');
    let (Some("slave"), Some(key)) = (it.next(), it.next()) else {
        return Err(format!("malformed +selected-slave '{details}'"));
    };
    let Some(node) = w.redis.iter().find(|r| r.addr.key() == key) else {
        return Err(format!("selected an unknown replica {key}"));
    };
    if node.priority == 0 {
        return Err(format!("selected {key} with replica-priority 0"));
    }
    Ok(())
}
