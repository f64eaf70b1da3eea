#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup and forward run from traps
# run.sh - install what is missing, build sluice in build/, and run the demo:
# two demo upstreams (versions 1 and 2 of the function "orders", ports 9001
# and 9002) behind sluice on 127.0.0.1:8080 with conf/sluice.json.
# Ctrl-C (or SIGTERM) stops sluice gracefully, then the upstreams.
#
#   contrib/run.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=contrib/setup.sh
source contrib/setup.sh

CONFIG=conf/sluice.json
LISTEN_PORT=8080
UPSTREAM_PORTS=(9001 9002)

msg() { printf 'run: %s\n' "$*" >&2; }
die() {
    msg "error: $*"
    exit 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT PID: wait until something accepts on PORT, up to 10 s,
# failing early when PID dies.
wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        port_busy "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

setup_deps
setup_build build
[[ -x build/src/sluice ]] || die "build/src/sluice was not built"
build/src/sluice -t -c "$CONFIG" || die "$CONFIG does not pass 'sluice -t'"

for port in "$LISTEN_PORT" "${UPSTREAM_PORTS[@]}"; do
    port_busy "$port" && die "port $port is already in use (another demo running?)"
done

upstream_pids=()
sluice_pid=""
cleanup() {
    trap - EXIT INT TERM HUP
    if [[ -n "$sluice_pid" ]] && kill -0 "$sluice_pid" 2>/dev/null; then
        kill -TERM "$sluice_pid" 2>/dev/null || true
        wait "$sluice_pid" 2>/dev/null || true
    fi
    local pid
    for pid in "${upstream_pids[@]}"; do
        # The whole process group: python3 may be a wrapper (pyenv) that forks.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${upstream_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Children get their own process groups (set -m), so a Ctrl-C in the
# terminal reaches only this script, which passes it on to sluice once.
version=1
for port in "${UPSTREAM_PORTS[@]}"; do
    set -m
    python3 contrib/demo/upstream.py --port "$port" --version "$version" --quiet &
    upstream_pids+=("$!")
    set +m
    wait_port "$port" "$!" || die "the demo upstream on port $port did not start"
    version=$((version + 1))
done

set -m
build/src/sluice -c "$CONFIG" &
sluice_pid=$!
set +m

signals=0
forward() {
    signals=$((signals + 1))
    if ((signals >= 3)); then
        msg "killing sluice"
        kill -KILL "$sluice_pid" 2>/dev/null || true
    else
        kill -s "$1" "$sluice_pid" 2>/dev/null || true
    fi
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'kill -HUP "$sluice_pid" 2>/dev/null || true' HUP # reload, like sluice itself

if wait_port "$LISTEN_PORT" "$sluice_pid"; then
    cat >&2 <<EOF

run: sluice is listening on http://127.0.0.1:$LISTEN_PORT (pid $sluice_pid), config $CONFIG
run: try, from another terminal:
  curl -i http://127.0.0.1:$LISTEN_PORT/orders/42                 # alias live: v1, or v2 one time in ten
  for i in \$(seq 50); do curl -s -o /dev/null -D - http://127.0.0.1:$LISTEN_PORT/orders/\$i \\
      | grep -i '^x-sluice-function-version'; done | sort | uniq -c   # the 90/10 canary split
  curl -i http://127.0.0.1:$LISTEN_PORT/beta/orders/42            # alias beta: always v2
  curl -i -X POST -H 'content-type: application/json' -d '{"item":"tea"}' http://127.0.0.1:$LISTEN_PORT/orders
  curl -i 'http://127.0.0.1:$LISTEN_PORT/v1/orders/42?verbose=1'  # version 1 directly, path /orders/42
  curl -i http://127.0.0.1:$LISTEN_PORT/nowhere                    # 404
  curl -i -X DELETE http://127.0.0.1:$LISTEN_PORT/orders/42        # 405
  curl -s http://127.0.0.1:$LISTEN_PORT/shop/orders/2               # a Lua function (90/10 alias)
  curl -s 'http://127.0.0.1:$LISTEN_PORT/events/v2/a?x=1'           # the API Gateway event it gets
  curl -s -H "Authorization: Bearer \$(cat conf/demo/demo.token)" http://127.0.0.1:$LISTEN_PORT/me   # JWT
  build/src/sluicectl alias get orders live                       # the admin API (127.0.0.1:9901)
  build/src/sluicectl deploy start orders live 2 --strategy Canary20Percent20Seconds --watch
  kill -HUP $sluice_pid                                          # reload $CONFIG
run: Ctrl-C stops the demo.

EOF
fi

# Wait for sluice. A trapped signal interrupts wait (status > 128) while
# sluice may still be running, so wait again until it has really exited.
while :; do
    status=0
    wait "$sluice_pid" || status=$?
    ((status > 128)) || break
    if ! kill -0 "$sluice_pid" 2>/dev/null; then
        # Gone: a new wait returns its real status unless that wait already did.
        late=0
        wait "$sluice_pid" 2>/dev/null || late=$?
        ((late == 127)) || status=$late
        break
    fi
done
sluice_pid=""
msg "sluice exited with status $status"
exit "$status"
