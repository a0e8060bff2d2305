//! `/metrics`: the OpenMetrics text (what Prometheus scrapes) of one published
//! [`Status`], plus the counters and histograms kept from the event stream
//! ([`EventMetrics`]), encoded with `prometheus-client`.
//!
//! Gauges are rebuilt from the snapshot at every scrape (a fresh registry, so a removed
//! master or replica disappears at once); counters and histograms live for the process.

use crate::core::{Event, InstanceReport, Status};
use crate::server::ClientCounters;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Labels = Vec<(&'static str, String)>;
type GaugeF = Gauge<f64, AtomicU64>;

/// Bucket bounds (seconds) of the failover phase histograms: 10 ms .. ~80 s.
const PHASE_BUCKETS: [f64; 14] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0];

/// The RESP server's client figures (src/server), read at each scrape.
#[derive(Clone, Debug, Default)]
pub struct Clients {
    /// Client connections open now, over all listeners.
    pub connected: Arc<AtomicUsize>,
    pub counters: Arc<ClientCounters>,
    pub maxclients: u32,
}

/// Counters and histograms fed by the event stream (the Pub/Sub events of §10), for the
/// whole life of the process, and the RESP server's client counters.
pub struct EventMetrics {
    clients: Clients,
    events: Family<Labels, Counter>,
    failovers: Family<Labels, Counter>,
    phases: Family<Labels, Histogram>,
    /// Per master: when each step of the incident in progress was seen.
    marks: Mutex<HashMap<String, HashMap<&'static str, Instant>>>,
}

impl Default for EventMetrics {
    fn default() -> Self {
        EventMetrics::new(Clients::default())
    }
}

impl EventMetrics {
    /// Metrics that also report the RESP server's `clients`.
    pub fn new(clients: Clients) -> Self {
        EventMetrics {
            clients,
            events: Family::default(),
            failovers: Family::default(),
            phases: Family::new_with_constructor(|| Histogram::new(PHASE_BUCKETS)),
            marks: Mutex::new(HashMap::new()),
        }
    }
}

/// The phases measured, each from one event to another of the same master's incident.
const PHASES: [(&str, &str, &str); 5] = [
    ("detection", "+sdown", "+odown"),
    ("election", "+try-failover", "+elected-leader"),
    ("promotion", "+elected-leader", "+promoted-slave"),
    ("reconfiguration", "+promoted-slave", "+failover-end"),
    ("total", "+sdown", "+switch-master"),
];

impl EventMetrics {
    /// Counts one event and, at the end of a phase, observes its duration.
    pub fn record(&self, ev: &Event, at: Instant) {
        self.events.get_or_create(&vec![("event", ev.name.to_string())]).inc();
        let Some(master) = ev.master.clone() else { return };
        // Only the master's own `+sdown`/`-sdown` open or close an incident (not a replica's).
        let about_master = ev.message.starts_with("master ");
        match ev.name {
            "+failover-end" => {
                self.failovers.get_or_create(&vec![("master", master.clone()), ("result", "completed".into())]).inc();
            }
            n if n.starts_with("-failover-abort") => {
                self.failovers.get_or_create(&vec![("master", master.clone()), ("result", "aborted".into())]).inc();
            }
            _ => {}
        }
        let Ok(mut marks) = self.marks.lock() else { return };
        let marks = marks.entry(master.clone()).or_default();
        if matches!(ev.name, "+sdown" | "-sdown" | "+odown" | "-odown") && !about_master {
            return;
        }
        if ev.name == "+sdown" {
            // A new incident: forget the steps of the previous one.
            marks.clear();
        }
        for (phase, from, to) in PHASES {
            if ev.name == to {
                if let Some(start) = marks.get(from) {
                    let secs = at.saturating_duration_since(*start).as_secs_f64();
                    self.phases.get_or_create(&vec![("phase", phase.to_string())]).observe(secs);
                }
            }
        }
        marks.insert(ev.name, at);
        if ev.name == "+switch-master" {
            marks.clear();
        }
    }

    fn register(&self, r: &mut Registry) {
        let c = &self.clients;
        plain(
            r,
            "connected_clients",
            "Client connections open now (RESP, all listeners)",
            c.connected.load(Ordering::Relaxed) as i64,
        );
        plain(r, "config_maxclients", "The maxclients setting", i64::from(c.maxclients));
        let total = |r: &mut Registry, name: &str, help: &str, v: &AtomicU64| {
            let counter = Counter::<u64>::default();
            counter.inc_by(v.load(Ordering::Relaxed));
            r.register(name, help, counter);
        };
        total(r, "connections_received", "Client connections accepted", &c.counters.connections_received);
        total(
            r,
            "commands_processed",
            "Commands executed for clients (rate() gives commands per second)",
            &c.counters.commands_processed,
        );
        total(
            r,
            "rejected_connections",
            "Client connections refused because maxclients was reached",
            &c.counters.rejected_connections,
        );
        r.register(
            "events",
            "Sentinel events emitted, by event name (+sdown, +switch-master, ...)",
            self.events.clone(),
        );
        r.register("failovers", "Failovers this sentinel led, by result", self.failovers.clone());
        r.register_with_unit(
            "failover_phase",
            "Duration of each phase of the failovers seen by this sentinel (detection: +sdown to +odown; \
             election: +try-failover to +elected-leader; promotion: to +promoted-slave; reconfiguration: \
             to +failover-end; total: +sdown to +switch-master)",
            Unit::Seconds,
            self.phases.clone(),
        );
    }
}

fn gauge(r: &mut Registry, name: &str, help: &str, rows: impl IntoIterator<Item = (Labels, i64)>) {
    let f = Family::<Labels, Gauge>::default();
    for (labels, v) in rows {
        f.get_or_create(&labels).set(v);
    }
    r.register(name, help, f);
}

/// A gauge without labels.
fn plain(r: &mut Registry, name: &str, help: &str, v: i64) {
    let g = Gauge::<i64>::default();
    g.set(v);
    r.register(name, help, g);
}

fn seconds(r: &mut Registry, name: &str, help: &str, rows: impl IntoIterator<Item = (Labels, f64)>) {
    let f = Family::<Labels, GaugeF>::default();
    for (labels, v) in rows {
        f.get_or_create(&labels).set(v);
    }
    r.register_with_unit(name, help, Unit::Seconds, f);
}

fn ms(v: u64) -> f64 {
    v as f64 / 1000.0
}

/// Every instance of every master with its labels (`master`, `role`, `instance`).
fn instances(st: &Status) -> Vec<(Labels, &InstanceReport)> {
    let mut out = Vec::new();
    for m in &st.masters {
        let l = |role: &str, i: &InstanceReport| {
            let id = if i.kind == "sentinel" { i.runid.clone().unwrap_or_default() } else { i.addr.key() };
            vec![("master", m.name.clone()), ("role", role.to_string()), ("instance", id)]
        };
        out.push((l("master", &m.master), &m.master));
        out.extend(m.replicas.iter().map(|i| (l("replica", i), i)));
        out.extend(m.sentinels.iter().map(|i| (l("sentinel", i), i)));
    }
    out
}

/// The OpenMetrics text of `st` and the event metrics.
pub fn render(st: &Status, ev: &EventMetrics, age_s: f64) -> String {
    let mut r = Registry::with_prefix("sentinel");
    let m = &st.masters;
    let by = |name: &str| vec![("master", name.to_string())];
    plain(&mut r, "tilt", "1 while the sentinel is in TILT mode (it takes no action)", st.tilt as i64);
    plain(&mut r, "current_epoch", "The sentinel's current epoch", st.current_epoch.0 as i64);
    plain(&mut r, "masters", "Masters monitored", m.len() as i64);
    let age = GaugeF::default();
    age.set(age_s);
    r.register_with_unit("status_age", "Age of the state these metrics were made from", Unit::Seconds, age);
    gauge(
        &mut r,
        "master_info",
        "Always 1; the labels give the master's current address",
        m.iter().map(|x| {
            let l = vec![("master", x.name.clone()), ("address", x.addr.key())];
            (l, 1)
        }),
    );
    gauge(
        &mut r,
        "master_config_epoch",
        "Config epoch of the master's current configuration",
        m.iter().map(|x| (by(&x.name), x.config_epoch.0 as i64)),
    );
    gauge(&mut r, "master_quorum", "Configured quorum", m.iter().map(|x| (by(&x.name), x.quorum as i64)));
    gauge(
        &mut r,
        "master_sdown",
        "1 while this sentinel sees the master subjectively down",
        m.iter().map(|x| (by(&x.name), x.sdown as i64)),
    );
    gauge(
        &mut r,
        "master_odown",
        "1 while the master is objectively down",
        m.iter().map(|x| (by(&x.name), x.odown as i64)),
    );
    gauge(
        &mut r,
        "master_failover_in_progress",
        "1 while this sentinel runs a failover of the master",
        m.iter().map(|x| (by(&x.name), (x.failover_state != "none") as i64)),
    );
    gauge(&mut r, "master_replicas", "Replicas known", m.iter().map(|x| (by(&x.name), x.replicas.len() as i64)));
    gauge(
        &mut r,
        "master_sentinels",
        "Sentinels known, this one included",
        m.iter().map(|x| (by(&x.name), x.voters as i64)),
    );
    gauge(
        &mut r,
        "master_ok_replicas",
        "Replicas connected and not seen down",
        m.iter().map(|x| (by(&x.name), x.replicas.iter().filter(|i| i.connected && !i.sdown).count() as i64)),
    );
    gauge(
        &mut r,
        "master_ok_sentinels",
        "Sentinels not seen down, this one included (what CKQUORUM counts)",
        m.iter().map(|x| (by(&x.name), x.usable_sentinels as i64)),
    );
    gauge(
        &mut r,
        "master_ckquorum",
        "1 when quorum and failover authorization can be reached (SENTINEL CKQUORUM)",
        m.iter().map(|x| (by(&x.name), x.ckquorum_ok as i64)),
    );
    gauge(
        &mut r,
        "master_repl_offset_bytes",
        "The master's replication offset (its last INFO)",
        m.iter().filter_map(|x| x.master_repl_offset.map(|o| (by(&x.name), o as i64))),
    );
    let inst = instances(st);
    gauge(
        &mut r,
        "instance_link_up",
        "1 when this sentinel's links to the instance are connected",
        inst.iter().map(|(l, i)| (l.clone(), i.connected as i64)),
    );
    gauge(
        &mut r,
        "instance_sdown",
        "1 while this sentinel sees the instance subjectively down",
        inst.iter().map(|(l, i)| (l.clone(), i.sdown as i64)),
    );
    seconds(
        &mut r,
        "instance_last_ok_ping_age",
        "Time since the instance's last valid PING reply",
        inst.iter().map(|(l, i)| (l.clone(), ms(i.since_ok_ping_ms))),
    );
    seconds(
        &mut r,
        "instance_last_info_age",
        "Time since the instance's last INFO reply",
        inst.iter().filter_map(|(l, i)| i.since_info_ms.map(|a| (l.clone(), ms(a)))),
    );
    let replicas = || {
        st.masters.iter().flat_map(|m| {
            m.replicas.iter().map(move |r| (vec![("master", m.name.clone()), ("replica", r.addr.key())], m, r))
        })
    };
    gauge(
        &mut r,
        "replica_repl_offset_bytes",
        "The replica's replication offset (its last INFO)",
        replicas().map(|(l, _, x)| (l, x.repl_offset as i64)),
    );
    gauge(
        &mut r,
        "replica_lag_bytes",
        "How far the replica's offset is behind the master's",
        replicas().filter_map(|(l, m, x)| m.master_repl_offset.map(|o| (l, o.saturating_sub(x.repl_offset) as i64))),
    );
    gauge(
        &mut r,
        "replica_master_link_up",
        "1 when the replica reports its link to the master up",
        replicas().map(|(l, _, x)| (l, x.master_link_up as i64)),
    );
    gauge(
        &mut r,
        "replica_priority",
        "The replica's replica-priority (0: never promoted)",
        replicas().map(|(l, _, x)| (l, x.priority as i64)),
    );
    ev.register(&mut r);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}
