#!/usr/bin/env bash
# setup.sh - install what sluice needs on Debian 12, bootstrap and build it.
#
#   contrib/setup.sh                 deps, then build in build/
#   contrib/setup.sh deps            install the missing Debian packages
#   contrib/setup.sh build DIR [CONFIGURE-ARGS...]
#                                    autoreconf when needed, configure out of
#                                    tree in DIR (relative to the repo root),
#                                    make -j$(nproc)
#
# Builds always happen out of tree: build/ (normal) and build-asan/
# (--enable-sanitizers); the source tree only gets the autotools output
# (configure, Makefile.in, build-aux/, m4/, all git-ignored).
#
# Other scripts source this file and call setup_deps / setup_build; when
# sourced it leaves the caller's shell options alone.

SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# Debian 12 package names. clang and libclang-rt-14-dev (the sanitizer and
# libFuzzer runtimes) are for sanitizer and fuzzing builds with clang.
SLUICE_PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libevent-dev libssl-dev libjansson-dev libjwt-dev libhiredis-dev libluajit2-5.1-dev
    python3 curl redis-server openssl
    clang libclang-rt-14-dev
)

setup_msg() { printf 'setup: %s\n' "$*" >&2; }
setup_die() { setup_msg "error: $*"; return 1; }

setup_nproc() { nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2; }

# Prints the packages of SLUICE_PACKAGES that are not installed, one a line.
setup_missing_packages() {
    local p status
    for p in "${SLUICE_PACKAGES[@]}"; do
        # shellcheck disable=SC2016 # ${Status} is dpkg-query's field, not ours
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || printf '%s\n' "$p"
    done
}

# Installs the missing packages (apt-get only when something is missing);
# extra package names given as arguments are installed too (the benchmark
# asks for its peers this way).
setup_deps() {
    # setup_missing_packages reads this list (bash scoping is dynamic)
    local SLUICE_PACKAGES=("${SLUICE_PACKAGES[@]}" "$@")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        setup_die "dpkg-query not found: this script installs packages on Debian 12 only;" \
            "install these yourself: ${SLUICE_PACKAGES[*]}"
        return 1
    fi
    local missing=()
    mapfile -t missing < <(setup_missing_packages)
    if ((${#missing[@]} == 0)); then
        setup_msg "all ${#SLUICE_PACKAGES[@]} packages are installed"
        return 0
    fi
    setup_msg "missing packages: ${missing[*]}"

    local sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            setup_die "installing packages needs root: run this as root, or install sudo," \
                "or install them yourself: apt-get install ${missing[*]}"
            return 1
        fi
    fi
    setup_msg "running apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
        { setup_die "apt-get update failed"; return 1; }
    setup_msg "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" ||
        { setup_die "apt-get install failed"; return 1; }

    mapfile -t missing < <(setup_missing_packages)
    if ((${#missing[@]} != 0)); then
        setup_die "still not installed after apt-get: ${missing[*]}"
        return 1
    fi
    setup_msg "all ${#SLUICE_PACKAGES[@]} packages are installed"
}

# True when the generated build system is missing or older than its sources.
setup_needs_autoreconf() {
    local src="$SLUICE_ROOT" f
    for f in configure Makefile.in build-aux/test-driver; do
        [[ -e "$src/$f" ]] || return 0
    done
    if grep -q '^AC_CONFIG_HEADERS' "$src/configure.ac" && [[ ! -e "$src/config.h.in" ]]; then
        return 0
    fi
    [[ "$src/configure.ac" -nt "$src/configure" ]] && return 0
    [[ "$src/configure.ac" -nt "$src/Makefile.in" ]] && return 0
    [[ "$src/Makefile.am" -nt "$src/Makefile.in" ]] && return 0
    return 1
}

# Runs autoreconf -fi in the source tree when needed.
setup_bootstrap() {
    local src="$SLUICE_ROOT"
    if [[ -e "$src/config.status" ]]; then
        setup_die "the source tree was configured in place ($src/config.status exists);" \
            "out-of-tree builds need it clean: run 'make distclean' in $src"
        return 1
    fi
    if setup_needs_autoreconf; then
        setup_msg "autoreconf -fi in $src"
        (cd "$src" && autoreconf -fi) || { setup_die "autoreconf failed"; return 1; }
    fi
}

# setup_build DIR [CONFIGURE-ARGS...]: bootstrap, configure (when DIR has no
# configuration yet or the arguments changed) and make in DIR. A relative
# DIR is taken from the repo root.
setup_build() {
    if (($# < 1)); then
        setup_die "usage: setup.sh build DIR [CONFIGURE-ARGS...]"
        return 1
    fi
    local dir="$1"
    shift
    [[ "$dir" == /* ]] || dir="$SLUICE_ROOT/$dir"
    setup_bootstrap || return 1
    mkdir -p "$dir" || return 1

    local args_file="$dir/.setup-configure-args" want have=""
    want="$(printf '%q ' "$@")"
    [[ -r "$args_file" ]] && have="$(<"$args_file")"
    if [[ ! -e "$dir/config.status" || ! -e "$dir/Makefile" || "$want" != "$have" ]]; then
        setup_msg "configure in $dir${*:+ with: $*}"
        rm -f "$args_file"
        (cd "$dir" && "$SLUICE_ROOT/configure" "$@") ||
            { setup_die "configure failed in $dir (details in $dir/config.log)"; return 1; }
        printf '%s' "$want" >"$args_file"
    fi

    local jobs
    jobs="$(setup_nproc)"
    setup_msg "make -j$jobs in $dir"
    make -C "$dir" -j"$jobs" || { setup_die "make failed in $dir"; return 1; }
    setup_msg "built $dir"
}

setup_usage() {
    cat <<'EOF'
usage: contrib/setup.sh [deps | build DIR [CONFIGURE-ARGS...] | all]
  deps    install the missing Debian 12 packages (apt-get, as root or via sudo)
  build   autoreconf when needed, configure out of tree in DIR, make -j$(nproc)
          e.g.  contrib/setup.sh build build
                contrib/setup.sh build build-asan --enable-sanitizers
  all     deps, then build build/ (the default)
EOF
}

setup_main() {
    local cmd="${1:-all}"
    (($# > 0)) && shift
    case "$cmd" in
    deps) setup_deps ;;
    build) setup_build "$@" ;;
    all)
        setup_deps || return 1
        setup_build build "$@"
        ;;
    -h | --help | help) setup_usage ;;
    *)
        setup_usage >&2
        setup_die "unknown command: $cmd"
        ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    setup_main "$@"
fi
