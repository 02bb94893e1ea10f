#!/usr/bin/env bash
# bench/device_check.sh: the one prepared check for a machine with a GPU.
#
#   1. builds for sm_90 (Release, CUDA ON) into build-device/
#   2. runs the whole ctest suite with the GPU tests live, and fails if a
#      GPU test skipped (it would mean the GPU was not used)
#   3. runs every parity case of tests/data/parity through `rnn run
#      --device cuda`, with each kernel, against PyTorch's outputs (1e-5)
#   4. runs compute-sanitizer memcheck, racecheck, initcheck and synccheck
#      over the GPU tests (the long-T cases left out to bound the time)
#   5. times both recurrence kernels (build-device/rnn_kernel_timing)
# and prints a short summary last. With $OUT set, full logs and
# results.json (date, GPU, commit, every figure) are written there.
# Budget: under 8 minutes on an H100/H200 with 16 cores.
#
# How to call it through the device tool: see bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/device-out}
mkdir -p "$out"
commit=${RNN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
jobs=$(nproc 2>/dev/null || echo 4)
declare -A status
summary=()
note() { summary+=("$1"); echo "== $1"; }

# ---- 0. the machine ----------------------------------------------------------
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || gpu="none found"
{ date -u; echo "commit $commit"; nvidia-smi 2>&1; nvcc --version 2>&1; cmake --version 2>&1 | head -1; } >"$out/env.txt"
note "gpu: $gpu; commit $commit"

# ---- 1. build ----------------------------------------------------------------
prefix=()
[ -d "$root/.deps/prefix" ] && prefix=(-DCMAKE_PREFIX_PATH="$root/.deps/prefix")
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
if cmake -S . -B build-device "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DRNN_CUDA=ON \
     -DCMAKE_CUDA_ARCHITECTURES=90 "${prefix[@]}" >"$out/build.log" 2>&1 &&
   cmake --build build-device -j"$jobs" >>"$out/build.log" 2>&1; then
  status[build]=pass
else
  status[build]=fail
  tail -30 "$out/build.log"
fi
note "build: ${status[build]}"

# ---- 2. tests ----------------------------------------------------------------
if [ "${status[build]}" = pass ]; then
  ctest --test-dir build-device -j8 --output-on-failure --timeout 600 >"$out/tests.log" 2>&1
  ctest_rc=$?
  # "97% tests passed, 5 tests failed out of 182"
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$out/tests.log" | tail -1)
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/'); failed=${failed:-0}
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/'); total=${total:-0}
  skipped=$(grep -E "^\s+[0-9]+ - .*\(Skipped\)" "$out/tests.log" | wc -l)
  passed=$((total - failed - skipped))
  build-device/tests/rnn_gpu_tests >"$out/gpu_tests.tmp" 2>&1
  gpu_skipped=$(grep -E "^\[  SKIPPED \] [0-9]+ tests?," "$out/gpu_tests.tmp" | grep -oE "[0-9]+" | head -1)
  { echo; echo "==== rnn_gpu_tests alone ===="; cat "$out/gpu_tests.tmp"; } >>"$out/tests.log"
  rm -f "$out/gpu_tests.tmp"
  gpu_skipped=${gpu_skipped:-0}
  if [ $ctest_rc -eq 0 ] && [ "$gpu_skipped" -eq 0 ]; then status[tests]=pass; else status[tests]=fail; fi
  grep -E "\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout" "$out/tests.log" | head -20
  note "tests: ${status[tests]} ($passed passed, $failed failed, $skipped skipped; GPU tests skipped: $gpu_skipped)"
else
  status[tests]=fail; passed=0; failed=0; skipped=0; gpu_skipped=0
  note "tests: not run (build failed)"
fi

# ---- 3. parity on the GPU ----------------------------------------------------
parity_pass=0; parity_fail=0
if [ "${status[build]}" = pass ]; then
  probe=$(build-device/rnn run --device cuda --model examples/data/model.safetensors \
          --input examples/data/x.npy 2>&1 >/dev/null)
  if echo "$probe" | grep -q "^rnn: error: --device: "; then
    status[parity]="refused: ${probe#rnn: error: --device: }"
  else
    for case in tests/data/parity/*/; do
      for kernel in stepwise persistent; do
        name="$(basename "$case") ($kernel)"
        args=(run --device cuda --kernel $kernel --model "$case/model.safetensors" --input "$case/x.npy"
              --output "$out/y.npy" --final-state "$out/hn.npy" $(cat "$case/args.txt"))
        [ -f "$case/h0.npy" ] && args+=(--h0 "$case/h0.npy")
        [ -f "$case/lengths.npy" ] && args+=(--lengths "$case/lengths.npy")
        rm -f "$out/y.npy" "$out/hn.npy"
        if build-device/rnn "${args[@]}" >>"$out/parity.log" 2>&1 &&
           python3 bench/compare_npy.py 1e-5 "$out/y.npy" "$case/expected_y.npy" "$out/hn.npy" \
                   "$case/expected_hn.npy" >>"$out/parity.log" 2>&1; then
          parity_pass=$((parity_pass + 1)); echo "PASS $name" >>"$out/parity.log"
        else
          parity_fail=$((parity_fail + 1)); echo "FAIL $name" >>"$out/parity.log"
        fi
      done
    done
    rm -f "$out/y.npy" "$out/hn.npy"
    if [ $parity_fail -eq 0 ]; then status[parity]=pass; else status[parity]=fail; fi
  fi
else
  status[parity]="not run"
fi
note "parity on cuda: ${status[parity]} ($parity_pass passed, $parity_fail failed)"

# ---- 4. compute-sanitizer ----------------------------------------------------
sanitizer_json=""
if [ "${status[build]}" = pass ] && command -v compute-sanitizer >/dev/null 2>&1; then
  for tool in memcheck racecheck initcheck synccheck; do
    echo "==== compute-sanitizer --tool $tool ====" >>"$out/sanitizers.log"
    if timeout 120 compute-sanitizer --tool $tool --error-exitcode 1 build-device/tests/rnn_gpu_tests \
         --gtest_filter='FillKernel.*:GpuPlan.*:GpuForward.*:-*long*' >>"$out/sanitizers.log" 2>&1; then
      r=clean
    else
      r=errors
    fi
    status[sanitizer_$tool]=$r
    sanitizer_json+="\"$tool\": \"$r\", "
    note "compute-sanitizer $tool: $r"
  done
else
  note "compute-sanitizer: not run"
fi

# ---- 5. a first timing of both kernels ---------------------------------------
if [ -x build-device/rnn_kernel_timing ]; then
  if timeout 180 build-device/rnn_kernel_timing --json "$out/timing.json" >"$out/timing.log" 2>&1; then
    status[bench]=ran
  else
    status[bench]=fail
  fi
  cat "$out/timing.log"
else
  status[bench]="not built"
fi
note "kernel timing: ${status[bench]}"

# ---- results -------------------------------------------------------------------
status[parity]=${status[parity]//\"/\'}
cat >"$out/results.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "gpu": "$gpu",
  "commit": "$commit",
  "build": "${status[build]}",
  "tests": {"status": "${status[tests]}", "passed": $passed, "failed": $failed, "skipped": $skipped, "gpu_tests_skipped": $gpu_skipped},
  "parity_cuda": {"status": "${status[parity]}", "passed": $parity_pass, "failed": $parity_fail},
  "sanitizers": {${sanitizer_json%, }},
  "kernel_timing": "${status[bench]}"
}
JSON
echo
echo "---- device check summary ----"
printf '%s\n' "${summary[@]}"
ok=1
[ "${status[build]}" = pass ] && [ "${status[tests]}" = pass ] || ok=0
case "${status[parity]}" in fail) ok=0 ;; esac
for t in memcheck racecheck initcheck synccheck; do [ "${status[sanitizer_$t]:-clean}" = clean ] || ok=0; done
[ $ok -eq 1 ] && echo "device check: PASS" || echo "device check: FAIL"
[ $ok -eq 1 ]
