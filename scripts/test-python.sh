#!/usr/bin/env bash
# The Python package's tests: a venv over Debian's python3 (whose
# python3-torch and python3-numpy it sees), the package installed into it by
# `pip install .` from this checkout, and pytest on python/tests (torch
# parity, the NumPy API, errors, DistributedDataParallel on two processes).
# RNN_PIP_ARGS adds pip arguments (scripts/test.sh passes
# --config-settings=cmake.define.RNN_CUDA=OFF:
# the CUDA backend is not what runs there, and the CPU build takes a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${RNN_VENV:-build-py/venv}"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install -q --disable-pip-version-check ${RNN_PIP_ARGS:-} .
# From outside the source tree, so that `import rnn` is the installed package.
cd "$(dirname "$venv")"
"$(basename "$venv")/bin/python" -s -m pytest -q -p no:cacheprovider "$OLDPWD/python/tests"
