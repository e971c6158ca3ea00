#!/usr/bin/env bash
# Builds the functions as `sam build` does for `sam deploy` (cargo-lambda, arm64, release), then prints
# each function's zipped size as deployed beside the Lambda limit. Offline: no AWS account needed.
#
#   infra/sam-build.sh        # artifacts in target/sam-build
#
# The tools are pinned in infra/sam-tools.sh; the Rust target comes from rustup.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BUILD_DIR="target/sam-build"
readonly RUST_TARGET="aarch64-unknown-linux-gnu"

say() { echo "sam-build: $*" >&2; }

# shellcheck source=infra/sam-tools.sh
source infra/sam-tools.sh
ensure_tools
use_offline_aws

if ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
    say "adding the Rust target $RUST_TARGET"
    rustup target add "$RUST_TARGET"
fi

# cargo-lambda and zig from the venv; sam calls `cargo lambda build --release --arm64`.
export PATH="$PWD/$VENV/bin:$PATH"
started=$SECONDS
"$VENV/bin/sam" build --build-dir "$BUILD_DIR" >"$BUILD_DIR.log" 2>&1 || {
    cat "$BUILD_DIR.log"
    say "sam build failed"
    exit 1
}
say "sam build took $((SECONDS - started)) s"

# What `sam deploy` uploads: each function's folder, zipped (deflate, as SAM's packager does).
"$VENV/bin/python" - "$BUILD_DIR" <<'PY'
import io, os, sys, zipfile
build = sys.argv[1]
LIMIT = 50 * 1024 * 1024  # Lambda's zipped direct-upload limit
TARGET = 5e6  # tandem's own target for a function's package (a smaller one starts faster)
for function in sorted(os.listdir(build)):
    folder = os.path.join(build, function)
    if not os.path.isdir(folder):
        continue
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                archive.write(path, os.path.relpath(path, folder))
    size = len(buffer.getvalue())
    verdict = "met" if size <= TARGET else "over"
    print(
        f"{function}: {size / 1e6:.1f} MB zipped (arm64, as deployed), target <= {TARGET / 1e6:.0f} MB: "
        f"{size / TARGET:.2f}x ({verdict}); Lambda allows {LIMIT // 2**20} MiB"
    )
PY
