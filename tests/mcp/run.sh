#!/usr/bin/env bash
# zen-mcp against the official Python MCP SDK client, over stdio and HTTP.
# Run from the repository root; installs the client into .ci-cache/mcp-venv.
set -euo pipefail

cd "$(dirname "$0")/../.."
CACHE="$PWD/.ci-cache"
mkdir -p "$CACHE"
VENV="$CACHE/mcp-venv"
MCP_VERSION=2.3.0
if ! "$VENV/bin/python" -c "import mcp, sys; sys.exit(0)" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "mcp==$MCP_VERSION"
fi

cargo build --locked -p zen-mcp -p zen-testkit
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

STANDIN_OUT=$(mktemp)
"$TARGET/debug/zen-standin" > "$STANDIN_OUT" &
STANDIN_PID=$!
trap 'kill "$STANDIN_PID" 2>/dev/null || true; rm -f "$STANDIN_OUT"' EXIT
for _ in $(seq 1 100); do
    [ -s "$STANDIN_OUT" ] && break
    sleep 0.1
done
STANDIN_URL=$(head -n 1 "$STANDIN_OUT")

"$VENV/bin/python" tests/mcp/client_test.py "$TARGET/debug/zen-mcp" "$STANDIN_URL"
