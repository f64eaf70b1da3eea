#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and run each for a while, one at a
# time.
#
#   contrib/fuzz.sh                      every target, 60 s each
#   contrib/fuzz.sh -t 600 jwt router    those two, 10 minutes each
#   contrib/fuzz.sh --merge              also fold new coverage into the
#                                        committed corpora (tests/fuzz/corpus/)
#   contrib/fuzz.sh --build-only         build, do not run
#   contrib/fuzz.sh --list               name the targets
#
# Options: -t/--time SECONDS (per target, default 60), --merge, --build-only,
# --list, -h/--help. Environment: CC (default clang), FUZZ_DIR (scratch
# directory, default build/fuzz), FUZZ_ARGS (more libFuzzer flags).
#
# Each target reads its committed seeds (tests/fuzz/corpus/TARGET/, never
# written unless --merge) and writes what it finds to FUZZ_DIR/corpus/TARGET/,
# which later runs start from. A crash, leak, sanitizer report or broken
# invariant stops that target; its input is kept as
# tests/fuzz/crashes/TARGET-crash-... (not committed: tests/fuzz/.gitignore)
# and the log as FUZZ_DIR/TARGET.log. The other targets still run. Prints
# per target: executions, exec/s, cov: and ft: from libFuzzer's final
# stats, corpus size and the verdict. Exits 1 when any target found
# something, 2 on a usage or build error.
#
# Reproduce a finding:  FUZZ_DIR/bin/fuzz_TARGET tests/fuzz/crashes/FILE
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
FUZZ_SRC="$ROOT/tests/fuzz"
CC="${CC:-clang}"
FUZZ_DIR="${FUZZ_DIR:-$ROOT/build/fuzz}"
TIME=60
MERGE=0
BUILD_ONLY=0

# target name -> -max_len: a bit above the largest input that means anything
# to it (a request head, a config file, a token...), small enough to stay fast.
declare -A MAX_LEN=(
    [http_request]=8192
    [http_response]=4096
    [chunked]=4096
    [config]=16384
    [router]=4096
    [jwt]=4096
    [jwks]=16384
    [lambda_result]=8192
    [admin]=4096
)
TARGETS_ALL=(http_request http_response chunked config router jwt jwks lambda_result admin)
# target -> dictionary in tests/fuzz/
declare -A DICT=(
    [http_request]=http.dict
    [http_response]=http.dict
    [chunked]=http.dict
    [config]=json.dict
    [router]=router.dict
    [jwt]=json.dict
    [jwks]=json.dict
    [lambda_result]=json.dict
    [admin]=json.dict
)

msg() { printf 'fuzz: %s\n' "$*" >&2; }
usage() { sed -n '2,29s/^# \{0,1\}//p' "$0"; }

targets=()
while (($#)); do
    case "$1" in
    -t | --time)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || { msg "-t needs a number of seconds"; exit 2; }
        TIME="$2"
        shift 2
        ;;
    --time=*)
        TIME="${1#--time=}"
        [[ "$TIME" =~ ^[0-9]+$ && "$TIME" -gt 0 ]] || { msg "--time needs a number of seconds"; exit 2; }
        shift
        ;;
    --merge) MERGE=1; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --list) printf '%s\n' "${TARGETS_ALL[@]}"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) msg "unknown option: $1 (try --help)"; exit 2 ;;
    *)
        [[ -n "${MAX_LEN[$1]:-}" ]] || { msg "unknown target: $1 (one of: ${TARGETS_ALL[*]})"; exit 2; }
        targets+=("$1")
        shift
        ;;
    esac
done
((${#targets[@]})) || targets=("${TARGETS_ALL[@]}")

command -v "$CC" >/dev/null || { msg "$CC not found (apt-get install clang)"; exit 2; }
PKGS="libevent_core libevent_extra libevent_openssl libevent_pthreads libssl libcrypto jansson libjwt hiredis luajit"
# shellcheck disable=SC2086
if ! DEP_CFLAGS="$(pkg-config --cflags $PKGS)" || ! DEP_LIBS="$(pkg-config --libs $PKGS)"; then
    msg "pkg-config could not find the libraries (run contrib/setup.sh)"
    exit 2
fi

# ------------------------------------------------------------------ build
# The library objects get the sanitizers and the coverage instrumentation
# (fuzzer-no-link); only the final link brings libFuzzer's main().
# Every UBSan check aborts (a finding libFuzzer keeps the input of).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
CFLAGS_FUZZ="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer $SAN -fsanitize=fuzzer-no-link"
OBJ="$FUZZ_DIR/obj"
BIN="$FUZZ_DIR/bin"
mkdir -p "$OBJ" "$BIN" "$FUZZ_DIR/corpus" "$FUZZ_SRC/crashes"

build() {
    local objs=() src o
    msg "building the library with $CC ($("$CC" --version | head -n 1))"
    # the Redis scripts header that make generates (Makefile.am: REDIS_LUA_FILES)
    awk -f "$ROOT/contrib/embed.awk" "$ROOT"/lua/redis/*.lua > "$OBJ/redis_scripts.h" || return 1
    for src in "$ROOT"/src/*.c; do
        [[ "$(basename "$src")" == main.c ]] && continue
        o="$OBJ/$(basename "${src%.c}").o"
        # rebuild when the source or any header changed
        if [[ ! -f "$o" || "$src" -nt "$o" || -n "$(find "$ROOT/src" -name '*.h' -newer "$o" -print -quit)" ]]; then
            # shellcheck disable=SC2086
            "$CC" $CFLAGS_FUZZ -iquote "$ROOT/src" -iquote "$OBJ" $DEP_CFLAGS -c "$src" -o "$o" || return 1
        fi
        objs+=("$o")
    done
    rm -f "$OBJ/libsluice-fuzz.a"
    ar rcs "$OBJ/libsluice-fuzz.a" "${objs[@]}" || return 1
    for t in "${targets[@]}"; do
        # shellcheck disable=SC2086
        "$CC" $CFLAGS_FUZZ -fsanitize=fuzzer -iquote "$ROOT/src" -iquote "$FUZZ_SRC" $DEP_CFLAGS \
            "$FUZZ_SRC/fuzz_$t.c" "$OBJ/libsluice-fuzz.a" $DEP_LIBS -lm -lpthread -ldl \
            -o "$BIN/fuzz_$t" || return 1
    done
}
if ! build; then
    msg "build failed"
    exit 2
fi
msg "built: ${targets[*]} (in $BIN)"
((BUILD_ONLY)) && exit 0

# ------------------------------------------------------------------ run
# One fuzzer at a time, single process: the machine is shared.
found=0
summary=()
for t in "${targets[@]}"; do
    seeds="$FUZZ_SRC/corpus/$t"
    scratch="$FUZZ_DIR/corpus/$t"
    log="$FUZZ_DIR/$t.log"
    mkdir -p "$scratch"
    dict=()
    [[ -f "$FUZZ_SRC/${DICT[$t]}" ]] && dict=(-dict="$FUZZ_SRC/${DICT[$t]}")
    msg "$t: ${TIME}s, -max_len=${MAX_LEN[$t]}, $(find "$seeds" -type f | wc -l) seeds"
    before=$(find "$FUZZ_SRC/crashes" -maxdepth 1 -type f -name "$t-*" | wc -l)
    rc=0
    # setsid: no controlling terminal a fuzzed path could block on; stdin
    # from /dev/null for the same reason.
    # shellcheck disable=SC2086
    setsid "$BIN/fuzz_$t" -max_total_time="$TIME" -max_len="${MAX_LEN[$t]}" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$FUZZ_SRC/crashes/$t-" ${FUZZ_ARGS:-} \
        "$scratch" "$seeds" </dev/null >"$log" 2>&1 || rc=$?
    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")"
    after=$(find "$FUZZ_SRC/crashes" -maxdepth 1 -type f -name "$t-*" | wc -l)
    if ((rc != 0 || after > before)); then
        verdict="FOUND SOMETHING (exit $rc; log $log)"
        found=1
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$log" | head -n 5 >&2 || true
        grep -E "Test unit written to|artifact" "$log" | tail -n 2 >&2 || true
    else
        verdict="no finding"
    fi
    line="$(printf '%-14s execs %-10s exec/s %-7s cov %-6s ft %-6s corpus %-12s %s' "$t" \
        "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")"
    printf 'fuzz: %s\n' "$line"
    summary+=("$line")
    if ((MERGE && rc == 0)); then
        # keep only inputs that add coverage to the committed seeds
        merged="$FUZZ_DIR/$t.merge.log"
        n0=$(find "$seeds" -type f | wc -l)
        if setsid "$BIN/fuzz_$t" -merge=1 -max_len="${MAX_LEN[$t]}" "$seeds" "$scratch" \
            </dev/null >"$merged" 2>&1; then
            msg "$t: merged, $n0 -> $(find "$seeds" -type f | wc -l) files in ${seeds#"$ROOT"/}"
        else
            msg "$t: merge failed (see $merged)"
            found=1
        fi
    fi
done

printf '\nfuzz: summary (%ss per target)\n' "$TIME"
printf '  %s\n' "${summary[@]}"
if ((found)); then
    printf 'fuzz: findings kept in %s\n' "${FUZZ_SRC#"$ROOT"/}/crashes/"
    exit 1
fi
