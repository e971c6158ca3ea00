#!/usr/bin/env bash
# The test command from the README: starts what the tests need, then runs the whole suite.
# The official API contracts are read from ../shared/contracts (set TANDEM_CONTRACTS_DIR to override).
set -euo pipefail
cd "$(dirname "$0")/.."

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast "$@"
else
    cargo test --workspace --locked --no-fail-fast "$@"
fi
