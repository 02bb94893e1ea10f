#!/usr/bin/env bash
# One-to-many: from a single symbol to a sequence. Two ways:
#   1. rnn sample with a one-character prime (the character model);
#   2. the encoder-decoder conditioned on a one-symbol source: a language
#      code (e, d, f, s, i) from the language-identification data, decoded
#      by sampling into words of that language.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash examples/langid/data.sh >/dev/null  # installs the word lists and writes out/langid
[ -x build/rnn ] || bash scripts/build.sh
# language<TAB>word -> code<TAB>word, with one-letter codes
mkdir -p out/generate
for split in train test; do
  sed -e 's/^en\t/e\t/' -e 's/^de\t/d\t/' -e 's/^fr\t/f\t/' -e 's/^es\t/s\t/' -e 's/^it\t/i\t/' \
    out/langid/$split.tsv >out/generate/$split.tsv
done
build/rnn train-seq2seq --train out/generate/train.tsv --test out/generate/test.tsv \
  --out out/generate/model.safetensors --hidden 96 --batch 64 --steps 1500 --lr 0.005 "$@" | grep -v '^test_exact'
for code in e d f s i; do
  printf '%s: ' "$code"
  printf "$code\n$code\n$code\n$code\n$code\n" | build/rnn translate --model out/generate/model.safetensors \
    --temperature 0.8 --seed 7 | tr '\n' ' '
  echo
done
build/rnn train-char --string "the quick brown fox jumps over the lazy dog and the cat" --steps 300 \
  --out out/generate/char.safetensors >/dev/null 2>&1
build/rnn sample --model out/generate/char.safetensors --prime t --length 40 --temperature 0.5
