// kernels/context.cu: the seq2seq decoder's context columns (see
// context.cuh). One block per row (append) or per sequence (gradient), its
// threads across the H columns; 64-bit row offsets.
//
// Kernels:
//   append_context_kernel   (static) c copied into every row
//   context_grad_kernel     (static) the sum over each sequence's valid steps
#include "context.cuh"

namespace rnn::kernels {

static __global__ void append_context_kernel(int B, int V, int H, const float* __restrict__ top,
                                             float* __restrict__ x) {
  const unsigned row = blockIdx.x;  // t * B + b
  const unsigned b = row % static_cast<unsigned>(B);
  float* out = x + static_cast<int64_t>(row) * (V + H) + V;
  const float* c = top + static_cast<int64_t>(b) * H;
  for (int k = static_cast<int>(threadIdx.x); k < H; k += static_cast<int>(blockDim.x)) out[k] = c[k];
}

static __global__ void context_grad_kernel(int T, int B, int V, int H, const int32_t* __restrict__ lengths,
                                           const float* __restrict__ dx, float* __restrict__ dtop) {
  const int b = static_cast<int>(blockIdx.x);
  const int len = lengths ? lengths[b] : T;
  const int64_t pitch = static_cast<int64_t>(V) + H;
  for (int k = static_cast<int>(threadIdx.x); k < H; k += static_cast<int>(blockDim.x)) {
    float sum = dtop[static_cast<int64_t>(b) * H + k];
    const float* col = dx + static_cast<int64_t>(b) * pitch + V + k;
    for (int t = 0; t < len; ++t) sum += col[static_cast<int64_t>(t) * B * pitch];
    dtop[static_cast<int64_t>(b) * H + k] = sum;
  }
}

static unsigned threads_for(int H) { return H >= 256 ? 256u : static_cast<unsigned>((H + 31) / 32 * 32); }

cudaError_t launch_append_context(int T, int B, int V, int H, const float* top, float* x, cudaStream_t stream) {
  if (T < 1 || B < 1 || H < 1 || V < 0 || !top || !x) return cudaErrorInvalidValue;
  const int64_t rows = static_cast<int64_t>(T) * B;
  if (rows > 0x7fffffff) return cudaErrorInvalidValue;  // gridDim.x
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(rows));
  config.blockDim = dim3(threads_for(H));
  config.stream = stream;
  return cudaLaunchKernelEx(&config, append_context_kernel, B, V, H, top, x);
}

cudaError_t launch_context_grad(int T, int B, int V, int H, const int32_t* lengths, const float* dx, float* dtop,
                                cudaStream_t stream) {
  if (T < 1 || B < 1 || H < 1 || V < 0 || !dx || !dtop) return cudaErrorInvalidValue;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(B));
  config.blockDim = dim3(threads_for(H));
  config.stream = stream;
  return cudaLaunchKernelEx(&config, context_grad_kernel, T, B, V, H, lengths, dx, dtop);
}

}  // namespace rnn::kernels
