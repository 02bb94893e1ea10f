#!/usr/bin/env bash
# Language identification of single words (many-to-one): installs Debian's
# word lists, samples a balanced, seeded train/test split, trains a
# bidirectional character RNN classifier and prints `test_accuracy=` last.
# Extra arguments go to rnn train-classify (e.g. --device cuda).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash examples/langid/data.sh
[ -x build/rnn ] || bash scripts/build.sh
build/rnn train-classify --train out/langid/train.tsv --test out/langid/test.tsv --out out/langid/model.safetensors \
  --hidden 64 --bidirectional --batch 32 --steps 2500 --lr 0.005 "$@"
