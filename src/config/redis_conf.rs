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
    file: PathBuf,
    line_no: usize,
    line: String,
}

/// How Redis checks a directive's value (from its `standardConfig` type), as recorded by
/// scripts/gen-server-directives.py in `server_directives.rs`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer in `min..=max`; `memory`: also `1kb`, `2gb`...; `percent`: also `10%`.
    Int { min: i64, max: i64, memory: bool, percent: bool },
    /// An octal number up to 0777.
    Octal,
    /// One of these words (several with a multi-argument config), case-insensitive.
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// Redis parses it with its own function (`save`, `client-output-buffer-limit`, ...):
    /// only the argument count is checked here.
    Special,
}

/// Where a directive name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// redis-server 7.0.15 (CONFIG GET *, hidden configs, file-only directives).
    Redis,
    /// Valkey 8's new or renamed names, which Redis 7.0 itself would refuse.
    Valkey,
}

/// One server directive a sentinel.conf may carry.
#[derive(Debug)]
pub(crate) struct Directive {
    pub name: &'static str,
    pub kind: Kind,
    /// Arguments after the name.
    pub min_args: usize,
    pub max_args: usize,
    pub origin: Origin,
}

fn lookup(name: &str) -> Option<&'static Directive> {
    super::server_directives::DIRECTIVES.iter().find(|d| d.name == name)
}

/// Redis's `memtoull`: digits with an optional `b`, `k`, `kb`, `m`, `mb`, `g`, `gb` unit.
fn memory_value(v: &str) -> Option<i128> {
    let lower = v.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: i128 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.is_empty() {
        return None;
    }
    // Found by fuzzing: 39 digits with a unit overflowed i128 (a panic in debug builds).
    digits.parse::<i128>().ok()?.checked_mul(mul)
}

/// Checks `args` against `d` with Redis's messages (config.c); `Ok` = Redis accepts it.
fn check_value(d: &Directive, args: &[String]) -> Result<(), String> {
    if args.len() < d.min_args || args.len() > d.max_args {
        return Err("wrong number of arguments".into());
    }
    let v = args[0].as_str();
    match d.kind {
        Kind::Bool if v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no") => Ok(()),
        Kind::Bool => Err("argument must be 'yes' or 'no'".into()),
        Kind::Int { min, max, memory, percent } => {
            if let Some(p) = v.strip_suffix('%').filter(|_| percent) {
                // Redis stores `10%` as -10 against a lower bound of -100.
                return match p.parse::<u32>() {
                    Ok(p) if p <= 100 => Ok(()),
                    _ => Err("argument must be a memory or percent value".into()),
                };
            }
            let n = if memory { memory_value(v) } else { v.parse::<i64>().ok().map(i128::from) };
            let n = n.ok_or(match (memory, percent) {
                (true, true) => "argument must be a memory or percent value",
                (true, false) => "argument must be a memory value",
                _ => "argument couldn't be parsed into an integer",
            })?;
            if n < i128::from(min) || n > i128::from(max) {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(())
        }
        Kind::Octal => match u32::from_str_radix(v, 8) {
            Ok(n) if n <= 0o777 => Ok(()),
            Ok(_) => Err("argument must be between 0 and 511 inclusive".into()),
            Err(_) => Err("argument couldn't be parsed as an octal number".into()),
        },
        Kind::Enum(values) => {
            if args.iter().all(|a| values.iter().any(|e| e.eq_ignore_ascii_case(a))) {
                Ok(())
            } else {
                Err(format!("argument(s) must be one of the following: {}", values.join(", ")))
            }
        }
        Kind::Str | Kind::Special => Ok(()),
    }
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
        aclfile: None,
        config_file: config_file.to_path_buf(),
        protected_mode: false,
        pidfile: None,
        daemonize: false,
        supervised: "no".to_string(),
        maxclients: 10_000,
        timeout_secs: 0,
        tcp_keepalive_secs: 300,
        proto_max_bulk_len: crate::resp::RequestLimits::default().max_bulk as u64,
        client_query_buffer_limit: crate::server::DEFAULT_QUERY_BUFFER_LIMIT,
        output_limit_normal: crate::server::OutputLimit::default(),
        output_limit_pubsub: crate::server::DEFAULT_PUBSUB_OUTPUT_LIMIT,
        tcp_backlog: 511,
        unixsocket: None,
        unixsocketperm: 0,
        syslog_enabled: false,
        syslog_ident: "redis".to_string(),
        syslog_facility: "local0".to_string(),
        http_port: None,
        http_bind: "127.0.0.1".to_string(),
        log_format: "plain".to_string(),
        tls: crate::tls::TlsSettings::default(),
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
    let mut st = State {
        settings: default_settings(file),
        queue: Default::default(),
        eff_dir: cwd.to_path_buf(),
        ignored: Vec::new(),
        depth: 0,
    };
    read_text(&mut st, file, text)?;
    let State { mut settings, queue, eff_dir, ignored, .. } = st;
    let mut warnings = Vec::new();
    if !ignored.is_empty() {
        warnings.push(format!("{}: ignored, they mean nothing to a sentinel: {}", file.display(), ignored.join(", ")));
    }
    finish_paths(&mut settings, &eff_dir);
    let mut snapshot = Snapshot::new(String::new());
    for q in queue.iter().flatten() {
        directives::apply(&mut snapshot, &q.args, &eff_dir).map_err(|m| err_at(&q.file, q.line_no, &m, &q.line))?;
    }
    Ok(Parsed { settings, snapshot, warnings })
}

/// What reading the main file and its `include`s builds up.
struct State {
    settings: Settings,
    queue: [Vec<Queued>; 3],
    eff_dir: PathBuf,
    ignored: Vec<String>,
    /// `include` nesting, bounded so that a file including itself is an error.
    depth: usize,
}

/// Deepest `include` nesting accepted (Redis has no bound and recurses until it crashes).
const MAX_INCLUDE_DEPTH: usize = 16;

fn read_text(st: &mut State, file: &Path, text: &str) -> Result<(), ConfigError> {
    let main = st.depth == 0;
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
                let q = Queued {
                    args: args[1..].to_vec(),
                    file: file.to_path_buf(),
                    line_no: i + 1,
                    line: line.to_string(),
                };
                st.queue[pass].push(q);
            }
            continue;
        }
        if name == "include" && args.len() == 2 {
            // Redis reads the included file in place (relative to its current directory,
            // which `dir` may have changed). Our rewrite, like Redis's, writes the learned
            // state into the main file only.
            let path = st.eff_dir.join(&args[1]);
            if st.depth >= MAX_INCLUDE_DEPTH {
                return Err(err_at(file, i + 1, "include nested too deeply (a file including itself?)", line));
            }
            let inc = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("Fatal error, can't open config file '{}': {e}", path.display())))?;
            st.depth += 1;
            read_text(st, &path, &inc)?;
            st.depth -= 1;
            continue;
        }
        if server_directive(&mut st.settings, &name, &args[1..], &mut st.eff_dir)
            .map_err(|m| err_at(file, i + 1, &m, line))?
        {
            let valkey = if lookup(&name).is_some_and(|d| d.origin == Origin::Valkey) { ", Valkey" } else { "" };
            let place = if main { String::new() } else { format!("{} ", file.display()) };
            st.ignored.push(format!("{name} ({place}line {}{valkey})", i + 1));
        }
    }
    Ok(())
}

/// Redis opens `logfile` and `pidfile` relative to `dir` (it chdirs while loading); make
/// them absolute so the result does not depend on the daemon changing directory.
fn finish_paths(s: &mut Settings, eff_dir: &Path) {
    s.logfile = s.logfile.take().map(|p| eff_dir.join(p));
    s.pidfile = s.pidfile.take().map(|p| eff_dir.join(p));
    s.unixsocket = s.unixsocket.take().map(|p| eff_dir.join(p));
    if let Some(f) = &mut s.aclfile {
        f.path = eff_dir.join(&f.path);
    }
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
/// Returns `Ok(true)` when the directive is valid but means nothing to a sentinel (the
/// caller lists those in one warning).
pub(crate) fn server_directive(
    s: &mut Settings,
    name: &str,
    v: &[String],
    eff_dir: &mut PathBuf,
) -> Result<bool, String> {
    // Ours first: directives Redis does not have (the opt-in HTTP listener of src/http,
    // `http-port 0` = off; structured logs).
    match name {
        "http-port" => {
            let n: i64 = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?;
            let p = u16::try_from(n).map_err(|_| "argument must be between 0 and 65535 inclusive")?;
            s.http_port = (p != 0).then_some(p);
            return Ok(false);
        }
        "http-bind" => {
            s.http_bind = one(v)?.to_string();
            return Ok(false);
        }
        "log-format" => {
            s.log_format = log_format(one(v)?)?;
            return Ok(false);
        }
        _ => {}
    }
    // Redis's own check first: unknown name, argument count, value type and range.
    let Some(d) = lookup(name) else { return Err("Bad directive or wrong number of arguments".into()) };
    if name != "loglevel" {
        // `loglevel` has its own check below: it also accepts Redis 7.2's `nothing`.
        check_value(d, v)?;
    }
    match name {
        "port" => s.port = one(v)?.parse().map_err(|_| "argument must be between 0 and 65535 inclusive")?,
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
        "daemonize" => s.daemonize = yes_no(v)?,
        "supervised" => s.supervised = one(v)?.to_ascii_lowercase(),
        "protected-mode" => s.protected_mode = yes_no(v)?,
        "requirepass" => s.requirepass = Some(one(v)?.to_string()).filter(|p| !p.is_empty()),
        // `user <name> <rule> ...`: the sentinel's own users (§17), applied at startup
        // after `requirepass` by the listener's ACL (src/server/acl.rs), which also
        // validates the rules.
        "user" => s.users.push(v.to_vec()),
        "aclfile" => {
            let shown = one(v)?.to_string();
            s.aclfile = (!shown.is_empty()).then(|| super::AclFile { path: PathBuf::from(&shown), shown });
        }
        "maxclients" => s.maxclients = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?,
        "timeout" => s.timeout_secs = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?,
        "tcp-keepalive" => {
            s.tcp_keepalive_secs = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?
        }
        "proto-max-bulk-len" => s.proto_max_bulk_len = memory_u64(one(v)?)?,
        "client-query-buffer-limit" => s.client_query_buffer_limit = memory_u64(one(v)?)?,
        "client-output-buffer-limit" => output_buffer_limits(s, v)?,
        "tcp-backlog" => s.tcp_backlog = one(v)?.parse().map_err(|_| "argument couldn't be parsed into an integer")?,
        "unixsocket" => s.unixsocket = non_empty_path(one(v)?),
        "unixsocketperm" => s.unixsocketperm = u32::from_str_radix(one(v)?, 8).unwrap_or(0),
        "syslog-enabled" => s.syslog_enabled = yes_no(v)?,
        "syslog-ident" => s.syslog_ident = one(v)?.to_string(),
        "syslog-facility" => s.syslog_facility = one(v)?.to_ascii_lowercase(),
        // TLS (src/tls.rs): what cannot be honoured exactly is refused there, never ignored.
        n if n.starts_with("tls-") => return crate::tls::directive(&mut s.tls, n, v, eff_dir).map(|applied| !applied),
        // A sentinel with a module is not something we can be: refuse rather than run
        // without it.
        "loadmodule" => return Err("loadmodule: Redis modules cannot be loaded into this sentinel".into()),
        // Redis refuses a command its sentinel mode does not have (the usual CONFIG,
        // FLUSHALL... copied from a redis.conf); it would rename one it has, which we do
        // not (yet): said in the warning.
        "rename-command" if !crate::server::is_command(&v[0]) => return Err("No such command in rename-command".into()),
        _ => return Ok(true),
    }
    Ok(false)
}

/// A memory value already range-checked by [`check_value`].
fn memory_u64(v: &str) -> Result<u64, String> {
    memory_value(v).and_then(|n| u64::try_from(n).ok()).ok_or_else(|| "argument must be a memory value".into())
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...]`, with Redis's
/// messages (`updateClientOutputBufferLimit`). The `replica` class is accepted and has
/// no effect here (a sentinel has no replicas).
fn output_buffer_limits(s: &mut Settings, v: &[String]) -> Result<(), String> {
    if v.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut parsed = Vec::new();
    for group in v.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        if !["normal", "replica", "slave", "pubsub"].contains(&class.as_str()) {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        }
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string();
        let hard = memory_value(&group[1]).and_then(|n| u64::try_from(n).ok()).ok_or_else(bad)?;
        let soft = memory_value(&group[2]).and_then(|n| u64::try_from(n).ok()).ok_or_else(bad)?;
        let soft_secs = group[3].parse::<u64>().map_err(|_| bad())?;
        parsed.push((class, crate::server::OutputLimit { hard, soft, soft_secs }));
    }
    for (class, limit) in parsed {
        match class.as_str() {
            "normal" => s.output_limit_normal = limit,
            "pubsub" => s.output_limit_pubsub = limit,
            _ => {}
        }
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
