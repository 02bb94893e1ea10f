#!/usr/bin/env bash
# Stages the build's header-only and test libraries from this (Debian)
# machine into .deps/prefix, for a machine that cannot install packages (the
# lent GPU machine has CUDA, CMake and a compiler but no package registry).
# Pass .deps in the device call's carry list; device_check.sh finds it.
#   nlohmann-json (headers + CMake config), CLI11 (headers + CMake config),
#   GoogleTest and GoogleMock (headers, static x86-64 libraries, CMake config)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
p=.deps/prefix
rm -rf .deps
mkdir -p $p/include $p/share/cmake $p/lib/x86_64-linux-gnu/cmake
cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/gtest /usr/include/gmock $p/include/
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 $p/share/cmake/
cp -r /usr/lib/x86_64-linux-gnu/cmake/GTest $p/lib/x86_64-linux-gnu/cmake/
cp /usr/lib/x86_64-linux-gnu/libg{test,test_main,mock,mock_main}.a $p/lib/x86_64-linux-gnu/
grep -qx "/.deps/" .git/info/exclude 2>/dev/null || echo "/.deps/" >> .git/info/exclude
du -sh .deps
