#!/usr/bin/env bash
# test.sh - install what is missing, build sluice twice and run `make check`
# in each build:
#   build/       the normal build
#   build-asan/  --enable-sanitizers (ASan + UBSan, leaks checked), with
#                SLUICE_SANITIZERS=1 so tests can allow for the slowdown
# Prints the logs of failing tests, one summary line per build, and last
# "N passed, N failed" (FAIL, ERROR and XPASS count as failed). Exits
# non-zero when anything failed.
#
#   contrib/test.sh           both builds (what CI runs)
#   contrib/test.sh --fast    the normal build only
#
# Environment: SLUICE_CHECK_TIMEOUT (seconds one `make check` may take,
# default 600), SLUICE_ASAN_CC (compiler for build-asan/, e.g. clang;
# default: configure's choice).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=contrib/setup.sh
source contrib/setup.sh

msg() { printf 'test: %s\n' "$*" >&2; }

fast=0
for arg in "$@"; do
    case "$arg" in
    --fast) fast=1 ;;
    -h | --help)
        sed -n '2,16s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        msg "unknown option: $arg (try --help)"
        exit 2
        ;;
    esac
done

CHECK_TIMEOUT="${SLUICE_CHECK_TIMEOUT:-600}"
total_pass=0
total_fail=0
summaries=()

# field NAME LOG: the number on automake's "# NAME: N" line, 0 without one.
field() {
    local n
    n="$(sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$2" | tail -n 1)"
    echo "${n:-0}"
}

# Prints the .log of every test whose .trs says FAIL, ERROR or XPASS.
print_failed_logs() {
    local dir="$1" trs log failed=()
    mapfile -t failed < <(find "$dir" -name '*.trs' -exec grep -lE '^:test-result: (FAIL|ERROR|XPASS)' {} + | sort)
    ((${#failed[@]})) || return 0
    msg "${dir#"$ROOT"/}: logs of the ${#failed[@]} failing test(s) follow"
    for trs in "${failed[@]}"; do
        log="${trs%.trs}.log"
        printf '\n===== %s =====\n' "${log#"$ROOT"/}"
        if [[ -r "$log" ]]; then
            if (($(wc -l <"$log") > 400)); then
                echo "... (only the last 400 lines)"
            fi
            tail -n 400 "$log"
        else
            echo "(no log)"
        fi
    done
    echo
}

check_pid=""
stop_check() {
    [[ -n "$check_pid" ]] || return 0
    kill -TERM -- "-$check_pid" 2>/dev/null || kill -TERM "$check_pid" 2>/dev/null || true
    wait "$check_pid" 2>/dev/null || true
}

# suite DIR [CONFIGURE-ARGS...]: build DIR, run make check there with the
# environment in CHECK_ENV, add up its results.
suite() {
    local dir="$1"
    shift
    local pass=0 fail=0 err=0 xpass=0 skip=0 xfail=0 note="" rc=0
    local abs="$ROOT/$dir"

    msg "=== $dir: build"
    if ! setup_build "$dir" "$@"; then
        msg "$dir: the build failed"
        summaries+=("$(printf '%-11s BUILD FAILED (no tests ran)' "$dir:")")
        total_fail=$((total_fail + 1))
        return 0
    fi

    msg "=== $dir: make check (timeout ${CHECK_TIMEOUT}s)"
    # Stale results from an earlier run must not be counted.
    rm -f "$abs/test-suite.log"
    local stale
    while IFS= read -r stale; do
        rm -f "$stale" "${stale%.trs}.log"
    done < <(find "$abs" -name '*.trs')
    # timeout runs in a process group of its own and, when time runs out,
    # kills the whole group (make and every test process). Run it in the
    # background so that a Ctrl-C or SIGTERM here can stop that group too.
    env "${CHECK_ENV[@]}" timeout -k 30 "$CHECK_TIMEOUT" make -C "$abs" -j2 check &
    check_pid=$!
    trap 'stop_check; exit 130' INT
    trap 'stop_check; exit 143' TERM
    wait "$check_pid" || rc=$?
    trap - INT TERM
    check_pid=""

    local log="$abs/test-suite.log"
    if [[ -r "$log" ]]; then
        pass="$(field PASS "$log")"
        fail="$(field FAIL "$log")"
        err="$(field ERROR "$log")"
        xpass="$(field XPASS "$log")"
        skip="$(field SKIP "$log")"
        xfail="$(field XFAIL "$log")"
    else
        # make check stopped before the summary (a test program did not
        # build, or the time ran out): count the results that exist, and the
        # incomplete run as one failure.
        local trs
        while IFS= read -r trs; do
            case "$(sed -n 's/^:test-result: *//p' "$trs" | head -n 1)" in
            PASS) pass=$((pass + 1)) ;;
            FAIL) fail=$((fail + 1)) ;;
            ERROR) err=$((err + 1)) ;;
            XPASS) xpass=$((xpass + 1)) ;;
            SKIP) skip=$((skip + 1)) ;;
            XFAIL) xfail=$((xfail + 1)) ;;
            esac
        done < <(find "$abs" -name '*.trs')
        err=$((err + 1))
        if ((rc == 124 || rc == 137)); then
            note=" (TIMED OUT after ${CHECK_TIMEOUT}s)"
            # Name the tests that had not finished (no .trs) when time ran out.
            local tlog unfinished=()
            # shellcheck disable=SC2016 # $(TEST_LOGS) is make's, not ours
            for tlog in $(printf 'setup-print-test-logs:\n\t@echo $(TEST_LOGS)\n' |
                make -s -C "$abs" -f Makefile -f - setup-print-test-logs 2>/dev/null); do
                [[ -e "$abs/${tlog%.log}.trs" ]] || unfinished+=("${tlog%.log}")
            done
            msg "$dir: tests without a result at the timeout: ${unfinished[*]:-(unknown)}"
        else
            note=" (make check stopped early, exit $rc)"
        fi
    fi
    if ((rc != 0 && fail + err + xpass == 0)); then
        err=1
        note=" (make check exited $rc)"
    fi

    ((fail + err + xpass == 0)) || print_failed_logs "$abs"
    summaries+=("$(printf '%-11s pass %d, fail %d, error %d, xpass %d, skip %d, xfail %d%s' \
        "$dir:" "$pass" "$fail" "$err" "$xpass" "$skip" "$xfail" "$note")")
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail + err + xpass))
}

setup_deps

CHECK_ENV=(-u SLUICE_SANITIZERS)
suite build

if ((fast)); then
    msg "--fast: skipping the sanitizer build"
else
    CHECK_ENV=(
        SLUICE_SANITIZERS=1
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    )
    asan_args=(--enable-sanitizers)
    [[ -n "${SLUICE_ASAN_CC:-}" ]] && asan_args+=("CC=$SLUICE_ASAN_CC")
    suite build-asan "${asan_args[@]}"
fi

echo
echo "Summary:"
for line in "${summaries[@]}"; do
    echo "  $line"
done
echo "$total_pass passed, $total_fail failed"
((total_fail == 0 && total_pass > 0))
