#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, every Rust test, the C header,
# and the compatibility checks against the Python PAL server's catalogues.
# Installs what it needs (into .ci-cache/ and a venv) and is safe to re-run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE="$ROOT/.ci-cache"
mkdir -p "$CACHE"
# Incremental compilation caches gigabytes that a one-shot run never reuses;
# CI machines can be short of disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

step() { printf '\n=== %s\n' "$*"; }

step "toolchain"
df -h . | tail -n 1 | awk '{print "disk free here: " $4}'
cargo --version
rustc --version
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi

step "formatting"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "zen-core stays free of binding crates"
deps=$(cargo tree -p zen-core -e normal --depth 1 --prefix none --locked)
if grep -E '^(pyo3|libc|rmcp) ' <<<"$deps"; then
    echo "zen-core must not depend on pyo3, libc or rmcp" >&2
    exit 1
fi

step "docs"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --locked --exclude zen-py

step "PAL's shipped catalogues (compatibility fixture)"
# The PyPI package of the Python PAL server carries its conf/*_models.json;
# zen must load every one of them unchanged.
PAL_VERSION=11.8.2
PAL_DIR="$CACHE/pal-$PAL_VERSION"
if [ ! -d "$PAL_DIR/conf" ]; then
    if [ ! -x "$CACHE/venv/bin/python" ]; then
        python3 -m venv "$CACHE/venv"
    fi
    rm -rf "$CACHE/pal-download"
    "$CACHE/venv/bin/python" -m pip download --quiet --no-deps \
        --dest "$CACHE/pal-download" "pal-mcp-server==$PAL_VERSION"
    mkdir -p "$PAL_DIR"
    "$CACHE/venv/bin/python" - "$CACHE/pal-download" "$PAL_DIR" <<'PY'
import pathlib, sys, zipfile
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(src.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("conf/") and name.endswith("_models.json"):
            z.extract(name, dest)
PY
fi
ls "$PAL_DIR/conf"
export ZEN_TEST_PAL_CONF="$PAL_DIR/conf"

step "tests"
cargo test --workspace --locked

step "README's run command resolves to the server"
# `cargo run -p zen-mcp` (the README's command, here without --release) must
# pick the server binary.
cargo run --locked -q -p zen-mcp -- --version

step "MCP: the official Python client over stdio and HTTP"
bash tests/mcp/run.sh

step "MCP: the official conformance suite, protocols 2025-11-25 and 2026-07-28"
bash tests/mcp/conformance.sh

step "Python: the zen module, its stubs and its tests"
bash tests/python/run.sh

step "C API: header, library, C and C++ programs under valgrind"
bash tests/c/run.sh

step "all tests passed"
du -sh "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" | awk '{print "target directory: " $1}'

