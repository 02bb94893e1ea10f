// kernels/mask_padding.cu: zero the padded rows of a copy (see
// mask_padding.cuh). One thread per element, grid-stride, 64-bit indices.
//
// Kernels:
//   mask_padding_kernel   (static) the masked copy (registers: scripts/kernel_report.sh)
#include "mask_padding.cuh"
#include "rows.cuh"

namespace rnn::kernels {

static __global__ void mask_padding_kernel(int T, int B, int W, bool batch_first, const int32_t* __restrict__ lengths,
                                           const float* __restrict__ in, float* __restrict__ out) {
  const int64_t n = static_cast<int64_t>(T) * B * W;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = k / W;
    int t, b;
    time_and_batch(row, T, B, batch_first, &t, &b);
    out[k] = t < lengths[b] ? in[k] : 0.0f;
  }
}

cudaError_t launch_mask_padding(int T, int B, int W, bool batch_first, const int32_t* lengths, const float* in, float* out,
                         cudaStream_t stream) {
  if (T < 1 || B < 1 || W < 1 || !lengths || !in || !out) return cudaErrorInvalidValue;
  const int64_t n = static_cast<int64_t>(T) * B * W;
  constexpr int kThreads = 256;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(blocks < 65536 ? blocks : 65536));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, mask_padding_kernel, T, B, W, batch_first, lengths, in, out);
}

}  // namespace rnn::kernels
