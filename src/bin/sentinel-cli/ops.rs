//! The on-call commands of `sentinel-cli`: `check`, `explain`, `watch`, and the JSON
//! forms of the others. Standard SENTINEL commands only (MASTER, MASTERS, REPLICAS,
//! SENTINELS, CKQUORUM, GET-MASTER-ADDR-BY-NAME), so they work against `redis-sentinel`.

use super::{connect, list, Cli, Conn, Fields};
use anyhow::{bail, Context, Result};
use sentinel::resp::Value;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Colours only when stdout is a terminal (and `NO_COLOR` is unset).
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn print_json(v: &Json) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A RESP reply as JSON (maps with text keys become objects).
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Simple(s) => Json::String(s.clone()),
        Value::Error(e) => json!({ "error": e }),
        Value::Int(n) => json!(n),
        Value::Bulk(b) | Value::Verbatim(_, b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::Null | Value::NullArray => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Double(d) => json!(d),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => items.iter().map(to_json).collect(),
        Value::Map(pairs) => {
            Json::Object(pairs.iter().map(|(k, v)| (k.as_string().unwrap_or_default(), to_json(v))).collect())
        }
    }
}

fn fields_json(f: &Fields) -> Json {
    Json::Object(f.0.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect::<Map<_, _>>())
}

/// Instances the sentinel cannot authenticate to, `ip:port` → what the instance answered
/// (`NOAUTH ...`, `WRONGPASS ...`), from the `+auth-failed` / `-auth-failed` events of
/// our `SENTINEL TIMELINE` (its last 256 events of the master). `None` when the sentinel
/// has no TIMELINE (`redis-sentinel`, which has no such event either).
pub fn auth_failures(conn: &mut Conn, name: &str) -> Option<BTreeMap<String, String>> {
    let Ok(Value::Array(entries)) = conn.call_ok(&["SENTINEL", "TIMELINE", name]) else { return None };
    let mut open = BTreeMap::new();
    for e in &entries {
        let Value::Array(f) = e else { continue };
        let text: Vec<String> = f.iter().map(|v| v.as_string().unwrap_or_default()).collect();
        let [_, event, message] = text.as_slice() else { continue };
        // `<kind> <name> <ip> <port> [@ <master> <ip> <port>] [authentication failed: <reply>]`
        let (details, reason) = message.split_once(" authentication failed").unwrap_or((message, ""));
        let words: Vec<&str> = details.split_whitespace().collect();
        let [_, _, ip, port, ..] = words.as_slice() else { continue };
        let addr = format!("{ip}:{port}");
        match event.as_str() {
            "+auth-failed" => {
                let reason = reason.trim_start_matches(':').trim();
                open.insert(addr, reason.to_string());
            }
            "-auth-failed" => {
                open.remove(&addr);
            }
            _ => {}
        }
    }
    Some(open)
}

/// The lines `status` prints about authentication for master `name` at `addr` (with the
/// fix an on-call person can apply).
pub fn auth_lines(
    name: &str,
    master: &Fields,
    replicas: &[Fields],
    failures: Option<&BTreeMap<String, String>>,
) -> Vec<String> {
    let mut lines = Vec::new();
    match failures {
        Some(failed) if !failed.is_empty() => {
            let role = |addr: &str| {
                if addr == master.addr() {
                    "the master"
                } else if replicas.iter().any(|r| r.addr() == addr) {
                    "replica"
                } else {
                    "sentinel"
                }
            };
            for (addr, reason) in failed {
                lines.push(format!(
                    "  AUTHENTICATION FAILED: this sentinel cannot log in to {} {addr}, which answers \"{reason}\"",
                    role(addr)
                ));
            }
            lines.push(format!(
                "    fix: give the sentinel the instances' password: SENTINEL SET {name} auth-pass <password> \
                 (and auth-user <user> for an ACL user) on every sentinel, or `sentinel auth-pass {name} ...` in its config"
            ));
        }
        Some(_) => {}
        // redis-sentinel: `disconnected` is all it tells.
        None if master.flags().contains(&"disconnected") => lines.push(
            "  master link down: this sentinel has no working connection to the master (it is down, unreachable, \
             or refuses the sentinel's password: this sentinel does not say which; check its log and `sentinel auth-pass`)"
                .to_string(),
        ),
        None => {}
    }
    lines
}

/// `status --json`: every master's fields with its replicas and sentinels.
pub fn status_json(conn: &mut Conn) -> Result<Json> {
    let masters = list(conn.call_ok(&["SENTINEL", "MASTERS"])?)?;
    let mut out = Vec::new();
    for m in &masters {
        let name = m.get("name").to_string();
        let mut obj = fields_json(m);
        let replicas = list(conn.call_ok(&["SENTINEL", "REPLICAS", &name])?)?;
        let sentinels = list(conn.call_ok(&["SENTINEL", "SENTINELS", &name])?)?;
        obj["replicas"] = replicas.iter().map(fields_json).collect();
        obj["sentinels"] = sentinels.iter().map(fields_json).collect();
        // Ours: `[{"address", "reply"}]` of instances refusing our credentials (absent
        // against redis-sentinel, which does not report it).
        if let Some(failed) = auth_failures(conn, &name) {
            obj["auth_failures"] =
                failed.iter().map(|(addr, reply)| json!({"address": addr, "reply": reply})).collect();
        }
        out.push(obj);
    }
    Ok(Json::Array(out))
}

fn num(f: &Fields, key: &str) -> i64 {
    f.get(key).parse().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Level {
    Ok = 0,
    Warn = 1,
    Crit = 2,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Crit => "CRIT",
        }
    }
}

struct Findings(Vec<(Level, String)>);

impl Findings {
    fn add(&mut self, level: Level, msg: impl Into<String>) {
        self.0.push((level, msg.into()));
    }

    fn worst(&self) -> Level {
        self.0.iter().map(|(l, _)| *l).max().unwrap_or(Level::Ok)
    }
}

/// `check`: prints findings and returns the exit code (0/1/2).
pub fn check(cli: &Cli, name: Option<&str>) -> i32 {
    let mut f = Findings(Vec::new());
    let mut checked = Vec::new();
    match connect(cli, &cli.host, cli.port) {
        Err(e) => f.add(Level::Crit, format!("sentinel {}:{} unreachable: {e:#}", cli.host, cli.port)),
        Ok(mut conn) => {
            let names: Result<Vec<String>> = match name {
                Some(n) => Ok(vec![n.to_string()]),
                None => conn
                    .call_ok(&["SENTINEL", "MASTERS"])
                    .and_then(list)
                    .map(|ms| ms.iter().map(|m| m.get("name").to_string()).collect()),
            };
            match names {
                Err(e) => f.add(Level::Crit, format!("SENTINEL MASTERS: {e:#}")),
                Ok(names) if names.is_empty() => f.add(Level::Warn, "no masters monitored"),
                Ok(names) => {
                    for n in names {
                        if let Err(e) = check_master(cli, &mut conn, &n, &mut f) {
                            f.add(Level::Crit, format!("{n}: {e:#}"));
                        }
                        checked.push(n);
                    }
                }
            }
        }
    }
    let worst = f.worst();
    if cli.json {
        let problems: Vec<_> = f.0.iter().map(|(l, m)| json!({"level": l.word(), "message": m})).collect();
        let status = ["ok", "warning", "critical"][worst as usize];
        let _ = print_json(&json!({"exit": worst as i32, "status": status, "masters": checked, "findings": problems}));
    } else {
        let c = colour();
        for (l, m) in &f.0 {
            let code = ["32", "33", "31"][*l as usize];
            println!("{} {m}", paint(c, code, l.word()));
        }
        if f.0.is_empty() {
            println!("OK");
        }
    }
    worst as i32
}

fn check_master(cli: &Cli, conn: &mut Conn, name: &str, f: &mut Findings) -> Result<()> {
    let m = Fields::from(&conn.call_ok(&["SENTINEL", "MASTER", name])?);
    let addr = m.addr();
    let flags = m.flags();
    let epoch = m.get("config-epoch").to_string();
    if flags.contains(&"o_down") || flags.contains(&"s_down") {
        f.add(Level::Crit, format!("{name}: master {addr} is down ({})", m.get("flags")));
    } else {
        f.add(Level::Ok, format!("{name}: master {addr} up, config-epoch {epoch}"));
    }
    if !m.get("failover-state").is_empty() || flags.contains(&"failover_in_progress") {
        f.add(Level::Warn, format!("{name}: failover in progress ({})", m.get("failover-state")));
    }
    match conn.call(&["SENTINEL", "CKQUORUM", name])? {
        Value::Error(e) => f.add(Level::Crit, format!("{name}: {e}")),
        v => f.add(Level::Ok, format!("{name}: {}", v.as_string().unwrap_or_default())),
    }
    let replicas = list(conn.call_ok(&["SENTINEL", "REPLICAS", name])?)?;
    let bad: Vec<String> = replicas
        .iter()
        .filter(|r| r.flags().iter().any(|x| matches!(*x, "s_down" | "o_down" | "disconnected")))
        .map(|r| format!("{} ({})", r.addr(), r.get("flags")))
        .collect();
    if replicas.is_empty() {
        f.add(Level::Warn, format!("{name}: no replicas known"));
    } else if !bad.is_empty() {
        f.add(Level::Warn, format!("{name}: replicas down: {}", bad.join(", ")));
    }
    // Every peer must give the same address (critical) and config epoch (warning).
    for s in list(conn.call_ok(&["SENTINEL", "SENTINELS", name])?)? {
        let peer = s.addr();
        if s.flags().iter().any(|x| matches!(*x, "s_down" | "disconnected")) {
            f.add(Level::Warn, format!("{name}: sentinel {peer} is down ({})", s.get("flags")));
            continue;
        }
        let port: u16 = s.get("port").parse().unwrap_or(0);
        let answer = connect(cli, s.get("ip"), port).and_then(|mut c| {
            let pm = Fields::from(&c.call_ok(&["SENTINEL", "MASTER", name])?);
            let addr = match c.call_ok(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])? {
                Value::Array(a) if a.len() == 2 => {
                    format!("{}:{}", a[0].as_string().unwrap_or_default(), a[1].as_string().unwrap_or_default())
                }
                other => bail!("unexpected GET-MASTER-ADDR-BY-NAME reply {other:?}"),
            };
            Ok((addr, pm.get("config-epoch").to_string()))
        });
        match answer {
            Err(e) => f.add(Level::Warn, format!("{name}: sentinel {peer} not reachable from here: {e:#}")),
            Ok((a, _)) if a != addr => {
                f.add(Level::Crit, format!("{name}: sentinel {peer} says the master is {a}, this one says {addr}"))
            }
            Ok((_, e)) if e != epoch => {
                f.add(Level::Warn, format!("{name}: sentinel {peer} has config-epoch {e}, this one {epoch}"))
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------------------

/// PING period of §2.1 (fixed in Redis Sentinel) and the INFO period.
const PING_PERIOD: i64 = 1000;
const INFO_PERIOD: i64 = 10_000;

/// Why a replica could not be promoted now (§9 exclusions), or `None`.
fn exclusion(r: &Fields, master_sdown: bool, sdown_for: i64, down_after: i64) -> Option<String> {
    let flags = r.flags();
    let info_validity = if master_sdown { 5 * PING_PERIOD } else { 3 * INFO_PERIOD };
    let max_link_down = down_after * 10 + if master_sdown { sdown_for } else { 0 };
    if flags.contains(&"s_down") || flags.contains(&"o_down") {
        Some("down".into())
    } else if flags.contains(&"disconnected") {
        Some("disconnected".into())
    } else if num(r, "last-ok-ping-reply") > 5 * PING_PERIOD {
        Some(format!("no PING reply for {} ms (> {} ms)", num(r, "last-ok-ping-reply"), 5 * PING_PERIOD))
    } else if num(r, "slave-priority") == 0 {
        Some("replica-priority 0 (never promoted)".into())
    } else if num(r, "info-refresh") > info_validity {
        Some(format!("last INFO {} ms old (> {info_validity} ms)", num(r, "info-refresh")))
    } else if num(r, "master-link-down-time") > max_link_down {
        Some(format!("link to the master down {} ms (> {max_link_down} ms)", num(r, "master-link-down-time")))
    } else {
        None
    }
}

/// §9 ranking: lower priority, then higher offset, then smaller run id.
fn rank(a: &Fields, b: &Fields) -> std::cmp::Ordering {
    num(a, "slave-priority")
        .cmp(&num(b, "slave-priority"))
        .then(num(b, "slave-repl-offset").cmp(&num(a, "slave-repl-offset")))
        .then_with(|| a.get("runid").to_ascii_lowercase().cmp(&b.get("runid").to_ascii_lowercase()))
}

pub fn explain(conn: &mut Conn, name: &str, json: bool, c: bool) -> Result<()> {
    let m = Fields::from(&conn.call_ok(&["SENTINEL", "MASTER", name])?);
    let replicas = list(conn.call_ok(&["SENTINEL", "REPLICAS", name])?)?;
    let sentinels = list(conn.call_ok(&["SENTINEL", "SENTINELS", name])?)?;
    let flags = m.flags();
    let sdown = flags.contains(&"s_down");
    let odown = flags.contains(&"o_down");
    let quorum = num(&m, "quorum");
    let down_after = num(&m, "down-after-milliseconds");
    let sdown_for = num(&m, "s-down-time");
    let peers_down: Vec<String> =
        sentinels.iter().filter(|s| s.flags().contains(&"master_down")).map(|s| s.addr()).collect();
    let seeing = peers_down.len() as i64 + sdown as i64;
    let failover = m.get("failover-state").to_string();
    let verdict = if !failover.is_empty() {
        format!("failing over now (state {failover})")
    } else if odown {
        format!("objectively down ({seeing} of quorum {quorum} agree): a failover starts once a leader is elected")
    } else if sdown {
        format!(
            "subjectively down here for {sdown_for} ms; {seeing} sentinel(s) see it down, quorum is {quorum}: \
             no failover until the quorum agrees"
        )
    } else if flags.contains(&"disconnected") || num(&m, "last-ok-ping-reply") > down_after / 2 {
        let silent = num(&m, "last-ok-ping-reply");
        // SDOWN counts from the oldest PING still unanswered (`last-ping-sent`), which
        // went out up to one ping period after the last good reply.
        let pending = match num(&m, "last-ping-sent") {
            0 => silent,
            p => p,
        };
        format!(
            "not answering for {silent} ms: subjectively down in {} ms (down-after {down_after} ms, counted from \
             the oldest unanswered PING, sent {pending} ms ago) unless it answers",
            (down_after - pending).max(0)
        )
    } else {
        format!(
            "reachable (last ok PING {} ms ago, down after {down_after} ms): no failover",
            num(&m, "last-ok-ping-reply")
        )
    };
    let votes: Vec<Json> = sentinels
        .iter()
        .filter(|s| !s.get("voted-leader").is_empty() && s.get("voted-leader") != "?")
        .map(|s| json!({"sentinel": s.addr(), "voted_leader": s.get("voted-leader"), "epoch": s.get("voted-leader-epoch")}))
        .collect();
    let mut eligible: Vec<&Fields> = Vec::new();
    let mut rows = Vec::new();
    for r in &replicas {
        match exclusion(r, sdown, sdown_for, down_after) {
            Some(why) => rows.push((r, Some(why))),
            None => eligible.push(r),
        }
    }
    eligible.sort_by(|a, b| rank(a, b));
    let best = eligible.first().map(|r| r.addr());
    for r in &eligible {
        let why = match eligible.first() {
            Some(b) if b.addr() == r.addr() => None,
            Some(b) if num(b, "slave-priority") < num(r, "slave-priority") => {
                Some(format!("priority {} > {} of {}", num(r, "slave-priority"), num(b, "slave-priority"), b.addr()))
            }
            Some(b) if num(b, "slave-repl-offset") > num(r, "slave-repl-offset") => Some(format!(
                "offset {} behind {} of {}",
                num(r, "slave-repl-offset"),
                num(b, "slave-repl-offset"),
                b.addr()
            )),
            Some(b) => Some(format!("same priority and offset as {}; larger run id", b.addr())),
            None => None,
        };
        rows.push((r, why.map(|w| format!("ranked lower: {w}"))));
    }
    if json {
        let reps: Vec<Json> = rows
            .iter()
            .map(|(r, why)| {
                json!({"address": r.addr(), "chosen": best.as_deref() == Some(r.addr().as_str()), "reason": why,
                       "priority": num(r, "slave-priority"), "offset": num(r, "slave-repl-offset"),
                       "flags": r.get("flags"), "last_ok_ping_ms": num(r, "last-ok-ping-reply"),
                       "info_refresh_ms": num(r, "info-refresh")})
            })
            .collect();
        return print_json(&json!({
            "master": name, "address": m.addr(), "flags": m.get("flags"), "config_epoch": m.get("config-epoch"),
            "quorum": quorum, "sdown": sdown, "odown": odown, "sentinels_seeing_down": seeing,
            "peers_reporting_down": peers_down, "failover_state": failover, "verdict": verdict,
            "votes": votes, "would_promote": best, "replicas": reps,
        }));
    }
    let state = if odown || sdown { paint(c, "31", &verdict) } else { paint(c, "32", &verdict) };
    println!("master {name} at {}  config-epoch {}  flags {}", m.addr(), m.get("config-epoch"), m.get("flags"));
    println!("  {state}");
    println!(
        "  seen down by: {}{}",
        if sdown { "this sentinel" } else { "not this sentinel" },
        if peers_down.is_empty() { String::new() } else { format!(", peers {}", peers_down.join(" ")) }
    );
    for v in &votes {
        println!("  vote: {} voted for {} in epoch {}", v["sentinel"], v["voted_leader"], v["epoch"]);
    }
    match &best {
        Some(b) => println!("  would promote {}", paint(c, "1", b)),
        None => println!("  {}", paint(c, "31", "would promote no replica (none eligible)")),
    }
    for (r, why) in &rows {
        let line = match why {
            None => format!(
                "{}  chosen (priority {}, offset {})",
                r.addr(),
                r.get("slave-priority"),
                r.get("slave-repl-offset")
            ),
            Some(w) => format!("{}  not chosen: {w}", r.addr()),
        };
        println!("    {line}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// watch
// ---------------------------------------------------------------------------------------

/// One row per master: what the live table shows.
fn rows(conn: &mut Conn) -> Result<Vec<Json>> {
    let masters = list(conn.call_ok(&["SENTINEL", "MASTERS"])?)?;
    let mut out = Vec::new();
    for m in &masters {
        let name = m.get("name");
        let reps = list(conn.call_ok(&["SENTINEL", "REPLICAS", name])?)?;
        let sens = list(conn.call_ok(&["SENTINEL", "SENTINELS", name])?)?;
        let ok = |xs: &[Fields]| {
            xs.iter().filter(|x| !x.flags().iter().any(|f| matches!(*f, "s_down" | "o_down" | "disconnected"))).count()
        };
        let flags = m.flags();
        let state = if flags.contains(&"o_down") {
            "ODOWN"
        } else if flags.contains(&"s_down") {
            "SDOWN"
        } else if !m.get("failover-state").is_empty() {
            "FAILOVER"
        } else {
            "ok"
        };
        out.push(json!({
            "name": name, "address": m.addr(), "state": state, "config_epoch": m.get("config-epoch"),
            "failover_state": m.get("failover-state"), "replicas_ok": ok(&reps), "replicas": reps.len(),
            "sentinels_ok": ok(&sens) + 1, "sentinels": sens.len() + 1, "quorum": m.get("quorum"),
        }));
    }
    Ok(out)
}

pub fn watch(cli: &Cli, mut conn: Conn, count: u64) -> Result<()> {
    let mut sub = connect(cli, &cli.host, cli.port)?;
    sub.call_ok(&["PSUBSCRIBE", "*"])?;
    sub.stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let tty = colour();
    let mut recent: Vec<String> = Vec::new();
    let mut draws = 0u64;
    let mut last: Option<Json> = None;
    loop {
        let table = rows(&mut conn)?;
        // Off a terminal, a frame is written only when something changed.
        let frame = json!({"masters": table, "events": recent});
        if !tty && last.as_ref() == Some(&frame) {
            wait_event(&mut sub, &mut recent)?;
            continue;
        }
        last = Some(frame);
        draws += 1;
        let mut out = std::io::stdout().lock();
        if cli.json {
            writeln!(out, "{}", json!({"time": super::clock_utc(), "masters": table, "events": recent}))?;
        } else {
            if tty {
                write!(out, "\x1b[H\x1b[2J")?;
            } else if draws > 1 {
                writeln!(out)?;
            }
            writeln!(out, "sentinel {}:{}  {}", cli.host, cli.port, super::clock_utc())?;
            let headers = ["MASTER", "ADDRESS", "STATE", "EPOCH", "REPLICAS", "SENTINELS", "FAILOVER"];
            let body: Vec<Vec<String>> = table
                .iter()
                .map(|r| {
                    let s = |k: &str| r[k].as_str().map(str::to_string).unwrap_or_else(|| r[k].to_string());
                    vec![
                        s("name"),
                        s("address"),
                        s("state"),
                        s("config_epoch"),
                        format!("{}/{}", r["replicas_ok"], r["replicas"]),
                        format!("{}/{}", r["sentinels_ok"], r["sentinels"]),
                        s("failover_state"),
                    ]
                })
                .collect();
            let text = super::table(&headers, body, "");
            for line in text.lines() {
                let line = if line.contains("ODOWN") || line.contains("SDOWN") {
                    paint(tty, "31", line)
                } else if line.contains("FAILOVER") {
                    paint(tty, "33", line)
                } else {
                    line.to_string()
                };
                writeln!(out, "{line}")?;
            }
            if !recent.is_empty() {
                writeln!(out, "recent events:")?;
                for e in &recent {
                    writeln!(out, "  {e}")?;
                }
            }
        }
        out.flush().context("stdout")?;
        drop(out);
        if count != 0 && draws >= count {
            return Ok(());
        }
        wait_event(&mut sub, &mut recent)?;
    }
}

/// Waits for the next event (kept in `recent`, the last 8) or a second without any.
fn wait_event(sub: &mut Conn, recent: &mut Vec<String>) -> Result<()> {
    match sub.read_value() {
        Ok(Value::Array(frame) | Value::Push(frame)) => {
            let text: Vec<String> = frame.iter().map(|v| v.as_string().unwrap_or_default()).collect();
            if let [kind, _, channel, payload] = text.as_slice() {
                if kind == "pmessage" && !channel.starts_with("__sentinel__") {
                    recent.push(format!("{} {channel} {payload}", super::clock_utc()));
                    let excess = recent.len().saturating_sub(8);
                    recent.drain(..excess);
                }
            }
        }
        Ok(_) => {}
        // A read timeout (a quiet second) leaves the decoder's buffer intact.
        Err(e)
            if e.root_cause().downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
            }) => {}
        Err(e) => return Err(e.context("the event connection failed")),
    }
    Ok(())
}
