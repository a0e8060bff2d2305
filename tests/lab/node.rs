//! Processes of the lab and the clients that talk to them.
//!
//! A [`Node`] is one `redis-server` or `sentinel` started with `ip netns exec <ns>` (which
//! execs, so the child's pid is the server's: SIGSTOP/SIGKILL reach it directly). It is
//! SIGKILLed on drop and gets `PR_SET_PDEATHSIG`; its log tail is printed when the test
//! panics. Every client call ([`call`]) runs on a thread inside a namespace, normally the
//! node's own, so observing a node never depends on the partition.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::net::in_ns;
use crate::common::{info_field, value_str};

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;

pub const REDIS_PORT: u16 = 6379;
pub const SENTINEL_PORT: u16 = 26379;
pub const MASTER: &str = "mymaster";
/// Per-command timeout of the observing clients.
pub const IO_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Sentinel,
}

pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub ns: String,
    pub ip: String,
    pub port: u16,
    pub dir: PathBuf,
    pub conf: PathBuf,
    program: PathBuf,
    logs: Vec<PathBuf>,
    child: Option<Child>,
    pub tail_lines: usize,
    /// Set once the log tails went into a panic message.
    pub reported: AtomicBool,
}

impl Node {
    /// A redis-server in `ns` on `ip:6379`, replicating from `replicaof` if given.
    pub fn redis(root: &Path, name: &str, ns: &str, ip: &str, replicaof: Option<&str>) -> Node {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        let mut conf = format!(
            "port {REDIS_PORT}\nbind {ip}\nprotected-mode no\nsave \"\"\nappendonly no\n\
             dir {}\ndaemonize no\nlogfile \"\"\nrepl-diskless-sync-delay 0\n",
            dir.display()
        );
        if let Some(m) = replicaof {
            conf.push_str(&format!("replicaof {m} {REDIS_PORT}\n"));
        }
        let conf_path = dir.join("redis.conf");
        fs::write(&conf_path, conf).unwrap();
        let prog = crate::common::require_program("redis-server");
        let mut n = Node::new(name, Kind::Redis, ns, ip, REDIS_PORT, &dir, conf_path, prog);
        n.start();
        n
    }

    /// Our sentinel in `ns` on `ip:26379`, monitoring `master_ip:6379` with quorum 2;
    /// `extra` are further `sentinel.conf` lines (e.g. `sentinel write-lease mymaster 1`).
    #[allow(clippy::too_many_arguments)]
    pub fn sentinel(
        root: &Path,
        name: &str,
        ns: &str,
        ip: &str,
        master_ip: &str,
        down_after_ms: u64,
        failover_timeout_ms: u64,
        extra: &[String],
    ) -> Node {
        let prog = PathBuf::from(env!("CARGO_BIN_EXE_sentinel"));
        Node::sentinel_program(prog, root, name, ns, ip, master_ip, down_after_ms, failover_timeout_ms, extra)
    }

    /// [`Node::sentinel`] run by `program` (e.g. Debian's `redis-sentinel`, which reads
    /// the same `sentinel.conf`).
    #[allow(clippy::too_many_arguments)]
    pub fn sentinel_program(
        prog: PathBuf,
        root: &Path,
        name: &str,
        ns: &str,
        ip: &str,
        master_ip: &str,
        down_after_ms: u64,
        failover_timeout_ms: u64,
        extra: &[String],
    ) -> Node {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("sentinel.log");
        let conf = format!(
            "port {SENTINEL_PORT}\nbind {ip}\ndir {d}\nlogfile {l}\ndaemonize no\n\
             sentinel monitor {MASTER} {master_ip} {REDIS_PORT} 2\n\
             sentinel down-after-milliseconds {MASTER} {down_after_ms}\n\
             sentinel failover-timeout {MASTER} {failover_timeout_ms}\n\
             sentinel parallel-syncs {MASTER} 1\n",
            d = dir.display(),
            l = log.display(),
        );
        let conf = extra.iter().fold(conf, |acc, l| format!("{acc}{l}\n"));
        let conf_path = dir.join("sentinel.conf");
        fs::write(&conf_path, conf).unwrap();
        let mut n = Node::new(name, Kind::Sentinel, ns, ip, SENTINEL_PORT, &dir, conf_path, prog);
        n.logs.push(log);
        n.logs.push(n.conf.clone());
        n.tail_lines = 60;
        n.start();
        n
    }

    #[allow(clippy::too_many_arguments)]
    fn new(name: &str, kind: Kind, ns: &str, ip: &str, port: u16, dir: &Path, conf: PathBuf, program: PathBuf) -> Node {
        Node {
            name: name.to_string(),
            kind,
            ns: ns.to_string(),
            ip: ip.to_string(),
            port,
            dir: dir.to_path_buf(),
            logs: vec![dir.join(format!("{name}.out"))],
            conf,
            program,
            child: None,
            tail_lines: 25,
            reported: AtomicBool::new(false),
        }
    }

    /// Spawns (from the calling test thread: PDEATHSIG follows that thread) and waits
    /// until the port accepts connections inside the namespace.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.name);
        let out = fs::OpenOptions::new().create(true).append(true).open(&self.logs[0]).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .arg(&self.program)
            .arg(&self.conf)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        crate::common::die_with_parent(&mut cmd);
        self.child = Some(cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", self.name)));
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                self.reported.store(true, Ordering::SeqCst);
                panic!("{} exited during startup with {st}\n{}", self.name, self.log_tails(40));
            }
            if self.listening() {
                return;
            }
            if start.elapsed() > Duration::from_secs(15) {
                self.reported.store(true, Ordering::SeqCst);
                panic!("{} not listening on {}:{} after 15 s\n{}", self.name, self.ip, self.port, self.log_tails(40));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn listening(&self) -> bool {
        let addr: SocketAddr = format!("{}:{}", self.ip, self.port).parse().unwrap();
        in_ns(&self.ns, || TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok())
    }

    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn sigstop(&self) {
        let pid = self.pid().expect("not running");
        // SAFETY: signal to our own child.
        unsafe { kill(pid, SIGSTOP) };
    }

    pub fn sigcont(&self) {
        let pid = self.pid().expect("not running");
        // SAFETY: signal to our own child.
        unsafe { kill(pid, SIGCONT) };
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    /// One command against this node, from inside its own namespace.
    pub fn call(&self, args: &[&str]) -> Result<redis::Value, String> {
        call(&self.ns, &self.ip, self.port, args)
    }

    pub fn role(&self) -> Result<String, String> {
        let i = self.info("replication")?;
        info_field(&i, "role").ok_or_else(|| format!("{}: no role in INFO", self.name))
    }

    pub fn info(&self, section: &str) -> Result<String, String> {
        let v = self.call(&["INFO", section])?;
        value_str(&v).ok_or_else(|| format!("{}: INFO reply {v:?}", self.name))
    }

    /// `(role, master_host, master_link_status)` from INFO replication.
    pub fn replication(&self) -> Result<(String, Option<String>, Option<String>), String> {
        let i = self.info("replication")?;
        Ok((
            info_field(&i, "role").unwrap_or_default(),
            info_field(&i, "master_host"),
            info_field(&i, "master_link_status"),
        ))
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` (ip only; the port is always 6379 here).
    pub fn master_addr(&self) -> Result<Option<String>, String> {
        match self.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER])? {
            redis::Value::Nil => Ok(None),
            redis::Value::Array(a) if a.len() == 2 => Ok(value_str(&a[0])),
            v => Err(format!("GET-MASTER-ADDR-BY-NAME: {v:?}")),
        }
    }

    /// `SENTINEL MASTER mymaster`, parsed.
    pub fn sentinel_master(&self) -> Result<std::collections::HashMap<String, String>, String> {
        crate::common::value_map(&self.call(&["SENTINEL", "MASTER", MASTER])?)
    }

    /// `(master ip, config-epoch)` as this sentinel sees them.
    pub fn view(&self) -> Result<(String, u64), String> {
        let m = self.sentinel_master()?;
        let epoch = m.get("config-epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
        Ok((m.get("ip").cloned().unwrap_or_default(), epoch))
    }

    pub fn log_tails(&self, n: usize) -> String {
        let mut s = String::new();
        for path in &self.logs {
            s.push_str(&format!("----- {} : {} (last {n} lines) -----\n", self.name, path.display()));
            let text = fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(n)..] {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    /// The whole sentinel log file (the second log).
    pub fn log_text(&self) -> String {
        self.logs
            .get(1)
            .and_then(|p| fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // A stopped process must be able to die.
        if let Some(pid) = self.pid() {
            // SAFETY: signal to our own child.
            unsafe { kill(pid, SIGCONT) };
        }
        self.kill9();
        if std::thread::panicking() && !self.reported.load(Ordering::SeqCst) {
            eprintln!("{}", self.log_tails(self.tail_lines));
        }
    }
}

/// Opens a connection to `ip:port` with connect/read/write timeouts. Must run inside a
/// namespace (see [`call`]).
pub fn connect(ip: &str, port: u16, timeout: Duration) -> Result<redis::Connection, String> {
    let client = redis::Client::open(format!("redis://{ip}:{port}/")).map_err(|e| e.to_string())?;
    let con = client.get_connection_with_timeout(timeout).map_err(|e| format!("{ip}:{port} connect: {e}"))?;
    con.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    con.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    Ok(con)
}

/// Runs one command on `ip:port` from a thread inside namespace `ns`.
pub fn call(ns: &str, ip: &str, port: u16, args: &[&str]) -> Result<redis::Value, String> {
    in_ns(ns, || {
        let mut con = connect(ip, port, IO_TIMEOUT)?;
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query::<redis::Value>(&mut con).map_err(|e| format!("{ip}:{port} {}: {e}", args.join(" ")))
    })
}
