# Sourced by the CPU record scripts. OpenBLAS picks its kernels by CPU
# model; an OpenBLAS older than the CPU (0.3.21 on a Sapphire Rapids, say)
# falls back to its SSE3 "Prescott" kernels, which slows PyTorch's GEMMs
# (the whole of nn.RNN) more than the engine (whose step kernel is its own).
# Sets openblas_fixed to the core type that fits this CPU (SkylakeX with
# AVX-512, Haswell with AVX2) when OPENBLAS_CORETYPE is not set and
# OpenBLAS says Prescott; else leaves it empty.
openblas_fixed=
openblas_core=$(/usr/bin/python3 -s -c "import ctypes; l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())" 2>/dev/null || echo unknown)
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ "$openblas_core" = Prescott ] && grep -q avx2 /proc/cpuinfo; then
  openblas_fixed=Haswell
  grep -q avx512f /proc/cpuinfo && openblas_fixed=SkylakeX
fi
