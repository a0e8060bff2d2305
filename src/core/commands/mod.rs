//! Commands the core answers (§11): `SENTINEL ...`, `ROLE` and `PUBLISH` (hello intake),
//! plus the `# Sentinel` INFO section. Connection-level commands (AUTH, HELLO, CLIENT,
//! SUBSCRIBE ...) belong to the server shell. Replies are protocol-neutral [`Value`]s.

mod admin;
mod maps;

use super::monitor::hello::CHANNEL;
use super::{failover, quorum, selection, Millis, Sentinel};
use crate::resp::Value;

/// `(name, arity)` of every subcommand under its Redis name (Redis command-table arity:
/// negative = minimum); Valkey's spellings are in [`ALIASES`]. The listener's `COMMAND` table (`server::table_data::SENTINEL_SUBS`, generated from
/// redis-sentinel) lists Redis's own; this one also has ours (TIMELINE) and FAILOVER's options.
const SUBCOMMANDS: &[(&str, i64)] = &[
    ("MASTERS", 2),
    ("MASTER", 3),
    ("REPLICAS", 3),
    ("SLAVES", 3),
    ("SENTINELS", 3),
    ("GET-MASTER-ADDR-BY-NAME", 3),
    ("IS-MASTER-DOWN-BY-ADDR", 6),
    ("MYID", 2),
    ("RESET", 3),
    ("FAILOVER", -3),
    ("CKQUORUM", 3),
    ("FLUSHCONFIG", 2),
    ("MONITOR", 6),
    ("REMOVE", 3),
    ("SET", -5),
    ("CONFIG", -4),
    ("INFO-CACHE", -3),
    ("PENDING-SCRIPTS", 2),
    ("SIMULATE-FAILURE", -3),
    ("DEBUG", -2),
    ("HELP", 2),
    ("TIMELINE", -3),
];

/// Valkey's inclusive spellings of four subcommands (§18): `(alias, Redis name)`. An alias
/// is the Redis subcommand: same arity, same reply, and ACL rules name it by its Redis name.
const ALIASES: &[(&str, &str)] = &[
    ("PRIMARIES", "MASTERS"),
    ("PRIMARY", "MASTER"),
    ("GET-PRIMARY-ADDR-BY-NAME", "GET-MASTER-ADDR-BY-NAME"),
    ("IS-PRIMARY-DOWN-BY-ADDR", "IS-MASTER-DOWN-BY-ADDR"),
];

/// The Redis name (upper case) of a SENTINEL subcommand spelled as a Valkey alias, in any
/// case; `None` for every other word.
pub fn sentinel_alias_of(sub: &[u8]) -> Option<&'static str> {
    ALIASES.iter().find(|(alias, _)| alias.as_bytes().eq_ignore_ascii_case(sub)).map(|&(_, name)| name)
}

pub(crate) fn err(msg: &str) -> Value {
    Value::error(format!("ERR {msg}"))
}

pub(crate) fn no_such_master() -> Value {
    err("No such master with that name")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether `argc` arguments (the command name counts) satisfy a Redis command-table
/// arity: exactly `arity` if positive, at least `-arity` if negative. The one copy: the
/// listener's generic checks (`server::table`) use it too.
pub fn arity_ok(arity: i64, argc: usize) -> bool {
    let argc = argc as i64;
    if arity >= 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

impl Sentinel {
    /// Answers a command; `None` only for commands the core does not own.
    pub(crate) fn command(&mut self, now: Millis, args: &[Vec<u8>]) -> Option<Value> {
        // Matched without allocating: this runs for every client command.
        let name = args.first()?;
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        let name = if is("SENTINEL") {
            "SENTINEL"
        } else if is("ROLE") {
            "ROLE"
        } else if is("PUBLISH") {
            "PUBLISH"
        } else {
            return None;
        };
        Some(match name {
            "SENTINEL" => self.sentinel_command(now, args),
            "ROLE" => Value::Array(vec![
                Value::bulk("sentinel"),
                Value::Array(self.masters.keys().map(Value::bulk).collect()),
            ]),
            "PUBLISH" if args.len() == 3 => {
                if args[1] != CHANNEL.as_bytes() {
                    return Some(err("Only HELLO messages are accepted by Sentinel instances."));
                }
                self.hello(now, &text(&args[2]));
                Value::Int(1)
            }
            "PUBLISH" => err("wrong number of arguments for 'publish' command"),
            _ => return None,
        })
    }

    fn sentinel_command(&mut self, now: Millis, args: &[Vec<u8>]) -> Value {
        let Some(sub) = args.get(1) else {
            return err("wrong number of arguments for 'sentinel' command");
        };
        let alias = ALIASES.iter().find(|(alias, _)| alias.as_bytes().eq_ignore_ascii_case(sub));
        let name = alias.map_or(&sub[..], |(_, name)| name.as_bytes());
        let Some(&(upper, arity)) = SUBCOMMANDS.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name)) else {
            return err(&format!("unknown subcommand '{}'. Try SENTINEL HELP.", text(sub)));
        };
        if !arity_ok(arity, args.len()) {
            let shown = alias.map_or(upper, |&(alias, _)| alias);
            return err(&format!("wrong number of arguments for 'sentinel|{}' command", shown.to_ascii_lowercase()));
        }
        let arg = |i: usize| text(&args[i]);
        let hn = self.g.announce_hostnames;
        match upper {
            "MASTERS" => Value::Array(self.masters.values().map(|m| maps::master(m, now, hn)).collect()),
            "MASTER" => self.with_master(&arg(2), |m| maps::master(m, now, hn)),
            "REPLICAS" | "SLAVES" => self.with_master(&arg(2), |m| {
                let rs = m.replicas.values().filter(|r| r.replica_announced);
                Value::Array(rs.map(|r| maps::replica(m, r, now, hn)).collect())
            }),
            "SENTINELS" => self.with_master(&arg(2), |m| {
                Value::Array(m.sentinels.values().map(|s| maps::sentinel(m, s, now, hn)).collect())
            }),
            "GET-MASTER-ADDR-BY-NAME" => {
                match self.masters.get(&*String::from_utf8_lossy(&args[2])) {
                    Some(m) => {
                        let a = m.current_addr();
                        // The instance at that address (the promoted replica during the
                        // switch), for the IP its host name resolved to.
                        let inst = std::iter::once(&m.inst).chain(m.replicas.values()).find(|i| i.addr.same(a));
                        let host = inst.map_or_else(|| a.host.clone(), |i| maps::shown_host(i, hn));
                        Value::Array(vec![Value::bulk(&host), Value::Bulk(a.port.to_string().into_bytes())])
                    }
                    None => Value::NullArray,
                }
            }
            "IS-MASTER-DOWN-BY-ADDR" => self.answer_is_master_down(now, args),
            "MYID" => Value::bulk(&self.g.myid),
            "CKQUORUM" => self.with_master(&arg(2), ckquorum),
            "FAILOVER" => {
                // Options, each at most once: FORCE (ours: promote even a replica beyond
                // `max-lag-on-failover`), COORDINATED (Valkey 9: promotion through
                // `FAILOVER` on the old master). Anything else is answered as Redis
                // answers an extra argument.
                let opts: Vec<String> = args[3..].iter().map(|a| text(a).to_ascii_uppercase()).collect();
                let force = opts.iter().filter(|o| *o == "FORCE").count();
                let coordinated = opts.iter().filter(|o| *o == "COORDINATED").count();
                if force > 1 || coordinated > 1 || force + coordinated != opts.len() {
                    err("wrong number of arguments for 'sentinel|failover' command")
                } else {
                    self.manual_failover(now, &arg(2), force == 1, coordinated == 1)
                }
            }
            "TIMELINE" => self.timeline(now, &arg(2)),
            _ => self.admin_command(now, upper, args),
        }
    }

    /// `SENTINEL TIMELINE <name>` (ours): the events that concerned the master, oldest
    /// first, each `[ms-ago, event, message]` — the failover history `sentinel-cli
    /// history` prints.
    fn timeline(&self, now: Millis, name: &str) -> Value {
        if !self.masters.contains_key(name) {
            return no_such_master();
        }
        let entries = self.io.timeline.get(name).into_iter().flatten();
        Value::Array(
            entries
                .map(|e| {
                    let ago = now.saturating_sub(e.at).to_string();
                    Value::Array(vec![Value::bulk(ago), Value::bulk(e.name), Value::bulk(&e.message)])
                })
                .collect(),
        )
    }

    fn with_master(&self, name: &str, f: impl FnOnce(&super::monitor::Master) -> Value) -> Value {
        self.masters.get(name).map_or_else(no_such_master, f)
    }

    /// §8.8: `SENTINEL FAILOVER <name> [FORCE] [COORDINATED]` (`FORCE`: ours, ignores the
    /// lag bound; `COORDINATED`: Valkey 9, see `core::failover`).
    fn manual_failover(&mut self, now: Millis, name: &str, force: bool, coordinated: bool) -> Value {
        let Some(m) = self.masters.get_mut(name) else { return no_such_master() };
        if m.in_failover() {
            return Value::error("INPROG Failover already in progress");
        }
        // The handover needs the old master: refuse at once rather than fail later.
        if coordinated && (!m.inst.connected() || m.inst.sdown) {
            return Value::error(
                "NOTREACHABLE The master is unreachable: a COORDINATED failover needs it; \
                 use SENTINEL FAILOVER without COORDINATED to promote a replica anyway",
            );
        }
        m.ignore_lag = force;
        if selection::select(m, &self.g.timing, now).is_none() {
            m.ignore_lag = false;
            return Value::error("NOGOODSLAVE No suitable replica to promote");
        }
        failover::start(&mut self.g, &mut self.io, m, now);
        m.force_failover = true;
        m.coordinated = coordinated;
        quorum::ask_peers(&self.g, &mut self.io, m, now, true);
        Value::ok()
    }

    /// The `# Sentinel` section of `INFO` (§11.3), ending with `\r\n`.
    pub fn info_section(&self, now: Millis) -> String {
        let tilt_secs = if self.g.tilt { (now.saturating_sub(self.g.tilt_since) / 1000) as i64 } else { -1 };
        let mut s = format!(
            "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_total_tilt:{}\r\nsentinel_running_scripts:{}\r\nsentinel_scripts_queue_length:{}\r\nsentinel_simulate_failure_flags:{}\r\n",
            self.masters.len(),
            self.g.tilt as u8,
            tilt_secs,
            self.g.total_tilt,
            self.g.scripts.running(),
            self.g.scripts.queued(),
            self.g.simfail
        );
        for (i, m) in self.masters.values().enumerate() {
            let status = if m.odown {
                "odown"
            } else if m.inst.sdown {
                "sdown"
            } else {
                "ok"
            };
            s.push_str(&format!(
                "master{}:name={},status={},address={}:{},slaves={},sentinels={}\r\n",
                i,
                m.name(),
                status,
                m.inst.addr.host,
                m.inst.addr.port,
                m.replicas.len(),
                m.sentinels.len() + 1
            ));
            // Ours, only when on (parsers of Redis's line ignore unknown keys at the end).
            if m.write_lease_s > 0 {
                s.truncate(s.len() - 2);
                s.push_str(&format!(",write_lease={}\r\n", m.write_lease_s));
            }
        }
        s
    }
}

/// §11.4 CKQUORUM.
fn ckquorum(m: &super::monitor::Master) -> Value {
    let voters = m.sentinels.len() as u32 + 1;
    let usable = 1 + m.sentinels.values().filter(|s| !s.sdown).count() as u32;
    let mut problems = Vec::new();
    if usable < m.quorum {
        problems.push("Not enough available Sentinels to reach the specified quorum for this master");
    }
    if usable < voters / 2 + 1 {
        problems.push("Not enough available Sentinels to reach the majority and authorize a failover");
    }
    if problems.is_empty() {
        Value::simple(format!("OK {usable} usable Sentinels. Quorum and failover authorization can be reached"))
    } else {
        Value::error(format!("NOQUORUM {usable} usable Sentinels. {}", problems.join(". ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Options, Snapshot};

    fn ask(s: &mut Sentinel, args: &[&str]) -> Value {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        s.command(0, &args).expect("a core command")
    }

    #[test]
    fn valkey_aliases_are_the_redis_subcommands() {
        let opts = Options { port: 26379, seed: 7, timing: Default::default(), requirepass: None };
        let mut s = Sentinel::new(Snapshot::new("1".repeat(40)), opts, 0);
        assert_eq!(ask(&mut s, &["SENTINEL", "primaries"]), ask(&mut s, &["SENTINEL", "MASTERS"]));
        assert_eq!(ask(&mut s, &["sentinel", "Primary", "x"]), no_such_master());
        // The arity error names the subcommand as it was spelled, as Valkey does.
        let wrong = |sub: &str| Value::error(format!("ERR wrong number of arguments for 'sentinel|{sub}' command"));
        assert_eq!(ask(&mut s, &["SENTINEL", "PRIMARY"]), wrong("primary"));
        assert_eq!(ask(&mut s, &["SENTINEL", "IS-PRIMARY-DOWN-BY-ADDR", "h"]), wrong("is-primary-down-by-addr"));
        assert_eq!(ask(&mut s, &["SENTINEL", "MASTER"]), wrong("master"));
        assert_eq!(sentinel_alias_of(b"get-Primary-addr-by-name"), Some("GET-MASTER-ADDR-BY-NAME"));
        assert_eq!(sentinel_alias_of(b"master"), None);
        assert!(arity_ok(3, 3) && !arity_ok(3, 4) && arity_ok(-3, 3) && arity_ok(-3, 9) && !arity_ok(-3, 2));
    }
}
