#!/usr/bin/env bash
# bench/device_check.sh: the one prepared check for a machine with a GPU.
#
#   1. builds for sm_90 (Release, CUDA ON, cuDNN baseline) into build-device/
#   2. runs the whole ctest suite with the GPU tests live, and fails if a
#      GPU test skipped (it would mean the GPU was not used)
#   3. runs every parity case of tests/data/parity through `rnn run
#      --device cuda`, with each kernel, against PyTorch's outputs (1e-5);
#      trains the "hello" model on the GPU and samples it greedily there, and
#      trains on the GPL with the README's settings (val_bpc recorded); times
#      the README's task examples (150 updates each) on the GPU and the CPU
#   4. runs compute-sanitizer memcheck, racecheck, initcheck and synccheck
#      over the GPU forward and backward tests (long-T and large-H cases left
#      out to bound the time)
#   5. runs `rnn bench` on the default grid against cuDNN, torch.nn.RNN on
#      the same shapes (bench/compare_torch.py), and plots (bench/plot.py)
# and prints a short summary last. With $OUT set, at most 8 files land there:
#   results.json  summary: date, GPU, commit, every status and count
#   logs.txt      environment, build, tests, parity, sanitizers, in sections
#   bench.json, bench.csv, bench.txt (our table, then PyTorch's), torch.json,
#   time_per_step.png, ratio_to_cudnn.png
# Budget: under 8 minutes on an H100/H200 with 16 cores.
#
# How to call it through the device tool: see bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/device-out}
mkdir -p "$out"
log="$out/logs.txt"
: >"$log"
commit=${RNN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
jobs=$(nproc 2>/dev/null || echo 4)
declare -A status
summary=()
note() { summary+=("$1"); echo "== $1"; }
section() { printf '\n==================== %s ====================\n' "$1" >>"$log"; }
py=python3
[ -x /usr/bin/python3 ] && ! python3 -c "import torch" 2>/dev/null && py="/usr/bin/python3 -s"

# ---- 0. the machine ----------------------------------------------------------
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || gpu="none found"
section environment
{ date -u; echo "commit $commit"; nvidia-smi 2>&1; nvcc --version 2>&1; cmake --version 2>&1 | head -1; } >>"$log"
note "gpu: $gpu; commit $commit"

# ---- 1. build ----------------------------------------------------------------
opts=(-DCMAKE_BUILD_TYPE=Release -DRNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
[ -d "$root/.deps/prefix" ] && opts+=(-DCMAKE_PREFIX_PATH="$root/.deps/prefix")
command -v ninja >/dev/null 2>&1 && opts+=(-G Ninja)
# cuDNN: the toolkit's own, else the one PyTorch ships (pip nvidia-cudnn).
if [ ! -e /usr/local/cuda/include/cudnn.h ]; then
  cudnn=$($py -c "import nvidia.cudnn as c; print(list(c.__path__)[0])" 2>/dev/null)
  if [ -n "$cudnn" ]; then
    opts+=(-DCUDNN_ROOT="$cudnn")
    export LD_LIBRARY_PATH="$cudnn/lib:${LD_LIBRARY_PATH:-}"
  fi
fi
section build
if cmake -S . -B build-device "${opts[@]}" >>"$log" 2>&1 && cmake --build build-device -j"$jobs" >>"$log" 2>&1; then
  status[build]=pass
else
  status[build]=fail
  tail -30 "$log"
fi
note "build: ${status[build]}$(grep -q 'cuDNN baseline ON' "$log" && echo ', with cuDNN' || echo ', WITHOUT cuDNN')"

# ---- 2. tests ----------------------------------------------------------------
passed=0; failed=0; skipped=0; gpu_skipped=0; status[tests]=fail
if [ "${status[build]}" = pass ]; then
  section tests
  ctest --test-dir build-device -j8 --output-on-failure --timeout 600 >"$out/ctest.tmp" 2>&1
  ctest_rc=$?
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$out/ctest.tmp" | tail -1)
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/'); failed=${failed:-0}
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/'); total=${total:-0}
  skipped=$(grep -E "^\s+[0-9]+ - .*\(Skipped\)" "$out/ctest.tmp" | wc -l)
  passed=$((total - failed - skipped))
  build-device/tests/rnn_gpu_tests >"$out/gpu.tmp" 2>&1
  gpu_skipped=$(grep -E "^\[  SKIPPED \] [0-9]+ tests?," "$out/gpu.tmp" | grep -oE "[0-9]+" | head -1)
  gpu_skipped=${gpu_skipped:-0}
  { cat "$out/ctest.tmp"; echo "---- rnn_gpu_tests alone ----"; cat "$out/gpu.tmp"; } >>"$log"
  rm -f "$out/ctest.tmp" "$out/gpu.tmp"
  if [ $ctest_rc -eq 0 ] && [ "$gpu_skipped" -eq 0 ]; then status[tests]=pass; fi
  grep -E "\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout" "$log" | head -20
fi
note "tests: ${status[tests]} ($passed passed, $failed failed, $skipped skipped; GPU tests skipped: $gpu_skipped)"

# ---- 3. parity on the GPU ----------------------------------------------------
parity_pass=0; parity_fail=0; status[parity]="not run"
if [ "${status[build]}" = pass ]; then
  section "parity on cuda"
  tmp=$(mktemp -d)
  for case in tests/data/parity/*/; do
    for kernel in stepwise persistent; do
      name="$(basename "$case") ($kernel)"
      args=(run --device cuda --kernel $kernel --model "$case/model.safetensors" --input "$case/x.npy"
            --output "$tmp/y.npy" --final-state "$tmp/hn.npy" $(cat "$case/args.txt"))
      [ -f "$case/h0.npy" ] && args+=(--h0 "$case/h0.npy")
      [ -f "$case/lengths.npy" ] && args+=(--lengths "$case/lengths.npy")
      rm -f "$tmp/y.npy" "$tmp/hn.npy"
      if build-device/rnn "${args[@]}" >>"$log" 2>&1 &&
         $py bench/compare_npy.py 1e-5 "$tmp/y.npy" "$case/expected_y.npy" "$tmp/hn.npy" \
             "$case/expected_hn.npy" >>"$log" 2>&1; then
        parity_pass=$((parity_pass + 1)); echo "PASS $name" >>"$log"
      else
        parity_fail=$((parity_fail + 1)); echo "FAIL $name" >>"$log"
      fi
    done
  done
  rm -rf "$tmp"
  if [ $parity_fail -eq 0 ] && [ $parity_pass -gt 0 ]; then status[parity]=pass; else status[parity]=fail; fi
fi
note "parity on cuda: ${status[parity]} ($parity_pass passed, $parity_fail failed)"

# ---- 3b. training and sampling on the GPU -------------------------------------
status[train]="not run"; gpl_bpc=""
if [ "${status[build]}" = pass ]; then
  section "training on the GPU"
  tmp=$(mktemp -d)
  build-device/rnn train-char --string hello --out "$tmp/hello.safetensors" --device cuda >>"$log" 2>&1
  said=$(build-device/rnn sample --model "$tmp/hello.safetensors" --prime h --length 4 --temperature 0 --device cuda 2>>"$log")
  echo "greedy sample on the GPU: $said" >>"$log"
  if [ "$said" = hello ]; then status[train]=pass; else status[train]="fail (sampled '$said')"; fi
  if [ -f /usr/share/common-licenses/GPL-3 ]; then
    start=$(date +%s)
    gpl_bpc=$(timeout 150 build-device/rnn train-char --text /usr/share/common-licenses/GPL-3 --hidden 128 --steps 1200 \
                --batch 16 --seq-len 64 --lr 0.003 --device cuda 2>>"$log" | tee -a "$log" | sed -n 's/^val_bpc=//p')
    echo "GPL-3 on the GPU: val_bpc=$gpl_bpc in $(( $(date +%s) - start )) s" >>"$log"
  fi
  rm -rf "$tmp"
fi
note "training on the GPU: ${status[train]}${gpl_bpc:+; GPL-3 val_bpc $gpl_bpc}"

# ---- 3c. the tasks of "What RNNs are for": the GPU against the CPU -----------
# The README's example commands, shortened to 150 updates, once with
# --device cpu and once with --device cuda; wall time, exit status and
# metric of each (at most 45 s a run, under 5 minutes in all). The numbers
# data is generated here; the language-identification and truecasing data
# come from Debian packages, so they run only when out/langid and
# out/truecase travelled with the checkout (carry them).
tasks_json=""
if [ "${status[build]}" = pass ]; then
  section "tasks: GPU against CPU"
  tmp=$(mktemp -d)
  $py examples/numbers/make_data.py "$tmp/numbers" >>"$log" 2>&1
  task_cmd() {  # name -> the command's arguments (without --device)
    case $1 in
      numbers) echo train-seq2seq --train "$tmp/numbers/train.tsv" --test "$tmp/numbers/test.tsv" \
                 --hidden 64 --steps 150 --lr 0.005 --reverse-source ;;
      langid) echo train-classify --train out/langid/train.tsv --test out/langid/test.tsv \
                --hidden 64 --bidirectional --batch 32 --steps 150 --lr 0.005 ;;
      truecase) echo train-tag --train out/truecase/train.tsv --test out/truecase/test.tsv \
                  --hidden 64 --bidirectional --batch 32 --steps 150 --lr 0.005 ;;
    esac
  }
  for task in numbers langid truecase; do
    [ "$task" = numbers ] || [ -f "out/$task/train.tsv" ] || { echo "$task: no data carried" >>"$log"; continue; }
    entry="\"$task\": {"
    for dev in cpu cuda; do
      start=$(date +%s.%N)
      timeout 45 build-device/rnn $(task_cmd $task) --device $dev >"$tmp/task.out" 2>>"$log"
      rc=$?
      secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
      metric=$(tail -1 "$tmp/task.out")
      [ $rc -eq 0 ] || metric="FAILED (exit $rc)"
      echo "$task on $dev: ${secs}s, $metric" >>"$log"
      entry+="\"${dev}_s\": \"$secs\", \"${dev}_result\": \"$metric\", "
    done
    tasks_json+="${entry%, }}, "
    note "task $task (150 updates): $(grep -E "^$task on" "$log" | tail -2 | tr '\n' ';')"
  done
  rm -rf "$tmp"
fi

# ---- 4. compute-sanitizer ----------------------------------------------------
sanitizer_json=""
if [ "${status[build]}" = pass ] && command -v compute-sanitizer >/dev/null 2>&1; then
  section compute-sanitizer
  for tool in memcheck racecheck initcheck synccheck; do
    echo "---- --tool $tool ----" >>"$log"
    if timeout 90 compute-sanitizer --tool $tool --error-exitcode 1 build-device/tests/rnn_gpu_tests \
         --gtest_filter='FillKernel.*:GpuPlan.*:GpuForward.*:GpuBackward.*:-*long*:*H1024*:*H2048*:*H512*:*H257*' >>"$log" 2>&1; then
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

# ---- 5. benchmark against cuDNN and PyTorch ---------------------------------
status[bench]="not run"; status[torch]="not run"
if [ "${status[build]}" = pass ]; then
  timeout 200 build-device/rnn bench --device cuda --runs 10 --json "$out/bench.json" --csv "$out/bench.csv" \
    >"$out/bench.txt" 2>>"$log"
  case $? in 0) status[bench]=ran ;; 3) status[bench]="ran: MISMATCH with cuDNN" ;; *) status[bench]=fail ;; esac
  if [ -f "$out/bench.json" ]; then
    { echo; echo "---- torch.nn.RNN on the same shapes ----"; } >>"$out/bench.txt"
    if timeout 150 $py bench/compare_torch.py --bench "$out/bench.json" --runs 10 --json "$out/torch.json" \
         >>"$out/bench.txt" 2>>"$log"; then
      status[torch]=ran
    else
      status[torch]=fail
    fi
    $py bench/plot.py "$out/bench.json" "$out" >>"$log" 2>&1 || echo "plot.py failed" >>"$log"
  fi
  cat "$out/bench.txt"
fi
note "benchmark: ${status[bench]}; pytorch: ${status[torch]}"

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
  "training_cuda": {"hello": "${status[train]//\"/\'}", "gpl3_val_bpc": "$gpl_bpc"},
  "tasks_gpu_vs_cpu": {${tasks_json%, }},
  "sanitizers": {${sanitizer_json%, }},
  "benchmark": "${status[bench]}",
  "pytorch": "${status[torch]}"
}
JSON
echo
echo "---- device check summary ----"
printf '%s\n' "${summary[@]}"
ok=1
[ "${status[build]}" = pass ] && [ "${status[tests]}" = pass ] && [ "${status[parity]}" = pass ] || ok=0
[ "${status[train]}" = pass ] || ok=0
case "$tasks_json" in *FAILED*) ok=0 ;; esac
for t in memcheck racecheck initcheck synccheck; do [ "${status[sanitizer_$t]:-missing}" = clean ] || ok=0; done
[ "${status[bench]}" = ran ] || ok=0
[ $ok -eq 1 ] && echo "device check: PASS" || echo "device check: FAIL"
[ $ok -eq 1 ]
