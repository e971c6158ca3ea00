#!/usr/bin/env bash
# The test command from the README: starts the local servers the tests need, then runs the whole suite.
#   - a DynamoDB- and Secrets Manager-compatible server (moto, installed from PyPI if missing), for the
#     DynamoDB store and the Secrets Manager source; see infra/local-aws.sh
#   - the Jira and Azure DevOps simulators are started by the tests themselves
# The official API contracts are read from ../shared/contracts (set TANDEM_CONTRACTS_DIR to override).
set -euo pipefail
cd "$(dirname "$0")/.."

started_here=false
if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
    eval "$(infra/local-aws.sh)"
    started_here=true
fi
stop_local_aws() { [[ "$started_here" == true ]] && infra/local-aws.sh stop || true; }
trap stop_local_aws EXIT

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast "$@"
else
    cargo test --workspace --locked --no-fail-fast "$@"
fi
