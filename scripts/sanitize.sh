#!/usr/bin/env bash
# The CPU test suite built with Clang under AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (any report fails its test),
# into build-san/; the same build holds the libFuzzer targets that
# scripts/fuzz.sh runs. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DRNN_CUDA=OFF -DRNN_FUZZ=ON -DRNN_BUILD_EXAMPLES=OFF >build-san.log 2>&1 || {
  cat build-san.log
  exit 1
}
cmake --build build-san -j2 >>build-san.log 2>&1 || {
  tail -50 build-san.log
  exit 1
}
# Leaks are errors; the first report of any kind ends the process with an error.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-san -j2 --output-on-failure --timeout 900 "$@"
