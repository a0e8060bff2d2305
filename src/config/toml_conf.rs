//! Our own operator file, `sentinel.toml`: its schema (kebab-case keys named like Redis's
//! directives, unknown keys rejected), defaults, and validation with the same rules as
//! the sentinel.conf directives (§15.2). Produces the operator's [`Settings`] and the
//! masters and global options the operator asked for.
//!
//! Owns the operator's intent only. Never reads or writes the state file (see `state`),
//! and never writes this file.

use super::directives::executable;
use super::redis_conf::default_settings;
use super::{ConfigError, Settings};
use crate::core::{Addr, MasterSnapshot, Snapshot, Timing};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OperatorFile {
    port: Option<u16>,
    bind: Option<Vec<String>>,
    data_dir: Option<PathBuf>,
    logfile: Option<String>,
    loglevel: Option<Spanned<String>>,
    pidfile: Option<String>,
    #[serde(default)]
    protected_mode: bool,
    requirepass: Option<String>,
    announce_ip: Option<String>,
    announce_port: Option<u16>,
    #[serde(default)]
    resolve_hostnames: bool,
    #[serde(default)]
    announce_hostnames: bool,
    #[serde(default = "yes")]
    deny_scripts_reconfig: bool,
    sentinel_user: Option<String>,
    sentinel_pass: Option<String>,
    /// Ours (src/http): the opt-in HTTP listener, 0 = off.
    http_port: Option<u16>,
    http_bind: Option<String>,
    log_format: Option<Spanned<String>>,
    /// Redis's client limits, same names, values and defaults as in sentinel.conf
    /// (memory values as `"512mb"` or a number of bytes; `client-output-buffer-limit` as
    /// Redis's arguments, e.g. `"pubsub 32mb 8mb 60"`). docs/security.md.
    maxclients: Option<Spanned<toml::Value>>,
    timeout: Option<Spanned<toml::Value>>,
    tcp_keepalive: Option<Spanned<toml::Value>>,
    proto_max_bulk_len: Option<Spanned<toml::Value>>,
    client_query_buffer_limit: Option<Spanned<toml::Value>>,
    client_output_buffer_limit: Option<Spanned<toml::Value>>,
    /// TLS (src/tls.rs), Redis's names and values (`tls-auth-clients = "optional"`,
    /// `tls-replication = true`); relative paths are relative to this file's directory.
    tls_port: Option<Spanned<toml::Value>>,
    tls_cert_file: Option<Spanned<toml::Value>>,
    tls_key_file: Option<Spanned<toml::Value>>,
    tls_key_file_pass: Option<Spanned<toml::Value>>,
    tls_client_cert_file: Option<Spanned<toml::Value>>,
    tls_client_key_file: Option<Spanned<toml::Value>>,
    tls_client_key_file_pass: Option<Spanned<toml::Value>>,
    tls_ca_cert_file: Option<Spanned<toml::Value>>,
    tls_ca_cert_dir: Option<Spanned<toml::Value>>,
    tls_auth_clients: Option<Spanned<toml::Value>>,
    tls_replication: Option<Spanned<toml::Value>>,
    tls_protocols: Option<Spanned<toml::Value>>,
    tls_ciphersuites: Option<Spanned<toml::Value>>,
    tls_ciphers: Option<Spanned<toml::Value>>,
    tls_prefer_server_ciphers: Option<Spanned<toml::Value>>,
    tls_session_caching: Option<Spanned<toml::Value>>,
    tls_session_cache_size: Option<Spanned<toml::Value>>,
    tls_session_cache_timeout: Option<Spanned<toml::Value>>,
    tls_dh_params_file: Option<Spanned<toml::Value>>,
    #[serde(default)]
    masters: BTreeMap<String, Spanned<OperatorMaster>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OperatorMaster {
    host: String,
    port: u16,
    quorum: u32,
    down_after_milliseconds: Option<u64>,
    failover_timeout: Option<u64>,
    parallel_syncs: Option<u32>,
    auth_pass: Option<String>,
    auth_user: Option<String>,
    master_reboot_down_after_period: Option<u64>,
    /// Ours (docs/fencing.md): seconds, 0 = off.
    write_lease: Option<u32>,
    /// Ours (docs/crash-detection.md): "fast" or "off".
    crash_detection: Option<String>,
    /// Ours (docs/detection.md): a replica that still hears the master vetoes SDOWN.
    holistic_detection: Option<bool>,
    /// Ours (docs/failover-quality.md): bytes, 0 = no bound.
    max_lag_on_failover: Option<u64>,
    /// Ours (docs/failover-quality.md): ms, 0 = off.
    failover_block_period: Option<u64>,
    notification_script: Option<String>,
    client_reconfig_script: Option<String>,
    /// `command = "new-name"` pairs.
    #[serde(default)]
    rename_command: BTreeMap<String, String>,
}

/// What sentinel.toml says, resolved: settings, the state file's directory, and a
/// snapshot without identity or epochs holding the operator's masters and options.
#[derive(Debug)]
pub(crate) struct Operator {
    pub settings: Settings,
    pub data_dir: PathBuf,
    pub snapshot: Snapshot,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses and validates sentinel.toml read from `file` (absolute).
pub(crate) fn parse(file: &Path, text: &str) -> Result<Operator, ConfigError> {
    let f: OperatorFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| format!(":{}", line_of(text, s.start))).unwrap_or_default();
        ConfigError(format!("{}{}: {}", file.display(), line, e.message()))
    })?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let mut settings = default_settings(file);
    settings.port = f.port.unwrap_or(26379);
    if let Some(b) = f.bind.filter(|b| !b.is_empty()) {
        settings.bind = b;
    }
    settings.logfile = f.logfile.filter(|l| !l.is_empty()).map(|l| base.join(l));
    settings.pidfile = f.pidfile.filter(|l| !l.is_empty()).map(|l| base.join(l));
    settings.protected_mode = f.protected_mode;
    settings.requirepass = f.requirepass.filter(|p| !p.is_empty());
    settings.http_port = f.http_port.filter(|&p| p != 0);
    if let Some(l) = &f.log_format {
        settings.log_format = super::redis_conf::log_format(l.get_ref())
            .map_err(|e| ConfigError(format!("{}:{}: {e}", file.display(), line_of(text, l.span().start))))?;
    }
    if let Some(b) = f.http_bind.clone().filter(|b| !b.is_empty()) {
        settings.http_bind = b;
    }
    if let Some(l) = &f.loglevel {
        let v = l.get_ref().to_ascii_lowercase();
        if !["debug", "verbose", "notice", "warning", "nothing"].contains(&v.as_str()) {
            let at = line_of(text, l.span().start);
            return Err(ConfigError(format!(
                "{}:{at}: loglevel must be one of debug, verbose, notice, warning, nothing (got '{v}')",
                file.display()
            )));
        }
        settings.loglevel = v;
    }
    let limits = [
        ("maxclients", &f.maxclients),
        ("timeout", &f.timeout),
        ("tcp-keepalive", &f.tcp_keepalive),
        ("proto-max-bulk-len", &f.proto_max_bulk_len),
        ("client-query-buffer-limit", &f.client_query_buffer_limit),
        ("client-output-buffer-limit", &f.client_output_buffer_limit),
    ];
    for (name, value) in limits {
        let Some(value) = value else { continue };
        let at = line_of(text, value.span().start);
        let args: Vec<String> = match value.get_ref() {
            toml::Value::Integer(n) => vec![n.to_string()],
            toml::Value::String(v) => v.split_whitespace().map(str::to_string).collect(),
            _ => {
                return Err(ConfigError(format!("{}:{at}: {name} must be a number or a string", file.display())));
            }
        };
        let mut dir = base.clone();
        super::redis_conf::server_directive(&mut settings, name, &args, &mut dir)
            .map_err(|e| ConfigError(format!("{}:{at}: {name}: {e}", file.display())))?;
    }
    let tls = [
        ("tls-port", &f.tls_port),
        ("tls-cert-file", &f.tls_cert_file),
        ("tls-key-file", &f.tls_key_file),
        ("tls-key-file-pass", &f.tls_key_file_pass),
        ("tls-client-cert-file", &f.tls_client_cert_file),
        ("tls-client-key-file", &f.tls_client_key_file),
        ("tls-client-key-file-pass", &f.tls_client_key_file_pass),
        ("tls-ca-cert-file", &f.tls_ca_cert_file),
        ("tls-ca-cert-dir", &f.tls_ca_cert_dir),
        ("tls-auth-clients", &f.tls_auth_clients),
        ("tls-replication", &f.tls_replication),
        ("tls-protocols", &f.tls_protocols),
        ("tls-ciphersuites", &f.tls_ciphersuites),
        ("tls-ciphers", &f.tls_ciphers),
        ("tls-prefer-server-ciphers", &f.tls_prefer_server_ciphers),
        ("tls-session-caching", &f.tls_session_caching),
        ("tls-session-cache-size", &f.tls_session_cache_size),
        ("tls-session-cache-timeout", &f.tls_session_cache_timeout),
        ("tls-dh-params-file", &f.tls_dh_params_file),
    ];
    for (name, value) in tls {
        let Some(value) = value else { continue };
        let at = line_of(text, value.span().start);
        let arg = match value.get_ref() {
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
            toml::Value::String(v) => v.clone(),
            _ => {
                return Err(ConfigError(format!(
                    "{}:{at}: {name} must be a string, a number or a boolean",
                    file.display()
                )))
            }
        };
        crate::tls::directive(&mut settings.tls, name, &[arg], &base)
            .map_err(|e| ConfigError(format!("{}:{at}: {name}: {e}", file.display())))?;
    }
    let data_dir = base.join(f.data_dir.clone().unwrap_or_default());
    let mut snap = Snapshot::new(String::new());
    snap.announce_ip = f.announce_ip.clone().filter(|s| !s.is_empty());
    snap.announce_port = f.announce_port.filter(|&p| p != 0);
    snap.resolve_hostnames = f.resolve_hostnames;
    snap.announce_hostnames = f.announce_hostnames;
    snap.deny_scripts_reconfig = f.deny_scripts_reconfig;
    snap.sentinel_user = f.sentinel_user.clone().filter(|s| !s.is_empty());
    snap.sentinel_pass = f.sentinel_pass.clone().filter(|s| !s.is_empty());
    for (name, m) in &f.masters {
        let at = format!("{}:{}", file.display(), line_of(text, m.span().start));
        let master = master(name, m.get_ref(), &base, f.resolve_hostnames)
            .map_err(|e| ConfigError(format!("{at}: [masters.{name}]: {e}")))?;
        snap.masters.push(master);
    }
    Ok(Operator { settings, data_dir, snapshot: snap })
}

/// One `[masters.<name>]` table, checked like the sentinel.conf directives (§15.2).
/// Relative script paths are relative to sentinel.toml's directory and stored absolute.
fn master(name: &str, m: &OperatorMaster, base: &Path, resolve: bool) -> Result<MasterSnapshot, String> {
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("a master name must be non-empty and contain no spaces".into());
    }
    if m.quorum == 0 {
        return Err("quorum must be 1 or greater".into());
    }
    if !resolve && m.host.parse::<IpAddr>().is_err() {
        return Err(format!("host '{}' is not an IP address (set resolve-hostnames = true to use names)", m.host));
    }
    let t = Timing::default();
    let mut s = MasterSnapshot::new(name, Addr::new(m.host.clone(), m.port), m.quorum);
    s.down_after_ms = positive(m.down_after_milliseconds, t.default_down_after, "down-after-milliseconds")?;
    s.failover_timeout_ms = positive(m.failover_timeout, t.default_failover_timeout, "failover-timeout")?;
    s.parallel_syncs = match m.parallel_syncs {
        Some(0) => return Err("parallel-syncs must be 1 or greater".into()),
        v => v.unwrap_or(1),
    };
    s.master_reboot_down_after_ms = m.master_reboot_down_after_period.unwrap_or(0);
    s.write_lease_s = match m.write_lease {
        Some(l) if l > 3600 => return Err("write-lease must be 0..3600 seconds".into()),
        l => l.unwrap_or(0),
    };
    s.max_lag_on_failover = m.max_lag_on_failover.unwrap_or(0);
    s.failover_block_ms = m.failover_block_period.unwrap_or(0);
    s.crash_detection = match m.crash_detection.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("off") => false,
        Some("fast") => true,
        Some(other) => return Err(format!("crash-detection must be \"fast\" or \"off\", not \"{other}\"")),
    };
    s.holistic_detection = m.holistic_detection.unwrap_or(false);
    s.auth_pass = m.auth_pass.clone().filter(|p| !p.is_empty());
    s.auth_user = m.auth_user.clone().filter(|p| !p.is_empty());
    s.notification_script = script(&m.notification_script, base, "notification-script")?;
    s.client_reconfig_script = script(&m.client_reconfig_script, base, "client-reconfig-script")?;
    for (old, new) in &m.rename_command {
        let old = old.to_ascii_lowercase();
        if s.rename_commands.iter().any(|(o, _)| *o == old) {
            return Err(format!("command '{old}' renamed twice in rename-command"));
        }
        s.rename_commands.push((old, new.clone()));
    }
    Ok(s)
}

fn positive(v: Option<u64>, default: u64, key: &str) -> Result<u64, String> {
    match v {
        Some(0) => Err(format!("{key} must be greater than 0 (milliseconds)")),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn script(v: &Option<String>, base: &Path, key: &str) -> Result<Option<String>, String> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(p) if executable(p, base) => Ok(Some(base.join(p).to_string_lossy().into_owned())),
        Some(p) => Err(format!("{key} '{p}' does not exist or is not executable")),
    }
}
