#!/usr/bin/env bash
# The test command from the README: starts the local servers the tests need, then runs the whole suite.
#   - a DynamoDB- and Secrets Manager-compatible server (moto, installed from PyPI if missing), for the
#     DynamoDB store and the Secrets Manager source; see infra/local-aws.sh
#   - the Jira and Azure DevOps simulators are started by the tests themselves
#   - Debian's chromium and chromium-driver, for the status page's browser test (installed if missing)
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

# The status page's test drives Debian's Chromium through ChromeDriver (tests/status_page.rs).
if [[ ! -x /usr/bin/chromedriver || ! -x /usr/bin/chromium ]]; then
    echo "installing Debian's chromium and chromium-driver for the browser test" >&2
    sudo_if_needed=""
    [[ "$(id -u)" != 0 ]] && sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast "$@"
else
    cargo test --workspace --locked --no-fail-fast "$@"
fi
