#!/usr/bin/env bash
# The GPU device check (issue 12; docs/gpu.md, "Device check").
#
#   bash benchmarks/device_check.sh --prepare   here: download the wheels the device lacks into .whl/
#   bash benchmarks/device_check.sh --dry-run   here: check the plan without a GPU
#   bash benchmarks/device_check.sh             on the device machine (carry .whl): install, versions,
#                                               (a) GPU tests, (b) the whole suite, (c) GPU benchmarks
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
WHEELS=.whl
OUT_DIR=${OUT:-/tmp/fastfreq_device_out}
DEVICE_PY=${DEVICE_PY:-3.12}   # the device's python3 (another only for a rehearsal here)
ALLOW_NO_GPU=0
STAGES=gpu,suite,bench
# Seconds per stage (each can be set from the environment); together 420 s (7 min), so the
# device tool's `timeout_s: 480` holds the whole check.
BUDGET_INSTALL=${BUDGET_INSTALL:-30} BUDGET_VERSIONS=${BUDGET_VERSIONS:-20} BUDGET_GPU=${BUDGET_GPU:-100}
BUDGET_RAN=${BUDGET_RAN:-10} BUDGET_SUITE=${BUDGET_SUITE:-170} BUDGET_BENCH=${BUDGET_BENCH:-90}
GPU_TESTS=(tests/test_gpu_cuda.py tests/test_gpu_ptx.py tests/test_gpu_orchestration.py)
MUST_RUN=(tests/test_gpu_cuda.py tests/test_gpu_ptx.py)   # (a) fails if any of these was skipped
BENCH_FILE=benchmarks/test_bench_gpu.py

usage() {
    cat >&2 <<EOF
usage: bash benchmarks/device_check.sh [MODE] [OPTIONS]
modes:
  (none)            on the device machine: install the carried wheels and fastfreq, print versions,
                    run (a) the GPU tests, (b) the whole suite, (c) the GPU benchmarks; files to \$OUT
  --prepare         here: download the pinned wheels (benchmarks/device_wheels.txt) into the wheel folder
  --dry-run         here: check the wheel folder, the files to run, and print the commands
  --install         only install the carried wheels and fastfreq into \$PYTHON's environment
options:
  --wheels DIR      the wheel folder (default .whl)
  --out DIR         where results go (default \$OUT, else /tmp/fastfreq_device_out)
  --stages LIST     which of gpu,suite,bench to run (default all)
  --allow-no-gpu    a rehearsal on a machine without a GPU (do not fail for the missing GPU)
  -h, --help        this text
environment: PYTHON (default python3), DEVICE_PY (the device's Python, 3.12), BUDGET_<STAGE> (seconds)
EOF
}

# ----------------------------------------------------------------------------- here

helper() { "$PYTHON" benchmarks/device_check.py "$@"; }

prepare() {
    local pins tmp
    pins=$(helper pins) || return 1
    tmp=$(mktemp -d)
    echo "downloading for CPython $DEVICE_PY, manylinux x86_64:" $pins
    # shellcheck disable=SC2046,SC2086  (word splitting wanted: the flags and the pins)
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version "$DEVICE_PY" \
        --implementation cp $(printf -- '--platform manylinux_2_%s_x86_64 ' 35 34 31 28 27 24 17) \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$tmp" $pins || { rm -rf "$tmp"; return 1; }
    mkdir -p "$WHEELS" && rm -f "$WHEELS"/*.whl && mv "$tmp"/*.whl "$WHEELS"/ && rm -rf "$tmp"
    helper wheels "$WHEELS" --python "$DEVICE_PY"
}

dry_run() {
    local rc=0 f
    echo "== wheel folder $WHEELS"
    helper wheels "$WHEELS" --python "$DEVICE_PY" || rc=1
    echo "== files the check runs"
    for f in "${GPU_TESTS[@]}" "$BENCH_FILE" benchmarks/report.py setup.py; do
        [[ -f $f ]] && echo "  ok $f" || { echo "ERROR: $f is missing" >&2; rc=1; }
    done
    echo "== they collect here"
    collect || rc=1
    echo "== the device tool's call: command \"bash benchmarks/device_check.sh\", carry [\"$WHEELS\"], timeout_s 480"
    echo "== what it runs there (stage, budget; \$OUT is the tool's folder)"
    PYTHON=python3 OUT_DIR='$OUT' DRY=1 device_commands
    return $rc
}

# collect: the files of (a) and (c) collect without errors; how many tests each holds
collect() {
    local listing f
    if ! listing=$("$PYTHON" -m pytest --co -q -p no:cacheprovider --benchmark-only "${GPU_TESTS[@]}" \
        "$BENCH_FILE" 2>&1); then
        echo "$listing" | tail -20 >&2
        echo "ERROR: the files of the check do not collect" >&2
        return 1
    fi
    for f in "${GPU_TESTS[@]}" "$BENCH_FILE"; do
        echo "  $(grep -c "^$f::" <<<"$listing") tests in $f"
    done
}

# ----------------------------------------------------------------------------- on the device

install() {
    local wheels=() w
    for w in "$WHEELS"/*.whl; do [[ $w == */setuptools-* ]] || wheels+=("$w"); done
    ((${#wheels[@]})) || { echo "ERROR: no wheels in $WHEELS (carry it)" >&2; return 1; }
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "${wheels[@]}" || return 1
    if ! "$PYTHON" -c "import pkg_resources" 2>/dev/null; then   # pytorch_wavelets needs it (setuptools<81)
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "$WHEELS"/setuptools-*.whl || return 1
    fi
    # editable: setup.py maps kernels/ and models/ into the fastfreq package
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation -e . || return 1
    "$PYTHON" -c "import fastfreq.kernels, fastfreq.models, pywt, rocket_fft; print('installed:', fastfreq.__file__)"
}

declare -a NAMES=() CODES=() TIMES=() BUDGETS=()

# stage NAME BUDGET CMD...: run CMD under `timeout BUDGET`, record its exit status and time
stage() {
    local name=$1 budget=$2 start rc
    shift 2
    if [[ ${DRY:-0} == 1 ]]; then echo "  [$name, ${budget}s] $*"; return 0; fi
    echo; echo "======== $name (budget ${budget}s): $*"
    start=$SECONDS
    timeout -k 10 "$budget" "$@"
    rc=$?
    ((rc == 124 || rc == 137)) && echo "======== $name: out of time (${budget}s)"
    NAMES+=("$name") CODES+=("$rc") TIMES+=($((SECONDS - start))) BUDGETS+=("$budget")
    return $rc
}

wants() { [[ ",$STAGES," == *",$1,"* ]]; }

device_commands() {
    local pytest=("$PYTHON" -m pytest -q -rs -p no:cacheprovider) allow=()
    ((ALLOW_NO_GPU)) && allow=(--allow-no-gpu)
    stage install "$BUDGET_INSTALL" bash benchmarks/device_check.sh --install --wheels "$WHEELS" || return 1
    stage versions "$BUDGET_VERSIONS" "$PYTHON" benchmarks/device_check.py versions "${allow[@]}"
    if wants gpu; then
        stage gpu_tests "$BUDGET_GPU" "${pytest[@]}" "${GPU_TESTS[@]}" --junitxml="$OUT_DIR/junit_gpu.xml"
        ((ALLOW_NO_GPU)) || stage gpu_tests_ran "$BUDGET_RAN" "$PYTHON" benchmarks/device_check.py ran \
            "$OUT_DIR/junit_gpu.xml" "${MUST_RUN[@]}"
    fi
    wants suite && stage suite "$BUDGET_SUITE" "${pytest[@]}" --junitxml="$OUT_DIR/junit_suite.xml"
    wants bench && stage bench "$BUDGET_BENCH" "$PYTHON" benchmarks/report.py -k gpu \
        --json "$OUT_DIR/bench.json" --table "$OUT_DIR/bench_table.md" \
        --benchmark-max-time=0.3 --benchmark-warmup-iterations=10 --junitxml="$OUT_DIR/junit_bench.xml"
    return 0
}

summary() {
    local i failed=0
    for i in "${!CODES[@]}"; do ((CODES[i] == 0)) || failed=1; done
    {
        echo "stage            exit   seconds  budget"
        for i in "${!NAMES[@]}"; do
            printf '%-16s %4s %9s %7s\n' "${NAMES[$i]}" "${CODES[$i]}" "${TIMES[$i]}" "${BUDGETS[$i]}"
        done
        ((failed)) && echo "RESULT: FAILED" || echo "RESULT: all stages passed"
    } | tee "$OUT_DIR/summary.txt"
    return $failed
}

on_device() {
    local rc tee_pid
    mkdir -p "$OUT_DIR"
    exec > >(tee "$OUT_DIR/device_check.log") 2>&1
    tee_pid=$!
    unset NUMBA_ENABLE_CUDASIM   # the real CUDA target, never the simulator
    export PYTHON PYTHONUNBUFFERED=1
    echo "device check of $(git rev-parse --short HEAD 2>/dev/null || echo '?') at $(date -u +%FT%TZ)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
    # numba finds the carried TBB (tbb's libtbb.so.12) through the library path
    export LD_LIBRARY_PATH="$("$PYTHON" -c 'import sys; print(sys.prefix)')/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    device_commands
    summary
    rc=$?
    exec >&- 2>&-
    wait "$tee_pid"   # the log is complete before the tool collects $OUT
    return $rc
}

main() {
    local mode=device
    while (($#)); do
        case $1 in
            --prepare) mode=prepare ;;
            --dry-run) mode=dry_run ;;
            --install) mode=install ;;
            --wheels) [[ $# -ge 2 ]] || { usage; exit 2; }; WHEELS=$2; shift ;;
            --out) [[ $# -ge 2 ]] || { usage; exit 2; }; OUT_DIR=$2; shift ;;
            --stages) [[ $# -ge 2 ]] || { usage; exit 2; }; STAGES=$2; shift ;;
            --allow-no-gpu) ALLOW_NO_GPU=1 ;;
            -h | --help) usage; exit 0 ;;
            *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
        esac
        shift
    done
    [[ $STAGES =~ ^(gpu|suite|bench)(,(gpu|suite|bench))*$ ]] ||
        { echo "unknown stages: $STAGES" >&2; usage; exit 2; }
    case $mode in
        prepare) prepare ;;
        dry_run) dry_run ;;
        install) install ;;
        device) on_device ;;
    esac
}

main "$@"
