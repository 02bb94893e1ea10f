// host/cpu/step_kernels.cpp: the small-batch step kernel (step_kernels.hpp):
// C[M, N] += A[M, K] W^T on W packed in panels, AVX2 + FMA (panels of 8) or
// AVX-512 (panels of 16), chosen by the caller (fast_kernels.cpp).
#include "cpu/step_kernels.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace rnn::cpu::fast {

namespace {

// Adds acc (8 columns of one row) into c[0..n), n <= 8.
__attribute__((target("avx2,fma"))) inline void add_row(float* c, int64_t n, __m256 acc) {
  if (n >= 8) {
    _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), acc));
    return;
  }
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, acc);
  for (int64_t j = 0; j < n; ++j) c[j] += tmp[j];
}

// R rows by P panels (8P columns) from panel p0, of which `here` <= P are
// real (the others alias the last and are not stored): R*P accumulators,
// P panel loads and a broadcast in registers (at most the 16 there are).
// Every k step loads 8P values of W and R of A for R*P FMAs; R*P >= 8
// independent chains keep both FMA pipes busy.
template <int R, int P>
__attribute__((target("avx2,fma"))) void rows_panels(int64_t p0, int64_t here, int64_t N, int64_t K, const float* a,
                                                    int64_t lda, const float* panels, float* c, int64_t ldc) {
  const float* w[P];
#pragma GCC unroll 4
  for (int q = 0; q < P; ++q) w[q] = panels + (p0 + std::min<int64_t>(q, here - 1)) * K * 8;
  __m256 acc[R][P];  // every index a constant (loops unrolled), so they stay in registers
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < P; ++q) acc[r][q] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 x[P];
#pragma GCC unroll 4
    for (int q = 0; q < P; ++q) x[q] = _mm256_loadu_ps(w[q] + k * 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 b = _mm256_broadcast_ss(a + r * lda + k);
#pragma GCC unroll 4
      for (int q = 0; q < P; ++q) acc[r][q] = _mm256_fmadd_ps(b, x[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < P; ++q)
      if (q < here) add_row(c + r * ldc + (p0 + q) * 8, N - (p0 + q) * 8, acc[r][q]);
}

// The next block of rows, `rest` rows being left: its rows and panels.
// Six rows by two panels where many are left; otherwise blocks of at most
// four rows, wider, so that no block has fewer than 8 chains (a lone row
// happens only at M = 1: the GEMV, one row against four panels).
struct Block {
  int rows, panels;
};
constexpr Block next_block(int64_t rest) {
  return rest >= 9 || rest == 6 ? Block{6, 2}
         : rest == 5            ? Block{5, 2}
         : rest >= 4            ? Block{4, 3}
         : rest == 3            ? Block{3, 3}
         : rest == 2            ? Block{2, 4}
                                : Block{1, 4};
}

__attribute__((target("avx2,fma"))) void run_block(Block blk, int64_t p0, int64_t here, int64_t N, int64_t K,
                                                  const float* a, int64_t lda, const float* panels, float* c,
                                                  int64_t ldc) {
  switch (blk.rows) {
    case 6: return rows_panels<6, 2>(p0, here, N, K, a, lda, panels, c, ldc);
    case 5: return rows_panels<5, 2>(p0, here, N, K, a, lda, panels, c, ldc);
    case 4: return rows_panels<4, 3>(p0, here, N, K, a, lda, panels, c, ldc);
    case 3: return rows_panels<3, 3>(p0, here, N, K, a, lda, panels, c, ldc);
    case 2: return rows_panels<2, 4>(p0, here, N, K, a, lda, panels, c, ldc);
    default: return rows_panels<1, 4>(p0, here, N, K, a, lda, panels, c, ldc);
  }
}

}  // namespace

// C[M, N] += A[M, K] W^T on W's panels first..last-1, twelve panels (96
// columns: a multiple of every block's width) at a time against every
// block of rows.
__attribute__((target("avx2,fma"))) void packed_gemm_avx2(int64_t M, int64_t N, int64_t K, const float* a,
                                                         int64_t lda, const float* panels, float* c, int64_t ldc,
                                                         int64_t first, int64_t last) {
  constexpr int64_t kGroup = 12;
  for (int64_t g = first; g < last; g += kGroup) {
    const int64_t end = std::min(last, g + kGroup);
    for (int64_t m = 0; m < M;) {
      const Block blk = next_block(M - m);
      for (int64_t p = g; p < end; p += blk.panels)
        run_block(blk, p, std::min<int64_t>(blk.panels, end - p), N, K, a + m * lda, lda, panels, c + m * ldc, ldc);
      m += blk.rows;
    }
  }
}

namespace {

// ---- the same with AVX-512: panels of 16 columns ---------------------------
// 32 vector registers: R rows by P panels of 16 take R*P accumulators, P
// panel loads and a broadcast (6 x 4 = 24 + 5). Each output value is the
// same sequence of FMAs over k as in the AVX2 kernel: the two give the
// same bits.

__attribute__((target("avx512f"))) inline void add_row16(float* c, int64_t n, __m512 acc) {
  if (n >= 16) {
    _mm512_storeu_ps(c, _mm512_add_ps(_mm512_loadu_ps(c), acc));
    return;
  }
  const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
  _mm512_mask_storeu_ps(c, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), acc));
}

template <int R, int P>
__attribute__((target("avx512f"))) void rows_panels16(int64_t p0, int64_t here, int64_t N, int64_t K, const float* a,
                                                     int64_t lda, const float* panels, float* c, int64_t ldc) {
  const float* w[P];
#pragma GCC unroll 8
  for (int q = 0; q < P; ++q) w[q] = panels + (p0 + std::min<int64_t>(q, here - 1)) * K * 16;
  __m512 acc[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) acc[r][q] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m512 x[P];
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) x[q] = _mm512_loadu_ps(w[q] + k * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(a[r * lda + k]);
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) acc[r][q] = _mm512_fmadd_ps(b, x[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q)
      if (q < here) add_row16(c + r * ldc + (p0 + q) * 16, N - (p0 + q) * 16, acc[r][q]);
}

// Blocks of at most six rows, four panels wide (64 columns); the last rows
// in narrower-row, wider blocks, so that every block has 8 or more chains.
constexpr Block next_block16(int64_t rest) {
  return rest >= 9 || rest == 6 ? Block{6, 4}
         : rest == 5            ? Block{5, 4}
         : rest >= 3            ? Block{rest == 3 ? 3 : 4, 4}
                                : Block{static_cast<int>(rest), 8};
}

__attribute__((target("avx512f"))) void run_block16(Block blk, int64_t p0, int64_t here, int64_t N, int64_t K,
                                                   const float* a, int64_t lda, const float* panels, float* c,
                                                   int64_t ldc) {
  switch (blk.rows) {
    case 6: return rows_panels16<6, 4>(p0, here, N, K, a, lda, panels, c, ldc);
    case 5: return rows_panels16<5, 4>(p0, here, N, K, a, lda, panels, c, ldc);
    case 4: return rows_panels16<4, 4>(p0, here, N, K, a, lda, panels, c, ldc);
    case 3: return rows_panels16<3, 4>(p0, here, N, K, a, lda, panels, c, ldc);
    case 2: return rows_panels16<2, 8>(p0, here, N, K, a, lda, panels, c, ldc);
    default: return rows_panels16<1, 8>(p0, here, N, K, a, lda, panels, c, ldc);
  }
}

}  // namespace

// C[M, N] += A[M, K] W^T on W's 16-column panels first..last-1, eight
// panels (128 columns) at a time against every block of rows.
__attribute__((target("avx512f"))) void packed_gemm_avx512(int64_t M, int64_t N, int64_t K, const float* a,
                                                          int64_t lda, const float* panels, float* c, int64_t ldc,
                                                          int64_t first, int64_t last) {
  constexpr int64_t kGroup = 8;
  for (int64_t g = first; g < last; g += kGroup) {
    const int64_t end = std::min(last, g + kGroup);
    for (int64_t m = 0; m < M;) {
      const Block blk = next_block16(M - m);
      for (int64_t p = g; p < end; p += blk.panels)
        run_block16(blk, p, std::min<int64_t>(blk.panels, end - p), N, K, a + m * lda, lda, panels, c + m * ldc,
                    ldc);
      m += blk.rows;
    }
  }
}

// ---- packing: a panel's values for one k are a column of W ---------------
// Rows past n are written as zeros.

// Gathered PW at a time (one gather per output vector, written in order):
// a panel's PW rows of W are read as PW streams, each line of them used for
// 16 consecutive k. As fast as a copy of W here (the stores bound it).

__attribute__((target("avx2,fma"))) void pack_panels_avx2(const float* w, int64_t n, int64_t k, float* out) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                         _mm256_set1_epi32(static_cast<int32_t>(k)));
  for (int64_t p = 0; p * 8 < n; ++p) {
    const int64_t rows = std::min<int64_t>(8, n - p * 8);
    const __m256 mask = _mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(rows)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    const float* base = w + p * 8 * k;
    float* o = out + p * k * 8;
    for (int64_t kk = 0; kk < k; ++kk)
      _mm256_storeu_ps(o + kk * 8, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base + kk, idx, mask, 4));
  }
}

__attribute__((target("avx512f"))) void pack_panels_avx512(const float* w, int64_t n, int64_t k, float* out) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32(static_cast<int32_t>(k)));
  for (int64_t p = 0; p * 16 < n; ++p) {
    const int64_t rows = std::min<int64_t>(16, n - p * 16);
    const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1u);
    const float* base = w + p * 16 * k;
    float* o = out + p * k * 16;
    for (int64_t kk = 0; kk < k; ++kk)
      _mm512_storeu_ps(o + kk * 16, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, base + kk, 4));
  }
}

}  // namespace rnn::cpu::fast
