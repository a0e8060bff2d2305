//! Stage 3 of the pipeline, agree. Objective down (§6.3): asking peers `SENTINEL
//! is-master-down-by-addr`, recording their answers, and the ODOWN tally against the
//! quorum. Also the answering side.

use super::io::{send, Io, ReqKind};
use super::monitor::hello::parse_epoch;
use super::monitor::{Instance, Master};
use super::Epoch;
use super::{details, election, Global, Level, Millis, Request, Sentinel};
use crate::resp::Value;

/// Sets or clears ODOWN on a master (§6.3).
pub(crate) fn check_odown(io: &mut Io, m: &mut Master, now: Millis) {
    let votes = if m.inst.sdown { 1 + m.sentinels.values().filter(|s| s.master_down).count() as u32 } else { 0 };
    let odown = m.inst.sdown && votes >= m.quorum;
    if odown && !m.odown {
        m.odown = true;
        m.odown_since = Some(now);
        let msg = format!("{} #quorum {}/{}", details(m, &m.inst), votes, m.quorum);
        io.event(Level::Warning, "+odown", Some(m.name()), msg);
    } else if !odown && m.odown {
        m.odown = false;
        io.event(Level::Warning, "-odown", Some(m.name()), details(m, &m.inst));
    }
}

/// Asks every connected peer whether the master is down, and for its vote while we
/// have a failover in progress (§6.3). `forced` skips the `ask-period` pacing.
pub(crate) fn ask_peers(g: &Global, io: &mut Io, m: &mut Master, now: Millis, forced: bool) {
    let expire = 5 * g.timing.ask_period;
    let runid = m.in_failover().then(|| g.myid.clone());
    // Deliberate difference: during our failover the request carries the attempt's own
    // epoch, the only one whose votes the tally counts (`election::leader`). Redis sends
    // its current epoch, which other masters' elections may have moved on: a re-ask then
    // collected a vote in an epoch that no longer counts and replaced the useful one
    // (many masters failing at once, bench/README.md "scale").
    // Planted bug "old-epoch-votes" (issue 10.6, seed 121) is Redis's whole rule: ask with
    // the current epoch and count the votes of the current epoch (`election::leader`).
    #[cfg(feature = "planted-old-epoch-votes")]
    let epoch = g.current_epoch;
    #[cfg(not(feature = "planted-old-epoch-votes"))]
    let epoch = if m.in_failover() { m.failover_epoch } else { g.current_epoch };
    let addr = m.inst.addr.clone();
    // Ours: a failover of ours in progress asks too, even with the master not down here
    // (`SENTINEL FAILOVER`): the peers then adopt its epoch and vote in it, so no
    // election of theirs can produce a second configuration in the same epoch (Redis asks
    // only while the master is SDOWN; simulation seed 9199 of a 10,000-seed sweep: a
    // sentinel that crashed right after its manual failover left two addresses under one
    // config epoch).
    let master_sdown = m.inst.sdown || m.in_failover();
    let crashed = m.crash_detection && m.inst.refused.is_some();
    for peer in m.sentinels.values_mut() {
        if peer.last_master_down_reply.is_some_and(|at| now.saturating_sub(at) > expire) {
            peer.master_down = false;
            peer.leader = None;
        }
        if !master_sdown || !peer.connected() {
            continue;
        }
        // Ours: while a crash is being confirmed, peers are asked every fast INFO period.
        let period = if crashed { super::FAST_INFO_PERIOD } else { g.timing.ask_period };
        let within = |at: Option<Millis>| at.is_some_and(|at| now.saturating_sub(at) < period);
        if !forced && (within(peer.last_master_down_reply) || within(peer.ask_sent)) {
            continue;
        }
        let Some(link) = peer.cc.as_ref().map(|l| l.id) else { continue };
        let request = Request::IsMasterDownByAddr { addr: addr.clone(), epoch, runid: runid.clone() };
        send(io, peer, link, ReqKind::Ask, request);
        peer.ask_sent = Some(now);
    }
}

/// Records a peer's `[down, leader, epoch]` answer (§6.3, asker side); false when the
/// reply is not one. The caller decides on it at once (`core::decide`).
pub(crate) fn record_answer(peer: &mut Instance, reply: Value, now: Millis) -> bool {
    let Value::Array(items) = reply else { return false };
    let [Value::Int(down), Value::Bulk(leader), Value::Int(epoch)] = items.as_slice() else { return false };
    peer.master_down = *down == 1;
    peer.last_master_down_reply = Some(now);
    if leader.as_slice() != b"*" {
        peer.leader = Some(String::from_utf8_lossy(leader).into_owned());
        peer.leader_epoch = Epoch((*epoch).max(0) as u64);
    }
    true
}

impl Sentinel {
    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <epoch> <runid|*>` (answering side).
    pub(crate) fn answer_is_master_down(&mut self, now: Millis, args: &[Vec<u8>]) -> Value {
        let text = |i: usize| String::from_utf8_lossy(&args[i]).into_owned();
        let (Ok(port), Some(req_epoch)) = (text(3).parse::<u16>(), parse_epoch(&text(4))) else {
            return Value::error("ERR value is not an integer or out of range");
        };
        let host = text(2);
        let runid = text(5);
        let tilt = self.g.tilt;
        // §3.4: the asker sends the IP, or the host name with announce-hostnames.
        let Some(name) = self.masters.values().find(|m| m.inst.is_at(&host, port)).map(|m| m.name().to_string()) else {
            return Value::Array(vec![Value::Int(0), Value::bulk("*"), Value::Int(0)]);
        };
        let down = self.masters.get(&name).is_some_and(|m| m.inst.sdown) && !tilt;
        let (leader, epoch) = if runid != "*" {
            let Some(m) = self.masters.get_mut(&name) else { return Value::NullArray };
            let (l, e) = election::vote(&mut self.g, &mut self.io, m, req_epoch, &runid, now);
            (l.unwrap_or_else(|| "*".into()), e.0 as i64)
        } else {
            ("*".to_string(), 0)
        };
        Value::Array(vec![Value::Int(down as i64), Value::bulk(leader), Value::Int(epoch)])
    }
}
