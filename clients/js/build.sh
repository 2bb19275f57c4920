#!/usr/bin/env bash
# Builds the JavaScript client (clients/js/dist, ES modules: the API types generated from
# docs/openapi.json into src/openapi.gen.ts, then tsc) and installs what the InstantSearch
# browser test (tests/browser/instantsearch.mjs) serves besides it: instantsearch.js, pinned, into
# $INSTANTSEARCH_TOOLS (default ~/.cache/vitrine-browser, next to playwright-core). Idempotent:
# `npm ci` runs only when package-lock.json changed since the last install, instantsearch.js is
# installed only when missing or at another version, and the build is always redone (about 10 s:
# the generation and two tsc passes).
set -euo pipefail
cd "$(dirname "$0")"

INSTANTSEARCH_VERSION=4.118.1
TOOLS="${INSTANTSEARCH_TOOLS:-$HOME/.cache/vitrine-browser}"

step() { printf '\n==> %s\n' "$*"; }

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.vitrine-lock-sum ] || [ "$(cat node_modules/.vitrine-lock-sum)" != "$lock_sum" ]; then
    step "npm ci (clients/js: typescript and openapi-typescript, pinned by package-lock.json)"
    npm ci --no-audit --no-fund
    echo "$lock_sum" > node_modules/.vitrine-lock-sum
fi

step "building clients/js/dist (npm run build: generate src/openapi.gen.ts from docs/openapi.json, then tsc)"
npm run --silent build

installed="$TOOLS/node_modules/instantsearch.js/package.json"
if [ ! -f "$installed" ] || ! grep -q "\"version\": \"$INSTANTSEARCH_VERSION\"" "$installed"; then
    step "installing instantsearch.js $INSTANTSEARCH_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact "instantsearch.js@$INSTANTSEARCH_VERSION"
fi
