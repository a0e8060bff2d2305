"""redis-py `redis.sentinel.Sentinel` for the client matrix (tests/compat_clients.rs).

Same stdout protocol as common.js: `FIRST <port>`, then `SWITCHED <port>` once the same
`master_for` client object wrote to a different master; exit 1 at the deadline.
"""
import sys
import time

from redis.sentinel import Sentinel

ports = [int(p) for p in sys.argv[1].split(",")]
name, deadline = sys.argv[2], time.time() + float(sys.argv[3])
s = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=1.0, socket_connect_timeout=1.0)
m = s.master_for(name, socket_timeout=1.0, socket_connect_timeout=1.0)
first, last, i = None, None, 0
while time.time() < deadline:
    try:
        m.set("redis-py-key", i)
        port = int(m.config_get("port")["port"])
        if first is None:
            first = port
            print("FIRST %d" % port, flush=True)
        elif port != first:
            print("SWITCHED %d" % port, flush=True)
            sys.exit(0)
    except Exception as e:  # noqa: BLE001 - errors are expected during the failover
        last = e
    i += 1
    time.sleep(0.2)
print("redis-py FAILED: deadline passed (first=%s); last error: %r" % (first, last), file=sys.stderr)
sys.exit(1)
