#!/usr/bin/env bash
# The C API's checks, from the repository root:
#
#   bash tests/c/run.sh
#
# 1. include/zen.h is what cbindgen (pinned) generates from zen-ffi, and it
#    compiles on its own as C11 and as C++17 with -Wall -Wextra -Wpedantic -Werror;
# 2. zen-ffi builds libzen.so and libzen.a, and zen.pc (pkg-config) is written
#    next to them, pointing at the build directory;
# 3. tests/c/zen_test.c, examples/c/zen_run.c and examples/cpp/main.cpp build
#    with `$(pkg-config --cflags --libs zen)` and -Werror; zen_run also links
#    statically against libzen.a;
# 4. against the stand-in provider (zen-standin): the C test runs, then runs
#    again under valgrind (--error-exitcode=1 --leak-check=full); the C and
#    C++ examples run.
#
# Installs valgrind and pkg-config with apt-get when they are missing (as
# root), and cbindgen into .ci-cache/ when it is missing or another version.
# Respects CARGO_TARGET_DIR, CC and CXX.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CBINDGEN_VERSION=0.29.4
CC=${CC:-cc}
CXX=${CXX:-c++}
WARNINGS=(-Wall -Wextra -Wpedantic -Werror)

step() { printf '\n=== %s\n' "$*"; }
die() { echo "tests/c/run.sh: $*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zen-c-tests.XXXXXX")
STANDIN_PID=
cleanup() {
    if [ -n "$STANDIN_PID" ]; then
        kill "$STANDIN_PID" 2>/dev/null || true
        wait "$STANDIN_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

step "tools"
missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "please install: ${missing[*]}"
    fi
fi
if ! command -v cbindgen >/dev/null 2>&1 || ! cbindgen --version | grep -qF "$CBINDGEN_VERSION"; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --root "$ROOT/.ci-cache/cbindgen"
    export PATH="$ROOT/.ci-cache/cbindgen/bin:$PATH"
fi
echo "$(cbindgen --version), $(valgrind --version), pkg-config $(pkg-config --version)"
"$CC" --version | head -n 1
"$CXX" --version | head -n 1

step "include/zen.h is current"
if ! cbindgen --config zen-ffi/cbindgen.toml --crate zen-ffi --output "$WORK/zen.h" zen-ffi \
    2>"$WORK/cbindgen.log"; then
    cat "$WORK/cbindgen.log" >&2
    die "cbindgen failed"
fi
if ! diff -u include/zen.h "$WORK/zen.h"; then
    echo "include/zen.h is stale: regenerate it with" >&2
    echo "  cbindgen --config zen-ffi/cbindgen.toml --crate zen-ffi --output include/zen.h zen-ffi" >&2
    exit 1
fi
echo "up to date"

step "zen.h compiles on its own (C11, C++17)"
"$CC" -std=c11 "${WARNINGS[@]}" -fsyntax-only -x c include/zen.h
"$CXX" -std=c++17 "${WARNINGS[@]}" -fsyntax-only -x c++ include/zen.h
echo "ok"

step "build zen-ffi and the stand-in"
cargo build -p zen-ffi -p zen-testkit --locked
TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
LIBDIR="$TARGET_DIR/debug"
for artefact in libzen.so libzen.a zen-standin; do
    [ -e "$LIBDIR/$artefact" ] || die "the build did not produce $LIBDIR/$artefact"
done
VERSION=$(cargo pkgid -p zen-ffi | sed 's/.*[#@]//')

step "zen.pc"
zen-ffi/zen-pc.sh "$LIBDIR" include >"$LIBDIR/zen.pc"
export PKG_CONFIG_PATH="$LIBDIR${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
[ "$(pkg-config --modversion zen)" = "$VERSION" ] ||
    die "zen.pc says $(pkg-config --modversion zen), zen-ffi is $VERSION"
echo "$LIBDIR/zen.pc: cflags $(pkg-config --cflags zen); libs $(pkg-config --libs zen)"

step "build the C test and the examples"
# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
"$CC" -std=c11 "${WARNINGS[@]}" -g tests/c/zen_test.c -o "$WORK/zen_test" \
    $(pkg-config --cflags --libs zen) -pthread
# shellcheck disable=SC2046
"$CC" -std=c11 "${WARNINGS[@]}" examples/c/zen_run.c -o "$WORK/zen_run" \
    $(pkg-config --cflags --libs zen)
# The same example against the static library (-l:libzen.a picks the archive).
# shellcheck disable=SC2046
"$CC" -std=c11 "${WARNINGS[@]}" examples/c/zen_run.c -o "$WORK/zen_run_static" \
    $(pkg-config --cflags zen) $(pkg-config --static --libs zen | sed 's/-lzen\b/-l:libzen.a/')
if readelf -d "$WORK/zen_run_static" | grep -q 'libzen'; then
    die "zen_run_static still needs libzen.so"
fi
# shellcheck disable=SC2046
"$CXX" -std=c++17 "${WARNINGS[@]}" examples/cpp/main.cpp -o "$WORK/zen_cpp_example" \
    $(pkg-config --cflags --libs zen) -pthread
echo "built zen_test, zen_run, zen_run_static, zen_cpp_example"
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "start the stand-in provider"
# It serves until its standard input closes: this script holds the pipe, so
# the stand-in goes away with it even if the trap never runs.
mkfifo "$WORK/standin.in"
"$LIBDIR/zen-standin" --exit-on-eof <"$WORK/standin.in" >"$WORK/standin.out" \
    2>"$WORK/standin.err" &
STANDIN_PID=$!
exec 3>"$WORK/standin.in"
URL=
for _ in $(seq 100); do
    URL=$(head -n 1 "$WORK/standin.out" 2>/dev/null || true)
    [ -n "$URL" ] && break
    kill -0 "$STANDIN_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$URL" ]; then
    cat "$WORK/standin.err" >&2
    die "zen-standin did not start"
fi
echo "$URL"

step "C test"
"$WORK/zen_test" "$URL" "$VERSION"

step "C test under valgrind"
# zen's tokio runtime is process-wide and lives until exit, so its worker and
# blocking-pool threads are still running when valgrind takes stock: their
# thread-local storage shows as "possibly lost" (glibc's allocate_dtv) and
# the runtime itself as "still reachable". Neither is a leak, so only the
# kinds that are (definite, indirect) count as errors; every memory error
# (invalid read or write, uninitialised value) still fails the run.
if ! valgrind --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --log-file="$WORK/valgrind.log" "$WORK/zen_test" "$URL" "$VERSION"; then
    cat "$WORK/valgrind.log" >&2
    die "the C test failed under valgrind"
fi
grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY' \
    "$WORK/valgrind.log" | sed 's/^==[0-9]*== *//'

step "C example (zen_run), settings from the environment"
# From an empty directory, so that no .env file is read.
out=$(cd "$WORK" && env -u ZEN_ENV_FILE OPENAI_API_KEY=k OPENAI_BASE_URL="$URL/v1" \
    ./zen_run chat '{"prompt": "Say hello.", "model": "o3", "working_directory_absolute_path": "/tmp"}')
echo "$out"
grep -q 'Stand-in answer from o3' <<<"$out" || die "zen_run did not print the answer"
(cd "$WORK" && ./zen_run_static --tools >/dev/null) || die "zen_run_static --tools failed"
if (cd "$WORK" && ./zen_run no-such-tool 2>"$WORK/zen_run.err"); then
    die "zen_run no-such-tool succeeded"
fi
grep -q 'unknown or disabled tool' "$WORK/zen_run.err" || die "zen_run's error is unclear"

step "C++ example"
out=$("$WORK/zen_cpp_example" "{\"OPENAI_API_KEY\": \"k\", \"OPENAI_BASE_URL\": \"$URL/v1\"}" o3)
echo "$out"
grep -q '^continued .*: Stand-in answer from o3' <<<"$out" || die "the C++ example did not continue"
grep -q '^async: Stand-in answer from o3' <<<"$out" || die "the C++ example's future failed"

step "C API checks passed"
