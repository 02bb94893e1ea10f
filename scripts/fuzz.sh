#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz: safetensors, npy, cli, bench, text) for a
# bounded time (as many at once as there are cores), seeded from the
# committed corpus, with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer. Fails on any finding: the
# input that triggered it is left in build-san/fuzz/<target>/ (crash-*,
# leak-*, oom-*, timeout-*); add it to tests/fuzz/regressions/<target>/
# once fixed, so that ctest replays it forever.
#
#   scripts/fuzz.sh [SECONDS per target, default 60] [TARGET ...]
# Builds build-san/ first (scripts/sanitize.sh's build) when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors npy cli bench text)
if [ ! -f build-san/CMakeCache.txt ]; then
  cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DRNN_CUDA=OFF -DRNN_FUZZ=ON -DRNN_BUILD_EXAMPLES=OFF >build-san.log 2>&1 || { cat build-san.log; exit 1; }
fi
for t in "${targets[@]}"; do
  cmake --build build-san -j2 --target "fuzz_$t" >>build-san.log 2>&1 || { tail -50 build-san.log; exit 1; }
done
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One target: writes its one-line verdict to $work/verdict.txt.
fuzz_one() {
  local t=$1 work="build-san/fuzz/$1"
  mkdir -p "$work/corpus"
  # New inputs go to the scratch corpus (first folder); the committed one is read only.
  # -malloc_limit_mb: any single allocation above 512 MB from these small
  # inputs is a finding (sizes must be checked before allocating).
  if build-san/tests/fuzz/fuzz_"$t" "$work/corpus" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
      -dict="tests/fuzz/dict/$t.dict" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -malloc_limit_mb=512 -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/" \
      >"$work/log.txt" 2>&1; then
    echo "fuzz $t: ${seconds}s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$') runs, no finding" >"$work/verdict.txt"
  else
    {
      echo "fuzz $t: FAILED (see $work/log.txt):"
      if grep -qE "ERROR|SUMMARY|Test unit written" "$work/log.txt"; then
        grep -E "ERROR|SUMMARY|Test unit written" "$work/log.txt" | head -5
      else
        tail -3 "$work/log.txt"  # not a finding: libFuzzer itself refused to run
      fi
    } >"$work/verdict.txt"
  fi
}

# As many targets at once as there are cores (RNN_FUZZ_JOBS to change it).
max_jobs=${RNN_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
for t in "${targets[@]}"; do
  rm -f "build-san/fuzz/$t/verdict.txt"
  fuzz_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n || true; done
done
wait
status=0
for t in "${targets[@]}"; do
  verdict="build-san/fuzz/$t/verdict.txt"
  if [ -f "$verdict" ]; then cat "$verdict"; else echo "fuzz $t: FAILED (no verdict)"; fi
  grep -q "no finding" "$verdict" 2>/dev/null || status=1
done
exit $status
