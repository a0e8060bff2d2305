//! The core's outbox and its bookkeeping of links and requests in flight. Orders are
//! queued here in the order decisions are taken; nothing is executed. Below every stage:
//! the helpers they all use to address an entry by its link and to send it a command.

use super::monitor::{Instance, Master};
use super::{Auth, Event, Level, LinkId, LinkKind, Millis, Output, Request, RunId};
use crate::core::Addr;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};

/// Which table entry a link belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Master,
    Replica(String),
    Sentinel(RunId),
}

/// The owner of a link: a master name, the entry under it, and the link's kind.
#[derive(Clone, Debug)]
pub struct LinkOwner {
    pub master: String,
    pub target: Target,
    pub kind: LinkKind,
}

/// What a reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqKind {
    Ping,
    Info,
    Publish,
    Ask,
    ReplicaOf,
    ScriptKill,
    /// `CONFIG SET` of the write lease (`core::fencing`).
    Lease,
    /// `SENTINEL MASTER <name>` to a peer (`core::fencing`).
    AskConfig,
    /// `FAILOVER TO ...` to the old master (`SENTINEL FAILOVER <name> COORDINATED`).
    Failover,
}

/// A queued order; `Persist` is materialised into a snapshot when polled.
#[derive(Debug)]
pub enum Queued {
    Out(Output),
    Persist,
}

/// Events kept per master for `SENTINEL TIMELINE` (ours).
pub const TIMELINE_LEN: usize = 256;

/// One timeline entry: when, which event, its message.
#[derive(Clone, Debug)]
pub struct Entry {
    pub at: Millis,
    pub name: &'static str,
    pub message: String,
}

/// Outbox, link table, requests in flight, the seeded RNG, and the per-master timeline.
pub struct Io {
    /// The `now` of the call being handled (stamps timeline entries).
    pub now: Millis,
    pub timeline: BTreeMap<String, VecDeque<Entry>>,
    pub queue: VecDeque<Queued>,
    next_link: u64,
    next_tag: u64,
    pub links: BTreeMap<LinkId, LinkOwner>,
    pub pending: BTreeMap<u64, (LinkId, ReqKind)>,
    rng: SmallRng,
}

impl Io {
    pub fn new(seed: u64) -> Io {
        Io {
            now: 0,
            timeline: BTreeMap::new(),
            queue: VecDeque::new(),
            next_link: 1,
            next_tag: 1,
            links: BTreeMap::new(),
            pending: BTreeMap::new(),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Random jitter in `0..bound` ms (§7.5 desync).
    pub fn jitter(&mut self, bound: u64) -> u64 {
        self.rng.random_range(0..bound)
    }

    pub fn push(&mut self, out: Output) {
        self.queue.push_back(Queued::Out(out));
    }

    /// Orders a durable write of the state before any later output.
    pub fn persist(&mut self) {
        if !matches!(self.queue.back(), Some(Queued::Persist)) {
            self.queue.push_back(Queued::Persist);
        }
    }

    /// Queues an event and records it in its master's timeline (debug events excepted).
    pub fn event(&mut self, level: Level, name: &'static str, master: Option<&str>, message: String) {
        if let Some(m) = master.filter(|_| level > Level::Debug) {
            let t = self.timeline.entry(m.to_string()).or_default();
            if t.len() == TIMELINE_LEN {
                t.pop_front();
            }
            t.push_back(Entry { at: self.now, name, message: message.clone() });
        }
        let event = Event { level, name, message, master: master.map(str::to_string) };
        self.push(Output::Event(event));
    }

    /// Allocates a link and orders the shell to open it.
    pub fn connect(
        &mut self,
        owner: LinkOwner,
        addr: Addr,
        auth: Option<Auth>,
        client_name: String,
        renames: Vec<(String, String)>,
    ) -> LinkId {
        let id = LinkId(self.next_link);
        self.next_link += 1;
        let kind = owner.kind;
        self.links.insert(id, owner);
        self.push(Output::Connect { link: id, addr, kind, auth, client_name, renames });
        id
    }

    /// Orders a link closed and forgets its requests in flight.
    pub fn close(&mut self, id: LinkId) {
        if self.links.remove(&id).is_some() {
            self.pending.retain(|_, (l, _)| *l != id);
            self.push(Output::Close { link: id });
        }
    }

    /// Forgets a link the shell reported down.
    pub fn forget(&mut self, id: LinkId) {
        self.links.remove(&id);
        self.pending.retain(|_, (l, _)| *l != id);
    }

    pub fn send(&mut self, link: LinkId, kind: ReqKind, request: Request) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.pending.insert(tag, (link, kind));
        self.push(Output::Send { link, tag, request });
    }
}

/// Sends `request` on `inst`'s command link `link`, counted among its outstanding
/// commands (§2.2) until the reply comes back.
pub(crate) fn send(io: &mut Io, inst: &mut Instance, link: LinkId, kind: ReqKind, request: Request) {
    if let Some(cc) = inst.cc.as_mut() {
        cc.pending += 1;
    }
    io.send(link, kind, request);
}

/// The entry a link belongs to, if both still exist.
pub(crate) fn owner_mut<'a>(
    links: &BTreeMap<LinkId, LinkOwner>,
    masters: &'a mut BTreeMap<String, Master>,
    link: LinkId,
) -> Option<(&'a mut Master, Target, LinkKind)> {
    let owner = links.get(&link)?;
    let m = masters.get_mut(&owner.master)?;
    Some((m, owner.target.clone(), owner.kind))
}

/// The entry a target names under `m`.
pub(crate) fn target_mut<'a>(m: &'a mut Master, t: &Target) -> Option<&'a mut Instance> {
    match t {
        Target::Master => Some(&mut m.inst),
        Target::Replica(k) => m.replicas.get_mut(k),
        Target::Sentinel(id) => m.sentinels.get_mut(id),
    }
}
