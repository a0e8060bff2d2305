//! ACL users of the sentinel itself (issue 3, docs/behaviour.md §11.1, §17): three of our
//! sentinels configured with `user` lines in sentinel.conf, the `default` user disabled,
//! an admin user, a restricted client user with §17's recommended rule set, and a peer
//! user they authenticate to each other with (`sentinel sentinel-user/sentinel-pass`).
//! They must still discover each other and fail over; the restricted user may resolve the
//! master but not change the configuration.

mod common;

use common::*;
use std::fs;
use std::path::PathBuf;

const ADMIN: (&str, &str) = ("admin", "admin-pw");
const APP: (&str, &str) = ("app", "app-pw");

/// §17: "a restricted client user needs roughly ..." (plus the events channel).
const APP_RULES: &str = "-@all +auth +client|getname +client|id +client|setname +command +hello +ping +role \
    +sentinel|get-master-addr-by-name +sentinel|master +sentinel|myid +sentinel|replicas +sentinel|sentinels \
    +subscribe &+switch-master";

fn acl_conf(port: u16, dir: &std::path::Path, m: &MasterConf) -> String {
    let base = redis_sentinel_conf(port, dir, &dir.join("sentinel.log"), m);
    format!(
        "{base}user default off\nuser {} on >{} ~* &* +@all\nuser {} on >{} {APP_RULES}\n\
         user peer on >peer-pw allchannels +@all\nsentinel sentinel-user peer\nsentinel sentinel-pass peer-pw\n",
        ADMIN.0, ADMIN.1, APP.0, APP.1
    )
}

fn as_user(port: u16, (user, pass): (&str, &str), args: &[&str]) -> Result<redis::Value, String> {
    let client = redis::Client::open(format!("redis://{user}:{pass}@{HOST}:{port}/")).map_err(|e| e.to_string())?;
    let mut con = client.get_connection_with_timeout(IO_TIMEOUT).map_err(|e| e.to_string())?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con).map_err(|e| e.to_string())
}

fn master_port_seen(port: u16) -> Result<u16, String> {
    match as_user(port, APP, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])? {
        redis::Value::Array(v) if v.len() == 2 => {
            value_str(&v[1]).and_then(|p| p.parse().ok()).ok_or("bad port".into())
        }
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn ours_acl_users_restrict_clients_and_authenticate_peers() {
    let mut topo = Topology::start(SentinelKind::Ours, 2, 0);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sentinel"));
    for i in 0..3 {
        let name = format!("sentinel-{i}");
        let dir = topo.root.path().join(&name);
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let conf = dir.join("sentinel.conf");
        fs::write(&conf, acl_conf(port, &dir, &topo.master_conf)).unwrap();
        let mut p = Proc::launch(&name, port, &dir, bin.clone(), vec![conf.display().to_string()]);
        p.add_log(dir.join("sentinel.log"));
        topo.sentinels.push(p);
    }
    let ports = topo.sentinel_ports();

    step("the default user is off: unauthenticated clients get NOAUTH");
    let err = query(ports[0], &["PING"]).unwrap_err();
    assert!(err.contains("NOAUTH"), "{err}");

    step("peers authenticate with sentinel-user/sentinel-pass and discover each other");
    for &port in &ports {
        wait_until(T_DISCOVERY, &format!(":{port} sees 2 replicas and 2 peers"), || {
            let peers = as_user(port, ADMIN, &["SENTINEL", "SENTINELS", MASTER_NAME])?;
            let reps = as_user(port, ADMIN, &["SENTINEL", "REPLICAS", MASTER_NAME])?;
            match (&peers, &reps) {
                (redis::Value::Array(p), redis::Value::Array(r)) if p.len() == 2 && r.len() == 2 => Ok(()),
                _ => Err(format!("peers {peers:?} replicas {reps:?}")),
            }
        });
    }

    step("the restricted client user: may resolve the master, may not change anything");
    assert_eq!(master_port_seen(ports[0]).unwrap(), topo.master.port);
    let denied = as_user(ports[0], APP, &["SENTINEL", "SET", MASTER_NAME, "quorum", "1"]).unwrap_err();
    assert!(denied.contains("this user has no permissions to run the 'sentinel|set' command"), "{denied}");
    let denied = as_user(ports[0], APP, &["INFO"]).unwrap_err();
    assert!(denied.contains("no permissions to run the 'info' command"), "{denied}");
    let whoami = as_user(ports[0], APP, &["ACL", "WHOAMI"]).unwrap_err();
    assert!(whoami.contains("'acl|whoami'"), "{whoami}");
    let wrong = as_user(ports[0], (APP.0, "nope"), &["PING"]).unwrap_err();
    assert!(wrong.contains("WRONGPASS") || wrong.contains("AuthenticationFailed"), "{wrong}");
    let list = as_user(ports[0], ADMIN, &["ACL", "LIST"]).unwrap();
    let text = format!("{list:?}");
    assert!(!text.contains("app-pw") && !text.contains("peer-pw"), "passwords must only appear hashed: {text}");

    step("kill the master: the three fail over, authenticated to each other as `peer`");
    let old = topo.master.port;
    kill9(&mut topo.master);
    for &port in &ports {
        wait_until(T_FAILOVER, &format!(":{port} reports a new master"), || match master_port_seen(port) {
            Ok(p) if p != old => Ok(()),
            other => Err(format!("{other:?}")),
        });
    }
    let seen: Vec<u16> = ports.iter().map(|&p| master_port_seen(p).unwrap()).collect();
    assert!(seen.iter().all(|&p| p == seen[0]), "sentinels disagree: {seen:?}");
    for log in topo.sentinels.iter().map(|s| s.dir.join("sentinel.log")) {
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert!(!text.contains("peer-pw") && !text.contains("app-pw"), "password in {}", log.display());
    }
}
