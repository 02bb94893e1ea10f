#!/usr/bin/env bash
# Language identification of single words (many-to-one): installs Debian's
# word lists, samples a balanced, seeded train/test split, trains a
# bidirectional character RNN classifier and prints `test_accuracy=` last.
# Extra arguments go to rnn train-classify (e.g. --device cuda).
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for p in wamerican wngerman wfrench wspanish witalian; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null; $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
[ -x build/rnn ] || bash scripts/build.sh
/usr/bin/python3 -s examples/langid/make_data.py out/langid
build/rnn train-classify --train out/langid/train.tsv --test out/langid/test.tsv --out out/langid/model.safetensors \
  --hidden 64 --bidirectional --batch 32 --steps 2500 --lr 0.005 "$@"
