//! Role watch: a background thread inside a Redis node's own namespace keeps one
//! connection to it and asks `ROLE` every 25 ms, recording every change of
//! `(role, master host)` with the test process's clock. Gives the moment a replica was
//! promoted and the moment an old master became a replica again, independently of what
//! the sentinels publish (and of the partition: the node is asked from its own namespace).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::enter_ns;
use super::node::{connect, Node};
use crate::common::value_str;

const POLL: Duration = Duration::from_millis(25);

/// One observed state: `role` is `master`, `slave` (with the master's host) or
/// `unreachable`; `at` is when it was first seen, `last_before` when the previous state was
/// last seen (the change happened between the two).
#[derive(Clone, Debug, PartialEq)]
pub struct RoleChange {
    pub role: String,
    pub master_host: Option<String>,
    pub at: Instant,
    pub last_before: Option<Instant>,
}

pub struct RoleWatch {
    pub name: String,
    changes: Arc<Mutex<Vec<RoleChange>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RoleWatch {
    /// Starts watching `node` and waits for the first observation.
    pub fn start(node: &Node) -> RoleWatch {
        let changes = Arc::new(Mutex::new(Vec::<RoleChange>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ch, st) = (changes.clone(), stop.clone());
        let (ns, ip, port) = (node.ns.clone(), node.ip.clone(), node.port);
        let thread = std::thread::spawn(move || {
            enter_ns(&ns);
            let mut con: Option<redis::Connection> = None;
            let mut last_seen: Option<Instant> = None;
            while !st.load(Ordering::SeqCst) {
                if con.is_none() {
                    con = connect(&ip, port, Duration::from_millis(500)).ok();
                }
                let state = match con.as_mut().map(|c| redis::cmd("ROLE").query::<redis::Value>(c)) {
                    Some(Ok(redis::Value::Array(a))) => {
                        let role = a.first().and_then(value_str).unwrap_or_default();
                        let host = if role == "slave" { a.get(1).and_then(value_str) } else { None };
                        (role, host)
                    }
                    _ => {
                        con = None;
                        ("unreachable".to_string(), None)
                    }
                };
                let now = Instant::now();
                {
                    let mut v = ch.lock().unwrap();
                    let same = v.last().is_some_and(|c| c.role == state.0 && c.master_host == state.1);
                    if !same {
                        v.push(RoleChange { role: state.0, master_host: state.1, at: now, last_before: last_seen });
                    }
                }
                last_seen = Some(now);
                std::thread::sleep(POLL);
            }
        });
        let w = RoleWatch { name: node.name.clone(), changes, stop, thread: Some(thread) };
        let t0 = Instant::now();
        while w.changes().is_empty() {
            assert!(t0.elapsed() < Duration::from_secs(15), "ROLE watch on {} saw nothing in 15 s", node.name);
            std::thread::sleep(Duration::from_millis(10));
        }
        w
    }

    pub fn changes(&self) -> Vec<RoleChange> {
        self.changes.lock().unwrap().clone()
    }

    /// The first change at or after `after` into `role` (and, if given, replicating from
    /// `master_host`).
    pub fn first(&self, role: &str, master_host: Option<&str>, after: Instant) -> Option<RoleChange> {
        self.changes().into_iter().find(|c| {
            c.at >= after && c.role == role && (master_host.is_none() || c.master_host.as_deref() == master_host)
        })
    }

    /// The current (last observed) state.
    pub fn current(&self) -> RoleChange {
        self.changes().last().cloned().expect("started")
    }
}

impl Drop for RoleWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
