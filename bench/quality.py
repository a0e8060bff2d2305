#!/usr/bin/env python3
"""Failover quality, our sentinel vs Debian's redis-sentinel (issue 12, items 2, 3, 4, 6).

Every run starts a fresh topology on 127.0.0.1 (1 master + 2 replicas + 3 sentinels,
quorum 2, failover-timeout 10000, parallel-syncs 1; bench/failover.py's `Topology`), waits
until every sentinel sees 2 replicas and 2 peers and both replicas' links are up, then
injects one fault. Runs of the two implementations are interleaved (ours, redis, ours, ...).
Our options are set in our sentinels' sentinel.conf only (redis-sentinel has none of them).

  lag    (item 2) down-after 3000. Replica L gets `replica-priority 1` (the other keeps 100,
         so L is every sentinel's first choice) and is held back: a wrong `masterauth` and
         `CLIENT KILL TYPE master` break its link, so it stops applying the stream while the
         master takes WRITES fresh keys (100-byte values). The master is SIGKILLed once every
         sentinel's `SENTINEL REPLICAS` shows L's priority 1 and its `SENTINEL INFO-CACHE`
         holds a `master_repl_offset` at or after the writes (the best known offset is
         refreshed by the master's INFO every 10 s; docs/failover-quality.md). Counted: the
         runs where L is promoted (first `+switch-master`), and the acknowledged writes
         missing on the promoted replica. Ours: `sentinel max-lag-on-failover mymaster
         MAX_LAG`. down-after 3000 rather than 1000 so that Redis's own rule (a replica whose
         link has been down > 10 x down-after is excluded, §9) does not exclude L instead.
  loop   (item 3) down-after 1000. The node the sentinels name as master is SIGKILLed every
         INTERVAL s, CRASHES times (5 in 60 s by default), and restarted RESTART_AFTER s after
         each kill from its own redis.conf (rewritten by the sentinels' CONFIG REWRITE, so a
         promoted replica comes back a master, empty: no persistence). Counted over the 60 s
         plus 10 s: failovers = the largest number of `+switch-master` any one sentinel
         published; ours also `-failover-blocked`. Ours: `sentinel failover-block-period
         mymaster BLOCK_MS`.
  back   (item 4) down-after 1000. SIGKILL the master, wait for the failover to finish (all 3
         sentinels name the new master, the other replica follows it with its link up), restart
         the old master (same redis.conf: it comes back a master, empty). Measured: from its
         first answered PING to its `ROLE` saying slave of the new master. No options.
  rto    (item 6) down-after 30000. SIGKILL the master -> first successful SET through a
         redis-py Sentinel client (as bench/failover.py), and the first `+switch-master`.
         Ours: `sentinel crash-detection mymaster fast` (grace 500 ms, docs/crash-detection.md).
         A run with no write within --rto-timeout counts as failed (reported, not hidden).

    python3 bench/quality.py --sentinel-bin /tmp/sentinel-rbuf            # all, 10 runs each
    python3 bench/quality.py --items back,rto --runs 3 --impl ours

Needs redis-server, redis-sentinel and the `redis` package; only 127.0.0.1 is used.
"""

import argparse
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import HOST, NAME, REPO, EventLog, Topology, first_write, fmt, implementations, wait_port  # noqa: E402
from tail import wait_ready  # noqa: E402

import redis  # noqa: E402
from redis.sentinel import Sentinel  # noqa: E402

ITEMS = ["lag", "loop", "back", "rto"]


class QTopology(Topology):
    """bench/failover.py's topology with extra sentinel.conf lines and node restarts."""

    def __init__(self, sentinel_cmd, sentinel_extra=(), **kw):
        self.sentinel_extra = list(sentinel_extra)
        super().__init__(sentinel_cmd, **kw)

    def _start(self, name, port, cmd, conf_lines, conf_name):
        if name.startswith("sentinel-"):
            conf_lines = conf_lines + self.sentinel_extra
        super()._start(name, port, cmd, conf_lines, conf_name)

    def spawn(self, port):
        """Start a killed redis-server again from its (possibly rewritten) redis.conf."""
        p, log = self.procs[port]
        assert p.poll() is not None, f"redis {port} is still running"
        conf = os.path.join(self.dir, f"redis-{port}.conf")
        p = subprocess.Popen(["redis-server", conf], stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.dir)
        self.procs[port] = (p, log)
        return p

    def restart(self, port):
        p = self.spawn(port)
        wait_port(port, p, f"redis-{port}", self.procs[port][1])


def conn(port, timeout=0.5):
    return redis.Redis(host=HOST, port=port, socket_timeout=timeout, socket_connect_timeout=timeout)


# What the items watch on every sentinel (failover.py's EventLog).
CHANNELS = ["+switch-master", "+promoted-slave", "+try-failover", "-failover-blocked",
            "-failover-lagging-replicas", "-failover-abort-no-good-slave", "+crash-detected",
            "+selected-slave"]


def sentinel_addrs(topo):
    """Master port named by each sentinel (None when it does not answer)."""
    out = []
    for p in topo.sentinel_ports:
        try:
            a = conn(p).sentinel_get_master_addr_by_name(NAME)
            out.append(int(a[1]) if a else None)
        except Exception:  # noqa: BLE001
            out.append(None)
    return out


def majority_master(topo):
    addrs = [a for a in sentinel_addrs(topo) if a is not None]
    return max(set(addrs), key=addrs.count) if addrs else None


def flatten(v, out):
    if isinstance(v, (list, tuple)):
        for x in v:
            flatten(x, out)
    elif isinstance(v, bytes):
        out.append(v.decode(errors="replace"))
    elif isinstance(v, str):
        out.append(v)
    return out


def cached_best_offset(port):
    """Largest master_repl_offset in a sentinel's SENTINEL INFO-CACHE."""
    texts = flatten(conn(port).execute_command("SENTINEL", "INFO-CACHE", NAME), [])
    best = 0
    for t in texts:
        for line in t.splitlines():
            if line.startswith("master_repl_offset:"):
                best = max(best, int(line.split(":", 1)[1]))
    return best


def poll(deadline_s, what, fn, every=0.05):
    """Poll fn() until it returns a truthy value; RuntimeError naming `what` at the deadline."""
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - report the last thing seen
            last = repr(e)
        time.sleep(every)
    raise RuntimeError(f"{what}: not within {deadline_s}s (last: {last})")


# ------------------------------------------------------------------------- lag (item 2) --


def run_lag(cmd, ours, args):
    extra = [f"sentinel max-lag-on-failover {NAME} {args.max_lag}"] if ours and args.max_lag > 0 else []
    topo = QTopology(cmd, extra, down_after=3000)
    try:
        wait_ready(topo, 2)
        m, lagging, good = topo.redis_ports
        rl, rm = conn(lagging), conn(m, timeout=5)
        rl.config_set("replica-priority", 1)
        rl.config_set("masterauth", "not-the-password")
        rl.execute_command("CLIENT", "KILL", "TYPE", "master")
        poll(10, "L's link down", lambda: rl.info("replication").get("master_link_status") == "down")
        value = "x" * 100
        pipe = rm.pipeline(transaction=False)
        for i in range(args.writes):
            pipe.set(f"lag:{i}", value)
        pipe.execute()
        offset = rm.info("replication")["master_repl_offset"]

        def sentinels_know():
            for p in topo.sentinel_ports:
                reps = conn(p).sentinel_slaves(NAME)
                prio = [str(r.get("slave-priority")) for r in reps if int(r["port"]) == lagging]
                if prio != ["1"] or cached_best_offset(p) < offset:
                    return False
            return True

        poll(30, "every sentinel to see L's priority 1 and the master's offset after the writes",
             sentinels_know, every=0.2)
        lag_bytes = offset - rl.info("replication")["slave_repl_offset"]
        ev = EventLog(topo.sentinel_ports, CHANNELS)
        t0 = time.monotonic()
        topo.kill(m)
        try:
            poll(args.lag_timeout, "+switch-master", lambda: ev.first("+switch-master"), every=0.02)
        except RuntimeError:
            pass
        ev.close()
        sw = ev.first("+switch-master")
        if sw is None:
            return {"promoted": None, "lag_bytes": lag_bytes, "lost": None, "switch": None,
                    "refused": len(ev.of("-failover-lagging-replicas"))}
        new = int(sw[3].split()[-1])
        rn = conn(new, timeout=5)
        kept = sum(1 for _ in rn.scan_iter("lag:*", count=1000))
        return {"promoted": "lagging" if new == lagging else ("up-to-date" if new == good else str(new)),
                "lag_bytes": lag_bytes, "lost": args.writes - kept, "switch": sw[0] - t0,
                "refused": len(ev.of("-failover-lagging-replicas"))}
    finally:
        topo.close(args.keep)


def show_lag(i, name, r):
    sw = f"{r['switch']:.2f}s" if r["switch"] is not None else "none"
    return (f"promoted {r['promoted']} (L was {r['lag_bytes']} bytes behind), +switch-master after {sw}, "
            f"acknowledged writes lost {r['lost']}, -failover-lagging-replicas events {r['refused']}")


def table_lag(results, chosen, args):
    print(f"Lagging replica (L: replica-priority 1, link broken, {args.writes} writes behind) at the "
          f"master's SIGKILL; down-after 3000; ours with "
          + (f"max-lag-on-failover {args.max_lag}" if args.max_lag > 0 else "no max-lag-on-failover (control)"))
    print()
    print("| implementation | ok/runs | L promoted | up-to-date replica promoted | no failover "
          "| writes lost (min/med/max) | L's lag, bytes (min/med/max) | +switch-master s (min/med/max) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in chosen:
        rs, fail = results[name]["runs"], results[name]["fail"]
        c = lambda k: sum(1 for r in rs if r["promoted"] == k)  # noqa: E731
        lost = [r["lost"] for r in rs if r["lost"] is not None]
        lags = [r["lag_bytes"] for r in rs]
        ints = lambda xs: "/".join(str(x) for x in (min(xs), int(statistics.median(xs)), max(xs))) if xs else "–"  # noqa: E731,E501
        print(f"| {label(name)} | {len(rs)}/{len(rs) + fail} | {c('lagging')} | {c('up-to-date')} | {c(None)} "
              f"| {ints(lost)} | {ints(lags)} | {'/'.join(fmt([r['switch'] for r in rs if r['switch'] is not None]))} |")


# ------------------------------------------------------------------------ loop (item 3) --


def run_loop(cmd, ours, args):
    extra = [f"sentinel failover-block-period {NAME} {args.block_ms}"] if ours else []
    topo = QTopology(cmd, extra, down_after=1000)
    try:
        wait_ready(topo, 2)
        ev = EventLog(topo.sentinel_ports, CHANNELS)
        t0 = time.monotonic()
        killed = []
        for k in range(args.crashes):
            at = t0 + k * args.interval
            time.sleep(max(0.0, at - time.monotonic()))
            m = majority_master(topo)
            if m is None:
                raise RuntimeError("no sentinel names a master")
            topo.kill(m)
            killed.append(m)
            time.sleep(max(0.0, at + args.restart_after - time.monotonic()))
            topo.restart(m)
        end = t0 + args.window + args.settle
        time.sleep(max(0.0, end - time.monotonic()))
        ev.close()
        per = [sum(1 for e in ev.of("+switch-master") if e[1] == i) for i in range(3)]
        # Is there a writable master the sentinels agree on at the end?
        final = majority_master(topo)
        try:
            conn(final).set("after-loop", "1")
            writable = True
        except Exception:  # noqa: BLE001
            writable = False
        busiest = per.index(max(per))
        switches = [f"{e[0] - t0:.1f}s {e[3].split()[2]}->{e[3].split()[4]}"
                    for e in sorted(ev.of("+switch-master")) if e[1] == busiest]
        return {"failovers": max(per), "per_sentinel": per, "switches": switches, "blocked": len(ev.of("-failover-blocked")),
                "tries": len(ev.of("+try-failover")), "killed": killed, "writable": writable}
    finally:
        topo.close(args.keep)


def show_loop(i, name, r):
    return (f"failovers {r['failovers']} (+switch-master per sentinel {r['per_sentinel']}), "
            f"+try-failover {r['tries']}, -failover-blocked {r['blocked']}, killed {r['killed']}, "
            f"writable master at the end: {r['writable']}; switches {r['switches']}")


def table_loop(results, chosen, args):
    print(f"Crash loop: the master SIGKILLed {args.crashes} times, every {args.interval:g} s, restarted "
          f"{args.restart_after:g} s after each kill; counted over {args.window:g} s + {args.settle:g} s; "
          f"down-after 1000; ours with failover-block-period {args.block_ms}")
    print()
    print("| implementation | ok/runs | failovers per run (min/med/max) | runs with exactly 1 failover "
          "| -failover-blocked events (min/med/max) | writable master at the end |")
    print("|---|---|---|---|---|---|")
    for name in chosen:
        rs, fail = results[name]["runs"], results[name]["fail"]
        fo = [r["failovers"] for r in rs]
        bl = [r["blocked"] for r in rs]
        ints = lambda xs: f"{min(xs)}/{statistics.median(xs):g}/{max(xs)}" if xs else "–"  # noqa: E731,E501
        print(f"| {label(name)} | {len(rs)}/{len(rs) + fail} | {ints(fo)} | {sum(1 for x in fo if x == 1)} "
              f"| {ints(bl)} | {sum(1 for r in rs if r['writable'])}/{len(rs)} |")


# ------------------------------------------------------------------------ back (item 4) --


def run_back(cmd, ours, args):
    topo = QTopology(cmd, [], down_after=1000)
    try:
        wait_ready(topo, 2)
        old = topo.redis_ports[0]
        t0 = time.monotonic()
        topo.kill(old)

        def done():
            addrs = sentinel_addrs(topo)
            if len(set(addrs)) != 1 or addrs[0] in (None, old):
                return None
            new = addrs[0]
            other = [p for p in topo.redis_ports[1:] if p != new][0]
            i = conn(other).info("replication")
            if int(i.get("master_port", 0)) == new and i.get("master_link_status") == "up":
                return new
            return None

        new = poll(60, "failover finished (3 sentinels switched, other replica following)", done, every=0.02)
        t_failed = time.monotonic() - t0
        r = conn(old, timeout=0.2)
        topo.spawn(old)
        t_ping = poll(15, "the old master to answer PING", lambda: r.ping() and time.monotonic(), every=0.005)

        def replica_of_new():
            role = r.execute_command("ROLE")
            return role[0] in (b"slave", "slave") and int(role[2]) == new and time.monotonic()

        t_role = poll(args.back_timeout, "the old master's ROLE: slave of the new master", replica_of_new,
                      every=0.01)
        t_up = poll(args.back_timeout, "the old master's link up",
                    lambda: r.info("replication").get("master_link_status") == "up" and time.monotonic(),
                    every=0.01)
        return {"role": t_role - t_ping, "link": t_up - t_ping, "failover": t_failed}
    finally:
        topo.close(args.keep)


def show_back(i, name, r):
    return (f"failover done {r['failover']:.2f}s after the kill; restarted old master a replica of the new one "
            f"{r['role']:.2f}s after its first PING, link up after {r['link']:.2f}s")


def table_back(results, chosen, args):
    print("Old master back: seconds from its first answered PING after the restart (down-after 1000)")
    print()
    print("| implementation | ok/runs | ROLE slave of the new master (min/med/max) | link up (min/med/max) "
          "| runs ≤ 1 s |")
    print("|---|---|---|---|---|")
    for name in chosen:
        rs, fail = results[name]["runs"], results[name]["fail"]
        roles = [r["role"] for r in rs]
        print(f"| {label(name)} | {len(rs)}/{len(rs) + fail} | {'/'.join(fmt(roles))} "
              f"| {'/'.join(fmt([r['link'] for r in rs]))} | {sum(1 for x in roles if x <= 1.0)} |")


# ------------------------------------------------------------------------- rto (item 6) --


def run_rto(cmd, ours, args):
    extra = [f"sentinel crash-detection {NAME} fast"] if ours else []
    topo = QTopology(cmd, extra, down_after=30000)
    try:
        wait_ready(topo, 2)
        sentinel = Sentinel([(HOST, p) for p in topo.sentinel_ports],
                            socket_timeout=0.1, socket_connect_timeout=0.1)
        master = sentinel.master_for(NAME, socket_timeout=0.1, socket_connect_timeout=0.1)
        master.set("bench", "warm-up")
        ev = EventLog(topo.sentinel_ports, CHANNELS)
        old = topo.redis_ports[0]
        t0 = time.monotonic()
        topo.kill(old)
        t_write, last_err = first_write(master, t0, args.rto_timeout)
        if t_write is not None:  # let the switch event arrive if the write won the race
            try:
                poll(5, "+switch-master", lambda: ev.first("+switch-master"), every=0.01)
            except RuntimeError:
                pass
        ev.close()
        if t_write is None:
            raise RuntimeError(f"no successful write within {args.rto_timeout}s (last error {last_err!r})")
        sw, cd = ev.first("+switch-master"), ev.first("+crash-detected")
        return {"write": t_write - t0, "switch": sw[0] - t0 if sw else None,
                "crash": cd[0] - t0 if cd else None}
    finally:
        topo.close(args.keep)


def show_rto(i, name, r):
    f = lambda x: f"{x:.2f}s" if x is not None else "not seen"  # noqa: E731
    return f"write after {f(r['write'])}, +switch-master after {f(r['switch'])}, +crash-detected {f(r['crash'])}"


def table_rto(results, chosen, args):
    print("Crash RTO: SIGKILL of the master -> first successful write through a redis-py Sentinel client, "
          "seconds (down-after-milliseconds 30000; ours with crash-detection fast, grace 0.5 s)")
    print()
    print("| implementation | ok/runs | write (min/med/max) | +switch-master (min/med/max) | runs ≤ 1.0 s |")
    print("|---|---|---|---|---|")
    for name in chosen:
        rs, fail = results[name]["runs"], results[name]["fail"]
        w = [r["write"] for r in rs]
        print(f"| {label(name)} | {len(rs)}/{len(rs) + fail} | {'/'.join(fmt(w))} "
              f"| {'/'.join(fmt([r['switch'] for r in rs if r['switch'] is not None]))} "
              f"| {sum(1 for x in w if x <= 1.0)} |")


# ------------------------------------------------------------------------------ main --


def label(name):
    return "ours" if name == "ours" else "redis-sentinel"


ITEM_FUNCS = {"lag": (run_lag, show_lag, table_lag), "loop": (run_loop, show_loop, table_loop),
              "back": (run_back, show_back, table_back), "rto": (run_rto, show_rto, table_rto)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", default=",".join(ITEMS), help=f"comma-separated, of {','.join(ITEMS)}")
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sentinel-bin", default=os.path.join(REPO, "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--writes", type=int, default=10000, help="lag: writes L misses")
    ap.add_argument("--max-lag", type=int, default=100000, help="lag: ours' max-lag-on-failover, bytes (0: option not set, a control run)")
    ap.add_argument("--lag-timeout", type=float, default=30.0, help="lag: wait for +switch-master, s")
    ap.add_argument("--crashes", type=int, default=5)
    ap.add_argument("--interval", type=float, default=12.0, help="loop: seconds between kills")
    ap.add_argument("--restart-after", type=float, default=3.0, help="loop: restart delay after a kill, s")
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--block-ms", type=int, default=300000, help="loop: ours' failover-block-period, ms")
    ap.add_argument("--back-timeout", type=float, default=60.0)
    ap.add_argument("--rto-timeout", type=float, default=45.0, help="rto: per-run limit for the write, s")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs (configs, logs)")
    args = ap.parse_args()

    command = "python3 " + " ".join(shlex.quote(a) for a in sys.argv)
    items = [x for x in args.items.split(",") if x]
    for it in items:
        if it not in ITEMS:
            sys.exit(f"unknown item {it!r} (items: {','.join(ITEMS)})")
    impls, chosen = implementations(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: blocks

    print(f"# {command}", flush=True)
    all_results = {}
    for it in items:
        run, show, _ = ITEM_FUNCS[it]
        results = {name: {"runs": [], "fail": 0} for name in chosen}
        all_results[it] = results
        for i in range(1, args.runs + 1):
            for name in chosen:
                try:
                    r = run(impls[name], name == "ours", args)
                    results[name]["runs"].append(r)
                    print(f"{it} run {i:2d} {name:5s}: {show(i, name, r)}", flush=True)
                except Exception as e:  # noqa: BLE001 - record and go on
                    results[name]["fail"] += 1
                    print(f"{it} run {i:2d} {name:5s}: FAILED: {e}", flush=True)
    for it in items:
        print()
        ITEM_FUNCS[it][2](all_results[it], chosen, args)
    print()
    print(f"command: {command}")
    return 1 if any(r["fail"] for res in all_results.values() for r in res.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
