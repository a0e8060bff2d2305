//! Stage 2 of the pipeline, detect. Subjective down (§6.2): one sentinel's own verdict
//! on one instance, from its PING history, its reported role and reboot state. Emits
//! `+sdown` / `-sdown`; ours: the crash path (`crashed`) and the holistic veto (`veto`,
//! `+sdown-vetoed`).

use super::io::Io;
use super::monitor::info::{parse as parse_info, Role};
use super::monitor::{Instance, Kind, Master};
use super::{details_of, Global, Level, MasterView, Millis};

/// Sets or clears `s_down` on `inst` (§6.2).
pub(crate) fn check_sdown(g: &Global, io: &mut Io, v: &MasterView, inst: &mut Instance, now: Millis) {
    let (down, vetoed) = is_down(g, v, inst, now);
    if vetoed && inst.sdown_veto.is_none() {
        inst.sdown_veto = Some(now);
        let why = v.veto.as_deref().unwrap_or_default();
        io.event(
            Level::Warning,
            "+sdown-vetoed",
            Some(&v.name),
            format!("{} {why}", details_of(&v.name, &v.addr, inst)),
        );
    } else if !vetoed && inst.sdown_veto.is_some() {
        inst.sdown_veto = None;
        if !down {
            // The master answers us again (a lapsed veto is followed by `+sdown`).
            io.event(Level::Notice, "-sdown-vetoed", Some(&v.name), details_of(&v.name, &v.addr, inst));
        }
    }
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

/// Whether `inst` is down, and whether a timed-out master was spared by a replica's veto
/// (`holistic-detection on`, [`veto`]).
fn is_down(g: &Global, v: &MasterView, inst: &Instance, now: Millis) -> (bool, bool) {
    let elapsed = lost_since(inst).map_or(0, |since| now.saturating_sub(since));
    if inst.kind == Kind::Master && v.crashed {
        return (true, false);
    }
    let vetoed = elapsed > v.down_after && inst.kind == Kind::Master && v.veto.is_some();
    if elapsed > v.down_after && !vetoed {
        return (true, false);
    }
    // Rule 2: a configured master reporting role:slave for too long.
    let says_replica = inst.kind == Kind::Master
        && inst.role_reported == Some(Role::Replica)
        && now.saturating_sub(inst.role_reported_time) > v.down_after + 2 * g.timing.info_period;
    // Rule 3: rebooted master that did not answer PONG in time.
    let reboot = inst.master_reboot && now.saturating_sub(inst.master_reboot_since) > v.reboot_down_after;
    (says_replica || reboot, vetoed)
}

/// Since when `inst` has not answered: its oldest unanswered PING, or, with no link,
/// its last valid reply (§6.2). `None` while it answers.
fn lost_since(inst: &Instance) -> Option<Millis> {
    match inst.act_ping {
        Some(since) => Some(since),
        None if !inst.connected() => Some(inst.last_avail),
        None => None,
    }
}

/// How old a replica's INFO may be for its word to count in [`veto`].
pub const VETO_INFO_MAX_AGE: Millis = 2000;

/// The largest `master_last_io_seconds_ago` that still vetoes, for a down-after.
///
/// Redis reports whole seconds (truncated on both ends, so the real age is below k+1 s),
/// and our evidence is up to [`VETO_INFO_MAX_AGE`] old when we decide. With
/// `k <= down_after_s - 3` the replica provably heard from the master *after* we lost it
/// (k+1 s + 2 s <= down-after), so the veto never delays the SDOWN of a master cut off
/// from its replicas as well. Below 5 s of down-after no figure proves that; the bound
/// stays at 2 (Redis refreshes the figure once a second, so a link carrying writes, or
/// a `repl-ping-replica-period` of 1, shows 0–2), which may delay the SDOWN of a master
/// isolated together with its clients by up to ~3 s beyond down-after (docs/detection.md).
pub fn veto_bound_s(down_after: Millis) -> i64 {
    ((down_after / 1000) as i64 - 3).max(2)
}

/// Ours (`holistic-detection on`, after orchestrator): the master has not answered us,
/// but a replica we do reach says it still hears it: it reported, in an INFO received
/// after we lost the master and at most [`VETO_INFO_MAX_AGE`] ago, `role:slave` of this
/// master, `master_link_status:up` and `master_last_io_seconds_ago` within
/// [`veto_bound_s`]. Then only we are cut off, and the master is not SDOWN. Returns the
/// replica named with its figures. A dead master's replicas see their link drop at once
/// (status down, no veto); a master cut off from its replicas stops feeding them, and
/// their last I/O ages past the bound. Positive evidence only: no replica, a stale INFO,
/// a missing figure — no veto. A replica is this master's by the address it replicates
/// from or by the replication ID it shares with the master's last INFO.
pub(crate) fn veto(m: &Master, now: Millis) -> Option<String> {
    if !m.holistic_detection {
        return None;
    }
    // Only a master timed out by the PING rule needs a veto (and only then is INFO parsed).
    let lost = lost_since(&m.inst).filter(|since| now.saturating_sub(*since) > m.down_after)?;
    let bound = veto_bound_s(m.down_after);
    m.replicas.values().find_map(|r| {
        let at = r.info_refresh?;
        // This master's replica: by the address it replicates from, or (behind a NAT or
        // a proxy, where addresses differ) by the replication ID they share.
        let ours = r.slave_master_host.as_deref().is_some_and(|h| m.inst.is_at(h, r.slave_master_port))
            || (r.replid.is_some() && r.replid == m.inst.replid);
        if !r.connected() || r.sdown || r.role_reported != Some(Role::Replica) || !r.master_link_up || !ours {
            return None;
        }
        if at < lost || now.saturating_sub(at) > VETO_INFO_MAX_AGE {
            return None;
        }
        let io = parse_info(r.info_text.as_deref()?).master_last_io_s?;
        (0..=bound).contains(&io).then(|| {
            format!(
                "by slave {}:{} master_link_status:up master_last_io_seconds_ago:{io} (bound {bound}) info-age-ms:{}",
                r.addr.host,
                r.addr.port,
                now.saturating_sub(at)
            )
        })
    })
}

/// Whether, with `holistic-detection on`, the master has stopped answering for long
/// enough (half of down-after, at most 1 s) that its replicas are polled every second.
pub(crate) fn holistic_suspect(m: &Master, now: Millis) -> bool {
    m.holistic_detection
        && !m.inst.sdown
        && lost_since(&m.inst).is_some_and(|since| now.saturating_sub(since) >= (m.down_after / 2).min(1000))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::monitor::{Kind, LinkState};
    use crate::core::{Addr, MasterSnapshot};

    const REPLID: &str = "8f1b2c3d4e5f60718293a4b5c6d7e8f901234567";

    fn master(holistic: bool, down_after: Millis) -> Master {
        let mut s = MasterSnapshot::new("mymaster", Addr::new("127.0.0.1", 6379), 2);
        s.down_after_ms = down_after;
        s.holistic_detection = holistic;
        let mut m = Master::from_snapshot(&s, 0);
        m.inst.replid = Some(REPLID.into());
        // Connected and answering.
        connect(&mut m.inst);
        m.inst.act_ping = None;
        m
    }

    fn connect(inst: &mut Instance) {
        for l in [&mut inst.cc, &mut inst.pc] {
            let mut s = LinkState::new(crate::core::LinkId(1), 0);
            s.up = true;
            *l = Some(s);
        }
    }

    /// A connected replica of 127.0.0.1:6379 whose INFO (received at `at`) says `link`
    /// and `master_last_io_seconds_ago:io`.
    fn replica(at: Millis, link: &str, io: i64) -> Instance {
        let mut r = Instance::new(Kind::Replica, "127.0.0.1:6380".into(), Addr::new("127.0.0.1", 6380), 0);
        connect(&mut r);
        r.info_refresh = Some(at);
        r.role_reported = Some(Role::Replica);
        r.slave_master_host = Some("127.0.0.1".into());
        r.slave_master_port = 6379;
        r.master_link_up = link == "up";
        r.replid = Some(REPLID.into());
        r.info_text = Some(format!(
            "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:{link}\r\n\
             master_last_io_seconds_ago:{io}\r\n"
        ));
        r
    }

    /// Master lost (oldest unanswered PING) at 10 000.
    fn lost(m: &mut Master) {
        m.inst.act_ping = Some(10_000);
    }

    #[test]
    fn bound_follows_down_after() {
        assert_eq!(veto_bound_s(1000), 2);
        assert_eq!(veto_bound_s(5000), 2);
        assert_eq!(veto_bound_s(10_000), 7);
        assert_eq!(veto_bound_s(30_000), 27);
    }

    #[test]
    fn a_replica_that_hears_the_master_vetoes() {
        let mut m = master(true, 1000);
        lost(&mut m);
        m.replicas.insert("r".into(), replica(10_500, "up", 0));
        let why = veto(&m, 11_200).expect("vetoed");
        assert!(why.contains("127.0.0.1:6380") && why.contains("master_last_io_seconds_ago:0"), "{why}");
        // Off by default: the same evidence changes nothing.
        let mut off = master(false, 1000);
        lost(&mut off);
        off.replicas.insert("r".into(), replica(10_500, "up", 0));
        assert_eq!(veto(&off, 11_200), None);
    }

    #[test]
    fn no_veto_without_positive_fresh_evidence() {
        let mut m = master(true, 1000);
        // The master answers: nothing to veto.
        m.replicas.insert("r".into(), replica(10_500, "up", 0));
        assert_eq!(veto(&m, 11_200), None);
        lost(&mut m);
        // Lost, but not yet for down-after: nothing to veto yet.
        assert_eq!(veto(&m, 10_900), None);
        // A dead master: its replicas saw the link drop.
        m.replicas.insert("r".into(), replica(10_500, "down", -1));
        assert_eq!(veto(&m, 11_200), None);
        // A master cut off from its replicas too: their last I/O aged past the bound.
        m.replicas.insert("r".into(), replica(10_500, "up", 3));
        assert_eq!(veto(&m, 11_200), None);
        // INFO from before we lost the master proves nothing.
        m.replicas.insert("r".into(), replica(9_900, "up", 0));
        assert_eq!(veto(&m, 11_200), None);
        // INFO older than 2 s proves nothing either.
        m.replicas.insert("r".into(), replica(10_500, "up", 0));
        assert_eq!(veto(&m, 12_600), None);
        // An unreachable replica's word does not count.
        let mut r = replica(10_500, "up", 0);
        r.pc = None;
        m.replicas.insert("r".into(), r);
        assert_eq!(veto(&m, 11_200), None);
        // Nor one of another master (other address, other replication ID).
        let mut r = replica(10_500, "up", 0);
        r.slave_master_port = 7000;
        r.replid = Some("other".into());
        m.replicas.insert("r".into(), r);
        assert_eq!(veto(&m, 11_200), None);
        // Behind a proxy (other address), the shared replication ID identifies it.
        m.replicas.get_mut("r").unwrap().replid = Some(REPLID.into());
        assert!(veto(&m, 11_200).is_some());
        // No replica at all: no veto.
        m.replicas.clear();
        assert_eq!(veto(&m, 11_200), None);
    }

    #[test]
    fn one_vetoing_replica_is_enough() {
        let mut m = master(true, 1000);
        lost(&mut m);
        m.replicas.insert("a".into(), replica(10_500, "down", -1));
        m.replicas.insert("b".into(), replica(10_600, "up", 1));
        assert!(veto(&m, 11_200).is_some());
    }

    #[test]
    fn suspicion_polls_replicas_before_down_after() {
        let mut m = master(true, 1000);
        assert!(!holistic_suspect(&m, 10_000));
        lost(&mut m);
        assert!(!holistic_suspect(&m, 10_400));
        assert!(holistic_suspect(&m, 10_500));
        m.holistic_detection = false;
        assert!(!holistic_suspect(&m, 10_500));
    }
}
