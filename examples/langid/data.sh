#!/usr/bin/env bash
# Installs Debian's word lists where missing and writes the seeded, balanced
# language-identification split to out/langid/{train,test}.tsv.
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
/usr/bin/python3 -s examples/langid/make_data.py out/langid
