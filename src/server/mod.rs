//! The RESP listener: clients and peer sentinels talking to us (port 26379).
//!
//! It owns connection state (protocol version, auth, name, Pub/Sub subscriptions) and the
//! commands that concern only the connection; everything that needs the sentinel's state
//! goes to the core through [`ToCore`]. It never makes a failover decision.

use crate::core::{ClientId, Event};
use crate::resp::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Requests from client connections to the task that owns the core.
#[derive(Debug)]
pub enum ToCore {
    /// A command the core answers (`SENTINEL ...`, `ROLE`, `PUBLISH`).
    Command { client: ClientId, args: Vec<Vec<u8>>, reply: oneshot::Sender<Value> },
    /// The `# Sentinel` section of INFO.
    InfoSection { reply: oneshot::Sender<String> },
}

/// What a listener needs from the rest of the process.
#[derive(Clone)]
pub struct ServerCtx {
    pub to_core: mpsc::Sender<ToCore>,
    /// Every event the core emits; connections filter by their subscriptions.
    pub events: broadcast::Sender<Event>,
    /// Our port, for `INFO server`.
    pub port: u16,
    /// `requirepass`, if set.
    pub requirepass: Option<String>,
    /// Path of the config file, for `INFO server`.
    pub config_file: String,
    /// `SHUTDOWN` asks the process to exit cleanly through this.
    pub shutdown: mpsc::Sender<()>,
}

/// Serves clients on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    ctx: ServerCtx,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let _ = (listener, ctx);
    shutdown.await
}
