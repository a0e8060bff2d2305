//! Scenario `many-down` (issue 13): every master of a multi-master world is killed at the
//! same instant and stays down; nothing else goes wrong (no crash, cut, loss, delay or
//! stall). Redis Sentinel fails all of them over in one election round each; so must we.
//!
//! Liveness bound: a failover that is not elected in its first round is retried no sooner
//! than 2 × failover-timeout after that attempt started (§7.4), by any sentinel that took
//! part (the candidate itself, and every voter that voted for someone else). The first
//! attempts start after down-after (SDOWN) plus the ODOWN round trip. So by
//! kill + down-after + failover-timeout every master must have a successor that every
//! sentinel agrees on (same address, a live replica of that master now promoted): that
//! is ample for one round (detection ~1 s, election and promotion a few hundred ms, the
//! config reaching the other sentinels by hello within ~2 s) and too early for any
//! second round, whose attempts cannot start before kill + down-after + 2 × failover-timeout.

use super::{Ev, Fault, World};
use crate::sim::redis::Role;

/// When the masters die: the sentinels know every replica and peer by then.
pub const KILL_AT: u64 = 12_000;

impl World {
    /// The fault plan: node 0 of every master (each master at the start) dies at
    /// [`KILL_AT`], back only at the heal.
    pub(super) fn plan_many_down(&mut self) {
        for g in 0..self.p.masters {
            self.schedule(KILL_AT, Ev::Fault(Fault::KillRedis(g * self.p.redis)));
        }
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Per master, the successor every sentinel agrees on, if any: the same configured
    /// address at every sentinel, a node of that master other than the killed one, that
    /// is a master now.
    fn agreed_successors(&self) -> Vec<Option<usize>> {
        let n = self.p.masters;
        let mut agreed: Vec<Option<Option<usize>>> = vec![None; n];
        for sen in &self.sentinels {
            let Some(core) = &sen.core else { return vec![None; n] };
            for m in core.masters() {
                let Some(g) = group_of(&m.name).filter(|&g| g < n) else { continue };
                let r = self.redis_at(&m.addr);
                agreed[g] = match agreed[g] {
                    None => Some(r),
                    Some(prev) if prev == r => Some(r),
                    Some(_) => Some(None),
                };
            }
        }
        let killed = |g: usize| g * self.p.redis;
        (0..n)
            .map(|g| {
                agreed[g]
                    .flatten()
                    .filter(|&r| self.group(r) == g && r != killed(g) && self.redis[r].role == Role::Master)
            })
            .collect()
    }
}

/// The index of a master name (`mymaster` → 0, `mymaster-k` → k; see `master_name`).
fn group_of(name: &str) -> Option<usize> {
    match name.strip_prefix(super::MASTER)? {
        "" => Some(0),
        rest => rest.strip_prefix('-')?.parse().ok(),
    }
}

/// When each master's successor was first agreed on, checked against the bound.
pub struct Progress {
    deadline: u64,
    agreed_at: Vec<Option<u64>>,
    checked_at: u64,
    done: bool,
}

impl Progress {
    pub fn new(w: &World) -> Progress {
        Progress {
            deadline: KILL_AT + w.p.down_after + w.p.failover_timeout,
            agreed_at: vec![None; w.p.masters],
            checked_at: 0,
            done: false,
        }
    }

    /// Sampled every 50 ms of simulated time between the kill and the deadline; `Err`
    /// at the deadline if a master still has no agreed successor.
    pub fn check(&mut self, w: &mut World) -> Result<(), String> {
        if self.done || w.now < KILL_AT || w.now < self.checked_at + 50 {
            return Ok(());
        }
        self.checked_at = w.now;
        let agreed = w.agreed_successors();
        for (g, (at, successor)) in self.agreed_at.iter_mut().zip(&agreed).enumerate() {
            if at.is_none() && successor.is_some() {
                *at = Some(w.now);
                let (name, at) = (super::master_name(g), w.now - KILL_AT);
                w.log(|| format!("MANY-DOWN {name}: successor agreed by every sentinel {at} ms after the kill"));
            }
        }
        if w.now < self.deadline && self.agreed_at.iter().any(Option::is_none) {
            return Ok(());
        }
        self.done = true;
        let missing: Vec<String> = (0..w.p.masters)
            .filter(|&g| self.agreed_at[g].is_none())
            .map(|g| {
                let name = super::master_name(g);
                let says: Vec<String> = (0..w.sentinels.len())
                    .map(|s| match w.status(s, g) {
                        Some(m) => format!("s{s} {} epoch {} {}", m.addr.key(), m.config_epoch.0, m.failover_state),
                        None => format!("s{s} -"),
                    })
                    .collect();
                format!("{name} ({})", says.join(", "))
            })
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "many-down: {} of {} masters without a successor agreed by every sentinel {} ms after the kill \
                 (down-after + failover-timeout; a second election round starts no sooner than down-after + \
                 2 × failover-timeout): {}",
                missing.len(),
                w.p.masters,
                self.deadline - KILL_AT,
                missing.join("; ")
            ));
        }
        let last = self.agreed_at.iter().flatten().max().copied().unwrap_or(KILL_AT) - KILL_AT;
        w.log(|| format!("MANY-DOWN every master failed over, the last {last} ms after the kill"));
        Ok(())
    }
}
