//! State shared by all connections: the context, counters for `INFO`, the client registry
//! behind `CLIENT LIST` / `CLIENT KILL` and `CLIENT PAUSE` — one of each per process, as
//! in Redis, whichever bind address a client came in on ([`Registry`]).
//!
//! Each connection owns its own state and publishes a copy ([`ClientEntry`]) here after
//! every command; the registry lock is never held across an `.await`.

use super::acl::Acl;
use super::ServerCtx;
use crate::core::ClientId;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Instant;
use tokio::sync::Notify;

static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh client id, unique in this process (Redis counts from 1 too).
pub(crate) fn next_client_id() -> ClientId {
    ClientId(NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed))
}

/// This process's `run_id` for `INFO server`: 40 random hex chars, fixed per process
/// (it is not the sentinel's `myid`, §11.3).
pub(crate) fn process_run_id() -> &'static str {
    static RUN_ID: OnceLock<String> = OnceLock::new();
    RUN_ID.get_or_init(|| crate::random::hex(40).expect("OS random generator failed"))
}

/// Counters shown by `INFO stats` (the client counters, shown by INFO and /metrics, are
/// `ClientLimits::counters`).
#[derive(Default)]
pub(crate) struct Stats {
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What `CLIENT LIST` shows about one connection, and how to kill it.
#[derive(Clone)]
pub(crate) struct ClientEntry {
    pub id: ClientId,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub name: String,
    pub created: Instant,
    pub last_active: Instant,
    pub resp: u8,
    pub sub: usize,
    pub psub: usize,
    /// Full name of the last command (`client|list`), `NULL` before any.
    pub cmd: String,
    pub kill: Arc<Notify>,
    /// Authenticated user name.
    pub user: String,
    /// `CLIENT TRACKING` on: the redirect id (0 = none).
    pub tracking: Option<u64>,
    /// `CLIENT NO-EVICT on`.
    pub no_evict: bool,
}

impl ClientEntry {
    /// One line of `CLIENT LIST` / `CLIENT INFO`, in Redis 7.0's field order, with `\n`.
    pub(crate) fn line(&self, now: Instant) -> String {
        let mut flags = String::new();
        if self.sub + self.psub > 0 {
            flags.push('P');
        }
        if self.tracking.is_some() {
            flags.push('t');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let redir = self.tracking.map_or(-1, |r| r as i64);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db=0 sub={} psub={} \
             ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=4096 rbp=0 obl=0 oll=0 \
             omem=0 tot-mem=0 events=r cmd={} user={} redir={redir} resp={}\n",
            self.id.0,
            self.addr,
            self.laddr,
            self.fd,
            self.name,
            now.duration_since(self.created).as_secs(),
            now.duration_since(self.last_active).as_secs(),
            self.sub,
            self.psub,
            self.cmd,
            self.user,
            self.resp,
        )
    }
}

/// The connection state of the whole process, shared by every listener (clones share it):
/// a `CLIENT LIST` through one bind address shows the clients of all of them, a
/// `CLIENT KILL` or `CLIENT PAUSE` reaches them all, as in Redis.
#[derive(Clone, Default)]
pub struct Registry {
    stats: Arc<Stats>,
    clients: Arc<Mutex<BTreeMap<ClientId, ClientEntry>>>,
    pause: Arc<Mutex<Option<(Instant, bool)>>>,
    unpaused: Arc<Notify>,
}

/// Everything the connections of one listener see.
pub(crate) struct Shared {
    pub ctx: ServerCtx,
    pub started: Instant,
    pub stats: Arc<Stats>,
    clients: Arc<Mutex<BTreeMap<ClientId, ClientEntry>>>,
    /// The sentinel's users (§17).
    pub acl: Arc<RwLock<Acl>>,
    /// `CLIENT PAUSE`: until when, and whether everything (else only `PUBLISH`) waits.
    pub pause: Arc<Mutex<Option<(Instant, bool)>>>,
    /// Woken by `CLIENT UNPAUSE`.
    pub unpaused: Arc<Notify>,
}

impl Shared {
    pub(crate) fn new(ctx: ServerCtx) -> Shared {
        // The daemon validated the `user` lines at startup; a bad one here leaves only
        // `default` (with requirepass), never an open door.
        let acl = ctx
            .acl
            .0
            .get_or_init(|| {
                let acl = if ctx.aclfile.is_some() {
                    Acl::from_acl_file(&ctx.users)
                } else {
                    Acl::from_config(ctx.requirepass.as_deref(), &ctx.users)
                };
                let acl = acl.or_else(|_| Acl::from_config(ctx.requirepass.as_deref(), &[])).expect("default user");
                Arc::new(RwLock::new(acl))
            })
            .clone();
        let r = ctx.registry.clone();
        Shared {
            ctx,
            started: Instant::now(),
            stats: r.stats,
            clients: r.clients,
            acl,
            pause: r.pause,
            unpaused: r.unpaused,
        }
    }

    /// The registry. A panic elsewhere while holding it cannot corrupt plain data, so a
    /// poisoned lock is simply taken over.
    pub(crate) fn acl(&self) -> std::sync::RwLockReadGuard<'_, Acl> {
        self.acl.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn acl_mut(&self) -> std::sync::RwLockWriteGuard<'_, Acl> {
        self.acl.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn clients(&self) -> MutexGuard<'_, BTreeMap<ClientId, ClientEntry>> {
        self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
