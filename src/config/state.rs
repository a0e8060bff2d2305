//! The state file `<data-dir>/sentinel-state.toml` used with sentinel.toml: everything the
//! sentinel learned or was told at runtime (myid, epochs, post-failover addresses, known
//! replicas and sentinels, masters added with `SENTINEL MONITOR`, `SENTINEL SET` and
//! `CONFIG SET` changes), kept apart from the operator's file, and the merge of the two.
//!
//! Format: TOML, `format_version` on line 1 and an FNV-1a-64 `checksum` of everything after
//! line 2 on line 2, so a truncated or damaged file is an error naming the file, never a
//! silent reset to a new identity. A file without the checksum line (edited by hand) is
//! accepted with a warning.
//!
//! Secrets: a password equal to what sentinel.toml says is not copied into the state
//! file; the state file records that it comes from sentinel.toml (`auth_pass_from_config`,
//! or no `sentinel_pass` override) and the value is taken from sentinel.toml on load. Only
//! passwords set at runtime (`SENTINEL SET auth-pass`, `SENTINEL CONFIG SET
//! sentinel-pass`) are written, and the file is created mode 0600.
//!
//! Global options (announce-*, *-hostnames, deny-scripts-reconfig, sentinel-user/pass) are
//! stored only as overrides: values that differ from sentinel.toml at the time of writing.
//! Per-master state replaces the operator's master of the same name wholesale.
//!
//! Owns encoding, decoding and merging. Never touches the disk.

use super::ConfigError;
use crate::core::{Addr, Epoch, MasterSnapshot, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) const STATE_FILE: &str = "sentinel-state.toml";
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The state file's content.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateFile {
    format_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
    myid: String,
    current_epoch: Epoch,
    /// Masters of sentinel.toml whose `auth-pass` is still the one sentinel.toml gives.
    #[serde(default)]
    auth_pass_from_config: Vec<String>,
    /// Masters of sentinel.toml removed at runtime with `SENTINEL REMOVE`.
    #[serde(default)]
    removed_masters: Vec<String>,
    #[serde(default)]
    overrides: Overrides,
    /// For masters from sentinel.toml: the address sentinel.toml gave when this file was
    /// written, to tell an operator's edit from a failover.
    #[serde(default)]
    config_addrs: BTreeMap<String, Addr>,
    #[serde(default)]
    masters: Vec<MasterSnapshot>,
}

/// Global options changed at runtime. `""` / `0` record a value cleared at runtime.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
struct Overrides {
    announce_ip: Option<String>,
    announce_port: Option<u16>,
    resolve_hostnames: Option<bool>,
    announce_hostnames: Option<bool>,
    deny_scripts_reconfig: Option<bool>,
    sentinel_user: Option<String>,
    sentinel_pass: Option<String>,
}

fn changed<T: Clone + PartialEq>(base: &T, cur: &T) -> Option<T> {
    (base != cur).then(|| cur.clone())
}

impl Overrides {
    fn diff(base: &Snapshot, cur: &Snapshot) -> Overrides {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        Overrides {
            announce_ip: changed(&s(&base.announce_ip), &s(&cur.announce_ip)),
            announce_port: changed(&base.announce_port.unwrap_or(0), &cur.announce_port.unwrap_or(0)),
            resolve_hostnames: changed(&base.resolve_hostnames, &cur.resolve_hostnames),
            announce_hostnames: changed(&base.announce_hostnames, &cur.announce_hostnames),
            deny_scripts_reconfig: changed(&base.deny_scripts_reconfig, &cur.deny_scripts_reconfig),
            sentinel_user: changed(&s(&base.sentinel_user), &s(&cur.sentinel_user)),
            sentinel_pass: changed(&s(&base.sentinel_pass), &s(&cur.sentinel_pass)),
        }
    }

    fn apply(&self, snap: &mut Snapshot) {
        let s = |v: &Option<String>, into: &mut Option<String>| {
            if let Some(v) = v {
                *into = (!v.is_empty()).then(|| v.clone());
            }
        };
        s(&self.announce_ip, &mut snap.announce_ip);
        s(&self.sentinel_user, &mut snap.sentinel_user);
        s(&self.sentinel_pass, &mut snap.sentinel_pass);
        if let Some(p) = self.announce_port {
            snap.announce_port = (p != 0).then_some(p);
        }
        snap.resolve_hostnames = self.resolve_hostnames.unwrap_or(snap.resolve_hostnames);
        snap.announce_hostnames = self.announce_hostnames.unwrap_or(snap.announce_hostnames);
        snap.deny_scripts_reconfig = self.deny_scripts_reconfig.unwrap_or(snap.deny_scripts_reconfig);
    }
}

/// 64-bit FNV-1a: a corruption check, not a security measure.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The state file text for `snap`, given what sentinel.toml says (`operator`).
pub(crate) fn encode(snap: &Snapshot, operator: &Snapshot) -> Result<String, String> {
    let op = |name: &str| operator.masters.iter().find(|m| m.name == name);
    let mut file = StateFile {
        format_version: FORMAT_VERSION,
        checksum: None,
        myid: snap.myid.clone(),
        current_epoch: snap.current_epoch,
        auth_pass_from_config: Vec::new(),
        removed_masters: Vec::new(),
        overrides: Overrides::diff(operator, snap),
        config_addrs: BTreeMap::new(),
        masters: snap.masters.clone(),
    };
    for m in &mut file.masters {
        let Some(o) = op(&m.name) else { continue };
        file.config_addrs.insert(m.name.clone(), o.addr.clone());
        if m.auth_pass.is_some() && m.auth_pass == o.auth_pass {
            m.auth_pass = None;
            file.auth_pass_from_config.push(m.name.clone());
        }
    }
    file.removed_masters = operator
        .masters
        .iter()
        .filter(|o| !snap.masters.iter().any(|m| m.name == o.name))
        .map(|o| o.name.clone())
        .collect();
    let body = toml::to_string(&file).map_err(|e| format!("cannot encode state: {e}"))?;
    let head = format!("format_version = {FORMAT_VERSION}\n");
    let rest = body.strip_prefix(&head).ok_or("state encoding does not start with format_version")?;
    Ok(format!("{head}checksum = \"fnv1a64:{:016x}\"\n{rest}", fnv1a64(rest.as_bytes())))
}

/// Parses and checks a state file's text.
pub(crate) fn decode(file: &Path, text: &str, warnings: &mut Vec<String>) -> Result<StateFile, ConfigError> {
    let err = |m: String| ConfigError(format!("{}: {m}", file.display()));
    #[derive(Deserialize)]
    struct Version {
        format_version: Option<u32>,
        checksum: Option<String>,
    }
    let v: Version = toml::from_str(text).map_err(|e| err(format!("corrupt state file: {e}")))?;
    match v.format_version {
        Some(FORMAT_VERSION) => {}
        Some(n) => {
            return Err(err(format!("unsupported state format_version {n} (this build reads {FORMAT_VERSION})")))
        }
        None => return Err(err("corrupt state file: no format_version (empty or truncated file?)".into())),
    }
    // The checksum is checked before the schema, so a truncation reads as one.
    verify_checksum(text, v.checksum.as_deref()).map_err(|m| err(format!("corrupt state file: {m}")))?;
    let st: StateFile = toml::from_str(text).map_err(|e| err(format!("corrupt state file: {e}")))?;
    if st.checksum.is_none() {
        warnings.push(format!("{}: no checksum line; accepted as edited by hand", file.display()));
    }
    if st.myid.len() != 40 {
        return Err(err(format!("myid must be exactly 40 characters, found {}", st.myid.len())));
    }
    for (i, m) in st.masters.iter().enumerate() {
        if st.masters[..i].iter().any(|o| o.name == m.name) {
            return Err(err(format!("master '{}' appears twice", m.name)));
        }
    }
    Ok(st)
}

fn verify_checksum(text: &str, checksum: Option<&str>) -> Result<(), String> {
    let Some(expected) = checksum else { return Ok(()) };
    let mut parts = text.splitn(3, '\n');
    let (first, second, rest) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    let well_placed =
        first.is_some_and(|l| l.starts_with("format_version")) && second.is_some_and(|l| l.starts_with("checksum"));
    if !well_placed {
        return Err("checksum must be on line 2, after format_version on line 1".into());
    }
    let actual = format!("fnv1a64:{:016x}", fnv1a64(rest.as_bytes()));
    if actual != expected {
        return Err(format!(
            "checksum mismatch (file truncated or damaged; expected {expected}, content gives {actual}). \
             If you edited it on purpose, delete the checksum line"
        ));
    }
    Ok(())
}

/// The snapshot to boot from: the operator's file (`operator`) overlaid with the state
/// file. Masters in the state replace the operator's, operator-only masters are added
/// fresh unless removed at runtime, state-only masters are kept. `myid` stays empty
/// without a state file.
pub(crate) fn merge(operator: &Snapshot, state: Option<StateFile>, warnings: &mut Vec<String>) -> Snapshot {
    let mut snap = operator.clone();
    let Some(st) = state else { return snap };
    snap.myid = st.myid;
    snap.current_epoch = st.current_epoch;
    st.overrides.apply(&mut snap);
    snap.masters = Vec::new();
    for mut m in st.masters {
        let op = operator.masters.iter().find(|o| o.name == m.name);
        if st.auth_pass_from_config.contains(&m.name) {
            m.auth_pass = op.and_then(|o| o.auth_pass.clone());
        }
        match op {
            Some(o) => compare(o, &m, st.config_addrs.get(&m.name), warnings),
            None if st.config_addrs.contains_key(&m.name) => warnings.push(format!(
                "master '{}' is no longer in sentinel.toml but is still monitored (state file); \
                 use SENTINEL REMOVE {} to stop monitoring it",
                m.name, m.name
            )),
            None => {}
        }
        snap.masters.push(m);
    }
    for o in &operator.masters {
        if snap.masters.iter().any(|m| m.name == o.name) {
            continue;
        }
        if st.removed_masters.contains(&o.name) {
            warnings.push(format!(
                "master '{}' of sentinel.toml was removed at runtime (SENTINEL REMOVE) and is not monitored; \
                 use SENTINEL MONITOR to monitor it again",
                o.name
            ));
            continue;
        }
        snap.masters.push(o.clone());
    }
    let max_ce = snap.masters.iter().map(|m| m.config_epoch).max().unwrap_or(Epoch(0));
    snap.current_epoch = snap.current_epoch.max(max_ce);
    snap
}

/// Warns when sentinel.toml disagrees with the state for a master the state keeps.
fn compare(op: &MasterSnapshot, st: &MasterSnapshot, recorded: Option<&Addr>, warnings: &mut Vec<String>) {
    let was = recorded.unwrap_or(&st.addr);
    if !op.addr.same(was) {
        warnings.push(format!(
            "master '{}': sentinel.toml says {} but the state file keeps {} (the address after failovers); \
             to force the new address use SENTINEL REMOVE then SENTINEL MONITOR",
            st.name,
            op.addr.key(),
            st.addr.key()
        ));
    }
    let mut diffs = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            diffs.push(name)
        }
    };
    check("quorum", op.quorum != st.quorum);
    check("down-after-milliseconds", op.down_after_ms != st.down_after_ms);
    check("failover-timeout", op.failover_timeout_ms != st.failover_timeout_ms);
    check("parallel-syncs", op.parallel_syncs != st.parallel_syncs);
    check("auth-user", op.auth_user != st.auth_user);
    check("auth-pass", op.auth_pass != st.auth_pass);
    check("master-reboot-down-after-period", op.master_reboot_down_after_ms != st.master_reboot_down_after_ms);
    check("notification-script", op.notification_script != st.notification_script);
    check("client-reconfig-script", op.client_reconfig_script != st.client_reconfig_script);
    check("rename-command", op.rename_commands != st.rename_commands);
    check("write-lease", op.write_lease_s != st.write_lease_s);
    check("crash-detection", op.crash_detection != st.crash_detection);
    check("holistic-detection", op.holistic_detection != st.holistic_detection);
    check("max-lag-on-failover", op.max_lag_on_failover != st.max_lag_on_failover);
    check("failover-block-period", op.failover_block_ms != st.failover_block_ms);
    if !diffs.is_empty() {
        warnings.push(format!(
            "master '{}': the state file's {} (changed at runtime) override sentinel.toml; use SENTINEL SET to change them",
            st.name,
            diffs.join(", ")
        ));
    }
}
