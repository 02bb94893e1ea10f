#!/usr/bin/env bash
# Runs every test: installs what is missing, builds (CUDA too where nvcc
# is present), and runs the whole ctest suite (GPU tests skip, with the
# reason, on a machine without a GPU); the Python package's tests
# (scripts/test-python.sh: pip install . into a venv over Debian's PyTorch,
# then pytest); then the CPU suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer
# (scripts/sanitize.sh, build-san/), and each fuzz target for
# RNN_FUZZ_SECONDS seconds (default 45; scripts/fuzz.sh). Any failure,
# sanitizer report or fuzz finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --python
bash scripts/build.sh
ctest --test-dir build -j2 --output-on-failure --timeout 600
echo "---- the Python package (pip install ., pytest) ----"
RNN_PIP_ARGS="--config-settings=cmake.define.RNN_CUDA=OFF" bash scripts/test-python.sh
echo "---- the CPU suite under ASan + UBSan + LSan ----"
bash scripts/sanitize.sh
echo "---- fuzzing ----"
bash scripts/fuzz.sh "${RNN_FUZZ_SECONDS:-45}"
