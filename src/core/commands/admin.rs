//! Administrative `SENTINEL` subcommands (§11.4, §15.5, §15.6): MONITOR, REMOVE, RESET,
//! SET, CONFIG, FLUSHCONFIG, DEBUG, SIMULATE-FAILURE, INFO-CACHE, PENDING-SCRIPTS, HELP.
//! Every persisted change queues a `Persist` before the reply.

use super::{err, no_such_master, text};
use crate::core::failover::reset_master;
use crate::core::monitor::Master;
use crate::core::{Addr, Level, MasterSnapshot, Millis, Sentinel, Timing};
use crate::core::{SIMFAIL_CRASH_AFTER_ELECTION, SIMFAIL_CRASH_AFTER_PROMOTION};
use crate::glob::glob_match;
use crate::resp::Value;

const HELP: &[&str] = &[
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum needed",
    "    to failover a master and the majority needed to authorize the failover.",
    "CONFIG SET <param> <value> [<param> <value> ...]",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param> [param param param ...]",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last INFO output from masters and replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration paramters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
    "TIMELINE <master-name>",
    "    Events that concerned the master, oldest first, as [ms-ago, event, message]",
    "    (this implementation only).",
    "HELP",
    "    Print this help.",
];

/// `SENTINEL DEBUG` names (§2.2/§11.4), in reply order.
const DEBUG_PARAMS: &[&str] = &[
    "INFO-PERIOD",
    "PING-PERIOD",
    "ASK-PERIOD",
    "PUBLISH-PERIOD",
    "DEFAULT-DOWN-AFTER",
    "DEFAULT-FAILOVER-TIMEOUT",
    "TILT-TRIGGER",
    "TILT-PERIOD",
    "SLAVE-RECONF-TIMEOUT",
    "MIN-LINK-RECONNECT-PERIOD",
    "ELECTION-TIMEOUT",
    "SCRIPT-MAX-RUNTIME",
    "SCRIPT-RETRY-DELAY",
];

fn debug_field<'a>(t: &'a mut Timing, name: &str) -> Option<&'a mut u64> {
    Some(match name {
        "INFO-PERIOD" => &mut t.info_period,
        "PING-PERIOD" => &mut t.ping_period,
        "ASK-PERIOD" => &mut t.ask_period,
        "PUBLISH-PERIOD" => &mut t.publish_period,
        "DEFAULT-DOWN-AFTER" => &mut t.default_down_after,
        "DEFAULT-FAILOVER-TIMEOUT" => &mut t.default_failover_timeout,
        "TILT-TRIGGER" => &mut t.tilt_trigger,
        "TILT-PERIOD" => &mut t.tilt_period,
        "SLAVE-RECONF-TIMEOUT" => &mut t.slave_reconf_timeout,
        "MIN-LINK-RECONNECT-PERIOD" => &mut t.min_link_reconnect_period,
        "ELECTION-TIMEOUT" => &mut t.election_timeout,
        "SCRIPT-MAX-RUNTIME" => &mut t.script_max_runtime,
        "SCRIPT-RETRY-DELAY" => &mut t.script_retry_delay,
        _ => return None,
    })
}

impl Sentinel {
    pub(super) fn admin_command(&mut self, now: Millis, sub: &str, args: &[Vec<u8>]) -> Value {
        let arg = |i: usize| text(&args[i]);
        match sub {
            "RESET" => self.reset(now, &args[2]),
            "FLUSHCONFIG" => {
                self.io.persist();
                Value::ok()
            }
            "MONITOR" => self.monitor(now, &arg(2), &arg(3), &arg(4), &arg(5)),
            "REMOVE" => self.remove(&arg(2)),
            "SET" => self.set(&args[2..]),
            "CONFIG" => self.config(&args[2..]),
            "INFO-CACHE" => self.info_cache(now, &args[2..]),
            "PENDING-SCRIPTS" => self.g.scripts.pending(now),
            "SIMULATE-FAILURE" => self.simulate_failure(&args[2..]),
            "DEBUG" => self.debug(&args[2..]),
            "HELP" => Value::Array(HELP.iter().map(|s| Value::simple(*s)).collect()),
            _ => err(&format!("unknown subcommand '{sub}'. Try SENTINEL HELP.")),
        }
    }

    fn reset(&mut self, now: Millis, pattern: &[u8]) -> Value {
        let mut n = 0;
        for m in self.masters.values_mut() {
            if glob_match(pattern, m.name().as_bytes(), false) {
                reset_master(&mut self.io, m, now, true);
                let d = crate::core::details(m, &m.inst);
                self.io.event(Level::Warning, "+reset-master", Some(m.name()), d);
                n += 1;
            }
        }
        Value::Int(n)
    }

    fn monitor(&mut self, now: Millis, name: &str, host: &str, port: &str, quorum: &str) -> Value {
        let Ok(quorum) = quorum.parse::<i64>() else { return err("Invalid quorum") };
        let Ok(port) = port.parse::<i64>() else { return err("Invalid port") };
        if quorum <= 0 {
            return err("Quorum must be 1 or greater.");
        }
        if host.parse::<std::net::IpAddr>().is_err() && !self.g.resolve_hostnames {
            return err("Invalid IP address or hostname specified");
        }
        if self.masters.contains_key(name) {
            return err("Duplicate master name.");
        }
        if !(0..=65535).contains(&port) {
            return err("Invalid port number.");
        }
        let mut ms = MasterSnapshot::new(name, Addr::new(host, port as u16), quorum as u32);
        ms.down_after_ms = self.g.timing.default_down_after;
        ms.failover_timeout_ms = self.g.timing.default_failover_timeout;
        // Deliberate difference: Redis starts the new entry with no vote, so a REMOVE and
        // MONITOR of a master during an election can vote twice in one epoch (simulation
        // seed 4267). Every epoch up to the current one counts as voted.
        ms.leader_epoch = self.g.current_epoch;
        self.add_master(&ms, now);
        self.io.persist();
        Value::ok()
    }

    fn remove(&mut self, name: &str) -> Value {
        let Some(mut m) = self.masters.remove(name) else { return no_such_master() };
        let d = crate::core::details(&m, &m.inst);
        self.io.event(Level::Warning, "-monitor", Some(name), d);
        reset_master(&mut self.io, &mut m, 0, true);
        self.io.timeline.remove(name);
        self.io.persist();
        Value::ok()
    }

    /// §15.5: options applied left to right; on error earlier ones stay applied.
    fn set(&mut self, args: &[Vec<u8>]) -> Value {
        let name = text(&args[0]);
        let deny_scripts = self.g.deny_scripts_reconfig;
        let Some(m) = self.masters.get_mut(&name) else { return no_such_master() };
        let mut i = 1;
        let mut result = Value::ok();
        let mut relink = false;
        while i < args.len() {
            let opt = text(&args[i]).to_ascii_lowercase();
            let (used, outcome) = set_option(m, &opt, &args[i + 1..], deny_scripts);
            match outcome {
                Ok(shown) => {
                    // §15.5: new credentials (and, for us, renamed commands, which a link
                    // takes at connect time) apply through fresh links.
                    relink |= matches!(opt.as_str(), "auth-pass" | "auth-user" | "rename-command");
                    // Ours: any change of the master's options acknowledges a blocked
                    // failover (`failover-block-period`).
                    m.last_switch_at = None;
                    let msg = format!("{} {}", crate::core::details(m, &m.inst), shown);
                    self.io.event(Level::Warning, "+set", Some(&name), msg);
                }
                Err(e) => {
                    result = e;
                    break;
                }
            }
            i += 1 + used;
        }
        if relink {
            drop_links(&mut self.io, std::iter::once(&mut m.inst).chain(m.replicas.values_mut()));
        }
        self.io.persist();
        result
    }

    /// §15.6: `SENTINEL CONFIG GET|SET`.
    fn config(&mut self, args: &[Vec<u8>]) -> Value {
        let usage = "Only SENTINEL CONFIG GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...] are supported.";
        match text(&args[0]).to_ascii_uppercase().as_str() {
            "GET" => self.config_get(&args[1..]),
            "SET" if args.len() >= 3 => self.config_set(&args[1..]),
            _ => err(usage),
        }
    }

    fn config_params(&self) -> Vec<(&'static str, String)> {
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        vec![
            ("resolve-hostnames", yn(self.g.resolve_hostnames)),
            ("announce-hostnames", yn(self.g.announce_hostnames)),
            ("announce-ip", self.g.announce_ip.clone().unwrap_or_default()),
            ("announce-port", self.g.announce_port.unwrap_or(0).to_string()),
            ("sentinel-user", self.g.sentinel_user.clone().unwrap_or_default()),
            ("sentinel-pass", self.g.sentinel_pass.clone().unwrap_or_default()),
            ("loglevel", "notice".into()),
        ]
    }

    fn config_get(&self, patterns: &[Vec<u8>]) -> Value {
        let params = self.config_params();
        let hits = params.into_iter().filter(|(n, _)| patterns.iter().any(|p| glob_match(p, n.as_bytes(), true)));
        Value::Map(hits.map(|(n, v)| (Value::bulk(n), Value::bulk(v))).collect())
    }

    fn config_set(&mut self, args: &[Vec<u8>]) -> Value {
        let mut seen: Vec<String> = Vec::new();
        for pair in args.chunks(2) {
            let name = text(&pair[0]).to_ascii_lowercase();
            let Some(value) = pair.get(1).map(|v| text(v)) else {
                return err(&format!("Missing argument '{name}' value"));
            };
            if !self.config_params().iter().any(|(n, _)| *n == name) {
                return err(&format!("Invalid argument '{name}' to SENTINEL CONFIG SET"));
            }
            if seen.contains(&name) {
                return err(&format!("Duplicate argument '{name}' to SENTINEL CONFIG SET"));
            }
            if !valid_config_value(&name, &value) {
                return err(&format!("Invalid value '{value}' to SENTINEL CONFIG SET '{name}'"));
            }
            seen.push(name);
        }
        let mut relink = false;
        for pair in args.chunks(2) {
            let name = text(&pair[0]).to_ascii_lowercase();
            relink |= name == "sentinel-user" || name == "sentinel-pass";
            self.apply_config(&name, &text(&pair[1]));
        }
        if relink {
            // §15.6: links to other sentinels re-authenticate.
            let peers = self.masters.values_mut().flat_map(|m| m.sentinels.values_mut());
            drop_links(&mut self.io, peers);
        }
        self.io.persist();
        Value::ok()
    }

    fn apply_config(&mut self, name: &str, value: &str) {
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match name {
            "resolve-hostnames" => self.g.resolve_hostnames = value.eq_ignore_ascii_case("yes"),
            "announce-hostnames" => self.g.announce_hostnames = value.eq_ignore_ascii_case("yes"),
            "announce-ip" => self.g.announce_ip = opt(value),
            "announce-port" => self.g.announce_port = value.parse().ok().filter(|p| *p != 0),
            "sentinel-user" => self.g.sentinel_user = opt(value),
            "sentinel-pass" => self.g.sentinel_pass = opt(value),
            _ => {}
        }
    }

    fn info_cache(&self, now: Millis, names: &[Vec<u8>]) -> Value {
        let entry = |refresh: Option<Millis>, info: &Option<String>| {
            Value::Array(vec![
                Value::Int(refresh.map_or(0, |at| now.saturating_sub(at)) as i64),
                info.as_ref().map_or(Value::Null, Value::bulk),
            ])
        };
        let mut out = Vec::new();
        for m in names.iter().filter_map(|n| self.masters.get(&text(n))) {
            let mut list = vec![entry(m.inst.info_refresh, &m.inst.info_text)];
            list.extend(m.replicas.values().map(|r| entry(r.info_refresh, &r.info_text)));
            out.push(Value::bulk(m.name()));
            out.push(Value::Array(list));
        }
        Value::Array(out)
    }

    fn simulate_failure(&mut self, modes: &[Vec<u8>]) -> Value {
        self.g.simfail = 0;
        for mode in modes {
            match text(mode).to_ascii_lowercase().as_str() {
                "crash-after-election" => self.g.simfail |= SIMFAIL_CRASH_AFTER_ELECTION,
                "crash-after-promotion" => self.g.simfail |= SIMFAIL_CRASH_AFTER_PROMOTION,
                "help" => {
                    return Value::Array(vec![
                        Value::bulk("crash-after-election"),
                        Value::bulk("crash-after-promotion"),
                    ])
                }
                _ => return err("Unknown failure simulation specified"),
            }
        }
        Value::ok()
    }

    fn debug(&mut self, args: &[Vec<u8>]) -> Value {
        if args.is_empty() {
            let t = &mut self.g.timing;
            let pairs: Vec<(Value, Value)> = DEBUG_PARAMS
                .iter()
                .map(|n| (Value::bulk(n), Value::bulk(debug_field(t, n).map_or(0, |v| *v).to_string())))
                .collect();
            return Value::Map(pairs);
        }
        for pair in args.chunks(2) {
            let opt = text(&pair[0]);
            let Some(field) = debug_field(&mut self.g.timing, &opt.to_ascii_uppercase()) else {
                return err(&format!("Unknown option or number of arguments for SENTINEL DEBUG '{opt}'"));
            };
            let Some(value) = pair.get(1).map(|v| text(v)) else {
                return err(&format!("Unknown option or number of arguments for SENTINEL DEBUG '{opt}'"));
            };
            match value.parse::<u64>() {
                Ok(v) if v > 0 => *field = v,
                _ => return err(&format!("Invalid argument '{value}' for SENTINEL DEBUG '{opt}'")),
            }
        }
        Value::ok()
    }
}

/// Closes both links of every instance given; the next tick reconnects them (with the
/// current credentials and renames).
fn drop_links<'a>(io: &mut crate::core::io::Io, insts: impl Iterator<Item = &'a mut crate::core::monitor::Instance>) {
    for inst in insts {
        for link in [inst.cc.take(), inst.pc.take()].into_iter().flatten() {
            io.close(link.id);
        }
    }
}

/// `None` for an empty value (which clears the option).
fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn valid_config_value(name: &str, value: &str) -> bool {
    match name {
        "resolve-hostnames" | "announce-hostnames" => {
            value.eq_ignore_ascii_case("yes") || value.eq_ignore_ascii_case("no")
        }
        "announce-port" => value.parse::<u16>().is_ok(),
        "loglevel" => ["debug", "verbose", "notice", "warning", "nothing"].contains(&value),
        _ => true,
    }
}

/// Applies one `SENTINEL SET` option; returns how many values it consumed and either
/// the text shown in `+set` or the error reply.
fn set_option(m: &mut Master, opt: &str, vals: &[Vec<u8>], deny_scripts: bool) -> (usize, Result<String, Value>) {
    let unknown = || Err(err(&format!("Unknown option or number of arguments for SENTINEL SET '{opt}'")));
    if opt == "rename-command" {
        if vals.len() < 2 {
            return (vals.len(), unknown());
        }
        let (old, new) = (text(&vals[0]), text(&vals[1]));
        m.rename_commands.retain(|(c, _)| !c.eq_ignore_ascii_case(&old));
        if !old.eq_ignore_ascii_case(&new) {
            m.rename_commands.push((old.to_ascii_lowercase(), new.clone()));
        }
        return (2, Ok(format!("rename-command {old} {new}")));
    }
    let Some(value) = vals.first().map(|v| text(v)) else { return (0, unknown()) };
    let invalid = || Err(err(&format!("Invalid argument '{value}' for SENTINEL SET '{opt}'")));
    let positive = value.parse::<i64>().ok().filter(|v| *v > 0);
    let shown = format!("{opt} {value}");
    let outcome = match opt {
        "down-after-milliseconds" => positive.map(|v| m.down_after = v as u64),
        "failover-timeout" => positive.map(|v| m.failover_timeout = v as u64),
        "parallel-syncs" => positive.map(|v| m.parallel_syncs = v as u32),
        // Ours (`core::failover::maybe_start`): ms, 0 = off.
        "failover-block-period" => value.parse::<u64>().ok().map(|v| m.failover_block_ms = v),
        // Ours (`core::selection`): bytes, 0 = no bound.
        "max-lag-on-failover" => value.parse::<u64>().ok().map(|v| m.max_lag_on_failover = v),
        // Ours (`core::detector::veto`).
        "holistic-detection" => match value.to_ascii_lowercase().as_str() {
            "on" | "off" => {
                m.holistic_detection = value.eq_ignore_ascii_case("on");
                Some(())
            }
            _ => None,
        },
        // Ours (`core::detector::crashed`).
        "crash-detection" => match value.to_ascii_lowercase().as_str() {
            "fast" | "off" => {
                m.crash_detection = value.eq_ignore_ascii_case("fast");
                Some(())
            }
            _ => None,
        },
        // Ours (`core::fencing`): seconds, 0 turns the lease off.
        "write-lease" => value.parse::<u32>().ok().filter(|v| *v <= 3600).map(|v| {
            // Re-sent at the next tick with the new lag; or taken off (a hold too).
            m.lease_sent_at = if v == 0 && m.write_lease_s > 0 { Some(0) } else { None };
            m.write_lease_s = v;
        }),
        "quorum" => positive.map(|v| m.quorum = v as u32),
        "master-reboot-down-after-period" | "primary-reboot-down-after-period" => {
            value.parse::<i64>().ok().filter(|v| *v >= 0).map(|v| m.reboot_down_after = v as u64)
        }
        "auth-pass" => {
            m.auth_pass = non_empty(&value);
            return (1, Ok(format!("{opt} ******")));
        }
        "auth-user" => {
            m.auth_user = non_empty(&value);
            Some(())
        }
        "notification-script" | "client-reconfig-script" if deny_scripts => {
            return (1, Err(err("Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration")));
        }
        "notification-script" => {
            m.notification_script = non_empty(&value);
            Some(())
        }
        "client-reconfig-script" => {
            m.client_reconfig_script = non_empty(&value);
            Some(())
        }
        _ => return (1, unknown()),
    };
    (1, if outcome.is_some() { Ok(shown) } else { invalid() })
}
