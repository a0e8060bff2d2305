//! `tcp-keepalive` on accepted client connections, as Redis's `anetKeepAlive`: keepalive
//! on, first probe after `interval` idle, then every `interval / 3` (at least 1 s), the
//! connection dropped after 3 unanswered probes. Best effort: a failure is only logged.

use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::net::TcpStream;

extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, len: u32) -> i32;
}

const SOL_SOCKET: i32 = 1;
const SO_KEEPALIVE: i32 = 9;
const IPPROTO_TCP: i32 = 6;
const TCP_KEEPIDLE: i32 = 4;
const TCP_KEEPINTVL: i32 = 5;
const TCP_KEEPCNT: i32 = 6;

fn set(fd: i32, level: i32, name: i32, value: i32) -> std::io::Result<()> {
    // SAFETY: `value` outlives the call and `len` is its size; `fd` is an open socket.
    let rc = unsafe { setsockopt(fd, level, name, (&value as *const i32).cast(), 4) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub(crate) fn enable(stream: &TcpStream, interval: Duration) {
    let fd = stream.as_raw_fd();
    let idle = i32::try_from(interval.as_secs()).unwrap_or(i32::MAX).max(1);
    let result = set(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        .and_then(|_| set(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle))
        .and_then(|_| set(fd, IPPROTO_TCP, TCP_KEEPINTVL, (idle / 3).max(1)))
        .and_then(|_| set(fd, IPPROTO_TCP, TCP_KEEPCNT, 3));
    if let Err(e) = result {
        tracing::debug!(error = %e, "cannot enable TCP keepalive on a client connection");
    }
}
