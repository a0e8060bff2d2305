#!/usr/bin/env python3
"""Benchmark: our sentinel vs Debian's redis-sentinel, side by side in the same run.

    python3 bench/run.py                 # everything, default run counts (~15 min)
    python3 bench/run.py --quick         # every part once, short windows (~4 min)
    python3 bench/run.py --runs 5 --parts timeline,pause,throughput,scale,partition

Parts (each prints its markdown table; a summary of all tables is printed at the end):

  timeline    1 master + 2 replicas + 3 sentinels (quorum 2, down-after 1000 ms,
              failover-timeout 10000 ms) on 127.0.0.1. PSUBSCRIBE * on all three
              sentinels, SIGKILL the master, timestamp on receipt: first +sdown, +odown,
              +elected-leader, +promoted-slave, first and last (third) +switch-master;
              first successful SET through redis-py Sentinel.master_for (the RTO). The
              old master is restarted (empty, same config) at the first +switch-master,
              and the time until its ROLE is "slave of the new master" is measured.
  pause       same topology; SIGSTOP the master for 0.7x, 1.5x and 3x down-after, SIGCONT,
              watch 6 s more. Counts runs with a +try-failover and with a +switch-master.
  throughput  redis-benchmark -c 50 -n N [-P 16] SENTINEL get-master-addr-by-name mymaster
              against one sentinel of a discovered topology; sentinel CPU time per request
              from /proc/PID/stat (utime+stime) before/after.
  scale       one sentinel alone (quorum 1) monitoring 1, 50 and 200 masters, each a
              distinct redis-server process without replicas (--save '' --appendonly no
              --hz 1); after --steady seconds of steady state: VmRSS, and CPU% over a
              --window second window.
  partition   network namespaces (10.214.53.0/24, see partition.py): master + sentinel 1
              + a writing client in one namespace, the 2 replicas + sentinels 2 and 3 in
              another, joined by a bridge in a third. The link of the master's side is
              taken down for --hold seconds, then healed; counts acknowledged writes missing
              from the final master. Needs root.

Runs of the two implementations alternate (ours, redis, ours, ...) so that load on a
shared machine hits both alike; ratios of medians are printed.

  --check     also compares each ratio of medians measured in this run with the goal
              stated in bench/README.md ("Goals"), prints one line per goal, and exits 1
              when a goal is missed or could not be measured (a part that failed every
              run). Goals of parts not run are not checked. Needs --impl both.
"""

import argparse
import atexit
import datetime
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failover as fo  # noqa: E402  (Topology, ports, discovery)

import redis  # noqa: E402
from redis.sentinel import Sentinel  # noqa: E402

HOST, NAME, REPO = fo.HOST, fo.NAME, fo.REPO
IMPLS = ("ours", "redis")
LABEL = {"ours": "ours", "redis": "redis-sentinel"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every process and temp dir we start is registered here and cleaned at exit, whatever
# happens (exception, Ctrl-C, SIGTERM).
_PROCS = []
_DIRS = []


def _cleanup():
    for p in _PROCS:
        try:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def popen(cmd, log, cwd=None):
    out = open(log, "ab")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    out.close()
    _PROCS.append(p)
    return p


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def stats(xs, f="{:.2f}"):
    if not xs:
        return "–", "–", "–"
    return tuple(f.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


# Goals (bench/README.md, "Goals"): (part, metric, ours/redis ratio of medians, op, bound).
GOALS = [
    ("timeline", "RTO (first write)", "<=", 0.75),
    ("timeline", "first +switch-master", "<=", 0.75),
    ("pause", "failovers at 0.7x (ours, absolute)", "==", 0),
    ("pause", "failovers at 1.5x (ours - redis-sentinel)", ">=", 0),
    ("throughput", "requests/s, no pipeline", ">=", 0.8),
    ("throughput", "requests/s, -P 16", ">=", 0.8),
    ("throughput", "CPU per request, no pipeline", "<=", 1.5),
    ("scale", "RSS, largest size", "<=", 1.0),
    ("partition", "acked writes lost after the heal", "<=", 0.5),
]
# What the parts measured for the goals: (part, metric) -> value (None: not measured).
MEASURED = {}


def measure(part, metric, ours, redis_=None):
    """Records a goal's value: the ratio of medians of two samples, or a plain number."""
    if redis_ is None:
        MEASURED[(part, metric)] = ours
    elif ours and redis_ and statistics.median(redis_) != 0:
        MEASURED[(part, metric)] = statistics.median(ours) / statistics.median(redis_)
    else:
        MEASURED[(part, metric)] = None


def check_goals(parts):
    """Prints one line per goal of the parts run; returns the number missed."""
    ops = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}
    missed = 0
    print("\n======== goals (bench/README.md) ========\n")
    for part, metric, op, bound in GOALS:
        if part not in parts:
            continue
        v = MEASURED.get((part, metric))
        ok = v is not None and ops[op](v, bound)
        missed += not ok
        shown = "not measured" if v is None else f"{v:.2f}"
        print(f"{'ok  ' if ok else 'MISS'} {part:10s} {metric}: {shown} (goal {op} {bound})")
    print(f"\n{missed} goal(s) missed" if missed else "\nall goals met")
    return missed


def ratio(a, b):
    if not a or not b or statistics.median(b) == 0:
        return "–"
    return f"{statistics.median(a) / statistics.median(b):.2f}"


class Topo(fo.Topology):
    """failover.Topology with registered processes/dirs and a restart of one Redis."""

    def __init__(self, cmd, **kw):
        super().__init__(cmd, **kw)
        _DIRS.append(self.dir)
        for p, _ in self.procs.values():
            _PROCS.append(p)

    def restart_redis(self, port):
        conf = os.path.join(self.dir, f"redis-{port}.conf")
        log = os.path.join(self.dir, f"redis-{port}.log")
        p = popen(["redis-server", conf], log, cwd=self.dir)
        self.procs[port] = (p, log)
        fo.wait_port(port, p, f"redis-{port}", log)

    def pid(self, port):
        return self.procs[port][0].pid


class Events:
    """PSUBSCRIBE * on every sentinel; (monotonic receipt time, sentinel port, channel, data)."""

    def __init__(self, endpoints, connect=None):
        self.events = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ready = threading.Barrier(len(endpoints) + 1)
        self.threads = [threading.Thread(target=self._run, args=(h, p), daemon=True) for h, p in endpoints]
        for t in self.threads:
            t.start()
        self.ready.wait(timeout=10)

    def _run(self, host, port):
        r = redis.Redis(host=host, port=port, socket_timeout=5, socket_connect_timeout=2)
        ps = r.pubsub()
        try:
            ps.psubscribe("*")
            ps.get_message(timeout=2)
        finally:
            self.ready.wait(timeout=10)
        while not self.stop.is_set():
            try:
                m = ps.get_message(timeout=0.05)
            except Exception:  # noqa: BLE001 - sentinel gone (killed at teardown)
                return
            if m and m["type"] == "pmessage":
                now = time.monotonic()
                with self.lock:
                    self.events.append((now, port, m["channel"].decode(), m["data"].decode(errors="replace")))
        try:
            ps.close()
            r.close()
        except Exception:  # noqa: BLE001
            pass

    def find(self, channel, after=0.0, prefix=None):
        with self.lock:
            return [e for e in self.events
                    if e[2] == channel and e[0] >= after and (prefix is None or e[3].startswith(prefix))]

    def first(self, channel, after=0.0, prefix=None):
        found = self.find(channel, after, prefix)
        return found[0][0] if found else None

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)


def wait_until(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


# ----------------------------------------------------------------------- 1. timeline --

TIMELINE = ["+sdown", "+odown", "+elected-leader", "+promoted-slave", "first +switch-master",
            "last +switch-master", "RTO (first write)", "old master -> replica"]


def timeline_run(cmd, timeout):
    topo = Topo(cmd)
    ev = None
    try:
        fo.wait_discovery(topo)
        s = Sentinel([(HOST, p) for p in topo.sentinel_ports], socket_timeout=0.1, socket_connect_timeout=0.1)
        master = s.master_for(NAME, socket_timeout=0.1, socket_connect_timeout=0.1)
        master.set("bench", "warm-up")
        ev = Events([(HOST, p) for p in topo.sentinel_ports])
        old = topo.redis_ports[0]
        t0 = time.monotonic()
        topo.kill(old)
        t_write = t_restart = None
        n = 0
        while time.monotonic() - t0 < timeout:
            if t_restart is None and ev.first("+switch-master", t0):
                topo.restart_redis(old)
                t_restart = time.monotonic()
            if t_write is None:
                n += 1
                try:
                    master.set("bench", str(n))
                    t_write = time.monotonic()
                except Exception:  # noqa: BLE001 - not yet
                    time.sleep(0.01)
            elif t_restart is None:
                time.sleep(0.01)
            else:
                break
        if t_write is None or t_restart is None:
            raise RuntimeError(f"no write/switch within {timeout}s\n{topo.logs()}")
        new = master.connection_pool.get_master_address()
        # All three sentinels publish +switch-master; wait (bounded) for the third.
        wait_until(lambda: len(ev.find("+switch-master", t0)) >= 3, 10)
        old_conn = redis.Redis(host=HOST, port=old, socket_timeout=0.5, socket_connect_timeout=0.5)

        def demoted():
            try:
                r = old_conn.execute_command("ROLE")
                return r[0] == b"slave" and int(r[2]) == int(new[1])
            except Exception:  # noqa: BLE001
                return False
        t_demoted = time.monotonic() if wait_until(demoted, 60, 0.05) else None
        old_conn.close()
        sw = ev.find("+switch-master", t0)
        rel = lambda t: None if t is None else t - t0  # noqa: E731
        out = {
            "+sdown": rel(ev.first("+sdown", t0, "master ")),
            "+odown": rel(ev.first("+odown", t0, "master ")),
            "+elected-leader": rel(ev.first("+elected-leader", t0)),
            "+promoted-slave": rel(ev.first("+promoted-slave", t0)),
            "first +switch-master": rel(sw[0][0]) if sw else None,
            "last +switch-master": rel(sw[-1][0]) if len(sw) >= 3 else None,
            "RTO (first write)": t_write - t0,
            "old master -> replica": None if t_demoted is None else t_demoted - t_restart,
        }
        return out, len(sw)
    finally:
        if ev:
            ev.close()
        topo.close()


def part_timeline(impls, runs, timeout):
    res = {i: {k: [] for k in TIMELINE} for i in impls}
    fails = {i: 0 for i in impls}
    for r in range(1, runs + 1):
        for name in impls:
            try:
                out, nsw = timeline_run(impls[name], timeout)
                for k, v in out.items():
                    if v is not None:
                        res[name][k].append(v)
                print(f"timeline run {r} {name:5s}: " + ", ".join(
                    f"{k} {v:.2f}" if v is not None else f"{k} –" for k, v in out.items())
                    + f" ({nsw} +switch-master)", flush=True)
            except Exception as e:  # noqa: BLE001
                fails[name] += 1
                print(f"timeline run {r} {name}: FAILED: {e}", flush=True)
    lines = [f"**Failover timeline** — seconds after SIGKILL of the master ({runs} runs each; "
             "'old master -> replica' counts from its restart at the first +switch-master)", "",
             "| event | " + " | ".join(f"{LABEL[i]} min / median / max" for i in impls)
             + (" | ratio of medians |" if len(impls) == 2 else " |"),
             "|---|" + "---|" * len(impls) + ("---|" if len(impls) == 2 else "")]
    for k in TIMELINE:
        row = f"| {k} | " + " | ".join(" / ".join(stats(res[i][k])) + f" (n={len(res[i][k])})" for i in impls)
        if len(impls) == 2:
            row += f" | {ratio(res['ours'][k], res['redis'][k])}"
        lines.append(row + " |")
    if any(fails.values()):
        lines.append("")
        lines.append("failed runs: " + ", ".join(f"{LABEL[i]} {fails[i]}" for i in impls))
    if len(impls) == 2:
        for k in ("RTO (first write)", "first +switch-master"):
            measure("timeline", k, res["ours"][k], res["redis"][k])
    return "\n".join(lines)


# -------------------------------------------------------------------------- 2. pauses --

def pause_run(cmd, factor, down_after=1000, watch=6.0):
    topo = Topo(cmd, down_after=down_after)
    ev = None
    try:
        fo.wait_discovery(topo)
        ev = Events([(HOST, p) for p in topo.sentinel_ports])
        master = topo.procs[topo.redis_ports[0]][0]
        t0 = time.monotonic()
        master.send_signal(signal.SIGSTOP)
        try:
            time.sleep(factor * down_after / 1000)
        finally:
            master.send_signal(signal.SIGCONT)
        time.sleep(watch)
        t_sdown = ev.first("+sdown", t0, "master ")
        return {"sdown": bool(ev.find("+sdown", t0, "master ")),
                "sdown_at": None if t_sdown is None else t_sdown - t0,
                "odown": bool(ev.find("+odown", t0, "master ")),
                "try": bool(ev.find("+try-failover", t0)),
                "switch": bool(ev.find("+switch-master", t0))}
    finally:
        if ev:
            ev.close()
        topo.close()


def part_pause(impls, runs, factors=(0.7, 1.5, 3.0)):
    res = {(i, f): [] for i in impls for f in factors}
    for f in factors:
        for r in range(1, runs + 1):
            for name in impls:
                try:
                    out = pause_run(impls[name], f)
                    res[(name, f)].append(out)
                    print(f"pause {f}x run {r} {name:5s}: {out}", flush=True)
                except Exception as e:  # noqa: BLE001
                    print(f"pause {f}x run {r} {name}: FAILED: {e}", flush=True)
    lines = ["**Master paused** (SIGSTOP for the given multiple of down-after-milliseconds 1000, "
             "then SIGCONT; events watched 6 s more). Runs with the event / runs; +sdown time after "
             "SIGSTOP min / median / max:", "",
             "| pause | implementation | +sdown | +sdown after s | +odown | +try-failover | failover (+switch-master) |",
             "|---|---|---|---|---|---|---|"]
    for f in factors:
        for i in impls:
            rs = res[(i, f)]
            c = lambda k: f"{sum(x[k] for x in rs)}/{len(rs)}"  # noqa: E731
            sw = c("switch") + (" (false failover!)" if f < 1 and any(x["switch"] for x in rs) else "")
            lines.append(f"| {f}× ({int(f * 1000)} ms) | {LABEL[i]} | {c('sdown')} | {' / '.join(stats([x['sdown_at'] for x in rs if x['sdown_at'] is not None]))} | {c('odown')} | {c('try')} | {sw} |")
    switches = {k: sum(x["switch"] for x in v) if v else None for k, v in res.items()}
    if "ours" in impls and 0.7 in factors:
        measure("pause", "failovers at 0.7x (ours, absolute)", switches[("ours", 0.7)])
    if len(impls) == 2 and 1.5 in factors:
        a, b = switches[("ours", 1.5)], switches[("redis", 1.5)]
        measure("pause", "failovers at 1.5x (ours - redis-sentinel)", None if a is None or b is None else a - b)
    return "\n".join(lines)


# ---------------------------------------------------------------------- 3. throughput --

BENCH_TIMEOUT = 60


class Hung(RuntimeError):
    pass


def redis_benchmark(port, n, pipeline):
    cmd = ["redis-benchmark", "-h", HOST, "-p", str(port), "-c", "50", "-n", str(n), "--csv"]
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    cmd += ["SENTINEL", "get-master-addr-by-name", NAME]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Hung(f"redis-benchmark did not finish within {BENCH_TIMEOUT} s (replies missing?)") from None
    rows = [line for line in out.stdout.splitlines() if line.startswith('"') and not line.startswith('"test"')]
    if out.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    vals = [v.strip('"') for v in rows[-1].split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return {"rps": float(vals[1]), "avg": float(vals[2]), "p50": float(vals[4]), "p99": float(vals[6]),
            "max": float(vals[7])}


def answers(port):
    try:
        r = redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=2)
        r.execute_command("SENTINEL", "get-master-addr-by-name", NAME)
        r.close()
        return True
    except Exception:  # noqa: BLE001
        return False


def part_throughput(impls, runs, n):
    topos = {}
    res = {(i, p): [] for i in impls for p in (1, 16)}
    hung = {(i, p): 0 for i in impls for p in (1, 16)}
    try:
        for name in impls:
            topos[name] = Topo(impls[name])
        for name in impls:
            fo.wait_discovery(topos[name])
        for r in range(1, runs + 1):
            for pipe in (1, 16):
                for name in impls:
                    port = topos[name].sentinel_ports[0]
                    pid = topos[name].pid(port)
                    try:
                        c0 = cpu_ticks(pid)
                        out = redis_benchmark(port, n, pipe)
                        out["cpu_us"] = (cpu_ticks(pid) - c0) / CLK_TCK / n * 1e6
                        res[(name, pipe)].append(out)
                        print(f"throughput run {r} -P {pipe:2d} {name:5s}: {out['rps']:.0f} req/s, "
                              f"p50 {out['p50']:.3f} ms, p99 {out['p99']:.3f} ms, "
                              f"{out['cpu_us']:.2f} µs CPU/req", flush=True)
                    except Exception as e:  # noqa: BLE001
                        hung[(name, pipe)] += isinstance(e, Hung)
                        alive = "answers" if answers(port) else "does NOT answer"
                        print(f"throughput run {r} -P {pipe} {name}: FAILED: {e}; sentinel {alive} "
                              "a new client afterwards", flush=True)
    finally:
        for t in topos.values():
            t.close()
    lines = [f"**SENTINEL GET-MASTER-ADDR-BY-NAME** — redis-benchmark -c 50 -n {n} "
             f"[-P 16], {runs} runs each, min / median / max over completed runs; CPU = sentinel utime+stime "
             f"per request; a run not finished within {BENCH_TIMEOUT} s counts as hung", "",
             "| pipeline | implementation | ok/runs | requests/s | p50 latency ms | p99 latency ms | CPU µs/request |",
             "|---|---|---|---|---|---|---|"]
    for pipe in (1, 16):
        for i in impls:
            rs = res[(i, pipe)]
            ok = f"{len(rs)}/{runs}" + (f" ({hung[(i, pipe)]} hung)" if hung[(i, pipe)] else "")
            lines.append(f"| {'-P 16' if pipe > 1 else 'none'} | {LABEL[i]} | {ok} | "
                         + " | ".join(" / ".join(stats([x[k] for x in rs], fmt_))
                                      for k, fmt_ in (("rps", "{:.0f}"), ("p50", "{:.3f}"), ("p99", "{:.3f}"),
                                                      ("cpu_us", "{:.2f}"))) + " |")
        if len(impls) == 2:
            lines.append(f"| {'-P 16' if pipe > 1 else 'none'} | ratio ours/redis (medians) | | "
                         + " | ".join(ratio([x[k] for x in res[('ours', pipe)]], [x[k] for x in res[('redis', pipe)]])
                                      for k in ("rps", "p50", "p99", "cpu_us")) + " |")
    if len(impls) == 2:
        col = lambda i, p, k: [x[k] for x in res[(i, p)]]  # noqa: E731
        measure("throughput", "requests/s, no pipeline", col("ours", 1, "rps"), col("redis", 1, "rps"))
        measure("throughput", "requests/s, -P 16", col("ours", 16, "rps"), col("redis", 16, "rps"))
        measure("throughput", "CPU per request, no pipeline", col("ours", 1, "cpu_us"), col("redis", 1, "cpu_us"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- 4. scale --

def raise_nofile(need):
    """1,000 masters take ~2,000 sentinel links and 1,000 redis-server processes: lifts
    the soft limit of open files to the hard limit (children inherit it)."""
    import resource  # noqa: PLC0415
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, need))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < need:
        print(f"warning: open-file limit {soft} < {need} needed for the largest size", flush=True)


def start_masters(count, d):
    ports = []
    for _ in range(count):
        port = fo.free_port()
        log = os.path.join(d, f"m{port}.log")
        p = popen(["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                   "--hz", "1", "--dir", d, "--daemonize", "no"], log, cwd=d)
        fo.wait_port(port, p, f"redis-{port}", log)
        ports.append((port, p))
    return ports


def scale_run(cmd, masters, d, steady, window, down_after=1000):
    sport = fo.free_port()
    sd = tempfile.mkdtemp(prefix="s", dir=d)
    conf = os.path.join(sd, "sentinel.conf")
    lines = [f"port {sport}", f"bind {HOST}", f"dir {sd}", "daemonize no"]
    for k, (port, _) in enumerate(masters):
        lines += [f"sentinel monitor m{k} {HOST} {port} 1",
                  f"sentinel down-after-milliseconds m{k} {down_after}",
                  f"sentinel failover-timeout m{k} 10000"]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = os.path.join(sd, "sentinel.log")
    p = popen(cmd + [conf], log, cwd=sd)
    try:
        fo.wait_port(sport, p, "sentinel", log)
        r = redis.Redis(host=HOST, port=sport, socket_timeout=5, socket_connect_timeout=2)

        def all_up():
            try:
                ms = r.execute_command("SENTINEL", "MASTERS")
                return len(ms) == len(masters)
            except Exception:  # noqa: BLE001
                return False
        if not wait_until(all_up, 30 + len(masters) / 20, 0.2):
            raise RuntimeError(f"sentinel does not list {len(masters)} masters:\n{fo.tail(log)}")
        r.close()
        time.sleep(steady)
        c0, t0 = cpu_ticks(p.pid), time.monotonic()
        time.sleep(window)
        cpu = (cpu_ticks(p.pid) - c0) / CLK_TCK / (time.monotonic() - t0) * 100
        return rss_kb(p.pid) / 1024, cpu
    finally:
        p.kill()
        p.wait(timeout=5)


def part_scale(impls, sizes, steady, window, down_after=1000):
    d = tempfile.mkdtemp(prefix="sentinel-bench-scale-")
    _DIRS.append(d)
    res = {}
    masters = []
    raise_nofile(4 * max(sizes) + 1000)
    try:
        masters = start_masters(max(sizes), d)
        for n in sizes:
            for name in impls:
                try:
                    res[(name, n)] = scale_run(impls[name], masters[:n], d, steady, window, down_after)
                    print(f"scale {n:3d} masters {name:5s}: RSS {res[(name, n)][0]:.1f} MiB, "
                          f"CPU {res[(name, n)][1]:.2f}%", flush=True)
                except Exception as e:  # noqa: BLE001
                    print(f"scale {n} {name}: FAILED: {e}", flush=True)
    finally:
        for _, p in masters:
            p.kill()
        for _, p in masters:
            p.wait(timeout=5)
    lines = [f"**One sentinel watching N masters** (each master a distinct redis-server without "
             f"replicas, quorum 1, no peer sentinels, down-after {down_after} ms; RSS after {steady:.0f} s of "
             f"steady state, CPU over the "
             f"next {window:.0f} s; one run each)", "",
             "| masters | " + " | ".join(f"{LABEL[i]} RSS MiB | {LABEL[i]} CPU %" for i in impls) + " |",
             "|---|" + "---|---|" * len(impls)]
    both = len(impls) == 2
    if both:
        lines[-2] += " ours/redis RSS | ours/redis CPU |"
        lines[-1] += "---|---|"
    for n in sizes:
        cells = []
        for i in impls:
            v = res.get((i, n))
            cells += [f"{v[0]:.1f}", f"{v[1]:.2f}"] if v else ["–", "–"]
        if both:
            o, r = res.get(("ours", n)), res.get(("redis", n))
            cells += ([f"{o[0] / r[0]:.2f}", f"{o[1] / r[1]:.2f}" if r[1] else "–"] if o and r else ["–", "–"])
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    if len(impls) == 2:
        big = max(sizes)
        o, r = res.get(("ours", big)), res.get(("redis", big))
        measure("scale", "RSS, largest size", [o[0]] if o else [], [r[0]] if r else [])
        measure("scale", "CPU, largest size", [o[1]] if o else [], [r[1]] if r else [])
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main --

def measure_partition(table):
    """The partition part returns only its table: the median of the column whose header
    says "acked after heal" ("min / median / max") per implementation."""
    med = {}
    col = None
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if col is None and cells and cells[0] == "implementation":
            col = next((k for k, c in enumerate(cells) if "acked after heal" in c), None)
        if col is not None and len(cells) > col and cells[0] in ("ours", "redis-sentinel"):
            parts = cells[col].split(" / ")
            try:
                med[cells[0]] = float(parts[1])
            except (IndexError, ValueError):
                pass
    o, r = med.get("ours"), med.get("redis-sentinel")
    measure("partition", "acked writes lost after the heal", [o] if o is not None else [], [r] if r is not None else [])


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rs = subprocess.run(["redis-sentinel", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{datetime.date.today().isoformat()}, {platform.node()}: {os.cpu_count()} vCPU ({cpu}), "
            f"shared with other workloads; Linux {platform.release()}; {rs.split(' sha=')[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="failover timeline runs per implementation")
    ap.add_argument("--pause-runs", type=int, help="runs per pause length and implementation (default --runs)")
    ap.add_argument("--bench-runs", type=int, default=3, help="redis-benchmark runs per configuration")
    ap.add_argument("--requests", type=int, default=200000, help="redis-benchmark -n")
    ap.add_argument("--sizes", default="1,50,200", help="numbers of masters for the scale part")
    ap.add_argument("--steady", type=float, default=30.0, help="scale: seconds of steady state before measuring")
    ap.add_argument("--window", type=float, default=10.0, help="scale: CPU measurement window, seconds")
    ap.add_argument("--scale-down-after", type=int, default=1000,
                    help="scale: down-after-milliseconds of every master (ours pings 4x per down-after, "
                         "capped at 1 s; Redis once per min(down-after, 1 s))")
    ap.add_argument("--partition-runs", type=int, default=2)
    ap.add_argument("--hold", type=float, default=6.0, help="partition: seconds the partition is held")
    ap.add_argument("--parts", default="timeline,pause,throughput,scale,partition")
    ap.add_argument("--quick", action="store_true",
                    help="1 run of everything, -n 50000, 5 s steady state + 5 s window")
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    ap.add_argument("--sentinel-bin", default=os.path.join(REPO, "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--timeout", type=float, default=60.0, help="timeline: per-run bound, seconds")
    ap.add_argument("--out", help="also write the tables (markdown) to this file")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a ratio vs redis-sentinel of this run misses a goal of bench/README.md")
    args = ap.parse_args()
    if args.check and args.impl != "both":
        sys.exit("--check compares with redis-sentinel in the same run: needs --impl both")
    if args.quick:
        args.runs, args.pause_runs, args.bench_runs, args.requests = 1, 1, 1, 50000
        args.steady, args.window, args.partition_runs = 5.0, 5.0, 1
    pause_runs = args.pause_runs or args.runs

    ours = os.path.abspath(args.sentinel_bin)
    all_impls = {"ours": [ours], "redis": [args.redis_sentinel]}
    chosen = list(IMPLS) if args.impl == "both" else [args.impl]
    impls = {k: all_impls[k] for k in chosen}
    for name in chosen:
        exe = impls[name][0]
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
            sys.exit(f"{name}: {exe} not found")
    for prog in ("redis-server", "redis-benchmark"):
        if not shutil.which(prog):
            sys.exit(f"{prog} not found (apt-get install redis-server redis-tools)")
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]

    tables = [f"Machine: {machine()}.", "",
              f"Command: `python3 bench/run.py {' '.join(sys.argv[1:])}`".replace("run.py `", "run.py`")]
    started = time.monotonic()
    for part in parts:
        t = time.monotonic()
        print(f"\n=== {part} ===", flush=True)
        if part == "timeline":
            table = part_timeline(impls, args.runs, args.timeout)
        elif part == "pause":
            table = part_pause(impls, pause_runs)
        elif part == "throughput":
            table = part_throughput(impls, args.bench_runs, args.requests)
        elif part == "scale":
            table = part_scale(impls, [int(x) for x in args.sizes.split(",")], args.steady, args.window,
                               args.scale_down_after)
        elif part == "partition":
            import partition  # noqa: PLC0415 - needs root and ip(8); only loaded when used
            table = partition.part_partition(impls, args.partition_runs, args.hold, popen)
            measure_partition(table)
        else:
            sys.exit(f"unknown part {part}")
        print("\n" + table + "\n", flush=True)
        print(f"({part}: {time.monotonic() - t:.0f} s)", flush=True)
        tables += ["", table]
    tables += ["", f"Total time {time.monotonic() - started:.0f} s."]
    text = "\n".join(tables)
    print("\n\n======== summary ========\n\n" + text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.check and check_goals(parts):
        sys.exit(1)


if __name__ == "__main__":
    main()
