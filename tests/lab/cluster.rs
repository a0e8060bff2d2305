//! The lab's standard deployment: Redis `r0` (master, 10.213.0.10), `r1`, `r2` (replicas,
//! .11, .12), sentinels `s0`, `s1`, `s2` (.20-.22, quorum 2) and two client namespaces
//! `c` (.30, put on the master's side of a partition) and `c2` (.31, the majority's), each in its own namespace on one bridge. Helpers to wait (bounded, panicking
//! with the sentinels' log tails), to inspect agreement, and to print a timeline.

use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::events::{interesting, Events};
use super::net::Net;
use super::node::Node;

pub const T_DISCOVERY: Duration = Duration::from_secs(60);
pub const T_FAILOVER: Duration = Duration::from_secs(60);
pub const T_CONVERGE: Duration = Duration::from_secs(90);

pub struct Settings {
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    /// Extra `sentinel.conf` lines for every sentinel.
    pub sentinel_extra: Vec<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { down_after_ms: 1000, failover_timeout_ms: 5000, sentinel_extra: Vec::new() }
    }
}

/// Field order is drop order: capture threads, then sentinels, then servers, then the
/// directory and finally the network.
pub struct Cluster {
    pub events: Vec<Events>,
    pub sentinels: Vec<Node>,
    pub redis: Vec<Node>,
    pub root: tempfile::TempDir,
    pub net: Net,
    pub t0: Instant,
    pub name: String,
    notes: Mutex<Vec<(Instant, String)>>,
}

impl Cluster {
    pub fn start(name: &str, s: Settings) -> Cluster {
        let net = Net::create(&[
            ("r0", 10),
            ("r1", 11),
            ("r2", 12),
            ("s0", 20),
            ("s1", 21),
            ("s2", 22),
            ("c", 30),
            ("c2", 31),
        ]);
        // After the lab lock was taken: runtimes exclude waiting for other lab tests.
        let t0 = Instant::now();
        let root = tempfile::Builder::new().prefix(&format!("faultlab-{name}-")).tempdir().unwrap();
        let mut c = Cluster {
            events: Vec::new(),
            sentinels: Vec::new(),
            redis: Vec::new(),
            root,
            net,
            t0,
            name: name.to_string(),
            notes: Mutex::new(Vec::new()),
        };
        let master_ip = c.net.node("r0").ip.clone();
        for r in ["r0", "r1", "r2"] {
            let n = c.net.node(r).clone();
            let of = (r != "r0").then_some(master_ip.as_str());
            c.redis.push(Node::redis(c.root.path(), r, &n.ns, &n.ip, of));
        }
        for r in &c.redis[1..] {
            c.wait(Duration::from_secs(30), &format!("{} linked to r0", r.name), || match r.replication()? {
                (role, _, Some(link)) if role == "slave" && link == "up" => Ok(()),
                other => Err(format!("{other:?}")),
            });
        }
        for name in ["s0", "s1", "s2"] {
            let n = c.net.node(name).clone();
            let node = Node::sentinel(
                c.root.path(),
                name,
                &n.ns,
                &n.ip,
                &master_ip,
                s.down_after_ms,
                s.failover_timeout_ms,
                &s.sentinel_extra,
            );
            c.sentinels.push(node);
        }
        c.events = c.sentinels.iter().map(Events::start).collect();
        c.wait_discovery();
        c.say("deployment up: r0 master, r1 r2 replicas, s0 s1 s2 see 2 replicas and 2 peers");
        c
    }

    /// Waits until every running sentinel knows 2 replicas and 2 peers.
    pub fn wait_discovery(&self) {
        for s in self.sentinels.iter().filter(|s| s.is_running()) {
            self.wait(T_DISCOVERY, &format!("{} to see 2 replicas and 2 peers", s.name), || {
                let m = s.sentinel_master()?;
                let (r, p) = (m.get("num-slaves").cloned(), m.get("num-other-sentinels").cloned());
                if r.as_deref() == Some("2") && p.as_deref() == Some("2") {
                    Ok(())
                } else {
                    Err(format!("num-slaves={r:?} num-other-sentinels={p:?}"))
                }
            });
        }
    }

    /// Prints `[  t s] msg` (t since the cluster started) and keeps it for the timeline.
    pub fn say(&self, msg: &str) {
        let now = Instant::now();
        eprintln!("[{}] [{:7.2}s] {msg}", self.name, now.duration_since(self.t0).as_secs_f64());
        self.notes.lock().unwrap().push((now, msg.to_string()));
    }

    pub fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.t0).as_secs_f64()
    }

    pub fn sentinel(&self, name: &str) -> &Node {
        self.sentinels.iter().find(|s| s.name == name).unwrap()
    }

    pub fn events_of(&self, name: &str) -> &Events {
        self.events.iter().find(|e| e.name == name).unwrap()
    }

    pub fn redis_by_ip(&self, ip: &str) -> &Node {
        self.redis.iter().find(|r| r.ip == ip).unwrap_or_else(|| panic!("no redis node with ip {ip}"))
    }

    pub fn redis_index(&self, ip: &str) -> usize {
        self.redis.iter().position(|r| r.ip == ip).unwrap()
    }

    /// Polls `f` every 100 ms until `Ok`; on timeout panics with what was awaited, what
    /// was last seen, the sentinels' log tails and the event timeline.
    pub fn wait<T>(&self, timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
        let start = Instant::now();
        loop {
            let seen = match f() {
                Ok(v) => return v,
                Err(e) => e,
            };
            if start.elapsed() >= timeout {
                self.fail(&format!(
                    "timed out after {:.1}s waiting for: {what}\n  last seen: {seen}",
                    start.elapsed().as_secs_f64()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Panics with `msg`, the event timeline and the sentinels' log tails.
    pub fn fail(&self, msg: &str) -> ! {
        let mut tails = String::new();
        for s in &self.sentinels {
            tails.push_str(&s.log_tails(40));
            s.reported.store(true, Ordering::SeqCst);
        }
        panic!("[{}] {msg}\n\n{}\n{tails}", self.name, self.timeline_text());
    }

    /// `(master ip, config epoch)` if every running sentinel reports the same pair.
    pub fn agreement(&self) -> Result<(String, u64), String> {
        let views: Vec<(String, (String, u64))> = self
            .sentinels
            .iter()
            .filter(|s| s.is_running())
            .map(|s| Ok((s.name.clone(), s.view()?)))
            .collect::<Result<_, String>>()?;
        let first = views[0].1.clone();
        if views.iter().all(|(_, v)| *v == first) {
            Ok(first)
        } else {
            Err(format!("views differ: {views:?}"))
        }
    }

    /// Names of the running Redis nodes that report `role:master` (unreachable ones are
    /// listed as `name?`).
    pub fn redis_masters(&self) -> Vec<String> {
        self.redis
            .iter()
            .filter(|r| r.is_running())
            .filter_map(|r| match r.role() {
                Ok(role) if role == "master" => Some(r.name.clone()),
                Ok(_) => None,
                Err(_) => Some(format!("{}?", r.name)),
            })
            .collect()
    }

    /// Waits until the Redis node `ip` replicates from `master_ip` with the link up.
    pub fn wait_replica_of(&self, ip: &str, master_ip: &str, timeout: Duration) {
        let r = self.redis_by_ip(ip);
        self.wait(timeout, &format!("{} ({ip}) to replicate from {master_ip}", r.name), || match r.replication()? {
            (role, Some(h), Some(link)) if role == "slave" && h == master_ip && link == "up" => Ok(()),
            other => Err(format!("{other:?}")),
        });
    }

    /// Every interesting event of every sentinel plus the test's own notes, by time.
    pub fn timeline_text(&self) -> String {
        let mut lines: Vec<(Instant, String)> = self.notes.lock().unwrap().clone();
        for e in self.events.iter().flat_map(|e| e.all()) {
            if interesting(&e.channel) {
                lines.push((e.at, format!("  {} {} {}", e.from, e.channel, e.payload)));
            }
        }
        lines.sort_by_key(|(t, _)| *t);
        let mut s = format!("timeline of {}:\n", self.name);
        for (t, l) in lines {
            s.push_str(&format!("  {:7.2}s {l}\n", self.secs(t)));
        }
        s
    }

    pub fn print_timeline(&self) {
        eprintln!("{}", self.timeline_text());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::env::var_os("SENTINEL_TEST_KEEP").is_some() {
            self.root.disable_cleanup(true);
            eprintln!("[{}] SENTINEL_TEST_KEEP: kept {}", self.name, self.root.path().display());
        } else if std::thread::panicking() {
            eprintln!("(set SENTINEL_TEST_KEEP=1 to keep {} with all configs and logs)", self.root.path().display());
        }
    }
}
