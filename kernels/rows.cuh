// kernels/rows.cuh: the one row and time indexing of every kernel.
//
// A tensor of T steps and B sequences has one row per (t, b): time-major
// ([T, B, ...], row t*B + b) or batch-first ([B, T, ...], row b*T + t).
// Direction d of a sequence of length len runs its step s at time s (d = 0)
// or len-1-s (d = 1). A state tensor [D, B, H] holds (d, b, i) at
// (d*B + b)*H + i.
#pragma once

#include <cstdint>

namespace rnn::kernels {

#ifdef __CUDACC__
// The row of (t, b).
__device__ __forceinline__ int64_t row_of(int t, int b, int T, int B, bool batch_first) {
  return batch_first ? static_cast<int64_t>(b) * T + t : static_cast<int64_t>(t) * B + b;
}
// The same for a kernel's parameters (T, B and batch_first members), each
// read only on the side taken (the stepwise kernels are tight on registers).
template <class Params>
__device__ __forceinline__ int64_t row_of(const Params& p, int t, int b) {
  return p.batch_first ? static_cast<int64_t>(b) * p.T + t : static_cast<int64_t>(t) * p.B + b;
}

// The (t, b) of a row: one 64-bit division, for element-wise kernels, not
// for a per-step loop (which knows its t and b).
__device__ __forceinline__ void time_and_batch(int64_t row, int T, int B, bool batch_first, int* t, int* b) {
  const int64_t q = row / (batch_first ? T : B);
  const int r = static_cast<int>(row - q * (batch_first ? T : B));
  *t = batch_first ? r : static_cast<int>(q);
  *b = batch_first ? static_cast<int>(q) : r;
}

// Element (d, b, i) of a state tensor [D, B, H] (h0, h_n, dh0, dh_n; for a
// stack of layers, d counts layers times directions).
__device__ __forceinline__ int64_t state_index(int d, int b, int i, int B, int H) {
  return (static_cast<int64_t>(d) * B + b) * H + i;
}

// The time index of direction d's step s in a sequence of length len.
__device__ __forceinline__ int time_of_step(int d, int s, int len) { return d == 0 ? s : len - 1 - s; }
#endif

}  // namespace rnn::kernels
