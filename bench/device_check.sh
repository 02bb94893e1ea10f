#!/usr/bin/env bash
# bench/device_check.sh: the one prepared check for a machine with a GPU.
#
# Sections, in this order (most valuable first, so a lease cut short still
# brings back what matters most):
#   build       configure for sm_90 (Release, CUDA ON, cuDNN baseline) into
#               build-device/ and build the CLI, rnn_preflight and the GPU tests
#   preflight   rnn_preflight (about 10 s): GPU, SMs, driver and runtime, the
#               cuBLAS and cuDNN files actually loaded, cooperative launch,
#               opt-in shared memory, one tiny forward per kernel against the
#               CPU. With no usable GPU every later GPU section fails at once,
#               saying so
#   gpu-tests   the GPU test binary, one process per suite, each capped at
#               RNN_CHECK_SUITE_SECONDS (60); fails if a test fails or skips
#               for want of a GPU
#   bench       `rnn bench --shapes target --runs 5 --warmup 2` against cuDNN:
#               B 1,8,64,256 x H 256,1024,2048, T 256, with the time split of
#               a step (timing variants); bench.json/bench.csv are complete
#               after every shape
#   parity      every parity case of tests/data/parity through `rnn run
#               --device cuda`, with the stepwise and persistent kernels,
#               against PyTorch (1e-5; the others: gpu-tests' GpuParity)
#   python      the Python package's pytest suite (python/tests) with this
#               build's librnn_c: rnn.torch.RNN on CUDA tensors against
#               torch.nn.RNN, torch.compile(fullgraph=True) where PyTorch >= 2.4
#   workbench   kernels/workbench's programs: every forward and backward
#               recurrence kernel variant against its CPU twin on random
#               data, and timed
#   train       the "hello" model trained and sampled greedily on the GPU, and
#               the GPL-3 run with the README's settings (val_bpc recorded)
#   tasks       the README's task examples, 150 updates each, on the GPU
#               (wall time, metric; the CPU figures are known already)
#   memcheck, racecheck, initcheck, synccheck   compute-sanitizer over the
#               GPU forward and backward tests (long-T and large-H cases left
#               out to bound the time)
#   torch       torch.nn.RNN on the bench's shapes (bench/compare_torch.py)
#               and the plots (bench/plot.py)
#   bench-more  the rest of the default grid, appended to bench.json, if time
#               remains
#   cpu-tests   the rest of the build and the whole ctest suite
#
# Time: the check keeps to RNN_CHECK_SECONDS (default 330) of wall time.
# Every step runs under a timeout that ends before that deadline; a section
# that no longer fits is skipped and recorded as "skipped: out of time" (the
# check then says INCOMPLETE). A GPU kernel that hangs costs its step's
# timeout, not the whole lease. RNN_CHECK_ONLY="memcheck racecheck" runs only
# the sections named (build and preflight always run; an up-to-date
# build-device/ is reused).
#
# Output ($OUT, else device-out/): at most 8 plain files, no folders:
#   results.json  date, GPU, commit, every section's status and figures (the
#                 preflight's whole record, the bench's ratios to cuDNN and
#                 its time split); rewritten after each section, so a run cut
#                 short still leaves its record
#   logs.txt      environment, build, tests, parity, sanitizers, in sections,
#                 written as they run
#   bench.json, bench.csv, bench.txt (our table, PyTorch's, then Kernel::Auto's
#   table as bench.json measures it), torch.json, time_per_step.png,
#   ratio_to_cudnn.png
# Temporary files live in a folder of their own, outside $OUT, removed at
# the end. The summary is printed last.
#
# For tests of the script itself (tests/bench/device_check_dry.sh):
#   RNN_CHECK_PREBUILT=DIR   use DIR's binaries; no configure or build
#   RNN_CHECK_SNAPSHOTS=DIR  copy results.json there after every section
#
# How to call it through the device tool: see bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/device-out}
mkdir -p "$out"
log="$out/logs.txt"
: >"$log"
tmpd=$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
commit=${RNN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
jobs=$(nproc 2>/dev/null || echo 4)
budget=${RNN_CHECK_SECONDS:-330}
suite_cap=${RNN_CHECK_SUITE_SECONDS:-60}
only=${RNN_CHECK_ONLY:-}
prebuilt=${RNN_CHECK_PREBUILT:-}
snapshots=${RNN_CHECK_SNAPSHOTS:-}
bd=${prebuilt:-build-device}
t0=$(date +%s)
py=python3
[ -x /usr/bin/python3 ] && ! python3 -c "import torch" 2>/dev/null && py="/usr/bin/python3 -s"

# ---- bookkeeping ---------------------------------------------------------------
sections=(build preflight gpu-tests bench parity python workbench train tasks memcheck racecheck initcheck synccheck torch
          bench-more cpu-tests)
declare -A status detail
for s in "${sections[@]}"; do status[$s]="not run"; detail[$s]=""; done
summary=()
nogpu=""   # set by the preflight when no usable GPU was found: why
written=0
elapsed() { echo $(( $(date +%s) - t0 )); }
# cap N: the seconds a step may take: N, or less where the deadline is nearer
# (10 s kept for the record); 0 when under 10 s would be left.
cap() {
  local l=$(( budget - $(elapsed) - 10 ))
  (( l > $1 )) && l=$1
  (( l < 10 )) && l=0
  echo "$l"
}
asked() { [ -z "$only" ] || [ "$1" = build ] || [ "$1" = preflight ] || [[ " $only " == *" $1 "* ]]; }
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
# gpu_begin SECTION MIN_SECONDS: begin, and fail at once when the preflight
# found no usable GPU.
gpu_begin() {
  begin "$1" "$2" || return 1
  if [ -n "$nogpu" ]; then
    status[$1]="fail: no GPU found ($nogpu)"
    echo "$1: not run: no GPU found ($nogpu)" >>"$log"
    note "$1: ${status[$1]}"
    return 1
  fi
  return 0
}
note() { summary+=("$1"); echo "== $1"; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/ }; s=${s//$'\r'/ }; printf '"%s"' "${s//$'\n'/ }"; }
# json_or_string TEXT: TEXT itself when it is one valid JSON value, else TEXT as a JSON string.
json_or_string() {
  if [ -n "$1" ] && printf '%s' "$1" | $py -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null; then
    printf '%s' "$1"
  else
    jstr "$1"
  fi
}
# write_results [SECTION]: rewrites results.json (atomically); with
# RNN_CHECK_SNAPSHOTS, keeps a copy named after the section just finished.
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
  } >"$tmpd/results.json"
  mv -f "$tmpd/results.json" "$out/results.json"
  if [ -n "$snapshots" ]; then
    written=$((written + 1))
    mkdir -p "$snapshots"
    cp "$out/results.json" "$snapshots/$(printf %02d $written)-${1:-start}.json"
  fi
}
# run_logged SECONDS CMD...: runs CMD under a timeout, output to the log;
# returns CMD's status (124 on timeout, 125 when no time was left).
run_logged() {
  local t=$1; shift
  [ "$t" -gt 0 ] || { echo "(no time left for: $*)" >>"$log"; return 125; }
  timeout -k 5 "$t" "$@" >>"$log" 2>&1
}
# bench.txt: our table, then PyTorch's when there is one.
compose_bench_txt() {
  [ -f "$tmpd/bench-table.txt" ] || return 0
  { cat "$tmpd/bench-table.txt"
    [ -f "$tmpd/torch-table.txt" ] && { echo; echo "---- torch.nn.RNN on the same shapes ----"; cat "$tmpd/torch-table.txt"; }
  } >"$out/bench.txt"
}
# auto_table_rows: Kernel::Auto's table as this record's bench.json measures
# it, appended to bench.txt (the block for host/cuda/auto_table.hpp, which
# bench/auto_table.py <record>/bench.json --write puts in; no file of its
# own: $OUT holds at most 8).
auto_table_rows() {
  [ -f "$out/bench.json" ] || return 0
  local rows
  rows=$($py bench/auto_table.py "$out/bench.json" 2>>"$log") || return 0
  { echo; echo "---- Kernel::Auto's table as this record measures it (bench/auto_table.py) ----"; echo "$rows"; } \
    >>"$out/bench.txt"
}

# bench_detail: the figures of bench.json for results.json.
bench_detail() {
  [ -f "$out/bench.json" ] || return 0
  local s
  s=$($py bench/summarize.py "$out/bench.json" 2>>"$log")
  [ -n "$s" ] && printf '"summary": %s' "$(json_or_string "$s")"
}

# ---- the machine ---------------------------------------------------------------
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || gpu="none found"
printf '==================== environment ====================\n' >>"$log"
{ date -u; echo "commit $commit; budget $budget s; sections: ${only:-all}${prebuilt:+; prebuilt $prebuilt}"
  nvidia-smi 2>&1; nvcc --version 2>&1; cmake --version 2>&1 | head -1; } >>"$log"
note "gpu: $gpu; commit $commit"
write_results

# cuDNN: the toolkit's own, else the pip wheel's (PyTorch's nvidia-cudnn-cu13:
# site-packages/nvidia/cudnn), found through python or by globbing. Its lib/
# goes on the library path, and the CUDA 13 wheels' nvidia/cu13/lib after it.
cudnn=""
if [ ! -e /usr/local/cuda/include/cudnn.h ]; then
  cudnn=$($py -c "import nvidia.cudnn as c; print(list(c.__path__)[0])" 2>/dev/null)
  if [ -z "$cudnn" ] || [ ! -e "$cudnn/include/cudnn.h" ]; then
    cudnn=$(ls -d /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn \
                  /usr/local/lib/python3*/dist-packages/nvidia/cudnn \
                  /usr/lib/python3/dist-packages/nvidia/cudnn 2>/dev/null | head -1)
  fi
  if [ -n "$cudnn" ]; then
    export LD_LIBRARY_PATH="$cudnn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    [ -d "$cudnn/../cu13/lib" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(cd "$cudnn/../cu13/lib" && pwd)"
  fi
fi
echo "cuDNN root: ${cudnn:-none found outside the toolkit}; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$log"

# ---- build -----------------------------------------------------------------------
if begin build 60; then
  if [ -n "$prebuilt" ]; then
    if [ -x "$bd/rnn" ] && [ -x "$bd/tests/rnn_gpu_tests" ] && [ -x "$bd/bench/rnn_preflight" ]; then
      status[build]=pass
    else
      status[build]="fail: $bd lacks rnn, tests/rnn_gpu_tests or bench/rnn_preflight"
    fi
  else
    opts=(-DCMAKE_BUILD_TYPE=Release -DRNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
    [ -d "$root/.deps/prefix" ] && opts+=(-DCMAKE_PREFIX_PATH="$root/.deps/prefix")
    command -v ninja >/dev/null 2>&1 && opts+=(-G Ninja)
    [ -n "$cudnn" ] && opts+=(-DCUDNN_ROOT="$cudnn")
    if run_logged "$(cap 240)" cmake -S . -B "$bd" "${opts[@]}" &&
       run_logged "$(cap 240)" cmake --build "$bd" -j"$jobs" --target rnn_cli rnn_bench_cli rnn_preflight rnn_gpu_tests rnn_c rnn_workbench_recurrence \
         rnn_workbench_backward; then
      status[build]=pass
    else
      status[build]=fail
      tail -30 "$log"
    fi
  fi
  grep -qE '^CUDNN_LIBRARY:FILEPATH=.+' "$bd/CMakeCache.txt" 2>/dev/null &&
    ! grep -qE '^CUDNN_LIBRARY:FILEPATH=.*NOTFOUND' "$bd/CMakeCache.txt" && cudnn_on=true || cudnn_on=false
  detail[build]="\"cudnn\": $cudnn_on, \"cudnn_root\": $(jstr "$cudnn"), \"seconds\": $(elapsed)"
  note "build: ${status[build]} ($(elapsed) s)$($cudnn_on && echo ', with cuDNN' || echo ', WITHOUT cuDNN')"
fi
write_results build

# ---- preflight ---------------------------------------------------------------------
if begin preflight 15; then
  pf=$(timeout -k 5 "$(cap 30)" "$bd/bench/rnn_preflight" 2>>"$tmpd/preflight.err")
  rc=$?
  cat "$tmpd/preflight.err" >>"$log" 2>/dev/null
  echo "$pf" >>"$log"
  case $rc in
    0) status[preflight]=pass ;;
    2) nogpu=$(printf '%s' "$pf" | $py -c 'import json, sys; print(json.load(sys.stdin)["error"])' 2>/dev/null)
       nogpu=${nogpu:-rnn_preflight found no usable CUDA device}
       status[preflight]="fail: $nogpu" ;;
    124|137) status[preflight]="fail: timed out" ;;
    *) status[preflight]="fail (exit $rc): a kernel's tiny forward failed or disagreed with the CPU" ;;
  esac
  detail[preflight]="\"info\": $(json_or_string "$pf")"
  note "preflight: ${status[preflight]}"
fi
write_results preflight

# ---- GPU tests -----------------------------------------------------------------
if gpu_begin gpu-tests 40; then
  # One process per test suite, each capped: a sticky CUDA fault (an
  # out-of-bounds write, say) fails its own suite, and a hung suite costs
  # its cap, not the lease.
  start=$(elapsed)
  gt="$tmpd/gpu.txt"
  : >"$gt"
  rc=0; stopped=""; hung=""
  for suite in $("$bd/tests/rnn_gpu_tests" --gtest_list_tests 2>/dev/null | grep -E '^[A-Za-z0-9_/]+\.$' | sed 's/\.$//'); do
    t=$(cap "$suite_cap")
    [ "$t" -gt 0 ] || { stopped="out of time before $suite"; rc=125; break; }
    timeout -k 5 "$t" "$bd/tests/rnn_gpu_tests" --gtest_color=no --gtest_filter="$suite.*" >>"$gt" 2>&1
    r=$?
    if [ $r -eq 124 ] || [ $r -eq 137 ]; then
      hung+="$suite (in $(grep -E '^\[ RUN +\]' "$gt" | tail -1 | sed -E 's/^\[ RUN +\] //')); "
      echo "[  FAILED  ] $suite: timed out after $t s" >>"$gt"
    fi
    [ $r -eq 0 ] || rc=$r
  done
  cat "$gt" >>"$log"
  count() { awk -v w="$1" '$1 == "[" && $2 == w && $4 ~ /^[0-9]+$/ && $5 ~ /^tests?/ { n += $4 } END { print n + 0 }' "$gt"; }
  p=$(count PASSED); f=$(count FAILED); k=$(count SKIPPED)
  skipped_nogpu=$(grep -c "no usable CUDA device" "$gt")
  if [ -n "$stopped" ]; then
    status[gpu-tests]="fail: $stopped"
  elif [ -n "$hung" ]; then
    status[gpu-tests]="fail: timed out: ${hung%; }"
  elif [ "$skipped_nogpu" -gt 0 ]; then
    status[gpu-tests]="fail: $skipped_nogpu skipped for want of a GPU (the GPU was not used)"
  elif [ $rc -eq 0 ] && [ "$p" -gt 0 ]; then
    status[gpu-tests]=pass
  else
    status[gpu-tests]="fail (exit $rc)"
  fi
  failed=$(grep -E "^\[  FAILED  \] [A-Za-z]" "$gt" | sed -E 's/^\[  FAILED  \] //; s/ \(.*//' | sort -u | head -20)
  [ -n "$failed" ] && printf '%s\n' "$failed"
  detail[gpu-tests]="\"passed\": $p, \"failed\": $f, \"skipped\": $k, \"skipped_no_gpu\": $skipped_nogpu, \"failures\": $(jstr "$(echo $failed)"), \"seconds\": $(( $(elapsed) - start ))"
  note "gpu tests: ${status[gpu-tests]} ($p passed, $f failed, $k skipped: $skipped_nogpu for want of a GPU)"
fi
write_results gpu-tests

# ---- benchmark against cuDNN: the target grid ------------------------------------
bench_status() {  # exit status -> the section's status
  case $1 in
    0) echo pass ;;
    3) echo "fail: MISMATCH with cuDNN" ;;
    124|137) echo "fail: timed out (bench.json holds the shapes finished)" ;;
    *) echo "fail (exit $1)" ;;
  esac
}
if gpu_begin bench 40; then
  timeout -k 5 "$(cap 150)" "$bd/rnn" bench --device cuda --shapes target --runs 5 --warmup 2 \
    --json "$out/bench.json" --csv "$out/bench.csv" >"$tmpd/bench-table.txt" 2>>"$log"
  status[bench]=$(bench_status $?)
  compose_bench_txt
  cat "$tmpd/bench-table.txt"
  detail[bench]=$(bench_detail)
  auto_table_rows
  note "benchmark (target grid): ${status[bench]}"
fi
write_results bench

# ---- parity through the CLI on the GPU ----------------------------------------
if gpu_begin parity 20; then
  pp=0; pf=0
  for case in tests/data/parity/*/; do
    for kernel in stepwise persistent; do
      name="$(basename "$case") ($kernel)"
      args=(run --device cuda --kernel $kernel --model "$case/model.safetensors" --input "$case/x.npy"
            --output "$tmpd/y.npy" --final-state "$tmpd/hn.npy" $(cat "$case/args.txt"))
      [ -f "$case/h0.npy" ] && args+=(--h0 "$case/h0.npy")
      [ -f "$case/lengths.npy" ] && args+=(--lengths "$case/lengths.npy")
      # A model with a head: --output is its logits (expected_y.npy), --states
      # the RNN's y (expected_states.npy).
      pairs=("$tmpd/y.npy" "$case/expected_y.npy" "$tmpd/hn.npy" "$case/expected_hn.npy")
      if [ -f "$case/expected_states.npy" ]; then
        args+=(--states "$tmpd/states.npy")
        pairs+=("$tmpd/states.npy" "$case/expected_states.npy")
      fi
      rm -f "$tmpd/y.npy" "$tmpd/hn.npy" "$tmpd/states.npy"
      if run_logged "$(cap 30)" "$bd/rnn" "${args[@]}" &&
         run_logged "$(cap 30)" $py bench/compare_npy.py 1e-5 "${pairs[@]}"; then
        pp=$((pp + 1)); echo "PASS $name" >>"$log"
      else
        pf=$((pf + 1)); echo "FAIL $name" >>"$log"
      fi
    done
  done
  if [ $pf -eq 0 ] && [ $pp -gt 0 ]; then status[parity]=pass; else status[parity]=fail; fi
  detail[parity]="\"passed\": $pp, \"failed\": $pf"
  note "parity on cuda: ${status[parity]} ($pp passed, $pf failed)"
fi
write_results parity

# ---- the Python package on CUDA tensors ----------------------------------------
# python/tests (rnn.torch.RNN against torch.nn.RNN forward and backward,
# PackedSequence, DDP, the NumPy API, torch.compile where PyTorch >= 2.4)
# with this build's librnn_c; the parity tests take CUDA tensors as well
# wherever PyTorch and the engine both see the GPU.
if gpu_begin python 30; then
  case "$bd" in /*) clib="$bd/librnn_c.so" ;; *) clib="$root/$bd/librnn_c.so" ;; esac
  if [ ! -f "$clib" ]; then
    status[python]="fail: no librnn_c.so in $bd"
  elif ! $py -c "import pytest, torch" >>"$log" 2>&1; then
    status[python]="fail: this image's python has no pytest or torch"
  elif run_logged "$(cap 150)" env PYTHONPATH="$root/python" RNN_LIBRARY="$clib" \
         $py -m pytest -q -p no:cacheprovider -rs python/tests; then
    status[python]=pass
  else
    status[python]=fail
  fi
  detail[python]="\"pytest\": $(jstr "$(grep -E '(passed|failed|error)' "$log" | tail -1)")"
  note "python: ${status[python]}"
fi
write_results python

# ---- the kernel workbench: every variant against its CPU twin, timed -----------
if gpu_begin workbench 20; then
  status[workbench]=pass
  for family in recurrence backward; do
    run_logged "$(cap 60)" "$bd/kernels/workbench/rnn-workbench-$family" --cases all --runs 5 || status[workbench]=fail
  done
  detail[workbench]="\"result\": $(jstr "$(grep -E '^workbench:' "$log" | tail -2 | tr '\n' ' ')")"
  note "workbench: ${status[workbench]}"
fi
write_results workbench

# ---- training and sampling on the GPU -----------------------------------------
if gpu_begin train 30; then
  run_logged "$(cap 60)" "$bd/rnn" train-char --string hello --out "$tmpd/hello.safetensors" --device cuda
  said=$(timeout -k 5 "$(cap 30)" "$bd/rnn" sample --model "$tmpd/hello.safetensors" --prime h --length 4 \
           --temperature 0 --device cuda 2>>"$log")
  echo "greedy sample on the GPU: $said" >>"$log"
  if [ "$said" = hello ]; then status[train]=pass; else status[train]="fail: sampled '$said'"; fi
  bpc=""; secs=""
  gpl=/usr/share/common-licenses/GPL-3
  [ -f "$gpl" ] || gpl=out/gpl/GPL-3  # carried by bench/prepare_device.sh's call
  if [ -f "$gpl" ] && [ "$(cap 60)" -ge 20 ]; then
    start=$(elapsed)
    bpc=$(timeout -k 5 "$(cap 60)" "$bd/rnn" train-char --text "$gpl" --hidden 128 \
            --steps 1200 --batch 16 --seq-len 64 --lr 0.003 --out "$tmpd/gpl.safetensors" --device cuda \
            2>>"$log" | tee -a "$log" | sed -n 's/^val_bpc=//p')
    secs=$(( $(elapsed) - start ))
    echo "GPL-3 on the GPU: val_bpc=$bpc in $secs s" >>"$log"
  fi
  detail[train]="\"hello_sample\": $(jstr "$said"), \"gpl3_val_bpc\": $(jstr "$bpc"), \"gpl3_seconds\": $(jstr "$secs")"
  note "training on the GPU: ${status[train]}${bpc:+; GPL-3 val_bpc $bpc in $secs s}"
fi
write_results train

# ---- the tasks of "What RNNs are for", on the GPU --------------------------------
# The README's example commands, shortened to 150 updates, with --device
# cuda (their CPU times are measured on the development machines). The
# numbers data is generated here; the language-identification and
# truecasing data come from Debian packages, so those run only when
# out/langid and out/truecase travelled with the checkout (carry).
if gpu_begin tasks 30; then
  run_logged 30 $py examples/numbers/make_data.py "$tmpd/numbers"
  task_cmd() {  # name -> the command's arguments (without --device)
    case $1 in
      numbers) echo train-seq2seq --train "$tmpd/numbers/train.tsv" --test "$tmpd/numbers/test.tsv" \
                 --hidden 64 --steps 150 --lr 0.005 --reverse-source --out "$tmpd/numbers.safetensors" ;;
      langid) echo train-classify --train out/langid/train.tsv --test out/langid/test.tsv \
                --hidden 64 --bidirectional --batch 32 --steps 150 --lr 0.005 --out "$tmpd/langid.safetensors" ;;
      truecase) echo train-tag --train out/truecase/train.tsv --test out/truecase/test.tsv \
                  --hidden 64 --bidirectional --batch 32 --steps 150 --lr 0.005 --out "$tmpd/truecase.safetensors" ;;
    esac
  }
  status[tasks]=pass; entries=""
  for task in numbers langid truecase; do
    if [ "$task" != numbers ] && [ ! -f "out/$task/train.tsv" ]; then
      echo "$task: no data carried (out/$task)" >>"$log"
      entries+="$(jstr "$task"): \"not run: no data carried\", "
      continue
    fi
    t=$(cap 45)
    [ "$t" -ge 10 ] || { status[tasks]="skipped in part: out of time"; break; }
    start=$(date +%s.%N)
    timeout -k 5 "$t" "$bd/rnn" $(task_cmd $task) --device cuda >"$tmpd/task.out" 2>>"$log"
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    metric=$(tail -1 "$tmpd/task.out")
    if [ $rc -ne 0 ]; then metric="FAILED (exit $rc)"; status[tasks]="fail: $task"; fi
    echo "$task on cuda: ${secs}s, $metric" >>"$log"
    entries+="$(jstr "$task"): {\"cuda_s\": $secs, \"cuda_result\": $(jstr "$metric")}, "
    note "task $task (150 updates) on the GPU: ${secs}s, $metric"
  done
  detail[tasks]="\"runs\": {${entries%, }}"
fi
write_results tasks

# ---- compute-sanitizer ---------------------------------------------------------
sanitize() {  # tool
  if ! command -v compute-sanitizer >/dev/null 2>&1; then status[$1]="not run: no compute-sanitizer"; return; fi
  echo "---- compute-sanitizer --tool $1 ----" >>"$log"
  if run_logged "$(cap 90)" compute-sanitizer --tool "$1" --error-exitcode 1 "$bd/tests/rnn_gpu_tests" \
       --gtest_color=no \
       --gtest_filter='FillKernel.*:GpuPlan.*:*GpuForward.*:*GpuBackward.*:-*long*:*H1024*:*H2048*:*H512*:*H257*:*B70*:*H1536*'; then
    status[$1]=clean
  else
    rc=$?
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && status[$1]="fail: timed out" || status[$1]="fail: errors (exit $rc)"
  fi
  note "compute-sanitizer $1: ${status[$1]}"
}
for tool in memcheck racecheck initcheck synccheck; do
  if gpu_begin $tool 45; then sanitize $tool; fi
  write_results $tool
done

# ---- torch.nn.RNN on the same shapes, and the plots -----------------------------
if gpu_begin torch 40; then
  if [ -f "$out/bench.json" ]; then
    if timeout -k 5 "$(cap 150)" $py bench/compare_torch.py --bench "$out/bench.json" --runs 10 \
         --json "$out/torch.json" >"$tmpd/torch-table.txt" 2>>"$log"; then
      status[torch]=pass
    else
      status[torch]=fail
    fi
    compose_bench_txt
    run_logged "$(cap 60)" $py bench/plot.py "$out/bench.json" "$out" || echo "plot.py failed" >>"$log"
  else
    status[torch]="not run: no bench.json"
  fi
  note "pytorch: ${status[torch]}"
fi
write_results torch

# ---- the rest of the default grid, if time remains ------------------------------
if gpu_begin bench-more 60; then
  timeout -k 5 "$(cap 240)" "$bd/rnn" bench --device cuda --shapes default --runs 5 --warmup 2 --append \
    --json "$out/bench.json" --csv "$out/bench.csv" >"$tmpd/bench-more.txt" 2>>"$log"
  rc=$?
  status[bench-more]=$(bench_status $rc)
  if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then
    mv -f "$tmpd/bench-more.txt" "$tmpd/bench-table.txt"
    compose_bench_txt
  fi
  detail[bench]=$(bench_detail)
  auto_table_rows
  note "benchmark (the rest of the default grid): ${status[bench-more]}"
fi
write_results bench-more

# ---- the whole suite ---------------------------------------------------------------
if begin cpu-tests 90; then
  if [ -n "$prebuilt" ] || run_logged "$(cap 240)" cmake --build "$bd" -j"$jobs"; then
    ct="$tmpd/ctest.txt"
    # device_check_dry runs this script: not from inside it.
    timeout -k 5 "$(cap 300)" ctest --test-dir "$bd" -j"$jobs" -E '^device_check' --output-on-failure \
      --timeout 120 >"$ct" 2>&1
    rc=$?
    cat "$ct" >>"$log"
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ct" | tail -1)
    case $rc in
      0) status[cpu-tests]=pass ;;
      124|137) status[cpu-tests]="fail: timed out (ctest cut at the deadline)" ;;
      *) status[cpu-tests]="fail (exit $rc)" ;;
    esac
    detail[cpu-tests]="\"ctest\": $(jstr "$line")"
  else
    status[cpu-tests]="fail: build"
  fi
  note "whole suite: ${status[cpu-tests]}"
fi
write_results cpu-tests

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
