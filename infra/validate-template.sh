#!/usr/bin/env bash
# Checks the AWS SAM template (template.yaml) offline: cfn-lint, then `sam validate --lint`, then that
# `sam deploy --guided` asks nothing whose default answer aborts. Any error or warning fails the script. Needs no AWS account: the credentials below are dummies, and
# neither tool calls AWS.
#
#   infra/validate-template.sh [TEMPLATE]    # default: template.yaml
#
# Both tools live in a virtualenv under target/sam-venv, installed from PyPI on the first run and reused
# while the pinned requirements are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

# cfn-lint from 1.54 on no longer runs the SAM translator, so it would lint the untransformed template.
readonly CFN_LINT_REQUIREMENT="cfn-lint==1.53.*"
readonly SAM_CLI_REQUIREMENT="aws-sam-cli==1.170.0"
readonly TEMPLATE="${1:-template.yaml}"
readonly VENV="target/sam-venv"
readonly STAMP="$VENV/.requirements"
readonly LOCK_FILE="target/sam-venv.lock"

say() { echo "validate-template: $*" >&2; }

# Creates the virtualenv and installs the pinned tools, unless the venv already holds exactly them.
ensure_tools() {
    local wanted="$CFN_LINT_REQUIREMENT $SAM_CLI_REQUIREMENT"
    if [[ -x "$VENV/bin/sam" && -x "$VENV/bin/cfn-lint" && "$(cat "$STAMP" 2>/dev/null)" == "$wanted" ]]; then
        return
    fi
    say "installing $wanted into $VENV"
    local started=$SECONDS
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$CFN_LINT_REQUIREMENT" "$SAM_CLI_REQUIREMENT"
    echo "$wanted" >"$STAMP"
    say "installed in $((SECONDS - started))s"
}

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

mkdir -p target
# One install at a time: two runs at once would otherwise build the same venv over each other.
exec 9>"$LOCK_FILE"
flock 9
ensure_tools
exec 9>&-

# Dummies: botocore wants credentials and a region even for calls it never makes.
export AWS_ACCESS_KEY_ID=validate-template
export AWS_SECRET_ACCESS_KEY=validate-template
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export SAM_CLI_TELEMETRY=0

echo "== cfn-lint $TEMPLATE"
run_clean "$VENV/bin/cfn-lint" "$TEMPLATE"
echo "== sam validate --lint $TEMPLATE"
run_clean "$VENV/bin/sam" validate --lint --template "$TEMPLATE" --region us-east-1
echo "== sam deploy --guided prompts ($TEMPLATE)"
run_clean "$VENV/bin/python" infra/guided-deploy-prompts.py "$TEMPLATE"
echo "template: cfn-lint and sam validate --lint clean; guided deploy takes its defaults"
