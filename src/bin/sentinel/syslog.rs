//! `syslog-enabled yes`: every log line also goes to the local syslog daemon, as Redis
//! does (`openlog(ident, LOG_PID|LOG_NDELAY|LOG_NOWAIT, facility)`): one datagram per line
//! on `/dev/log`, `<PRI>ident[pid]: message`, severity from the line's level (debug →
//! debug, info → notice, warn → warning, error → err), facility from `syslog-facility`.
//! Best effort: a line syslog cannot take is dropped, never blocking the daemon.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

pub struct Syslog {
    sock: UnixDatagram,
    /// `ident[pid]: `
    tag: String,
    facility: u8,
}

/// `syslog-facility` → its number (`user` = 1, `local0..7` = 16..23).
fn facility_code(name: &str) -> u8 {
    match name.strip_prefix("local").and_then(|n| n.parse::<u8>().ok()) {
        Some(n) if n <= 7 => 16 + n,
        _ => 1,
    }
}

impl Syslog {
    /// Connects to the syslog socket at `path` (normally `/dev/log`).
    pub fn new(path: &Path, ident: &str, facility: &str) -> io::Result<Arc<Syslog>> {
        let sock = UnixDatagram::unbound()?;
        sock.connect(path)?;
        sock.set_nonblocking(true)?;
        let tag = format!("{ident}[{}]: ", std::process::id());
        Ok(Arc::new(Syslog { sock, tag, facility: facility_code(facility) }))
    }
}

/// The writer for one line at one severity.
pub struct SyslogLine {
    syslog: Arc<Syslog>,
    severity: u8,
}

impl Write for SyslogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let pri = u16::from(self.syslog.facility) * 8 + u16::from(self.severity);
        let msg = format!("<{pri}>{}{}", self.syslog.tag, text.trim_end());
        let _ = self.syslog.sock.send(msg.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tracing's per-event writer factory: the severity comes from the event's level.
#[derive(Clone)]
pub struct SyslogWriter(pub Arc<Syslog>);

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = SyslogLine;

    fn make_writer(&'a self) -> SyslogLine {
        SyslogLine { syslog: self.0.clone(), severity: 5 }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        let severity = match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 5,
            Level::DEBUG | Level::TRACE => 7,
        };
        SyslogLine { syslog: self.0.clone(), severity }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_socket_with_priority_and_ident() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let w = SyslogWriter(Syslog::new(&path, "sentinel", "local3").unwrap());
        let mut line = SyslogLine { syslog: w.0.clone(), severity: 4 };
        line.write_all(b"+sdown master m 127.0.0.1 6379\n").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let want = format!("<{}>sentinel[{}]: +sdown master m 127.0.0.1 6379", 19 * 8 + 4, std::process::id());
        assert_eq!(String::from_utf8_lossy(&buf[..n]), want);
        assert_eq!((facility_code("user"), facility_code("local0"), facility_code("local7")), (1, 16, 23));
    }
}
