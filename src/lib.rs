//! A Redis Sentinel-compatible high-availability monitor.
//!
//! The crate is split the way a failover is: a pure, deterministic [`core`] that decides
//! everything (no sockets, no clock, no tokio), and thin shells around it that carry
//! bytes: [`resp`] (the wire format, no sockets), [`server`] (clients and peers talking to
//! us), [`link`] (our connections to Redis instances and peer sentinels), [`config`]
//! (sentinel.toml, Redis sentinel.conf, persisted state) and [`daemon`] (the event loop
//! that drives the core and executes its outputs in order).

pub mod config;
pub mod core;
pub mod daemon;
pub mod glob;
pub mod http;
pub mod link;
pub mod random;
pub mod resp;
pub mod server;
pub mod tls;
