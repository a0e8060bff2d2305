//! The deployment files we ship (issues 9 and 11): `docker/` (Dockerfile, compose file,
//! sentinel.conf), `deploy/kubernetes/` (manifests and their sentinel.conf) and the
//! configuration examples in README.md. No Docker engine or cluster exists on the
//! project's machines, so this proves what can be proven here:
//!
//! * every shipped sentinel.conf, and every full configuration in a README code block,
//!   loads unchanged (only port, `dir`, `bind` and the master's address rewritten to
//!   loopback) in our sentinel AND in Debian's `redis-sentinel` 7.0, each of which then
//!   lists the master in `SENTINEL MASTERS` (README `sentinel.toml` blocks: ours only);
//! * the YAML files parse (PyYAML, via `python3`) and their ports, paths, volumes, probes
//!   and commands agree with the conf and with the binaries' command lines;
//! * the compose topology (1 master, 2 replicas, 3 sentinels) starts from the compose
//!   file's own command lines as local processes, the sentinels find each other, the
//!   HTTP probes of the Kubernetes manifests answer 200 and the Dockerfile's HEALTHCHECK
//!   command passes.

mod common;

use common::*;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sentinel"))
}

fn cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sentinel-cli"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// Every YAML document of `rel` as JSON (PyYAML's safe loader, merge keys resolved).
/// `None` (after `skip`) when python3 or PyYAML is missing.
fn yaml_docs(rel: &str) -> Option<Vec<Json>> {
    let script = "import json,sys,yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let out = Command::new("python3").arg("-c").arg(script).arg(repo().join(rel)).output();
    match out {
        Ok(o) if o.status.success() => {
            Some(serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{rel}: bad JSON from PyYAML: {e}")))
        }
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named 'yaml'") => {
            skip(rel, "python3 has no yaml module (apt-get install python3-yaml)");
            None
        }
        Ok(o) => panic!("{rel} does not parse as YAML:\n{}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            skip(rel, &format!("cannot run python3: {e}"));
            None
        }
    }
}

fn s<'a>(v: &'a Json, path: &[&str]) -> &'a Json {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Json::Object(m) => m.get(*k),
            Json::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .unwrap_or_else(|| panic!("missing {path:?} in {v}"));
    }
    cur
}

fn text(v: &Json) -> String {
    match v {
        Json::String(t) => t.clone(),
        other => other.to_string(),
    }
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(text).collect()
}

/// `(name, host, port)` of the `sentinel monitor` line and the `port` of a sentinel.conf.
struct ConfFacts {
    master: (String, String, u16),
    port: u16,
}

fn conf_facts(conf: &str) -> ConfFacts {
    let mut master = None;
    let mut port = 26379;
    for line in conf.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["sentinel", "monitor", name, host, p, _quorum] => {
                master = Some((name.to_string(), host.to_string(), p.parse().expect("monitor port")))
            }
            ["port", p] => port = p.parse().expect("port"),
            _ => {}
        }
    }
    ConfFacts { master: master.expect("a `sentinel monitor` line"), port }
}

/// The conf with `port`, `dir`, `bind` and the monitored address moved to loopback; every
/// other line unchanged.
fn loopback_conf(conf: &str, port: u16, dir: &Path, master_port: u16) -> String {
    let mut out = format!("bind {HOST}\n");
    for line in conf.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let line = match w.as_slice() {
            ["port", _] => format!("port {port}"),
            ["dir", _] => format!("dir {}", dir.display()),
            ["bind", ..] => continue,
            ["sentinel", "monitor", name, _host, _p, quorum] => {
                format!("sentinel monitor {name} {HOST} {master_port} {quorum}")
            }
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Waits until the sentinel on `port` lists master `name` at the loopback address.
fn wait_lists_master(p: &mut Proc, name: &str, master_port: u16) {
    let port = p.port;
    wait_until(T_START, &format!("{} to list master {name} in SENTINEL MASTERS", p.name), || {
        let masters = sentinel_masters(port)?;
        let found = masters.iter().any(|m| {
            m.get("name").map(String::as_str) == Some(name)
                && m.get("ip").map(String::as_str) == Some(HOST)
                && m.get("port") == Some(&master_port.to_string())
        });
        if found {
            Ok(())
        } else {
            Err(format!("{masters:?}"))
        }
    });
    assert!(p.is_running(), "{} exited after loading its config\n{}", p.name, p.log_tails(30));
}

/// Loads `conf` (a Redis-format sentinel.conf) in `kind` with `extra_args`, as described at
/// the top of the file. Returns the running sentinel (and its master) for further checks.
fn load_conf(
    root: &Path,
    what: &str,
    kind: SentinelKind,
    conf: &str,
    extra_args: &[String],
) -> (Proc, Proc, ConfFacts) {
    let facts = conf_facts(conf);
    let tag = format!("{what}-{kind:?}").replace(['/', '.', ' '], "_");
    let master = start_redis(root, &format!("redis-{tag}"), None);
    let dir = root.join(&tag);
    fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let path = dir.join("sentinel.conf");
    fs::write(&path, loopback_conf(conf, port, &dir, master.port)).unwrap();
    let program = match kind {
        SentinelKind::Ours => ours(),
        SentinelKind::Redis => require_program("redis-sentinel"),
    };
    let mut args = vec![path.display().to_string()];
    args.extend(extra_args.iter().cloned());
    let mut p = Proc::launch(&format!("sentinel-{tag}"), port, &dir, program, args);
    wait_lists_master(&mut p, &facts.master.0, master.port);
    step(&format!("{what}: loaded by {kind:?}, SENTINEL MASTERS lists {}", facts.master.0));
    (p, master, facts)
}

/// README code blocks: `(language, text)` of each fenced block.
fn readme_blocks() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in read("README.md").lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None => current = Some((rest.trim().to_string(), String::new())),
            }
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(t);
            body.push('\n');
        }
    }
    blocks
}

/// One HTTP/1.0 GET on loopback: the status code.
fn http_status(port: u16, path: &str) -> Result<u16, String> {
    let mut c = TcpStream::connect((HOST, port)).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
    write!(c, "GET {path} HTTP/1.0\r\nHost: {HOST}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut reply = String::new();
    c.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    reply.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("not an HTTP reply: {reply:?}"))
}

/// The sentinel's argv after `exec` in a `sh -c` command (compose) or a plain argv (k8s):
/// `sentinel <conf> [--flag value]...`. Returns `(conf path, flags)`.
fn sentinel_argv(argv: &[String]) -> (String, BTreeMap<String, String>) {
    let words: Vec<String> = match argv {
        [sh, c, script] if sh == "sh" && c == "-c" => {
            let exec = script.split("exec ").nth(1).unwrap_or_else(|| panic!("no `exec` in {script}"));
            exec.split_whitespace().map(String::from).collect()
        }
        _ => argv.to_vec(),
    };
    assert_eq!(words[0], "sentinel", "the command must run our binary: {words:?}");
    let flags = words[2..].chunks(2).map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default())).collect();
    (words[1].clone(), flags)
}

/// The flags rewritten to loopback: `--http-port` to `http_port`, `--http-bind` to HOST.
/// Panics on a flag our binary does not have (the daemon's own `--help` is the judge).
fn loopback_flags(flags: &BTreeMap<String, String>, http_port: u16) -> Vec<String> {
    let help = Command::new(ours()).arg("--help").output().expect("sentinel --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let mut out = Vec::new();
    for (flag, value) in flags {
        assert!(help.contains(&format!("{flag} ")), "`{flag}` is not an option of our sentinel:\n{help}");
        let value = match flag.as_str() {
            "--http-port" => http_port.to_string(),
            "--http-bind" => HOST.to_string(),
            _ => value.clone(),
        };
        out.push(flag.clone());
        out.push(value);
    }
    out
}

#[test]
fn shipped_sentinel_confs_load_in_both() {
    let root = tempfile::Builder::new().prefix("sentinel-deploy-").tempdir().unwrap();
    let mut confs = vec![
        ("docker/sentinel.conf".to_string(), read("docker/sentinel.conf")),
        ("deploy/kubernetes/sentinel.conf".to_string(), read("deploy/kubernetes/sentinel.conf")),
    ];
    let mut tomls = Vec::new();
    for (i, (lang, body)) in readme_blocks().into_iter().enumerate() {
        if body.lines().any(|l| l.starts_with("sentinel monitor ")) {
            confs.push((format!("README block {i}"), body));
        } else if lang == "toml" && body.contains("[masters.") && body.contains("host =") {
            tomls.push((format!("README block {i}"), body));
        }
    }
    assert!(confs.len() >= 3, "the README's sentinel.conf example was not found");
    assert!(!tomls.is_empty(), "the README's sentinel.toml example was not found");
    for (what, conf) in &confs {
        for kind in [SentinelKind::Ours, SentinelKind::Redis] {
            let (mut p, _m, _) = load_conf(root.path(), what, kind, conf, &[]);
            p.kill9();
        }
    }
    for (what, body) in &tomls {
        let master = start_redis(root.path(), "redis-toml", None);
        let dir = root.path().join("toml");
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut toml: toml::Table = body.parse().unwrap_or_else(|e| panic!("{what} is not TOML: {e}"));
        let name = toml["masters"].as_table().unwrap().keys().next().unwrap().clone();
        let m = toml["masters"].as_table_mut().unwrap().get_mut(&name).unwrap().as_table_mut().unwrap();
        m.insert("host".into(), HOST.into());
        m.insert("port".into(), i64::from(master.port).into());
        toml.insert("port".into(), i64::from(port).into());
        toml.insert("bind".into(), toml::Value::Array(vec![HOST.into()]));
        let path = dir.join("sentinel.toml");
        fs::write(&path, toml.to_string()).unwrap();
        let mut p = Proc::launch("sentinel-toml", port, &dir, ours(), vec![path.display().to_string()]);
        wait_lists_master(&mut p, &name, master.port);
        step(&format!("{what} (sentinel.toml): loaded by Ours"));
    }
}

#[test]
fn compose_file_agrees_with_its_conf_and_starts_as_local_processes() {
    let Some(docs) = yaml_docs("docker/docker-compose.yml") else { return };
    let compose = &docs[0];
    let conf = read("docker/sentinel.conf");
    let facts = conf_facts(&conf);
    let services = s(compose, &["services"]).as_object().unwrap();
    let ip = |svc: &str| text(s(compose, &["services", svc, "networks", "sentinel-net", "ipv4_address"]));
    let redis_port = |argv: &[String]| -> u16 {
        let i = argv.iter().position(|a| a == "--port").expect("--port in a redis-server command");
        argv[i + 1].parse().unwrap()
    };

    // Redis services: the master is where the conf says; each replica follows it.
    let mut master_svc = None;
    let mut replica_svcs = Vec::new();
    let mut sentinel_svcs = Vec::new();
    for (name, svc) in services {
        let argv = strings(s(svc, &["command"]));
        if argv[0] == "redis-server" {
            if argv.contains(&"--replicaof".to_string()) {
                replica_svcs.push(name.clone());
            } else {
                master_svc = Some(name.clone());
            }
        } else {
            sentinel_svcs.push(name.clone());
        }
    }
    let master_svc = master_svc.expect("a redis master service");
    assert_eq!((replica_svcs.len(), sentinel_svcs.len()), (2, 3), "1 master + 2 replicas + 3 sentinels");
    let master_argv = strings(s(compose, &["services", &master_svc, "command"]));
    assert_eq!((ip(&master_svc), redis_port(&master_argv)), (facts.master.1.clone(), facts.master.2));
    for r in &replica_svcs {
        let argv = strings(s(compose, &["services", r, "command"]));
        let i = argv.iter().position(|a| a == "--replicaof").unwrap();
        assert_eq!((argv[i + 1].clone(), argv[i + 2].parse::<u16>().unwrap()), (ip(&master_svc), facts.master.2));
    }

    // Sentinel services: the mounted file is docker/sentinel.conf, at the path the command
    // copies from; the published container ports are the conf's port and --http-port.
    let dockerfile = read("docker/Dockerfile");
    let mut http_container_port = None;
    for name in &sentinel_svcs {
        let svc = &services[name];
        let argv = strings(s(svc, &["command"]));
        let (conf_path, flags) = sentinel_argv(&argv);
        let volumes = strings(s(svc, &["volumes"]));
        let (src, dst) = volumes[0].split_once(':').unwrap();
        let dst = dst.trim_end_matches(":ro");
        assert!(repo().join("docker").join(src).is_file(), "{name}: volume source {src} missing");
        assert_eq!(fs::read_to_string(repo().join("docker").join(src)).unwrap(), conf);
        assert!(argv[2].contains(&format!("cp {dst} {conf_path}")), "{name}: the command must copy {dst}");
        let http: u16 = flags["--http-port"].parse().unwrap();
        http_container_port = Some(http);
        let published: Vec<u16> =
            strings(s(svc, &["ports"])).iter().map(|p| p.rsplit(':').next().unwrap().parse().unwrap()).collect();
        assert_eq!(published, vec![facts.port, http], "{name}: published container ports");
        assert!(dockerfile.contains(&format!("EXPOSE {} {http}", facts.port)), "Dockerfile EXPOSE");
    }
    // The binaries the Dockerfile copies are this package's binaries.
    for bin in ["sentinel", "sentinel-cli"] {
        assert!(dockerfile.contains(&format!("/src/target/release/{bin} /usr/local/bin/{bin}")));
    }
    assert!(dockerfile.contains("CMD sentinel-cli -p 26379 check"), "the HEALTHCHECK runs sentinel-cli check");
    let _ = http_container_port;

    // The same topology from the compose command lines, on loopback.
    let root = tempfile::Builder::new().prefix("sentinel-compose-").tempdir().unwrap();
    let mut port_of: BTreeMap<String, u16> = BTreeMap::new();
    let mut procs = Vec::new();
    for name in std::iter::once(&master_svc).chain(&replica_svcs) {
        let mut argv = strings(s(compose, &["services", name, "command"]));
        let port = free_port();
        port_of.insert(name.clone(), port);
        let i = argv.iter().position(|a| a == "--port").unwrap();
        argv[i + 1] = port.to_string();
        if let Some(i) = argv.iter().position(|a| a == "--replicaof") {
            argv[i + 1] = HOST.into();
            argv[i + 2] = port_of[&master_svc].to_string();
        }
        argv.extend(["--bind".into(), HOST.into()]);
        let dir = root.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        procs.push(Proc::launch(name, port, &dir, require_program(&argv[0]), argv[1..].to_vec()));
    }
    let mut sentinels = Vec::new();
    for name in &sentinel_svcs {
        let (_, flags) = sentinel_argv(&strings(s(compose, &["services", name, "command"])));
        let dir = root.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        let (port, http) = (free_port(), free_port());
        let path = dir.join("sentinel.conf");
        fs::write(&path, loopback_conf(&conf, port, &dir, port_of[&master_svc])).unwrap();
        let mut args = vec![path.display().to_string()];
        args.extend(loopback_flags(&flags, http));
        sentinels.push((Proc::launch(name, port, &dir, ours(), args), http));
    }
    for (p, http) in &sentinels {
        let port = p.port;
        wait_until(T_DISCOVERY, &format!("{} to see 2 replicas and 2 sentinels", p.name), || {
            let m = sentinel_master(port, &facts.master.0)?;
            let seen = (m.get("num-slaves").cloned(), m.get("num-other-sentinels").cloned());
            if seen == (Some("2".into()), Some("2".into())) {
                Ok(())
            } else {
                Err(format!("{seen:?}"))
            }
        });
        assert_eq!(http_status(*http, "/health"), Ok(200), "{}: /health", p.name);
        wait_until(T_DISCOVERY, &format!("{}: /ready to answer 200", p.name), || match http_status(*http, "/ready") {
            Ok(200) => Ok(()),
            other => Err(format!("{other:?}")),
        });
        // The Dockerfile's HEALTHCHECK: exit status 0 or 1 is healthy.
        wait_until(T_DISCOVERY, &format!("{}: sentinel-cli check to pass", p.name), || {
            let out = Command::new(cli()).args(["-p", &port.to_string(), "check"]).output().unwrap();
            match out.status.code() {
                Some(0 | 1) => Ok(()),
                c => Err(format!("{c:?}: {}", String::from_utf8_lossy(&out.stdout))),
            }
        });
    }
    step("compose topology started from the compose command lines; /health and /ready 200; sentinel-cli check passes");
}

#[test]
fn kubernetes_manifests_agree_with_conf_and_binaries() {
    let Some(sentinel_docs) = yaml_docs("deploy/kubernetes/sentinel.yaml") else { return };
    let Some(redis_docs) = yaml_docs("deploy/kubernetes/redis.yaml") else { return };
    let kind_of = |docs: &[Json], kind: &str| -> Json {
        docs.iter().find(|d| d["kind"] == kind).cloned().unwrap_or_else(|| panic!("no {kind}"))
    };
    let conf = read("deploy/kubernetes/sentinel.conf");
    let facts = conf_facts(&conf);

    let cm = kind_of(&sentinel_docs, "ConfigMap");
    assert_eq!(text(s(&cm, &["data", "sentinel.conf"])), conf, "ConfigMap and deploy/kubernetes/sentinel.conf differ");
    let svc = kind_of(&sentinel_docs, "Service");
    let sts = kind_of(&sentinel_docs, "StatefulSet");
    let pdb = kind_of(&sentinel_docs, "PodDisruptionBudget");
    assert_eq!(text(s(&svc, &["spec", "clusterIP"])), "None", "headless Service");
    assert_eq!(s(&sts, &["spec", "serviceName"]), s(&svc, &["metadata", "name"]));
    let labels = s(&sts, &["spec", "template", "metadata", "labels"]);
    assert_eq!(s(&svc, &["spec", "selector"]), labels);
    assert_eq!(s(&pdb, &["spec", "selector", "matchLabels"]), labels);
    assert_eq!(s(&sts, &["spec", "selector", "matchLabels"]), labels);
    let replicas = s(&sts, &["spec", "replicas"]).as_u64().unwrap();
    let min_available = s(&pdb, &["spec", "minAvailable"]).as_u64().unwrap();
    let quorum: u64 = conf
        .lines()
        .find_map(|l| l.strip_prefix("sentinel monitor "))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(min_available >= quorum && min_available > replicas / 2, "PDB keeps a quorum and a majority");

    let pod = s(&sts, &["spec", "template", "spec"]);
    let c = s(pod, &["containers", "0"]);
    let (conf_path, flags) = sentinel_argv(&strings(s(c, &["command"])));
    let ports: BTreeMap<String, u64> = s(c, &["ports"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (text(s(p, &["name"])), s(p, &["containerPort"]).as_u64().unwrap()))
        .collect();
    assert_eq!(ports["sentinel"], u64::from(facts.port), "containerPort `sentinel` vs the conf's port");
    assert_eq!(ports["http"].to_string(), flags["--http-port"], "containerPort `http` vs --http-port");
    for p in s(&svc, &["spec", "ports"]).as_array().unwrap() {
        assert!(ports.contains_key(&text(s(p, &["targetPort"]))), "Service targetPort {p}");
    }
    let mut probes = Vec::new();
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = s(c, &[probe, "httpGet"]);
        assert!(ports.contains_key(&text(s(get, &["port"]))), "{probe} port");
        probes.push(text(s(get, &["path"])));
    }
    assert_eq!(probes, ["/health", "/ready"]);
    // The init container copies from the ConfigMap's mount to where the command reads.
    let init = s(pod, &["initContainers", "0"]);
    let script = text(s(init, &["command", "2"]));
    let mounts: BTreeMap<String, String> = s(init, &["volumeMounts"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (text(s(m, &["name"])), text(s(m, &["mountPath"]))))
        .collect();
    assert!(script.contains(&format!("cp {}/sentinel.conf {conf_path}", mounts["config"])), "{script}");
    assert!(conf_path.starts_with(&mounts["data"]));
    // The master `redis-0.<service>` exists in redis.yaml; its pre-stop hook asks the
    // sentinel Service, on the conf's port, for a coordinated failover of that master.
    let redis_svc = kind_of(&redis_docs, "Service");
    let redis_sts = kind_of(&redis_docs, "StatefulSet");
    let redis_name = text(s(&redis_sts, &["metadata", "name"]));
    assert_eq!(facts.master.1, format!("{redis_name}-0.{}", text(s(&redis_svc, &["metadata", "name"]))));
    let hook = text(s(
        &redis_sts,
        &["spec", "template", "spec", "containers", "0", "lifecycle", "preStop", "exec", "command", "2"],
    ));
    let want = format!(
        "redis-cli -h {} -p {} sentinel failover {} coordinated",
        text(s(&svc, &["metadata", "name"])),
        facts.port,
        facts.master.0
    );
    assert!(hook.contains(&want), "pre-stop hook must run `{want}`:\n{hook}");

    // The container's command line, on loopback: the probes answer 200.
    let root = tempfile::Builder::new().prefix("sentinel-k8s-").tempdir().unwrap();
    let http = free_port();
    let extra = loopback_flags(&flags, http);
    let (p, _master, _) = load_conf(root.path(), "k8s", SentinelKind::Ours, &conf, &extra);
    // Alone, this sentinel cannot reach the quorum (2): /ready says 503, not 404.
    for (path, want) in [(&probes[0], 200), (&probes[1], 503)] {
        wait_until(T_DISCOVERY, &format!("{path} to answer {want}"), || match http_status(http, path) {
            Ok(c) if c == want => Ok(()),
            other => Err(format!("{other:?}")),
        });
    }
    drop(p);
    step("kubernetes manifests consistent; the container's command line serves /health (200) and /ready (503 alone)");
}

/// redis.yaml's container command and pre-stop hook, run as they are (only the port, the
/// pod's name and the peer addresses moved to loopback): redis-0 starts as master,
/// redis-1 replicates it, one sentinel of deploy/kubernetes/sentinel.conf watches them,
/// and the hook run on redis-0 hands the master over with a coordinated failover and
/// returns once redis-0 is a replica.
#[test]
fn kubernetes_pre_stop_hook_hands_the_master_over() {
    let Some(redis_docs) = yaml_docs("deploy/kubernetes/redis.yaml") else { return };
    let sts = redis_docs.iter().find(|d| d["kind"] == "StatefulSet").expect("StatefulSet");
    let c = s(sts, &["spec", "template", "spec", "containers", "0"]);
    let script = text(s(c, &["command", "2"]));
    let hook = text(s(c, &["lifecycle", "preStop", "exec", "command", "2"]));
    let conf = read("deploy/kubernetes/sentinel.conf");
    let facts = conf_facts(&conf);

    let root = tempfile::Builder::new().prefix("sentinel-k8s-hook-").tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let mut pods = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let pod = format!("redis-{i}");
        let dir = root.path().join(&pod);
        fs::create_dir_all(&dir).unwrap();
        let local = script
            .replace("\"$POD_NAME.redis\"", HOST)
            .replace("$POD_NAME", &pod)
            .replace("redis-0.redis 6379", &format!("{HOST} {}", ports[0]))
            .replace("--port 6379", &format!("--port {port} --bind {HOST} --save '' --appendonly no"));
        pods.push(Proc::launch(&pod, *port, &dir, PathBuf::from("sh"), vec!["-c".into(), local]));
    }
    wait_for(T_START, "redis-1 to replicate redis-0", || {
        let i = info(ports[1], "replication").unwrap_or_default();
        (info_field(&i, "master_link_status").as_deref() == Some("up"), i)
    });
    let dir = root.path().join("sentinel-0");
    fs::create_dir_all(&dir).unwrap();
    let sport = free_port();
    let path = dir.join("sentinel.conf");
    fs::write(&path, loopback_conf(&conf, sport, &dir, ports[0])).unwrap();
    let _sentinel = Proc::launch("sentinel-0", sport, &dir, ours(), vec![path.display().to_string()]);
    wait_replicas_ready(sport);
    assert_eq!(facts.master.0, MASTER_NAME);

    // The hook on a replica does nothing; on the master it hands over.
    let run_hook = |port: u16| {
        let local = hook
            .replace("-h sentinel -p 26379", &format!("-h {HOST} -p {sport}"))
            .replace("-p 6379", &format!("-p {port}"));
        Command::new("sh").arg("-c").arg(local).output().expect("run the pre-stop hook")
    };
    let out = run_hook(ports[1]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        master_addr(sport, MASTER_NAME),
        Ok(Some((HOST.to_string(), ports[0]))),
        "a replica's hook changed nothing"
    );
    let out = run_hook(ports[0]);
    assert!(out.status.success(), "pre-stop hook failed: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"), "SENTINEL FAILOVER reply: {out:?}");
    assert_eq!(role(ports[0]).as_deref(), Ok("slave"), "the hook returns once redis-0 is a replica");
    wait_until(T_FAILOVER, "the sentinel to name redis-1", || match master_addr(sport, MASTER_NAME)? {
        Some((_, p)) if p == ports[1] => Ok(()),
        other => Err(format!("{other:?}")),
    });
    let timeline = format!("{:?}", query(sport, &["SENTINEL", "TIMELINE", MASTER_NAME]).unwrap());
    assert!(timeline.contains("+failover-state-send-failover"), "not a coordinated failover: {timeline}");
    step("redis.yaml: pods started from their command; the pre-stop hook on the master handed it over (COORDINATED)");
}
