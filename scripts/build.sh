#!/usr/bin/env bash
# Configures and builds into build/ (the CLI lands at build/rnn). With nvcc
# present the CUDA backend is compiled for sm_90 as well.
# Extra arguments go to the CMake configure step.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
cuda=OFF
if command -v nvcc >/dev/null 2>&1; then cuda=ON; fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRNN_CUDA="$cuda" "$@" >build.log 2>&1 || {
  cat build.log
  exit 1
}
grep "rnn: CUDA backend" build.log || true
cmake --build build -j2 >>build.log 2>&1 || {
  tail -50 build.log
  exit 1
}
