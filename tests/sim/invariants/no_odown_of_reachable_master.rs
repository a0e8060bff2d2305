//! No failover of a master that the sentinels can reach (issue 8; docs/behaviour.md §6): if
//! only sentinels are cut from each other or slowed, no `+odown` may be raised.
//!
//! Precisely: when sentinel S raises `+odown` on the master at address A at time t, count
//! the sentinels F that had an undisturbed path to A during the whole window
//! [t − W, t], with W = down-after plus 5 × ask-period (how long a peer's "down" answer
//! counts) plus 3 s of slack for latency and ping pacing. Undisturbed: A is alive, a master, not
//! not restarted or reconfigured; F is alive, not stalled, restarted or
//! clock-jumped; no cut between F and A in either direction started or ended; no loss or
//! delay fault anywhere. Each such F answered every PING within the window, so it
//! cannot have been SDOWN in it nor answered "down" to S. ODOWN needs `quorum` sentinels
//! in SDOWN (S included); so raising it while fewer than `quorum` sentinels were
//! disturbed is a bug. (With quorum below the majority, a minority cut off from the
//! master may still legitimately raise ODOWN: that is Redis Sentinel's contract.)

use crate::sim::world::World;

const ASK_PERIOD: u64 = 1000;
const SLACK: u64 = 3000;

/// `+odown master <name> <ip> <port> #quorum n/q` from sentinel `s`.
pub fn check(s: usize, details: &str, w: &World) -> Result<(), String> {
    let f: Vec<&str> = details.split(' ').collect();
    let (Some(&"master"), Some(host), Some(port)) = (f.first(), f.get(2), f.get(3)) else {
        return Ok(());
    };
    let Some(r) = w.redis.iter().position(|x| x.addr.host == *host && x.addr.port.to_string() == *port) else {
        return Ok(());
    };
    let window = w.down_after_max + 5 * ASK_PERIOD + SLACK;
    let Some(from) = w.now.checked_sub(window) else { return Ok(()) };
    let fine: Vec<usize> = (0..w.sentinels.len()).filter(|&i| w.disturbed(i, r) < from).collect();
    let disturbed = w.sentinels.len() - fine.len();
    if (disturbed as u32) < w.quorum_min {
        return Err(format!(
            "sentinel {s} raised +odown on {host}:{port} although sentinels {fine:?} reached it undisturbed \
             for the last {window} ms (only {disturbed} could have seen it down, quorum {})",
            w.quorum_min
        ));
    }
    Ok(())
}
