#!/usr/bin/env bash
# bench/device_check.sh: the one prepared check for a machine with a GPU.
#
# Sections, in this order (most important first):
#   build      configure for sm_90 (Release, CUDA ON, cuDNN baseline) into
#              build-device/ and build the CLI and the GPU tests
#   gpu-tests  the GPU test binary (every kernel against the CPU reference,
#              determinism, threads, training, stepping); fails if a test
#              fails or skips (a skip means the GPU was not used)
#   parity     every parity case of tests/data/parity through `rnn run
#              --device cuda`, with each kernel, against PyTorch (1e-5)
#   train      the "hello" model trained and sampled greedily on the GPU, and
#              the GPL-3 run with the README's settings (val_bpc recorded)
#   memcheck   compute-sanitizer memcheck over the GPU forward and backward
#              tests (long-T and large-H cases left out to bound the time)
#   bench      `rnn bench` on the default grid against cuDNN
#   tasks      the README's task examples, 150 updates each, on the CPU and
#              on the GPU (wall time, metric)
#   racecheck, initcheck, synccheck   compute-sanitizer, as memcheck
#   torch      torch.nn.RNN on the bench's shapes (bench/compare_torch.py)
#              and the plots (bench/plot.py)
#   cpu-tests  the rest of the build and the whole ctest suite
#
# Time: the check keeps to RNN_CHECK_SECONDS (default 330) of wall time.
# Every step runs under a timeout that ends before that deadline; a section
# that no longer fits is skipped and recorded as "skipped: out of time" (the
# check then says INCOMPLETE). A GPU kernel that hangs costs its step's
# timeout, not the whole lease. RNN_CHECK_ONLY="parity bench" runs only the
# sections named (build is implied: an up-to-date build-device/ is reused).
#
# Output ($OUT, else device-out/; at most 8 files):
#   results.json  date, GPU, commit, every section's status and figures;
#                 rewritten after each section, so a run cut short still
#                 leaves its record
#   logs.txt      environment, build, tests, parity, sanitizers, in sections,
#                 written as they run
#   bench.json, bench.csv, bench.txt (our table, then PyTorch's), torch.json,
#   time_per_step.png, ratio_to_cudnn.png
# The summary is printed last.
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
budget=${RNN_CHECK_SECONDS:-330}
only=${RNN_CHECK_ONLY:-}
t0=$(date +%s)
py=python3
[ -x /usr/bin/python3 ] && ! python3 -c "import torch" 2>/dev/null && py="/usr/bin/python3 -s"

# ---- bookkeeping ---------------------------------------------------------------
sections=(build gpu-tests parity train memcheck bench tasks racecheck initcheck synccheck torch cpu-tests)
declare -A status detail
for s in "${sections[@]}"; do status[$s]="not run"; detail[$s]=""; done
summary=()
elapsed() { echo $(( $(date +%s) - t0 )); }
# cap N: the seconds a step may take: N, or less where the deadline is nearer
# (10 s kept for the record); 0 when under 10 s would be left.
cap() {
  local l=$(( budget - $(elapsed) - 10 ))
  (( l > $1 )) && l=$1
  (( l < 10 )) && l=0
  echo "$l"
}
asked() { [ -z "$only" ] || [ "$1" = build ] || [[ " $only " == *" $1 "* ]]; }
# begin SECTION MIN_SECONDS: whether the section runs now (asked, built, and
# at least MIN_SECONDS left); records why not otherwise.
begin() {
  if ! asked "$1"; then status[$1]="not asked"; return 1; fi
  if [ "$1" != build ] && [ "${status[build]}" != pass ]; then status[$1]="not run: no build"; return 1; fi
  if [ "$(cap "$2")" -lt "$2" ]; then
    status[$1]="skipped: out of time"; note "$1: skipped, out of time ($(elapsed) s of $budget)"; return 1
  fi
  printf '\n==================== %s (at %s s) ====================\n' "$1" "$(elapsed)" >>"$log"
  return 0
}
note() { summary+=("$1"); echo "== $1"; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "${s//$'\n'/ }"; }
write_results() {
  {
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"gpu\": $(jstr "$gpu"),"
    echo "  \"commit\": $(jstr "$commit"),"
    echo "  \"elapsed_s\": $(elapsed), \"budget_s\": $budget,"
    echo "  \"sections\": {"
    local first=1
    for s in "${sections[@]}"; do
      [ $first -eq 1 ] || echo ","
      first=0
      printf '    %s: {"status": %s' "$(jstr "$s")" "$(jstr "${status[$s]}")"
      [ -n "${detail[$s]}" ] && printf ', %s' "${detail[$s]}"
      printf '}'
    done
    echo
    echo "  }"
    echo "}"
  } >"$out/results.json"
}
# run_logged SECONDS CMD...: runs CMD under a timeout, output to the log;
# returns CMD's status (124 on timeout, 125 when no time was left).
run_logged() {
  local t=$1; shift
  [ "$t" -gt 0 ] || { echo "(no time left for: $*)" >>"$log"; return 125; }
  timeout -k 5 "$t" "$@" >>"$log" 2>&1
}

# ---- the machine ---------------------------------------------------------------
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || gpu="none found"
printf '==================== environment ====================\n' >>"$log"
{ date -u; echo "commit $commit; budget $budget s; sections: ${only:-all}"; nvidia-smi 2>&1
  nvcc --version 2>&1; cmake --version 2>&1 | head -1; } >>"$log"
note "gpu: $gpu; commit $commit"
write_results

# ---- build -----------------------------------------------------------------------
if begin build 60; then
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
  if run_logged "$(cap 240)" cmake -S . -B build-device "${opts[@]}" &&
     run_logged "$(cap 240)" cmake --build build-device -j"$jobs" --target rnn rnn_gpu_tests; then
    status[build]=pass
  else
    status[build]=fail
    tail -30 "$log"
  fi
  grep -q 'cuDNN baseline ON' "$log" && cudnn_on=true || cudnn_on=false
  detail[build]="\"cudnn\": $cudnn_on, \"seconds\": $(elapsed)"
  note "build: ${status[build]} ($(elapsed) s)$($cudnn_on && echo ', with cuDNN' || echo ', WITHOUT cuDNN')"
fi
write_results

# ---- GPU tests -----------------------------------------------------------------
if begin gpu-tests 40; then
  # One process per test suite: a sticky CUDA fault (an out-of-bounds write,
  # say) then fails its own suite, not every test after it.
  start=$(elapsed)
  gt="$out/gpu.tmp"
  : >"$gt"
  rc=0; stopped=""
  for suite in $(build-device/tests/rnn_gpu_tests --gtest_list_tests 2>/dev/null | grep -E '^[^ ]' | sed 's/\.$//'); do
    t=$(cap 150)
    [ "$t" -gt 0 ] || { stopped="out of time before $suite"; rc=125; break; }
    timeout -k 5 "$t" build-device/tests/rnn_gpu_tests --gtest_color=no --gtest_filter="$suite.*" >>"$gt" 2>&1
    r=$?
    if [ $r -eq 124 ] || [ $r -eq 137 ]; then
      stopped="timed out in $(grep -E '^\[ RUN +\]' "$gt" | tail -1 | sed -E 's/^\[ RUN +\] //')"; rc=$r; break
    fi
    [ $r -eq 0 ] || rc=$r
  done
  cat "$gt" >>"$log"
  count() { awk -v w="$1" '$1 == "[" && $2 == w && $4 ~ /^[0-9]+$/ && $5 ~ /^tests?/ { n += $4 } END { print n + 0 }' "$gt"; }
  p=$(count PASSED); f=$(count FAILED); k=$(count SKIPPED)
  nogpu=$(grep -c "no usable CUDA device" "$gt")
  if [ -n "$stopped" ]; then
    status[gpu-tests]="fail: $stopped"
  elif [ "$nogpu" -gt 0 ]; then
    status[gpu-tests]="fail: $nogpu skipped for want of a GPU (the GPU was not used)"
  elif [ $rc -eq 0 ] && [ "$p" -gt 0 ]; then
    status[gpu-tests]=pass
  else
    status[gpu-tests]="fail (exit $rc)"
  fi
  grep -E "^\[  FAILED  \] [A-Za-z]" "$gt" | sort -u | head -20
  rm -f "$gt"
  detail[gpu-tests]="\"passed\": $p, \"failed\": $f, \"skipped\": $k, \"skipped_no_gpu\": $nogpu, \"seconds\": $(( $(elapsed) - start ))"
  note "gpu tests: ${status[gpu-tests]} ($p passed, $f failed, $k skipped: $nogpu for want of a GPU)"
fi
write_results

# ---- parity through the CLI on the GPU ----------------------------------------
if begin parity 20; then
  pp=0; pf=0
  tmp=$(mktemp -d)
  for case in tests/data/parity/*/; do
    for kernel in stepwise persistent; do
      name="$(basename "$case") ($kernel)"
      args=(run --device cuda --kernel $kernel --model "$case/model.safetensors" --input "$case/x.npy"
            --output "$tmp/y.npy" --final-state "$tmp/hn.npy" $(cat "$case/args.txt"))
      [ -f "$case/h0.npy" ] && args+=(--h0 "$case/h0.npy")
      [ -f "$case/lengths.npy" ] && args+=(--lengths "$case/lengths.npy")
      rm -f "$tmp/y.npy" "$tmp/hn.npy"
      if run_logged "$(cap 30)" build-device/rnn "${args[@]}" &&
         run_logged "$(cap 30)" $py bench/compare_npy.py 1e-5 "$tmp/y.npy" "$case/expected_y.npy" \
           "$tmp/hn.npy" "$case/expected_hn.npy"; then
        pp=$((pp + 1)); echo "PASS $name" >>"$log"
      else
        pf=$((pf + 1)); echo "FAIL $name" >>"$log"
      fi
    done
  done
  rm -rf "$tmp"
  if [ $pf -eq 0 ] && [ $pp -gt 0 ]; then status[parity]=pass; else status[parity]=fail; fi
  detail[parity]="\"passed\": $pp, \"failed\": $pf"
  note "parity on cuda: ${status[parity]} ($pp passed, $pf failed)"
fi
write_results

# ---- training and sampling on the GPU -----------------------------------------
if begin train 30; then
  tmp=$(mktemp -d)
  run_logged "$(cap 60)" build-device/rnn train-char --string hello --out "$tmp/hello.safetensors" --device cuda
  said=$(timeout -k 5 "$(cap 30)" build-device/rnn sample --model "$tmp/hello.safetensors" --prime h --length 4 \
           --temperature 0 --device cuda 2>>"$log")
  echo "greedy sample on the GPU: $said" >>"$log"
  if [ "$said" = hello ]; then status[train]=pass; else status[train]="fail: sampled '$said'"; fi
  bpc=""; secs=""
  if [ -f /usr/share/common-licenses/GPL-3 ] && [ "$(cap 60)" -ge 20 ]; then
    start=$(elapsed)
    bpc=$(timeout -k 5 "$(cap 60)" build-device/rnn train-char --text /usr/share/common-licenses/GPL-3 --hidden 128 \
            --steps 1200 --batch 16 --seq-len 64 --lr 0.003 --device cuda 2>>"$log" | tee -a "$log" | sed -n 's/^val_bpc=//p')
    secs=$(( $(elapsed) - start ))
    echo "GPL-3 on the GPU: val_bpc=$bpc in $secs s" >>"$log"
  fi
  rm -rf "$tmp"
  detail[train]="\"hello_sample\": $(jstr "$said"), \"gpl3_val_bpc\": $(jstr "$bpc"), \"gpl3_seconds\": $(jstr "$secs")"
  note "training on the GPU: ${status[train]}${bpc:+; GPL-3 val_bpc $bpc in $secs s}"
fi
write_results

# ---- compute-sanitizer ---------------------------------------------------------
sanitize() {  # tool
  if ! command -v compute-sanitizer >/dev/null 2>&1; then status[$1]="not run: no compute-sanitizer"; return; fi
  echo "---- compute-sanitizer --tool $1 ----" >>"$log"
  if run_logged "$(cap 90)" compute-sanitizer --tool "$1" --error-exitcode 1 build-device/tests/rnn_gpu_tests \
       --gtest_color=no \
       --gtest_filter='FillKernel.*:GpuPlan.*:*GpuForward.*:*GpuBackward.*:-*long*:*H1024*:*H2048*:*H512*:*H257*:*B70*:*H1536*'; then
    status[$1]=clean
  else
    rc=$?
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && status[$1]="fail: timed out" || status[$1]="fail: errors (exit $rc)"
  fi
  note "compute-sanitizer $1: ${status[$1]}"
}
if begin memcheck 45; then sanitize memcheck; fi
write_results

# ---- benchmark against cuDNN ---------------------------------------------------
if begin bench 40; then
  timeout -k 5 "$(cap 150)" build-device/rnn bench --device cuda --runs 10 --json "$out/bench.json" \
    --csv "$out/bench.csv" >"$out/bench.txt" 2>>"$log"
  case $? in
    0) status[bench]=pass ;;
    3) status[bench]="fail: MISMATCH with cuDNN" ;;
    124|137) status[bench]="fail: timed out" ;;
    *) status[bench]=fail ;;
  esac
  cat "$out/bench.txt"
  note "benchmark: ${status[bench]}"
fi
write_results

# ---- the tasks of "What RNNs are for": the GPU against the CPU -----------------
# The README's example commands, shortened to 150 updates, with --device cpu
# and --device cuda. The numbers data is generated here; the language-
# identification and truecasing data come from Debian packages, so those run
# only when out/langid and out/truecase travelled with the checkout (carry).
if begin tasks 40; then
  tmp=$(mktemp -d)
  run_logged 30 $py examples/numbers/make_data.py "$tmp/numbers"
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
  status[tasks]=pass; entries=""
  for task in numbers langid truecase; do
    [ "$task" = numbers ] || [ -f "out/$task/train.tsv" ] || { echo "$task: no data carried" >>"$log"; continue; }
    entry="$(jstr "$task"): {"
    for dev in cpu cuda; do
      t=$(cap 45)
      [ "$t" -ge 10 ] || { status[tasks]="skipped in part: out of time"; continue; }
      start=$(date +%s.%N)
      timeout -k 5 "$t" build-device/rnn $(task_cmd $task) --device $dev >"$tmp/task.out" 2>>"$log"
      rc=$?
      secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
      metric=$(tail -1 "$tmp/task.out")
      if [ $rc -ne 0 ]; then metric="FAILED (exit $rc)"; status[tasks]="fail: $task on $dev"; fi
      echo "$task on $dev: ${secs}s, $metric" >>"$log"
      entry+="\"${dev}_s\": $secs, \"${dev}_result\": $(jstr "$metric"), "
    done
    entries+="${entry%, }}, "
    note "task $task (150 updates): $(grep -E "^$task on" "$log" | tail -2 | tr '\n' ';')"
  done
  detail[tasks]="\"runs\": {${entries%, }}"
  rm -rf "$tmp"
fi
write_results

for tool in racecheck initcheck synccheck; do
  if begin $tool 45; then sanitize $tool; fi
  write_results
done

# ---- torch.nn.RNN on the same shapes, and the plots -----------------------------
if begin torch 40; then
  if [ -f "$out/bench.json" ]; then
    { echo; echo "---- torch.nn.RNN on the same shapes ----"; } >>"$out/bench.txt"
    if timeout -k 5 "$(cap 150)" $py bench/compare_torch.py --bench "$out/bench.json" --runs 10 \
         --json "$out/torch.json" >>"$out/bench.txt" 2>>"$log"; then
      status[torch]=pass
    else
      status[torch]=fail
    fi
    run_logged "$(cap 60)" $py bench/plot.py "$out/bench.json" "$out" || echo "plot.py failed" >>"$log"
  else
    status[torch]="not run: no bench.json"
  fi
  note "pytorch: ${status[torch]}"
fi
write_results

# ---- the whole suite ---------------------------------------------------------------
if begin cpu-tests 90; then
  if run_logged "$(cap 240)" cmake --build build-device -j"$jobs"; then
    ct="$out/ctest.tmp"
    timeout -k 5 "$(cap 300)" ctest --test-dir build-device -j"$jobs" --output-on-failure --timeout 120 >"$ct" 2>&1
    rc=$?
    cat "$ct" >>"$log"
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ct" | tail -1)
    rm -f "$ct"
    [ $rc -eq 0 ] && status[cpu-tests]=pass || status[cpu-tests]="fail (exit $rc)"
    detail[cpu-tests]="\"ctest\": $(jstr "$line")"
  else
    status[cpu-tests]="fail: build"
  fi
  note "whole suite: ${status[cpu-tests]}"
fi
write_results

# ---- verdict -------------------------------------------------------------------
echo
echo "---- device check summary ($(elapsed) s of $budget) ----"
printf '%s\n' "${summary[@]}"
verdict=PASS
for s in "${sections[@]}"; do
  case ${status[$s]} in
    pass|clean|"not asked") ;;
    skipped*|"not run: no compute-sanitizer") [ $verdict = PASS ] && verdict=INCOMPLETE ;;
    *) verdict=FAIL ;;
  esac
done
for s in "${sections[@]}"; do printf '  %-10s %s\n' "$s" "${status[$s]}"; done
echo "device check: $verdict"
[ $verdict = PASS ]
