//! Durability when the disk fails (issue 10, item 4), with real processes: the state
//! directory of one of our sentinels is a tiny tmpfs that the test fills, then a peer's
//! vote request with a new epoch arrives. The vote must never be granted — a vote the
//! sentinel cannot write down is one it could cast again after a restart — and the
//! process must stop, naming the file and the OS error. After the disk has room again,
//! a restart starts from the last state that did reach the disk and votes normally.
//!
//! Needs root (to mount the tmpfs); otherwise a `SKIPPED:` line, or a failure under
//! `SENTINEL_REQUIRE_ALL`/`CI`.

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

extern "C" {
    fn geteuid() -> u32;
}

/// A tmpfs mounted on a directory; unmounted on drop (also when the test panics).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Tmpfs, String> {
        fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { path: path.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: also succeeds while a killed process still has a file open there.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes zeros into `dir/filler` until the filesystem refuses; returns that error.
fn fill(dir: &Path) -> std::io::Error {
    let mut f = fs::File::create(dir.join("filler")).expect("create filler");
    let chunk = vec![0u8; 4096];
    loop {
        if let Err(e) = f.write_all(&chunk).and_then(|()| f.sync_all()) {
            // Fill the last partial page too.
            while f.write_all(&[0]).and_then(|()| f.sync_all()).is_ok() {}
            return e;
        }
    }
}

fn current_epoch_on_disk(state: &Path) -> u64 {
    let text = read_to_string(state);
    text.lines()
        .find_map(|l| l.strip_prefix("current_epoch = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no current_epoch in {}:\n{text}", state.display()))
}

#[test]
fn ours_no_vote_when_the_state_cannot_be_written() {
    // SAFETY: trivial libc call.
    if unsafe { geteuid() } != 0 {
        skip("", "needs root to mount a tmpfs for the state directory");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let state_dir = root.path().join("state");
    let tmpfs = match Tmpfs::mount(&state_dir, "256k") {
        Ok(t) => t,
        Err(e) => {
            skip("", &format!("cannot mount a tmpfs here: {e}"));
            return;
        }
    };
    let master = start_redis(root.path(), "master", None);
    let mut conf = MasterConf::new(master.port);
    conf.quorum = 1;
    let data_dir = format!("data-dir = \"{}\"", tmpfs.path.display());
    let mut s = start_sentinel_with(root.path(), "s1", SentinelKind::Ours, ConfFormat::Toml, &conf, |c| {
        c.replace("data-dir = \".\"", &data_dir)
    });
    let state = tmpfs.path.join("sentinel-state.toml");
    wait_for(T_START, "the first state file to be written", || (state.is_file(), format!("{}", state.display())));
    wait_until(T_DISCOVERY, "the sentinel to see the master up", || {
        let m = sentinel_master(s.port, MASTER_NAME)?;
        if m["flags"] == "master" && m["role-reported"] == "master" {
            Ok(())
        } else {
            Err(format!("flags={} role-reported={}", m["flags"], m["role-reported"]))
        }
    });
    let epoch_before = current_epoch_on_disk(&state);
    step(&format!("sentinel :{} up, state on the tmpfs, current_epoch {epoch_before}", s.port));

    let full = fill(&tmpfs.path);
    step(&format!("state directory filled: {full}"));
    assert!(s.is_running(), "the sentinel exited before the vote request\n{}", s.log_tails(40));

    // A peer asks for a vote in a new epoch: granting it needs the epoch and the vote on disk.
    let peer_id = "0123456789abcdef0123456789abcdef01234567";
    let vote_epoch = epoch_before + 7;
    let mport = master.port.to_string();
    let ask = ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", HOST, &mport, &vote_epoch.to_string(), peer_id];
    match query(s.port, &ask) {
        Err(e) => step(&format!("no reply to the vote request: {e}")),
        Ok(redis::Value::Array(items)) => {
            let leader = items.get(1).and_then(value_str);
            assert_eq!(
                leader.as_deref(),
                Some("*"),
                "a vote was granted although it could not be persisted: {items:?}"
            );
        }
        Ok(other) => panic!("unexpected reply to the vote request: {other:?}"),
    }
    let status = s.wait_exit(Duration::from_secs(10));
    let status =
        status.unwrap_or_else(|| panic!("the sentinel still runs after a failed state write\n{}", s.log_tails(40)));
    assert_eq!(status.code(), Some(3), "exit status after a failed state write\n{}", s.log_tails(40));
    let log = read_to_string(&root.path().join("s1").join("s1.log"));
    let line = log.lines().find(|l| l.contains("cannot persist the sentinel state")).unwrap_or_else(|| {
        panic!("no error line about the state file in the log\n{}", s.log_tails(40));
    });
    assert!(line.contains(&state.display().to_string()), "the error does not name the file: {line}");
    assert!(line.contains("No space left on device"), "the error does not give the OS error: {line}");
    assert_eq!(current_epoch_on_disk(&state), epoch_before, "the state file changed although the write failed");
    step(&format!("exited with {status}: {line}"));

    // Room again: the restarted sentinel starts from what is on disk and can vote.
    fs::remove_file(tmpfs.path.join("filler")).unwrap();
    s.start();
    wait_until(T_START, "the restarted sentinel to grant the vote", || match query(s.port, &ask)? {
        redis::Value::Array(items) => match items.get(1).and_then(value_str) {
            Some(l) if l == peer_id => Ok(()),
            l => Err(format!("leader {l:?} in {items:?}")),
        },
        other => Err(format!("{other:?}")),
    });
    wait_for(T_START, "the vote's epoch to be on disk", || {
        let e = current_epoch_on_disk(&state);
        (e == vote_epoch, format!("current_epoch {e} on disk"))
    });
    step("after a restart with room on disk the vote is granted and persisted");
}
