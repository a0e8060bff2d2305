//! At most one vote per sentinel per epoch, across restarts (docs/behaviour.md §7.2, §15.4:
//! the vote is persisted before the reply leaves).

use sentinel::resp::Value;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Votes {
    /// (voter, master, epoch) → the run id it voted for (each master has its own vote).
    cast: BTreeMap<(String, String, u64), String>,
}

impl Votes {
    fn record(&mut self, voter: &str, master: &str, epoch: u64, leader: &str) -> Result<(), String> {
        let prev =
            self.cast.entry((voter.to_string(), master.to_string(), epoch)).or_insert_with(|| leader.to_string());
        if !prev.eq_ignore_ascii_case(leader) {
            return Err(format!("sentinel {voter} voted twice in epoch {epoch}: for {prev} and for {leader}"));
        }
        Ok(())
    }

    /// How many sentinels voted for `leader` in `epoch` (as far as the votes left them).
    pub fn for_leader(&self, master: &str, epoch: u64, leader: &str) -> usize {
        self.cast.iter().filter(|((_, m, e), l)| m == master && *e == epoch && l.eq_ignore_ascii_case(leader)).count()
    }

    /// `+vote-for-leader <runid> <epoch>`.
    pub fn record_event(&mut self, voter: &str, master: &str, msg: &str) -> Result<(), String> {
        let mut it = msg.split(' ');
        let (Some(leader), Some(Ok(epoch))) = (it.next(), it.next().map(str::parse::<u64>)) else {
            return Err(format!("malformed +vote-for-leader '{msg}'"));
        };
        self.record(voter, master, epoch, leader)
    }

    /// `[down, leader, leader_epoch]` answering a request that asked for a vote.
    /// `master`: the master the request's address belongs to.
    pub fn record_reply(&mut self, voter: &str, master: &str, args: &[Vec<u8>], value: &Value) -> Result<(), String> {
        if args.len() != 6 || args[5] == b"*" {
            return Ok(());
        }
        let Value::Array(items) = value else { return Err(format!("vote reply not an array: {value:?}")) };
        let [Value::Int(_), Value::Bulk(leader), Value::Int(epoch)] = items.as_slice() else {
            return Err(format!("vote reply has the wrong shape: {value:?}"));
        };
        if leader.as_slice() == b"*" {
            return Ok(());
        }
        self.record(voter, master, *epoch as u64, &String::from_utf8_lossy(leader))
    }
}
