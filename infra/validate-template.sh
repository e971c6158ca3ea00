#!/usr/bin/env bash
# Checks the AWS SAM template (template.yaml) offline: cfn-lint, then `sam validate --lint`, then that
# `sam deploy --guided` asks nothing whose default answer aborts. Any error or warning fails the script.
# Needs no AWS account: the credentials are dummies, and no tool calls AWS.
#
#   infra/validate-template.sh [TEMPLATE]    # default: template.yaml
#
# The tools are pinned in infra/sam-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TEMPLATE="${1:-template.yaml}"

say() { echo "validate-template: $*" >&2; }

# shellcheck source=infra/sam-tools.sh
source infra/sam-tools.sh

# Runs a tool and fails when it fails or when its output holds a warning. Both tools already exit
# non-zero for any cfn-lint match (error, warning or informational); this also catches what leaves the
# exit code at 0: Python warnings (deprecations of the tools' own dependencies) and logged warnings.
run_clean() {
    local output status=0
    output="$("$@" 2>&1)" || status=$?
    if [[ -n "$output" ]]; then
        echo "$output"
    fi
    if ((status != 0)); then
        say "'$*' failed (exit code $status)"
        return 1
    fi
    if grep -qE '\b[EWI][0-9]{4}\b|Warning:|WARNING' <<<"$output"; then
        say "'$*' reported warnings"
        return 1
    fi
}

ensure_tools
use_offline_aws

echo "== cfn-lint $TEMPLATE"
run_clean "$VENV/bin/cfn-lint" "$TEMPLATE"
echo "== sam validate --lint $TEMPLATE"
run_clean "$VENV/bin/sam" validate --lint --template "$TEMPLATE" --region us-east-1
echo "== sam deploy --guided prompts ($TEMPLATE)"
run_clean "$VENV/bin/python" infra/guided-deploy-prompts.py "$TEMPLATE"
echo "template: cfn-lint and sam validate --lint clean; guided deploy takes its defaults"
