# scripts/setup.sh: shared by scripts/run and scripts/test (sourced, not run).
# Installs the Debian packages Lunette needs, then configures and builds
# Release into $BUILD_DIR (default build/). Idempotent: a second run only
# checks dpkg and lets CMake/make decide there is nothing to do.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD_TYPE=${BUILD_TYPE:-Release}

# Every package a fresh Debian 12 machine needs to build, test and run Lunette.
LUNETTE_PACKAGES="build-essential cmake pkg-config liblua5.4-dev lua5.4 libreadline-dev
  libncurses-dev libopenblas-dev zlib1g-dev libcjson-dev dataset-fashion-mnist
  python3 python3-pil xz-utils libopenmpi-dev openmpi-bin"
# Set LUNETTE_EXTRA_PACKAGES for more (.ci/run adds clang for the fuzz targets).

lt_install_missing() {
    local missing="" p
    for p in $LUNETTE_PACKAGES ${LUNETTE_EXTRA_PACKAGES:-}; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "lunette: missing Debian packages:$missing" >&2
            echo "install them with:" >&2
            echo "  sudo apt-get install -y$missing" >&2
            exit 1
        fi
    fi
    echo "lunette: installing$missing" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 || {
        $sudo apt-get update -q >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
    } || { echo "lunette: apt-get install failed" >&2; exit 1; }
}

# The stamp of the last successful package check and build: its mtime is when that build
# started, its content the settings it used. lt_up_to_date is true when the binary is
# there and nothing the build reads (src/, CMakeLists.txt, tests/, this file) changed
# since; scripts/run then skips the package check and the build (0.02 s instead of 1-5 s).
STAMP="$BUILD_DIR/.lunette-built"
lt_settings() { printf '%s|%s|%s\n' "$BUILD_TYPE" "${LUNETTE_CMAKE_ARGS:-}" "${LUNETTE_EXTRA_PACKAGES:-}"; }

lt_up_to_date() {
    [ -x "$BUILD_DIR/lunette" ] && [ -f "$STAMP" ] || return 1
    [ "$(cat "$STAMP")" = "$(lt_settings)" ] || return 1
    [ -z "$(find "$ROOT/src" "$ROOT/tests" "$ROOT/CMakeLists.txt" "$ROOT/scripts/setup.sh" \
        -newer "$STAMP" -print -quit 2>/dev/null)" ]
}

# Around lt_install_missing + lt_build: the stamp is written only when both succeeded.
lt_build_begin() { mkdir -p "$BUILD_DIR" && lt_settings > "$BUILD_DIR/.lunette-building"; }
lt_build_end() { mv -f "$BUILD_DIR/.lunette-building" "$STAMP"; }

lt_build() {
    local jobs; jobs=$(nproc 2>/dev/null || echo 2)
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${LUNETTE_CMAKE_ARGS:-} >&2 || exit 1
    fi
    cmake --build "$BUILD_DIR" -j "$jobs" >&2 || exit 1
}
