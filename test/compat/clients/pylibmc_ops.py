#!/usr/bin/python3
"""pylibmc over the binary protocol (SASL PLAIN when a username is given).

usage: pylibmc_ops.py SERVERS [USERNAME PASSWORD]
  SERVERS: comma-separated host:port list (default $MEMCACHIER_SERVERS)
  An empty USERNAME means: no SASL (for a plain memcached).

Runs a fixed sequence and prints one JSON object: op name -> observed result
(or {"error": "..."}). It never judges; the TypeScript test does.
"""
import json
import os
import sys

import pylibmc


def arg(i, env):
    return sys.argv[i] if len(sys.argv) > i else os.environ.get(env, "")


servers = [s for s in arg(1, "MEMCACHIER_SERVERS").split(",") if s]
username = arg(2, "MEMCACHIER_USERNAME")
password = arg(3, "MEMCACHIER_PASSWORD")
if not servers:
    sys.exit("pylibmc_ops: no servers given")

kwargs = {"binary": True, "behaviors": {"cas": True, "tcp_nodelay": True}}
if username:
    kwargs.update(username=username, password=password)
client = pylibmc.Client(servers, **kwargs)

out = {}


def plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def step(name, fn):
    try:
        out[name] = plain(fn())
    except Exception as e:  # observe, don't judge
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}


step("set", lambda: client.set("greeting", "hello"))
step("get", lambda: client.get("greeting"))
step("get_missing", lambda: client.get("no-such-key"))
step("set_b", lambda: client.set("b", "bee"))
step("get_multi", lambda: client.get_multi(["greeting", "b", "no-such-key"]))
step("add_existing", lambda: client.add("greeting", "other"))
step("add_new", lambda: client.add("added", "fresh"))
step("get_added", lambda: client.get("added"))
step("replace_existing", lambda: client.replace("greeting", "hi"))
step("replace_missing", lambda: client.replace("no-such-key", "x"))
step("get_replaced", lambda: client.get("greeting"))
step("append", lambda: client.append("greeting", "-there"))
step("prepend", lambda: client.prepend("greeting", "oh-"))
step("get_appended", lambda: client.get("greeting"))
step("append_missing", lambda: client.append("no-such-key", "x"))
step("set_counter", lambda: client.set("counter", "10"))
step("incr", lambda: client.incr("counter", 5))
step("decr", lambda: client.decr("counter", 3))
step("decr_floor", lambda: client.decr("counter", 100))
step("incr_missing", lambda: client.incr("no-such-counter", 1))
step("get_counter", lambda: client.get("counter"))
step("delete", lambda: client.delete("b"))
step("delete_again", lambda: client.delete("b"))
step("get_deleted", lambda: client.get("b"))
step("set_cas", lambda: client.set("caskey", "v1"))


def gets():
    value, cas = client.gets("caskey")
    out["_cas_token"] = cas
    return [value, isinstance(cas, int) and cas > 0]


step("gets", gets)
step("cas_ok", lambda: client.cas("caskey", "v2", out["_cas_token"]))
step("cas_stale", lambda: client.cas("caskey", "v3", out["_cas_token"]))
step("get_cas", lambda: client.get("caskey"))
out.pop("_cas_token", None)

print(json.dumps(out, sort_keys=True))
