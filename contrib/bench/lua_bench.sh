#!/usr/bin/env bash
# contrib/bench/lua_bench.sh - what a Lua function costs through sluice:
#
#   1. requests per second and sluice's CPU time per request (all its
#      threads, from /proc/PID/task/*/schedstat) of a trivial Lua function
#      on one worker, with wrk -t1 at 16 and 64 connections, warm states;
#   2. the cold-start time of a Lua function version, from sluice's own
#      "cold start ... N ms" log lines, with warm_states 0 (every call is
#      a cold start: a new state, the file loaded, its top level run);
#   3. `make bench-lua` (contrib/bench/lua_bench.c): the same cold start
#      and a warm call on the sandbox alone, and what switching the JIT off
#      and arming the count hook cost on CPU-bound Lua.
#
#   contrib/bench/lua_bench.sh [BUILD_DIR] [-d SECONDS]
#
# BUILD_DIR holds a built sluice (default: build/, built by contrib/setup.sh
# when missing). Everything runs on 127.0.0.1 in a mktemp -d directory,
# bounded in time, and is stopped by PID on exit. Figures to read, not
# assertions: nothing here fails on a slow machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BUILD=${1:-$ROOT/build}
[[ $# -gt 0 && $1 != -* ]] && shift
DUR=5
while (($#)); do
    case $1 in
    -d) DUR=$2; shift 2 ;;
    *) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

if [[ ! -x $BUILD/src/sluice ]]; then
    cd "$ROOT"
    # shellcheck source=contrib/setup.sh
    source contrib/setup.sh
    setup_deps wrk
    setup_build build
    BUILD=$ROOT/build
fi
command -v wrk >/dev/null || { echo "lua_bench: wrk is needed (apt-get install wrk)" >&2; exit 1; }
BIN=$BUILD/src/sluice

TMP=$(mktemp -d /tmp/sluice-lua-bench-XXXXXX)
PID=
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cat >"$TMP/trivial.lua" <<'EOF'
function handler(event, context)
  return {statusCode = 200, headers = {["content-type"] = "text/plain"}, body = "hello"}
end
EOF

# start WARM_STATES: sluice on one worker with the trivial function
start() {
    PORT=$(free_port)
    cat >"$TMP/sluice.json" <<EOF
{ "listen": [{"address": "127.0.0.1:$PORT"}], "workers": 1,
  "log": {"access": "off", "error": "$TMP/error.log", "level": "info"},
  "functions": {"t": {"versions": {"1": {"handler":
      {"type": "lua", "file": "$TMP/trivial.lua", "warm_states": $1}}}}},
  "routes": [{"route": "GET /t", "target": "t:1"}] }
EOF
    : >"$TMP/error.log"
    "$BIN" -c "$TMP/sluice.json" &
    PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "lua_bench: sluice did not start" >&2
    exit 1
}

stop() {
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
}

cpu_ns() {
    local t v s=0
    for t in /proc/"$PID"/task/*/schedstat; do
        read -r v _ 2>/dev/null <"$t" || continue
        s=$((s + v))
    done
    echo "$s"
}

# measure WHAT PATH CONNS: one wrk run, its figures and sluice's CPU per request
measure() {
    local c0 c1 reqs rps p99 non2xx
    c0=$(cpu_ns)
    wrk -t1 -c"$3" -d"${DUR}s" --latency "http://127.0.0.1:$PORT$2" >"$TMP/wrk.txt"
    c1=$(cpu_ns)
    reqs=$(awk '/requests in/ {print $1}' "$TMP/wrk.txt")
    rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.txt")
    awk -v w="$1" -v c="$3" -v rps="$rps" -v p99="$p99" -v r="$reqs" -v ns=$((c1 - c0)) \
        -v bad="${non2xx:-0}" 'BEGIN {
            printf "  %-22s c=%-3s %9s req/s  p99 %-8s  sluice CPU %5.1f us/request  (%d requests, %d non-2xx)\n",
                   w, c, rps, p99, ns / 1000 / r, r, bad }'
}

echo "== 1. a trivial Lua function through sluice (1 worker, warm states, wrk -t1 -d${DUR}s)"
start 4
wrk -t1 -c16 -d1s "http://127.0.0.1:$PORT/t" >/dev/null # warm-up
for c in 16 64; do
    measure "lua function" /t "$c"
done
# the floor: the same requests answered by sluice itself, no handler
measure "sluice's own 404" /none 64
echo "  cold starts during the run: $(grep -c 'cold start for request' "$TMP/error.log") (one per worker expected)"
stop

echo "== 2. cold start of a Lua function version (warm_states 0: every call is cold)"
start 0
wrk -t1 -c1 -d"${DUR}s" "http://127.0.0.1:$PORT/t" >/dev/null
stop
grep -o 'cold start for request [^:]*: [0-9.]* ms' "$TMP/error.log" | awk '{print $(NF-1)}' | sort -n >"$TMP/cold.txt"
awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "  no cold start logged"; exit }
        printf "  %d cold starts: median %.3f ms, p90 %.3f ms, p99 %.3f ms (as logged by sluice)\n",
               NR, v[int(NR * 0.5) + 1], v[int(NR * 0.9) + 1], v[int(NR * 0.99) + 1] }' "$TMP/cold.txt"

echo "== 3. the sandbox alone (make bench-lua)"
make -s -C "$BUILD" bench-lua 2>&1 | grep -v '^ar: ' | sed 's/^/  /'
