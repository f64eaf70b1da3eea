#!/usr/bin/env bash
# contrib/bench/run.sh - sluice beside nginx and HAProxy on the same proxying
# work, with the shared harness (../shared/bench: same upstream, same wrk,
# same pinning, rounds interleaved). Installs the peers when missing, builds
# sluice in build/, then runs:
#
#   contrib/bench/run.sh [throughput|scaling|callgrind|mem|all] [harness options]
#
#   throughput  wrk at 16/64/256 connections: nginx, HAProxy, HAProxy with
#               jwt_verify RS256, sluice plain and sluice with a repeated
#               RS256 token; req/s, p50/p99 and CPU per request
#   scaling     one worker against two (sluice, nginx, HAProxy) at 64 and
#               256 connections; the two-worker targets may use every CPU
#   callgrind   user-space instructions and syscalls per request
#   mem         memory per idle keep-alive connection (10,000 held)
#
# Options after the mode go to the harness (e.g. -d 5 -r 2). The harness
# dir can be moved with BENCH_HARNESS. Results are figures to read, not
# assertions: nothing here fails on a slow machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
# shellcheck source=contrib/setup.sh
source contrib/setup.sh

HARNESS=${BENCH_HARNESS:-$ROOT/../shared/bench}
mode=${1:-throughput}
(($# > 0)) && shift

[[ -x "$HARNESS/run.sh" ]] || { echo "bench: no harness at $HARNESS (set BENCH_HARNESS)" >&2; exit 1; }
setup_deps nginx haproxy wrk valgrind strace iproute2
setup_build build

BIN=$ROOT/build/src/sluice
TARGET=$HARNESS/sluice-target.sh
plain="sluice=$TARGET $BIN none;auto"
rs256="sluice-rs256=$TARGET $BIN rs256;auto;Bearer {RS256}"

case $mode in
throughput)
    "$HARNESS/run.sh" -c "16 64 256" --targets nginx-w1,haproxy-t1,hap-jwt-rs256 \
        --target "$plain" --target "$rs256" "$@"
    ;;
scaling)
    # Two workers get every CPU, as the harness gives nginx-w2 and
    # haproxy-t2. On a machine where wrk and the upstream share those CPUs,
    # the load generator and upstream limit the gain: compare cpu/req too.
    all_cpus="0-$(($(nproc) - 1))"
    "$HARNESS/run.sh" -c "64 256" --targets nginx-w1,nginx-w2,haproxy-t1,haproxy-t2 \
        --target "$plain" --target "sluice-w2=$TARGET $BIN none 2;auto;;$all_cpus" "$@"
    ;;
callgrind)
    "$HARNESS/callgrind.sh" --targets nginx-proxy,haproxy --target "$plain" --target "$rs256" "$@"
    ;;
mem)
    "$HARNESS/mem.sh" --target "$plain" "$@"
    ;;
all)
    "$0" throughput "$@"
    "$0" scaling "$@"
    "$0" callgrind
    "$0" mem
    ;;
*)
    sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
