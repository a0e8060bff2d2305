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

    /// Sends several commands at once and reads `n` replies (for `CLIENT REPLY`).
    fn pipeline(&mut self, cmds: &[&[&str]], n: usize) -> String {
        let mut out = String::new();
        for args in cmds {
            out.push_str(&format!("*{}\r\n", args.len()));
            for a in *args {
                out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
            }
        }
        self.r.get_mut().write_all(out.as_bytes()).expect("write");
        (0..n).map(|_| self.read()).collect::<Vec<_>>().join(" ")
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
/// from the 7.0.15 reference installed here (docs/behaviour.md §11.4, §15.6, §18):
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

/// Connection, ACL and COMMAND surface (issue 3), run in this order on one connection per
/// side, so the stateful ones (SETUSER, AUTH as a restricted user) line up.
const SAME_SURFACE: &[&[&str]] = &[
    &["CLIENT", "HELP"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING"],
    &["CLIENT", "PAUSE", "x"],
    &["CLIENT", "PAUSE", "-1"],
    &["CLIENT", "PAUSE", "10", "bad"],
    &["CLIENT", "PAUSE", "10", "all", "extra"],
    &["CLIENT", "PAUSE", "10", "WRITE"],
    &["CLIENT", "PAUSE", "10"],
    &["CLIENT", "UNPAUSE"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "TRACKING", "on", "optin"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "optin"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING", "no"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on", "optin", "optout"],
    &["CLIENT", "TRACKING", "on", "REDIRECT", "99999"],
    &["CLIENT", "TRACKING", "on", "PREFIX", "a"],
    &["CLIENT", "TRACKING", "bad"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "bcast", "optin"],
    &["CLIENT", "UNBLOCK", "1"],
    &["CLIENT", "UNBLOCK", "1", "error"],
    &["CLIENT", "UNBLOCK", "1", "bad"],
    &["CLIENT", "UNBLOCK", "x"],
    &["CLIENT", "NO-EVICT", "on"],
    &["CLIENT", "NO-EVICT", "bad"],
    &["CLIENT", "NO-EVICT"],
    &["CLIENT", "REPLY", "bad"],
    &["CLIENT", "REPLY"],
    &["CLIENT", "LIST", "ID", "x"],
    &["CLIENT", "KILL", "USER", "nosuch"],
    &["CLIENT", "KILL", "ID", "999999"],
    &["ACL", "HELP"],
    &["ACL", "GETUSER", "default"],
    &["ACL", "SETUSER", "u1"],
    &["ACL", "GETUSER", "u1"],
    &["ACL", "SETUSER", "u3", "on", "nopass", "+@all", "~*", "&*", "-sentinel|set", "-info"],
    &[
        "ACL",
        "SETUSER",
        "u4",
        "allchannels",
        "+ping",
        "-ping",
        "+ping",
        "resetchannels",
        "&foo",
        "&bar*",
        "+@connection",
        "-client",
    ],
    &["ACL", "USERS"],
    &["ACL", "WHOAMI"],
    &["ACL", "DRYRUN", "u3", "ping"],
    &["ACL", "DRYRUN", "u3", "sentinel", "set", "x", "y", "z"],
    &["ACL", "DRYRUN", "u3", "info"],
    &["ACL", "DRYRUN", "nobody", "ping"],
    &["ACL", "DRYRUN", "u3", "nosuchcmd"],
    &["ACL", "DRYRUN", "u3", "role", "x"],
    &["ACL", "DELUSER", "u1", "u9"],
    &["ACL", "DELUSER", "default"],
    &["ACL", "SETUSER", "u5", "+get"],
    &["ACL", "SETUSER", "u5", "bogus"],
    &["ACL", "SETUSER", "u5", "+@nosuch"],
    &["ACL", "SETUSER", "u5", "+client|nosuch"],
    &["ACL", "SETUSER", "u5", "-client|id"],
    &["ACL", "SETUSER", "u5", "&*", "&foo"],
    &["ACL", "SETUSER", "u5", "#abc"],
    &["ACL", "GETUSER", "u5"],
    &["ACL", "GETUSER", "nosuch"],
    &["ACL", "GENPASS", "0"],
    &["ACL", "GENPASS", "x"],
    &["ACL", "CAT"],
    &["ACL", "CAT", "nosuch"],
    &["ACL", "SAVE"],
    &["ACL", "LOAD"],
    &["ACL", "NOPE"],
    &["COMMAND", "COUNT"],
    &["COMMAND", "HELP"],
    &["COMMAND", "INFO", "ping", "auth", "hello", "info", "role", "publish", "shutdown", "nosuch"],
    &["COMMAND", "DOCS", "ping", "hello", "info", "shutdown"],
    &["COMMAND", "GETKEYS", "sentinel", "masters"],
    &["COMMAND", "GETKEYS", "nosuch"],
    &["COMMAND", "GETKEYSANDFLAGS", "ping"],
    &["AUTH", "nosuch", "x"],
    &["AUTH", "u3", "whatever"],
    &["ACL", "WHOAMI"],
    &["INFO"],
    &["SENTINEL", "SET", MASTER_NAME, "quorum", "2"],
    &["CLIENT", "KILL", "USER", "u3", "ID", "999999"],
    &["AUTH", "u4", "x"],
];

/// Replies whose element order is Redis's hash-table order (random per process), or
/// whose rule order follows it (ACL rule descriptions): compared as sorted token lists.
/// Before sorting, ours loses what it deliberately adds over 7.0.15: `CLIENT SETINFO`
/// (7.2, §11.1). `SENTINEL CONFIG`'s 7.2 arity (−4 vs −3) vanishes in the digit
/// normalisation.
const SAME_UNORDERED_TOKENS: &[&[&str]] = &[
    &["COMMAND"],
    &["COMMAND", "INFO", "client", "acl", "command", "sentinel"],
    &["COMMAND", "LIST"],
    &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "fast"],
    &["COMMAND", "LIST", "FILTERBY", "PATTERN", "c*"],
    &["COMMAND", "DOCS"],
    &["ACL", "CAT", "connection"],
    &["ACL", "CAT", "admin"],
    &["ACL", "CAT", "slow"],
    &["ACL", "CAT", "pubsub"],
    &["ACL", "CAT", "fast"],
    &["ACL", "CAT", "dangerous"],
    &[
        "ACL",
        "SETUSER",
        "u2",
        "on",
        ">pw",
        "-@all",
        "+auth",
        "+client|getname",
        "+client|id",
        "+client|setname",
        "+command",
        "+hello",
        "+ping",
        "+role",
        "+sentinel|get-master-addr-by-name",
        "+sentinel|master",
        "+sentinel|myid",
        "+sentinel|replicas",
        "+sentinel|sentinels",
    ],
    &["ACL", "GETUSER", "u2"],
    &["ACL", "GETUSER", "u4"],
    &["ACL", "LIST"],
];

/// Run after [`SAME_SURFACE`] created `u3`.
const SAME_UNORDERED_AFTER: &[&[&str]] = &[&["ACL", "GETUSER", "u3"]];

/// Drops `client|setinfo` (its `COMMAND INFO` entry or its name) from a reply shape.
fn without_setinfo(s: &str) -> String {
    let mut s = s.to_string();
    while let Some(start) = s.find("*[$client|setinfo ") {
        let mut depth = 0;
        let mut end = start;
        for (i, c) in s[start..].char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(start..end, "");
    }
    s.replace("$client|setinfo", "")
}

fn sorted_tokens(s: &str) -> String {
    let mut t: Vec<&str> = s.split([' ', '[', ']']).filter(|t| !t.is_empty()).collect();
    t.sort_unstable();
    t.join(" ")
}

/// Runs [`SAME_SURFACE`] and [`SAME_UNORDERED_TOKENS`], then `CLIENT REPLY` pipelines.
fn compare_surface(diffs: &mut Vec<String>, rport: u16, oport: u16, proto: u8) {
    let (mut r, mut o) = (Raw::open(rport), Raw::open(oport));
    if proto == 3 {
        let _ = (r.shape(&["HELLO", "3"]), o.shape(&["HELLO", "3"]));
    }
    for cmd in SAME_UNORDERED_TOKENS {
        let label = format!("RESP{proto} {} (token order ignored)", cmd.join(" "));
        let (a, b) = (sorted_tokens(&r.shape(cmd)), sorted_tokens(&without_setinfo(&o.shape(cmd))));
        compare(diffs, &label, a, b);
    }
    for cmd in SAME_SURFACE {
        let label = format!("RESP{proto} {}", cmd.join(" "));
        let (a, b) = (r.shape(cmd), o.shape(cmd));
        compare(diffs, &label, a, b);
    }
    let (mut r, mut o) = (Raw::open(rport), Raw::open(oport));
    for cmd in SAME_UNORDERED_AFTER {
        let label = format!("RESP{proto} {} (token order ignored)", cmd.join(" "));
        compare(diffs, &label, sorted_tokens(&r.shape(cmd)), sorted_tokens(&o.shape(cmd)));
    }
    // Clean up the users so the next protocol's run starts the same way.
    for side in [rport, oport] {
        let mut c = Raw::open(side);
        c.shape(&["ACL", "DELUSER", "u2", "u3", "u4", "u5"]);
    }
    let (mut r, mut o) = (Raw::open(rport), Raw::open(oport));
    let seq: &[&[&str]] = &[
        &["CLIENT", "REPLY", "SKIP"],
        &["PING", "a"],
        &["PING", "b"],
        &["CLIENT", "REPLY", "OFF"],
        &["PING", "c"],
        &["CLIENT", "REPLY", "bad"],
        &["CLIENT", "REPLY", "ON"],
        &["PING", "d"],
        &["CLIENT", "REPLY", "SKIP"],
        &["CLIENT", "REPLY", "ON"],
        &["FOO"],
    ];
    compare(diffs, &format!("RESP{proto} CLIENT REPLY sequence"), r.pipeline(seq, 5), o.pipeline(seq, 5));
    // Random passwords: same length (bits / 4 hex digits, rounded up).
    for args in [&["ACL", "GENPASS"][..], &["ACL", "GENPASS", "5"], &["ACL", "GENPASS", "300"]] {
        let len = |port| query(port, args).ok().and_then(|v| value_str(&v)).map(|s| s.len());
        compare(diffs, &format!("{} length", args.join(" ")), format!("{:?}", len(rport)), format!("{:?}", len(oport)));
    }
}

/// `SENTINEL REPLICAS/SLAVES`: same element shape, order of replicas not significant.
const SAME_UNORDERED: &[&[&str]] = &[&["SENTINEL", "REPLICAS", MASTER_NAME], &["SENTINEL", "SLAVES", MASTER_NAME]];

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
    compare_surface(&mut diffs, rport, oport, 2);
    compare_surface(&mut diffs, rport, oport, 3);
    for args in [&["INFO"][..], &["INFO", "sentinel"], &["INFO", "server", "clients"], &["INFO", "everything"]] {
        let (a, b) = (info_layout(&raw_info(rport, args)), info_layout(&raw_info(oport, args)));
        // Ours adds Redis 7.2's `sentinel_total_tilt` (issue 9, item 8) on purpose.
        let b: Vec<String> = b.into_iter().map(|l| l.replace(" sentinel_total_tilt", "")).collect();
        compare(&mut diffs, &format!("{} layout", args.join(" ")), a.join("\n    "), b.join("\n    "));
    }
    // The Valkey aliases answer exactly like the Redis names.
    for (alias, name) in [
        (&["SENTINEL", "PRIMARY", MASTER_NAME][..], &["SENTINEL", "MASTER", MASTER_NAME][..]),
        (&["SENTINEL", "PRIMARIES"], &["SENTINEL", "MASTERS"]),
        (&["SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", MASTER_NAME], &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]),
    ] {
        let mut o = Raw::open(oport);
        compare(&mut diffs, &format!("ours: {} vs {}", alias.join(" "), name.join(" ")), o.shape(name), o.shape(alias));
    }
    assert!(diffs.is_empty(), "{} differences from redis-sentinel:\n{}", diffs.len(), diffs.join("\n"));
}
