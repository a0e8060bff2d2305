//! The event loop: owns the core, feeds it inputs from links and clients, sleeps until
//! its next deadline, and executes its outputs strictly in order (persist before reply).
//!
//! It owns the process's channels, the link handles, the clients waiting for a reply and
//! the monotonic clock (`now` = milliseconds since the loop started). It makes no
//! decision and keeps no timer of its own: the only sleep is until
//! [`Sentinel::poll_timeout`], and the only other deadline is the link connect timeout.
//! A `Persist` runs synchronously, so the output after it (say, a vote `Reply`) runs
//! only once the state is on disk — the durability guarantee of the core contract. A
//! `Persist` that fails ends the process (status [`PERSIST_FAILED_EXIT`]) before any
//! later output runs.

use crate::config::{Loaded, Store};
use crate::core::{
    Addr, Auth, ClientId, Event, Input, Level, LinkId, LinkKind, Millis, Options, Output, Request, Sentinel, Snapshot,
};
use crate::link::{self, LinkHandle, LinkSpec, Renames};
use crate::resp::Value;
use crate::server::{self, ServerCtx, ToCore};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

/// Deadline for opening a link. Retrying, and declaring an unreachable instance down, are
/// the core's business; this only bounds how long one attempt can hang. Short, so that
/// after a partition heals a fresh SYN goes out within a few hundred ms instead of
/// waiting for the kernel's SYN retransmission back-off (1 s, 3 s, 7 s ...): the core
/// retries every quarter ping-period (`core::links::reconnect`). A LAN handshake takes
/// well under a millisecond; a link across a slower network needs a longer timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// Exit status after a failed state write (`Daemon::persist`).
pub const PERSIST_FAILED_EXIT: i32 = 3;
/// Events buffered for slow client connections before they start missing some.
const EVENT_BACKLOG: usize = 1024;
/// Client commands queued towards the core.
const CLIENT_QUEUE: usize = 1024;

/// Runs the sentinel on one listener until SIGTERM/SIGINT, `SHUTDOWN` (→ `Ok(0)`) or an
/// `Output::Exit(code)` (→ `Ok(code)`, nothing after it is executed; the binary then
/// exits with that code).
pub async fn run(loaded: Loaded, listener: TcpListener, opts: Options) -> anyhow::Result<i32> {
    run_on(loaded, vec![listener], opts).await
}

/// Like [`run`], serving clients on every listener (one per `bind` address).
pub async fn run_on(loaded: Loaded, listeners: Vec<TcpListener>, opts: Options) -> anyhow::Result<i32> {
    run_with_tls(loaded, listeners, Vec::new(), None, opts).await
}

/// The users the listeners start with, and the `requirepass` they apply to `default`:
/// the config's `user` lines after `requirepass`, or, with `aclfile`, the file's users
/// alone (Redis: `requirepass` does not apply then, and `user` lines next to an `aclfile`
/// refuse to start). Errors are Redis's texts.
fn startup_users(settings: &crate::config::Settings) -> anyhow::Result<(Vec<Vec<String>>, Option<String>)> {
    let Some(file) = &settings.aclfile else {
        server::acl::check_config_users(&settings.users)
            .map_err(|e| anyhow::anyhow!("{}: {e}", settings.config_file.display()))?;
        return Ok((settings.users.clone(), settings.requirepass.clone()));
    };
    if !settings.users.is_empty() {
        anyhow::bail!(
            "{}: Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is \
             invalid. This setup is very likely to lead to configuration errors and security holes, please define \
             either an ACL file or declare users directly in your redis.conf, but not both.",
            settings.config_file.display()
        );
    }
    let users = server::acl::read_acl_file(&file.path, &file.shown)
        .map_err(|e| anyhow::anyhow!("Aborting Redis startup because of ACL errors: {e}"))?;
    if settings.requirepass.is_some() && !users.iter().any(|u| u[0] == "default") {
        tracing::warn!(
            aclfile = %file.shown,
            "requirepass does not apply with an aclfile: the file has no 'default' user, so 'default' needs no password (as in Redis)"
        );
    }
    Ok((users, None))
}

/// Like [`run_on`], also serving TLS clients on `tls_listeners` (`tls-port`) and, with
/// `tls-replication`, opening TLS links; `tls` is loaded by [`crate::tls::Tls::load`].
pub async fn run_with_tls(
    loaded: Loaded,
    listeners: Vec<TcpListener>,
    tls_listeners: Vec<TcpListener>,
    tls: Option<std::sync::Arc<crate::tls::Tls>>,
    opts: Options,
) -> anyhow::Result<i32> {
    let signals = Signals::new()?;
    let Loaded { settings, snapshot, mut store, .. } = loaded;
    let (users, requirepass) = startup_users(&settings)?;
    let (events, _) = broadcast::channel(EVENT_BACKLOG);
    let (to_core, clients) = mpsc::channel(CLIENT_QUEUE);
    let (shutdown_tx, shutdown) = mpsc::channel(1);
    let ctx = ServerCtx {
        to_core,
        events: events.clone(),
        port: opts.port,
        requirepass,
        users,
        aclfile: settings.aclfile.clone(),
        config_file: settings.config_file.display().to_string(),
        shutdown: shutdown_tx,
        limits: server::ClientLimits::from_settings(&settings),
        acl: Default::default(),
        registry: Default::default(),
    };
    // Users changed at run time are written into sentinel.conf with the state, as Redis
    // does (docs/differences.md); with an `aclfile` they live there instead (`ACL SAVE`).
    if settings.aclfile.is_none() {
        let users = ctx.acl.clone();
        store.set_users_source(Box::new(move || users.lines()));
    }
    // The servers stop when this sender is dropped, i.e. when this function returns.
    let (_servers_stop, stopped) = watch::channel(());
    for listener in listeners {
        let mut stopped = stopped.clone();
        tokio::spawn(server::run(listener, ctx.clone(), async move {
            let _ = stopped.changed().await;
        }));
    }
    if let Some(tls) = &tls {
        for listener in tls_listeners {
            let mut stopped = stopped.clone();
            tokio::spawn(server::run_tls(listener, tls.clone(), ctx.clone(), async move {
                let _ = stopped.changed().await;
            }));
        }
    }
    if let Some(path) = &settings.unixsocket {
        let listener = server::bind_unix(path, settings.unixsocketperm)
            .map_err(|e| anyhow::anyhow!("Failed opening Unix socket {}: {e}", path.display()))?;
        let mut stopped = stopped.clone();
        tokio::spawn(server::run_unix(listener, ctx.clone(), async move {
            let _ = stopped.changed().await;
        }));
    }
    let status = match settings.http_port {
        Some(port) => {
            let clients = crate::http::metrics::Clients {
                connected: ctx.limits.connected.clone(),
                counters: ctx.limits.counters.clone(),
                maxclients: ctx.limits.maxclients,
            };
            Some(start_http(&settings.http_bind, port, events.subscribe(), clients, stopped.clone())?)
        }
        None => None,
    };
    let clock = Clock::new();
    let core = Sentinel::new(snapshot, opts, clock.now());
    let (mut shell, link_events) = Shell::new(events, CONNECT_TIMEOUT);
    shell.tls = tls.filter(|t| t.replication());
    let state_file = store.path().to_path_buf();
    let store = persister(store);
    let mut daemon = Daemon { core, clock, store, state_file, shell, status };
    let inbox = Inbox { link_events, clients, shutdown, signals };
    Ok(daemon.run(inbox).await)
}

/// Binds the opt-in HTTP listener (`src/http`) and starts it on its own thread.
fn start_http(
    bind: &str,
    port: u16,
    events: broadcast::Receiver<Event>,
    clients: crate::http::metrics::Clients,
    stop: watch::Receiver<()>,
) -> anyhow::Result<StatusOut> {
    let listener = std::net::TcpListener::bind((bind, port))
        .map_err(|e| anyhow::anyhow!("cannot listen for HTTP on {bind}:{port} (http-bind/http-port): {e}"))?;
    let (tx, rx) = watch::channel(None);
    crate::http::spawn(listener, rx, events, clients, stop)?;
    tracing::info!("HTTP listener (metrics, health) on {bind}:{port}");
    Ok(StatusOut { tx, at: None, dirty: true })
}

/// Where the loop publishes its status for the HTTP listener: after events, else at
/// most every [`crate::http::PUBLISH_PERIOD_MS`]; never on request.
struct StatusOut {
    tx: crate::http::Publisher,
    at: Option<Millis>,
    dirty: bool,
}

fn persister(mut store: Store) -> Persister {
    Box::new(move |snap: &Snapshot| store.persist(snap))
}

/// Everything the loop waits on besides the core's deadline.
struct Inbox {
    link_events: mpsc::UnboundedReceiver<Input>,
    clients: mpsc::Receiver<ToCore>,
    shutdown: mpsc::Receiver<()>,
    signals: Signals,
}

/// Makes a snapshot durable before returning.
type Persister = Box<dyn FnMut(&Snapshot) -> std::io::Result<()> + Send>;

/// The core plus what executes its outputs.
struct Daemon {
    core: Sentinel,
    clock: Clock,
    /// `Store::persist`, boxed so tests can observe the order of writes.
    store: Persister,
    /// The file `store` writes, for error messages.
    state_file: PathBuf,
    shell: Shell,
    /// The HTTP listener's status channel, when `http-port` is set.
    status: Option<StatusOut>,
}

impl Daemon {
    /// The loop: one input (or the timer) at a time, then every output it produced.
    async fn run(&mut self, mut inbox: Inbox) -> i32 {
        if let Some(code) = self.drain() {
            return code;
        }
        // One timer, re-armed only when the core's deadline moves (not once per message).
        let sleep = tokio::time::sleep_until(self.clock.instant(self.core.poll_timeout()));
        tokio::pin!(sleep);
        loop {
            let deadline = self.clock.instant(self.core.poll_timeout());
            if sleep.deadline() != deadline || sleep.is_elapsed() {
                sleep.as_mut().reset(deadline);
            }
            tokio::select! {
                Some(input) = inbox.link_events.recv() => self.core.handle(self.clock.now(), input),
                Some(msg) = inbox.clients.recv() => {
                    if let Some(code) = self.on_clients(msg, &mut inbox.clients) {
                        return code;
                    }
                }
                () = &mut sleep => self.core.handle_timeout(self.clock.now()),
                name = inbox.signals.next() => {
                    tracing::warn!("Received {name}, exiting");
                    return 0;
                }
                Some(()) = inbox.shutdown.recv() => {
                    tracing::warn!("SHUTDOWN requested by a client, exiting");
                    return 0;
                }
            }
            if let Some(code) = self.drain() {
                return code;
            }
            self.publish();
        }
    }

    /// Hands a fresh status to the HTTP listener when one is due.
    fn publish(&mut self) {
        let Some(out) = &mut self.status else { return };
        let now = self.clock.now();
        // After events at once, but not more than once per 10 ms during a burst of them
        // (the next wake-up, at most a tick away, publishes what is left).
        let since = out.at.map_or(Millis::MAX, |at| now.saturating_sub(at));
        if (out.dirty && since >= 10) || since >= crate::http::PUBLISH_PERIOD_MS {
            let published = crate::http::Published { status: self.core.status(now), at: std::time::Instant::now() };
            out.tx.send_replace(Some(std::sync::Arc::new(published)));
            out.at = Some(now);
            out.dirty = false;
        }
    }

    /// `first` and the client requests queued behind it (a bounded number, so links and
    /// the timer get their turn), each with its outputs drained; `Some(code)` on `Exit`.
    fn on_clients(&mut self, first: ToCore, queue: &mut mpsc::Receiver<ToCore>) -> Option<i32> {
        const MAX_PER_WAKEUP: usize = 64;
        let mut next = Some(first);
        for _ in 0..MAX_PER_WAKEUP {
            let Some(msg) = next.take() else { break };
            if let Some(code) = self.on_client(msg).or_else(|| self.drain()) {
                return Some(code);
            }
            next = queue.try_recv().ok();
        }
        if let Some(msg) = next {
            return self.on_client(msg);
        }
        None
    }

    /// A request from a client connection; `Some(code)` when an output was `Exit`.
    fn on_client(&mut self, msg: ToCore) -> Option<i32> {
        let now = self.clock.now();
        match msg {
            ToCore::Commands { client, commands, reply } => {
                let mut values = Vec::with_capacity(commands.len());
                for args in commands {
                    self.core.handle(now, Input::Command { client, args });
                    let value = match self.drain_for(client) {
                        Ok(value) => value,
                        Err(code) => return Some(code),
                    };
                    values.push(value.unwrap_or_else(|| {
                        tracing::warn!(client = client.0, "the core did not answer a command");
                        Value::error("ERR the sentinel did not answer this command")
                    }));
                }
                // After every output of the batch, so a vote's Persist is durable first.
                let _ = reply.send(values);
            }
            ToCore::InfoSection { reply } => {
                let _ = reply.send(self.core.info_section(now));
            }
        }
        None
    }

    /// Like [`Daemon::drain`] after a command of `client`, keeping its reply aside:
    /// the reply (if the core made one), or `Err(code)` on `Exit`.
    fn drain_for(&mut self, client: ClientId) -> Result<Option<Value>, i32> {
        let mut answer = None;
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::Reply { client: to, value } if to == client && answer.is_none() => answer = Some(value),
                output => {
                    if let Some(code) = self.execute(output) {
                        return Err(code);
                    }
                }
            }
        }
        Ok(answer)
    }

    /// Executes every pending output in order; `Some(code)` when one was `Exit`.
    fn drain(&mut self) -> Option<i32> {
        while let Some(output) = self.core.poll_output() {
            if let Some(code) = self.execute(output) {
                return Some(code);
            }
        }
        None
    }

    /// The dispatcher. `Persist` completes before this returns (see module docs).
    fn execute(&mut self, output: Output) -> Option<i32> {
        match output {
            Output::Connect { link, addr, kind, auth, client_name, renames } => {
                self.shell.connect(link, addr, kind, auth, client_name, Renames::new(renames))
            }
            Output::Send { link, tag, request } => self.shell.send(link, tag, request),
            Output::Close { link } => self.shell.close(link),
            Output::Persist(snap) => return self.persist(&snap),
            Output::Reply { client, value } => self.shell.reply(client, value),
            Output::Event(event) => {
                if let Some(out) = &mut self.status {
                    out.dirty = true;
                }
                self.shell.event(event)
            }
            Output::Exit(code) => {
                tracing::warn!(code, "exit requested by the core");
                return Some(code);
            }
            Output::RunScript { id, path, args } => self.shell.run_script(id, path, args),
            Output::KillScript { id } => self.shell.kill_script(id),
        }
        None
    }

    /// Writes the state; on failure logs it and returns the exit code, so nothing queued
    /// after the `Persist` (a vote reply, an epoch announced in a hello) is executed.
    /// Redis Sentinel only logs a failed config rewrite and goes on (docs/behaviour.md §15.4,
    /// §20.16), which can grant a vote it will forget; we stop instead. A restart with a
    /// writable disk resumes from the last state that did reach it.
    fn persist(&mut self, snap: &Snapshot) -> Option<i32> {
        match (self.store)(snap) {
            Ok(()) => None,
            Err(e) => {
                let path = self.state_file.display();
                tracing::error!(
                    %path,
                    error = %e,
                    "cannot persist the sentinel state to {path}: {e}; exiting without acting on it \
                     (no vote or epoch is announced that is not on disk)"
                );
                Some(PERSIST_FAILED_EXIT)
            }
        }
    }
}

/// Executes the outputs that need no core and no disk: links, replies, events.
struct Shell {
    links: HashMap<LinkId, LinkHandle>,
    link_events: mpsc::UnboundedSender<Input>,
    events: broadcast::Sender<Event>,
    connect_timeout: Duration,
    /// Running scripts: dropping or sending on the sender kills the child.
    scripts: HashMap<u64, oneshot::Sender<()>>,
    /// `tls-replication yes`: every link speaks TLS with the configuration in force.
    tls: Option<std::sync::Arc<crate::tls::Tls>>,
}

impl Shell {
    fn new(events: broadcast::Sender<Event>, connect_timeout: Duration) -> (Shell, mpsc::UnboundedReceiver<Input>) {
        let (link_events, rx) = mpsc::unbounded_channel();
        let shell =
            Shell { links: HashMap::new(), link_events, events, connect_timeout, scripts: HashMap::new(), tls: None };
        (shell, rx)
    }

    fn connect(
        &mut self,
        link: LinkId,
        addr: Addr,
        kind: LinkKind,
        auth: Option<Auth>,
        client_name: String,
        renames: Renames,
    ) {
        tracing::debug!(link = link.0, addr = %addr.key(), ?kind, "connecting");
        let tls = self.tls.as_ref().map(|t| t.connector());
        let spec = LinkSpec { addr, kind, auth, client_name, renames, connect_timeout: self.connect_timeout, tls };
        let handle = link::spawn(link, spec, self.link_events.clone());
        if self.links.insert(link, handle).is_some() {
            tracing::warn!(link = link.0, "link id reused; the previous link was closed");
        }
    }

    fn send(&mut self, link: LinkId, tag: u64, request: Request) {
        match self.links.get(&link) {
            Some(handle) => handle.send(tag, request),
            None => {
                // Keep the contract (a Reply or a LinkDown for every Send); the core
                // ignores links it does not know.
                tracing::warn!(link = link.0, ?request, "send on a link that is not open");
                let reason = "link is not open".to_string();
                let _ = self.link_events.send(Input::LinkDown { link, reason, refused: false });
            }
        }
    }

    /// §14: `execve(path, [path, args...])` directly (no shell) in the process's working
    /// directory; reports `ScriptStarted` then `ScriptExited` (both `None` when it could
    /// not be started).
    fn run_script(&mut self, id: u64, path: String, args: Vec<String>) {
        self.scripts.retain(|_, kill| !kill.is_closed());
        let events = self.link_events.clone();
        let mut child = match tokio::process::Command::new(&path).args(&args).stdin(std::process::Stdio::null()).spawn()
        {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(id, %path, error = %e, "cannot start script {path}: {e}");
                let _ = events.send(Input::ScriptExited { id, code: None, signal: None });
                return;
            }
        };
        let (kill_tx, mut kill_rx) = oneshot::channel();
        self.scripts.insert(id, kill_tx);
        let _ = events.send(Input::ScriptStarted { id, pid: child.id().unwrap_or(0) });
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = &mut kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let (code, signal) = match status {
                Ok(st) => (st.code(), std::os::unix::process::ExitStatusExt::signal(&st)),
                Err(e) => {
                    tracing::warn!(id, error = %e, "waiting for script failed");
                    (None, Some(9))
                }
            };
            let _ = events.send(Input::ScriptExited { id, code, signal });
        });
    }

    /// SIGKILLs a running script (its `ScriptExited` follows from the waiting task).
    fn kill_script(&mut self, id: u64) {
        if let Some(kill) = self.scripts.remove(&id) {
            let _ = kill.send(());
        }
    }

    fn close(&mut self, link: LinkId) {
        tracing::debug!(link = link.0, "closing");
        self.links.remove(&link);
    }

    /// A reply outside [`Daemon::on_client`] has no command waiting for it: the core
    /// answers a command while handling it, so this does not happen.
    fn reply(&mut self, client: ClientId, value: Value) {
        tracing::debug!(client = client.0, ?value, "reply for a client with no command waiting");
    }

    /// Logs an event at its level and hands it to the server for Pub/Sub delivery.
    /// Debug-level events are logged only, never published (§10.1).
    fn event(&self, event: Event) {
        log_event(&event);
        if event.level != Level::Debug {
            let _ = self.events.send(event);
        }
    }
}

/// One log line per event, like Redis's `+sdown master mymaster 127.0.0.1 6379`.
/// With `log-format json` the fields (`event`, `master`, `instance`: the `ip:port` the
/// event is about) become JSON keys.
fn log_event(ev: &Event) {
    let master = ev.master.as_deref().unwrap_or("");
    // `<type> <name> <ip> <port> ...` (§10.2).
    let words: Vec<&str> = ev.message.split(' ').take(4).collect();
    let instance = match words.as_slice() {
        ["master" | "slave" | "sentinel", _, ip, port] => format!("{ip}:{port}"),
        _ => String::new(),
    };
    let instance = instance.as_str();
    match ev.level {
        Level::Warning => tracing::warn!(event = %ev.name, master, instance, "{} {}", ev.name, ev.message),
        Level::Notice => tracing::info!(event = %ev.name, master, instance, "{} {}", ev.name, ev.message),
        Level::Verbose => tracing::debug!(event = %ev.name, master, instance, "{} {}", ev.name, ev.message),
        Level::Debug => tracing::trace!(event = %ev.name, master, instance, "{} {}", ev.name, ev.message),
    }
}

/// The monotonic clock handed to the core.
struct Clock {
    base: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock { base: Instant::now() }
    }

    fn now(&self) -> Millis {
        Millis::try_from(self.base.elapsed().as_millis()).unwrap_or(Millis::MAX)
    }

    /// The instant of a core deadline; a deadline too far to represent becomes a day away.
    fn instant(&self, at: Millis) -> Instant {
        self.base.checked_add(Duration::from_millis(at)).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
    }
}

/// SIGTERM and SIGINT: a clean exit with status 0.
struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::Redis;
    use std::sync::{Arc, Mutex};

    fn shell() -> (Shell, mpsc::UnboundedReceiver<Input>, broadcast::Receiver<Event>) {
        let (events, sub) = broadcast::channel(16);
        let (shell, rx) = Shell::new(events, Duration::from_millis(500));
        (shell, rx, sub)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Input>) -> Input {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(input)) => input,
            other => panic!("no input: {other:?}"),
        }
    }

    /// A daemon around the (possibly stub) core, recording every persisted epoch.
    fn daemon(shell: Shell) -> (Daemon, Arc<Mutex<Vec<u64>>>) {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let log = writes.clone();
        let store: Persister = Box::new(move |s: &Snapshot| {
            log.lock().map_err(|_| std::io::Error::other("poisoned"))?.push(s.current_epoch.0);
            Ok(())
        });
        let clock = Clock::new();
        let opts = Options { port: 26379, seed: 1, timing: Default::default(), requirepass: None };
        let core = Sentinel::new(Snapshot::new("a".repeat(40)), opts, clock.now());
        let daemon = Daemon { core, clock, store, state_file: PathBuf::from("/nonexistent"), shell, status: None };
        (daemon, writes)
    }

    #[tokio::test]
    async fn connect_send_and_close_drive_real_links() {
        let redis = Redis::start(&[]);
        let (mut shell, mut rx, _) = shell();
        shell.connect(LinkId(1), redis.addr(), LinkKind::Command, None, "sentinel-x-cmd".into(), Renames::default());
        assert!(matches!(next(&mut rx).await, Input::LinkUp { link: LinkId(1), .. }));
        shell.send(LinkId(1), 3, Request::Ping);
        assert_eq!(next(&mut rx).await, Input::Reply { link: LinkId(1), tag: 3, reply: Value::simple("PONG") });
        shell.close(LinkId(1));
        let after = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
        assert!(after.is_err(), "no LinkDown after Close: {after:?}");
    }

    #[tokio::test]
    async fn send_on_an_unknown_link_reports_link_down() {
        let (mut shell, mut rx, _) = shell();
        shell.send(LinkId(9), 1, Request::Ping);
        assert!(matches!(next(&mut rx).await, Input::LinkDown { link: LinkId(9), .. }));
    }

    fn batch(d: &mut Daemon, client: u64, commands: &[&[&str]]) -> (Option<i32>, oneshot::Receiver<Vec<Value>>) {
        let (reply, answer) = oneshot::channel();
        let commands = commands.iter().map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect()).collect();
        (d.on_client(ToCore::Commands { client: ClientId(client), commands, reply }), answer)
    }

    #[test]
    fn a_batch_gets_one_reply_per_command_in_order() {
        let (shell, _rx, _) = shell();
        let (mut d, _) = daemon(shell);
        let (exit, mut answer) = batch(
            &mut d,
            7,
            &[
                &["SENTINEL", "MYID"],
                &["ROLE"],
                &["SENTINEL", "get-master-addr-by-name", "nope"],
                &["PUBLISH", "x", "y"],
            ],
        );
        assert_eq!(exit, None);
        let values = answer.try_recv().expect("answered at once");
        assert_eq!(values.len(), 4, "{values:?}");
        assert_eq!(values[0], Value::bulk("a".repeat(40)));
        assert_eq!(values[1], Value::Array(vec![Value::bulk("sentinel"), Value::Array(vec![])]));
        assert_eq!(values[2], Value::NullArray);
        assert!(matches!(&values[3], Value::Error(e) if e.contains("HELLO")), "{values:?}");
        // A command the core does not own still gets a reply, so the client never hangs.
        let (_, mut answer) = batch(&mut d, 7, &[&["NOT-A-CORE-COMMAND"], &["SENTINEL", "MYID"]]);
        let values = answer.try_recv().expect("answered");
        assert!(matches!(&values[0], Value::Error(_)), "{values:?}");
        assert_eq!(values[1], Value::bulk("a".repeat(40)));
    }

    #[test]
    fn a_batch_is_answered_only_after_its_persists() {
        let (shell, _rx, _) = shell();
        let (mut d, _) = daemon(shell);
        let pending: Arc<Mutex<Option<oneshot::Receiver<Vec<Value>>>>> = Arc::default();
        let seen = pending.clone();
        let persisted = Arc::new(Mutex::new(0));
        let count = persisted.clone();
        d.store = Box::new(move |_: &Snapshot| {
            let mut rx = seen.lock().expect("lock");
            let rx = rx.as_mut().expect("receiver installed");
            assert!(rx.try_recv().is_err(), "reply delivered before the state was persisted");
            *count.lock().expect("lock") += 1;
            Ok(())
        });
        let (reply, answer) = oneshot::channel();
        *pending.lock().expect("lock") = Some(answer);
        let commands = vec![
            vec![
                b"SENTINEL".to_vec(),
                b"MONITOR".to_vec(),
                b"m".to_vec(),
                b"127.0.0.1".to_vec(),
                b"6399".to_vec(),
                b"1".to_vec(),
            ],
            vec![b"SENTINEL".to_vec(), b"get-master-addr-by-name".to_vec(), b"m".to_vec()],
        ];
        assert_eq!(d.on_client(ToCore::Commands { client: ClientId(1), commands, reply }), None);
        assert!(*persisted.lock().expect("lock") >= 1);
        let values = pending.lock().expect("lock").as_mut().expect("rx").try_recv().expect("answered");
        assert_eq!(values, vec![Value::ok(), Value::Array(vec![Value::bulk("127.0.0.1"), Value::bulk("6399")])]);
    }

    #[test]
    fn events_are_broadcast_except_debug_ones() {
        let (shell, _rx, mut sub) = shell();
        let ev =
            |level, name| Event { level, name, message: "master m 127.0.0.1 6379".into(), master: Some("m".into()) };
        shell.event(ev(Level::Debug, "+dbg"));
        shell.event(ev(Level::Warning, "+sdown"));
        assert_eq!(sub.try_recv().map(|e| e.name), Ok("+sdown"));
        assert!(sub.try_recv().is_err());
    }

    #[test]
    fn persist_runs_before_the_next_output_and_exit_stops() {
        let (shell, _rx, _) = shell();
        let (mut d, writes) = daemon(shell);
        let mut snap = Snapshot::new("b".repeat(40));
        snap.current_epoch = crate::core::Epoch(5);
        assert_eq!(d.execute(Output::Persist(Box::new(snap))), None);
        assert_eq!(*writes.lock().expect("lock"), vec![5]);
        assert_eq!(d.execute(Output::Reply { client: ClientId(1), value: Value::ok() }), None);
        assert_eq!(d.execute(Output::Exit(99)), Some(99));
    }

    #[test]
    fn a_failed_persist_stops_the_batch_before_its_reply() {
        let (shell, _rx, _) = shell();
        let (mut d, _) = daemon(shell);
        d.store = Box::new(|_: &Snapshot| Err(std::io::Error::from_raw_os_error(28)));
        let monitor: &[&str] = &["SENTINEL", "MONITOR", "m", "127.0.0.1", "6399", "1"];
        let (exit, mut answer) = batch(&mut d, 1, &[monitor, &["SENTINEL", "MYID"]]);
        assert_eq!(exit, Some(PERSIST_FAILED_EXIT));
        assert!(answer.try_recv().is_err(), "a reply was sent although its Persist failed");
    }

    #[tokio::test]
    async fn loop_answers_info_and_exits_zero_on_shutdown() {
        let (shell, link_events, _) = shell();
        let (mut d, _) = daemon(shell);
        let (to_core, clients) = mpsc::channel(4);
        let (stop, shutdown) = mpsc::channel(1);
        let signals = Signals::new().expect("signals");
        let running = tokio::spawn(async move { d.run(Inbox { link_events, clients, shutdown, signals }).await });
        let (tx, rx) = oneshot::channel();
        to_core.send(ToCore::InfoSection { reply: tx }).await.expect("loop alive");
        let info = tokio::time::timeout(Duration::from_secs(5), rx).await.expect("answered").expect("sent");
        assert!(info.starts_with("# Sentinel\r\n"), "{info:?}");
        stop.send(()).await.expect("loop alive");
        let code = tokio::time::timeout(Duration::from_secs(5), running).await.expect("exits").expect("no panic");
        assert_eq!(code, 0);
    }

    #[test]
    fn clock_deadlines_never_overflow() {
        let clock = Clock::new();
        assert!(clock.instant(Millis::MAX) > Instant::now());
        assert!(clock.instant(0) <= Instant::now());
        let a = clock.now();
        assert!(clock.now() >= a);
    }
}
