//! Reading a Redis `sentinel.conf` (§15.1): lines split like `sdssplitargs`, the
//! non-sentinel server directives a sentinel.conf may carry, and the `sentinel` lines
//! queued and applied in three passes. Errors read `<file>:<line>: <message> ('<line>')`
//! with Redis's own messages.
//!
//! Owns the text → ([`Settings`], [`Snapshot`]) translation. Never touches the disk
//! except to check that `dir` exists and scripts are executable, and never writes.

use super::args::{split, SplitError};
use super::directives;
use super::{ConfigError, Settings};
use crate::core::Snapshot;
use std::path::{Path, PathBuf};

/// What a sentinel.conf says. `snapshot.myid` is empty when the file has no `myid`.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub settings: Settings,
    pub snapshot: Snapshot,
    pub warnings: Vec<String>,
}

/// A `sentinel` line waiting for its pass.
struct Queued {
    args: Vec<String>,
    line_no: usize,
    line: String,
}

/// Redis server directives that mean nothing to this sentinel. They are accepted (a real
/// sentinel.conf may contain them, and Redis's own rewrite adds some) and reported as
/// warnings. Prefixes `tls-` and `syslog-` are accepted the same way.
const IGNORED: &[&str] = &[
    "aclfile",
    "acllog-max-len",
    "acl-pubsub-default",
    "bind-source-addr",
    "always-show-logo",
    "set-proc-title",
    "proc-title-template",
    "hz",
    "dynamic-hz",
    "supervised",
    "enable-debug-command",
    "enable-protected-configs",
    "enable-module-command",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "maxclients",
    "timeout",
    "tcp-keepalive",
    "tcp-backlog",
    "unixsocket",
    "unixsocketperm",
    "save",
    "appendonly",
    "rename-command",
    "io-threads",
    "oom-score-adj",
    "oom-score-adj-values",
    "crash-log-enabled",
    "crash-memcheck-enabled",
    "disable-thp",
    "ignore-warnings",
    "shutdown-timeout",
    "shutdown-on-sigterm",
    "shutdown-on-sigint",
    "activerehashing",
    "locale-collate",
    "socket-mark-id",
    "maxmemory",
    "databases",
    "client-output-buffer-limit",
    "lazyfree-lazy-user-flush",
    "jemalloc-bg-thread",
    "slowlog-log-slower-than",
    "slowlog-max-len",
];

fn is_ignored(name: &str) -> bool {
    IGNORED.contains(&name) || name.starts_with("tls-") || name.starts_with("syslog-")
}

/// A default `Settings` for a sentinel (§15.1: port 26379, protected-mode off).
pub(crate) fn default_settings(config_file: &Path) -> Settings {
    Settings {
        port: 26379,
        bind: vec!["0.0.0.0".to_string()],
        dir: None,
        logfile: None,
        loglevel: "notice".to_string(),
        requirepass: None,
        users: Vec::new(),
        config_file: config_file.to_path_buf(),
        protected_mode: false,
        pidfile: None,
        http_port: None,
        http_bind: "127.0.0.1".to_string(),
        log_format: "plain".to_string(),
    }
}

/// Ours: `log-format plain|json`.
pub(crate) fn log_format(v: &str) -> Result<String, String> {
    match v.to_ascii_lowercase().as_str() {
        f @ ("plain" | "json") => Ok(f.to_string()),
        _ => Err("log-format must be plain or json".into()),
    }
}

fn err_at(file: &Path, line_no: usize, msg: &str, line: &str) -> ConfigError {
    ConfigError(format!("{}:{}: {} ('{}')", file.display(), line_no, msg, line))
}

/// Parses `text` read from `file`. `cwd` is what relative `dir` values are relative to.
pub(crate) fn parse(file: &Path, text: &str, cwd: &Path) -> Result<Parsed, ConfigError> {
    let mut settings = default_settings(file);
    let mut warnings = Vec::new();
    let mut queue: [Vec<Queued>; 3] = Default::default();
    let mut eff_dir = cwd.to_path_buf();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args = split(line).map_err(|e| {
            let msg = match e {
                SplitError::Unbalanced => "Unbalanced quotes in configuration line",
                SplitError::NotUtf8 => "Argument is not valid UTF-8",
            };
            err_at(file, i + 1, msg, line)
        })?;
        let Some(first) = args.first() else { continue };
        let name = first.to_ascii_lowercase();
        if name == "sentinel" {
            // A bare `sentinel` only selects sentinel mode in Redis; nothing to queue.
            if args.len() > 1 {
                let pass = directives::pass_of(&args[1]);
                queue[pass].push(Queued { args: args[1..].to_vec(), line_no: i + 1, line: line.to_string() });
            }
            continue;
        }
        let at = format!("{}:{}", file.display(), i + 1);
        server_directive(&mut settings, &name, &args[1..], &mut eff_dir, &mut warnings, &at)
            .map_err(|m| err_at(file, i + 1, &m, line))?;
    }
    finish_paths(&mut settings, &eff_dir);
    let mut snapshot = Snapshot::new(String::new());
    for q in queue.iter().flatten() {
        directives::apply(&mut snapshot, &q.args, &eff_dir).map_err(|m| err_at(file, q.line_no, &m, &q.line))?;
    }
    Ok(Parsed { settings, snapshot, warnings })
}

/// Redis opens `logfile` and `pidfile` relative to `dir` (it chdirs while loading); make
/// them absolute so the result does not depend on the daemon changing directory.
fn finish_paths(s: &mut Settings, eff_dir: &Path) {
    s.logfile = s.logfile.take().map(|p| eff_dir.join(p));
    s.pidfile = s.pidfile.take().map(|p| eff_dir.join(p));
}

fn one(v: &[String]) -> Result<&str, String> {
    match v {
        [x] => Ok(x),
        _ => Err("wrong number of arguments".into()),
    }
}

fn yes_no(v: &[String]) -> Result<bool, String> {
    let v = one(v)?;
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

fn non_empty_path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// One non-`sentinel` line. Repeated directives: the last one wins (as in Redis).
fn server_directive(
    s: &mut Settings,
    name: &str,
    v: &[String],
    eff_dir: &mut PathBuf,
    warnings: &mut Vec<String>,
    at: &str,
) -> Result<(), String> {
    match name {
        "port" => {
            let n: i64 = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?;
            s.port = u16::try_from(n).map_err(|_| "argument must be between 0 and 65535 inclusive")?;
        }
        "bind" if v.is_empty() => return Err("wrong number of arguments".into()),
        "bind" => s.bind = v.to_vec(),
        "dir" => set_dir(s, one(v)?, eff_dir)?,
        "logfile" => s.logfile = non_empty_path(one(v)?),
        "pidfile" => s.pidfile = non_empty_path(one(v)?),
        "loglevel" => {
            let l = one(v)?.to_ascii_lowercase();
            if !["debug", "verbose", "notice", "warning", "nothing"].contains(&l.as_str()) {
                return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
            }
            s.loglevel = l;
        }
        "daemonize" if yes_no(v)? => {
            return Err("daemonize yes is not supported: run the sentinel in the foreground under a supervisor (systemd, runit, docker)".into())
        }
        "daemonize" => {}
        "protected-mode" => s.protected_mode = yes_no(v)?,
        "requirepass" => s.requirepass = Some(one(v)?.to_string()).filter(|p| !p.is_empty()),
        // `user <name> <rule> ...`: the sentinel's own users (§17), applied at startup
        // after `requirepass` by the listener's ACL (src/server/acl.rs), which also
        // validates the rules.
        "user" if v.is_empty() => return Err("wrong number of arguments".into()),
        "user" => s.users.push(v.to_vec()),
        // Ours (src/http): the opt-in HTTP listener; `http-port 0` = off.
        "http-port" => {
            let n: i64 = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?;
            let p = u16::try_from(n).map_err(|_| "argument must be between 0 and 65535 inclusive")?;
            s.http_port = (p != 0).then_some(p);
        }
        "http-bind" => s.http_bind = one(v)?.to_string(),
        "log-format" => s.log_format = log_format(one(v)?)?,
        "include" => return Err("include is not supported: put every directive in this file".into()),
        n if is_ignored(n) => warnings.push(format!("{at}: '{n}' is a Redis server directive this sentinel ignores")),
        _ => return Err("Bad directive or wrong number of arguments".into()),
    }
    Ok(())
}

/// Redis chdirs into `dir` as soon as it reads it, so a relative `dir` is relative to the
/// process's cwd (or to an earlier `dir`), and a missing directory is an error.
fn set_dir(s: &mut Settings, v: &str, eff_dir: &mut PathBuf) -> Result<(), String> {
    let d = eff_dir.join(v);
    match std::fs::metadata(&d) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err("Not a directory".into()),
        Err(_) => return Err("No such file or directory".into()),
    }
    *eff_dir = d.clone();
    s.dir = Some(d);
    Ok(())
}
