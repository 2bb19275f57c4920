#!/usr/bin/env bash
# Checkout load: 200 concurrent clients running full checkout sagas over HTTP (hold stock,
# authorise on the simulated gateway, write the order and its events, confirm), first on a
# scratch SQLite database, then on a scratch schema of PostgreSQL. Prints checkouts/s and the
# latency percentiles of each.
#
#   bench/checkout_load.sh [POSTGRES_URL]      # default postgres://postgres@127.0.0.1:5432/test
#
# Run from the workspace root; builds the release binary first (CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."
POSTGRES_URL="${1:-postgres://postgres@127.0.0.1:5432/test}"
CLIENTS="${CLIENTS:-200}"
CHECKOUTS="${CHECKOUTS:-4000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vitrine-target}"

cargo build --release --locked --bin vitrine
VITRINE="$CARGO_TARGET_DIR/release/vitrine"
DATA="$(mktemp -d -t vitrine-checkout-bench.XXXXXX)"
trap 'rm -rf "$DATA"' EXIT

echo "== SQLite"
"$VITRINE" --data-dir "$DATA" bench checkout --clients "$CLIENTS" --checkouts "$CHECKOUTS"
echo
echo "== PostgreSQL ($POSTGRES_URL)"
"$VITRINE" --data-dir "$DATA" bench checkout --clients "$CLIENTS" --checkouts "$CHECKOUTS" --commerce-db "$POSTGRES_URL"
