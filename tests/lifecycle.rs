//! Runtime reconfiguration (docs/behaviour.md §11.4, §15.4–§15.6) against real processes:
//! `SENTINEL MONITOR / REMOVE / SET / RESET / CONFIG GET|SET / FLUSHCONFIG`, Redis's
//! validation and error texts, credentials changed at runtime (links reconnect), and every
//! change still there after a SIGKILL and restart — with a Redis-format sentinel.conf
//! (rewritten in place) and with sentinel.toml (state file).
//!
//! Also TILT (§13): a sentinel frozen with SIGSTOP enters TILT, acts on nothing while in
//! it, and leaves it after `tilt-period`.

mod common;

use common::*;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Sends one command as RESP and returns the first reply line verbatim (`+OK`, `-ERR …`,
/// `:1`, `*3`), so error texts are compared byte for byte.
fn raw(port: u16, args: &[&str]) -> String {
    let mut s = TcpStream::connect((HOST, port)).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("reply");
    line.trim_end().to_string()
}

fn field(port: u16, name: &str, key: &str) -> String {
    sentinel_master(port, name).unwrap().get(key).cloned().unwrap_or_default()
}

/// Where the persisted state lives for this format.
fn state_file(s: &Proc, format: ConfFormat) -> PathBuf {
    match format {
        ConfFormat::RedisConf => s.dir.join("sentinel.conf"),
        ConfFormat::Toml => s.dir.join("sentinel-state.toml"),
    }
}

fn runtime_changes_persist(format: ConfFormat) {
    let mut topo = Topology::start_with(SentinelKind::Ours, format, 0, 1);
    // A second master that requires a password the sentinel does not know yet.
    let mut secured = start_redis(topo.root.path(), "redis-secured", None);
    query(secured.port, &["CONFIG", "SET", "requirepass", "s3cret"]).unwrap();
    let spare = start_redis(topo.root.path(), "redis-spare", None);
    let port = topo.sentinels[0].port;
    let sp = secured.port.to_string();
    let events = EventLog::start(port);

    // MONITOR: validation order and texts (§11.4), then success.
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "x", HOST, "1", "abc"]), "-ERR Invalid quorum");
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "x", HOST, "abc", "1"]), "-ERR Invalid port");
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "x", HOST, "1", "0"]), "-ERR Quorum must be 1 or greater.");
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", MASTER_NAME, HOST, &sp, "1"]), "-ERR Duplicate master name.");
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "x", HOST, "70000", "1"]), "-ERR Invalid port number.");
    assert_eq!(
        raw(port, &["SENTINEL", "MONITOR", "x", "no-such-host.invalid", "1", "1"]),
        "-ERR Invalid IP address or hostname specified"
    );
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "secured", HOST, &sp, "1"]), "+OK");
    assert_eq!(raw(port, &["SENTINEL", "MONITOR", "spare", HOST, &spare.port.to_string(), "1"]), "+OK");
    events.wait_event(T_START, "+monitor", |p| p.contains("secured"));
    step("MONITOR: errors and success");

    // SET: errors (§15.5), then one option of every kind.
    let set = |args: &[&str]| raw(port, &[&["SENTINEL", "SET"], args].concat());
    assert_eq!(set(&[MASTER_NAME, "quorum", "-20"]), "-ERR Invalid argument '-20' for SENTINEL SET 'quorum'");
    assert_eq!(
        set(&[MASTER_NAME, "down-after-milliseconds", "abc"]),
        "-ERR Invalid argument 'abc' for SENTINEL SET 'down-after-milliseconds'"
    );
    assert_eq!(
        set(&[MASTER_NAME, "bogus", "1"]),
        "-ERR Unknown option or number of arguments for SENTINEL SET 'bogus'"
    );
    assert_eq!(
        set(&[MASTER_NAME, "notification-script", "/bin/true"]),
        "-ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration"
    );
    assert_eq!(set(&["nope", "quorum", "1"]), "-ERR No such master with that name");
    assert_eq!(
        set(&[MASTER_NAME, "master-reboot-down-after-period", "-1"]),
        "-ERR Invalid argument '-1' for SENTINEL SET 'master-reboot-down-after-period'"
    );
    let ok = set(&[
        MASTER_NAME,
        "down-after-milliseconds",
        "2500",
        "failover-timeout",
        "25000",
        "parallel-syncs",
        "3",
        "quorum",
        "1",
        "master-reboot-down-after-period",
        "7000",
        "rename-command",
        "CONFIG",
        "CONFIG",
    ]);
    assert_eq!(ok, "+OK");
    assert_eq!(field(port, MASTER_NAME, "down-after-milliseconds"), "2500");
    step("SET: error texts, every numeric option applied");

    // auth-pass at runtime: the secured master is down (NOAUTH) until the password is
    // set, then the links reconnect with AUTH and it comes back.
    assert_eq!(set(&["secured", "down-after-milliseconds", "1000"]), "+OK");
    events.wait_event(T_FAILOVER, "+sdown", |p| p.contains("secured"));
    assert_eq!(set(&["secured", "auth-pass", "s3cret"]), "+OK");
    events.wait_event(T_FAILOVER, "-sdown", |p| p.contains("secured"));
    step("auth-pass set at runtime: links reconnect with AUTH, -sdown");

    // CONFIG SET / GET (§15.6).
    let cfg = |args: &[&str]| raw(port, &[&["SENTINEL", "CONFIG"], args].concat());
    assert_eq!(cfg(&["SET", "bogus", "1"]), "-ERR Invalid argument 'bogus' to SENTINEL CONFIG SET");
    assert_eq!(cfg(&["SET", "announce-port", "x"]), "-ERR Invalid value 'x' to SENTINEL CONFIG SET 'announce-port'");
    assert_eq!(
        cfg(&["SET", "resolve-hostnames", "yes", "resolve-hostnames", "no"]),
        "-ERR Duplicate argument 'resolve-hostnames' to SENTINEL CONFIG SET"
    );
    assert_eq!(cfg(&["SET", "resolve-hostnames", "yes", "announce-ip", HOST]), "+OK");

    // REMOVE and RESET.
    assert_eq!(raw(port, &["SENTINEL", "REMOVE", "spare"]), "+OK");
    assert_eq!(raw(port, &["SENTINEL", "REMOVE", "spare"]), "-ERR No such master with that name");
    assert_eq!(raw(port, &["SENTINEL", "RESET", "sec*"]), ":1");
    assert_eq!(raw(port, &["SENTINEL", "FLUSHCONFIG"]), "+OK");
    step("CONFIG SET, REMOVE, RESET, FLUSHCONFIG");

    let myid = sentinel_myid(port).unwrap();
    let s = &mut topo.sentinels[0];
    let persisted = fs::read_to_string(state_file(s, format)).unwrap();
    assert!(persisted.contains("s3cret"), "runtime auth-pass persisted:\n{persisted}");
    s.restart();
    step("sentinel SIGKILLed and restarted");

    assert_eq!(sentinel_myid(port).unwrap(), myid);
    let names: Vec<String> = sentinel_masters(port).unwrap().iter().map(|m| m["name"].clone()).collect();
    assert_eq!(names, vec![MASTER_NAME.to_string(), "secured".to_string()], "spare stays removed");
    for (key, want) in
        [("down-after-milliseconds", "2500"), ("failover-timeout", "25000"), ("parallel-syncs", "3"), ("quorum", "1")]
    {
        assert_eq!(field(port, MASTER_NAME, key), want, "{key} after restart");
    }
    assert_eq!(field(port, "secured", "port"), sp);
    let get = query(port, &["SENTINEL", "CONFIG", "GET", "*"]).unwrap();
    let get = value_map(&get).unwrap();
    assert_eq!(get["resolve-hostnames"], "yes");
    assert_eq!(get["announce-ip"], HOST);
    // The password survived: the secured master is reachable (no s_down) past down-after.
    std::thread::sleep(Duration::from_millis(2500));
    wait_until(T_FAILOVER, "secured master up with the persisted password", || {
        let flags = field(port, "secured", "flags");
        let reply = field(port, "secured", "last-ok-ping-reply");
        if flags == "master" && reply.parse::<u64>().is_ok_and(|ms| ms < 1000) {
            Ok(())
        } else {
            Err(format!("flags={flags} last-ok-ping-reply={reply}"))
        }
    });
    step("every change visible after the restart");
    secured.kill9();
}

#[test]
fn ours_runtime_changes_persist_conf() {
    runtime_changes_persist(ConfFormat::RedisConf);
}

#[test]
fn ours_runtime_changes_persist_toml() {
    runtime_changes_persist(ConfFormat::Toml);
}

/// §13: SIGSTOP for longer than `tilt-trigger` → `+tilt`, `sentinel_tilt:1`, no action
/// while in TILT even though the master is down meanwhile, `-tilt` after `tilt-period`.
#[test]
fn ours_tilt_after_sigstop() {
    let mut topo = Topology::start(SentinelKind::Ours, 1, 1);
    let port = topo.sentinels[0].port;
    topo.wait_discovery(1, 0);
    query(port, &["SENTINEL", "SET", MASTER_NAME, "quorum", "1"]).unwrap();
    query(port, &["SENTINEL", "DEBUG", "tilt-period", "4000"]).unwrap();
    let events = EventLog::start(port);
    topo.sentinels[0].stop();
    std::thread::sleep(Duration::from_millis(3000));
    // Kill the master while the sentinel is frozen: on waking, TILT must hold it back.
    topo.master.kill9();
    topo.sentinels[0].cont();
    let tilt = events.wait_event(T_START, "+tilt", |_| true);
    assert_eq!(tilt.payload, "#tilt mode entered");
    let i = info(port, "sentinel").unwrap();
    assert_eq!(info_field(&i, "sentinel_tilt").as_deref(), Some("1"), "{i}");
    let untilt = events.wait_event(T_FAILOVER, "-tilt", |_| true);
    assert_eq!(untilt.payload, "#tilt mode exited");
    let acted: Vec<String> = events
        .events()
        .iter()
        .filter(|e| e.at < untilt.at && ["+sdown", "+odown", "+try-failover"].contains(&e.channel.as_str()))
        .map(|e| e.channel.clone())
        .collect();
    assert!(acted.is_empty(), "no SDOWN/ODOWN/failover while in TILT: {acted:?}");
    let i = info(port, "sentinel").unwrap();
    assert_eq!(info_field(&i, "sentinel_tilt").as_deref(), Some("0"), "{i}");
    // After TILT the dead master is acted on normally.
    events.wait_event(T_FAILOVER, "+sdown", |p| p.starts_with("master"));
    events.wait_event(T_FAILOVER, "+switch-master", |_| true);
    step("TILT entered, nothing done in it, exited, then the failover ran");
}
