//! Drop-in differential tests (issue 9): each runs our daemon and Debian's
//! `redis-sentinel` 7.0.15 side by side on the same input and compares what an operator
//! or a client observes.
//!
//! * item 1: a sentinel.conf carrying redis-server directives loads in both; a value Redis
//!   refuses is refused by both (non-zero exit, message naming the line); `maxclients`
//!   and `timeout` act the same; `tls-port` without certificates is an error in both (no
//!   plain-text stand-in; TLS itself is tested in tests/tls.rs).
//! * item 2: SIGHUP does not end either process.
//! * item 3: after the log file is moved away, both create a new one on the next line.
//! * item 7: `COMMAND COUNT/LIST/INFO/DOCS` answer the same; `redis_build_id` is hex.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KINDS: [SentinelKind; 2] = [SentinelKind::Ours, SentinelKind::Redis];

fn program(kind: SentinelKind) -> PathBuf {
    match kind {
        SentinelKind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_sentinel")),
        SentinelKind::Redis => require_program("redis-sentinel"),
    }
}

/// Lines many generated configs carry (redis.conf copied into sentinel.conf).
const SERVER_LINES: &str = "repl-diskless-sync-delay 0\nsave \"\"\nsave 900 1 300 10\nappendonly no\n\
    client-output-buffer-limit normal 0 0 0\nmaxmemory 100mb\nmaxmemory-policy noeviction\n\
    hz 10\ntcp-keepalive 60\ntcp-backlog 128\nunixsocketperm 700\nsupervised no\n\
    syslog-enabled no\nsyslog-ident sentinel\nlatency-tracking-info-percentiles 50 99 99.9\n\
    shutdown-on-sigterm default\nslave-priority 100\n\
    repl-diskless-load disabled\ntimeout 0\nmaxclients 1000\nloglevel notice\n";

/// One sentinel of `kind` watching a fresh master, with `extra` lines in its config.
struct One {
    _master: Proc,
    sentinel: Proc,
    _root: tempfile::TempDir,
}

fn start_one(kind: SentinelKind, extra: &str) -> One {
    let root = tempfile::Builder::new().prefix("sentinel-dropin-").tempdir().expect("temp dir");
    let master = start_redis(root.path(), "redis-a", None);
    let m = MasterConf::new(master.port);
    let extra = extra.to_string();
    let sentinel = start_sentinel_with(root.path(), "sentinel", kind, ConfFormat::RedisConf, &m, move |c| c + &extra);
    One { _master: master, sentinel, _root: root }
}

/// Runs a sentinel of `kind` on `conf_text` expecting it to refuse to start: returns its
/// exit status and everything it printed (stdout, stderr).
fn refused(kind: SentinelKind, conf_text: &str) -> (Option<i32>, String) {
    let dir = tempfile::Builder::new().prefix("sentinel-dropin-").tempdir().expect("temp dir");
    let conf = dir.path().join("sentinel.conf");
    let port = free_port();
    std::fs::write(&conf, format!("port {port}\nbind {HOST}\nsentinel monitor m {HOST} 6379 1\n{conf_text}")).unwrap();
    let mut cmd = Command::new(program(kind));
    cmd.arg(&conf).current_dir(dir.path()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().expect("spawn sentinel");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > T_START {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{kind:?} started with {conf_text:?} instead of refusing it");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    (status.code(), out)
}

fn ping(port: u16) -> Result<String, String> {
    query(port, &["PING"]).map(|v| value_str(&v).unwrap_or_default())
}

#[test]
fn server_directives_load_in_both() {
    for kind in KINDS {
        let one = start_one(kind, SERVER_LINES);
        let port = one.sentinel.port;
        assert_eq!(ping(port).unwrap(), "PONG", "{kind:?}");
        let m = sentinel_master(port, MASTER_NAME).unwrap();
        assert_eq!(m["port"], one._master.port.to_string(), "{kind:?}");
        if kind == SentinelKind::Ours {
            // One warning listing what a sentinel ignores, and not the honoured ones.
            let log = read_to_string(&one.sentinel.dir.join("sentinel.log"));
            let warn: Vec<&str> = log.lines().filter(|l| l.contains("mean nothing to a sentinel")).collect();
            assert_eq!(warn.len(), 1, "{log}");
            assert!(warn[0].contains("repl-diskless-sync-delay (line 10)"), "{}", warn[0]);
            assert!(!warn[0].contains("maxclients") && !warn[0].contains("tcp-keepalive"), "{}", warn[0]);
        }
    }
}

#[test]
fn values_redis_refuses_are_refused_by_both() {
    for (line, msg) in [
        ("maxclients abc", "argument couldn't be parsed into an integer"),
        ("repl-diskless-sync-delay -1", "argument must be between 0 and 2147483647 inclusive"),
        ("repl-diskless-load sometimes", "argument(s) must be one of the following: disabled, on-empty-db, swapdb"),
        ("appendonly perhaps", "argument must be 'yes' or 'no'"),
        ("hz 10 20", "wrong number of arguments"),
        ("rename-command FLUSHALL \"\"", "No such command in rename-command"),
        ("repl-diskless-sync-dely 0", "Bad directive or wrong number of arguments"),
    ] {
        for kind in KINDS {
            let (code, out) = refused(kind, &format!("{line}\n"));
            assert_ne!(code, Some(0), "{kind:?} {line}: {out}");
            assert!(out.contains(msg), "{kind:?} {line}: want {msg:?} in {out}");
            assert!(out.contains(line), "{kind:?} names the line: {out}");
        }
    }
}

#[test]
fn tls_is_never_silently_plain_text() {
    for kind in KINDS {
        // Both fail for lack of certificates.
        let (code, out) = refused(kind, "tls-port 26999\n");
        assert_ne!(code, Some(0), "{kind:?}: {out}");
    }
    let (code, out) = refused(SentinelKind::Ours, "tls-replication yes\n");
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("tls-ca-cert-file"), "{out}");
}

/// One client registry per process, as in Redis: with two bind addresses, `CLIENT LIST`
/// through one shows the clients of the other, `CLIENT KILL` through one closes a client
/// of the other, and `CLIENT PAUSE` through one holds a client of the other.
#[test]
fn clients_of_every_bind_address_are_one_registry() {
    fn send(s: &mut TcpStream, cmd: &str) -> String {
        s.write_all(cmd.as_bytes()).unwrap();
        let mut buf = [0u8; 8192];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    for kind in KINDS {
        let one = start_one(kind, "bind 127.0.0.1 127.0.0.2\n");
        let port = one.sentinel.port;
        let mut second = TcpStream::connect(("127.0.0.2", port)).unwrap();
        second.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(send(&mut second, "CLIENT SETNAME on-second\r\n"), "+OK\r\n", "{kind:?}");
        let mut first = TcpStream::connect((HOST, port)).unwrap();
        first.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let list = send(&mut first, "CLIENT LIST\r\n");
        assert!(list.contains("name=on-second"), "{kind:?}: CLIENT LIST through {HOST}: {list}");

        // A pause through the first address holds the second's next command.
        assert_eq!(send(&mut first, "CLIENT PAUSE 800 ALL\r\n"), "+OK\r\n", "{kind:?}");
        let t = Instant::now();
        assert_eq!(send(&mut second, "PING\r\n"), "+PONG\r\n", "{kind:?}");
        assert!(t.elapsed() >= Duration::from_millis(500), "{kind:?}: the pause did not hold 127.0.0.2's client");

        let addr = second.local_addr().unwrap();
        let killed = send(&mut first, &format!("CLIENT KILL ADDR {addr}\r\n"));
        assert_eq!(killed, ":1\r\n", "{kind:?}: CLIENT KILL ADDR {addr} through {HOST}");
        let mut buf = [0u8; 16];
        assert_eq!(second.read(&mut buf).unwrap_or(0), 0, "{kind:?}: the killed client is closed");
    }
}

/// `aclfile` as Redis Sentinel uses it: the users come from the file (not `requirepass`
/// or sentinel.conf), `ACL SAVE` writes them back, `ACL LOAD` replaces them all or nothing
/// and disconnects every client, and a bad line is named by file and line. Both
/// implementations, replies and files compared byte for byte.
#[test]
fn aclfile_like_redis_sentinel() {
    fn send(s: &mut TcpStream, cmd: &str) -> String {
        s.write_all(cmd.as_bytes()).unwrap();
        let mut buf = [0u8; 8192];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    let files = tempfile::Builder::new().prefix("sentinel-aclfile-").tempdir().unwrap();
    let good = "user default on >pw ~* &* +@all\n\n  user ops on >opspw ~* &* +@all  \n";
    let mut seen: Vec<Vec<String>> = Vec::new();
    for kind in KINDS {
        let path = files.path().join(format!("{kind:?}.acl"));
        std::fs::write(&path, good).unwrap();
        let shown = path.display().to_string();
        let one = start_one(kind, &format!("requirepass ignored-with-an-aclfile\naclfile {shown}\n"));
        let port = one.sentinel.port;
        let connect = || {
            let s = TcpStream::connect((HOST, port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s
        };
        let mut a = connect();
        let mut out = vec![send(&mut a, "PING\r\n"), send(&mut a, "AUTH ignored-with-an-aclfile\r\n")];
        out.push(send(&mut a, "AUTH ops opspw\r\n"));
        out.push(send(&mut a, "ACL LIST\r\n"));
        out.push(send(&mut a, "ACL SETUSER zed on >z +ping\r\n"));
        out.push(send(&mut a, "ACL SAVE\r\n"));
        out.push(std::fs::read_to_string(&path).unwrap());
        // Users live in the aclfile, never in sentinel.conf.
        out.push(send(&mut a, "SENTINEL FLUSHCONFIG\r\n"));
        let conf = std::fs::read_to_string(one.sentinel.dir.join("sentinel.conf")).unwrap();
        assert!(!conf.lines().any(|l| l.starts_with("user ")), "{kind:?}: user lines in sentinel.conf:\n{conf}");
        // A bad file changes nothing.
        std::fs::write(&path, format!("{good}bogus line\nuser x on +nosuch\n")).unwrap();
        out.push(send(&mut a, "ACL LOAD\r\n").replace(&shown, "<aclfile>"));
        out.push(send(&mut a, "ACL USERS\r\n"));
        // A good one replaces the users (zed is gone) and disconnects every client.
        std::fs::write(&path, good).unwrap();
        let mut b = connect();
        out.push(send(&mut b, "AUTH zed z\r\n"));
        out.push(send(&mut a, "ACL LOAD\r\n"));
        out.push(send(&mut a, "PING\r\n"));
        out.push(send(&mut b, "PING\r\n"));
        let mut c = connect();
        out.push(send(&mut c, "AUTH zed z\r\n"));
        seen.push(out);
    }
    for (i, (ours, theirs)) in seen[0].iter().zip(&seen[1]).enumerate() {
        assert_eq!(ours, theirs, "step {i}: ours vs redis-sentinel");
    }
    let s = &seen[0];
    assert!(s[0].starts_with("-NOAUTH"), "{s:?}");
    assert!(s[6].contains("user zed on #"), "ACL SAVE wrote the users: {}", s[6]);
    assert!(s[8].contains("<aclfile>:4 should start with user keyword"), "{}", s[8]);
    assert_eq!(s[10], "+OK\r\n", "zed authenticates before the reload");
    assert_eq!(s[11], "+OK\r\n", "ACL LOAD");
    assert_eq!((s[12].as_str(), s[13].as_str()), ("", ""), "every client disconnected by ACL LOAD");
    assert!(s[14].starts_with("-WRONGPASS"), "zed is gone: {}", s[14]);

    // What refuses to start, in both.
    let acl = files.path().join("Ours.acl").display().to_string();
    for (conf, msg) in [
        (
            "aclfile /nonexistent/users.acl\n".to_string(),
            "Error loading ACLs, opening file '/nonexistent/users.acl': No such file or directory",
        ),
        (
            format!("aclfile {acl}\nuser bob on >b +@all\n"),
            "users defined in redis.conf and at the same setting an ACL file path is invalid",
        ),
    ] {
        for kind in KINDS {
            let (code, out) = refused(kind, &conf);
            assert_ne!(code, Some(0), "{kind:?} {conf}: {out}");
            assert!(out.contains(msg), "{kind:?} {conf}: want {msg:?} in {out}");
        }
    }
}

/// Opens a raw connection and sends PING; returns the first reply line.
fn raw_ping(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(b"PING\r\n");
    let mut buf = [0u8; 128];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
}

#[test]
fn maxclients_and_timeout_act_like_redis() {
    for kind in KINDS {
        let one = start_one(kind, "maxclients 3\ntimeout 1\n");
        let port = one.sentinel.port;
        let clients = info(port, "clients").unwrap();
        assert_eq!(info_field(&clients, "maxclients").as_deref(), Some("3"), "{kind:?}");
        // Idle clients are closed after `timeout` seconds: wait for the EOF.
        let mut idle = TcpStream::connect((HOST, port)).unwrap();
        assert_eq!(raw_ping(&mut idle), "+PONG", "{kind:?}");
        idle.set_read_timeout(Some(T_START)).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(idle.read(&mut buf).unwrap_or(0), 0, "{kind:?}: idle client not closed");
        // With three clients connected, the fourth is refused with Redis's error.
        let mut held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect((HOST, port)).unwrap()).collect();
        for s in &mut held {
            assert_eq!(raw_ping(s), "+PONG", "{kind:?}");
        }
        let mut extra = TcpStream::connect((HOST, port)).unwrap();
        assert_eq!(raw_ping(&mut extra), "-ERR max number of clients reached", "{kind:?}");
    }
}

#[test]
fn sighup_does_not_end_the_sentinel() {
    for kind in KINDS {
        let mut one = start_one(kind, "");
        one.sentinel.signal(1);
        // A PING answered after the signal was sent: its default action would have
        // ended the process before it could answer.
        wait_until(T_START, "PONG after SIGHUP", || ping(one.sentinel.port));
        assert!(one.sentinel.is_running(), "{kind:?} ended on SIGHUP");
        assert_eq!(ping(one.sentinel.port).unwrap(), "PONG");
    }
}

/// logrotate without copytruncate: the file is renamed; the next line must create a new
/// file at the configured path.
#[test]
fn a_rotated_log_file_is_recreated() {
    for kind in KINDS {
        let mut one = start_one(kind, "loglevel notice\n");
        let log = one.sentinel.dir.join("sentinel.log");
        wait_until(T_START, "first log lines", || if log_len(&log) > 0 { Ok(()) } else { Err("empty".into()) });
        std::fs::rename(&log, one.sentinel.dir.join("sentinel.log.1")).unwrap();
        if kind == SentinelKind::Ours {
            // SIGHUP is what logrotate's postrotate sends; it must not hurt either.
            one.sentinel.signal(1);
        }
        // `SENTINEL SET` logs a `+set` event line in both.
        let mut n = 1000;
        wait_until(T_START, "a new log file with the +set line", || {
            n += 1;
            let _ =
                query(one.sentinel.port, &["SENTINEL", "SET", MASTER_NAME, "down-after-milliseconds", &n.to_string()]);
            let text = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
            if text.contains("+set") {
                Ok(())
            } else {
                Err(text)
            }
        });
        assert!(one.sentinel.is_running(), "{kind:?}");
        let old = read_to_string(&one.sentinel.dir.join("sentinel.log.1"));
        assert!(!old.is_empty(), "{kind:?}: the rotated file keeps its lines");
    }
}

fn log_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Item 7: COMMAND introspection
// ---------------------------------------------------------------------------------------

/// A RESP3 reply as canonical text: maps sorted by key, and lists of entries (arrays of
/// arrays: COMMAND INFO's commands and subcommands) sorted, since Redis emits those in
/// hash-table order, which changes from process to process.
fn canon(v: &redis::Value) -> String {
    use redis::Value as V;
    match v {
        V::Array(items) | V::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(canon).collect();
            // COMMAND LIST: plain names, also in hash-table order.
            if items.iter().all(|i| matches!(i, V::Array(_))) || items.iter().all(|i| matches!(i, V::BulkString(_))) {
                parts.sort();
            }
            format!("[{}]", parts.join(","))
        }
        V::Map(pairs) => {
            let sorted: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (canon(k), canon(v))).collect();
            format!("{{{}}}", sorted.into_iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","))
        }
        V::Nil => "nil".into(),
        other => value_str(other).unwrap_or_else(|| format!("{other:?}")),
    }
}

fn query3(port: u16, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(format!("redis://{HOST}:{port}/?protocol=resp3")).unwrap();
    let mut con = client.get_connection_with_timeout(Duration::from_secs(5)).unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn command_introspection_matches_redis_sentinel() {
    let ours = start_one(SentinelKind::Ours, "");
    let redis = start_one(SentinelKind::Redis, "");
    let questions: &[&[&str]] = &[
        &["COMMAND", "COUNT"],
        &["COMMAND", "LIST"],
        &["COMMAND"],
        &["COMMAND", "INFO", "client", "sentinel", "ping", "command"],
        &["COMMAND", "DOCS"],
        &["COMMAND", "DOCS", "client", "sentinel"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "fast"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "c*"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "sentinel|*"],
    ];
    for q in questions {
        let (a, b) = (query3(ours.sentinel.port, q), query3(redis.sentinel.port, q));
        let (a, b) = (canon(&a), canon(&b));
        if a != b {
            let i = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
            let s = i.saturating_sub(200);
            panic!(
                "{q:?} differs at byte {i}:\n ours:  …{}\n redis: …{}",
                &a[s..(i + 200).min(a.len())],
                &b[s..(i + 200).min(b.len())]
            );
        }
    }
    // COMMAND LIST must sort the same, element for element (a list, compared as a set).
    let count = |p| value_str(&query3(p, &["COMMAND", "COUNT"])).unwrap();
    assert_eq!(count(ours.sentinel.port), count(redis.sentinel.port));
}

#[test]
fn redis_build_id_is_hex_in_both() {
    for kind in KINDS {
        let one = start_one(kind, "");
        let info = info(one.sentinel.port, "server").unwrap();
        let id = info_field(&info, "redis_build_id").unwrap();
        assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()), "{kind:?}: {id}");
        assert!(id.parse::<i64>().is_err(), "{kind:?}: {id} would be parsed as a number by redis-py");
    }
}

/// Kills the daemonized process named by a pidfile when dropped (it escaped the
/// harness's parent-death signal by forking).
struct PidGuard(PathBuf);

impl Drop for PidGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0).map(|t| t.trim().to_string()) {
            let _ = Command::new("kill").arg("-9").arg(&pid).status();
        }
    }
}

#[test]
fn daemonize_yes_detaches_in_both() {
    for kind in KINDS {
        let dir = tempfile::Builder::new().prefix("sentinel-dropin-").tempdir().expect("temp dir");
        let master = start_redis(dir.path(), "redis-a", None);
        let port = free_port();
        let pidfile = dir.path().join("sentinel.pid");
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind {HOST}\ndir {d}\nlogfile sentinel.log\ndaemonize yes\npidfile {pid}\n\
                 sentinel monitor {MASTER_NAME} {HOST} {mp} 1\n",
                d = dir.path().display(),
                pid = pidfile.display(),
                mp = master.port
            ),
        )
        .unwrap();
        let _guard = PidGuard(pidfile.clone());
        let mut cmd = Command::new(program(kind));
        cmd.arg(&conf).current_dir(dir.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        // The command returns once the daemon has forked: exit 0 from the parent.
        let status = cmd.status().expect("run sentinel");
        assert!(status.success(), "{kind:?}: {status}");
        wait_until(T_START, "the daemon to answer PING", || ping(port));
        let pid: u32 = wait_until(T_START, "the pidfile", || {
            std::fs::read_to_string(&pidfile).map_err(|e| e.to_string())?.trim().parse().map_err(|e| format!("{e}"))
        });
        let info = info(port, "server").unwrap();
        assert_eq!(info_field(&info, "process_id"), Some(pid.to_string()), "{kind:?}");
        drop(master);
    }
}

// ---------------------------------------------------------------------------------------
// Item 4: a master whose password the sentinel lacks or has wrong
// ---------------------------------------------------------------------------------------

/// `extra` in the sentinel's config; the master requires `secret`. Both must end with
/// Redis's flags, `s_down,o_down,master,disconnected` (-NOAUTH / -WRONGPASS is no PONG, and
/// the links are dropped), and ours says why in its log.
fn auth_refused(extra: &str, then_fix: bool) {
    for kind in KINDS {
        let root = tempfile::Builder::new().prefix("sentinel-dropin-").tempdir().expect("temp dir");
        let master = start_redis_with(root.path(), "redis-a", None, "requirepass secret\n");
        let mut m = MasterConf::new(master.port);
        m.quorum = 1;
        let extra = extra.to_string();
        let s = start_sentinel_with(root.path(), "sentinel", kind, ConfFormat::RedisConf, &m, move |c| c + &extra);
        let port = s.port;
        wait_until(T_DISCOVERY, &format!("{kind:?}: Redis's flags for a refused password"), || {
            let flags = sentinel_master(port, MASTER_NAME)?["flags"].clone();
            if flags == "s_down,o_down,master,disconnected" {
                Ok(())
            } else {
                Err(flags)
            }
        });
        if kind == SentinelKind::Ours {
            let log = read_to_string(&s.dir.join("sentinel.log"));
            let said: Vec<&str> = log.lines().filter(|l| l.contains("+auth-failed")).collect();
            assert_eq!(said.len(), 1, "one +auth-failed line per change:\n{log}");
            assert!(said[0].contains("authentication failed"), "{}", said[0]);
        }
        if then_fix {
            // `SENTINEL SET auth-pass` with the right value: both recover.
            let set = query(port, &["SENTINEL", "SET", MASTER_NAME, "auth-pass", "secret"]).unwrap();
            assert_eq!(value_str(&set).as_deref(), Some("OK"), "{kind:?}");
            wait_until(T_DISCOVERY, &format!("{kind:?}: flags back to master"), || {
                let flags = sentinel_master(port, MASTER_NAME)?["flags"].clone();
                if flags == "master" {
                    Ok(())
                } else {
                    Err(flags)
                }
            });
            if kind == SentinelKind::Ours {
                wait_until(T_START, "-auth-failed in the log", || {
                    let log = read_to_string(&s.dir.join("sentinel.log"));
                    if log.contains("-auth-failed") {
                        Ok(())
                    } else {
                        Err(log)
                    }
                });
            }
        }
    }
}

#[test]
fn missing_auth_pass_shows_disconnected_like_redis() {
    auth_refused("", false);
}

#[test]
fn wrong_auth_pass_shows_disconnected_like_redis() {
    auth_refused(&format!("sentinel auth-pass {MASTER_NAME} not-the-password\n"), true);
}

// ---------------------------------------------------------------------------------------
// Item 5: SENTINEL FAILOVER right after start-up
// ---------------------------------------------------------------------------------------

/// As soon as `SENTINEL REPLICAS` shows every replica connected (flags exactly `slave`),
/// a manual failover is accepted: Redis sends INFO in the same timer call that opens a
/// link, ours as soon as the link is up, so the replica is eligible by then in both.
#[test]
fn failover_is_accepted_as_soon_as_the_replicas_are_connected() {
    for kind in KINDS {
        let topo = Topology::start(kind, 2, 1);
        let port = topo.sentinels[0].port;
        wait_until(T_DISCOVERY, &format!("{kind:?}: two connected replicas"), || {
            let rs = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
            let flags: Vec<String> = rs.iter().map(|r| r["flags"].clone()).collect();
            if flags.len() == 2 && flags.iter().all(|f| f == "slave") {
                Ok(())
            } else {
                Err(format!("{flags:?}"))
            }
        });
        let reply = query(port, &["SENTINEL", "FAILOVER", MASTER_NAME]);
        let ok = matches!(&reply, Ok(redis::Value::Okay))
            || reply.as_ref().ok().and_then(value_str).as_deref() == Some("OK");
        assert!(ok, "{kind:?}: SENTINEL FAILOVER right after discovery: {reply:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Item 6: resolve-hostnames yes, announce-hostnames no → resolved addresses reported
// ---------------------------------------------------------------------------------------

#[test]
fn hostnames_are_reported_resolved_unless_announced() {
    for announce in ["no", "yes"] {
        for kind in KINDS {
            let root = tempfile::Builder::new().prefix("sentinel-dropin-").tempdir().expect("temp dir");
            let master = start_redis(root.path(), "redis-a", None);
            let m = MasterConf::new(master.port);
            let s = start_sentinel_with(root.path(), "sentinel", kind, ConfFormat::RedisConf, &m, |c| {
                // The hostname form of the monitor line, after the two global options.
                let c =
                    c.replace(&format!("monitor {MASTER_NAME} {HOST} "), &format!("monitor {MASTER_NAME} localhost "));
                format!("sentinel resolve-hostnames yes\nsentinel announce-hostnames {announce}\n{c}")
            });
            let want = if announce == "no" { HOST } else { "localhost" };
            wait_until(T_DISCOVERY, &format!("{kind:?} announce-hostnames {announce}: master ip {want}"), || {
                let mm = sentinel_master(s.port, MASTER_NAME)?;
                let addr = master_addr(s.port, MASTER_NAME)?;
                let seen = (mm["ip"].clone(), addr.map(|a| a.0));
                if seen == (want.to_string(), Some(want.to_string())) && !mm["flags"].contains("disconnected") {
                    Ok(())
                } else {
                    Err(format!("{seen:?} {}", mm["flags"]))
                }
            });
        }
    }
}

/// `include` (Redis reads the file in place): both load a shared file with server lines
/// and a per-master option, and show the option.
#[test]
fn include_is_read_in_place_by_both() {
    for kind in KINDS {
        let shared = tempfile::Builder::new().prefix("sentinel-dropin-inc-").tempdir().expect("temp dir");
        let inc = shared.path().join("common.conf");
        std::fs::write(
            &inc,
            format!("repl-diskless-sync-delay 0\nsentinel down-after-milliseconds {MASTER_NAME} 2345\n"),
        )
        .unwrap();
        let one = start_one(kind, &format!("include {}\n", inc.display()));
        let m = sentinel_master(one.sentinel.port, MASTER_NAME).unwrap();
        assert_eq!(m["down-after-milliseconds"], "2345", "{kind:?}");
    }
}

/// `unixsocket` / `unixsocketperm`: both serve clients on the socket, with its mode.
#[test]
fn unixsocket_is_served_by_both() {
    use std::os::unix::fs::PermissionsExt;
    for kind in KINDS {
        let sockdir = tempfile::Builder::new().prefix("sentinel-dropin-sock-").tempdir().expect("temp dir");
        let sock = sockdir.path().join("sentinel.sock");
        let one = start_one(kind, &format!("unixsocket {}\nunixsocketperm 700\n", sock.display()));
        let mut s = wait_until(T_START, "the unix socket", || {
            std::os::unix::net::UnixStream::connect(&sock).map_err(|e| e.to_string())
        });
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nGET-MASTER-ADDR-BY-NAME\r\n$8\r\nmymaster\r\n").unwrap();
        let mut buf = [0u8; 128];
        let n = s.read(&mut buf).unwrap();
        let want = format!("*2\r\n$9\r\n{HOST}\r\n${}\r\n{}\r\n", one._master.port.to_string().len(), one._master.port);
        assert_eq!(String::from_utf8_lossy(&buf[..n]), want, "{kind:?}");
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{kind:?}");
    }
}
