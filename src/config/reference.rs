//! The configuration reference: one row per option of both formats (sentinel.conf and
//! sentinel.toml), rendered as docs/configuration.md by `cargo run --example
//! gen-configuration > docs/configuration.md`.
//!
//! The table cannot drift from the parsers: defaults are read from the code's own default
//! values, and the tests below require every directive and TOML key the parsers accept to
//! have a row (and every row to name one they accept), and docs/configuration.md to be
//! what [`markdown`] renders now.

use super::redis_conf::default_settings;
use super::server_directives::DIRECTIVES;
use super::Settings;
use crate::core::{Addr, MasterSnapshot, Snapshot};
use std::path::Path;

/// Where an option applies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    /// The whole process (top level of sentinel.toml).
    Global,
    /// One master (`sentinel <directive> <master> ...`, `[masters.<name>]`).
    Master,
    /// Learned state: written by the sentinel into sentinel.conf, into the state file
    /// (sentinel-state.toml) with sentinel.toml.
    State,
}

/// Whether Redis Sentinel 7.0 reads the sentinel.conf form.
#[derive(Clone, Copy)]
enum Redis {
    Same,
    Ours,
    Note(&'static str),
}

/// The code's defaults the rows read theirs from.
struct Defaults {
    s: Settings,
    m: MasterSnapshot,
    snap: Snapshot,
}

struct Opt {
    scope: Scope,
    /// sentinel.conf form, e.g. `sentinel down-after-milliseconds <master> <ms>`.
    conf: Option<&'static str>,
    /// Other directive names accepted for the same thing.
    aliases: &'static [&'static str],
    /// sentinel.toml form, e.g. `down-after-milliseconds = 30000` (in `[masters.<name>]`
    /// for [`Scope::Master`]).
    toml: Option<&'static str>,
    default: fn(&Defaults) -> String,
    redis: Redis,
    meaning: &'static str,
}

fn none(_: &Defaults) -> String {
    "none".into()
}

fn yes_no(b: bool) -> String {
    (if b { "yes" } else { "no" }).into()
}

fn opt_str<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".into(), T::to_string)
}

fn options() -> Vec<Opt> {
    use Redis::*;
    use Scope::*;
    let o = |scope: Scope,
             conf: Option<&'static str>,
             toml: Option<&'static str>,
             default: fn(&Defaults) -> String,
             redis: Redis,
             meaning: &'static str| Opt { scope, conf, aliases: &[], toml, default, redis, meaning };
    vec![
        // --- the process -------------------------------------------------------------
        o(
            Global,
            Some("port <port>"),
            Some("port = 26379"),
            |d| d.s.port.to_string(),
            Same,
            "RESP port clients and other sentinels connect to. Command line: `--port`.",
        ),
        o(
            Global,
            Some("bind <addr> [<addr> ...]"),
            Some("bind = [\"10.0.0.5\", \"127.0.0.1\"]"),
            |d| d.s.bind.join(" "),
            Same,
            "Addresses to listen on. Command line: `--bind` (repeatable).",
        ),
        o(
            Global,
            Some("dir <path>"),
            None,
            |_| "the working directory".into(),
            Same,
            "Working directory: relative paths after it (logfile, scripts) are relative to it; scripts run in it. \
             sentinel.toml has `data-dir` instead.",
        ),
        o(
            Global,
            None,
            Some("data-dir = \"/var/lib/sentinel\""),
            |_| "sentinel.toml's directory".into(),
            Ours,
            "Where the state file `sentinel-state.toml` (myid, epochs, known replicas and sentinels) is kept; \
             relative to sentinel.toml's directory. The operator's sentinel.toml is never written.",
        ),
        o(
            Global,
            Some("logfile <path>"),
            Some("logfile = \"/var/log/sentinel.log\""),
            |d| opt_str(&d.s.logfile.as_ref().map(|p| p.display())),
            Same,
            "Log file; empty or unset = standard output. Reopened on SIGHUP (log rotation).",
        ),
        o(
            Global,
            Some("loglevel <level>"),
            Some("loglevel = \"notice\""),
            |d| d.s.loglevel.clone(),
            Same,
            "debug, verbose, notice, warning or nothing.",
        ),
        o(
            Global,
            Some("log-format plain|json"),
            Some("log-format = \"json\""),
            |d| d.s.log_format.clone(),
            Ours,
            "`json`: one JSON object per line (`timestamp`, `level`, `message`, and `event`, `master`, `instance` for \
             Sentinel events). `plain` is Redis-like. Command line: `--log-format`.",
        ),
        o(
            Global,
            Some("pidfile <path>"),
            Some("pidfile = \"/run/sentinel.pid\""),
            |d| opt_str(&d.s.pidfile.as_ref().map(|p| p.display())),
            Same,
            "File the process id is written to (removed at exit).",
        ),
        o(
            Global,
            Some("daemonize yes|no"),
            None,
            |d| yes_no(d.s.daemonize),
            Same,
            "Fork into the background after the configuration is read (pidfile `/var/run/redis.pid` unless set).",
        ),
        o(Global, Some("supervised <mode>"), None, |d| d.s.supervised.clone(), Same, "`systemd` (or `auto` under systemd): tell systemd the sentinel is ready once it listens (`Type=notify`), as Redis does."),
        o(Global, Some("syslog-enabled yes|no"), None, |d| yes_no(d.s.syslog_enabled), Same, "Also log to syslog."),
        o(Global, Some("syslog-ident <name>"), None, |d| d.s.syslog_ident.clone(), Same, "Syslog identity."),
        o(
            Global,
            Some("syslog-facility <facility>"),
            None,
            |d| d.s.syslog_facility.clone(),
            Same,
            "Syslog facility (user, local0..local7).",
        ),
        o(
            Global,
            Some("protected-mode yes|no"),
            Some("protected-mode = true"),
            |d| yes_no(d.s.protected_mode),
            Same,
            "While the default user has no password, serve only loopback and Unix socket clients.",
        ),
        o(
            Global,
            Some("requirepass <password>"),
            Some("requirepass = \"secret\""),
            none,
            Same,
            "Password of the `default` user for clients and other sentinels (docs/security.md). Never logged.",
        ),
        o(
            Global,
            Some("user <name> <rules...>"),
            None,
            |_| "default user only".into(),
            Same,
            "An ACL user, Redis's rule syntax (docs/security.md).",
        ),
        o(
            Global,
            Some("aclfile <path>"),
            None,
            |_| "none".into(),
            Same,
            "The users come from this file instead of `user` lines (both together refuse to start) and \
             `requirepass`; `ACL SAVE` writes it, `ACL LOAD` reads it back. Relative to `dir`.",
        ),
        o(
            Global,
            Some("maxclients <n>"),
            Some("maxclients = 10000"),
            |d| d.s.maxclients.to_string(),
            Same,
            "Client connections beyond this get `-ERR max number of clients reached` (counted in \
             `sentinel_rejected_connections_total`).",
        ),
        o(
            Global,
            Some("timeout <seconds>"),
            Some("timeout = 0"),
            |d| d.s.timeout_secs.to_string(),
            Same,
            "Close a client idle this long (not subscribers); 0 = never.",
        ),
        o(
            Global,
            Some("tcp-keepalive <seconds>"),
            Some("tcp-keepalive = 300"),
            |d| d.s.tcp_keepalive_secs.to_string(),
            Same,
            "TCP keepalive on client connections; 0 = off.",
        ),
        o(Global, Some("tcp-backlog <n>"), None, |d| d.s.tcp_backlog.to_string(), Same, "Listen backlog."),
        // --- TLS (src/tls.rs, docs/security.md) ------------------------------------------
        o(
            Global,
            Some("tls-port <port>"),
            Some("tls-port = 26380"),
            |d| d.s.tls.port.to_string(),
            Same,
            "TLS listener port (0 = none). With `port 0` only TLS is served.",
        ),
        o(
            Global,
            Some("tls-cert-file <path>"),
            Some("tls-cert-file = \"sentinel.crt\""),
            |d| opt_str(&d.s.tls.cert_file.as_ref().map(|p| p.display())),
            Same,
            "PEM certificate (chain) of the listener, and of the links unless `tls-client-cert-file` is set. \
             Checked at start-up: unreadable, expired or not matching its key stops the process.",
        ),
        o(
            Global,
            Some("tls-key-file <path>"),
            Some("tls-key-file = \"sentinel.key\""),
            |d| opt_str(&d.s.tls.key_file.as_ref().map(|p| p.display())),
            Same,
            "PEM private key of `tls-cert-file` (unencrypted).",
        ),
        o(
            Global,
            Some("tls-key-file-pass <pass>"),
            Some("tls-key-file-pass = \"secret\""),
            none,
            Note("refused here: encrypted keys are not supported"),
            "Refused: a password-protected key is not supported (decrypt the key file instead).",
        ),
        o(
            Global,
            Some("tls-client-cert-file <path>"),
            Some("tls-client-cert-file = \"client.crt\""),
            |d| opt_str(&d.s.tls.client_cert_file.as_ref().map(|p| p.display())),
            Same,
            "Certificate our links present to Redis instances and peer sentinels.",
        ),
        o(
            Global,
            Some("tls-client-key-file <path>"),
            Some("tls-client-key-file = \"client.key\""),
            |d| opt_str(&d.s.tls.client_key_file.as_ref().map(|p| p.display())),
            Same,
            "Private key of `tls-client-cert-file`.",
        ),
        o(
            Global,
            Some("tls-client-key-file-pass <pass>"),
            Some("tls-client-key-file-pass = \"secret\""),
            none,
            Note("refused here: encrypted keys are not supported"),
            "Refused: a password-protected key is not supported.",
        ),
        o(
            Global,
            Some("tls-ca-cert-file <path>"),
            Some("tls-ca-cert-file = \"ca.crt\""),
            |d| opt_str(&d.s.tls.ca_cert_file.as_ref().map(|p| p.display())),
            Same,
            "CA certificates that client and server certificates are verified against (an expired CA \
             stops the start-up).",
        ),
        o(
            Global,
            Some("tls-ca-cert-dir <path>"),
            Some("tls-ca-cert-dir = \"/etc/ssl/redis-ca\""),
            |d| opt_str(&d.s.tls.ca_cert_dir.as_ref().map(|p| p.display())),
            Same,
            "A directory of CA certificates (PEM files), with or instead of `tls-ca-cert-file`.",
        ),
        o(
            Global,
            Some("tls-auth-clients yes|no|optional"),
            Some("tls-auth-clients = \"optional\""),
            |_| "yes".into(),
            Same,
            "Clients of the TLS listener must present a certificate signed by the CA (`optional`: \
             verified when presented).",
        ),
        o(
            Global,
            Some("tls-replication yes|no"),
            Some("tls-replication = true"),
            |d| yes_no(d.s.tls.replication),
            Same,
            "Links to masters, replicas and peer sentinels use TLS (certificate chain verified against \
             the CA, host name not checked, as Redis); hello announces the TLS port.",
        ),
        o(
            Global,
            Some("tls-protocols <list>"),
            Some("tls-protocols = \"TLSv1.2 TLSv1.3\""),
            |_| "TLSv1.2 TLSv1.3".into(),
            Same,
            "Protocol versions; TLSv1 and TLSv1.1 are refused (rustls has neither).",
        ),
        o(
            Global,
            Some("tls-ciphersuites <list>"),
            Some("tls-ciphersuites = \"TLS_AES_256_GCM_SHA384\""),
            |_| "rustls's TLS 1.3 suites".into(),
            Same,
            "TLS 1.3 cipher suites, by their exact names.",
        ),
        o(
            Global,
            Some("tls-ciphers <list>"),
            Some("tls-ciphers = \"ECDHE-RSA-AES256-GCM-SHA384\""),
            |_| "rustls's TLS 1.2 suites".into(),
            Note("OpenSSL keywords (`HIGH`, `!aNULL`) refused"),
            "TLS 1.2 cipher suites, by exact names only.",
        ),
        o(
            Global,
            Some("tls-prefer-server-ciphers yes|no"),
            Some("tls-prefer-server-ciphers = true"),
            |d| yes_no(d.s.tls.prefer_server_ciphers),
            Same,
            "The listener picks the cipher suite by its own order.",
        ),
        o(
            Global,
            Some("tls-session-caching yes|no"),
            Some("tls-session-caching = true"),
            |d| yes_no(d.s.tls.session_caching),
            Same,
            "TLS session resumption on the listener.",
        ),
        o(
            Global,
            Some("tls-session-cache-size <n>"),
            Some("tls-session-cache-size = 20480"),
            |d| d.s.tls.session_cache_size.to_string(),
            Same,
            "Sessions kept for resumption.",
        ),
        o(
            Global,
            Some("tls-session-cache-timeout <seconds>"),
            Some("tls-session-cache-timeout = 300"),
            |_| "300".into(),
            Note("only 300 accepted"),
            "Session lifetime; only Redis's default 300 is accepted (rustls's tickets fix it).",
        ),
        o(
            Global,
            Some("tls-dh-params-file <path>"),
            Some("tls-dh-params-file = \"dh.pem\""),
            none,
            Note("refused here"),
            "Refused: rustls has no finite-field Diffie-Hellman.",
        ),
        o(
            Global,
            Some("proto-max-bulk-len <bytes>"),
            Some("proto-max-bulk-len = \"512mb\""),
            |d| d.s.proto_max_bulk_len.to_string(),
            Same,
            "Largest bulk string a client may send.",
        ),
        o(
            Global,
            Some("client-query-buffer-limit <bytes>"),
            Some("client-query-buffer-limit = \"1gb\""),
            |d| d.s.client_query_buffer_limit.to_string(),
            Same,
            "A client holding more unprocessed input is closed.",
        ),
        o(
            Global,
            Some("client-output-buffer-limit <class> <hard> <soft> <seconds>"),
            Some("client-output-buffer-limit = \"pubsub 32mb 8mb 60\""),
            |d| {
                let (n, p) = (d.s.output_limit_normal, d.s.output_limit_pubsub);
                format!("normal {} {} {}, pubsub {} {} {}", n.hard, n.soft, n.soft_secs, p.hard, p.soft, p.soft_secs)
            },
            Same,
            "Unsent replies beyond `hard` bytes, or above `soft` for `seconds`, close the client (0 = no limit).",
        ),
        o(Global, Some("unixsocket <path>"), None, none, Same, "Also serve clients on this Unix socket."),
        o(
            Global,
            Some("unixsocketperm <octal>"),
            None,
            |d| format!("{:o}", d.s.unixsocketperm),
            Same,
            "Mode of the Unix socket; 0 = left as created.",
        ),
        o(
            Global,
            Some("http-port <port>"),
            Some("http-port = 9479"),
            |d| opt_str(&d.s.http_port).replace("none", "0 (off)"),
            Ours,
            "The HTTP listener for /metrics, /health, /ready, /primary/<name>, /replicas/<name>; 0 = off. \
             Command line: `--http-port`.",
        ),
        o(
            Global,
            Some("http-bind <addr>"),
            Some("http-bind = \"0.0.0.0\""),
            |d| d.s.http_bind.clone(),
            Ours,
            "Address of the HTTP listener. Command line: `--http-bind`.",
        ),
        o(
            Global,
            Some("sentinel announce-ip <ip>"),
            Some("announce-ip = \"10.0.0.5\""),
            |d| opt_str(&d.snap.announce_ip),
            Same,
            "Address announced in hello messages instead of the detected one (NAT, containers).",
        ),
        o(
            Global,
            Some("sentinel announce-port <port>"),
            Some("announce-port = 26379"),
            |d| opt_str(&d.snap.announce_port),
            Same,
            "Port announced in hello messages instead of `port`.",
        ),
        o(
            Global,
            Some("sentinel resolve-hostnames yes|no"),
            Some("resolve-hostnames = true"),
            |d| yes_no(d.snap.resolve_hostnames),
            Same,
            "Accept host names (not only IP addresses) for masters, replicas and sentinels.",
        ),
        o(
            Global,
            Some("sentinel announce-hostnames yes|no"),
            Some("announce-hostnames = true"),
            |d| yes_no(d.snap.announce_hostnames),
            Same,
            "Announce and report host names rather than IP addresses.",
        ),
        o(
            Global,
            Some("sentinel deny-scripts-reconfig yes|no"),
            Some("deny-scripts-reconfig = true"),
            |d| yes_no(d.snap.deny_scripts_reconfig),
            Same,
            "Refuse `SENTINEL SET ... notification-script|client-reconfig-script` at runtime.",
        ),
        o(
            Global,
            Some("sentinel sentinel-user <user>"),
            Some("sentinel-user = \"sentinel\""),
            |d| opt_str(&d.snap.sentinel_user),
            Same,
            "User this sentinel authenticates as with other sentinels.",
        ),
        o(
            Global,
            Some("sentinel sentinel-pass <password>"),
            Some("sentinel-pass = \"secret\""),
            |d| opt_str(&d.snap.sentinel_pass),
            Same,
            "Password this sentinel authenticates with to other sentinels. Never logged.",
        ),
        // --- per master --------------------------------------------------------------
        o(
            Master,
            Some("sentinel monitor <master> <ip> <port> <quorum>"),
            None,
            |_| "—".into(),
            Same,
            "Watch a master. sentinel.toml: a `[masters.<name>]` table with `host`, `port`, `quorum`.",
        ),
        o(
            Master,
            None,
            Some("host = \"10.0.0.1\""),
            |_| "required".into(),
            Note("`sentinel monitor`"),
            "The master's address (an IP address unless `resolve-hostnames`).",
        ),
        o(Master, None, Some("port = 6379"), |_| "required".into(), Note("`sentinel monitor`"), "The master's port."),
        o(
            Master,
            None,
            Some("quorum = 2"),
            |_| "required".into(),
            Note("`sentinel monitor`"),
            "Sentinels that must see the master down for ODOWN (a majority must still vote for a failover).",
        ),
        o(
            Master,
            Some("sentinel down-after-milliseconds <master> <ms>"),
            Some("down-after-milliseconds = 30000"),
            |d| d.m.down_after_ms.to_string(),
            Same,
            "No valid reply for this long: subjectively down (SDOWN).",
        ),
        o(
            Master,
            Some("sentinel failover-timeout <master> <ms>"),
            Some("failover-timeout = 180000"),
            |d| d.m.failover_timeout_ms.to_string(),
            Same,
            "Failover retry delay (twice this), and the timeouts of the failover's steps (Redis's rules).",
        ),
        o(
            Master,
            Some("sentinel parallel-syncs <master> <n>"),
            Some("parallel-syncs = 1"),
            |d| d.m.parallel_syncs.to_string(),
            Same,
            "Replicas re-pointed to the new master at once. sentinel.toml refuses 0.",
        ),
        o(
            Master,
            Some("sentinel auth-pass <master> <password>"),
            Some("auth-pass = \"secret\""),
            |d| opt_str(&d.m.auth_pass),
            Same,
            "Password for the master and its replicas. Never logged.",
        ),
        o(
            Master,
            Some("sentinel auth-user <master> <user>"),
            Some("auth-user = \"sentinel\""),
            |d| opt_str(&d.m.auth_user),
            Same,
            "ACL user for the master and its replicas.",
        ),
        Opt {
            aliases: &["primary-reboot-down-after-period"],
            ..o(
                Master,
                Some("sentinel master-reboot-down-after-period <master> <ms>"),
                Some("master-reboot-down-after-period = 0"),
                |d| d.m.master_reboot_down_after_ms.to_string(),
                Same,
                "A master that restarted (run id changed) is treated as down for this long; 0 = off.",
            )
        },
        o(
            Master,
            Some("sentinel notification-script <master> <path>"),
            Some("notification-script = \"/etc/sentinel/notify.sh\""),
            |d| opt_str(&d.m.notification_script),
            Same,
            "Run on every warning-level event: `<event> <message>`. Must exist and be executable. \
             sentinel.toml: relative to its directory.",
        ),
        o(
            Master,
            Some("sentinel client-reconfig-script <master> <path>"),
            Some("client-reconfig-script = \"/etc/sentinel/reconf.sh\""),
            |d| opt_str(&d.m.client_reconfig_script),
            Same,
            "Run when the master changes: `<master> <leader|observer> start <from-ip> <from-port> <to-ip> <to-port>`.",
        ),
        o(
            Master,
            Some("sentinel rename-command <master> <command> <new-name>"),
            Some("rename-command = { CONFIG = \"MYCONFIG\" }"),
            |_| "none".into(),
            Same,
            "The name a command has on this master's instances (Redis's `rename-command`).",
        ),
        o(
            Master,
            Some("sentinel write-lease <master> <seconds>"),
            Some("write-lease = 0"),
            |d| d.m.write_lease_s.to_string(),
            Ours,
            "0..3600; 0 = off. Keeps `min-replicas-to-write` on the master so an isolated master stops acknowledging \
             writes, and holds the promoted replica until the old master's lease ran out (docs/fencing.md).",
        ),
        o(
            Master,
            Some("sentinel crash-detection <master> fast|off"),
            Some("crash-detection = \"fast\""),
            |d| (if d.m.crash_detection { "fast" } else { "off" }).to_string(),
            Ours,
            "`fast`: a master whose port refuses connections while every replica lost its link is failed over \
             without waiting for down-after (docs/crash-detection.md).",
        ),
        o(
            Master,
            Some("sentinel holistic-detection <master> on|off"),
            Some("holistic-detection = true"),
            |d| (if d.m.holistic_detection { "on" } else { "off" }).to_string(),
            Ours,
            "A replica that still hears the master vetoes SDOWN (`+sdown-vetoed`) (docs/detection.md).",
        ),
        o(
            Master,
            Some("sentinel max-lag-on-failover <master> <bytes>"),
            Some("max-lag-on-failover = 0"),
            |d| d.m.max_lag_on_failover.to_string(),
            Ours,
            "Never promote a replica this far behind; 0 = no bound (docs/failover-quality.md).",
        ),
        o(
            Master,
            Some("sentinel failover-block-period <master> <ms>"),
            Some("failover-block-period = 0"),
            |d| d.m.failover_block_ms.to_string(),
            Ours,
            "Another automatic failover of the same master within this many ms of the last one is refused \
             (`-failover-blocked`) until an operator acknowledges with `SENTINEL SET`; 0 = off \
             (docs/failover-quality.md).",
        ),
        // --- learned state -----------------------------------------------------------
        o(
            State,
            Some("sentinel myid <40 hex>"),
            None,
            |_| "random, made at first start".into(),
            Same,
            "This sentinel's id. Never change it by hand.",
        ),
        o(
            State,
            Some("sentinel current-epoch <n>"),
            None,
            |d| d.snap.current_epoch.0.to_string(),
            Same,
            "Highest epoch seen.",
        ),
        o(
            State,
            Some("sentinel config-epoch <master> <n>"),
            None,
            |d| d.m.config_epoch.0.to_string(),
            Same,
            "Epoch of the master's current configuration.",
        ),
        o(
            State,
            Some("sentinel leader-epoch <master> <n>"),
            None,
            |d| d.m.leader_epoch.0.to_string(),
            Same,
            "Epoch of this sentinel's last vote for the master.",
        ),
        Opt {
            aliases: &["known-slave"],
            ..o(State, Some("sentinel known-replica <master> <ip> <port>"), None, none, Same, "A replica seen.")
        },
        o(
            State,
            Some("sentinel known-sentinel <master> <ip> <port> <runid>"),
            None,
            none,
            Same,
            "Another sentinel seen.",
        ),
    ]
}

fn defaults() -> Defaults {
    Defaults {
        s: default_settings(Path::new("sentinel.conf")),
        m: MasterSnapshot::new("m", Addr::new("127.0.0.1", 6379), 2),
        snap: Snapshot::new(String::new()),
    }
}

fn cell(v: &str) -> String {
    v.replace('|', "\\|")
}

fn table(out: &mut String, scope: Scope, d: &Defaults) {
    out.push_str("| sentinel.conf | sentinel.toml | default | Redis Sentinel | meaning |\n|---|---|---|---|---|\n");
    for o in options().iter().filter(|o| o.scope == scope) {
        let mut conf = o.conf.map_or("—".to_string(), |c| format!("`{}`", cell(c)));
        for a in o.aliases {
            conf.push_str(&format!(" (also `{a}`)"));
        }
        let toml = match (o.toml, scope) {
            (None, Scope::State) => "state file".to_string(),
            (None, _) => "—".to_string(),
            (Some(t), Scope::Master) => format!("`[masters.<name>]` `{}`", cell(t)),
            (Some(t), _) => format!("`{}`", cell(t)),
        };
        let redis = match o.redis {
            Redis::Same => "yes".to_string(),
            Redis::Ours => "no (ours)".to_string(),
            Redis::Note(n) => format!("as {n}"),
        };
        let default = cell(&(o.default)(d));
        out.push_str(&format!("| {conf} | {toml} | `{default}` | {redis} | {} |\n", cell(o.meaning)));
    }
}

/// Directive names of Redis 7.0's server configuration a sentinel.conf may carry that
/// change nothing here (accepted with a warning naming them), in table order. `include`
/// is read before this question is asked.
fn ignored_server_directives() -> Vec<&'static str> {
    server_directives_answering(Ok(true)).into_iter().filter(|n| *n != "include").collect()
}

/// A value each kind of server directive accepts, to ask the parser whether the
/// directive has an effect.
fn sample(d: &super::redis_conf::Directive) -> Vec<String> {
    use super::redis_conf::Kind;
    let v: &[&str] = match (d.name, d.kind) {
        ("client-output-buffer-limit", _) => &["normal", "0", "0", "0"],
        ("user", _) => &["alice", "on"],
        ("rename-command", _) => &["info", "x"],
        ("save", _) | ("notify-keyspace-events", _) => &[""],
        ("tls-protocols", _) => &["TLSv1.2"],
        ("tls-ciphersuites", _) => &["TLS_AES_256_GCM_SHA384"],
        ("tls-ciphers", _) => &["ECDHE-RSA-AES256-GCM-SHA384"],
        ("tls-session-cache-timeout", _) => &["300"],
        (_, Kind::Bool) => &["no"],
        (_, Kind::Octal) => &["0"],
        (_, Kind::Enum(values)) => return vec![values[0].to_string()],
        (_, Kind::Int { min, .. }) => return vec![min.to_string()],
        (_, Kind::Str | Kind::Special) => &["."],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// Server directives for which the parser, given a sample value, answers `answer`
/// (`Ok(false)`: the value is used; `Ok(true)`: ignored).
fn server_directives_answering(answer: Result<bool, String>) -> Vec<&'static str> {
    DIRECTIVES.iter().filter(|d| answer_to_sample(d) == answer).map(|d| d.name).collect()
}

/// What the parser answers for directive `d` given its sample value.
fn answer_to_sample(d: &super::redis_conf::Directive) -> Result<bool, String> {
    let mut s = default_settings(Path::new("sentinel.conf"));
    let mut dir = std::env::temp_dir();
    super::redis_conf::server_directive(&mut s, d.name, &sample(d), &mut dir)
}

/// docs/configuration.md.
pub fn markdown() -> String {
    let d = defaults();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from src/config/reference.rs by `cargo run --example gen-configuration > \
         docs/configuration.md`; do not edit. `cargo test --lib config::reference` fails when this file, \
         or the table, no longer matches the parsers. -->\n\n\
         `sentinel <file>` reads a Redis `sentinel.conf`, or our `sentinel.toml` when the file name ends in \
         `.toml`. A sentinel.conf is read with Redis's rules and rewritten in place with the learned state \
         (like `redis-sentinel`, so it must be writable and stays loadable by either); sentinel.toml is the \
         operator's file only, never written, and the learned state goes to `sentinel-state.toml` in \
         `data-dir`. TOML keys are the directive names; unknown keys are refused with file and line. \
         `SENTINEL SET <master> <option> <value>` changes the per-master options at runtime (script paths only \
         with `deny-scripts-reconfig no`), `SENTINEL CONFIG SET` the `announce-*`, `*-hostnames` and `sentinel-user`/`sentinel-pass` ones.\n\n\
         \"Redis Sentinel\" says whether Debian's `redis-sentinel` 7.0 reads the sentinel.conf form: a file \
         that uses an option marked \"no (ours)\" is ours only; the HTTP listener and log format can be \
         given on the command line instead (`--http-port`, `--http-bind`, `--log-format`) to keep a \
         sentinel.conf shared with `redis-sentinel`.\n\n## Process\n\n",
    );
    table(&mut out, Scope::Global, &d);
    out.push_str("\n## Per master\n\nIn sentinel.conf after the master's `sentinel monitor` line; in sentinel.toml in its `[masters.<name>]` table.\n\n");
    table(&mut out, Scope::Master, &d);
    out.push_str(
        "\n## Learned state\n\nWritten by the sentinel (into sentinel.conf, or into `sentinel-state.toml` with \
         sentinel.toml) and read back at start; an operator does not write them.\n\n",
    );
    table(&mut out, Scope::State, &d);
    let ignored = ignored_server_directives();
    out.push_str(&format!(
        "\n## Other Redis directives\n\nA sentinel.conf may carry any of Redis 7.0's server directives (and \
         Valkey 8's names); those not above change nothing here and are accepted, with their value checked \
         as Redis does, and one warning at start naming them. Refused: `loadmodule`, TLS directives that \
         cannot be honoured (docs/security.md), `rename-command` of a command the sentinel does not have. \
         `include <file>` reads another file in place, as in Redis. The {} accepted and ignored: {}.\n",
        ignored.len(),
        ignored.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::directives::{PER_MASTER, PRE_MONITOR};
    use super::*;
    use std::collections::BTreeSet;

    /// The directive name a sentinel.conf form sets: `sentinel <name> ...` or `<name> ...`.
    fn conf_name(form: &str) -> (bool, &str) {
        let mut words = form.split_whitespace();
        let first = words.next().unwrap_or_default();
        match first {
            "sentinel" => (true, words.next().unwrap_or_default()),
            _ => (false, first),
        }
    }

    fn toml_key(form: &str) -> &str {
        form.split(" =").next().unwrap_or_default().trim()
    }

    fn documented(scope: impl Fn(Scope) -> bool, sentinel: bool) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for o in options().iter().filter(|o| scope(o.scope)) {
            if let Some((is_sentinel, name)) = o.conf.map(conf_name) {
                if is_sentinel == sentinel {
                    out.insert(name.to_string());
                    if sentinel {
                        out.extend(o.aliases.iter().map(|a| a.to_string()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_sentinel_directive_is_documented() {
        let parsed: BTreeSet<String> = PRE_MONITOR
            .iter()
            .chain(PER_MASTER.iter().map(|(n, _)| n))
            .chain(std::iter::once(&"monitor"))
            .map(|n| n.to_string())
            .collect();
        assert_eq!(documented(|_| true, true), parsed);
    }

    #[test]
    fn every_effective_server_directive_is_documented() {
        let mut effective: BTreeSet<String> =
            server_directives_answering(Ok(false)).iter().map(|n| n.to_string()).collect();
        // Read before the table lookup: ours, not Redis's.
        effective.extend(["http-port", "http-bind", "log-format"].map(String::from));
        // Refused whatever the value, with the reason (documented as refused).
        let refused = ["tls-key-file-pass", "tls-client-key-file-pass", "tls-dh-params-file"];
        for name in refused {
            let d = DIRECTIVES.iter().find(|d| d.name == name).expect("a Redis directive");
            assert!(answer_to_sample(d).is_err(), "{name} is no longer refused: update its row");
        }
        effective.extend(refused.map(String::from));
        assert_eq!(documented(|_| true, false), effective);
        assert!(effective.len() > 20, "the parser was asked the wrong question: {effective:?}");
    }

    /// The keys serde accepts, from its own "unknown field, expected one of" message.
    fn toml_keys(text: &str) -> BTreeSet<String> {
        let err = super::super::toml_conf::parse(Path::new("/x/sentinel.toml"), text).unwrap_err().0;
        let list = err.split("expected one of").nth(1).unwrap_or_else(|| panic!("no key list in: {err}"));
        list.split('`').skip(1).step_by(2).map(String::from).collect()
    }

    fn documented_toml(scope: Scope) -> BTreeSet<String> {
        options().iter().filter(|o| o.scope == scope).filter_map(|o| o.toml.map(|t| toml_key(t).to_string())).collect()
    }

    #[test]
    fn every_toml_key_is_documented() {
        let mut global = toml_keys("zz-not-a-key = 1\n");
        assert!(global.remove("masters"), "{global:?}");
        assert_eq!(documented_toml(Scope::Global), global);
        let master = toml_keys("[masters.m]\nhost = \"127.0.0.1\"\nport = 6379\nquorum = 1\nzz-not-a-key = 1\n");
        assert_eq!(documented_toml(Scope::Master), master);
    }

    #[test]
    fn documented_toml_examples_parse() {
        for o in options() {
            let Some(t) = o.toml else { continue };
            let text = match o.scope {
                Scope::Master if ["host", "port", "quorum"].contains(&toml_key(t)) => continue,
                Scope::Master => format!("[masters.m]\nhost = \"127.0.0.1\"\nport = 6379\nquorum = 1\n{t}\n"),
                _ => format!("{t}\n"),
            };
            if t.contains("script") || o.meaning.starts_with("Refused") || t.starts_with("tls-") {
                continue; // the script must exist; refused ones are refused; TLS files must exist
            }
            super::super::toml_conf::parse(Path::new("/x/sentinel.toml"), &text)
                .unwrap_or_else(|e| panic!("example `{t}` refused: {}", e.0));
        }
    }

    #[test]
    fn docs_configuration_md_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == markdown(),
            "{} is out of date with src/config/reference.rs: run `cargo run --example gen-configuration > \
             docs/configuration.md`",
            path.display()
        );
    }
}
