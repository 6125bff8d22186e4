#!/usr/bin/env bash
# The Python module's checks: builds the zen-py wheel (abi3) and the stand-in
# provider, installs the wheel into a venv, checks the type stubs with
# mypy.stubtest and runs pytest on zen-py/tests, then the PAL drop-in tests
# (zen-py/tests_pal) against pal-mcp-server from PyPI. Installs what it needs into
# .ci-cache/ and is safe to re-run. Needs python3 >= 3.10 and cargo.
#
#   tests/python/run.sh             debug build (quicker to build)
#   tests/python/run.sh --release   release build, as published
#   extra arguments after `--` go to pytest, e.g. `-- -k errors -x`
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CACHE="$ROOT/.ci-cache"
VENV="$CACHE/pyvenv"
WHEELS="$CACHE/wheels"
mkdir -p "$CACHE"

PROFILE=()
# The PAL release the drop-in tests run on (PyPI pal-mcp-server).
PAL_VERSION=11.8.2
while [ $# -gt 0 ]; do
    case "$1" in
        --release) PROFILE=(--release); shift ;;
        --) shift; break ;;
        *) echo "usage: tests/python/run.sh [--release] [-- pytest arguments]" >&2; exit 2 ;;
    esac
done

started=$SECONDS
step() { printf '\n=== %s (%ds)\n' "$*" "$((SECONDS - started))"; }

step "python"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "zen needs Python 3.10 or later"; print(sys.version)'
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.16,<2" "pytest>=8" "mypy>=1.10"

step "zen-standin (the stand-in provider)"
cargo build -p zen-testkit --bin zen-standin --locked
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
    | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export ZEN_STANDIN="$TARGET_DIR/debug/zen-standin"

step "wheel (maturin build ${PROFILE[*]:-})"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --manifest-path zen-py/Cargo.toml --locked \
    --interpreter "$VENV/bin/python" --out "$WHEELS" "${PROFILE[@]}"
wheel=$(find "$WHEELS" -name 'zen_engine-*.whl' | head -n 1)
case "$(basename "$wheel")" in
    *-cp310-abi3-*.whl) echo "abi3 wheel: $(basename "$wheel")" ;;
    *) echo "expected an abi3 wheel for CPython >= 3.10, got: ${wheel:-nothing}" >&2; exit 1 ;;
esac
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --force-reinstall --no-deps "$wheel"

step "type stubs (mypy.stubtest)"
# From inside the cache so that `zen` is the installed wheel and mypy's
# cache stays out of the source tree.
(cd "$CACHE" && MYPY_CACHE_DIR="$CACHE/mypy" "$VENV/bin/python" -m mypy.stubtest \
    --mypy-config-file "$ROOT/zen-py/pyproject.toml" zen)
# The tests use the API as a typed program would; mypy checks them against the stubs.
MYPY_CACHE_DIR="$CACHE/mypy" "$VENV/bin/python" -m mypy --strict zen-py/tests

step "pytest"
"$VENV/bin/python" -m pytest zen-py/tests -p no:cacheprovider "$@"

step "PAL drop-in: zen.compat.pal under pal-mcp-server $PAL_VERSION"
# PAL's own server from PyPI in its own venv, with the zen wheel beside it.
PAL_VENV="$CACHE/palvenv"
if [ ! -x "$PAL_VENV/bin/python" ]; then
    "$PYTHON" -m venv "$PAL_VENV"
fi
"$PAL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "pal-mcp-server==$PAL_VERSION" "pytest>=8"
"$PAL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --force-reinstall --no-deps "$wheel"
# PAL writes its logs and transcripts under $HOME; keep them in the cache.
mkdir -p "$CACHE/pal-home"
HOME="$CACHE/pal-home" "$PAL_VENV/bin/python" -m pytest zen-py/tests_pal -p no:cacheprovider "$@"

step "python checks passed"
