#!/usr/bin/env bash
# The CUDA kernels as compiled (scripts/kernel_report.py): for every kernel,
# registers, stack, local and shared memory; for the recurrence families,
# the hot loop's instruction mix (FFMA, shared and global loads, barriers),
# FFMA per shared load and 64-bit divisions inside loops.
#
#   scripts/kernel_report.sh [--check] [--strict] [--json FILE] [BUILD_DIR]   (default build/)
#
# Needs a build with the CUDA backend, and cuobjdump and nvdisasm: from the
# toolkit where it has them, /opt/cudatools, else installed from PyPI into
# ${RNN_CUDA_TOOLS_DIR:-BUILD_DIR/cudatools} (nvidia-cuda-cuobjdump,
# nvidia-cuda-nvdisasm). Exit 77 when they cannot be had (ctest: skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --check|--strict) args+=("$1") ;;
    --json) args+=("$1" "${2:?--json needs a file}"); shift ;;
    *) build=$1 ;;
  esac
  shift
done
# Where the tools are: the toolkit, PATH, /opt/cudatools, or installed from
# PyPI into RNN_CUDA_TOOLS_DIR (default: BUILD_DIR/cudatools).
dir=${RNN_CUDA_TOOLS_DIR:-$build/cudatools}
find_bin() {
  local d
  for d in "${CUDA_TOOLS:-}" /usr/local/cuda/bin /opt/cudatools/nvidia/*/bin "$dir"/nvidia/*/bin; do
    if [ -n "$d" ] && [ -x "$d/cuobjdump" ] && [ -x "$d/nvdisasm" ]; then echo "$d"; return 0; fi
  done
  command -v cuobjdump >/dev/null 2>&1 && command -v nvdisasm >/dev/null 2>&1 && dirname "$(command -v nvdisasm)"
}
bin=$(find_bin || true)
if [ -z "$bin" ]; then
  echo "kernel_report: installing cuobjdump and nvdisasm into $dir (PyPI)"
  python3 -m pip install -q --disable-pip-version-check --target "$dir" nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm \
    >/dev/null 2>&1 || true
  bin=$(find_bin || true)
  if [ -z "$bin" ]; then
    echo "kernel_report: skipped: cuobjdump and nvdisasm are not here and could not be installed"
    exit 77
  fi
fi
CUDA_TOOLS=$bin exec python3 scripts/kernel_report.py "${args[@]}" "$build"
