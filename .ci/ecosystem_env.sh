#!/usr/bin/env bash
# Build the "ecosystem" virtual environment for the anomalib / torchvision integration tests:
# torch 2.14.1 + torchvision 0.29.1 + anomalib 2.7.0 (about 6.3 GB, ~2 min on 2 cores), then
# fastfreq into it (editable, with the dev extra). The main environment (torch 2.13.0 CPU, no
# torchvision) stays as it is; the tests that need anomalib are skipped there.
#
#   bash .ci/ecosystem_env.sh [DIR]      # default DIR: .ci/cache/ecosystem (git-ignored)
#   DIR/bin/python -m pytest -q tests/test_freq_cutpaste_module.py tests/test_anomalib_integration.py
#
# A DIR that a previous run completed with the same pins is reused (only fastfreq is
# reinstalled); anything else there is removed and built afresh. Nothing has to exist beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
ENV_DIR=${1:-.ci/cache/ecosystem}
PINS="torch==2.14.1 torchvision==0.29.1 anomalib==2.7.0"
STAMP="$ENV_DIR/.fastfreq-ecosystem-pins"

if [ -x "$ENV_DIR/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PINS" ] \
        && "$ENV_DIR/bin/python" -c "import anomalib, torchvision" 2>/dev/null; then
    echo "ecosystem env: reusing $ENV_DIR ($PINS)"
else
    echo "ecosystem env: building $ENV_DIR ($PINS)"
    rm -rf "$ENV_DIR"
    mkdir -p "$(dirname "$ENV_DIR")"
    python -m venv "$ENV_DIR"
    "$ENV_DIR/bin/python" -m pip install -q $PINS
    echo "$PINS" > "$STAMP"  # only once the install has succeeded
fi
"$ENV_DIR/bin/python" -m pip install -q -e ".[dev]"
# fastfreq's own requirement (torch>=2.1) must not have moved the pinned torch
"$ENV_DIR/bin/python" - <<'PY'
import torch, torchvision, anomalib, fastfreq
assert torch.__version__.startswith("2.14.1"), torch.__version__
print(f"ecosystem env: torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"anomalib {anomalib.__version__}, fastfreq {fastfreq.__version__} from {fastfreq.__file__}")
PY
