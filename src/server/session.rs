//! One client connection: its state (protocol, auth, name, subscriptions) and its loop.
//!
//! The loop answers every request already buffered (pipelining: in order, one write),
//! then waits for more input, an event for its subscriptions, a `CLIENT KILL`, or the
//! listener's shutdown.
//!
//! Commands for the core are not sent one by one: they are queued ([`Session::batch`])
//! and the whole run goes to the core in one message when the buffered input is used up
//! (or before anything that must see the core after them, such as INFO). Replies made
//! locally while core commands are queued are held, already encoded, in
//! [`Session::held`] behind the core's replies, so that the bytes leave in request
//! order. The session waits on the core only in [`Session::settle`].

use super::connection::{Connection, Io, Stream};
use super::shared::{next_client_id, ClientEntry, Shared, Stats};
use crate::core::{ClientId, Event, Level};
use crate::glob::glob_match;
use crate::resp::{encode, Protocol, Value};
use bytes::{Bytes, BytesMut};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch, Notify};

pub(crate) struct Session {
    pub id: ClientId,
    pub shared: Arc<Shared>,
    pub conn: Connection,
    pub proto: Protocol,
    pub authed: bool,
    pub name: String,
    pub channels: BTreeSet<Vec<u8>>,
    pub patterns: BTreeSet<Vec<u8>>,
    /// Receives core events while anything is subscribed.
    pub events: Option<broadcast::Receiver<Event>>,
    /// Close once the buffered replies are written (SHUTDOWN, killing oneself, protocol error).
    pub close: bool,
    pub entry: ClientEntry,
    /// Per-connection state of the newer commands (ACL user, CLIENT REPLY/TRACKING).
    pub ext: super::cmd::ClientExt,
    stop: watch::Receiver<bool>,
    /// Core commands read but not yet sent to the core, in request order.
    pub batch: Vec<Vec<Vec<u8>>>,
    /// A spare buffer for the next command's full name (`entry.cmd`), to spare an
    /// allocation per command.
    pub spare: String,
    /// `entry` changed since it was last published: dispatch marks it after every
    /// command, and it is published before the session yields (other tasks can only
    /// look then) — once per batch of pipelined commands rather than once per command.
    pub entry_changed: bool,
    /// When the requests being answered were read (`CLIENT LIST` idle time).
    read_at: Instant,
    /// Replies in request order since the first command of `batch`: empty when the batch
    /// is (everything then goes straight to the output buffer).
    held: Vec<Held>,
}

/// A position in the replies: see [`Session::reply_mark`].
pub(crate) struct ReplyMark {
    out: usize,
    held: usize,
}

/// One reply held behind a queued core command.
enum Held {
    /// The core's answer to the next command of the batch, spelled in this protocol (the
    /// one in force when the command was read; `HELLO` may switch it later); `None`:
    /// dropped (`CLIENT REPLY OFF`).
    Core(Option<Protocol>),
    /// A reply made locally, already encoded.
    Local(Bytes),
}

impl Session {
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        shared: Arc<Shared>,
        stop: watch::Receiver<bool>,
    ) -> Session {
        let _ = stream.set_nodelay(true);
        let laddr = stream.local_addr().unwrap_or(peer);
        let fd = stream.as_raw_fd();
        Session::with(Box::new(stream), fd, peer, laddr, shared, stop)
    }

    /// A client of the TLS listener, its handshake done.
    pub(crate) fn new_tls(
        stream: tokio_rustls::server::TlsStream<TcpStream>,
        peer: SocketAddr,
        shared: Arc<Shared>,
        stop: watch::Receiver<bool>,
    ) -> Session {
        let tcp = stream.get_ref().0;
        let laddr = tcp.local_addr().unwrap_or(peer);
        let fd = tcp.as_raw_fd();
        Session::with(Box::new(stream), fd, peer, laddr, shared, stop)
    }

    /// A client on the `unixsocket` (shown as `0.0.0.0:0` in `CLIENT LIST`, where Redis
    /// shows the socket path).
    pub(crate) fn new_unix(stream: UnixStream, shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Session {
        let none = SocketAddr::from(([0, 0, 0, 0], 0));
        let fd = stream.as_raw_fd();
        Session::with(Box::new(stream), fd, none, none, shared, stop)
    }

    fn with(
        stream: Box<dyn Stream>,
        fd: i32,
        peer: SocketAddr,
        laddr: SocketAddr,
        shared: Arc<Shared>,
        stop: watch::Receiver<bool>,
    ) -> Session {
        let id = next_client_id();
        let now = Instant::now();
        let entry = ClientEntry {
            id,
            addr: peer,
            laddr,
            fd,
            name: String::new(),
            created: now,
            last_active: now,
            resp: 2,
            sub: 0,
            psub: 0,
            cmd: "NULL".into(),
            kill: Arc::new(Notify::new()),
            user: "default".into(),
            tracking: None,
            no_evict: false,
        };
        Stats::add(&shared.ctx.limits.counters.connections_received, 1);
        shared.clients().insert(id, entry.clone());
        // Redis: authenticated as `default` from the start when it is on and nopass.
        let authed = shared.acl().users.get("default").is_some_and(|u| u.enabled && u.nopass);
        Session {
            id,
            shared,
            conn: Connection::new(stream),
            proto: Protocol::Resp2,
            authed,
            name: String::new(),
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            events: None,
            close: false,
            entry,
            ext: Default::default(),
            stop,
            batch: Vec::new(),
            spare: String::new(),
            read_at: now,
            entry_changed: false,
            held: Vec::new(),
        }
    }

    /// Serves the client until it leaves, is killed, or the listener stops.
    pub(crate) async fn run(mut self) {
        tracing::debug!(client = self.id.0, addr = %self.entry.addr, "client connected");
        if let Err(e) = self.serve().await {
            tracing::debug!(client = self.id.0, error = %e, "client connection error");
        }
        self.shared.clients().remove(&self.id);
        tracing::debug!(client = self.id.0, "client disconnected");
    }

    async fn serve(&mut self) -> std::io::Result<()> {
        let kill = self.entry.kill.clone();
        let limits = &self.shared.ctx.limits;
        let (idle, query_buffer_limit) = (limits.timeout, limits.query_buffer);
        let (output_pubsub, output_normal) = (limits.output_pubsub, limits.output_normal);
        // Since when the unsent replies have been above the soft output limit.
        let mut soft_since: Option<tokio::time::Instant> = None;
        let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            // Boxed: the command futures are large, and a future held by every idle
            // connection should not carry their space (docs/security.md, memory).
            if self.conn.has_input() {
                Box::pin(self.answer_buffered()).await;
            }
            if self.close || *self.stop.borrow() {
                let written = self.conn.flush().await?;
                Stats::add(&self.shared.stats.net_output_bytes, written as u64);
                return Ok(());
            }
            let output = self.conn.pending_output() as u64;
            let limit = if self.subscribed() { output_pubsub } else { output_normal };
            if limit.soft > 0 && output > limit.soft {
                soft_since.get_or_insert_with(tokio::time::Instant::now);
            } else {
                soft_since = None;
            }
            let soft_expired =
                soft_since.is_some_and(|t| t.elapsed() >= std::time::Duration::from_secs(limit.soft_secs));
            if (limit.hard > 0 && output > limit.hard) || soft_expired {
                // Redis: "Client ... scheduled to be closed ASAP for overcoming of output buffer limits."
                tracing::warn!(
                    client = self.id.0,
                    addr = %self.entry.addr,
                    pending_bytes = output,
                    "closing client: over its output buffer limit (client-output-buffer-limit)"
                );
                return Ok(());
            }
            let soft_deadline = soft_since.map(|t| t + std::time::Duration::from_secs(limit.soft_secs));
            let writing = output > 0;
            // `timeout`: Redis closes idle clients, except those subscribed to something.
            let idle_deadline =
                idle.filter(|_| self.events.is_none() && !writing).map(|d| tokio::time::Instant::now() + d);
            // One timer, allocated only when a deadline applies (an idle connection's
            // future stays small).
            let deadline = match (soft_deadline, idle_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match (deadline, &mut timer) {
                (Some(d), Some(t)) => t.as_mut().reset(d),
                (Some(d), None) => timer = Some(Box::pin(tokio::time::sleep_until(d))),
                (None, _) => timer = None,
            }
            // A plain idle connection waits on the few futures it needs, inline; the
            // others (subscribed, a timer running, replies pending) on all of them,
            // boxed, so that the task of every idle connection stays small.
            let quiet = !writing && self.events.is_none() && timer.is_none();
            let wake = if quiet {
                tokio::select! {
                    io = self.conn.step() => Wake::Io(io),
                    _ = kill.notified() => Wake::Stop,
                    _ = self.stop.changed() => Wake::Stop,
                }
            } else {
                Box::pin(async {
                    tokio::select! {
                        io = self.conn.step() => Wake::Io(io),
                        // Events keep coming while the replies wait for the socket: they
                        // count against the output limit, as in Redis.
                        event = next_event(&mut self.events) => Wake::Event(event),
                        _ = kill.notified() => Wake::Stop,
                        _ = self.stop.changed() => Wake::Stop,
                        _ = wait_timer(&mut timer), if timer.is_some() => Wake::Timer,
                    }
                })
                .await
            };
            match wake {
                Wake::Io(io) => match io? {
                    Io::Read(0) => return Ok(()),
                    Io::Read(n) => {
                        Stats::add(&self.shared.stats.net_input_bytes, n as u64);
                        if self.conn.query_buffer_len() > query_buffer_limit {
                            tracing::warn!(
                                client = self.id.0,
                                addr = %self.entry.addr,
                                "closing client that reached max query buffer length (client-query-buffer-limit)"
                            );
                            return Ok(());
                        }
                    }
                    Io::Wrote(n) => Stats::add(&self.shared.stats.net_output_bytes, n as u64),
                },
                Wake::Event(Some(event)) => self.deliver(&event),
                Wake::Event(None) => self.events = None,
                Wake::Stop => return Ok(()),
                Wake::Timer => {
                    if idle_deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                        tracing::debug!(client = self.id.0, "closing idle client (timeout)");
                        return Ok(());
                    }
                    // Else the soft output limit's time is up: checked at the top.
                }
            }
        }
    }

    /// Executes every complete request in the input buffer, in order.
    async fn answer_buffered(&mut self) {
        self.read_at = Instant::now();
        while !self.close {
            let authed = self.authed;
            match self.conn.next_request(&self.shared.ctx.limits.request, authed) {
                Ok(Some(args)) if args.is_empty() => {}
                Ok(Some(args)) => self.execute(args).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(client = self.id.0, error = %e, "protocol error; closing");
                    self.reply(Value::error(format!("ERR {e}")));
                    self.close = true;
                }
            }
        }
        self.settle().await;
        self.publish_changed_entry();
    }

    /// [`Session::publish_entry`] if a command ran since the last publication.
    pub(crate) fn publish_changed_entry(&mut self) {
        if self.entry_changed {
            self.publish_entry();
        }
    }

    /// Queues a command for the core (see [`Session::settle`]).
    pub(crate) fn queue_for_core(&mut self, args: Vec<Vec<u8>>) {
        self.batch.push(args);
        self.held.push(Held::Core(Some(self.proto)));
    }

    /// Writes the held replies in order, the core's `values` in the places of its
    /// commands; a missing value becomes an error, so every request gets one reply.
    pub(crate) fn write_held(&mut self, values: Vec<Value>) {
        let mut values = values.into_iter();
        // Drained, not taken: the vector keeps its capacity for the next batch.
        for slot in self.held.drain(..) {
            match slot {
                Held::Core(proto) => {
                    let value = values.next().unwrap_or_else(|| Value::error("ERR sentinel is shutting down"));
                    if matches!(value, Value::Error(_)) {
                        Stats::add(&self.shared.stats.error_replies, 1);
                    }
                    if let Some(proto) = proto {
                        encode(&value, proto, self.conn.out());
                    }
                }
                Held::Local(bytes) => self.conn.out().extend_from_slice(&bytes),
            }
        }
    }

    /// Appends one reply in the client's protocol.
    pub(crate) fn reply(&mut self, value: Value) {
        self.count_error(&value);
        if self.held.is_empty() {
            encode(&value, self.proto, self.conn.out());
        } else {
            let mut bytes = BytesMut::new();
            encode(&value, self.proto, &mut bytes);
            self.held.push(Held::Local(bytes.freeze()));
        }
    }

    fn count_error(&self, value: &Value) {
        if matches!(value, Value::Error(_)) {
            Stats::add(&self.shared.stats.error_replies, 1);
        }
    }

    /// `-ERR <text>`.
    pub(crate) fn reply_err(&mut self, text: impl std::fmt::Display) {
        self.reply(Value::error(format!("ERR {text}")));
    }

    /// Whether the client is in a (RESP2-restricting) subscribed context.
    pub(crate) fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    /// Publishes this connection's current state to the registry (for `CLIENT LIST`).
    /// Runs after every command, so it updates the published copy in place (no clone of
    /// the strings unless they changed length beyond their capacity).
    pub(crate) fn publish_entry(&mut self) {
        self.entry_changed = false;
        self.entry.name.clone_from(&self.name);
        self.entry.resp = if self.proto == Protocol::Resp3 { 3 } else { 2 };
        self.entry.sub = self.channels.len();
        self.entry.psub = self.patterns.len();
        self.entry.last_active = self.read_at;
        self.shared.clients().insert(self.id, self.entry.clone());
    }

    /// Where the replies of the command about to run begin (see `drop_replies_since`).
    pub(crate) fn reply_mark(&mut self) -> ReplyMark {
        ReplyMark { out: self.conn.out().len(), held: self.held.len() }
    }

    /// Drops the replies made since `mark` (`CLIENT REPLY OFF|SKIP`); a core command
    /// queued since still runs, its reply is discarded. The caller settles the batch
    /// before taking the mark, so nothing held before it was written since.
    pub(crate) fn drop_replies_since(&mut self, mark: ReplyMark) {
        self.conn.out().truncate(mark.out);
        for slot in self.held.iter_mut().skip(mark.held) {
            *slot = match slot {
                Held::Core(_) => Held::Core(None),
                Held::Local(_) => Held::Local(Bytes::new()),
            };
        }
    }

    /// Sends `event` as `message` / `pmessage` frames to matching subscriptions (§10.1).
    /// Debug-level events are never published, as in Redis's `sentinelEvent`.
    fn deliver(&mut self, event: &Event) {
        if event.level == Level::Debug {
            return;
        }
        let channel = event.name.as_bytes();
        if self.channels.contains(channel) {
            let frame = vec![Value::bulk("message"), Value::bulk(channel), Value::bulk(&event.message)];
            self.reply(Value::Push(frame));
        }
        let matching: Vec<Vec<u8>> = self.patterns.iter().filter(|p| glob_match(p, channel, false)).cloned().collect();
        for pattern in matching {
            let frame =
                vec![Value::bulk("pmessage"), Value::Bulk(pattern), Value::bulk(channel), Value::bulk(&event.message)];
            self.reply(Value::Push(frame));
        }
    }
}

/// The next event, skipping over a lag (only a task starved of CPU can lag: events are
/// taken as they come and a subscriber that does not read is closed at its
/// `client-output-buffer-limit`). `None`: no more events.
async fn next_event(rx: &mut Option<broadcast::Receiver<Event>>) -> Option<Event> {
    let Some(rx) = rx else { return std::future::pending().await };
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "subscriber lagged; events dropped"),
            Err(RecvError::Closed) => return None,
        }
    }
}

/// What woke a connection's loop.
enum Wake {
    Io(std::io::Result<Io>),
    Event(Option<Event>),
    Stop,
    Timer,
}

/// Waits for `timer` (never resolves for `None`; the select guard keeps it from being
/// polled).
async fn wait_timer(timer: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
}
