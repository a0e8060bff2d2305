//! Redis sentinel.conf: every §15.2 error with file:line, the three passes, server
//! directives, myid generation, the in-place rewrite, and the rewrite → load round trip.

use super::{entries, write_conf, ID_A, ID_B};
use crate::config::rewrite::{rewrite, rewrite_with_users, SIGNATURE};
use crate::config::{load, Loaded};
use crate::core::{Addr, Epoch, KnownSentinel, MasterSnapshot, Snapshot};
use std::fs;
use std::os::unix::fs::PermissionsExt;

const MON: &str = "sentinel monitor m 127.0.0.1 6379 2";

fn load_text(text: &str) -> (tempfile::TempDir, std::path::PathBuf, Result<Loaded, crate::config::ConfigError>) {
    let (d, p) = write_conf("sentinel.conf", text);
    let r = load(&p);
    (d, p, r)
}

/// Asserts that loading `text` fails at line `line_no` with `msg`.
fn assert_err(text: &str, line_no: usize, msg: &str) {
    let (_d, p, r) = load_text(text);
    let line = text.split('\n').nth(line_no - 1).unwrap().trim();
    let want = format!("{}:{}: {} ('{}')", p.display(), line_no, msg, line);
    match r {
        Err(e) => assert_eq!(e.to_string(), want, "for {text:?}"),
        Ok(_) => panic!("expected error {want:?} for {text:?}"),
    }
}

#[test]
fn every_sentinel_directive_error_names_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("sentinel monitor m 127.0.0.1 6379 0", 1, "Quorum must be 1 or greater."),
        ("sentinel monitor m 127.0.0.1 6379 abc", 1, "Quorum must be 1 or greater."),
        ("# c\nsentinel monitor m 127.0.0.1 6379 1\nsentinel monitor m 127.0.0.2 6379 1", 3, "Duplicate master name."),
        ("sentinel monitor m localhost 6379 1", 1, "Can't resolve instance hostname."),
        ("sentinel monitor m 127.0.0.1 70000 1", 1, "Invalid port number."),
        ("sentinel monitor m 127.0.0.1 -1 1", 1, "Invalid port number."),
        ("sentinel monitor m 127.0.0.1 6379 1 extra", 1, "Unrecognized sentinel configuration statement."),
        ("sentinel frobnicate yes", 1, "Unrecognized sentinel configuration statement."),
        ("sentinel down-after-milliseconds nosuch 5", 1, "No such master with specified name."),
        (&format!("{MON}\nsentinel down-after-milliseconds m 0"), 2, "negative or zero time parameter."),
        (&format!("{MON}\nsentinel failover-timeout m -5"), 2, "negative or zero time parameter."),
        (&format!("{MON}\nsentinel master-reboot-down-after-period m -1"), 2, "negative time parameter."),
        (
            &format!("{MON}\nsentinel notification-script m /nonexistent/x"),
            2,
            "Notification script seems non existing or non executable.",
        ),
        (
            &format!("{MON}\nsentinel client-reconfig-script m /dev/null"),
            2,
            "Client reconfiguration script seems non existing or non executable.",
        ),
        (
            &format!("{MON}\nsentinel rename-command m config c1\nsentinel rename-command m CONFIG c2"),
            3,
            "Same command renamed multiple times with rename-command.",
        ),
        (
            &format!("{MON}\nsentinel known-replica m 10.0.0.1 1\nsentinel known-slave m 10.0.0.1 1"),
            3,
            "Duplicate hostname and port for replica.",
        ),
        (&format!("{MON}\nsentinel known-replica m 10.0.0.1 99999"), 2, "Invalid port number."),
        (
            &format!("{MON}\nsentinel known-sentinel m 10.0.0.1 1 {ID_B}\nsentinel known-sentinel m 10.0.0.2 2 {ID_B}"),
            3,
            "Duplicate runid for sentinel.",
        ),
        (&format!("{MON}\nsentinel known-sentinel m some-host 1 {ID_B}"), 2, "Can't resolve instance hostname."),
        ("sentinel myid abc", 1, "Malformed Sentinel id in myid option."),
        ("sentinel deny-scripts-reconfig maybe", 1, "Please specify yes or no for the deny-scripts-reconfig options."),
        ("sentinel resolve-hostnames 1", 1, "Please specify yes or no for the resolve-hostnames option."),
        ("sentinel announce-hostnames 1", 1, "Please specify yes or no for the announce-hostnames option."),
    ];
    for (text, line, msg) in cases {
        assert_err(text, *line, msg);
    }
}

#[test]
fn server_directive_errors_name_file_and_line() {
    assert_err("port 1\nbogus 1", 2, "Bad directive or wrong number of arguments");
    assert_err("port abc", 1, "argument couldn't be parsed into an integer");
    assert_err("port 70000", 1, "argument must be between 0 and 65535 inclusive");
    assert_err("port 1 2", 1, "wrong number of arguments");
    assert_err("protected-mode maybe", 1, "argument must be 'yes' or 'no'");
    assert_err(
        "loglevel loud",
        1,
        "argument(s) must be one of the following: debug, verbose, notice, warning, nothing",
    );
    assert_err("dir /nonexistent-dir-xyz", 1, "No such file or directory");
    assert_err("port \"unbalanced", 1, "Unbalanced quotes in configuration line");
    assert_err("sentinel monitor \"m\"x 127.0.0.1 1 1", 1, "Unbalanced quotes in configuration line");
    let (_d, _p, r) = load_text("include /nonexistent/other.conf");
    let e = r.unwrap_err().to_string();
    assert!(e.starts_with("Fatal error, can't open config file '/nonexistent/other.conf'"), "{e}");
}

#[test]
fn missing_file_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let e = load(&d.path().join("nope.conf")).unwrap_err().to_string();
    assert!(e.starts_with("Fatal error, can't open config file"), "{e}");
}

#[test]
fn unwritable_config_is_refused() {
    // Tests run as root, for whom every regular file is writable: use a directory.
    let d = tempfile::tempdir().unwrap();
    let e = crate::config::check_writable(d.path()).unwrap_err().to_string();
    let want = format!("Sentinel config file {} is not writable: ", d.path().display());
    assert!(e.starts_with(&want) && e.contains("Exiting..."), "{e}");
}

#[test]
fn sentinel_lines_apply_in_three_passes_regardless_of_position() {
    let text = format!(
        "sentinel known-replica m 10.0.0.2 6380\n\
         sentinel config-epoch m 7\n\
         SENTINEL Monitor m db.example 6379 2\n\
         sentinel leader-epoch m 3\n\
         sentinel resolve-hostnames yes\n\
         sentinel current-epoch 5\n\
         sentinel myid {ID_A}\n"
    );
    let (_d, _p, r) = load_text(&text);
    let l = r.unwrap();
    assert_eq!(l.snapshot.myid, ID_A);
    assert!(l.snapshot.resolve_hostnames);
    let m = &l.snapshot.masters[0];
    assert_eq!(m.addr, Addr::new("db.example", 6379));
    assert_eq!(m.known_replicas, [Addr::new("10.0.0.2", 6380)]);
    assert_eq!((m.config_epoch, m.leader_epoch), (Epoch(7), Epoch(3)));
    // config-epoch raises the current epoch; current-epoch keeps the maximum.
    assert_eq!(l.snapshot.current_epoch, Epoch(7));
}

#[test]
fn per_master_directives_are_applied() {
    let script = tempfile::NamedTempFile::new().unwrap();
    fs::set_permissions(script.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.path().display();
    let text = format!(
        "{MON}\nsentinel down-after-milliseconds m 5000\nsentinel failover-timeout m 60000\n\
         sentinel parallel-syncs m 3\nsentinel auth-pass m \"p w\"\nsentinel auth-user m u\n\
         sentinel primary-reboot-down-after-period m 100\nsentinel notification-script m {s}\n\
         sentinel client-reconfig-script m {s}\nsentinel rename-command m CONFIG xconfig\n\
         sentinel known-sentinel m 10.0.0.9 26379 {ID_B}\nsentinel known-sentinel m 10.0.0.8 26379\n\
         sentinel announce-ip 10.1.1.1\nsentinel announce-port 26400\nsentinel sentinel-user su\n\
         sentinel sentinel-pass sp\nsentinel deny-scripts-reconfig no\nsentinel announce-hostnames yes\n"
    );
    let (_d, _p, r) = load_text(&text);
    let l = r.unwrap();
    let m = &l.snapshot.masters[0];
    assert_eq!((m.down_after_ms, m.failover_timeout_ms, m.parallel_syncs), (5000, 60000, 3));
    assert_eq!((m.auth_pass.as_deref(), m.auth_user.as_deref()), (Some("p w"), Some("u")));
    assert_eq!(m.master_reboot_down_after_ms, 100);
    assert_eq!(m.notification_script.as_deref(), Some(&*s.to_string()));
    assert_eq!(m.rename_commands, [("config".to_string(), "xconfig".to_string())]);
    assert_eq!(m.known_sentinels, [KnownSentinel { addr: Addr::new("10.0.0.9", 26379), runid: ID_B.into() }]);
    let g = &l.snapshot;
    assert_eq!((g.announce_ip.as_deref(), g.announce_port), (Some("10.1.1.1"), Some(26400)));
    assert_eq!((g.sentinel_user.as_deref(), g.sentinel_pass.as_deref()), (Some("su"), Some("sp")));
    assert!(!g.deny_scripts_reconfig && g.announce_hostnames);
}

#[test]
fn server_directives_settings_and_warnings() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("work")).unwrap();
    let text = format!(
        "port 1\nport 26400\nbind 127.0.0.1 ::1\ndir {}\nlogfile sentinel.log\nloglevel WARNING\n\
         daemonize no\npidfile \"\"\nprotected-mode yes\nrequirepass s3cret\nhz 10\ntls-port 0\n\
         user default on nopass ~* &* +@all\naclfile users.acl\nsentinel myid {ID_A}\n",
        d.path().join("work").display()
    );
    let (_d2, p, r) = load_text(&text);
    let l = r.unwrap();
    let s = &l.settings;
    assert_eq!((s.port, s.bind.clone()), (26400, vec!["127.0.0.1".to_string(), "::1".to_string()]));
    assert_eq!(s.dir.as_deref(), Some(d.path().join("work").as_path()));
    assert_eq!(s.logfile.as_deref(), Some(d.path().join("work/sentinel.log").as_path()));
    assert_eq!((s.loglevel.as_str(), s.pidfile.clone(), s.protected_mode), ("warning", None, true));
    assert_eq!(s.requirepass.as_deref(), Some("s3cret"));
    assert_eq!(s.config_file, p);
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_eq!(s.users, vec![["default", "on", "nopass", "~*", "&*", "+@all"].map(String::from).to_vec()]);
    let want = format!("{}: ignored, they mean nothing to a sentinel: hz (line 11)", p.display());
    assert_eq!(s.tls.port, 0);
    // Relative to `dir`, shown as written (the daemon refuses it next to `user` lines).
    let acl = s.aclfile.as_ref().unwrap();
    assert_eq!((acl.shown.as_str(), acl.path.clone()), ("users.acl", d.path().join("work/users.acl")));
    assert_eq!(l.warnings[0], want);
}

#[test]
fn defaults_for_an_almost_empty_file() {
    let (_d, _p, r) = load_text(&format!("sentinel myid {ID_A}\n"));
    let s = r.unwrap().settings;
    assert_eq!((s.port, s.bind, s.dir, s.logfile), (26379, vec!["0.0.0.0".to_string()], None, None));
    assert!(!s.protected_mode);
    assert_eq!(s.loglevel, "notice");
}

#[test]
fn missing_myid_is_generated_and_persisted_before_load_returns() {
    let (d, p, r) = load_text("# my comment\nport 26379\nsentinel monitor m 127.0.0.1 6379 2\n");
    let l = r.unwrap();
    let id = l.snapshot.myid.clone();
    assert_eq!(id.len(), 40);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.starts_with("# my comment\nport 26379\nsentinel monitor m 127.0.0.1 6379 2\n"), "{text}");
    assert!(text.contains(&format!("{SIGNATURE}\nsentinel myid {id}\n")), "{text}");
    let again = load(&p).unwrap();
    assert_eq!(again.snapshot, l.snapshot);
    assert_eq!(fs::read_to_string(&p).unwrap(), text, "a second load must not rewrite");
    assert_eq!(entries(d.path()), ["sentinel.conf"]);
    let two = load(&write_conf("sentinel.conf", "").1).unwrap();
    assert_ne!(two.snapshot.myid, id);
}

fn master(name: &str, host: &str) -> MasterSnapshot {
    MasterSnapshot::new(name, Addr::new(host, 6379), 2)
}

#[test]
fn rewrite_replaces_in_place_keeps_comments_removes_obsolete_and_appends() {
    let old = format!(
        "# Top comment\nport 26379\n\nsentinel myid {ID_A}\n# about m\nsentinel monitor m 10.0.0.1 6379 2\n\
         sentinel known-slave m 10.0.0.2 6379\nsentinel known-replica m 10.0.0.3 6379\n\
         sentinel down-after-milliseconds m 5000\n\n\n# tail comment\nsentinel current-epoch 1\n"
    );
    let mut snap = Snapshot::new(ID_A.into());
    snap.current_epoch = Epoch(4);
    let mut m = master("m", "10.0.0.2");
    m.config_epoch = Epoch(4);
    m.known_replicas = vec![Addr::new("10.0.0.1", 6379)];
    snap.masters.push(m);
    snap.announce_ip = Some("10.9.9.9".into());
    let new = rewrite(&old, &snap);
    let want = format!(
        "# Top comment\nport 26379\n\nsentinel myid {ID_A}\n# about m\nsentinel monitor m 10.0.0.2 6379 2\n\
         sentinel known-replica m 10.0.0.1 6379\n\n# tail comment\nsentinel current-epoch 4\n\
         {SIGNATURE}\nsentinel config-epoch m 4\nsentinel leader-epoch m 0\nsentinel announce-ip \"10.9.9.9\"\n"
    );
    assert_eq!(new, want);
    // Rewriting its own output changes nothing, and the signature is not repeated.
    assert_eq!(rewrite(&new, &snap), new);
}

#[test]
fn rewrite_of_an_unparsable_line_keeps_it_as_a_comment() {
    let snap = Snapshot::new(ID_A.into());
    let out = rewrite("port \"x\nsentinel myid zz\n", &snap);
    assert_eq!(out, format!("# ??? port \"x\nsentinel myid {ID_A}\n{SIGNATURE}\nsentinel current-epoch 0\n"));
}

#[test]
fn persist_recreates_a_deleted_file_and_leaves_no_temp_files() {
    let (d, p, r) = load_text(&format!("sentinel myid {ID_A}\n{MON}\n"));
    let mut l = r.unwrap();
    fs::remove_file(&p).unwrap();
    l.snapshot.current_epoch = Epoch(9);
    l.store.persist(&l.snapshot).unwrap();
    assert_eq!(entries(d.path()), ["sentinel.conf"]);
    assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(load(&p).unwrap().snapshot, l.snapshot);
}

/// A snapshot that exercises every rewritten line kind.
pub(super) fn rich_snapshot() -> Snapshot {
    let mut s = Snapshot::new(ID_A.into());
    s.current_epoch = Epoch(12);
    s.announce_ip = Some("10.0.0.100".into());
    s.announce_port = Some(26500);
    s.deny_scripts_reconfig = false;
    s.sentinel_user = Some("peer".into());
    s.sentinel_pass = Some("peer pass with spaces".into());
    let mut a = master("alpha", "127.0.0.1");
    a.down_after_ms = 5000;
    a.failover_timeout_ms = 60000;
    a.parallel_syncs = 2;
    a.auth_pass = Some("p\"q'r".into());
    a.auth_user = Some("default".into());
    a.master_reboot_down_after_ms = 1000;
    a.config_epoch = Epoch(12);
    a.leader_epoch = Epoch(11);
    a.known_replicas = vec![Addr::new("127.0.0.2", 6380), Addr::new("::1", 6381)];
    a.known_sentinels = vec![KnownSentinel { addr: Addr::new("127.0.0.3", 26379), runid: ID_B.into() }];
    a.rename_commands = vec![("config".into(), "xconfig".into()), ("slaveof".into(), "xslaveof".into())];
    s.masters.push(a);
    s.masters.push(master("beta", "10.1.2.3"));
    s
}

#[test]
fn round_trip_snapshot_rewrite_load() {
    let snap = rich_snapshot();
    let (_d, p) = write_conf("sentinel.conf", &rewrite("", &snap));
    assert_eq!(load(&p).unwrap().snapshot, snap);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-zA-Z0-9]{1,8}", "[ -~]{1,12}", "[a-z é\"'\\\\\n\t]{1,8}"]
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| format!("10.0.{a}.{b}")),
            any::<u16>().prop_map(|x| format!("fd00::{x:x}")),
        ]
    }

    fn master() -> impl Strategy<Value = MasterSnapshot> {
        (
            "[a-z][a-z0-9_-]{0,6}",
            host(),
            (any::<u16>(), 1u32..5, 1u64..1_000_000, 1u64..1_000_000, 0u32..5, 0u64..10_000),
            (proptest::option::of(text()), proptest::option::of(text())),
            (0u64..100, 0u64..100),
            proptest::collection::vec((host(), any::<u16>()), 0..3),
            proptest::collection::btree_map("[a-z]{1,6}", "[a-z]{1,6}", 0..3),
            proptest::collection::vec((host(), any::<u16>(), "[0-9a-f]{40}"), 0..3),
        )
            .prop_map(|(name, h, (port, q, da, ft, ps, rb), (ap, au), (ce, le), reps, ren, sens)| {
                let mut m = MasterSnapshot::new(name, Addr::new(h, port), q);
                (m.down_after_ms, m.failover_timeout_ms, m.parallel_syncs) = (da, ft, ps);
                (m.master_reboot_down_after_ms, m.auth_pass, m.auth_user) = (rb, ap, au);
                (m.config_epoch, m.leader_epoch) = (Epoch(ce), Epoch(le));
                for (h, p) in reps {
                    let a = Addr::new(h, p);
                    if !m.known_replicas.iter().any(|r| r.same(&a)) {
                        m.known_replicas.push(a);
                    }
                }
                m.rename_commands = ren.into_iter().collect();
                for (h, p, id) in sens {
                    if !m.known_sentinels.iter().any(|s| s.runid == id) {
                        m.known_sentinels.push(KnownSentinel { addr: Addr::new(h, p), runid: id });
                    }
                }
                m
            })
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        let non_empty = || proptest::option::of("[ -~]{1,10}");
        (
            "[0-9a-f]{40}",
            0u64..200,
            (non_empty(), proptest::option::of(1u16..), non_empty(), non_empty()),
            (any::<bool>(), any::<bool>(), any::<bool>()),
            proptest::collection::vec(master(), 0..4),
        )
            .prop_map(|(id, ce, (ip, port, su, sp), (rh, ah, dsr), ms)| {
                let mut s = Snapshot::new(id);
                (s.announce_ip, s.announce_port, s.sentinel_user, s.sentinel_pass) = (ip, port, su, sp);
                (s.resolve_hostnames, s.announce_hostnames, s.deny_scripts_reconfig) = (rh, ah, dsr);
                for m in ms {
                    if !s.masters.iter().any(|o| o.name == m.name) {
                        s.masters.push(m);
                    }
                }
                let max_ce = s.masters.iter().map(|m| m.config_epoch.0).max().unwrap_or(0);
                s.current_epoch = Epoch(ce.max(max_ce));
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn rewrite_then_load_gives_the_same_snapshot(snap in snapshot(), other in snapshot()) {
            // Rewriting over a file that held another state must also converge.
            let (_d, p) = write_conf("sentinel.conf", &rewrite("# keep me\nport 26379\n", &other));
            let old = fs::read_to_string(&p).unwrap();
            fs::write(&p, rewrite(&old, &snap)).unwrap();
            let loaded = load(&p).unwrap();
            prop_assert_eq!(&loaded.snapshot, &snap);
            let text = fs::read_to_string(&p).unwrap();
            prop_assert!(text.starts_with("# keep me\nport 26379\n"));
        }
    }
}

#[test]
fn legacy_known_sentinel_without_runid_is_ignored_even_for_unknown_masters() {
    let (_d, _p, r) = load_text(&format!("sentinel myid {ID_A}\nsentinel known-sentinel nosuch 10.0.0.1 26379\n"));
    assert!(r.unwrap().snapshot.masters.is_empty());
}

#[test]
fn rewrite_matches_old_lines_case_insensitively_and_by_alias() {
    let mut snap = Snapshot::new(ID_A.into());
    let mut m = master("m", "10.0.0.1");
    m.known_replicas = vec![Addr::new("10.0.0.5", 1)];
    snap.masters.push(m);
    let old =
        "SENTINEL Monitor m 10.0.0.9 6379 2\nsentinel KNOWN-SLAVE m 10.0.0.2 1\nSentinel known-slave m 10.0.0.3 1\n";
    let new = rewrite(old, &snap);
    assert!(new.starts_with("sentinel monitor m 10.0.0.1 6379 2\nsentinel known-replica m 10.0.0.5 1\n"), "{new}");
    assert!(!new.to_ascii_lowercase().contains("known-slave") && !new.contains("10.0.0.9"), "{new}");
}

#[test]
fn epochs_beyond_toml_integers_work_in_redis_mode() {
    let mut snap = rich_snapshot();
    snap.current_epoch = Epoch(u64::MAX);
    let (_d, p) = write_conf("sentinel.conf", &rewrite("", &snap));
    assert_eq!(load(&p).unwrap().snapshot, snap);
}

/// Issue 9, item 1: what redis-server 7.0.15 accepts in a file, we accept; what it
/// refuses, we refuse with its message.
#[test]
fn redis_server_directives_are_accepted_and_checked_like_redis() {
    let ok = "repl-diskless-sync-delay 0\nsave 900 1 300 10\nsave \"\"\nclient-output-buffer-limit normal 0 0 0\n\
              maxmemory 1gb\nmaxmemory-clients 10%\nunixsocketperm 700\nappendfsync always\n\
              shutdown-on-sigterm nosave now\nslaveof 127.0.0.1 6379\nrename-command SHUTDOWN \"\"\n\
              primaryauth secret\nlist-max-ziplist-entries 512\nmaxclients 100\ntimeout 30\n\
              tcp-keepalive 60\ntcp-backlog 128\nsyslog-enabled no\nsyslog-ident sentinel\n\
              syslog-facility local3\nsupervised no\ndaemonize no\ntls-replication no\n";
    let (_d, p, r) = load_text(ok);
    let l = r.unwrap();
    let s = &l.settings;
    assert_eq!((s.maxclients, s.timeout_secs, s.tcp_keepalive_secs, s.tcp_backlog), (100, 30, 60, 128));
    assert_eq!((s.syslog_ident.as_str(), s.syslog_facility.as_str()), ("sentinel", "local3"));
    assert_eq!(l.warnings.len(), 1, "one warning for all the ignored directives: {:?}", l.warnings);
    let w = &l.warnings[0];
    assert!(w.starts_with(&format!("{}: ignored", p.display())), "{w}");
    assert!(w.contains("repl-diskless-sync-delay (line 1)") && w.contains("primaryauth (line 12, Valkey)"), "{w}");
    assert!(!w.contains("maxclients") && !w.contains("syslog"), "honoured directives are not ignored: {w}");

    assert_err("maxclients abc", 1, "argument couldn't be parsed into an integer");
    assert_err("maxclients 0", 1, "argument must be between 1 and 4294967295 inclusive");
    assert_err("repl-diskless-load foo", 1, "argument(s) must be one of the following: disabled, on-empty-db, swapdb");
    assert_err("unixsocketperm 999", 1, "argument couldn't be parsed as an octal number");
    assert_err("maxmemory lots", 1, "argument must be a memory value");
    assert_err("appendonly maybe", 1, "argument must be 'yes' or 'no'");
    assert_err("hz 1 2", 1, "wrong number of arguments");
    assert_err("slaveof 127.0.0.1", 1, "wrong number of arguments");
    assert_err("rename-command CONFIG \"\"", 1, "No such command in rename-command");
    assert_err("repl-diskless-sync-dely 0", 1, "Bad directive or wrong number of arguments");
}

#[test]
fn tls_is_read_and_what_cannot_be_honoured_is_refused() {
    let (_d, _p, r) =
        load_text(&format!("tls-port 26380\ntls-replication yes\ntls-cert-file s.crt\nsentinel myid {ID_A}\n"));
    let s = r.unwrap().settings;
    assert_eq!((s.tls.port, s.tls.replication), (26380, true));
    // Relative to the working directory, as in Redis.
    assert!(s.tls.cert_file.unwrap().ends_with("s.crt"));
    let (_d, _p, r) = load_text("tls-key-file-pass secret");
    assert!(r.unwrap_err().to_string().contains("encrypted private keys are not supported"));
    let (_d, _p, r) = load_text("tls-protocols \"TLSv1 TLSv1.2\"");
    assert!(r.unwrap_err().to_string().contains("TLSv1 is not supported"));
    let (_d, _p, r) = load_text("tls-ciphers DEFAULT");
    assert!(r.unwrap_err().to_string().contains("not supported"));
    let (_d, _p, r) = load_text("loadmodule /x.so");
    assert!(r.unwrap_err().to_string().contains("modules"));
    let (_d, _p, r) = load_text(&format!("daemonize yes\nsentinel myid {ID_A}\n"));
    assert!(r.unwrap().settings.daemonize);
}

/// The generated table holds every name the generator found, with Redis's arity.
#[test]
fn generated_directive_table_is_sorted_and_complete() {
    use crate::config::server_directives::DIRECTIVES;
    assert!(DIRECTIVES.windows(2).all(|w| w[0].name < w[1].name));
    assert!(DIRECTIVES.len() > 200, "{}", DIRECTIVES.len());
    for name in
        ["repl-diskless-sync-delay", "include", "rename-command", "user", "loadmodule", "replicaof", "primaryauth"]
    {
        assert!(DIRECTIVES.iter().any(|d| d.name == name), "{name}");
    }
}

#[test]
fn include_reads_the_file_in_place_and_names_it_in_errors() {
    let d = tempfile::tempdir().unwrap();
    let inc = d.path().join("common.conf");
    fs::write(&inc, format!("repl-diskless-sync-delay 0\nsentinel down-after-milliseconds m 2345\n{MON}\n")).unwrap();
    let (_d2, p, r) = load_text(&format!("port 26400\ninclude {}\nsentinel myid {ID_A}\n", inc.display()));
    let l = r.unwrap();
    assert_eq!(l.snapshot.masters[0].down_after_ms, 2345);
    assert_eq!(l.settings.port, 26400);
    let want = format!(
        "{}: ignored, they mean nothing to a sentinel: repl-diskless-sync-delay ({} line 1)",
        p.display(),
        inc.display()
    );
    assert_eq!(l.warnings, vec![want]);
    fs::write(&inc, "maxclients zero\n").unwrap();
    let (_d3, _p, r) = load_text(&format!("include {}\n", inc.display()));
    let want = format!("{}:1: argument couldn't be parsed into an integer ('maxclients zero')", inc.display());
    assert_eq!(r.unwrap_err().to_string(), want);
    fs::write(&inc, format!("include {}\n", inc.display())).unwrap();
    let (_d4, _p, r) = load_text(&format!("include {}\n", inc.display()));
    assert!(r.unwrap_err().to_string().contains("nested too deeply"));
}

/// Issue 13 item 2: the client limits, with Redis's defaults, units and messages.
#[test]
fn client_limits_defaults_units_and_errors() {
    let (_d, _p, r) = load_text(MON);
    let s = r.unwrap().settings;
    assert_eq!((s.maxclients, s.timeout_secs, s.tcp_keepalive_secs), (10_000, 0, 300));
    assert_eq!((s.proto_max_bulk_len, s.client_query_buffer_limit), (512 << 20, 1 << 30));
    assert_eq!(s.output_limit_normal, crate::server::OutputLimit::default());
    assert_eq!(s.output_limit_pubsub, crate::server::OutputLimit { hard: 32 << 20, soft: 8 << 20, soft_secs: 60 });
    assert!(!s.protected_mode, "a sentinel's default (§15.1)");

    let text = format!(
        "{MON}\nproto-max-bulk-len 2mb\nclient-query-buffer-limit 4mb\n\
         client-output-buffer-limit normal 1gb 0 0 pubsub 1mb 512kb 5 replica 0 0 0\nprotected-mode yes\n"
    );
    let (_d, _p, r) = load_text(&text);
    let s = r.unwrap().settings;
    assert_eq!((s.proto_max_bulk_len, s.client_query_buffer_limit), (2 << 20, 4 << 20));
    assert_eq!(s.output_limit_normal, crate::server::OutputLimit { hard: 1 << 30, soft: 0, soft_secs: 0 });
    assert_eq!(s.output_limit_pubsub, crate::server::OutputLimit { hard: 1 << 20, soft: 512 << 10, soft_secs: 5 });
    assert!(s.protected_mode);

    assert_err("proto-max-bulk-len 1000", 1, "argument must be between 1048576 and 9223372036854775807 inclusive");
    assert_err("client-query-buffer-limit lots", 1, "argument must be a memory value");
    assert_err(
        "client-output-buffer-limit pubsub 1mb 1mb",
        1,
        "Wrong number of arguments in buffer limit configuration.",
    );
    assert_err(
        "client-output-buffer-limit master 1mb 1mb 1",
        1,
        "Invalid client class specified in buffer limit configuration.",
    );
    assert_err(
        "client-output-buffer-limit pubsub 1mb 1mb -1",
        1,
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
    );
    // Found by fuzzing (docs/fuzzing.md): a memory value overflowing i128 once multiplied
    // by its unit panicked (debug) or wrapped (release); it is an ordinary bad value.
    let huge = format!("{}mb", "6".repeat(38));
    assert_err(
        &format!("client-output-buffer-limit pubsub 33mb {huge} 60"),
        1,
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
    );
    assert_err(&format!("client-query-buffer-limit {huge}"), 1, "argument must be a memory value");
}

/// Users (runtime `ACL SETUSER`) take the slots of the old `user` lines, extra ones are
/// appended, left-over old ones removed, as Redis's rewrite does; without users, `user`
/// lines are left alone.
#[test]
fn rewrite_writes_users_into_the_old_user_slots() {
    let snap = Snapshot::new(ID_A.into());
    let old = "port 26379\nuser bob on >x +@all\nuser carol on nopass +@all\nrequirepass old\n";
    let users = vec!["user bob on #ab ~* +@all".to_string(), "user default on nopass ~* &* +@all".to_string()];
    let out = rewrite_with_users(old, &snap, Some(&users));
    assert_eq!(
        out,
        format!(
            "port 26379\nuser bob on #ab ~* +@all\nuser default on nopass ~* &* +@all\nrequirepass old\n\
             {SIGNATURE}\nsentinel myid {ID_A}\nsentinel current-epoch 0\n"
        )
    );
    assert_eq!(rewrite_with_users(&out, &snap, Some(&users)), out);
    assert!(rewrite(old, &snap).contains("user carol on nopass +@all\n"));
}
