//! Instance maps (§11.6): the field/value replies of `SENTINEL MASTERS`, `MASTER`,
//! `REPLICAS` and `SENTINELS`, field order and spelling exactly as Redis sends them.

use crate::core::monitor::info::Role;
use crate::core::monitor::{Instance, Kind, Master};
use crate::core::Millis;
use crate::resp::Value;

type Fields = Vec<(&'static str, String)>;

/// The `flags` field, in the order of §1.4.
pub(crate) fn flags(inst: &Instance, m: Option<&Master>) -> String {
    let mut f: Vec<&str> = Vec::new();
    let mut add = |cond: bool, s: &'static str| {
        if cond {
            f.push(s)
        }
    };
    add(inst.sdown, "s_down");
    add(m.is_some_and(|m| m.odown), "o_down");
    add(inst.kind == Kind::Master, "master");
    add(inst.kind == Kind::Replica, "slave");
    add(inst.kind == Kind::Sentinel, "sentinel");
    add(!inst.connected(), "disconnected");
    add(inst.kind == Kind::Sentinel && inst.master_down, "master_down");
    add(m.is_some_and(|m| m.in_failover()), "failover_in_progress");
    add(inst.flags.promoted, "promoted");
    add(inst.flags.reconf_sent, "reconf_sent");
    add(inst.flags.reconf_inprog, "reconf_inprog");
    add(inst.flags.reconf_done, "reconf_done");
    add(m.is_some_and(|m| m.force_failover), "force_failover");
    add(inst.script_kill_sent, "script_kill_sent");
    add(inst.master_reboot, "master_reboot");
    f.join(",")
}

fn ago(now: Millis, at: Millis) -> String {
    now.saturating_sub(at).to_string()
}

/// The host shown for `inst` (Redis's `announceSentinelAddr`): with `announce-hostnames
/// no` (the default), the IP its host name resolved to, as learned when our command link
/// to that very address came up; the configured host otherwise, or before that.
pub(crate) fn shown_host(inst: &Instance, announce_hostnames: bool) -> String {
    match &inst.resolved {
        Some((addr, ip)) if !announce_hostnames && addr.same(&inst.addr) => ip.clone(),
        _ => inst.addr.host.clone(),
    }
}

fn common(inst: &Instance, m: Option<&Master>, down_after: Millis, now: Millis, hostnames: bool) -> Fields {
    let mut f: Fields = vec![
        ("name", inst.name.clone()),
        ("ip", shown_host(inst, hostnames)),
        ("port", inst.addr.port.to_string()),
        ("runid", inst.runid.clone().unwrap_or_default()),
        ("flags", flags(inst, m)),
        ("link-pending-commands", inst.pending().to_string()),
        ("link-refcount", "1".into()),
    ];
    if let Some(m) = m.filter(|m| m.in_failover()) {
        f.push(("failover-state", m.failover.wire().into()));
    }
    f.push(("last-ping-sent", inst.act_ping.map_or("0".into(), |at| ago(now, at))));
    f.push(("last-ok-ping-reply", ago(now, inst.last_avail)));
    f.push(("last-ping-reply", ago(now, inst.last_pong)));
    if let Some(at) = inst.sdown_since.filter(|_| inst.sdown) {
        f.push(("s-down-time", ago(now, at)));
    }
    if let Some(at) = m.and_then(|m| m.odown_since.filter(|_| m.odown)) {
        f.push(("o-down-time", ago(now, at)));
    }
    f.push(("down-after-milliseconds", down_after.to_string()));
    if inst.kind != Kind::Sentinel {
        f.push(("info-refresh", inst.info_refresh.map_or("0".into(), |at| ago(now, at))));
        let role = if inst.role_reported == Some(Role::Master) { "master" } else { "slave" };
        f.push(("role-reported", role.into()));
        f.push(("role-reported-time", ago(now, inst.role_reported_time)));
    }
    f
}

fn to_value(f: Fields) -> Value {
    Value::str_map(f)
}

/// `SENTINEL MASTER <name>` and each element of `SENTINEL MASTERS`.
pub(crate) fn master(m: &Master, now: Millis, hostnames: bool) -> Value {
    let mut f = common(&m.inst, Some(m), m.down_after, now, hostnames);
    f.push(("config-epoch", m.config_epoch.to_string()));
    f.push(("num-slaves", m.replicas.len().to_string()));
    f.push(("num-other-sentinels", m.sentinels.len().to_string()));
    f.push(("quorum", m.quorum.to_string()));
    f.push(("failover-timeout", m.failover_timeout.to_string()));
    f.push(("parallel-syncs", m.parallel_syncs.to_string()));
    if let Some(s) = &m.notification_script {
        f.push(("notification-script", s.clone()));
    }
    if let Some(s) = &m.client_reconfig_script {
        f.push(("client-reconfig-script", s.clone()));
    }
    // Ours, shown only when on so that replies stay Redis's otherwise.
    if m.write_lease_s > 0 {
        f.push(("write-lease", m.write_lease_s.to_string()));
    }
    if m.max_lag_on_failover > 0 {
        f.push(("max-lag-on-failover", m.max_lag_on_failover.to_string()));
    }
    if m.failover_block_ms > 0 {
        f.push(("failover-block-period", m.failover_block_ms.to_string()));
    }
    if m.crash_detection {
        f.push(("crash-detection", "fast".into()));
    }
    if m.holistic_detection {
        f.push(("holistic-detection", "on".into()));
    }
    to_value(f)
}

/// One element of `SENTINEL REPLICAS <name>`.
pub(crate) fn replica(m: &Master, r: &Instance, now: Millis, hostnames: bool) -> Value {
    let mut f = common(r, None, m.down_after, now, hostnames);
    f.push(("master-link-down-time", r.master_link_down_ms.to_string()));
    f.push(("master-link-status", if r.master_link_up { "ok" } else { "err" }.into()));
    f.push(("master-host", r.slave_master_host.clone().unwrap_or_else(|| "?".into())));
    f.push(("master-port", r.slave_master_port.to_string()));
    f.push(("slave-priority", r.slave_priority.to_string()));
    f.push(("slave-repl-offset", r.repl_offset.to_string()));
    f.push(("replica-announced", if r.replica_announced { "1" } else { "0" }.into()));
    to_value(f)
}

/// One element of `SENTINEL SENTINELS <name>`.
pub(crate) fn sentinel(m: &Master, s: &Instance, now: Millis, hostnames: bool) -> Value {
    let mut f = common(s, None, m.down_after, now, hostnames);
    f.push(("last-hello-message", ago(now, s.last_hello)));
    f.push(("voted-leader", s.leader.clone().unwrap_or_else(|| "?".into())));
    f.push(("voted-leader-epoch", s.leader_epoch.to_string()));
    to_value(f)
}
