//! The operator procedures of the Redis Sentinel documentation (issue 9 item 9), each run
//! step by step against a deployment of ours and one of Debian's `redis-sentinel` 7.0.15
//! side by side (both at once, in two threads), with what an operator sees compared:
//! replies of `SENTINEL MASTER/REPLICAS/SENTINELS` (the fields that matter), `RESET`
//! reply counts, flags, Pub/Sub events, the `known-*` lines of the rewritten config file,
//! and the Redis side (`INFO replication`, `CLIENT LIST`). Never timings.
//!
//! Each procedure returns its observations with ports replaced by role labels (`M`, `R1`,
//! `S0`, …) and 40-hex ids by `<id>`; the two lists must be equal, and each procedure also
//! asserts the documented outcome itself (so both being wrong the same way fails too).
//! Differences that remain are listed in docs/differences.md.
//!
//! * (a)+(b) adding a sentinel, then removing one (`SENTINEL RESET *` on the others);
//! * (c) removing a replica (`SENTINEL RESET <master>`);
//! * (d) `SENTINEL RESET` glob patterns (reply counts, `+reset-master` events);
//! * (e) changing the Redis passwords, then `SENTINEL SET <m> auth-pass`;
//! * (f) a restricted ACL user for the sentinels on Redis (the documented rule line), and
//!   sentinels that authenticate to each other (`requirepass`, `sentinel-user/pass`);
//! * (g) a sentinel behind NAT (`announce-ip`/`announce-port`), also changed at run time;
//! * (h) Docker port mapping on a replica (`replica-announce-ip/port`), then a failover to it.

mod common;

use common::*;
use std::collections::HashMap;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

type Obs = Vec<String>;

/// Runs `procedure` for ours and for redis-sentinel at the same time and compares what each
/// returned.
fn both(what: &str, procedure: impl Fn(SentinelKind) -> Obs + Sync) {
    let (ours, redis) = std::thread::scope(|s| {
        let o = s.spawn(|| procedure(SentinelKind::Ours));
        let r = s.spawn(|| procedure(SentinelKind::Redis));
        (o.join(), r.join())
    });
    let redis = redis.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let ours = ours.unwrap_or_else(|e| std::panic::resume_unwind(e));
    eprintln!("{what}:\n  {}", redis.join("\n  "));
    if ours != redis {
        let mut msg = format!("{what}: ours differs from redis-sentinel 7.0.15\n");
        for i in 0..ours.len().max(redis.len()) {
            let (o, r) = (ours.get(i).map(String::as_str), redis.get(i).map(String::as_str));
            let mark = if o == r { " " } else { "!" };
            msg.push_str(&format!("{mark} ours : {}\n{mark} redis: {}\n", o.unwrap_or("-"), r.unwrap_or("-")));
        }
        panic!("{msg}");
    }
}

/// Port → label, for normalising observations.
#[derive(Clone, Default)]
struct Labels(Vec<(u16, String)>);

impl Labels {
    fn add(&mut self, port: u16, label: &str) {
        self.0.push((port, label.to_string()));
    }

    /// 40-hex ids become `<id>`, labelled ports their label; other numbers stay.
    fn norm(&self, s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < b.len() {
            let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if hex == 40 {
                out.push_str("<id>");
                i += 40;
            } else if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let digits = &s[i..i + n];
                match self.0.iter().find(|(p, _)| p.to_string() == digits) {
                    Some((_, l)) => out.push_str(l),
                    None => out.push_str(digits),
                }
                i += n;
            } else {
                out.push(b[i] as char);
                i += 1;
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// Credentials: `("", pw)` = password only (`AUTH pw`), `(user, pw)` = ACL user.
type Auth = Option<(&'static str, &'static str)>;

fn q(port: u16, auth: Auth, args: &[&str]) -> Result<redis::Value, String> {
    q_at(HOST, port, auth, args)
}

/// [`q`] to `host` (one of several bind addresses).
fn q_at(host: &str, port: u16, auth: Auth, args: &[&str]) -> Result<redis::Value, String> {
    let url = match auth {
        None => format!("redis://{host}:{port}/"),
        Some((u, p)) => format!("redis://{u}:{p}@{host}:{port}/"),
    };
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client.get_connection_with_timeout(IO_TIMEOUT).map_err(|e| format!(":{port} connect: {e}"))?;
    con.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<redis::Value>(&mut con).map_err(|e| format!(":{port} {}: {e}", args.join(" ")))
}

fn qs(port: u16, auth: Auth, args: &[&str]) -> Result<String, String> {
    let v = q(port, auth, args)?;
    value_str(&v).ok_or_else(|| format!("not a string: {v:?}"))
}

fn maps(port: u16, auth: Auth, args: &[&str]) -> Result<Vec<HashMap<String, String>>, String> {
    match q(port, auth, args)? {
        redis::Value::Array(items) => items.iter().map(value_map).collect(),
        other => Err(format!("expected an array of maps, got {other:?}")),
    }
}

fn master(port: u16, auth: Auth) -> Result<HashMap<String, String>, String> {
    value_map(&q(port, auth, &["SENTINEL", "MASTER", MASTER_NAME])?)
}

/// `field` of every entry of `SENTINEL <sub> mymaster`, normalised and sorted.
fn list_field(port: u16, auth: Auth, sub: &str, field: &str, l: &Labels) -> Result<Vec<String>, String> {
    let mut v: Vec<String> =
        maps(port, auth, &["SENTINEL", sub, MASTER_NAME])?.iter().map(|m| l.norm(&m[field])).collect();
    v.sort();
    Ok(v)
}

/// `ip:port flags` of every entry of `SENTINEL <sub> mymaster`, normalised and sorted.
fn entries(port: u16, auth: Auth, sub: &str, l: &Labels) -> Result<Vec<String>, String> {
    let mut v: Vec<String> = maps(port, auth, &["SENTINEL", sub, MASTER_NAME])?
        .iter()
        .map(|m| l.norm(&format!("{}:{} {}", m["ip"], m["port"], m["flags"])))
        .collect();
    v.sort();
    Ok(v)
}

/// Waits until `f` returns exactly `want`; returns it as one observation line.
fn wait_eq(what: &str, want: &[&str], mut f: impl FnMut() -> Result<Vec<String>, String>) -> String {
    let got = wait_until(T_DISCOVERY, what, || {
        let v = f()?;
        if v == want {
            Ok(v)
        } else {
            Err(format!("{v:?} (want {want:?})"))
        }
    });
    format!("{what}: {got:?}")
}

/// The `sentinel known-*` lines of a sentinel's config file, normalised and sorted.
fn known_lines(conf: &Path, l: &Labels) -> Vec<String> {
    let mut v: Vec<String> =
        file_lines(conf).into_iter().filter(|x| x.starts_with("sentinel known-")).map(|x| l.norm(&x)).collect();
    v.sort();
    v
}

/// Waits for the config file to carry exactly `want` as its `known-*` lines.
fn wait_known(what: &str, conf: &Path, l: &Labels, want: &[&str]) -> String {
    wait_eq(what, want, || Ok(known_lines(conf, l)))
}

fn events_of(log: &EventLog, channel: &str, l: &Labels) -> Vec<String> {
    log.events().into_iter().filter(|e| e.channel == channel).map(|e| l.norm(&e.payload)).collect()
}

fn kind_label(kind: SentinelKind) -> &'static str {
    match kind {
        SentinelKind::Ours => "ours",
        SentinelKind::Redis => "redis-sentinel",
    }
}

/// A TCP port forward (NAT / Docker port mapping stand-in): `listen` → 127.0.0.1:`to`.
/// Counts the connections it accepted, so a test can tell the announced address was used.
struct Forward {
    accepted: Arc<AtomicUsize>,
}

fn forward(listen_ip: &str, listen_port: u16, to: u16) -> Forward {
    let l = TcpListener::bind((listen_ip, listen_port))
        .unwrap_or_else(|e| panic!("bind forward {listen_ip}:{listen_port}: {e}"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            if let Ok(u) = TcpStream::connect((HOST, to)) {
                if let (Ok(c2), Ok(u2)) = (c.try_clone(), u.try_clone()) {
                    pipe(c2, u);
                    pipe(u2, c);
                }
            }
        }
    });
    Forward { accepted }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// A free port on 127.0.0.2 (the "public" side of the NAT in (g) and (h)).
fn free_port_on_2() -> u16 {
    loop {
        let p = free_port();
        if TcpListener::bind(("127.0.0.2", p)).is_ok() {
            return p;
        }
    }
}

fn ok(v: Result<redis::Value, String>) -> String {
    match v {
        Ok(v) => value_str(&v).unwrap_or_else(|| format!("{v:?}")),
        Err(e) => format!("error: {}", e.split_once(": ").map(|x| x.1).unwrap_or(&e)),
    }
}

// ---------------------------------------------------------------------------------------
// (a) + (b): adding a sentinel, removing a sentinel
// ---------------------------------------------------------------------------------------

/// Docs, "Adding or removing Sentinels": a new sentinel needs only the `monitor` line; it
/// finds the replicas and the peers, and the others count it. To remove one: stop it,
/// `SENTINEL RESET *` on every other one, and they agree on the number of live sentinels.
#[test]
fn adding_then_removing_a_sentinel() {
    both("add/remove a sentinel", |kind| {
        let mut topo = Topology::start(kind, 1, 2);
        topo.wait_discovery(1, 1);
        let mut l = Labels::default();
        l.add(topo.master.port, "M");
        l.add(topo.replicas[0].port, "R1");
        l.add(topo.sentinels[0].port, "S0");
        l.add(topo.sentinels[1].port, "S1");
        let ev0 = EventLog::start(topo.sentinels[0].port);
        let mut obs = Obs::new();

        // (a) add sentinel-2 with only the monitor line.
        let s2 = start_sentinel(topo.root.path(), "sentinel-2", kind, ConfFormat::RedisConf, &topo.master_conf);
        l.add(s2.port, "S2");
        let s2conf = s2.dir.join("sentinel.conf");
        topo.sentinels.push(s2);
        topo.wait_discovery(1, 2);
        let p2 = topo.sentinels[2].port;
        let m2 = master(p2, None).unwrap();
        obs.push(format!(
            "new one: flags={} num-slaves={} num-other-sentinels={}",
            m2["flags"], m2["num-slaves"], m2["num-other-sentinels"]
        ));
        obs.push(format!("new one's replicas: {:?}", list_field(p2, None, "REPLICAS", "name", &l).unwrap()));
        obs.push(wait_eq("new one's sentinels", &["127.0.0.1:S0 sentinel", "127.0.0.1:S1 sentinel"], || {
            entries(p2, None, "SENTINELS", &l)
        }));
        obs.push(wait_known(
            "new one's config",
            &s2conf,
            &l,
            &[
                "sentinel known-replica mymaster 127.0.0.1 R1",
                "sentinel known-sentinel mymaster 127.0.0.1 S0 <id>",
                "sentinel known-sentinel mymaster 127.0.0.1 S1 <id>",
            ],
        ));
        ev0.wait_event(T_DISCOVERY, "+sentinel", |p| p.contains(&format!(" {p2} ")));
        obs.push(format!("S0 +sentinel: {:?}", events_of(&ev0, "+sentinel", &l)));

        // (b) remove sentinel-2: stop it; the others see it down and keep counting it.
        let mut s2 = topo.sentinels.pop().unwrap();
        s2.kill9();
        for s in &topo.sentinels {
            let port = s.port;
            let flags = wait_until(T_DISCOVERY, &format!("{}: S2 s_down", s.name), || {
                let e = entries(port, None, "SENTINELS", &l)?;
                match e.iter().find(|x| x.starts_with("127.0.0.1:S2 ")) {
                    Some(x) if x.contains("s_down") => Ok(x.clone()),
                    other => Err(format!("{other:?}")),
                }
            });
            obs.push(format!("{}: stopped one listed as {flags}", s.name));
            let m = master(port, None).unwrap();
            obs.push(format!("{}: before RESET num-other-sentinels={}", s.name, m["num-other-sentinels"]));
        }
        // ... then SENTINEL RESET * on each of the others, one after the other.
        for s in &topo.sentinels {
            obs.push(format!("{}: RESET * -> {}", s.name, ok(q(s.port, None, &["SENTINEL", "RESET", "*"]))));
            let port = s.port;
            let other = if s.name == "sentinel-0" { "127.0.0.1:S1 sentinel" } else { "127.0.0.1:S0 sentinel" };
            obs.push(wait_eq(&format!("{}: sentinels after RESET", s.name), &[other], || {
                entries(port, None, "SENTINELS", &l)
            }));
            obs.push(wait_eq(&format!("{}: replicas after RESET", s.name), &["127.0.0.1:R1 slave"], || {
                entries(port, None, "REPLICAS", &l)
            }));
            obs.push(wait_eq(&format!("{}: num-other-sentinels", s.name), &["1"], || {
                Ok(vec![master(port, None)?["num-other-sentinels"].clone()])
            }));
        }
        obs.push(format!("S0 +reset-master: {:?}", events_of(&ev0, "+reset-master", &l)));
        let s0conf = topo.sentinels[0].dir.join("sentinel.conf");
        obs.push(wait_known(
            "S0's config after RESET",
            &s0conf,
            &l,
            &["sentinel known-replica mymaster 127.0.0.1 R1", "sentinel known-sentinel mymaster 127.0.0.1 S1 <id>"],
        ));
        drop(s2);
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (c) removing a replica
// ---------------------------------------------------------------------------------------

/// Docs: "Sentinels never forget about replicas ... to remove a replica, stop it, then
/// `SENTINEL RESET <master>` on every sentinel".
#[test]
fn removing_a_replica() {
    both("remove a replica", |kind| {
        let mut topo = Topology::start(kind, 2, 1);
        topo.wait_discovery(2, 0);
        let mut l = Labels::default();
        l.add(topo.master.port, "M");
        l.add(topo.replicas[0].port, "R1");
        l.add(topo.replicas[1].port, "R2");
        let port = topo.sentinels[0].port;
        let conf = topo.sentinels[0].dir.join("sentinel.conf");
        let mut obs = Obs::new();
        obs.push(wait_known(
            "config before",
            &conf,
            &l,
            &["sentinel known-replica mymaster 127.0.0.1 R1", "sentinel known-replica mymaster 127.0.0.1 R2"],
        ));
        topo.replicas[1].kill9();
        let seen = wait_until(T_DISCOVERY, "R2 s_down", || {
            let e = entries(port, None, "REPLICAS", &l)?;
            match e.iter().find(|x| x.starts_with("127.0.0.1:R2 ")) {
                Some(x) if x.contains("s_down") => Ok(e.clone()),
                _ => Err(format!("{e:?}")),
            }
        });
        obs.push(format!("stopped replica still listed: {seen:?}"));
        let ev = EventLog::start(port);
        obs.push(format!("RESET mymaster -> {}", ok(q(port, None, &["SENTINEL", "RESET", MASTER_NAME]))));
        obs.push(wait_eq("replicas after RESET", &["127.0.0.1:R1 slave"], || entries(port, None, "REPLICAS", &l)));
        obs.push(format!("num-slaves={}", master(port, None).unwrap()["num-slaves"]));
        obs.push(wait_known("config after", &conf, &l, &["sentinel known-replica mymaster 127.0.0.1 R1"]));
        ev.wait_event(T_DISCOVERY, "+slave", |_| true);
        obs.push(format!("+reset-master: {:?}", events_of(&ev, "+reset-master", &l)));
        obs.push(format!("+slave: {:?}", events_of(&ev, "+slave", &l)));
        // Adding a replica: start it pointed at the master; the sentinels find it.
        let r3 = start_redis(topo.root.path(), "redis-d", Some(topo.master.port));
        l.add(r3.port, "R3");
        obs.push(wait_eq("replicas after adding one", &["127.0.0.1:R1 slave", "127.0.0.1:R3 slave"], || {
            entries(port, None, "REPLICAS", &l)
        }));
        obs.push(wait_known(
            "config after adding one",
            &conf,
            &l,
            &["sentinel known-replica mymaster 127.0.0.1 R1", "sentinel known-replica mymaster 127.0.0.1 R3"],
        ));
        topo.replicas.push(r3);
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (d) SENTINEL RESET with glob patterns
// ---------------------------------------------------------------------------------------

#[test]
fn reset_patterns_count_the_masters_they_match() {
    both("RESET patterns", |kind| {
        let root = tempfile::Builder::new().prefix("sentinel-proc-").tempdir().expect("temp dir");
        let servers: Vec<Proc> =
            ["redis-a", "redis-b", "redis-c"].iter().map(|n| start_redis(root.path(), n, None)).collect();
        let s = start_sentinel(root.path(), "sentinel", kind, ConfFormat::RedisConf, &MasterConf::new(servers[0].port));
        let mut l = Labels::default();
        l.add(servers[0].port, "M");
        l.add(servers[1].port, "C1");
        l.add(servers[2].port, "C2");
        for (name, srv) in [("cache-1", &servers[1]), ("cache-2", &servers[2])] {
            let r = q(s.port, None, &["SENTINEL", "MONITOR", name, HOST, &srv.port.to_string(), "1"]);
            assert_eq!(ok(r), "OK");
        }
        let ev = EventLog::start(s.port);
        let mut obs = Obs::new();
        for pat in
            ["cache-*", "CACHE-*", "cache-?", "cache-[12]", "cache-[!1]", "*", "mymaster", "nothing*", "", "my\\master"]
        {
            obs.push(format!("RESET {pat:?} -> {}", ok(q(s.port, None, &["SENTINEL", "RESET", pat]))));
        }
        obs.push(format!("RESET (no pattern) -> {}", ok(q(s.port, None, &["SENTINEL", "RESET"]))));
        // Every successful RESET emitted one +reset-master per master it matched.
        let want = 2 + 2 + 2 + 1 + 3 + 1 + 1;
        wait_until(T_START, "all +reset-master events", || {
            let n = events_of(&ev, "+reset-master", &l).len();
            if n == want {
                Ok(())
            } else {
                Err(format!("{n} of {want}"))
            }
        });
        let mut resets = events_of(&ev, "+reset-master", &l);
        resets.sort();
        obs.push(format!("+reset-master: {resets:?}"));
        obs.push(wait_eq("masters after", &["cache-1 master", "cache-2 master", "mymaster master"], || {
            let mut v: Vec<String> =
                sentinel_masters(s.port)?.iter().map(|m| format!("{} {}", m["name"], m["flags"])).collect();
            v.sort();
            Ok(v)
        }));
        // Runtime MONITOR / REMOVE (docs, "Reconfiguring Sentinel at Runtime"): the events
        // and what the rewritten config says about each name.
        let conf = s.dir.join("sentinel.conf");
        let cache_lines = || -> Vec<String> {
            let mut v: Vec<String> =
                file_lines(&conf).into_iter().filter(|x| x.contains(" cache-")).map(|x| l.norm(&x)).collect();
            v.sort();
            v
        };
        obs.push(format!("config with cache-1, cache-2: {:?}", cache_lines()));
        obs.push(format!("REMOVE cache-2 -> {}", ok(q(s.port, None, &["SENTINEL", "REMOVE", "cache-2"]))));
        obs.push(format!("REMOVE cache-2 again -> {}", ok(q(s.port, None, &["SENTINEL", "REMOVE", "cache-2"]))));
        ev.wait_event(T_START, "-monitor", |_| true);
        obs.push(format!("-monitor: {:?}", events_of(&ev, "-monitor", &l)));
        obs.push(format!("config after REMOVE: {:?}", cache_lines()));
        drop(servers);
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (e) changing passwords
// ---------------------------------------------------------------------------------------

/// Master and replica get a new `requirepass`/`masterauth` (connections re-made, as after
/// any restart); the sentinel, still on the old `auth-pass`, shows them unreachable; the
/// documented fix is `SENTINEL SET <master> auth-pass <new>`, after which both recover and
/// the new password is in the rewritten config.
#[test]
fn changing_the_redis_passwords() {
    both("change passwords", |kind| {
        let root = tempfile::Builder::new().prefix("sentinel-proc-").tempdir().expect("temp dir");
        let old: Auth = Some(("", "old-pw"));
        let new: Auth = Some(("", "new-pw"));
        let pw = "requirepass old-pw\nmasterauth old-pw\n";
        let m = start_redis_with(root.path(), "redis-a", None, pw);
        let r = start_redis_with(root.path(), "redis-b", Some(m.port), pw);
        wait_until(T_START, "replica linked", || match qs(r.port, old, &["INFO", "replication"]) {
            Ok(i) if i.contains("master_link_status:up") => Ok(()),
            other => Err(format!("{other:?}")),
        });
        let mut mc = MasterConf::new(m.port);
        mc.quorum = 2; // one sentinel: SDOWN only, no failover attempt
        let s = start_sentinel_with(root.path(), "sentinel", kind, ConfFormat::RedisConf, &mc, |c| {
            c + &format!("sentinel auth-pass {MASTER_NAME} old-pw\n")
        });
        let conf = s.dir.join("sentinel.conf");
        let mut l = Labels::default();
        l.add(m.port, "M");
        l.add(r.port, "R1");
        let mut obs = Obs::new();
        obs.push(wait_eq("replicas", &["127.0.0.1:R1 slave"], || entries(s.port, None, "REPLICAS", &l)));
        obs.push(format!("master flags: {}", master(s.port, None).unwrap()["flags"]));

        for p in [m.port, r.port] {
            assert_eq!(qs(p, old, &["CONFIG", "SET", "masterauth", "new-pw"]).unwrap(), "OK");
            assert_eq!(qs(p, old, &["CONFIG", "SET", "requirepass", "new-pw"]).unwrap(), "OK");
            // Existing connections stay authenticated: drop them, as a restart would.
            for t in ["normal", "pubsub"] {
                q(p, new, &["CLIENT", "KILL", "TYPE", t]).unwrap();
            }
        }
        let ev = EventLog::start(s.port);
        obs.push(wait_eq("master flags with the old password", &["s_down,master,disconnected"], || {
            Ok(vec![master(s.port, None)?["flags"].clone()])
        }));
        obs.push(wait_eq("replica with the old password", &["127.0.0.1:R1 s_down,slave,disconnected"], || {
            entries(s.port, None, "REPLICAS", &l)
        }));
        let set = q(s.port, None, &["SENTINEL", "SET", MASTER_NAME, "auth-pass", "new-pw"]);
        obs.push(format!("SENTINEL SET auth-pass -> {}", ok(set)));
        obs.push(wait_eq("master flags with the new password", &["master"], || {
            Ok(vec![master(s.port, None)?["flags"].clone()])
        }));
        obs.push(wait_eq("replica with the new password", &["127.0.0.1:R1 slave"], || {
            entries(s.port, None, "REPLICAS", &l)
        }));
        obs.push(format!("+set: {:?}", events_of(&ev, "+set", &l)));
        obs.push(wait_eq("auth-pass in the config", &["sentinel auth-pass mymaster new-pw"], || {
            Ok(file_lines(&conf).into_iter().filter(|x| x.starts_with("sentinel auth-pass")).collect())
        }));
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (f) ACL users: sentinels on Redis, and sentinels among themselves
// ---------------------------------------------------------------------------------------

/// The rule line of the Redis ACL documentation ("ACL rules for Sentinel and Replicas").
const SENTINEL_ACL: &str = "allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish \
    +info +client|setname +client|kill +script|kill";

/// Redis with `default` off, the documented sentinel user and a replication user; two
/// sentinels with `auth-user`/`auth-pass`: they discover everything (hellos need PUBLISH
/// and SUBSCRIBE), and a manual failover (MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL)
/// completes with the restricted user.
#[test]
fn a_restricted_acl_user_for_the_sentinels_on_redis() {
    both("ACL user on Redis", |kind| {
        let root = tempfile::Builder::new().prefix("sentinel-proc-").tempdir().expect("temp dir");
        let admin: Auth = Some(("admin", "admin-pw"));
        let acl = format!(
            "user default off\nuser admin on >admin-pw ~* &* +@all\n\
             user sentinel-user on >sentinel-pw {SENTINEL_ACL}\n\
             user replica-user on >replica-pw +psync +replconf +ping\n\
             masteruser replica-user\nmasterauth replica-pw\n"
        );
        let m = start_redis_with(root.path(), "redis-a", None, &acl);
        let r = start_redis_with(root.path(), "redis-b", Some(m.port), &acl);
        wait_until(T_START, "replica linked", || match qs(r.port, admin, &["INFO", "replication"]) {
            Ok(i) if i.contains("master_link_status:up") => Ok(()),
            other => Err(format!("{other:?}")),
        });
        let mc = MasterConf::new(m.port);
        let creds =
            format!("sentinel auth-user {MASTER_NAME} sentinel-user\nsentinel auth-pass {MASTER_NAME} sentinel-pw\n");
        let ss: Vec<Proc> = (0..2)
            .map(|i| {
                let creds = creds.clone();
                start_sentinel_with(root.path(), &format!("sentinel-{i}"), kind, ConfFormat::RedisConf, &mc, move |c| {
                    c + &creds
                })
            })
            .collect();
        let mut l = Labels::default();
        l.add(m.port, "M");
        l.add(r.port, "R1");
        l.add(ss[0].port, "S0");
        l.add(ss[1].port, "S1");
        let mut obs = Obs::new();
        for (s, other) in [(&ss[0], "127.0.0.1:S1 sentinel"), (&ss[1], "127.0.0.1:S0 sentinel")] {
            obs.push(wait_eq(&format!("{}: replicas", s.name), &["127.0.0.1:R1 slave"], || {
                entries(s.port, None, "REPLICAS", &l)
            }));
            obs.push(wait_eq(&format!("{}: sentinels", s.name), &[other], || entries(s.port, None, "SENTINELS", &l)));
            obs.push(format!("{}: master flags {}", s.name, master(s.port, None).unwrap()["flags"]));
        }
        // Every sentinel connection on the master is the restricted user's.
        let clients = qs(m.port, admin, &["CLIENT", "LIST"]).unwrap();
        let mut users: Vec<String> = clients
            .lines()
            .filter(|c| c.contains(" name=sentinel-"))
            .map(|c| {
                let user = c.split(' ').find_map(|f| f.strip_prefix("user=")).unwrap_or("?");
                let name = c.split(' ').find_map(|f| f.strip_prefix("name=")).unwrap_or("?");
                format!("{user} {}", name.rsplit('-').next().unwrap_or("?"))
            })
            .collect();
        users.sort();
        users.dedup();
        obs.push(format!("sentinel connections on the master: {users:?}"));
        wait_replicas_ready(ss[0].port);
        let ev = EventLog::start(ss[0].port);
        obs.push(format!("FAILOVER -> {}", ok(q(ss[0].port, None, &["SENTINEL", "FAILOVER", MASTER_NAME]))));
        ev.wait_event(T_FAILOVER, "+switch-master", |_| true);
        obs.push(format!("+switch-master: {:?}", events_of(&ev, "+switch-master", &l)));
        obs.push(wait_eq("old master now a replica of R1", &["slave R1"], || {
            let i = qs(m.port, admin, &["INFO", "replication"])?;
            Ok(vec![format!(
                "{} {}",
                info_field(&i, "role").unwrap_or_default(),
                l.norm(&info_field(&i, "master_port").unwrap_or_default())
            )])
        }));
        for s in &ss {
            obs.push(wait_eq(&format!("{}: replicas after the failover", s.name), &["127.0.0.1:M slave"], || {
                entries(s.port, None, "REPLICAS", &l)
            }));
        }
        obs
    });
}

/// Sentinels that require authentication from clients, hence from each other: with
/// `requirepass` (used towards peers too) or with ACL users and `sentinel sentinel-user` /
/// `sentinel-pass`. They must still discover each other, agree that a killed master is
/// down (`is-master-down-by-addr` over the authenticated peer links) and fail over; an
/// unauthenticated client is refused with Redis's error.
fn peers_authenticate(extra: &'static str, client: Auth) {
    both("sentinels authenticating to each other", |kind| {
        let mut topo = Topology::start(kind, 1, 0);
        for i in 0..2 {
            let p = start_sentinel_with(
                topo.root.path(),
                &format!("sentinel-{i}"),
                kind,
                ConfFormat::RedisConf,
                &topo.master_conf,
                |c| c + extra,
            );
            topo.sentinels.push(p);
        }
        let mut l = Labels::default();
        l.add(topo.master.port, "M");
        l.add(topo.replicas[0].port, "R1");
        l.add(topo.sentinels[0].port, "S0");
        l.add(topo.sentinels[1].port, "S1");
        let (p0, p1) = (topo.sentinels[0].port, topo.sentinels[1].port);
        let mut obs = Obs::new();
        obs.push(format!("unauthenticated: {}", ok(q(p0, None, &["SENTINEL", "MASTER", MASTER_NAME]))));
        obs.push(wait_eq("S0 sees S1", &["127.0.0.1:S1 sentinel"], || entries(p0, client, "SENTINELS", &l)));
        obs.push(wait_eq("S1 sees S0", &["127.0.0.1:S0 sentinel"], || entries(p1, client, "SENTINELS", &l)));
        obs.push(wait_eq("S0 sees R1", &["127.0.0.1:R1 slave"], || entries(p0, client, "REPLICAS", &l)));
        let mut ev = Vec::new();
        for p in [p0, p1] {
            // EventLog subscribes without credentials: watch the events through a forward
            // of our own instead — PSUBSCRIBE needs AUTH first here.
            ev.push(AuthLog::start(p, client));
        }
        topo.master.kill9();
        // `#quorum 2/2` on a sentinel that saw ODOWN (the leader at least; the other may
        // have voted before it reached ODOWN itself): a peer's answer arrived over the
        // authenticated link.
        let odown = wait_until(2 * T_FAILOVER, "+odown on either sentinel", || {
            ev.iter().find_map(|e| e.find("+odown")).ok_or_else(|| "none yet".to_string())
        });
        obs.push(format!("+odown: {}", l.norm(&odown)));
        let mut switched: Vec<String> = ev.iter().map(|e| l.norm(&e.wait("+switch-master"))).collect();
        switched.dedup();
        obs.push(format!("+switch-master: {switched:?}"));
        drop(topo);
        obs
    });
}

#[test]
fn sentinels_with_requirepass_authenticate_to_each_other() {
    peers_authenticate("requirepass sentinel-pw\n", Some(("", "sentinel-pw")));
}

#[test]
fn sentinels_with_an_acl_peer_user_authenticate_to_each_other() {
    peers_authenticate(
        "user default off\nuser admin on >admin-pw ~* &* +@all\nsentinel sentinel-user admin\nsentinel sentinel-pass admin-pw\n",
        Some(("admin", "admin-pw")),
    );
}

/// PSUBSCRIBE * with credentials, in a thread; keeps the messages.
struct AuthLog {
    port: u16,
    msgs: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl AuthLog {
    fn start(port: u16, auth: Auth) -> AuthLog {
        let msgs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let m = msgs.clone();
        std::thread::spawn(move || {
            let url = match auth {
                None => format!("redis://{HOST}:{port}/"),
                Some((u, p)) => format!("redis://{u}:{p}@{HOST}:{port}/"),
            };
            let Ok(mut con) = redis::Client::open(url).and_then(|c| c.get_connection_with_timeout(IO_TIMEOUT)) else {
                return;
            };
            let mut ps = con.as_pubsub();
            if ps.psubscribe("*").is_err() {
                return;
            }
            let _ = tx.send(());
            while let Ok(msg) = ps.get_message() {
                let payload: String = msg.get_payload().unwrap_or_default();
                m.lock().unwrap().push((msg.get_channel_name().to_string(), payload));
            }
        });
        rx.recv_timeout(T_START).expect("PSUBSCRIBE with credentials");
        AuthLog { port, msgs }
    }

    fn find(&self, channel: &str) -> Option<String> {
        self.msgs.lock().unwrap().iter().find(|(c, _)| c == channel).map(|(_, p)| p.clone())
    }

    /// Twice the usual failover deadline: with two sentinels a split vote waits out the
    /// failover-timeout before the next attempt, and on a loaded machine redis-sentinel
    /// may enter TILT (30 s without acting); a `+tilt` shows in the message.
    fn wait(&self, channel: &str) -> String {
        wait_until(2 * T_FAILOVER, &format!("{channel} on :{}", self.port), || {
            let v = self.msgs.lock().unwrap();
            v.iter().find(|(c, _)| c == channel).map(|(_, p)| p.clone()).ok_or_else(|| format!("{:?}", *v))
        })
    }
}

// ---------------------------------------------------------------------------------------
// (g) a sentinel behind NAT: announce-ip / announce-port
// ---------------------------------------------------------------------------------------

/// Sentinel S1 is reachable only through a port forward on 127.0.0.2 and says so with
/// `sentinel announce-ip/announce-port`. Its hellos carry that address; S0 lists it there,
/// connects through the forward, and writes it to its config. Changed at run time with
/// `SENTINEL CONFIG SET announce-port`, S0 moves the entry to the new address.
#[test]
fn a_sentinel_behind_nat_announces_its_public_address() {
    both("announce-ip/port", |kind| {
        let topo = Topology::start(kind, 1, 1);
        let a1 = free_port_on_2();
        let s1 =
            start_sentinel_with(topo.root.path(), "sentinel-1", kind, ConfFormat::RedisConf, &topo.master_conf, |c| {
                c + &format!("sentinel announce-ip 127.0.0.2\nsentinel announce-port {a1}\n")
            });
        let fwd1 = forward("127.0.0.2", a1, s1.port);
        let p0 = topo.sentinels[0].port;
        let conf0 = topo.sentinels[0].dir.join("sentinel.conf");
        let mut l = Labels::default();
        l.add(topo.master.port, "M");
        l.add(topo.replicas[0].port, "R1");
        l.add(p0, "S0");
        l.add(s1.port, "S1");
        l.add(a1, "A1");
        let mut obs = Obs::new();
        let id1 = sentinel_myid(s1.port).unwrap();
        // The hello S1 publishes on the master.
        let hello = wait_until(T_DISCOVERY, "a hello of S1 on the master", || {
            let mut con = connect(topo.master.port)?;
            let mut ps = con.as_pubsub();
            ps.subscribe("__sentinel__:hello").map_err(|e| e.to_string())?;
            ps.set_read_timeout(Some(std::time::Duration::from_secs(5))).map_err(|e| e.to_string())?;
            for _ in 0..10 {
                let msg = ps.get_message().map_err(|e| e.to_string())?;
                let p: String = msg.get_payload().map_err(|e| e.to_string())?;
                if p.contains(&id1) {
                    return Ok(p);
                }
            }
            Err("no hello from S1".into())
        });
        let fields: Vec<&str> = hello.split(',').collect();
        obs.push(format!("S1 hello address: {}", l.norm(&fields[..2].join(","))));
        obs.push(wait_eq("S0 lists S1 at the announced address", &["127.0.0.2:A1 sentinel"], || {
            entries(p0, None, "SENTINELS", &l)
        }));
        obs.push(wait_known(
            "S0's config",
            &conf0,
            &l,
            &["sentinel known-replica mymaster 127.0.0.1 R1", "sentinel known-sentinel mymaster 127.0.0.2 A1 <id>"],
        ));
        wait_for(T_DISCOVERY, "S0 to connect through the forward", || {
            let n = fwd1.accepted.load(Ordering::SeqCst);
            (n > 0, format!("{n} connections"))
        });
        obs.push(wait_eq("S1 lists S0", &["127.0.0.1:S0 sentinel"], || entries(s1.port, None, "SENTINELS", &l)));
        for k in ["announce-ip", "announce-port"] {
            let v = q(s1.port, None, &["SENTINEL", "CONFIG", "GET", k]).unwrap();
            obs.push(format!("S1 CONFIG GET {k}: {}", l.norm(&format!("{v:?}"))));
        }
        // Run time: a new public port.
        let a2 = free_port_on_2();
        l.add(a2, "A2");
        let fwd2 = forward("127.0.0.2", a2, s1.port);
        let ev0 = EventLog::start(p0);
        let set = q(s1.port, None, &["SENTINEL", "CONFIG", "SET", "announce-port", &a2.to_string()]);
        obs.push(format!("CONFIG SET announce-port -> {}", ok(set)));
        obs.push(wait_eq("S0 moves S1 to the new address", &["127.0.0.2:A2 sentinel"], || {
            entries(p0, None, "SENTINELS", &l)
        }));
        wait_for(T_DISCOVERY, "S0 to connect through the new forward", || {
            let n = fwd2.accepted.load(Ordering::SeqCst);
            (n > 0, format!("{n} connections"))
        });
        obs.push(format!("S0 num-other-sentinels={}", master(p0, None).unwrap()["num-other-sentinels"]));
        obs.push(format!("S0 +sentinel-address-switch: {:?}", events_of(&ev0, "+sentinel-address-switch", &l)));
        obs.push(wait_known(
            "S0's config after the change",
            &conf0,
            &l,
            &["sentinel known-replica mymaster 127.0.0.1 R1", "sentinel known-sentinel mymaster 127.0.0.2 A2 <id>"],
        ));
        let conf1 = file_lines(&s1.dir.join("sentinel.conf"));
        let mut ann: Vec<String> =
            conf1.iter().filter(|x| x.starts_with("sentinel announce-")).map(|x| l.norm(x)).collect();
        ann.sort();
        obs.push(format!("S1's config: {ann:?}"));
        drop(s1);
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (h) Docker port mapping on a replica: replica-announce-ip / replica-announce-port
// ---------------------------------------------------------------------------------------

/// The replica is published at 127.0.0.2:<mapped> (a forward) and tells its master so; the
/// sentinel lists, connects to and writes the mapped address, and a failover promotes it
/// under that address (clients and the old master are sent there).
#[test]
fn a_replica_behind_port_mapping_is_used_at_its_announced_address() {
    both("replica-announce-ip/port", |kind| {
        let root = tempfile::Builder::new().prefix("sentinel-proc-").tempdir().expect("temp dir");
        let m = start_redis(root.path(), "redis-a", None);
        let mapped = free_port_on_2();
        let r = start_redis_with(
            root.path(),
            "redis-b",
            Some(m.port),
            &format!("replica-announce-ip 127.0.0.2\nreplica-announce-port {mapped}\n"),
        );
        let fwd = forward("127.0.0.2", mapped, r.port);
        let mut mc = MasterConf::new(m.port);
        mc.quorum = 1;
        let s = start_sentinel(root.path(), "sentinel", kind, ConfFormat::RedisConf, &mc);
        let conf = s.dir.join("sentinel.conf");
        let mut l = Labels::default();
        l.add(m.port, "M");
        l.add(r.port, "R1");
        l.add(mapped, "MAPPED");
        l.add(s.port, "S0");
        let mut obs = Obs::new();
        obs.push(wait_eq("master's INFO slave0", &["ip=127.0.0.2,port=MAPPED,state=online"], || {
            let i = info(m.port, "replication")?;
            let s0 = info_field(&i, "slave0").unwrap_or_default();
            Ok(vec![l.norm(s0.split(",offset").next().unwrap_or_default())])
        }));
        obs.push(wait_eq("sentinel lists the mapped address", &["127.0.0.2:MAPPED slave"], || {
            entries(s.port, None, "REPLICAS", &l)
        }));
        // Once the replica's own INFO arrived (master-link-status ok): its fields.
        wait_replicas_ready(s.port);
        let rep = &maps(s.port, None, &["SENTINEL", "REPLICAS", MASTER_NAME]).unwrap()[0];
        obs.push(l.norm(&format!(
            "replica name={} master-host={} master-port={} replica-announced={}",
            rep["name"], rep["master-host"], rep["master-port"], rep["replica-announced"]
        )));
        obs.push(wait_known("config", &conf, &l, &["sentinel known-replica mymaster 127.0.0.2 MAPPED"]));
        let n = fwd.accepted.load(Ordering::SeqCst);
        assert!(n > 0, "{}: the sentinel never connected through the mapped port", kind_label(kind));
        let ev = EventLog::start(s.port);
        obs.push(format!("FAILOVER -> {}", ok(q(s.port, None, &["SENTINEL", "FAILOVER", MASTER_NAME]))));
        ev.wait_event(T_FAILOVER, "+switch-master", |_| true);
        obs.push(format!("+switch-master: {:?}", events_of(&ev, "+switch-master", &l)));
        obs.push(format!("master address: {}", l.norm(&format!("{:?}", master_addr(s.port, MASTER_NAME).unwrap()))));
        obs.push(wait_eq("old master follows the mapped address", &["slave 127.0.0.2 MAPPED up"], || {
            let i = info(m.port, "replication")?;
            Ok(vec![l.norm(&format!(
                "{} {} {} {}",
                info_field(&i, "role").unwrap_or_default(),
                info_field(&i, "master_host").unwrap_or_default(),
                info_field(&i, "master_port").unwrap_or_default(),
                info_field(&i, "master_link_status").unwrap_or_default()
            ))])
        }));
        obs.push(wait_eq("sentinel lists the old master as a replica", &["127.0.0.1:M slave"], || {
            entries(s.port, None, "REPLICAS", &l)
        }));
        drop(s);
        obs
    });
}

// ---------------------------------------------------------------------------------------
// (e') changing the sentinels' own password
// ---------------------------------------------------------------------------------------

/// 64-hex password hashes (`user` lines) become `<hash>`.
fn no_hashes(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let h = w.trim_start_matches('#');
            if h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) {
                "<hash>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `name=` of every connection a sentinel's CLIENT LIST shows, without the id part.
fn client_names(port: u16, auth: Auth) -> Result<Vec<String>, String> {
    let list = qs(port, auth, &["CLIENT", "LIST"])?;
    Ok(list.lines().filter_map(|c| c.split(' ').find_map(|f| f.strip_prefix("name=")).map(str::to_string)).collect())
}

/// Sentinels protected by `requirepass`, rotated at run time as a sentinel allows it (no
/// `CONFIG SET` there): `ACL SETUSER default resetpass >new` and `SENTINEL CONFIG SET
/// sentinel-pass new` on each. The rewritten config keeps the new password, and after a
/// restart the peers re-authenticate with it both ways (their command links, named
/// `sentinel-<id>-cmd`, reappear in each other's `CLIENT LIST`).
#[test]
fn rotating_the_sentinels_password() {
    both("rotate the sentinels' password", |kind| {
        let mut topo = Topology::start(kind, 1, 0);
        for i in 0..2 {
            let p = start_sentinel_with(
                topo.root.path(),
                &format!("sentinel-{i}"),
                kind,
                ConfFormat::RedisConf,
                &topo.master_conf,
                |c| c + "requirepass old-pw\n",
            );
            topo.sentinels.push(p);
        }
        let (old, new): (Auth, Auth) = (Some(("", "old-pw")), Some(("", "new-pw")));
        let mut l = Labels::default();
        l.add(topo.master.port, "M");
        l.add(topo.replicas[0].port, "R1");
        l.add(topo.sentinels[0].port, "S0");
        l.add(topo.sentinels[1].port, "S1");
        let (p0, p1) = (topo.sentinels[0].port, topo.sentinels[1].port);
        let mut obs = Obs::new();
        obs.push(wait_eq("S0 sees S1", &["127.0.0.1:S1 sentinel"], || entries(p0, old, "SENTINELS", &l)));
        obs.push(wait_eq("S1 sees S0", &["127.0.0.1:S0 sentinel"], || entries(p1, old, "SENTINELS", &l)));
        for (i, p) in [p0, p1].into_iter().enumerate() {
            obs.push(format!(
                "S{i} ACL SETUSER -> {}",
                ok(q(p, old, &["ACL", "SETUSER", "default", "resetpass", ">new-pw"]))
            ));
            obs.push(format!("S{i} old password -> {}", ok(q(p, old, &["PING"]))));
            let set = q(p, new, &["SENTINEL", "CONFIG", "SET", "sentinel-pass", "new-pw"]);
            obs.push(format!("S{i} CONFIG SET sentinel-pass -> {}", ok(set)));
        }
        let conf0 = topo.sentinels[0].dir.join("sentinel.conf");
        let lines = |prefix: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = file_lines(&conf0)
                .into_iter()
                .filter(|x| prefix.iter().any(|p| x.starts_with(p)))
                .map(|x| no_hashes(&x))
                .collect();
            v.sort();
            v
        };
        // (Redis also re-quotes the untouched `requirepass` line; ours keeps non-sentinel
        // lines as written: cosmetic, docs/differences.md.)
        obs.push(format!("S0's config: {:?}", lines(&["sentinel sentinel-"])));
        // Redis writes every user into the config on its next flush (here the one of
        // CONFIG SET), so the rotated password survives a restart; ours too since the
        // persister reads the listener's user registry (found by this test).
        obs.push(format!("S0's user lines: {:?}", lines(&["user "])));
        let id0 = sentinel_myid_auth(p0, new);
        let id1 = sentinel_myid_auth(p1, new);
        topo.sentinels[0].restart();
        let after = format!("new: {} / old: {}", ok(q(p0, new, &["PING"])), ok(q(p0, old, &["PING"])));
        obs.push(format!("S0 after a restart: {after}"));
        assert!(
            after.starts_with("new: PONG / old: error: Password authentication failed"),
            "{}: passwords accepted after a restart: {after}",
            kind_label(kind)
        );
        let now = new;
        let (n0, n1) = (format!("sentinel-{}-cmd", &id0[..8]), format!("sentinel-{}-cmd", &id1[..8]));
        wait_until(T_DISCOVERY, "S0's command link on S1 (S0 authenticated with its persisted sentinel-pass)", || {
            let names = client_names(p1, new)?;
            if names.contains(&n0) {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        });
        wait_until(T_DISCOVERY, "S1's command link on S0 (S1 authenticated with the new sentinel-pass)", || {
            let names = client_names(p0, now)?;
            if names.contains(&n1) {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        });
        obs.push(wait_eq("S0 sees S1 after the restart", &["127.0.0.1:S1 sentinel"], || {
            entries(p0, now, "SENTINELS", &l)
        }));
        obs
    });
}

fn sentinel_myid_auth(port: u16, auth: Auth) -> String {
    qs(port, auth, &["SENTINEL", "MYID"]).unwrap()
}

/// Several bind addresses, one set of users (found while rotating passwords: ours kept a
/// user registry per listener, so an `ACL SETUSER` made through one address did not hold
/// on the others; fixed in src/server/shared.rs).
#[test]
fn acl_changes_hold_on_every_bind_address() {
    both("ACL with several bind addresses", |kind| {
        let root = tempfile::Builder::new().prefix("sentinel-proc-").tempdir().expect("temp dir");
        let m = start_redis(root.path(), "redis-a", None);
        let s =
            start_sentinel_with(root.path(), "sentinel", kind, ConfFormat::RedisConf, &MasterConf::new(m.port), |c| {
                c.replace(&format!("bind {HOST}\n"), &format!("bind {HOST} 127.0.0.2\n"))
            });
        let pw: Auth = Some(("", "pw2"));
        let mut obs = Obs::new();
        obs.push(format!("127.0.0.2 PING -> {}", ok(q_at("127.0.0.2", s.port, None, &["PING"]))));
        let set = q_at(HOST, s.port, None, &["ACL", "SETUSER", "default", "resetpass", ">pw2"]);
        obs.push(format!("127.0.0.1 ACL SETUSER default resetpass >pw2 -> {}", ok(set)));
        obs.push(format!("127.0.0.2 PING -> {}", ok(q_at("127.0.0.2", s.port, None, &["PING"]))));
        obs.push(format!("127.0.0.2 AUTH pw2, PING -> {}", ok(q_at("127.0.0.2", s.port, pw, &["PING"]))));
        obs.push(format!("127.0.0.1 PING -> {}", ok(q_at(HOST, s.port, None, &["PING"]))));
        assert!(obs[2].contains("NOAUTH"), "{}: {obs:?}", kind_label(kind));
        drop(m);
        obs
    });
}
