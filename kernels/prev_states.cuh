// kernels/prev_states.cuh: the state each forward step started from, laid
// out like y, for the weight-gradient GEMM dW_hh = sum_t dhraw_t h_{t-1}^T.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rnn::kernels {

// prev[row(t, b), d*H + i] = the state direction d of sequence b held before
// its step at time t: h0[d][b][i] (0 when h0 is null) for its first step,
// else y at the time index of its previous step; 0 at padded positions
// (t >= len_b). y, prev: [T*B, D*H]; h0: [D, B, H] or null; lengths: [B] or
// null. Asynchronous on `stream`.
cudaError_t launch_prev_states(int T, int B, int H, int D, bool batch_first, const float* y, const float* h0,
                               const int32_t* lengths, float* prev, cudaStream_t stream);

}  // namespace rnn::kernels
