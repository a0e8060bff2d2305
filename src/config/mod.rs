//! Configuration and persistence: our `sentinel.toml`, Redis's `sentinel.conf`, and the
//! durable state (myid, epochs, votes, known instances). Errors name the file and line.
//! Writes are atomic (temp file, fsync, rename, fsync dir). Makes no decisions.
//!
//! Two modes, chosen by [`load`] from the file name:
//!
//! * `*.toml` — the operator's file is never written. What the sentinel learns or is told
//!   at runtime goes to `<data-dir>/sentinel-state.toml` (see `state`), merged over the
//!   operator's file at load.
//! * anything else — a Redis sentinel.conf, read with Redis's rules (`redis_conf`,
//!   `directives`) and rewritten in place like Redis's `CONFIG REWRITE` (`rewrite`), so
//!   the file stays loadable by `redis-sentinel` itself.
//!
//! Files: `args` (Redis line lexing), `directives` (`sentinel ...` lines), `redis_conf`
//! (sentinel.conf reading), `rewrite` (sentinel.conf writing), `toml_conf` (sentinel.toml
//! schema), `state` (state file and merge), `atomic` (durable file replacement).
//!
//! This module does not log: everything worth telling the operator is in
//! [`Loaded::warnings`], for the caller to log.

mod args;
pub(crate) mod atomic;
mod directives;
mod redis_conf;
pub mod reference;
mod rewrite;
mod server_directives;
mod state;
mod toml_conf;

#[cfg(test)]
mod tests;

use crate::core::Snapshot;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Process-level settings (not part of the core's state).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listening port (default 26379).
    pub port: u16,
    /// Addresses to listen on (default: all interfaces, `0.0.0.0`).
    pub bind: Vec<String>,
    /// Working directory (`dir`, absolute); the process changes into it at startup.
    /// Redis mode only; `None` for sentinel.toml (all its paths are already absolute).
    pub dir: Option<PathBuf>,
    /// Log file (absolute); `None` logs to stdout.
    pub logfile: Option<PathBuf>,
    /// `debug`, `verbose`, `notice`, `warning` or `nothing`.
    pub loglevel: String,
    /// Password clients must send with AUTH (also used towards peers unless
    /// `sentinel-pass` is set, §17).
    pub requirepass: Option<String>,
    /// `user` lines (the arguments after `user`), in file order (§17).
    pub users: Vec<Vec<String>>,
    /// `aclfile`: the users come from this file instead (`ACL LOAD` / `ACL SAVE`), as
    /// written in the config and made absolute (relative to `dir`).
    pub aclfile: Option<AclFile>,
    /// Absolute path of the config file read.
    pub config_file: PathBuf,
    /// `protected-mode` (default `no` for a sentinel, §15.1, §17).
    pub protected_mode: bool,
    /// File to write the process id into (absolute); `None` = none.
    pub pidfile: Option<PathBuf>,
    /// `daemonize yes`: fork, detach from the terminal, run in the background.
    pub daemonize: bool,
    /// `supervised`: `no`, `upstart`, `systemd` or `auto` (systemd readiness notification).
    pub supervised: String,
    /// Maximum number of simultaneous client connections (`maxclients`, default 10000).
    pub maxclients: u32,
    /// Close a client connection idle for this many seconds (`timeout`; 0 = never).
    pub timeout_secs: u64,
    /// TCP keepalive interval of client connections in seconds (`tcp-keepalive`, 0 = off).
    pub tcp_keepalive_secs: u32,
    /// Largest bulk argument a client may send (`proto-max-bulk-len`, default 512mb).
    pub proto_max_bulk_len: u64,
    /// Most unprocessed input held for one client (`client-query-buffer-limit`, 1gb).
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit normal` (default none) and `pubsub` (32mb 8mb 60).
    pub output_limit_normal: crate::server::OutputLimit,
    pub output_limit_pubsub: crate::server::OutputLimit,
    /// Listen backlog (`tcp-backlog`, default 511).
    pub tcp_backlog: u32,
    /// Unix socket to listen on as well (`unixsocket`, absolute), and its mode.
    pub unixsocket: Option<PathBuf>,
    pub unixsocketperm: u32,
    /// `syslog-enabled`, `syslog-ident`, `syslog-facility`: log lines also go to syslog.
    pub syslog_enabled: bool,
    pub syslog_ident: String,
    pub syslog_facility: String,
    /// Ours: port of the HTTP listener (metrics, health endpoints, `src/http`); `None` =
    /// no listener (the default). `http-port` in both formats.
    pub http_port: Option<u16>,
    /// Ours: address of the HTTP listener (`http-bind`, default `127.0.0.1`).
    pub http_bind: String,
    /// Ours: `log-format`, `plain` (Redis-like, the default) or `json` (one object a line).
    pub log_format: String,
    /// `tls-*` (src/tls.rs): the TLS listener and TLS links.
    pub tls: crate::tls::TlsSettings,
}

/// The `aclfile` directive: the path as written (Redis names it so in its errors) and
/// the absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclFile {
    pub shown: String,
    pub path: PathBuf,
}

/// A configuration error naming the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where and how persisted state is written.
pub struct Store {
    target: Target,
    /// The sentinel's users as `ACL LIST` lines, written into a sentinel.conf on every
    /// persist (`None` from the source: leave the `user` lines alone).
    users: Option<UsersSource>,
}

/// Reads the current users (see [`Store::set_users_source`]).
pub type UsersSource = Box<dyn Fn() -> Option<Vec<String>> + Send>;

enum Target {
    /// Rewrite this Redis sentinel.conf in place.
    RedisConf(PathBuf),
    /// Write this state file; `operator` is what sentinel.toml says (for secrets and
    /// overrides, see `state`).
    StateFile { path: PathBuf, operator: Snapshot },
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No snapshot here: it would print passwords.
        f.debug_struct("Store").field("path", &self.path()).finish()
    }
}

impl Store {
    /// Makes `snap` durable (write temp, fsync, rename, fsync dir). Recreates the file if
    /// it was deleted. New files are created mode 0600 (they may hold passwords).
    pub fn persist(&mut self, snap: &Snapshot) -> io::Result<()> {
        let (path, text) = match &self.target {
            Target::RedisConf(path) => {
                let old = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
                    Err(e) => return Err(e),
                };
                let users = self.users.as_ref().and_then(|f| f());
                (path, rewrite::rewrite_with_users(&old, snap, users.as_deref()))
            }
            Target::StateFile { path, operator } => {
                let text = state::encode(snap, operator).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                (path, text)
            }
        };
        atomic::write_atomic(path, text.as_bytes(), 0o600)
    }

    /// Where the users written into a sentinel.conf come from (Redis writes them on every
    /// config rewrite, so runtime `ACL SETUSER` changes persist). Not used for the state
    /// file of `sentinel.toml`, whose users are the operator's.
    pub fn set_users_source(&mut self, source: UsersSource) {
        self.users = Some(source);
    }

    /// The file `persist` writes: the sentinel.conf, or the state file.
    pub fn path(&self) -> &Path {
        match &self.target {
            Target::RedisConf(p) => p,
            Target::StateFile { path, .. } => path,
        }
    }
}

/// A loaded configuration.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub snapshot: Snapshot,
    pub store: Store,
    /// Things the operator should read (ignored directives, config/state disagreements),
    /// each naming its file. The caller logs them at warning level.
    pub warnings: Vec<String>,
}

/// Loads `sentinel.toml` (by extension `.toml`) or a Redis `sentinel.conf` (anything
/// else), merging persisted state, generating and persisting `myid` when absent.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let cwd = std::env::current_dir().map_err(|e| ConfigError(format!("cannot read the current directory: {e}")))?;
    let file = cwd.join(path);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| ConfigError(format!("Fatal error, can't open config file '{}': {e}", file.display())))?;
    if file.extension().is_some_and(|e| e == "toml") {
        load_toml(&file, &text)
    } else {
        load_redis(&file, &text, &cwd)
    }
}

fn load_redis(file: &Path, text: &str, cwd: &Path) -> Result<Loaded, ConfigError> {
    let parsed = redis_conf::parse(file, text, cwd)?;
    check_writable(file)?;
    let mut loaded = Loaded {
        settings: parsed.settings,
        snapshot: parsed.snapshot,
        store: Store { target: Target::RedisConf(file.to_path_buf()), users: None },
        warnings: parsed.warnings,
    };
    ensure_myid(&mut loaded)?;
    Ok(loaded)
}

fn load_toml(file: &Path, text: &str) -> Result<Loaded, ConfigError> {
    let op = toml_conf::parse(file, text)?;
    if !op.data_dir.is_dir() {
        return Err(ConfigError(format!("{}: data-dir {} is not a directory", file.display(), op.data_dir.display())));
    }
    let state_path = op.data_dir.join(state::STATE_FILE);
    let mut warnings = Vec::new();
    let st = match std::fs::read_to_string(&state_path) {
        Ok(t) => Some(state::decode(&state_path, &t, &mut warnings)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(ConfigError(format!("{}: cannot read state file: {e}", state_path.display()))),
    };
    check_dir_writable(&op.data_dir, &state_path)?;
    let snapshot = state::merge(&op.snapshot, st, &mut warnings);
    let mut loaded = Loaded {
        settings: op.settings,
        snapshot,
        store: Store { target: Target::StateFile { path: state_path, operator: op.snapshot }, users: None },
        warnings,
    };
    ensure_myid(&mut loaded)?;
    Ok(loaded)
}

/// §1.2: a sentinel without `myid` generates one and writes it before doing anything else.
fn ensure_myid(loaded: &mut Loaded) -> Result<(), ConfigError> {
    if !loaded.snapshot.myid.is_empty() {
        return Ok(());
    }
    loaded.snapshot.myid = new_myid()?;
    loaded
        .store
        .persist(&loaded.snapshot)
        .map_err(|e| ConfigError(format!("{}: cannot save the new sentinel id: {e}", loaded.store.path().display())))
}

/// 40 random lower-case hex characters from the OS RNG (§1.2).
fn new_myid() -> Result<String, ConfigError> {
    crate::random::hex(40)
        .map_err(|e| ConfigError(format!("cannot generate a sentinel id: OS random generator failed: {e}")))
}

/// §15.1: the config file must be writable (Redis checks `access(W_OK)` and exits), and
/// so must its directory, since rewrites go through a temp file next to it.
fn check_writable(file: &Path) -> Result<(), ConfigError> {
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(file) {
        return Err(ConfigError(format!(
            "Sentinel config file {} is not writable: {e}. Exiting... \
             (Sentinel needs config file on disk to save state)",
            file.display()
        )));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    check_dir_writable(dir, file)
}

fn check_dir_writable(dir: &Path, file: &Path) -> Result<(), ConfigError> {
    tempfile::tempfile_in(dir).map(drop).map_err(|e| {
        ConfigError(format!(
            "{}: directory {} is not writable ({e}); it is needed to save state atomically",
            file.display(),
            dir.display()
        ))
    })
}

/// The pure readers, for the fuzz targets (`fuzz/`) and `tests/parsers_fuzz.rs`: each
/// parses text as if read from `file` and writes nothing. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{redis_conf, state, toml_conf, ConfigError};
    use crate::core::Snapshot;
    use std::path::Path;

    /// A Redis sentinel.conf (`include` lines read files: feed none from untrusted input).
    pub fn sentinel_conf(file: &Path, text: &str, cwd: &Path) -> Result<Snapshot, ConfigError> {
        redis_conf::parse(file, text, cwd).map(|p| p.snapshot)
    }

    /// The state file text saving `snap` over an empty sentinel.toml.
    pub fn state_text(snap: &Snapshot) -> Result<String, String> {
        state::encode(snap, &Snapshot::new(String::new()))
    }

    /// A sentinel.toml.
    pub fn sentinel_toml(file: &Path, text: &str) -> Result<(), ConfigError> {
        toml_conf::parse(file, text).map(drop)
    }

    /// A state file (`<data-dir>/sentinel-state.toml`).
    pub fn state_file(file: &Path, text: &str) -> Result<Vec<String>, ConfigError> {
        let mut warnings = Vec::new();
        state::decode(file, text, &mut warnings).map(|_| warnings)
    }
}
