#!/usr/bin/env bash
# Truecasing (many-to-many, one tag per character): installs Debian's
# fortunes, writes a seeded train/test split of lower-cased lines, prints the
# rule-based baseline's upper-case F1, trains a bidirectional character RNN
# tagger and prints its per-tag F1 and `test_token_accuracy=` last.
# Extra arguments go to rnn train-tag.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! dpkg-query -W -f='${Status}' fortunes 2>/dev/null | grep -q "install ok installed"; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -q fortunes >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null; $sudo apt-get install -y -q fortunes >/dev/null; }
fi
[ -x build/rnn ] || bash scripts/build.sh
/usr/bin/python3 -s examples/truecase/make_data.py out/truecase
build/rnn train-tag --train out/truecase/train.tsv --test out/truecase/test.tsv --out out/truecase/model.safetensors \
  --hidden 128 --bidirectional --batch 32 --steps 6000 --lr 0.005 "$@"
