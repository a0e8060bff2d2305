//! Operations (issue 11): the HTTP listener's endpoints and `sentinel-cli check` /
//! `explain` / `--json` against real processes, across a real failover.
//!
//! `cargo test --test ops -- --nocapture` prints progress lines.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// One HTTP/1.1 GET on loopback: (status code, body).
fn http_get(port: u16, path: &str, accept: Option<&str>) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect((HOST, port)).map_err(|e| format!("HTTP :{port} connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{accept}Connection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| format!("HTTP :{port}{path} read: {e}"))?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(|| format!("no header end in {raw:?}"))?;
    let code =
        head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("bad status {head:?}"))?;
    Ok((code, body.to_string()))
}

/// A sentinel of ours with its HTTP port.
struct Node {
    http: u16,
    port: u16,
}

/// 1 master + 2 replicas + 3 of our sentinels, each with the HTTP listener on.
fn topology() -> (Topology, Vec<Node>) {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 0);
    let mut nodes = Vec::new();
    for i in 0..3 {
        let http = free_port();
        let name = format!("sentinel-{i}");
        let p = start_sentinel_with(
            topo.root.path(),
            &name,
            SentinelKind::Ours,
            ConfFormat::RedisConf,
            &topo.master_conf,
            |c| format!("{c}http-port {http}\nhttp-bind {HOST}\n"),
        );
        nodes.push(Node { http, port: p.port });
        topo.sentinels.push(p);
    }
    (topo, nodes)
}

/// The value of a metric line `name{labels} value` (exact series text before the value).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.parse().ok()))
}

fn wait_http(port: u16, path: &str, want: u16, what: &str) -> String {
    wait_until(T_DISCOVERY, what, || match http_get(port, path, None)? {
        (c, body) if c == want => Ok(body),
        (c, body) => Err(format!("{c} {body}")),
    })
}

#[test]
fn ours_http_endpoints_follow_a_failover() {
    let (topo, nodes) = topology();
    topo.wait_discovery(2, 2);
    step("3 sentinels with http-port see 2 replicas and 2 peers");
    let old = format!("{HOST}:{}", topo.master.port);
    for n in &nodes {
        wait_http(n.http, "/health", 200, "/health 200");
        wait_http(n.http, "/ready", 200, "/ready 200 (master reachable, quorum)");
        assert_eq!(http_get(n.http, "/primary/mymaster", None).unwrap(), (200, format!("{old}\n")));
        let (code, body) = http_get(n.http, "/primary/mymaster", Some("application/json")).unwrap();
        assert_eq!(code, 200);
        assert!(body.contains(&format!("\"port\":{}", topo.master.port)), "{body}");
        assert_eq!(http_get(n.http, "/primary/nope", None).unwrap().0, 404);
        let body = wait_http(n.http, "/replicas/mymaster", 200, "/replicas 200");
        for r in &topo.replicas {
            assert!(body.contains(&format!("\"port\":{}", r.port)), "replica {} missing: {body}", r.port);
        }
        assert_eq!(http_get(n.http, "/replicas/mymaster?max-lag=x", None).unwrap().0, 400);
        let (code, text) = http_get(n.http, "/metrics", None).unwrap();
        assert_eq!(code, 200);
        assert_eq!(metric(&text, "sentinel_master_config_epoch{master=\"mymaster\"}"), Some(0.0), "{text}");
        assert_eq!(metric(&text, "sentinel_master_sentinels{master=\"mymaster\"}"), Some(3.0), "{text}");
        assert_eq!(metric(&text, "sentinel_tilt"), Some(0.0), "{text}");
    }
    step("endpoints answer the first master; SIGKILL it");

    // Poll /primary on every sentinel through the failover: each must go from the old
    // address to the new one, never back, and never name any other address.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pollers: Vec<_> = nodes
        .iter()
        .map(|n| {
            let (http, stop) = (n.http, stop.clone());
            std::thread::spawn(move || {
                let mut seen: Vec<(u16, String)> = Vec::new();
                loop {
                    // One more poll after the stop: the main thread stops us only once it
                    // saw the new address itself, so the last answer recorded is the new one.
                    let stopping = stop.load(std::sync::atomic::Ordering::SeqCst);
                    if let Ok((c, b)) = http_get(http, "/primary/mymaster", None) {
                        if seen.last() != Some(&(c, b.clone())) {
                            seen.push((c, b));
                        }
                    }
                    if stopping {
                        break seen;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    let events = EventLog::start(nodes[0].port);
    let watch = Watch::start(nodes[1].port);
    wait_until(T_START, "first watch table", || watch.lines().first().cloned().ok_or("no line yet".to_string()));
    let mut topo = topo;
    kill9(&mut topo.master);
    let sw = events.wait_event(T_FAILOVER, "+switch-master", |p| p.starts_with("mymaster "));
    let new_port: u16 = sw.payload.split_whitespace().nth(4).and_then(|p| p.parse().ok()).expect("new port");
    let new = format!("{HOST}:{new_port}");
    step(&format!("+switch-master to {new}"));
    for n in &nodes {
        wait_until(T_FAILOVER, "/primary answers the new address", || {
            let (c, b) = http_get(n.http, "/primary/mymaster", None)?;
            let resp = master_addr(n.port, MASTER_NAME)?;
            if (c, b.as_str()) == (200, format!("{new}\n").as_str()) && resp == Some((HOST.to_string(), new_port)) {
                Ok(())
            } else {
                Err(format!("HTTP {c} {b:?}, GET-MASTER-ADDR-BY-NAME {resp:?}"))
            }
        });
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for (i, p) in pollers.into_iter().enumerate() {
        let seen = p.join().expect("poller");
        let bodies: Vec<&str> = seen.iter().map(|(_, b)| b.trim_end()).collect();
        let first_new = bodies.iter().position(|b| *b == new).expect("new address seen");
        assert!(bodies[..first_new].iter().all(|b| *b == old), "sentinel-{i}: answers {seen:?}");
        assert!(bodies[first_new..].iter().all(|b| *b == new), "sentinel-{i}: went back: {seen:?}");
        // Once the master is seen down, /primary says so (503) until the switch.
        eprintln!("sentinel-{i} /primary answers: {seen:?}");
    }
    step("every /primary went old -> new exactly once, agreeing with GET-MASTER-ADDR-BY-NAME");
    wait_until(T_FAILOVER, "sentinel-cli watch --json to show the new master and its event", || {
        let lines = watch.lines();
        let last = lines.last().cloned().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&last).map_err(|e| format!("{e}: {last}"))?;
        let m = &v["masters"][0];
        let switched = v["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x.as_str().is_some_and(|x| x.contains("+switch-master"))));
        if m["address"] == new.as_str() && m["config_epoch"] != "0" && switched {
            Ok(())
        } else {
            Err(format!("{} lines, last {last}", lines.len()))
        }
    });
    let first: serde_json::Value = serde_json::from_str(&watch.lines()[0]).unwrap();
    assert_eq!(first["masters"][0]["address"], old.as_str(), "{first}");
    step("sentinel-cli watch redrew with the new master");

    for n in &nodes {
        let epoch: f64 = sentinel_master(n.port, MASTER_NAME).unwrap()["config-epoch"].parse().unwrap();
        assert!(epoch >= 1.0);
        wait_until(T_FAILOVER, "/metrics shows the new config epoch and the switch", || {
            let (_, text) = http_get(n.http, "/metrics", None)?;
            let got = metric(&text, "sentinel_master_config_epoch{master=\"mymaster\"}");
            let info = metric(&text, &format!("sentinel_master_info{{master=\"mymaster\",address=\"{new}\"}}"));
            let switches = metric(&text, "sentinel_events_total{event=\"+switch-master\"}");
            if got == Some(epoch) && info == Some(1.0) && switches == Some(1.0) {
                Ok(())
            } else {
                Err(format!("epoch {got:?} (want {epoch}), info {info:?}, switches {switches:?}"))
            }
        });
        assert_eq!(http_get(n.http, "/health", None).unwrap().0, 200);
        wait_http(n.http, "/ready", 200, "/ready 200 after the failover");
        let body = wait_http(n.http, "/replicas/mymaster", 200, "/replicas 200 after the failover");
        assert!(!body.contains(&format!("\"port\":{new_port}")), "the new master listed as a replica: {body}");
    }
    // Exactly one sentinel led the failover; it saw every phase.
    let texts: Vec<String> = nodes.iter().map(|n| http_get(n.http, "/metrics", None).unwrap().1).collect();
    let completed = "sentinel_failovers_total{master=\"mymaster\",result=\"completed\"}";
    let leaders: Vec<&String> = texts.iter().filter(|t| metric(t, completed) == Some(1.0)).collect();
    assert_eq!(leaders.len(), 1, "one leader counted a completed failover: {texts:#?}");
    for phase in ["election", "promotion", "reconfiguration", "total"] {
        let series = format!("sentinel_failover_phase_seconds_count{{phase=\"{phase}\"}}");
        assert_eq!(metric(leaders[0], &series), Some(1.0), "{phase} on the leader: {}", leaders[0]);
    }
    step("/metrics: new config epoch, address, +switch-master counted, the leader's phases; /health, /ready 200");
}

// ---------------------------------------------------------------------------------------
// sentinel-cli
// ---------------------------------------------------------------------------------------

/// `sentinel-cli --json watch` running in the background, its lines collected; killed on drop.
struct Watch {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Watch {
    fn start(port: u16) -> Watch {
        Watch::cli(port, &["--json", "watch"])
    }

    /// Any long-running `sentinel-cli` command (`watch`, `events`), its stdout collected.
    fn cli(port: u16, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-cli"))
            .args(["-p", &port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start sentinel-cli");
        let out = child.stdout.take().expect("stdout");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Watch { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(port: u16, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-cli"))
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run sentinel-cli");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn cli_check(kind: SentinelKind) {
    let mut topo = Topology::start(kind, 2, 3);
    topo.wait_discovery(2, 2);
    let port = topo.sentinels[0].port;
    let (code, out, err) = wait_until(T_DISCOVERY, "check exit 0", || match cli(port, &["check", "mymaster"]) {
        r if r.0 == 0 => Ok(r),
        r => Err(format!("{r:?}")),
    });
    assert!(out.contains("OK"), "{code} {out} {err}");
    let (code, json, _) = cli(port, &["--json", "check", "mymaster"]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("check --json is JSON");
    assert_eq!(v["exit"], 0, "{json}");
    let (code, out, _) = cli(port, &["explain", "mymaster"]);
    assert_eq!(code, 0, "{out}");
    for r in &topo.replicas {
        assert!(out.contains(&format!("{HOST}:{}", r.port)), "explain lists replica {}: {out}", r.port);
    }
    assert!(out.contains("would promote"), "{out}");
    let (_, json, _) = cli(port, &["--json", "explain", "mymaster"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("explain --json is JSON");
    assert!(v["replicas"].as_array().is_some_and(|r| r.len() == 2), "{json}");
    step("check 0 and explain with every replica while healthy");

    // Two of three sentinels gone: no majority -> 2.
    kill9(&mut topo.sentinels[1]);
    kill9(&mut topo.sentinels[2]);
    let (_, out, err) =
        wait_until(T_FAILOVER, "check exit 2 without a majority", || match cli(port, &["check", "mymaster"]) {
            r if r.0 == 2 => Ok(r),
            r => Err(format!("{r:?}")),
        });
    assert!(out.contains("CRIT") || err.contains("CRIT"), "{out} {err}");
    step("check 2 with 2 of 3 sentinels killed");
    let (code, _, _) = cli(free_port(), &["check", "mymaster"]);
    assert_eq!(code, 2, "an unreachable sentinel is critical");
}

#[test]
fn ours_cli_check_and_explain() {
    cli_check(SentinelKind::Ours);
}

#[test]
fn reference_cli_check_and_explain() {
    cli_check(SentinelKind::Redis);
}

/// Every `sentinel-cli` command against real processes across a failover: `events`
/// streams it, and `status`, `master-addr`, `explain`, `check` and `history` change from
/// the old master to the new one at the switch (issue 11). The output printed here is
/// what an operator sees.
#[test]
fn ours_cli_commands_across_a_failover() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 3);
    topo.wait_discovery(2, 2);
    let port = topo.sentinels[0].port;
    let old = format!("{HOST}:{}", topo.master.port);
    let (code, out, _) = cli(port, &["master-addr", MASTER_NAME]);
    assert_eq!((code, out.as_str()), (0, format!("{HOST} {}\n", topo.master.port).as_str()));
    let (code, out, _) = cli(port, &["status"]);
    assert!(code == 0 && out.contains(&old), "status before: {code} {out}");
    let (code, before, _) = cli(port, &["explain", MASTER_NAME]);
    assert!(code == 0 && before.contains("would promote"), "{before}");
    let events = Watch::cli(port, &["events"]);
    wait_until(T_START, "sentinel-cli events subscribed", || {
        // A SENTINEL SET publishes +set: seen once the subscription is in place.
        query(port, &["SENTINEL", "SET", MASTER_NAME, "failover-timeout", "10000"])?;
        match events.lines().iter().any(|l| l.contains(" +set ")) {
            true => Ok(()),
            false => Err("no +set line yet".to_string()),
        }
    });

    kill9(&mut topo.master);
    let line = wait_until(T_FAILOVER, "sentinel-cli events to print +switch-master", || {
        events
            .lines()
            .into_iter()
            .find(|l| l.contains(" +switch-master "))
            .ok_or_else(|| format!("{:?}", events.lines()))
    });
    // `<time> +switch-master <name> <old ip> <old port> <new ip> <new port>`
    let new_port: u16 =
        line.split_whitespace().nth(6).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("new port in {line}"));
    let new = format!("{HOST}:{new_port}");
    step(&format!("events: {line}"));

    let (code, out, _) = cli(port, &["master-addr", MASTER_NAME]);
    assert_eq!((code, out.as_str()), (0, format!("{HOST} {new_port}\n").as_str()));
    let (code, status, _) = cli(port, &["status"]);
    assert!(code == 0 && status.contains(&new), "status after: {code} {status}");
    let explain =
        wait_until(T_FAILOVER, "explain to show the new master", || match cli(port, &["explain", MASTER_NAME]) {
            (0, out, _) if out.contains(&new) && !out.contains(&format!("master {old}")) => Ok(out),
            other => Err(format!("{other:?}")),
        });
    // The old master is down (now a replica entry): a warning, not critical.
    let (code, check, err) = cli(port, &["check", MASTER_NAME]);
    assert!(code == 0 || code == 1, "check after the failover: {code} {check} {err}");
    let (code, history, _) = cli(port, &["history", MASTER_NAME]);
    assert_eq!(code, 0, "{history}");
    // This sentinel need not have led, nor seen the master down itself (it may vote and
    // learn the switch first): its timeline ends with the switch to the new master.
    let switch = format!("+switch-master mymaster {} {} {HOST} {new_port}", HOST, old.rsplit(':').next().unwrap());
    assert!(history.contains(&switch), "history lacks `{switch}`:\n{history}");
    assert!(history.contains("+monitor master mymaster"), "{history}");
    println!("--- sentinel-cli status\n{status}--- explain before\n{before}--- explain after\n{explain}");
    println!("--- check\n{check}--- history\n{history}");
}

/// A replica down is a warning (1), not critical.
#[test]
fn ours_cli_check_warns_on_a_dead_replica() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 3);
    topo.wait_discovery(2, 2);
    let port = topo.sentinels[0].port;
    kill9(&mut topo.replicas[0]);
    let (_, out, _) =
        wait_until(T_FAILOVER, "check exit 1 with a replica down", || match cli(port, &["check", "mymaster"]) {
            r if r.0 == 1 => Ok(r),
            r => Err(format!("{r:?}")),
        });
    assert!(out.contains("WARN"), "{out}");
    let (code, _, _) = cli(port, &["check", "nope"]);
    assert_eq!(code, 2, "an unknown master is critical");
}

/// `http-port`/`http-bind` in sentinel.toml; a bad value names the file and line.
#[test]
fn ours_http_listener_from_sentinel_toml_and_config_errors() {
    let root = tempfile::tempdir().unwrap();
    let master = start_redis(root.path(), "redis-a", None);
    let http = free_port();
    let m = MasterConf::new(master.port);
    let s = start_sentinel_with(root.path(), "s", SentinelKind::Ours, ConfFormat::Toml, &m, |c| {
        // Top-level keys must precede the [masters.*] tables.
        format!("http-port = {http}\nhttp-bind = \"{HOST}\"\n{c}")
    });
    let body = wait_http(http, "/health", 200, "/health from a sentinel.toml listener");
    assert!(body.contains("\"tilt\":false"), "{body}");
    wait_http(http, "/primary/mymaster", 200, "/primary from a sentinel.toml listener");
    drop(s);

    let conf = root.path().join("bad.conf");
    std::fs::write(&conf, format!("port {}\nhttp-port nope\n", free_port())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel")).arg(&conf).output().expect("run sentinel");
    let err = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("bad.conf:2"), "error names file and line: {err}");
}

/// /health is 503 while the sentinel is in TILT (§13), and 200 again after it.
#[test]
fn ours_health_reports_tilt() {
    let root = tempfile::tempdir().unwrap();
    let master = start_redis(root.path(), "redis-a", None);
    let http = free_port();
    let m = MasterConf::new(master.port);
    let s = start_sentinel_with(root.path(), "s", SentinelKind::Ours, ConfFormat::RedisConf, &m, |c| {
        format!("{c}http-port {http}\nhttp-bind {HOST}\n")
    });
    wait_http(http, "/health", 200, "/health 200 before TILT");
    query(s.port, &["SENTINEL", "DEBUG", "tilt-period", "3000"]).unwrap();
    let events = EventLog::start(s.port);
    // The stimulus: a process frozen longer than the TILT trigger (2 s).
    s.stop();
    std::thread::sleep(Duration::from_millis(2500));
    s.cont();
    events.wait_event(T_START, "+tilt", |_| true);
    let body = wait_http(http, "/health", 503, "/health 503 in TILT");
    assert!(body.contains("\"tilt\":true"), "{body}");
    let (_, text) = http_get(http, "/metrics", None).unwrap();
    assert_eq!(metric(&text, "sentinel_tilt"), Some(1.0), "{text}");
    events.wait_event(T_FAILOVER, "-tilt", |_| true);
    wait_http(http, "/health", 200, "/health 200 after TILT");
}

/// `--log-format json`: every log line is one JSON object; Sentinel events carry their
/// name and master as fields. `log-format json` in the config does the same.
#[test]
fn ours_json_logs() {
    let root = tempfile::tempdir().unwrap();
    let master = start_redis(root.path(), "redis-a", None);
    let m = MasterConf::new(master.port);
    let s = start_sentinel_with(root.path(), "s", SentinelKind::Ours, ConfFormat::RedisConf, &m, |c| {
        format!("{c}log-format json\n")
    });
    let log = root.path().join("s").join("s.log");
    let lines = wait_until(T_START, "a +monitor line in the JSON log", || {
        let lines = file_lines(&log);
        if lines.iter().any(|l| l.contains("+monitor")) {
            Ok(lines)
        } else {
            Err(format!("{lines:?}"))
        }
    });
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    let monitor = lines.iter().find(|l| l.contains("+monitor")).unwrap();
    let v: serde_json::Value = serde_json::from_str(monitor).unwrap();
    assert_eq!(v["event"], "+monitor", "{monitor}");
    assert_eq!(v["master"], MASTER_NAME, "{monitor}");
    assert_eq!(v["instance"], format!("{HOST}:{}", master.port), "{monitor}");
    drop(s);
}

/// The RESP server's client figures on `/metrics` (per process): clients connected now,
/// connections accepted, commands executed (a counter, so `rate()` gives commands per
/// second) and connections refused at `maxclients`, against a real sentinel.
#[test]
fn ours_client_metrics() {
    let root = tempfile::tempdir().unwrap();
    let master = start_redis(root.path(), "redis-a", None);
    let http = free_port();
    let m = MasterConf::new(master.port);
    let s = start_sentinel_with(root.path(), "s", SentinelKind::Ours, ConfFormat::RedisConf, &m, |c| {
        format!("{c}http-port {http}\nhttp-bind {HOST}\nmaxclients 4\n")
    });
    wait_http(http, "/health", 200, "/health 200");
    let scrape = || http_get(http, "/metrics", None).map(|(_, t)| t);
    let get = |t: &str, name: &str| metric(t, name).unwrap_or_else(|| panic!("{name} missing from /metrics:\n{t}"));
    // The harness's own start-up queries are over once nobody is connected.
    let t0 = wait_until(T_START, "sentinel_connected_clients 0", || {
        let t = scrape()?;
        if metric(&t, "sentinel_connected_clients") == Some(0.0) {
            Ok(t)
        } else {
            Err(t)
        }
    });
    assert_eq!(get(&t0, "sentinel_config_maxclients"), 4.0);
    assert_eq!(get(&t0, "sentinel_rejected_connections_total"), 0.0);
    let received0 = get(&t0, "sentinel_connections_received_total");
    let commands0 = get(&t0, "sentinel_commands_processed_total");
    assert!(received0 >= 1.0, "the harness's own connections are counted: {received0}");

    const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
    let ping = |c: &mut TcpStream, n: usize| {
        c.write_all(&PING.repeat(n)).unwrap();
        let mut buf = vec![0; 7 * n];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(buf, b"+PONG\r\n".repeat(n));
    };
    let mut conns: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect((HOST, s.port)).unwrap();
            c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            ping(&mut c, 1);
            c
        })
        .collect();
    let t1 = scrape().unwrap();
    assert_eq!(get(&t1, "sentinel_connected_clients"), 4.0, "{t1}");
    assert_eq!(get(&t1, "sentinel_connections_received_total"), received0 + 4.0);
    assert_eq!(get(&t1, "sentinel_commands_processed_total"), commands0 + 4.0);
    step("4 clients, 1 PING each: connected 4, received +4, commands +4");

    // A fifth client is over maxclients: refused with Redis's error, and counted.
    let mut fifth = TcpStream::connect((HOST, s.port)).unwrap();
    fifth.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut answer = String::new();
    fifth.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "-ERR max number of clients reached\r\n");
    let t2 = scrape().unwrap();
    assert_eq!(get(&t2, "sentinel_rejected_connections_total"), 1.0, "{t2}");
    assert_eq!(get(&t2, "sentinel_connections_received_total"), received0 + 4.0, "a refused one is not received");
    assert_eq!(get(&t2, "sentinel_connected_clients"), 4.0);

    ping(&mut conns[0], 100);
    let t3 = scrape().unwrap();
    assert_eq!(get(&t3, "sentinel_commands_processed_total"), commands0 + 104.0, "{t3}");
    step("5th client refused (rejected 1); 100 pipelined PINGs counted");

    drop(conns);
    wait_until(T_START, "sentinel_connected_clients back to 0", || {
        let t = scrape()?;
        match metric(&t, "sentinel_connected_clients") {
            Some(0.0) => Ok(()),
            v => Err(format!("{v:?}")),
        }
    });
    step("clients closed: connected 0");

    // INFO stats counts the same, process-wide (the same counters as /metrics).
    let info = match query(s.port, &["INFO", "stats"]).unwrap() {
        redis::Value::BulkString(b) => String::from_utf8(b).unwrap(),
        redis::Value::VerbatimString { text, .. } => text,
        other => panic!("INFO stats: {other:?}"),
    };
    assert!(info.contains("\r\nrejected_connections:1\r\n"), "{info}");
    let received = get(&scrape().unwrap(), "sentinel_connections_received_total");
    assert!(info.contains(&format!("total_connections_received:{received}\r\n")), "{info} vs {received}");
}
