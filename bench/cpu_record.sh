#!/usr/bin/env bash
# The fast CPU backend against PyTorch on this machine, recorded: the
# forward pass shape by shape on 1 and 2 threads (bench/cpu_vs_torch.py)
# and the train-char recipe on one core (bench/compare_train_char.py), into
# OUT (default bench/results/<date>-cpu-<commit>/): JSON and the printed
# tables. Needs build/rnn, Debian's python3-torch and libopenblas0-pthread
# (without OpenBLAS, Debian's torch runs the reference BLAS: no fair peer),
# and the GPL text (/usr/share/common-licenses/GPL-3). About 15 minutes.
#
# Where OpenBLAS falls back to its Prescott kernels on a newer CPU
# (bench/openblas_core.sh), both sides run with the kernels that fit the CPU
# (OPENBLAS_CORETYPE, said in machine.txt). Two threads are run twice: as
# PyTorch starts (its OpenMP threads spin between operations and take the
# cores from the other side's threads and from its own) and with
# OMP_WAIT_POLICY=PASSIVE (forward-2threads-passive.*).
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD)
out=${1:-bench/results/$(date -u +%Y-%m-%d)-cpu-$commit}
reps=${REPS:-5}
mkdir -p "$out"
/usr/bin/python3 -s -c "import torch" || { echo "cpu_record: needs python3-torch" >&2; exit 1; }
. bench/openblas_core.sh
[ -n "$openblas_fixed" ] && export OPENBLAS_CORETYPE=$openblas_fixed
{
  echo "commit $commit, $(date -u +%FT%TZ)"
  lscpu | grep -E "Model name|^CPU\(s\)|L2 cache|L3 cache"
  echo "torch $(/usr/bin/python3 -s -c 'import torch; print(torch.__version__)'), $(ls /usr/lib/x86_64-linux-gnu/libopenblas*.so* 2>/dev/null | head -1)"
  [ -n "$openblas_fixed" ] && echo "OpenBLAS fell back to Prescott kernels on this CPU: both sides run with OPENBLAS_CORETYPE=$openblas_fixed"
  true
} > "$out/machine.txt"
bench/cpu_vs_torch.py --threads 1,2 --batch 1,8,64 --hidden 256,512,1024 --steps 64 --reps "$reps" \
  --json "$out/forward.json" | tee "$out/forward.txt"
OMP_WAIT_POLICY=PASSIVE bench/cpu_vs_torch.py --threads 2 --batch 1,8,64 --hidden 256,512,1024 --steps 64 \
  --reps "$reps" --json "$out/forward-2threads-passive.json" | tee "$out/forward-2threads-passive.txt"
bench/compare_train_char.py --text /usr/share/common-licenses/GPL-3 --hidden 256 --seq-len 64 --batch 32 \
  --steps 300 --threads 1 --reps "$reps" --json "$out/train_char.json" | tee "$out/train_char.txt"
echo "cpu_record: wrote $out"
