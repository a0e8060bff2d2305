#!/usr/bin/env python3
"""Memory per idle client connection: our sentinel vs Debian's redis-sentinel, same run.

    python3 bench/idle_conns.py                     # 9000 connections, target/debug/sentinel
    python3 bench/idle_conns.py -n 5000 --bin target/release/sentinel
    python3 bench/idle_conns.py --no-ping        # connections that never send anything

One redis-server master on 127.0.0.1, then for each implementation in turn: one sentinel
(quorum 1) monitoring it; VmRSS after 2 s of steady state; N client connections opened,
each sending one PING and reading the +PONG (so every connection has served a request,
as a real client's has; --no-ping: nothing sent), then left idle; VmRSS again after 2 s. Prints before, after and
(after - before) / N per implementation. RLIMIT_NOFILE is raised to the hard limit for
this process and the sentinels it starts (N + 100 must fit).
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not answer PING")


def measure(name, cmd, port, n, tmp, ping):
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\ndir {tmp}\nmaxclients {n + 100}\n"
                f"sentinel monitor mymaster 127.0.0.1 {MASTER_PORT} 1\n")
    log = open(os.path.join(tmp, f"{name}.log"), "w")
    proc = subprocess.Popen(cmd + [conf], stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_port(port)
        time.sleep(2)
        before = rss_kib(proc.pid)
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            if ping:
                s.sendall(b"PING\r\n")
            socks.append(s)
        for s in socks if ping else []:
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    raise RuntimeError(f"{name}: connection closed ({buf!r})")
                buf += chunk
            if not buf.startswith(b"+PONG"):
                raise RuntimeError(f"{name}: {buf!r}")
        time.sleep(2)
        after = rss_kib(proc.pid)
        for s in socks:
            s.close()
        return before, after
    finally:
        proc.terminate()
        proc.wait(10)


MASTER_PORT = 16479


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=9000)
    ap.add_argument("--no-ping", action="store_true")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/sentinel"))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < args.n + 200:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is too low for -n {args.n}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="idle-conns-")
    master = subprocess.Popen(["redis-server", "--port", str(MASTER_PORT), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, cwd=tmp)
    try:
        wait_port(MASTER_PORT)
        rows = []
        for name, cmd, port in [("ours", [os.path.abspath(args.bin)], 16480),
                                ("redis-sentinel", ["redis-sentinel"], 16481)]:
            before, after = measure(name, cmd, port, args.n, tmp, not args.no_ping)
            rows.append((name, before, after))
        print(f"| impl | RSS before (MiB) | RSS with {args.n} idle clients{' (no PING)' if args.no_ping else ''} (MiB) | per client (KiB) |")
        print("|---|---|---|---|")
        for name, before, after in rows:
            print(f"| {name} | {before / 1024:.1f} | {after / 1024:.1f} | {(after - before) / args.n:.2f} |")
    finally:
        master.terminate()
        master.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
