//! A writing client in a namespace, behaving like redis-py's `Sentinel.master_for`: on
//! (re)connect it asks the sentinels it can reach, in order, for the master's address (the
//! sentinel that answered moves to the front of the list, as redis-py does), then writes
//! `SET <prefix>:<n> <n>` (n = 1, 2, ...) to that address; any error (timeout, refused,
//! `READONLY`, `NOREPLICAS`, ...) drops the connection and resolves the master again. Every
//! acknowledged write is recorded with the server that acknowledged it and when it was
//! sent and acknowledged. With `wait` set, each acknowledged `SET` is followed by
//! `WAIT 1 <ms>` and the write counts as replicated when WAIT reports at least one replica.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::enter_ns;
use super::node::{connect, MASTER, REDIS_PORT, SENTINEL_PORT};
use crate::common::value_str;

const OP_TIMEOUT: Duration = Duration::from_millis(500);
const PACE: Duration = Duration::from_millis(10);
/// WAIT's own timeout (ms): well under OP_TIMEOUT.
const WAIT_MS: &str = "200";

#[derive(Clone, Debug)]
pub struct Ack {
    pub n: u64,
    pub server: String,
    /// When the SET was sent / its reply received (test process clock).
    pub sent: Instant,
    pub at: Instant,
    /// `WAIT 1` reported a replica (only for a writer started with `wait`).
    pub replicated: bool,
}

pub struct Writer {
    pub prefix: String,
    pub wait: bool,
    acks: Arc<Mutex<Vec<Ack>>>,
    pub failures: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// A writer in namespace `ns`, keys `<prefix>:<n>`, asking `sentinel_ips` in order.
    pub fn start(ns: &str, sentinel_ips: Vec<String>, prefix: &str, wait: bool) -> Writer {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, f, st, ns, p) = (acks.clone(), failures.clone(), stop.clone(), ns.to_string(), prefix.to_string());
        let thread = std::thread::spawn(move || {
            enter_ns(&ns);
            run(sentinel_ips, &p, wait, &a, &f, &st);
        });
        Writer { prefix: prefix.to_string(), wait, acks, failures, stop, thread: Some(thread) }
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.acks.lock().unwrap().clone()
    }

    pub fn key(&self, n: u64) -> String {
        format!("{}:{n}", self.prefix)
    }

    pub fn stop(&mut self) -> Vec<Ack> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.acks()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asks the sentinels in order; the one that answered goes to the front.
fn discover(sentinels: &mut Vec<String>) -> Option<String> {
    for i in 0..sentinels.len() {
        let Ok(mut con) = connect(&sentinels[i], SENTINEL_PORT, OP_TIMEOUT) else { continue };
        let v: redis::RedisResult<redis::Value> =
            redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(MASTER).query(&mut con);
        if let Ok(redis::Value::Array(a)) = v {
            if let (2, Some(ip)) = (a.len(), a.first().and_then(value_str)) {
                let s = sentinels.remove(i);
                sentinels.insert(0, s);
                return Some(ip);
            }
        }
    }
    None
}

fn run(
    mut sentinels: Vec<String>,
    prefix: &str,
    wait: bool,
    acks: &Mutex<Vec<Ack>>,
    failures: &AtomicU64,
    stop: &AtomicBool,
) {
    let mut n = 0u64;
    let mut cur: Option<(String, redis::Connection)> = None;
    while !stop.load(Ordering::SeqCst) {
        let (server, con) = match cur.as_mut() {
            Some((s, c)) => (s.clone(), c),
            None => {
                let Some(ip) = discover(&mut sentinels) else {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                match connect(&ip, REDIS_PORT, OP_TIMEOUT) {
                    Ok(c) => cur = Some((ip, c)),
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
                continue;
            }
        };
        n += 1;
        let sent = Instant::now();
        let r: redis::RedisResult<redis::Value> = redis::cmd("SET").arg(format!("{prefix}:{n}")).arg(n).query(con);
        match r {
            Ok(_) => {
                let at = Instant::now();
                let mut replicated = false;
                if wait {
                    match redis::cmd("WAIT").arg(1).arg(WAIT_MS).query::<redis::Value>(con) {
                        Ok(redis::Value::Int(k)) => replicated = k >= 1,
                        Ok(_) => {}
                        Err(_) => cur = None,
                    }
                }
                acks.lock().unwrap().push(Ack { n, server, sent, at, replicated });
            }
            Err(_) => {
                failures.fetch_add(1, Ordering::SeqCst);
                cur = None;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        std::thread::sleep(PACE);
    }
}
