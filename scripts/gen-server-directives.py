#!/usr/bin/env python3
"""Regenerates src/config/server_directives.rs: every non-`sentinel` directive a Redis 7.0
sentinel.conf may carry, with its arity and the value check Redis applies, so that our
reader accepts exactly what `redis-sentinel` accepts (issue 9, item 1).

Usage (from the repository root, redis-server 7.0 installed):
    scripts/gen-server-directives.py > src/config/server_directives.rs && cargo fmt

How the table is made:
* names: `CONFIG GET *` of a throw-away `redis-server` on a free loopback port, plus the
  names Redis only accepts in a file (FILE_ONLY below: `include`, `rename-command`, ...),
  plus Redis's hidden configs and Valkey 8's new/renamed names (VALKEY8, copied from
  Valkey 8.0's config.c static_configs table, since no Valkey binary is installed here);
* kinds: every name is probed by starting `redis-server` on a one-line config followed by
  a line Redis always refuses (`zz-bad-directive 1`): if Redis complains about line 2, line
  1 was accepted. A nonsense value tells the type from Redis's own error message (`yes`/`no`,
  integer, octal, enum with its value list); out-of-range integers give the bounds; `1kb`
  tells memory units apart; two nonsense arguments tell multi-argument configs apart.
  The process always exits at the config error, so nothing is ever served.
"""
import os, re, socket, subprocess, sys, tempfile, time

# Redis only accepts these in a config file (config.c's special cases), with (min, max) argc
# counted without the directive itself; None = unbounded.
FILE_ONLY = {
    "include": (1, 1),
    "rename-command": (2, 2),
    "user": (1, None),
    "loadmodule": (1, None),
    # deprecated, accepted and ignored by Redis 7.0 (config.c deprecated_configs)
    "list-max-ziplist-entries": (1, 1),
    "list-max-ziplist-value": (1, 1),
    "lua-replicate-commands": (1, 1),
}
# Hidden Redis 7.0 configs (HIDDEN_CONFIG: accepted in a file, absent from CONFIG GET *).
HIDDEN = ["use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period",
          "loading-process-events-interval-bytes", "aof-disable-auto-gc"]
# Valkey 8 names Redis 7.0 does not know: (name, kind) in the form emitted below.
VALKEY8 = [
    ("primaryauth", "Kind::Str"),
    ("primaryuser", "Kind::Str"),
    ("extended-redis-compatibility", "Kind::Bool"),
    ("max-new-connections-per-cycle", "Kind::Int { min: 1, max: 1000, memory: false, percent: false }"),
    ("max-new-tls-connections-per-cycle", "Kind::Int { min: 1, max: 1000, memory: false, percent: false }"),
    ("set-max-listpack-entries", "Kind::Int { min: 0, max: 9223372036854775807, memory: false, percent: false }"),
    ("set-max-listpack-value", "Kind::Int { min: 0, max: 9223372036854775807, memory: false, percent: false }"),
    ("cluster-announce-human-nodename", "Kind::Str"),
    ("locale-collate", "Kind::Str"),
    ("server-cpulist", "Kind::Str"),
    ("bio-cpulist", "Kind::Str"),
    ("aof-rewrite-cpulist", "Kind::Str"),
    ("bgsave-cpulist", "Kind::Str"),
    ("cluster-ping-interval", "Kind::Int { min: 0, max: 9223372036854775807, memory: false, percent: false }"),
    ("debug-assert-enabled", "Kind::Bool"),
]

tmp = tempfile.mkdtemp(prefix="gen-directives-")


def probe(line):
    """None if redis-server accepts `line`, else its error message."""
    conf = os.path.join(tmp, "probe.conf")
    with open(conf, "w") as f:
        f.write("dir %s\n%s\nzz-bad-directive 1\n" % (tmp, line))
    p = subprocess.run(["redis-server", conf], capture_output=True, text=True, timeout=10, cwd=tmp)
    out = (p.stdout + p.stderr).strip().splitlines()
    m = [i for i, l in enumerate(out) if l.startswith("Reading the configuration file, at line")]
    if not m:
        return "fatal: " + (out[-1] if out else "?")
    at = int(out[m[-1]].rsplit(" ", 1)[1])
    return None if at == 3 else out[-1]


def config_names():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = socket.create_connection(("127.0.0.1", port)); break
            except OSError:
                time.sleep(0.05)
        c.sendall(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\n*\r\n")
        f = c.makefile("rb")
        n = int(f.readline()[1:])
        vals = []
        for _ in range(n):
            ln = int(f.readline()[1:]); vals.append(f.read(ln + 2)[:-2].decode())
        c.close()
        return sorted(set(vals[0::2]))
    finally:
        srv.kill(); srv.wait()


BIG = "9223372036854775807"


def kind_of(name):
    err = probe("%s zz-probe" % name)
    if name in ("replicaof", "slaveof"):
        return "Kind::Special", 2, 2
    single = ("wrong number of arguments", "Bad directive or wrong number of arguments")
    multi = any(probe(name + " zz-probe" * n) not in single for n in (2, 3))
    lo, hi = (1, None) if multi else (1, 1)
    if err is None:
        return "Kind::Str", lo, hi
    if err == "argument must be 'yes' or 'no'":
        return "Kind::Bool", lo, hi
    m = re.match(r"argument\(s\) must be one of the following: (.*)", err)
    if m:
        vals = m.group(1).split(", ")
        return "Kind::Enum(&[%s])" % ", ".join('"%s"' % v for v in vals), lo, hi
    if err == "argument couldn't be parsed as an octal number":
        return "Kind::Octal", lo, hi
    if err in ("argument couldn't be parsed into an integer", "argument must be a memory value",
               "argument must be a memory or percent value"):
        memory = err != "argument couldn't be parsed into an integer"
        percent = err == "argument must be a memory or percent value"
        mn, mx = None, None
        for v in (BIG, "-" + BIG, "0", "1"):
            e = probe("%s %s" % (name, v)) or ""
            r = re.search(r"between (-?\d+) and (-?\d+)", e)
            if r:
                mn, mx = int(r.group(1)), int(r.group(2)); break
        if mn is None:
            mn, mx = -int(BIG) - 1, int(BIG)
        return ("Kind::Int { min: %d, max: %d, memory: %s, percent: %s }"
                % (max(mn, 0) if memory else mn, mx, str(memory).lower(), str(percent).lower())), lo, hi
    # save, client-output-buffer-limit, notify-keyspace-events, dir, bind, ...: own parsers.
    return "Kind::Special", lo, hi


def fmt_max(hi):
    return "usize::MAX" if hi is None else str(hi)


rows = []
names = config_names()
for n in names:
    k, lo, hi = kind_of(n)
    rows.append((n, k, lo, hi, "Origin::Redis"))
for n in HIDDEN:
    if n in names:
        continue
    if probe("%s zz-probe" % n) == "Bad directive or wrong number of arguments":
        continue  # not in this build
    k, lo, hi = kind_of(n)
    rows.append((n, k, lo, hi, "Origin::Redis"))
for n, (lo, hi) in FILE_ONLY.items():
    rows.append((n, "Kind::Special", lo, hi, "Origin::Redis"))
known = {r[0] for r in rows}
for n, k in VALKEY8:
    if n not in known:
        rows.append((n, k, 1, 1, "Origin::Valkey"))
rows.sort()

ver = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
print("// @generated by scripts/gen-server-directives.py from `%s`; do not edit." % ver)
print("// The non-`sentinel` directives a sentinel.conf may carry: name, value check, arity")
print("// (arguments after the name) and origin. See src/config/redis_conf.rs for their use.")
print()
print("use super::redis_conf::{Directive, Kind, Origin};")
print()
print("pub(crate) const DIRECTIVES: &[Directive] = &[")
for n, k, lo, hi, o in rows:
    print('    Directive { name: "%s", kind: %s, min_args: %d, max_args: %s, origin: %s },'
          % (n, k, lo, fmt_max(hi), o))
print("];")
