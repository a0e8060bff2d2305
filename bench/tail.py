#!/usr/bin/env python3
"""A failover's tail, our sentinel vs Debian's redis-sentinel (issue 12, item 5).

Each run starts a fresh topology on loopback: 1 master + N replicas (N = 2 and 5 by
default) + 3 sentinels (quorum 2, down-after-milliseconds 1000, failover-timeout 10000,
parallel-syncs 1, Redis's default). Once every sentinel sees N replicas and 2 peers and
every replica's link is up, the master is SIGKILLed and every instance is polled
(~every 10 ms) to time, from the kill:

  * promoted: a replica answers `role:master`;
  * switched: every sentinel's `SENTINEL GET-MASTER-ADDR-BY-NAME` names it;
  * tail: every other replica's `INFO replication` says `master_host/port` = the new
    master and `master_link_status:up` (the end of the failover's tail).

Also recorded, as a check of parallel-syncs: the largest number of replicas seen at once
pointing at the new master with a link not yet up (a resync in progress).

Runs of the two implementations are interleaved (ours, redis, ours, ...). Prints one
markdown table per N with min / median / max.

    cargo build --release --bins
    python3 bench/tail.py                           # N = 2 and 5, 10 runs each, both
    python3 bench/tail.py --replicas 5 --runs 3 --impl ours

Needs redis-server, redis-sentinel and the `redis` package; only 127.0.0.1 is used.
"""

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import HOST, NAME, REPO, Topology, fmt, implementations  # noqa: E402

import redis  # noqa: E402

DOWN_AFTER = 1000


def conn(port):
    return redis.Redis(host=HOST, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)


def repl(r):
    try:
        return r.info("replication")
    except Exception:  # noqa: BLE001 - down or busy: unknown this round
        return None


def wait_ready(topo, n, timeout=60.0):
    sentinels = [conn(p) for p in topo.sentinel_ports]
    replicas = [conn(p) for p in topo.redis_ports[1:]]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            states = [s.sentinel_master(NAME) for s in sentinels]
            last = [(s["num-slaves"], s["num-other-sentinels"]) for s in states]
            links = [repl(r) for r in replicas]
            if (all(s["num-slaves"] == n and s["num-other-sentinels"] == 2 for s in states)
                    and all(i and i.get("master_link_status") == "up" for i in links)):
                return
        except Exception as e:  # noqa: BLE001 - report what was seen
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"topology not ready after {timeout}s: (num-slaves, num-other-sentinels) = {last}")


def one_run(sentinel_cmd, n, timeout, keep):
    topo = Topology(sentinel_cmd, down_after=DOWN_AFTER, replicas=n)
    try:
        wait_ready(topo, n)
        old = topo.redis_ports[0]
        sentinels = [conn(p) for p in topo.sentinel_ports]
        replicas = {p: conn(p) for p in topo.redis_ports[1:]}
        t0 = time.monotonic()
        topo.kill(old)
        promoted = t_promoted = t_switched = t_tail = None
        max_syncing = 0
        switched = set()
        while time.monotonic() - t0 < timeout:
            infos = {p: repl(r) for p, r in replicas.items()}
            now = time.monotonic()
            if promoted is None:
                for p, i in infos.items():
                    if i and i.get("role") == "master":
                        promoted, t_promoted = p, now
                        break
            if promoted is not None and t_switched is None:
                for i, s in enumerate(sentinels):
                    if i in switched:
                        continue
                    try:
                        addr = s.sentinel_get_master_addr_by_name(NAME)
                    except Exception:  # noqa: BLE001 - not yet
                        continue
                    if addr and int(addr[1]) == promoted:
                        switched.add(i)
                if len(switched) == len(sentinels):
                    t_switched = time.monotonic()
            if promoted is not None:
                following = syncing = 0
                for p, i in infos.items():
                    if p == promoted or not i or i.get("role") != "slave":
                        continue
                    if int(i.get("master_port", 0)) != promoted:
                        continue
                    if i.get("master_link_status") == "up":
                        following += 1
                    else:
                        syncing += 1
                max_syncing = max(max_syncing, syncing)
                if following == n - 1 and t_tail is None:
                    t_tail = now
            if t_tail is not None and t_switched is not None:
                break
            time.sleep(0.01)
        if t_tail is None or t_switched is None:
            raise RuntimeError(f"tail not complete within {timeout}s (promoted {promoted}, "
                               f"switched {len(switched)}/3)\n{topo.logs()}")
        return {"promoted": t_promoted - t0, "switched": t_switched - t0, "tail": t_tail - t0,
                "tail_after_switch": t_tail - t_switched, "max_syncing": max_syncing,
                "end": max(t_tail, t_switched) - t0}
    finally:
        topo.close(keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=["ours", "redis", "both"], default="both")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--replicas", default="2,5", help="comma-separated replica counts")
    ap.add_argument("--sentinel-bin", default=os.path.join(REPO, "target", "release", "sentinel"))
    ap.add_argument("--redis-sentinel", default=shutil.which("redis-sentinel") or "redis-sentinel")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-run limit, seconds")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs (configs, logs)")
    args = ap.parse_args()

    impls, chosen = implementations(args)
    counts = [int(x) for x in args.replicas.split(",")]

    keys = ["promoted", "switched", "tail", "tail_after_switch"]
    results = {(n, name): {"runs": [], "fail": 0} for n in counts for name in chosen}
    for i in range(1, args.runs + 1):
        for n in counts:
            for name in chosen:
                try:
                    r = one_run(impls[name], n, args.timeout, args.keep)
                    results[(n, name)]["runs"].append(r)
                    print(f"run {i:2d} N={n} {name:5s}: promoted {r['promoted']:.2f}s, all switched "
                          f"{r['switched']:.2f}s, tail {r['tail']:.2f}s (after switch "
                          f"{r['tail_after_switch']:+.2f}s), max syncing at once {r['max_syncing']}",
                          flush=True)
                except Exception as e:  # noqa: BLE001 - record and go on
                    results[(n, name)]["fail"] += 1
                    print(f"run {i:2d} N={n} {name:5s}: FAILED: {e}", flush=True)

    for n in counts:
        print()
        print(f"N = {n} replicas, seconds from the SIGKILL ({args.runs} runs each, down-after "
              f"{DOWN_AFTER} ms, parallel-syncs 1, 3 sentinels, quorum 2)")
        print()
        print("| implementation | ok/runs | promoted (min/med/max) | all sentinels switched "
              "| tail: all replicas following | tail − switched | max syncing at once |")
        print("|---|---|---|---|---|---|---|")
        for name in chosen:
            r = results[(n, name)]
            ok = len(r["runs"])
            cols = ["/".join(fmt([x[k] for x in r["runs"]])) for k in keys]
            ms = max((x["max_syncing"] for x in r["runs"]), default=0)
            label = "ours" if name == "ours" else "redis-sentinel"
            print(f"| {label} | {ok}/{ok + r['fail']} | " + " | ".join(cols) + f" | {ms} |")
    return 1 if any(r["fail"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
