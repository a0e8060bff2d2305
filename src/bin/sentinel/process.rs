//! Process-level behaviour of the `sentinel` binary that Redis has too: `daemonize yes`
//! (fork and detach) and `supervised systemd|auto` (readiness notification).

use std::os::fd::AsRawFd;

extern "C" {
    fn fork() -> i32;
    fn setsid() -> i32;
    fn dup2(old: i32, new: i32) -> i32;
}

/// Redis's `daemonize()`: fork, the parent exits 0, the child starts a new session and
/// points stdin, stdout and stderr at /dev/null. Must run while the process has a single
/// thread (before the runtime starts).
pub fn daemonize() -> Result<(), String> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("daemonize: cannot open /dev/null: {e}"))?;
    // SAFETY: the process is single-threaded here (no runtime, no logging thread yet), so
    // the child may go on running arbitrary code.
    match unsafe { fork() } {
        -1 => return Err(format!("daemonize: fork failed: {}", std::io::Error::last_os_error())),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain syscalls on valid descriptors.
    unsafe {
        setsid();
        for fd in 0..=2 {
            dup2(null.as_raw_fd(), fd);
        }
    }
    Ok(())
}

/// `supervised systemd` (or `auto` under systemd): tell systemd we are ready, through the
/// datagram socket named by `NOTIFY_SOCKET`, as Redis does once it listens. `upstart`
/// (Redis raises SIGSTOP) is not done; `no` does nothing.
pub fn notify_ready(supervised: &str) {
    if !matches!(supervised, "systemd" | "auto") {
        if supervised == "upstart" {
            tracing::warn!("supervised upstart is not supported; use systemd or no");
        }
        return;
    }
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        if supervised == "systemd" {
            tracing::warn!("systemd supervision requested or auto-detected, but NOTIFY_SOCKET not found!");
        }
        return;
    };
    let msg = b"STATUS=Ready to accept connections\nREADY=1\n";
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|sock| {
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
        match bytes.strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                sock.send_to_addr(msg, &addr)
            }
            None => sock.send_to(msg, &path),
        }
    });
    match sent {
        Ok(_) => tracing::info!("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit."),
        Err(e) => tracing::warn!("Failed to notify systemd ({}): {e}", path.to_string_lossy()),
    }
}
