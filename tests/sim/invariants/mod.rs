//! Safety invariants, one file each, checked on every output and after every step.
//! Each file names the rule of docs/behaviour.md it enforces.

mod config_agreement;
mod epochs_monotonic;
mod failover_from_odown;
mod no_action_in_tilt;
mod no_odown_of_reachable_master;
mod no_stale_demotion;
mod no_write_after_successor;
mod one_leader_per_epoch;
mod one_promotion_per_epoch;
mod one_vote_per_epoch;
mod promotion_allowed;

use super::world::World;
use sentinel::core::{Event, Output};
use sentinel::resp::Value;

/// All invariant state of one run.
#[derive(Default)]
pub struct Checker {
    votes: one_vote_per_epoch::Votes,
    leaders: one_leader_per_epoch::Leaders,
    epochs: epochs_monotonic::Epochs,
    promotions: one_promotion_per_epoch::Promotions,
    violation: Option<String>,
}

impl Checker {
    fn fail(&mut self, what: String) {
        self.violation.get_or_insert(what);
    }

    /// Before the shell executes one of sentinel `s`'s outputs.
    pub fn before_output(&mut self, s: usize, out: &Output, w: &World) {
        if let Err(e) = no_action_in_tilt::check(s, out, w) {
            self.fail(e);
        }
        if let Err(e) = epochs_monotonic::announced_is_durable(s, out, w) {
            self.fail(e);
        }
        if let Err(e) = self.promotions.before_output(s, out, w) {
            self.fail(e);
        }
        if let Err(e) = no_stale_demotion::check(s, out, w) {
            self.fail(e);
        }
    }

    /// Redis `r` acknowledged a client write: `Some(stranded)` if it was an old master's
    /// inside the dual-master window.
    pub fn write_acked(&mut self, r: usize, w: &World) -> Option<bool> {
        match no_write_after_successor::check(r, w) {
            Ok(old) => old.map(|_| no_write_after_successor::stranded(r, w)),
            Err(e) => {
                self.fail(e);
                Some(false)
            }
        }
    }

    /// An event sentinel `s` emitted.
    pub fn event(&mut self, s: usize, myid: &str, ev: &Event, w: &World) {
        let master = ev.master.as_deref().unwrap_or("");
        let r = match ev.name {
            "+vote-for-leader" => self.votes.record_event(myid, master, &ev.message),
            "+elected-leader" => self.leaders.elected(s, myid, master, w, &self.votes),
            "+try-failover" => failover_from_odown::check(s, master, w),
            "+selected-slave" => promotion_allowed::check(s, &ev.message, w),
            "+odown" => no_odown_of_reachable_master::check(s, &ev.message, w),
            _ => Ok(()),
        };
        if let Err(e) = r {
            self.fail(e);
        }
    }

    /// A peer's answer to `is-master-down-by-addr` as it leaves the voter.
    pub fn vote_reply(&mut self, voter: &str, master: &str, args: &[Vec<u8>], value: &Value) {
        if let Err(e) = self.votes.record_reply(voter, master, args, value) {
            self.fail(e);
        }
    }

    /// After every simulation step; `dirty` when a sentinel handled something in it.
    pub fn after_step(&mut self, w: &World, dirty: bool) -> Result<(), String> {
        if dirty {
            if let Err(e) = self.epochs.check(w) {
                self.fail(e);
            }
            if let Err(e) = config_agreement::check(w) {
                self.fail(e);
            }
        }
        match self.violation.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
