#!/usr/bin/python3
"""pylibmc with several servers and consistent (ketama) hashing.

usage: pylibmc_hashing.py SERVERS [USERNAME PASSWORD [COUNT]]
  SERVERS: comma-separated host:port list (default $MEMCACHIER_SERVERS)

Stores COUNT (default 200) keys, reads them back with get_multi, then asks
every server for its stats. Prints one JSON object:
  {"stored": n, "found": n, "mismatched": n,
   "stats": {"host:port": {"curr_items": n, "total_items": n, "cmd_set": n, ...}}}
"""
import json
import os
import re
import sys

import pylibmc


def arg(i, env, default=""):
    return sys.argv[i] if len(sys.argv) > i else os.environ.get(env, default)


servers = [s for s in arg(1, "MEMCACHIER_SERVERS").split(",") if s]
username = arg(2, "MEMCACHIER_USERNAME")
password = arg(3, "MEMCACHIER_PASSWORD")
count = int(arg(4, "HASHING_KEY_COUNT", "200"))
if not servers:
    sys.exit("pylibmc_hashing: no servers given")

kwargs = {"binary": True, "behaviors": {"ketama": True, "tcp_nodelay": True}}
if username:
    kwargs.update(username=username, password=password)
client = pylibmc.Client(servers, **kwargs)

keys = ["hash-key-%d" % i for i in range(count)]
stored = 0
errors = []
for k in keys:
    try:
        if client.set(k, "value-of-" + k):
            stored += 1
    except Exception as e:
        errors.append("%s: %s: %s" % (k, type(e).__name__, e))

found = client.get_multi(keys)
mismatched = sum(1 for k, v in found.items() if v != "value-of-" + k)

stats = {}
for name, values in client.get_stats():
    # pylibmc names a server "host:port (index)"
    name = name.decode() if isinstance(name, bytes) else name
    server = re.sub(r"\s*\(\d+\)$", "", name)
    clean = {}
    for k, v in values.items():
        k = k.decode() if isinstance(k, bytes) else k
        v = v.decode() if isinstance(v, bytes) else v
        clean[k] = int(v) if re.fullmatch(r"\d+", v) else v
    stats[server] = clean

print(json.dumps({
    "stored": stored,
    "found": len(found),
    "mismatched": mismatched,
    "errors": errors[:5],
    "stats": stats,
}, sort_keys=True))
