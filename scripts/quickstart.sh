#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main job: the
# example model (2-layer bidirectional nn.RNN) on an example batch with
# per-sequence lengths.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p out
build/rnn info --model examples/data/model.safetensors
build/rnn run --model examples/data/model.safetensors --input examples/data/x.npy \
  --lengths examples/data/lengths.npy --output out/y.npy --final-state out/h_n.npy
