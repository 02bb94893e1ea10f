// kernels/recurrence.cuh: what both recurrence kernel families share: the
// parameters of one layer's recurrence (both directions) and the indexing.
//
// For direction d at step s, sequence b (length len_b, 1 <= len_b <= T):
//   active when s < len_b; its time index is t = s (d = 0) or len_b-1-s (d = 1)
//   h = act(P[row(t, b), d*H + i] + bias[d*H + i] + sum_j W_hh[d][i][j] h_prev[b][j])
//   h_prev = h0 at s = 0, else y at the time index of step s-1
//   y[row(t, b), d*H + i] = h; at s = len_b - 1 also h_n[d][b][i] = h
// An inactive sequence writes 0 to y[row(s, b), d*H + i] (a padded position).
// So every element of y and h_n is written exactly once per run, and a step
// reads only what earlier steps wrote.
#pragma once

#include <cstdint>

#include "rows.cuh"

namespace rnn::kernels {

// Timing variants, for benchmarks only: each leaves one part of every step
// out, so `rnn bench` can show what that part costs. A run with any of them
// computes wrong outputs (and, without the barrier, races); one at a time.
//   kSkipStaging   h_prev is not copied into shared memory (zeros are used)
//   kSkipEpilogue  no P, bias, activation or store (the sums are kept alive)
//   kSkipBarrier   no grid barrier between steps (persistent kernel only)
enum TimingSkip : int { kSkipNone = 0, kSkipStaging = 1, kSkipEpilogue = 2, kSkipBarrier = 4 };

struct RecurrenceParams {
  int T = 0;                     // steps (x's padded length)
  int B = 0;                     // batch
  int H = 0;                     // hidden size
  int D = 1;                     // directions (1 or 2), both run by one launch
  bool batch_first = false;      // rows of P and y ordered (b, t) instead of (t, b)
  bool relu = false;             // act = relu, else tanh
  const float* p = nullptr;      // [T*B, D*H] input projection W_ih x (bias not added)
  const float* bias = nullptr;   // [D*H] b_ih + b_hh, or null
  const float* w_hh = nullptr;   // [D, H, H] W_hh row-major (persistent, registers, cluster kernels; gemm's SGEMM)
  const float* w_hh_t = nullptr; // [D, H, H] W_hh transposed: [d][j][i] (stepwise kernel)
  const float* h0 = nullptr;     // [D, B, H] this layer's initial states, or null (zeros)
  const int32_t* lengths = nullptr;  // [B] each in [1, T], or null (all T)
  float* y = nullptr;            // [T*B, D*H] outputs
  float* h_n = nullptr;          // [D, B, H] final states, or null
  int timing_skip = kSkipNone;   // a TimingSkip (benchmarks only; outputs then invalid)
};

#ifdef __CUDACC__
__device__ __forceinline__ int64_t rec_row(const RecurrenceParams& p, int t, int b) {
  return row_of(p, t, b);
}

__device__ __forceinline__ int rec_length(const RecurrenceParams& p, int b) {
  return p.lengths ? p.lengths[b] : p.T;
}

// h_prev[b][j] for direction d at step s of an active sequence of length len.
// y is read with ld.global.cg (L2, not L1): other blocks wrote it during this
// launch, and L1 is not coherent across multiprocessors.
__device__ __forceinline__ float rec_load_prev(const RecurrenceParams& p, int d, int b, int s, int len, int j) {
  if (s == 0) return p.h0 ? p.h0[state_index(d, b, j, p.B, p.H)] : 0.0f;
  const int t_prev = d == 0 ? s - 1 : len - s;  // time_of_step(d, s - 1, len)
  return __ldcg(p.y + rec_row(p, t_prev, b) * (p.D * p.H) + d * p.H + j);
}

__device__ __forceinline__ float rec_activate(float v, bool relu) {
  if (!relu) return tanhf(v);
  return (v > 0.0f || v != v) ? v : 0.0f;  // NaN propagates, as in PyTorch
}

// Finishes element (d, b, i) at step s given the recurrent sum W_hh h_prev.
__device__ __forceinline__ void rec_store(const RecurrenceParams& p, int d, int b, int i, int s, int len, float sum) {
  const int DH = p.D * p.H;
  if (s < len) {
    const int t = time_of_step(d, s, len);
    const int64_t at = rec_row(p, t, b) * DH + d * p.H + i;
    float pre = p.p[at] + sum;
    if (p.bias) pre += p.bias[d * p.H + i];
    const float h = rec_activate(pre, p.relu);
    p.y[at] = h;
    if (s == len - 1 && p.h_n) p.h_n[state_index(d, b, i, p.B, p.H)] = h;
  } else {
    p.y[rec_row(p, s, b) * DH + d * p.H + i] = 0.0f;
  }
}

// kSkipEpilogue's stand-in for rec_store: keeps `sum` (and so the dot
// product behind it) alive at the cost of one compare, storing only in the
// practically impossible case that it equals one NaN payload.
__device__ __forceinline__ void rec_sink(const RecurrenceParams& p, float sum) {
  if (__float_as_uint(sum) == 0x7fbadbadu) p.y[0] = sum;
}
#endif

}  // namespace rnn::kernels
