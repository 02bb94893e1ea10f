// kernels/mask_padding.cuh: a copy of a [T*B, W] row buffer with the rows of
// padded positions (t >= len_b) set to 0, so that a GEMM over all rows is
// not poisoned by whatever (NaN, Inf) the caller left in the padding.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rnn::kernels {

// out[row(t, b), :] = t < lengths[b] ? in[row(t, b), :] : 0, rows ordered
// (t, b), or (b, t) with batch_first. Asynchronous on `stream`.
cudaError_t launch_mask_padding(int T, int B, int W, bool batch_first, const int32_t* lengths, const float* in, float* out,
                         cudaStream_t stream);

}  // namespace rnn::kernels
