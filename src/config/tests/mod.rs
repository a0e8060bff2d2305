//! Tests of the config module as a whole: sentinel.conf reading and rewriting
//! (`redis`), sentinel.toml and its state file (`toml_state`), and interoperability with
//! Debian's `redis-sentinel` (`interop`).

mod interop;
mod redis;
mod toml_state;

use std::fs;
use std::path::{Path, PathBuf};

/// Writes `text` as `name` in a fresh temp dir; returns the dir guard and the path.
pub(super) fn write_conf(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    fs::write(&p, text).unwrap();
    (d, p)
}

/// The names in `dir`, sorted.
pub(super) fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

pub(super) const ID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub(super) const ID_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
