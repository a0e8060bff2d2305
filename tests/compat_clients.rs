//! Client matrix (issue 3): real Sentinel-aware clients against three of OUR sentinels
//! watching 1 master + 2 replicas (`down-after-milliseconds 1000`). Each client finds the
//! master, survives a failover (SIGKILL of the master) with the same client object, and
//! writes to the new master: redis-py `redis.sentinel.Sentinel`, the `redis` crate's
//! `SentinelClient`, ioredis and node-redis v5 `createSentinel` (tests/clients/, npm
//! packages installed by scripts/test.sh), and `redis-cli` in RESP2 and RESP3 (`-3`).
//! A second test scrapes one of our sentinels with `prometheus-redis-exporter`.
//!
//! A client that is not installed is a failure when every test must run
//! (`SENTINEL_REQUIRE_ALL` or `CI` set, as in `.ci/run`) and a `SKIPPED:` line elsewhere.
//! Timeouts are generous; nothing asserts on speed.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long a client script may take in total (discovery, failover, rediscovery).
const CLIENT_DEADLINE_SECS: u64 = 120;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Skips (a `SKIPPED:` line in the run's report) or, when every test must run
/// (`SENTINEL_REQUIRE_ALL`, `CI`), fails when a client is missing.
fn available(what: &str, ok: bool) -> bool {
    if !ok {
        common::skip(what, "not installed (scripts/test.sh installs it)");
    }
    ok
}

fn node_client_available(module: &str) -> bool {
    let node_ok = Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    available(&format!("node + npm `{module}`"), node_ok && clients_dir().join("node_modules").join(module).is_dir())
}

/// A client script speaking the FIRST/SWITCHED stdout protocol of tests/clients/common.js.
struct ClientScript {
    label: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl ClientScript {
    fn spawn(label: &str, program: &str, script: &str, sentinel_ports: &[u16]) -> ClientScript {
        let ports: Vec<String> = sentinel_ports.iter().map(|p| p.to_string()).collect();
        let mut child = Command::new(program)
            .arg(clients_dir().join(script))
            .args([ports.join(","), MASTER_NAME.to_string(), CLIENT_DEADLINE_SECS.to_string()])
            .current_dir(clients_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{label}: cannot spawn {program}: {e}"));
        let (tx, lines) = channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        ClientScript { label: label.to_string(), child, lines, seen: Vec::new() }
    }

    /// Waits for a line `<tag> <port>` and returns the port.
    fn wait_tag(&mut self, tag: &str, timeout: Duration) -> u16 {
        let start = Instant::now();
        while start.elapsed() < timeout {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(p) = line.strip_prefix(tag).and_then(|r| r.trim().parse().ok()) {
                        return p;
                    }
                    self.seen.push(line);
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        std::thread::sleep(Duration::from_millis(200));
                        self.seen.extend(self.lines.try_iter());
                        panic!("{}: exited with {status} before `{tag}`:\n{}", self.label, self.seen.join("\n"));
                    }
                }
            }
        }
        panic!("{}: no `{tag}` line within {timeout:?}; output so far:\n{}", self.label, self.seen.join("\n"));
    }

    /// Waits for the script's exit and asserts success.
    fn wait_success(&mut self) {
        let what = format!("{} to exit", self.label);
        let status = wait_until(T_FAILOVER, &what, || {
            self.child.try_wait().map_err(|e| e.to_string())?.ok_or_else(|| "running".into())
        });
        self.seen.extend(self.lines.try_iter());
        assert!(status.success(), "{}: {status}\n{}", self.label, self.seen.join("\n"));
    }
}

impl Drop for ClientScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until every sentinel reports a master other than `old` and returns its port.
fn wait_switched(topo: &Topology, old: u16) -> u16 {
    let first = topo.sentinels[0].port;
    let new = wait_until(T_FAILOVER, "a sentinel to report a new master", || match master_addr(first, MASTER_NAME)? {
        Some((_, p)) if p != old => Ok(p),
        a => Err(format!("{a:?}")),
    });
    for s in &topo.sentinels {
        wait_until(T_FAILOVER, &format!("{} to report :{new}", s.name), || match master_addr(s.port, MASTER_NAME)? {
            Some((_, p)) if p == new => Ok(()),
            a => Err(format!("{a:?}")),
        });
    }
    wait_until(T_FAILOVER, &format!(":{new} to be master"), || match role(new)?.as_str() {
        "master" => Ok(()),
        r => Err(r.to_string()),
    });
    new
}

/// After Redis Sentinel's second failover (reference runs only): waits until every
/// sentinel names the same master, not `old`, and that server says `role:master`.
fn wait_settled(topo: &Topology, old: u16) -> u16 {
    wait_until(T_FAILOVER, "every sentinel to name the same new master, and it to be master", || {
        let mut seen = Vec::new();
        for s in &topo.sentinels {
            seen.push(master_addr(s.port, MASTER_NAME)?.map(|(_, p)| p));
        }
        match seen[0] {
            Some(p) if p != old && seen.iter().all(|&q| q == Some(p)) && role(p)? == "master" => Ok(p),
            _ => Err(format!("sentinels name {seen:?}")),
        }
    })
}

/// Runs redis-cli and returns stdout (panics with stderr on failure).
fn redis_cli(args: &[&str]) -> String {
    let out = Command::new(require_program("redis-cli")).args(args).stdin(Stdio::null()).output().expect("redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// redis-cli in RESP2 and RESP3: address lookup, `SENTINEL MASTERS` (flat array vs map
/// rendering), ROLE, and a write to the master it names.
fn check_redis_cli(sentinel: u16, want_master: u16) {
    let sp = sentinel.to_string();
    for proto in [&[][..], &["-3"][..]] {
        let mut a: Vec<&str> = proto.to_vec();
        a.extend(["-p", &sp, "--no-raw", "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
        let addr = redis_cli(&a);
        assert_eq!(
            addr,
            format!("1) \"{HOST}\"\n2) \"{want_master}\"\n"),
            "redis-cli {proto:?} get-master-addr-by-name"
        );
    }
    // GET-MASTER-ADDR-BY-NAME names the promoted replica as soon as the leader saw the
    // promotion; SENTINEL MASTERS only after its switch (§8.7). Wait for the switch.
    wait_until(T_FAILOVER, &format!("sentinel :{sp} to list :{want_master} in SENTINEL MASTER"), || {
        let out = redis_cli(&["-p", &sp, "SENTINEL", "MASTER", MASTER_NAME]);
        let lines: Vec<&str> = out.lines().collect();
        let port = lines.windows(2).find(|w| w[0] == "port").map(|w| w[1]);
        if port == Some(want_master.to_string().as_str()) {
            Ok(())
        } else {
            Err(out)
        }
    });
    // RESP2: flat field/value array; RESP3: a map, rendered `1# "name" => "mymaster"`.
    let flat = redis_cli(&["-p", &sp, "--no-raw", "SENTINEL", "MASTERS"]);
    assert!(flat.starts_with("1)  1) \"name\"\n    2) \"mymaster\"\n"), "RESP2 SENTINEL MASTERS:\n{flat}");
    let map = redis_cli(&["-3", "-p", &sp, "--no-raw", "SENTINEL", "MASTERS"]);
    assert!(map.starts_with("1)  1# \"name\" => \"mymaster\"\n"), "RESP3 SENTINEL MASTERS:\n{map}");
    assert!(map.contains(&format!("\"port\" => \"{want_master}\"\n")), "RESP3 SENTINEL MASTERS:\n{map}");
    let role3 = redis_cli(&["-3", "-p", &sp, "--no-raw", "ROLE"]);
    assert_eq!(role3, "1) \"sentinel\"\n2) 1) \"mymaster\"\n", "RESP3 ROLE");
    let mp = want_master.to_string();
    assert_eq!(redis_cli(&["-p", &mp, "SET", "redis-cli-key", "1"]).trim(), "OK");
}

fn redis_crate_write(client: &mut redis::sentinel::SentinelClient, key: &str) -> Result<u16, String> {
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    redis::cmd("SET").arg(key).arg("1").query::<()>(&mut con).map_err(|e| e.to_string())?;
    let port: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("port").query(&mut con).map_err(|e| e.to_string())?;
    port.get(1).and_then(|p| p.parse().ok()).ok_or_else(|| format!("CONFIG GET port: {port:?}"))
}

#[test]
fn ours_client_matrix() {
    client_matrix(SentinelKind::Ours);
}

/// The same against Debian's `redis-sentinel`: validates the test itself.
#[test]
fn reference_client_matrix() {
    client_matrix(SentinelKind::Redis);
}

fn client_matrix(kind: SentinelKind) {
    let mut topo = Topology::start(kind, 2, 3);
    topo.wait_discovery(2, 2);
    let old = topo.master.port;
    let ports = topo.sentinel_ports();
    step("discovery complete; starting clients");

    let mut scripts = Vec::new();
    if available("python3 + redis-py", python_redis_available()) {
        scripts.push(ClientScript::spawn("redis-py", "python3", "redis_py_client.py", &ports));
    }
    if node_client_available("ioredis") {
        scripts.push(ClientScript::spawn("ioredis", "node", "ioredis_client.js", &ports));
    }
    if node_client_available("redis") {
        scripts.push(ClientScript::spawn("node-redis", "node", "node_redis_client.js", &ports));
    }
    for s in &mut scripts {
        let p = s.wait_tag("FIRST", T_DISCOVERY);
        assert_eq!(p, old, "{} first wrote to :{p}", s.label);
        step(&format!("{} wrote to the master :{p}", s.label));
    }
    let urls: Vec<String> = ports.iter().map(|p| format!("redis://{HOST}:{p}/")).collect();
    let mut rs = redis::sentinel::SentinelClient::build(
        urls,
        MASTER_NAME.into(),
        None,
        redis::sentinel::SentinelServerType::Master,
    )
    .unwrap();
    assert_eq!(redis_crate_write(&mut rs, "redis-rs-key"), Ok(old), "redis crate before the failover");
    check_redis_cli(ports[0], old);

    kill9(&mut topo.master);
    step(&format!("SIGKILLed master :{old}"));
    let mut new = wait_switched(&topo, old);
    step(&format!("sentinels switched to :{new}"));
    let mut second_failover = false;
    for s in &mut scripts {
        let p = s.wait_tag("SWITCHED", T_FAILOVER);
        // redis-sentinel now and then fails over a second time (docs/behaviour.md §20.21),
        // so the reference run only asks for a new master; ours must be exact.
        if kind == SentinelKind::Ours {
            assert_eq!(p, new, "{} wrote to :{p} after the failover", s.label);
        } else {
            assert_ne!(p, old, "{} wrote to the old master after the failover", s.label);
            if p != new && !second_failover {
                second_failover = true;
                reference_fault(&format!(
                    "redis-sentinel failed over a second time, :{new} then :{p} (docs/behaviour.md §20.21); \
                     the checks go on against the master the sentinels settle on"
                ));
            }
        }
        s.wait_success();
        step(&format!("{} survived the failover and wrote to :{p}", s.label));
    }
    if second_failover {
        new = wait_settled(&topo, old);
        step(&format!("sentinels settled on :{new} after the second failover"));
    }
    let got =
        wait_until(T_FAILOVER, "redis crate SentinelClient to write to the new master", || {
            match redis_crate_write(&mut rs, "redis-rs-key") {
                Ok(p) if p == new => Ok(p),
                other => Err(format!("{other:?}")),
            }
        });
    step(&format!("redis crate wrote to :{got}"));
    for &p in &ports {
        check_redis_cli(p, new);
    }
    step("redis-cli RESP2/RESP3 ok on every sentinel");
}

// ---------------------------------------------------------------------------------------
// redis_exporter
// ---------------------------------------------------------------------------------------

/// Fetches `http://127.0.0.1:<port>/metrics` with a plain HTTP/1.0 request.
fn http_get(port: u16, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect((HOST, port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {HOST}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

/// The value of the first sample line starting with `prefix` (`name{labels}`), if any.
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn ours_redis_exporter() {
    redis_exporter(SentinelKind::Ours);
}

#[test]
fn reference_redis_exporter() {
    redis_exporter(SentinelKind::Redis);
}

fn redis_exporter(kind: SentinelKind) {
    let Some(exporter) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("prometheus-redis-exporter")).find(|p| p.is_file()))
    else {
        available("prometheus-redis-exporter (Debian)", false);
        return;
    };
    let topo = Topology::start(kind, 2, 3);
    topo.wait_discovery(2, 2);
    let s = topo.sentinels[0].port;
    let web = free_port();
    let _exp = Proc::launch(
        "redis-exporter",
        web,
        topo.root.path(),
        exporter,
        vec![format!("--redis.addr=redis://{HOST}:{s}"), format!("--web.listen-address={HOST}:{web}")],
    );
    let mp = topo.master.port;
    let text = wait_until(T_DISCOVERY, "redis_exporter to report redis_sentinel_masters", || {
        let t = http_get(web, "/metrics")?;
        if metric(&t, "redis_sentinel_masters").is_some() {
            Ok(t)
        } else {
            Err(t
                .lines()
                .filter(|l| l.starts_with("redis_up") || l.starts_with("redis_sentinel"))
                .collect::<Vec<_>>()
                .join(" | "))
        }
    });
    let status = format!("redis_sentinel_master_status{{master_address=\"{HOST}:{mp}\",master_name=\"{MASTER_NAME}\",master_status=\"ok\"}}");
    let expect = [
        ("redis_up", 1.0),
        ("redis_sentinel_masters", 1.0),
        ("redis_sentinel_tilt", 0.0),
        (status.as_str(), 1.0),
        ("redis_sentinel_master_slaves{", 2.0),
        ("redis_sentinel_master_sentinels{", 3.0),
        ("redis_sentinel_master_ok_sentinels{", 3.0),
        ("redis_sentinel_master_ok_slaves{", 2.0),
        ("redis_sentinel_master_ckquorum_status{", 1.0),
    ];
    for (name, want) in expect {
        assert_eq!(metric(&text, name), Some(want), "{name} in redis_exporter output:\n{}", sentinel_lines(&text));
    }
    step(&format!("redis_exporter metrics:\n{}", sentinel_lines(&text)));
}

fn sentinel_lines(text: &str) -> String {
    text.lines().filter(|l| l.starts_with("redis_sentinel") || l.starts_with("redis_up")).collect::<Vec<_>>().join("\n")
}
