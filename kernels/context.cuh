// kernels/context.cuh: the seq2seq decoder's context columns (rnn/seq2seq.hpp):
// the encoder's final top-layer state c [B, H] appended to every decoder
// input, and the gradient that flows back to c from every valid step.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rnn::kernels {

// x [T*B, V+H] time-major: x[t*B + b, V + k] = top[b, k] for every t, b and
// k < H; the symbol columns [0, V) are left as they are. top: [B, H].
// Returns cudaErrorInvalidValue for T, B or H below 1, V below 0, T*B over
// 2^31 - 1 or a null pointer.
cudaError_t launch_append_context(int T, int B, int V, int H, const float* top, float* x, cudaStream_t stream);

// dtop[b, k] += sum over t < lengths[b] of dx[t*B + b, V + k], summed in
// ascending t (fixed order: bitwise reproducible). dx: [T*B, V+H]; dtop:
// [B, H]; lengths: [B], each in [1, T] (the host checks them), or null for T.
// Returns cudaErrorInvalidValue as launch_append_context.
cudaError_t launch_context_grad(int T, int B, int V, int H, const int32_t* lengths, const float* dx, float* dtop,
                                cudaStream_t stream);

}  // namespace rnn::kernels
