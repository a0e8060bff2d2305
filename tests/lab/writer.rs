//! A writing client in its own namespace, behaving like a plain Sentinel-aware client:
//! on (re)connect it asks the sentinels it can reach, in order, for the master's address,
//! then writes `SET w:<n> <n>` (n = 1, 2, ...) to that address until a write fails, and
//! records every acknowledged write with the server that acknowledged it and when.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::enter_ns;
use super::node::{connect, MASTER, REDIS_PORT, SENTINEL_PORT};
use crate::common::value_str;

const OP_TIMEOUT: Duration = Duration::from_millis(500);
const PACE: Duration = Duration::from_millis(10);

#[derive(Clone, Debug)]
pub struct Ack {
    pub n: u64,
    pub server: String,
    pub at: Instant,
}

pub struct Writer {
    acks: Arc<Mutex<Vec<Ack>>>,
    pub failures: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(ns: &str, sentinel_ips: Vec<String>) -> Writer {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, f, st, ns) = (acks.clone(), failures.clone(), stop.clone(), ns.to_string());
        let thread = std::thread::spawn(move || {
            enter_ns(&ns);
            run(&sentinel_ips, &a, &f, &st);
        });
        Writer { acks, failures, stop, thread: Some(thread) }
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.acks.lock().unwrap().clone()
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

fn discover(sentinels: &[String]) -> Option<String> {
    sentinels.iter().find_map(|s| {
        let mut con = connect(s, SENTINEL_PORT, OP_TIMEOUT).ok()?;
        let v: redis::Value = redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(MASTER).query(&mut con).ok()?;
        match v {
            redis::Value::Array(a) if a.len() == 2 => value_str(&a[0]),
            _ => None,
        }
    })
}

fn run(sentinels: &[String], acks: &Mutex<Vec<Ack>>, failures: &AtomicU64, stop: &AtomicBool) {
    let mut n = 0u64;
    let mut cur: Option<(String, redis::Connection)> = None;
    while !stop.load(Ordering::SeqCst) {
        let (server, con) = match cur.as_mut() {
            Some((s, c)) => (s.clone(), c),
            None => {
                let Some(ip) = discover(sentinels) else {
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
        let r: redis::RedisResult<redis::Value> = redis::cmd("SET").arg(format!("w:{n}")).arg(n).query(con);
        match r {
            Ok(_) => acks.lock().unwrap().push(Ack { n, server, at: Instant::now() }),
            Err(_) => {
                failures.fetch_add(1, Ordering::SeqCst);
                cur = None;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        std::thread::sleep(PACE);
    }
}
