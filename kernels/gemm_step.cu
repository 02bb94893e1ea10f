// kernels/gemm_step.cu: the elementwise half of a GEMM recurrence step (see
// gemm_step.cuh). One thread per (d, b, i): its row and column computed
// once, no division in the loop (there is none: each thread does one
// element); 32-bit indices within a row, 64-bit row offsets.
//
// Kernels:
//   gemm_step_kernel   (static) bias + P + activation, masking, stores
#include "gemm_step.cuh"
#include "rows.cuh"

namespace rnn::kernels {

static __global__ void gemm_step_kernel(RecurrenceParams p, int s, const float* __restrict__ z,
                                        float* __restrict__ state) {
  const int i = static_cast<int>(blockIdx.x) * static_cast<int>(blockDim.x) + static_cast<int>(threadIdx.x);
  const int b = static_cast<int>(blockIdx.y);
  const int d = static_cast<int>(blockIdx.z);
  if (i >= p.H) return;
  const int len = rec_length(p, b);
  const int DH = p.D * p.H, col = d * p.H + i;
  if (s >= len) {  // a padded time of this sequence: 0 in y, as PyTorch returns
    p.y[rec_row(p, s, b) * DH + col] = 0.0f;
    return;
  }
  const int t = time_of_step(d, s, len);
  const int64_t row = rec_row(p, t, b);
  const int64_t at = state_index(d, b, i, p.B, p.H);
  float pre = p.p[row * DH + col] + z[at];  // rec_store's order: P + W_hh h, then the bias
  if (p.bias) pre += p.bias[col];
  const float h = rec_activate(pre, p.relu);
  p.y[row * DH + col] = h;
  state[at] = h;
}

cudaError_t launch_gemm_step(const RecurrenceParams& p, int s, const float* z, float* state, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.p || !p.y || !z || !state || s < 0 || s >= p.T)
    return cudaErrorInvalidValue;
  if (p.B > 65535) return cudaErrorInvalidValue;  // gridDim.y
  constexpr unsigned kThreads = 128;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3((static_cast<unsigned>(p.H) + kThreads - 1) / kThreads, static_cast<unsigned>(p.B),
                        static_cast<unsigned>(p.D));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, gemm_step_kernel, p, s, z, state);
}

}  // namespace rnn::kernels
