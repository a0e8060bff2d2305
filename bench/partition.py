"""Partition benchmark (issue 8): the master cut off from the majority, ours vs redis-sentinel.

    python3 bench/partition.py --runs 5 --hold 8          # standalone (root, ip(8), redis-py)
    python3 bench/run.py --parts partition --partition-runs 5 --hold 8

Layout (all inside network namespaces on the fault lab's subnet 10.213.0.0/24, under the
lab's lock /run/sentinel-faultlab.lock so it never runs at the same time as
tests/faultlab.rs; nothing in the root namespace but an `unreachable` route for the
subnet while the namespaces exist):

    sbench-a  10.213.0.1   master, sentinel 1 (unless --no-sentinel-with-master),
                           writers m and mw (the master's side)
    sbench-b  10.213.0.2   replica 1, replica 2, sentinels 2 and 3 (and 1 with
                           --no-sentinel-with-master), writers j and jw (the majority's side)
    sbench-hub             bridge br0; the hub ends of the two veth pairs

The namespaces have no default route; the orchestrator reaches their addresses only from
threads that entered a namespace with setns(2) (so every socket it opens is inside one).
The partition sets the bridge port of sbench-a's hub end to "disabled" (frames dropped silently);
the heal sets it back to "forwarding".

Implementations, interleaved run by run: Debian's `redis-sentinel`, ours, and ours with
`sentinel write-lease mymaster 1` (when the binary has the option).

Scenario per run: start everything, wait for discovery; four writers (redis-py
`Sentinel.master_for` over all 3 sentinels, 200 ms timeouts; one `SET` of a fresh key every
5 ms; `mw` and `jw` follow each acknowledged SET with `WAIT 1 100`) write for 1 s; cut for
`--hold` s (with the lease: only once the master has `min-replicas-to-write 1`); heal; watch until every sentinel agrees on the master address and config epoch
and the old master reports the replica role, and at least `--watch` s (20) after the heal;
stop the writers and look every acknowledged key up on the final master.

Figures per run: failovers (`+promoted-slave` events, from a PSUBSCRIBE on every sentinel
inside its namespace; also those after the heal; a run where nothing was promoted and
every sentinel still has the old master at config epoch 0 after the watch counts as 0
failovers, not as a failed run), replica promoted after the cut (the
first replica seen as master: the successor), heal -> every sentinel agrees,
heal -> old master a replica (ROLE polled every 25 ms), dual-master window (the old
master's last acknowledged write minus the successor's first, one clock: this process's;
negative = no overlap),
acknowledged writes lost per side (acknowledged but absent from the final master), and
the same for the writes `WAIT 1` confirmed.
"""

import argparse
import atexit
import ctypes
import fcntl
import ipaddress
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import tail  # noqa: E402

import redis  # noqa: E402
from redis.sentinel import Sentinel  # noqa: E402

NAME = "mymaster"
SUBNET = "10.213.0.0/24"  # the fault lab's subnet (tests/lab/net.rs)
LOCK_PATH = "/run/sentinel-faultlab.lock"  # the fault lab's lock: one lab user at a time
A_IP, B_IP = "10.213.0.1", "10.213.0.2"
NS_HUB, NS_A, NS_B = "sbench-hub", "sbench-a", "sbench-b"
NAMESPACES = (NS_HUB, NS_A, NS_B)
PACE = 0.005  # one write every 5 ms at most per writer
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
LABELS = {"ours": "ours", "ours-lease": "ours, write-lease 1", "redis": "redis-sentinel"}


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def enter(ns):
    """Move the calling thread (only it) into network namespace ns."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {ns}: {os.strerror(e)}")
    finally:
        os.close(fd)


def in_ns(ns, fn, timeout=90):
    """Run fn() in a fresh thread inside ns; bounded."""
    box = {}

    def body():
        try:
            enter(ns)
            box["v"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["e"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"in {ns}: no answer within {timeout}s")
    if "e" in box:
        raise box["e"]
    return box.get("v")


# ------------------------------------------------------------------- namespaces --

def teardown():
    existing = sh("ip", "netns", "list", check=False)
    for ns in NAMESPACES:
        if any(line.split()[0] == ns for line in existing.splitlines() if line.strip()):
            # Only processes of our own, uniquely named namespaces (leftovers of this bench).
            for pid in sh("ip", "netns", "pids", ns, check=False).split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
    if "unreachable" in sh("ip", "route", "show", SUBNET, check=False):
        sh("ip", "route", "del", "unreachable", SUBNET, check=False)


def check_subnet_unused():
    net = ipaddress.ip_network(SUBNET)
    for line in sh("ip", "-4", "route", "show", "table", "all").splitlines():
        tok = line.split()
        dst = tok[1] if tok and tok[0] in ("unreachable", "local", "broadcast", "blackhole", "prohibit") else tok[0]
        if dst == "default":
            continue
        try:
            if ipaddress.ip_network(dst, strict=False).overlaps(net):
                raise RuntimeError(f"test subnet {SUBNET} overlaps a route of this machine: {line}")
        except ValueError:
            continue


def setup():
    teardown()
    check_subnet_unused()
    sh("ip", "route", "add", "unreachable", SUBNET)
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", NS_HUB, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", NS_HUB, "link", "set", "br0", "up")
    for ns, side, addr in ((NS_A, "a", A_IP), (NS_B, "b", B_IP)):
        sh("ip", "link", "add", f"sbench-{side}0", "netns", ns, "type", "veth",
           "peer", "name", f"sbench-{side}1", "netns", NS_HUB)
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", f"sbench-{side}0")
        sh("ip", "-n", ns, "link", "set", f"sbench-{side}0", "up")
        sh("ip", "-n", NS_HUB, "link", "set", f"sbench-{side}1", "master", "br0")
        sh("ip", "-n", NS_HUB, "link", "set", f"sbench-{side}1", "up")
    for ns in (NS_A, NS_B):
        if "default" in sh("ip", "-n", ns, "route"):
            raise RuntimeError(f"{ns} has a default route")


def cut(down):
    """Cuts (or heals) side A off the hub bridge by setting its bridge port's state:
    disabled (0) drops every frame silently, forwarding (3) passes them again, both at
    once. Taking the veth down instead adds a kernel delay to the heal: after a 20 s
    cut, TCP connects across it failed for another ~0.7 s after `ip link set up`
    (carrier/neighbour recovery), which the "agree after heal" figures then measured."""
    sh("bridge", "-n", NS_HUB, "link", "set", "dev", "sbench-a1", "state", "0" if down else "3")


# ------------------------------------------------------------------------ a run --

def wait_listen(ns, host, port, proc, log, timeout=15):
    def f():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{log} exited with {proc.returncode}:\n{tail(log)}")
            try:
                redis.Redis(host=host, port=port, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        raise RuntimeError(f"{host}:{port} not answering within {timeout}s:\n{tail(log)}")
    in_ns(ns, f, timeout + 5)


class Writer(threading.Thread):
    """redis-py Sentinel client in namespace ns; records (key index, server, monotonic
    time of the ack, WAIT 1 confirmed) for every acknowledged SET. The connection is taken
    from master_for's pool by hand only to learn which server acknowledged."""

    def __init__(self, ns, prefix, sentinels, wait):
        super().__init__(daemon=True)
        self.ns, self.prefix, self.sentinels, self.wait = ns, prefix, sentinels, wait
        self.acked = []
        self.errors = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            enter(self.ns)
            s = Sentinel(self.sentinels, socket_timeout=0.2, socket_connect_timeout=0.2)
            m = s.master_for(NAME, socket_timeout=0.2, socket_connect_timeout=0.2)
            pool = m.connection_pool
            i = 0
            while not self.stop.is_set():
                i += 1
                t = time.monotonic()
                conn = None
                try:
                    conn = pool.get_connection()
                    conn.send_command("SET", f"{self.prefix}:{i}", i)
                    conn.read_response()
                    at = time.monotonic()
                    server = f"{conn.host}:{conn.port}"
                    ok = False
                    if self.wait:
                        try:
                            conn.send_command("WAIT", 1, 100)
                            ok = int(conn.read_response()) >= 1
                        except Exception:  # noqa: BLE001 - acknowledged, not confirmed
                            conn.disconnect()
                    self.acked.append((i, server, at, ok))
                except Exception:  # noqa: BLE001 - a failed write is not acknowledged
                    self.errors += 1
                    if conn is not None:
                        conn.disconnect()
                    time.sleep(0.01)
                finally:
                    if conn is not None:
                        pool.release(conn)
                left = PACE - (time.monotonic() - t)
                if left > 0:
                    time.sleep(left)
        except BaseException as e:  # noqa: BLE001
            self.error = e


class Watch(threading.Thread):
    """Calls fn(client) every `every` s from inside ns and records (time, value) changes."""

    def __init__(self, ns, host, port, fn, every=0.025):
        super().__init__(daemon=True)
        self.ns, self.host, self.port, self.fn, self.every = ns, host, port, fn, every
        self.changes = []
        self.stop = threading.Event()

    def run(self):
        enter(self.ns)
        r = redis.Redis(host=self.host, port=self.port, socket_timeout=0.3, socket_connect_timeout=0.3)
        while not self.stop.is_set():
            try:
                v = self.fn(r)
            except Exception:  # noqa: BLE001
                v = None
            if not self.changes or self.changes[-1][1] != v:
                self.changes.append((time.monotonic(), v))
            time.sleep(self.every)

    def first(self, pred, after):
        return next((t for t, v in self.changes if t >= after and v is not None and pred(v)), None)

    def current(self):
        return self.changes[-1][1] if self.changes else None


def role_of(r):
    x = r.execute_command("ROLE")
    role = x[0].decode() if isinstance(x[0], bytes) else x[0]
    if role == "slave":
        host = x[1].decode() if isinstance(x[1], bytes) else x[1]
        return ("slave", f"{host}:{x[2]}")
    return (role, None)


def view_of(r):
    m = r.sentinel_master(NAME)
    return (f"{m['ip']}:{m['port']}", int(m.get("config-epoch", 0)))


class Events(threading.Thread):
    """PSUBSCRIBE * on a sentinel, from its namespace; (time, channel, payload)."""

    def __init__(self, ns, host, port):
        super().__init__(daemon=True)
        self.ns, self.host, self.port = ns, host, port
        self.events = []
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self):
        enter(self.ns)
        while not self.stop.is_set():
            try:
                ps = redis.Redis(host=self.host, port=self.port, socket_timeout=1).pubsub()
                ps.psubscribe("*")
                self.ready.set()
                while not self.stop.is_set():
                    msg = ps.get_message(timeout=0.1)
                    if msg and msg["type"] == "pmessage":
                        ch = msg["channel"].decode(errors="replace")
                        data = msg["data"].decode(errors="replace")
                        self.events.append((time.monotonic(), ch, data))
            except Exception:  # noqa: BLE001
                time.sleep(0.1)

    def count(self, ch, after=0.0):
        return sum(1 for t, c, _ in self.events if c == ch and t >= after)


def one_run(cmd, lease, hold, watch, sentinel_with_master, popen, k, keep=False):
    d = tempfile.mkdtemp(prefix="sentinel-bench-part-")
    if keep:
        print(f"  logs and configs of this run: {d}", flush=True)
    procs, threads = [], []
    base = 6400 + 20 * (k % 100)
    pm, pr1, pr2 = base, base + 1, base + 2
    ps1, ps2, ps3 = base + 10, base + 11, base + 12
    old = f"{A_IP}:{pm}"
    try:
        def start(ns, argv, log_name):
            log = os.path.join(d, log_name)
            p = popen(["ip", "netns", "exec", ns] + argv, log, cwd=d)
            procs.append(p)
            return p, log

        for ns, host, port, master in ((NS_A, A_IP, pm, None), (NS_B, B_IP, pr1, pm), (NS_B, B_IP, pr2, pm)):
            conf = os.path.join(d, f"redis-{port}.conf")
            lines = [f"port {port}", f"bind {host}", "protected-mode no", 'save ""', "appendonly no",
                     f"dir {d}", f"dbfilename dump-{port}.rdb", "repl-diskless-sync-delay 0"]
            if master:
                lines.append(f"replicaof {A_IP} {master}")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            p, log = start(ns, ["redis-server", conf], f"redis-{port}.log")
            wait_listen(ns, host, port, p, log)
        s1_ns, s1_ip = (NS_A, A_IP) if sentinel_with_master else (NS_B, B_IP)
        sentinels = ((s1_ns, s1_ip, ps1), (NS_B, B_IP, ps2), (NS_B, B_IP, ps3))
        for ns, host, port in sentinels:
            sd = os.path.join(d, f"s{port}")
            os.makedirs(sd)
            conf = os.path.join(sd, "sentinel.conf")
            lines = [f"port {port}", f"bind {host}", "protected-mode no", f"dir {sd}",
                     f"sentinel monitor {NAME} {A_IP} {pm} 2",
                     f"sentinel down-after-milliseconds {NAME} 1000",
                     f"sentinel failover-timeout {NAME} 10000",
                     f"sentinel parallel-syncs {NAME} 1"]
            if lease is not None:
                lines.append(f"sentinel write-lease {NAME} {lease}")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            p, log = start(ns, cmd + [conf], f"sentinel-{port}.log")
            wait_listen(ns, host, port, p, log)

        def discovered(ns, host, port):
            def f():
                deadline = time.monotonic() + 60
                last = None
                while time.monotonic() < deadline:
                    try:
                        st = redis.Redis(host=host, port=port, socket_timeout=1).sentinel_master(NAME)
                        last = (st["num-slaves"], st["num-other-sentinels"])
                        if last == (2, 2):
                            return
                    except Exception as e:  # noqa: BLE001
                        last = repr(e)
                    time.sleep(0.1)
                raise RuntimeError(f"sentinel {host}:{port}: discovery incomplete: {last}")
            in_ns(ns, f)
        for s in sentinels:
            discovered(*s)

        if lease:
            # A fresh sentinel sets the lease only after lease wait + failover-timeout (it
            # might be an observer of a failover in progress): cut once it is in force.
            def lease_in_force():
                r = redis.Redis(host=A_IP, port=pm, socket_timeout=1)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    c = r.config_get("min-replicas-*")
                    if c.get("min-replicas-to-write") == "1" and c.get("min-replicas-max-lag") == str(lease):
                        return
                    time.sleep(0.1)
                raise RuntimeError(f"write lease not in force on the master within 60 s: {c}")
            in_ns(NS_A, lease_in_force, 70)
        events = [Events(*s) for s in sentinels]
        roles = {f"{h}:{p}": Watch(ns, h, p, role_of) for ns, h, p in
                 ((NS_A, A_IP, pm), (NS_B, B_IP, pr1), (NS_B, B_IP, pr2))}
        views = [Watch(*s, view_of, every=0.05) for s in sentinels]
        addrs = [(h, p) for _, h, p in sentinels]
        writers = [Writer(NS_A, "m", addrs, False), Writer(NS_A, "mw", addrs, True),
                   Writer(NS_B, "j", addrs, False), Writer(NS_B, "jw", addrs, True)]
        threads = events + list(roles.values()) + views + writers
        for t in threads:
            t.start()
        for e in events:
            if not e.ready.wait(10):
                raise RuntimeError(f"PSUBSCRIBE on {e.host}:{e.port} not ready")
        time.sleep(1.0)
        for w in writers:
            if not w.acked:
                raise RuntimeError(f"writer {w.prefix} wrote nothing in 1 s ({w.error!r})")

        t_cut = time.monotonic()
        cut(True)
        time.sleep(hold)
        t_heal = time.monotonic()
        cut(False)
        if keep:
            print(f"  cut {time.strftime('%H:%M:%S', time.gmtime(time.time() - hold))}, healed at "
                  f"{time.strftime('%H:%M:%S', time.gmtime())}.{int(time.time() % 1 * 1000):03d} UTC", flush=True)

        # Watch: until every sentinel agrees and the old master is a replica, and >= watch s.
        deadline = t_heal + 90
        final = None
        while time.monotonic() < deadline:
            vs = [v.current() for v in views]
            agreed = vs[0] is not None and all(v == vs[0] for v in vs) and vs[0][0] != old
            demoted = agreed and roles[old].current() == ("slave", vs[0][0])
            if agreed and demoted and time.monotonic() >= t_heal + watch:
                final = vs[0]
                break
            # No failover at all (a figure, not a failure): after the watch every sentinel
            # still has the old master at config epoch 0, it is still master, nothing was
            # promoted.
            if (time.monotonic() >= t_heal + watch and all(v == (old, 0) for v in vs)
                    and roles[old].current() == ("master", None)
                    and not any(e.count("+promoted-slave") for e in events)):
                final = vs[0]
                break
            time.sleep(0.1)
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(5)
        if final is None:
            raise RuntimeError(f"no convergence 90 s after the heal (and not simply no failover): "
                               f"views {[v.current() for v in views]}, old master {roles[old].current()}")
        new = final[0]
        t_agree_first = max((w.first(lambda v: v == final, t_heal) or t_heal) for w in views)
        t_demoted = roles[old].first(lambda v: v == ("slave", new), t_heal)
        # The successor: the replica promoted first after the cut (with more than one
        # failover the final master may be another node).
        promos = [(t, a) for a, w in roles.items() if a != old
                  for t in [w.first(lambda v: v[0] == "master", t_cut)] if t is not None]
        t_promoted, successor = min(promos) if promos else (None, new)

        nhost, nport = new.split(":")

        def present(prefix, acked):
            r = redis.Redis(host=nhost, port=int(nport), socket_timeout=5)
            have = set()
            for j in range(0, len(acked), 1000):
                chunk = acked[j:j + 1000]
                vals = r.mget([f"{prefix}:{i}" for i, *_ in chunk])
                have.update(i for (i, *_), v in zip(chunk, vals) if v is not None)
            return have
        out = {"failovers": sum(e.count("+promoted-slave") for e in events),
               "epoch": final[1],
               "failovers_after_heal": sum(e.count("+promoted-slave", t_heal) for e in events),
               "promoted": t_promoted - t_cut if t_promoted else None,
               "agree": t_agree_first - t_heal,
               "demoted": t_demoted - t_heal if t_demoted else None}
        all_acks = []
        for w in writers:
            acked = list(w.acked)
            all_acks += acked
            have = in_ns(NS_B, lambda: present(w.prefix, acked))
            lost = [a for a in acked if a[0] not in have]
            out[f"lost_{w.prefix}"] = len(lost)
            out["lost_after_heal"] = out.get("lost_after_heal", 0) + sum(1 for a in lost if a[2] > t_heal)
            out[f"acked_{w.prefix}"] = len(acked)
            if w.wait:
                out[f"wlost_{w.prefix}"] = sum(1 for a in lost if a[3])
                out[f"wacked_{w.prefix}"] = sum(1 for a in acked if a[3])
        last_old = max((a[2] for a in all_acks if a[1] == old), default=None)
        first_new = min((a[2] for a in all_acks if a[1] == successor), default=None)
        out["window"] = (last_old - first_new) if last_old and first_new and new != old else None
        return out
    finally:
        for t in threads:
            t.stop.set()
        for t in threads:
            t.join(2)
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            try:
                p.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


def has_write_lease(exe):
    """True when our binary knows `sentinel write-lease` (issue 8). Looked up in the binary's
    text so that nothing has to be started for it."""
    path = shutil.which(exe) or exe
    try:
        with open(path, "rb") as f:
            return b"write-lease" in f.read()
    except OSError:
        return False


def part_partition(impls, runs, hold, popen, watch=20.0, sentinel_with_master=True, lease=True, keep=False):
    """impls: {"ours": argv, "redis": argv}; "ours" also runs with the write lease when the
    binary has it (and `lease`). Returns the markdown table."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return "**Partition**: skipped (needs root and ip(8))."
    variants = {}  # name -> (argv, lease value or None)
    note = ""
    for name, argv in impls.items():
        if name == "ours":
            has = has_write_lease(argv[0])
            variants["ours"] = (argv, 0 if has else None)
            if lease and has:
                variants["ours-lease"] = (argv, 1)
            elif lease:
                note = " (this build of ours has no `write-lease` option: no lease column)"
        else:
            variants[name] = (argv, None)
    res = {i: [] for i in variants}
    fails = {i: 0 for i in variants}
    lock = open(LOCK_PATH, "a")
    print(f"partition: waiting for the lab lock {LOCK_PATH}", flush=True)
    fcntl.flock(lock, fcntl.LOCK_EX)
    atexit.register(teardown)
    try:
        setup()
        k = 0
        for r in range(1, runs + 1):
            for name, (argv, lease_val) in variants.items():
                k += 1
                cut(False)
                try:
                    out = one_run(argv, lease_val, hold, watch, sentinel_with_master, popen, k, keep)
                    res[name].append(out)
                    print(f"partition run {r} {name:10s}: {out}", flush=True)
                except Exception as e:  # noqa: BLE001
                    fails[name] += 1
                    print(f"partition run {r} {name}: FAILED: {e}", flush=True)
    finally:
        teardown()
        lock.close()

    def col(i, key, f="{:.2f}"):
        xs = [x[key] for x in res[i] if x.get(key) is not None]
        return " / ".join(
            f.format(v) for v in (min(xs), statistics.median(xs), max(xs))) if xs else "–"

    def lost(i, side):
        a = col(i, f"lost_{side}", "{:.0f}")
        b = col(i, f"wlost_{side}w", "{:.0f}")
        return f"{a} · {b}"
    where = "with sentinel 1" if sentinel_with_master else "with no sentinel"
    lines = [f"**Partition** — master ({where}, and two writers) cut off from the replicas, the other "
             f"sentinels and two more writers for {hold:.0f} s, then healed and watched ≥ {watch:.0f} s "
             f"(network namespaces); writers: redis-py Sentinel.master_for, one SET of a new key every "
             f"{PACE * 1000:.0f} ms each, one writer per side follows each SET with WAIT 1 100; "
             f"min / median / max over the runs{note}", "",
             "| implementation | ok/runs | failovers | of which after heal | replica promoted after cut s | all sentinels agree after heal s "
             "| old master replica after heal s | dual-master window s | lost, master's side (plain · WAIT-confirmed) "
             "| lost, majority side (plain · WAIT-confirmed) | lost, acked after heal | acked by writer m |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i in variants:
        lines.append(f"| {LABELS.get(i, i)} | {len(res[i])}/{len(res[i]) + fails[i]} | "
                     f"{col(i, 'failovers', '{:.0f}')} | {col(i, 'failovers_after_heal', '{:.0f}')} | {col(i, 'promoted')} | {col(i, 'agree')} | "
                     f"{col(i, 'demoted')} | {col(i, 'window')} | {lost(i, 'm')} | {lost(i, 'j')} | "
                     f"{col(i, 'lost_after_heal', '{:.0f}')} | "
                     f"{col(i, 'acked_m', '{:.0f}')} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--runs", type=int, default=5, help="runs per implementation (interleaved)")
    ap.add_argument("--hold", type=float, default=8.0, help="seconds the partition is held")
    ap.add_argument("--watch", type=float, default=20.0, help="seconds at least watched after the heal")
    ap.add_argument("--no-sentinel-with-master", action="store_true",
                    help="sentinel 1 on the majority's side: no sentinel with the master")
    ap.add_argument("--no-lease", action="store_true", help="do not run ours with write-lease 1")
    ap.add_argument("--sentinel-bin", default=os.path.join(here, "..", "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory (logs, configs) and print its path")
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    args = ap.parse_args()
    procs = []

    def popen(cmd, log, cwd=None):
        with open(log, "ab") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
        procs.append(p)
        return p

    def kill_all():
        for p in procs:
            if p.poll() is None:
                p.kill()
    atexit.register(kill_all)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the finally/atexit teardown runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_, n=sig: sys.exit(128 + n))
    impls = {"redis": [args.redis_sentinel], "ours": [os.path.abspath(args.sentinel_bin)]}
    if args.impl != "both":
        impls = {args.impl: impls[args.impl]}
    print(part_partition(impls, args.runs, args.hold, popen, args.watch,
                         not args.no_sentinel_with_master, not args.no_lease, args.keep))


if __name__ == "__main__":
    main()
