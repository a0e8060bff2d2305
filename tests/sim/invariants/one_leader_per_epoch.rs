//! At most one leader per master per epoch (docs/behaviour.md §7.3: a leader needs
//! max(quorum, majority) votes, and every sentinel votes once per epoch), and a leader
//! holds a majority of the votes cast *in its own epoch*: votes of another epoch elect
//! nobody (what makes the first rule hold).

use super::one_vote_per_epoch::Votes;
use crate::sim::world::World;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Leaders {
    /// (master, epoch) → leader.
    by_epoch: BTreeMap<(String, u64), String>,
}

impl Leaders {
    /// `+elected-leader` from sentinel `s`, for its current failover epoch.
    pub fn elected(&mut self, s: usize, myid: &str, master: &str, w: &World, votes: &Votes) -> Result<(), String> {
        let Some(g) = w.group_named(master) else { return Ok(()) };
        let Some(m) = w.status(s, g) else { return Ok(()) };
        let epoch = m.failover_epoch.0;
        if g == 0 && (w.operator_failover == Some(s) || w.manual.contains(&(s, epoch))) {
            // A forced failover (SENTINEL FAILOVER) is not an election (§8.8).
            return Ok(());
        }
        // A majority of the voters the leader knows (itself and its peers) is the least it
        // may hold: its rule is max(quorum, majority).
        let voters = m.sentinels + 1;
        let got = votes.for_leader(master, epoch, myid);
        if got < voters / 2 + 1 {
            return Err(format!(
                "{myid} elected in epoch {epoch} with {got} votes cast in that epoch, of {voters} voters"
            ));
        }
        let prev = self.by_epoch.entry((master.to_string(), epoch)).or_insert_with(|| myid.to_string());
        if prev != myid {
            return Err(format!("two leaders in epoch {epoch}: {prev} and {myid}"));
        }
        Ok(())
    }
}
