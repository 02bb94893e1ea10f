#!/usr/bin/env bash
# Numbers to English words (many-to-many, encoder-decoder): writes a seeded
# train/test split of numbers in [0, 9999] (test numbers never seen in
# training), trains the encoder-decoder (the encoder's final state starts
# the decoder and is appended to every decoder input) with teacher forcing
# and prints `test_exact_match=` (greedy decoding) last. Extra arguments go
# to rnn train-seq2seq.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/rnn ] || bash scripts/build.sh
/usr/bin/python3 -s examples/numbers/make_data.py out/numbers
build/rnn train-seq2seq --train out/numbers/train.tsv --test out/numbers/test.tsv --out out/numbers/model.safetensors \
  --hidden 64 --steps 3000 --lr 0.005 --reverse-source "$@"
echo 4107 | build/rnn translate --model out/numbers/model.safetensors
