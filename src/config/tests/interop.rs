//! Interoperability with Debian's `redis-sentinel` (Redis 7): a file we rewrote must start
//! a real sentinel that answers `SENTINEL MASTERS`, and the file that real sentinel
//! rewrites (`SENTINEL FLUSHCONFIG`) must load back with us to the same state.
//! These tests need `redis-sentinel` on PATH and fail without it.

use super::write_conf;
use crate::config::load;
use crate::config::rewrite::rewrite;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child on drop, so a failed assertion never leaks a process.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends one command (RESP2) and reads until `until` appears in the reply or 3 s pass.
fn command(port: u16, args: &[&str], until: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    let (mut out, deadline) = (Vec::new(), Instant::now() + Duration::from_secs(3));
    while Instant::now() < deadline && !String::from_utf8_lossy(&out).contains(until) {
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn start(conf: &std::path::Path, port: u16) -> Guard {
    let child = Command::new("redis-sentinel")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-sentinel must be installed for the interoperability tests");
    let mut g = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if let Some(status) = g.0.try_wait().unwrap() {
            let mut err = String::new();
            let _ = g.0.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("redis-sentinel exited with {status}: {err}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && Instant::now() + Duration::from_millis(300) > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(g.0.try_wait().unwrap().is_none(), "redis-sentinel did not stay up");
    g
}

#[test]
fn redis_sentinel_loads_our_rewrite_and_we_load_its_rewrite() {
    let mut snap = super::redis::rich_snapshot();
    // Redis writes passwords unquoted, so its own rewrite breaks on quotes and spaces.
    snap.masters[0].auth_pass = Some("secret".into());
    snap.sentinel_pass = Some("peerpass".into());
    // Point at ports where nothing listens, so the real sentinel stays passive.
    snap.masters[0].addr.port = 1;
    snap.masters[1].addr = crate::core::Addr::new("127.0.0.1", 2);
    let port = free_port();
    let head = format!("# operator comment\nport {port}\nbind 127.0.0.1\nlogfile \"\"\n");
    let (_d, p) = write_conf("sentinel.conf", &rewrite(&head, &snap));
    let ours = std::fs::read_to_string(&p).unwrap();
    let sentinel = start(&p, port);
    let masters = command(port, &["SENTINEL", "MASTERS"], "beta");
    assert!(masters.contains("alpha") && masters.contains("beta"), "{masters}");
    let myid = command(port, &["SENTINEL", "MYID"], &snap.myid);
    assert!(myid.contains(&snap.myid), "{myid}");
    let flushed = command(port, &["SENTINEL", "FLUSHCONFIG"], "\r\n");
    assert!(flushed.starts_with("+OK"), "{flushed}");
    drop(sentinel);
    let theirs = std::fs::read_to_string(&p).unwrap();
    assert_ne!(theirs, ours, "FLUSHCONFIG should have rewritten the file");
    let l = load(&p).unwrap_or_else(|e| panic!("{e}\n--- file written by redis-sentinel:\n{theirs}"));
    assert_eq!(l.snapshot.myid, snap.myid);
    let names: Vec<_> = l.snapshot.masters.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"alpha") && names.contains(&"beta"), "{names:?}");
    let alpha = l.snapshot.masters.iter().find(|m| m.name == "alpha").unwrap();
    let want = snap.masters.iter().find(|m| m.name == "alpha").unwrap();
    assert_eq!(
        (alpha.quorum, alpha.down_after_ms, &alpha.auth_pass),
        (want.quorum, want.down_after_ms, &want.auth_pass)
    );
    assert_eq!(alpha.config_epoch, want.config_epoch);
    assert!(theirs.contains("# operator comment"));
}
