//! The simulated world: the event queue, the network, the sentinels and the Redis
//! models. Every random choice comes from one seeded RNG, so a seed replays exactly.

use super::invariants::Checker;
use super::redis::{RedisNode, Role, NO_REPLID};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sentinel::core::{
    Addr, ClientId, Input, LinkId, LinkKind, MasterSnapshot, MasterStatus, Options, Output, Request, Sentinel,
    Snapshot, Timing,
};
use sentinel::resp::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

mod many_down;
mod planted;

pub const MASTER: &str = "mymaster";

/// The knobs of one run, all derived from the seed.
#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    pub sentinels: usize,
    /// Masters monitored by every sentinel, each with its own `redis` nodes (a master and
    /// its replicas) and its own failures.
    pub masters: usize,
    /// Redis nodes per master.
    pub redis: usize,
    pub quorum: u32,
    pub down_after: u64,
    pub failover_timeout: u64,
    /// Faults happen in [2 s, fault_until).
    pub fault_until: u64,
    /// After the heal, everything must converge within this.
    pub settle: u64,
    pub faults: usize,
    /// Write lease in seconds (0 = off). The "no write acknowledged by an old master after
    /// its successor was promoted" invariant holds only with the lease on.
    pub write_lease: u64,
    pub scenario: Scenario,
    /// The lease invariant also fails on an old master kept alive by a stranded replica.
    pub strict_lease: bool,
}

impl Params {
    pub fn from_seed(seed: u64) -> Params {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);
        let sentinels = if rng.random_bool(0.7) { 3 } else { 5 };
        let quorum = if rng.random_bool(0.5) { (sentinels / 2 + 1) as u32 } else { 2 };
        Params {
            seed,
            sentinels,
            redis: rng.random_range(2..=4),
            quorum,
            down_after: rng.random_range(1..=5) * 1000,
            failover_timeout: rng.random_range(5..=15) * 1000,
            fault_until: rng.random_range(20..=60) * 1000,
            settle: 240_000,
            faults: rng.random_range(1..=8),
            // Drawn last so that the draws above stay what they were for every seed.
            write_lease: if rng.random_bool(0.3) { 0 } else { rng.random_range(1..=3) },
            scenario: Scenario::Sweep,
            strict_lease: false,
            // Drawn after everything else: a fifth of the seeds watch three masters.
            masters: if rng.random_bool(0.2) { 3 } else { 1 },
        }
    }

    /// A targeted scenario: the seed's parameters bent towards one kind of trouble.
    pub fn scenario(seed: u64, scenario: Scenario) -> Params {
        let mut p = Params::from_seed(seed);
        p.scenario = scenario;
        if scenario != Scenario::Sweep {
            // The targeted scenarios script the faults of one master.
            p.masters = 1;
        }
        match scenario {
            Scenario::Sweep => {}
            Scenario::Elections => {
                // Competing candidates: five sentinels, a short down-after, the master
                // killed early, slow and lossy links, crashes and stalls.
                p.sentinels = 5;
                p.quorum = 2;
                p.down_after = 1000;
                p.faults = 10;
            }
            Scenario::StaleVotes => {
                // Split elections across epochs: five sentinels, the master killed at 2 s
                // and kept down, and three-way splits of the sentinels (plan_stale_votes).
                p.sentinels = 5;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 10_000;
                p.fault_until = 40_000;
                p.faults = 0;
            }
            Scenario::NewerConfig => {
                // A newer config naming the old master reaches a leader still in its
                // failover: the replica the leader promoted dies while the leader waits for
                // a replica it cannot reconfigure (its link to the promoted one is cut), the
                // old master is back as a replica, and the others promote it.
                p.sentinels = 3;
                p.redis = 3;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 30_000;
                p.fault_until = 60_000;
                p.faults = 0;
            }
            Scenario::StaleMajority => {
                // A leader cut off from everyone right after its promotion, while the
                // others restart and its old master comes back (`stale_majority_strike`).
                p.sentinels = 5;
                p.redis = 3;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 15_000;
                p.fault_until = 40_000;
                p.faults = 0;
            }
            Scenario::SaysMaster => {
                // The old master back empty, saying master, while the new one is dead: the
                // only replica entry left says role:master (`plan_says_master`).
                p.sentinels = 3;
                p.redis = 2;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 10_000;
                p.fault_until = 40_000;
                p.faults = 0;
            }
            Scenario::RebootFenced | Scenario::LostConnect | Scenario::DemotedPromoted => planted::params(&mut p),
            Scenario::VoteCrash => {
                // Elections whose voters crash right after their vote left (before
                // anything after it): five sentinels, the master killed three times
                // (plan_vote_crash), quick restarts, so that a voter is back while the
                // candidates of the same epoch still ask.
                p.sentinels = 5;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 6_000;
                p.fault_until = 32_000;
                p.faults = 0;
            }
            Scenario::ManyDown => {
                // Many masters, each with one replica, all killed at once (plan_many_down);
                // `--masters N` sets how many.
                p.sentinels = 3;
                p.masters = 50;
                p.redis = 2;
                p.quorum = 2;
                p.down_after = 1000;
                p.failover_timeout = 10_000;
                p.fault_until = 30_000;
                p.faults = 0;
            }
        }
        p
    }
}

/// Which fault mix a run draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Everything (the CI sweep).
    Sweep,
    /// Elections under stress: master deaths, delay, loss, sentinel crashes and stalls.
    Elections,
    /// The master dies and stays down while partitions between sentinels split the
    /// elections across epochs (a vote of a newer epoch must not elect an older attempt).
    StaleVotes,
    /// A leader still reconfiguring replicas hears a newer config naming its old master.
    NewerConfig,
    /// Voters crash right after a vote's reply left and restart at once (a vote must be
    /// durable before its reply leaves: the planted bug `reply-before-persist`).
    VoteCrash,
    /// The new master of a leader cut off right after its promotion, seen by sentinels
    /// that did not watch it turn and whose majority has not heard of the new epoch's
    /// outcome (the planted bug `stale-majority`).
    StaleMajority,
    /// A failover whose only replica entry is an old master back empty and saying master
    /// (never to be promoted: the planted bug `promote-says-master`).
    SaysMaster,
    /// A master without a config file, fenced by the sentinel cut off with it, restarts
    /// while the others fail it over (the planted bug `reboot-keeps-lease`).
    RebootFenced,
    /// A sentinel's connects to the master are never reported for a while, then a peer
    /// alone loses the master (the planted bug `link-connecting-forever`).
    LostConnect,
    /// An old master one sentinel just demoted is promoted by an operator's failover on
    /// another before the first sentinel saw it a replica (the planted bug
    /// `demoted-master-trusted`).
    DemotedPromoted,
    /// Every master killed at the same instant, nothing else wrong: each must be failed
    /// over in one election round (`many_down.rs`).
    ManyDown,
}

impl Scenario {
    pub fn parse(name: &str) -> Option<Scenario> {
        match name {
            "sweep" => Some(Scenario::Sweep),
            "elections" => Some(Scenario::Elections),
            "stale-votes" => Some(Scenario::StaleVotes),
            "newer-config" => Some(Scenario::NewerConfig),
            "vote-crash" => Some(Scenario::VoteCrash),
            "stale-majority" => Some(Scenario::StaleMajority),
            "says-master" => Some(Scenario::SaysMaster),
            "reboot-fenced" => Some(Scenario::RebootFenced),
            "lost-connect" => Some(Scenario::LostConnect),
            "demoted-promoted" => Some(Scenario::DemotedPromoted),
            "many-down" => Some(Scenario::ManyDown),
            _ => None,
        }
    }
}

/// Counters that prove a green sweep exercised something.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    pub failovers_completed: u64,
    pub switch_observed: u64,
    pub elections_aborted: u64,
    pub failovers_aborted: u64,
    pub tilts: u64,
    pub sentinel_crashes: u64,
    pub crashes_mid_failover: u64,
    pub partitions: u64,
    pub converted_old_masters: u64,
    pub votes_granted: u64,
    pub promotions: u64,
    pub selections_checked: u64,
    pub odowns_checked: u64,
    pub writes_acked: u64,
    pub writes_refused: u64,
    /// Writes an old master acknowledged after its successor was promoted (the
    /// dual-master window; must be 0 with the write lease on).
    pub writes_acked_by_old_master: u64,
    /// With the lease on: old-master writes in the window, kept alive by a replica the
    /// failover could not move (the lease's design gap; a failure with --strict-lease).
    pub writes_via_stranded_replica: u64,
    pub client_reresolves: u64,
    pub config_sets: u64,
    pub peer_master_queries: u64,
    pub manual_failovers: u64,
    pub runtime_sets: u64,
    pub remonitors: u64,
    /// Simulated seconds, all seeds together.
    pub simulated_s: u64,
}

impl Coverage {
    pub fn add(&mut self, o: &Coverage) {
        self.failovers_completed += o.failovers_completed;
        self.switch_observed += o.switch_observed;
        self.elections_aborted += o.elections_aborted;
        self.failovers_aborted += o.failovers_aborted;
        self.tilts += o.tilts;
        self.sentinel_crashes += o.sentinel_crashes;
        self.crashes_mid_failover += o.crashes_mid_failover;
        self.partitions += o.partitions;
        self.converted_old_masters += o.converted_old_masters;
        self.votes_granted += o.votes_granted;
        self.promotions += o.promotions;
        self.selections_checked += o.selections_checked;
        self.odowns_checked += o.odowns_checked;
        self.writes_acked += o.writes_acked;
        self.writes_refused += o.writes_refused;
        self.writes_acked_by_old_master += o.writes_acked_by_old_master;
        self.client_reresolves += o.client_reresolves;
        self.writes_via_stranded_replica += o.writes_via_stranded_replica;
        self.config_sets += o.config_sets;
        self.peer_master_queries += o.peer_master_queries;
        self.simulated_s += o.simulated_s;
        self.manual_failovers += o.manual_failovers;
        self.runtime_sets += o.runtime_sets;
        self.remonitors += o.remonitors;
    }
}

/// A violated invariant or a failure to converge.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub at: u64,
    pub what: String,
    pub trace: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    Sentinel(usize),
    Redis(usize),
    /// The writing client.
    Client,
}

/// What a Redis reply told a sentinel (for the promotion check).
#[derive(Clone, Debug)]
pub enum Obs {
    Pong(usize),
    Info { r: usize, link_down_ms: i64, says_master: bool },
}

/// What the sentinels were told, stamped with the receiver's own clock when it handled it.
#[derive(Default)]
pub struct Seen {
    /// (sentinel, redis) → last PING reply.
    pub pong: BTreeMap<(usize, usize), u64>,
    /// (sentinel, redis) → last INFO reply and the link-down time it reported.
    pub info: BTreeMap<(usize, usize), (u64, i64, bool)>,
    /// (sentinel, master index) → when (its clock) it last raised `+sdown` on the master.
    pub sdown_at: BTreeMap<(usize, usize), u64>,
}

/// When each part of the world was last disturbed by a fault (world time; a value in the
/// future means "until then"). Whatever is disturbed right now counts as `now`.
#[derive(Default)]
pub struct Disturbed {
    pub global: u64,
    pub redis: BTreeMap<usize, u64>,
    pub sentinel: BTreeMap<usize, u64>,
    /// (sentinel, redis) pairs whose link a cut started or ended on.
    pub pair: BTreeMap<(usize, usize), u64>,
}

/// The writing client: it writes every 100 ms to the master it believes in and asks a
/// sentinel (like a Sentinel-aware client) at start, every 5 s and after an error.
pub struct Writer {
    pub believed: Option<Addr>,
    pub resolve_at: u64,
}

/// What the invariants read of a sentinel after each of its steps.
#[derive(Clone, Debug)]
pub struct View {
    pub current_epoch: u64,
    /// Per master (by index): its config epoch and address.
    pub masters: Vec<MasterView>,
}

#[derive(Clone, Debug)]
pub struct MasterView {
    pub config_epoch: u64,
    /// None while the master is removed.
    pub current: Option<Addr>,
}

/// A promotion: `REPLICAOF NO ONE` executed on a replica.
#[derive(Clone, Debug)]
pub struct Promotion {
    pub at: u64,
    pub r: usize,
    /// When the promoted node acknowledged its first write as master.
    pub first_write: Option<u64>,
}

#[derive(Debug)]
struct Conn {
    target: Node,
    kind: LinkKind,
    up: bool,
    /// Per-connection FIFO: nothing is delivered before this (TCP keeps order).
    fifo_at: u64,
    /// A message on this connection was lost: TCP never delivers a later one past a gap,
    /// so nothing more passes and the connection resets a second later.
    lost: bool,
}

pub struct SimSentinel {
    pub myid: String,
    pub addr: Addr,
    pub core: Option<Sentinel>,
    pub gen: u32,
    pub persisted: Snapshot,
    pub skew: u64,
    pub stalled_until: u64,
    conns: BTreeMap<LinkId, Conn>,
}

impl SimSentinel {
    pub fn alive(&self) -> bool {
        self.core.is_some()
    }
}

#[derive(Debug)]
enum Ev {
    ConnectDone { s: usize, gen: u32, link: LinkId },
    Deliver { s: usize, gen: u32, link: LinkId, tag: u64, req: Request },
    Reply { s: usize, gen: u32, link: LinkId, tag: u64, value: Value, obs: Option<Obs> },
    Push { s: usize, gen: u32, link: LinkId, frame: Value },
    Down { s: usize, gen: u32, link: LinkId },
    Fault(Fault),
    Replicate,
}

#[derive(Clone, Debug)]
enum Fault {
    KillRedis(usize),
    /// Kills the live node of master 0 that is a master, if any, and restarts it after
    /// `back_after` ms.
    KillMaster {
        back_after: u64,
    },
    RestartRedis {
        r: usize,
        empty: bool,
    },
    CrashSentinel(usize),
    RestartSentinel(usize),
    Cut {
        id: u64,
        from: Vec<Node>,
        to: Vec<Node>,
        both: bool,
    },
    /// Ends cut `id` only.
    Uncut(u64),
    /// Ends every fault (at the end of the fault phase).
    Heal,
    Loss {
        id: u64,
        p: f64,
    },
    EndLoss(u64),
    Delay {
        id: u64,
        ms: u64,
    },
    EndDelay(u64),
    Stall {
        s: usize,
        ms: u64,
    },
    ClockJump {
        s: usize,
        ms: u64,
    },
    /// Operator: `SENTINEL FAILOVER mymaster` on one sentinel.
    ManualFailover(usize),
    /// Operator: `SENTINEL SET mymaster <key> <value>` on every running sentinel.
    Set {
        key: &'static str,
        value: u64,
    },
    /// Operator: `SENTINEL REMOVE mymaster` on one sentinel ...
    Remove(usize),
    /// ... and later `SENTINEL MONITOR` with the address the other sentinels give.
    Monitor(usize),
    /// Sentinel `s`'s shell reports nothing of the connects to Redis `r` it starts for the
    /// next `ms` (`planted::lose_connects`).
    LoseConnects {
        s: usize,
        r: usize,
        ms: u64,
    },
}

/// A pending peer request: who asked, on which link, with which tag.
struct PeerCall {
    asker: usize,
    gen: u32,
    link: LinkId,
    tag: u64,
    args: Vec<Vec<u8>>,
}

pub struct World {
    pub p: Params,
    pub now: u64,
    rng: SmallRng,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    seq: u64,
    pub sentinels: Vec<SimSentinel>,
    pub redis: Vec<RedisNode>,
    cuts: BTreeSet<(Node, Node)>,
    cut_sets: BTreeMap<u64, Vec<(Node, Node)>>,
    losses: BTreeMap<u64, f64>,
    delays: BTreeMap<u64, u64>,
    loss: f64,
    delay: u64,
    next_fault_id: u64,
    /// A second RNG for the client and replication ids, so that the fault plan of a seed
    /// does not depend on them.
    rng2: SmallRng,
    pub seen: Seen,
    pub dist: Disturbed,
    pub writer: Writer,
    pub promotions: Vec<Promotion>,
    ticks: u64,
    /// A sentinel handled something since the last invariant check of sentinel state.
    dirty: bool,
    /// (sentinel, failover epoch) of failovers an operator started.
    pub manual: BTreeSet<(usize, u64)>,
    /// The sentinel handling an operator's `SENTINEL FAILOVER` right now.
    pub operator_failover: Option<usize>,
    /// Sentinels an operator removed the master from (until it is monitored again).
    pub removed: BTreeSet<usize>,
    /// Per sentinel: how many times the master was removed (a new monitoring life).
    pub monitors: Vec<u32>,
    /// The largest down-after and smallest quorum any sentinel may hold (runtime SET).
    pub down_after_max: u64,
    pub quorum_min: u32,
    /// Each sentinel's epochs and address as of its last output (None while down).
    pub views: Vec<Option<View>>,
    calls: BTreeMap<(usize, u64), PeerCall>,
    next_client: u64,
    next_runid: u64,
    pub checker: Checker,
    pub cov: Coverage,
    /// Scenario `stale-majority`: its strike happened.
    struck: bool,
    /// (sentinel, target, until): connects whose outcome the shell never reports.
    lost_connects: Vec<(usize, Node, u64)>,
    /// Scenario `demoted-promoted`: the sentinels that demoted the old master.
    demoted_by: BTreeSet<usize>,
    pub trace: Vec<String>,
    pub trace_on: bool,
}

/// Master `g`'s name: `mymaster`, then `mymaster-1`, `mymaster-2`...
pub fn master_name(g: usize) -> String {
    if g == 0 {
        MASTER.to_string()
    } else {
        format!("{MASTER}-{g}")
    }
}

/// The host of Redis node `i` of master `g` (master 0's are 10.0.1.x; sentinels 10.0.2.x).
fn redis_host(g: usize, i: usize) -> String {
    if g == 0 {
        format!("10.0.1.{}", i + 1)
    } else {
        format!("10.{}.{}.{}", 1 + g / 250, g % 250, i + 1)
    }
}

fn hexid(rng: &mut SmallRng) -> String {
    (0..40).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap()).collect()
}

impl World {
    pub fn new(p: Params) -> World {
        let mut rng = SmallRng::seed_from_u64(p.seed);
        let mut rng2 = SmallRng::seed_from_u64(p.seed ^ 0x00c1_1e17);
        let mut redis = Vec::new();
        for g in 0..p.masters {
            let master = Addr::new(redis_host(g, 0), 6379);
            for i in 0..p.redis {
                let addr = Addr::new(redis_host(g, i), 6379);
                let role = if i == 0 { Role::Master } else { Role::Replica(master.clone()) };
                let prio = if i == p.redis - 1 && p.redis > 2 { 0 } else { 100 };
                redis.push(RedisNode::new(addr, role, prio, hexid(&mut rng), hexid(&mut rng2)));
            }
        }
        let mut w = World {
            now: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            seq: 0,
            sentinels: Vec::new(),
            redis,
            cuts: BTreeSet::new(),
            cut_sets: BTreeMap::new(),
            losses: BTreeMap::new(),
            delays: BTreeMap::new(),
            loss: 0.0,
            delay: 0,
            next_fault_id: 0,
            rng2,
            seen: Seen::default(),
            dist: Disturbed::default(),
            writer: Writer { believed: None, resolve_at: 0 },
            promotions: Vec::new(),
            ticks: 0,
            dirty: true,
            manual: BTreeSet::new(),
            operator_failover: None,
            removed: BTreeSet::new(),
            monitors: vec![0; p.sentinels],
            down_after_max: p.down_after,
            quorum_min: p.quorum,
            views: vec![None; p.sentinels],
            calls: BTreeMap::new(),
            next_client: 1,
            next_runid: 0,
            checker: Checker::default(),
            cov: Coverage::default(),
            struck: false,
            lost_connects: Vec::new(),
            demoted_by: BTreeSet::new(),
            trace: Vec::new(),
            trace_on: false,
            rng,
            p,
        };
        for i in 0..w.p.sentinels {
            let myid = hexid(&mut w.rng);
            let mut snap = Snapshot::new(myid.clone());
            for g in 0..w.p.masters {
                let mut ms = MasterSnapshot::new(master_name(g), Addr::new(redis_host(g, 0), 6379), w.p.quorum);
                ms.down_after_ms = w.p.down_after;
                ms.failover_timeout_ms = w.p.failover_timeout;
                ms.write_lease_s = w.p.write_lease as u32;
                snap.masters.push(ms);
            }
            w.sentinels.push(SimSentinel {
                myid,
                addr: Addr::new(format!("10.0.2.{}", i + 1), 26379),
                core: None,
                gen: 0,
                persisted: snap,
                skew: 0,
                stalled_until: 0,
                conns: BTreeMap::new(),
            });
            w.boot(i);
        }
        w.schedule(100, Ev::Replicate);
        w.plan_faults();
        w
    }

    /// The master (index) Redis node `r` belongs to.
    pub fn group(&self, r: usize) -> usize {
        r / self.p.redis
    }

    /// The master index of a master name.
    pub fn group_named(&self, name: &str) -> Option<usize> {
        (0..self.p.masters).find(|&g| master_name(g) == name)
    }

    /// What sentinel `s` says of master `g` (None while it is down or does not monitor it).
    pub fn status(&self, s: usize, g: usize) -> Option<MasterStatus> {
        let name = master_name(g);
        self.sentinels[s].core.as_ref()?.masters().into_iter().find(|m| m.name == name)
    }

    fn schedule(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        let id = self.seq as usize;
        self.events.insert(id, ev);
        self.queue.push(Reverse((self.now + delay, self.seq, id)));
    }

    fn log(&mut self, s: impl FnOnce() -> String) {
        if self.trace_on {
            let line = format!("{:>8} {}", self.now, s());
            self.trace.push(line);
        }
    }

    fn boot(&mut self, i: usize) {
        let seed = self.rng.random();
        let opts = Options { port: 26379, seed, timing: Timing::default(), requirepass: None };
        let snap = self.sentinels[i].persisted.clone();
        let now = self.now + self.sentinels[i].skew;
        self.sentinels[i].core = Some(Sentinel::new(snap, opts, now));
        self.dist.sentinel.insert(i, self.now);
        self.sentinels[i].gen += 1;
        self.drain(i);
    }

    fn plan_faults(&mut self) {
        match self.p.scenario {
            Scenario::StaleVotes => return self.plan_stale_votes(),
            Scenario::NewerConfig => return self.plan_newer_config(),
            Scenario::VoteCrash => return self.plan_vote_crash(),
            Scenario::SaysMaster => return self.plan_says_master(),
            Scenario::RebootFenced => return self.plan_reboot_fenced(),
            Scenario::LostConnect => return self.plan_lost_connect(),
            Scenario::DemotedPromoted => return self.plan_demoted_promoted(),
            Scenario::ManyDown => return self.plan_many_down(),
            Scenario::StaleMajority => {
                // The master dies at 12 s (the sentinels know its replicas and peers);
                // the rest happens at the first promotion (`stale_majority_strike`).
                self.schedule(12_000, Ev::Fault(Fault::KillRedis(0)));
                self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
                return;
            }
            Scenario::Sweep | Scenario::Elections => {}
        }
        for _ in 0..self.p.faults {
            let at = self.rng.random_range(2_000..self.p.fault_until);
            let fault = self.random_fault();
            let undo = self.undo_for(&fault);
            self.schedule(at, Ev::Fault(fault));
            if let Some((after, undo)) = undo {
                self.schedule((at + after).min(self.p.fault_until), Ev::Fault(undo));
            }
        }
        // Operator actions come from the second RNG, so the fault plan above stays what it
        // was for every seed.
        let ops = if self.rng2.random_bool(0.5) { self.rng2.random_range(1..=3) } else { 0 };
        for _ in 0..ops {
            let at = self.rng2.random_range(2_000..self.p.fault_until);
            let s = self.rng2.random_range(0..self.p.sentinels);
            let fault = match self.rng2.random_range(0..6) {
                0 | 1 => Fault::ManualFailover(s),
                2 => Fault::Set { key: "down-after-milliseconds", value: self.rng2.random_range(1..=5) * 1000 },
                3 => Fault::Set { key: "failover-timeout", value: self.rng2.random_range(5..=15) * 1000 },
                4 => Fault::Set { key: "quorum", value: self.rng2.random_range(2..=(self.p.sentinels as u64 / 2 + 1)) },
                _ => {
                    let back = self.rng2.random_range(500..10_000);
                    self.schedule((at + back).min(self.p.fault_until), Ev::Fault(Fault::Monitor(s)));
                    Fault::Remove(s)
                }
            };
            self.schedule(at, Ev::Fault(fault));
        }
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Scenario `stale-votes`: the master dies at 2 s (back only at the heal); meanwhile the
    /// sentinels are split three ways, none with a majority, for 3-12 s at a time with a gap
    /// of 0.5-4 s between splits. Each group's candidates try and fail in epochs of their own;
    /// when a split ends, a candidate still waiting for votes hears of a newer epoch and
    /// asks again in it (its votes in that epoch elect nobody for its own).
    fn plan_stale_votes(&mut self) {
        self.schedule(2_000, Ev::Fault(Fault::KillRedis(0)));
        let n = self.p.sentinels;
        let mut at = self.rng.random_range(3_000..5_000);
        while at < self.p.fault_until {
            let groups = loop {
                let mut g: Vec<Vec<Node>> = vec![Vec::new(); 3];
                for s in 0..n {
                    g[self.rng.random_range(0..3)].push(Node::Sentinel(s));
                }
                if g.iter().all(|x| x.len() <= n / 2) {
                    break g;
                }
            };
            let len = self.rng.random_range(3_000..12_000);
            let end = (at + len).min(self.p.fault_until);
            for (i, j) in [(0, 1), (0, 2), (1, 2)] {
                let id = self.fault_id();
                let cut = Fault::Cut { id, from: groups[i].clone(), to: groups[j].clone(), both: true };
                self.schedule(at, Ev::Fault(cut));
                self.schedule(end, Ev::Fault(Fault::Uncut(id)));
            }
            at = end + self.rng.random_range(500..4_000);
        }
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Scenario `newer-config`: replication between redis 1 and 2 is cut (a leader that
    /// promotes 1 waits for 2 up to the failover timeout); the master dies at 12 s (once the
    /// sentinels know its replicas) and comes back 1.5-4 s later (to be converted into a
    /// replica); redis 1 dies between 22 and 36 s.
    fn plan_newer_config(&mut self) {
        let id = self.fault_id();
        let cut = Fault::Cut { id, from: vec![Node::Redis(1)], to: vec![Node::Redis(2)], both: true };
        self.schedule(1_000, Ev::Fault(cut));
        self.schedule(12_000, Ev::Fault(Fault::KillRedis(0)));
        let back = 12_000 + self.rng.random_range(1_500..4_000);
        self.schedule(back, Ev::Fault(Fault::RestartRedis { r: 0, empty: false }));
        let kill = self.rng.random_range(22_000..36_000);
        self.schedule(kill, Ev::Fault(Fault::KillRedis(1)));
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Scenario `vote-crash`: whichever node is the master dies at 2, 12 and 22 s and comes
    /// back 5 s later (to be converted): three elections, whose voters crash after voting
    /// (`drain_outputs`).
    fn plan_vote_crash(&mut self) {
        for at in [2_000, 12_000, 22_000] {
            self.schedule(at, Ev::Fault(Fault::KillMaster { back_after: 5_000 }));
        }
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// Scenario `stale-majority`, at the first `+promoted-slave` (sentinel `s`, the leader,
    /// now holds the new config epoch): `s` is cut off from every node before it can
    /// announce it or reconfigure the other replicas (for 3-8 s); every other sentinel
    /// crashes and restarts within 0.2-1.5 s (their new entries never saw the promoted
    /// replica turn into a master), and the old master comes back within 0.3-2 s. The
    /// others' majority confirms the old configuration; only the newer epoch they
    /// announced or voted in tells them that it may be stale.
    fn stale_majority_strike(&mut self, s: usize) {
        if self.p.scenario != Scenario::StaleMajority || self.struck {
            return;
        }
        self.struck = true;
        let id = self.fault_id();
        let mut rest: Vec<Node> = (0..self.sentinels.len()).filter(|&x| x != s).map(Node::Sentinel).collect();
        rest.extend((0..self.redis.len()).map(Node::Redis));
        rest.push(Node::Client);
        self.fault(Fault::Cut { id, from: vec![Node::Sentinel(s)], to: rest, both: true });
        let len = self.rng.random_range(3_000..8_000);
        self.schedule(len, Ev::Fault(Fault::Uncut(id)));
        for x in (0..self.sentinels.len()).filter(|&x| x != s) {
            self.crash_sentinel(x, true);
            let back = self.rng.random_range(200..1_500);
            self.schedule(back, Ev::Fault(Fault::RestartSentinel(x)));
        }
        let back = self.rng.random_range(300..2_000);
        self.schedule(back, Ev::Fault(Fault::RestartRedis { r: 0, empty: false }));
    }

    /// Scenario `says-master`: redis 0 (the master) dies at 12 s and redis 1 is promoted;
    /// redis 1 dies at 24-26 s and redis 0 comes back empty (still a master: nobody could
    /// demote it while it was down) 0.2-1.5 s later, so that the failover from redis 1
    /// finds it as the only replica entry, saying role:master.
    fn plan_says_master(&mut self) {
        self.schedule(12_000, Ev::Fault(Fault::KillRedis(0)));
        let kill = self.rng.random_range(24_000..26_000);
        self.schedule(kill, Ev::Fault(Fault::KillRedis(1)));
        let back = kill + self.rng.random_range(200..1_500);
        self.schedule(back, Ev::Fault(Fault::RestartRedis { r: 0, empty: true }));
        self.schedule(self.p.fault_until, Ev::Fault(Fault::Heal));
    }

    /// An operator's command to sentinel `s` (its reply goes nowhere).
    fn operator(&mut self, s: usize, words: &[&str]) {
        if !self.sentinels[s].alive() {
            return;
        }
        let args: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let client = self.next_client;
        self.next_client += 1;
        let now = self.now + self.sentinels[s].skew;
        self.sentinels[s].core.as_mut().unwrap().handle(now, Input::Command { client: ClientId(client), args });
        self.drain(s);
    }

    fn operator_fault(&mut self, f: Fault) {
        match f {
            Fault::ManualFailover(s) => {
                // An operator fails over a healthy cluster: skipped while the sentinel is
                // cut off or stalled or any sentinel sees the master down or failing over
                // (a forced failover skips the election, §8.8, and would share an epoch).
                let busy = (0..self.sentinels.len())
                    .any(|x| self.status(x, 0).is_some_and(|m| m.sdown || m.odown || m.failover_state != "none"));
                // (`demoted-promoted` cuts it from the sentinels it hides the failover from.)
                let cut = self.p.scenario != Scenario::DemotedPromoted
                    && self.cuts.iter().any(|(a, b)| *a == Node::Sentinel(s) || *b == Node::Sentinel(s));
                // One per run: two forced failovers may share an epoch (no election), e.g.
                // when the first leader crashed before announcing its (seed 378, elections).
                let again = !self.manual.is_empty();
                if busy || cut || again || self.sentinels[s].stalled_until > self.now || self.removed.contains(&s) {
                    return;
                }
                self.operator_failover = Some(s);
                self.operator(s, &["SENTINEL", "FAILOVER", MASTER]);
                self.operator_failover = None;
                let Some(m) = self.status(s, 0) else {
                    return;
                };
                if m.failover_state != "none" {
                    self.cov.manual_failovers += 1;
                    self.manual.insert((s, m.failover_epoch.0));
                }
            }
            Fault::Set { key, value } => {
                self.cov.runtime_sets += 1;
                match key {
                    "down-after-milliseconds" => {
                        self.p.down_after = value;
                        self.down_after_max = self.down_after_max.max(value);
                    }
                    "failover-timeout" => self.p.failover_timeout = value,
                    _ => {
                        self.p.quorum = value as u32;
                        self.quorum_min = self.quorum_min.min(value as u32);
                    }
                }
                let v = value.to_string();
                for s in 0..self.sentinels.len() {
                    self.operator(s, &["SENTINEL", "SET", MASTER, key, &v]);
                }
            }
            Fault::Remove(s) => {
                if self.sentinels[s].alive() && !self.removed.contains(&s) {
                    self.cov.remonitors += 1;
                    self.operator(s, &["SENTINEL", "REMOVE", MASTER]);
                    self.removed.insert(s);
                    self.monitors[s] += 1;
                }
            }
            Fault::Monitor(s) => self.remonitor(s),
            _ => unreachable!("not an operator fault"),
        }
    }

    /// `SENTINEL MONITOR` again on `s`, with the address and settings the operator reads
    /// from another sentinel (or the initial address when none answers).
    fn remonitor(&mut self, s: usize) {
        if !self.removed.contains(&s) || !self.sentinels[s].alive() {
            return;
        }
        let addr = (0..self.sentinels.len())
            .filter(|&i| i != s && !self.removed.contains(&i))
            .find_map(|i| self.status(i, 0))
            .map_or_else(|| self.redis[0].addr.clone(), |m| m.current);
        let (port, q) = (addr.port.to_string(), self.p.quorum.to_string());
        self.operator(s, &["SENTINEL", "MONITOR", MASTER, &addr.host, &port, &q]);
        let (da, ft) = (self.p.down_after.to_string(), self.p.failover_timeout.to_string());
        let wl = self.p.write_lease.to_string();
        let set =
            ["SENTINEL", "SET", MASTER, "down-after-milliseconds", &da, "failover-timeout", &ft, "write-lease", &wl];
        self.operator(s, &set);
        // A crash right after the command may have lost it (not yet persisted): the
        // operator tries again (at the latest when the faults end).
        if self.status(s, 0).is_some() {
            self.removed.remove(&s);
        }
    }

    fn random_fault(&mut self) -> Fault {
        let s = self.rng.random_range(0..self.p.sentinels);
        let r = if self.rng.random_bool(0.6) { 0 } else { self.rng.random_range(0..self.p.redis) };
        // With several masters, each fault strikes one of them (never drawn with one, so
        // that a one-master seed stays what it was).
        let base = if self.p.masters > 1 { self.rng.random_range(0..self.p.masters) * self.p.redis } else { 0 };
        let r = base + r;
        if self.p.scenario == Scenario::Elections {
            return match self.rng.random_range(0..6) {
                0 | 1 => Fault::KillRedis(0),
                2 => Fault::Delay { id: self.fault_id(), ms: self.rng.random_range(100..600) },
                3 => Fault::Loss { id: self.fault_id(), p: self.rng.random_range(0.1..0.4) },
                4 => Fault::CrashSentinel(s),
                _ => Fault::Stall { s, ms: self.rng.random_range(200..2000) },
            };
        }
        match self.rng.random_range(0..10) {
            0..=2 => Fault::KillRedis(r),
            3 => Fault::CrashSentinel(s),
            4 | 5 => self.random_cut(),
            6 => Fault::Loss { id: self.fault_id(), p: self.rng.random_range(0.05..0.5) },
            7 => Fault::Delay { id: self.fault_id(), ms: self.rng.random_range(10..400) },
            8 => Fault::Stall { s, ms: self.rng.random_range(500..5000) },
            _ => Fault::ClockJump { s, ms: self.rng.random_range(1000..10_000) },
        }
    }

    fn fault_id(&mut self) -> u64 {
        self.next_fault_id += 1;
        self.next_fault_id
    }

    fn random_cut(&mut self) -> Fault {
        let mut all: Vec<Node> = (0..self.p.sentinels).map(Node::Sentinel).collect();
        let base = if self.p.masters > 1 { self.rng.random_range(0..self.p.masters) * self.p.redis } else { 0 };
        all.extend((base..base + self.p.redis).map(Node::Redis));
        all.push(Node::Client);
        let mut side = Vec::new();
        let mut rest = Vec::new();
        for n in all {
            if self.rng.random_bool(0.35) {
                side.push(n)
            } else {
                rest.push(n)
            }
        }
        let id = self.fault_id();
        Fault::Cut { id, from: side, to: rest, both: self.rng.random_bool(0.7) }
    }

    fn undo_for(&mut self, f: &Fault) -> Option<(u64, Fault)> {
        let after = self.rng.random_range(1_000..15_000);
        match f {
            Fault::KillRedis(r) => Some((after, Fault::RestartRedis { r: *r, empty: self.rng.random_bool(0.3) })),
            Fault::CrashSentinel(s) => Some((after.min(5000), Fault::RestartSentinel(*s))),
            Fault::Cut { id, .. } => Some((after, Fault::Uncut(*id))),
            Fault::Loss { id, .. } => Some((after, Fault::EndLoss(*id))),
            Fault::Delay { id, .. } => Some((after, Fault::EndDelay(*id))),
            _ => None,
        }
    }

    /// Runs the whole scenario; `Err` on the first violated invariant or no convergence.
    pub fn run(&mut self) -> Result<(), String> {
        let end = self.p.fault_until + self.p.settle;
        let mut converged_since: Option<u64> = None;
        let mut checked_at = 0;
        let mut many_down = (self.p.scenario == Scenario::ManyDown).then(|| many_down::Progress::new(self));
        while self.now < end {
            self.step()?;
            if let Some(md) = many_down.as_mut() {
                md.check(self)?;
            }
            // Convergence is sampled every 50 ms of simulated time.
            if self.now > self.p.fault_until && self.now >= checked_at + 50 {
                checked_at = self.now;
                match self.converged() {
                    Ok(()) => {
                        let since = *converged_since.get_or_insert(self.now);
                        if self.now - since > 5_000 {
                            return Ok(());
                        }
                    }
                    Err(_) => converged_since = None,
                }
            }
        }
        self.converged().map_err(|e| format!("no convergence {} s after the heal: {e}", self.p.settle / 1000))
    }

    /// The earliest of: the next queued event, the next tick of a running sentinel.
    fn step(&mut self) -> Result<(), String> {
        let next_ev = self.queue.peek().map(|Reverse((t, _, _))| *t).unwrap_or(u64::MAX);
        let mut next_tick = (u64::MAX, usize::MAX);
        for (i, s) in self.sentinels.iter().enumerate() {
            if let Some(c) = &s.core {
                let t = c.poll_timeout().saturating_sub(s.skew).max(s.stalled_until);
                if t < next_tick.0 {
                    next_tick = (t, i);
                }
            }
        }
        if next_tick.0 <= next_ev {
            self.now = self.now.max(next_tick.0);
            let i = next_tick.1;
            let now = self.now + self.sentinels[i].skew;
            self.sentinels[i].core.as_mut().unwrap().handle_timeout(now);
            self.drain(i);
        } else {
            let Some(Reverse((t, _, id))) = self.queue.pop() else { return Ok(()) };
            self.now = self.now.max(t);
            let ev = self.events.remove(&id).expect("queued event");
            self.process(ev);
        }
        // Sentinel state only changes when a sentinel handles something.
        let dirty = std::mem::take(&mut self.dirty);
        let mut c = std::mem::take(&mut self.checker);
        let r = c.after_step(self, dirty);
        self.checker = c;
        r.map_err(|e| format!("invariant violated: {e}"))
    }

    fn process(&mut self, ev: Ev) {
        match ev {
            Ev::ConnectDone { s, gen, link } => self.connect_done(s, gen, link),
            Ev::Deliver { s, gen, link, tag, req } => self.deliver(s, gen, link, tag, req),
            Ev::Reply { s, gen, link, tag, value, obs } => {
                if self.input(s, gen, link, obs.clone(), |l| Input::Reply { link: l, tag, reply: value }) {
                    if let Some(o) = obs {
                        self.observed(s, o);
                    }
                }
            }
            Ev::Push { s, gen, link, frame } => {
                self.input(s, gen, link, None, |l| Input::PubSub { link: l, frame });
            }
            Ev::Down { s, gen, link } => self.link_down(s, gen, link),
            Ev::Fault(f) => self.fault(f),
            Ev::Replicate => {
                self.replicate();
                self.schedule(100, Ev::Replicate);
            }
        }
    }

    /// The connection closed under the sentinel (deferred while it is stalled).
    fn link_down(&mut self, s: usize, gen: u32, link: LinkId) {
        let sen = &self.sentinels[s];
        if sen.gen != gen || !sen.alive() || !sen.conns.contains_key(&link) {
            return;
        }
        if sen.stalled_until > self.now {
            let wait = sen.stalled_until - self.now;
            self.schedule(wait, Ev::Down { s, gen, link });
            return;
        }
        self.sentinels[s].conns.remove(&link);
        let now = self.now + self.sentinels[s].skew;
        let input = Input::LinkDown { link, reason: "reset".into(), refused: false };
        self.sentinels[s].core.as_mut().unwrap().handle(now, input);
        self.drain(s);
    }

    /// Feeds an input on `link` to a live sentinel of generation `gen` (deferred while
    /// it is stalled). True when the sentinel handled it now.
    fn input(
        &mut self,
        s: usize,
        gen: u32,
        link: LinkId,
        obs: Option<Obs>,
        make: impl FnOnce(LinkId) -> Input,
    ) -> bool {
        let sen = &self.sentinels[s];
        if sen.gen != gen || !sen.alive() || !sen.conns.contains_key(&link) {
            return false;
        }
        let input = make(link);
        if sen.stalled_until > self.now {
            // A stopped process reads its sockets when it resumes.
            let wait = sen.stalled_until - self.now;
            let ev = match input {
                Input::Reply { link, tag, reply } => Ev::Reply { s, gen, link, tag, value: reply, obs },
                Input::PubSub { link, frame } => Ev::Push { s, gen, link, frame },
                _ => return false,
            };
            self.schedule(wait, ev);
            return false;
        }
        let now = self.now + sen.skew;
        self.sentinels[s].core.as_mut().unwrap().handle(now, input);
        self.drain(s);
        true
    }

    /// Records what a reply from a Redis told sentinel `s`, stamped with its own clock.
    fn observed(&mut self, s: usize, o: Obs) {
        let at = self.now + self.sentinels[s].skew;
        match o {
            Obs::Pong(r) => {
                self.seen.pong.insert((s, r), at);
                self.demoted_try_failover(s, r);
            }
            Obs::Info { r, link_down_ms, says_master } => {
                self.seen.info.insert((s, r), (at, link_down_ms, says_master));
                self.demoted_try_failover(s, r);
            }
        }
    }

    fn latency(&mut self) -> u64 {
        1 + self.rng.random_range(0..=2 + self.delay)
    }

    fn dropped(&mut self, from: Node, to: Node) -> bool {
        self.cuts.contains(&(from, to)) || (self.loss > 0.0 && self.rng.random_bool(self.loss))
    }

    /// Executes a sentinel's outputs strictly in order (a crash may cut them short).
    fn drain(&mut self, s: usize) {
        self.dirty = true;
        self.drain_outputs(s);
        let n = self.p.masters;
        self.views[s] = self.sentinels[s].core.as_ref().map(|c| {
            let all = c.masters();
            let masters = (0..n)
                .map(|g| {
                    let name = master_name(g);
                    match all.iter().find(|m| m.name == name) {
                        Some(m) => MasterView { config_epoch: m.config_epoch.0, current: Some(m.current.clone()) },
                        None => MasterView { config_epoch: 0, current: None },
                    }
                })
                .collect();
            View { current_epoch: c.current_epoch().0, masters }
        });
    }

    fn drain_outputs(&mut self, s: usize) {
        loop {
            let Some(core) = self.sentinels[s].core.as_mut() else { return };
            let Some(out) = core.poll_output() else { return };
            let mut c = std::mem::take(&mut self.checker);
            c.before_output(s, &out, self);
            self.checker = c;
            let granted_vote = is_vote_reply(&out);
            self.execute(s, out);
            // Crashes are likeliest where they hurt: right after a vote left, and
            // during a failover.
            let in_failover =
                self.sentinels[s].core.as_ref().is_some_and(|c| c.masters().iter().any(|m| m.failover_state != "none"));
            let p = if self.p.scenario == Scenario::VoteCrash {
                if granted_vote {
                    0.7
                } else {
                    0.0
                }
            } else if granted_vote {
                0.2
            } else if in_failover {
                0.01
            } else {
                0.0005
            };
            // Not in `newer-config` (its leader must live through a long failover), nor in
            // `stale-votes` before 3 s: a sentinel that crashes before it has learnt and
            // persisted its peers counts a majority of the voters it knows only (a gap of
            // its own, which this scenario is not about; reported with stale-votes seed 119).
            let crashes = match self.p.scenario {
                Scenario::NewerConfig | Scenario::StaleMajority | Scenario::SaysMaster => false,
                Scenario::RebootFenced | Scenario::LostConnect | Scenario::DemotedPromoted | Scenario::ManyDown => {
                    false
                }
                Scenario::StaleVotes => self.now >= 3_000,
                Scenario::Sweep | Scenario::Elections | Scenario::VoteCrash => true,
            };
            if crashes && self.now < self.p.fault_until && self.rng.random_bool(p) {
                self.crash_sentinel(s, true);
                let back = match self.p.scenario {
                    Scenario::VoteCrash => self.rng.random_range(50..500),
                    _ => self.rng.random_range(100..3000),
                };
                self.schedule(back, Ev::Fault(Fault::RestartSentinel(s)));
                return;
            }
        }
    }

    fn execute(&mut self, s: usize, out: Output) {
        let gen = self.sentinels[s].gen;
        match out {
            Output::Connect { link, addr, kind, .. } => {
                let target = self.resolve(&addr);
                let lat = self.latency();
                if let Some(target) = target {
                    self.sentinels[s].conns.insert(link, Conn { target, kind, up: false, fifo_at: 0, lost: false });
                    if self.connect_unreported(s, target) {
                        return;
                    }
                    self.schedule(lat, Ev::ConnectDone { s, gen, link });
                } else {
                    self.sentinels[s]
                        .conns
                        .insert(link, Conn { target: Node::Sentinel(s), kind, up: false, fifo_at: 0, lost: false });
                    self.schedule(lat, Ev::Down { s, gen, link });
                }
            }
            Output::Send { link, tag, request } => self.send(s, gen, link, tag, request),
            Output::Close { link } => {
                self.sentinels[s].conns.remove(&link);
            }
            Output::Persist(snap) => self.sentinels[s].persisted = *snap,
            Output::Reply { client, value } => self.peer_reply(s, client, value),
            Output::Event(ev) => {
                let myid = self.sentinels[s].myid.clone();
                self.log(|| format!("s{s} {} {}", ev.name, ev.message));
                self.count(ev.name);
                let at = self.now + self.sentinels[s].skew;
                let g = ev.master.as_deref().and_then(|name| self.group_named(name)).unwrap_or(0);
                match ev.name {
                    "+sdown" if ev.message.starts_with("master ") => {
                        self.seen.sdown_at.insert((s, g), at);
                    }
                    "-sdown" if ev.message.starts_with("master ") => {
                        self.seen.sdown_at.remove(&(s, g));
                    }
                    "+selected-slave" => self.cov.selections_checked += 1,
                    "+odown" => self.cov.odowns_checked += 1,
                    _ => {}
                }
                let promoted = ev.name == "+promoted-slave";
                let mut c = std::mem::take(&mut self.checker);
                c.event(s, &myid, &ev, self);
                self.checker = c;
                if promoted {
                    self.stale_majority_strike(s);
                }
                self.demoted_event(s, ev.name, &ev.message);
            }
            Output::Exit(_) => self.crash_sentinel(s, true),
            Output::RunScript { .. } | Output::KillScript { .. } => {}
        }
    }

    fn count(&mut self, name: &str) {
        let c = &mut self.cov;
        match name {
            "+failover-end" => c.failovers_completed += 1,
            "+config-update-from" => c.switch_observed += 1,
            "-failover-abort-not-elected" => c.elections_aborted += 1,
            "-failover-abort-no-good-slave" | "-failover-abort-slave-timeout" => c.failovers_aborted += 1,
            "+tilt" => c.tilts += 1,
            "+convert-to-slave" => c.converted_old_masters += 1,
            "+vote-for-leader" => c.votes_granted += 1,
            _ => {}
        }
    }

    fn resolve(&self, addr: &Addr) -> Option<Node> {
        if let Some(i) = self.redis.iter().position(|r| r.addr.same(addr)) {
            return Some(Node::Redis(i));
        }
        self.sentinels.iter().position(|x| x.addr.same(addr)).map(Node::Sentinel)
    }

    fn node_alive(&self, n: Node) -> bool {
        match n {
            Node::Redis(r) => self.redis[r].alive,
            Node::Sentinel(p) => self.sentinels[p].alive(),
            Node::Client => true,
        }
    }

    fn connect_done(&mut self, s: usize, gen: u32, link: LinkId) {
        let Some(conn) = self.sentinels[s].conns.get(&link) else { return };
        let target = conn.target;
        if self.sentinels[s].gen != gen {
            return;
        }
        if self.cuts.contains(&(Node::Sentinel(s), target)) || self.cuts.contains(&(target, Node::Sentinel(s))) {
            // SYN lost: the shell's connect deadline fires.
            self.schedule(1000, Ev::Down { s, gen, link });
            return;
        }
        if !self.node_alive(target) {
            self.link_down(s, gen, link);
            return;
        }
        self.sentinels[s].conns.get_mut(&link).unwrap().up = true;
        let ip = self.sentinels[s].addr.host.clone();
        let peer_ip = match target {
            Node::Redis(r) => self.redis[r].addr.host.clone(),
            Node::Sentinel(p) => self.sentinels[p].addr.host.clone(),
            Node::Client => return,
        };
        self.input(s, gen, link, None, |l| Input::LinkUp { link: l, local_ip: ip, peer_ip });
    }

    fn send(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, req: Request) {
        let Some(conn) = self.sentinels[s].conns.get(&link) else { return };
        if !conn.up {
            return;
        }
        let target = conn.target;
        if conn.lost || self.lose(s, link, Node::Sentinel(s), target) {
            return;
        }
        let at = self.fifo(s, link);
        self.schedule(at, Ev::Deliver { s, gen, link, tag, req });
    }

    /// Delay that keeps per-connection order.
    fn fifo(&mut self, s: usize, link: LinkId) -> u64 {
        let lat = self.latency();
        let now = self.now;
        let conn = self.sentinels[s].conns.get_mut(&link).unwrap();
        let at = (now + lat).max(conn.fifo_at);
        conn.fifo_at = at;
        at - now
    }

    fn deliver(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, req: Request) {
        let Some(conn) = self.sentinels[s].conns.get(&link) else { return };
        if self.sentinels[s].gen != gen {
            return;
        }
        match conn.target {
            Node::Redis(r) => self.redis_request(s, gen, link, tag, r, req),
            Node::Sentinel(p) => self.peer_request(s, gen, link, tag, p, req),
            Node::Client => {}
        }
    }

    fn reply_to(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, from: Node, value: Value) {
        self.reply_obs(s, gen, link, tag, from, value, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn reply_obs(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, from: Node, value: Value, obs: Option<Obs>) {
        let Some(conn) = self.sentinels[s].conns.get(&link) else { return };
        if conn.lost || self.lose(s, link, from, Node::Sentinel(s)) {
            return;
        }
        let at = self.fifo(s, link);
        self.schedule(at, Ev::Reply { s, gen, link, tag, value, obs });
    }

    /// Whether a message from `from` to `to` on sentinel `s`'s `link` is lost; if so the
    /// connection loses everything after it too (no gaps in a TCP stream).
    fn lose(&mut self, s: usize, link: LinkId, from: Node, to: Node) -> bool {
        if !self.dropped(from, to) {
            return false;
        }
        if let Some(c) = self.sentinels[s].conns.get_mut(&link) {
            if !c.lost {
                c.lost = true;
                // TCP gives up on the stream: the shell sees the connection reset.
                let gen = self.sentinels[s].gen;
                self.schedule(1000, Ev::Down { s, gen, link });
            }
        }
        true
    }

    fn redis_request(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, r: usize, req: Request) {
        if !self.redis[r].alive {
            self.link_down(s, gen, link);
            return;
        }
        let mut obs = None;
        let value = match req {
            Request::Ping => {
                obs = Some(Obs::Pong(r));
                Value::simple("PONG")
            }
            Request::Info => {
                let replicas: Vec<&RedisNode> = self
                    .redis
                    .iter()
                    .filter(|x| {
                        x.alive && x.link_up && matches!(&x.role, Role::Replica(m) if m.same(&self.redis[r].addr))
                    })
                    .collect();
                let says_master = self.redis[r].role == Role::Master;
                obs = Some(Obs::Info { r, link_down_ms: self.redis[r].link_down_ms(self.now), says_master });
                Value::bulk(self.redis[r].info(&replicas, self.now))
            }
            Request::Publish { payload, .. } => {
                let n = self.publish(r, &payload);
                Value::Int(n)
            }
            Request::ReplicaOf(target) => match self.replicaof(r, target, s, link) {
                Ok(()) => Value::Array(vec![Value::ok(), Value::ok()]),
                // EXEC's CONFIG REWRITE failed (no config file); SLAVEOF was done.
                Err(e) => Value::error(e),
            },
            Request::ScriptKill => Value::error("NOTBUSY No scripts in execution right now."),
            Request::ConfigSet { pairs, rewrite } => match self.redis[r].config_set(&pairs) {
                Ok(()) => {
                    self.cov.config_sets += 1;
                    self.log(|| format!("redis{r} CONFIG SET {pairs:?}"));
                    // CONFIG SET then CONFIG REWRITE: the first error is the reply.
                    match if rewrite { self.redis[r].rewrite() } else { Ok(()) } {
                        Ok(()) => Value::ok(),
                        Err(e) => Value::error(e),
                    }
                }
                Err(e) => Value::error(e),
            },
            Request::IsMasterDownByAddr { .. } | Request::SentinelMaster { .. } => {
                Value::error("ERR unknown command 'SENTINEL'")
            }
            // Only `SENTINEL FAILOVER <m> COORDINATED` sends it, which the simulation never
            // issues; the simulated Redis refuses it as a Redis without FAILOVER would.
            Request::Failover { .. } => Value::error("ERR unknown command 'FAILOVER'"),
        };
        self.reply_obs(s, gen, link, tag, Node::Redis(r), value, obs);
    }

    fn publish(&mut self, r: usize, payload: &str) -> i64 {
        let mut subs = Vec::new();
        for (i, sen) in self.sentinels.iter().enumerate() {
            for (l, c) in &sen.conns {
                if c.up && c.kind == LinkKind::PubSub && c.target == Node::Redis(r) {
                    subs.push((i, sen.gen, *l));
                }
            }
        }
        let frame = Value::Push(vec![Value::bulk("message"), Value::bulk("__sentinel__:hello"), Value::bulk(payload)]);
        for (i, gen, l) in &subs {
            let lost = self.sentinels[*i].conns.get(l).is_none_or(|c| c.lost);
            if !lost && !self.lose(*i, *l, Node::Redis(r), Node::Sentinel(*i)) {
                let at = self.fifo(*i, *l);
                self.schedule(at, Ev::Push { s: *i, gen: *gen, link: *l, frame: frame.clone() });
            }
        }
        subs.len() as i64
    }

    /// SLAVEOF plus `CLIENT KILL TYPE normal|pubsub`: every other connection drops.
    fn replicaof(&mut self, r: usize, target: Option<Addr>, s: usize, keep: LinkId) -> Result<(), String> {
        self.dist.redis.insert(r, self.now);
        let fresh = hexid(&mut self.rng2);
        let now = self.now;
        let node = &mut self.redis[r];
        match target {
            None if node.role == Role::Master => {}
            None => {
                // shiftReplicationId: the old history stays reachable as replid2.
                node.role = Role::Master;
                node.link_up = false;
                node.replid2 = std::mem::replace(&mut node.replid, fresh);
                node.master_since = now;
                self.promotions.push(Promotion { at: now, r, first_write: None });
                self.cov.promotions += 1;
            }
            Some(a) => {
                if node.role != Role::Replica(a.clone()) {
                    node.role = Role::Replica(a);
                    node.link_up = false;
                    node.link_down_since = Some(self.now);
                }
            }
        }
        // MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL ..., EXEC.
        let rewritten = self.redis[r].rewrite();
        let role = self.redis[r].role.clone();
        self.log(|| format!("redis{r} now {role:?}"));
        self.drop_conns_to(Node::Redis(r), Some((s, keep)));
        rewritten
    }

    fn drop_conns_to(&mut self, target: Node, keep: Option<(usize, LinkId)>) {
        let mut downs = Vec::new();
        for (i, sen) in self.sentinels.iter().enumerate() {
            for (l, c) in &sen.conns {
                if c.target == target && keep != Some((i, *l)) {
                    downs.push((i, sen.gen, *l));
                }
            }
        }
        for (i, gen, l) in downs {
            let lat = self.latency();
            self.schedule(lat, Ev::Down { s: i, gen, link: l });
        }
    }

    fn peer_request(&mut self, s: usize, gen: u32, link: LinkId, tag: u64, p: usize, req: Request) {
        if !self.sentinels[p].alive() {
            self.link_down(s, gen, link);
            return;
        }
        if self.sentinels[p].stalled_until > self.now {
            let wait = self.sentinels[p].stalled_until - self.now;
            self.schedule(wait, Ev::Deliver { s, gen, link, tag, req });
            return;
        }
        let args: Vec<Vec<u8>> = match req {
            Request::Ping => return self.reply_to(s, gen, link, tag, Node::Sentinel(p), Value::simple("PONG")),
            Request::Publish { channel, payload } => {
                vec![b"PUBLISH".to_vec(), channel.into_bytes(), payload.into_bytes()]
            }
            Request::IsMasterDownByAddr { addr, epoch, runid } => vec![
                b"SENTINEL".to_vec(),
                b"is-master-down-by-addr".to_vec(),
                addr.host.into_bytes(),
                addr.port.to_string().into_bytes(),
                epoch.0.to_string().into_bytes(),
                runid.unwrap_or_else(|| "*".into()).into_bytes(),
            ],
            Request::SentinelMaster { name } => {
                self.cov.peer_master_queries += 1;
                vec![b"SENTINEL".to_vec(), b"MASTER".to_vec(), name.into_bytes()]
            }
            _ => return self.reply_to(s, gen, link, tag, Node::Sentinel(p), Value::error("ERR unknown command")),
        };
        let client = self.next_client;
        self.next_client += 1;
        self.calls.insert((p, client), PeerCall { asker: s, gen, link, tag, args: args.clone() });
        let now = self.now + self.sentinels[p].skew;
        self.sentinels[p].core.as_mut().unwrap().handle(now, Input::Command { client: ClientId(client), args });
        self.drain(p);
    }

    fn peer_reply(&mut self, p: usize, client: ClientId, value: Value) {
        let Some(call) = self.calls.remove(&(p, client.0)) else { return };
        let voter = self.sentinels[p].myid.clone();
        // The master the request is about: the one its address belongs to.
        let host = call.args.get(2).map(|h| String::from_utf8_lossy(h).into_owned()).unwrap_or_default();
        let r = self.redis.iter().position(|x| x.addr.host == host);
        let master = r.map_or_else(String::new, |r| master_name(self.group(r)));
        self.checker.vote_reply(&voter, &master, &call.args, &value);
        self.reply_to(call.asker, call.gen, call.link, call.tag, Node::Sentinel(p), value);
    }

    fn crash_sentinel(&mut self, s: usize, mid: bool) {
        if !self.sentinels[s].alive() {
            return;
        }
        let in_failover =
            self.sentinels[s].core.as_ref().is_some_and(|c| c.masters().iter().any(|m| m.failover_state != "none"));
        self.cov.sentinel_crashes += 1;
        if in_failover && mid {
            self.cov.crashes_mid_failover += 1;
        }
        self.log(|| format!("s{s} CRASH"));
        self.dist.sentinel.insert(s, self.now);
        self.sentinels[s].core = None;
        self.views[s] = None;
        self.dirty = true;
        self.sentinels[s].conns.clear();
        self.sentinels[s].gen += 1;
        self.sentinels[s].stalled_until = 0;
        self.drop_conns_to(Node::Sentinel(s), None);
    }

    fn fault(&mut self, f: Fault) {
        self.log(|| format!("FAULT {f:?}"));
        match f {
            Fault::KillRedis(r) => {
                self.redis[r].alive = false;
                self.dist.redis.insert(r, self.now);
                self.drop_conns_to(Node::Redis(r), None);
            }
            Fault::KillMaster { back_after } => {
                let master = (0..self.p.redis).find(|&r| self.redis[r].alive && self.redis[r].role == Role::Master);
                if let Some(r) = master {
                    self.fault(Fault::KillRedis(r));
                    self.schedule(back_after, Ev::Fault(Fault::RestartRedis { r, empty: false }));
                }
            }
            Fault::RestartRedis { r, empty } => self.restart_redis(r, empty),
            Fault::CrashSentinel(s) => self.crash_sentinel(s, false),
            Fault::RestartSentinel(s) => {
                if !self.sentinels[s].alive() {
                    self.boot(s);
                }
            }
            Fault::Cut { id, from, to, both } => {
                self.cov.partitions += 1;
                let mut pairs = Vec::new();
                for a in &from {
                    for b in &to {
                        pairs.push((*a, *b));
                        if both {
                            pairs.push((*b, *a));
                        }
                    }
                }
                self.cut_sets.insert(id, pairs);
                self.recompute_cuts();
            }
            Fault::Uncut(id) => {
                self.cut_sets.remove(&id);
                self.recompute_cuts();
            }
            Fault::Heal => self.heal(),
            Fault::Loss { id, p } => {
                self.losses.insert(id, p);
                self.recompute_noise();
            }
            Fault::EndLoss(id) => {
                self.losses.remove(&id);
                self.recompute_noise();
            }
            Fault::Delay { id, ms } => {
                self.delays.insert(id, ms);
                self.recompute_noise();
            }
            Fault::EndDelay(id) => {
                self.delays.remove(&id);
                self.recompute_noise();
            }
            Fault::Stall { s, ms } => {
                let until = self.now + ms;
                self.sentinels[s].stalled_until = until;
                self.dist.sentinel.insert(s, until);
            }
            Fault::ClockJump { s, ms } => {
                self.sentinels[s].skew += ms;
                self.dist.sentinel.insert(s, self.now);
            }
            f @ (Fault::ManualFailover(_) | Fault::Set { .. } | Fault::Remove(_) | Fault::Monitor(_)) => {
                self.operator_fault(f)
            }
            Fault::LoseConnects { s, r, ms } => self.lose_connects(s, r, ms),
        }
    }

    /// The union of the cuts in force; pairs whose state changed count as disturbed.
    fn recompute_cuts(&mut self) {
        let new: BTreeSet<(Node, Node)> = self.cut_sets.values().flatten().copied().collect();
        let changed: Vec<(Node, Node)> = new.symmetric_difference(&self.cuts).copied().collect();
        for (a, b) in changed {
            match (a, b) {
                (Node::Sentinel(s), Node::Redis(r)) | (Node::Redis(r), Node::Sentinel(s)) => {
                    self.dist.pair.insert((s, r), self.now);
                }
                _ => {}
            }
        }
        self.cuts = new;
    }

    /// Loss and delay in force: the worst of the faults still running.
    fn recompute_noise(&mut self) {
        self.loss = self.losses.values().copied().fold(0.0, f64::max);
        self.delay = self.delays.values().copied().max().unwrap_or(0);
        self.dist.global = self.now;
    }

    /// The last time the path between sentinel `s` and Redis `r` (both ends included) was
    /// disturbed by a fault; `now` while it is.
    pub fn disturbed(&self, s: usize, r: usize) -> u64 {
        let now = self.now;
        let mut t = self.dist.global;
        if self.loss > 0.0 || self.delay > 0 {
            t = now;
        }
        t = t.max(self.dist.redis.get(&r).copied().unwrap_or(0));
        if !self.redis[r].alive || self.redis[r].role != Role::Master {
            t = now;
        }
        t = t.max(self.dist.sentinel.get(&s).copied().unwrap_or(0).min(now));
        if !self.sentinels[s].alive() || self.sentinels[s].stalled_until > now {
            t = now;
        }
        t = t.max(self.dist.pair.get(&(s, r)).copied().unwrap_or(0));
        let (a, b) = (Node::Sentinel(s), Node::Redis(r));
        if self.cuts.contains(&(a, b)) || self.cuts.contains(&(b, a)) {
            t = now;
        }
        t
    }

    /// The Redis node at `addr`.
    pub fn redis_at(&self, addr: &Addr) -> Option<usize> {
        self.redis.iter().position(|r| r.addr.same(addr))
    }

    /// The node a sentinel's link goes to.
    pub fn link_target(&self, s: usize, link: LinkId) -> Option<Node> {
        self.sentinels[s].conns.get(&link).map(|c| c.target)
    }

    fn heal(&mut self) {
        self.cut_sets.clear();
        self.recompute_cuts();
        self.losses.clear();
        self.delays.clear();
        self.recompute_noise();
        if self.now >= self.p.fault_until {
            for r in 0..self.redis.len() {
                if !self.redis[r].alive {
                    self.restart_redis(r, false);
                }
            }
            for s in 0..self.sentinels.len() {
                if !self.sentinels[s].alive() {
                    self.boot(s);
                }
                self.remonitor(s);
            }
        }
    }

    fn restart_redis(&mut self, r: usize, empty: bool) {
        if self.redis[r].alive {
            return;
        }
        self.next_runid += 1;
        self.dist.redis.insert(r, self.now);
        let fresh = hexid(&mut self.rng2);
        let node = &mut self.redis[r];
        node.alive = true;
        node.run_id = format!("{:040x}", 0xfeed_0000_0000u64 + self.next_runid);
        node.link_up = false;
        node.link_down_since = Some(self.now);
        node.good_replicas = 0;
        // CONFIG SET alone is not persisted; what the last CONFIG REWRITE wrote is.
        node.load_conf();
        if empty || node.role == Role::Master {
            // A new history: new replid, none before it. (A replica restarted from its
            // RDB keeps its replid so that it can PSYNC.)
            node.replid = fresh;
            node.replid2 = NO_REPLID.to_string();
        }
        if empty {
            node.offset = 0;
        }
    }

    /// Replication and client writes, every 100 ms.
    fn replicate(&mut self) {
        self.ticks += 1;
        let now = self.now;
        // Other clients' writes, on every master that accepts them.
        for r in 0..self.redis.len() {
            if self.redis[r].alive && self.redis[r].write_refusal(now).is_none() {
                self.redis[r].offset += 10;
                self.accepted_write(r);
            }
        }
        self.client_write();
        for r in 0..self.redis.len() {
            let Role::Replica(m) = self.redis[r].role.clone() else { continue };
            if !self.redis[r].alive {
                continue;
            }
            let up = self.redis.iter().position(|x| x.addr.same(&m)).filter(|&u| {
                self.redis[u].alive
                    && u != r
                    && !self.cuts.contains(&(Node::Redis(u), Node::Redis(r)))
                    && !self.cuts.contains(&(Node::Redis(r), Node::Redis(u)))
            });
            let node_since = self.redis[r].link_down_since;
            match up {
                Some(u) if self.redis[r].link_up || node_since.is_none_or(|t| now - t >= self.redis[r].sync_ms) => {
                    let off = self.redis[u].offset;
                    let (mid, mid2) = (self.redis[u].replid.clone(), self.redis[u].replid2.clone());
                    let node = &mut self.redis[r];
                    if node.replid != mid {
                        if mid2 == node.replid {
                            // PSYNC to a promoted sibling: our history is its replid2.
                            node.replid2 = std::mem::replace(&mut node.replid, mid);
                        } else {
                            // Full sync: the master's id, no second one.
                            node.replid = mid;
                            node.replid2 = NO_REPLID.to_string();
                        }
                    }
                    node.link_up = true;
                    node.link_down_since = None;
                    node.offset = off;
                    node.last_ack = now;
                }
                Some(_) => {}
                None => {
                    let node = &mut self.redis[r];
                    if node.link_up || node.link_down_since.is_none() {
                        node.link_up = false;
                        node.link_down_since = Some(now);
                    }
                }
            }
        }
        if self.ticks % 10 == 0 {
            // refreshGoodSlavesCount, once a second: replicas whose last ACK is at most
            // min-replicas-max-lag seconds old.
            for u in 0..self.redis.len() {
                let lag = self.redis[u].min_replicas_max_lag;
                let addr = self.redis[u].addr.clone();
                let good = self
                    .redis
                    .iter()
                    .filter(|x| {
                        x.alive
                            && x.link_up
                            && matches!(&x.role, Role::Replica(m) if m.same(&addr))
                            && (now.saturating_sub(x.last_ack) / 1000) <= lag
                    })
                    .count() as u64;
                self.redis[u].good_replicas = good;
            }
        }
    }

    /// Redis `r` accepted a write: the first one of a promoted node opens its mastership.
    fn accepted_write(&mut self, r: usize) {
        let since = self.redis[r].master_since;
        let now = self.now;
        for p in self.promotions.iter_mut().rev() {
            if p.r == r && p.at == since && p.first_write.is_none() {
                p.first_write = Some(now);
            }
        }
    }

    fn client_cut_from(&self, n: Node) -> bool {
        self.cuts.contains(&(Node::Client, n)) || self.cuts.contains(&(n, Node::Client))
    }

    /// The writer asks a sentinel it can reach for the master's address
    /// (`SENTINEL GET-MASTER-ADDR-BY-NAME`).
    fn resolve_writer(&mut self) {
        let n = self.sentinels.len();
        let start = self.rng2.random_range(0..n);
        for k in 0..n {
            let i = (start + k) % n;
            let sen = &self.sentinels[i];
            let Some(core) = &sen.core else { continue };
            if sen.stalled_until > self.now || self.client_cut_from(Node::Sentinel(i)) {
                continue;
            }
            let name = master_name(0);
            let Some(m) = core.masters().into_iter().find(|m| m.name == name) else { continue };
            let addr = m.current;
            self.writer.believed = Some(addr);
            self.writer.resolve_at = self.now + 5000;
            self.cov.client_reresolves += 1;
            return;
        }
    }

    /// One write of the client to the master it believes in; an error makes it
    /// re-resolve at its next write.
    fn client_write(&mut self) {
        let now = self.now;
        if self.writer.believed.is_none() || now >= self.writer.resolve_at {
            self.resolve_writer();
        }
        let Some(r) = self.writer.believed.as_ref().and_then(|a| self.redis_at(a)) else { return };
        if !self.redis[r].alive || self.client_cut_from(Node::Redis(r)) {
            self.writer.resolve_at = now;
            return;
        }
        match self.redis[r].write_refusal(now) {
            Some(_) => {
                self.cov.writes_refused += 1;
                self.writer.resolve_at = now;
            }
            None => {
                self.redis[r].offset += 10;
                self.accepted_write(r);
                self.cov.writes_acked += 1;
                let mut c = std::mem::take(&mut self.checker);
                match c.write_acked(r, self) {
                    Some(true) => self.cov.writes_via_stranded_replica += 1,
                    Some(false) => self.cov.writes_acked_by_old_master += 1,
                    None => {}
                }
                self.checker = c;
            }
        }
    }

    /// Liveness: every live sentinel agrees on one master address and config epoch, that
    /// node is a master, and every other Redis replicates from it.
    pub fn converged(&self) -> Result<(), String> {
        for g in 0..self.p.masters {
            self.converged_master(g)?;
        }
        Ok(())
    }

    /// Convergence of master `g` and its Redis nodes.
    fn converged_master(&self, g: usize) -> Result<(), String> {
        let mut views = BTreeSet::new();
        let name = master_name(g);
        for s in &self.sentinels {
            let Some(c) = &s.core else { return Err("a sentinel is down".into()) };
            let Some(m) = c.masters().into_iter().find(|m| m.name == name) else {
                return Err(format!("a sentinel does not monitor {name}"));
            };
            if m.failover_state != "none" {
                return Err(format!("{name}: failover in progress: {}", m.failover_state));
            }
            views.insert((m.addr.clone(), m.config_epoch));
        }
        if views.len() != 1 {
            return Err(format!("{name}: sentinels disagree: {views:?}"));
        }
        let (addr, _) = views.into_iter().next().unwrap();
        let per = self.p.redis;
        for r in &self.redis[g * per..(g + 1) * per] {
            if !self.reaches(r, &addr) {
                return Err(format!(
                    "{name}: {} is {:?} (link up {}), master is {}",
                    r.addr.key(),
                    r.role,
                    r.link_up,
                    addr.key()
                ));
            }
        }
        Ok(())
    }

    /// `r` is the master at `addr`, or replicates from it, possibly through a chain of
    /// replicas (replicas of replicas are invisible to sentinels, §12.2).
    fn reaches(&self, r: &RedisNode, addr: &Addr) -> bool {
        let mut node = r;
        for _ in 0..=self.redis.len() {
            match &node.role {
                Role::Master => return node.addr.same(addr),
                Role::Replica(up) if node.link_up => match self.redis.iter().find(|x| x.addr.same(up)) {
                    Some(next) => node = next,
                    None => return false,
                },
                Role::Replica(_) => return false,
            }
        }
        false
    }
}

/// A reply carrying a vote (`[down, leader, epoch]` with a leader).
fn is_vote_reply(out: &Output) -> bool {
    let Output::Reply { value: Value::Array(items), .. } = out else { return false };
    matches!(items.as_slice(), [Value::Int(_), Value::Bulk(l), Value::Int(_)] if l.as_slice() != b"*")
}

/// Runs one seed; returns its coverage or the failure.
pub fn run(p: Params, trace: bool) -> Result<Coverage, Failure> {
    let mut w = World::new(p);
    w.trace_on = trace;
    match w.run() {
        Ok(()) => {
            // `--trace` of a passing seed prints its trace too.
            for line in &w.trace {
                println!("{line}");
            }
            w.cov.simulated_s = w.now / 1000;
            Ok(w.cov)
        }
        Err(what) => Err(Failure { seed: w.p.seed, at: w.now, what, trace: std::mem::take(&mut w.trace) }),
    }
}
