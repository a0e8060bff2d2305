//! A read-only report of everything an operator's tools show (the HTTP listener's
//! metrics and health endpoints): built by [`Sentinel::status`] in one pass, owned, so
//! the shell can hand it to other tasks without ever touching the core again.
//!
//! Nothing here decides anything; ages are relative to the `now` the report is made at.

use super::monitor::info::Role;
use super::monitor::{Instance, Kind, Master};
use super::{selection, Addr, Epoch, Millis, Sentinel};

/// The whole process at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub myid: String,
    pub current_epoch: Epoch,
    pub tilt: bool,
    /// The `now` the report was made at.
    pub at: Millis,
    pub masters: Vec<MasterReport>,
}

/// One monitored master with its replicas and peer sentinels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterReport {
    pub name: String,
    /// The address clients are given (§8.7).
    pub addr: Addr,
    /// Our failover has promoted a replica: `addr` is that replica's, and `sdown`/`odown`
    /// still describe the old master until the switch.
    pub promoted: bool,
    pub config_epoch: Epoch,
    pub quorum: u32,
    pub sdown: bool,
    pub odown: bool,
    /// `none` or a §8.1 state string.
    pub failover_state: &'static str,
    pub failover_epoch: Epoch,
    pub down_after_ms: Millis,
    /// The master's `master_repl_offset` from its last INFO.
    pub master_repl_offset: Option<u64>,
    /// Sentinels (us included) not seen down: what `SENTINEL CKQUORUM` counts.
    pub usable_sentinels: u32,
    /// Every sentinel of the master, us included.
    pub voters: u32,
    /// `SENTINEL CKQUORUM` would answer OK.
    pub ckquorum_ok: bool,
    /// The replica a failover would promote now (§9), if any.
    pub best_replica: Option<String>,
    pub master: InstanceReport,
    pub replicas: Vec<InstanceReport>,
    pub sentinels: Vec<InstanceReport>,
}

/// One master, replica or peer sentinel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceReport {
    /// Table key: master name, `ip:port`, or run id.
    pub name: String,
    pub addr: Addr,
    pub runid: Option<String>,
    /// `master`, `slave` or `sentinel`.
    pub kind: &'static str,
    pub connected: bool,
    pub sdown: bool,
    /// ms since the last valid PING reply.
    pub since_ok_ping_ms: Millis,
    /// ms since the last INFO reply (`None`: never, or a sentinel).
    pub since_info_ms: Option<Millis>,
    /// Replicas: the role the instance last reported (`master` / `slave`).
    pub role_reported: Option<&'static str>,
    pub master_link_up: bool,
    pub master_link_down_ms: i64,
    pub priority: u32,
    pub repl_offset: u64,
    /// Sentinels: ms since the last hello.
    pub since_hello_ms: Option<Millis>,
    /// Sentinels: the peer's last answer said the master is down.
    pub master_down: bool,
}

impl Sentinel {
    /// Everything the operator's tools show, as of `now`.
    pub fn status(&self, now: Millis) -> Status {
        Status {
            myid: self.g.myid.clone(),
            current_epoch: self.g.current_epoch,
            tilt: self.g.tilt,
            at: now,
            masters: self.masters.values().map(|m| self.master_report(m, now)).collect(),
        }
    }

    fn master_report(&self, m: &Master, now: Millis) -> MasterReport {
        let voters = m.sentinels.len() as u32 + 1;
        let usable = 1 + m.sentinels.values().filter(|s| !s.sdown).count() as u32;
        let master_repl_offset = m.inst.info_text.as_deref().and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("master_repl_offset:")).and_then(|v| v.trim().parse().ok())
        });
        MasterReport {
            name: m.name().to_string(),
            addr: m.current_addr().clone(),
            promoted: !m.current_addr().same(&m.inst.addr),
            config_epoch: m.config_epoch,
            quorum: m.quorum,
            sdown: m.inst.sdown,
            odown: m.odown,
            failover_state: m.failover.wire(),
            failover_epoch: m.failover_epoch,
            down_after_ms: m.down_after,
            master_repl_offset,
            usable_sentinels: usable,
            voters,
            ckquorum_ok: usable >= m.quorum && usable > voters / 2,
            best_replica: selection::select(m, &self.g.timing, now),
            master: instance(&m.inst, now),
            replicas: m.replicas.values().map(|r| instance(r, now)).collect(),
            sentinels: m.sentinels.values().map(|s| instance(s, now)).collect(),
        }
    }
}

fn instance(i: &Instance, now: Millis) -> InstanceReport {
    InstanceReport {
        name: i.name.clone(),
        addr: i.addr.clone(),
        runid: i.runid.clone(),
        kind: i.kind.wire(),
        connected: i.connected(),
        sdown: i.sdown,
        since_ok_ping_ms: now.saturating_sub(i.last_avail),
        since_info_ms: i.info_refresh.map(|at| now.saturating_sub(at)),
        role_reported: match (i.kind, i.role_reported) {
            (Kind::Sentinel, _) | (_, None) => None,
            (_, Some(Role::Master)) => Some("master"),
            (_, Some(_)) => Some("slave"),
        },
        master_link_up: i.master_link_up,
        master_link_down_ms: i.master_link_down_ms,
        priority: i.slave_priority,
        repl_offset: i.repl_offset,
        since_hello_ms: (i.kind == Kind::Sentinel).then(|| now.saturating_sub(i.last_hello)),
        master_down: i.kind == Kind::Sentinel && i.master_down,
    }
}
