# The SAM tooling both infra/validate-template.sh and infra/sam-build.sh run, pinned, in one virtualenv
# under target/sam-venv: installed from PyPI on first use, reused while the pins are unchanged. Sourced,
# not run; the caller defines `say`.

# cfn-lint from 1.54 on no longer runs the SAM translator, so it would lint the untransformed template.
readonly CFN_LINT_REQUIREMENT="cfn-lint==1.53.*"
readonly SAM_CLI_REQUIREMENT="aws-sam-cli==1.170.0"
# What `sam build` runs for the template's rust-cargolambda functions, and the linker it cross-compiles
# to arm64 with.
readonly CARGO_LAMBDA_REQUIREMENT="cargo-lambda==1.9.2"
readonly ZIG_REQUIREMENT="ziglang==0.13.0.post1"
readonly VENV="target/sam-venv"
readonly STAMP="$VENV/.requirements"
readonly LOCK_FILE="target/sam-venv.lock"

# Creates the virtualenv and installs the pinned tools, unless the venv already holds exactly them; one
# install at a time (two runs at once would build the same venv over each other).
ensure_tools() {
    local wanted="$CFN_LINT_REQUIREMENT $SAM_CLI_REQUIREMENT $CARGO_LAMBDA_REQUIREMENT $ZIG_REQUIREMENT"
    mkdir -p target
    exec 9>"$LOCK_FILE"
    flock 9
    if [[ ! -x "$VENV/bin/sam" || ! -x "$VENV/bin/cfn-lint" || "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]]; then
        say "installing $wanted into $VENV"
        local started=$SECONDS
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        # shellcheck disable=SC2086 # the requirements are words
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $wanted
        echo "$wanted" >"$STAMP"
        say "installed in $((SECONDS - started))s"
    fi
    exec 9>&-
}

# Dummies: botocore wants credentials and a region even for calls it never makes.
use_offline_aws() {
    export AWS_ACCESS_KEY_ID=sam-tools
    export AWS_SECRET_ACCESS_KEY=sam-tools
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_REGION=us-east-1
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
    export SAM_CLI_TELEMETRY=0
}
