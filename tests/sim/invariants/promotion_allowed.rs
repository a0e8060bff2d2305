//! Only a replica the selection rules allow is promoted (docs/behaviour.md §9), checked
//! against what the selecting sentinel was really told, not against its own bookkeeping:
//! never one with `replica-priority 0`; never one that is down (its last PING reply
//! reached the sentinel at most 5 × ping-period ago); never one whose INFO is too old
//! (3 × info-period, or 5 × ping-period while the master is SDOWN); never one too stale
//! (the link-down time in that INFO at most 10 × down-after plus the master's SDOWN time);
//! never one whose last INFO said `role:master` (an empty restarted old master, simulation
//! seed 5189: the planted bug `promote-says-master`).
//! Times are the sentinel's own clock, as it measured them.

use crate::sim::world::World;

const PING_PERIOD: u64 = 1000;
const INFO_PERIOD: u64 = 10_000;

/// `+selected-slave slave <ip:port> <ip> <port> @ ...` from sentinel `s`.
pub fn check(s: usize, details: &str, w: &World) -> Result<(), String> {
    let mut it = details.split(' ');
    let (Some("slave"), Some(key)) = (it.next(), it.next()) else {
        return Err(format!("malformed +selected-slave '{details}'"));
    };
    let Some(r) = w.redis.iter().position(|r| r.addr.key() == key) else {
        return Err(format!("selected an unknown replica {key}"));
    };
    if w.redis[r].priority == 0 {
        return Err(format!("selected {key} with replica-priority 0"));
    }
    let g = w.group(r);
    let now = w.now + w.sentinels[s].skew;
    let Some(m) = w.status(s, g) else { return Ok(()) };
    let ping_period = PING_PERIOD;
    match w.seen.pong.get(&(s, r)) {
        Some(&at) if now.saturating_sub(at) <= 5 * ping_period => {}
        last => {
            return Err(format!(
                "sentinel {s} selected {key}, which it had not heard a PONG from for 5 ping periods (last {last:?}, now {now})"
            ))
        }
    }
    let validity = if m.sdown { 5 * ping_period } else { 3 * INFO_PERIOD };
    let Some(&(info_at, link_down_ms, says_master)) = w.seen.info.get(&(s, r)) else {
        return Err(format!("sentinel {s} selected {key} without an INFO from it"));
    };
    if says_master {
        return Err(format!("sentinel {s} selected {key}, whose last INFO said role:master"));
    }
    if now.saturating_sub(info_at) > validity {
        return Err(format!("sentinel {s} selected {key} on an INFO {} ms old", now - info_at));
    }
    let sdown_for = if m.sdown { w.seen.sdown_at.get(&(s, g)).map_or(0, |&at| now.saturating_sub(at)) } else { 0 };
    let max_down = w.down_after_max * 10 + sdown_for;
    if link_down_ms > max_down as i64 {
        return Err(format!(
            "sentinel {s} selected {key}, whose link to its master was down {link_down_ms} ms (allowed {max_down})"
        ));
    }
    Ok(())
}
