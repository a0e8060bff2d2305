//! Leader election (§7.2, §7.3): granting our one vote per epoch per master, and the
//! candidate's tally. A vote is persisted before anything depending on it leaves: the
//! `Persist` is queued ahead of the reply that carries it.

use super::io::Io;
use super::monitor::Master;
use super::{Epoch, Global, Level, Millis, RunId};
use std::collections::BTreeMap;

/// Raises the current epoch to `epoch` if it is larger: persisted, `+new-epoch`.
pub(crate) fn adopt_epoch(g: &mut Global, io: &mut Io, master: &str, epoch: Epoch) {
    if epoch > g.current_epoch {
        g.current_epoch = epoch;
        io.persist();
        io.event(Level::Warning, "+new-epoch", Some(master), epoch.to_string());
    }
}

/// §7.2: votes for `req_runid` in `req_epoch` unless we already voted for this master in
/// that epoch or later, or already hold a configuration of it that new or newer. Returns
/// our (possibly older) vote and its epoch.
///
/// Deliberate difference (issue 13): Redis also refuses any request below its *global*
/// current epoch. Every failover attempt, of any master, moves that epoch on, so when
/// many masters fail at once a request is usually refused because of the elections of
/// *other* masters, and the candidate (which counts only votes of its own epoch, see
/// [`leader`]) times out and retries 2 × failover-timeout later, several rounds in a row.
/// The safety the global condition bought is kept per master: votes for one master are
/// cast in strictly increasing epochs (`leader_epoch`, persisted before the reply), so
/// there is at most one vote per sentinel per (master, epoch); and a configuration of
/// the master at this epoch or later (its `config_epoch`, which never exceeds the
/// current epoch) still refuses the vote, as Redis's rule did. docs/behaviour.md §7.2.
pub(crate) fn vote(
    g: &mut Global,
    io: &mut Io,
    m: &mut Master,
    req_epoch: Epoch,
    req_runid: &str,
    now: Millis,
) -> (Option<RunId>, Epoch) {
    adopt_epoch(g, io, m.name(), req_epoch);
    // Planted bug "global-epoch-votes" (issue 13): Redis's global condition.
    #[cfg(feature = "planted-global-epoch-votes")]
    let fresh = g.current_epoch <= req_epoch;
    #[cfg(not(feature = "planted-global-epoch-votes"))]
    let fresh = m.config_epoch < req_epoch;
    if m.leader_epoch < req_epoch && fresh {
        m.leader = Some(req_runid.to_string());
        m.leader_epoch = req_epoch;
        m.voted_at = now;
        io.persist();
        let msg = format!("{} {}", req_runid, m.leader_epoch);
        io.event(Level::Warning, "+vote-for-leader", Some(m.name()), msg);
        if !req_runid.eq_ignore_ascii_case(&g.myid) {
            // Voting for another blocks our own attempt for 2 × failover-timeout.
            m.failover_start = Some(now + io.jitter(1000));
        }
    }
    (m.leader.clone(), m.leader_epoch)
}

/// §7.3: the leader for `epoch`, if one has max(quorum, majority) votes, counting the
/// peers' reported votes of that epoch and our own.
///
/// Deliberate difference: Redis counts peer votes whose epoch equals its *current*
/// epoch, even when that has moved past the attempt's failover epoch. Then votes cast in
/// epoch E+1 elect a leader who promotes under config epoch E — while another sentinel
/// may have legitimately won E. The simulation found two leaders for one epoch that way
/// (seed 121). We count only votes of the attempt's own epoch, so a stale attempt simply
/// times out, which is what docs/behaviour.md §7.3 describes as the intent.
pub(crate) fn leader(g: &mut Global, io: &mut Io, m: &mut Master, epoch: Epoch, now: Millis) -> Option<RunId> {
    let voters = m.sentinels.len() as u32 + 1;
    let mut tally: BTreeMap<String, u32> = BTreeMap::new();
    // Planted bug "old-epoch-votes" (issue 10.6, seed 121): Redis's rule, counting peer
    // votes of our current epoch instead of the attempt's own (and asking with it,
    // `quorum::ask_peers`).
    #[cfg(feature = "planted-old-epoch-votes")]
    let epoch_of_votes = g.current_epoch;
    #[cfg(not(feature = "planted-old-epoch-votes"))]
    let epoch_of_votes = epoch;
    for peer in m.sentinels.values() {
        if let Some(l) = peer.leader.as_ref().filter(|_| peer.leader_epoch == epoch_of_votes) {
            *tally.entry(l.clone()).or_default() += 1;
        }
    }
    let winner = top(&tally);
    let candidate = winner.clone().unwrap_or_else(|| g.myid.clone());
    let (mine, my_epoch) = vote(g, io, m, epoch, &candidate, now);
    if let Some(mine) = mine.filter(|_| my_epoch == epoch) {
        *tally.entry(mine).or_default() += 1;
    }
    let winner = top(&tally)?;
    let votes = tally[&winner];
    let needed = (voters / 2 + 1).max(m.quorum);
    (votes >= needed).then_some(winner)
}

/// The run id with the most votes; ties go to the first in table order.
fn top(tally: &BTreeMap<String, u32>) -> Option<String> {
    let mut best: Option<(&String, u32)> = None;
    for (id, &n) in tally {
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((id, n));
        }
    }
    best.map(|(id, _)| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Addr, ClientId, Input, MasterSnapshot, Options, Output, Sentinel, Snapshot};
    use crate::resp::Value;

    /// `SENTINEL is-master-down-by-addr <host> 6379 <epoch> <runid>`: the reply's vote
    /// (leader, epoch), and whether a Persist left before it.
    fn ask(s: &mut Sentinel, host: &str, epoch: u64, runid: &str) -> (String, i64, bool) {
        let words = ["SENTINEL", "is-master-down-by-addr", host, "6379", &epoch.to_string(), runid];
        let args = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        s.handle(1000, Input::Command { client: ClientId(1), args });
        let mut persisted = false;
        while let Some(o) = s.poll_output() {
            match o {
                Output::Persist(_) => persisted = true,
                Output::Reply { value: Value::Array(items), .. } => {
                    let [Value::Int(_), Value::Bulk(l), Value::Int(e)] = items.as_slice() else { panic!("{items:?}") };
                    return (String::from_utf8_lossy(l).into_owned(), *e, persisted);
                }
                _ => {}
            }
        }
        panic!("no reply")
    }

    #[test]
    fn votes_are_per_master_whatever_the_other_masters_did_to_the_current_epoch() {
        let mut snap = Snapshot::new("1".repeat(40));
        for (name, host, config_epoch) in [("a", "10.0.0.1", 0), ("b", "10.0.0.2", 0), ("c", "10.0.0.3", 7)] {
            let mut m = MasterSnapshot::new(name, Addr::new(host, 6379), 2);
            m.config_epoch = Epoch(config_epoch);
            snap.masters.push(m);
        }
        snap.current_epoch = Epoch(7);
        let opts = Options { port: 26379, seed: 1, timing: Default::default(), requirepass: None };
        let mut s = Sentinel::new(snap, opts, 0);
        while s.poll_output().is_some() {}
        let (x, y, z) = ("x".repeat(40), "y".repeat(40), "z".repeat(40));
        // Master b's election moves the current epoch to 10.
        assert_eq!(ask(&mut s, "10.0.0.2", 10, &x), (x.clone(), 10, true));
        assert_eq!(s.current_epoch(), Epoch(10));
        // A request for master a in epoch 8 is granted all the same (Redis: refused,
        // 8 < current epoch 10), persisted before the reply, and recorded in epoch 8.
        assert_eq!(ask(&mut s, "10.0.0.1", 8, &y), (y.clone(), 8, true));
        // One vote per (master, epoch): another candidate in 8, or any in 7, gets it back.
        assert_eq!(ask(&mut s, "10.0.0.1", 8, &z), (y.clone(), 8, false));
        assert_eq!(ask(&mut s, "10.0.0.1", 7, &z), (y.clone(), 8, false));
        // A later epoch of the same master is a new vote.
        assert_eq!(ask(&mut s, "10.0.0.1", 9, &z), (z.clone(), 9, true));
        // Master c's configuration is of epoch 7: no vote in 7 or below, one in 8.
        assert_eq!(ask(&mut s, "10.0.0.3", 7, &x), ("*".to_string(), 0, false));
        assert_eq!(ask(&mut s, "10.0.0.3", 8, &x), (x.clone(), 8, true));
        assert_eq!(s.current_epoch(), Epoch(10));
    }

    #[test]
    fn top_prefers_most_votes_then_table_order() {
        let mut t = BTreeMap::new();
        assert_eq!(top(&t), None);
        t.insert("b".to_string(), 2);
        t.insert("a".to_string(), 2);
        t.insert("c".to_string(), 1);
        assert_eq!(top(&t).as_deref(), Some("a"));
        t.insert("d".to_string(), 3);
        assert_eq!(top(&t).as_deref(), Some("d"));
    }
}
