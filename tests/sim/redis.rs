//! A Redis instance modelled in memory: role, replication id lineage and offset, run id,
//! priority, `min-replicas-to-write` (set by `CONFIG SET`), and the INFO text a real
//! server would print for them. Enough for a sentinel's decisions and a client's writes.

use sentinel::core::Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica(Addr),
}

/// The all-zero replication id Redis prints for "none" (`master_replid2` after a
/// full sync or a restart).
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

#[derive(Clone, Debug)]
pub struct RedisNode {
    pub addr: Addr,
    pub alive: bool,
    pub run_id: String,
    pub role: Role,
    /// `master_repl_offset`: bytes of replication stream applied (masters: produced).
    pub offset: u64,
    pub priority: u32,
    /// Replicas: the link to the master is established (after a sync delay).
    pub link_up: bool,
    /// When the replica's link went down (for master_link_down_since_seconds).
    pub link_down_since: Option<u64>,
    /// `master_replid` / `master_replid2` (Redis's lineage: a promoted replica moves its
    /// id to replid2 and takes a new one; a replica takes its master's).
    pub replid: String,
    pub replid2: String,
    /// `min-replicas-to-write` / `min-replicas-max-lag` (seconds).
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// The good-replica count, refreshed once a second (Redis's replicationCron).
    pub good_replicas: u64,
    /// Replicas: when the last `REPLCONF ACK` reached the master (once a second).
    pub last_ack: u64,
    /// When this node last became a master (start, `REPLICAOF NO ONE`).
    pub master_since: u64,
    /// `min-replicas-to-write` / `-max-lag` as of the last `CONFIG REWRITE` (the sentinel's
    /// REPLICAOF transaction has one): what a restart loads from the config file.
    pub conf_file: (u64, u64),
    /// Started with a config file (`redis-server /path/redis.conf`). Without one, `CONFIG
    /// REWRITE` fails and a restart comes back with the defaults, not what `CONFIG SET`
    /// gave it (scenario `reboot-fenced`; docs/fencing.md, `-lease-not-persisted`).
    pub has_conf_file: bool,
    /// How long a replica's link takes to come up once its master is reachable (the
    /// sync; 200 ms unless a scenario gives it a large data set).
    pub sync_ms: u64,
}

impl RedisNode {
    pub fn new(addr: Addr, role: Role, priority: u32, run_id: String, replid: String) -> RedisNode {
        RedisNode {
            addr,
            alive: true,
            run_id,
            role,
            offset: 0,
            priority,
            link_up: false,
            link_down_since: Some(0),
            replid,
            replid2: NO_REPLID.to_string(),
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            good_replicas: 0,
            last_ack: 0,
            master_since: 0,
            conf_file: (0, 10),
            has_conf_file: true,
            sync_ms: 200,
        }
    }

    /// A write may be accepted now: a master with enough good replicas (otherwise Redis
    /// answers `-READONLY` or `-NOREPLICAS` at once, blocking nothing).
    pub fn write_refusal(&self, _now: u64) -> Option<&'static str> {
        if self.role != Role::Master {
            return Some("READONLY");
        }
        if self.min_replicas_to_write > 0 && self.good_replicas < self.min_replicas_to_write {
            return Some("NOREPLICAS");
        }
        None
    }

    /// `CONFIG SET k v [k v ...]` for the parameters the model knows; unknown ones are an
    /// error as in Redis (and nothing is set).
    pub fn config_set(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        let mut next = (self.min_replicas_to_write, self.min_replicas_max_lag);
        for (k, v) in pairs {
            let n: u64 =
                v.parse().map_err(|_| format!("ERR CONFIG SET failed (possibly related to argument '{k}')"))?;
            match k.to_ascii_lowercase().as_str() {
                "min-replicas-to-write" | "min-slaves-to-write" => next.0 = n,
                "min-replicas-max-lag" | "min-slaves-max-lag" => next.1 = n,
                _ => return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{k}'")),
            }
        }
        (self.min_replicas_to_write, self.min_replicas_max_lag) = next;
        Ok(())
    }

    /// `CONFIG REWRITE`: the running values go to the config file (Redis's error when
    /// it has none).
    pub fn rewrite(&mut self) -> Result<(), String> {
        if !self.has_conf_file {
            return Err("ERR The server is running without a config file".into());
        }
        self.conf_file = (self.min_replicas_to_write, self.min_replicas_max_lag);
        Ok(())
    }

    /// A restart: the config file's values, not the ones set at runtime since (the
    /// defaults without a config file).
    pub fn load_conf(&mut self) {
        (self.min_replicas_to_write, self.min_replicas_max_lag) =
            if self.has_conf_file { self.conf_file } else { (0, 10) };
    }

    /// The INFO reply (the subset of fields a sentinel reads, in Redis's order).
    pub fn info(&self, replicas: &[&RedisNode], now: u64) -> String {
        let mut s = format!("# Server\r\nredis_version:7.0.15\r\nrun_id:{}\r\n\r\n# Replication\r\n", self.run_id);
        match &self.role {
            Role::Master => s.push_str("role:master\r\n"),
            Role::Replica(m) => {
                s.push_str(&format!("role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\n", m.host, m.port));
                let status = if self.link_up { "up" } else { "down" };
                s.push_str(&format!("master_link_status:{status}\r\n"));
                s.push_str(&format!("slave_repl_offset:{}\r\n", self.offset));
                if let Some(since) = self.link_down_since.filter(|_| !self.link_up) {
                    s.push_str(&format!("master_link_down_since_seconds:{}\r\n", now.saturating_sub(since) / 1000));
                }
                s.push_str(&format!(
                    "slave_priority:{}\r\nslave_read_only:1\r\nreplica_announced:1\r\n",
                    self.priority
                ));
            }
        }
        s.push_str(&format!("connected_slaves:{}\r\n", replicas.len()));
        if self.min_replicas_to_write > 0 {
            s.push_str(&format!("min_slaves_good_slaves:{}\r\n", self.good_replicas));
        }
        for (i, r) in replicas.iter().enumerate() {
            let lag = now.saturating_sub(r.last_ack) / 1000;
            s.push_str(&format!(
                "slave{}:ip={},port={},state=online,offset={},lag={}\r\n",
                i, r.addr.host, r.addr.port, r.offset, lag
            ));
        }
        s.push_str("master_failover_state:no-failover\r\n");
        s.push_str(&format!("master_replid:{}\r\nmaster_replid2:{}\r\n", self.replid, self.replid2));
        s.push_str(&format!("master_repl_offset:{}\r\n", self.offset));
        s
    }

    /// The `link_down_ms` a sentinel reads from this INFO (0 when the link is up).
    pub fn link_down_ms(&self, now: u64) -> i64 {
        match (&self.role, self.link_down_since) {
            (Role::Replica(_), Some(since)) if !self.link_up => (now.saturating_sub(since) / 1000 * 1000) as i64,
            _ => 0,
        }
    }
}
