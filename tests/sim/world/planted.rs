//! Targeted scenarios for planted bugs that the sweep's random faults no longer reach
//! (issue 10.6; docs/testing.md "Targeted scenarios and planted bugs"): each builds the
//! conditions one fix is about, so that the fix's absence shows as a violation of an
//! invariant that states the harm (not the fix).

use super::{Ev, Fault, Node, Params, Scenario, World};
use rand::Rng;

/// The parameters of the scenarios of this file.
pub(super) fn params(p: &mut Params) {
    match p.scenario {
        Scenario::RebootFenced => {
            // Three sentinels (a majority of two fails the master over), a master and two
            // replicas (the last with priority 0: the promoted one keeps an acknowledging
            // replica, so it takes writes once its hold is lifted), the write lease on.
            p.sentinels = 3;
            p.redis = 3;
            p.quorum = 2;
            p.down_after = 1000;
            p.fault_until = 45_000;
            p.faults = 0;
            if p.write_lease == 0 {
                p.write_lease = 1 + p.seed % 3;
            }
        }
        Scenario::LostConnect => {
            // Three sentinels with quorum 2: one sentinel's SDOWN plus a peer's makes ODOWN.
            p.sentinels = 3;
            p.quorum = 2;
            p.fault_until = 45_000;
            p.faults = 0;
        }
        Scenario::DemotedPromoted => {
            // Three sentinels, a master and one replica (the old master, once back, is the
            // only replica an operator's failover can promote), no lease.
            p.sentinels = 3;
            p.redis = 2;
            p.quorum = 2;
            p.down_after = 1000;
            p.write_lease = 0;
            p.fault_until = 40_000;
            p.faults = 0;
        }
        _ => {}
    }
}

impl World {
    /// Scenario `reboot-fenced`: redis 0 (the master) runs without a config file, so what
    /// `CONFIG SET` gave it (the write lease, the isolation fence's hold) is gone after a
    /// restart (docs/fencing.md: `-lease-not-persisted`). At 14-20 s sentinel 0, the
    /// master and the client are cut off from the other sentinels and the replicas (until
    /// the heal): sentinel 0 fences the master (`+isolation-fence`), the others fail it
    /// over. 0.4-1.2 s into the partition the master crashes and is back 0.1-0.4 s later,
    /// without the fence, taking the client's writes; sentinel 0 reconnects, its first
    /// INFO shows the `+reboot` (the successor, held for `lease + 2.3 s` after its
    /// promotion, takes no write yet), and the master must be fenced again at once.
    pub(super) fn plan_reboot_fenced(&mut self) {
        self.redis[0].has_conf_file = false;
        let at = self.rng.random_range(14_000..20_000);
        let id = self.fault_id();
        let side = vec![Node::Sentinel(0), Node::Redis(0), Node::Client];
        let mut rest: Vec<Node> = (1..self.sentinels.len()).map(Node::Sentinel).collect();
        rest.extend((1..self.p.redis).map(Node::Redis));
        self.schedule(at, Ev::Fault(Fault::Cut { id, from: side, to: rest, both: true }));
        let kill = at + self.rng.random_range(400..1_200);
        let back = kill + self.rng.random_range(100..400);
        self.schedule(kill, Ev::Fault(Fault::KillRedis(0)));
        self.schedule(back, Ev::Fault(Fault::RestartRedis { r: 0, empty: false }));
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Scenario `lost-connect`: at 4-8 s sentinel 0's links to the master are reset, and for
    /// the next 0.5-1.5 s the outcome of every connect it starts to the master is never
    /// reported (`lose_connects`; the core must not rely on the shell's report to ever
    /// ping the master again). At least down-after + 9 s after that, sentinel 1 alone is
    /// cut off from the master for down-after + 2-4 s: one sentinel's SDOWN, below the
    /// quorum of 2, must not fail over a master the two others reach.
    pub(super) fn plan_lost_connect(&mut self) {
        let t1 = self.rng.random_range(4_000..8_000);
        let ms = self.rng.random_range(500..1_500);
        self.schedule(t1, Ev::Fault(Fault::LoseConnects { s: 0, r: 0, ms }));
        let t2 = t1 + ms + self.p.down_after + 9_000 + self.rng.random_range(0..4_000);
        let id = self.fault_id();
        let cut = Fault::Cut { id, from: vec![Node::Sentinel(1)], to: vec![Node::Redis(0)], both: true };
        self.schedule(t2, Ev::Fault(cut));
        let len = self.p.down_after + self.rng.random_range(2_000..4_000);
        self.schedule(t2 + len, Ev::Fault(Fault::Uncut(id)));
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Resets sentinel `s`'s connections to Redis `r`; the connects it starts to `r` in the
    /// next `ms` get no outcome (neither up nor down: a shell without a connect deadline
    /// whose SYN went unanswered, or a report lost). The path counts as disturbed until then.
    pub(super) fn lose_connects(&mut self, s: usize, r: usize, ms: u64) {
        let until = self.now + ms;
        self.lost_connects.push((s, Node::Redis(r), until));
        self.dist.pair.insert((s, r), until);
        let gen = self.sentinels[s].gen;
        let links: Vec<_> =
            self.sentinels[s].conns.iter().filter(|(_, c)| c.target == Node::Redis(r)).map(|(l, _)| *l).collect();
        for link in links {
            let lat = self.latency();
            self.schedule(lat, Ev::Down { s, gen, link });
        }
    }

    /// A connect from sentinel `s` to `target` whose outcome is never reported.
    pub(super) fn connect_unreported(&self, s: usize, target: Node) -> bool {
        self.lost_connects.iter().any(|&(x, t, until)| x == s && t == target && self.now < until)
    }

    /// Scenario `demoted-promoted`: redis 0 (the master) dies at 12 s (once the sentinels
    /// know its replica) and redis 1 is promoted; redis 0 comes back at 18-22 s, still
    /// saying master, with a large data set (its full sync from redis 1 takes 1-3 s), and a
    /// sentinel demotes it (`+convert-to-slave`). As soon as the other sentinels' INFO
    /// shows it a replica, an operator runs `SENTINEL FAILOVER` on one of them, which
    /// promotes it again before its sync is done (simulation seed 302: 170 ms after the
    /// demotion), so its replication history does not continue redis 1's. The demoting
    /// sentinel's next INFO shows a master again: it must take it for a newly promoted one
    /// (and learn its configuration) rather than for the old master, to be demoted once
    /// more on its stale configuration (`no_stale_demotion`).
    pub(super) fn plan_demoted_promoted(&mut self) {
        // A large data set: once demoted, its full sync from the new master takes 1-3 s.
        self.redis[0].sync_ms = self.rng.random_range(1_000..3_000);
        self.schedule(12_000, Ev::Fault(Fault::KillRedis(0)));
        let back = self.rng.random_range(18_000..22_000);
        self.schedule(back, Ev::Fault(Fault::RestartRedis { r: 0, empty: false }));
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// An event of sentinel `s`: a demotion of redis 0 (recorded until the operator acts).
    pub(super) fn demoted_event(&mut self, s: usize, name: &str, message: &str) {
        if self.p.scenario != Scenario::DemotedPromoted || name != "+convert-to-slave" || !self.manual.is_empty() {
            return;
        }
        let key = self.redis[0].addr.key();
        if message.split(' ').nth(1) == Some(key.as_str()) {
            self.demoted_by.insert(s);
        }
    }

    /// Sentinel `s` just heard from redis `r`. Once a sentinel demoted redis 0 and its last
    /// INFO of it still says master, while every sentinel that did not demote it has seen
    /// it a replica, an operator runs `SENTINEL FAILOVER` on one of those (`s`; tried
    /// again at its next reply until one starts: it may not see the replica fit yet, e.g.
    /// still SDOWN). A sentinel that never saw it a replica would take the promoted node
    /// for the old master whatever the fix (docs/testing.md: the manual-failover gap).
    pub(super) fn demoted_try_failover(&mut self, s: usize, r: usize) {
        if self.p.scenario != Scenario::DemotedPromoted || r != 0 || !self.manual.is_empty() {
            return;
        }
        let says_master = |x: usize| self.seen.info.get(&(x, 0)).map(|i| i.2);
        let fooled: Vec<usize> = self.demoted_by.iter().copied().filter(|&a| says_master(a) == Some(true)).collect();
        let others_saw_replica =
            (0..self.sentinels.len()).filter(|x| !self.demoted_by.contains(x)).all(|x| says_master(x) == Some(false));
        if fooled.is_empty() || self.demoted_by.contains(&s) || !others_saw_replica {
            return;
        }
        // The operator's failover is hidden from the sentinels it means to fool: cut from
        // `s` while it runs (a manual failover asks the peers for their votes before it
        // promotes, docs/behaviour.md §8.8, which would tell them of its epoch).
        let id = self.fault_id();
        let from = fooled.iter().map(|&a| Node::Sentinel(a)).collect();
        self.fault(Fault::Cut { id, from, to: vec![Node::Sentinel(s)], both: true });
        self.operator_fault(Fault::ManualFailover(s));
        if self.manual.is_empty() {
            self.fault(Fault::Uncut(id));
        } else {
            self.schedule(3_000, Ev::Fault(Fault::Uncut(id)));
        }
    }
}
