// kernels/optimizer.cuh: parameter updates over a flat parameter buffer,
// PyTorch's SGD (with momentum) and Adam, elementwise.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace rnn::kernels {

// SGD: momentum 0: p -= lr g. Else buf = first ? g : momentum buf + g; p -= lr buf.
cudaError_t launch_sgd(size_t n, float* params, const float* grads, float* buf, float lr, float momentum, bool first,
                     cudaStream_t stream);

// Adam in PyTorch's form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= step_size m / (sqrt(v) inv_sqrt_bc2 + eps), with step_size = lr / (1 - b1^t)
// and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t) for step t. The caller computes the
// constants in double (1 - b in float would be off by ~1e-5 for b = 0.999).
// Set by field name (host/cuda/trainer.cpp): the host optimizer's own
// constants struct orders its fields differently.
struct AdamConstants {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, inv_sqrt_bc2;
};
cudaError_t launch_adam(size_t n, float* params, const float* grads, float* m, float* v, const AdamConstants& c,
                      cudaStream_t stream);

}  // namespace rnn::kernels
