// kernels/softmax_xent.cu: fused softmax cross-entropy (see softmax_xent.cuh).
//
// Kernels:
//   softmax_xent_kernel   (static) one warp per row: max, sum of exponentials,
//                         loss, gradient written over the logits
//                         (registers: scripts/kernel_report.sh)
#include "softmax_xent.cuh"

namespace rnn::kernels {

namespace {
constexpr int kThreads = 256;
constexpr int kRowsPerBlock = kThreads / 32;
}  // namespace

static __global__ void __launch_bounds__(kThreads)
    softmax_xent_kernel(int rows, int O, float* __restrict__ logits, const int32_t* __restrict__ targets, int count,
                        float* __restrict__ row_loss) {
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps leave together
  float* z = logits + static_cast<int64_t>(row) * O;
  const int t = targets[row];
  if (t < 0) {
    for (int k = lane; k < O; k += 32) z[k] = 0.0f;
    if (lane == 0) row_loss[row] = 0.0f;
    return;
  }
  float m = -INFINITY;
  for (int k = lane; k < O; k += 32) m = fmaxf(m, z[k]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
  float sum = 0.0f;
  for (int k = lane; k < O; k += 32) sum += expf(z[k] - m);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  const float zt = z[t];
  __syncwarp();  // every lane has read z[t] before any lane overwrites it
  const float inv = 1.0f / static_cast<float>(count);
  for (int k = lane; k < O; k += 32) z[k] = (expf(z[k] - m) / sum - (k == t ? 1.0f : 0.0f)) * inv;
  if (lane == 0) row_loss[row] = logf(sum) - (zt - m);
}

cudaError_t launch_softmax_xent(int rows, int O, float* logits, const int32_t* targets, int count, float* row_loss,
                         cudaStream_t stream) {
  if (rows < 1 || O < 1 || count < 1 || !logits || !targets || !row_loss) return cudaErrorInvalidValue;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, softmax_xent_kernel, rows, O, logits, targets, count, row_loss);
}

}  // namespace rnn::kernels
