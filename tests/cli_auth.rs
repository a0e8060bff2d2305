//! `sentinel-cli status` names an authentication failure (issue 9 item 4): a sentinel
//! monitoring a master whose password it lacks says so in words, with the fix; once
//! `SENTINEL SET <master> auth-pass` gives the right password, the line goes away.
//! Against `redis-sentinel` (which has no auth event), `status` says the link is down and
//! that a refused password is one of the possible causes.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn status(port: u16, json: bool) -> String {
    let mut cmd = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_sentinel-cli")));
    cmd.args(["-p", &port.to_string()]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.arg("status").output().expect("run sentinel-cli");
    assert!(out.status.success(), "sentinel-cli status failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn master_with_password(kind: SentinelKind) -> (tempfile::TempDir, Proc, Proc) {
    let root = tempfile::Builder::new().prefix("sentinel-cli-auth-").tempdir().unwrap();
    let master = start_redis_with(root.path(), "redis-a", None, "requirepass s3cret\n");
    let m = MasterConf::new(master.port);
    let sentinel = start_sentinel(root.path(), "sentinel", kind, ConfFormat::RedisConf, &m);
    (root, master, sentinel)
}

#[test]
fn status_names_an_authentication_failure_and_its_fix() {
    let (_root, master, sentinel) = master_with_password(SentinelKind::Ours);
    let addr = format!("{HOST}:{}", master.port);
    let text = wait_until(T_START, "status to name the authentication failure", || {
        let text = status(sentinel.port, false);
        if text.contains("AUTHENTICATION FAILED") {
            Ok(text)
        } else {
            Err(text)
        }
    });
    step(&format!("sentinel-cli status:\n{text}"));
    assert!(text.contains(&format!("master mymaster  {addr}  AUTH-FAILED")), "{text}");
    let line = text.lines().find(|l| l.contains("AUTHENTICATION FAILED")).unwrap();
    assert!(line.contains(&format!("cannot log in to the master {addr}")), "{line}");
    assert!(line.contains("NOAUTH"), "the instance's answer is quoted: {line}");
    assert!(text.contains("SENTINEL SET mymaster auth-pass <password>"), "the fix is given:\n{text}");
    assert!(!text.contains("s3cret"));
    let json: serde_json::Value = serde_json::from_str(&status(sentinel.port, true)).unwrap();
    assert_eq!(json[0]["auth_failures"][0]["address"], addr.as_str(), "{json}");

    // The right password: the failure is over and status says nothing more about it.
    let reply = query(sentinel.port, &["SENTINEL", "SET", MASTER_NAME, "auth-pass", "s3cret"]).unwrap();
    assert_eq!(value_str(&reply).as_deref(), Some("OK"));
    let text = wait_until(T_START, "status to stop reporting the failure", || {
        let text = status(sentinel.port, false);
        if text.contains("AUTHENTICATION FAILED") {
            Err(text)
        } else {
            Ok(text)
        }
    });
    assert!(text.contains(&format!("master mymaster  {addr}  ok")), "{text}");
    let json: serde_json::Value = serde_json::from_str(&status(sentinel.port, true)).unwrap();
    assert_eq!(json[0]["auth_failures"], serde_json::json!([]), "{json}");
}

#[test]
fn status_against_redis_sentinel_says_the_link_is_down_and_why_it_may_be() {
    let (_root, _master, sentinel) = master_with_password(SentinelKind::Redis);
    let text = wait_until(T_START, "status to say the master link is down", || {
        let text = status(sentinel.port, false);
        if text.contains("master link down") {
            Ok(text)
        } else {
            Err(text)
        }
    });
    assert!(text.contains("refuses the sentinel's password"), "{text}");
    assert!(!text.contains("AUTHENTICATION FAILED"), "redis-sentinel gives no proof of it:\n{text}");
}
