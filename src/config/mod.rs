//! Configuration and persistence: our `sentinel.toml`, Redis's `sentinel.conf`, and the
//! durable state (myid, epochs, votes, known instances). Errors name the file and line.
//! Writes are atomic (temp file, fsync, rename, fsync dir). Makes no decisions.
//! (Stub API: being written on branch `config`.)

use crate::core::Snapshot;
use std::path::{Path, PathBuf};

/// Process-level settings (not part of the core's state).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listening port (default 26379).
    pub port: u16,
    /// Addresses to listen on (default: all interfaces, `0.0.0.0`).
    pub bind: Vec<String>,
    /// Working directory (`dir`); the process changes into it at startup.
    pub dir: Option<PathBuf>,
    /// Log file; `None` logs to stdout.
    pub logfile: Option<PathBuf>,
    /// `debug`, `verbose`, `notice` or `warning`.
    pub loglevel: String,
    /// Password clients must send with AUTH.
    pub requirepass: Option<String>,
    /// Absolute path of the config file read.
    pub config_file: PathBuf,
}

/// A configuration error naming the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where and how persisted state is written.
#[derive(Debug)]
pub struct Store {}

impl Store {
    /// Makes `snap` durable (write temp, fsync, rename, fsync dir).
    pub fn persist(&mut self, snap: &Snapshot) -> std::io::Result<()> {
        let _ = snap;
        Ok(())
    }
}

/// A loaded configuration.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub snapshot: Snapshot,
    pub store: Store,
}

/// Loads `sentinel.toml` (by extension `.toml`) or a Redis `sentinel.conf` (anything
/// else), merging persisted state, generating and persisting `myid` when absent.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    Err(ConfigError(format!("{}: not implemented yet", path.display())))
}
