#!/usr/bin/env python3
"""Failover at scale: our sentinel vs Debian's redis-sentinel, in the same run.

For each size N (--sizes, default 1,1000) and each implementation, a fresh topology on
127.0.0.1: N masters, each a redis-server with ONE replica (2N redis-servers, --save ''
--appendonly no), and 3 sentinels monitoring all N (quorum 2, down-after-milliseconds
1000, failover-timeout 10000; redis-servers at --hz 1). After discovery (every sentinel lists N masters, each
with its replica and 2 other sentinels) it measures, from the SIGKILL:

  * one:  SIGKILL of master m0 -> first +switch-master for m0 from any sentinel;
  * many: (N > --many only) SIGKILL of masters m1..m{--many} at the same moment ->
          first +switch-master of each; reports how many completed within --timeout
          and the time to the last one.

    python3 bench/scale_failover.py --sentinel-bin target/release/sentinel
    python3 bench/scale_failover.py --sizes 1,200 --impl both
    python3 bench/scale_failover.py --sizes 100 --many 50 --runs 2 \
        --before-bin /path/to/older/sentinel      # an older build of ours in the same run

With --runs N every implementation is measured N times, interleaved (run 1 of each, then
run 2 of each...), so that a shared machine's load falls on all of them alike.

Memory: ~3-4 MB per redis-server, so N=1000 needs ~8 GB free; the initial full syncs of
N replicas (N forks) and 3 sentinels' discovery of 2N instances load the machine for a
while: on 2 shared vCPUs N=1000 sent the sentinels into TILT (use N=200 there). Needs redis-server,
redis-sentinel and redis-py. Every process started is killed at exit.
"""

import argparse
import atexit
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failover as fo  # noqa: E402  (ports, wait_port, tail)

import redis  # noqa: E402

HOST, REPO = fo.HOST, fo.REPO
LABEL = {"ours": "ours", "before": "ours (before)", "redis": "redis-sentinel"}
_PROCS = []
_DIRS = []


def _cleanup():
    for p in _PROCS:
        if p.poll() is None:
            p.kill()
    for p in _PROCS:
        try:
            p.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def popen(cmd, log, cwd):
    out = open(log, "ab")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    out.close()
    _PROCS.append(p)
    return p


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def mem_available_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


class Topo:
    def __init__(self, cmd, n, down_after=1000, failover_timeout=10000):
        self.dir = tempfile.mkdtemp(prefix="sentinel-scale-failover-")
        _DIRS.append(self.dir)
        self.procs = []
        self.masters = []  # (name, port, proc)
        starting = []
        for k in range(n):
            mport = fo.free_port()
            rport = fo.free_port()
            # --hz 1 as in run.py's scale part: 2N idle servers at the default hz 10 load a
            # small machine by themselves.
            base = ["--bind", HOST, "--save", "", "--appendonly", "no", "--dir", self.dir, "--daemonize", "no",
                    "--hz", "1"]
            mp = self._redis(["redis-server", "--port", str(mport)] + base, f"m{mport}.log")
            rp = self._redis(["redis-server", "--port", str(rport), "--replicaof", HOST, str(mport)] + base,
                             f"r{rport}.log")
            self.masters.append((f"m{k}", mport, mp))
            starting += [(mport, mp), (rport, rp)]
        for port, p in starting:
            fo.wait_port(port, p, f"redis-{port}", os.path.join(self.dir, f"m{port}.log"), timeout=60)
        self.sports = []
        for i in range(3):
            sport = fo.free_port()
            sd = os.path.join(self.dir, f"s{i}")
            os.mkdir(sd)
            lines = [f"port {sport}", f"bind {HOST}", f"dir {sd}", "daemonize no"]
            for name, mport, _ in self.masters:
                lines += [f"sentinel monitor {name} {HOST} {mport} 2",
                          f"sentinel down-after-milliseconds {name} {down_after}",
                          f"sentinel failover-timeout {name} {failover_timeout}"]
            conf = os.path.join(sd, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = popen(cmd + [conf], os.path.join(sd, "sentinel.log"), sd)
            self.procs.append(p)
            fo.wait_port(sport, p, f"sentinel {i}", os.path.join(sd, "sentinel.log"), timeout=60)
            self.sports.append(sport)

    def _redis(self, cmd, log):
        p = popen(cmd, os.path.join(self.dir, log), self.dir)
        self.procs.append(p)
        return p

    def discovered(self):
        """Every sentinel lists every master with one replica and two other sentinels."""
        for sport in self.sports:
            try:
                r = redis.Redis(host=HOST, port=sport, socket_timeout=10)
                ms = r.execute_command("SENTINEL", "MASTERS")
                r.close()
            except Exception:  # noqa: BLE001
                return False
            if len(ms) != len(self.masters):
                return False
            for m in ms:
                d = dict(zip(m[::2], m[1::2])) if isinstance(m, list) else m
                d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
                if int(d.get("num-slaves", 0)) < 1 or int(d.get("num-other-sentinels", 0)) < 2:
                    return False
        return True

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait(timeout=10)


class Switches:
    """First +switch-master per master name, from any of the sentinels (monotonic time)."""

    def __init__(self, ports):
        self.first = {}
        self.lock = threading.Lock()
        self.stop = False
        self.ready = threading.Barrier(len(ports) + 1)
        self.threads = [threading.Thread(target=self._run, args=(p,), daemon=True) for p in ports]
        for t in self.threads:
            t.start()
        self.ready.wait(timeout=10)

    def _run(self, port):
        r = redis.Redis(host=HOST, port=port, socket_timeout=None)
        ps = r.pubsub()
        ps.subscribe("+switch-master")
        ps.get_message(timeout=5)  # the subscribe confirmation
        self.ready.wait(timeout=10)
        while not self.stop:
            msg = ps.get_message(timeout=0.2)
            if msg and msg["type"] == "message":
                now = time.monotonic()
                name = msg["data"].decode().split()[0]
                with self.lock:
                    self.first.setdefault(name, now)
        ps.close()
        r.close()

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join(timeout=2)


def one_size(cmd, n, many, timeout):
    t = time.monotonic()
    topo = Topo(cmd, n)
    try:
        if not wait_until(topo.discovered, 60 + n / 10, 0.5):
            raise RuntimeError(f"discovery incomplete after {60 + n / 10:.0f} s:\n"
                               + fo.tail(os.path.join(topo.dir, "s0", "sentinel.log")))
        setup = time.monotonic() - t
        sw = Switches(topo.sports)
        try:
            name, _, p = topo.masters[0]
            t0 = time.monotonic()
            p.send_signal(signal.SIGKILL)
            got = wait_until(lambda: name in sw.first, timeout, 0.02)
            one = sw.first[name] - t0 if got else None
            res = {"setup": setup, "one": one}
            if n > many:
                victims = topo.masters[1:many + 1]
                t0 = time.monotonic()
                for _, _, vp in victims:
                    vp.send_signal(signal.SIGKILL)
                names = [v[0] for v in victims]
                wait_until(lambda: all(x in sw.first for x in names), timeout, 0.05)
                with sw.lock:
                    done = [sw.first[x] - t0 for x in names if x in sw.first]
                res["many_done"] = len(done)
                res["many_last"] = max(done) if done else None
                res["many_median"] = sorted(done)[len(done) // 2] if done else None
            return res
        finally:
            sw.close()
    finally:
        topo.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,1000")
    ap.add_argument("--many", type=int, default=100, help="masters killed at once (sizes above it)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the switches")
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    ap.add_argument("--sentinel-bin", default=os.path.join(REPO, "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--before-bin", help="also measure this (older) build of ours, as 'ours (before)'")
    ap.add_argument("--runs", type=int, default=1, help="measurements per implementation and size, interleaved")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    need = 8 * max(sizes) + 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard == resource.RLIM_INFINITY else min(hard, need), hard))
    impls = {"ours": [os.path.abspath(args.sentinel_bin)], "redis": [args.redis_sentinel]}
    chosen = ["ours", "redis"] if args.impl == "both" else [args.impl]
    if args.before_bin:
        impls["before"] = [os.path.abspath(args.before_bin)]
        chosen.insert(chosen.index("ours") + 1 if "ours" in chosen else 0, "before")
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    res = {}  # (name, n) -> one result per run (None when the run failed)
    for n in sizes:
        for run in range(1, args.runs + 1):
            for name in chosen:
                free = mem_available_mb()
                if free < 8 * n + 1000:
                    print(f"{n} {name}: skipped, {free} MB available < {8 * n + 1000} MB", flush=True)
                    continue
                try:
                    r = one_size(impls[name], n, args.many, args.timeout)
                    print(f"N={n} run {run} {name}: setup {r['setup']:.0f} s, one {fmt(r['one'])} s"
                          + (f", {args.many} at once: {r['many_done']} done, last {fmt(r['many_last'])} s, "
                             f"median {fmt(r['many_median'])} s" if "many_done" in r else ""), flush=True)
                except Exception as e:  # noqa: BLE001
                    r = None
                    print(f"N={n} run {run} {name}: FAILED: {e}", flush=True)
                res.setdefault((name, n), []).append(r)

    def cell(runs, k):
        return " / ".join(fmt(v.get(k) if v else None) for v in runs)

    def done_cell(runs):
        return " / ".join("–" if not v or v.get("many_done") is None else f"{v['many_done']}/{args.many}"
                          for v in runs)
    runs_said = "one run each" if args.runs == 1 else f"{args.runs} runs each, 'first / second / ...'"
    print(f"\n**Failover among N masters** (each with one replica; 3 sentinels, quorum 2, down-after "
          f"1000 ms, failover-timeout 10000 ms; kill -> first +switch-master, seconds; {runs_said})\n")
    print("| N | implementation | one master killed | " + f"{args.many} killed at once: done | last | median |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        for name in chosen:
            runs = res.get((name, n), [])
            print(f"| {n} | {LABEL[name]} | {cell(runs, 'one')} | {done_cell(runs)} | "
                  f"{cell(runs, 'many_last')} | {cell(runs, 'many_median')} |")


if __name__ == "__main__":
    main()
