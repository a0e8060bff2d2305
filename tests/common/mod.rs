//! Harness for integration tests against REAL processes (tier 4 of docs/testing.md):
//! `redis-server` instances and sentinels (ours, or Debian's `redis-sentinel` through the
//! same [`SentinelKind`] switch) on free loopback ports in temporary directories.
//!
//! What it guarantees:
//! * every process is SIGKILLed on `Drop`, also when the test panics, and additionally
//!   gets `PR_SET_PDEATHSIG=SIGKILL` so nothing outlives the spawning test thread;
//! * ports are unique within the test binary (global counter from a pid-derived base) and
//!   checked to be free, so tests run in parallel safely;
//! * when a test panics, the last lines of every process's log are printed (on `Drop`);
//! * every wait has a timeout and panics with what it last saw ([`wait_until`]).
//!
//! It never talks to anything but 127.0.0.1.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const MASTER_NAME: &str = "mymaster";
pub const HOST: &str = "127.0.0.1";

/// Generous timeouts: these machines are shared and noisy. We never assert on speed.
pub const T_START: Duration = Duration::from_secs(15);
pub const T_DISCOVERY: Duration = Duration::from_secs(40);
pub const T_FAILOVER: Duration = Duration::from_secs(60);
pub const T_REJOIN: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------

/// Polls `f` every 100 ms until it returns `Ok(v)`, then returns `v`. On timeout, panics
/// with `what` and the last `Err` description `f` produced (what was last seen).
pub fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        let last = match f() {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if start.elapsed() >= timeout {
            panic!(
                "timed out after {:.1}s waiting for: {}\n  last seen: {}",
                start.elapsed().as_secs_f64(),
                what,
                last
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Like [`wait_until`] for a boolean condition, with `seen` describing the state.
pub fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> (bool, String)) {
    wait_until(timeout, what, || {
        let (ok, seen) = cond();
        if ok {
            Ok(())
        } else {
            Err(seen)
        }
    })
}

/// Prints a progress line with the time since the first call (visible with
/// `--nocapture`, and in the captured output of failed tests).
pub fn step(msg: &str) {
    static T0: OnceLock<Instant> = OnceLock::new();
    let t0 = T0.get_or_init(Instant::now);
    eprintln!("[{:7.2}s] {}", t0.elapsed().as_secs_f64(), msg);
}

// ---------------------------------------------------------------------------------------
// The run's report: skips and Redis Sentinel's own faults, outside cargo's capture
// ---------------------------------------------------------------------------------------

/// Environment variable naming the file that [`report_line`] appends to; `scripts/test.sh`
/// sets it and prints the file in its summary.
pub const REPORT_ENV: &str = "SENTINEL_TEST_REPORT";
/// Environment variable under which a skip is a failure (`.ci/run` sets it).
pub const REQUIRE_ALL_ENV: &str = "SENTINEL_REQUIRE_ALL";

/// `<test binary>::<test name>` of the calling test (libtest names each test's thread).
pub fn current_test() -> String {
    let bin = std::env::args()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // Cargo names test binaries `<target>-<16 hex digits>`.
    let bin = match bin.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name.to_string(),
        _ => bin,
    };
    let thread = std::thread::current();
    match thread.name() {
        Some(name) if name != "main" => format!("{bin}::{name}"),
        _ => bin,
    }
}

/// Prints `line` on stdout and appends it to the file named by [`REPORT_ENV`] (when set),
/// so it reaches the run's summary even for a test that passes with its output captured.
pub fn report_line(line: &str) {
    use std::io::Write;
    println!("{line}");
    if let Some(path) = std::env::var_os(REPORT_ENV) {
        // One write of one whole line on an O_APPEND file: parallel tests do not interleave.
        let appended = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            // Not a panic: this also runs in `Drop` while a test is already failing.
            eprintln!("cannot append to the test report {}: {e}", Path::new(&path).display());
        }
    }
}

/// True when every test must run (`SENTINEL_REQUIRE_ALL=1`, set by `.ci/run`, or `CI`).
pub fn require_all() -> bool {
    std::env::var_os(REQUIRE_ALL_ENV).is_some_and(|v| !v.is_empty() && v != "0") || std::env::var_os("CI").is_some()
}

/// Records that the calling test (or a part of it, `what`) did not run because of
/// `reason`: a `SKIPPED: <test>: <reason>` line in the report, counted by the summary.
/// Under [`require_all`] a skip is a failure instead (panics).
pub fn skip(what: &str, reason: &str) {
    let test = current_test();
    let what = if what.is_empty() { test } else { format!("{test} ({what})") };
    if require_all() {
        panic!("{what} cannot run here ({reason}), and {REQUIRE_ALL_ENV}/CI requires every test to run");
    }
    report_line(&format!("SKIPPED: {what}: {reason}"));
}

/// Marker of a line saying Debian's `redis-sentinel` showed one of its known faults.
pub const REFERENCE_FAULT: &str = "REFERENCE-FAULT:";

/// Records that the reference sentinel (Debian's `redis-sentinel`) showed a known fault of
/// its own (e.g. the spurious second failover, docs/behaviour.md §20.21) in the calling
/// `reference_*` test: a `REFERENCE-FAULT: <test>: <what>` line in the report. Only such
/// a test may be retried by `scripts/test.sh`, and only when it failed after this line.
pub fn reference_fault(what: &str) {
    report_line(&format!("{REFERENCE_FAULT} {}: {what}", current_test()));
}

/// True when some sentinel published `+switch-master` more than once: Redis Sentinel's
/// spurious second failover (docs/behaviour.md §20.21) in a one-failover scenario.
pub fn second_failover_seen(logs: &[EventLog]) -> bool {
    logs.iter().any(|l| l.events().iter().filter(|e| e.channel == "+switch-master").count() > 1)
}

/// Held by a one-failover scenario: when the test fails (panics) against Debian's
/// `redis-sentinel` and a second failover was seen by then, records it as a reference fault
/// (so `scripts/test.sh` may retry it, and says why). Does nothing for ours.
pub struct SecondFailoverWatch<'a> {
    pub kind: SentinelKind,
    pub logs: &'a [EventLog],
}

impl Drop for SecondFailoverWatch<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() && self.kind == SentinelKind::Redis && second_failover_seen(self.logs) {
            reference_fault(
                "the test failed after redis-sentinel failed over a second time (docs/behaviour.md §20.21)",
            );
        }
    }
}

fn find_in_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// Panics with an installation hint when a required program is missing.
pub fn require_program(prog: &str) -> PathBuf {
    find_in_path(prog).unwrap_or_else(|| {
        panic!(
            "`{prog}` not found in PATH. Install Redis first: `apt-get install -y \
             redis-server redis-sentinel redis-tools` (scripts/test.sh does this)"
        )
    })
}

// ---------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------

/// Returns a loopback port that is free now and that no other test of this binary will be
/// given. Range 20000..32000 stays below Linux's ephemeral range (32768+), so outgoing
/// connections never steal our listening ports. The base depends on the pid so that two
/// test binaries (or two engineers) running at once start far apart.
pub fn free_port() -> u16 {
    const LO: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: OnceLock<AtomicU16> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let base = (std::process::id().wrapping_mul(7919)) % (SPAN / 16);
        AtomicU16::new((base * 16) as u16)
    });
    for _ in 0..SPAN {
        let off = next.fetch_add(1, Ordering::SeqCst) as u32 % SPAN;
        let port = (LO + off) as u16;
        if TcpListener::bind((HOST, port)).is_ok() && TcpStream::connect((HOST, port)).is_err() {
            return port;
        }
    }
    panic!("no free loopback port found in {LO}..{}", LO + SPAN);
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

extern "C" {
    fn prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
}
const PR_SET_PDEATHSIG: i32 = 1;

/// The child gets SIGKILL when the thread that spawned it exits (`PR_SET_PDEATHSIG`), so
/// no process outlives a test, even one that panicked or was killed. The setting
/// survives an exec (e.g. `ip netns exec` then the server).
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGKILL as u64, 0, 0, 0);
            Ok(())
        });
    }
}
const SIGKILL: i32 = 9;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;

/// A child process with a fixed command line, restartable, killed on drop. Its stdout and
/// stderr go to `<dir>/<name>.out`; `logs` lists every file whose tail is printed when
/// the test fails.
pub struct Proc {
    pub name: String,
    pub port: u16,
    pub dir: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    logs: Vec<PathBuf>,
    child: Option<Child>,
    pub starts: u32,
    /// Lines of each log printed when the test fails (sentinels more than servers).
    pub tail_lines: usize,
    /// Set once the tails were put into a panic message, to avoid printing them twice.
    reported: bool,
}

impl Proc {
    fn new(name: &str, port: u16, dir: &Path, program: PathBuf, args: Vec<String>) -> Proc {
        let out = dir.join(format!("{name}.out"));
        Proc {
            name: name.to_string(),
            port,
            dir: dir.to_path_buf(),
            program,
            args,
            logs: vec![out],
            child: None,
            starts: 0,
            tail_lines: 25,
            reported: false,
        }
    }

    /// Creates and starts an arbitrary process that listens on `port` (run in `dir`).
    pub fn launch(name: &str, port: u16, dir: &Path, program: PathBuf, args: Vec<String>) -> Proc {
        let mut p = Proc::new(name, port, dir, program, args);
        p.start();
        p
    }

    pub fn add_log(&mut self, path: PathBuf) {
        if !self.logs.contains(&path) {
            self.logs.push(path);
        }
    }

    /// Spawns the process (appending to its `.out` file) and waits until its port accepts
    /// connections. Panics early, with the log tail, if the process exits instead.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.name);
        let out_path = &self.logs[0];
        let out = fs::OpenOptions::new().create(true).append(true).open(out_path).expect("open .out file");
        let err = out.try_clone().expect("clone .out file");
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        die_with_parent(&mut cmd);
        let child =
            cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {} ({}): {e}", self.name, self.program.display()));
        self.child = Some(child);
        self.starts += 1;
        self.wait_listening();
    }

    fn wait_listening(&mut self) {
        let what = format!("{} to listen on {HOST}:{}", self.name, self.port);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                self.reported = true;
                panic!(
                    "{} exited during startup with {status} (command: {} {})\n{}",
                    self.name,
                    self.program.display(),
                    self.args.join(" "),
                    self.log_tails(40)
                );
            }
            if TcpStream::connect_timeout(&(HOST, self.port).into_addr(), Duration::from_millis(200)).is_ok() {
                return;
            }
            if start.elapsed() > T_START {
                self.reported = true;
                panic!("timed out waiting for {what}\n{}", self.log_tails(40));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        }
    }

    /// Waits (polling, up to `timeout`) for the process to exit by itself and returns
    /// its status; `None` if it is still running then (or was not running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            let status = self.child.as_mut()?.try_wait().ok().flatten();
            if let Some(status) = status {
                self.child = None;
                return Some(status);
            }
            if start.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL and reap. No-op if not running.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP (freeze) / SIGCONT (thaw) — for fault tests.
    pub fn stop(&self) {
        if let Some(pid) = self.pid() {
            unsafe { kill(pid as i32, SIGSTOP) };
        }
    }
    pub fn cont(&self) {
        if let Some(pid) = self.pid() {
            unsafe { kill(pid as i32, SIGCONT) };
        }
    }

    /// Sends signal `sig` (e.g. 1 = SIGHUP). No-op if not running.
    pub fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            unsafe { kill(pid as i32, sig) };
        }
    }

    /// Starts again with the same command line (config files as the process left them).
    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    /// The last `n` lines of every log file of this process, with headers.
    pub fn log_tails(&self, n: usize) -> String {
        let mut s = String::new();
        for path in &self.logs {
            s.push_str(&format!("----- {} : {} (last {n} lines) -----\n", self.name, path.display()));
            match fs::read(path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let lines: Vec<&str> = text.lines().collect();
                    for l in &lines[lines.len().saturating_sub(n)..] {
                        s.push_str(l);
                        s.push('\n');
                    }
                }
                Err(e) => s.push_str(&format!("(unreadable: {e})\n")),
            }
        }
        s
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() && !self.reported {
            eprintln!("{}", self.log_tails(self.tail_lines));
        }
    }
}

trait IntoAddr {
    fn into_addr(self) -> std::net::SocketAddr;
}
impl IntoAddr for (&str, u16) {
    fn into_addr(self) -> std::net::SocketAddr {
        format!("{}:{}", self.0, self.1).parse().unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Redis servers
// ---------------------------------------------------------------------------------------

/// Starts `redis-server` with a generated `redis.conf` in its own directory under `root`
/// (a config file, so the `CONFIG REWRITE` in Sentinel's reconfiguration succeeds, as in
/// production). `replicaof` = master port for a replica.
pub fn start_redis(root: &Path, name: &str, replicaof: Option<u16>) -> Proc {
    start_redis_with(root, name, replicaof, "")
}

/// [`start_redis`] with `extra` lines appended to the generated `redis.conf`.
pub fn start_redis_with(root: &Path, name: &str, replicaof: Option<u16>, extra: &str) -> Proc {
    let prog = require_program("redis-server");
    let port = free_port();
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    let mut conf = format!(
        "port {port}\nbind {HOST}\nsave \"\"\nappendonly no\ndir {}\n\
         daemonize no\nlogfile \"\"\nrepl-diskless-sync-delay 0\n",
        dir.display()
    );
    if let Some(m) = replicaof {
        conf.push_str(&format!("replicaof {HOST} {m}\n"));
    }
    conf.push_str(extra);
    let conf_path = dir.join("redis.conf");
    fs::write(&conf_path, conf).unwrap();
    let mut p = Proc::new(name, port, &dir, prog, vec![conf_path.display().to_string()]);
    p.start();
    p
}

// ---------------------------------------------------------------------------------------
// Sentinels
// ---------------------------------------------------------------------------------------

/// Which sentinel implementation a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SentinelKind {
    /// Our daemon, `target/<profile>/sentinel`.
    Ours,
    /// Debian's `redis-sentinel` (Redis 7): validates the test itself.
    Redis,
}

/// Which config file format to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfFormat {
    /// Redis-format `sentinel.conf` (both implementations read it).
    RedisConf,
    /// Our `sentinel.toml` (ours only).
    Toml,
}

/// Per-master settings written into sentinel configs.
#[derive(Clone, Debug)]
pub struct MasterConf {
    pub name: String,
    pub port: u16,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
}

impl MasterConf {
    pub fn new(master_port: u16) -> MasterConf {
        MasterConf {
            name: MASTER_NAME.to_string(),
            port: master_port,
            quorum: 2,
            down_after_ms: 1000,
            failover_timeout_ms: 10_000,
            parallel_syncs: 1,
        }
    }
}

/// The Redis-format config used for both implementations.
pub fn redis_sentinel_conf(port: u16, dir: &Path, logfile: &Path, m: &MasterConf) -> String {
    format!(
        "port {port}\nbind {HOST}\ndir {dir}\nlogfile {log}\ndaemonize no\n\
         sentinel monitor {n} {HOST} {mp} {q}\n\
         sentinel down-after-milliseconds {n} {da}\n\
         sentinel failover-timeout {n} {ft}\n\
         sentinel parallel-syncs {n} {ps}\n",
        dir = dir.display(),
        log = logfile.display(),
        n = m.name,
        mp = m.port,
        q = m.quorum,
        da = m.down_after_ms,
        ft = m.failover_timeout_ms,
        ps = m.parallel_syncs,
    )
}

/// Our `sentinel.toml` (schema in the README / config module).
pub fn toml_sentinel_conf(port: u16, logfile: &Path, m: &MasterConf) -> String {
    format!(
        "port = {port}\nbind = [\"{HOST}\"]\ndata-dir = \".\"\nlogfile = \"{log}\"\n\
         loglevel = \"notice\"\n\n[masters.{n}]\nhost = \"{HOST}\"\nport = {mp}\n\
         quorum = {q}\ndown-after-milliseconds = {da}\nfailover-timeout = {ft}\n\
         parallel-syncs = {ps}\n",
        log = logfile.display(),
        n = m.name,
        mp = m.port,
        q = m.quorum,
        da = m.down_after_ms,
        ft = m.failover_timeout_ms,
        ps = m.parallel_syncs,
    )
}

/// The program and leading arguments for a sentinel of `kind` reading `conf`.
/// Ours is invoked like redis-sentinel: `sentinel <config-file>`.
fn sentinel_command(kind: SentinelKind, conf: &Path) -> (PathBuf, Vec<String>) {
    match kind {
        SentinelKind::Ours => {
            let bin = PathBuf::from(env!("CARGO_BIN_EXE_sentinel"));
            (bin, vec![conf.display().to_string()])
        }
        SentinelKind::Redis => match find_in_path("redis-sentinel") {
            Some(p) => (p, vec![conf.display().to_string()]),
            None => (require_program("redis-server"), vec![conf.display().to_string(), "--sentinel".into()]),
        },
    }
}

/// Writes a config and starts one sentinel in `root/<name>/`.
pub fn start_sentinel(root: &Path, name: &str, kind: SentinelKind, format: ConfFormat, m: &MasterConf) -> Proc {
    start_sentinel_with(root, name, kind, format, m, |c| c)
}

/// [`start_sentinel`] with the generated config text passed through `edit` first.
pub fn start_sentinel_with(
    root: &Path,
    name: &str,
    kind: SentinelKind,
    format: ConfFormat,
    m: &MasterConf,
    edit: impl Fn(String) -> String,
) -> Proc {
    assert!(!(kind == SentinelKind::Redis && format == ConfFormat::Toml), "redis-sentinel cannot read sentinel.toml");
    let port = free_port();
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    let logfile = dir.join(format!("{name}.log"));
    let conf_path = match format {
        ConfFormat::RedisConf => {
            let p = dir.join("sentinel.conf");
            fs::write(&p, edit(redis_sentinel_conf(port, &dir, &logfile, m))).unwrap();
            p
        }
        ConfFormat::Toml => {
            let p = dir.join("sentinel.toml");
            fs::write(&p, edit(toml_sentinel_conf(port, &logfile, m))).unwrap();
            p
        }
    };
    let (prog, args) = sentinel_command(kind, &conf_path);
    let mut p = Proc::new(name, port, &dir, prog, args);
    p.add_log(logfile);
    p.add_log(conf_path);
    p.tail_lines = 80;
    p.start();
    p
}

// ---------------------------------------------------------------------------------------
// Topology: 1 master + N replicas + M sentinels
// ---------------------------------------------------------------------------------------

/// A whole deployment in one temp dir. Field order matters for drop order: sentinels are
/// killed first so they don't react to the servers disappearing.
pub struct Topology {
    pub kind: SentinelKind,
    pub sentinels: Vec<Proc>,
    pub master: Proc,
    pub replicas: Vec<Proc>,
    pub master_conf: MasterConf,
    pub root: tempfile::TempDir,
}

impl Topology {
    pub fn start(kind: SentinelKind, replicas: usize, sentinels: usize) -> Topology {
        Self::start_with(kind, ConfFormat::RedisConf, replicas, sentinels)
    }

    pub fn start_with(kind: SentinelKind, format: ConfFormat, n_replicas: usize, n_sentinels: usize) -> Topology {
        let root = tempfile::Builder::new().prefix("sentinel-it-").tempdir().expect("temp dir");
        let master = start_redis(root.path(), "redis-a", None);
        let replicas: Vec<Proc> = (0..n_replicas)
            .map(|i| {
                let name = format!("redis-{}", (b'b' + i as u8) as char);
                start_redis(root.path(), &name, Some(master.port))
            })
            .collect();
        let master_conf = MasterConf::new(master.port);
        let mut topo = Topology { kind, sentinels: Vec::new(), master, replicas, master_conf, root };
        // Replicas must be linked before sentinels look, or INFO shows them late.
        for r in &topo.replicas {
            let p = r.port;
            wait_until(T_START, &format!("replica {p} master_link_status:up"), || {
                let info = info(p, "replication")?;
                if info_field(&info, "master_link_status").as_deref() == Some("up") {
                    Ok(())
                } else {
                    Err(info_field(&info, "master_link_status").unwrap_or_default())
                }
            });
        }
        for i in 0..n_sentinels {
            let name = format!("sentinel-{i}");
            let p = start_sentinel(topo.root.path(), &name, kind, format, &topo.master_conf);
            topo.sentinels.push(p);
        }
        topo
    }

    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    pub fn redis_ports(&self) -> Vec<u16> {
        std::iter::once(self.master.port).chain(self.replicas.iter().map(|r| r.port)).collect()
    }

    /// Waits until every sentinel knows `replicas` replicas and `peers` other sentinels.
    pub fn wait_discovery(&self, replicas: usize, peers: usize) {
        for s in &self.sentinels {
            let port = s.port;
            wait_until(
                T_DISCOVERY,
                &format!("{} (:{port}) to see {replicas} replicas and {peers} peers", s.name),
                || {
                    let r = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
                    let p = sentinel_list(port, "SENTINELS", MASTER_NAME)?;
                    let m = sentinel_master(port, MASTER_NAME)?;
                    let others = m.get("num-other-sentinels").cloned().unwrap_or_default();
                    if r.len() == replicas && p.len() == peers && others == peers.to_string() {
                        Ok(())
                    } else {
                        Err(format!(
                            "replicas={:?} sentinels={:?} num-other-sentinels={others}",
                            r.iter().map(|x| x.get("name").cloned().unwrap_or_default()).collect::<Vec<_>>(),
                            p.iter().map(|x| x.get("port").cloned().unwrap_or_default()).collect::<Vec<_>>(),
                        ))
                    }
                },
            );
        }
    }

    /// Prints the tail of every log (used by tests that want logs even on success).
    pub fn dump_logs(&self, n: usize) {
        for p in self.sentinels.iter().chain(std::iter::once(&self.master)).chain(&self.replicas) {
            eprintln!("{}", p.log_tails(n));
        }
    }
}

impl Drop for Topology {
    /// Runs before the fields are dropped (processes killed, temp dir removed). With
    /// `SENTINEL_TEST_KEEP=1` the temp dir (configs, logs) is kept for inspection.
    fn drop(&mut self) {
        if std::env::var_os("SENTINEL_TEST_KEEP").is_some() {
            self.root.disable_cleanup(true);
            eprintln!("SENTINEL_TEST_KEEP: kept {}", self.root.path().display());
        } else if std::thread::panicking() {
            eprintln!("(set SENTINEL_TEST_KEEP=1 to keep {} with all configs and logs)", self.root.path().display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// RESP client helpers (the `redis` crate, sync API, fresh connection per call)
// ---------------------------------------------------------------------------------------

pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a connection with connect/read/write timeouts (a hung server must not hang us).
pub fn connect(port: u16) -> Result<redis::Connection, String> {
    let client = redis::Client::open(format!("redis://{HOST}:{port}/")).map_err(|e| format!(":{port} bad url: {e}"))?;
    let con = client.get_connection_with_timeout(IO_TIMEOUT).map_err(|e| format!(":{port} connect: {e}"))?;
    con.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    con.set_write_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    Ok(con)
}

/// Runs one command and returns the raw reply.
pub fn query(port: u16, args: &[&str]) -> Result<redis::Value, String> {
    let mut con = connect(port)?;
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<redis::Value>(&mut con).map_err(|e| format!(":{port} {}: {e}", args.join(" ")))
}

/// Renders a reply as text (bulk/status strings as-is).
pub fn value_str(v: &redis::Value) -> Option<String> {
    match v {
        redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        redis::Value::SimpleString(s) => Some(s.clone()),
        redis::Value::Okay => Some("OK".into()),
        redis::Value::Int(i) => Some(i.to_string()),
        redis::Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// An instance map (RESP2 flat array or RESP3 map) as `field -> value`.
pub fn value_map(v: &redis::Value) -> Result<HashMap<String, String>, String> {
    let mut m = HashMap::new();
    match v {
        redis::Value::Array(items) => {
            if items.len() % 2 != 0 {
                return Err(format!("odd-length map array: {v:?}"));
            }
            for kv in items.chunks(2) {
                let k = value_str(&kv[0]).ok_or_else(|| format!("bad key {:?}", kv[0]))?;
                m.insert(k, value_str(&kv[1]).unwrap_or_else(|| format!("{:?}", kv[1])));
            }
        }
        redis::Value::Map(pairs) => {
            for (k, val) in pairs {
                let k = value_str(k).ok_or_else(|| format!("bad key {k:?}"))?;
                m.insert(k, value_str(val).unwrap_or_else(|| format!("{val:?}")));
            }
        }
        other => return Err(format!("expected a map, got {other:?}")),
    }
    Ok(m)
}

fn value_maps(v: &redis::Value) -> Result<Vec<HashMap<String, String>>, String> {
    match v {
        redis::Value::Array(items) => items.iter().map(value_map).collect(),
        other => Err(format!("expected an array of maps, got {other:?}")),
    }
}

/// `SENTINEL MASTERS`, parsed.
pub fn sentinel_masters(port: u16) -> Result<Vec<HashMap<String, String>>, String> {
    value_maps(&query(port, &["SENTINEL", "MASTERS"])?)
}

/// `SENTINEL MASTER <name>`, parsed.
pub fn sentinel_master(port: u16, name: &str) -> Result<HashMap<String, String>, String> {
    value_map(&query(port, &["SENTINEL", "MASTER", name])?)
}

/// `SENTINEL REPLICAS|SENTINELS|SLAVES <name>`, parsed.
pub fn sentinel_list(port: u16, sub: &str, name: &str) -> Result<Vec<HashMap<String, String>>, String> {
    value_maps(&query(port, &["SENTINEL", sub, name])?)
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME`: `Ok(None)` for the null reply.
pub fn master_addr(port: u16, name: &str) -> Result<Option<(String, u16)>, String> {
    match query(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])? {
        redis::Value::Nil => Ok(None),
        redis::Value::Array(a) if a.len() == 2 => {
            let ip = value_str(&a[0]).ok_or("bad ip")?;
            let p = value_str(&a[1]).ok_or("bad port")?;
            Ok(Some((ip, p.parse().map_err(|e| format!("port {p:?}: {e}"))?)))
        }
        other => Err(format!("unexpected GET-MASTER-ADDR-BY-NAME reply {other:?}")),
    }
}

/// `SENTINEL MYID`.
/// Waits until the sentinel on `port` shows every replica of `MASTER_NAME` connected and
/// with its link to the master `ok`, i.e. with an INFO answered: from then on a manual
/// `SENTINEL FAILOVER` is accepted (Redis and ours alike).
pub fn wait_replicas_ready(port: u16) {
    wait_until(T_DISCOVERY, &format!("replicas seen by :{port} connected with an INFO answered"), || {
        let rs = sentinel_list(port, "REPLICAS", MASTER_NAME)?;
        let ready = |r: &HashMap<String, String>| {
            !r.get("flags").is_some_and(|f| f.contains("disconnected"))
                && r.get("master-link-status").map(String::as_str) == Some("ok")
        };
        if !rs.is_empty() && rs.iter().all(ready) {
            Ok(())
        } else {
            Err(format!("{rs:?}"))
        }
    });
}

pub fn sentinel_myid(port: u16) -> Result<String, String> {
    value_str(&query(port, &["SENTINEL", "MYID"])?).ok_or_else(|| "MYID: not a string".into())
}

/// `INFO [section]` text.
pub fn info(port: u16, section: &str) -> Result<String, String> {
    let v = query(port, &["INFO", section])?;
    value_str(&v).ok_or_else(|| format!("INFO: unexpected reply {v:?}"))
}

/// One `field:value` of an INFO text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string()))
}

/// `role:` from `INFO replication` of a Redis server (`master` / `slave`).
pub fn role(port: u16) -> Result<String, String> {
    let i = info(port, "replication")?;
    info_field(&i, "role").ok_or_else(|| format!("no role: in INFO of :{port}"))
}

/// `master_port:` of a replica (None for a master).
pub fn replica_master_port(port: u16) -> Result<Option<u16>, String> {
    let i = info(port, "replication")?;
    Ok(info_field(&i, "master_port").and_then(|p| p.parse().ok()))
}

/// Convenience wrappers for the common process operations.
pub fn kill9(p: &mut Proc) {
    p.kill9()
}
pub fn restart(p: &mut Proc) {
    p.restart()
}

// ---------------------------------------------------------------------------------------
// Event capture: PSUBSCRIBE * in a background thread
// ---------------------------------------------------------------------------------------

/// One published event.
#[derive(Clone, Debug)]
pub struct Event {
    pub at: Instant,
    pub channel: String,
    pub payload: String,
}

/// Records every event a sentinel publishes (`PSUBSCRIBE *`), reconnecting if the
/// sentinel restarts. Stops on drop.
pub struct EventLog {
    pub port: u16,
    events: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
    subscribed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EventLog {
    /// Subscribes and waits until the subscription is confirmed.
    pub fn start(port: u16) -> EventLog {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let subscribed = Arc::new(AtomicBool::new(false));
        let (ev, st, sub) = (events.clone(), stop.clone(), subscribed.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let _ = Self::session(port, &ev, &st, &sub);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let log = EventLog { port, events, stop, subscribed, thread: Some(thread) };
        let s = log.subscribed.clone();
        wait_for(T_START, &format!("PSUBSCRIBE * on :{port}"), || {
            (s.load(Ordering::SeqCst), "no psubscribe confirmation".into())
        });
        log
    }

    fn session(
        port: u16,
        events: &Mutex<Vec<Event>>,
        stop: &AtomicBool,
        subscribed: &AtomicBool,
    ) -> Result<(), String> {
        let mut con = connect(port)?;
        let mut ps = con.as_pubsub();
        ps.psubscribe("*").map_err(|e| e.to_string())?;
        ps.set_read_timeout(Some(Duration::from_millis(200))).map_err(|e| e.to_string())?;
        subscribed.store(true, Ordering::SeqCst);
        while !stop.load(Ordering::SeqCst) {
            match ps.get_message() {
                Ok(msg) => {
                    let payload: String =
                        msg.get_payload().unwrap_or_else(|_| String::from_utf8_lossy(msg.get_payload_bytes()).into());
                    events.lock().unwrap().push(Event {
                        at: Instant::now(),
                        channel: msg.get_channel_name().to_string(),
                        payload,
                    });
                }
                Err(e) if e.is_timeout() => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn channels(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.channel).collect()
    }

    /// First event on `channel` whose payload satisfies `pred`, if any yet.
    pub fn find(&self, channel: &str, pred: impl Fn(&str) -> bool) -> Option<Event> {
        self.events().into_iter().find(|e| e.channel == channel && pred(&e.payload))
    }

    /// Waits for an event on `channel` whose payload satisfies `pred`.
    pub fn wait_event(&self, timeout: Duration, channel: &str, pred: impl Fn(&str) -> bool) -> Event {
        wait_until(timeout, &format!("event {channel} on sentinel :{}", self.port), || {
            self.find(channel, &pred).ok_or_else(|| self.summary())
        })
    }

    /// `channel payload` lines, for messages.
    pub fn summary(&self) -> String {
        let ev = self.events();
        let t0 = ev.first().map(|e| e.at);
        let mut s = format!("{} events:", ev.len());
        for e in &ev {
            let dt = t0.map(|t| e.at.duration_since(t).as_secs_f64()).unwrap_or(0.0);
            s.push_str(&format!("\n    +{dt:6.2}s {} {}", e.channel, e.payload));
        }
        s
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asserts that `names` occur in `log` in this relative order (other events may be
/// interleaved). Panics with the whole log otherwise.
/// After a fault has ended and the sentinels converged: watches every log for `window`
/// and fails on anything that means a needless second failover or a healthy master taken
/// for dead (`+sdown`/`+odown` of a master, `+try-failover`, `+new-epoch`).
pub fn assert_quiet_after(logs: &[EventLog], window: Duration) {
    let from = Instant::now();
    let bad = |e: &Event| {
        e.at >= from
            && (matches!(e.channel.as_str(), "+try-failover" | "+new-epoch")
                || (matches!(e.channel.as_str(), "+sdown" | "+odown") && e.payload.starts_with("master ")))
    };
    while from.elapsed() < window {
        for l in logs {
            if let Some(e) = l.events().into_iter().find(|e| bad(e)) {
                panic!("{} {} after the sentinels had converged\n{}", e.channel, e.payload, l.summary());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn assert_in_order(log: &EventLog, names: &[&str]) {
    let chans = log.channels();
    let mut idx = 0;
    for c in &chans {
        if idx < names.len() && c == names[idx] {
            idx += 1;
        }
    }
    assert!(
        idx == names.len(),
        "events on :{} are missing {:?} in order {:?}\n{}",
        log.port,
        names.get(idx),
        names,
        log.summary()
    );
}

// ---------------------------------------------------------------------------------------
// External clients
// ---------------------------------------------------------------------------------------

/// Runs `f` on a helper thread and panics if it doesn't finish in `timeout` (client
/// libraries have no overall deadline; a hung sentinel must not hang the suite).
pub fn with_deadline<T: Send + 'static>(timeout: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout).unwrap_or_else(|_| panic!("{what}: no result within {timeout:?}"))
}

/// True if `python3` with redis-py is available.
pub fn python_redis_available() -> bool {
    Command::new("python3")
        .args(["-c", "import redis.sentinel"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The script run by [`python_sentinel_write`]: discover the master through
/// `redis.sentinel.Sentinel`, write through `master_for`, read back, print the address.
const PY_SENTINEL_CLIENT: &str = r#"
import sys, time
from redis.sentinel import Sentinel
ports = [int(p) for p in sys.argv[1].split(",")]
name, key, val, deadline = sys.argv[2], sys.argv[3], sys.argv[4], time.time() + float(sys.argv[5])
s = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=1.0, socket_connect_timeout=1.0)
last = None
while time.time() < deadline:
    try:
        addr = s.discover_master(name)
        m = s.master_for(name, socket_timeout=1.0, socket_connect_timeout=1.0)
        m.set(key, val)
        assert m.get(key).decode() == val
        print("%s:%d" % addr)
        sys.exit(0)
    except Exception as e:
        last = e
        time.sleep(0.2)
print("FAILED: %r" % (last,), file=sys.stderr)
sys.exit(1)
"#;

/// Uses redis-py's `Sentinel` to find the master and write `key=val`; returns the
/// `ip:port` it discovered. `Ok(None)` if python3/redis-py are not installed.
pub fn python_sentinel_write(sentinel_ports: &[u16], key: &str, val: &str) -> Result<Option<String>, String> {
    if !python_redis_available() {
        if require_all() {
            return Err("python3 with redis-py is required when every test must run (pip install redis)".into());
        }
        skip("redis-py check", "python3 with the `redis` package is not installed");
        return Ok(None);
    }
    let ports: Vec<String> = sentinel_ports.iter().map(|p| p.to_string()).collect();
    let out = Command::new("python3")
        .args(["-c", PY_SENTINEL_CLIENT, &ports.join(","), MASTER_NAME, key, val, "30"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    } else {
        Err(format!(
            "redis-py Sentinel client failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Uses the redis crate's `redis::sentinel::Sentinel` to find the master and write.
/// Returns the master's `ip:port` as resolved by the crate.
pub fn rust_sentinel_write(sentinel_ports: &[u16], key: &str, val: &str) -> Result<String, String> {
    use redis::Commands;
    let urls: Vec<String> = sentinel_ports.iter().map(|p| format!("redis://{HOST}:{p}/")).collect();
    let (key, val) = (key.to_string(), val.to_string());
    with_deadline(Duration::from_secs(60), "redis crate Sentinel client", move || {
        let mut last = String::new();
        for _ in 0..100 {
            let attempt = (|| -> redis::RedisResult<String> {
                let mut s = redis::sentinel::Sentinel::build(urls.clone())?;
                let client = s.master_for(MASTER_NAME, None)?;
                let addr = client.get_connection_info().addr.to_string();
                let mut con = client.get_connection_with_timeout(IO_TIMEOUT)?;
                let _: () = con.set(&key, &val)?;
                let got: String = con.get(&key)?;
                assert_eq!(got, val);
                Ok(addr)
            })();
            match attempt {
                Ok(a) => return Ok(a),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Err(format!("redis crate Sentinel client kept failing: {last}"))
    })
}

/// Reads a whole file to a string (empty if missing).
pub fn read_to_string(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

/// Lines of a file (for config inspection).
pub fn file_lines(path: &Path) -> Vec<String> {
    fs::File::open(path).map(|f| BufReader::new(f).lines().map_while(Result::ok).collect()).unwrap_or_default()
}
