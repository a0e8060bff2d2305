//! TLS end to end (issue 13.1) with real processes: certificates made here with rcgen,
//! `redis-server` master and replica speaking TLS only, our sentinels and Debian's
//! `redis-sentinel` with `tls-port` and `tls-replication yes` in one deployment, queried
//! with `redis-cli --tls` and redis-py `ssl=True`; a failover over TLS; start-up errors
//! for bad certificates; certificate reload on SIGHUP.

mod common;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A CA that signs leaf certificates (valid for 127.0.0.1 and localhost, for both
/// server and client use), written as PEM files into a directory.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    dir: PathBuf,
    path: PathBuf,
}

/// A leaf certificate and its key, as files.
#[derive(Clone)]
struct Leaf {
    cert: PathBuf,
    key: PathBuf,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        Ca::new_with(dir, name, |_| {})
    }

    fn new_with(dir: &Path, name: &str, edit: impl FnOnce(&mut CertificateParams)) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        edit(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let path = dir.join(format!("{name}.crt"));
        fs::write(&path, cert.pem()).unwrap();
        Ca { cert, key, dir: dir.to_path_buf(), path }
    }

    fn leaf_with(&self, name: &str, edit: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.subject_alt_names.push(SanType::IpAddress(HOST.parse().unwrap()));
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        edit(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let leaf = Leaf { cert: self.dir.join(format!("{name}.crt")), key: self.dir.join(format!("{name}.key")) };
        fs::write(&leaf.cert, cert.pem()).unwrap();
        fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }

    fn leaf(&self, name: &str) -> Leaf {
        self.leaf_with(name, |_| {})
    }
}

/// The `tls-*` lines shared by every process (Redis's names; Redis and we read them).
fn tls_lines(ca: &Path, leaf: &Leaf) -> String {
    format!(
        "tls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-replication yes\n",
        leaf.cert.display(),
        leaf.key.display(),
        ca.display()
    )
}

/// `redis-server` speaking TLS only (`port 0`), replicating over TLS when `replicaof`.
fn start_tls_redis(root: &Path, name: &str, ca: &Path, leaf: &Leaf, replicaof: Option<u16>) -> Proc {
    let port = free_port();
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    let mut conf = format!(
        "port 0\ntls-port {port}\nbind {HOST}\nsave \"\"\nappendonly no\ndir {}\ndaemonize no\nlogfile \"\"\n\
         repl-diskless-sync-delay 0\n{}",
        dir.display(),
        tls_lines(ca, leaf)
    );
    if let Some(m) = replicaof {
        conf.push_str(&format!("replicaof {HOST} {m}\n"));
    }
    let path = dir.join("redis.conf");
    fs::write(&path, conf).unwrap();
    Proc::launch(name, port, &dir, require_program("redis-server"), vec![path.display().to_string()])
}

/// A sentinel (ours or `redis-sentinel`) on a TLS port only, with TLS links; ours reads
/// sentinel.conf or sentinel.toml (`format`).
fn start_tls_sentinel(
    root: &Path,
    name: &str,
    kind: SentinelKind,
    format: ConfFormat,
    ca: &Path,
    leaf: &Leaf,
    master: u16,
) -> Proc {
    let port = free_port();
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("{name}.log"));
    if format == ConfFormat::Toml {
        let conf = format!(
            "port = 0\ntls-port = {port}\nbind = [\"{HOST}\"]\ndata-dir = \".\"\nlogfile = \"{log}\"\n\
             tls-cert-file = \"{cert}\"\ntls-key-file = \"{key}\"\ntls-ca-cert-file = \"{ca}\"\n\
             tls-replication = true\ntls-auth-clients = \"yes\"\n\n[masters.{MASTER_NAME}]\nhost = \"{HOST}\"\n\
             port = {master}\nquorum = 2\ndown-after-milliseconds = 1000\nfailover-timeout = 10000\n",
            log = log.display(),
            cert = leaf.cert.display(),
            key = leaf.key.display(),
            ca = ca.display(),
        );
        let path = dir.join("sentinel.toml");
        fs::write(&path, conf).unwrap();
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_sentinel"));
        let mut p = Proc::launch(name, port, &dir, bin, vec![path.display().to_string()]);
        p.add_log(log);
        p.tail_lines = 60;
        return p;
    }
    let conf = format!(
        "port 0\ntls-port {port}\nbind {HOST}\ndir {dir}\nlogfile {log}\ndaemonize no\n{tls}\
         sentinel monitor {MASTER_NAME} {HOST} {master} 2\n\
         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
         sentinel failover-timeout {MASTER_NAME} 10000\n",
        dir = dir.display(),
        log = log.display(),
        tls = tls_lines(ca, leaf),
    );
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf).unwrap();
    let (prog, args) = match kind {
        SentinelKind::Ours => (PathBuf::from(env!("CARGO_BIN_EXE_sentinel")), vec![path.display().to_string()]),
        SentinelKind::Redis => (require_program("redis-server"), vec![path.display().to_string(), "--sentinel".into()]),
    };
    let mut p = Proc::launch(name, port, &dir, prog, args);
    p.add_log(log);
    p.tail_lines = 60;
    p
}

/// How `redis-cli` authenticates: CA only, or CA and a client certificate.
struct Client {
    ca: PathBuf,
    cert: Option<Leaf>,
}

impl Client {
    /// `redis-cli --tls ... -p port args`: its stdout, or its stderr/stdout on failure
    /// (redis-cli prints errors to stdout in some cases, hence both).
    fn cli(&self, port: u16, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(require_program("redis-cli"));
        cmd.args(["--tls", "--cacert"]).arg(&self.ca);
        if let Some(leaf) = &self.cert {
            cmd.arg("--cert").arg(&leaf.cert).arg("--key").arg(&leaf.key);
        }
        cmd.args(["-h", HOST, "-p", &port.to_string()]).args(args).stdin(Stdio::null());
        let out = cmd.output().map_err(|e| format!("redis-cli: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.success() && !stdout.starts_with("Could not connect") && !stdout.starts_with("Error") {
            Ok(stdout)
        } else {
            Err(format!("{stdout} {stderr}").trim().to_string())
        }
    }

    fn master_port(&self, port: u16) -> Result<u16, String> {
        let out = self.cli(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])?;
        let lines: Vec<&str> = out.lines().collect();
        match lines.as_slice() {
            [host, p] if *host == HOST => p.parse().map_err(|_| out.clone()),
            _ => Err(format!("unexpected reply {out:?}")),
        }
    }

    /// `SENTINEL SENTINELS`: the ports of the peers known.
    fn peer_ports(&self, port: u16) -> Result<Vec<String>, String> {
        let out = self.cli(port, &["SENTINEL", "SENTINELS", MASTER_NAME])?;
        let lines: Vec<&str> = out.lines().collect();
        Ok(lines.windows(2).filter(|w| w[0] == "port").map(|w| w[1].to_string()).collect())
    }
}

/// A raw plain-text PING to `port`: whatever came back before the server closed or
/// went quiet.
fn plain_ping(port: u16) -> String {
    let mut s = TcpStream::connect((HOST, port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(b"PING\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn tls_deployment_with_redis_tools_mixed_sentinels_and_a_failover() {
    let root = tempfile::Builder::new().prefix("sentinel-tls-").tempdir().unwrap();
    let certs = root.path().join("certs");
    fs::create_dir_all(&certs).unwrap();
    let ca = Ca::new(&certs, "ca");
    let server = ca.leaf("server");
    let client = Client { ca: ca.path.clone(), cert: Some(ca.leaf("client")) };

    step("master and replica replicating over TLS");
    let mut master = start_tls_redis(root.path(), "redis-a", &ca.path, &server, None);
    let replica = start_tls_redis(root.path(), "redis-b", &ca.path, &server, Some(master.port));
    wait_until(T_START, "the replica's link over TLS", || {
        let info = client.cli(replica.port, &["INFO", "replication"])?;
        info.contains("master_link_status:up").then_some(()).ok_or(info)
    });

    step("two of ours (sentinel.conf, sentinel.toml) and one redis-sentinel, TLS only, TLS links");
    let (ours, redis) = (SentinelKind::Ours, SentinelKind::Redis);
    let (conf, toml) = (ConfFormat::RedisConf, ConfFormat::Toml);
    let sentinels = [
        start_tls_sentinel(root.path(), "sentinel-0", ours, conf, &ca.path, &server, master.port),
        start_tls_sentinel(root.path(), "sentinel-1", ours, toml, &ca.path, &server, master.port),
        start_tls_sentinel(root.path(), "redis-sentinel", redis, conf, &ca.path, &server, master.port),
    ];
    let ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
    for &port in &ports {
        assert_eq!(wait_until(T_START, "get-master-addr-by-name over TLS", || client.master_port(port)), master.port);
    }

    step("every sentinel sees the other two through hello over TLS (announcing TLS ports)");
    for &port in &ports {
        let mut want: Vec<String> = ports.iter().filter(|&&p| p != port).map(u16::to_string).collect();
        want.sort();
        wait_until(T_DISCOVERY, &format!("sentinel :{port} to know its two peers"), || {
            let mut got = client.peer_ports(port)?;
            got.sort();
            (got == want).then_some(()).ok_or(format!("{got:?}, want {want:?}"))
        });
        wait_until(T_DISCOVERY, &format!("sentinel :{port} to know the replica"), || {
            let out = client.cli(port, &["SENTINEL", "REPLICAS", MASTER_NAME])?;
            out.contains(&replica.port.to_string()).then_some(()).ok_or(out)
        });
    }

    step("plain text on the TLS port gets no answer");
    let ours = ports[0];
    let answer = plain_ping(ours);
    assert!(!answer.contains("PONG"), "plain-text PING answered on the TLS port: {answer:?}");
    assert_eq!(client.cli(ours, &["PING"]).as_deref(), Ok("PONG"));

    step("a client without a certificate is refused (tls-auth-clients yes by default)");
    let anonymous = Client { ca: ca.path.clone(), cert: None };
    let refused = anonymous.cli(ours, &["PING"]);
    assert!(refused.as_ref().map_or(true, |out| !out.contains("PONG")), "no-cert client served: {refused:?}");

    step("redis-py with ssl=True");
    let leaf = client.cert.as_ref().unwrap();
    let has_redis_py = Command::new("python3").args(["-c", "import redis"]).output().is_ok_and(|o| o.status.success());
    if has_redis_py {
        let script = format!(
            "import redis\nr = redis.Redis(host='{HOST}', port={ours}, ssl=True, ssl_ca_certs='{}', \
             ssl_certfile='{}', ssl_keyfile='{}', socket_timeout=5)\n\
             print(r.execute_command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', '{MASTER_NAME}'))\n",
            ca.path.display(),
            leaf.cert.display(),
            leaf.key.display()
        );
        let out = Command::new("python3").arg("-c").arg(&script).output().expect("python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "redis-py failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("'{HOST}'")) && stdout.contains(&format!("'{}'", master.port)), "{stdout}");
    } else {
        skip("redis-py ssl=True", "python3 with redis-py is not installed (pip install redis)");
    }

    step("sentinel-cli --tls --cacert --cert --key, like redis-cli");
    let cli = |extra: &[&Path]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel-cli"));
        cmd.args(["-h", HOST, "-p", &ours.to_string(), "--tls"]);
        for (flag, path) in ["--cacert", "--cert", "--key"].iter().zip(extra) {
            cmd.arg(flag).arg(path);
        }
        let out = cmd.args(["master-addr", MASTER_NAME]).stdin(Stdio::null()).output().expect("sentinel-cli");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (ok, text) = cli(&[&ca.path, &leaf.cert, &leaf.key]);
    assert!(ok && text.trim() == format!("{HOST} {}", master.port), "{text}");
    let (ok, text) = cli(&[&ca.path]);
    assert!(!ok && !text.contains(&master.port.to_string()), "served without a client certificate: {text}");
    let (ok, text) = cli(&[]);
    assert!(!ok && text.contains("--cacert"), "{text}");

    step("failover over TLS: SIGKILL the master");
    master.kill9();
    for &port in &ports {
        let now = wait_until(T_FAILOVER, &format!("sentinel :{port} to switch to the replica"), || {
            let p = client.master_port(port)?;
            (p == replica.port).then_some(p).ok_or(format!("master still {p}"))
        });
        assert_eq!(now, replica.port);
    }
    for s in &sentinels[..2] {
        let log = fs::read_to_string(s.dir.join(format!("{}.log", s.name))).unwrap();
        assert!(log.contains("+switch-master"), "{}: no +switch-master in its log", s.name);
    }
    wait_until(T_FAILOVER, "the promoted replica to be a master", || {
        let info = client.cli(replica.port, &["INFO", "replication"])?;
        info.contains("role:master").then_some(()).ok_or(info)
    });
}

/// Starts our sentinel on `conf` (which must fail) and returns its output.
fn start_up_error(dir: &Path, conf: &str) -> String {
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg(&path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sentinel");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "started with {conf:?}: {text}");
    text
}

#[test]
fn bad_certificates_stop_the_start_up_with_the_file_named() {
    let root = tempfile::Builder::new().prefix("sentinel-tls-bad-").tempdir().unwrap();
    let dir = root.path();
    let ca = Ca::new(dir, "ca");
    let good = ca.leaf("good");
    let other = ca.leaf("other");
    let expired = ca.leaf_with("expired", |p| {
        p.not_before = rcgen::date_time_ymd(2001, 1, 1);
        p.not_after = rcgen::date_time_ymd(2002, 1, 1);
    });
    let old_ca = Ca::new_with(dir, "old-ca", |p| {
        p.not_before = rcgen::date_time_ymd(2001, 1, 1);
        p.not_after = rcgen::date_time_ymd(2002, 1, 1);
    });
    let garbage = dir.join("garbage.crt");
    fs::write(&garbage, "not a certificate\n").unwrap();
    let (port, nobody) = (free_port(), free_port());
    let conf = |cert: &Path, key: &Path| {
        format!(
            "port 0\ntls-port {port}\nbind {HOST}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
             sentinel monitor {MASTER_NAME} {HOST} {nobody} 2\n",
            cert.display(),
            key.display(),
            ca.path.display()
        )
    };

    let e = start_up_error(dir, &conf(&good.cert, &other.key));
    assert!(e.contains(&format!("tls-key-file {} does not match the certificate", other.key.display())), "{e}");
    let e = start_up_error(dir, &conf(&garbage, &good.key));
    assert!(e.contains(&format!("tls-cert-file {}: no certificate", garbage.display())), "{e}");
    let missing = dir.join("missing.crt");
    let e = start_up_error(dir, &conf(&missing, &good.key));
    assert!(e.contains(&format!("tls-cert-file {}: cannot read", missing.display())), "{e}");
    let e = start_up_error(dir, &conf(&expired.cert, &expired.key));
    assert!(e.contains(&format!("tls-cert-file {}: the certificate has expired", expired.cert.display())), "{e}");
    let e = start_up_error(
        dir,
        &conf(&good.cert, &good.key).replace(&*ca.path.to_string_lossy(), &old_ca.path.to_string_lossy()),
    );
    assert!(e.contains(&format!("tls-ca-cert-file {}: the certificate has expired", old_ca.path.display())), "{e}");
    let e = start_up_error(dir, &format!("{}tls-key-file-pass secret\n", conf(&good.cert, &good.key)));
    assert!(e.contains("encrypted private keys are not supported"), "{e}");
    let e = start_up_error(dir, &format!("{}tls-protocols \"TLSv1.1\"\n", conf(&good.cert, &good.key)));
    assert!(e.contains("TLSv1.1 is not supported"), "{e}");
    // Nothing asked for is dropped: none of these started a listener.
    assert!(TcpStream::connect((HOST, port)).is_err());
}

#[test]
fn sighup_reloads_the_certificates_and_keeps_them_when_the_new_ones_are_bad() {
    let root = tempfile::Builder::new().prefix("sentinel-tls-reload-").tempdir().unwrap();
    let dir = root.path();
    let ca1 = Ca::new(dir, "ca1");
    let ca2 = Ca::new(dir, "ca2");
    let live = Leaf { cert: dir.join("live.crt"), key: dir.join("live.key") };
    let first = ca1.leaf("first");
    let second = ca2.leaf("second");
    let install = |leaf: &Leaf| {
        fs::copy(&leaf.cert, &live.cert).unwrap();
        fs::copy(&leaf.key, &live.key).unwrap();
    };
    install(&first);
    // The server trusts both CAs (tls-ca-cert-dir); which one its own certificate comes
    // from is what the reload changes, seen from clients trusting only one.
    let cas = dir.join("cas");
    fs::create_dir(&cas).unwrap();
    fs::copy(&ca1.path, cas.join("ca1.pem")).unwrap();
    fs::copy(&ca2.path, cas.join("ca2.pem")).unwrap();
    fs::write(cas.join("README"), "not a certificate\n").unwrap();
    let (port, nobody) = (free_port(), free_port());
    let log = dir.join("sentinel.log");
    let conf = format!(
        "port 0\ntls-port {port}\nbind {HOST}\nlogfile {}\ntls-cert-file {}\ntls-key-file {}\n\
         tls-ca-cert-dir {}\ntls-auth-clients optional\nsentinel monitor {MASTER_NAME} {HOST} {nobody} 2\n",
        log.display(),
        live.cert.display(),
        live.key.display(),
        cas.display()
    );
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf).unwrap();
    let mut s = Proc::launch(
        "sentinel",
        port,
        dir,
        PathBuf::from(env!("CARGO_BIN_EXE_sentinel")),
        vec![path.display().to_string()],
    );
    s.add_log(log.clone());
    let trusts1 = Client { ca: ca1.path.clone(), cert: None };
    let trusts2 = Client { ca: ca2.path.clone(), cert: None };

    step("tls-auth-clients optional: a client without a certificate is served");
    assert_eq!(trusts1.cli(port, &["PING"]).as_deref(), Ok("PONG"));
    assert!(trusts2.cli(port, &["PING"]).is_err(), "a client trusting only CA 2 accepted CA 1's certificate");

    step("optional: a certificate presented is checked against the CA directory");
    let ca3 = Ca::new(dir, "ca3");
    let signed = |ca: &Ca, name: &str| Client { ca: ca1.path.clone(), cert: Some(ca.leaf(name)) };
    assert_eq!(signed(&ca2, "by-ca2").cli(port, &["PING"]).as_deref(), Ok("PONG"));
    assert!(
        signed(&ca3, "by-ca3").cli(port, &["PING"]).is_err(),
        "a client certificate from an unknown CA was accepted"
    );

    step("new certificate from CA 2, SIGHUP: new connections use it");
    install(&second);
    s.signal(1);
    wait_until(T_START, "the reloaded certificate to be served", || {
        trusts2.cli(port, &["PING"]).and_then(|o| (o == "PONG").then_some(()).ok_or(o))
    });
    assert!(trusts1.cli(port, &["PING"]).is_err(), "the old certificate is still served");

    step("a bad certificate and SIGHUP: refused with a log line, the previous one stays");
    fs::write(&live.cert, "garbage\n").unwrap();
    s.signal(1);
    wait_until(T_START, "the refused reload to be logged", || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        text.contains("TLS certificates not reloaded").then_some(()).ok_or_else(|| "not yet".to_string())
    });
    assert_eq!(trusts2.cli(port, &["PING"]).as_deref(), Ok("PONG"));
    assert!(s.is_running());
}

#[test]
fn tls_clients_count_against_maxclients() {
    let root = tempfile::Builder::new().prefix("sentinel-tls-max-").tempdir().unwrap();
    let dir = root.path();
    let ca = Ca::new(dir, "ca");
    let server = ca.leaf("server");
    let client = Client { ca: ca.path.clone(), cert: Some(ca.leaf("client")) };
    let (port, nobody) = (free_port(), free_port());
    let conf = format!(
        "port 0\ntls-port {port}\nbind {HOST}\nmaxclients 1\n{}sentinel monitor {MASTER_NAME} {HOST} {nobody} 2\n",
        tls_lines(&ca.path, &server)
    );
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sentinel"));
    let _s = Proc::launch("sentinel", port, dir, bin, vec![path.display().to_string()]);
    // Proc::launch's own probe connection may still hold the slot for a moment.
    wait_until(T_START, "a TLS PING", || client.cli(port, &["PING"]));

    step("a connection still in its handshake holds the only slot");
    let held = TcpStream::connect((HOST, port)).unwrap();
    wait_until(T_START, "the TLS client to be refused while the slot is held", || match client.cli(port, &["PING"]) {
        Err(e) => Ok(e),
        Ok(o) => Err(format!("served: {o}")),
    });
    drop(held);
    wait_until(T_START, "the slot to be free again", || client.cli(port, &["PING"]));
}
