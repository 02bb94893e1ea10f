// kernels/optimizer.cuh: parameter updates over a flat parameter buffer,
// PyTorch's SGD (with momentum) and Adam, elementwise.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace rnn::kernels {

// SGD: momentum 0: p -= lr g. Else buf = first ? g : momentum buf + g; p -= lr buf.
cudaError_t sgd_step(size_t n, float* params, const float* grads, float* buf, float lr, float momentum, bool first,
                     cudaStream_t stream);

// Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m / bc1) / (sqrt(v / bc2) + eps),
// with bc1 = 1 - b1^t and bc2 = 1 - b2^t for step t (computed by the caller).
cudaError_t adam_step(size_t n, float* params, const float* grads, float* m, float* v, float lr, float beta1,
                      float beta2, float eps, float bc1, float bc2, cudaStream_t stream);

}  // namespace rnn::kernels
