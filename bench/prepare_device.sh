#!/usr/bin/env bash
# Prepares, on this (Debian) machine, what bench/device_check.sh needs on a
# lent GPU machine, which has CUDA, CMake, ninja and PyTorch but no package
# registry and no network:
#   .deps/         the build's Debian-packaged headers and test libraries (bench/stage_deps.sh)
#   out/langid/    the language-identification data (Debian's word lists: examples/langid/data.sh)
#   out/truecase/  the truecasing data (Debian's fortunes, installed here when missing)
#   out/gpl/GPL-3  the text of the GPL-3 training run (/usr/share/common-licenses/GPL-3)
# and prints the device call to make. All four are git-ignored; the call
# carries them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/stage_deps.sh
bash examples/langid/data.sh
if ! dpkg-query -W -f='${Status}' fortunes 2>/dev/null | grep -q "install ok installed"; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -q fortunes >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null; $sudo apt-get install -y -q fortunes >/dev/null; }
fi
/usr/bin/python3 -s examples/truecase/make_data.py out/truecase
mkdir -p out/gpl
cp /usr/share/common-licenses/GPL-3 out/gpl/GPL-3
du -sh .deps out/langid out/truecase out/gpl
cat <<MSG
device run call:
  carry:     [".deps", "out/langid", "out/truecase", "out/gpl"]
  timeout_s: 420
  command:   RNN_COMMIT=$(git rev-parse HEAD) bash bench/device_check.sh
MSG
