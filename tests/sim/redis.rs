//! A Redis instance modelled in memory: role, replication offset, run id, priority, and
//! the INFO text a real server would print for them. Enough for a sentinel's decisions.

use sentinel::core::Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica(Addr),
}

#[derive(Clone, Debug)]
pub struct RedisNode {
    pub addr: Addr,
    pub alive: bool,
    pub run_id: String,
    pub role: Role,
    pub offset: u64,
    pub priority: u32,
    /// Replicas: the link to the master is established (after a sync delay).
    pub link_up: bool,
    /// When the replica's link went down (for master_link_down_since_seconds).
    pub link_down_since: Option<u64>,
}

impl RedisNode {
    pub fn new(addr: Addr, role: Role, priority: u32, run_id: String) -> RedisNode {
        RedisNode { addr, alive: true, run_id, role, offset: 0, priority, link_up: false, link_down_since: Some(0) }
    }

    /// The INFO reply (the subset of fields a sentinel reads, in Redis's order).
    pub fn info(&self, replicas: &[&RedisNode], now: u64) -> String {
        let mut s = format!("# Server\r\nredis_version:7.0.15\r\nrun_id:{}\r\n\r\n# Replication\r\n", self.run_id);
        match &self.role {
            Role::Master => {
                s.push_str(&format!("role:master\r\nconnected_slaves:{}\r\n", replicas.len()));
                for (i, r) in replicas.iter().enumerate() {
                    s.push_str(&format!(
                        "slave{}:ip={},port={},state=online,offset={},lag=0\r\n",
                        i, r.addr.host, r.addr.port, r.offset
                    ));
                }
            }
            Role::Replica(m) => {
                s.push_str(&format!("role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\n", m.host, m.port));
                let status = if self.link_up { "up" } else { "down" };
                s.push_str(&format!("master_link_status:{status}\r\n"));
                if let Some(since) = self.link_down_since.filter(|_| !self.link_up) {
                    s.push_str(&format!("master_link_down_since_seconds:{}\r\n", now.saturating_sub(since) / 1000));
                }
                s.push_str(&format!("slave_repl_offset:{}\r\nslave_priority:{}\r\n", self.offset, self.priority));
            }
        }
        s.push_str(&format!("master_repl_offset:{}\r\n", self.offset));
        s
    }
}
