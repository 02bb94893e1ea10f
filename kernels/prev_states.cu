// kernels/prev_states.cu: gather of each step's previous state (see
// prev_states.cuh). One thread per element, grid-stride, 64-bit indices.
//
// Kernels:
//   prev_states_kernel   (static) the gather (registers: scripts/kernel_report.sh)
#include "prev_states.cuh"
#include "rows.cuh"

namespace rnn::kernels {

static __global__ void prev_states_kernel(int T, int B, int H, int D, bool batch_first, const float* __restrict__ y,
                                          const float* __restrict__ h0, const int32_t* __restrict__ lengths,
                                          float* __restrict__ prev) {
  const int64_t DH = static_cast<int64_t>(D) * H, n = static_cast<int64_t>(T) * B * DH;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = k / DH;
    const int col = static_cast<int>(k % DH), d = col / H, i = col % H;
    int t, b;
    time_and_batch(row, T, B, batch_first, &t, &b);
    const int len = lengths ? lengths[b] : T;
    float v = 0.0f;
    if (t < len) {
      const int s = time_of_step(d, t, len);  // the step at time t (its own inverse)
      if (s == 0) {
        v = h0 ? h0[state_index(d, b, i, B, H)] : 0.0f;
      } else {
        const int tp = d == 0 ? t - 1 : t + 1;
        const int64_t prow = row_of(tp, b, T, B, batch_first);
        v = y[prow * DH + col];
      }
    }
    prev[k] = v;
  }
}

cudaError_t launch_prev_states(int T, int B, int H, int D, bool batch_first, const float* y, const float* h0,
                               const int32_t* lengths, float* prev, cudaStream_t stream) {
  if (T < 1 || B < 1 || H < 1 || D < 1 || D > 2 || !y || !prev) return cudaErrorInvalidValue;
  const int64_t n = static_cast<int64_t>(T) * B * D * H;
  constexpr int kThreads = 256;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(blocks < 65536 ? blocks : 65536));
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, prev_states_kernel, T, B, H, D, batch_first, y, h0, lengths, prev);
}

}  // namespace rnn::kernels
