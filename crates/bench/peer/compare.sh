#!/usr/bin/env bash
# Glassbox and Arize Phoenix on the same generated corpus, in one run.
# Usage: crates/bench/peer/compare.sh [SPANS]   (default 10000; Phoenix ingests ~100 spans/s here)
# Needs: cargo build --release -p glassbox -p glassbox-bench, and Phoenix in a venv:
#   python3 -m venv /var/tmp/phoenix-venv && /var/tmp/phoenix-venv/bin/pip install arize-phoenix
set -euo pipefail
cd "$(dirname "$0")/../../.."
spans="${1:-10000}"
venv="${PHOENIX_VENV:-/var/tmp/phoenix-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

./target/release/glassbox-bench corpus --spans "$spans" --out "$work/corpus"
echo "== Glassbox (OTLP/HTTP protobuf, 4 exporters, durable acks)"
./target/release/glassbox-bench ingest --spans "$spans" --query-runs 5
echo "== Arize Phoenix $("$venv/bin/pip" show arize-phoenix 2>/dev/null | awk '/^Version/ {print $2}') (same corpus, 4 exporters)"
"$venv/bin/python" crates/bench/peer/phoenix_bench.py --corpus "$work/corpus" --workdir "$work/phoenix" --aggregate-runs 5
