//! Drop-in process contract and config rewrite round-trip (issue 3, docs/behaviour.md §15):
//! an operator's Redis `sentinel.conf` with comments and per-master options *before* their
//! `monitor` line drives one of our sentinels through a failover and a restart; the file
//! keeps the operator's lines, carries the new state, and still loads in Debian's
//! `redis-sentinel`. Also: with `logfile` set nothing reaches stdout/stderr, SIGTERM is a
//! prompt exit 0, and an unknown directive fails startup naming `file:line` with exit 1.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The operator's file: comments, blank lines, per-master options before `monitor`.
fn operator_conf(port: u16, dir: &Path, master_port: u16) -> String {
    format!(
        "# Operator's sentinel config: keep this comment\n\
         port {port}\nbind {HOST}\n\n\
         # per-master options may precede their monitor line\n\
         sentinel down-after-milliseconds mymaster 1000\n\
         sentinel failover-timeout mymaster 10000\n\
         dir {dir}\nlogfile sentinel.log\n\
         sentinel monitor mymaster {HOST} {master_port} 2\n",
        dir = dir.display()
    )
}

fn ours_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sentinel")
}

#[test]
fn ours_rewrite_round_trip_and_process_contract() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 2);
    let port = free_port();
    let dir = topo.root.path().join("operator");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("sentinel.conf");
    std::fs::write(&conf, operator_conf(port, &dir, topo.master.port)).unwrap();
    let mut p = Proc::launch("operator", port, &dir, ours_bin().into(), vec![conf.display().to_string()]);
    p.add_log(dir.join("sentinel.log"));
    p.add_log(conf.clone());
    topo.sentinels.push(p);
    topo.wait_discovery(2, 2);
    let m = sentinel_master(port, MASTER_NAME).unwrap();
    assert_eq!(m["down-after-milliseconds"], "1000", "option before its monitor line");
    assert_eq!(m["failover-timeout"], "10000", "option before its monitor line");
    let myid = sentinel_myid(port).unwrap();

    let old = topo.master.port;
    kill9(&mut topo.master);
    let new = wait_until(T_FAILOVER, "our operator sentinel to switch", || match master_addr(port, MASTER_NAME)? {
        Some((_, p)) if p != old => Ok(p),
        a => Err(format!("{a:?}")),
    });
    step(&format!("failover :{old} -> :{new}"));
    let text = wait_until(T_FAILOVER, "the rewritten file to name the new master", || {
        let t = read_to_string(&conf);
        if t.contains(&format!("sentinel monitor mymaster {HOST} {new} 2")) {
            Ok(t)
        } else {
            Err(t)
        }
    });
    for keep in [
        "# Operator's sentinel config: keep this comment",
        "# per-master options may precede their monitor line",
        "logfile sentinel.log",
    ] {
        assert!(text.contains(keep), "rewrite lost {keep:?}:\n{text}");
    }
    assert!(text.contains(&format!("sentinel myid {myid}")), "no myid line:\n{text}");
    assert!(
        text.contains(&format!("sentinel known-replica mymaster {HOST} {old}")),
        "old master not remembered:\n{text}"
    );

    // Restart (SIGKILL, as a crash) keeps id and the new master.
    let s = topo.sentinels.last_mut().unwrap();
    s.restart();
    assert_eq!(sentinel_myid(port).unwrap(), myid);
    assert_eq!(master_addr(port, MASTER_NAME).unwrap(), Some((HOST.to_string(), new)));
    let out = read_to_string(&dir.join("operator.out"));
    assert!(out.is_empty(), "with `logfile` set nothing may reach stdout/stderr, got:\n{out}");

    s.kill9();

    // The file is still loadable by Debian's redis-sentinel (on the same port, now free).
    let copy = dir.join("sentinel-redis.conf");
    std::fs::copy(&conf, &copy).unwrap();
    let prog = require_program("redis-sentinel");
    let _r = Proc::launch("redis-on-our-file", port, &dir, prog, vec![copy.display().to_string()]);
    let ms =
        wait_until(T_DISCOVERY, "redis-sentinel on our file to answer SENTINEL MASTERS", || sentinel_masters(port));
    assert_eq!(ms.len(), 1);
    assert_eq!((ms[0]["name"].as_str(), ms[0]["port"].as_str()), (MASTER_NAME, new.to_string().as_str()));
    assert_eq!(sentinel_myid(port).unwrap(), myid, "redis-sentinel keeps our myid");
}

#[test]
fn ours_sigterm_is_a_clean_exit() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = root.path().join("sentinel.conf");
    std::fs::write(&conf, operator_conf(port, root.path(), free_port())).unwrap();
    let mut child = Command::new(ours_bin())
        .arg(&conf)
        .current_dir(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(T_START, "our sentinel to listen", || query(port, &["PING"]).map(|_| ()));
    let t = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = wait_until(Duration::from_secs(10), "exit after SIGTERM", || {
        child.try_wait().map_err(|e| e.to_string())?.ok_or_else(|| "running".into())
    });
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "logfile set, yet output: {:?} {:?}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    step(&format!("SIGTERM → exit 0 after {:?}", t.elapsed()));
}

#[test]
fn ours_unknown_directive_names_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let conf = root.path().join("sentinel.conf");
    std::fs::write(&conf, format!("port {}\n# comment\nsentinel no-such-directive 1\n", free_port())).unwrap();
    let out = Command::new(ours_bin()).arg(&conf).current_dir(root.path()).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(err.contains(&format!("{}:3", conf.display())), "stderr must name file:line, got: {err}");
    assert!(err.contains("Unrecognized sentinel configuration statement"), "Redis's message, got: {err}");
}
