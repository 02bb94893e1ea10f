// host/cpu/step_kernels.hpp: the fast CPU backend's small-batch step kernel,
// internal to host/cpu/ (fast_kernels.cpp's step_gemm_columns chooses and
// calls it). W [N, K] packed by pack_panels (fast_kernels.hpp) in panels of
// 8 (AVX2) or 16 (AVX-512) columns; C[M, N] += A[M, K] W^T on panels
// first..last-1 only. The caller checks the CPU has the instructions. Both
// kernels sum each output over k in the same order: the same bits.
#pragma once

#include <cstdint>

namespace rnn::cpu::fast {

__attribute__((target("avx2,fma"))) void packed_gemm_avx2(int64_t M, int64_t N, int64_t K, const float* a,
                                                         int64_t lda, const float* panels, float* c, int64_t ldc,
                                                         int64_t first, int64_t last);
__attribute__((target("avx512f"))) void packed_gemm_avx512(int64_t M, int64_t N, int64_t K, const float* a,
                                                          int64_t lda, const float* panels, float* c, int64_t ldc,
                                                          int64_t first, int64_t last);

// W [n, k] into panels of 8 (AVX2) or 16 (AVX-512) as pack_panels lays
// them out, every value of `out` written (zeros past row n); the caller
// keeps (PW - 1) k within int32 (the gathers' offsets).
__attribute__((target("avx2,fma"))) void pack_panels_avx2(const float* w, int64_t n, int64_t k, float* out);
__attribute__((target("avx512f"))) void pack_panels_avx512(const float* w, int64_t n, int64_t k, float* out);

}  // namespace rnn::cpu::fast
