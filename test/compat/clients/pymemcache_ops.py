#!/usr/bin/python3
"""pymemcache over the ASCII protocol, with MemCachier's ASCII login.

usage: pymemcache_ops.py SERVER [USERNAME PASSWORD]
  SERVER: host:port (the first of a comma-separated list; default $MEMCACHIER_SERVERS)

MemCachier's ASCII login is the first command on a connection:
  set <username> 0 0 <len>\\r\\n<password>\\r\\n   ->  STORED
With a USERNAME the script logs in that way, runs a fixed sequence, then opens a
second connection that logs in with a wrong password and tries to read and
write. An empty USERNAME skips both (for a plain memcached).

Prints one JSON object: op name -> observed result (or {"error": "..."}).
"""
import json
import os
import sys

from pymemcache.client.base import Client


def arg(i, env):
    return sys.argv[i] if len(sys.argv) > i else os.environ.get(env, "")


servers = [s for s in arg(1, "MEMCACHIER_SERVERS").split(",") if s]
username = arg(2, "MEMCACHIER_USERNAME")
password = arg(3, "MEMCACHIER_PASSWORD")
if not servers:
    sys.exit("pymemcache_ops: no server given")
host, port = servers[0].rsplit(":", 1)


def connect():
    return Client((host, int(port)), connect_timeout=3, timeout=3, default_noreply=False)


out = {}


def plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    return v


def step(name, fn):
    try:
        out[name] = plain(fn())
    except Exception as e:  # observe, don't judge
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}


client = connect()
if username:
    step("login", lambda: client.set(username, password, noreply=False))
step("set", lambda: client.set("greeting", "hello"))
step("get", lambda: client.get("greeting"))
step("get_missing", lambda: client.get("no-such-key"))
step("set_counter", lambda: client.set("counter", "10"))
step("incr", lambda: client.incr("counter", 5))
step("decr", lambda: client.decr("counter", 3))
step("incr_missing", lambda: client.incr("no-such-counter", 1))
step("set_secret", lambda: client.set("secret", "s3cr3t"))
step("delete", lambda: client.delete("greeting"))
step("delete_again", lambda: client.delete("greeting"))
step("get_deleted", lambda: client.get("greeting"))


def gets():
    value, cas = client.gets("secret")
    out["_cas"] = cas
    return [value, cas is not None]


step("gets", gets)
step("cas_ok", lambda: client.cas("secret", "s3cr3t", out["_cas"]))
step("cas_stale", lambda: client.cas("secret", "s3cr3t", out["_cas"]))
out.pop("_cas", None)

if username:
    intruder = connect()
    step("wrong_login", lambda: intruder.set(username, password + "-wrong", noreply=False))
    step("wrong_get", lambda: intruder.get("secret"))
    step("wrong_set", lambda: intruder.set("intruder", "was-here"))
    step("wrong_get_after_set", lambda: intruder.get("secret"))
    intruder.close()
    step("right_get_secret", lambda: client.get("secret"))
    step("right_get_intruder", lambda: client.get("intruder"))

client.close()
print(json.dumps(out, sort_keys=True))
