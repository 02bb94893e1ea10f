#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only those missing.
# The CUDA toolkit is optional and not installed here: with nvcc on the
# machine (or at /usr/local/cuda/bin) the CUDA backend is built too.
# --python adds what the Python package's tests need (scripts/test-python.sh):
# python3-venv, PyTorch and NumPy (on OpenBLAS), pytest.
set -euo pipefail

packages=(cmake make g++ libgtest-dev nlohmann-json3-dev libcli11-dev libopenblas-dev valgrind clang libclang-rt-dev)
if [ "${1:-}" = "--python" ]; then
  packages+=(python3-venv python3-torch python3-numpy python3-pytest libopenblas0-pthread)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}
