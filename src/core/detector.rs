//! Subjective down (§6.2): one sentinel's own verdict on one instance, from its PING
//! history, its reported role and reboot state. Emits `+sdown` / `-sdown`.

use super::io::Io;
use super::links::MasterView;
use super::monitor::info::Role;
use super::monitor::{Instance, Kind, Master};
use super::{details_of, Global, Level, Millis};

/// Sets or clears `s_down` on `inst` (§6.2).
pub(crate) fn check_sdown(g: &Global, io: &mut Io, v: &MasterView, inst: &mut Instance, now: Millis) {
    let down = is_down(g, v, inst, now);
    if down && !inst.sdown {
        if inst.kind == Kind::Master && v.crashed {
            let msg = format!("{} connections refused, replicas lost their link", details_of(&v.name, &v.addr, inst));
            io.event(Level::Warning, "+crash-detected", Some(&v.name), msg);
        }
        inst.sdown = true;
        inst.sdown_since = Some(now);
        io.event(Level::Warning, "+sdown", Some(&v.name), details_of(&v.name, &v.addr, inst));
    } else if !down && inst.sdown {
        inst.sdown = false;
        inst.script_kill_sent = false;
        io.event(Level::Warning, "-sdown", Some(&v.name), details_of(&v.name, &v.addr, inst));
    }
}

fn is_down(g: &Global, v: &MasterView, inst: &Instance, now: Millis) -> bool {
    let elapsed = match inst.act_ping {
        Some(since) => now.saturating_sub(since),
        None if !inst.connected() => now.saturating_sub(inst.last_avail),
        None => 0,
    };
    if elapsed > v.down_after || (inst.kind == Kind::Master && v.crashed) {
        return true;
    }
    // Rule 2: a configured master reporting role:slave for too long.
    let says_replica = inst.kind == Kind::Master
        && inst.role_reported == Some(Role::Replica)
        && now.saturating_sub(inst.role_reported_time) > v.down_after + 2 * g.timing.info_period;
    // Rule 3: rebooted master that did not answer PONG in time.
    let reboot = inst.master_reboot && now.saturating_sub(inst.master_reboot_since) > v.reboot_down_after;
    says_replica || reboot
}

/// How long a master's connections must keep being refused before its crash counts.
pub const CRASH_GRACE: Millis = 500;

/// Ours (`crash-detection fast`): the master's process is gone, so there is no point in
/// waiting down-after. Connections to its port are actively *refused* (a hang or a
/// partition makes them time out instead), at least twice over [`CRASH_GRACE`] with no
/// successful connect in between (a quick restart clears it), and every replica we can
/// reach has reported since the first refusal that its link to the master is down (at
/// least one must). Peers must still agree (ODOWN), and the election is unchanged.
pub(crate) fn crashed(m: &Master) -> bool {
    let Some((first, last)) = m.inst.refused.filter(|_| m.crash_detection) else { return false };
    if last.saturating_sub(first) < CRASH_GRACE {
        return false;
    }
    let reachable: Vec<&Instance> = m.replicas.values().filter(|r| r.connected() && !r.sdown).collect();
    !reachable.is_empty()
        && reachable.iter().all(|r| {
            r.info_refresh.is_some_and(|at| at >= first) && r.role_reported == Some(Role::Replica) && !r.master_link_up
        })
}
