//! `sentinel`: the daemon's command line. A thin layer: it reads the configuration, sets
//! up logging, binds the listeners and hands everything to [`sentinel::daemon`]. It makes
//! no decision about the monitored instances. Accepts `--sentinel` and ignores it, so it
//! is a drop-in for `redis-server sentinel.conf --sentinel`.

#[path = "sentinel/logfile.rs"]
mod logfile;
#[path = "sentinel/process.rs"]
mod process;
#[path = "sentinel/syslog.rs"]
mod syslog;

use clap::Parser;
use logfile::{LogFile, LogWriter};
use sentinel::config::{self, Settings};
use sentinel::core::{Options, Timing};
use sentinel::daemon;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use syslog::{Syslog, SyslogWriter};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::fmt;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// A Redis Sentinel-compatible high-availability monitor for Redis.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// sentinel.toml, or a Redis sentinel.conf (rewritten with the state, like Redis).
    config: PathBuf,
    /// Accepted for compatibility with `redis-server <conf> --sentinel`; has no effect.
    #[arg(long)]
    sentinel: bool,
    /// Listening port (overrides the configuration).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on (repeatable; overrides the configuration's `bind`).
    #[arg(long)]
    bind: Vec<String>,
    /// `plain` (Redis-like lines) or `json` (one object a line; overrides `log-format`).
    #[arg(long, value_parser = ["plain", "json"])]
    log_format: Option<String>,
    /// Port of the HTTP listener (metrics, /health, /ready; overrides `http-port`; 0 = off).
    /// On the command line so that a sentinel.conf shared with `redis-sentinel` need not
    /// carry our directive.
    #[arg(long)]
    http_port: Option<u16>,
    /// Address of the HTTP listener (overrides `http-bind`).
    #[arg(long)]
    http_bind: Option<String>,
}

fn main() {
    let args = Args::parse();
    let mut loaded = config::load(&args.config).unwrap_or_else(|e| fail(&e.to_string()));
    apply_overrides(&mut loaded.settings, &args);
    if let Some(dir) = &loaded.settings.dir {
        // After load, which already made `config_file` absolute; before opening the log
        // file, so that a relative `logfile` is relative to `dir` as in Redis.
        if let Err(e) = std::env::set_current_dir(dir) {
            fail(&format!("can't chdir to '{}': {e}", dir.display()));
        }
    }
    if loaded.settings.daemonize {
        // Like Redis: after the configuration is read (its errors still reach the
        // terminal), before anything is opened or bound.
        process::daemonize().unwrap_or_else(|e| fail(&e));
        if loaded.settings.pidfile.is_none() {
            // Redis's default pidfile when daemonized.
            loaded.settings.pidfile = Some(PathBuf::from("/var/run/redis.pid"));
        }
    }
    let logfile = init_logging(&loaded.settings).unwrap_or_else(|e| fail(&e));
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let seed = seed().unwrap_or_else(|e| fail(&e));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let runtime = runtime.unwrap_or_else(|e| fail(&format!("cannot start the runtime: {e}")));
    let pidfile = loaded.settings.pidfile.clone();
    let unixsocket = loaded.settings.unixsocket.clone();
    let code = runtime.block_on(serve(loaded, seed, logfile)).unwrap_or_else(|e| {
        tracing::error!("{e:#}");
        1
    });
    // Like Redis on shutdown: the pidfile and the unix socket go away.
    for path in [pidfile, unixsocket].into_iter().flatten() {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::io::stdout().flush();
    exit(code)
}

/// Binds, logs the startup lines, and runs the daemon to its exit code.
async fn serve(loaded: config::Loaded, seed: u64, logfile: Option<Arc<LogFile>>) -> anyhow::Result<i32> {
    // TLS certificates are read now: a bad certificate or key stops the start-up.
    let config_file = loaded.settings.config_file.display().to_string();
    let tls = sentinel::tls::Tls::load(&loaded.settings.tls).map_err(|e| anyhow::anyhow!("{config_file}: {e}"))?;
    // SIGHUP (a closing terminal, a supervisor, logrotate's postrotate) must not end the
    // sentinel; Redis ignores it. We also reopen the log file on it, and reload the TLS
    // certificates.
    let mut hup = signal(SignalKind::hangup())?;
    let reload = tls.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Some(log) = &logfile {
                log.request_reopen();
            }
            tracing::info!("Received SIGHUP: log file reopened");
            // And the TLS certificates, keys and CA re-read; new connections use them.
            match reload.as_deref().map(sentinel::tls::Tls::reload) {
                Some(Ok(())) => tracing::info!("Received SIGHUP: TLS certificates reloaded"),
                Some(Err(e)) => tracing::warn!("TLS certificates not reloaded, the previous ones stay in use: {e}"),
                None => {}
            }
        }
    });
    // `port 0` with a `tls-port`: TLS only, as in Redis.
    let tls_port = loaded.settings.tls.port;
    let plain = loaded.settings.port != 0 || tls_port == 0;
    let listeners = if plain { bind_all(&loaded.settings, loaded.settings.port).await? } else { Vec::new() };
    let tls_listeners = if tls_port != 0 { bind_all(&loaded.settings, tls_port).await? } else { Vec::new() };
    // With `port 0` the kernel chose: announce what we actually listen on. With
    // `tls-replication yes` peers are told our TLS port (as Redis's hello does).
    let bound = |l: &[TcpListener], port| match l.first().map(TcpListener::local_addr) {
        Some(Ok(addr)) => addr.port(),
        _ => port,
    };
    let plain_port = bound(&listeners, loaded.settings.port);
    let tls_port = bound(&tls_listeners, tls_port);
    let port = if tls_port != 0 && (!plain || loaded.settings.tls.replication) { tls_port } else { plain_port };
    if !tls_listeners.is_empty() {
        let auth = format!("{:?}", loaded.settings.tls.auth_clients).to_ascii_lowercase();
        tracing::info!("TLS listener on port {tls_port} (tls-auth-clients {auth}); plain-text listener: {plain}");
    }
    if loaded.settings.tls.replication {
        tracing::info!("tls-replication yes: links to instances and peer sentinels use TLS");
    }
    if let Some(path) = &loaded.settings.pidfile {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file '{}': {e}", path.display());
        }
    }
    let myid = loaded.snapshot.myid.clone();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        port,
        config_file = %loaded.settings.config_file.display(),
        myid = myid.get(..8).unwrap_or(&myid),
        "Running mode=sentinel, port={port}."
    );
    tracing::warn!("Sentinel ID is {myid}");
    process::notify_ready(&loaded.settings.supervised);
    let opts = Options { port, seed, timing: Timing::default(), requirepass: loaded.settings.requirepass.clone() };
    daemon::run_with_tls(loaded, listeners, tls_listeners, tls, opts).await
}

fn apply_overrides(settings: &mut Settings, args: &Args) {
    if let Some(port) = args.port {
        settings.port = port;
    }
    if let Some(f) = &args.log_format {
        settings.log_format = f.clone();
    }
    if !args.bind.is_empty() {
        settings.bind = args.bind.clone();
    }
    if let Some(port) = args.http_port {
        settings.http_port = (port != 0).then_some(port);
    }
    if let Some(bind) = &args.http_bind {
        settings.http_bind = bind.clone();
    }
}

/// One listener per `bind` address (default `0.0.0.0`). An address that cannot be bound
/// is logged and skipped; none at all is fatal.
async fn bind_all(settings: &Settings, port: u16) -> anyhow::Result<Vec<TcpListener>> {
    let default = ["0.0.0.0".to_string()];
    let binds = if settings.bind.is_empty() { &default[..] } else { &settings.bind[..] };
    let mut listeners = Vec::new();
    for spec in binds {
        let host = bind_host(spec);
        match listen(host, port, settings.tcp_backlog).await {
            Ok(listener) => listeners.push(listener),
            Err(e) => tracing::warn!("Could not create server TCP listening socket {host}:{port}: {e}"),
        }
    }
    if listeners.is_empty() {
        anyhow::bail!("could not listen on port {port} of any of: {}", binds.join(" "));
    }
    Ok(listeners)
}

/// Binds `host:port` with `tcp-backlog` as the listen backlog (the kernel caps it at
/// `net.core.somaxconn`, as for Redis). A host that is not an IP literal goes through
/// the resolver with the default backlog.
async fn listen(host: &str, port: u16, backlog: u32) -> std::io::Result<TcpListener> {
    let Ok(ip) = host.parse::<std::net::IpAddr>() else { return TcpListener::bind((host, port)).await };
    let socket = if ip.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind((ip, port).into())?;
    socket.listen(backlog)
}

/// Redis `bind` spellings: `*` is every IPv4 address, `::*` every IPv6 address, and a
/// leading `-` marks an optional address (skipped if unavailable, which we do for all).
fn bind_host(spec: &str) -> &str {
    match spec.strip_prefix('-').unwrap_or(spec) {
        "*" => "0.0.0.0",
        "::*" => "::",
        host => host,
    }
}

/// Logs to `logfile` if set (nothing then goes to stderr; see `logfile.rs` for rotation),
/// else to stdout (to nothing when daemonized, like Redis). The level follows `loglevel`
/// unless `RUST_LOG` is set. Returns the log file, for SIGHUP.
fn init_logging(settings: &Settings) -> Result<Option<Arc<LogFile>>, String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(spec).map_err(|e| format!("RUST_LOG: {e}"))?,
        _ => EnvFilter::new(level_for(&settings.loglevel)),
    };
    let json = settings.log_format == "json";
    let (main, file) = match &settings.logfile {
        Some(path) => {
            let file = LogFile::new(path)?;
            let writer = file.clone();
            (main_layer(json, false, move || LogWriter(writer.clone())), Some(file))
        }
        None => (main_layer(json, std::io::stdout().is_terminal(), std::io::stdout), None),
    };
    // `syslog-enabled yes`: the same lines to syslog too (without our timestamp: syslog
    // adds its own). A missing syslog socket is logged once and otherwise ignored.
    let mut syslog_error = None;
    let syslog = if settings.syslog_enabled {
        match Syslog::new(Path::new("/dev/log"), &settings.syslog_ident, &settings.syslog_facility) {
            Ok(s) => Some(fmt::layer().without_time().with_ansi(false).with_target(false).with_writer(SyslogWriter(s))),
            Err(e) => {
                syslog_error = Some(e);
                None
            }
        }
    } else {
        None
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(main)
        .with(syslog)
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))?;
    if let Some(e) = syslog_error {
        tracing::warn!("syslog-enabled yes, but /dev/log cannot be reached ({e}): logging without syslog");
    }
    Ok(file)
}

/// Plain lines, or one JSON object per line with the event's fields at the top level
/// (`timestamp`, `level`, `message`, and `event`, `master`, ... where logged).
fn main_layer<S, W>(json: bool, ansi: bool, writer: W) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        fmt::layer().with_ansi(ansi).with_writer(writer).boxed()
    }
}

/// Redis `loglevel` → tracing level.
fn level_for(loglevel: &str) -> &'static str {
    match loglevel.to_ascii_lowercase().as_str() {
        "debug" | "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    }
}

/// The core's RNG seed: `SENTINEL_SEED` (reproducible runs) or the OS RNG.
fn seed() -> Result<u64, String> {
    use rand::TryRngCore;
    match std::env::var("SENTINEL_SEED") {
        Ok(text) => text.trim().parse().map_err(|e| format!("SENTINEL_SEED={text:?}: {e}")),
        Err(_) => rand::rngs::OsRng.try_next_u64().map_err(|e| format!("OS random generator: {e}")),
    }
}

/// Prints `error: <message>` to stderr and exits with status 1.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loglevels_map_like_redis() {
        assert_eq!(level_for("debug"), "debug");
        assert_eq!(level_for("verbose"), "debug");
        assert_eq!(level_for("notice"), "info");
        assert_eq!(level_for("WARNING"), "warn");
        assert_eq!(level_for("nothing"), "off");
    }

    #[test]
    fn bind_spellings() {
        assert_eq!(bind_host("*"), "0.0.0.0");
        assert_eq!(bind_host("-::*"), "::");
        assert_eq!(bind_host("-::1"), "::1");
        assert_eq!(bind_host("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn sentinel_flag_and_overrides_parse() {
        let args = Args::try_parse_from(["sentinel", "s.conf", "--sentinel", "--port", "5000", "--bind", "127.0.0.1"])
            .expect("parses");
        assert!(args.sentinel);
        assert_eq!(args.port, Some(5000));
        assert_eq!(args.bind, ["127.0.0.1"]);
        assert_eq!(args.config, PathBuf::from("s.conf"));
        assert!(Args::try_parse_from(["sentinel"]).is_err(), "the config file is mandatory");
    }
}
