// kernels/fill.cu: fill a device buffer with one float value (see fill.cuh).
//
// A grid-stride loop, so any n works with a capped grid; 64-bit indices.
//
// Kernels:
//   fill_kernel   (static) the fill (registers: scripts/kernel_report.sh)
#include "fill.cuh"

namespace rnn::kernels {

static __global__ void fill_kernel(float* __restrict__ data, size_t n, float value) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) data[i] = value;
}

static cudaError_t launch_fill_f32(float* data, size_t n, float value, cudaStream_t stream) {
  constexpr unsigned kThreads = 256;
  constexpr size_t kMaxBlocks = 4096;
  const size_t blocks = (n + kThreads - 1) / kThreads;
  const unsigned grid = static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(grid);
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, fill_kernel, data, n, value);  // this launch's own status
}

cudaError_t launch_fill(float* data, size_t n, float value, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (data == nullptr) return cudaErrorInvalidValue;
  return launch_fill_f32(data, n, value, stream);
}

}  // namespace rnn::kernels
