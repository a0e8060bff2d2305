//! The opt-in HTTP listener for operators (`http-port`, `http-bind`): Prometheus metrics
//! and health endpoints for load balancers and Kubernetes probes.
//!
//! It never touches the core. The daemon publishes a [`Status`] into a `watch` channel
//! (after events, and at most every [`PUBLISH_PERIOD_MS`] otherwise); this module runs on
//! its own OS thread with its own single-threaded runtime, so neither a scrape nor a flood
//! of requests takes time from the core's thread. Event counters come from the same
//! broadcast channel that feeds Pub/Sub clients.
//!
//! | endpoint | 200 when | otherwise |
//! |---|---|---|
//! | `GET /health` | the process is up and not in TILT | 503 |
//! | `GET /ready` | every master is reachable and `CKQUORUM` would say OK | 503 |
//! | `GET /primary/<name>` | the master is known and not down: its `ip:port` (JSON with `Accept: application/json`) | 404 unknown, 503 down |
//! | `GET /replicas/<name>?max-lag=N` | at least one healthy replica, at most N bytes behind | 404 unknown, 503 none |
//! | `GET /metrics` | always: OpenMetrics text | |
//!
//! HTTP server: hyper 1 with only its `http1` and `server` features (plus hyper-util's
//! `TokioIo`/`TokioTimer` glue): no HTTP/2, no client, no routing framework, a dozen
//! small crates — the leanest well-kept server that still handles keep-alive, pipelining
//! and header timeouts correctly.

pub mod metrics;

use crate::core::{Event, MasterReport, Millis, Status};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::EventMetrics;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch, Semaphore};

/// A status is published at least this often while the core is busy or idle.
pub const PUBLISH_PERIOD_MS: Millis = 100;
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the daemon publishes: the status and when it was made.
#[derive(Clone, Debug)]
pub struct Published {
    pub status: Status,
    pub at: Instant,
}

/// The sending side, owned by the daemon.
pub type Publisher = watch::Sender<Option<Arc<Published>>>;

/// Starts the listener on its own thread. `stop` resolves when the daemon ends.
pub fn spawn(
    listener: std::net::TcpListener,
    status: watch::Receiver<Option<Arc<Published>>>,
    events: broadcast::Receiver<Event>,
    clients: metrics::Clients,
    mut stop: watch::Receiver<()>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("sentinel-http".into()).spawn(move || {
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "HTTP listener: {e}");
                    return;
                }
            };
            let metrics = Arc::new(EventMetrics::new(clients));
            tokio::spawn(record_events(events, metrics.clone()));
            let state = Arc::new(State { status, metrics });
            tokio::select! {
                () = accept_loop(listener, state) => {}
                _ = stop.changed() => {}
            }
        })
    })?;
    Ok(())
}

struct State {
    status: watch::Receiver<Option<Arc<Published>>>,
    metrics: Arc<EventMetrics>,
}

async fn record_events(mut events: broadcast::Receiver<Event>, metrics: Arc<EventMetrics>) {
    loop {
        match events.recv().await {
            Ok(ev) => metrics.record(&ev, Instant::now()),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("HTTP listener: {n} events missed by the metrics (too many at once)")
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<State>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and the like: back off instead of spinning.
                tracing::warn!(error = %e, "HTTP listener: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, &req)) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
            drop(permit);
        });
    }
}

fn handle<B>(state: &State, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, JSON, json!({"error": "only GET and HEAD"}).to_string());
    }
    let published = state.status.borrow().clone();
    let wants_json =
        req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    let (code, ctype, body) =
        route(req.uri().path(), req.uri().query(), wants_json, published.as_deref(), &state.metrics);
    let mut resp = reply(code, ctype, body);
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    resp
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn reply(code: StatusCode, ctype: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = code;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp
}

type Answer = (StatusCode, &'static str, String);

fn json_answer(code: StatusCode, v: serde_json::Value) -> Answer {
    (code, JSON, format!("{v}\n"))
}

/// The answer to `GET path?query`: pure, so it is tested without sockets.
pub fn route(path: &str, query: Option<&str>, wants_json: bool, p: Option<&Published>, ev: &EventMetrics) -> Answer {
    let Some(p) = p else {
        return json_answer(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "starting"}));
    };
    let st = &p.status;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["metrics"] => (StatusCode::OK, OPENMETRICS, metrics::render(st, ev, p.at.elapsed().as_secs_f64())),
        ["health"] => {
            let code = if st.tilt { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            let status = if st.tilt { "tilt" } else { "ok" };
            json_answer(
                code,
                json!({"status": status, "tilt": st.tilt, "myid": st.myid, "current_epoch": st.current_epoch.0,
                       "masters": st.masters.len()}),
            )
        }
        ["ready"] => {
            let masters: Vec<_> = st.masters.iter().map(|m| (m, readiness_problems(m))).collect();
            let ready = !st.tilt && masters.iter().all(|(_, p)| p.is_empty());
            let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            let list: Vec<_> = masters
                .iter()
                .map(|(m, problems)| {
                    json!({"name": m.name, "ready": problems.is_empty(), "problems": problems,
                           "ok_sentinels": m.usable_sentinels, "sentinels": m.voters, "quorum": m.quorum})
                })
                .collect();
            json_answer(code, json!({"ready": ready, "tilt": st.tilt, "masters": list}))
        }
        ["primary", name] => {
            let Some(m) = st.masters.iter().find(|m| m.name == *name) else {
                return json_answer(StatusCode::NOT_FOUND, json!({"error": format!("no master named '{name}'")}));
            };
            let down = (m.sdown || m.odown) && !m.promoted;
            let code = if down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            if wants_json {
                json_answer(
                    code,
                    json!({"name": m.name, "ip": m.addr.host, "port": m.addr.port, "address": m.addr.key(),
                           "config_epoch": m.config_epoch.0, "down": down, "failover_state": m.failover_state}),
                )
            } else {
                (code, TEXT, format!("{}\n", m.addr.key()))
            }
        }
        ["replicas", name] => {
            let Some(m) = st.masters.iter().find(|m| m.name == *name) else {
                return json_answer(StatusCode::NOT_FOUND, json!({"error": format!("no master named '{name}'")}));
            };
            let max_lag = match query_param(query, "max-lag").map(str::parse::<u64>) {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => {
                    return json_answer(StatusCode::BAD_REQUEST, json!({"error": "max-lag must be a number of bytes"}))
                }
            };
            let healthy: Vec<_> = m
                .replicas
                .iter()
                .filter_map(|r| {
                    let lag = m.master_repl_offset.map(|o| o.saturating_sub(r.repl_offset));
                    let ok = r.connected
                        && !r.sdown
                        && r.role_reported == Some("slave")
                        && r.master_link_up
                        && max_lag.is_none_or(|max| lag.is_some_and(|l| l <= max));
                    ok.then(
                        || json!({"ip": r.addr.host, "port": r.addr.port, "address": r.addr.key(), "lag_bytes": lag}),
                    )
                })
                .collect();
            let code = if healthy.is_empty() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            json_answer(code, json!({"name": m.name, "max_lag": max_lag, "replicas": healthy}))
        }
        _ => json_answer(
            StatusCode::NOT_FOUND,
            json!({"error": "unknown path", "paths": ["/metrics", "/health", "/ready", "/primary/<name>", "/replicas/<name>?max-lag=N"]}),
        ),
    }
}

/// Why a master is not ready (empty: ready): its address unreachable, or no quorum.
fn readiness_problems(m: &MasterReport) -> Vec<String> {
    let mut p = Vec::new();
    if !m.promoted && (m.sdown || m.odown || !m.master.connected) {
        p.push(format!("master {} is not reachable", m.addr.key()));
    }
    if !m.ckquorum_ok {
        p.push(format!(
            "only {} of {} sentinels usable (quorum {}, majority {})",
            m.usable_sentinels,
            m.voters,
            m.quorum,
            m.voters / 2 + 1
        ));
    }
    p
}

fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| kv.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Addr, Epoch, InstanceReport};

    fn inst(kind: &'static str, port: u16) -> InstanceReport {
        InstanceReport {
            name: format!("127.0.0.1:{port}"),
            addr: Addr::new("127.0.0.1", port),
            runid: None,
            kind,
            connected: true,
            sdown: false,
            since_ok_ping_ms: 10,
            since_info_ms: Some(100),
            role_reported: (kind == "slave").then_some("slave"),
            master_link_up: true,
            master_link_down_ms: 0,
            priority: 100,
            repl_offset: 90,
            since_hello_ms: None,
            master_down: false,
        }
    }

    fn published(tilt: bool) -> Published {
        let m = MasterReport {
            name: "m".into(),
            addr: Addr::new("127.0.0.1", 6379),
            promoted: false,
            config_epoch: Epoch(3),
            quorum: 2,
            sdown: false,
            odown: false,
            failover_state: "none",
            failover_epoch: Epoch(0),
            down_after_ms: 1000,
            master_repl_offset: Some(100),
            usable_sentinels: 3,
            voters: 3,
            ckquorum_ok: true,
            best_replica: None,
            master: inst("master", 6379),
            replicas: vec![inst("slave", 6380)],
            sentinels: vec![],
        };
        let status = Status { myid: "a".repeat(40), current_epoch: Epoch(3), tilt, at: 0, masters: vec![m] };
        Published { status, at: Instant::now() }
    }

    #[test]
    fn status_codes_carry_the_answer() {
        let ev = EventMetrics::default();
        let p = published(false);
        let get = |path: &str, q: Option<&str>, json: bool| route(path, q, json, Some(&p), &ev);
        assert_eq!(get("/health", None, false).0, StatusCode::OK);
        assert_eq!(route("/health", None, false, Some(&published(true)), &ev).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(route("/health", None, false, None, &ev).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(get("/ready", None, false).0, StatusCode::OK);
        assert_eq!(get("/primary/m", None, false), (StatusCode::OK, TEXT, "127.0.0.1:6379\n".into()));
        let (code, ctype, body) = get("/primary/m", None, true);
        assert_eq!((code, ctype), (StatusCode::OK, JSON));
        assert!(body.contains("\"port\":6379") && body.contains("\"config_epoch\":3"), "{body}");
        assert_eq!(get("/primary/x", None, false).0, StatusCode::NOT_FOUND);
        assert_eq!(get("/replicas/m", Some("max-lag=10"), false).0, StatusCode::OK);
        assert_eq!(get("/replicas/m", Some("max-lag=9"), false).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(get("/replicas/m", Some("max-lag=x"), false).0, StatusCode::BAD_REQUEST);
        assert_eq!(get("/nope", None, false).0, StatusCode::NOT_FOUND);
        let mut down = published(false);
        down.status.masters[0].sdown = true;
        assert_eq!(route("/primary/m", None, false, Some(&down), &ev).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(route("/ready", None, false, Some(&down), &ev).0, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn metrics_text_and_failover_phases() {
        let ev = EventMetrics::default();
        let t0 = Instant::now();
        let e = |name: &'static str, msg: &str| Event {
            level: crate::core::Level::Warning,
            name,
            message: msg.into(),
            master: Some("m".into()),
        };
        ev.record(&e("+sdown", "master m 127.0.0.1 6379"), t0);
        ev.record(&e("+odown", "master m 127.0.0.1 6379 #quorum 2/2"), t0 + Duration::from_millis(200));
        ev.record(&e("+try-failover", "master m 127.0.0.1 6379"), t0 + Duration::from_millis(300));
        ev.record(&e("+switch-master", "m 127.0.0.1 6379 127.0.0.1 6380"), t0 + Duration::from_millis(900));
        let text = metrics::render(&published(false).status, &ev, 0.0);
        for needle in [
            "sentinel_master_config_epoch{master=\"m\"} 3",
            "sentinel_tilt 0",
            "sentinel_replica_lag_bytes{master=\"m\",replica=\"127.0.0.1:6380\"} 10",
            "sentinel_events_total{event=\"+switch-master\"} 1",
            "sentinel_failover_phase_seconds_count{phase=\"total\"} 1",
            "sentinel_failover_phase_seconds_sum{phase=\"detection\"} 0.2",
            "sentinel_master_info{master=\"m\",address=\"127.0.0.1:6379\"} 1",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
