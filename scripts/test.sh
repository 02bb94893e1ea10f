#!/usr/bin/env bash
# Runs every test: installs what is missing, builds (CUDA too where nvcc
# is present), and runs the whole ctest suite. GPU tests skip, with the
# reason, on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build -j2 --output-on-failure --timeout 600
