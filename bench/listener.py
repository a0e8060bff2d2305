#!/usr/bin/env python3
"""What the opt-in HTTP listener (http-port: /metrics, /health, ...) costs the sentinel.

    cargo build --release
    python3 bench/listener.py                       # both parts, 5 rounds, 60 s idle window
    python3 bench/listener.py --parts load --rounds 3 -n 100000
    python3 bench/listener.py --parts idle --idle-seconds 120

Issue 11: "the listener must never slow the core" and "RSS and CPU of a sentinel with the
listener on stay within 10 % of the figures without it". Two parts, each against our
release binary (target/release/sentinel, or --bin) and one redis-server master on
127.0.0.1:

* load: one sentinel (quorum 1) monitoring the master, fresh per measurement, in three
  variants interleaved round by round, the order rotated each round (off, idle, scraped;
  idle, scraped, off; ...):
    off      no http-port
    idle     http-port set, nobody scrapes
    scraped  http-port set and --scrapers processes GET /metrics back to back over
             keep-alive connections for the whole measurement
  In each: `redis-benchmark -c 50 -n N [-P p] --csv SENTINEL get-master-addr-by-name
  mymaster` (requests/s, p50/p99 latency), the CPU time of the sentinel's threads from
  /proc/PID/task/*/stat split into the HTTP thread ("sentinel-http") and all the others
  (the core and the RESP server), per request, VmRSS at the end, and the scrapes done.
* idle: two sentinels side by side for --idle-seconds, one without the listener, one with
  it scraped every --scrape-interval seconds (Prometheus's default is 15 s; both see each
  other as peers, so their work is the same): VmRSS at the end and CPU ticks over the
  window.

The machine has 2 cores shared with other work, and the scraper processes themselves
take CPU from redis-benchmark and the sentinel: the throughput of the `scraped` variant
measures the machine as much as the listener. The per-thread CPU per request is the
figure that says whether the core was slowed. Everything started is killed at exit.
"""

import argparse
import atexit
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROCS = []


def _cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def popen(cmd, log, cwd=None, **kw):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, **kw)
    PROCS.append(p)
    return p


def wait_until(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def answers_ping(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def http_ok(port, path="/health"):
    try:
        c = http.client.HTTPConnection(HOST, port, timeout=1)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def thread_ticks(pid):
    """(HTTP thread ticks, all other threads' ticks) from /proc/PID/task/*/stat."""
    http_t, other = 0, 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except FileNotFoundError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        if comm == "sentinel-http":
            http_t += ticks
        else:
            other += ticks
    return http_t, other


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_sentinel(binary, tmp, name, master_port, http_port):
    port = free_port()
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind {HOST}\ndir {tmp}\n"
                f"sentinel monitor mymaster {HOST} {master_port} 1\n")
        if http_port:
            f.write(f"http-port {http_port}\nhttp-bind {HOST}\n")
    log = open(os.path.join(tmp, f"{name}.log"), "w")
    p = popen([binary, conf], log, cwd=tmp)
    wait_until(lambda: answers_ping(port), 10, f"{name} to answer PING")
    if http_port:
        wait_until(lambda: http_ok(http_port), 10, f"{name} /health 200")
    return p, port


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def scrape_worker(port):
    """GET /metrics back to back on one keep-alive connection until SIGTERM; prints the count."""
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    n, c = 0, None
    while not done:
        try:
            if c is None:
                c = http.client.HTTPConnection(HOST, port, timeout=5)
            c.request("GET", "/metrics")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                n += 1
        except (OSError, http.client.HTTPException):
            c = None
    print(n, flush=True)


def redis_benchmark(port, n, pipeline):
    cmd = ["redis-benchmark", "-h", HOST, "-p", str(port), "-c", "50", "-n", str(n), "--csv"]
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    cmd += ["SENTINEL", "get-master-addr-by-name", "mymaster"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    rows = [line for line in out.stdout.splitlines() if line.startswith('"') and not line.startswith('"test"')]
    if out.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed ({out.returncode}): {out.stdout[-300:]} {out.stderr[-300:]}")
    vals = [v.strip('"') for v in rows[-1].split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return {"rps": float(vals[1]), "p50": float(vals[4]), "p99": float(vals[6])}


def load_one(args, tmp, master_port, variant, rnd):
    http_port = free_port() if variant != "off" else None
    p, port = start_sentinel(args.bin, tmp, f"load-{variant}-{rnd}", master_port, http_port)
    scrapers = []
    t_scrape = time.time()
    try:
        if variant == "scraped":
            for _ in range(args.scrapers):
                s = subprocess.Popen([sys.executable, __file__, "--scrape-worker", str(http_port)],
                                     stdout=subprocess.PIPE, text=True)
                PROCS.append(s)
                scrapers.append(s)
            # The scrapers are being served before the measurement starts.
            h = thread_ticks(p.pid)[0]
            wait_until(lambda: thread_ticks(p.pid)[0] > h + 5, 10, "the scrapers to be served")
        h0, o0 = thread_ticks(p.pid)
        res = redis_benchmark(port, args.n, args.pipeline)
        h1, o1 = thread_ticks(p.pid)
        scrapes = 0
        t_scrape = time.time() - t_scrape
        for s in scrapers:
            s.send_signal(signal.SIGTERM)
            out, _ = s.communicate(timeout=10)
            scrapes += int(out.strip() or 0)
        res["core_us"] = (o1 - o0) / CLK_TCK / args.n * 1e6
        res["http_us"] = (h1 - h0) / CLK_TCK / args.n * 1e6
        res["rss"] = rss_kib(p.pid)
        res["scrapes"] = scrapes
        res["scrapes_s"] = scrapes / t_scrape
        return res
    finally:
        for s in scrapers:
            if s.poll() is None:
                s.kill()
                s.wait()
        stop(p)


def med(xs, f="{:.0f}"):
    return f.format(statistics.median(xs)) + (f" ({f.format(min(xs))}–{f.format(max(xs))})" if len(xs) > 1 else "")


def part_load(args, tmp, master_port):
    variants = ["off", "idle", "scraped"]
    res = {v: [] for v in variants}
    for rnd in range(1, args.rounds + 1):
        # The order rotates each round, so that no variant always runs first or last.
        k = (rnd - 1) % len(variants)
        for v in variants[k:] + variants[:k]:
            r = load_one(args, tmp, master_port, v, rnd)
            res[v].append(r)
            print(f"load round {rnd} {v:8s}: {r['rps']:.0f} req/s, p50 {r['p50']:.3f} ms, p99 {r['p99']:.3f} ms, "
                  f"core {r['core_us']:.2f} µs/req, http thread {r['http_us']:.2f} µs/req, "
                  f"RSS {r['rss']} KiB, {r['scrapes']} scrapes", flush=True)
    print(f"\n`redis-benchmark -c 50 -n {args.n} -P {args.pipeline} SENTINEL get-master-addr-by-name mymaster`, "
          f"{args.rounds} rounds, median (min–max); scraped = {args.scrapers} scraper process(es) "
          "GET /metrics back to back\n")
    print("| listener | req/s | p50 ms | p99 ms | core+server CPU µs/req | HTTP thread CPU µs/req | RSS KiB | "
          "scrapes/s |")
    print("|---|---|---|---|---|---|---|---|")
    for v in variants:
        rs = res[v]
        sps = [r["scrapes_s"] for r in rs]
        print(f"| {v} | {med([r['rps'] for r in rs])} | {med([r['p50'] for r in rs], '{:.3f}')} | "
              f"{med([r['p99'] for r in rs], '{:.3f}')} | {med([r['core_us'] for r in rs], '{:.2f}')} | "
              f"{med([r['http_us'] for r in rs], '{:.2f}')} | {med([r['rss'] for r in rs])} | "
              f"{med(sps) if v == 'scraped' else '—'} |")


def part_idle(args, tmp, master_port):
    http_port = free_port()
    off, _ = start_sentinel(args.bin, tmp, "idle-off", master_port, None)
    on, _ = start_sentinel(args.bin, tmp, "idle-on", master_port, http_port)
    try:
        time.sleep(2)  # start-up work out of the window
        t0 = {"off": thread_ticks(off.pid), "on": thread_ticks(on.pid)}
        end = time.time() + args.idle_seconds
        scrapes = 0
        while time.time() < end:
            c = http.client.HTTPConnection(HOST, http_port, timeout=5)
            c.request("GET", "/metrics")
            r = c.getresponse()
            r.read()
            c.close()
            scrapes += r.status == 200
            time.sleep(min(args.scrape_interval, max(0.0, end - time.time())))
        t1 = {"off": thread_ticks(off.pid), "on": thread_ticks(on.pid)}
        rss = {"off": rss_kib(off.pid), "on": rss_kib(on.pid)}
    finally:
        stop(off)
        stop(on)
    print(f"\nidle: 2 sentinels, one master, {args.idle_seconds} s; the listener of `on` scraped every "
          f"{args.scrape_interval} s ({scrapes} scrapes)\n")
    print("| listener | RSS KiB | CPU ticks (all threads) | of which HTTP thread |")
    print("|---|---|---|---|")
    for v in ("off", "on"):
        h = t1[v][0] - t0[v][0]
        o = t1[v][1] - t0[v][1]
        print(f"| {v} | {rss[v]} | {h + o} | {h} |")
    print(f"\n(1 tick = {1000 // CLK_TCK} ms)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/sentinel"))
    ap.add_argument("--parts", default="load,idle")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-n", type=int, default=100000, help="requests per redis-benchmark run")
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--scrapers", type=int, default=1)
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--scrape-interval", type=float, default=15)
    ap.add_argument("--scrape-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scrape_worker:
        scrape_worker(args.scrape_worker)
        return
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} not found: cargo build --release")
    tmp = tempfile.mkdtemp(prefix="bench-listener-")
    atexit.register(lambda: (_cleanup(), shutil.rmtree(tmp, True)))
    master_port = free_port()
    popen(["redis-server", "--port", str(master_port), "--bind", HOST, "--save", "", "--appendonly", "no",
           "--dir", tmp], open(os.path.join(tmp, "master.log"), "w"))
    wait_until(lambda: answers_ping(master_port), 10, "redis-server to answer PING")
    parts = args.parts.split(",")
    if "load" in parts:
        part_load(args, tmp, master_port)
    if "idle" in parts:
        part_idle(args, tmp, master_port)


if __name__ == "__main__":
    main()
