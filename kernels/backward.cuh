// kernels/backward.cuh: what the backward recurrence kernels share: the
// parameters of one layer's backward recurrence (both directions) and the
// per-element step, the reverse-time twin of recurrence.cuh.
//
// Backward step s (run for s = T-1 down to -1) of direction d, sequence b
// (length len), hidden unit i, where t(s) is forward step s's time index
// (s for d = 0, len-1-s for d = 1):
//   r = sum_j W_hh[d][j][i] * dr[t(s+1), b, d*H + j]   when s + 1 < len
//     = dh_n[d][b][i] (0 when null)                    otherwise
//   s >= len:  dr[row(s, b), d*H + i] = 0               (a padded position)
//   s = -1:    dh0[d][b][i] = r
//   else:      dr[t(s)] = act'(y[t(s)]) * (dout[t(s)] + r)
// dr is min-char-rnn's dhraw for every step; the weight gradients and the
// input gradient are GEMMs over it afterwards (host/cuda/plan.cpp).
#pragma once

#include <cstdint>

#include "rows.cuh"

namespace rnn::kernels {

struct BackwardParams {
  int T = 0, B = 0, H = 0, D = 1;
  bool batch_first = false;
  bool relu = false;
  const float* y = nullptr;        // [T*B, D*H] this layer's forward outputs
  const float* dout = nullptr;     // [T*B, D*H] dL/d(this layer's outputs)
  const float* w_hh = nullptr;     // [D, H, H] row-major (stepwise kernel: W[j][i] coalesced over i)
  const float* w_hh_t = nullptr;   // [D, H, H] transposed (persistent and registers kernels: row i of W^T)
  const float* dh_n = nullptr;     // [D, B, H] or null
  const int32_t* lengths = nullptr;  // [B] or null
  float* dr = nullptr;             // [T*B, D*H] out: dhraw
  float* dh0 = nullptr;            // [D, B, H] out, or null
};

#ifdef __CUDACC__
__device__ __forceinline__ int64_t bwd_row(const BackwardParams& p, int t, int b) {
  return row_of(p, t, b);
}

__device__ __forceinline__ int bwd_length(const BackwardParams& p, int b) { return p.lengths ? p.lengths[b] : p.T; }

// Whether element (b, step s) needs the matrix-vector product (else r comes from dh_n).
__device__ __forceinline__ bool bwd_uses_next(int s, int len) { return s + 1 < len; }

// dr of step s+1 at unit j (read through L2: other blocks wrote it).
__device__ __forceinline__ float bwd_load_next(const BackwardParams& p, int d, int b, int s, int len, int j) {
  return __ldcg(p.dr + bwd_row(p, time_of_step(d, s + 1, len), b) * (p.D * p.H) + d * p.H + j);
}

// Finishes element (d, b, i) of step s given r's matrix-vector part `sum`.
__device__ __forceinline__ void bwd_store(const BackwardParams& p, int d, int b, int i, int s, int len, float sum) {
  const int DH = p.D * p.H;
  if (s >= len) {
    p.dr[bwd_row(p, s, b) * DH + d * p.H + i] = 0.0f;
    return;
  }
  float r = sum;
  if (!bwd_uses_next(s, len)) r = p.dh_n ? p.dh_n[state_index(d, b, i, p.B, p.H)] : 0.0f;
  if (s < 0) {
    if (p.dh0) p.dh0[state_index(d, b, i, p.B, p.H)] = r;
    return;
  }
  const int64_t at = bwd_row(p, time_of_step(d, s, len), b) * DH + d * p.H + i;
  const float h = p.y[at];
  const float deriv = p.relu ? (h > 0.0f ? 1.0f : 0.0f) : 1.0f - h * h;
  p.dr[at] = deriv * (p.dout[at] + r);
}
#endif

}  // namespace rnn::kernels
