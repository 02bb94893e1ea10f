// kernels/backward_stepwise.cu: the stepwise backward recurrence kernel.
//
// The reverse-time twin of recurrence_stepwise.cu: thread x of block
// (bx, by, d) owns unit i = bx * 128 + x of direction d for BT sequences and
// computes sum_j W_hh[d][j][i] * dr_next[b][j], reading W_hh row-major (a
// warp's loads of one j are consecutive in i) and dr_next staged in shared
// memory 128 columns at a time. Fixed order: bitwise reproducible.
//
// Kernels:
//   backward_stepwise_kernel<BT>   (static) one backward step, BT = sequences per thread
//
// Registers, spills, shared memory and the hot loop's instruction mix:
// scripts/kernel_report.sh.
#include "backward_stepwise.cuh"

namespace rnn::kernels {

namespace {
constexpr int kThreads = 128;
}

template <int BT>
static __global__ void __launch_bounds__(kThreads) backward_stepwise_kernel(BackwardParams p, int s) {
  __shared__ float vs[BT][kThreads];
  const int d = blockIdx.z;
  const int i = blockIdx.x * kThreads + threadIdx.x;
  const int b0 = blockIdx.y * BT;
  const float* w = p.w_hh + static_cast<int64_t>(d) * p.H * p.H;

  float acc[BT];
#pragma unroll
  for (int c = 0; c < BT; ++c) acc[c] = 0.0f;
  bool any = false;  // the same for the whole block: no barrier diverges
#pragma unroll
  for (int c = 0; c < BT; ++c) any |= b0 + c < p.B && bwd_uses_next(s, bwd_length(p, b0 + c));

  for (int j0 = 0; any && j0 < p.H; j0 += kThreads) {
    __syncthreads();
#pragma unroll
    for (int c = 0; c < BT; ++c) {
      const int b = b0 + c, j = j0 + threadIdx.x;
      float v = 0.0f;
      if (b < p.B && j < p.H) {
        const int len = bwd_length(p, b);
        if (bwd_uses_next(s, len)) v = bwd_load_next(p, d, b, s, len, j);
      }
      vs[c][threadIdx.x] = v;
    }
    __syncthreads();
    if (i < p.H) {
      const int n = min(kThreads, p.H - j0);
      const float* wc = w + static_cast<int64_t>(j0) * p.H + i;
      for (int jj = 0; jj < n; ++jj) {
        const float wv = wc[static_cast<int64_t>(jj) * p.H];
#pragma unroll
        for (int c = 0; c < BT; ++c) acc[c] = fmaf(wv, vs[c][jj], acc[c]);
      }
    }
  }
  if (i >= p.H) return;
#pragma unroll
  for (int c = 0; c < BT; ++c) {
    const int b = b0 + c;
    if (b < p.B) bwd_store(p, d, b, i, s, bwd_length(p, b), acc[c]);
  }
}

template <int BT>
static cudaError_t launch(const BackwardParams& p, int s, cudaStream_t stream) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3((p.H + kThreads - 1) / kThreads, (p.B + BT - 1) / BT, p.D);
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  return cudaLaunchKernelEx(&config, backward_stepwise_kernel<BT>, p, s);
}

cudaError_t launch_backward_stepwise(const BackwardParams& p, int s, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || s < -1 || s >= p.T || !p.y || !p.dout || !p.w_hh ||
      !p.dr)
    return cudaErrorInvalidValue;
  if ((p.B + 7) / 8 > 65535) return cudaErrorInvalidConfiguration;
  if (p.B >= 8) return launch<8>(p, s, stream);
  if (p.B >= 4) return launch<4>(p, s, stream);
  if (p.B >= 2) return launch<2>(p, s, stream);
  return launch<1>(p, s, stream);
}

}  // namespace rnn::kernels
