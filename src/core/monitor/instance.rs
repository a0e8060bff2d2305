//! The table entries: one [`Instance`] per master, replica or peer sentinel (the fields
//! of Redis's `sentinelRedisInstance` that matter), and [`Master`], which adds the
//! per-master options, epochs, failover state and the two sub-tables.

use super::info::Role;
use crate::core::{Addr, Epoch, LinkId, MasterSnapshot, Millis, RunId};
use std::collections::BTreeMap;

/// What an entry is (§1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Master,
    Replica,
    Sentinel,
}

impl Kind {
    /// The wire spelling in events and replies.
    pub fn wire(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// One open (or opening) link.
#[derive(Clone, Debug)]
pub struct LinkState {
    pub id: LinkId,
    pub up: bool,
    pub created: Millis,
    /// Commands sent and not yet answered.
    pub pending: u32,
    /// Our address on that socket (hello field 0).
    pub local_ip: Option<String>,
    /// Last frame of any kind (Pub/Sub link recycling, §2.3).
    pub last_activity: Millis,
}

impl LinkState {
    pub fn new(id: LinkId, now: Millis) -> LinkState {
        LinkState { id, up: false, created: now, pending: 0, local_ip: None, last_activity: now }
    }
}

/// Replica progress flags during a failover (§1.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaFlags {
    pub promoted: bool,
    pub reconf_sent: bool,
    pub reconf_inprog: bool,
    pub reconf_done: bool,
}

/// One master, replica or peer sentinel.
#[derive(Clone, Debug)]
pub struct Instance {
    pub kind: Kind,
    /// Table key: master name, `ip:port`, or run id.
    pub name: String,
    pub addr: Addr,
    /// The IP `addr.host` resolved to when the command link last connected (the shell
    /// resolves; the core never does). With `resolve-hostnames yes` the host may be a
    /// name while other instances report the IP (§3.4).
    pub ip: Option<String>,
    /// The address a command link was opened to and the IP it reached: what a host name
    /// resolved to, shown instead of the name with `announce-hostnames no` (§3.4).
    pub resolved: Option<(Addr, String)>,
    pub runid: Option<RunId>,
    pub cc: Option<LinkState>,
    pub pc: Option<LinkState>,
    pub last_reconnect: Option<Millis>,
    /// Time of the oldest unanswered PING (§6.1); set at creation.
    pub act_ping: Option<Millis>,
    pub last_ping_sent: Option<Millis>,
    /// Last valid PING reply.
    pub last_avail: Millis,
    /// Last reply of any kind.
    pub last_pong: Millis,
    /// Last acknowledged hello publish; `None` forces one on the next tick.
    pub last_pub: Option<Millis>,
    pub last_hello: Millis,
    pub sdown: bool,
    pub sdown_since: Option<Millis>,
    pub script_kill_sent: bool,
    /// The instance refused our credentials (`-NOAUTH` / `-WRONGPASS`) on the last link
    /// attempt; `+auth-failed` was published, `-auth-failed` will be on the next PONG.
    pub auth_failed: bool,
    pub info_refresh: Option<Millis>,
    /// When the last INFO was sent (an INFO unanswered for a period is sent again).
    pub info_sent: Option<Millis>,
    pub info_text: Option<String>,
    pub role_reported: Option<Role>,
    pub role_reported_time: Millis,
    pub replica_conf_change_time: Millis,
    pub master_link_down_ms: i64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: u16,
    pub master_link_up: bool,
    pub slave_priority: u32,
    pub repl_offset: u64,
    pub replica_announced: bool,
    pub flags: ReplicaFlags,
    pub reconf_sent_time: Millis,
    /// Ours (`core::fencing`): the last role change seen was replica → master, both
    /// reported by INFO (a promotion by someone, not an old master coming back).
    pub promoted_live: bool,
    /// Ours: we sent it `+convert-to-slave` and no INFO has shown it a replica since.
    pub converted: bool,
    /// INFO `master_replid` / `master_replid2` (ours: lineage, `core::fencing`).
    pub replid: Option<String>,
    pub replid2: Option<String>,
    /// INFO `master_repl_offset` (ours: the best known offset for `max-lag-on-failover`).
    pub master_repl_offset: u64,
    pub master_reboot: bool,
    pub master_reboot_since: Millis,
    /// Peer sentinels: the peer's last answer said the master is down.
    pub master_down: bool,
    pub last_master_down_reply: Option<Millis>,
    /// When the last `is-master-down-by-addr` was sent to this peer.
    pub ask_sent: Option<Millis>,
    /// Peer sentinels: the vote the peer reported.
    pub leader: Option<RunId>,
    pub leader_epoch: Epoch,
    /// Peer sentinels: when the peer last confirmed our configuration of the master (a
    /// hello or a `SENTINEL MASTER` reply with our config epoch and address), and when
    /// we last asked it (ours, `core::fencing`).
    pub cfg_confirmed_at: Option<Millis>,
    pub cfg_asked_at: Option<Millis>,
    /// Ours (sentinels): when the peer last confirmed our configuration by a `SENTINEL
    /// MASTER` reply that showed no failover of its own in progress.
    pub cfg_idle_confirmed_at: Option<Millis>,
    /// Connection attempts refused since the last successful connect: the first and the
    /// latest (ours, `core::detector::crashed`).
    pub refused: Option<(Millis, Millis)>,
    /// Ours (masters, `holistic-detection on`): since when SDOWN has been vetoed by a
    /// replica that still hears the master (`+sdown-vetoed` said once per episode).
    pub sdown_veto: Option<Millis>,
}

impl Instance {
    pub fn new(kind: Kind, name: String, addr: Addr, now: Millis) -> Instance {
        Instance {
            kind,
            name,
            addr,
            ip: None,
            resolved: None,
            runid: None,
            cc: None,
            pc: None,
            last_reconnect: None,
            act_ping: Some(now),
            last_ping_sent: None,
            last_avail: now,
            last_pong: now,
            last_pub: None,
            last_hello: now,
            sdown: false,
            sdown_since: None,
            script_kill_sent: false,
            auth_failed: false,
            info_refresh: None,
            info_sent: None,
            info_text: None,
            role_reported: if kind == Kind::Replica { Some(Role::Replica) } else { Some(Role::Master) },
            role_reported_time: now,
            replica_conf_change_time: now,
            master_link_down_ms: 0,
            slave_master_host: None,
            slave_master_port: 0,
            master_link_up: false,
            slave_priority: 100,
            repl_offset: 0,
            replica_announced: true,
            flags: ReplicaFlags::default(),
            reconf_sent_time: 0,
            promoted_live: false,
            converted: false,
            replid: None,
            replid2: None,
            master_repl_offset: 0,
            master_reboot: false,
            master_reboot_since: 0,
            master_down: false,
            last_master_down_reply: None,
            ask_sent: None,
            leader: None,
            leader_epoch: Epoch(0),
            cfg_confirmed_at: None,
            cfg_asked_at: None,
            cfg_idle_confirmed_at: None,
            refused: None,
            sdown_veto: None,
        }
    }

    /// §3.4: whether `host:port` (as reported by an instance: INFO `master_host`, a
    /// `slaveN:` line, an `is-master-down-by-addr` argument) is this instance: same port,
    /// and the host equals our host name or, once connected, the IP it resolved to,
    /// case-insensitively. A host name reported for an instance configured by IP is not
    /// resolved here, so it does not match.
    pub fn is_at(&self, host: &str, port: u16) -> bool {
        self.addr.port == port
            && (self.addr.host.eq_ignore_ascii_case(host)
                || self.ip.as_deref().is_some_and(|ip| ip.eq_ignore_ascii_case(host)))
    }

    /// §3.1: connected when the command link is up and, for masters and replicas, the
    /// Pub/Sub link too.
    pub fn connected(&self) -> bool {
        let cc = self.cc.as_ref().is_some_and(|l| l.up);
        let pc = self.kind == Kind::Sentinel || self.pc.as_ref().is_some_and(|l| l.up);
        cc && pc
    }

    /// Outstanding commands on the command link.
    pub fn pending(&self) -> u32 {
        self.cc.as_ref().map_or(0, |l| l.pending)
    }

    /// Forgets everything learnt over the links (used by the reset of §8.6 step 3).
    pub fn forget_links(&mut self) {
        self.cc = None;
        self.pc = None;
        self.info_sent = None;
        self.ask_sent = None;
    }
}

/// The failover states of §8.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverState {
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl FailoverState {
    /// The string shown in `failover-state`.
    pub fn wire(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// A monitored master with its options, epochs, failover state and sub-tables.
#[derive(Clone, Debug)]
pub struct Master {
    pub inst: Instance,
    pub quorum: u32,
    pub down_after: Millis,
    pub failover_timeout: Millis,
    pub parallel_syncs: u32,
    pub auth_user: Option<String>,
    pub auth_pass: Option<String>,
    pub reboot_down_after: Millis,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    pub rename_commands: Vec<(String, String)>,
    pub config_epoch: Epoch,
    /// Our vote for this master (§1.3): in memory only; the epoch is persisted.
    pub leader: Option<RunId>,
    pub leader_epoch: Epoch,
    /// Ours: when we last voted (`leader`/`leader_epoch`); at a restart, the start.
    pub voted_at: Millis,
    /// Ours: the newest epoch above our config epoch that a peer's hello announced, and
    /// when it was first heard (`core::fencing::proved`).
    pub newer_epoch: Option<(Epoch, Millis)>,
    pub odown: bool,
    pub odown_since: Option<Millis>,
    pub failover: FailoverState,
    pub failover_epoch: Epoch,
    pub failover_start: Option<Millis>,
    pub failover_state_change: Millis,
    pub force_failover: bool,
    /// Key of the replica chosen for promotion.
    pub promoted: Option<String>,
    pub replicas: BTreeMap<String, Instance>,
    pub sentinels: BTreeMap<RunId, Instance>,
    /// Ours (`core::fencing`): when our configuration of this master (config epoch or
    /// address) last changed; confirmations from peers older than this prove nothing.
    pub config_changed_at: Millis,
    /// Ours: the write lease in seconds, 0 = off.
    pub write_lease_s: u32,
    /// Ours: the normal write lease may be (re)applied to the master from this time on
    /// (before it, a newly promoted master may still be held by its leader).
    pub lease_release_at: Millis,
    /// Ours: when the normal lease was last sent to the master (`None`: not since the
    /// last switch).
    pub lease_sent_at: Option<Millis>,
    /// Ours: a role correction waits for peers to confirm our configuration.
    pub proof_wanted: bool,
    /// Ours: when we fenced the master because we were cut off with it
    /// (`core::fencing::fence_isolated`); `None`: not fenced by us.
    pub isolation_fence: Option<Millis>,
    /// Ours: `crash-detection fast`.
    pub crash_detection: bool,
    /// Ours: `holistic-detection on` (`core::detector::veto`).
    pub holistic_detection: bool,
    /// Ours: `max-lag-on-failover` in bytes, 0 = none (`core::selection`).
    pub max_lag_on_failover: u64,
    /// Ours: the current failover may promote a replica beyond the lag bound
    /// (`SENTINEL FAILOVER <master> FORCE`).
    pub ignore_lag: bool,
    /// `SENTINEL FAILOVER <name> COORDINATED` (Valkey 9): the promotion goes through
    /// `FAILOVER TO <replica> TIMEOUT <ms>` on the old master (`core::failover`).
    pub coordinated: bool,
    /// Ours: `failover-block-period` (ms, 0 = off), the last switch of this master's
    /// address (in memory only), and the ODOWN for which `-failover-blocked` was said.
    pub failover_block_ms: Millis,
    pub last_switch_at: Option<Millis>,
    pub blocked_reported: Option<Millis>,
}

impl Master {
    pub fn from_snapshot(s: &MasterSnapshot, now: Millis) -> Master {
        Master {
            inst: Instance::new(Kind::Master, s.name.clone(), s.addr.clone(), now),
            quorum: s.quorum,
            down_after: s.down_after_ms,
            failover_timeout: s.failover_timeout_ms,
            parallel_syncs: s.parallel_syncs,
            auth_user: s.auth_user.clone(),
            auth_pass: s.auth_pass.clone(),
            reboot_down_after: s.master_reboot_down_after_ms,
            notification_script: s.notification_script.clone(),
            client_reconfig_script: s.client_reconfig_script.clone(),
            rename_commands: s.rename_commands.clone(),
            config_epoch: s.config_epoch,
            leader: None,
            leader_epoch: s.leader_epoch,
            voted_at: now,
            newer_epoch: None,
            odown: false,
            odown_since: None,
            failover: FailoverState::None,
            failover_epoch: Epoch(0),
            failover_start: None,
            failover_state_change: now,
            force_failover: false,
            promoted: None,
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
            config_changed_at: now,
            write_lease_s: s.write_lease_s,
            // A sentinel starting up may find the hold of a promotion it knows nothing of:
            // leave it alone for one lease wait (docs/fencing.md says what that does not
            // cover: a restart in the middle of someone else's reconfiguration).
            lease_release_at: now + crate::core::lease::lease_wait(s.write_lease_s),
            lease_sent_at: None,
            proof_wanted: false,
            isolation_fence: None,
            crash_detection: s.crash_detection,
            holistic_detection: s.holistic_detection,
            max_lag_on_failover: s.max_lag_on_failover,
            ignore_lag: false,
            coordinated: false,
            failover_block_ms: s.failover_block_ms,
            last_switch_at: None,
            blocked_reported: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.inst.name
    }

    /// The address clients should use (§8.7): the promoted replica once our own
    /// failover has observed the promotion, else the configured address.
    pub fn current_addr(&self) -> &Addr {
        if matches!(self.failover, FailoverState::ReconfSlaves | FailoverState::UpdateConfig) {
            if let Some(r) = self.promoted.as_ref().and_then(|k| self.replicas.get(k)) {
                return &r.addr;
            }
        }
        &self.inst.addr
    }

    pub fn in_failover(&self) -> bool {
        self.failover != FailoverState::None
    }
}
