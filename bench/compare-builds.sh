#!/usr/bin/env bash
# Before and after in one run: two cachier trees (e.g. a `git worktree` of an older commit,
# with its native addon built, and this one), each serving a fresh copy of one catalog with
# `cachier node`, both pinned to core 0 and loaded at the same time, each by its own
# memcaslap on core 1 (32 connections, 20-byte keys, 100-byte values, 90 % gets). What
# else the machine does slows both alike, so a few-percent difference shows.
#
#   bench/compare-builds.sh OLD_TREE NEW_TREE [DIVISION] [SECONDS] [ROUNDS] [NODE FLAGS…]
#   e.g. bench/compare-builds.sh /tmp/wt-old . 20 8 3                       # multi-gets
#        bench/compare-builds.sh /tmp/wt-old . 1 8 2 --no-introspection     # a control
#
# Prints each round's ops of both and new/old. Ends the processes it started.
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd)
division=${3:-1}; seconds=${4:-8}; rounds=${5:-3}
shift $(( $# < 5 ? $# : 5 ))
flags=("$@")
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

node "$new/bin/cachier.js" cache create --data "$work/catalog" --memory 1gb --json > "$work/cache.json"
id=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").reverse().find(x=>x.startsWith("{"));console.log(JSON.parse(l).id)' "$work/cache.json")
printf 'key\n20 20 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n' > "$work/cfg"
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
started_port=
start() { # tree name; sets started_port (not run in a subshell: pids must reach cleanup)
  cp -r "$work/catalog" "$work/$2"
  started_port=$(port)
  (cd "$1" && exec taskset -c 0 node bin/cachier.js node --data "$work/$2" --host 127.0.0.1 --port "$started_port" --anonymous-cache "$id" "${flags[@]}" > "$work/$2.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 120); do grep -q ready "$work/$2.log" && break; sleep 0.25; done
  grep -q ready "$work/$2.log" || { echo "$2 node did not start:"; cat "$work/$2.log"; exit 1; }
}
start "$old" old; old_port=$started_port
start "$new" new; new_port=$started_port
extra=(); [ "$division" -gt 1 ] && extra=(--division="$division")
for r in $(seq "$rounds"); do
  loads=()
  for side in old new; do
    p=$old_port; [ "$side" = new ] && p=$new_port
    timeout $((seconds + 30)) taskset -c 1 memcaslap --servers=127.0.0.1:"$p" --threads=1 --concurrency=32 --time="${seconds}s" \
      --stat_freq="${seconds}s" --cfg_cmd="$work/cfg" "${extra[@]}" > "$work/m-$side.txt" &
    loads+=($!)
  done
  wait "${loads[@]}"
  o=$(grep -o 'Ops: [0-9]*' "$work/m-old.txt" | tail -1 | cut -d' ' -f2)
  n=$(grep -o 'Ops: [0-9]*' "$work/m-new.txt" | tail -1 | cut -d' ' -f2)
  node -e "console.log('round $r: old ' + $o + ' ops, new ' + $n + ' ops, new/old ' + ($n / $o).toFixed(3))"
done
