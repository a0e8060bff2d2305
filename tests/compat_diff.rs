//! Differential test (issue 3): the same read-only commands sent to Debian's
//! `redis-sentinel` and to ours, both watching the same 1 master + 2 replicas (and each
//! other), with the reply *structures* compared: RESP types, field names and order, flag
//! strings, error texts. Values that legitimately differ (run ids, ports, times, counters)
//! are normalised: every 40-hex id becomes `<id>`, every digit run `#`.
//!
//! Replies are read with a tiny raw RESP2/RESP3 reader (below) rather than a client
//! library, so status vs bulk, maps vs arrays, verbatim strings and nulls stay visible.
//! All differences are collected and reported together.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection speaking raw RESP.
struct Raw {
    r: BufReader<TcpStream>,
}

impl Raw {
    fn open(port: u16) -> Raw {
        let s = TcpStream::connect((HOST, port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw { r: BufReader::new(s) }
    }

    /// Sends one command and returns the normalised shape of its reply.
    fn shape(&mut self, args: &[&str]) -> String {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.r.get_mut().write_all(out.as_bytes()).expect("write");
        self.read()
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("read reply line");
        assert!(l.ends_with("\r\n"), "truncated reply line {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    /// Reads one reply as `type(value)`, aggregates recursively.
    fn read(&mut self) -> String {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        match t {
            "+" | "-" | ":" | "," | "#" | "(" => format!("{t}{}", norm(rest)),
            "_" => "_".into(),
            "$" | "=" | "!" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return format!("{t}nil");
                }
                let mut buf = vec![0; n as usize + 2];
                self.r.read_exact(&mut buf).unwrap();
                format!("{t}{}", norm(&String::from_utf8_lossy(&buf[..n as usize])))
            }
            "*" | "~" | ">" | "%" | "|" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return format!("{t}nil");
                }
                let per = if t == "%" || t == "|" { 2 } else { 1 };
                let items: Vec<String> = (0..n * per).map(|_| self.read()).collect();
                format!("{t}[{}]", items.join(" "))
            }
            _ => panic!("unknown RESP type in {l:?}"),
        }
    }
}

/// Replaces 40-hex ids by `<id>` and digit runs by `#`.
fn norm(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex == 40 {
            out.push_str("<id>");
            i += 40;
        } else if b[i].is_ascii_digit() {
            out.push('#');
            i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Commands whose normalised replies must be identical (RESP2 and RESP3 each).
///
/// Deliberately left out, because ours follows Redis 7.2 / Valkey 8 where they differ
/// from the 7.0.15 reference installed here (SENTINEL-SPEC §11.4, §15.6, §18):
/// * `SENTINEL PRIMARY|PRIMARIES|GET-PRIMARY-ADDR-BY-NAME|IS-PRIMARY-DOWN-BY-ADDR`: Valkey
///   aliases, unknown subcommands to Redis 7.0 (checked below to equal the Redis names);
/// * `SENTINEL CONFIG GET *` also lists `loglevel`, and takes several patterns (7.2);
/// * `SENTINEL CONFIG <bad> ...`: 7.2's arity (−4) and error text
///   (`GET <param> [<param> <param> ...] / SET <param> <value> [<param> <value> ...]`).
const SAME: &[&[&str]] = &[
    &["PING"],
    &["PING", "hello"],
    &["SENTINEL", "MASTERS"],
    &["SENTINEL", "MASTER", MASTER_NAME],
    &["SENTINEL", "SENTINELS", MASTER_NAME],
    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
    &["SENTINEL", "CKQUORUM", MASTER_NAME],
    &["SENTINEL", "MYID"],
    &["SENTINEL", "MASTER", "nosuch"],
    &["SENTINEL", "REPLICAS", "nosuch"],
    &["SENTINEL", "CKQUORUM", "nosuch"],
    &["SENTINEL"],
    &["SENTINEL", "NOSUCHSUB"],
    &["SENTINEL", "MASTER"],
    &["SENTINEL", "MASTERS", "extra"],
    &["SENTINEL", "get-master-addr-by-name"],
    &["SENTINEL", "SET", MASTER_NAME],
    &["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"],
    &["SENTINEL", "INFO-CACHE", "nosuch"],
    &["SENTINEL", "PENDING-SCRIPTS"],
    &["SENTINEL", "CONFIG", "GET", "resolve-hostnames"],
    &["SENTINEL", "CONFIG", "GET", "*n*"], // every parameter but `loglevel`
    &["SENTINEL", "SIMULATE-FAILURE", "HELP"],
    &["SENTINEL", "DEBUG"],
    &["ROLE"],
    &["COMMAND", "COUNT"],
    &["FOO", "bar", "baz"],
    &["SELECT", "0"],
    &["CONFIG", "GET", "port"],
    &["GET", "x"],
    &["PUBLISH", "chan", "x"],
    &["PUBLISH"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "SETNAME", "diff"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "NO-TOUCH", "on"],
    &["CLIENT", "BOGUS"],
    &["ACL", "WHOAMI"],
    &["ACL", "USERS"],
    &["AUTH", "x"],
    &["AUTH", "default", "x"],
    &["INFO", "nosuchsection"],
    &["ECHO", "x"],
];

/// `SENTINEL REPLICAS/SLAVES`: same element shape, order of replicas not significant.
const SAME_UNORDERED: &[&[&str]] = &[
    &["SENTINEL", "REPLICAS", MASTER_NAME],
    &["SENTINEL", "SLAVES", MASTER_NAME],
];

/// Section headers and field names of an `INFO` text, in order (`# Server: a b c`).
fn info_layout(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in text.split("\r\n") {
        if let Some(h) = l.strip_prefix("# ") {
            out.push(format!("# {h}:"));
        } else if let Some((k, _)) = l.split_once(':') {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(&norm(k));
            }
        }
    }
    out
}

fn raw_info(port: u16, args: &[&str]) -> String {
    let v = query(port, args).unwrap();
    value_str(&v).unwrap_or_default()
}

/// Compares one command's shape on both; records a difference.
fn compare(diffs: &mut Vec<String>, label: &str, redis: String, ours: String) {
    if redis != ours {
        diffs.push(format!("{label}\n    redis: {redis}\n    ours:  {ours}"));
    }
}

fn compare_protocol(diffs: &mut Vec<String>, rport: u16, oport: u16, proto: u8) {
    let (mut r, mut o) = (Raw::open(rport), Raw::open(oport));
    if proto == 3 {
        let (hr, ho) = (r.shape(&["HELLO", "3"]), o.shape(&["HELLO", "3"]));
        compare(diffs, "HELLO 3", hr, ho);
    }
    for cmd in SAME {
        let label = format!("RESP{proto} {}", cmd.join(" "));
        let (a, b) = (r.shape(cmd), o.shape(cmd));
        compare(diffs, &label, a, b);
    }
    for cmd in SAME_UNORDERED {
        let label = format!("RESP{proto} {} (unordered)", cmd.join(" "));
        let sorted = |s: String| {
            let mut v: Vec<String> = s.split(" %[").map(String::from).collect();
            v.sort();
            v.join(" %[")
        };
        let (a, b) = (sorted(r.shape(cmd)), sorted(o.shape(cmd)));
        compare(diffs, &label, a, b);
    }
}

#[test]
fn differential_read_only_commands() {
    let mut topo = Topology::start(SentinelKind::Redis, 2, 0);
    let conf = topo.master_conf.clone();
    topo.sentinels.push(start_sentinel(
        topo.root.path(),
        "sentinel-redis",
        SentinelKind::Redis,
        ConfFormat::RedisConf,
        &conf,
    ));
    topo.sentinels.push(start_sentinel(
        topo.root.path(),
        "sentinel-ours",
        SentinelKind::Ours,
        ConfFormat::RedisConf,
        &conf,
    ));
    topo.wait_discovery(2, 1);
    // Let both poll everything at least once more (INFO every 10 s, hellos every 2 s).
    std::thread::sleep(Duration::from_secs(3));
    let (rport, oport) = (topo.sentinels[0].port, topo.sentinels[1].port);

    let mut diffs = Vec::new();
    compare_protocol(&mut diffs, rport, oport, 2);
    compare_protocol(&mut diffs, rport, oport, 3);
    for args in [
        &["INFO"][..],
        &["INFO", "sentinel"],
        &["INFO", "server", "clients"],
        &["INFO", "everything"],
    ] {
        let (a, b) = (info_layout(&raw_info(rport, args)), info_layout(&raw_info(oport, args)));
        compare(
            &mut diffs,
            &format!("{} layout", args.join(" ")),
            a.join("\n    "),
            b.join("\n    "),
        );
    }
    // The Valkey aliases answer exactly like the Redis names.
    for (alias, name) in [
        (
            &["SENTINEL", "PRIMARY", MASTER_NAME][..],
            &["SENTINEL", "MASTER", MASTER_NAME][..],
        ),
        (&["SENTINEL", "PRIMARIES"], &["SENTINEL", "MASTERS"]),
        (
            &["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", MASTER_NAME],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        ),
    ] {
        let mut o = Raw::open(oport);
        compare(
            &mut diffs,
            &format!("ours: {} vs {}", alias.join(" "), name.join(" ")),
            o.shape(name),
            o.shape(alias),
        );
    }
    assert!(
        diffs.is_empty(),
        "{} differences from redis-sentinel:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
