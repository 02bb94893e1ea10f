// kernels/registers_tile.cuh: what the kernels holding W_hh (or W_hh^T) in
// registers share (recurrence_registers.cu, backward_registers.cu,
// recurrence_cluster.cu): a warp's 4 rows of the matrix, each lane holding
// columns 4(lane + 32m) .. +3 of them (m < KPT / 4); a staged state row's
// product with them; and the staging of a chunk of state rows into shared
// memory.
#pragma once

#include <cstdint>

#include "async_copy.cuh"

namespace rnn::kernels {

#ifdef __CUDACC__
namespace registers_tile {

constexpr int kRows = 4;  // rows per warp

// Rows row0 .. row0+3 of the H x H row-major matrix m, this lane's columns
// (zero past H).
template <int KPT>
__device__ __forceinline__ void load_rows(const float* m, int H, int row0, int lane, float (&w)[kRows][KPT]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int q4 = 0; q4 < KPT / 4; ++q4)
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int row = row0 + r, col = 4 * (lane + 32 * q4) + q;
        w[r][4 * q4 + q] = row < H && col < H ? m[static_cast<int64_t>(row) * H + col] : 0.0f;
      }
}

// acc[r] = row r . v for a staged row v (16-byte aligned, zero past H): each
// lane reads v four columns at a time (one 16-byte shared load,
// conflict-free across the warp) into 16 FMAs, in column order, then a
// shuffle tree leaves the four sums on every lane. Every lane of the warp
// must call it.
template <int KPT>
__device__ __forceinline__ void dot_rows(const float (&w)[kRows][KPT], const float* v, int lane, float (&acc)[kRows]) {
  const float4* v4 = reinterpret_cast<const float4*>(v);
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = 0.0f;
#pragma unroll
  for (int q4 = 0; q4 < KPT / 4; ++q4) {
    const float4 h = v4[lane + 32 * q4];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      acc[r] = fmaf(w[r][4 * q4 + 0], h.x, acc[r]);
      acc[r] = fmaf(w[r][4 * q4 + 1], h.y, acc[r]);
      acc[r] = fmaf(w[r][4 * q4 + 2], h.z, acc[r]);
      acc[r] = fmaf(w[r][4 * q4 + 3], h.w, acc[r]);
    }
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2)
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], off);
}

// acc[my_r] when this lane finishes sequence g of its group (my_c == g),
// else `sum` unchanged.
__device__ __forceinline__ float pick(const float (&acc)[kRows], int my_c, int my_r, int g, float sum) {
#pragma unroll
  for (int r = 0; r < kRows; ++r)
    if (my_c == g && my_r == r) sum = acc[r];
  return sum;
}

// Stages rows of sequences b0 .. b0+nb-1 into buf [nb][32 KPT], zero-padded:
// element (b, col) from source(b, lens[b], col), a pointer, or null for a
// zero. vec: 16-byte asynchronous copies (source's pointers 16-byte aligned,
// H a multiple of 4), several in flight per thread, the caller commits and
// waits; `any` is a valid address for the zero-filling ones. Else one float
// at a time. Row and column by shifts (32 KPT a power of two).
template <int KPT, int kThreads, class Source>
__device__ __forceinline__ void stage(const Source& source, const float* any, int b0, int nb, const int* lens,
                                      float* buf, bool vec) {
  constexpr int HP = 32 * KPT, kSegs = HP / 4;
  if (vec) {
    for (int seg = threadIdx.x; seg < nb * kSegs; seg += kThreads) {
      const int c = seg / kSegs, col = 4 * (seg % kSegs), b = b0 + c;
      const float* src = source(b, lens[b], col);
      copy16_async(buf + c * HP + col, src ? src : any, src != nullptr);
    }
  } else {
    for (int k = threadIdx.x; k < nb * HP; k += kThreads) {
      const int c = k / HP, col = k % HP, b = b0 + c;
      const float* src = source(b, lens[b], col);
      buf[k] = src ? __ldcg(src) : 0.0f;
    }
  }
}

}  // namespace registers_tile
#endif

}  // namespace rnn::kernels
