//! Scripts (docs/behaviour.md §14) against real processes: a `notification-script` and a
//! `client-reconfig-script` that record their arguments (and working directory) to files,
//! run through a real failover; and the queue's retry / timeout / PENDING-SCRIPTS
//! behaviour with scripts that fail or hang.
//!
//! `ours_*` runs against our daemon, `reference_*` the same scenario against Debian's
//! `redis-sentinel` (validating the test itself).

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes an executable `#!/bin/sh` script.
fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A script that appends its arguments, `|`-separated, to `<cwd>/<log>` (a relative
/// path: it also proves the script runs in the sentinel's `dir`).
fn recorder(path: &Path, log: &str) {
    // One write per run, so concurrent runs never interleave within a line.
    write_script(
        path,
        &format!("line=''\nfor a in \"$@\"; do line=\"$line$a|\"; done\nprintf '%s\\n' \"$line\" >> {log}"),
    );
}

/// Stops a sentinel, appends `lines` to its sentinel.conf and starts it again.
fn reconfigure(s: &mut Proc, lines: &str) {
    s.kill9();
    let conf = s.dir.join("sentinel.conf");
    let mut text = fs::read_to_string(&conf).unwrap();
    text.push_str(lines);
    fs::write(&conf, text).unwrap();
    s.start();
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

fn failover_runs_scripts(kind: SentinelKind) {
    let mut topo = Topology::start(kind, 2, 3);
    let scripts = topo.root.path().join("bin");
    fs::create_dir_all(&scripts).unwrap();
    let (notify, reconf) = (scripts.join("notify.sh"), scripts.join("reconf.sh"));
    recorder(&notify, "notify.log");
    recorder(&reconf, "reconfig.log");
    let extra = format!(
        "sentinel notification-script {MASTER_NAME} {}\nsentinel client-reconfig-script {MASTER_NAME} {}\n",
        notify.display(),
        reconf.display()
    );
    for s in &mut topo.sentinels {
        reconfigure(s, &extra);
    }
    topo.wait_discovery(2, 2);
    step("3 sentinels with scripts configured, discovery complete");

    let logs: Vec<EventLog> = topo.sentinels.iter().map(|s| EventLog::start(s.port)).collect();
    let old = topo.master.port;
    kill9(&mut topo.master);
    let mut new = 0;
    for log in &logs {
        let ev = log.wait_event(T_FAILOVER, "+switch-master", |p| p.starts_with(MASTER_NAME));
        new = ev.payload.rsplit(' ').next().unwrap().parse().unwrap();
    }
    step(&format!("+switch-master {old} → {new} seen by all"));

    let from_to = format!("start|{HOST}|{old}|{HOST}|{new}|");
    let dirs: Vec<PathBuf> = topo.sentinels.iter().map(|s| s.dir.clone()).collect();
    wait_until(T_FAILOVER, "one leader and two observer client-reconfig runs", || {
        let all: Vec<String> = dirs.iter().flat_map(|d| lines(&d.join("reconfig.log"))).collect();
        let leaders = all.iter().filter(|l| **l == format!("{MASTER_NAME}|leader|{from_to}")).count();
        let observers = all.iter().filter(|l| **l == format!("{MASTER_NAME}|observer|{from_to}")).count();
        if leaders == 1 && observers == 2 && all.len() == 3 {
            Ok(())
        } else {
            Err(format!("{all:?}"))
        }
    });
    step("client-reconfig-script: 1 leader + 2 observers, exact arguments, run in `dir`");

    // Every sentinel records the switch; +sdown at least the leader (an observer can
    // adopt the new config by hello before its own down-after has run out).
    let want = format!("+switch-master|{MASTER_NAME} {HOST} {old} {HOST} {new}|");
    let sdown = format!("+sdown|master {MASTER_NAME} {HOST} {old}|");
    for d in &dirs {
        wait_until(T_FAILOVER, &format!("{} records +switch-master", d.display()), || {
            let got = lines(&d.join("notify.log"));
            if got.contains(&want) {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        });
        let got = lines(&d.join("notify.log"));
        assert!(got.iter().all(|l| l.split('|').count() == 3), "always 2 arguments: {got:?}");
    }
    let sdowns = dirs.iter().filter(|d| lines(&d.join("notify.log")).contains(&sdown)).count();
    assert!(sdowns >= 1, "no sentinel's notification script recorded {sdown}");
    step("notification-script: warning events with (name, message)");
}

#[test]
fn ours_failover_runs_scripts() {
    failover_runs_scripts(SentinelKind::Ours);
}

#[test]
fn reference_failover_runs_scripts() {
    failover_runs_scripts(SentinelKind::Redis);
}

fn pending(port: u16) -> Vec<std::collections::HashMap<String, String>> {
    match query(port, &["SENTINEL", "PENDING-SCRIPTS"]).unwrap() {
        redis::Value::Array(items) => items.iter().map(|v| value_map(v).unwrap()).collect(),
        other => panic!("PENDING-SCRIPTS: {other:?}"),
    }
}

/// Retries with back-off until `-script-error`, and `-script-timeout` for a hanging run,
/// observed through PENDING-SCRIPTS, INFO and the events. Ours only: Redis's
/// `SENTINEL DEBUG` accepts these two parameters too, but its reaper and timer make the
/// ten-run sequence much slower.
#[test]
fn ours_script_retries_and_timeout() {
    let mut topo = Topology::start(SentinelKind::Ours, 0, 1);
    let bin = topo.root.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let notify = bin.join("notify.sh");
    // quorum 5 → fails (exit 1, retried); quorum 7 → hangs (killed at the limit).
    write_script(
        &notify,
        "echo \"$2\" >> runs.log\ncase \"$2\" in *'quorum 5'*) exit 1;; *'quorum 7'*) exec sleep 10;; esac",
    );
    let s = &mut topo.sentinels[0];
    reconfigure(s, &format!("sentinel notification-script {MASTER_NAME} {}\n", notify.display()));
    let port = s.port;
    let runs = s.dir.join("runs.log");
    let events = EventLog::start(port);
    query(port, &["SENTINEL", "DEBUG", "script-retry-delay", "20", "script-max-runtime", "1500"]).unwrap();

    query(port, &["SENTINEL", "SET", MASTER_NAME, "quorum", "5"]).unwrap();
    let err = events.wait_event(T_FAILOVER, "-script-error", |_| true);
    assert_eq!(err.payload, format!("{} 0 1", notify.display()), "-script-error <path> <signal> <exit>");
    let failed = lines(&runs).iter().filter(|l| l.contains("quorum 5")).count();
    assert_eq!(failed, 10, "exit 1 is retried up to 10 runs in all");
    step("exit 1: 10 runs, then -script-error");

    query(port, &["SENTINEL", "SET", MASTER_NAME, "quorum", "7"]).unwrap();
    let running = wait_until(T_START, "the hanging script shows as running", || {
        let p = pending(port);
        match p.first() {
            Some(j) if j.get("flags").map(String::as_str) == Some("running") && j["pid"] != "0" => Ok(j.clone()),
            _ => Err(format!("{p:?}")),
        }
    });
    assert!(lines(&runs).last().is_some_and(|l| l.contains("quorum 7")), "{running:?}");
    let info = info(port, "sentinel").unwrap();
    assert_eq!(info_field(&info, "sentinel_running_scripts").as_deref(), Some("1"), "{info}");
    assert_eq!(info_field(&info, "sentinel_scripts_queue_length").as_deref(), Some("1"), "{info}");
    let timeout = events.wait_event(T_FAILOVER, "-script-timeout", |_| true);
    assert!(timeout.payload.starts_with(&notify.display().to_string()), "{}", timeout.payload);
    wait_until(T_START, "the killed script is retried (retry-num 2)", || {
        let p = pending(port);
        match p.first() {
            Some(j) if j.get("retry-num").map(String::as_str) == Some("2") => Ok(()),
            _ => Err(format!("{p:?}")),
        }
    });
    step("hanging run: -script-timeout, SIGKILL, retried");
}
