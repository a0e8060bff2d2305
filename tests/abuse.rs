//! Hostile clients against our sentinel (real `redis-server` master + our daemon), issue
//! 13 item 2, and the secrets of item 4. In every abuse scenario, while the abuse is
//! going on or right after it, another client must still get PING answered (within a
//! generous 2 s, polled), `SENTINEL GET-MASTER-ADDR-BY-NAME` must still be right, and
//! the sentinel's VmRSS must stay under a stated bound (printed):
//!
//! * 10,000 idle connections (RLIMIT_NOFILE raised to the hard limit, which must allow
//!   10,000 + a margin; `maxclients` enforced with Redis's error one beyond the limit);
//! * slowloris clients (a byte every 50 ms);
//! * a bulk header beyond `proto-max-bulk-len` and a multibulk count beyond Redis's
//!   limit: the same error bytes as `redis-server` itself, then the connection closed;
//! * a million-element request, sent whole (consumed argument by argument) and as a
//!   bare header;
//! * a subscriber that never reads while big events are published: closed at its
//!   `client-output-buffer-limit pubsub`;
//! * all of it at once on one of three sentinels while its master is killed: its peers
//!   never flag it down and the failover completes on all three.
//!
//! Secrets: passwords never in the log (debug level), `SENTINEL MASTER`, or events; the
//! state file is 0600; a rewritten sentinel.conf keeps its mode.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[repr(C)]
struct RLimit {
    cur: u64,
    max: u64,
}

extern "C" {
    fn getrlimit(resource: i32, rlim: *mut RLimit) -> i32;
    fn setrlimit(resource: i32, rlim: *const RLimit) -> i32;
}

const RLIMIT_NOFILE: i32 = 7;

/// Raises this process's (and so its children's) open-file limit to the hard limit and
/// returns it.
fn raise_nofile() -> u64 {
    let mut r = RLimit { cur: 0, max: 0 };
    // SAFETY: `r` is a valid rlimit for the duration of both calls.
    unsafe {
        assert_eq!(getrlimit(RLIMIT_NOFILE, &mut r), 0, "getrlimit");
        r.cur = r.max;
        assert_eq!(setrlimit(RLIMIT_NOFILE, &r), 0, "setrlimit");
    }
    r.cur
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

struct Setup {
    _root: tempfile::TempDir,
    master: Proc,
    sentinel: Proc,
}

impl Setup {
    fn start(extra: &str) -> Setup {
        raise_nofile();
        let root = tempfile::tempdir().unwrap();
        let master = start_redis(root.path(), "master", None);
        let mut m = MasterConf::new(master.port);
        m.quorum = 1;
        let extra = extra.to_string();
        let sentinel =
            start_sentinel_with(root.path(), "sentinel", SentinelKind::Ours, ConfFormat::RedisConf, &m, |c| {
                format!("{c}{extra}")
            });
        Setup { _root: root, master, sentinel }
    }

    fn pid(&self) -> u32 {
        self.sentinel.pid().expect("sentinel running")
    }

    /// PING answered on a fresh connection within 2 s, the master's address right, and
    /// VmRSS under `max_rss_kib`. Returns the RSS (KiB).
    fn assert_healthy(&self, what: &str, max_rss_kib: u64) -> u64 {
        let port = self.sentinel.port;
        let start = Instant::now();
        wait_until(Duration::from_secs(2), &format!("PING answered during/after {what}"), || {
            raw_exchange(port, b"PING\r\n", Duration::from_millis(1500)).and_then(|r| {
                if r == b"+PONG\r\n" {
                    Ok(())
                } else {
                    Err(format!("{:?}", String::from_utf8_lossy(&r)))
                }
            })
        });
        let ping_ms = start.elapsed().as_millis();
        let addr = master_addr(port, MASTER_NAME).unwrap_or_else(|e| panic!("{what}: get-master-addr-by-name: {e}"));
        assert_eq!(addr, Some((HOST.to_string(), self.master.port)), "{what}: master address");
        let rss = rss_kib(self.pid());
        println!("{what}: PING answered in {ping_ms} ms, VmRSS {:.1} MiB", rss as f64 / 1024.0);
        assert!(rss <= max_rss_kib, "{what}: VmRSS {rss} KiB above the bound {max_rss_kib} KiB");
        rss
    }
}

/// Sends `bytes` on a new connection and reads one CRLF-terminated line back.
fn raw_exchange(port: u16, bytes: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect((HOST, port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(bytes).map_err(|e| format!("write: {e}"))?;
    read_line(&mut s)
}

fn read_line(s: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        match s.read(&mut b) {
            Ok(0) => return Err(format!("closed after {:?}", String::from_utf8_lossy(&out))),
            Ok(_) => out.push(b[0]),
            Err(e) => return Err(format!("read: {e} after {:?}", String::from_utf8_lossy(&out))),
        }
    }
    Ok(out)
}

/// Reads until end of stream (the server closed), within `timeout`; returns the bytes.
fn read_to_close(s: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => out,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => out,
        Err(e) => panic!("connection not closed by the server: {e}; got {:?}", String::from_utf8_lossy(&out)),
    }
}

const MIB: u64 = 1024;

#[test]
fn ten_thousand_idle_connections_and_maxclients() {
    const N: usize = 10_000;
    let limit = raise_nofile();
    assert!(limit >= N as u64 + 200, "RLIMIT_NOFILE hard limit {limit} cannot hold {N} connections in each process");
    // Room for the idle clients, the health checks and a few more: the 11th extra
    // connection is refused.
    let setup = Setup::start(&format!("maxclients {}\n", N + 10));
    let base = setup.assert_healthy("start", 64 * MIB);
    let port = setup.sentinel.port;
    let mut idle = Vec::with_capacity(N);
    for i in 0..N {
        let s = TcpStream::connect((HOST, port)).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        idle.push(s);
    }
    wait_for(Duration::from_secs(20), "every idle connection accepted", || {
        let info = query(port, &["INFO", "clients"]).map(|v| value_str(&v).unwrap_or_default()).unwrap_or_default();
        let n: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        (n > N, format!("connected_clients:{n}"))
    });
    let rss = setup.assert_healthy("10,000 idle connections", base + 100 * MIB);
    println!(
        "10,000 idle connections: VmRSS {:.1} -> {:.1} MiB ({:.2} KiB per connection)",
        base as f64 / 1024.0,
        rss as f64 / 1024.0,
        (rss.saturating_sub(base)) as f64 / N as f64
    );
    // maxclients: N + 10 in all; the extra ones are served until the limit, then
    // Redis's error and a close.
    let mut extra = Vec::new();
    let refused = loop {
        assert!(extra.len() <= 10, "more than maxclients connections served");
        let mut s = TcpStream::connect((HOST, port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        match read_line(&mut s) {
            Ok(r) if r == b"+PONG\r\n" => extra.push(s),
            Ok(r) => break (r, s),
            Err(e) => panic!("extra connection {}: {e}", extra.len()),
        }
    };
    assert_eq!(refused.0, b"-ERR max number of clients reached\r\n");
    let mut s = refused.1;
    assert!(read_to_close(&mut s, Duration::from_secs(5)).is_empty());
    drop(idle);
    drop(extra);
    setup.assert_healthy("after the idle connections closed", base + 100 * MIB);
}

#[test]
fn slowloris_clients() {
    let setup = Setup::start("");
    let base = setup.assert_healthy("start", 64 * MIB);
    let port = setup.sentinel.port;
    // 200 clients, each sending one byte of a request every 50 ms for ~3 s.
    let request = b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$8\r\nmymaster\r\n";
    let mut slow: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect((HOST, port)).unwrap()).collect();
    let start = Instant::now();
    let mut at = 0;
    while at < 60 && at < request.len() - 1 {
        for s in &mut slow {
            s.write_all(&request[at..at + 1]).unwrap();
        }
        at += 1;
        if at % 10 == 0 {
            setup.assert_healthy("slowloris", base + 32 * MIB);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("slowloris: {at} bytes each over {:.1} s", start.elapsed().as_secs_f64());
    // They are still served once they finish.
    for s in &mut slow {
        s.write_all(&request[at..]).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = [0u8; 4];
        s.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"*2\r\n");
    }
    setup.assert_healthy("after slowloris", base + 32 * MIB);
}

#[test]
fn oversized_headers_get_redis_errors_and_a_close() {
    let setup = Setup::start("");
    let base = setup.assert_healthy("start", 64 * MIB);
    let cases: [&[u8]; 3] = [
        // A 1 GiB + 1 bulk: beyond proto-max-bulk-len (512mb).
        b"*1\r\n$1073741825\r\n",
        // More elements than Redis 7.0 accepts (INT_MAX).
        b"*2147483648\r\n",
        b"*1\r\n$-5\r\n",
    ];
    for bytes in cases {
        let what = String::from_utf8_lossy(bytes).replace("\r\n", " ");
        let ours = {
            let mut s = TcpStream::connect((HOST, setup.sentinel.port)).unwrap();
            s.write_all(bytes).unwrap();
            read_to_close(&mut s, Duration::from_secs(5))
        };
        let redis = {
            let mut s = TcpStream::connect((HOST, setup.master.port)).unwrap();
            s.write_all(bytes).unwrap();
            read_to_close(&mut s, Duration::from_secs(5))
        };
        println!("{what}: {:?}", String::from_utf8_lossy(&ours));
        assert!(ours.starts_with(b"-ERR Protocol error: "), "{what}: {:?}", String::from_utf8_lossy(&ours));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&redis),
            "{what}: same bytes as redis-server"
        );
        setup.assert_healthy(&what, base + 32 * MIB);
    }
}

#[test]
fn million_element_requests() {
    const N: usize = 1_000_000;
    let setup = Setup::start("");
    let base = setup.assert_healthy("start", 64 * MIB);
    let port = setup.sentinel.port;
    // A bare header, then a few elements, then nothing: the sentinel waits, serving others.
    let mut hanging = TcpStream::connect((HOST, port)).unwrap();
    hanging.write_all(format!("*{N}\r\n").as_bytes()).unwrap();
    hanging.write_all(&b"$1\r\na\r\n".repeat(1000)).unwrap();
    setup.assert_healthy("million-element header", base + 32 * MIB);
    // A whole million-element request (7 MB): one unknown-command error, as Redis.
    let mut whole = TcpStream::connect((HOST, port)).unwrap();
    let mut bytes = format!("*{N}\r\n").into_bytes();
    bytes.extend(b"$1\r\na\r\n".repeat(N));
    let start = Instant::now();
    let writer = {
        let mut w = whole.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&bytes).unwrap())
    };
    whole.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let reply = read_line(&mut whole).unwrap();
    writer.join().unwrap();
    println!("million-element request answered in {:.1} s", start.elapsed().as_secs_f64());
    assert!(
        reply.starts_with(b"-ERR unknown command 'a', with args beginning with: 'a' "),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    // The arguments (1M small vectors) are freed; allow for the allocator keeping some.
    setup.assert_healthy("million-element request", base + 160 * MIB);
    drop(hanging);
}

#[test]
fn subscriber_that_never_reads_is_closed_at_its_output_limit() {
    let setup = Setup::start("client-output-buffer-limit pubsub 4mb 2mb 60\n");
    let base = setup.assert_healthy("start", 64 * MIB);
    let port = setup.sentinel.port;
    let mut hog = TcpStream::connect((HOST, port)).unwrap();
    hog.write_all(b"CLIENT SETNAME hog\r\nPSUBSCRIBE *\r\n").unwrap();
    let mut reader = connect(port).unwrap();
    wait_for(Duration::from_secs(5), "the hog subscribed", || {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut reader).unwrap_or_default();
        (list.lines().any(|l| l.contains("name=hog") && l.contains("psub=1")), list)
    });
    // Each SENTINEL SET ... rename-command publishes a +set event naming the new name:
    // 200 KB events, ~40 MB in all, far beyond the hog's limit plus the socket buffers.
    let big = "x".repeat(200 * 1024);
    let mut admin = connect(port).unwrap();
    let start = Instant::now();
    let mut sent = 0;
    let closed = |reader: &mut redis::Connection| {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(reader).unwrap_or_default();
        !list.contains("name=hog")
    };
    while sent < 200 && !closed(&mut reader) {
        let name = format!("{sent}{big}");
        let _: () = redis::cmd("SENTINEL")
            .arg("SET")
            .arg(MASTER_NAME)
            .arg("rename-command")
            .arg("CONFIG")
            .arg(&name)
            .query(&mut admin)
            .unwrap();
        sent += 1;
        if sent % 50 == 0 {
            setup.assert_healthy("subscriber not reading", base + 128 * MIB);
        }
    }
    wait_for(Duration::from_secs(5), "the hog closed by the sentinel", || {
        (closed(&mut reader), format!("{sent} events"))
    });
    println!("non-reading subscriber closed after {sent} events of 200 KB ({:.1} s)", start.elapsed().as_secs_f64());
    let log = std::fs::read_to_string(setup.sentinel.dir.join("sentinel.log")).unwrap();
    assert!(log.contains("client-output-buffer-limit"), "the close is logged");
    setup.assert_healthy("after the subscriber was closed", base + 128 * MIB);
}

#[test]
fn passwords_are_not_logged_nor_shown_and_files_keep_their_modes() {
    const MASTER_PASS: &str = "M4sterSecretPw";
    const NEW_PASS: &str = "N3wMasterSecretPw";
    const CLIENT_PASS: &str = "Cl1entSecretPw";
    raise_nofile();
    let root = tempfile::tempdir().unwrap();
    let master = start_redis_with(root.path(), "master", None, &format!("requirepass {MASTER_PASS}\n"));
    let mut m = MasterConf::new(master.port);
    m.quorum = 1;
    let conf_dir = root.path().join("sentinel");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let sentinel = start_sentinel_with(root.path(), "sentinel", SentinelKind::Ours, ConfFormat::RedisConf, &m, |c| {
        let c =
            format!("{c}loglevel debug\nrequirepass {CLIENT_PASS}\nsentinel auth-pass {MASTER_NAME} {MASTER_PASS}\n");
        // The operator's mode for the file, set before the sentinel rewrites it.
        let path = conf_dir.join("sentinel.conf");
        std::fs::write(&path, &c).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        c
    });
    let port = sentinel.port;
    let url = format!("redis://:{CLIENT_PASS}@{HOST}:{port}/");
    let client = redis::Client::open(url).unwrap();
    let mut con = wait_until(Duration::from_secs(5), "authenticated connection", || {
        client.get_connection_with_timeout(Duration::from_secs(2)).map_err(|e| e.to_string())
    });
    wait_for(Duration::from_secs(10), "the master seen with its password", || {
        let v: redis::Value = redis::cmd("SENTINEL").arg("MASTER").arg(MASTER_NAME).query(&mut con).unwrap();
        let text = format!("{v:?}");
        (text.contains("role-reported") && text.contains("\"master\""), text)
    });
    let mut events = client.get_connection_with_timeout(Duration::from_secs(2)).unwrap();
    events.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut pubsub = events.as_pubsub();
    pubsub.subscribe("+set").unwrap();
    let _: () =
        redis::cmd("SENTINEL").arg("SET").arg(MASTER_NAME).arg("auth-pass").arg(NEW_PASS).query(&mut con).unwrap();
    let msg = pubsub.get_message().unwrap();
    let payload: String = msg.get_payload().unwrap();
    println!("+set event: {payload}");
    assert!(payload.ends_with("auth-pass ******"), "{payload}");
    let shown: redis::Value = redis::cmd("SENTINEL").arg("MASTER").arg(MASTER_NAME).query(&mut con).unwrap();
    let masters: redis::Value = redis::cmd("SENTINEL").arg("MASTERS").query(&mut con).unwrap();
    for v in [&shown, &masters] {
        let text = format!("{v:?}");
        assert!(!text.contains(MASTER_PASS) && !text.contains(NEW_PASS), "a password in a reply: {text}");
        assert!(!text.contains("auth-pass"), "Redis does not show auth-pass: {text}");
    }
    // The rewritten sentinel.conf keeps the operator's mode (and holds the new password).
    let conf = conf_dir.join("sentinel.conf");
    wait_for(Duration::from_secs(5), "sentinel.conf rewritten with the new password", || {
        let text = std::fs::read_to_string(&conf).unwrap_or_default();
        (text.contains(NEW_PASS), text)
    });
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "sentinel.conf mode after the rewrite: {mode:o}");
    drop(pubsub);
    drop(con);
    let log = std::fs::read_to_string(conf_dir.join("sentinel.log")).unwrap();
    assert!(log.lines().count() > 10, "a debug-level log was written");
    for pw in [MASTER_PASS, NEW_PASS, CLIENT_PASS] {
        assert!(!log.contains(pw), "password {pw} in the log");
    }
    drop(sentinel);

    // sentinel.toml: the state file (which may hold passwords) is created 0600.
    let toml_root = tempfile::tempdir().unwrap();
    let toml_sentinel = start_sentinel_with(toml_root.path(), "t", SentinelKind::Ours, ConfFormat::Toml, &m, |c| {
        format!("{c}auth-pass = \"{MASTER_PASS}\"\n")
    });
    let state = toml_sentinel.dir.join("sentinel-state.toml");
    wait_for(Duration::from_secs(5), "state file written", || (state.exists(), format!("{}", state.display())));
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "state file mode: {mode:o}");
    let log = std::fs::read_to_string(toml_sentinel.dir.join("t.log")).unwrap_or_default();
    assert!(!log.contains(MASTER_PASS), "password in the log");
    drop(master);
}

/// Issue 13.2's other conditions: while one of three sentinels is abused (3,000 idle
/// connections, 100 slowloris clients, a subscriber to every event that never reads), its
/// peers keep getting its PONGs (they never flag it `+sdown`; the largest
/// `last-ok-ping-reply` they report is printed), and a failover of the killed master
/// completes on all three, the abused one included.
#[test]
fn failover_completes_while_one_sentinel_is_abused() {
    raise_nofile();
    let mut topo = Topology::start(SentinelKind::Ours, 1, 3);
    topo.wait_discovery(1, 2);
    for p in topo.sentinel_ports() {
        let args = ["SENTINEL", "SET", MASTER_NAME, "down-after-milliseconds", "2000", "failover-timeout", "10000"];
        query(p, &args).unwrap();
    }
    let abused = topo.sentinels[0].port;
    let pid = topo.sentinels[0].pid().expect("sentinel running");
    let base = rss_kib(pid);
    let logs: Vec<EventLog> = topo.sentinel_ports().into_iter().map(EventLog::start).collect();

    step("the abuse: 3,000 idle connections, 100 slowloris clients, a subscriber that never reads");
    let idle: Vec<TcpStream> = (0..3000).map(|_| TcpStream::connect((HOST, abused)).unwrap()).collect();
    let mut hog = TcpStream::connect((HOST, abused)).unwrap();
    hog.write_all(b"PSUBSCRIBE *\r\n").unwrap();
    let mut slow: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect((HOST, abused)).unwrap()).collect();
    let request = b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$8\r\nmymaster\r\n";

    // The peers' view of the abused sentinel, polled while the abuse goes on.
    let abused_id = sentinel_myid(abused).unwrap();
    let peer = topo.sentinels[1].port;
    let worst_reply_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (worst, stop, id) = (worst_reply_ms.clone(), stop.clone(), abused_id.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(list) = sentinel_list(peer, "SENTINELS", MASTER_NAME) {
                    let ms = list
                        .iter()
                        .find(|s| s.get("runid") == Some(&id))
                        .and_then(|s| s.get("last-ok-ping-reply")?.parse().ok());
                    worst.fetch_max(ms.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    step("the master is killed while the abuse goes on");
    kill9(&mut topo.master);
    let killed = Instant::now();
    let replica = topo.replicas[0].port;
    let mut at = 0;
    // Slowloris keeps dripping until every sentinel names the replica.
    wait_until(T_FAILOVER, "every sentinel, the abused one too, to name the replica", || {
        if at < request.len() - 1 {
            for s in &mut slow {
                s.write_all(&request[at..at + 1]).map_err(|e| e.to_string())?;
            }
            at += 1;
        }
        for p in topo.sentinel_ports() {
            match master_addr(p, MASTER_NAME)? {
                Some((_, port)) if port == replica => {}
                other => return Err(format!("sentinel :{p} names {other:?}")),
            }
        }
        Ok(())
    });
    println!("failover under abuse: every sentinel switched {:.1} s after the kill", killed.elapsed().as_secs_f64());
    for log in &logs {
        log.wait_event(Duration::from_secs(10), "+switch-master", |_| true);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.join().unwrap();
    let worst = worst_reply_ms.load(std::sync::atomic::Ordering::Relaxed);
    println!("the peers' largest last-ok-ping-reply for the abused sentinel: {worst} ms (down-after 2000)");
    for log in &logs[1..] {
        // `sentinel <ip>:<port> <ip> <port> @ <master> ...`
        let sdown = log.find("+sdown", |p| p.starts_with("sentinel ") && p.contains(&format!(" {abused} @")));
        assert!(sdown.is_none(), "a peer flagged the abused sentinel: {sdown:?}");
    }
    let rss = rss_kib(pid);
    println!("abused sentinel VmRSS {:.1} -> {:.1} MiB", base as f64 / 1024.0, rss as f64 / 1024.0);
    assert!(rss <= base + 100 * MIB, "VmRSS {rss} KiB, started at {base} KiB");
    drop((idle, hog, slow));
}
