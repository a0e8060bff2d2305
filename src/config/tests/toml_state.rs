//! sentinel.toml and its state file: schema errors with file/key/line, the first start
//! (myid generated and persisted), the merge rules, secrets, corrupt state files, and the
//! repository's example sentinel.toml.

use super::{entries, write_conf};
use crate::config::state::{self, STATE_FILE};
use crate::config::{load, toml_conf};
use crate::core::{Addr, Epoch, MasterSnapshot};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const BASIC: &str = r#"
port = 26380
loglevel = "verbose"

[masters.alpha]
host = "127.0.0.1"
port = 6379
quorum = 2
auth-pass = "from-config"

[masters.beta]
host = "127.0.0.2"
port = 6380
quorum = 1
down-after-milliseconds = 5000
"#;

fn err_of(text: &str) -> (String, String) {
    let (_d, p) = write_conf("sentinel.toml", text);
    (load(&p).unwrap_err().to_string(), p.display().to_string())
}

#[test]
fn unknown_keys_are_errors_naming_file_key_and_line() {
    let (e, p) = err_of("port = 1\nbogus-option = 3\n");
    assert!(e.starts_with(&format!("{p}:2: unknown field `bogus-option`")), "{e}");
    let (e, p) = err_of("[masters.m]\nhost = \"127.0.0.1\"\nport = 1\nquorum = 1\nqorum = 2\n");
    assert!(e.starts_with(&format!("{p}:5: unknown field `qorum`")), "{e}");
    let (e, p) = err_of("port = \"x\"\n");
    assert!(e.starts_with(&format!("{p}:1: invalid type")), "{e}");
}

#[test]
fn semantic_errors_name_the_master_and_its_line() {
    let (e, p) = err_of("\n[masters.m]\nhost = \"127.0.0.1\"\nport = 1\nquorum = 0\n");
    assert_eq!(e, format!("{p}:2: [masters.m]: quorum must be 1 or greater"));
    let (e, _) = err_of("[masters.m]\nhost = \"db.example\"\nport = 1\nquorum = 1\n");
    assert!(e.contains("is not an IP address"), "{e}");
    let (e, _) = err_of("[masters.m]\nhost = \"127.0.0.1\"\nport = 1\nquorum = 1\nfailover-timeout = 0\n");
    assert!(e.contains("failover-timeout must be greater than 0"), "{e}");
    let (e, _) = err_of("[masters.m]\nhost = \"127.0.0.1\"\nport = 1\nquorum = 1\nnotification-script = \"nope.sh\"\n");
    assert!(e.contains("notification-script 'nope.sh' does not exist or is not executable"), "{e}");
    let (e, p) = err_of("loglevel = \"loud\"\n");
    assert!(e.starts_with(&format!("{p}:1: loglevel must be one of")), "{e}");
}

#[test]
fn first_start_generates_and_persists_myid_in_the_state_file_only() {
    let (d, p) = write_conf("sentinel.toml", BASIC);
    let l = load(&p).unwrap();
    assert_eq!(l.snapshot.myid.len(), 40);
    assert_eq!(fs::read_to_string(&p).unwrap(), BASIC, "the operator's file is never written");
    let sp = d.path().join(STATE_FILE);
    assert_eq!(l.store.path(), sp);
    assert_eq!(fs::metadata(&sp).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(entries(d.path()), ["sentinel-state.toml", "sentinel.toml"]);
    assert_eq!(l.settings.port, 26380);
    assert_eq!(l.settings.loglevel, "verbose");
    assert_eq!(l.settings.dir, None);
    let names: Vec<_> = l.snapshot.masters.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(l.snapshot.masters[1].down_after_ms, 5000);
    let again = load(&p).unwrap();
    assert_eq!(again.snapshot, l.snapshot);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[test]
fn data_dir_is_relative_to_the_toml_file() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("state")).unwrap();
    let p = d.path().join("s.toml");
    fs::write(&p, "data-dir = \"state\"\nlogfile = \"log/s.log\"\n").unwrap();
    let l = load(&p).unwrap();
    assert_eq!(l.store.path(), d.path().join("state").join(STATE_FILE));
    assert_eq!(l.settings.logfile.as_deref(), Some(d.path().join("log/s.log").as_path()));
    fs::write(&p, "data-dir = \"missing\"\n").unwrap();
    assert!(load(&p).unwrap_err().to_string().contains("is not a directory"));
}

#[test]
fn state_overrides_config_adds_new_masters_and_keeps_state_only_ones() {
    let (d, p) = write_conf("sentinel.toml", BASIC);
    let mut l = load(&p).unwrap();
    // A failover moved alpha, SENTINEL SET changed beta's quorum, SENTINEL MONITOR added gamma.
    l.snapshot.masters[0].addr = Addr::new("127.0.0.9", 6390);
    l.snapshot.masters[0].config_epoch = Epoch(3);
    l.snapshot.masters[1].quorum = 3;
    l.snapshot.masters.push(MasterSnapshot::new("gamma", Addr::new("10.0.0.1", 1), 1));
    l.snapshot.current_epoch = Epoch(3);
    l.store.persist(&l.snapshot).unwrap();
    fs::write(&p, format!("{BASIC}\n[masters.delta]\nhost = \"127.0.0.4\"\nport = 1\nquorum = 1\n")).unwrap();
    let l2 = load(&p).unwrap();
    let names: Vec<_> = l2.snapshot.masters.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma", "delta"]);
    assert_eq!(&l2.snapshot.masters[..3], &l.snapshot.masters[..]);
    assert_eq!(l2.snapshot.current_epoch, Epoch(3));
    // A failover is not an operator edit: no address warning; the quorum change is reported.
    assert_eq!(l2.warnings.len(), 1, "{:?}", l2.warnings);
    assert!(l2.warnings[0].contains("'beta'") && l2.warnings[0].contains("quorum"), "{:?}", l2.warnings);
    // The operator now edits alpha's address: the state's address wins, with a warning.
    fs::write(&p, BASIC.replace("host = \"127.0.0.1\"", "host = \"127.0.0.5\"")).unwrap();
    let l3 = load(&p).unwrap();
    assert_eq!(l3.snapshot.masters[0].addr, Addr::new("127.0.0.9", 6390));
    assert!(l3.warnings.iter().any(|w| w.contains("sentinel.toml says 127.0.0.5:6379")), "{:?}", l3.warnings);
    assert_eq!(entries(d.path()), ["sentinel-state.toml", "sentinel.toml"]);
}

#[test]
fn sentinel_remove_survives_a_restart() {
    let (_d, p) = write_conf("sentinel.toml", BASIC);
    let mut l = load(&p).unwrap();
    l.snapshot.masters.remove(0);
    l.store.persist(&l.snapshot).unwrap();
    let l2 = load(&p).unwrap();
    assert_eq!(l2.snapshot.masters.len(), 1);
    assert_eq!(l2.snapshot.masters[0].name, "beta");
    assert!(l2.warnings[0].contains("'alpha'") && l2.warnings[0].contains("SENTINEL REMOVE"));
}

#[test]
fn passwords_from_the_config_are_not_copied_into_the_state_file() {
    let text = format!("sentinel-pass = \"peer-secret\"\n{BASIC}");
    let (d, p) = write_conf("sentinel.toml", &text);
    let mut l = load(&p).unwrap();
    let sp = d.path().join(STATE_FILE);
    let st = fs::read_to_string(&sp).unwrap();
    assert!(!st.contains("from-config") && !st.contains("peer-secret"), "{st}");
    assert_eq!(l.snapshot.masters[0].auth_pass.as_deref(), Some("from-config"));
    assert_eq!(load(&p).unwrap().snapshot, l.snapshot);
    // The operator rotates the password in sentinel.toml: it takes effect.
    fs::write(&p, text.replace("from-config", "rotated")).unwrap();
    assert_eq!(load(&p).unwrap().snapshot.masters[0].auth_pass.as_deref(), Some("rotated"));
    // A runtime change (SENTINEL SET auth-pass / CONFIG SET sentinel-pass) is stored.
    l.snapshot.masters[0].auth_pass = Some("runtime-pw".into());
    l.snapshot.sentinel_pass = None;
    l.store.persist(&l.snapshot).unwrap();
    assert!(fs::read_to_string(&sp).unwrap().contains("runtime-pw"));
    let l2 = load(&p).unwrap();
    assert_eq!(l2.snapshot.masters[0].auth_pass.as_deref(), Some("runtime-pw"));
    assert_eq!(l2.snapshot.sentinel_pass, None, "a runtime clear must survive a restart");
}

#[test]
fn runtime_global_changes_override_the_config_until_changed_back() {
    let (_d, p) = write_conf("sentinel.toml", "announce-ip = \"10.0.0.1\"\n");
    let mut l = load(&p).unwrap();
    l.snapshot.announce_ip = Some("10.0.0.2".into());
    l.snapshot.announce_port = Some(26400);
    l.snapshot.resolve_hostnames = true;
    l.store.persist(&l.snapshot).unwrap();
    assert_eq!(load(&p).unwrap().snapshot, l.snapshot);
    // Not overridden at runtime: the operator's edit takes effect.
    fs::write(&p, "announce-ip = \"10.0.0.1\"\nannounce-hostnames = true\n").unwrap();
    assert!(load(&p).unwrap().snapshot.announce_hostnames);
}

fn write_state(dir: &Path, text: &str) {
    fs::write(dir.join(STATE_FILE), text).unwrap();
}

#[test]
fn corrupt_or_truncated_state_file_is_an_error_never_a_new_identity() {
    let (d, p) = write_conf("sentinel.toml", BASIC);
    let l = load(&p).unwrap();
    let sp = d.path().join(STATE_FILE);
    let good = fs::read_to_string(&sp).unwrap();
    let cut_at_line = &good[..good.rfind("\n[").unwrap() + 1];
    let cases = [
        ("", "no format_version"),
        (&good[..good.len() / 2], "corrupt state file"),
        (cut_at_line, "checksum mismatch"),
        ("\u{0}\u{1}garbage", "corrupt state file"),
        ("format_version = 2\n", "unsupported state format_version 2"),
    ];
    for (text, want) in cases {
        write_state(d.path(), text);
        let e = load(&p).unwrap_err().to_string();
        assert!(e.starts_with(&sp.display().to_string()) && e.contains(want), "{e:?} should contain {want:?}");
        assert_eq!(fs::read_to_string(&sp).unwrap(), text, "the bad file must be left for inspection");
    }
    write_state(d.path(), &good.replace(&l.snapshot.myid, "abc"));
    assert!(load(&p).unwrap_err().to_string().contains("checksum mismatch"));
}

#[test]
fn hand_edited_state_without_checksum_is_accepted_with_a_warning() {
    let (d, p) = write_conf("sentinel.toml", BASIC);
    load(&p).unwrap();
    let sp = d.path().join(STATE_FILE);
    let good = fs::read_to_string(&sp).unwrap();
    let no_sum: String = good.lines().filter(|l| !l.starts_with("checksum")).map(|l| format!("{l}\n")).collect();
    write_state(d.path(), &no_sum.replace("current_epoch = 0", "current_epoch = 8"));
    let l = load(&p).unwrap();
    assert_eq!(l.snapshot.current_epoch, Epoch(8));
    assert!(l.warnings.iter().any(|w| w.contains("no checksum")), "{:?}", l.warnings);
    write_state(d.path(), &no_sum.replace(&l.snapshot.myid, "short"));
    assert!(load(&p).unwrap_err().to_string().contains("myid must be exactly 40 characters"));
}

#[test]
fn state_encode_decode_round_trip_of_a_rich_snapshot() {
    let snap = super::redis::rich_snapshot();
    let operator = crate::core::Snapshot::new(String::new());
    let text = state::encode(&snap, &operator).unwrap();
    let mut w = Vec::new();
    let st = state::decode(Path::new("x"), &text, &mut w).unwrap();
    assert_eq!(state::merge(&operator, Some(st), &mut w), snap);
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn the_repository_example_sentinel_toml_is_valid_and_complete() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sentinel.toml");
    let text = fs::read_to_string(&path).unwrap();
    let op = toml_conf::parse(&path, &text).unwrap();
    assert_eq!(op.snapshot.masters.len(), 2);
    // Every option of the schema appears in the example, commented or not.
    for key in [
        "port",
        "bind",
        "data-dir",
        "logfile",
        "loglevel",
        "pidfile",
        "protected-mode",
        "requirepass",
        "announce-ip",
        "announce-port",
        "resolve-hostnames",
        "announce-hostnames",
        "deny-scripts-reconfig",
        "sentinel-user",
        "sentinel-pass",
        "host",
        "quorum",
        "down-after-milliseconds",
        "failover-timeout",
        "parallel-syncs",
        "auth-pass",
        "auth-user",
        "master-reboot-down-after-period",
        "notification-script",
        "client-reconfig-script",
        "rename-command",
    ] {
        assert!(
            text.contains(&format!("{key} =")) || text.contains(&format!("[masters.mymaster.{key}]")),
            "{key} missing"
        );
    }
}

#[test]
fn an_epoch_toml_cannot_hold_is_a_persist_error_not_a_panic() {
    let (_d, p) = write_conf("sentinel.toml", BASIC);
    let mut l = load(&p).unwrap();
    l.snapshot.current_epoch = Epoch(u64::MAX);
    let e = l.store.persist(&l.snapshot).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(load(&p).unwrap().snapshot.current_epoch, Epoch(0), "the old state must be intact");
}

/// Issue 13 item 2: the client limits in sentinel.toml, checked like sentinel.conf.
#[test]
fn client_limits_in_toml() {
    let text = "maxclients = 50\ntimeout = 30\ntcp-keepalive = 0\nproto-max-bulk-len = \"2mb\"\n\
                client-query-buffer-limit = 4194304\nclient-output-buffer-limit = \"pubsub 1mb 512kb 5\"\n";
    let (_d, p) = write_conf("sentinel.toml", text);
    let s = load(&p).unwrap().settings;
    assert_eq!((s.maxclients, s.timeout_secs, s.tcp_keepalive_secs), (50, 30, 0));
    assert_eq!((s.proto_max_bulk_len, s.client_query_buffer_limit), (2 << 20, 4 << 20));
    assert_eq!(s.output_limit_pubsub, crate::server::OutputLimit { hard: 1 << 20, soft: 512 << 10, soft_secs: 5 });
    let (e, p) = err_of("port = 1\nmaxclients = 0\n");
    assert_eq!(e, format!("{p}:2: maxclients: argument must be between 1 and 4294967295 inclusive"));
    let (e, p) = err_of("proto-max-bulk-len = \"1kb\"\n");
    assert_eq!(
        e,
        format!("{p}:1: proto-max-bulk-len: argument must be between 1048576 and 9223372036854775807 inclusive")
    );
}

#[test]
fn tls_keys_use_redis_names_and_refuse_what_cannot_be_honoured() {
    let text = "tls-port = 26380\ntls-replication = true\ntls-cert-file = \"s.crt\"\n\
                tls-auth-clients = \"optional\"\ntls-protocols = \"TLSv1.2 TLSv1.3\"\n";
    let (d, p) = write_conf("sentinel.toml", text);
    let s = load(&p).unwrap().settings;
    assert_eq!((s.tls.port, s.tls.replication), (26380, true));
    assert_eq!(s.tls.cert_file, Some(p.parent().unwrap().join("s.crt")));
    assert_eq!(s.tls.auth_clients, crate::tls::AuthClients::Optional);
    drop(d);
    let (e, p) = err_of("port = 1\ntls-key-file-pass = \"secret\"\n");
    assert!(e.starts_with(&format!("{p}:2: tls-key-file-pass: ")) && e.contains("not supported"), "{e}");
    let (e, p) = err_of("tls-protocols = \"TLSv1.1\"\n");
    assert!(e.starts_with(&format!("{p}:1: tls-protocols: ")), "{e}");
}
