"""Partition part of bench/run.py: acknowledged writes lost when the master is cut off.

Layout (all inside network namespaces; nothing in the root namespace but an
`unreachable` route for the test subnet while the namespaces exist):

    sbench-a  10.214.53.1   master, sentinel 1, the writing client (a thread)
    sbench-b  10.214.53.2   replica 1, replica 2, sentinels 2 and 3
    sbench-hub              bridge br0; the hub ends of the two veth pairs

The namespaces have no default route; the orchestrator reaches their addresses only from
threads that entered a namespace with setns(2) (so every socket it opens is inside one).
The partition is made by taking the hub end of sbench-a's veth down (sbench-a's own
interface keeps its address and local traffic; it only loses carrier).

Scenario per run: start everything, wait for discovery, start the client (redis-py
Sentinel([s1, s2, s3]).master_for, one SET of a fresh key every 5 ms, 200 ms timeouts),
cut after 1 s, hold the partition, heal, wait until the old master reports the replica
role, let the client write 2 s more, stop it and check every acknowledged key on the
final master (read in sbench-b). Lost = acknowledged but missing.
"""

import ctypes
import ipaddress
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import atexit

from failover import tail  # run.py puts bench/ on sys.path

import redis
from redis.sentinel import Sentinel

NAME = "mymaster"
SUBNET = "10.214.53.0/24"
A_IP, B_IP = "10.214.53.1", "10.214.53.2"
NS_HUB, NS_A, NS_B = "sbench-hub", "sbench-a", "sbench-b"
NAMESPACES = (NS_HUB, NS_A, NS_B)
PACE = 0.005  # one write every 5 ms at most
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


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
    sh("ip", "-n", NS_HUB, "link", "set", "sbench-a1", "down" if down else "up")


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
    def __init__(self, sentinels):
        super().__init__(daemon=True)
        self.sentinels = sentinels
        self.acked = []  # (key index, monotonic time of the ack)
        self.errors = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            enter(NS_A)
            s = Sentinel(self.sentinels, socket_timeout=0.2, socket_connect_timeout=0.2)
            m = s.master_for(NAME, socket_timeout=0.2, socket_connect_timeout=0.2)
            i = 0
            while not self.stop.is_set():
                i += 1
                t = time.monotonic()
                try:
                    m.set(f"w:{i}", i)
                    self.acked.append((i, time.monotonic()))
                except Exception:  # noqa: BLE001 - a failed write is not acknowledged
                    self.errors += 1
                    time.sleep(0.01)
                left = PACE - (time.monotonic() - t)
                if left > 0:
                    time.sleep(left)
        except BaseException as e:  # noqa: BLE001
            self.error = e


def role(host, port):
    r = redis.Redis(host=host, port=port, socket_timeout=0.3, socket_connect_timeout=0.3)
    try:
        return r.execute_command("ROLE")
    finally:
        r.close()


def one_run(cmd, hold, popen, k):
    d = tempfile.mkdtemp(prefix="sentinel-bench-part-")
    procs = []
    writer = None
    base = 6400 + 20 * k
    pm, pr1, pr2 = base, base + 1, base + 2
    ps1, ps2, ps3 = base + 10, base + 11, base + 12
    try:
        def start(ns, name, argv, log_name):
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
            p, log = start(ns, f"redis-{port}", ["redis-server", conf], f"redis-{port}.log")
            wait_listen(ns, host, port, p, log)
        for ns, host, port in ((NS_A, A_IP, ps1), (NS_B, B_IP, ps2), (NS_B, B_IP, ps3)):
            sd = os.path.join(d, f"s{port}")
            os.makedirs(sd)
            conf = os.path.join(sd, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("\n".join([f"port {port}", f"bind {host}", "protected-mode no", f"dir {sd}",
                                   f"sentinel monitor {NAME} {A_IP} {pm} 2",
                                   f"sentinel down-after-milliseconds {NAME} 1000",
                                   f"sentinel failover-timeout {NAME} 10000",
                                   f"sentinel parallel-syncs {NAME} 1"]) + "\n")
            p, log = start(ns, f"sentinel-{port}", cmd + [conf], f"sentinel-{port}.log")
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
        discovered(NS_A, A_IP, ps1)
        discovered(NS_B, B_IP, ps2)
        discovered(NS_B, B_IP, ps3)

        writer = Writer([(A_IP, ps1), (B_IP, ps2), (B_IP, ps3)])
        writer.start()
        time.sleep(1.0)
        if not writer.acked:
            raise RuntimeError(f"client wrote nothing in 1 s ({writer.error!r})")

        t_cut = time.monotonic()
        cut(True)
        promoted = {}

        def watch_promotion():
            deadline = t_cut + hold
            while time.monotonic() < deadline:
                for port in (pr1, pr2):
                    try:
                        if role(B_IP, port)[0] == b"master":
                            promoted["t"], promoted["port"] = time.monotonic(), port
                            return
                    except Exception:  # noqa: BLE001
                        pass
                time.sleep(0.05)
        in_ns(NS_B, watch_promotion, hold + 10)
        time.sleep(max(0.0, t_cut + hold - time.monotonic()))
        t_heal = time.monotonic()
        cut(False)

        def wait_demoted():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if role(A_IP, pm)[0] == b"slave":
                        return time.monotonic()
                except Exception:  # noqa: BLE001
                    pass
                time.sleep(0.05)
            return None
        t_demoted = in_ns(NS_A, wait_demoted, 70)
        time.sleep(2.0)
        writer.stop.set()
        writer.join(5)

        def final_master():
            r = redis.Redis(host=B_IP, port=ps2, socket_timeout=2)
            host, port = r.sentinel_get_master_addr_by_name(NAME)
            return host, int(port)
        fm = in_ns(NS_B, final_master)
        acked = list(writer.acked)

        def present():
            r = redis.Redis(host=fm[0], port=fm[1], socket_timeout=5)
            have = set()
            for j in range(0, len(acked), 1000):
                chunk = acked[j:j + 1000]
                vals = r.mget([f"w:{i}" for i, _ in chunk])
                have.update(i for (i, _), v in zip(chunk, vals) if v is not None)
            return have
        # The old master, now a replica, may still be on the final master's address if the
        # failover did not happen: then nothing is lost by construction.
        have = in_ns(NS_B if fm[0] == B_IP else NS_A, present)
        lost = [(i, t) for i, t in acked if i not in have]
        return {
            "promoted": promoted["t"] - t_cut if promoted else None,
            "demoted": t_demoted - t_heal if t_demoted else None,
            "acked": len(acked),
            "lost": len(lost),
            "lost_after_heal": sum(1 for _, t in lost if t > t_heal),
            "old_accepting": (max(t for _, t in lost) - promoted["t"]) if lost and promoted else None,
            "final": f"{fm[0]}:{fm[1]}",
        }
    finally:
        if writer:
            writer.stop.set()
            writer.join(2)
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            try:
                p.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(d, ignore_errors=True)


def part_partition(impls, runs, hold, popen):
    if os.geteuid() != 0 or not shutil.which("ip"):
        return "**Partition**: skipped (needs root and ip(8))."
    res = {i: [] for i in impls}
    fails = {i: 0 for i in impls}
    atexit.register(teardown)
    try:
        setup()
        k = 0
        for r in range(1, runs + 1):
            for name in impls:
                k += 1
                cut(False)
                try:
                    out = one_run(impls[name], hold, popen, k)
                    res[name].append(out)
                    print(f"partition run {r} {name:5s}: {out}", flush=True)
                except Exception as e:  # noqa: BLE001
                    fails[name] += 1
                    print(f"partition run {r} {name}: FAILED: {e}", flush=True)
    finally:
        teardown()

    def col(i, key, f="{:.2f}"):
        xs = [x[key] for x in res[i] if x[key] is not None]
        return " / ".join(
            f.format(v) for v in (min(xs), statistics.median(xs), max(xs))) if xs else "–"
    lines = [f"**Partition** — master + sentinel 1 + writing client cut off from the replicas and "
             f"sentinels 2, 3 for {hold:.0f} s, then healed (network namespaces); client: one SET of a "
             f"new key every {PACE * 1000:.0f} ms via redis-py Sentinel.master_for; min / median / max over "
             f"{runs} run(s)", "",
             "| implementation | ok/runs | replica promoted after cut s | old master replica after heal s "
             "| acked writes | acked writes lost | of which acked after heal | old master accepted writes after promotion s |",
             "|---|---|---|---|---|---|---|---|"]
    for i in impls:
        lines.append(f"| {'ours' if i == 'ours' else 'redis-sentinel'} | {len(res[i])}/{len(res[i]) + fails[i]} | "
                     f"{col(i, 'promoted')} | {col(i, 'demoted')} | {col(i, 'acked', '{:.0f}')} | "
                     f"{col(i, 'lost', '{:.0f}')} | {col(i, 'lost_after_heal', '{:.0f}')} | "
                     f"{col(i, 'old_accepting')} |")
    return "\n".join(lines)
