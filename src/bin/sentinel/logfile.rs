//! The `logfile` writer of the `sentinel` binary.
//!
//! Redis opens `logfile` anew for every line, so `logrotate` without `copytruncate`
//! works: once the file is moved away, the next line creates a new one. We keep the file
//! open and, before each line, compare the path's (device, inode) with the open file's
//! (one `stat`, cheaper than Redis's open+close per line, and the sentinel logs a few
//! lines a second at most); when the path is gone or names another file, we reopen it
//! (creating it). SIGHUP forces a reopen as well (`request_reopen`), for rotation tools
//! that signal instead. No line is lost: a line is written to the file the path names at
//! the moment it is written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct LogFile {
    path: PathBuf,
    open: Mutex<(File, (u64, u64))>,
    reopen: AtomicBool,
}

fn open(path: &Path) -> io::Result<(File, (u64, u64))> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let m = f.metadata()?;
    Ok((f, (m.dev(), m.ino())))
}

impl LogFile {
    /// Opens (creates) `path` for appending; the error names the file.
    pub fn new(path: &Path) -> Result<Arc<LogFile>, String> {
        let first = open(path).map_err(|e| format!("can't open the log file '{}': {e}", path.display()))?;
        Ok(Arc::new(LogFile { path: path.to_path_buf(), open: Mutex::new(first), reopen: AtomicBool::new(false) }))
    }

    /// The next line goes to a freshly opened file (SIGHUP).
    pub fn request_reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
    }

    fn write_line(&self, buf: &[u8]) -> io::Result<()> {
        let mut cur = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let forced = self.reopen.swap(false, Ordering::Relaxed);
        let moved = match std::fs::metadata(&self.path) {
            Ok(m) => (m.dev(), m.ino()) != cur.1,
            Err(_) => true,
        };
        if forced || moved {
            // If it cannot be reopened (directory gone, permissions), keep writing into
            // the old file rather than losing lines.
            if let Ok(new) = open(&self.path) {
                *cur = new;
            }
        }
        cur.0.write_all(buf)
    }
}

/// The writer tracing's fmt layer gets for each event: one `write_all` per line.
pub struct LogWriter(pub Arc<LogFile>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_line(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_line(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_log_file_is_recreated_and_sighup_reopens() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.log");
        let log = LogFile::new(&path).unwrap();
        let mut w = LogWriter(log.clone());
        w.write_all(b"one\n").unwrap();
        std::fs::rename(&path, d.path().join("s.log.1")).unwrap();
        w.write_all(b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("s.log.1")).unwrap(), "one\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        std::fs::remove_file(&path).unwrap();
        log.request_reopen();
        w.write_all(b"three\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }
}
