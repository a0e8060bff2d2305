//! The `sentinel <directive> ...` lines of a Redis sentinel.conf (§15.1, §15.2): which of
//! the three passes each belongs to, and how each one changes the [`Snapshot`] being
//! built, with Redis's exact error messages and its lax C number parsing.
//!
//! Owns the meaning of one directive at a time. Never reads files, never orders lines
//! (the caller runs the passes), never writes anything back.

use super::args::{atoi, strtoull};
use crate::core::{Addr, Epoch, KnownSentinel, MasterSnapshot, Snapshot};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub(crate) const UNRECOGNIZED: &str = "Unrecognized sentinel configuration statement.";
const NO_SUCH_MASTER: &str = "No such master with specified name.";
const BAD_PORT: &str = "Invalid port number.";
const CANT_RESOLVE: &str = "Can't resolve instance hostname.";

/// Directives applied in the first pass, before any `monitor` (§15.1).
pub(crate) const PRE_MONITOR: [&str; 9] = [
    "announce-ip",
    "announce-port",
    "deny-scripts-reconfig",
    "sentinel-user",
    "sentinel-pass",
    "current-epoch",
    "myid",
    "resolve-hostnames",
    "announce-hostnames",
];

/// The pass (0, 1 or 2) in which a directive is applied, whatever its position (§15.1).
pub(crate) fn pass_of(directive: &str) -> usize {
    if directive.eq_ignore_ascii_case("monitor") {
        1
    } else if PRE_MONITOR.iter().any(|d| d.eq_ignore_ascii_case(directive)) {
        0
    } else {
        2
    }
}

/// Every per-master directive with its number of arguments (directive included).
pub(crate) const PER_MASTER: [(&str, usize); 20] = [
    ("down-after-milliseconds", 3),
    ("failover-timeout", 3),
    ("parallel-syncs", 3),
    ("notification-script", 3),
    ("client-reconfig-script", 3),
    ("auth-pass", 3),
    ("auth-user", 3),
    ("master-reboot-down-after-period", 3),
    ("primary-reboot-down-after-period", 3),
    ("config-epoch", 3),
    ("leader-epoch", 3),
    ("write-lease", 3),
    ("crash-detection", 3),
    ("holistic-detection", 3),
    ("max-lag-on-failover", 3),
    ("failover-block-period", 3),
    ("rename-command", 4),
    ("known-replica", 4),
    ("known-slave", 4),
    ("known-sentinel", 5),
];

fn per_master_argc(directive: &str) -> Option<usize> {
    PER_MASTER.iter().find(|(d, _)| *d == directive).map(|(_, argc)| *argc)
}

/// Applies one `sentinel` line (`args` excludes the leading `sentinel`). `script_base` is
/// the directory relative script paths are checked against (Redis's cwd after `dir`).
pub(crate) fn apply(snap: &mut Snapshot, args: &[String], script_base: &Path) -> Result<(), String> {
    let Some(first) = args.first() else { return Err(UNRECOGNIZED.into()) };
    let name = first.to_ascii_lowercase();
    match (name.as_str(), args.len()) {
        ("monitor", 5) => monitor(snap, args),
        // The legacy form without run id is ignored without even looking the master up.
        ("known-sentinel", 4) => Ok(()),
        (n, 2) if PRE_MONITOR.contains(&n) => global(snap, n, &args[1]),
        (n, argc) if per_master_argc(n) == Some(argc) => {
            let idx = snap.masters.iter().position(|m| m.name == args[1]).ok_or(NO_SUCH_MASTER)?;
            let resolve = snap.resolve_hostnames;
            per_master(&mut snap.masters[idx], n, &args[2..], script_base, resolve)?;
            let ce = snap.masters[idx].config_epoch;
            // `config-epoch` also raises the current epoch (§15.2).
            snap.current_epoch = snap.current_epoch.max(ce);
            Ok(())
        }
        _ => Err(UNRECOGNIZED.into()),
    }
}

fn yes_no(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if v.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn global(snap: &mut Snapshot, name: &str, v: &str) -> Result<(), String> {
    match name {
        "myid" if v.len() != 40 => return Err("Malformed Sentinel id in myid option.".into()),
        "myid" => snap.myid = v.to_string(),
        "current-epoch" => snap.current_epoch = snap.current_epoch.max(Epoch(strtoull(v))),
        "announce-ip" => snap.announce_ip = non_empty(v),
        "announce-port" => {
            let p = atoi(v);
            // Redis stores any int; a value outside 0..=65535 could never be announced.
            let p = u16::try_from(p).map_err(|_| BAD_PORT.to_string())?;
            snap.announce_port = (p != 0).then_some(p);
        }
        "deny-scripts-reconfig" => {
            snap.deny_scripts_reconfig =
                yes_no(v).ok_or("Please specify yes or no for the deny-scripts-reconfig options.")?
        }
        "resolve-hostnames" => {
            snap.resolve_hostnames = yes_no(v).ok_or("Please specify yes or no for the resolve-hostnames option.")?
        }
        "announce-hostnames" => {
            snap.announce_hostnames = yes_no(v).ok_or("Please specify yes or no for the announce-hostnames option.")?
        }
        "sentinel-user" => snap.sentinel_user = non_empty(v),
        "sentinel-pass" => snap.sentinel_pass = non_empty(v),
        _ => return Err(UNRECOGNIZED.into()),
    }
    Ok(())
}

/// Redis's `createSentinelAddr`: port range first, then the host must be an IP literal
/// unless `resolve-hostnames yes` (unresolvable names are then accepted, as Redis does
/// while loading its config). No DNS lookup happens here.
fn make_addr(host: &str, port: &str, resolve: bool) -> Result<Addr, String> {
    let port = u16::try_from(atoi(port)).map_err(|_| BAD_PORT.to_string())?;
    if !resolve && host.parse::<IpAddr>().is_err() {
        return Err(CANT_RESOLVE.into());
    }
    Ok(Addr::new(host, port))
}

fn monitor(snap: &mut Snapshot, args: &[String]) -> Result<(), String> {
    let quorum = atoi(&args[4]);
    if quorum <= 0 {
        return Err("Quorum must be 1 or greater.".into());
    }
    let addr = make_addr(&args[2], &args[3], snap.resolve_hostnames)?;
    if snap.masters.iter().any(|m| m.name == args[1]) {
        return Err("Duplicate master name.".into());
    }
    let quorum = u32::try_from(quorum).unwrap_or(u32::MAX);
    snap.masters.push(MasterSnapshot::new(args[1].clone(), addr, quorum));
    Ok(())
}

fn positive_ms(v: &str) -> Result<u64, String> {
    u64::try_from(atoi(v)).ok().filter(|&n| n > 0).ok_or_else(|| "negative or zero time parameter.".into())
}

/// `access(path, X_OK)`: an existing file with an execute bit.
pub(crate) fn executable(path: &str, base: &Path) -> bool {
    let p = base.join(path);
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn per_master(m: &mut MasterSnapshot, name: &str, v: &[String], base: &Path, resolve: bool) -> Result<(), String> {
    match name {
        "down-after-milliseconds" => m.down_after_ms = positive_ms(&v[0])?,
        "failover-timeout" => m.failover_timeout_ms = positive_ms(&v[0])?,
        // Parsed with atoi and not validated (§15.2); a negative value behaves like 0.
        "parallel-syncs" => m.parallel_syncs = u32::try_from(atoi(&v[0]).max(0)).unwrap_or(u32::MAX),
        "notification-script" if !executable(&v[0], base) => {
            return Err("Notification script seems non existing or non executable.".into())
        }
        "notification-script" => m.notification_script = Some(v[0].clone()),
        "client-reconfig-script" if !executable(&v[0], base) => {
            return Err("Client reconfiguration script seems non existing or non executable.".into())
        }
        "client-reconfig-script" => m.client_reconfig_script = Some(v[0].clone()),
        "auth-pass" => m.auth_pass = Some(v[0].clone()),
        "auth-user" => m.auth_user = Some(v[0].clone()),
        "master-reboot-down-after-period" | "primary-reboot-down-after-period" => {
            m.master_reboot_down_after_ms = u64::try_from(atoi(&v[0])).map_err(|_| "negative time parameter.")?
        }
        "config-epoch" => m.config_epoch = Epoch(strtoull(&v[0])),
        // Ours (docs/failover-quality.md): ms, 0 = off.
        "failover-block-period" => {
            m.failover_block_ms = v[0].parse().map_err(|_| "failover-block-period must be a number of milliseconds.")?
        }
        // Ours (docs/failover-quality.md): bytes, 0 = no bound.
        "max-lag-on-failover" => {
            m.max_lag_on_failover = v[0].parse().map_err(|_| "max-lag-on-failover must be a number of bytes.")?
        }
        // Ours (docs/detection.md).
        "holistic-detection" => {
            m.holistic_detection = match v[0].to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err("holistic-detection must be 'on' or 'off'.".into()),
            }
        }
        // Ours (docs/crash-detection.md).
        "crash-detection" => {
            m.crash_detection = match v[0].to_ascii_lowercase().as_str() {
                "fast" => true,
                "off" => false,
                _ => return Err("crash-detection must be 'fast' or 'off'.".into()),
            }
        }
        // Ours (docs/fencing.md): seconds, 0 = off.
        "write-lease" => {
            m.write_lease_s = v[0].parse().ok().filter(|s| *s <= 3600).ok_or("write-lease must be 0..3600 seconds.")?
        }
        "leader-epoch" => m.leader_epoch = Epoch(strtoull(&v[0])),
        "rename-command" => rename(m, &v[0], &v[1])?,
        "known-replica" | "known-slave" => {
            let addr = make_addr(&v[0], &v[1], resolve)?;
            if m.known_replicas.iter().any(|r| r.same(&addr)) {
                return Err("Duplicate hostname and port for replica.".into());
            }
            m.known_replicas.push(addr);
        }
        "known-sentinel" => {
            let addr = make_addr(&v[0], &v[1], resolve)?;
            if m.known_sentinels.iter().any(|s| s.runid == v[2]) {
                return Err("Duplicate runid for sentinel.".into());
            }
            m.known_sentinels.push(KnownSentinel { addr, runid: v[2].clone() });
        }
        _ => return Err(UNRECOGNIZED.into()),
    }
    Ok(())
}

/// Command names compare case-insensitively (Redis's renamed-commands dict); stored
/// lower-case as the snapshot documents.
fn rename(m: &mut MasterSnapshot, old: &str, new: &str) -> Result<(), String> {
    let old = old.to_ascii_lowercase();
    if m.rename_commands.iter().any(|(o, _)| *o == old) {
        return Err("Same command renamed multiple times with rename-command.".into());
    }
    m.rename_commands.push((old, new.to_string()));
    Ok(())
}
