//! The lab's network: one network namespace per process, wired to a hub namespace that
//! holds a few Linux bridges. A partition moves the hub-side veth ports of a group of
//! nodes onto another bridge, so frames between groups are silently dropped (a real L2
//! cut: connects time out, established TCP connections stall), and healing moves them
//! all back to bridge 0. Only `iproute2` is needed.
//!
//! Safety (never lets a packet leave the machine):
//! * the subnet [`SUBNET`] must not be routed here already (checked), and while the
//!   namespaces exist the root namespace has an `unreachable` route for it;
//! * no namespace gets a default route, and the hub namespace has no address at all;
//! * nodes are reached only from inside a namespace ([`in_ns`]), never from the root one;
//! * one lab at a time on the machine (an `flock`, held until drop), so the leftovers of a
//!   crashed run (every namespace named `flab-*`) can be removed at start;
//! * `Drop` kills every process left in the namespaces, deletes them and the route, also
//!   when the test panics.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

/// The lab subnet. Nodes get `10.213.0.<n>`.
pub const SUBNET: &str = "10.213.0.0/24";
pub const NET_PREFIX: &str = "10.213.0.";
/// Every namespace of the lab is named `flab-<node>`.
const NS_PREFIX: &str = "flab-";
const HUB: &str = "flab-hub";
const LOCK_PATH: &str = "/run/sentinel-faultlab.lock";
/// Bridges in the hub: a partition has at most this many sides.
const BRIDGES: usize = 4;

extern "C" {
    fn setns(fd: i32, nstype: i32) -> i32;
    fn flock(fd: i32, op: i32) -> i32;
    fn geteuid() -> u32;
}
const CLONE_NEWNET: i32 = 0x4000_0000;
const LOCK_EX: i32 = 2;

/// Runs `f` on a fresh thread that has entered network namespace `ns` (network namespaces
/// are per thread in Linux; sockets belong to the namespace of the thread that creates
/// them). Never spawn long-lived processes from inside `f` (PDEATHSIG is per thread).
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            enter_ns(ns);
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Moves the calling thread into network namespace `ns` for good.
pub fn enter_ns(ns: &str) {
    let path = format!("/var/run/netns/{ns}");
    let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: plain syscall on a valid fd; affects only the calling thread.
    let rc = unsafe { setns(f.as_raw_fd(), CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
}

/// Runs `ip <args>`; returns stdout, or an error with stderr.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip_ok(args: &[&str]) -> String {
    ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// True when this machine can run the lab (root, iproute2). When it cannot, the tests
/// skip, except in CI (`CI` set) where they fail.
pub fn lab_available() -> Result<(), String> {
    // SAFETY: trivial libc call.
    if unsafe { geteuid() } != 0 {
        return Err("the fault lab needs root (network namespaces)".into());
    }
    ip(&["-V"]).map_err(|e| format!("iproute2 missing ({e}); apt-get install -y iproute2"))?;
    Ok(())
}

/// One node of the lab: a namespace `flab-<name>` with `eth0` = `ip`.
#[derive(Clone, Debug)]
pub struct NetNode {
    pub name: String,
    pub ns: String,
    pub ip: String,
}

/// The lab network; see the module doc. Drop tears everything down.
pub struct Net {
    pub nodes: Vec<NetNode>,
    /// Which bridge each node's hub port is on (touch only ports that move).
    attached: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    route_added: bool,
    _lock: File,
}

impl Net {
    /// Takes the machine-wide lab lock, removes leftovers of a crashed run, checks the
    /// subnet is free, installs the root `unreachable` route, then creates one namespace
    /// per `(name, host number)`.
    pub fn create(nodes: &[(&str, u8)]) -> Net {
        let lock = File::options()
            .create(true)
            .append(true)
            .open(LOCK_PATH)
            .unwrap_or_else(|e| panic!("open {LOCK_PATH}: {e}"));
        // SAFETY: plain syscall on a valid fd. Blocks until the previous lab is gone.
        let rc = unsafe { flock(lock.as_raw_fd(), LOCK_EX) };
        assert_eq!(rc, 0, "flock {LOCK_PATH}: {}", std::io::Error::last_os_error());
        cleanup_leftovers();

        let routes = ip_ok(&["-4", "route", "show", "table", "all"]);
        if let Some(r) = overlapping_route(&routes, SUBNET) {
            panic!("the lab subnet {SUBNET} overlaps a route of this machine ({r}); refusing to run");
        }
        let mut net = Net { nodes: Vec::new(), attached: Default::default(), route_added: false, _lock: lock };
        ip_ok(&["route", "add", "unreachable", SUBNET]);
        net.route_added = true;
        // `ip route get` fails with "No route to host" for an unreachable route.
        match ip(&["route", "get", &format!("{NET_PREFIX}1")]) {
            Err(e) if e.contains("No route to host") => {}
            other => panic!("the root namespace would route the lab subnet: {other:?}"),
        }

        ip_ok(&["netns", "add", HUB]);
        ip_ok(&["-n", HUB, "link", "set", "lo", "up"]);
        for b in 0..BRIDGES {
            let br = format!("br{b}");
            ip_ok(&["-n", HUB, "link", "add", &br, "type", "bridge"]);
            ip_ok(&["-n", HUB, "link", "set", &br, "up"]);
        }
        for &(name, host) in nodes {
            let ns = format!("{NS_PREFIX}{name}");
            let addr = format!("{NET_PREFIX}{host}");
            let port = format!("h-{name}");
            ip_ok(&["netns", "add", &ns]);
            ip_ok(&["-n", &ns, "link", "set", "lo", "up"]);
            ip_ok(&["-n", HUB, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            ip_ok(&["-n", HUB, "link", "set", &port, "master", "br0"]);
            ip_ok(&["-n", HUB, "link", "set", &port, "up"]);
            ip_ok(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
            ip_ok(&["-n", &ns, "link", "set", "eth0", "up"]);
            let r = ip_ok(&["-n", &ns, "route", "show"]);
            assert!(!r.contains("default"), "namespace {ns} has a default route: {r}");
            net.attached.lock().unwrap().insert(name.to_string(), 0);
            net.nodes.push(NetNode { name: name.to_string(), ns, ip: addr });
        }
        net
    }

    pub fn node(&self, name: &str) -> &NetNode {
        self.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no lab node {name}"))
    }

    /// Cuts the network into sides: `sides[i]` goes onto bridge `i`; nodes not listed stay
    /// where they are (bridge 0 after a heal). Frames between bridges are dropped.
    pub fn partition(&self, sides: &[&[&str]]) {
        assert!(sides.len() <= BRIDGES, "at most {BRIDGES} sides");
        for (i, side) in sides.iter().enumerate() {
            for name in *side {
                self.attach(name, i);
            }
        }
    }

    /// Every node back on bridge 0.
    pub fn heal(&self) {
        for n in &self.nodes {
            self.attach(&n.name, 0);
        }
    }

    fn attach(&self, name: &str, bridge: usize) {
        let _ = self.node(name);
        let mut at = self.attached.lock().unwrap();
        if at.get(name) == Some(&bridge) {
            return;
        }
        at.insert(name.to_string(), bridge);
        ip_ok(&["-n", HUB, "link", "set", &format!("h-{name}"), "master", &format!("br{bridge}")]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in &self.nodes {
            kill_ns_processes(&n.ns);
            let _ = ip(&["netns", "del", &n.ns]);
        }
        let _ = ip(&["netns", "del", HUB]);
        if self.route_added {
            let _ = ip(&["route", "del", "unreachable", SUBNET]);
        }
        // The lock is released when `_lock` closes.
    }
}

fn kill_ns_processes(ns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// Route types `ip route` prints before the destination (unicast is implicit).
const ROUTE_TYPES: &[&str] =
    &["unicast", "local", "broadcast", "multicast", "unreachable", "prohibit", "blackhole", "throw", "nat", "anycast"];

/// Parses `a.b.c.d[/len]` (no length = a host route, /32) into (network, length).
fn parse_prefix(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse().ok()?),
        None => (s, 32),
    };
    if len > 32 {
        return None;
    }
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(addr) & mask, len))
}

/// True when the two prefixes share an address: the shorter one contains the other's
/// network address.
fn prefixes_overlap((a, alen): (u32, u32), (b, blen): (u32, u32)) -> bool {
    let len = alen.min(blen);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    a & mask == b & mask
}

/// The first line of `ip -4 route show table all` output whose destination overlaps
/// `subnet` (numerically, any prefix length), ignoring only the default route (which our
/// more specific `unreachable` route overrides). A line whose destination cannot be
/// parsed counts as overlapping: the guard fails closed.
fn overlapping_route<'a>(routes: &'a str, subnet: &str) -> Option<&'a str> {
    let lab = parse_prefix(subnet).expect("the lab subnet is a valid prefix");
    routes.lines().find(|line| {
        let mut words = line.split_whitespace();
        let Some(mut dest) = words.next() else { return false };
        if ROUTE_TYPES.contains(&dest) {
            let Some(d) = words.next() else { return true };
            dest = d;
        }
        if dest == "default" {
            return false;
        }
        parse_prefix(dest).is_none_or(|p| prefixes_overlap(p, lab))
    })
}

/// Removes what a crashed run left (we hold the lock, so nothing else is using it).
fn cleanup_leftovers() {
    let list = ip(&["netns", "list"]).unwrap_or_default();
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        if ns.starts_with(NS_PREFIX) {
            eprintln!("fault lab: removing leftover namespace {ns}");
            kill_ns_processes(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
    let routes = ip(&["route", "show"]).unwrap_or_default();
    if routes.lines().any(|l| l.starts_with("unreachable ") && l.contains(SUBNET)) {
        let _ = ip(&["route", "del", "unreachable", SUBNET]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_guard_compares_prefixes() {
        let here = "default via 192.0.2.1 dev eth0 \n192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 \n\
                    local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 \n\
                    broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 \n";
        assert_eq!(overlapping_route(here, SUBNET), None);
        for (route, overlaps) in [
            ("10.0.0.0/8 via 192.0.2.1 dev eth0", true),
            ("10.213.0.128/25 dev eth1", true),
            ("10.213.0.7 via 192.0.2.1 dev eth0", true),
            ("local 10.213.0.9 dev eth1 table local", true),
            ("unreachable 10.213.0.0/24", true),
            ("10.213.1.0/24 dev eth1", false),
            ("10.212.0.0/16 dev eth1", false),
            ("10.2.13.0/24 dev eth1", false),
            ("10.213.0.0/23 dev eth1", true),
            ("nonsense", true),
        ] {
            assert_eq!(overlapping_route(route, SUBNET).is_some(), overlaps, "{route}");
        }
    }
}
