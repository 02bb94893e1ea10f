#!/usr/bin/env bash
# The PyTorch char-LM loop with rnn.torch.RNN against the same loop with
# torch.nn.RNN (bench/compare_torch_loop.py), recorded into OUT (default
# bench/results/<date>-cpu-torch-loop-<commit>/): one core with one thread,
# and two cores with two threads; each side in its own processes, the two
# alternated, ROUNDS (default 9) rounds, medians. Needs Debian's
# python3-torch with libopenblas0-pthread and the package (build-py/venv
# from scripts/test-python.sh, else build/librnn_c.so and python/).
#
# Where OpenBLAS falls back to its Prescott kernels on a newer CPU
# (bench/openblas_core.sh), the runs are made with the kernels that fit the
# CPU for both sides, and the figure with the fallback is recorded too.
# Two threads are run twice: as PyTorch starts (its OpenMP threads spin
# between operations, taking the cores from the engine's threads and from
# PyTorch's own), and with OMP_WAIT_POLICY=PASSIVE.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD)
out=${1:-bench/results/$(date -u +%Y-%m-%d)-cpu-torch-loop-$commit}
rounds=${ROUNDS:-9}
steps=${STEPS:-150}
mkdir -p "$out"
{
  echo "commit $commit, $(date -u +%FT%TZ)"
  lscpu | grep -E "Model name|^CPU\(s\)|L2 cache|L3 cache|Flags" | sed 's/^Flags:.*\(avx512f\).*/Flags: ... avx512f .../'
  echo "torch $(/usr/bin/python3 -s -c 'import torch; print(torch.__version__)')"
} > "$out/machine.txt"
text=/usr/share/common-licenses/GPL-3
run() {  # NAME THREADS CPUS
  bench/compare_torch_loop.py --text "$text" --threads "$2" --cpus "$3" --rounds "$rounds" --steps "$steps" \
    --out "$out/$1.json" | tee "$out/$1.txt"
}
. bench/openblas_core.sh
if [ -n "$openblas_fixed" ]; then
  echo "OpenBLAS fell back to Prescott kernels on this CPU: runs with OPENBLAS_CORETYPE=$openblas_fixed, and one as installed" \
    | tee -a "$out/machine.txt"
  OPENBLAS_CORETYPE=$openblas_fixed run loop-1thread 1 0
  OPENBLAS_CORETYPE=$openblas_fixed run loop-2threads 2 0,1
  OPENBLAS_CORETYPE=$openblas_fixed OMP_WAIT_POLICY=PASSIVE run loop-2threads-passive 2 0,1
  run loop-1thread-prescott 1 0
else
  run loop-1thread 1 0
  run loop-2threads 2 0,1
  OMP_WAIT_POLICY=PASSIVE run loop-2threads-passive 2 0,1
fi
echo "torch_loop_record: wrote $out"
