// kernels/warp_tile.cuh: the inner product both persistent kernels use.
//
// A warp computes an RT x BT tile of dot products of length n between RT
// rows of `w` and BT rows of `v` (both in shared memory, row stride n):
// lanes stride over the columns keeping RT*BT partial sums in registers,
// then reduce them across the warp with shuffles. The order of operations
// is fixed, so results are bitwise reproducible. Every lane of the warp
// must call it (the shuffles need all 32); `active` false skips the loads
// and returns zeros.
#pragma once

namespace rnn::kernels {

#ifdef __CUDACC__
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <int RT, int BT>
__device__ __forceinline__ void warp_tile_dot(const float* w, const float* v, int n, int lane, bool active,
                                              float (&acc)[RT][BT]) {
#pragma unroll
  for (int r = 0; r < RT; ++r)
#pragma unroll
    for (int c = 0; c < BT; ++c) acc[r][c] = 0.0f;
  for (int j = active ? lane : n; j < n; j += 32) {
    float wv[RT], vv[BT];
#pragma unroll
    for (int r = 0; r < RT; ++r) wv[r] = w[r * n + j];
#pragma unroll
    for (int c = 0; c < BT; ++c) vv[c] = v[c * n + j];
#pragma unroll
    for (int r = 0; r < RT; ++r)
#pragma unroll
      for (int c = 0; c < BT; ++c) acc[r][c] = fmaf(wv[r], vv[c], acc[r][c]);
  }
#pragma unroll
  for (int r = 0; r < RT; ++r)
#pragma unroll
    for (int c = 0; c < BT; ++c) acc[r][c] = warp_sum(acc[r][c]);
}
#endif

}  // namespace rnn::kernels
