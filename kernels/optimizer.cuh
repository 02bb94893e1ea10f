// kernels/optimizer.cuh: parameter updates over a flat parameter buffer,
// PyTorch's SGD (with momentum) and Adam, elementwise.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace rnn::kernels {

// SGD: momentum 0: p -= lr g. Else buf = first ? g : momentum buf + g; p -= lr buf.
cudaError_t launch_sgd(size_t n, float* params, const float* grads, float* buf, float lr, float momentum, bool first,
                     cudaStream_t stream);

// Adam in PyTorch's form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= step_size m / (sqrt(v) inv_sqrt_bc2 + eps), with step_size = lr / (1 - b1^t)
// and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t) for step t. The caller computes the
// constants in double (1 - b in float would be off by ~1e-5 for b = 0.999).
// adam_constants() below computes them (host/cuda/device_model.cpp and the
// kernel's test both use it).
struct AdamConstants {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, inv_sqrt_bc2;
};

// The constants of step t (>= 1), in double, then rounded to float.
inline AdamConstants adam_constants(double lr, double beta1, double beta2, double eps, int64_t t) {
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  AdamConstants c;
  c.beta1 = static_cast<float>(beta1);
  c.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  c.beta2 = static_cast<float>(beta2);
  c.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  c.eps = static_cast<float>(eps);
  c.step_size = static_cast<float>(lr / bc1);
  c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  return c;
}
cudaError_t launch_adam(size_t n, float* params, const float* grads, float* m, float* v, const AdamConstants& c,
                      cudaStream_t stream);

}  // namespace rnn::kernels
