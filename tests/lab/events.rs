//! Event capture: a background thread inside a sentinel's own namespace keeps a
//! `PSUBSCRIBE *` on it (reconnecting across restarts) and timestamps every event with
//! the test process's clock, so events of all sentinels and the writer share one time
//! axis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::net::enter_ns;
use super::node::{connect, Node};

#[derive(Clone, Debug)]
pub struct Event {
    pub at: Instant,
    /// The sentinel's name (`s0`...).
    pub from: String,
    pub channel: String,
    pub payload: String,
}

pub struct Events {
    pub name: String,
    events: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Events {
    /// Starts capturing on `node` and waits until the subscription is confirmed.
    pub fn start(node: &Node) -> Events {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let subscribed = Arc::new(AtomicBool::new(false));
        let (ev, st, sub) = (events.clone(), stop.clone(), subscribed.clone());
        let (ns, ip, port, name) = (node.ns.clone(), node.ip.clone(), node.port, node.name.clone());
        let from = name.clone();
        let thread = std::thread::spawn(move || {
            enter_ns(&ns);
            while !st.load(Ordering::SeqCst) {
                let _ = session(&ip, port, &from, &ev, &st, &sub);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let t0 = Instant::now();
        while !subscribed.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(15), "PSUBSCRIBE * on {name} not confirmed in 15 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Events { name, events, stop, thread: Some(thread) }
    }

    pub fn all(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn on(&self, channel: &str) -> Vec<Event> {
        self.all().into_iter().filter(|e| e.channel == channel).collect()
    }

    pub fn first(&self, channel: &str) -> Option<Event> {
        self.all().into_iter().find(|e| e.channel == channel)
    }

    pub fn count(&self, channel: &str) -> usize {
        self.on(channel).len()
    }
}

fn session(
    ip: &str,
    port: u16,
    from: &str,
    events: &Mutex<Vec<Event>>,
    stop: &AtomicBool,
    subscribed: &AtomicBool,
) -> Result<(), String> {
    let mut con = connect(ip, port, Duration::from_secs(1))?;
    let mut ps = con.as_pubsub();
    ps.psubscribe("*").map_err(|e| e.to_string())?;
    ps.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| e.to_string())?;
    subscribed.store(true, Ordering::SeqCst);
    while !stop.load(Ordering::SeqCst) {
        match ps.get_message() {
            Ok(msg) => {
                let payload = String::from_utf8_lossy(msg.get_payload_bytes()).into_owned();
                events.lock().unwrap().push(Event {
                    at: Instant::now(),
                    from: from.to_string(),
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

impl Drop for Events {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Channels worth a line in a timeline (hello chatter and discovery are left out).
pub fn interesting(channel: &str) -> bool {
    !matches!(channel, "+sentinel" | "+slave" | "__sentinel__:hello" | "+reboot" | "+fix-slave-config")
        && !channel.starts_with("__")
}
