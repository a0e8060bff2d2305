//! Parsing of a Redis `INFO` reply into the fields a sentinel acts on (§4.2). Pure: text
//! in, a struct out; what the fields *drive* is decided in the parent module.

use crate::core::Addr;

/// Role reported by an instance in `role:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// The §4.2 fields of one INFO reply. Absent lines leave `None`/defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Info {
    pub run_id: Option<String>,
    pub role: Option<Role>,
    /// `slaveN:` lines of a master, in order.
    pub replicas: Vec<Addr>,
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    /// `master_link_status:up`.
    pub master_link_up: bool,
    /// `master_link_down_since_seconds` in ms (−1 s → −1000); 0 when the line is absent.
    pub master_link_down_ms: i64,
    pub slave_priority: Option<u32>,
    pub slave_repl_offset: Option<u64>,
    pub replica_announced: Option<bool>,
    /// `master_replid` / `master_replid2`: the replication history this instance is on,
    /// and the one it was on before its last promotion (ours: lineage for fencing).
    pub replid: Option<String>,
    pub replid2: Option<String>,
    /// `master_repl_offset`.
    pub master_repl_offset: Option<u64>,
    /// `master_last_io_seconds_ago` of a replica (−1 while the link is down).
    pub master_last_io_s: Option<i64>,
}

/// Parses an INFO reply per §4.2. Lines before `role:` are never read as replica fields.
pub fn parse(text: &str) -> Info {
    let mut info = Info::default();
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("run_id:") {
            if line.len() >= 47 {
                info.run_id = Some(rest.chars().take(40).collect());
            }
        } else if let Some(addr) = parse_replica_line(line) {
            info.replicas.push(addr);
        } else if line.starts_with("role:master") {
            info.role = Some(Role::Master);
        } else if line.starts_with("role:slave") {
            info.role = Some(Role::Replica);
        } else if let Some(id) = line.strip_prefix("master_replid:") {
            info.replid = Some(id.to_string());
        } else if let Some(id) = line.strip_prefix("master_replid2:") {
            info.replid2 = Some(id.to_string());
        } else if let Some(off) = line.strip_prefix("master_repl_offset:") {
            info.master_repl_offset = off.parse().ok();
        } else if info.role == Some(Role::Replica) {
            parse_replica_field(&mut info, line);
        }
    }
    info
}

fn parse_replica_field(info: &mut Info, line: &str) {
    let Some((key, value)) = line.split_once(':') else { return };
    match key {
        "master_host" => info.master_host = Some(value.to_string()),
        "master_port" => info.master_port = value.parse().ok(),
        "master_link_status" => info.master_link_up = value.eq_ignore_ascii_case("up"),
        "master_link_down_since_seconds" => {
            info.master_link_down_ms = value.parse::<i64>().unwrap_or(0).saturating_mul(1000)
        }
        "master_last_io_seconds_ago" => info.master_last_io_s = value.parse().ok(),
        "slave_priority" => info.slave_priority = value.parse().ok(),
        "slave_repl_offset" => info.slave_repl_offset = value.parse().ok(),
        "replica_announced" => info.replica_announced = value.parse::<i64>().ok().map(|v| v != 0),
        _ => {}
    }
}

/// `slave<N>:ip=<ip>,port=<port>,...` or the legacy `slave<N>:<ip>,<port>,<state>`.
fn parse_replica_line(line: &str) -> Option<Addr> {
    let rest = line.strip_prefix("slave")?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (_, fields) = rest.split_once(':')?;
    if fields.contains("ip=") {
        let ip = field_value(fields, "ip=")?;
        let port = field_value(fields, "port=")?.parse().ok()?;
        Some(Addr::new(ip, port))
    } else {
        let mut parts = fields.split(',');
        let ip = parts.next()?;
        let port = parts.next()?.parse().ok()?;
        Some(Addr::new(ip, port))
    }
}

fn field_value<'a>(fields: &'a str, key: &str) -> Option<&'a str> {
    let start = fields.find(key)? + key.len();
    let rest = &fields[start..];
    Some(rest.split(',').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "# Server\r\nredis_version:7.0.15\r\nrun_id:0123456789abcdef0123456789abcdef01234567\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=0\r\nslave1:ip=::1,port=6381,state=online,offset=100,lag=1\r\nslave_read_repl_offset:1\r\nmaster_repl_offset:100\r\n";

    const REPLICA: &str = "run_id:ffffffffffffffffffffffffffffffffffffffff\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\nslave_repl_offset:4242\r\nslave_priority:50\r\nreplica_announced:0\r\n";

    #[test]
    fn master_info_lists_replicas_and_run_id() {
        let i = parse(MASTER);
        assert_eq!(i.role, Some(Role::Master));
        assert_eq!(i.run_id.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
        assert_eq!(i.replicas, vec![Addr::new("127.0.0.1", 6380), Addr::new("::1", 6381)]);
    }

    #[test]
    fn replica_info_fields() {
        let i = parse(REPLICA);
        assert_eq!(i.role, Some(Role::Replica));
        assert_eq!(i.master_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(i.master_port, Some(6379));
        assert!(i.master_link_up);
        assert_eq!(i.slave_repl_offset, Some(4242));
        assert_eq!(i.slave_priority, Some(50));
        assert_eq!(i.replica_announced, Some(false));
        assert_eq!(i.master_link_down_ms, 0);
    }

    #[test]
    fn link_down_minus_one_and_legacy_slave_line() {
        let i = parse("role:slave\r\nmaster_link_status:down\r\nmaster_link_down_since_seconds:-1\r\n");
        assert!(!i.master_link_up);
        assert_eq!(i.master_link_down_ms, -1000);
        let m = parse("role:master\r\nslave0:10.0.0.2,6379,online\r\n");
        assert_eq!(m.replicas, vec![Addr::new("10.0.0.2", 6379)]);
    }

    #[test]
    fn short_run_id_and_fields_before_role_are_ignored() {
        let i = parse("run_id:abc\r\nmaster_host:x\r\nrole:slave\r\n");
        assert_eq!(i.run_id, None);
        assert_eq!(i.master_host, None);
    }
}
