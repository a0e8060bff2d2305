//! The RESP listener: clients and peer sentinels talking to us (port 26379).
//!
//! It owns connection state (protocol version, auth, name, Pub/Sub subscriptions) and the
//! commands that concern only the connection; everything that needs the sentinel's state
//! goes to the core through [`ToCore`]. It never makes a failover decision.
//!
//! Layout (after mini-redis): [`run`] accepts connections; `session` holds one client's
//! state and its read/answer loop over a framed `connection`; `dispatch` applies Redis's
//! generic checks (unknown command, arity, auth, Pub/Sub context) in Redis's order; the
//! `cmd/` files hold one command group each.

pub mod acl;
mod cmd;
mod connection;
mod dispatch;
mod keepalive;
mod session;
mod shared;
mod table;
#[cfg(test)]
mod tests;

use crate::core::{ClientId, Event};
use crate::resp::Value;
use session::Session;
pub use shared::Registry;
use shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// Requests from client connections to the task that owns the core.
#[derive(Debug)]
pub enum ToCore {
    /// Commands the core answers (`SENTINEL ...`, `ROLE`, `PUBLISH`), in the order the
    /// client sent them: every such request a connection has buffered goes in one
    /// message (one wakeup of the core per batch, not per command). `reply` gets exactly
    /// one value per command, in the same order.
    Commands { client: ClientId, commands: Vec<Vec<Vec<u8>>>, reply: oneshot::Sender<Vec<Value>> },
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
    /// `user` lines of the config file (arguments after `user`), applied after
    /// `requirepass` (§17); validate them first with [`acl::check_config_users`].
    pub users: Vec<Vec<String>>,
    /// Path of the config file, for `INFO server`.
    pub config_file: String,
    /// `SHUTDOWN` asks the process to exit cleanly through this.
    pub shutdown: mpsc::Sender<()>,
    /// `maxclients`, `timeout`, `tcp-keepalive`, shared by every listener.
    pub limits: ClientLimits,
    /// The users, one registry for every listener (as in Redis, an `ACL SETUSER` made
    /// through one bind address holds on all of them): built by the first listener from
    /// `requirepass` and `users`, shared by the clones of this context.
    pub acl: SharedAcl,
    /// `aclfile`, for `ACL LOAD` / `ACL SAVE`.
    pub aclfile: Option<crate::config::AclFile>,
    /// The clients of every listener, one registry per process.
    pub registry: Registry,
}

/// The one user registry of the process; see [`ServerCtx::acl`].
#[derive(Clone, Default)]
pub struct SharedAcl(std::sync::Arc<std::sync::OnceLock<std::sync::Arc<std::sync::RwLock<acl::Acl>>>>);

impl SharedAcl {
    /// Every user as an `ACL LIST` line; `None` before the first listener built the
    /// registry.
    pub fn lines(&self) -> Option<Vec<String>> {
        let acl = self.0.get()?;
        let acl = acl.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(acl.users.values().map(|u| u.describe()).collect())
    }
}

/// Redis's per-client limits (`maxclients`, `timeout`, `tcp-keepalive`,
/// `proto-max-bulk-len`, `client-query-buffer-limit`, `client-output-buffer-limit`,
/// `protected-mode`). docs/security.md says what each does.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Connections beyond this many get `-ERR max number of clients reached` and are closed.
    pub maxclients: u32,
    /// A client idle this long (and not subscribed to anything) is closed; `None` = never.
    pub timeout: Option<Duration>,
    /// TCP keepalive probes on client connections after this idle time; `None` = off.
    pub keepalive: Option<Duration>,
    /// `proto-max-bulk-len` and the multibulk count limit.
    pub request: crate::resp::RequestLimits,
    /// `client-query-buffer-limit`: a client holding more unprocessed input is closed.
    pub query_buffer: usize,
    /// `client-output-buffer-limit normal ...` (Redis default: none).
    pub output_normal: OutputLimit,
    /// `client-output-buffer-limit pubsub ...` (Redis default: 32mb 8mb 60).
    pub output_pubsub: OutputLimit,
    /// `protected-mode yes`: while the default user has no password, only loopback and
    /// unix socket clients are served.
    pub protected_mode: bool,
    /// Client connections open now, over all listeners.
    pub connected: Arc<std::sync::atomic::AtomicUsize>,
    /// Process-wide client counters for `/metrics` (src/http), shared by every listener.
    pub counters: Arc<ClientCounters>,
}

/// Counters of the whole process (every listener), read by the HTTP listener's `/metrics`.
#[derive(Debug, Default)]
pub struct ClientCounters {
    /// Connections accepted (Redis's `total_connections_received`).
    pub connections_received: std::sync::atomic::AtomicU64,
    /// Commands executed (Redis's `total_commands_processed`).
    pub commands_processed: std::sync::atomic::AtomicU64,
    /// Connections refused because `maxclients` was reached (Redis's `rejected_connections`).
    pub rejected_connections: std::sync::atomic::AtomicU64,
}

/// One class of `client-output-buffer-limit`: a client whose unsent replies exceed `hard`
/// bytes, or stay above `soft` bytes for `soft_secs` seconds, is closed (0 = no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// Redis's default limit for Pub/Sub clients.
pub const DEFAULT_PUBSUB_OUTPUT_LIMIT: OutputLimit =
    OutputLimit { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, soft_secs: 60 };

/// Redis's default `client-query-buffer-limit` (1gb).
pub const DEFAULT_QUERY_BUFFER_LIMIT: u64 = 1024 * 1024 * 1024;

impl ClientLimits {
    /// From the config values (seconds; 0 = off), Redis's meaning; the other limits at
    /// Redis's defaults.
    pub fn new(maxclients: u32, timeout_secs: u64, keepalive_secs: u32) -> ClientLimits {
        ClientLimits {
            maxclients,
            timeout: (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs)),
            keepalive: (keepalive_secs > 0).then(|| Duration::from_secs(u64::from(keepalive_secs))),
            request: crate::resp::RequestLimits::default(),
            query_buffer: DEFAULT_QUERY_BUFFER_LIMIT as usize,
            output_normal: OutputLimit::default(),
            output_pubsub: DEFAULT_PUBSUB_OUTPUT_LIMIT,
            protected_mode: false,
            connected: Arc::default(),
            counters: Arc::default(),
        }
    }

    /// Every limit from the settings.
    pub fn from_settings(s: &crate::config::Settings) -> ClientLimits {
        let mut limits = ClientLimits::new(s.maxclients, s.timeout_secs, s.tcp_keepalive_secs);
        limits.request.max_bulk = i64::try_from(s.proto_max_bulk_len).unwrap_or(i64::MAX);
        limits.query_buffer = usize::try_from(s.client_query_buffer_limit).unwrap_or(usize::MAX);
        limits.output_normal = s.output_limit_normal;
        limits.output_pubsub = s.output_limit_pubsub;
        limits.protected_mode = s.protected_mode;
        limits
    }
}

impl Default for ClientLimits {
    /// Redis's defaults: 10000 clients, no idle timeout, keepalive 300 s.
    fn default() -> ClientLimits {
        ClientLimits::new(10_000, 0, 300)
    }
}

/// Whether `name` is a command of the sentinel-mode table (case-insensitive).
pub fn is_command(name: &str) -> bool {
    table::lookup(name.as_bytes()).is_some()
}

/// The Redis version we are wire-compatible with (HELLO, `INFO server`).
pub const REDIS_VERSION: &str = "7.0.15";

/// How long [`run`] waits for open connections to finish after `shutdown` resolved.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves clients on `listener` until `shutdown` resolves, then closes every connection.
pub async fn run(listener: tokio::net::TcpListener, ctx: ServerCtx, shutdown: impl std::future::Future<Output = ()>) {
    serve(Listener::Tcp(listener), ctx, shutdown).await
}

/// [`run`] speaking TLS (`tls-port`): each connection's handshake uses the configuration
/// in force when it was accepted (see [`crate::tls::Tls::reload`]).
pub async fn run_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<crate::tls::Tls>,
    ctx: ServerCtx,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve(Listener::Tls(listener, tls), ctx, shutdown).await
}

/// How long a TLS client has to complete its handshake before it is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// [`run`] on the `unixsocket` (see [`bind_unix`]).
pub async fn run_unix(
    listener: tokio::net::UnixListener,
    ctx: ServerCtx,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve(Listener::Unix(listener), ctx, shutdown).await
}

/// Binds `unixsocket` like Redis: a stale socket file is removed first, and the mode is
/// set to `unixsocketperm` when it is not 0.
pub fn bind_unix(path: &std::path::Path, perm: u32) -> std::io::Result<tokio::net::UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(listener)
}

enum Listener {
    Tcp(tokio::net::TcpListener),
    Tls(tokio::net::TcpListener, Arc<crate::tls::Tls>),
    Unix(tokio::net::UnixListener),
}

enum Incoming {
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
    Unix(tokio::net::UnixStream),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Incoming> {
        match self {
            Listener::Tcp(l) | Listener::Tls(l, _) => l.accept().await.map(|(s, peer)| Incoming::Tcp(s, peer)),
            Listener::Unix(l) => l.accept().await.map(|(s, _)| Incoming::Unix(s)),
        }
    }
}

impl Incoming {
    /// Redis's answer when `maxclients` is reached, written without waiting.
    fn refuse(&self) {
        let msg = b"-ERR max number of clients reached\r\n";
        let _ = match self {
            Incoming::Tcp(s, _) => s.try_write(msg),
            Incoming::Unix(s) => s.try_write(msg),
        };
    }
}

/// Redis 7.0's answer to a non-loopback client in protected mode.
const PROTECTED_MODE_DENIED: &str =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no \
password is set for the default user. In this mode connections are only accepted from the loopback interface. If you \
want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable \
protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis \
from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do \
so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by \
editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. \
3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a \
an authentication password for the default user. NOTE: You only need to do one of the above things in order for the \
server to start accepting connections from the outside.\r\n";

/// Redis's protected-mode condition: the default user is on and needs no password.
fn default_user_nopass(shared: &Shared) -> bool {
    shared.acl().users.get("default").is_some_and(|u| u.nopass)
}

/// The TLS handshake of an accepted connection, then its session; `None` (logged) when
/// the handshake fails, times out, or the listener stops first.
async fn tls_session(
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Option<Session> {
    let acceptor = acceptor?;
    let _ = stream.set_nodelay(true);
    let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stopped = async { while !*stop.borrow_and_update() && stop.changed().await.is_ok() {} };
    tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => Some(Session::new_tls(stream, peer, shared, stop)),
            Ok(Err(e)) => {
                tracing::debug!(%peer, "Error accepting a client connection: TLS handshake failed: {e}");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "Error accepting a client connection: TLS handshake timed out");
                None
            }
        },
        _ = stopped => None,
    }
}

async fn serve(listener: Listener, ctx: ServerCtx, shutdown: impl std::future::Future<Output = ()>) {
    let shared = Arc::new(Shared::new(ctx));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(incoming) => {
                    let limits = &shared.ctx.limits;
                    let tls = match &listener {
                        Listener::Tls(_, tls) => Some(tls),
                        _ => None,
                    };
                    if limits.connected.load(Ordering::Relaxed) >= limits.maxclients as usize {
                        // Then the socket is closed (dropped). A TLS client could not
                        // read a plain-text error: it is only closed.
                        if tls.is_none() {
                            incoming.refuse();
                        }
                        limits.counters.rejected_connections.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("connection refused: maxclients reached");
                        continue;
                    }
                    if let Incoming::Tcp(stream, peer) = &incoming {
                        if limits.protected_mode && !peer.ip().is_loopback() && default_user_nopass(&shared) {
                            if tls.is_none() {
                                let _ = stream.try_write(PROTECTED_MODE_DENIED.as_bytes());
                            }
                            tracing::debug!(%peer, "connection refused: protected mode");
                            continue;
                        }
                    }
                    limits.connected.fetch_add(1, Ordering::Relaxed);
                    let connected = limits.connected.clone();
                    let acceptor = tls.map(|tls| tls.acceptor());
                    let session = match incoming {
                        Incoming::Tcp(stream, peer) => {
                            if let Some(idle) = limits.keepalive {
                                keepalive::enable(&stream, idle);
                            }
                            match acceptor {
                                // The handshake runs in the connection's task (counted
                                // against maxclients), under a deadline.
                                Some(acceptor) => {
                                    let (shared, stop) = (shared.clone(), stop_rx.clone());
                                    tasks.spawn(async move {
                                        if let Some(session) = tls_session(acceptor, stream, peer, shared, stop).await {
                                            session.run().await;
                                        }
                                        connected.fetch_sub(1, Ordering::Relaxed);
                                    });
                                    continue;
                                }
                                None => Session::new(stream, peer, shared.clone(), stop_rx.clone()),
                            }
                        }
                        Incoming::Unix(stream) => Session::new_unix(stream, shared.clone(), stop_rx.clone()),
                    };
                    tasks.spawn(async move {
                        session.run().await;
                        connected.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tracing::warn!("connections still open after shutdown; aborting them");
        tasks.abort_all();
    }
}
