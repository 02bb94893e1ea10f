// kernels/gemm_step.cuh: the recurrence as a real GEMM per step, for large
// batches (Kernel::Gemm). Each step is two launches on the plan's stream:
//   Z [D, B, H] = state [D, B, H] W_hh^T      cuBLAS SGEMM, strided over D
//   gemm_step_kernel                          bias, P and the activation,
//                                             masking, stores
// where `state` holds each sequence's last state (h0 or zeros before its
// first step). A cuBLAS GEMM reaches a large fraction of FP32 peak once B
// is in the tens; the stepwise and persistent kernels do not (their
// inner loops are shared-memory bound).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "recurrence.cuh"

namespace rnn::kernels {

// Step s of the layer p describes (both directions), after Z: for each
// direction d, sequence b (length len) and unit i:
//   s <  len:  t = time_of_step(d, s, len)
//              h = act(Z[d, b, i] + P[row(t, b), d*H + i] + bias[d*H + i])
//              y[row(t, b), d*H + i] = h;  state[d, b, i] = h
//   s >= len:  y[row(s, b), d*H + i] = 0 (a padded time); state unchanged
// p.w_hh, p.w_hh_t, p.h0 and p.h_n are not read (the caller seeds state
// from h0 and copies it to h_n). Returns cudaErrorInvalidValue for sizes
// below 1, D outside {1, 2}, a null p, y, z or state, or s outside [0, T).
cudaError_t launch_gemm_step(const RecurrenceParams& p, int s, const float* z, float* state, cudaStream_t stream);

}  // namespace rnn::kernels
