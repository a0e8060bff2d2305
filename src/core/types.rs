//! The vocabulary shared by the core and its shells: identities, addresses, epochs, the
//! inputs the shell reports (facts) and the outputs the core orders (commands), and the
//! persisted snapshot. Nothing here performs I/O.

use crate::resp::Value;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time or a duration, in milliseconds. The shell passes a monotonic clock
/// reading; the core never reads a clock itself.
pub type Millis = u64;

/// A sentinel's 40-hex-char identity (`myid`), or a Redis instance's `run_id`.
pub type RunId = String;

/// Epochs (§1.3): current epoch, config epoch, vote epoch. Never decrease.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(pub u64);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A host (IP literal, or hostname with `resolve-hostnames yes`) and a port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Addr {
    pub host: String,
    pub port: u16,
}

impl Addr {
    pub fn new(host: impl Into<String>, port: u16) -> Addr {
        Addr { host: host.into(), port }
    }

    /// The replica table key (§1.1): `ip:port`, or `[ipv6]:port`.
    pub fn key(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Equality per §3.4: same port and host equal case-insensitively.
    pub fn same(&self, other: &Addr) -> bool {
        self.port == other.port && self.host.eq_ignore_ascii_case(&other.host)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.host, self.port)
    }
}

/// A connection the core asked the shell to open. Allocated by the core, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// A client connection of the listener (a user or a peer sentinel talking to us).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u64);

/// The two kinds of link to a Redis instance (§3.1); peers get a command link only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// PING, INFO, PUBLISH, reconfiguration transactions, votes to peers.
    Command,
    /// Subscribed to `__sentinel__:hello` right after connecting.
    PubSub,
}

/// Credentials sent as `AUTH [user] pass` when a link opens (§3.2).
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    pub user: Option<String>,
    pub pass: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets never reach a log line.
        f.debug_struct("Auth").field("user", &self.user).field("pass", &"******").finish()
    }
}

/// A typed request on a link. The shell owns the bytes; see `link` for the exact commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `PING`
    Ping,
    /// `INFO` (no section)
    Info,
    /// `PUBLISH <channel> <payload>`
    Publish { channel: String, payload: String },
    /// `SENTINEL is-master-down-by-addr <ip> <port> <epoch> <runid|*>` (to a peer)
    IsMasterDownByAddr { addr: Addr, epoch: Epoch, runid: Option<RunId> },
    /// The §8.2 transaction: `MULTI`, `SLAVEOF <host> <port>` (or `NO ONE` when `None`),
    /// `CONFIG REWRITE`, `CLIENT KILL TYPE normal`, `CLIENT KILL TYPE pubsub`, `EXEC`.
    /// The shell reports one reply: the `EXEC` reply (or the first error).
    ReplicaOf(Option<Addr>),
    /// `SCRIPT KILL` (§6.1, instance answered `-BUSY`).
    ScriptKill,
    /// `CONFIG SET <name> <value> [<name> <value> ...]` (ours: the write lease, see
    /// `core::fencing`), followed by `CONFIG REWRITE` when `rewrite` is set, so that an
    /// instance restarted from its config file keeps the setting. One reply: the first
    /// error, else the last reply.
    ConfigSet { pairs: Vec<(String, String)>, rewrite: bool },
    /// `SENTINEL MASTER <name>` to a peer sentinel (ours: proof that our configuration
    /// of that master is current, see `core::fencing`). One reply: a flat field/value list.
    SentinelMaster { name: String },
    /// `FAILOVER TO <host> <port> TIMEOUT <ms>` to a master (`SENTINEL FAILOVER <name>
    /// COORDINATED`): the master pauses writes, waits for that replica to catch up and hands
    /// over (Redis >= 6.2). One reply.
    Failover { to: Addr, timeout_ms: u64 },
}

/// Facts the shell reports to the core.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// The link is connected and its preamble (AUTH, CLIENT SETNAME, and for Pub/Sub links
    /// SUBSCRIBE) was sent. `local_ip` is our address on that socket (hello field 0);
    /// `peer_ip` the address actually connected to (a hostname resolved by the shell, §3.4).
    LinkUp { link: LinkId, local_ip: String, peer_ip: String },
    /// The connection failed or was closed. Pending requests on it are lost. `refused`:
    /// the connection attempt was actively refused (nothing listens on the port: the
    /// process is gone), as opposed to a timeout or a reset.
    LinkDown { link: LinkId, reason: String, refused: bool },
    /// The reply to the request sent with the same `tag` on that link.
    Reply { link: LinkId, tag: u64, reply: Value },
    /// Any frame received on a Pub/Sub link (subscribe confirmations included, §5.4).
    PubSub { link: LinkId, frame: Value },
    /// A command from a client that the core answers (SENTINEL ..., ROLE, PUBLISH).
    Command { client: ClientId, args: Vec<Vec<u8>> },
    /// A script started by `RunScript` ended: its exit code, or the signal that killed
    /// it; `code: None, signal: None` when it could not be started at all.
    ScriptExited { id: u64, code: Option<i32>, signal: Option<i32> },
    /// A script ordered by `RunScript` is running as process `pid` (shown by
    /// `SENTINEL PENDING-SCRIPTS` and `-script-timeout`, §14).
    ScriptStarted { id: u64, pid: u32 },
}

/// Orders the core gives to the shell, executed strictly in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open a link; report `LinkUp` or `LinkDown`. Every command sent on it goes through
    /// `renames` (`rename-command` of the master concerned, §3.3: lower-case command,
    /// new name).
    Connect {
        link: LinkId,
        addr: Addr,
        kind: LinkKind,
        auth: Option<Auth>,
        client_name: String,
        renames: Vec<(String, String)>,
    },
    /// Send a request; report exactly one `Reply` with the same tag, unless `LinkDown`.
    Send { link: LinkId, tag: u64, request: Request },
    /// Close a link (no `LinkDown` is reported for it).
    Close { link: LinkId },
    /// Make this state durable (write, fsync, rename, fsync dir) before running the next
    /// output. A crash between `Persist` and a later `Reply` must not lose it.
    Persist(Box<Snapshot>),
    /// Answer a client's command.
    Reply { client: ClientId, value: Value },
    /// Publish an event on our Pub/Sub (channel = name) and log it (§10).
    Event(Event),
    /// Exit the process with this status (`SENTINEL SIMULATE-FAILURE`, §7.4: 99).
    Exit(i32),
    /// Start a script (§14): `execve(path, [path, args...])`, no shell, in the process's
    /// working directory; report `ScriptExited` with the same id.
    RunScript { id: u64, path: String, args: Vec<String> },
    /// Kill a running script with SIGKILL (runtime limit, §14); `ScriptExited` follows.
    KillScript { id: u64 },
}

/// Log/publish level of an event (§10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// One Sentinel event (§10): published on channel `name` with payload `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub level: Level,
    /// The channel, exactly as Redis spells it (`+switch-master`).
    pub name: &'static str,
    /// The payload, exactly as Redis spells it.
    pub message: String,
    /// The master the event concerns (for notification scripts and timelines).
    pub master: Option<String>,
}

/// Timing parameters (§2.2), changeable at runtime with `SENTINEL DEBUG`, never persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub info_period: Millis,
    pub ping_period: Millis,
    pub ask_period: Millis,
    pub publish_period: Millis,
    pub default_down_after: Millis,
    pub default_failover_timeout: Millis,
    pub tilt_trigger: Millis,
    pub tilt_period: Millis,
    pub slave_reconf_timeout: Millis,
    pub min_link_reconnect_period: Millis,
    pub election_timeout: Millis,
    pub script_max_runtime: Millis,
    pub script_retry_delay: Millis,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: 30_000,
            default_failover_timeout: 180_000,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

/// Everything a sentinel must remember across restarts (§15.3/§15.4), and the whole of
/// what it boots from. The config module stores it (state file, or Redis sentinel.conf
/// rewrite) and builds it from the operator's files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub myid: RunId,
    pub current_epoch: Epoch,
    #[serde(default)]
    pub announce_ip: Option<String>,
    #[serde(default)]
    pub announce_port: Option<u16>,
    #[serde(default)]
    pub resolve_hostnames: bool,
    #[serde(default)]
    pub announce_hostnames: bool,
    #[serde(default = "yes")]
    pub deny_scripts_reconfig: bool,
    #[serde(default)]
    pub sentinel_user: Option<String>,
    #[serde(default)]
    pub sentinel_pass: Option<String>,
    #[serde(default)]
    pub masters: Vec<MasterSnapshot>,
}

fn yes() -> bool {
    true
}

/// One monitored master as persisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterSnapshot {
    pub name: String,
    /// The current master address (the promoted replica once our own failover passed
    /// promotion, §8.7).
    pub addr: Addr,
    pub quorum: u32,
    pub down_after_ms: Millis,
    pub failover_timeout_ms: Millis,
    pub parallel_syncs: u32,
    #[serde(default)]
    pub auth_user: Option<String>,
    #[serde(default)]
    pub auth_pass: Option<String>,
    #[serde(default)]
    pub master_reboot_down_after_ms: Millis,
    #[serde(default)]
    pub notification_script: Option<String>,
    #[serde(default)]
    pub client_reconfig_script: Option<String>,
    /// `(command, new name)` pairs, lower-case command.
    #[serde(default)]
    pub rename_commands: Vec<(String, String)>,
    #[serde(default)]
    pub config_epoch: Epoch,
    #[serde(default)]
    pub leader_epoch: Epoch,
    /// Ours: the write lease in seconds (`min-replicas-max-lag` kept on the master), 0 =
    /// off; see `core::fencing`.
    #[serde(default)]
    pub write_lease_s: u32,
    /// Ours: `crash-detection fast` (see `core::detector::crashed`).
    #[serde(default)]
    pub crash_detection: bool,
    /// Ours: `holistic-detection on` (see `core::detector::veto`).
    #[serde(default)]
    pub holistic_detection: bool,
    /// Ours: a replica more than this many bytes of replication offset behind the best
    /// known offset is never promoted automatically (0 = no bound; `core::selection`).
    #[serde(default)]
    pub max_lag_on_failover: u64,
    /// Ours: after a failover, no automatic failover of the same master for this long
    /// (ms, 0 = off) unless an operator acknowledges with any `SENTINEL SET` of it.
    #[serde(default)]
    pub failover_block_ms: Millis,
    #[serde(default)]
    pub known_replicas: Vec<Addr>,
    #[serde(default)]
    pub known_sentinels: Vec<KnownSentinel>,
}

impl MasterSnapshot {
    /// A master with every option at its Redis default (§2.2, §15.2).
    pub fn new(name: impl Into<String>, addr: Addr, quorum: u32) -> MasterSnapshot {
        let t = Timing::default();
        MasterSnapshot {
            name: name.into(),
            addr,
            quorum,
            down_after_ms: t.default_down_after,
            failover_timeout_ms: t.default_failover_timeout,
            parallel_syncs: 1,
            auth_user: None,
            auth_pass: None,
            master_reboot_down_after_ms: 0,
            notification_script: None,
            client_reconfig_script: None,
            rename_commands: Vec::new(),
            config_epoch: Epoch(0),
            leader_epoch: Epoch(0),
            write_lease_s: 0,
            crash_detection: false,
            holistic_detection: false,
            max_lag_on_failover: 0,
            failover_block_ms: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

/// A peer sentinel remembered for a master (`known-sentinel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownSentinel {
    pub addr: Addr,
    pub runid: RunId,
}

impl Snapshot {
    /// An empty snapshot with a given identity.
    pub fn new(myid: RunId) -> Snapshot {
        Snapshot {
            myid,
            current_epoch: Epoch(0),
            announce_ip: None,
            announce_port: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
            masters: Vec::new(),
        }
    }
}

/// Static facts about this process the core needs but does not persist.
#[derive(Clone, Debug)]
pub struct Options {
    /// Our listening port (hello field 1 unless `announce-port`).
    pub port: u16,
    /// Seed of the core's RNG (desync jitter, §2.1, §7.5).
    pub seed: u64,
    pub timing: Timing,
    /// Our own `requirepass`: used towards peer sentinels when `sentinel-pass` is unset
    /// (§3.2, the legacy rule), so all sentinels of a group can share one password.
    pub requirepass: Option<String>,
}

/// A read-only summary of one master, for inspection (simulation invariants, metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterStatus {
    pub name: String,
    /// The configured address (what `SENTINEL MASTER` shows).
    pub addr: Addr,
    /// The address clients are given (§8.7).
    pub current: Addr,
    pub config_epoch: Epoch,
    pub leader_epoch: Epoch,
    /// `none` or a §8.1 state string.
    pub failover_state: &'static str,
    pub failover_epoch: Epoch,
    pub sdown: bool,
    pub odown: bool,
    pub replicas: usize,
    pub sentinels: usize,
}
