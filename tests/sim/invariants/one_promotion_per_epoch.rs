//! At most one promoted replica per epoch (docs/behaviour.md §7.3, §8.3: only the leader of an
//! epoch promotes, and it promotes one replica). Checked where the order leaves the
//! sentinel: a `REPLICAOF NO ONE` sent during the failover of epoch E names the one
//! replica of E; a second, different one is two masters for one configuration.

use crate::sim::world::{Node, World};
use sentinel::core::{LinkId, Output, Request};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Promotions {
    /// (master index, failover epoch) → (sentinel, replica address) ordered promoted.
    by_epoch: BTreeMap<(usize, u64), (usize, String)>,
}

impl Promotions {
    pub fn before_output(&mut self, s: usize, out: &Output, w: &World) -> Result<(), String> {
        let Output::Send { link, request: Request::ReplicaOf(None), .. } = out else { return Ok(()) };
        let key = target_key(w, s, *link);
        let Some(Node::Redis(r)) = w.link_target(s, *link) else { return Ok(()) };
        let g = w.group(r);
        let Some(m) = w.status(s, g) else { return Ok(()) };
        let epoch = m.failover_epoch.0;
        let prev = self.by_epoch.entry((g, epoch)).or_insert_with(|| (s, key.clone()));
        // An operator's SENTINEL FAILOVER skips the election (§8.8), so it may share its
        // epoch with an elected leader's failover: Redis Sentinel's contract, not checked.
        let manual = g == 0 && (w.manual.contains(&(s, epoch)) || w.manual.contains(&(prev.0, epoch)));
        if prev.1 != key && !manual {
            return Err(format!(
                "two replicas promoted in epoch {epoch}: {} by sentinel {} and {key} by sentinel {s}",
                prev.1, prev.0
            ));
        }
        Ok(())
    }
}

fn target_key(w: &World, s: usize, link: LinkId) -> String {
    match w.link_target(s, link) {
        Some(Node::Redis(r)) => w.redis[r].addr.key(),
        other => format!("{other:?}"),
    }
}
