// kernels/optimizer.cu: SGD and Adam updates (see optimizer.cuh).
// Grid-stride elementwise loops, 64-bit indices.
//
// Kernels:
//   sgd_kernel    (static) SGD with optional momentum (registers: scripts/kernel_report.sh)
//   adam_kernel   (static) Adam, bias-corrected
#include "optimizer.cuh"

#include <cstdint>

namespace rnn::kernels {

namespace {
constexpr int kThreads = 256;
unsigned grid_for(size_t n) {
  const size_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}
}  // namespace

static __global__ void sgd_kernel(size_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf,
                                  float lr, float momentum, bool first) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float step = g[i];
    if (momentum > 0.0f) {
      step = first ? g[i] : momentum * buf[i] + g[i];
      buf[i] = step;
    }
    p[i] -= lr * step;
  }
}

static __global__ void adam_kernel(size_t n, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                                   float* __restrict__ v, AdamConstants c) {
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float gi = g[i];
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * gi;
    const float vi = c.beta2 * v[i] + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= c.step_size * mi / (sqrtf(vi) * c.inv_sqrt_bc2 + c.eps);
  }
}

cudaError_t launch_sgd(size_t n, float* params, const float* grads, float* buf, float lr, float momentum, bool first,
                     cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (!params || !grads || (momentum > 0.0f && !buf)) return cudaErrorInvalidValue;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(grid_for(n));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, sgd_kernel, n, params, grads, buf, lr, momentum, first);
}

cudaError_t launch_adam(size_t n, float* params, const float* grads, float* m, float* v, const AdamConstants& c,
                      cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (!params || !grads || !m || !v) return cudaErrorInvalidValue;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(grid_for(n));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, adam_kernel, n, params, grads, m, v, c);
}

}  // namespace rnn::kernels
