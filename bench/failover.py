#!/usr/bin/env python3
"""Failover time, our sentinel vs Debian's redis-sentinel, side by side.

Each run starts a fresh topology on loopback (1 master + 2 replicas + 3 sentinels,
down-after-milliseconds 1000, failover-timeout 10000, quorum 2), waits for discovery,
SIGKILLs the master and measures, from the kill:

  * write: the first successful SET through a redis-py Sentinel client
    (`Sentinel.master_for(...)`, retried every ~10 ms with 100 ms socket timeouts);
  * switch: the first `+switch-master` published by any of the three sentinels.

Runs of the two implementations are interleaved (ours, redis, ours, ...) so that load
on a shared machine hits both alike. Prints a markdown table (min / median / max) and
the ratio of medians.

    python3 bench/failover.py                       # both, 10 runs each
    python3 bench/failover.py --impl redis --runs 3
    python3 bench/failover.py --sentinel-bin target/release/sentinel

Needs redis-server, redis-sentinel (for --impl redis/both) and the `redis` package.
Only 127.0.0.1 is used.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

try:
    import redis
    from redis.sentinel import Sentinel
except ImportError:
    sys.exit("bench/failover.py needs redis-py: pip install redis")

NAME = "mymaster"
HOST = "127.0.0.1"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ----------------------------------------------------------------------------- ports --

_next_port = 20000 + (os.getpid() * 7919) % 6000


def free_port():
    global _next_port
    while True:
        port = _next_port
        _next_port += 1
        if _next_port >= 32000:
            _next_port = 20000
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        return port


def wait_port(port, proc, name, logpath, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} during startup:\n{tail(logpath)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout}s:\n{tail(logpath)}")


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"({e})"


# -------------------------------------------------------------------------- topology --


class Topology:
    def __init__(self, sentinel_cmd, down_after=1000, failover_timeout=10000, replicas=2):
        self.dir = tempfile.mkdtemp(prefix="sentinel-bench-")
        self.procs = {}
        self.redis_ports = [free_port() for _ in range(replicas + 1)]
        self.sentinel_ports = [free_port() for _ in range(3)]
        try:
            self._start_all(sentinel_cmd, down_after, failover_timeout)
        except BaseException:
            self.close()
            raise

    def _start_all(self, sentinel_cmd, down_after, failover_timeout):
        master = self.redis_ports[0]
        for i, port in enumerate(self.redis_ports):
            conf = [f"port {port}", f"bind {HOST}", 'save ""', "appendonly no",
                    f"dir {self.dir}", f"dbfilename dump-{port}.rdb", "daemonize no",
                    # A replica re-pointed by the failover may need a full sync; don't let
                    # Redis's 5 s diskless-sync delay dominate what we measure.
                    "repl-diskless-sync-delay 0"]
            if i > 0:
                conf.append(f"replicaof {HOST} {master}")
            self._start(f"redis-{port}", port, ["redis-server"], conf, "redis.conf")
        for port in self.sentinel_ports:
            conf = [f"port {port}", f"bind {HOST}", f"dir {self.dir}/s{port}", "daemonize no",
                    f"sentinel monitor {NAME} {HOST} {master} 2",
                    f"sentinel down-after-milliseconds {NAME} {down_after}",
                    f"sentinel failover-timeout {NAME} {failover_timeout}",
                    f"sentinel parallel-syncs {NAME} 1"]
            os.makedirs(f"{self.dir}/s{port}")
            self._start(f"sentinel-{port}", port, sentinel_cmd, conf, f"s{port}/sentinel.conf")

    def _start(self, name, port, cmd, conf_lines, conf_name):
        conf = os.path.join(self.dir, conf_name if "/" in conf_name else f"{name}.conf")
        with open(conf, "w") as f:
            f.write("\n".join(conf_lines) + "\n")
        log = os.path.join(self.dir, f"{name}.log")
        out = open(log, "ab")
        p = subprocess.Popen(cmd + [conf], stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.dir)
        self.procs[port] = (p, log)
        wait_port(port, p, name, log)

    def kill(self, port):
        p, _ = self.procs[port]
        p.send_signal(signal.SIGKILL)
        p.wait()

    def close(self, keep=False):
        for p, _ in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        return "\n".join(f"--- {log}\n{tail(log)}" for _, log in self.procs.values())


def sentinel_master(port):
    r = redis.Redis(host=HOST, port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return r.sentinel_master(NAME)
    finally:
        r.close()


def wait_discovery(topo, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            states = [sentinel_master(p) for p in topo.sentinel_ports]
            last = [(s["num-slaves"], s["num-other-sentinels"]) for s in states]
            if all(s["num-slaves"] == 2 and s["num-other-sentinels"] == 2 for s in states):
                return
        except Exception as e:  # noqa: BLE001 - report what was seen
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"discovery incomplete after {timeout}s: (num-slaves, num-other-sentinels) = {last}")


# ----------------------------------------------------------------------- measurement --


class EventLog:
    """Every event of `channels` published by each sentinel:
    (monotonic, sentinel index, channel, payload)."""

    def __init__(self, ports, channels):
        self.channels = list(channels)
        self.events = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ready = threading.Barrier(len(ports) + 1)
        self.threads = [threading.Thread(target=self._run, args=(i, p), daemon=True)
                        for i, p in enumerate(ports)]
        for t in self.threads:
            t.start()
        self.ready.wait(timeout=10)

    def _run(self, idx, port):
        r = redis.Redis(host=HOST, port=port, socket_timeout=5, socket_connect_timeout=1)
        ps = r.pubsub()
        ps.subscribe(*self.channels)
        for _ in self.channels:
            ps.get_message(timeout=2)  # subscribe confirmations
        self.ready.wait(timeout=10)
        while not self.stop.is_set():
            try:
                m = ps.get_message(timeout=0.05)
            except Exception:  # noqa: BLE001 - sentinel went away at teardown
                return
            if m and m["type"] == "message":
                with self.lock:
                    self.events.append((time.monotonic(), idx, m["channel"].decode(), m["data"].decode()))
        ps.close()
        r.close()

    def of(self, channel):
        with self.lock:
            return [e for e in self.events if e[2] == channel]

    def first(self, channel):
        ev = self.of(channel)
        return min(ev) if ev else None

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)


def implementations(args):
    """`--sentinel-bin`, `--redis-sentinel` and `--impl` as ({name: argv}, names chosen);
    exits with a hint when a program is missing."""
    # Processes run with cwd = their temp dir: make paths absolute.
    ours = os.path.abspath(args.sentinel_bin) if os.sep in args.sentinel_bin else args.sentinel_bin
    impls = {"ours": [ours], "redis": [args.redis_sentinel]}
    chosen = ["ours", "redis"] if args.impl == "both" else [args.impl]
    for name in chosen:
        exe = impls[name][0]
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
            hint = "cargo build --release" if name == "ours" else "apt-get install redis-sentinel"
            sys.exit(f"{name}: {exe} not found ({hint})")
    if not shutil.which("redis-server"):
        sys.exit("redis-server not found (apt-get install redis-server)")
    return impls, chosen


def first_write(master, t0, timeout):
    """Retries `SET bench` through the Sentinel client `master` every ~10 ms until one
    succeeds or `timeout` s after `t0` have passed: (monotonic time of the success or
    None, the last error)."""
    attempts, last_err = 0, None
    while time.monotonic() - t0 < timeout:
        attempts += 1
        try:
            master.set("bench", str(attempts))
            return time.monotonic(), None
        except Exception as e:  # noqa: BLE001 - any failure = not yet
            last_err = e
            time.sleep(0.01)
    return None, last_err


def one_run(sentinel_cmd, timeout, keep):
    topo = Topology(sentinel_cmd)
    try:
        wait_discovery(topo)
        sentinel = Sentinel([(HOST, p) for p in topo.sentinel_ports],
                            socket_timeout=0.1, socket_connect_timeout=0.1)
        master = sentinel.master_for(NAME, socket_timeout=0.1, socket_connect_timeout=0.1)
        master.set("bench", "warm-up")
        ev = EventLog(topo.sentinel_ports, ["+switch-master"])
        old = topo.redis_ports[0]

        t0 = time.monotonic()
        topo.kill(old)
        t_write, last_err = first_write(master, t0, timeout)
        # Let the switch event arrive if the write won the race.
        deadline = time.monotonic() + 10
        while ev.first("+switch-master") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        ev.close()
        if t_write is None:
            raise RuntimeError(f"no successful write within {timeout}s (last error {last_err!r})\n{topo.logs()}")
        new = master.connection_pool.get_master_address()
        if new[1] == old:
            raise RuntimeError(f"write succeeded on the old master {new}?")
        sw = ev.first("+switch-master")
        switch = sw[0] - t0 if sw else None
        return t_write - t0, switch, f"{old}->{new[1]}"
    finally:
        topo.close(keep)


def fmt(xs):
    if not xs:
        return "–", "–", "–"
    return tuple(f"{x:.2f}" for x in (min(xs), statistics.median(xs), max(xs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sentinel-bin", default=os.path.join(REPO, "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-run limit for the write, seconds")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs (configs, logs)")
    args = ap.parse_args()

    impls, chosen = implementations(args)

    results = {name: {"write": [], "switch": [], "fail": 0} for name in chosen}
    for i in range(1, args.runs + 1):
        for name in chosen:
            try:
                w, s, how = one_run(impls[name], args.timeout, args.keep)
                results[name]["write"].append(w)
                if s is not None:
                    results[name]["switch"].append(s)
                sw = f"{s:.2f}s" if s is not None else "not seen"
                print(f"run {i:2d} {name:5s}: write after {w:.2f}s, +switch-master after {sw} ({how})",
                      flush=True)
            except Exception as e:  # noqa: BLE001 - record and go on
                results[name]["fail"] += 1
                print(f"run {i:2d} {name:5s}: FAILED: {e}", flush=True)

    print()
    print(f"Failover after SIGKILL of the master, seconds ({args.runs} runs each, "
          f"down-after-milliseconds 1000, 3 sentinels, quorum 2)")
    print()
    print("| implementation | ok/runs | write min | write median | write max "
          "| +switch-master min | median | max |")
    print("|---|---|---|---|---|---|---|---|")
    for name in chosen:
        r = results[name]
        ok = len(r["write"])
        label = "ours" if name == "ours" else "redis-sentinel"
        print(f"| {label} | {ok}/{ok + r['fail']} | " + " | ".join(fmt(r["write"]))
              + " | " + " | ".join(fmt(r["switch"])) + " |")
    if len(chosen) == 2 and results["ours"]["write"] and results["redis"]["write"]:
        rw = statistics.median(results["ours"]["write"]) / statistics.median(results["redis"]["write"])
        line = f"\nratio of medians (ours / redis-sentinel): write {rw:.2f}"
        if results["ours"]["switch"] and results["redis"]["switch"]:
            rs = statistics.median(results["ours"]["switch"]) / statistics.median(results["redis"]["switch"])
            line += f", +switch-master {rs:.2f}"
        print(line)
    return 1 if any(results[n]["fail"] for n in chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
