//! `sentinel-cli`: inspect a sentinel (ours or Redis's) from the shell.
//!
//! A thin layer: clap for arguments, our RESP codec over a blocking `TcpStream` with
//! timeouts, and formatting. It only reads state (`SENTINEL MASTERS/REPLICAS/SENTINELS`,
//! `GET-MASTER-ADDR-BY-NAME`, `CKQUORUM`, events) or sends what `raw` is given; errors go
//! to stderr with exit status 1 (`check`: 2). Everything but `history` uses standard
//! SENTINEL commands only, so it works against `redis-sentinel` too. `--json` prints
//! JSON instead of text; colours only when stdout is a terminal.

use anyhow::{anyhow, bail, Context, Result};
use bytes::BytesMut;
use clap::{Parser, Subcommand};
use sentinel::resp::{encode_command, repr, Decoder, Value};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[path = "sentinel-cli/ops.rs"]
mod ops;

#[derive(Parser)]
#[command(name = "sentinel-cli", about = "Inspect a Redis Sentinel", disable_help_flag = true)]
struct Cli {
    /// Sentinel host.
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    host: String,
    /// Sentinel port.
    #[arg(short = 'p', long, default_value_t = 26379)]
    port: u16,
    /// Password (AUTH).
    #[arg(short = 'a', long = "pass")]
    password: Option<String>,
    /// ACL user name, with -a.
    #[arg(long)]
    user: Option<String>,
    /// Connect and reply timeout, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout: u64,
    /// Speak TLS (with --cacert or --cacertdir; --cert and --key when the server
    /// requires a client certificate, `tls-auth-clients yes`).
    #[arg(long)]
    tls: bool,
    /// CA certificate file to verify the server with (--tls).
    #[arg(long)]
    cacert: Option<std::path::PathBuf>,
    /// Directory of CA certificates (--tls).
    #[arg(long)]
    cacertdir: Option<std::path::PathBuf>,
    /// Client certificate to present (--tls).
    #[arg(long)]
    cert: Option<std::path::PathBuf>,
    /// Private key of the client certificate (--tls).
    #[arg(long)]
    key: Option<std::path::PathBuf>,
    /// Print JSON instead of text (one document; `events` and `watch`: one per line).
    #[arg(long, global = true)]
    json: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every master with its replicas and sentinels, with health derived from flags.
    Status,
    /// Print `ip port` of the current master of NAME.
    MasterAddr { name: String },
    /// Print every event (`PSUBSCRIBE *`) as `HH:MM:SS.mmm <channel> <payload>` (UTC).
    Events,
    /// Failover history of NAME (`SENTINEL TIMELINE`, our sentinel only): each incident
    /// from `+sdown` on, every step with its time and its delay since the incident began.
    History { name: String },
    /// Live table of every master, redrawn on each event (and every second).
    Watch {
        /// Stop after this many redraws (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Why NAME is or is not failing over now: who sees it down, votes, and which replica
    /// would be promoted, with the reason each other one would not.
    Explain { name: String },
    /// Probe for scripts and health checks: exit 0 all good, 1 warning (a replica or a
    /// sentinel down, failover running, epochs differ), 2 critical (master down, no
    /// quorum, sentinels disagree on the address, sentinel unreachable).
    Check {
        /// Master to check (default: every master).
        name: Option<String>,
    },
    /// Send any command and print the reply like redis-cli.
    Raw {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Command::Check { name } = &cli.command {
        std::process::exit(ops::check(&cli, name.as_deref()));
    }
    if let Err(e) = run(&cli) {
        eprintln!("sentinel-cli: {e:#}");
        std::process::exit(1);
    }
}

/// A connection to `host:port`, authenticated like the command line says.
fn connect(cli: &Cli, host: &str, port: u16) -> Result<Conn> {
    let tls = match cli.tls {
        true => Some(
            sentinel::tls::cli_config(
                cli.cacert.as_deref(),
                cli.cacertdir.as_deref(),
                cli.cert.as_deref(),
                cli.key.as_deref(),
            )
            .map_err(|e| anyhow!(e))?,
        ),
        false => None,
    };
    let mut conn = Conn::open(host, port, Duration::from_millis(cli.timeout.max(1)), tls)?;
    if let Some(pass) = &cli.password {
        let mut args = vec!["AUTH"];
        args.extend(cli.user.as_deref());
        args.push(pass);
        conn.call_ok(&args).context("authentication failed")?;
    }
    Ok(conn)
}

fn run(cli: &Cli) -> Result<()> {
    let mut conn = connect(cli, &cli.host, cli.port)?;
    let json = cli.json;
    match &cli.command {
        Command::Status if json => ops::print_json(&ops::status_json(&mut conn)?),
        Command::Status => status(&mut conn),
        Command::MasterAddr { name } => master_addr(&mut conn, name, json),
        Command::Events => events(&mut conn, json),
        Command::History { name } => history(&mut conn, name, json),
        Command::Watch { count } => ops::watch(cli, conn, *count),
        Command::Explain { name } => ops::explain(&mut conn, name, json, ops::colour()),
        Command::Check { .. } => unreachable!("handled in main"),
        Command::Raw { args } => match conn.call(args)? {
            Value::Error(e) => bail!("{e}"),
            reply if json => ops::print_json(&ops::to_json(&reply)),
            reply => {
                println!("{}", render(&reply));
                Ok(())
            }
        },
    }
}

/// A blocking socket, plain or TLS (`--tls`).
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.set_read_timeout(timeout),
            Stream::Tls(s) => s.sock.set_read_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One connection speaking RESP2.
struct Conn {
    stream: Stream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Conn {
    fn open(host: &str, port: u16, timeout: Duration, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Conn> {
        let addrs = (host, port).to_socket_addrs().with_context(|| format!("cannot resolve {host}"))?;
        let mut last = anyhow!("no address for {host}");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_write_timeout(Some(timeout))?;
                    let stream = match &tls {
                        None => Stream::Plain(stream),
                        Some(config) => {
                            let name = sentinel::tls::server_name(host).map_err(|e| anyhow!(e))?;
                            let mut conn = rustls::ClientConnection::new(config.clone(), name)
                                .map_err(|e| anyhow!("TLS to {addr}: {e}"))?;
                            let mut stream = stream;
                            // The handshake now, so that a refused certificate is reported as such.
                            while conn.is_handshaking() {
                                conn.complete_io(&mut stream).map_err(|e| anyhow!("TLS handshake with {addr}: {e}"))?;
                            }
                            Stream::Tls(Box::new(rustls::StreamOwned::new(conn, stream)))
                        }
                    };
                    return Ok(Conn { stream, buf: BytesMut::new(), decoder: Decoder::default() });
                }
                Err(e) => last = anyhow!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Value> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out).context("cannot send the command")?;
        self.read_value()
    }

    /// A call whose error reply is an error.
    fn call_ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Value> {
        match self.call(args)? {
            Value::Error(e) => bail!("{e}"),
            v => Ok(v),
        }
    }

    fn read_value(&mut self) -> Result<Value> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(v) = self.decoder.decode_value(&mut self.buf)? {
                return Ok(v);
            }
            let n = self.stream.read(&mut chunk).context("no reply")?;
            if n == 0 {
                bail!("connection closed by the server");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// An instance map (RESP2 flat array or RESP3 map) as ordered text pairs.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn from(v: &Value) -> Fields {
        let text = |v: &Value| v.as_string().unwrap_or_default();
        Fields(match v {
            Value::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), text(v))).collect(),
            Value::Array(items) => {
                items.chunks(2).filter(|c| c.len() == 2).map(|c| (text(&c[0]), text(&c[1]))).collect()
            }
            _ => Vec::new(),
        })
    }

    fn get(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
    }

    fn flags(&self) -> Vec<&str> {
        self.get("flags").split(',').collect()
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.get("ip"), self.get("port"))
    }
}

fn list(v: Value) -> Result<Vec<Fields>> {
    match v {
        Value::Array(items) => Ok(items.iter().map(Fields::from).collect()),
        other => bail!("unexpected reply: {}", render(&other)),
    }
}

/// `ok`, `DOWN` (s_down/o_down) or `disconnected`, from an instance's flags.
fn health(f: &Fields) -> &'static str {
    let flags = f.flags();
    if flags.iter().any(|x| *x == "s_down" || *x == "o_down") {
        "DOWN"
    } else if flags.contains(&"disconnected") {
        "disconnected"
    } else {
        "ok"
    }
}

fn status(conn: &mut Conn) -> Result<()> {
    let masters = list(conn.call_ok(&["SENTINEL", "MASTERS"])?)?;
    if masters.is_empty() {
        println!("no masters monitored");
    }
    for m in &masters {
        let name = m.get("name").to_string();
        let flags = m.flags();
        let failures = ops::auth_failures(conn, &name);
        let state = if flags.contains(&"o_down") {
            "ODOWN"
        } else if flags.contains(&"s_down") {
            "SDOWN"
        } else if failures.as_ref().is_some_and(|f| f.contains_key(&m.addr())) {
            "AUTH-FAILED"
        } else if flags.contains(&"disconnected") {
            "disconnected"
        } else {
            "ok"
        };
        println!("master {name}  {}  {state}", m.addr());
        print!(
            "  config-epoch {}  quorum {}  other-sentinels {}  flags {}",
            m.get("config-epoch"),
            m.get("quorum"),
            m.get("num-other-sentinels"),
            m.get("flags")
        );
        match m.get("failover-state") {
            "" => println!(),
            fs => println!("  failover-state {fs}"),
        }
        let replicas = list(conn.call_ok(&["SENTINEL", "REPLICAS", &name])?)?;
        for line in ops::auth_lines(&name, m, &replicas, failures.as_ref()) {
            println!("{line}");
        }
        print_replicas(&replicas);
        let sentinels = list(conn.call_ok(&["SENTINEL", "SENTINELS", &name])?)?;
        print_sentinels(&sentinels);
        println!();
    }
    Ok(())
}

fn print_replicas(replicas: &[Fields]) {
    println!("  replicas ({}):", replicas.len());
    let rows = replicas.iter().map(|r| {
        vec![
            r.addr(),
            health(r).to_string(),
            r.get("flags").to_string(),
            r.get("master-link-status").to_string(),
            r.get("slave-repl-offset").to_string(),
            r.get("slave-priority").to_string(),
            format!("{}ms", r.get("last-ok-ping-reply")),
        ]
    });
    let headers = ["ADDRESS", "HEALTH", "FLAGS", "LINK", "OFFSET", "PRIORITY", "LAST-OK-PING"];
    print!("{}", table(&headers, rows.collect(), "    "));
}

fn print_sentinels(sentinels: &[Fields]) {
    println!("  sentinels ({}):", sentinels.len());
    let rows = sentinels.iter().map(|s| {
        vec![
            s.addr(),
            s.get("runid").chars().take(8).collect(),
            health(s).to_string(),
            s.get("flags").to_string(),
            format!("{}ms", s.get("last-hello-message")),
            s.get("voted-leader").to_string(),
        ]
    });
    let headers = ["ADDRESS", "RUNID", "HEALTH", "FLAGS", "LAST-HELLO", "VOTED-LEADER"];
    print!("{}", table(&headers, rows.collect(), "    "));
}

/// Left-aligned columns separated by two spaces; nothing when there are no rows.
fn table(headers: &[&str], rows: Vec<Vec<String>>, indent: &str) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header_row).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(indent);
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn master_addr(conn: &mut Conn, name: &str, json: bool) -> Result<()> {
    match conn.call_ok(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])? {
        Value::Array(items) if items.len() == 2 => {
            let text = |v: &Value| v.as_string().unwrap_or_default();
            if json {
                let port: u64 = text(&items[1]).parse().unwrap_or(0);
                return ops::print_json(&serde_json::json!({"name": name, "ip": text(&items[0]), "port": port}));
            }
            println!("{} {}", text(&items[0]), text(&items[1]));
            Ok(())
        }
        Value::Null | Value::NullArray => bail!("no master named '{name}' is known to this sentinel"),
        other => bail!("unexpected reply: {}", render(&other)),
    }
}

fn events(conn: &mut Conn, json: bool) -> Result<()> {
    conn.call_ok(&["PSUBSCRIBE", "*"])?;
    conn.stream.set_read_timeout(None)?;
    let stdout = std::io::stdout();
    loop {
        let (Value::Array(frame) | Value::Push(frame)) = conn.read_value()? else { continue };
        let text: Vec<String> = frame.iter().map(|v| v.as_string().unwrap_or_default()).collect();
        if let [kind, _pattern, channel, payload] = text.as_slice() {
            if kind == "pmessage" {
                let mut out = stdout.lock();
                if json {
                    let line = serde_json::json!({"time": clock_utc(), "channel": channel, "payload": payload});
                    writeln!(out, "{line}").context("stdout")?;
                } else {
                    writeln!(out, "{} {channel} {payload}", clock_utc()).context("stdout")?;
                }
                out.flush().context("stdout")?;
            }
        }
    }
}

/// Prints `SENTINEL TIMELINE`, one block per incident (a block opens at the master's
/// `+sdown` or `+try-failover`), each line with its UTC time and `+ms` since the block
/// opened.
fn history(conn: &mut Conn, name: &str, json: bool) -> Result<()> {
    let Value::Array(entries) = conn.call_ok(&["SENTINEL", "TIMELINE", name])? else {
        bail!("unexpected reply to SENTINEL TIMELINE");
    };
    if json {
        let list: Vec<_> = entries
            .iter()
            .filter_map(|e| match e {
                Value::Array(f) if f.len() == 3 => {
                    let t: Vec<String> = f.iter().map(|v| v.as_string().unwrap_or_default()).collect();
                    let ago: u64 = t[0].parse().unwrap_or(0);
                    Some(serde_json::json!({"ms_ago": ago, "event": t[1], "message": t[2]}))
                }
                _ => None,
            })
            .collect();
        return ops::print_json(&serde_json::Value::Array(list));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut opened: Option<u128> = None;
    for e in &entries {
        let Value::Array(f) = e else { continue };
        let text: Vec<String> = f.iter().map(|v| v.as_string().unwrap_or_default()).collect();
        let [ago, event, message] = text.as_slice() else { continue };
        let at = now.saturating_sub(ago.parse::<u128>().unwrap_or(0));
        let opens = (event == "+sdown" && message.starts_with("master ")) || event == "+try-failover";
        if opens && opened.is_none_or(|t| event == "+sdown" || at.saturating_sub(t) > 60_000) {
            println!("\n== incident at {} ==", hms(at));
            opened = Some(at);
        }
        let delta = opened.map_or(String::new(), |t| format!("+{}ms", at.saturating_sub(t)));
        println!("{} {:>9} {event} {message}", hms(at), delta);
    }
    Ok(())
}

/// `HH:MM:SS.mmm` of the wall clock, in UTC.
fn clock_utc() -> String {
    hms(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()))
}

/// `HH:MM:SS.mmm` (UTC) of a Unix time in milliseconds.
fn hms(ms: u128) -> String {
    let day_ms = ms % 86_400_000;
    let (h, m, s) = (day_ms / 3_600_000, day_ms / 60_000 % 60, day_ms / 1000 % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", day_ms % 1000)
}

/// A reply the way interactive redis-cli shows it.
fn render(v: &Value) -> String {
    match v {
        Value::Simple(s) => s.clone(),
        Value::Error(e) => format!("(error) {e}"),
        Value::Int(n) => format!("(integer) {n}"),
        Value::Bulk(b) => repr(b),
        Value::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
        Value::Null | Value::NullArray => "(nil)".into(),
        Value::Bool(b) => format!("({b})"),
        Value::Double(d) => format!("(double) {d}"),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => render_list(items.iter().map(render).collect()),
        Value::Map(pairs) => {
            render_list(pairs.iter().map(|(k, v)| format!("{} => {}", render(k), render(v))).collect())
        }
    }
}

/// `1) ...` items; continuation lines of an item are indented under its first line.
fn render_list(items: Vec<String>) -> String {
    if items.is_empty() {
        return "(empty array)".into();
    }
    let width = items.len().to_string().len();
    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("{:>width$}) ", i + 1);
        for (j, line) in item.lines().enumerate() {
            let lead = if j == 0 { prefix.clone() } else { " ".repeat(prefix.len()) };
            lines.push(format!("{lead}{line}"));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_redis_cli() {
        let v = Value::Array(vec![
            Value::Array(vec![Value::bulk("a"), Value::Int(1)]),
            Value::Null,
            Value::bulk("x\"\n\x01"),
        ]);
        assert_eq!(render(&v), "1) 1) \"a\"\n   2) (integer) 1\n2) (nil)\n3) \"x\\\"\\n\\x01\"");
        assert_eq!(render(&Value::Array(vec![])), "(empty array)");
    }

    #[test]
    fn tables_align_and_health_reads_flags() {
        let t = table(&["A", "BB"], vec![vec!["long".into(), "x".into()]], "");
        assert_eq!(t, "A     BB\nlong  x\n");
        let f = Fields::from(&Value::str_map([("flags", "slave,s_down,disconnected")]));
        assert_eq!(health(&f), "DOWN");
        let f = Fields::from(&Value::Array(vec![Value::bulk("flags"), Value::bulk("sentinel,disconnected")]));
        assert_eq!(health(&f), "disconnected");
    }
}
